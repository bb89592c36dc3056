/*
 * The block half of QMP, with QEMU 7.2's reply shapes and texts:
 * BLOCK_IO_ERROR, query-block, query-named-block-nodes, query-iothreads,
 * block_resize, and HMP "info block".  The values come from the block
 * layer's own state (block/block-backend.c) and the I/O threads.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "block/block.h"
#include "sysemu/iothread.h"
#include "monitor-internal.h"

/* ---- BLOCK_IO_ERROR ---- */

/* A copy of the hook's info that outlives the failed request. */
typedef struct IOErrorEvent {
    char *device, *node_name, *reason;
    const char *operation, *action;   /* static strings */
    bool nospace;
} IOErrorEvent;

static void io_error_event_free(gpointer p)
{
    IOErrorEvent *e = p;

    g_free(e->device);
    g_free(e->node_name);
    g_free(e->reason);
    g_free(e);
}

static gboolean io_error_event_send(gpointer p)
{
    const IOErrorEvent *e = p;
    JsonObject *data = json_object_new();

    json_object_set_string_member(data, "device", e->device);
    json_object_set_string_member(data, "node-name", e->node_name);
    json_object_set_string_member(data, "operation", e->operation);
    json_object_set_string_member(data, "action", e->action);
    /*
     * QEMU includes nospace whenever the backend's io-status is enabled,
     * i.e. a device has it; only devices report errors here.
     */
    json_object_set_boolean_member(data, "nospace", e->nospace);
    json_object_set_string_member(data, "reason", e->reason);
    qapi_event_send("BLOCK_IO_ERROR", data);
    return G_SOURCE_REMOVE;
}

/*
 * Called wherever the request completed, possibly an I/O thread: events
 * go out from the main loop, which holds the BQL when it dispatches.
 */
static void io_error_hook(BlockBackend *blk, const BlockIOErrorInfo *info)
{
    IOErrorEvent *e = g_new0(IOErrorEvent, 1);

    (void)blk;
    e->device = g_strdup(info->device);
    e->node_name = g_strdup(info->node_name);
    e->reason = g_strdup(info->reason);
    e->operation = g_intern_string(info->operation);
    e->action = g_intern_string(info->action);
    e->nospace = info->nospace;
    g_main_context_invoke_full(g_main_context_default(), G_PRIORITY_DEFAULT,
                               io_error_event_send, e, io_error_event_free);
}

/* ---- query-block, query-named-block-nodes ---- */

static const char *iostatus_name(BlockIOStatus s)
{
    return s == BLOCK_IO_STATUS_FAILED ? "failed" :
           s == BLOCK_IO_STATUS_NOSPACE ? "nospace" : "ok";
}

static JsonObject *image_info(const BlockNodeInfo *n)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "filename", n->filename);
    /* ImageInfo's format is the node's driver: "raw" or "file" */
    json_object_set_string_member(o, "format", n->drv);
    json_object_set_boolean_member(o, "dirty-flag", false);
    if (n->actual_size >= 0) {
        json_object_set_int_member(o, "actual-size", n->actual_size);
    }
    json_object_set_int_member(o, "virtual-size", n->virtual_size);
    return o;
}

static JsonObject *cache_info(const BlockNodeInfo *n)
{
    JsonObject *o = json_object_new();

    json_object_set_boolean_member(o, "writeback", n->writeback);
    json_object_set_boolean_member(o, "direct", n->direct);
    json_object_set_boolean_member(o, "no-flush", n->no_flush);
    return o;
}

/*
 * QEMU's BlockDeviceInfo.  No throttling, encryption, backing files,
 * write thresholds or detect-zeroes exist in qvmm (-drive and -blockdev
 * refuse them), so those members carry QEMU's values for "none".
 */
static JsonObject *node_object(const BlockNodeInfo *n)
{
    static const char *const limits[] = {
        "bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr",
    };
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "file", n->filename);
    json_object_set_string_member(o, "node-name", n->node_name);
    json_object_set_boolean_member(o, "ro", n->ro);
    json_object_set_string_member(o, "drv", n->drv);
    json_object_set_int_member(o, "backing_file_depth", 0);
    json_object_set_boolean_member(o, "encrypted", false);
    json_object_set_string_member(o, "detect_zeroes", "off");
    for (unsigned i = 0; i < G_N_ELEMENTS(limits); i++) {
        json_object_set_int_member(o, limits[i], 0);
    }
    json_object_set_object_member(o, "image", image_info(n));
    json_object_set_object_member(o, "cache", cache_info(n));
    json_object_set_int_member(o, "write_threshold", 0);
    return o;
}

static void add_device(const BlockDeviceInfo *d, void *opaque)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "device", d->device);
    if (d->qdev) {
        json_object_set_string_member(o, "qdev", d->qdev);
    }
    json_object_set_string_member(o, "type", "unknown");
    /* Only an unused -drive could take a medium change, as in QEMU. */
    json_object_set_boolean_member(o, "removable", !d->attached);
    json_object_set_boolean_member(o, "locked", false);
    json_object_set_object_member(o, "inserted", node_object(&d->node));
    if (d->attached) {
        json_object_set_string_member(o, "io-status",
                                      iostatus_name(d->iostatus));
    }
    json_array_add_object_element(opaque, o);
}

JsonNode *qmp_query_block(JsonObject *args, GError **errp)
{
    JsonArray *a = json_array_new();

    (void)args; (void)errp;
    blk_foreach_device(true, add_device, a);
    blk_foreach_device(false, add_device, a);
    return qmp_array_node(a);
}

static void add_node(const BlockNodeInfo *n, void *opaque)
{
    json_array_add_object_element(opaque, node_object(n));
}

static JsonNode *qmp_query_named_block_nodes(JsonObject *args, GError **errp)
{
    JsonArray *a = json_array_new();

    (void)args; (void)errp;
    blk_foreach_node(add_node, a);
    return qmp_array_node(a);
}

/* ---- query-iothreads ---- */

/*
 * qvmm's I/O threads block in poll() and never busy-poll, which is what
 * QEMU reports as poll-max-ns 0; nor do they batch AIO submissions.
 */
static JsonNode *qmp_query_iothreads(JsonObject *args, GError **errp)
{
    JsonArray *a = json_array_new();
    GList *list = iothread_list();

    (void)args; (void)errp;
    for (GList *l = list; l; l = l->next) {
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "id", iothread_id(l->data));
        json_object_set_int_member(o, "thread-id",
                                   iothread_thread_id(l->data));
        json_object_set_int_member(o, "poll-max-ns", 0);
        json_object_set_int_member(o, "poll-grow", 0);
        json_object_set_int_member(o, "poll-shrink", 0);
        json_object_set_int_member(o, "aio-max-batch", 0);
        json_array_add_object_element(a, o);
    }
    g_list_free(list);
    return qmp_array_node(a);
}

/* ---- block_resize ---- */

static const char *opt_str(JsonObject *args, const char *name)
{
    return json_object_has_member(args, name)
           ? json_object_get_string_member(args, name) : NULL;
}

static JsonNode *qmp_block_resize(JsonObject *args, GError **errp)
{
    BlockBackend *blk = blk_lookup(opt_str(args, "device"),
                                   opt_str(args, "node-name"), errp);

    if (blk) {
        blk_truncate(blk, json_object_get_int_member(args, "size"), errp);
    }
    return NULL;
}

/* ---- HMP info block ---- */

static void hmp_block_entry(const BlockDeviceInfo *d, void *opaque)
{
    GString *out = opaque;
    const BlockNodeInfo *n = &d->node;

    if (out->len) {
        g_string_append_c(out, '\n');
    }
    if (*d->device) {
        g_string_append_printf(out, "%s (%s): ", d->device, n->node_name);
    } else {
        g_string_append_printf(out, "%s: ", n->node_name);
    }
    g_string_append_printf(out, "%s (%s%s)\n", n->filename, n->drv,
                           n->ro ? ", read-only" : "");
    if (d->qdev) {
        g_string_append_printf(out, "    Attached to:      %s\n", d->qdev);
    } else {
        g_string_append(out, "    Removable device: not locked, tray "
                        "closed\n");
    }
    if (d->attached && d->iostatus != BLOCK_IO_STATUS_OK) {
        g_string_append_printf(out, "    I/O status:       %s\n",
                               iostatus_name(d->iostatus));
    }
    g_string_append_printf(out, "    Cache mode:       %s%s%s\n",
                           n->writeback ? "writeback" : "writethrough",
                           n->direct ? ", direct" : "",
                           n->no_flush ? ", ignore flushes" : "");
}

void hmp_info_block(GString *out, int cpu)
{
    g_autoptr(GString) body = g_string_new(NULL);

    (void)cpu;
    blk_foreach_device(true, hmp_block_entry, body);
    blk_foreach_device(false, hmp_block_entry, body);
    g_string_append(out, body->str);
}

void qmp_register_block_commands(void)
{
    static const QmpArg resize_args[] = {
        { "device", QMP_ARG_STR, true },
        { "node-name", QMP_ARG_STR, true },
        { "size", QMP_ARG_INT, false },
        { NULL, 0, false },
    };
    /* flat=false would add backing images: qvmm has none to add. */
    static const QmpArg named_nodes_args[] = {
        { "flat", QMP_ARG_BOOL, true }, { NULL, 0, false },
    };

    qmp_register_command("query-block", qmp_query_block, NULL);
    qmp_register_command("query-named-block-nodes",
                         qmp_query_named_block_nodes, named_nodes_args);
    qmp_register_command("query-iothreads", qmp_query_iothreads, NULL);
    qmp_register_command("block_resize", qmp_block_resize, resize_args);
    blk_set_io_error_hook(io_error_hook);
}
