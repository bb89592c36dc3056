/*
 * AML builder encodings, and the ACPI tables parsed back from fake RAM.
 *
 * Set QVMM_ACPI_DUMP_DIR=DIR to have the tables of a 4-CPU guest written
 * to DIR/<SIG>.dat, ready for "iasl -d" (not needed by the test itself).
 */
#include "qemu/osdep.h"
#include <check.h>
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/acpi/aml-build.h"
#include "hw/i386/pc.h"

#define RAM_SIZE (2 * MiB)

static uint8_t *ram;

static void ram_setup(void)
{
    ram = g_malloc0(RAM_SIZE);
    guest_ram_add_block(0, RAM_SIZE, ram, "ram");
}

static void ram_teardown(void)
{
    guest_ram_reset_blocks();
    g_free(ram);
    ram = NULL;
}

static uint32_t rd32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint16_t rd16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    while (len--) {
        s += *p++;
    }
    return s;
}

/* ---- AML encodings ---- */

/* Encode @aml into a fresh root and compare with the expected bytes. */
static void check_aml(Aml *aml, const uint8_t *want, size_t len)
{
    Aml *root = aml_new();

    aml_append(root, aml);
    ck_assert_uint_eq(aml_len(root), len);
    ck_assert_mem_eq(aml_data(root), want, len);
    aml_free(root);
}

#define CHECK_AML(aml, ...) do { \
        static const uint8_t want_[] = { __VA_ARGS__ }; \
        check_aml((aml), want_, sizeof(want_)); \
    } while (0)

START_TEST(test_aml_integers)
{
    CHECK_AML(aml_int(0), 0x00);
    CHECK_AML(aml_int(1), 0x01);
    CHECK_AML(aml_int(UINT64_MAX), 0xff);
    CHECK_AML(aml_int(0xf), 0x0a, 0x0f);
    CHECK_AML(aml_int(0x3f8), 0x0b, 0xf8, 0x03);
    CHECK_AML(aml_int(0xfec00000), 0x0c, 0x00, 0x00, 0xc0, 0xfe);
    CHECK_AML(aml_int(0x100000000ULL), 0x0e, 0, 0, 0, 0, 1, 0, 0, 0);
    CHECK_AML(aml_string("ab"), 0x0d, 'a', 'b', 0);
}
END_TEST

START_TEST(test_aml_names)
{
    CHECK_AML(aml_name("_S5"), '_', 'S', '5', '_');
    CHECK_AML(aml_name("\\_SB"), '\\', '_', 'S', 'B', '_');
    CHECK_AML(aml_name("\\"), '\\', 0x00);
    CHECK_AML(aml_name("^^PCI0"), '^', '^', 'P', 'C', 'I', '0');
    CHECK_AML(aml_name("\\_SB.COM1"),
              '\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
    CHECK_AML(aml_name("A.B.C"), 0x2f, 3,
              'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');
    CHECK_AML(aml_name_decl("_UID", aml_int(1)), 0x08, '_', 'U', 'I', 'D', 1);
}
END_TEST

START_TEST(test_aml_eisaid)
{
    /* Values as iasl compiles EisaId("...") */
    CHECK_AML(aml_eisaid("PNP0501"), 0x0c, 0x41, 0xd0, 0x05, 0x01);
    CHECK_AML(aml_eisaid("PNP0B00"), 0x0c, 0x41, 0xd0, 0x0b, 0x00);
    CHECK_AML(aml_eisaid("PNP0303"), 0x0c, 0x41, 0xd0, 0x03, 0x03);
}
END_TEST

START_TEST(test_aml_blocks)
{
    Aml *pkg = aml_package();
    Aml *dev, *method;

    aml_append(pkg, aml_int(0));
    aml_append(pkg, aml_int(5));
    CHECK_AML(pkg, 0x12, 0x05, 0x02, 0x00, 0x0a, 0x05);

    dev = aml_device("KBD");
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    CHECK_AML(dev, 0x5b, 0x82, 0x0c, 'K', 'B', 'D', '_',
              0x08, '_', 'S', 'T', 'A', 0x0a, 0x0f);

    method = aml_method("_STA", 0, false);
    aml_append(method, aml_return(aml_int(0xf)));
    CHECK_AML(method, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);

    method = aml_method("FOO", 2, true);
    CHECK_AML(method, 0x14, 0x06, 'F', 'O', 'O', '_', 0x0a);

    CHECK_AML(aml_scope("\\"), 0x10, 0x03, '\\', 0x00);
    CHECK_AML(aml_buffer((const uint8_t *)"\x01\x02", 2),
              0x11, 0x05, 0x0a, 0x02, 0x01, 0x02);
}
END_TEST

/*
 * PkgLength counts itself: one byte up to 63, two below 2^12, three
 * below 2^20, four below 2^28.  A Buffer of n bytes has n plus its size
 * integer (2, 3 or 5 bytes) after the PkgLength.
 */
START_TEST(test_aml_pkg_length)
{
    static const struct {
        size_t n;
        size_t pkglen_bytes;
    } cases[] = {
        { 59, 1 }, { 60, 1 }, { 61, 2 }, { 4090, 2 }, { 4091, 3 },
        { 70000, 3 }, { (1 << 20) - 9, 3 }, { (1 << 20) - 8, 4 },
    };

    for (unsigned c = 0; c < ARRAY_SIZE(cases); c++) {
        size_t n = cases[c].n;
        g_autofree uint8_t *bytes = g_malloc0(n);
        Aml *root = aml_new();
        const uint8_t *d;
        size_t size_len = n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
        size_t total, extra;

        aml_append(root, aml_buffer(bytes, n));
        d = aml_data(root);
        ck_assert_uint_eq(d[0], 0x11);
        total = n + size_len + cases[c].pkglen_bytes;
        ck_assert_uint_eq(aml_len(root), 1 + total);
        extra = d[1] >> 6;
        ck_assert_uint_eq(extra + 1, cases[c].pkglen_bytes);
        if (extra == 0) {
            ck_assert_uint_eq(d[1], total);
        } else {
            size_t v = d[1] & 0xf;

            ck_assert_uint_eq(d[1] & 0x30, 0);
            for (size_t i = 0; i < extra; i++) {
                v |= (size_t)d[2 + i] << (4 + 8 * i);
            }
            ck_assert_uint_eq(v, total);
        }
        aml_free(root);
    }
}
END_TEST

START_TEST(test_aml_resources)
{
    Aml *crs = aml_resource_template();

    aml_append(crs, aml_io(0x3f8, 0x3f8, 0, 8));
    aml_append(crs, aml_irq_no_flags(4));
    aml_append(crs, aml_memory32_fixed(0xfec00000, 0x1000, true));
    aml_append(crs, aml_interrupt(AML_INTR_EDGE | AML_INTR_ACTIVE_LOW, 9));
    CHECK_AML(crs, 0x11, 0x25, 0x0a, 0x22,
              0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08,
              0x22, 0x10, 0x00,
              0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0xc0, 0xfe,
              0x00, 0x10, 0x00, 0x00,
              0x89, 0x06, 0x00, 0x07, 0x01, 0x09, 0x00, 0x00, 0x00,
              0x79, 0x00);
}
END_TEST

START_TEST(test_table_header)
{
    g_autoptr(GByteArray) t = g_byte_array_new();
    size_t start;

    acpi_append_int(t, 0xab, 1);            /* something before the table */
    start = acpi_table_begin(t, "TEST", 7);
    acpi_append_int(t, 0x12345678, 4);
    acpi_table_end(t, start);
    ck_assert_uint_eq(start, 1);
    ck_assert_uint_eq(t->len, 1 + 36 + 4);
    ck_assert_mem_eq(t->data + 1, "TEST", 4);
    ck_assert_uint_eq(rd32(t->data + 5), 40);
    ck_assert_uint_eq(t->data[9], 7);
    ck_assert_mem_eq(t->data + 11, "BOCHS BXPC    ", 14);
    ck_assert_uint_eq(sum(t->data + 1, 40), 0);
}
END_TEST

/* ---- the tables ---- */

typedef struct Tables {
    const uint8_t *rsdp, *rsdt, *xsdt, *fadt, *facs, *dsdt, *madt;
} Tables;

static const uint8_t *at(uint64_t gpa)
{
    ck_assert_uint_ge(gpa, PC_ACPI_ADDR);
    ck_assert_uint_lt(gpa, PC_ACPI_ADDR + PC_ACPI_SIZE);
    return ram + gpa;
}

static const uint8_t *check_table(uint64_t gpa, const char *sig)
{
    const uint8_t *t = at(gpa);
    uint32_t len = rd32(t + 4);

    ck_assert_mem_eq(t, sig, 4);
    ck_assert_uint_ge(len, 36);
    ck_assert_uint_le(gpa + len, PC_ACPI_ADDR + PC_ACPI_SIZE);
    ck_assert_uint_eq(sum(t, len), 0);
    return t;
}

static void parse_tables(uint64_t rsdp_addr, Tables *tb)
{
    uint32_t n;

    ck_assert_uint_eq(rsdp_addr, PC_ACPI_ADDR);
    tb->rsdp = at(rsdp_addr);
    ck_assert_mem_eq(tb->rsdp, "RSD PTR ", 8);
    ck_assert_uint_eq(sum(tb->rsdp, 20), 0);
    ck_assert_uint_eq(tb->rsdp[15], 2);
    ck_assert_uint_eq(rd32(tb->rsdp + 20), 36);
    ck_assert_uint_eq(sum(tb->rsdp, 36), 0);

    tb->rsdt = check_table(rd32(tb->rsdp + 16), "RSDT");
    tb->xsdt = check_table(rd64(tb->rsdp + 24), "XSDT");
    n = (rd32(tb->xsdt + 4) - 36) / 8;
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq((rd32(tb->rsdt + 4) - 36) / 4, n);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq(rd64(tb->xsdt + 36 + 8 * i),
                          rd32(tb->rsdt + 36 + 4 * i));
    }
    tb->fadt = check_table(rd64(tb->xsdt + 36), "FACP");
    tb->madt = check_table(rd64(tb->xsdt + 44), "APIC");
    tb->dsdt = check_table(rd64(tb->fadt + 140), "DSDT");
    ck_assert_uint_eq(rd32(tb->fadt + 40), rd64(tb->fadt + 140));

    /* Only the 64-bit FACS pointer is set, as ACPI 2.0+ requires. */
    ck_assert_uint_eq(rd32(tb->fadt + 36), 0);
    ck_assert_uint_eq(rd64(tb->fadt + 132) % 64, 0);
    tb->facs = at(rd64(tb->fadt + 132));
    ck_assert_mem_eq(tb->facs, "FACS", 4);
    ck_assert_uint_eq(rd32(tb->facs + 4), 64);
}

static uint64_t build_cfg(const AcpiBuildConfig *cfg, Tables *tb)
{
    g_autoptr(GError) err = NULL;
    uint64_t rsdp = acpi_build_tables(cfg, &err);

    ck_assert_msg(rsdp != 0, "%s", err ? err->message : "?");
    ck_assert_ptr_null(err);
    parse_tables(rsdp, tb);
    return rsdp;
}

/* The pc machine's tables, with PCI0, for 2 GiB low + 1 GiB high RAM. */
static void build_pc(Tables *tb)
{
    AcpiBuildConfig cfg = {
        .ncpus = 4, .nserial = 1, .pci = true,
        .below_4g = 0x80000000, .above_4g = 0x40000000,
    };

    build_cfg(&cfg, tb);
}

static uint64_t build(unsigned ncpus, const uint32_t *ids, unsigned nserial,
                      Tables *tb)
{
    AcpiBuildConfig cfg = {
        .ncpus = ncpus, .apic_ids = ids, .nserial = nserial,
    };
    g_autoptr(GError) err = NULL;
    uint64_t rsdp = acpi_build_tables(&cfg, &err);

    ck_assert_msg(rsdp != 0, "%s", err ? err->message : "?");
    ck_assert_ptr_null(err);
    parse_tables(rsdp, tb);
    return rsdp;
}

static void check_gas(const uint8_t *g, uint8_t space, uint8_t bits,
                      uint64_t addr)
{
    ck_assert_uint_eq(g[0], space);
    ck_assert_uint_eq(g[1], bits);
    ck_assert_uint_eq(g[2], 0);
    ck_assert_uint_eq(rd64(g + 4), addr);
}

START_TEST(test_fadt)
{
    Tables tb;
    const uint8_t *f;
    uint32_t flags;

    build(1, NULL, 1, &tb);
    f = tb.fadt;
    ck_assert_uint_eq(rd32(f + 4), 244);
    ck_assert_uint_eq(f[8], 3);
    ck_assert_uint_eq(rd16(f + 46), PC_ACPI_SCI_IRQ);
    ck_assert_uint_eq(rd32(f + 48), 0);               /* SMI_CMD */
    ck_assert_uint_eq(rd32(f + 56), PC_ACPI_PM_BASE);
    ck_assert_uint_eq(rd32(f + 64), PC_ACPI_PM_BASE + 4);
    ck_assert_uint_eq(rd32(f + 76), PC_ACPI_PM_BASE + 8);
    ck_assert_uint_eq(f[88], 4);
    ck_assert_uint_eq(f[89], 2);
    ck_assert_uint_eq(f[91], 4);
    ck_assert_uint_eq(rd16(f + 109), 1 << 1);         /* 8042 present */
    flags = rd32(f + 112);
    ck_assert(flags & (1 << 10));                      /* RESET_REG_SUP */
    ck_assert(!(flags & (1 << 4)));                    /* fixed power button */
    ck_assert(flags & (1 << 5));                       /* no sleep button */
    ck_assert(!(flags & (1 << 18)));
    check_gas(f + 116, 1, 8, PC_RESET_CONTROL_PORT);
    ck_assert_uint_eq(f[128], 0x06);
    check_gas(f + 148, 1, 32, PC_ACPI_PM_BASE);
    check_gas(f + 172, 1, 16, PC_ACPI_PM_BASE + 4);
    check_gas(f + 208, 1, 32, PC_ACPI_PM_BASE + 8);
}
END_TEST

static bool contains(const uint8_t *hay, size_t len, const void *needle,
                     size_t nlen)
{
    return memmem(hay, len, needle, nlen) != NULL;
}

START_TEST(test_dsdt)
{
    static const uint8_t s5[] = {
        0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0,
    };
    static const uint8_t com1_crs[] = {
        0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, 0x22, 0x10, 0x00,
    };
    static const uint8_t com2_crs[] = {
        0x47, 0x01, 0xf8, 0x02, 0xf8, 0x02, 0x00, 0x08, 0x22, 0x08, 0x00,
    };
    static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
    static const uint8_t pnp0b00[] = { 0x0c, 0x41, 0xd0, 0x0b, 0x00 };
    static const uint8_t pnp0303[] = { 0x0c, 0x41, 0xd0, 0x03, 0x03 };
    Tables tb;
    size_t len;

    build(2, NULL, 2, &tb);
    len = rd32(tb.dsdt + 4);
    ck_assert(contains(tb.dsdt, len, s5, sizeof(s5)));
    ck_assert(contains(tb.dsdt, len, "COM1", 4));
    ck_assert(contains(tb.dsdt, len, "COM2", 4));
    ck_assert(!contains(tb.dsdt, len, "COM3", 4));
    ck_assert(contains(tb.dsdt, len, com1_crs, sizeof(com1_crs)));
    ck_assert(contains(tb.dsdt, len, com2_crs, sizeof(com2_crs)));
    ck_assert(contains(tb.dsdt, len, pnp0501, sizeof(pnp0501)));
    ck_assert(contains(tb.dsdt, len, "RTC_", 4));
    ck_assert(contains(tb.dsdt, len, pnp0b00, sizeof(pnp0b00)));
    ck_assert(contains(tb.dsdt, len, "KBD_", 4));
    ck_assert(contains(tb.dsdt, len, pnp0303, sizeof(pnp0303)));

    memset(ram, 0, RAM_SIZE);
    build(1, NULL, 4, &tb);
    len = rd32(tb.dsdt + 4);
    ck_assert(contains(tb.dsdt, len, "COM4", 4));
    memset(ram, 0, RAM_SIZE);
    build(1, NULL, 0, &tb);
    len = rd32(tb.dsdt + 4);
    ck_assert(!contains(tb.dsdt, len, "COM1", 4));
}
END_TEST

START_TEST(test_dsdt_pci)
{
    static const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    static const uint8_t bus[] = {
        0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0xff, 0, 0, 0,
        0x00, 0x01,
    };
    static const uint8_t io_lo[] = {
        0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0, 0, 0xf7, 0x0c, 0, 0,
        0xf8, 0x0c,
    };
    static const uint8_t io_hi[] = {
        0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d, 0xff, 0xff,
        0, 0, 0x00, 0xf3,
    };
    static const uint8_t cf8[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 1, 8 };
    static const uint8_t mem32[] = {
        0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0,
        0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xbf, 0xfe, 0, 0, 0, 0,
        0x00, 0x00, 0xc0, 0x7e,
    };
    static const uint8_t mem64[] = {
        0x87 + 3, 0x2b, 0x00, 0x00, 0x0c, 0x03, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0x40, 1, 0, 0, 0,              /* 5 GiB */
        0xff, 0xff, 0xff, 0x3f, 9, 0, 0, 0,     /* 37 GiB - 1 */
        0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 8, 0, 0, 0,                 /* 32 GiB */
    };
    /* Package () { 0x0002FFFF, Zero, Zero, 10 }, slot 3 INTB on 11 */
    static const uint8_t prt_2a[] = {
        0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x0a, 0x0a,
    };
    static const uint8_t prt_3b[] = {
        0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x03, 0x00, 0x01, 0x00, 0x0a, 0x0b,
    };
    static const uint8_t prt_1a[] = {
        0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x09,
    };
    Tables tb;
    size_t len;

    build(1, NULL, 1, &tb);
    len = rd32(tb.dsdt + 4);
    ck_assert(!contains(tb.dsdt, len, "PCI0", 4));

    memset(ram, 0, RAM_SIZE);
    build_pc(&tb);
    len = rd32(tb.dsdt + 4);
    ck_assert(contains(tb.dsdt, len, "PCI0", 4));
    ck_assert(contains(tb.dsdt, len, pnp0a03, sizeof(pnp0a03)));
    ck_assert(contains(tb.dsdt, len, "_PRT", 4));
    ck_assert(contains(tb.dsdt, len, bus, sizeof(bus)));
    ck_assert(contains(tb.dsdt, len, io_lo, sizeof(io_lo)));
    ck_assert(contains(tb.dsdt, len, io_hi, sizeof(io_hi)));
    ck_assert(contains(tb.dsdt, len, cf8, sizeof(cf8)));
    ck_assert(contains(tb.dsdt, len, mem32, sizeof(mem32)));
    ck_assert(contains(tb.dsdt, len, mem64, sizeof(mem64)));
    ck_assert(contains(tb.dsdt, len, prt_2a, sizeof(prt_2a)));
    ck_assert(contains(tb.dsdt, len, prt_3b, sizeof(prt_3b)));
    ck_assert(contains(tb.dsdt, len, prt_1a, sizeof(prt_1a)));
}
END_TEST

typedef struct MadtCounts {
    unsigned lapic, x2apic, ioapic, iso, nmi, x2nmi;
} MadtCounts;

/* Walk the MADT, checking each entry against @ids. */
static void walk_madt(const uint8_t *m, unsigned ncpus, const uint32_t *ids,
                      MadtCounts *c)
{
    uint32_t len = rd32(m + 4);
    uint32_t off = 44;

    memset(c, 0, sizeof(*c));
    ck_assert_uint_eq(rd32(m + 36), PC_LAPIC_ADDR);
    ck_assert_uint_eq(rd32(m + 40), 1);               /* PCAT_COMPAT */
    while (off < len) {
        const uint8_t *e = m + off;

        ck_assert_uint_ge(e[1], 2);
        ck_assert_uint_le(off + e[1], len);
        switch (e[0]) {
        case 0:
            ck_assert_uint_eq(e[1], 8);
            ck_assert_uint_lt(e[2], ncpus);
            ck_assert_uint_eq(e[3], ids[e[2]]);
            ck_assert_uint_eq(rd32(e + 4), 1);
            c->lapic++;
            break;
        case 9:
            ck_assert_uint_eq(e[1], 16);
            ck_assert_uint_lt(rd32(e + 12), ncpus);
            ck_assert_uint_eq(rd32(e + 4), ids[rd32(e + 12)]);
            ck_assert_uint_eq(rd32(e + 8), 1);
            c->x2apic++;
            break;
        case 1:
            ck_assert_uint_eq(e[1], 12);
            ck_assert_uint_eq(e[2], 0);
            ck_assert_uint_eq(rd32(e + 4), PC_IOAPIC_ADDR);
            ck_assert_uint_eq(rd32(e + 8), 0);
            c->ioapic++;
            break;
        case 2:
            ck_assert_uint_eq(e[1], 10);
            if (e[3] == 0) {
                ck_assert_uint_eq(rd32(e + 4), 2);
                ck_assert_uint_eq(rd16(e + 8), 0);
            } else {
                ck_assert(PC_PCI_IRQ_MASK & (1u << e[3]));
                ck_assert_uint_eq(rd32(e + 4), e[3]);
                ck_assert_uint_eq(rd16(e + 8), 0xd);
            }
            c->iso++;
            break;
        case 4:
            ck_assert_uint_eq(e[1], 6);
            ck_assert_uint_eq(e[2], 0xff);
            ck_assert_uint_eq(e[5], 1);
            c->nmi++;
            break;
        case 0xa:
            ck_assert_uint_eq(e[1], 12);
            ck_assert_uint_eq(rd32(e + 4), UINT32_MAX);
            ck_assert_uint_eq(e[8], 1);
            c->x2nmi++;
            break;
        default:
            ck_abort_msg("unexpected MADT entry type %u", e[0]);
        }
        off += e[1];
    }
    ck_assert_uint_eq(off, len);
}

START_TEST(test_madt)
{
    static const unsigned counts[] = { 1, 2, 8, 64 };

    for (unsigned c = 0; c < ARRAY_SIZE(counts); c++) {
        unsigned n = counts[c];
        g_autofree uint32_t *ids = g_new(uint32_t, n);
        MadtCounts mc;
        Tables tb;

        /* Sparse ids, as with a topology that has gaps. */
        for (unsigned i = 0; i < n; i++) {
            ids[i] = i * 2 + 1;
        }
        memset(ram, 0, RAM_SIZE);
        build(n, ids, 1, &tb);
        walk_madt(tb.madt, n, ids, &mc);
        ck_assert_uint_eq(mc.lapic, n);
        ck_assert_uint_eq(mc.x2apic, 0);
        ck_assert_uint_eq(mc.ioapic, 1);
        ck_assert_uint_eq(mc.iso, 5);
        ck_assert_uint_eq(mc.nmi, 1);
        ck_assert_uint_eq(mc.x2nmi, 0);
        ck_assert_uint_eq(!!(rd32(tb.fadt + 112) & (1 << 18)), n > 8);
    }
}
END_TEST

START_TEST(test_madt_x2apic)
{
    unsigned n = 300;
    g_autofree uint32_t *ids = g_new(uint32_t, n);
    MadtCounts mc;
    Tables tb;

    for (unsigned i = 0; i < n; i++) {
        ids[i] = i;
    }
    build(n, ids, 1, &tb);
    walk_madt(tb.madt, n, ids, &mc);
    ck_assert_uint_eq(mc.lapic, 255);
    ck_assert_uint_eq(mc.x2apic, n - 255);
    ck_assert_uint_eq(mc.nmi, 0);
    ck_assert_uint_eq(mc.x2nmi, 1);
}
END_TEST

START_TEST(test_errors)
{
    AcpiBuildConfig cfg = { .ncpus = 1, .nserial = 5 };
    GError *err = NULL;
    uint32_t *ids;

    ck_assert_uint_eq(acpi_build_tables(&cfg, &err), 0);
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);

    cfg.nserial = 1;
    cfg.ncpus = 0;
    ck_assert_uint_eq(acpi_build_tables(&cfg, &err), 0);
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);

    /* 20000 local x2APIC entries cannot fit in 128 KiB. */
    cfg.ncpus = 20000;
    ids = g_new0(uint32_t, cfg.ncpus);
    cfg.apic_ids = ids;
    ck_assert_uint_eq(acpi_build_tables(&cfg, &err), 0);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err->message, "ACPI tables need"), "%s",
                  err->message);
    g_clear_error(&err);
    g_free(ids);
    ck_assert_uint_eq(ram[PC_ACPI_ADDR], 0);

    /* No RAM where the tables go. */
    guest_ram_reset_blocks();
    guest_ram_add_block(0, 512 * KiB, ram, "ram");
    cfg.ncpus = 1;
    cfg.apic_ids = NULL;
    ck_assert_uint_eq(acpi_build_tables(&cfg, &err), 0);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err->message, "no guest RAM"), "%s", err->message);
    g_clear_error(&err);
}
END_TEST

static void dump(const char *dir, const char *sig, const uint8_t *t,
                 size_t len)
{
    g_autofree char *name = g_strdup_printf("%s.dat", sig);
    g_autofree char *path = g_build_filename(dir, name, NULL);

    ck_assert(g_file_set_contents(path, (const char *)t, len, NULL));
}

static void dump_table(const char *dir, const uint8_t *t)
{
    char sig[5] = { 0 };

    memcpy(sig, t, 4);
    dump(dir, sig, t, rd32(t + 4));
}

START_TEST(test_dump_for_iasl)
{
    const char *dir = g_getenv("QVMM_ACPI_DUMP_DIR");
    uint32_t ids[4] = { 0, 1, 2, 3 };
    Tables tb;

    build(4, ids, 4, &tb);
    memset(ram, 0, RAM_SIZE);
    build_pc(&tb);
    if (!dir) {
        return;
    }
    dump_table(dir, tb.rsdt);
    dump_table(dir, tb.xsdt);
    dump_table(dir, tb.fadt);
    dump_table(dir, tb.dsdt);
    dump_table(dir, tb.madt);
    dump(dir, "FACS", tb.facs, 64);
    dump(dir, "RSDP", tb.rsdp, 36);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("acpi");
    TCase *aml = tcase_create("aml");
    TCase *tables = tcase_create("tables");
    SRunner *sr;
    int failed;

    tcase_add_test(aml, test_aml_integers);
    tcase_add_test(aml, test_aml_names);
    tcase_add_test(aml, test_aml_eisaid);
    tcase_add_test(aml, test_aml_blocks);
    tcase_add_test(aml, test_aml_pkg_length);
    tcase_add_test(aml, test_aml_resources);
    tcase_add_test(aml, test_table_header);
    suite_add_tcase(s, aml);

    tcase_add_checked_fixture(tables, ram_setup, ram_teardown);
    tcase_add_test(tables, test_fadt);
    tcase_add_test(tables, test_dsdt);
    tcase_add_test(tables, test_dsdt_pci);
    tcase_add_test(tables, test_madt);
    tcase_add_test(tables, test_madt_x2apic);
    tcase_add_test(tables, test_errors);
    tcase_add_test(tables, test_dump_for_iasl);
    suite_add_tcase(s, tables);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
