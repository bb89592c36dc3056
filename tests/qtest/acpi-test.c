/*
 * ACPI tables as qvmm writes them into guest memory: found the way an OS
 * finds them (the RSDP signature in 0xe0000-0xfffff), every checksum and
 * length right, and the MADT and FADT agreeing with the machine.
 *
 * qvmm only: QEMU's tables come from SeaBIOS, which never runs under -S.
 */
#include <string.h>
#include <glib.h>
#include "libqtest.h"
#include "qtest-tap.h"

#define BIOS_START  0xe0000
#define BIOS_END    0x100000
#define HDR_LEN     36

typedef struct Tables {
    QTestState *s;
    GHashTable *by_sig;     /* "APIC" -> GBytes of the table */
} Tables;

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = n; i-- > 0;) {
        v = v << 8 | p[i];
    }
    return v;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
    uint8_t c = 0;

    while (len--) {
        c += *p++;
    }
    return c;
}

static uint64_t find_rsdp(QTestState *s)
{
    g_autofree uint8_t *bios = g_malloc(BIOS_END - BIOS_START);

    qt_bufread(s, BIOS_START, bios, BIOS_END - BIOS_START);
    for (size_t off = 0; off < BIOS_END - BIOS_START; off += 16) {
        if (memcmp(bios + off, "RSD PTR ", 8) == 0) {
            return BIOS_START + off;
        }
    }
    qt_fail("no RSDP in 0x%x-0x%x", BIOS_START, BIOS_END - 1);
}

/* Reads and checks the table at @addr; returns it (caller unrefs). */
static GBytes *read_table(QTestState *s, uint64_t addr)
{
    uint8_t hdr[HDR_LEN];
    uint32_t len;
    uint8_t *t;

    QT_ASSERT(addr >= 0x1000 && addr < 0xe0000000ULL);
    qt_bufread(s, addr, hdr, sizeof(hdr));
    len = le(hdr + 4, 4);
    if (len < HDR_LEN || len > 1024 * 1024) {
        qt_fail("table '%.4s' at 0x%" PRIx64 ": length %u", hdr, addr, len);
    }
    t = g_malloc(len);
    qt_bufread(s, addr, t, len);
    if (sum(t, len) != 0) {
        qt_fail("table '%.4s' at 0x%" PRIx64 ": bad checksum", t, addr);
    }
    return g_bytes_new_take(t, len);
}

static void add_table(Tables *tb, uint64_t addr)
{
    GBytes *b = read_table(tb->s, addr);
    char *sig = g_strndup(g_bytes_get_data(b, NULL), 4);

    if (g_hash_table_contains(tb->by_sig, sig)) {
        qt_fail("two '%s' tables", sig);
    }
    g_hash_table_insert(tb->by_sig, sig, b);
}

static const uint8_t *table(Tables *tb, const char *sig, size_t *len)
{
    GBytes *b = g_hash_table_lookup(tb->by_sig, sig);

    if (!b) {
        qt_fail("no '%s' table", sig);
    }
    return g_bytes_get_data(b, len);
}

/* RSDP -> XSDT (and RSDT, which must list the same tables) -> tables. */
static void walk(Tables *tb)
{
    uint8_t rsdp[36];
    uint64_t rsdt_addr, xsdt_addr;
    const uint8_t *x, *r;
    size_t xlen, rlen;

    qt_bufread(tb->s, find_rsdp(tb->s), rsdp, sizeof(rsdp));
    QT_ASSERT_EQ(sum(rsdp, 20), 0);
    QT_ASSERT(rsdp[15] >= 2);                   /* ACPI 2.0+: XSDT */
    QT_ASSERT_EQ(le(rsdp + 20, 4), 36);
    QT_ASSERT_EQ(sum(rsdp, 36), 0);
    rsdt_addr = le(rsdp + 16, 4);
    xsdt_addr = le(rsdp + 24, 8);
    add_table(tb, xsdt_addr);
    x = table(tb, "XSDT", &xlen);
    QT_ASSERT_EQ((xlen - HDR_LEN) % 8, 0);
    for (size_t off = HDR_LEN; off < xlen; off += 8) {
        add_table(tb, le(x + off, 8));
    }
    if (rsdt_addr) {
        add_table(tb, rsdt_addr);
        r = table(tb, "RSDT", &rlen);
        QT_ASSERT_EQ((rlen - HDR_LEN) / 4, (xlen - HDR_LEN) / 8);
        for (size_t i = 0; i < (rlen - HDR_LEN) / 4; i++) {
            QT_ASSERT_EQ(le(r + HDR_LEN + 4 * i, 4),
                         le(x + HDR_LEN + 8 * i, 8));
        }
    }
}

/* The FADT points at the DSDT and FACS; PM1a_CNT is at 0x604. */
static void check_fadt(Tables *tb)
{
    size_t len;
    const uint8_t *f = table(tb, "FACP", &len);
    uint64_t dsdt = le(f + 40, 4), facs = le(f + 36, 4);
    uint8_t facs_hdr[8];

    QT_ASSERT(len >= 148);
    QT_ASSERT_EQ(le(f + 64, 4), 0x604);         /* PM1a_CNT_BLK */
    if (le(f + 140, 8)) {
        QT_ASSERT_EQ(le(f + 140, 8), dsdt);     /* X_DSDT */
    }
    add_table(tb, dsdt);
    table(tb, "DSDT", NULL);
    if (facs) {
        qt_bufread(tb->s, facs, facs_hdr, sizeof(facs_hdr));
        QT_ASSERT(memcmp(facs_hdr, "FACS", 4) == 0);
        QT_ASSERT(le(facs_hdr + 4, 4) >= 64);
    }
}

/* One enabled local APIC (or x2APIC) per CPU, each ID once. */
static void check_madt(Tables *tb, unsigned ncpus)
{
    size_t len;
    const uint8_t *m = table(tb, "APIC", &len);
    g_autoptr(GHashTable) ids = g_hash_table_new(NULL, NULL);
    unsigned ioapics = 0;

    QT_ASSERT_EQ(le(m + HDR_LEN, 4), 0xfee00000);
    for (size_t off = HDR_LEN + 8; off < len; off += m[off + 1]) {
        const uint8_t *e = m + off;

        QT_ASSERT(off + 2 <= len && e[1] >= 2 && off + e[1] <= len);
        if (e[0] == 0 && (le(e + 4, 4) & 1)) {
            g_hash_table_add(ids, GUINT_TO_POINTER(e[3]));
        } else if (e[0] == 9 && (le(e + 8, 4) & 1)) {
            g_hash_table_add(ids, GUINT_TO_POINTER(le(e + 4, 4)));
        } else if (e[0] == 1) {
            QT_ASSERT_EQ(le(e + 4, 4), 0xfec00000);
            ioapics++;
        }
    }
    QT_ASSERT_EQ(g_hash_table_size(ids), ncpus);
    QT_ASSERT_EQ(ioapics, 1);
}

static void test_tables(const void *data)
{
    unsigned ncpus = GPOINTER_TO_UINT(data);
    QTestState *s = qt_start("-m 256M -smp %u", ncpus);
    Tables tb = { s, g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify)g_bytes_unref) };

    walk(&tb);
    check_fadt(&tb);
    check_madt(&tb, ncpus);
    g_hash_table_destroy(tb.by_sig);
    qt_quit(s);
}

/* A reset (0xcf9) writes the tables again, as firmware would. */
static void test_tables_after_reset(const void *data)
{
    QTestState *s = qt_start("-m 256M -smp 2");
    Tables tb = { s, g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify)g_bytes_unref) };
    int64_t deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    (void)data;
    qt_memset(s, BIOS_START, 0, BIOS_END - BIOS_START);
    qt_outb(s, 0xcf9, 0x06);
    while (qt_readq(s, BIOS_START) == 0) {
        if (g_get_monotonic_time() > deadline) {
            qt_fail("no tables within 5 s of the reset");
        }
        g_usleep(10000);
    }
    walk(&tb);
    check_fadt(&tb);
    check_madt(&tb, 2);
    g_hash_table_destroy(tb.by_sig);
    qt_quit(s);
}

int main(int argc, char **argv)
{
    static const char *names[] = { "acpi/smp-1", "acpi/smp-2", "acpi/smp-4",
                                   "acpi/smp-8" };
    const char *why = "QEMU's ACPI tables come from SeaBIOS (not run by -S)";

    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        qt_test_add(names[i], test_tables, GUINT_TO_POINTER(1u << i),
                    QT_QVMM_ONLY, why);
    }
    qt_test_add("acpi/after-reset", test_tables_after_reset, NULL,
                QT_QVMM_ONLY, why);
    return qt_test_run(argc, argv);
}
