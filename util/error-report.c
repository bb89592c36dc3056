/*
 * Error reporting in QEMU's format.
 *
 * A message is "progname: [location: ]text" where the location is the
 * command-line option being processed.  Scripts and test suites written
 * for QEMU match on these lines, so the layout follows QEMU exactly,
 * including the "warning: " and "info: " infixes and the optional
 * timestamp and guest-name prefixes of "-msg".
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"

static char *progname;
static char *loc_opt;
static char *loc_arg;
static bool with_timestamp;
static char *guest_name;
static FILE *output;

/*
 * vCPU and I/O threads report too; one lock keeps each message on its
 * own line instead of interleaving the pieces of two.
 */
static GMutex report_lock;

GQuark qvmm_error_quark(void)
{
    return g_quark_from_static_string("qvmm-error-quark");
}

void error_setg_errno(GError **errp, int errnum, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (!errp) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, QVMM_ERROR, QVMM_ERROR_GENERIC, "%s: %s",
                msg, g_strerror(errnum));
    g_free(msg);
}

void error_set_progname(const char *argv0)
{
    g_free(progname);
    progname = argv0 ? g_path_get_basename(argv0) : NULL;
}

const char *error_get_progname(void)
{
    return progname ? progname : "qvmm";
}

void loc_set_cmdline(const char *opt, const char *arg)
{
    g_mutex_lock(&report_lock);
    g_free(loc_opt);
    g_free(loc_arg);
    loc_opt = g_strdup(opt);
    loc_arg = g_strdup(arg);
    g_mutex_unlock(&report_lock);
}

void loc_clear(void)
{
    loc_set_cmdline(NULL, NULL);
}

void error_set_output(FILE *stream)
{
    g_mutex_lock(&report_lock);
    output = stream;
    g_mutex_unlock(&report_lock);
}

void error_set_message_timestamp(bool enable)
{
    with_timestamp = enable;
}

void error_set_guest_name(const char *name)
{
    g_mutex_lock(&report_lock);
    g_free(guest_name);
    guest_name = g_strdup(name);
    g_mutex_unlock(&report_lock);
}

static FILE *out_stream(void)
{
    return output ? output : stderr;
}

/* "2024-05-01T12:34:56.123456Z ", as QEMU's "-msg timestamp=on". */
static void print_timestamp(GString *s)
{
    GDateTime *now = g_date_time_new_now_utc();
    char *t = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");

    g_string_append_printf(s, "%s.%06dZ ", t,
                           g_date_time_get_microsecond(now));
    g_free(t);
    g_date_time_unref(now);
}

static void vreport(const char *infix, const char *fmt, va_list ap)
{
    GString *s = g_string_new(NULL);
    FILE *f;

    g_mutex_lock(&report_lock);
    if (with_timestamp) {
        print_timestamp(s);
    }
    if (guest_name) {
        g_string_append_printf(s, "%s ", guest_name);
    }
    g_string_append_printf(s, "%s: ", error_get_progname());
    if (loc_opt) {
        g_string_append(s, loc_opt);
        if (loc_arg) {
            g_string_append_printf(s, " %s", loc_arg);
        }
        g_string_append(s, ": ");
    }
    g_string_append(s, infix);
    g_string_append_vprintf(s, fmt, ap);
    g_string_append_c(s, '\n');

    f = out_stream();
    fputs(s->str, f);
    fflush(f);
    g_mutex_unlock(&report_lock);
    g_string_free(s, TRUE);
}

void error_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
}

/*
 * A guest can repeat a mistake as fast as it can write a register, and
 * under libvirt stderr is a log file on the host's disk: allow a burst
 * of GUEST_ERROR_BURST lines, then one a second, and say how many were
 * left out.
 */
#define GUEST_ERROR_BURST 20

void guest_error_report(const char *fmt, ...)
{
    static GMutex lock;
    static double tokens = GUEST_ERROR_BURST;
    static gint64 last;
    static unsigned suppressed;
    gint64 now = g_get_monotonic_time();
    unsigned dropped = 0;
    bool print = false;
    va_list ap;

    g_mutex_lock(&lock);
    tokens = MIN(GUEST_ERROR_BURST,
                 tokens + (double)(now - last) / G_USEC_PER_SEC);
    last = now;
    if (tokens >= 1) {
        tokens -= 1;
        print = true;
        dropped = suppressed;
        suppressed = 0;
    } else {
        suppressed++;
    }
    g_mutex_unlock(&lock);
    if (!print) {
        return;
    }
    if (dropped) {
        error_report("%u more guest errors were not reported", dropped);
    }
    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
}

void warn_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("warning: ", fmt, ap);
    va_end(ap);
}

void info_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("info: ", fmt, ap);
    va_end(ap);
}

void error_printf(const char *fmt, ...)
{
    va_list ap;
    FILE *f;

    g_mutex_lock(&report_lock);
    f = out_stream();
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fflush(f);
    g_mutex_unlock(&report_lock);
}

void error_report_err(GError *err)
{
    if (!err) {
        return;
    }
    error_report("%s", err->message);
    g_error_free(err);
}

void error_fatal(GError *err)
{
    error_report_err(err);
    exit(1);
}
