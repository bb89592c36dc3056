#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "libqtest.h"
#include "qtest-tap.h"

typedef struct QtCase {
    const char *name;
    QtTestFn fn;
    const void *data;
    unsigned flags;
    const char *skip_reason;
} QtCase;

static GArray *cases;
static jmp_buf case_env;
static bool in_case;

void qt_test_add(const char *name, QtTestFn fn, const void *data,
                 unsigned flags, const char *skip_reason)
{
    QtCase c = { name, fn, data, flags, skip_reason };

    if (!cases) {
        cases = g_array_new(false, false, sizeof(QtCase));
    }
    g_array_append_val(cases, c);
}

static void vnote(const char *prefix, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    g_auto(GStrv) lines = g_strsplit(msg, "\n", -1);

    for (char **l = lines; *l; l++) {
        printf("# %s%s\n", prefix, *l);
    }
    fflush(stdout);
}

void qt_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vnote("", fmt, ap);
    va_end(ap);
}

void qt_fail_at(const char *file, int line, const char *fmt, ...)
{
    g_autofree char *where = g_strdup_printf("%s:%d: ", file, line);
    va_list ap;

    va_start(ap, fmt);
    vnote(where, fmt, ap);
    va_end(ap);
    if (!in_case) {
        fprintf(stderr, "qtest: failure outside a test case\n");
        qt_kill_all();
        exit(2);
    }
    longjmp(case_env, 1);
}

static const char *skip_reason(const QtCase *c)
{
    if ((c->flags & QT_QVMM_ONLY) && qt_is_qemu()) {
        return c->skip_reason ? c->skip_reason : "qvmm only";
    }
    if ((c->flags & QT_QEMU_ONLY) && !qt_is_qemu()) {
        return c->skip_reason ? c->skip_reason : "QEMU only";
    }
    return NULL;
}

/* Runs one case; true when it passed or was skipped. */
static bool run_case(unsigned n, const QtCase *c)
{
    const char *skip = skip_reason(c);
    volatile bool ok = true;

    if (skip) {
        printf("ok %u - %s # SKIP %s\n", n, c->name, skip);
        fflush(stdout);
        return true;
    }
    in_case = true;
    if (setjmp(case_env) == 0) {
        c->fn(c->data);
    } else {
        ok = false;
        qt_kill_all();
    }
    in_case = false;
    printf("%s %u - %s\n", ok ? "ok" : "not ok", n, c->name);
    fflush(stdout);
    return ok;
}

int qt_test_run(int argc, char **argv)
{
    unsigned failed = 0, n = cases ? cases->len : 0;

    qt_init_vmm(argc, argv);
    printf("# %s: %s\n", qt_is_qemu() ? "QEMU" : "qvmm", qt_binary());
    printf("1..%u\n", n);
    fflush(stdout);
    for (unsigned i = 0; i < n; i++) {
        if (!run_case(i + 1, &g_array_index(cases, QtCase, i))) {
            failed++;
        }
    }
    if (cases) {
        g_array_free(cases, true);
        cases = NULL;
    }
    if (failed) {
        printf("# %u of %u failed\n", failed, n);
    }
    return failed ? 1 : 0;
}
