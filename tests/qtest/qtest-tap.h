/*
 * A tiny TAP runner for the qtest tier: each case runs in turn, prints
 * "ok N - name" or "not ok N - name", and the program exits non-zero when
 * any case failed.  A failed assertion abandons the case (longjmp) and
 * SIGKILLs the VMMs it left running.
 */
#ifndef TESTS_QTEST_TAP_H
#define TESTS_QTEST_TAP_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

typedef void (*QtTestFn)(const void *data);

/* Which VMMs a case applies to; on the other it is reported as skipped. */
enum {
    QT_BOTH = 0,
    QT_QVMM_ONLY = 1,
    QT_QEMU_ONLY = 2,
};

void qt_test_add(const char *name, QtTestFn fn, const void *data,
                 unsigned flags, const char *skip_reason);
/* Parses argv (the VMM binary), runs every case; returns the exit code. */
int qt_test_run(int argc, char **argv);

/* End the current case as failed. */
void qt_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define qt_fail(...) qt_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* A "# ..." diagnostic line. */
void qt_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define QT_ASSERT(cond) do {                                            \
        if (!(cond)) {                                                  \
            qt_fail("assertion failed: %s", #cond);                     \
        }                                                               \
    } while (0)

#define QT_ASSERT_EQ(a, b) do {                                         \
        uint64_t qt_a_ = (uint64_t)(a), qt_b_ = (uint64_t)(b);          \
        if (qt_a_ != qt_b_) {                                           \
            qt_fail("%s == %s: 0x%" PRIx64 " != 0x%" PRIx64,            \
                    #a, #b, qt_a_, qt_b_);                              \
        }                                                               \
    } while (0)

#define QT_ASSERT_STR_PREFIX(str, prefix) do {                          \
        const char *qt_s_ = (str);                                      \
        if (!qt_s_ || strncmp(qt_s_, prefix, strlen(prefix)) != 0) {    \
            qt_fail("%s: \"%.200s\" does not start with \"%s\"",        \
                    #str, qt_s_ ? qt_s_ : "(null)", prefix);            \
        }                                                               \
    } while (0)

#endif
