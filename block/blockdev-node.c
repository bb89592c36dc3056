/*
 * -blockdev in its keyval and JSON forms: BlockdevOptions for the "file"
 * and "raw" drivers, checked with QEMU's QAPI error texts.  Keyval input
 * is first turned into the same nested object JSON gives, with strings
 * for every value (so "on"/"off" are the booleans there).
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "block/block_int.h"
#include <json-glib/json-glib.h>

/* One object being visited: its path prefix for error texts. */
typedef struct Visit {
    JsonObject *obj;
    bool json;
    const char *prefix;       /* "" or "file." */
    GPtrArray *seen;          /* keys consumed */
} Visit;

static char *qname(const Visit *v, const char *key)
{
    return g_strconcat(v->prefix, key, NULL);
}

static JsonNode *member(Visit *v, const char *key)
{
    JsonNode *n = json_object_get_member(v->obj, key);

    if (n) {
        g_ptr_array_add(v->seen, (gpointer)key);
    }
    return n;
}

static bool type_error(const Visit *v, const char *key, const char *type,
                       GError **errp)
{
    g_autofree char *q = qname(v, key);

    error_setg(errp, "Invalid parameter type for '%s', expected: %s", q,
               type);
    return false;
}

static bool get_str(Visit *v, const char *key, const char **out,
                    GError **errp)
{
    JsonNode *n = member(v, key);

    *out = NULL;
    if (!n) {
        return true;
    }
    if (JSON_NODE_HOLDS_VALUE(n) &&
        json_node_get_value_type(n) == G_TYPE_STRING) {
        *out = json_node_get_string(n);
        return true;
    }
    return type_error(v, key, "string", errp);
}

static bool get_bool(Visit *v, const char *key, bool def, bool *out,
                     GError **errp)
{
    JsonNode *n = member(v, key);
    g_autofree char *q = qname(v, key);

    *out = def;
    if (!n) {
        return true;
    }
    if (v->json) {
        if (JSON_NODE_HOLDS_VALUE(n) &&
            json_node_get_value_type(n) == G_TYPE_BOOLEAN) {
            *out = json_node_get_boolean(n);
            return true;
        }
        return type_error(v, key, "boolean", errp);
    }
    if (!JSON_NODE_HOLDS_VALUE(n)) {
        return type_error(v, key, "boolean", errp);
    }
    return parse_option_bool(q, json_node_get_string(n), out, errp);
}

/* An enum member: index into @values, or @def when absent. */
static bool get_enum(Visit *v, const char *key, const char *const *values,
                     int def, int *out, GError **errp)
{
    const char *s;
    g_autofree char *q = qname(v, key);

    *out = def;
    if (!get_str(v, key, &s, errp)) {
        return false;
    }
    if (!s) {
        return true;
    }
    for (int i = 0; values[i]; i++) {
        if (!strcmp(values[i], s)) {
            *out = i;
            return true;
        }
    }
    error_setg(errp, "Parameter '%s' does not accept value '%s'", q, s);
    return false;
}

static bool check_unexpected(Visit *v, GError **errp)
{
    g_autoptr(GList) keys = json_object_get_members(v->obj);

    for (GList *l = keys; l; l = l->next) {
        bool seen = false;

        for (guint i = 0; i < v->seen->len; i++) {
            seen |= !strcmp(g_ptr_array_index(v->seen, i), l->data);
        }
        if (!seen) {
            g_autofree char *q = qname(v, l->data);

            error_setg(errp, "Parameter '%s' is unexpected", q);
            return false;
        }
    }
    return true;
}

/* ---- the common BlockdevOptions members ---- */

typedef struct NodeCommon {
    const char *driver, *node_name;
    bool discard, direct, no_flush, read_only, auto_read_only;
} NodeCommon;

static bool visit_cache(Visit *v, NodeCommon *c, GError **errp)
{
    JsonNode *n = member(v, "cache");
    g_autofree char *prefix = qname(v, "cache.");
    Visit sub;
    bool ok;

    if (!n) {
        return true;
    }
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        return type_error(v, "cache", "object", errp);
    }
    sub = (Visit){ json_node_get_object(n), v->json, prefix,
                   g_ptr_array_new() };
    ok = get_bool(&sub, "direct", c->direct, &c->direct, errp) &&
         get_bool(&sub, "no-flush", c->no_flush, &c->no_flush, errp) &&
         check_unexpected(&sub, errp);
    g_ptr_array_free(sub.seen, TRUE);
    return ok;
}

static bool visit_common(Visit *v, NodeCommon *c, GError **errp)
{
    static const char *const discard[] = { "ignore", "unmap", NULL };
    static const char *const dz[] = { "off", "on", "unmap", NULL };
    g_autofree char *qd = qname(v, "driver");
    int d, z;
    bool force_share;

    if (!get_str(v, "driver", &c->driver, errp)) {
        return false;
    }
    if (!c->driver) {
        error_setg(errp, "Parameter '%s' is missing", qd);
        return false;
    }
    if (strcmp(c->driver, "file") && strcmp(c->driver, "raw")) {
        error_setg(errp, "Parameter '%s' does not accept value '%s'", qd,
                   c->driver);
        return false;
    }
    if (!get_str(v, "node-name", &c->node_name, errp) ||
        !get_enum(v, "discard", discard, 0, &d, errp) ||
        !visit_cache(v, c, errp) ||
        !get_bool(v, "read-only", c->read_only, &c->read_only, errp) ||
        !get_bool(v, "auto-read-only", false, &c->auto_read_only, errp) ||
        !get_bool(v, "force-share", false, &force_share, errp) ||
        !get_enum(v, "detect-zeroes", dz, 0, &z, errp)) {
        return false;
    }
    c->discard = d == 1;
    if (force_share || z) {
        error_setg(errp, "%s is not supported by qvmm",
                   force_share ? "force-share" : "detect-zeroes");
        return false;
    }
    return true;
}

static bool new_node_name(const NodeCommon *c, bool root, GError **errp)
{
    if (!c->node_name) {
        if (root) {
            error_setg(errp, "'node-name' must be specified for the root "
                       "node");
            return false;
        }
        return true;
    }
    if (!id_wellformed(c->node_name)) {
        error_setg(errp, "Invalid node-name: '%s'", c->node_name);
        return false;
    }
    if (strlen(c->node_name) > 31) {
        error_setg(errp, "Node name too long");
        return false;
    }
    if (blk_by_name(c->node_name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'",
                   c->node_name);
        return false;
    }
    return true;
}

/* A named node becomes a backend; an anonymous child is just its file. */
/* @unnamed_file: a raw node whose inline file child has no node-name. */
static bool add_node(const NodeCommon *c, BlockFile *f, bool discard,
                     bool no_flush, bool unnamed_file, GError **errp)
{
    if (!c->node_name) {
        return true;
    }
    return blk_new(f, &(BlockBackendOpts){
        .name = c->node_name, .read_only = c->read_only,
        .discard = discard, .no_flush = no_flush, .writeback = true,
        .werror = BLOCKDEV_ON_ERROR_ENOSPC,
        .rerror = BLOCKDEV_ON_ERROR_REPORT, .driver = c->driver,
        .unnamed_file = unnamed_file }, errp) != NULL;
}

/* ---- driver=file ---- */

static BlockFile *open_file_node(Visit *v, NodeCommon *c, bool root,
                                 GError **errp)
{
    static const char *const aio[] = { "threads", "native", "io_uring",
                                       NULL };
    static const char *const locking[] = { "auto", "on", "off", NULL };
    const char *filename;
    g_autofree char *qf = qname(v, "filename");
    int a, l;
    BlockFile *f;

    if (!get_str(v, "filename", &filename, errp)) {
        return NULL;
    }
    if (!filename) {
        error_setg(errp, "Parameter '%s' is missing", qf);
        return NULL;
    }
    if (!get_enum(v, "aio", aio, 0, &a, errp) ||
        !get_enum(v, "locking", locking, 0, &l, errp) ||
        !check_unexpected(v, errp)) {
        return NULL;
    }
    if (a == 2) {
        error_setg(errp, "aio=io_uring is not supported by qvmm (use "
                   "threads or native)");
        return NULL;
    }
    if (a == 1 && !c->direct) {
        error_setg(errp, "aio=native was specified, but it requires "
                   "cache.direct=on, which was not specified.");
        return NULL;
    }
    if (!new_node_name(c, root, errp)) {
        return NULL;
    }
    f = bfile_open(&(BlockFileOpts){
        .filename = filename, .read_only = c->read_only,
        .auto_read_only = c->auto_read_only, .direct = c->direct,
        .locking = l != 2, .aio = a ? BLOCK_AIO_NATIVE : BLOCK_AIO_THREADS },
        errp);
    if (f && !add_node(c, f, c->discard, c->no_flush, false, errp)) {
        bfile_unref(f);
        return NULL;
    }
    return f;
}

static BlockFile *open_node(JsonObject *obj, bool json, const char *prefix,
                            const NodeCommon *parent, GError **errp);

/* driver=raw: its file is a reference to a node or an inline node. */
static BlockFile *open_raw_node(Visit *v, NodeCommon *c, bool root,
                                GError **errp)
{
    g_autofree char *qf = qname(v, "file");
    g_autofree char *child_prefix = qname(v, "file.");
    JsonNode *n = member(v, "file");
    BlockFile *f;

    if (json_object_has_member(v->obj, "offset") ||
        json_object_has_member(v->obj, "size")) {
        error_setg(errp, "raw offset= and size= are not supported by qvmm");
        return NULL;
    }
    if (!n) {
        error_setg(errp, "Parameter '%s' is missing", qf);
        return NULL;
    }
    if (!check_unexpected(v, errp) || !new_node_name(c, root, errp)) {
        return NULL;
    }
    if (JSON_NODE_HOLDS_VALUE(n) &&
        json_node_get_value_type(n) == G_TYPE_STRING) {
        const char *ref = json_node_get_string(n);
        BlockBackend *child = blk_by_name(ref);

        if (!child) {
            error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
                       ref, ref);
            return NULL;
        }
        f = blk_file(child);
        bfile_ref(f);
        /* discard and no-flush pass through both nodes, as in QEMU */
        if (!add_node(c, f, c->discard && blk_discard_enabled(child),
                      c->no_flush || !blk_flush_enabled(child), false,
                      errp)) {
            bfile_unref(f);
            return NULL;
        }
        return f;
    }
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        return type_error(v, "file", "BlockdevRef", errp), NULL;
    }
    /* An inline child inherits read-only and the cache flags. */
    f = open_node(json_node_get_object(n), v->json, child_prefix, c, errp);
    if (f && !add_node(c, f, c->discard, c->no_flush,
                       !json_object_has_member(json_node_get_object(n),
                                               "node-name"), errp)) {
        bfile_unref(f);
        return NULL;
    }
    return f;
}

static BlockFile *open_node(JsonObject *obj, bool json, const char *prefix,
                            const NodeCommon *parent, GError **errp)
{
    Visit v = { obj, json, prefix, g_ptr_array_new() };
    NodeCommon c = { 0 };
    BlockFile *f = NULL;
    bool root = !parent;

    if (parent) {
        c.read_only = parent->read_only;
        c.direct = parent->direct;
        c.no_flush = parent->no_flush;
    }
    if (visit_common(&v, &c, errp)) {
        f = !strcmp(c.driver, "file") ? open_file_node(&v, &c, root, errp)
                                      : open_raw_node(&v, &c, root, errp);
    }
    g_ptr_array_free(v.seen, TRUE);
    return f;
}

/* ---- keyval to a nested object ---- */

static bool keyval_put(JsonObject *root, const char *key, const char *value,
                       GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(key, ".", -1);
    JsonObject *o = root;
    guint n = g_strv_length(parts);

    for (guint i = 0; i + 1 < n; i++) {
        JsonNode *m = json_object_get_member(o, parts[i]);

        if (m && !JSON_NODE_HOLDS_OBJECT(m)) {
            g_autofree char *p = NULL;

            g_free(parts[i + 1]);
            parts[i + 1] = NULL;
            p = g_strjoinv(".", parts);
            error_setg(errp, "Parameters '%s.*' used inconsistently", p);
            return false;
        }
        if (!m) {
            json_object_set_object_member(o, parts[i], json_object_new());
        }
        o = json_object_get_object_member(o, parts[i]);
    }
    if (json_object_has_member(o, parts[n - 1]) &&
        JSON_NODE_HOLDS_OBJECT(json_object_get_member(o, parts[n - 1]))) {
        error_setg(errp, "Parameters '%s.*' used inconsistently", key);
        return false;
    }
    json_object_set_string_member(o, parts[n - 1], value);
    return true;
}

static JsonObject *parse_keyval(const char *optarg, GError **errp)
{
    g_autoptr(QOpts) opts = qopts_parse_keyval(optarg, "driver", errp);
    JsonObject *root;

    if (!opts) {
        return NULL;
    }
    root = json_object_new();
    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *o = g_ptr_array_index(opts->items, i);

        if (!keyval_put(root, o->key, o->value, errp)) {
            json_object_unref(root);
            return NULL;
        }
    }
    return root;
}

static JsonObject *parse_json(const char *optarg, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    JsonNode *root;

    if (!json_parser_load_from_data(parser, optarg, -1, &err)) {
        error_setg(errp, "JSON parse error, %s", err->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        error_setg(errp, "Invalid parameter type for 'blockdev', expected: "
                   "object");
        return NULL;
    }
    return json_object_ref(json_node_get_object(root));
}

bool blockdev_new(const char *optarg, GError **errp)
{
    bool json = optarg[0] == '{';
    JsonObject *obj = json ? parse_json(optarg, errp)
                           : parse_keyval(optarg, errp);
    BlockFile *f;

    if (!obj) {
        return false;
    }
    f = open_node(obj, json, "", NULL, errp);
    json_object_unref(obj);
    bfile_unref(f);       /* the nodes hold their own references */
    return f != NULL;
}
