/*
 * JSON output in QEMU's exact form, so that clients comparing text (and
 * people reading logs) see no difference: ", " and ": " separators,
 * ASCII only, and QEMU's pretty layout.  json-glib's generator differs
 * on all three.
 */
#include "qemu/osdep.h"
#include "monitor/json.h"

static void write_node(GString *out, JsonNode *node, bool pretty, int depth);

static void write_escaped_cp(GString *out, gunichar cp)
{
    if (cp > 0xffff) {
        cp -= 0x10000;
        g_string_append_printf(out, "\\u%04X\\u%04X", 0xd800 + (cp >> 10),
                               0xdc00 + (cp & 0x3ff));
    } else {
        g_string_append_printf(out, "\\u%04X", cp);
    }
}

static void write_string(GString *out, const char *s)
{
    const char *end = s + strlen(s);

    g_string_append_c(out, '"');
    while (s < end) {
        uint8_t c = *s;
        gunichar cp;

        switch (c) {
        case '"': g_string_append(out, "\\\""); s++; continue;
        case '\\': g_string_append(out, "\\\\"); s++; continue;
        case '\b': g_string_append(out, "\\b"); s++; continue;
        case '\f': g_string_append(out, "\\f"); s++; continue;
        case '\n': g_string_append(out, "\\n"); s++; continue;
        case '\r': g_string_append(out, "\\r"); s++; continue;
        case '\t': g_string_append(out, "\\t"); s++; continue;
        }
        if (c >= 0x20 && c < 0x7f) {
            g_string_append_c(out, c);
            s++;
            continue;
        }
        if (c == 0xc0 && (uint8_t)s[1] == 0x80) {
            write_escaped_cp(out, 0);       /* modified UTF-8 NUL */
            s += 2;
            continue;
        }
        cp = g_utf8_get_char_validated(s, end - s);
        if (cp == (gunichar)-1 || cp == (gunichar)-2) {
            write_escaped_cp(out, 0xfffd);  /* one bad byte at a time */
            s++;
            continue;
        }
        write_escaped_cp(out, cp);
        s = g_utf8_next_char(s);
    }
    g_string_append_c(out, '"');
}

static void write_value(GString *out, JsonNode *node)
{
    GType t = json_node_get_value_type(node);

    if (t == G_TYPE_INT64) {
        g_string_append_printf(out, "%" G_GINT64_FORMAT,
                               json_node_get_int(node));
    } else if (t == G_TYPE_DOUBLE) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.17g",
                                             json_node_get_double(node)));
    } else if (t == G_TYPE_BOOLEAN) {
        g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
    } else if (t == G_TYPE_STRING) {
        write_string(out, json_node_get_string(node));
    } else {
        g_string_append(out, "null");
    }
}

static void newline(GString *out, bool pretty, int depth)
{
    if (pretty) {
        g_string_append_c(out, '\n');
        for (int i = 0; i < depth; i++) {
            g_string_append(out, "    ");
        }
    }
}

static void write_object(GString *out, JsonObject *obj, bool pretty,
                         int depth)
{
    GList *members = json_object_get_members(obj);

    g_string_append_c(out, '{');
    for (GList *l = members; l; l = l->next) {
        if (l != members) {
            g_string_append(out, pretty ? "," : ", ");
        }
        newline(out, pretty, depth + 1);
        write_string(out, l->data);
        g_string_append(out, ": ");
        write_node(out, json_object_get_member(obj, l->data), pretty,
                   depth + 1);
    }
    g_list_free(members);
    newline(out, pretty, depth);
    g_string_append_c(out, '}');
}

static void write_array(GString *out, JsonArray *arr, bool pretty, int depth)
{
    guint n = json_array_get_length(arr);

    g_string_append_c(out, '[');
    for (guint i = 0; i < n; i++) {
        if (i) {
            g_string_append(out, pretty ? "," : ", ");
        }
        newline(out, pretty, depth + 1);
        write_node(out, json_array_get_element(arr, i), pretty, depth + 1);
    }
    newline(out, pretty, depth);
    g_string_append_c(out, ']');
}

static void write_node(GString *out, JsonNode *node, bool pretty, int depth)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT:
        write_object(out, json_node_get_object(node), pretty, depth);
        break;
    case JSON_NODE_ARRAY:
        write_array(out, json_node_get_array(node), pretty, depth);
        break;
    case JSON_NODE_VALUE:
        write_value(out, node);
        break;
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    }
}

void json_write(GString *out, JsonNode *node, bool pretty)
{
    write_node(out, node, pretty, 0);
}
