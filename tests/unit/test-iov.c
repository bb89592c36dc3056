/*
 * util/iov.c: copies and slices across iovec boundaries, and the bounds
 * virtio-blk relies on to find a request's header, data and status.
 */
#include "qemu/osdep.h"
#include "qemu/iov.h"
#include <check.h>

static uint8_t a[5], b[1], c[7];
static struct iovec v[3];

static void setup(void)
{
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    memset(c, 0, sizeof(c));
    v[0] = (struct iovec){ a, sizeof(a) };
    v[1] = (struct iovec){ b, sizeof(b) };
    v[2] = (struct iovec){ c, sizeof(c) };
}

START_TEST(test_size)
{
    struct iovec huge[2] = { { NULL, SIZE_MAX }, { NULL, 2 } };

    ck_assert_uint_eq(iov_size(v, 3), 13);
    ck_assert_uint_eq(iov_size(v, 0), 0);
    ck_assert_uint_eq(iov_size(huge, 2), SIZE_MAX);
}
END_TEST

START_TEST(test_copy_across)
{
    uint8_t in[13], out[13];

    for (unsigned i = 0; i < sizeof(in); i++) {
        in[i] = i + 1;
    }
    ck_assert_uint_eq(iov_from_buf(v, 3, 0, in, sizeof(in)), 13);
    ck_assert_uint_eq(a[4], 5);
    ck_assert_uint_eq(b[0], 6);
    ck_assert_uint_eq(c[0], 7);
    memset(out, 0, sizeof(out));
    ck_assert_uint_eq(iov_to_buf(v, 3, 4, out, 3), 3);
    ck_assert_uint_eq(out[0], 5);
    ck_assert_uint_eq(out[1], 6);
    ck_assert_uint_eq(out[2], 7);
    /* Past the end: only what is there is copied. */
    ck_assert_uint_eq(iov_to_buf(v, 3, 10, out, 13), 3);
    ck_assert_uint_eq(out[2], 13);
    ck_assert_uint_eq(iov_to_buf(v, 3, 13, out, 1), 0);
    ck_assert_uint_eq(iov_from_buf(v, 3, 100, in, 1), 0);
}
END_TEST

START_TEST(test_slice)
{
    struct iovec out[3];

    /* Middle bytes 3..8: tail of a, all of b, head of c. */
    ck_assert_int_eq(iov_slice(v, 3, 3, 6, out, 3), 3);
    ck_assert_ptr_eq(out[0].iov_base, a + 3);
    ck_assert_uint_eq(out[0].iov_len, 2);
    ck_assert_ptr_eq(out[1].iov_base, b);
    ck_assert_uint_eq(out[2].iov_len, 3);
    /* Not enough room, not enough bytes, nothing at all. */
    ck_assert_int_eq(iov_slice(v, 3, 3, 6, out, 2), -1);
    ck_assert_int_eq(iov_slice(v, 3, 12, 2, out, 3), -1);
    ck_assert_int_eq(iov_slice(v, 3, 13, 0, out, 3), 0);
    ck_assert_int_eq(iov_slice(v, 3, SIZE_MAX, 1, out, 3), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("iov");
    TCase *tc = tcase_create("iov");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_size);
    tcase_add_test(tc, test_copy_across);
    tcase_add_test(tc, test_slice);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
