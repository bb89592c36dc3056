/*
 * The monitor's input path and output text without a socket: bytes go
 * into a monitor with no chardev and its exact output is compared.
 */
#include "qemu/osdep.h"
#include <check.h>
#include "monitor/monitor.h"
#include "monitor/json.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, " \
    "\"minor\": 2, \"major\": 7}, \"package\": \"qvmm 0.1.0\"}, " \
    "\"capabilities\": []}}\r\n"
#define NEGOTIATE "{\"execute\":\"qmp_capabilities\"}"
#define OK "{\"return\": {}}\r\n"
#define ERR(desc) "{\"error\": {\"class\": \"GenericError\", \"desc\": \"" \
    desc "\"}}\r\n"

/* What a fresh monitor answers to @in (the greeting left out). */
static char *session(const char *in, size_t len, bool bytewise)
{
    GString *out = g_string_new(NULL);
    Monitor *mon = monitor_new_detached(out);

    ck_assert(g_str_has_prefix(out->str, GREETING));
    g_string_erase(out, 0, strlen(GREETING));
    if (bytewise) {
        for (size_t i = 0; i < len; i++) {
            monitor_feed(mon, (const uint8_t *)in + i, 1);
        }
    } else {
        monitor_feed(mon, (const uint8_t *)in, len);
    }
    monitor_free_detached(mon);
    return g_string_free(out, FALSE);
}

static void check_session(const char *in, const char *want)
{
    g_autofree char *whole = session(in, strlen(in), false);
    g_autofree char *split = session(in, strlen(in), true);

    ck_assert_str_eq(whole, want);
    ck_assert_str_eq(split, want);     /* however the input is split */
}

START_TEST(test_negotiation)
{
    check_session("{\"execute\":\"query-name\"}",
                  "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": "
                  "\"Expecting capabilities negotiation with "
                  "'qmp_capabilities'\"}}\r\n");
    check_session(NEGOTIATE "{\"execute\":\"query-name\",\"id\":[1]}",
                  OK "{\"return\": {\"name\": \"unit\"}, \"id\": [1]}\r\n");
    check_session(NEGOTIATE "{'execute':'nope','id':'x'}",
                  OK "{\"id\": \"x\", \"error\": {\"class\": "
                  "\"CommandNotFound\", \"desc\": \"The command nope has "
                  "not been found\"}}\r\n");
}
END_TEST

START_TEST(test_arguments)
{
    check_session(NEGOTIATE "{\"execute\":\"human-monitor-command\"}",
                  OK ERR("Parameter 'command-line' is missing"));
    check_session(NEGOTIATE "{\"execute\":\"human-monitor-command\","
                  "\"arguments\":{\"command-line\":true}}",
                  OK ERR("Invalid parameter type for 'command-line', "
                         "expected: string"));
    check_session(NEGOTIATE "{\"execute\":\"query-kvm\","
                  "\"arguments\":{\"a\":1}}",
                  OK ERR("Parameter 'a' is unexpected"));
    check_session(NEGOTIATE "{\"execute\":\"query-kvm\",\"x\":1}",
                  OK ERR("QMP input member 'x' is unexpected"));
    check_session(NEGOTIATE "{\"arguments\":{}}",
                  OK ERR("QMP input lacks member 'execute'"));
}
END_TEST

START_TEST(test_syntax)
{
    check_session("{\"a\" 1}\n", ERR("JSON parse error, missing : in "
                                     "object pair"));
    check_session("[1 2]\n", ERR("JSON parse error, expected separator "
                                 "in list"));
    check_session("{\"a\":1,}\n", ERR("JSON parse error, expecting value"));
    check_session("{1:2}\n", ERR("JSON parse error, key is not a string in "
                                 "object"));
    check_session("nul ", ERR("JSON parse error, invalid keyword 'nul'"));
    check_session("01 ", ERR("JSON parse error, stray '01'"));
    check_session("{\"a\":\"\\ud800\"}", ERR("JSON parse error, \\\\ud800 "
                                           "is not a valid Unicode "
                                           "character"));
    check_session("{\"a\":\"\xc3\x28\"}", ERR("JSON parse error, invalid "
                                             "UTF-8 sequence in string"));
    /* Objects that are not requests. */
    check_session("1 \"s\" [] ", ERR("QMP input must be a JSON object")
                  ERR("QMP input must be a JSON object")
                  ERR("QMP input must be a JSON object"));
}
END_TEST

START_TEST(test_output_escapes)
{
    /* The id comes back ASCII-only: QEMU's escapes, U+0000 included. */
    check_session(NEGOTIATE "{\"execute\":\"query-target\",\"id\":"
                  "\"\\u0000\\u001f\\\"\\\\/\xc3\xa9\xf0\x9f\x98\x80\\t\"}",
                  OK "{\"return\": {\"arch\": \"x86_64\"}, \"id\": "
                  "\"\\u0000\\u001F\\\"\\\\/\\u00E9\\uD83D\\uDE00\\t\"}\r\n");
    /* Beyond int64 a number is a double (QEMU keeps a uint64). */
    check_session(NEGOTIATE "{\"execute\":\"query-target\",\"id\":"
                  "[1.5, -0, 1e3, 12345678901234567890, true, null]}",
                  OK "{\"return\": {\"arch\": \"x86_64\"}, \"id\": "
                  "[1.5, 0, 1000, 1.2345678901234567e+19, true, null]}\r\n");
}
END_TEST

START_TEST(test_pretty)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(JsonNode) n = json_from_string("{\"a\":{},\"b\":[1,\"x\"]}",
                                             NULL);

    json_write(out, n, true);
    ck_assert_str_eq(out->str, "{\n    \"a\": {\n    },\n    \"b\": [\n"
                     "        1,\n        \"x\"\n    ]\n}");
}
END_TEST

START_TEST(test_limits)
{
    g_autoptr(GString) in = g_string_new(NULL);
    g_autoptr(GString) want = g_string_new(ERR("JSON nesting depth limit "
                                               "exceeded"));
    g_autofree char *out = NULL;

    for (int i = 0; i < 1025; i++) {
        g_string_append_c(in, '{');
    }
    g_string_append(in, "\x01");
    g_string_append(want, ERR("JSON parse error, stray '\\u0001'"));
    out = session(in->str, in->len, false);
    ck_assert_str_eq(out, want->str);
}
END_TEST

START_TEST(test_uuid)
{
    uint8_t u[16];

    ck_assert(qemu_uuid_parse("00112233-4455-6677-8899-AaBbCcDdEeFf", u));
    ck_assert_uint_eq(u[0], 0x00);
    ck_assert_uint_eq(u[7], 0x77);
    ck_assert_uint_eq(u[15], 0xff);
    ck_assert(!qemu_uuid_parse("00112233-4455-6677-8899-AaBbCcDdEeF", u));
    ck_assert(!qemu_uuid_parse("0011223344556677-8899-AaBbCcDdEeFf0", u));
    ck_assert(!qemu_uuid_parse("00112233-4455-6677-8899-AaBbCcDdEeFg", u));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("qmp");
    TCase *tc = tcase_create("qmp");
    MonitorVMInfo info = {
        .name = "unit",
        .topo = { .cpus = 1, .sockets = 1, .dies = 1, .cores = 1,
                  .threads = 1, .max_cpus = 1 },
        .cpu_type = "host-x86_64-cpu",
    };
    SRunner *sr;
    int failed;

    monitor_init_globals(&info);
    tcase_add_test(tc, test_negotiation);
    tcase_add_test(tc, test_arguments);
    tcase_add_test(tc, test_syntax);
    tcase_add_test(tc, test_output_escapes);
    tcase_add_test(tc, test_pretty);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_uuid);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
