/*
 * QemuOpts and keyval syntax, value parsers, sizes and error texts.
 * Expected values were checked against qemu-system-x86_64 7.2.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/option.h"

#include "capture.h"
#include <check.h>


static void setup(void)
{
    error_set_progname(NULL);
    loc_clear();
}

/* ---- QemuOpts syntax ---- */

START_TEST(test_implied_key)
{
    g_autoptr(QOpts) o = qopts_parse("1G,slots=2", "size", NULL);

    ck_assert_uint_eq(o->items->len, 2);
    ck_assert_str_eq(qopts_get(o, "size"), "1G");
    ck_assert_str_eq(qopts_get(o, "slots"), "2");
    ck_assert(!qopts_has(o, "maxmem"));
    ck_assert_ptr_null(qopts_get(o, "maxmem"));
}
END_TEST

START_TEST(test_explicit_first_key)
{
    g_autoptr(QOpts) o = qopts_parse("size=2G", "size", NULL);

    ck_assert_uint_eq(o->items->len, 1);
    ck_assert_str_eq(qopts_get(o, "size"), "2G");
}
END_TEST

START_TEST(test_comma_escape)
{
    g_autoptr(QOpts) a = qopts_parse("file=my,,file,if=none", NULL, NULL);
    g_autoptr(QOpts) b = qopts_parse("a,,b,,,x=1", "path", NULL);
    g_autoptr(QOpts) c = qopts_parse("v=,,,,", NULL, NULL);

    ck_assert_str_eq(qopts_get(a, "file"), "my,file");
    ck_assert_str_eq(qopts_get(a, "if"), "none");
    ck_assert_str_eq(qopts_get(b, "path"), "a,b,");
    ck_assert_str_eq(qopts_get(b, "x"), "1");
    ck_assert_str_eq(qopts_get(c, "v"), ",,");
}
END_TEST

START_TEST(test_repeated_key_last_wins)
{
    g_autoptr(QOpts) o = qopts_parse("hostfwd=a,hostfwd=b", NULL, NULL);

    ck_assert_uint_eq(o->items->len, 2);
    ck_assert_str_eq(qopts_get(o, "hostfwd"), "b");
    ck_assert_uint_eq(qopts_del(o, "hostfwd"), 2);
    ck_assert_uint_eq(o->items->len, 0);
}
END_TEST

START_TEST(test_flags)
{
    g_autoptr(QOpts) o = NULL;
    char *out;

    capture_start();
    o = qopts_parse("server,nowait", NULL, NULL);
    out = capture_end();
    ck_assert_str_eq(qopts_get(o, "server"), "on");
    ck_assert_str_eq(qopts_get(o, "wait"), "off");
    ck_assert_str_eq(out,
        "qvmm: warning: short-form boolean option 'server' deprecated\n"
        "Please use server=on instead\n"
        "qvmm: warning: short-form boolean option 'nowait' deprecated\n"
        "Please use wait=off instead\n");
    free(out);
}
END_TEST

START_TEST(test_flag_after_implied)
{
    g_autoptr(QOpts) o = NULL;
    char *out;

    loc_set_cmdline("-name", "foo,debug-threads");
    capture_start();
    o = qopts_parse("foo,debug-threads", "guest", NULL);
    out = capture_end();
    ck_assert_str_eq(qopts_get(o, "guest"), "foo");
    ck_assert_str_eq(qopts_get(o, "debug-threads"), "on");
    ck_assert_str_eq(out, "qvmm: -name foo,debug-threads: warning: "
                     "short-form boolean option 'debug-threads' deprecated\n"
                     "Please use debug-threads=on instead\n");
    free(out);
}
END_TEST

START_TEST(test_no_prefix_quirks)
{
    g_autoptr(QOpts) node = NULL, delay = NULL, nodelay = NULL;
    char *out;

    capture_start();
    node = qopts_parse("node", NULL, NULL);
    delay = qopts_parse("delay", NULL, NULL);
    nodelay = qopts_parse("nodelay", NULL, NULL);
    out = capture_end();
    /* QEMU strips "no" from any bare word */
    ck_assert_str_eq(qopts_get(node, "de"), "off");
    ck_assert_str_eq(qopts_get(delay, "delay"), "on");
    ck_assert_str_eq(qopts_get(nodelay, "delay"), "off");
    ck_assert_ptr_nonnull(strstr(out, "Please use de=off instead\n"));
    ck_assert_ptr_nonnull(strstr(out, "'delay' deprecated\n"
                                      "Please use nodelay=off instead\n"));
    ck_assert_ptr_nonnull(strstr(out, "'nodelay' deprecated\n"
                                      "Please use nodelay=on instead\n"));
    free(out);
}
END_TEST

START_TEST(test_help)
{
    g_autoptr(QOpts) a = qopts_parse("foo,help", "guest", NULL);
    g_autoptr(QOpts) b = qopts_parse("x=1,?,y=2", NULL, NULL);
    g_autoptr(QOpts) c = qopts_parse("help", "guest", NULL);

    ck_assert(a->help);
    ck_assert(b->help);
    ck_assert(!qopts_has(b, "y"));
    /* an implied first value is a value, even "help" */
    ck_assert(!c->help);
    ck_assert_str_eq(qopts_get(c, "guest"), "help");
}
END_TEST

START_TEST(test_empty_items)
{
    g_autoptr(QOpts) empty = qopts_parse("", "size", NULL);
    g_autoptr(QOpts) noval = qopts_parse("size=", "size", NULL);
    g_autoptr(QOpts) lead = qopts_parse(",x=1", "size", NULL);
    g_autoptr(QOpts) trail = qopts_parse("x=1,", NULL, NULL);

    ck_assert_uint_eq(empty->items->len, 0);
    ck_assert_str_eq(qopts_get(noval, "size"), "");
    ck_assert_str_eq(qopts_get(lead, "size"), "");
    ck_assert_str_eq(qopts_get(lead, "x"), "1");
    ck_assert_uint_eq(trail->items->len, 1);
}
END_TEST

START_TEST(test_first_id_wins)
{
    g_autoptr(QOpts) o = qopts_parse("null,id=a,id=b", "backend", NULL);

    ck_assert_uint_eq(o->items->len, 2);
    ck_assert_str_eq(qopts_get(o, "id"), "a");
}
END_TEST

START_TEST(test_set)
{
    g_autoptr(QOpts) o = qopts_parse("a=1", NULL, NULL);

    qopts_set(o, "a", "2");
    qopts_set(o, "b", "x,y");
    ck_assert_str_eq(qopts_get(o, "a"), "2");
    ck_assert_str_eq(qopts_get(o, "b"), "x,y");
}
END_TEST

/* ---- validation ---- */

static const char *const memory_keys[] = { "size", "slots", "maxmem", NULL };

static const QOptDesc memory_desc[] = {
    { "size", QOPT_SIZE },
    { "slots", QOPT_NUMBER },
    { "maxmem", QOPT_SIZE },
    { NULL, QOPT_STRING },
};

START_TEST(test_check_keys)
{
    g_autoptr(QOpts) good = qopts_parse("1G,slots=2", "size", NULL);
    g_autoptr(QOpts) bad = qopts_parse("1G,bar=1,baz=2", "size", NULL);
    g_autoptr(QOpts) empty = qopts_parse("1G,=x", "size", NULL);
    GError *err = NULL;

    ck_assert(qopts_check_keys(good, memory_keys, NULL));
    ck_assert(!qopts_check_keys(bad, memory_keys, &err));
    ck_assert_str_eq(err->message, "Invalid parameter 'bar'");
    g_clear_error(&err);
    ck_assert(!qopts_check_keys(empty, memory_keys, &err));
    ck_assert_str_eq(err->message, "Invalid parameter ''");
    g_clear_error(&err);
}
END_TEST

START_TEST(test_validate_in_order)
{
    g_autoptr(QOpts) a = qopts_parse("foo,bar=1", "size", NULL);
    g_autoptr(QOpts) b = qopts_parse("1G,bar=1,slots=x", "size", NULL);
    g_autoptr(QOpts) c = qopts_parse("1G,slots=x,bar=1", "size", NULL);
    g_autoptr(QOpts) d = qopts_parse("1G,maxmem=2G,slots=4", "size", NULL);
    GError *err = NULL;

    ck_assert(!qopts_validate(a, memory_desc, &err));
    ck_assert_str_eq(err->message, "Parameter 'size' expects a non-negative "
                     "number below 2^64");
    g_clear_error(&err);
    ck_assert(!qopts_validate(b, memory_desc, &err));
    ck_assert_str_eq(err->message, "Invalid parameter 'bar'");
    g_clear_error(&err);
    ck_assert(!qopts_validate(c, memory_desc, &err));
    ck_assert_str_eq(err->message, "Parameter 'slots' expects a number");
    g_clear_error(&err);
    ck_assert(qopts_validate(d, memory_desc, &err));
}
END_TEST

START_TEST(test_typed_getters)
{
    g_autoptr(QOpts) o = qopts_parse("1G,slots=0x10,on=yes,bad=maybe",
                                     "size", NULL);
    uint64_t n;
    bool b;
    GError *err = NULL;

    ck_assert(qopts_get_size(o, "size", 0, &n, NULL));
    ck_assert_uint_eq(n, GiB);
    ck_assert(qopts_get_number(o, "slots", 0, &n, NULL));
    ck_assert_uint_eq(n, 16);
    ck_assert(qopts_get_number(o, "absent", 7, &n, NULL));
    ck_assert_uint_eq(n, 7);
    ck_assert(qopts_get_bool(o, "on", false, &b, NULL));
    ck_assert(b);
    ck_assert(qopts_get_bool(o, "absent", true, &b, NULL));
    ck_assert(b);
    ck_assert(!qopts_get_bool(o, "bad", false, &b, &err));
    ck_assert_str_eq(err->message, "Parameter 'bad' expects 'on' or 'off'");
    g_clear_error(&err);
}
END_TEST

START_TEST(test_parse_bool)
{
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };
    GError *err = NULL;
    bool b;

    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        b = false;
        ck_assert(parse_option_bool("x", yes[i], &b, NULL));
        ck_assert(b);
        ck_assert(parse_option_bool("x", no[i], &b, NULL));
        ck_assert(!b);
    }
    ck_assert(!parse_option_bool("x2apic", "On", &b, &err));
    ck_assert_str_eq(err->message, "Parameter 'x2apic' expects 'on' or 'off'");
    g_clear_error(&err);
    ck_assert(!parse_option_bool("x", "", &b, NULL));
}
END_TEST

START_TEST(test_parse_number)
{
    GError *err = NULL;
    uint64_t n;

    ck_assert(parse_option_number("n", "0x10", &n, NULL));
    ck_assert_uint_eq(n, 16);
    ck_assert(parse_option_number("n", "010", &n, NULL));
    ck_assert_uint_eq(n, 8);
    ck_assert(parse_option_number("n", " 5", &n, NULL));
    ck_assert_uint_eq(n, 5);
    /* QEMU's strtoull takes "-1" as 2^64 - 1 */
    ck_assert(parse_option_number("n", "-1", &n, NULL));
    ck_assert_uint_eq(n, UINT64_MAX);
    ck_assert(parse_option_number("n", "18446744073709551615", &n, NULL));
    ck_assert_uint_eq(n, UINT64_MAX);

    ck_assert(!parse_option_number("cpus", "5 ", &n, &err));
    ck_assert_str_eq(err->message, "Parameter 'cpus' expects a number");
    g_clear_error(&err);
    ck_assert(!parse_option_number("cpus", "", &n, &err));
    ck_assert_str_eq(err->message, "Parameter 'cpus' expects a number");
    g_clear_error(&err);
    ck_assert(!parse_option_number("slots", "99999999999999999999", &n,
                                   &err));
    ck_assert_str_eq(err->message, "Value '99999999999999999999' is too large "
                     "for parameter 'slots'");
    g_clear_error(&err);
    /* trailing junk wins over overflow */
    ck_assert(!parse_option_number("slots", "99999999999999999999x", &n,
                                   &err));
    ck_assert_str_eq(err->message, "Parameter 'slots' expects a number");
    g_clear_error(&err);
}
END_TEST

START_TEST(test_parse_size_errors)
{
    GError *err = NULL;
    uint64_t n;

    ck_assert(!parse_option_size("size", "foo", &n, &err));
    ck_assert_str_eq(err->message, "Parameter 'size' expects a non-negative "
                     "number below 2^64");
    ck_assert(error_is_size_format(err));
    g_clear_error(&err);
    ck_assert(!parse_option_size("size", "16E", &n, &err));
    ck_assert_str_eq(err->message,
                     "Value '16E' is out of range for parameter 'size'");
    ck_assert(!error_is_size_format(err));
    g_clear_error(&err);
    /* a fraction of a byte: -m 1.5 fails in QEMU 7.2 */
    ck_assert(!parse_option_size("size", "1.5", &n, &err));
    ck_assert(error_is_size_format(err));
    g_clear_error(&err);
}
END_TEST

START_TEST(test_report_size_error_with_hint)
{
    GError *err = NULL;
    uint64_t n;
    char *out;

    ck_assert(!parse_option_size("size", "foo", &n, &err));
    loc_set_cmdline("-m", "foo");
    capture_start();
    error_report_opts_err(err);
    out = capture_end();
    ck_assert_str_eq(out,
        "qvmm: -m foo: Parameter 'size' expects a non-negative number "
        "below 2^64\n"
        "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, "
        "tera-, peta-\nand exabytes, respectively.\n");
    free(out);

    /* other errors get no hint */
    err = g_error_new(QVMM_ERROR, QVMM_ERROR_GENERIC, "Invalid parameter 'x'");
    capture_start();
    error_report_opts_err(err);
    out = capture_end();
    ck_assert_str_eq(out, "qvmm: -m foo: Invalid parameter 'x'\n");
    free(out);
}
END_TEST

/* ---- qemu_strtosz ---- */

typedef struct SizeCase {
    const char *str;
    char suffix;
    int ret;
    uint64_t val;
} SizeCase;

/* Values observed with qemu-img 7.2 (same parser) where it could tell. */
static const SizeCase size_cases[] = {
    { "0", 'B', 0, 0 },
    { "1", 'B', 0, 1 },
    { "1b", 'B', 0, 1 },
    { "1B", 'B', 0, 1 },
    { "1k", 'B', 0, 1024 },
    { "1K", 'B', 0, 1024 },
    { "1m", 'B', 0, MiB },
    { "1g", 'B', 0, GiB },
    { "1T", 'B', 0, 1ull << 40 },
    { "1P", 'B', 0, 1ull << 50 },
    { "1E", 'B', 0, 1ull << 60 },
    { " 1k", 'B', 0, 1024 },
    { "+5", 'B', 0, 5 },
    { "00012", 'B', 0, 12 },
    { "1.k", 'B', 0, 1024 },
    { "1.", 'B', 0, 1 },
    { "1.0", 'B', 0, 1 },
    { "1.5k", 'B', 0, 1536 },
    { "1.1234567890123456789k", 'B', 0, 1150 },
    { "0.0000001k", 'B', 0, 0 },
    { "0.00048828125k", 'B', 0, 1 },       /* exactly 0.5 rounds up */
    { "0.00048828124k", 'B', 0, 0 },
    { "1.5G", 'B', 0, 3 * GiB / 2 },
    { "0x10", 'B', 0, 16 },
    { "0X1f", 'B', 0, 31 },
    { "18446744073709551615", 'B', 0, UINT64_MAX },
    { "15.5E", 'B', 0, 31ull << 59 },
    { "1", 'M', 0, MiB },
    { "1.5", 'M', 0, 3 * MiB / 2 },
    { "2G", 'M', 0, 2 * GiB },
    { "0.5", 'B', -EINVAL, 0 },
    { "1.5b", 'B', -EINVAL, 0 },
    { ".5k", 'B', -EINVAL, 0 },
    { "0x1.8k", 'B', -EINVAL, 0 },
    { "1e3", 'B', -EINVAL, 0 },
    { "1.5e3k", 'B', -EINVAL, 0 },
    { "1kk", 'B', -EINVAL, 0 },
    { "1 G", 'B', -EINVAL, 0 },
    { "-1", 'B', -EINVAL, 0 },
    { "-0", 'B', -EINVAL, 0 },
    { "", 'B', -EINVAL, 0 },
    { "k", 'B', -EINVAL, 0 },
    { "foo", 'B', -EINVAL, 0 },
    { "16E", 'B', -ERANGE, 0 },
    { "17E", 'B', -ERANGE, 0 },
    { "18446744073709551616", 'B', -ERANGE, 0 },
    { "99999999999999999999", 'B', -ERANGE, 0 },
    /* overflow in the digits, then junk: QEMU calls that malformed */
    { "99999999999999999999k", 'B', -EINVAL, 0 },
    { "16384P", 'B', -ERANGE, 0 },
    { "16383.9999999P", 'B', 0, 18446744073596961625ull },
};

START_TEST(test_strtosz_table)
{
    const SizeCase *c = &size_cases[_i];
    uint64_t val = 0xdeadbeef;
    int ret = qemu_strtosz(c->str, c->suffix, &val);

    ck_assert_msg(ret == c->ret, "'%s': ret %d, want %d", c->str, ret, c->ret);
    if (c->ret == 0) {
        ck_assert_msg(val == c->val, "'%s': %" PRIu64 ", want %" PRIu64,
                      c->str, val, c->val);
    } else {
        ck_assert_uint_eq(val, 0xdeadbeef);
    }
}
END_TEST

START_TEST(test_strtosz_hex_suffix_warns)
{
    uint64_t val;
    char *out;

    capture_start();
    ck_assert_int_eq(qemu_strtosz("0x10k", 'B', &val), 0);
    ck_assert_int_eq(qemu_strtosz("0x10", 'M', &val), 0);
    out = capture_end();
    ck_assert_uint_eq(val, 16 * MiB);
    /* only an explicit suffix warns, once */
    ck_assert_str_eq(out, "qvmm: warning: Using a multiplier suffix on hex "
                     "numbers is deprecated: 0x10k\n");
    free(out);
}
END_TEST

START_TEST(test_strtosz_end_and_metric)
{
    const char *end;
    uint64_t val;

    ck_assert_int_eq(qemu_strtosz_full("12kfoo", &end, 'B', 1024, &val), 0);
    ck_assert_uint_eq(val, 12288);
    ck_assert_str_eq(end, "foo");
    ck_assert_int_eq(qemu_strtosz_full("-5", &end, 'B', 1024, &val), -EINVAL);
    ck_assert_str_eq(end, "-5");
    ck_assert_int_eq(qemu_strtosz_metric("2.5G", &val), 0);
    ck_assert_uint_eq(val, 2500000000ull);
    ck_assert_int_eq(qemu_strtosz_metric("1k", &val), 0);
    ck_assert_uint_eq(val, 1000);
    ck_assert_int_eq(qemu_strtosz(NULL, 'B', &val), -EINVAL);
}
END_TEST

START_TEST(test_strtoi64)
{
    int64_t v;
    uint64_t u;

    ck_assert_int_eq(qemu_strtoi64("-1", &v), 0);
    ck_assert_int_eq(v, -1);
    ck_assert_int_eq(qemu_strtoi64("0x10", &v), 0);
    ck_assert_int_eq(v, 16);
    ck_assert_int_eq(qemu_strtoi64("010", &v), 0);
    ck_assert_int_eq(v, 8);
    ck_assert_int_eq(qemu_strtoi64("2.5", &v), -EINVAL);
    ck_assert_int_eq(qemu_strtoi64("0x", &v), -EINVAL);
    ck_assert_int_eq(qemu_strtoi64("9223372036854775808", &v), -ERANGE);
    ck_assert_int_eq(qemu_strtou64("0x", &u), -EINVAL);
    ck_assert_int_eq(qemu_strtou64("-99999999999999999999", &u), -ERANGE);
}
END_TEST

START_TEST(test_id_wellformed)
{
    ck_assert(id_wellformed("a"));
    ck_assert(id_wellformed("net0.q-1_x"));
    ck_assert(!id_wellformed("1x"));
    ck_assert(!id_wellformed(""));
    ck_assert(!id_wellformed("a b"));
    ck_assert(!id_wellformed("-a"));
}
END_TEST

/* ---- keyval ---- */

static char *keyval_error(const char *str, const char *implied)
{
    GError *err = NULL;
    QOpts *o = qopts_parse_keyval(str, implied, &err);
    char *msg;

    ck_assert_ptr_null(o);
    ck_assert_ptr_nonnull(err);
    msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

#define ck_assert_keyval_error(str, implied, want) do {          \
        g_autofree char *msg_ = keyval_error(str, implied);      \
        ck_assert_str_eq(msg_, want);                            \
    } while (0)

START_TEST(test_keyval_basic)
{
    g_autoptr(QOpts) a = qopts_parse_keyval("2,sockets=1,cores=2", "cpus",
                                            NULL);
    g_autoptr(QOpts) b = qopts_parse_keyval("cpus=2,cpus=3,", "cpus", NULL);
    g_autoptr(QOpts) c = qopts_parse_keyval("x=a,,b,y.z=1,y.0=q", NULL, NULL);
    g_autoptr(QOpts) d = qopts_parse_keyval("", "cpus", NULL);

    ck_assert_str_eq(qopts_get(a, "cpus"), "2");
    ck_assert_str_eq(qopts_get(a, "cores"), "2");
    ck_assert_uint_eq(b->items->len, 1);
    ck_assert_str_eq(qopts_get(b, "cpus"), "3");
    ck_assert_str_eq(qopts_get(c, "x"), "a,b");
    ck_assert_str_eq(qopts_get(c, "y.z"), "1");
    ck_assert_str_eq(qopts_get(c, "y.0"), "q");
    ck_assert_uint_eq(d->items->len, 0);
}
END_TEST

START_TEST(test_keyval_errors)
{
    g_autofree char *long_key = g_strnfill(128, 'a');
    g_autofree char *long_arg = g_strdup_printf("%s=1", long_key);
    g_autofree char *long_frag = g_strdup_printf("x.%s=1", long_key);
    g_autofree char *want = NULL;

    /* the implied value ends at the first comma: no ",," escape */
    ck_assert_keyval_error("2,,3", "cpus", "Invalid parameter ''");
    ck_assert_keyval_error(",cpus=2", "cpus", "Invalid parameter ''");
    ck_assert_keyval_error("2,cores", "cpus",
                           "Expected '=' after parameter 'cores'");
    ck_assert_keyval_error("foo", NULL, "Expected '=' after parameter 'foo'");
    ck_assert_keyval_error("1a=1", "cpus", "Invalid parameter '1a'");
    ck_assert_keyval_error("a..b=1", "cpus", "Invalid parameter 'a..b'");
    ck_assert_keyval_error("a.=1", "cpus", "Invalid parameter 'a.'");
    ck_assert_keyval_error("a b=1", NULL, "Invalid parameter 'a b'");
    ck_assert_keyval_error("0=x", NULL, "Invalid parameter '0'");
    ck_assert_keyval_error("cpus=2,cpus.x=1", "cpus",
                           "Parameters 'cpus.*' used inconsistently");
    ck_assert_keyval_error("cpus.x=1,cpus=2", "cpus",
                           "Parameters 'cpus.*' used inconsistently");
    want = g_strdup_printf("Parameter '%s' is too long", long_key);
    ck_assert_keyval_error(long_arg, NULL, want);
    g_free(want);
    want = g_strdup_printf("Parameter fragment '%s' is too long", long_key);
    ck_assert_keyval_error(long_frag, NULL, want);
}
END_TEST

START_TEST(test_keyval_help)
{
    g_autoptr(QOpts) a = qopts_parse_keyval("help", "cpus", NULL);
    g_autoptr(QOpts) b = qopts_parse_keyval("2,?", "cpus", NULL);
    g_autoptr(QOpts) c = qopts_parse_keyval("2", "cpus", NULL);

    ck_assert(a->help);
    ck_assert(b->help);
    ck_assert_str_eq(qopts_get(b, "cpus"), "2");
    ck_assert(!c->help);
}
END_TEST

/* ---- error-report ---- */

START_TEST(test_report_prefixes)
{
    char *out;

    capture_start();
    error_report("no location");
    loc_set_cmdline("-m", "foo");
    error_report("bad %d", 42);
    warn_report("careful");
    info_report("fyi");
    loc_set_cmdline("-nographic", NULL);
    error_report("alone");
    loc_clear();
    error_printf("raw %s\n", "text");
    error_set_progname("/usr/bin/qemu-system-x86_64");
    error_report("renamed");
    out = capture_end();
    ck_assert_str_eq(out,
                     "qvmm: no location\n"
                     "qvmm: -m foo: bad 42\n"
                     "qvmm: -m foo: warning: careful\n"
                     "qvmm: -m foo: info: fyi\n"
                     "qvmm: -nographic: alone\n"
                     "raw text\n"
                     "qemu-system-x86_64: renamed\n");
    ck_assert_str_eq(error_get_progname(), "qemu-system-x86_64");
    free(out);
}
END_TEST

START_TEST(test_report_guest_name_and_timestamp)
{
    char *out;

    error_set_guest_name("vm1");
    error_set_message_timestamp(true);
    capture_start();
    error_report("x");
    out = capture_end();
    error_set_guest_name(NULL);
    error_set_message_timestamp(false);
    ck_assert_msg(g_regex_match_simple("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:"
                                       "\\d\\d\\.\\d{6}Z vm1 qvmm: x\n$",
                                       out, 0, 0), "got '%s'", out);
    free(out);
}
END_TEST

START_TEST(test_errno_and_report_err)
{
    GError *err = NULL;
    char *out;

    error_setg_errno(&err, ENOENT, "Could not open '%s'", "/nope");
    ck_assert(g_error_matches(err, QVMM_ERROR, QVMM_ERROR_GENERIC));
    ck_assert_str_eq(err->message,
                     "Could not open '/nope': No such file or directory");
    capture_start();
    error_report_err(err);
    out = capture_end();
    ck_assert_str_eq(out,
                     "qvmm: Could not open '/nope': No such file or directory\n");
    free(out);
    error_setg_errno(NULL, EIO, "ignored");
}
END_TEST

static Suite *option_suite(void)
{
    Suite *s = suite_create("option");
    TCase *tc = tcase_create("qemuopts");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_implied_key);
    tcase_add_test(tc, test_explicit_first_key);
    tcase_add_test(tc, test_comma_escape);
    tcase_add_test(tc, test_repeated_key_last_wins);
    tcase_add_test(tc, test_flags);
    tcase_add_test(tc, test_flag_after_implied);
    tcase_add_test(tc, test_no_prefix_quirks);
    tcase_add_test(tc, test_help);
    tcase_add_test(tc, test_empty_items);
    tcase_add_test(tc, test_first_id_wins);
    tcase_add_test(tc, test_set);
    tcase_add_test(tc, test_check_keys);
    tcase_add_test(tc, test_validate_in_order);
    tcase_add_test(tc, test_typed_getters);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_parse_bool);
    tcase_add_test(tc, test_parse_number);
    tcase_add_test(tc, test_parse_size_errors);
    tcase_add_test(tc, test_report_size_error_with_hint);
    tcase_add_loop_test(tc, test_strtosz_table, 0, ARRAY_SIZE(size_cases));
    tcase_add_test(tc, test_strtosz_hex_suffix_warns);
    tcase_add_test(tc, test_strtosz_end_and_metric);
    tcase_add_test(tc, test_strtoi64);
    tcase_add_test(tc, test_id_wellformed);
    suite_add_tcase(s, tc);

    tc = tcase_create("keyval");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_keyval_basic);
    tcase_add_test(tc, test_keyval_errors);
    tcase_add_test(tc, test_keyval_help);
    suite_add_tcase(s, tc);

    tc = tcase_create("error-report");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_report_prefixes);
    tcase_add_test(tc, test_report_guest_name_and_timestamp);
    tcase_add_test(tc, test_errno_and_report_err);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(option_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
