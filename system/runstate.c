/*
 * Run states and the shutdown/reset/powerdown requests that change them.
 *
 * Requests come from vCPU threads, signal handling, the stdio mux or the
 * monitor.  They only set flags and wake the main loop; a GSource then
 * acts on them in the main thread, so device reset and exit never run on
 * a vCPU thread.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"
#include <signal.h>
#include <sys/signalfd.h>
#include <pthread.h>
#include <glib-unix.h>

bool no_reboot;
bool no_shutdown;

static RunState current_state = RUN_STATE_PRELAUNCH;
static RunstateHooks hooks;
static RunstateEventHook event_hook;

/* Pending requests, written from any thread. */
static int shutdown_requested;      /* ShutdownCause + 1, or 0 */
static int reset_requested;         /* ShutdownCause + 1, or 0 */
static int powerdown_requested;
static int guest_error_requested;
static int exit_requested;          /* status + 1, or 0 */
static int vmstop_requested;        /* RunState + 1, or 0 */

static const char *const runstate_names[] = {
    [RUN_STATE_PRELAUNCH] = "prelaunch",
    [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_PAUSED] = "paused",
    [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_IO_ERROR] = "io-error",
    [RUN_STATE_GUEST_PANICKED] = "guest-panicked",
};

static const char *const cause_names[] = {
    [SHUTDOWN_CAUSE_NONE] = "none",
    [SHUTDOWN_CAUSE_HOST_ERROR] = "host-error",
    [SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
    [SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
    [SHUTDOWN_CAUSE_HOST_SIGNAL] = "host-signal",
    [SHUTDOWN_CAUSE_HOST_UI] = "host-ui",
    [SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
    [SHUTDOWN_CAUSE_GUEST_RESET] = "guest-reset",
    [SHUTDOWN_CAUSE_GUEST_PANIC] = "guest-panic",
    [SHUTDOWN_CAUSE_SUBSYSTEM_RESET] = "subsystem-reset",
};

const char *runstate_name(RunState s)
{
    return runstate_names[s];
}

const char *shutdown_cause_name(ShutdownCause c)
{
    return cause_names[c];
}

static bool cause_is_guest(ShutdownCause c)
{
    return c == SHUTDOWN_CAUSE_GUEST_SHUTDOWN ||
           c == SHUTDOWN_CAUSE_GUEST_RESET || c == SHUTDOWN_CAUSE_GUEST_PANIC;
}

RunState runstate_get(void)
{
    return current_state;
}

void runstate_set(RunState s)
{
    current_state = s;
}

bool runstate_is_running(void)
{
    return current_state == RUN_STATE_RUNNING;
}

void runstate_set_hooks(const RunstateHooks *h)
{
    hooks = *h;
}

void runstate_set_event_hook(RunstateEventHook hook)
{
    event_hook = hook;
}

static void emit(const char *event, gboolean has_data, ShutdownCause cause)
{
    if (event_hook) {
        event_hook(event, has_data, cause_is_guest(cause), cause);
    }
}

bool qemu_vcpus_must_park(void)
{
    return g_atomic_int_get(&shutdown_requested) ||
           g_atomic_int_get(&reset_requested) ||
           g_atomic_int_get(&exit_requested) ||
           g_atomic_int_get(&guest_error_requested);
}

void qemu_system_shutdown_request(ShutdownCause cause)
{
    g_atomic_int_set(&shutdown_requested, cause + 1);
    qemu_notify_event();
}

void qemu_system_reset_request(ShutdownCause cause)
{
    /* QEMU 7.2 turns QMP's system_reset into a shutdown too. */
    if (no_reboot && cause != SHUTDOWN_CAUSE_SUBSYSTEM_RESET) {
        /* -no-reboot: a guest reboot becomes a shutdown (-action reboot=shutdown) */
        qemu_system_shutdown_request(cause);
        return;
    }
    g_atomic_int_set(&reset_requested, cause + 1);
    qemu_notify_event();
}

void qemu_system_powerdown_request(void)
{
    g_atomic_int_set(&powerdown_requested, 1);
    qemu_notify_event();
}

void qemu_system_guest_error_request(void)
{
    g_atomic_int_set(&guest_error_requested, 1);
    qemu_notify_event();
}

void qemu_system_exit_request(int status)
{
    /* The first request wins, as QEMU's immediate exit() would. */
    g_atomic_int_compare_and_exchange(&exit_requested, 0, status + 1);
    qemu_notify_event();
}

void qemu_system_vmstop_request(RunState state)
{
    g_atomic_int_compare_and_exchange(&vmstop_requested, 0, state + 1);
    qemu_notify_event();
}

typedef struct ResumeNotifier {
    void (*fn)(void *opaque);
    void *opaque;
} ResumeNotifier;

static GArray *resume_notifiers;    /* ResumeNotifier */

void runstate_add_resume_notifier(void (*fn)(void *opaque), void *opaque)
{
    ResumeNotifier n = { fn, opaque };

    if (!resume_notifiers) {
        resume_notifiers = g_array_new(FALSE, FALSE, sizeof(n));
    }
    g_array_append_val(resume_notifiers, n);
}

void runstate_remove_resume_notifier(void (*fn)(void *opaque), void *opaque)
{
    for (guint i = 0; resume_notifiers && i < resume_notifiers->len; i++) {
        ResumeNotifier *n = &g_array_index(resume_notifiers, ResumeNotifier,
                                           i);
        if (n->fn == fn && n->opaque == opaque) {
            g_array_remove_index(resume_notifiers, i);
            return;
        }
    }
}

static void notify_resume(void)
{
    for (guint i = 0; resume_notifiers && i < resume_notifiers->len; i++) {
        ResumeNotifier *n = &g_array_index(resume_notifiers, ResumeNotifier,
                                           i);
        n->fn(n->opaque);
    }
}

void vm_stop(RunState state)
{
    bool was_running = runstate_is_running();

    if (hooks.vm_stop) {
        hooks.vm_stop();
    }
    if (was_running) {
        runstate_set(state);
        emit("STOP", FALSE, SHUTDOWN_CAUSE_NONE);
    }
}

void vm_start(void)
{
    if (runstate_is_running()) {
        return;
    }
    /* QEMU sends RESUME before the state changes. */
    emit("RESUME", FALSE, SHUTDOWN_CAUSE_NONE);
    runstate_set(RUN_STATE_RUNNING);
    /* Devices retry what they held (werror=stop) before vCPUs run. */
    notify_resume();
    if (hooks.vm_start) {
        hooks.vm_start();
    }
}

bool runstate_needs_reset(void)
{
    return current_state == RUN_STATE_INTERNAL_ERROR ||
           current_state == RUN_STATE_SHUTDOWN ||
           current_state == RUN_STATE_GUEST_PANICKED;
}

void qemu_system_quit_request(void)
{
    emit("SHUTDOWN", TRUE, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    qemu_system_exit_request(0);
}

/* A shutdown request: leave the loop, or pause under -no-shutdown. */
static bool handle_shutdown(ShutdownCause cause, int *exit_status)
{
    emit("SHUTDOWN", TRUE, cause);
    if (no_shutdown && cause_is_guest(cause)) {
        vm_stop(RUN_STATE_SHUTDOWN);
        return false;
    }
    *exit_status = 0;
    return true;
}

static void handle_reset(ShutdownCause cause)
{
    bool was_running = runstate_is_running();

    if (hooks.vm_stop) {
        hooks.vm_stop();
    }
    if (hooks.reset) {
        hooks.reset();
    }
    emit("RESET", TRUE, cause);
    /* A reset out of any other state leaves the VM paused, in prelaunch
     * (so that "cont" may start it again), as QEMU does. */
    if (was_running) {
        if (hooks.vm_start) {
            hooks.vm_start();
        }
    } else {
        runstate_set(RUN_STATE_PRELAUNCH);
    }
}

bool main_loop_should_exit(int *exit_status)
{
    int v;

    if ((v = g_atomic_int_exchange(&exit_requested, 0))) {
        *exit_status = v - 1;
        return true;
    }
    if ((v = g_atomic_int_exchange(&shutdown_requested, 0))) {
        if (handle_shutdown(v - 1, exit_status)) {
            return true;
        }
    }
    if ((v = g_atomic_int_exchange(&reset_requested, 0))) {
        handle_reset(v - 1);
    }
    if (g_atomic_int_exchange(&powerdown_requested, 0)) {
        emit("POWERDOWN", FALSE, SHUTDOWN_CAUSE_NONE);
        if (hooks.powerdown) {
            hooks.powerdown();
        }
    }
    if (g_atomic_int_exchange(&guest_error_requested, 0)) {
        vm_stop(RUN_STATE_INTERNAL_ERROR);
    }
    if ((v = g_atomic_int_exchange(&vmstop_requested, 0)) &&
        runstate_is_running()) {
        vm_stop(v - 1);
    }
    return false;
}

/* ---- signals ---- */

/* The sender as QEMU names it: argv[0] from /proc/PID/cmdline. */
static char *sender_name(uint32_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%u/cmdline", pid);
    g_autofree char *cmdline = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &cmdline, &len, NULL) || len == 0) {
        return g_strdup("<unknown process>");
    }
    return g_strndup(cmdline, len);     /* stops at the first NUL */
}

static gboolean signal_ready(gint fd, GIOCondition cond, gpointer data)
{
    struct signalfd_siginfo si;

    (void)cond; (void)data;
    if (read(fd, &si, sizeof(si)) != sizeof(si)) {
        return G_SOURCE_CONTINUE;
    }
    if (si.ssi_pid == 0) {
        /* Sent by the kernel (a Ctrl-C on the terminal): no sender. */
        error_report("terminating on signal %u", si.ssi_signo);
    } else {
        g_autofree char *name = sender_name(si.ssi_pid);
        error_report("terminating on signal %u from pid %u (%s)",
                     si.ssi_signo, si.ssi_pid, name);
    }
    qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

void qemu_init_signals(void)
{
    sigset_t set;
    int fd;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        error_report("signalfd: %s", g_strerror(errno));
        exit(1);
    }
    g_unix_fd_add(fd, G_IO_IN, signal_ready, NULL);
}
