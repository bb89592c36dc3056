/*
 * guest_error_report(): what a guest gets wrong is reported, but a guest
 * repeating its mistake cannot flood the host's log.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include <check.h>

static unsigned count_lines(const char *text, const char *needle)
{
    unsigned n = 0;

    for (const char *p = text; (p = strstr(p, needle)); p++) {
        n++;
    }
    return n;
}

START_TEST(test_guest_errors_rate_limited)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    error_set_progname("qvmm");
    error_set_output(out);
    for (unsigned i = 0; i < 1000; i++) {
        guest_error_report("vq %u: broken", i);
    }
    fflush(out);
    /* The burst, then nothing while the guest keeps going. */
    ck_assert_uint_eq(count_lines(text, ": broken\n"), 20);
    ck_assert(strstr(text, "qvmm: vq 0: broken\n"));
    ck_assert(strstr(text, "qvmm: vq 19: broken\n"));
    ck_assert(!strstr(text, "vq 20:"));
    /* A second later one more gets through, with the count left out. */
    g_usleep(1100 * 1000);
    guest_error_report("vq %u: broken", 1000u);
    error_set_output(NULL);
    fclose(out);
    ck_assert(strstr(text, "qvmm: 980 more guest errors were not reported\n"
                           "qvmm: vq 1000: broken\n"));
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("error-report");
    TCase *tc = tcase_create("guest");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_guest_errors_rate_limited);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
