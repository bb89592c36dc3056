/*
 * RAM split and e820 map of the pc machine.
 */
#include "qemu/osdep.h"
#include <check.h>
#include "hw/i386/pc.h"

static void check_entry(const E820Table *t, unsigned i, uint64_t addr,
                        uint64_t size, uint32_t type)
{
    ck_assert_uint_lt(i, t->count);
    ck_assert_uint_eq(t->entry[i].addr, addr);
    ck_assert_uint_eq(t->entry[i].size, size);
    ck_assert_uint_eq(t->entry[i].type, type);
}

static void check_split(uint64_t ram, uint64_t below, uint64_t above)
{
    uint64_t b, a;

    pc_split_ram(ram, &b, &a);
    ck_assert_uint_eq(b, below);
    ck_assert_uint_eq(a, above);
    ck_assert_uint_eq(a + b, ram);
}

START_TEST(test_split)
{
    check_split(128 * MiB, 128 * MiB, 0);
    check_split(3 * GiB, 3 * GiB, 0);
    /* Just under the 3.5 GiB hole start: all low. */
    check_split(PC_PCI_HOLE_START - 2 * MiB, PC_PCI_HOLE_START - 2 * MiB, 0);
    /* At 3.5 GiB and beyond, QEMU aligns the split to 3 GiB. */
    check_split(PC_PCI_HOLE_START, 3 * GiB, 512 * MiB);
    check_split(4 * GiB, 3 * GiB, 1 * GiB);
    check_split(64 * GiB, 3 * GiB, 61 * GiB);
    check_split(0, 0, 0);
}
END_TEST

START_TEST(test_e820_small_vm)
{
    E820Table t;

    pc_build_e820(&t, 128 * MiB, 0);
    ck_assert_uint_eq(t.count, 5);
    check_entry(&t, 0, 0, 0x9fc00, E820_TYPE_RAM);
    check_entry(&t, 1, 0x9fc00, 0x400, E820_TYPE_RESERVED);
    check_entry(&t, 2, 0xe0000, 0x20000, E820_TYPE_RESERVED);
    check_entry(&t, 3, 0x100000, 127 * MiB, E820_TYPE_RAM);
    check_entry(&t, 4, 0xfeffc000, 0x4000, E820_TYPE_RESERVED);
}
END_TEST

START_TEST(test_e820_above_4g)
{
    E820Table t;
    uint64_t below, above;

    pc_split_ram(6 * GiB, &below, &above);
    pc_build_e820(&t, below, above);
    ck_assert_uint_eq(t.count, 6);
    check_entry(&t, 3, 0x100000, 3 * GiB - MiB, E820_TYPE_RAM);
    check_entry(&t, 4, 0xfeffc000, 0x4000, E820_TYPE_RESERVED);
    check_entry(&t, 5, 4 * GiB, 3 * GiB, E820_TYPE_RAM);
}
END_TEST

START_TEST(test_e820_tiny)
{
    E820Table t;

    /* Less than conventional memory: RAM is cut short, no high RAM. */
    pc_build_e820(&t, 512 * KiB, 0);
    ck_assert_uint_eq(t.count, 4);
    check_entry(&t, 0, 0, 512 * KiB, E820_TYPE_RAM);
    check_entry(&t, 1, 0x9fc00, 0x400, E820_TYPE_RESERVED);
    check_entry(&t, 2, 0xe0000, 0x20000, E820_TYPE_RESERVED);

    pc_build_e820(&t, 1 * MiB, 0);
    ck_assert_uint_eq(t.count, 4);
    check_entry(&t, 0, 0, 0x9fc00, E820_TYPE_RAM);

    pc_build_e820(&t, 0, 0);
    ck_assert_uint_eq(t.count, 3);
    check_entry(&t, 0, 0x9fc00, 0x400, E820_TYPE_RESERVED);
}
END_TEST

/* Whatever the size: sorted, disjoint, RAM totals the guest's RAM. */
START_TEST(test_e820_consistent)
{
    static const uint64_t sizes[] = {
        2 * MiB, 16 * MiB, 1 * GiB, 3 * GiB, PC_PCI_HOLE_START - 1,
        PC_PCI_HOLE_START, 5 * GiB + 4 * KiB, 1024 * GiB,
    };

    for (unsigned s = 0; s < ARRAY_SIZE(sizes); s++) {
        E820Table t;
        uint64_t below, above, ram = 0, hole = 0;

        pc_split_ram(sizes[s], &below, &above);
        pc_build_e820(&t, below, above);
        for (unsigned i = 0; i < t.count; i++) {
            ck_assert_uint_gt(t.entry[i].size, 0);
            if (i > 0) {
                ck_assert_uint_le(t.entry[i - 1].addr + t.entry[i - 1].size,
                                  t.entry[i].addr);
            }
            if (t.entry[i].type == E820_TYPE_RAM) {
                ram += t.entry[i].size;
                ck_assert(t.entry[i].addr + t.entry[i].size <= PC_PCI_HOLE_START
                          || t.entry[i].addr >= PC_4G);
            }
        }
        /* Low RAM under the EBDA and BIOS area is not reported. */
        hole = PC_HIGH_MEM_ADDR - PC_EBDA_ADDR;
        ck_assert_uint_eq(ram + hole, sizes[s]);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e820");
    TCase *tc = tcase_create("e820");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_split);
    tcase_add_test(tc, test_e820_small_vm);
    tcase_add_test(tc, test_e820_above_4g);
    tcase_add_test(tc, test_e820_tiny);
    tcase_add_test(tc, test_e820_consistent);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
