/*
 * QMP: the protocol of docs/interop/qmp-spec.rst on a chardev.
 *
 * Input goes through the monitor's JSON streamer; each complete value is
 * dispatched at once on the main thread, so replies come in order and
 * an event raised by a command (STOP for "stop") precedes its reply, as
 * in QEMU.  After each value the monitor stops reading until the main
 * loop has gone round once: requests a command made (reset, power
 * button) are acted on before the next command runs, and one client's
 * flood of requests cannot starve another monitor.  Output goes through the chardev, which queues a bounded
 * amount for a client that does not read and drops the rest: a stalled
 * client loses its own replies but holds up nobody.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "monitor/monitor.h"
#include "monitor/json.h"
#include "monitor-internal.h"

typedef struct QmpCommand {
    char *name;
    QmpCommandFunc *fn;
    const QmpArg *args;
} QmpCommand;

struct Monitor {
    Chardev *chr;               /* NULL for a detached (fuzzing) monitor */
    GString *detached_out;
    bool pretty;
    bool negotiated;            /* past qmp_capabilities: commands, events */
    JsonStreamer *js;
    bool handled;               /* a value was handled since the last feed */
    GByteArray *pending;        /* input held back until the loop turns */
    guint resume_id;            /* the idle source that resumes it */
    unsigned generation;        /* counts clients, to spot one leaving */
};

static GPtrArray *commands;     /* QmpCommand *, in registration order */
static GPtrArray *monitors;     /* Monitor * */
static Monitor *cur_mon;        /* the monitor running a command */

/* ---- commands ---- */

void qmp_register_command(const char *name, QmpCommandFunc *fn,
                          const QmpArg *args)
{
    QmpCommand *c = g_new0(QmpCommand, 1);

    if (!commands) {
        commands = g_ptr_array_new();
    }
    c->name = g_strdup(name);
    c->fn = fn;
    c->args = args;
    g_ptr_array_add(commands, c);
}

static QmpCommand *find_command(const char *name)
{
    for (guint i = 0; commands && i < commands->len; i++) {
        QmpCommand *c = g_ptr_array_index(commands, i);
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

JsonNode *qmp_command_list(void)
{
    JsonArray *arr = json_array_new();

    for (guint i = 0; commands && i < commands->len; i++) {
        QmpCommand *c = g_ptr_array_index(commands, i);
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "name", c->name);
        json_array_add_object_element(arr, o);
    }
    return qmp_array_node(arr);
}

/* ---- output ---- */

static void monitor_write(Monitor *mon, JsonObject *msg)
{
    g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), msg);
    g_autoptr(GString) text = g_string_new(NULL);
    g_autoptr(GString) crlf = g_string_new(NULL);

    json_write(text, node, mon->pretty);
    g_string_append_c(text, '\n');
    /* QMP lines end in CRLF, pretty-printed lines included. */
    for (const char *p = text->str; *p; p++) {
        if (*p == '\n') {
            g_string_append_c(crlf, '\r');
        }
        g_string_append_c(crlf, *p);
    }
    if (mon->chr) {
        qemu_chr_write(mon->chr, (const uint8_t *)crlf->str, crlf->len);
    } else {
        g_string_append_len(mon->detached_out, crlf->str, crlf->len);
    }
}

static const char *error_class(const GError *err)
{
    if (err->domain != QVMM_ERROR) {
        return "GenericError";
    }
    switch (err->code) {
    case QVMM_ERROR_COMMAND_NOT_FOUND: return "CommandNotFound";
    case QVMM_ERROR_DEVICE_NOT_FOUND: return "DeviceNotFound";
    case QVMM_ERROR_DEVICE_NOT_ACTIVE: return "DeviceNotActive";
    case QVMM_ERROR_KVM_MISSING_CAP: return "KVMMissingCap";
    default: return "GenericError";
    }
}

/* {"id": ID, "error": {...}}, as QEMU orders it; @id may be NULL. */
static void send_error(Monitor *mon, const GError *err, JsonNode *id)
{
    JsonObject *rsp = json_object_new();
    JsonObject *e = json_object_new();

    if (id) {
        json_object_set_member(rsp, "id", json_node_copy(id));
    }
    json_object_set_string_member(e, "class", error_class(err));
    json_object_set_string_member(e, "desc", err->message);
    json_object_set_object_member(rsp, "error", e);
    monitor_write(mon, rsp);
    json_object_unref(rsp);
}

static void send_return(Monitor *mon, JsonNode *ret, JsonNode *id)
{
    JsonObject *rsp = json_object_new();

    if (!ret) {
        ret = qmp_object_node(json_object_new());
    }
    json_object_set_member(rsp, "return", ret);
    if (id) {
        json_object_set_member(rsp, "id", json_node_copy(id));
    }
    monitor_write(mon, rsp);
    json_object_unref(rsp);
}

static JsonObject *version_object(void)
{
    JsonObject *v = json_object_new();
    JsonObject *q = json_object_new();

    json_object_set_int_member(q, "micro", QVMM_QEMU_MICRO);
    json_object_set_int_member(q, "minor", QVMM_QEMU_MINOR);
    json_object_set_int_member(q, "major", QVMM_QEMU_MAJOR);
    json_object_set_object_member(v, "qemu", q);
    json_object_set_string_member(v, "package", "qvmm " QVMM_VERSION);
    return v;
}

JsonNode *qmp_version_node(void)
{
    return qmp_object_node(version_object());
}

/*
 * No "oob" capability: qvmm runs every command on the main thread, so
 * out-of-band execution would promise something it does not do.
 */
static void send_greeting(Monitor *mon)
{
    JsonObject *msg = json_object_new();
    JsonObject *qmp = json_object_new();

    json_object_set_object_member(qmp, "version", version_object());
    json_object_set_array_member(qmp, "capabilities", json_array_new());
    json_object_set_object_member(msg, "QMP", qmp);
    monitor_write(mon, msg);
    json_object_unref(msg);
}

/* ---- events ---- */

void qapi_event_send(const char *name, JsonObject *data)
{
    gint64 now = g_get_real_time();

    for (guint i = 0; monitors && i < monitors->len; i++) {
        Monitor *mon = g_ptr_array_index(monitors, i);
        JsonObject *msg, *ts;

        if (!mon->negotiated) {
            continue;
        }
        msg = json_object_new();
        ts = json_object_new();
        json_object_set_int_member(ts, "seconds", now / G_USEC_PER_SEC);
        json_object_set_int_member(ts, "microseconds", now % G_USEC_PER_SEC);
        json_object_set_object_member(msg, "timestamp", ts);
        json_object_set_string_member(msg, "event", name);
        if (data) {
            json_object_set_object_member(msg, "data",
                                          json_object_ref(data));
        }
        monitor_write(mon, msg);
        json_object_unref(msg);
    }
    if (data) {
        json_object_unref(data);
    }
}

/* ---- dispatch ---- */

void qmp_set_negotiated(void)
{
    if (cur_mon) {
        cur_mon->negotiated = true;
    }
}

bool qmp_cur_negotiated(void)
{
    return cur_mon && cur_mon->negotiated;
}

static void dispatch_request(Monitor *mon, JsonObject *req, JsonNode *id)
{
    g_autoptr(GError) err = NULL;
    const char *name;
    JsonObject *args;
    QmpCommand *cmd;
    JsonNode *ret;

    if (!qmp_check_request(req, &name, &args, &err)) {
        send_error(mon, err, id);
        return;
    }
    cmd = find_command(name);
    if (!cmd || (!mon->negotiated && strcmp(name, "qmp_capabilities"))) {
        g_set_error(&err, QVMM_ERROR, QVMM_ERROR_COMMAND_NOT_FOUND,
                    mon->negotiated ? "The command %s has not been found"
                    : "Expecting capabilities negotiation with "
                      "'qmp_capabilities'", name);
        send_error(mon, err, id);
        return;
    }
    if (!qmp_check_args(cmd->args, args, &err)) {
        send_error(mon, err, id);
        return;
    }
    cur_mon = mon;
    ret = cmd->fn(args, &err);
    cur_mon = NULL;
    if (err) {
        g_clear_pointer(&ret, json_node_unref);
        send_error(mon, err, id);
    } else {
        send_return(mon, ret, id);
    }
}

static void handle_value(void *opaque, JsonNode *value, GError *err)
{
    Monitor *mon = opaque;
    JsonObject *req;

    mon->handled = true;
    if (!value) {
        send_error(mon, err, NULL);
        g_error_free(err);
        return;
    }
    if (!JSON_NODE_HOLDS_OBJECT(value)) {
        GError e = { QVMM_ERROR, QVMM_ERROR_GENERIC,
                     (char *)"QMP input must be a JSON object" };
        send_error(mon, &e, NULL);
    } else {
        req = json_node_get_object(value);
        dispatch_request(mon, req, json_object_get_member(req, "id"));
    }
    json_node_unref(value);
}

/* ---- chardev frontend ---- */

static gboolean monitor_resume(gpointer opaque);

/*
 * Feed @buf up to the end of the first complete value; keep the rest in
 * mon->pending for the next turn of the main loop.
 */
static void monitor_feed_one(Monitor *mon, const uint8_t *buf, size_t len)
{
    unsigned generation = mon->generation;
    size_t i;

    mon->handled = false;
    for (i = 0; i < len && !mon->handled; i++) {
        json_streamer_feed(mon->js, buf + i, 1);
    }
    if (generation != mon->generation) {
        return;     /* the client left while we wrote to it: drop the rest */
    }
    g_byte_array_append(mon->pending, buf + i, len - i);
    if (mon->handled && mon->chr && !mon->resume_id) {
        mon->resume_id = g_idle_add(monitor_resume, mon);
    }
}

static gboolean monitor_resume(gpointer opaque)
{
    Monitor *mon = opaque;
    g_autoptr(GByteArray) rest = mon->pending;

    mon->resume_id = 0;
    mon->pending = g_byte_array_new();
    monitor_feed_one(mon, rest->data, rest->len);
    if (!mon->resume_id) {
        qemu_chr_accept_input(mon->chr);
    }
    return G_SOURCE_REMOVE;
}

static int monitor_can_read(void *opaque)
{
    Monitor *mon = opaque;

    return mon->resume_id || mon->pending->len ? 0 : 4096;
}

static void monitor_read(void *opaque, const uint8_t *buf, int len)
{
    monitor_feed_one(opaque, buf, len);
}

/* A new or departed client: nothing of the old input survives. */
static void monitor_reset_input(Monitor *mon)
{
    mon->generation++;
    json_streamer_reset(mon->js);
    g_byte_array_set_size(mon->pending, 0);
    if (mon->resume_id) {
        g_source_remove(mon->resume_id);
        mon->resume_id = 0;
    }
    mon->negotiated = false;
}

static void monitor_event(void *opaque, ChrEvent event)
{
    Monitor *mon = opaque;

    switch (event) {
    case CHR_EVENT_OPENED:
        monitor_reset_input(mon);
        send_greeting(mon);
        break;
    case CHR_EVENT_CLOSED:
        monitor_reset_input(mon);
        break;
    default:
        break;
    }
}

static Monitor *monitor_alloc(Chardev *chr, bool pretty)
{
    Monitor *mon = g_new0(Monitor, 1);

    mon->chr = chr;
    mon->pretty = pretty;
    mon->js = json_streamer_new(handle_value, mon);
    mon->pending = g_byte_array_new();
    return mon;
}

static void monitor_free(Monitor *mon)
{
    if (mon->resume_id) {
        g_source_remove(mon->resume_id);
    }
    g_byte_array_unref(mon->pending);
    json_streamer_free(mon->js);
    g_free(mon);
}

bool monitor_new_qmp(Chardev *chr, bool pretty, GError **errp)
{
    Monitor *mon = monitor_alloc(chr, pretty);

    if (!monitors) {
        monitors = g_ptr_array_new();
    }
    /* Added first: attaching to a connected socket greets at once. */
    g_ptr_array_add(monitors, mon);
    if (!qemu_chr_attach(chr, monitor_can_read, monitor_read, monitor_event,
                         mon, errp)) {
        g_ptr_array_remove(monitors, mon);
        monitor_free(mon);
        return false;
    }
    return true;
}

void monitor_cleanup(void)
{
    while (monitors && monitors->len) {
        Monitor *mon = g_ptr_array_steal_index(monitors, monitors->len - 1);

        qemu_chr_detach(mon->chr, mon);
        monitor_free(mon);
    }
    g_clear_pointer(&monitors, g_ptr_array_unref);
}

Monitor *monitor_new_detached(GString *out)
{
    Monitor *mon = monitor_alloc(NULL, false);

    mon->detached_out = out;
    send_greeting(mon);
    return mon;
}

void monitor_feed(Monitor *mon, const uint8_t *buf, size_t len)
{
    /* No main loop here: the values are handled one after another. */
    json_streamer_feed(mon->js, buf, len);
}

void monitor_free_detached(Monitor *mon)
{
    monitor_free(mon);
}
