/*
 * Guest RAM as -m sizes it: the CMOS memory-size bytes firmware probes
 * (shared by QEMU's and qvmm's pc machines), reads and writes up to the
 * end of RAM on both sides of the PCI hole, zeroes beyond it, and the
 * library's bulk transfers and allocator.
 */
#include <string.h>
#include <glib.h>
#include "libqtest.h"
#include "qtest-tap.h"

#define MiB ((uint64_t)1024 * 1024)
#define GiB (1024 * MiB)
#define FOUR_G (4 * GiB)

static uint8_t cmos_read(QTestState *s, uint8_t idx)
{
    qt_outb(s, 0x70, idx);
    return qt_inb(s, 0x71);
}

static unsigned cmos_word(QTestState *s, uint8_t idx)
{
    return cmos_read(s, idx) | cmos_read(s, idx + 1) << 8;
}

static void check_cmos(QTestState *s, uint64_t below, uint64_t above)
{
    uint64_t ext_kb = MIN((below - MiB) / 1024, 0xffff);
    uint64_t high = below > 16 * MiB ? (below - 16 * MiB) / (64 * 1024) : 0;
    uint64_t above_64k = cmos_read(s, 0x5b) | cmos_read(s, 0x5c) << 8 |
                         cmos_read(s, 0x5d) << 16;

    QT_ASSERT_EQ(cmos_word(s, 0x15), 640);
    QT_ASSERT_EQ(cmos_word(s, 0x17), ext_kb);
    QT_ASSERT_EQ(cmos_word(s, 0x30), ext_kb);
    QT_ASSERT_EQ(cmos_word(s, 0x34), MIN(high, 0xffff));
    QT_ASSERT_EQ(above_64k, above / (64 * 1024));
    QT_ASSERT_EQ(cmos_read(s, 0x5f), 1);        /* -smp 2 */
}

/* A quadword at @addr holds what is written; then put zero back. */
static void check_ram_at(QTestState *s, uint64_t addr)
{
    uint64_t pattern = 0x0123456789abcdefULL ^ addr;

    qt_writeq(s, addr, pattern);
    QT_ASSERT_EQ(qt_readq(s, addr), pattern);
    qt_writeq(s, addr, 0);
}

/* Nothing at @addr: writes vanish and reads give zero. */
static void check_unassigned_at(QTestState *s, uint64_t addr)
{
    qt_writeq(s, addr, 0x5555aaaa5555aaaaULL);
    QT_ASSERT_EQ(qt_readq(s, addr), 0);
    QT_ASSERT_EQ(qt_readb(s, addr + 7), 0);
}

static void test_ram_size(const void *data)
{
    uint64_t ram = *(const uint64_t *)data, below, above;
    QTestState *s = qt_start("-m %" PRIu64 "M -smp 2", ram / MiB);

    qt_pc_split_ram(ram, &below, &above);
    check_cmos(s, below, above);
    check_ram_at(s, MiB);
    check_ram_at(s, below - 8);
    check_unassigned_at(s, below);
    if (above) {
        check_ram_at(s, FOUR_G);
        check_ram_at(s, FOUR_G + above - 8);
        check_unassigned_at(s, FOUR_G + above);
    } else {
        check_unassigned_at(s, FOUR_G);
    }
    qt_quit(s);
}

static void fill_random(uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = g_random_int_range(0, 256);
    }
}

static void test_transfers(const void *data)
{
    const size_t len = 8192;
    QTestState *s = qt_start("-m 128M");
    g_autofree uint8_t *out = g_malloc(len);
    g_autofree uint8_t *in = g_malloc(len);
    QtGuestAlloc a;
    uint64_t addr;

    (void)data;
    qt_alloc_init(&a, 128 * MiB);
    addr = qt_alloc(&a, s, len, 4096);
    fill_random(out, len);
    qt_memwrite(s, addr, out, len);
    qt_bufread(s, addr, in, len);
    QT_ASSERT(memcmp(in, out, len) == 0);
    fill_random(out, len);
    qt_bufwrite(s, addr + 1, out, len - 1);
    qt_memread(s, addr + 1, in, len - 1);
    QT_ASSERT(memcmp(in, out, len - 1) == 0);
    qt_memset(s, addr, 0xa5, len);
    qt_memread(s, addr, in, len);
    for (size_t i = 0; i < len; i++) {
        QT_ASSERT_EQ(in[i], 0xa5);
    }
    /* Little-endian: the widths see the same bytes. */
    qt_writel(s, addr, 0x11223344);
    QT_ASSERT_EQ(qt_readb(s, addr), 0x44);
    QT_ASSERT_EQ(qt_readw(s, addr + 2), 0x1122);
    qt_writew(s, addr + 4, 0x6655);
    qt_writeb(s, addr + 6, 0x77);
    QT_ASSERT_EQ(qt_readq(s, addr), 0xa577665511223344ULL);
    qt_quit(s);
}

static void test_alloc(const void *data)
{
    QTestState *s = qt_start("-m 16M");
    QtGuestAlloc a;
    uint64_t p1, p2, p3;

    (void)data;
    qt_alloc_init(&a, 16 * MiB);
    qt_memset(s, QT_ALLOC_START, 0xff, 0x3000);
    p1 = qt_alloc(&a, s, 100, 0);
    p2 = qt_alloc(&a, s, 0x1000, 0x1000);
    p3 = qt_alloc(&a, s, 16 * MiB - QT_ALLOC_START - 0x3000, 0);
    QT_ASSERT(p1 >= QT_ALLOC_START && p1 + 100 <= p2);
    QT_ASSERT_EQ(p2 & 0xfff, 0);
    QT_ASSERT(p2 + 0x1000 <= p3);
    QT_ASSERT(p3 + 16 * MiB - QT_ALLOC_START - 0x3000 <= 16 * MiB);
    QT_ASSERT_EQ(qt_readq(s, p2 + 0xff8), 0);   /* zeroed */
    qt_quit(s);
}

static const uint64_t ram_64m = 64 * MiB;
static const uint64_t ram_1g = GiB;
static const uint64_t ram_3584m = 3584 * MiB;   /* the split point */
static const uint64_t ram_4g = 4 * GiB;

int main(int argc, char **argv)
{
    qt_test_add("ram/size-64M", test_ram_size, &ram_64m, QT_BOTH, NULL);
    qt_test_add("ram/size-1G", test_ram_size, &ram_1g, QT_BOTH, NULL);
    qt_test_add("ram/size-3584M", test_ram_size, &ram_3584m, QT_BOTH, NULL);
    qt_test_add("ram/size-4G", test_ram_size, &ram_4g, QT_BOTH, NULL);
    qt_test_add("ram/transfers", test_transfers, NULL, QT_BOTH, NULL);
    qt_test_add("ram/alloc", test_alloc, NULL, QT_BOTH, NULL);
    return qt_test_run(argc, argv);
}
