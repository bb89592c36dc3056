/*
 * Address-space dispatch and checked guest-RAM access (hw/core/memory.c).
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include <check.h>

typedef struct Probe {
    uint64_t last_offset;
    uint64_t last_value;
    unsigned last_size;
    unsigned writes;
    uint64_t read_value;
} Probe;

static uint64_t probe_read(void *opaque, uint64_t offset, unsigned size)
{
    Probe *p = opaque;
    p->last_offset = offset;
    p->last_size = size;
    return p->read_value;
}

static void probe_write(void *opaque, uint64_t offset, uint64_t value,
                        unsigned size)
{
    Probe *p = opaque;
    p->last_offset = offset;
    p->last_value = value;
    p->last_size = size;
    p->writes++;
}

static const IORegionOps probe_ops = {
    .read = probe_read,
    .write = probe_write,
};

START_TEST(test_pio_dispatch)
{
    Probe p = { .read_value = 0xab };
    IORegion *r = io_region_add(AS_PIO, 0x3f8, 8, &probe_ops, &p, "uart", NULL);
    uint64_t v;

    ck_assert_ptr_nonnull(r);
    ck_assert(io_dispatch_write(AS_PIO, 0x3fb, 1, 0x83));
    ck_assert_uint_eq(p.last_offset, 3);
    ck_assert_uint_eq(p.last_value, 0x83);
    ck_assert(io_dispatch_read(AS_PIO, 0x3f8, 1, &v));
    ck_assert_uint_eq(v, 0xab);
    ck_assert_str_eq(io_region_name_at(AS_PIO, 0x3ff), "uart");
    ck_assert_ptr_null(io_region_name_at(AS_PIO, 0x400));
    io_region_del(r);
    ck_assert_ptr_null(io_region_name_at(AS_PIO, 0x3f8));
}
END_TEST

START_TEST(test_unassigned)
{
    uint64_t v = 0;

    /* As on QEMU's pc: unassigned ports float high, memory reads zero. */
    ck_assert(!io_dispatch_read(AS_PIO, 0x1234, 2, &v));
    ck_assert_uint_eq(v, 0xffff);
    ck_assert(!io_dispatch_read(AS_PIO, 0x1234, 4, &v));
    ck_assert_uint_eq(v, 0xffffffff);
    ck_assert(!io_dispatch_read(AS_MMIO, 0xfe000000, 8, &v));
    ck_assert_uint_eq(v, 0);
    ck_assert(!io_dispatch_write(AS_MMIO, 0xfe000000, 4, 1));
}
END_TEST

START_TEST(test_overlap_and_range_errors)
{
    Probe p = { 0 };
    GError *err = NULL;
    IORegion *a = io_region_add(AS_PIO, 0x60, 1, &probe_ops, &p, "kbd-data",
                                NULL);

    ck_assert_ptr_null(io_region_add(AS_PIO, 0x5f, 2, &probe_ops, &p, "x",
                                     &err));
    ck_assert_ptr_nonnull(strstr(err->message, "overlaps 'kbd-data'"));
    g_clear_error(&err);
    /* Port space ends at 0xffff; a zero-length or wrapping region is bad. */
    ck_assert_ptr_null(io_region_add(AS_PIO, 0xffff, 2, &probe_ops, &p, "x",
                                     &err));
    g_clear_error(&err);
    ck_assert_ptr_null(io_region_add(AS_MMIO, UINT64_MAX, 2, &probe_ops, &p,
                                     "x", &err));
    g_clear_error(&err);
    ck_assert_ptr_null(io_region_add(AS_MMIO, 0x1000, 0, &probe_ops, &p, "x",
                                     &err));
    g_clear_error(&err);
    io_region_del(a);
}
END_TEST

START_TEST(test_straddling_access)
{
    Probe lo = { .read_value = 0x11 }, hi = { .read_value = 0x22 };
    IORegion *a = io_region_add(AS_PIO, 0x500, 1, &probe_ops, &lo, "a", NULL);
    IORegion *b = io_region_add(AS_PIO, 0x501, 1, &probe_ops, &hi, "b", NULL);
    uint64_t v;

    /* Two regions and two unassigned bytes, assembled little-endian. */
    ck_assert(io_dispatch_read(AS_PIO, 0x500, 4, &v));
    ck_assert_uint_eq(v, 0xffff2211);
    ck_assert(io_dispatch_write(AS_PIO, 0x500, 2, 0xbbaa));
    ck_assert_uint_eq(lo.last_value, 0xaa);
    ck_assert_uint_eq(hi.last_value, 0xbb);
    ck_assert_uint_eq(lo.last_size, 1);
    io_region_del(a);
    io_region_del(b);
}
END_TEST

START_TEST(test_region_move)
{
    Probe p = { 0 }, q = { 0 };
    GError *err = NULL;
    IORegion *a = io_region_add(AS_MMIO, 0xfebf0000, 0x1000, &probe_ops, &p,
                                "bar0", NULL);
    IORegion *b = io_region_add(AS_MMIO, 0xfebf2000, 0x1000, &probe_ops, &q,
                                "bar1", NULL);

    ck_assert(io_region_move(a, 0xfe000000, NULL));
    ck_assert(io_dispatch_write(AS_MMIO, 0xfe000010, 4, 7));
    ck_assert_uint_eq(p.last_offset, 0x10);
    ck_assert(!io_dispatch_write(AS_MMIO, 0xfebf0010, 4, 7));
    /* A clash leaves the region where it was. */
    ck_assert(!io_region_move(a, 0xfebf2800, &err));
    g_clear_error(&err);
    ck_assert_str_eq(io_region_name_at(AS_MMIO, 0xfe000000), "bar0");
    io_region_del(a);
    io_region_del(b);
}
END_TEST

static uint8_t *setup_ram(void)
{
    uint8_t *ram = g_malloc0(2 * 4096);

    guest_ram_reset_blocks();
    guest_ram_add_block(0, 4096, ram, "low");
    guest_ram_add_block(0x100000000ULL, 4096, ram + 4096, "high");
    return ram;
}

START_TEST(test_guest_ram_bounds)
{
    g_autofree uint8_t *ram = setup_ram();
    uint8_t buf[16] = { 1, 2, 3 };

    ck_assert_ptr_eq(guest_ram_ptr(0, 4096), ram);
    ck_assert_ptr_eq(guest_ram_ptr(4095, 1), ram + 4095);
    ck_assert_ptr_eq(guest_ram_ptr(4095, 0), ram + 4095);
    ck_assert_ptr_null(guest_ram_ptr(4095, 2));          /* off the end */
    ck_assert_ptr_null(guest_ram_ptr(4096, 0));          /* not RAM */
    ck_assert_ptr_null(guest_ram_ptr(0x80000000, 1));    /* the hole */
    ck_assert_ptr_eq(guest_ram_ptr(0x100000000ULL, 16), ram + 4096);
    /* Ranges that wrap or are absurdly long never pass. */
    ck_assert_ptr_null(guest_ram_ptr(16, UINT64_MAX));
    ck_assert_ptr_null(guest_ram_ptr(UINT64_MAX, 2));
    ck_assert_ptr_null(guest_ram_ptr(0x100000000ULL + 8, UINT64_MAX - 4));
    /* Blocks are separate: no access spans from one into the next. */
    ck_assert(!guest_mem_write(4090, buf, 16));
    ck_assert(guest_mem_write(0x100000000ULL + 100, buf, 3));
    ck_assert_uint_eq(ram[4096 + 102], 3);
    ck_assert(guest_mem_read(0x100000000ULL + 100, buf + 8, 3));
    ck_assert_uint_eq(buf[9], 2);
    guest_ram_reset_blocks();
}
END_TEST

START_TEST(test_phys_rw_mixed)
{
    g_autofree uint8_t *ram = setup_ram();
    Probe p = { .read_value = 0x5a };
    IORegion *r = io_region_add(AS_MMIO, 4096, 4, &probe_ops, &p, "mmio",
                                NULL);
    uint8_t buf[8];

    /* The last two RAM bytes, then two MMIO bytes, then unassigned. */
    memset(ram + 4094, 0x77, 2);
    phys_mem_rw(4094, buf, 8, false);
    ck_assert_uint_eq(buf[0], 0x77);
    ck_assert_uint_eq(buf[1], 0x77);
    ck_assert_uint_eq(buf[2], 0x5a);
    ck_assert_uint_eq(buf[7], 0);
    memset(buf, 0x42, sizeof(buf));
    phys_mem_rw(4094, buf, 4, true);
    ck_assert_uint_eq(ram[4095], 0x42);
    ck_assert_uint_eq(p.writes, 2);
    io_region_del(r);
    guest_ram_reset_blocks();
}
END_TEST

static Suite *memory_suite(void)
{
    Suite *s = suite_create("memory");
    TCase *tc = tcase_create("dispatch");

    tcase_add_test(tc, test_pio_dispatch);
    tcase_add_test(tc, test_unassigned);
    tcase_add_test(tc, test_overlap_and_range_errors);
    tcase_add_test(tc, test_straddling_access);
    tcase_add_test(tc, test_region_move);
    suite_add_tcase(s, tc);
    tc = tcase_create("ram");
    tcase_add_test(tc, test_guest_ram_bounds);
    tcase_add_test(tc, test_phys_rw_mixed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(memory_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
