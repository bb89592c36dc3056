/*
 * The qtest accelerator and its line protocol.
 *
 * There are no vCPUs: a test program plays the guest by sending requests
 * ("outb 0x3f8 0x41", "readl 0x1000", "clock_step") over a chardev and
 * reading replies ("OK ...", "FAIL ...").  The replies, the log format
 * and the asynchronous "IRQ raise N" lines follow QEMU's system/qtest.c,
 * so QEMU's libqtest can drive qvmm.
 *
 * Where QEMU's server asserts on malformed input (missing arguments, bad
 * numbers, ports above 0xffff, a zero-sized read), this one replies FAIL
 * and goes on: a test harness or a fuzzer must never bring qvmm down.
 * Wherever QEMU gives a defined answer, this server gives the same one.
 */
#include "qemu/osdep.h"
#include <limits.h>
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "chardev/char.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "sysemu/qtest.h"

/* QEMU's irq_levels[] size; the IOAPIC uses the first 24. */
#define QTEST_MAX_IRQ       256
#define QTEST_IOAPIC_PINS   24

/*
 * Replies are queued by the chardev up to 1 MiB and dropped beyond that
 * (QEMU would block instead), so a read's reply must stay well below it.
 */
#define QTEST_MAX_READ      (256 * KiB)
/* Writes arrive through flow-controlled input: only memory bounds them. */
#define QTEST_MAX_WRITE     (16 * MiB)
/* Room for "write ADDR SIZE 0x<2*QTEST_MAX_WRITE digits>". */
#define QTEST_MAX_LINE      (2 * QTEST_MAX_WRITE + 4 * KiB)
/* How much of a client's string goes back in an error reply. */
#define QTEST_ECHO_MAX      128
/*
 * Timer callbacks one clock request may run.  A periodic RTC interrupt
 * at 8192 Hz takes 20 minutes of virtual time to use it up; without a
 * bound, "clock_step 0x7fffffffffffffff" would never return.
 */
#define QTEST_MAX_TIMER_RUNS (10 * 1000 * 1000)

typedef enum QTestIntercept {
    INTERCEPT_NONE,
    INTERCEPT_IN,       /* IOAPIC input pins: IRQ lines are reported */
    INTERCEPT_OUT,      /* accepted as QEMU does; the IOAPIC has no outputs */
} QTestIntercept;

typedef struct QTestServer {
    Chardev *chr;
    FILE *log;                  /* NULL: -qtest-log none */
    bool opened;                /* a client is connected */
    GTimer *timer;              /* log timestamps, restarted per client */
    GString *inbuf;             /* bytes of the line being received */
    size_t scanned;             /* inbuf bytes known to hold no newline */
    bool discarding;            /* skipping the rest of an over-long line */
    bool processing;            /* running the lines of inbuf */
    bool client_gone;           /* CLOSED came while processing */
    GString *capture;           /* output goes here instead of chr */
    QTestIntercept intercept;
    int irq_levels[QTEST_MAX_IRQ];
} QTestServer;

static QTestServer qts;
static bool qtest_accel;

bool qtest_enabled(void)
{
    return qtest_accel;
}

/* ---- output and log ---- */

static double qtest_elapsed(void)
{
    return qts.timer ? g_timer_elapsed(qts.timer, NULL) : 0.0;
}

/* Every reply and IRQ line goes through here, logged as QEMU logs it. */
static void qtest_send(const char *str)
{
    size_t len = strlen(str);

    if (qts.log && qts.opened) {
        fprintf(qts.log, "[S +%.06f] %s", qtest_elapsed(), str);
        fflush(qts.log);
    }
    if (qts.capture) {
        g_string_append_len(qts.capture, str, len);
    } else if (qts.chr) {
        qemu_chr_write(qts.chr, (const uint8_t *)str, (int)len);
    }
}

static void G_GNUC_PRINTF(1, 2) qtest_sendf(const char *fmt, ...)
{
    g_autofree char *str = NULL;
    va_list ap;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_send(str);
}

/* A note in the log only, with a reply's timestamp (as QEMU does). */
static void G_GNUC_PRINTF(1, 2) qtest_log_note(const char *fmt, ...)
{
    va_list ap;

    if (!qts.log || !qts.opened) {
        return;
    }
    fprintf(qts.log, "[S +%.06f] ", qtest_elapsed());
    va_start(ap, fmt);
    vfprintf(qts.log, fmt, ap);
    va_end(ap);
    fflush(qts.log);
}

static void qtest_log_request(const char *line)
{
    if (!qts.log) {
        return;
    }
    /* QEMU prints each space-separated word after a space. */
    fprintf(qts.log, "[R +%.06f]%s%s\n", qtest_elapsed(),
            *line ? " " : "", line);
    fflush(qts.log);
}

/* Client text echoed in a reply, cut short: it may be megabytes long. */
static void qtest_send_with_echo(const char *head, const char *word,
                                 const char *tail)
{
    size_t len = strlen(word);

    if (len > QTEST_ECHO_MAX) {
        qtest_sendf("%s%.*s...%s", head, QTEST_ECHO_MAX, word, tail);
    } else {
        qtest_sendf("%s%s%s", head, word, tail);
    }
}

/* ---- argument parsing: QEMU's qemu_strtou64() and friends ---- */

/*
 * Base 0 (0x.., 0.., decimal), the whole word must be a number, and
 * overflow is an error.  Like strtoull, a leading '-' negates.
 */
static bool qtest_parse_u64(const char *s, uint64_t *val)
{
    char *end;

    errno = 0;
    *val = strtoull(s, &end, 0);
    return errno == 0 && end != s && *end == '\0';
}

static bool qtest_parse_i64(const char *s, int64_t *val)
{
    char *end;

    errno = 0;
    *val = strtoll(s, &end, 0);
    return errno == 0 && end != s && *end == '\0';
}

static bool qtest_parse_int(const char *s, int *val)
{
    int64_t v;

    if (!qtest_parse_i64(s, &v) || v < INT_MIN || v > INT_MAX) {
        return false;
    }
    *val = (int)v;
    return true;
}

/* Parse @s or reply FAIL; the caller then just returns. */
static bool qtest_arg_u64(const char *s, uint64_t *val)
{
    if (!qtest_parse_u64(s, val)) {
        qtest_send_with_echo("FAIL invalid number '", s, "'\n");
        return false;
    }
    return true;
}

static bool qtest_arg_i64(const char *s, int64_t *val)
{
    if (!qtest_parse_i64(s, val)) {
        qtest_send_with_echo("FAIL invalid number '", s, "'\n");
        return false;
    }
    return true;
}

static bool qtest_arg_int(const char *s, int *val)
{
    if (!qtest_parse_int(s, val)) {
        qtest_send_with_echo("FAIL invalid number '", s, "'\n");
        return false;
    }
    return true;
}

static bool qtest_arg_port(const char *s, uint64_t *port)
{
    if (!qtest_arg_u64(s, port)) {
        return false;
    }
    if (*port > 0xffff) {
        qtest_send("FAIL I/O port out of range\n");
        return false;
    }
    return true;
}

/* [addr, addr+size) must not wrap past the top of the address space. */
static bool qtest_check_range(uint64_t addr, uint64_t size)
{
    if (size && addr + (size - 1) < addr) {
        qtest_send("FAIL address range wraps\n");
        return false;
    }
    return true;
}

static bool qtest_check_size(uint64_t size, uint64_t min, uint64_t max)
{
    if (size < min || size > max) {
        qtest_sendf("FAIL size out of range (%" PRIu64 " to %" PRIu64
                    " bytes)\n", min, max);
        return false;
    }
    return true;
}

/* ---- guest accesses ---- */

static bool qtest_range_touches_ram(uint64_t addr, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        if (guest_ram_ptr(addr + i, 1)) {
            return true;
        }
    }
    return false;
}

/*
 * A CPU-sized access: an MMIO register sees one access of @size, as it
 * would from a vCPU, not the byte-wise split of phys_mem_rw().
 */
static uint64_t qtest_mem_read(uint64_t addr, unsigned size)
{
    uint64_t val = 0;

    if (qtest_range_touches_ram(addr, size)) {
        phys_mem_rw(addr, &val, size, false);
        return GUINT64_FROM_LE(val);
    }
    io_dispatch_read(AS_MMIO, addr, size, &val);
    return val;
}

static void qtest_mem_write(uint64_t addr, unsigned size, uint64_t val)
{
    if (qtest_range_touches_ram(addr, size)) {
        uint64_t le = GUINT64_TO_LE(val);
        phys_mem_rw(addr, &le, size, true);
        return;
    }
    io_dispatch_write(AS_MMIO, addr, size, val);
}

/* ---- commands ---- */

typedef struct QTestCmd QTestCmd;
/* @args are the words after the command; at least cmd->nargs of them. */
typedef void QTestCmdFunc(const QTestCmd *cmd, char **args, int nargs);

struct QTestCmd {
    const char *name;
    int nargs;          /* arguments required */
    unsigned size;      /* access width for in/out/read/write */
    bool accel_only;    /* exists only under -accel qtest (clock) */
    QTestCmdFunc *fn;
};

static void qtest_cmd_out(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t port, value;

    (void)nargs;
    if (!qtest_arg_port(args[0], &port) || !qtest_arg_u64(args[1], &value)) {
        return;
    }
    io_dispatch_write(AS_PIO, port, cmd->size, value);
    qtest_send("OK\n");
}

static void qtest_cmd_in(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t port, value = 0;

    (void)nargs;
    if (!qtest_arg_port(args[0], &port)) {
        return;
    }
    io_dispatch_read(AS_PIO, port, cmd->size, &value);
    qtest_sendf("OK 0x%04x\n", (uint32_t)value);
}

static void qtest_cmd_write_n(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, value;

    (void)nargs;
    if (!qtest_arg_u64(args[0], &addr) || !qtest_arg_u64(args[1], &value) ||
        !qtest_check_range(addr, cmd->size)) {
        return;
    }
    qtest_mem_write(addr, cmd->size, value);
    qtest_send("OK\n");
}

static void qtest_cmd_read_n(const QTestCmd *cmd, char **args, int nargs)
{
    uint64_t addr, value;

    (void)nargs;
    if (!qtest_arg_u64(args[0], &addr) ||
        !qtest_check_range(addr, cmd->size)) {
        return;
    }
    value = qtest_mem_read(addr, cmd->size);
    qtest_sendf("OK 0x%016" PRIx64 "\n", value);
}

/* ADDR SIZE of the bulk commands, checked against @min..@max. */
static bool qtest_arg_block(char **args, uint64_t *addr, uint64_t *len,
                            uint64_t min, uint64_t max)
{
    return qtest_arg_u64(args[0], addr) && qtest_arg_u64(args[1], len) &&
           qtest_check_size(*len, min, max) && qtest_check_range(*addr, *len);
}

static void qtest_cmd_read(const QTestCmd *cmd, char **args, int nargs)
{
    static const char hex[] = "0123456789abcdef";
    g_autofree uint8_t *data = NULL;
    g_autoptr(GString) reply = NULL;
    uint64_t addr, len;

    (void)cmd; (void)nargs;
    /* QEMU refuses SIZE 0 too (by assertion): the reply would be "OK 0x". */
    if (!qtest_arg_block(args, &addr, &len, 1, QTEST_MAX_READ)) {
        return;
    }
    data = g_malloc(len);
    phys_mem_rw(addr, data, len, false);
    reply = g_string_sized_new(2 * len + 8);
    g_string_append(reply, "OK 0x");
    for (uint64_t i = 0; i < len; i++) {
        g_string_append_c(reply, hex[data[i] >> 4]);
        g_string_append_c(reply, hex[data[i] & 0xf]);
    }
    g_string_append_c(reply, '\n');
    qtest_send(reply->str);
}

static void qtest_cmd_b64read(const QTestCmd *cmd, char **args, int nargs)
{
    g_autofree uint8_t *data = NULL;
    g_autofree char *b64 = NULL;
    uint64_t addr, len;

    (void)cmd; (void)nargs;
    if (!qtest_arg_block(args, &addr, &len, 0, QTEST_MAX_READ)) {
        return;
    }
    data = g_malloc(len);
    phys_mem_rw(addr, data, len, false);
    b64 = g_base64_encode(data, len);
    qtest_sendf("OK %s\n", b64);
}

/* QEMU's decoding, garbage included: a bad digit reads as all ones. */
static uint8_t qtest_hex_byte(char hi, char lo)
{
    int h = g_ascii_xdigit_value(hi);
    int l = g_ascii_xdigit_value(lo);

    return (h < 0 ? 0xf0 : h << 4) | (l < 0 ? 0xff : l);
}

static void qtest_cmd_write(const QTestCmd *cmd, char **args, int nargs)
{
    g_autofree uint8_t *data = NULL;
    const char *hex = args[2];
    size_t hex_len = strlen(hex);
    uint64_t addr, len;

    (void)cmd; (void)nargs;
    if (!qtest_arg_u64(args[0], &addr) || !qtest_arg_u64(args[1], &len)) {
        return;
    }
    if (hex_len < 3) {
        qtest_send("ERR invalid argument size\n");
        return;
    }
    if (!qtest_check_size(len, 0, QTEST_MAX_WRITE) ||
        !qtest_check_range(addr, len)) {
        return;
    }
    /* Digits after the two-character "0x"; missing ones mean zero. */
    data = g_malloc0(len);
    for (uint64_t i = 0; i < len && i < (hex_len - 2) / 2; i++) {
        data[i] = qtest_hex_byte(hex[2 + 2 * i], hex[3 + 2 * i]);
    }
    phys_mem_rw(addr, data, len, true);
    qtest_send("OK\n");
}

static void qtest_cmd_b64write(const QTestCmd *cmd, char **args, int nargs)
{
    char *b64 = args[2];
    uint64_t addr, len;
    gsize out_len;
    guchar *data;

    (void)cmd; (void)nargs;
    if (!qtest_arg_u64(args[0], &addr) || !qtest_arg_u64(args[1], &len)) {
        return;
    }
    if (strlen(b64) < 3) {
        qtest_send("ERR invalid argument size\n");
        return;
    }
    if (!qtest_check_size(len, 0, QTEST_MAX_WRITE) ||
        !qtest_check_range(addr, len)) {
        return;
    }
    data = g_base64_decode_inplace(b64, &out_len);
    if (out_len != len) {
        qtest_log_note("b64write: data length mismatch (told %" PRIu64
                       ", found %zu)\n", len, (size_t)out_len);
    }
    /* Only what was decoded: QEMU would read past it. */
    phys_mem_rw(addr, data, MIN(len, (uint64_t)out_len), true);
    qtest_send("OK\n");
}

static void qtest_cmd_memset(const QTestCmd *cmd, char **args, int nargs)
{
    g_autofree uint8_t *data = NULL;
    uint64_t addr, len, pattern;
    void *ram;

    (void)cmd; (void)nargs;
    if (!qtest_arg_u64(args[0], &addr) || !qtest_arg_u64(args[1], &len) ||
        !qtest_arg_u64(args[2], &pattern) || !qtest_check_range(addr, len)) {
        return;
    }
    /* Clearing guest RAM is common and needs no buffer, so no limit. */
    ram = len ? guest_ram_ptr(addr, len) : NULL;
    if (ram) {
        memset(ram, (uint8_t)pattern, len);
    } else if (len) {
        if (!qtest_check_size(len, 0, QTEST_MAX_WRITE)) {
            return;
        }
        data = g_malloc(len);
        memset(data, (uint8_t)pattern, len);
        phys_mem_rw(addr, data, len, true);
    }
    qtest_send("OK\n");
}

static void qtest_cmd_endianness(const QTestCmd *cmd, char **args, int nargs)
{
    (void)cmd; (void)args; (void)nargs;
    qtest_send("OK little\n");
}

static void qtest_cmd_module_load(const QTestCmd *cmd, char **args,
                                  int nargs)
{
    (void)cmd; (void)args; (void)nargs;
    /* qvmm has no loadable modules: QEMU's answer for a missing one. */
    qtest_send("FAIL\n");
}

/* ---- the virtual clock ---- */

/* Fire timers that are already due, as QEMU's main loop would. */
static void qtest_run_due_timers(void)
{
    if (qtest_accel) {
        qemu_clock_advance_virtual(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));
    }
}

/*
 * Move the clock to @target through each deadline on the way, giving up
 * after QTEST_MAX_TIMER_RUNS of them.  Returns the clock reached.
 */
static int64_t qtest_advance_clock(int64_t target)
{
    unsigned runs = 0;

    for (;;) {
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        int64_t next = qemu_clock_deadline_virtual();

        if (now >= target || next < 0 || next > target) {
            break;
        }
        if (runs++ == QTEST_MAX_TIMER_RUNS) {
            return now;
        }
        qemu_clock_advance_virtual(MAX(next, now));
    }
    if (target > qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL)) {
        qemu_clock_advance_virtual(target);
    }
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

static void qtest_cmd_clock_step(const QTestCmd *cmd, char **args, int nargs)
{
    int64_t old_ns, ns, target, new_ns;

    (void)cmd;
    qtest_run_due_timers();
    old_ns = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    if (nargs >= 1) {
        if (!qtest_arg_i64(args[0], &ns)) {
            return;
        }
    } else {
        int64_t deadline = qemu_clock_deadline_virtual();

        if (deadline < 0) {
            qtest_send("FAIL cannot advance clock to the next deadline "
                       "because there is no pending deadline\n");
            return;
        }
        ns = MAX(deadline - old_ns, 0);
    }
    if (ns > 0 && old_ns > INT64_MAX - ns) {
        qtest_send("FAIL clock would overflow\n");
        return;
    }
    target = old_ns + ns;
    new_ns = qtest_advance_clock(target);
    if (new_ns < target && new_ns > old_ns) {
        qtest_sendf("FAIL too many timer events: clock stopped at %" PRIi64
                    "\n", new_ns);
    } else if (new_ns > old_ns) {
        qtest_sendf("OK %" PRIi64 "\n", new_ns);
    } else {
        qtest_send("FAIL could not advance time\n");
    }
}

static void qtest_cmd_clock_set(const QTestCmd *cmd, char **args, int nargs)
{
    int64_t ns, new_ns;

    (void)cmd; (void)nargs;
    if (!qtest_arg_i64(args[0], &ns)) {
        return;
    }
    qtest_run_due_timers();
    new_ns = qtest_advance_clock(ns);
    /* Not reaching @ns (it lies in the past) is "FAIL <where we are>". */
    qtest_sendf("%s %" PRIi64 "\n", new_ns == ns ? "OK" : "FAIL", new_ns);
}

/* ---- interrupts ---- */

/*
 * qvmm's one interrupt controller is the IOAPIC, at the QOM path QEMU's
 * pc machine gives it.  QEMU resolves a relative path by matching its
 * trailing components ("ioapic", "i440fx/ioapic"); empty ones ("//")
 * are skipped in either form.
 */
static bool qtest_path_is_ioapic(const char *path)
{
    static const char *const abs[] = { "machine", "i440fx", "ioapic" };
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    const char *comp[G_N_ELEMENTS(abs)];
    size_t n = 0, skip;

    for (size_t i = 0; parts[i]; i++) {
        if (!*parts[i]) {
            continue;
        }
        if (n == G_N_ELEMENTS(abs)) {
            return false;
        }
        comp[n++] = parts[i];
    }
    if (n == 0 || (path[0] == '/' && n != G_N_ELEMENTS(abs))) {
        return false;
    }
    skip = G_N_ELEMENTS(abs) - n;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(comp[i], abs[skip + i]) != 0) {
            return false;
        }
    }
    return true;
}

/* The pc machine's GSI lines, under -accel qtest. */
static void qtest_irq_line(unsigned gsi, int level)
{
    if (qts.intercept != INTERCEPT_IN || gsi >= QTEST_MAX_IRQ) {
        return;
    }
    if (qts.irq_levels[gsi] != level) {
        qts.irq_levels[gsi] = level;
        qtest_sendf("IRQ %s %u\n", level ? "raise" : "lower", gsi);
    }
}

static void qtest_cmd_irq_intercept(const QTestCmd *cmd, char **args,
                                    int nargs)
{
    bool is_out = cmd->name[14] == 'o';
    const char *gpio_name = nargs >= 2 ? args[1] : NULL;

    if (!qtest_path_is_ioapic(args[0])) {
        qtest_send("FAIL Unknown device\n");
        return;
    }
    if (gpio_name && !is_out) {
        qtest_send("FAIL Interception of named in-GPIOs not yet supported\n");
        return;
    }
    if (qts.intercept != INTERCEPT_NONE) {
        /* Same device again: QEMU says OK, whichever direction it was. */
        qtest_send("OK\n");
        return;
    }
    /*
     * The IOAPIC has only unnamed inputs: QEMU matches its unnamed list
     * for "out" without a name (installing nothing), and nothing else.
     * Intercepting needs the qtest accelerator, which owns the lines.
     */
    if ((is_out && gpio_name) || (!is_out && !qtest_accel)) {
        qtest_send("FAIL No intercepts installed\n");
        return;
    }
    qts.intercept = is_out ? INTERCEPT_OUT : INTERCEPT_IN;
    qtest_send("OK\n");
}

static void qtest_cmd_set_irq_in(const QTestCmd *cmd, char **args, int nargs)
{
    int num, level;

    (void)cmd; (void)nargs;
    if (!qtest_path_is_ioapic(args[0])) {
        qtest_send("FAIL Unknown device\n");
        return;
    }
    if (!qtest_arg_int(args[2], &num) || !qtest_arg_int(args[3], &level)) {
        return;
    }
    if (strcmp(args[1], "unnamed-gpio-in") != 0) {
        qtest_send_with_echo("FAIL Unknown GPIO list '", args[1], "'\n");
        return;
    }
    if (num < 0 || num >= QTEST_IOAPIC_PINS) {
        qtest_send("FAIL IRQ number out of range\n");
        return;
    }
    /* Drives the IOAPIC pin: seen by the intercept, or KVM's IOAPIC. */
    pc_set_irq(num, level);
    qtest_send("OK\n");
}

/* ---- dispatch ---- */

static const QTestCmd qtest_cmds[] = {
    { "outb", 2, 1, false, qtest_cmd_out },
    { "outw", 2, 2, false, qtest_cmd_out },
    { "outl", 2, 4, false, qtest_cmd_out },
    { "inb", 1, 1, false, qtest_cmd_in },
    { "inw", 1, 2, false, qtest_cmd_in },
    { "inl", 1, 4, false, qtest_cmd_in },
    { "writeb", 2, 1, false, qtest_cmd_write_n },
    { "writew", 2, 2, false, qtest_cmd_write_n },
    { "writel", 2, 4, false, qtest_cmd_write_n },
    { "writeq", 2, 8, false, qtest_cmd_write_n },
    { "readb", 1, 1, false, qtest_cmd_read_n },
    { "readw", 1, 2, false, qtest_cmd_read_n },
    { "readl", 1, 4, false, qtest_cmd_read_n },
    { "readq", 1, 8, false, qtest_cmd_read_n },
    { "read", 2, 0, false, qtest_cmd_read },
    { "b64read", 2, 0, false, qtest_cmd_b64read },
    { "write", 3, 0, false, qtest_cmd_write },
    { "b64write", 3, 0, false, qtest_cmd_b64write },
    { "memset", 3, 0, false, qtest_cmd_memset },
    { "endianness", 0, 0, false, qtest_cmd_endianness },
    { "module_load", 2, 0, false, qtest_cmd_module_load },
    { "clock_step", 0, 0, true, qtest_cmd_clock_step },
    { "clock_set", 1, 0, true, qtest_cmd_clock_set },
    { "irq_intercept_in", 1, 0, false, qtest_cmd_irq_intercept },
    { "irq_intercept_out", 1, 0, false, qtest_cmd_irq_intercept },
    { "set_irq_in", 4, 0, false, qtest_cmd_set_irq_in },
};

static const QTestCmd *qtest_find_cmd(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(qtest_cmds); i++) {
        const QTestCmd *cmd = &qtest_cmds[i];
        if (!strcmp(cmd->name, name) && (!cmd->accel_only || qtest_accel)) {
            return cmd;
        }
    }
    return NULL;
}

/* One request: the line without its newline.  Words are split on ' '. */
static void qtest_execute(const char *line)
{
    g_auto(GStrv) words = NULL;
    const QTestCmd *cmd;
    int nargs;

    qtest_log_request(line);
    words = g_strsplit(line, " ", -1);
    if (!words[0]) {
        /* An empty line: QEMU asserts here. */
        qtest_send("FAIL Unknown command ''\n");
        return;
    }
    cmd = qtest_find_cmd(words[0]);
    if (!cmd) {
        qtest_send_with_echo("FAIL Unknown command '", words[0], "'\n");
        return;
    }
    nargs = (int)g_strv_length(words) - 1;
    if (nargs < cmd->nargs) {
        qtest_send("FAIL missing argument\n");
        return;
    }
    /* Words beyond those a command takes are ignored, as in QEMU. */
    cmd->fn(cmd, words + 1, nargs);
}

/* Run one line, then the timers it made due (QEMU's main loop would). */
static void qtest_process_one(const char *line, size_t len)
{
    if (memchr(line, '\0', len)) {
        qtest_log_request("<request with a NUL byte>");
        qtest_send("FAIL NUL byte in request\n");
    } else {
        g_autofree char *copy = g_strndup(line, len);
        qtest_execute(copy);
    }
    qtest_run_due_timers();
}

void qtest_process_line(const char *line, GString *out)
{
    GString *saved = qts.capture;

    qts.capture = out;
    qtest_execute(line);
    qtest_run_due_timers();
    qts.capture = saved;
}

/* Forget what was received and not yet run. */
static void qtest_drop_input(void)
{
    if (qts.inbuf) {
        g_string_truncate(qts.inbuf, 0);
    }
    qts.scanned = 0;
    qts.discarding = false;
}

/* Execute the complete lines in qts.inbuf; keep a partial one. */
static void qtest_process_inbuf(void)
{
    GString *in = qts.inbuf;
    size_t start = 0;

    for (;;) {
        const char *nl = memchr(in->str + qts.scanned, '\n',
                                in->len - qts.scanned);
        size_t end;

        if (!nl) {
            break;
        }
        end = nl - in->str;
        if (qts.discarding) {
            qts.discarding = false;
            qtest_log_request("<request too long>");
            qtest_send("FAIL request too long\n");
        } else {
            qts.processing = true;
            qtest_process_one(in->str + start, end - start);
            qts.processing = false;
        }
        /*
         * A reply that cannot be sent makes the socket report CLOSED from
         * inside the write: the rest of the input belonged to a client
         * that is gone.
         */
        if (qts.client_gone) {
            qts.client_gone = false;
            qtest_drop_input();
            return;
        }
        start = qts.scanned = end + 1;
    }
    g_string_erase(in, 0, start);
    qts.scanned = in->len;
    /* A line that cannot fit is dropped as it arrives, and answered at
     * its newline. */
    if (in->len > QTEST_MAX_LINE) {
        qts.discarding = true;
    }
    if (qts.discarding) {
        g_string_truncate(in, 0);
        qts.scanned = 0;
    }
}

void qtest_server_feed(const uint8_t *buf, size_t len, GString *out)
{
    GString *saved = qts.capture;

    if (!qts.inbuf) {
        qts.inbuf = g_string_new(NULL);
    }
    qts.capture = out;
    g_string_append_len(qts.inbuf, (const char *)buf, len);
    qtest_process_inbuf();
    qts.capture = saved;
}

void qtest_server_reset(void)
{
    qtest_drop_input();
    qts.intercept = INTERCEPT_NONE;
    memset(qts.irq_levels, 0, sizeof(qts.irq_levels));
}

/* ---- the chardev ---- */

static int qtest_can_read(void *opaque)
{
    (void)opaque;
    return 4096;
}

static void qtest_read(void *opaque, const uint8_t *buf, int len)
{
    (void)opaque;
    qtest_server_feed(buf, len, NULL);
}

static void qtest_event(void *opaque, ChrEvent event)
{
    (void)opaque;
    switch (event) {
    case CHR_EVENT_OPENED:
        /* QEMU forgets IRQ levels (not intercepts) for a new client. */
        memset(qts.irq_levels, 0, sizeof(qts.irq_levels));
        g_timer_start(qts.timer);
        qts.opened = true;
        if (qts.log) {
            fprintf(qts.log, "[I %.06f] OPENED\n", qtest_elapsed());
            fflush(qts.log);
        }
        break;
    case CHR_EVENT_CLOSED:
        /* qvmm keeps running, as QEMU does: the harness sends SIGTERM. */
        qts.opened = false;
        if (qts.log) {
            fprintf(qts.log, "[I +%.06f] CLOSED\n", qtest_elapsed());
            fflush(qts.log);
        }
        if (qts.processing) {
            qts.client_gone = true;
        } else {
            qtest_drop_input();
        }
        break;
    default:
        break;
    }
}

/* -qtest-log: stderr by default, nothing for "none", else the file. */
static void qtest_open_log(const char *log_path)
{
    if (!log_path) {
        qts.log = stderr;
    } else if (strcmp(log_path, "none") != 0) {
        /* QEMU carries on without a log if the file cannot be opened. */
        qts.log = fopen(log_path, "w+");
    }
}

bool qtest_server_init(const char *chardev_spec, const char *log_path,
                       GError **errp)
{
    g_autoptr(GError) err = NULL;
    Chardev *chr;

    if (qts.chr) {
        error_setg(errp, "Only one instance of qtest can be created");
        return false;
    }
    chr = qemu_chr_new_legacy("qtest", chardev_spec, &err);
    if (!chr) {
        /* The chardev's own reason first, as QEMU prints it. */
        if (err && err->message[0]) {
            error_report("%s", err->message);
        }
        error_setg(errp, "Failed to initialize device for qtest: \"%s\"",
                   chardev_spec);
        return false;
    }
    qtest_open_log(log_path);
    if (!qts.inbuf) {
        qts.inbuf = g_string_new(NULL);
    }
    qts.timer = g_timer_new();
    qts.chr = chr;
    /* Attaching to a connected socket delivers OPENED at once. */
    if (!qemu_chr_attach(chr, qtest_can_read, qtest_read, qtest_event, NULL,
                         errp)) {
        qts.chr = NULL;
        return false;
    }
    return true;
}

/* ---- the accelerator ---- */

void qtest_accel_init(void)
{
    qtest_accel = true;
    qemu_clock_set_manual(true);
    pc_irq_set_handler(qtest_irq_line);
}
