/*
 * Error reporting in QEMU's format: "qvmm: -m foo: message".
 *
 * Errors travel as GError (domain QVMM_ERROR) until someone reports them.
 * The "location" is the command-line option being processed; while one is
 * set, error_report() prefixes it, exactly as QEMU's loc_set_cmdline() does.
 */
#ifndef QEMU_ERROR_REPORT_H
#define QEMU_ERROR_REPORT_H

#include "qemu/osdep.h"

#define QVMM_ERROR (qvmm_error_quark())
GQuark qvmm_error_quark(void);

/* Error codes in QVMM_ERROR; they map onto QMP error classes later. */
enum {
    QVMM_ERROR_GENERIC = 0,
    QVMM_ERROR_COMMAND_NOT_FOUND,
    QVMM_ERROR_DEVICE_NOT_FOUND,
    QVMM_ERROR_DEVICE_NOT_ACTIVE,
    QVMM_ERROR_KVM_MISSING_CAP,
};

/* g_set_error with the generic code: error_setg(errp, "fmt", ...) */
#define error_setg(errp, ...) \
    g_set_error((errp), QVMM_ERROR, QVMM_ERROR_GENERIC, __VA_ARGS__)
/* Same, appending ": strerror(errnum)". */
void error_setg_errno(GError **errp, int errnum, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

/* Program name used as the message prefix ("qvmm"). */
void error_set_progname(const char *argv0);
const char *error_get_progname(void);

/* Set the location to "-opt arg" (arg may be NULL: then just "-opt"). */
void loc_set_cmdline(const char *opt, const char *arg);
void loc_clear(void);

/* "progname: [location: ]message\n" on stderr. */
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/*
 * error_report() for what a guest did wrong (a broken ring, a bad
 * register value): rate-limited, so a guest cannot flood the host's log.
 */
void guest_error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "progname: [location: ]warning: message\n" */
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "progname: [location: ]info: message\n" */
void info_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Plain text on stderr, no prefix (hint lines). */
void error_printf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Report err->message with error_report() and free it. */
void error_report_err(GError *err);
/* Report and exit(1). */
G_NORETURN void error_fatal(GError *err);

/* Send reports to @stream instead of stderr (NULL: back to stderr). */
void error_set_output(FILE *stream);
/* "-msg timestamp=on": prefix each report with an ISO 8601 UTC time. */
void error_set_message_timestamp(bool enable);
/* "-msg guest-name=on": prefix each report with @name (NULL: none). */
void error_set_guest_name(const char *name);

#endif
