/*
 * Checking a request and its arguments before any command runs, with
 * the texts of QEMU's qmp_dispatch() and its QObject input visitor.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "monitor-internal.h"

static bool holds_type(JsonNode *n, GType t)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == t;
}

bool qmp_check_request(JsonObject *req, const char **name,
                       JsonObject **args, GError **errp)
{
    GList *members = json_object_get_members(req);
    bool ok = true;

    *name = NULL;
    *args = NULL;
    for (GList *l = members; l && ok; l = l->next) {
        const char *key = l->data;
        JsonNode *v = json_object_get_member(req, key);

        if (!strcmp(key, "execute")) {
            if (!holds_type(v, G_TYPE_STRING)) {
                error_setg(errp, "QMP input member 'execute' must be a "
                           "string");
                ok = false;
            } else {
                *name = json_node_get_string(v);
            }
        } else if (!strcmp(key, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(v)) {
                error_setg(errp, "QMP input member 'arguments' must be an "
                           "object");
                ok = false;
            } else {
                *args = json_node_get_object(v);
            }
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            ok = false;
        }
    }
    g_list_free(members);
    if (ok && !*name) {
        error_setg(errp, "QMP input lacks member 'execute'");
        ok = false;
    }
    return ok;
}

static const char *type_name(QmpArgType t)
{
    static const char *const names[] = {
        [QMP_ARG_STR] = "string", [QMP_ARG_INT] = "integer",
        [QMP_ARG_BOOL] = "boolean", [QMP_ARG_NUMBER] = "number",
        [QMP_ARG_STR_LIST] = "array", [QMP_ARG_OBJECT] = "object",
        [QMP_ARG_ANY] = "any",
    };
    return names[t];
}

static bool arg_type_ok(const QmpArg *a, JsonNode *v, GError **errp)
{
    bool ok;

    switch (a->type) {
    case QMP_ARG_STR: ok = holds_type(v, G_TYPE_STRING); break;
    case QMP_ARG_INT: ok = holds_type(v, G_TYPE_INT64); break;
    case QMP_ARG_BOOL: ok = holds_type(v, G_TYPE_BOOLEAN); break;
    case QMP_ARG_NUMBER:
        ok = holds_type(v, G_TYPE_INT64) || holds_type(v, G_TYPE_DOUBLE);
        break;
    case QMP_ARG_OBJECT: ok = JSON_NODE_HOLDS_OBJECT(v); break;
    case QMP_ARG_STR_LIST:
        ok = JSON_NODE_HOLDS_ARRAY(v);
        for (guint i = 0; ok && i < json_array_get_length(
                 json_node_get_array(v)); i++) {
            if (!holds_type(json_array_get_element(json_node_get_array(v), i),
                            G_TYPE_STRING)) {
                error_setg(errp, "Invalid parameter type for '%s[%u]', "
                           "expected: string", a->name, i);
                return false;
            }
        }
        break;
    default: ok = true; break;
    }
    if (!ok) {
        error_setg(errp, "Invalid parameter type for '%s', expected: %s",
                   a->name, type_name(a->type));
    }
    return ok;
}

static const QmpArg *find_arg(const QmpArg *spec, const char *name)
{
    for (; spec && spec->name; spec++) {
        if (!strcmp(spec->name, name)) {
            return spec;
        }
    }
    return NULL;
}

bool qmp_check_args(const QmpArg *spec, JsonObject *args, GError **errp)
{
    GList *members;
    bool ok = true;

    /* Declared members first, in order, as QEMU's visitor walks them. */
    for (const QmpArg *a = spec; a && a->name; a++) {
        JsonNode *v = args ? json_object_get_member(args, a->name) : NULL;

        if (!v) {
            if (!a->optional) {
                error_setg(errp, "Parameter '%s' is missing", a->name);
                return false;
            }
            continue;
        }
        if (!arg_type_ok(a, v, errp)) {
            return false;
        }
    }
    if (!args) {
        return true;
    }
    members = json_object_get_members(args);
    for (GList *l = members; l && ok; l = l->next) {
        if (!find_arg(spec, l->data)) {
            error_setg(errp, "Parameter '%s' is unexpected",
                       (const char *)l->data);
            ok = false;
        }
    }
    g_list_free(members);
    return ok;
}
