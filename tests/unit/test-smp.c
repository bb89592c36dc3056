/*
 * -smp rules and APIC ids.  Expected topologies, error texts and APIC
 * ids were taken from qemu-system-x86_64 7.2 (-M pc, KVM).
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "hw/boards.h"

#include "capture.h"
#include <check.h>


static CpuTopology parse_ok(const char *arg)
{
    CpuTopology t;
    GError *err = NULL;

    memset(&t, 0xff, sizeof(t));
    ck_assert_msg(machine_parse_smp(arg, PC_MACHINE_MAX_CPUS, &t, &err),
                  "-smp '%s': %s", arg, err ? err->message : "");
    return t;
}

static char *parse_err(const char *arg, const MachineSMPProps *mp)
{
    g_autoptr(QOpts) smp = NULL;
    GError *err = NULL;
    CpuTopology t;
    bool help;
    char *msg;

    if (mp) {
        ck_assert(smp_parse_opts(&smp, arg, &help, NULL));
        ck_assert(!machine_smp_apply(smp, mp, &t, &err));
    } else {
        ck_assert(!machine_parse_smp(arg, PC_MACHINE_MAX_CPUS, &t, &err));
    }
    ck_assert_ptr_nonnull(err);
    msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

#define ck_assert_smp_error(arg, mp, want) do {                  \
        g_autofree char *msg_ = parse_err(arg, mp);              \
        ck_assert_str_eq(msg_, want);                            \
    } while (0)

#define ck_assert_topo(t, c, s, d, co, th, m) do {               \
        ck_assert_uint_eq((t).cpus, c);                          \
        ck_assert_uint_eq((t).sockets, s);                       \
        ck_assert_uint_eq((t).dies, d);                          \
        ck_assert_uint_eq((t).cores, co);                        \
        ck_assert_uint_eq((t).threads, th);                      \
        ck_assert_uint_eq((t).max_cpus, m);                      \
    } while (0)

static const MachineSMPProps no_dies = {
    .name = "TEST-SMP", .max_cpus = 512,
};
static const MachineSMPProps old_pc = {
    .name = "pc-i440fx-6.1", .max_cpus = 255, .prefer_sockets = true,
    .dies_supported = true,
};
static const MachineSMPProps clustered = {
    .name = "virt", .min_cpus = 2, .max_cpus = 512,
    .clusters_supported = true,
};
static const MachineSMPProps q35 = {
    .name = "pc-q35-7.2", .max_cpus = 288, .dies_supported = true,
};

START_TEST(test_default)
{
    CpuTopology t = parse_ok(NULL), d;

    ck_assert_topo(t, 1, 1, 1, 1, 1, 1);
    t = parse_ok("");
    ck_assert_topo(t, 1, 1, 1, 1, 1, 1);
    machine_smp_default(&d);
    ck_assert_topo(d, 1, 1, 1, 1, 1, 1);
}
END_TEST

START_TEST(test_cores_preferred)
{
    CpuTopology t;

    /* since machine type 6.2 missing counts go to cores first */
    t = parse_ok("4");
    ck_assert_topo(t, 4, 1, 1, 4, 1, 4);
    t = parse_ok("4,sockets=2");
    ck_assert_topo(t, 4, 2, 1, 2, 1, 4);
    t = parse_ok("8,sockets=2,cores=2");
    ck_assert_topo(t, 8, 2, 1, 2, 2, 8);
    t = parse_ok("cpus=4,threads=2");
    ck_assert_topo(t, 4, 1, 1, 2, 2, 4);
    t = parse_ok("cores=2,threads=2");
    ck_assert_topo(t, 4, 1, 1, 2, 2, 4);
    t = parse_ok("sockets=2,cores=3,threads=2,dies=2");
    ck_assert_topo(t, 24, 2, 2, 3, 2, 24);
    t = parse_ok("12,sockets=2,dies=2,cores=3,threads=1");
    ck_assert_topo(t, 12, 2, 2, 3, 1, 12);
}
END_TEST

START_TEST(test_cpus_and_maxcpus)
{
    CpuTopology t;

    t = parse_ok("2,maxcpus=4");
    ck_assert_topo(t, 2, 1, 1, 4, 1, 4);
    t = parse_ok("maxcpus=8,sockets=2");
    ck_assert_topo(t, 8, 2, 1, 4, 1, 8);
    t = parse_ok("2,cpus=3");
    ck_assert_topo(t, 3, 1, 1, 3, 1, 3);
    t = parse_ok("cpus=0x2");
    ck_assert_uint_eq(t.cpus, 2);
    t = parse_ok("cpus=010");
    ck_assert_uint_eq(t.cpus, 8);
    t = parse_ok("cpus=2,clusters=1");
    ck_assert_topo(t, 2, 1, 1, 2, 1, 2);
    /* 2^32 wraps to 0, which counts as omitted: one CPU */
    t = parse_ok("4294967296");
    ck_assert_topo(t, 1, 1, 1, 1, 1, 1);
}
END_TEST

START_TEST(test_sockets_preferred_before_6_2)
{
    g_autoptr(QOpts) smp = NULL;
    CpuTopology t;
    bool help;

    ck_assert(smp_parse_opts(&smp, "4", &help, NULL));
    ck_assert(machine_smp_apply(smp, &old_pc, &t, NULL));
    ck_assert_topo(t, 4, 4, 1, 1, 1, 4);
    qopts_free(smp);
    smp = NULL;
    ck_assert(smp_parse_opts(&smp, "8,cores=2", &help, NULL));
    ck_assert(machine_smp_apply(smp, &old_pc, &t, NULL));
    ck_assert_topo(t, 8, 4, 1, 2, 1, 8);
}
END_TEST

START_TEST(test_zero_is_deprecated_not_fatal)
{
    CpuTopology t;
    char *out;

    capture_start();
    t = parse_ok("0");
    out = capture_end();
    ck_assert_topo(t, 1, 1, 1, 1, 1, 1);
    ck_assert_str_eq(out, "qvmm: warning: Deprecated CPU topology (considered "
                     "invalid): CPU topology parameters must be greater than "
                     "zero\n");
    free(out);

    capture_start();
    t = parse_ok("2,threads=0");
    out = capture_end();
    ck_assert_topo(t, 2, 1, 1, 2, 1, 2);
    ck_assert_ptr_nonnull(strstr(out, "Deprecated CPU topology"));
    free(out);
}
END_TEST

START_TEST(test_topology_errors)
{
    ck_assert_smp_error("2,sockets=2,cores=2", NULL,
        "Invalid CPU topology: product of the hierarchy must match maxcpus: "
        "sockets (2) * dies (1) * cores (2) * threads (0) != maxcpus (2)");
    ck_assert_smp_error("sockets=2,maxcpus=3", NULL,
        "Invalid CPU topology: product of the hierarchy must match maxcpus: "
        "sockets (2) * dies (1) * cores (1) * threads (1) != maxcpus (3)");
    ck_assert_smp_error("cpus=4,sockets=3", NULL,
        "Invalid CPU topology: product of the hierarchy must match maxcpus: "
        "sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (4)");
    ck_assert_smp_error("4,maxcpus=2", NULL,
        "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
        "sockets (1) * dies (1) * cores (2) * threads (1) == maxcpus (2) "
        "< smp_cpus (4)");
    /* a product that wraps to zero must not crash (QEMU would divide by 0) */
    ck_assert_smp_error("cpus=1,sockets=65536,threads=65536", NULL,
        "Invalid CPU topology: product of the hierarchy must match maxcpus: "
        "sockets (65536) * dies (1) * cores (0) * threads (65536) "
        "!= maxcpus (1)");
}
END_TEST

START_TEST(test_machine_limits)
{
    ck_assert_smp_error("256", NULL, "Invalid SMP CPUs 256. The max CPUs "
                        "supported by machine 'pc-i440fx-7.2' is 255");
    ck_assert_smp_error("maxcpus=256", NULL, "Invalid SMP CPUs 256. The max "
                        "CPUs supported by machine 'pc-i440fx-7.2' is 255");
    ck_assert_smp_error("-1", NULL, "Invalid SMP CPUs -1. The max CPUs "
                        "supported by machine 'pc-i440fx-7.2' is 255");
    ck_assert_smp_error("5000000000", NULL, "Invalid SMP CPUs 705032704. The "
                        "max CPUs supported by machine 'pc-i440fx-7.2' is 255");
    ck_assert_smp_error("300", &q35, "Invalid SMP CPUs 300. The max CPUs "
                        "supported by machine 'pc-q35-7.2' is 288");
    ck_assert_smp_error("1", &clustered, "Invalid SMP CPUs 1. The min CPUs "
                        "supported by machine 'virt' is 2");
}
END_TEST

START_TEST(test_unsupported_levels)
{
    ck_assert_smp_error("cpus=2,clusters=2", NULL,
                        "clusters not supported by this machine's CPU "
                        "topology");
    ck_assert_smp_error("2,dies=2", &no_dies,
                        "dies not supported by this machine's CPU topology");
    /* without dies the hierarchy text leaves them out */
    ck_assert_smp_error("sockets=2,cores=1,threads=1,maxcpus=4", &no_dies,
        "Invalid CPU topology: product of the hierarchy must match maxcpus: "
        "sockets (2) * cores (1) * threads (1) != maxcpus (4)");
    ck_assert_smp_error("sockets=2,clusters=2,maxcpus=6", &clustered,
        "Invalid CPU topology: product of the hierarchy must match maxcpus: "
        "sockets (2) * clusters (2) * cores (1) * threads (1) != maxcpus (6)");
}
END_TEST

START_TEST(test_value_errors)
{
    ck_assert_smp_error("foo", NULL, "Parameter 'smp.cpus' expects integer");
    ck_assert_smp_error("cpus=", NULL, "Parameter 'smp.cpus' expects integer");
    ck_assert_smp_error("2.5", NULL, "Parameter 'smp.cpus' expects integer");
    ck_assert_smp_error("9223372036854775808", NULL,
                        "Parameter 'smp.cpus' expects integer");
    ck_assert_smp_error("2,cores=x", NULL,
                        "Parameter 'smp.cores' expects integer");
    /* member values are checked before unknown keys */
    ck_assert_smp_error("foo=1,cpus=x", NULL,
                        "Parameter 'smp.cpus' expects integer");
    ck_assert_smp_error("2,books=1", NULL,
                        "Parameter 'smp.books' is unexpected");
    ck_assert_smp_error("2,foo.bar=1", NULL,
                        "Parameter 'smp.foo' is unexpected");
    ck_assert_smp_error("cpus.x=1", NULL,
                        "Parameters 'smp.cpus.*' are unexpected");
}
END_TEST

START_TEST(test_syntax_errors)
{
    g_autoptr(QOpts) smp = NULL;
    GError *err = NULL;
    bool help = false;

    ck_assert_smp_error("2,cores", NULL,
                        "Expected '=' after parameter 'cores'");
    ck_assert_smp_error("2,,3", NULL, "Invalid parameter ''");
    ck_assert_smp_error("help", NULL, "Help is not available for this option");

    ck_assert(smp_parse_opts(&smp, "2,help", &help, &err));
    ck_assert(help);
}
END_TEST

START_TEST(test_repeated_smp_merges)
{
    g_autoptr(QOpts) smp = NULL;
    GError *err = NULL;
    CpuTopology t;
    bool help;
    const MachineSMPProps pc = {
        .name = PC_MACHINE_NAME, .max_cpus = 255, .dies_supported = true,
    };

    ck_assert(smp_parse_opts(&smp, "2", &help, NULL));
    ck_assert(smp_parse_opts(&smp, "sockets=2,cpus=4", &help, NULL));
    ck_assert(machine_smp_apply(smp, &pc, &t, NULL));
    ck_assert_topo(t, 4, 2, 1, 2, 1, 4);

    ck_assert(!smp_parse_opts(&smp, "cpus.x=1", &help, &err));
    ck_assert_str_eq(err->message,
                     "Parameter 'smp.cpus' used inconsistently");
    g_clear_error(&err);
}
END_TEST

START_TEST(test_help_text)
{
    FILE *saved = stdout;
    char *buf = NULL;
    size_t len = 0;

    stdout = open_memstream(&buf, &len);
    smp_print_help();
    fclose(stdout);
    stdout = saved;
    ck_assert_str_eq(buf, "smp-opts options:\n"
                     "  clusters=<num>\n  cores=<num>\n  cpus=<num>\n"
                     "  dies=<num>\n  maxcpus=<num>\n  sockets=<num>\n"
                     "  threads=<num>\n");
    free(buf);
}
END_TEST

/* ---- APIC ids ---- */

START_TEST(test_bitwidth)
{
    static const unsigned want[] = { 0, 0, 1, 2, 2, 3, 3, 3, 3, 4 };

    for (unsigned n = 1; n < ARRAY_SIZE(want); n++) {
        ck_assert_uint_eq(apicid_bitwidth_for_count(n), want[n]);
    }
    ck_assert_uint_eq(apicid_bitwidth_for_count(256), 8);
    ck_assert_uint_eq(apicid_bitwidth_for_count(257), 9);
}
END_TEST

START_TEST(test_apic_ids_threads)
{
    /* 2 sockets x 3 cores x 2 threads: core ids round up to 4 slots */
    CpuTopology t = parse_ok("sockets=2,cores=3,threads=2");
    static const unsigned want[] = { 0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13 };

    ck_assert_uint_eq(x86_apicid_core_offset(&t), 1);
    ck_assert_uint_eq(x86_apicid_die_offset(&t), 3);
    ck_assert_uint_eq(x86_apicid_pkg_offset(&t), 3);
    for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
        ck_assert_uint_eq(x86_apicid_from_cpu_idx(&t, i), want[i]);
    }
}
END_TEST

START_TEST(test_apic_ids_dies)
{
    /* what QEMU 7.2 put in CPUID[1].EBX[31:24] for this -smp */
    CpuTopology t = parse_ok("12,sockets=2,dies=2,cores=3,threads=1");
    static const unsigned want[] = { 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14 };
    X86CPUTopoIDs ids;

    ck_assert_uint_eq(x86_apicid_core_offset(&t), 0);
    ck_assert_uint_eq(x86_apicid_die_offset(&t), 2);
    ck_assert_uint_eq(x86_apicid_pkg_offset(&t), 3);
    for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
        ck_assert_uint_eq(x86_apicid_from_cpu_idx(&t, i), want[i]);
    }
    x86_topo_ids_from_apicid(&t, 13, &ids);
    ck_assert_uint_eq(ids.pkg_id, 1);
    ck_assert_uint_eq(ids.die_id, 1);
    ck_assert_uint_eq(ids.core_id, 1);
    ck_assert_uint_eq(ids.smt_id, 0);
}
END_TEST

START_TEST(test_apic_ids_roundtrip)
{
    CpuTopology t = parse_ok("sockets=3,dies=3,cores=5,threads=3");

    for (unsigned i = 0; i < t.max_cpus; i++) {
        X86CPUTopoIDs a, b;
        unsigned id = x86_apicid_from_cpu_idx(&t, i);

        x86_topo_ids_from_idx(&t, i, &a);
        x86_topo_ids_from_apicid(&t, id, &b);
        ck_assert_uint_eq(a.pkg_id, b.pkg_id);
        ck_assert_uint_eq(a.die_id, b.die_id);
        ck_assert_uint_eq(a.core_id, b.core_id);
        ck_assert_uint_eq(a.smt_id, b.smt_id);
        ck_assert_uint_lt(a.core_id, 5);
        ck_assert_uint_lt(a.smt_id, 3);
    }
    ck_assert_uint_eq(x86_apicid_from_cpu_idx(&t, t.max_cpus - 1),
                      (2u << 7) | (2u << 5) | (4u << 2) | 2u);
}
END_TEST

START_TEST(test_apic_ids_flat)
{
    CpuTopology t = parse_ok("16");

    for (unsigned i = 0; i < 16; i++) {
        ck_assert_uint_eq(x86_apicid_from_cpu_idx(&t, i), i);
    }
}
END_TEST

static Suite *smp_suite(void)
{
    Suite *s = suite_create("smp");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_default);
    tcase_add_test(tc, test_cores_preferred);
    tcase_add_test(tc, test_cpus_and_maxcpus);
    tcase_add_test(tc, test_sockets_preferred_before_6_2);
    tcase_add_test(tc, test_zero_is_deprecated_not_fatal);
    tcase_add_test(tc, test_topology_errors);
    tcase_add_test(tc, test_machine_limits);
    tcase_add_test(tc, test_unsupported_levels);
    tcase_add_test(tc, test_value_errors);
    tcase_add_test(tc, test_syntax_errors);
    tcase_add_test(tc, test_repeated_smp_merges);
    tcase_add_test(tc, test_help_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("apic");
    tcase_add_test(tc, test_bitwidth);
    tcase_add_test(tc, test_apic_ids_threads);
    tcase_add_test(tc, test_apic_ids_dies);
    tcase_add_test(tc, test_apic_ids_roundtrip);
    tcase_add_test(tc, test_apic_ids_flat);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(smp_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
