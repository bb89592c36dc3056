/*
 * The qtest protocol under bad input: malformed requests get a FAIL or
 * ERR reply and the VMM keeps answering.  qvmm only: QEMU aborts on most
 * of these (g_assert in system/qtest.c), which is what qvmm deliberately
 * does not copy.
 */
#include <string.h>
#include <glib.h>
#include "libqtest.h"
#include "qtest-tap.h"

/* Must the request be answered by exactly one FAIL/ERR line? */
enum { LENIENT, STRICT };

typedef struct BadRequest {
    const char *line;
    int strict;
} BadRequest;

static const BadRequest bad_requests[] = {
    /* missing arguments */
    { "outb", STRICT }, { "outb 0x3f8", STRICT }, { "inb", STRICT },
    { "outl 0x3f8", STRICT }, { "readb", STRICT }, { "readq", STRICT },
    { "writeb 0x1000", STRICT }, { "writeq", STRICT },
    { "read", STRICT }, { "read 0x1000", STRICT },
    { "write 0x1000 4", STRICT }, { "write 0x1000", STRICT },
    { "b64read 0x1000", STRICT }, { "b64write 0x1000 4", STRICT },
    { "memset 0x1000 4", STRICT }, { "memset", STRICT },
    { "clock_set", STRICT }, { "irq_intercept_in", STRICT },
    { "set_irq_in ioapic", STRICT },
    /* bad numbers */
    { "outb zzz 1", STRICT }, { "inb 0x3f8junk", STRICT },
    { "readl -", STRICT }, { "writeb 0x1000 0xfoo", STRICT },
    { "read 0x1000 lots", STRICT },
    { "write 0x1000 2 0xzzzz", LENIENT },       /* QEMU: OK, writes 0xff */
    { "clock_step soon", STRICT }, { "clock_step -5", STRICT },
    { "memset 0x1000 4 0xgg", STRICT },
    /* out-of-range ports and values */
    { "outb 0x10000 0", STRICT }, { "inb 0x10000", STRICT },
    { "inw 0xffffffff", STRICT }, { "outl 0x100000000 0", STRICT },
    { "inb 0x3f8 extra", LENIENT }, { "outb 0x3ff 0x1ff", LENIENT },
    /* sizes: zero, huge, wrapping the address space */
    { "read 0x1000 0", STRICT },
    { "b64read 0x1000 0", LENIENT },            /* QEMU: "OK " */
    { "read 0x1000 0xffffffffffffffff", STRICT },
    { "b64read 0x1000 0x8000000000000000", STRICT },
    { "write 0x1000 0xffffffffffffffff 0x00", STRICT },
    { "memset 0xfffffffffffff000 0x2000 0", STRICT },
    { "read 0xffffffffffffffff 2", STRICT },
    { "write 0xffffffffffffffff 2 0x0000", STRICT },
    { "b64read 0xfffffffffffffff0 0x20", STRICT },
    { "b64write 0xffffffffffffffff 4 AAAAAA==", STRICT },
    { "readq 0xfffffffffffffffc", STRICT },
    { "writel 0xfffffffffffffffe 0", STRICT },
    { "write 0x1000 4 0x1", LENIENT },          /* QEMU: "ERR ..." */
    { "b64write 0x1000 4 !!!!", LENIENT },
    /* unknown things */
    { "frobnicate 1 2", STRICT }, { "OUTB 0x3f8 0", STRICT },
    { "irq_intercept_in /machine/nonexistent", STRICT },
    { "irq_intercept_out nonexistent", STRICT },
    { "set_irq_in nonexistent unnamed-gpio-in 0 1", STRICT },
    /* odd whitespace */
    { "", LENIENT }, { " ", LENIENT }, { "\t", LENIENT },
    { "outb  0x3ff 0x1", LENIENT }, { "endianness\r", LENIENT },
};

/*
 * Sends @line then "endianness"; everything before "OK little" must be
 * FAIL/ERR lines, exactly one of them when @strict.
 */
static void expect_error(QTestState *s, const char *line, size_t len,
                         int strict)
{
    unsigned errors = 0;

    qt_send_raw(s, line, len);
    qt_send_raw(s, "\nendianness\n", 12);
    for (;;) {
        g_autofree char *reply = qt_recv(s);

        if (strcmp(reply, "OK little") == 0) {
            break;
        }
        if (!g_str_has_prefix(reply, "FAIL") &&
            !g_str_has_prefix(reply, "ERR") &&
            !(strict == LENIENT && g_str_has_prefix(reply, "OK"))) {
            qt_fail("'%.60s': reply '%.100s'", line, reply);
        }
        errors++;
    }
    if (strict == STRICT && errors != 1) {
        qt_fail("'%.60s': %u error replies, expected 1", line, errors);
    }
    if (errors > 1) {
        qt_fail("'%.60s': %u replies to one line", line, errors);
    }
}

static void test_bad_request(const void *data)
{
    const BadRequest *r = data;
    QTestState *s = qt_start(NULL);

    expect_error(s, r->line, strlen(r->line), r->strict);
    QT_ASSERT(qt_alive(s));
    qt_quit(s);
}

static void test_unknown_text(const void *data)
{
    QTestState *s = qt_start(NULL);
    g_autofree char *reply = qt_request(s, "frobnicate 1 2");

    (void)data;
    QT_ASSERT(strcmp(reply, "FAIL Unknown command 'frobnicate'") == 0);
    qt_quit(s);
}

/* Intercepting the same device again is fine (QEMU answers OK). */
static void test_intercept_twice(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    qt_irq_intercept_in(s, "ioapic");
    qt_irq_intercept_in(s, "ioapic");
    qt_quit(s);
}

/* Everything above, back to back on one connection. */
static void test_stream(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_requests); i++) {
        const BadRequest *r = &bad_requests[i];
        expect_error(s, r->line, strlen(r->line), r->strict);
    }
    qt_quit(s);
}

static void test_binary_junk(const void *data)
{
    QTestState *s = qt_start(NULL);
    g_autoptr(GRand) rand = g_rand_new_with_seed(42);
    uint8_t junk[4096];

    (void)data;
    for (unsigned round = 0; round < 16; round++) {
        for (size_t i = 0; i < sizeof(junk); i++) {
            do {
                junk[i] = g_rand_int_range(rand, 0, 256);
            } while (junk[i] == '\n');
        }
        junk[0] = round < 8 ? 0 : 0xff;     /* never a command name */
        expect_error(s, (char *)junk, sizeof(junk), LENIENT);
    }
    qt_quit(s);
}

static void test_long_line(const void *data)
{
    const size_t len = 4 * 1024 * 1024;
    QTestState *s = qt_start(NULL);
    g_autofree char *line = g_malloc(len);

    (void)data;
    memset(line, 'x', len);
    expect_error(s, line, len, LENIENT);
    memcpy(line, "outb 0x3ff ", 11);        /* a long number */
    memset(line + 11, '1', len - 11);
    expect_error(s, line, len, LENIENT);
    QT_ASSERT(qt_alive(s));
    qt_quit(s);
}

/* Random requests built from the commands and edge-case arguments. */
static void test_random_requests(const void *data)
{
    static const char *cmds[] = {
        "outb", "outw", "outl", "inb", "inw", "inl", "readb", "readw",
        "readl", "readq", "writeb", "writew", "writel", "writeq", "read",
        "write", "b64read", "b64write", "memset", "clock_step", "clock_set",
        "irq_intercept_in", "irq_intercept_out", "set_irq_in", "endianness",
        "module_load", "x",
    };
    static const char *args[] = {
        "0", "1", "2", "8", "0x1000", "0x3ff", "0xffff", "0x10000",
        "0xffffffff", "0x100000000", "0xfffffffffffffff8",
        "0xffffffffffffffff", "0x8000000000000000", "-1", "0x", "junk",
        "AAAA", "ioapic", "unnamed-gpio-in", "0x00ff",
    };
    QTestState *s = qt_start("-m 128M");
    g_autoptr(GRand) rand = g_rand_new_with_seed(4711);

    (void)data;
    for (unsigned i = 0; i < 2000; i++) {
        GString *line = g_string_new(cmds[g_rand_int_range(rand, 0,
                                          G_N_ELEMENTS(cmds))]);
        int nargs = g_rand_int_range(rand, 0, 5);

        for (int a = 0; a < nargs; a++) {
            g_string_append_printf(line, " %s", args[g_rand_int_range(
                                   rand, 0, G_N_ELEMENTS(args))]);
        }
        expect_error(s, line->str, line->len, LENIENT);
        g_string_free(line, true);
    }
    QT_ASSERT(qt_alive(s));
    qt_quit(s);
}

int main(int argc, char **argv)
{
    const char *why = "QEMU aborts on malformed qtest input";
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    int ret;

    for (unsigned i = 0; i < G_N_ELEMENTS(bad_requests); i++) {
        g_autofree char *esc = g_strescape(bad_requests[i].line, "");
        char *name = g_strdup_printf("protocol/bad-%02u '%s'", i, esc);

        g_ptr_array_add(names, name);
        qt_test_add(name, test_bad_request, &bad_requests[i], QT_QVMM_ONLY,
                    why);
    }
    qt_test_add("protocol/unknown-command-text", test_unknown_text, NULL,
                QT_BOTH, NULL);
    qt_test_add("protocol/intercept-twice", test_intercept_twice, NULL,
                QT_BOTH, NULL);
    qt_test_add("protocol/stream", test_stream, NULL, QT_QVMM_ONLY, why);
    qt_test_add("protocol/binary-junk", test_binary_junk, NULL, QT_QVMM_ONLY,
                why);
    qt_test_add("protocol/long-line", test_long_line, NULL, QT_QVMM_ONLY, why);
    qt_test_add("protocol/random-requests", test_random_requests, NULL,
                QT_QVMM_ONLY, why);
    ret = qt_test_run(argc, argv);
    g_ptr_array_free(names, true);
    return ret;
}
