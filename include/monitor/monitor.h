/*
 * The QMP monitor: QEMU's machine protocol on chardevs (-qmp, -mon).
 *
 * Each monitor greets a new client, waits for qmp_capabilities, then
 * runs commands one at a time on the main thread (BQL held) and
 * delivers events.  Commands are registered by name with the arguments
 * they take; the dispatcher checks arguments against that list with
 * QEMU's error texts before calling the handler, so a handler only sees
 * members of the declared types.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "qemu/osdep.h"
#include "chardev/char.h"
#include "hw/boards.h"
#include <json-glib/json-glib.h>

typedef enum QmpArgType {
    QMP_ARG_STR,                /* "string" */
    QMP_ARG_INT,                /* "integer" (no fraction) */
    QMP_ARG_BOOL,               /* "boolean" */
    QMP_ARG_NUMBER,             /* "number": integer or float */
    QMP_ARG_STR_LIST,           /* "array" of strings */
    QMP_ARG_OBJECT,             /* "object", not looked into */
    QMP_ARG_ANY,                /* anything */
} QmpArgType;

typedef struct QmpArg {
    const char *name;
    QmpArgType type;
    bool optional;
} QmpArg;

/*
 * A command handler.  @args holds only declared members, of the
 * declared types.  Return the "return" value (NULL for {}), or NULL
 * with @errp set; the error's code (QVMM_ERROR_*) gives its class.
 */
typedef JsonNode *QmpCommandFunc(JsonObject *args, GError **errp);

/* @args ends with a { NULL } entry; NULL for a command without any. */
void qmp_register_command(const char *name, QmpCommandFunc *fn,
                          const QmpArg *args);

/*
 * Send event @name to every monitor past capabilities negotiation, with
 * QEMU's timestamp; @data (may be NULL) is consumed.  Main thread, BQL.
 */
void qapi_event_send(const char *name, JsonObject *data);

/* Serve QMP on @chr (already created); "Device 'x' is in use" if taken. */
bool monitor_new_qmp(Chardev *chr, bool pretty, GError **errp);

/* What the query commands report about the VM, from the command line. */
typedef struct MonitorVMInfo {
    const char *name;           /* -name guest=, or NULL */
    uint8_t uuid[16];           /* -uuid, or zeros */
    CpuTopology topo;           /* -smp as resolved */
    const char *cpu_type;       /* QOM type of the vCPUs, "host-x86_64-cpu" */
} MonitorVMInfo;

/*
 * Register the built-in commands and hook the run-state events; call
 * once before monitor_new_qmp().  @info is copied.
 */
void monitor_init_globals(const MonitorVMInfo *info);

/* Detach every monitor (at exit, before the chardevs go). */
void monitor_cleanup(void);

/*
 * Feed raw input to a monitor with no chardev, for the fuzzer: output
 * goes to @out (appended).  Negotiation state persists across calls.
 */
typedef struct Monitor Monitor;
Monitor *monitor_new_detached(GString *out);
void monitor_feed(Monitor *mon, const uint8_t *buf, size_t len);
void monitor_free_detached(Monitor *mon);

/* QEMU's UUID text form, 8-4-4-4-12 hex digits; false if malformed. */
bool qemu_uuid_parse(const char *str, uint8_t uuid[16]);

#endif
