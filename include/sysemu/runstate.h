/*
 * Run states and the requests that change them (QEMU's system/runstate.c).
 *
 * Requests may come from any thread (a vCPU writing the ACPI sleep
 * register, a signal, QMP); they are recorded and handled by the main loop.
 */
#ifndef SYSEMU_RUNSTATE_H
#define SYSEMU_RUNSTATE_H

#include "qemu/osdep.h"

typedef enum RunState {
    RUN_STATE_PRELAUNCH,
    RUN_STATE_RUNNING,
    RUN_STATE_PAUSED,
    RUN_STATE_SHUTDOWN,
    RUN_STATE_INTERNAL_ERROR,
    RUN_STATE_IO_ERROR,
    RUN_STATE_GUEST_PANICKED,
} RunState;

/* QEMU's ShutdownCause, in QAPI order. */
typedef enum ShutdownCause {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
    SHUTDOWN_CAUSE_HOST_SIGNAL,
    SHUTDOWN_CAUSE_HOST_UI,
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
    SHUTDOWN_CAUSE_GUEST_RESET,
    SHUTDOWN_CAUSE_GUEST_PANIC,
    SHUTDOWN_CAUSE_SUBSYSTEM_RESET,
} ShutdownCause;

const char *runstate_name(RunState s);
const char *shutdown_cause_name(ShutdownCause c);

RunState runstate_get(void);
void runstate_set(RunState s);
bool runstate_is_running(void);

void qemu_system_shutdown_request(ShutdownCause cause);
void qemu_system_reset_request(ShutdownCause cause);
void qemu_system_powerdown_request(void);
/* A fatal guest error (KVM internal error): stop the VM. */
void qemu_system_guest_error_request(void);
/*
 * Pause the VM into @state (werror=stop: RUN_STATE_IO_ERROR) from any
 * thread; the main loop stops the vCPUs and emits STOP.  Ignored unless
 * the VM is running when the main loop gets to it.
 */
void qemu_system_vmstop_request(RunState state);
/* Exit immediately with @status once the main loop sees it (debug-exit). */
void qemu_system_exit_request(int status);

/*
 * True once a request is pending that must keep vCPUs from re-entering
 * the guest (exit, shutdown, reset): a vCPU thread checks it after every
 * exit so that, say, the instruction after a debug-exit write never runs.
 */
bool qemu_vcpus_must_park(void);

/*
 * Run-state changes for the monitor and devices (main thread, BQL).
 * vm_stop() pauses the vCPUs; if the VM was running it enters @state
 * and sends STOP (QEMU's do_vm_stop).  vm_start() sends RESUME, enters
 * "running" and resumes the vCPUs; it does nothing if already running.
 * werror=stop asks for vm_stop(RUN_STATE_IO_ERROR) from any thread with
 * qemu_system_vmstop_request().
 */
void vm_stop(RunState state);
void vm_start(void);
/* Called (main thread, BQL) each time vm_start() resumes the VM. */
void runstate_add_resume_notifier(void (*fn)(void *opaque), void *opaque);
void runstate_remove_resume_notifier(void (*fn)(void *opaque), void *opaque);
/* internal-error, shutdown and guest-panicked need a system_reset first. */
bool runstate_needs_reset(void);
/*
 * QMP quit: SHUTDOWN (host-qmp-quit) now, before the command's reply as
 * in QEMU, then exit 0 from the main loop, whatever -no-shutdown says.
 */
void qemu_system_quit_request(void);

/* Install the signalfd for SIGINT/SIGTERM/SIGHUP (block them first in
 * every thread: call before creating any). */
void qemu_init_signals(void);

/* Event sink for the monitor: called in the main thread, BQL held. */
typedef void (*RunstateEventHook)(const char *event, gboolean has_data,
                                  gboolean guest, ShutdownCause cause);
void runstate_set_event_hook(RunstateEventHook hook);

/* -no-reboot / -no-shutdown */
extern bool no_reboot;
extern bool no_shutdown;

/*
 * Called by the main loop: act on pending requests.  Returns true when
 * the process should leave the main loop; *exit_status is then set.
 */
bool main_loop_should_exit(int *exit_status);

/* Hooks the machine provides. */
typedef struct RunstateHooks {
    void (*reset)(void);          /* reset devices and vCPUs, reload kernel */
    void (*powerdown)(void);      /* press the ACPI power button */
    void (*vm_stop)(void);        /* pause vCPUs (no state change) */
    void (*vm_start)(void);       /* resume vCPUs (no state change) */
} RunstateHooks;
void runstate_set_hooks(const RunstateHooks *hooks);

#endif
