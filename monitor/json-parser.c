/*
 * The monitor's JSON parser: one top-level value's tokens into a
 * JsonNode, with QEMU 7.2's grammar extensions (single-quoted strings,
 * \' escapes) and its error texts.  The streamer has bounded the nesting,
 * so the recursion here is bounded too.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "json-internal.h"

typedef struct Parser {
    const JsonTokens *toks;
    guint pos;
    GError *err;                /* the first error wins */
} Parser;

static JsonNode *parse_value(Parser *p);

static void G_GNUC_PRINTF(2, 3) parse_error(Parser *p, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    if (p->err) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    p->err = g_error_new(QVMM_ERROR, QVMM_ERROR_GENERIC,
                         "JSON parse error, %s", msg);
}

static const JsonToken *peek(Parser *p)
{
    if (p->pos >= p->toks->list->len) {
        return NULL;
    }
    return &g_array_index(p->toks->list, JsonToken, p->pos);
}

static const JsonToken *next(Parser *p)
{
    const JsonToken *t = peek(p);

    if (t) {
        p->pos++;
    } else {
        parse_error(p, "premature EOI");
    }
    return t;
}

static const char *tok_text(Parser *p, const JsonToken *t)
{
    return p->toks->text->str + t->offset;
}

static int hex4(const char *s)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(s[i]);
        if (d < 0) {
            return -1;
        }
        v = v << 4 | d;
    }
    return v;
}

/*
 * "\uXXXX", or a surrogate pair "\uD8xx\uDCxx", at @s (just after the
 * "\u").  Returns the code point and sets *used, or -1 / -2 for a bad
 * hex digit / an impossible character.
 */
static int32_t unicode_escape(const char *s, size_t *used)
{
    int cp = hex4(s), low;

    *used = 4;
    if (cp < 0) {
        return -1;
    }
    if (cp >= 0xd800 && cp <= 0xdbff && s[4] == '\\' && s[5] == 'u') {
        low = hex4(s + 6);
        if (low < 0xdc00 || low > 0xdfff) {
            return -2;
        }
        *used = 10;
        return 0x10000 + ((cp & 0x3ff) << 10) + (low & 0x3ff);
    }
    return (cp >= 0xd800 && cp <= 0xdfff) ? -2 : cp;
}

/* U+0000 goes into a C string as C0 80 (modified UTF-8), as in QEMU. */
static void append_codepoint(GString *out, gunichar cp)
{
    if (cp == 0) {
        g_string_append_len(out, "\xc0\x80", 2);
    } else {
        g_string_append_unichar(out, cp);
    }
}

static bool parse_escape(Parser *p, const char **ptr, GString *out)
{
    static const char plain[] = "\"'\\/bfnrt";
    static const char value[] = "\"'\\/\b\f\n\r\t";
    const char *s = *ptr + 1, *e = strchr(plain, *s);
    size_t used;
    int32_t cp;

    if (*s && e) {
        g_string_append_c(out, value[e - plain]);
        *ptr = s + 1;
        return true;
    }
    if (*s != 'u') {
        parse_error(p, "invalid escape sequence in string");
        return false;
    }
    cp = unicode_escape(s + 1, &used);
    if (cp == -1) {
        parse_error(p, "invalid hex escape sequence in string");
        return false;
    }
    if (cp < 0) {
        parse_error(p, "\\u%.4s is not a valid Unicode character", s + 1);
        return false;
    }
    append_codepoint(out, cp);
    *ptr = s + 1 + used;
    return true;
}

/* One UTF-8 character at *ptr (C0 80 stands for U+0000). */
static bool parse_utf8(Parser *p, const char **ptr, const char *end,
                       GString *out)
{
    const char *s = *ptr;
    gunichar cp;

    if ((uint8_t)s[0] == 0xc0 && end - s >= 2 && (uint8_t)s[1] == 0x80) {
        g_string_append_len(out, s, 2);
        *ptr = s + 2;
        return true;
    }
    cp = g_utf8_get_char_validated(s, end - s);
    if (cp == (gunichar)-1 || cp == (gunichar)-2 || cp == 0) {
        parse_error(p, "invalid UTF-8 sequence in string");
        return false;
    }
    g_string_append_unichar(out, cp);
    *ptr = g_utf8_next_char(s);
    return true;
}

static JsonNode *parse_string(Parser *p, const JsonToken *t)
{
    const char *s = tok_text(p, t);
    const char *end = s + t->len - 1;       /* the closing quote */
    g_autoptr(GString) out = g_string_new(NULL);

    for (s++; s < end;) {
        bool ok = *s == '\\' ? parse_escape(p, &s, out)
                             : parse_utf8(p, &s, end, out);
        if (!ok) {
            return NULL;
        }
    }
    return json_node_init_string(json_node_alloc(), out->str);
}

static JsonNode *parse_number(Parser *p, const JsonToken *t)
{
    const char *s = tok_text(p, t);
    JsonNode *n = json_node_alloc();

    if (t->type == JSON_TOK_INTEGER) {
        char *end;
        gint64 v;

        errno = 0;
        v = g_ascii_strtoll(s, &end, 10);
        if (!errno && !*end) {
            return json_node_init_int(n, v);
        }
        /* Beyond int64: a double, as QEMU does beyond uint64. */
    }
    return json_node_init_double(n, g_ascii_strtod(s, NULL));
}

static JsonNode *parse_keyword(Parser *p, const JsonToken *t)
{
    const char *s = tok_text(p, t);

    if (!strcmp(s, "true") || !strcmp(s, "false")) {
        return json_node_init_boolean(json_node_alloc(), s[0] == 't');
    }
    if (!strcmp(s, "null")) {
        return json_node_init_null(json_node_alloc());
    }
    parse_error(p, "invalid keyword '%s'", s);
    return NULL;
}

static bool parse_pair(Parser *p, JsonObject *obj)
{
    g_autoptr(JsonNode) key = parse_value(p);
    const JsonToken *t;
    JsonNode *value;
    const char *name;

    if (!key || !JSON_NODE_HOLDS_VALUE(key) ||
        json_node_get_value_type(key) != G_TYPE_STRING) {
        parse_error(p, "key is not a string in object");
        return false;
    }
    t = next(p);
    if (!t) {
        return false;
    }
    if (t->type != JSON_TOK_COLON) {
        parse_error(p, "missing : in object pair");
        return false;
    }
    value = parse_value(p);
    if (!value) {
        parse_error(p, "Missing value in dict");
        return false;
    }
    name = json_node_get_string(key);
    if (json_object_has_member(obj, name)) {
        json_node_unref(value);
        parse_error(p, "duplicate key");
        return false;
    }
    json_object_set_member(obj, name, value);
    return true;
}

/* Members or elements up to the closing token @close. */
static JsonNode *parse_container(Parser *p, bool is_object)
{
    JsonTokenType close = is_object ? JSON_TOK_RCURLY : JSON_TOK_RSQUARE;
    g_autoptr(JsonObject) obj = is_object ? json_object_new() : NULL;
    g_autoptr(JsonArray) arr = is_object ? NULL : json_array_new();
    const JsonToken *t;
    JsonNode *n;

    p->pos++;                   /* the opening token */
    t = peek(p);
    if (t && t->type == close) {
        p->pos++;
        goto done;
    }
    for (;;) {
        if (is_object) {
            if (!parse_pair(p, obj)) {
                return NULL;
            }
        } else {
            JsonNode *v = parse_value(p);
            if (!v) {
                parse_error(p, "expecting value");
                return NULL;
            }
            json_array_add_element(arr, v);
        }
        t = next(p);
        if (!t) {
            return NULL;
        }
        if (t->type == close) {
            break;
        }
        if (t->type != JSON_TOK_COMMA) {
            parse_error(p, is_object ? "expected separator in dict"
                                     : "expected separator in list");
            return NULL;
        }
    }
done:
    n = json_node_alloc();
    return is_object ? json_node_init_object(n, obj)
                     : json_node_init_array(n, arr);
}

static JsonNode *parse_value(Parser *p)
{
    const JsonToken *t = peek(p);

    if (!t) {
        parse_error(p, "premature EOI");
        return NULL;
    }
    switch (t->type) {
    case JSON_TOK_LCURLY:
        return parse_container(p, true);
    case JSON_TOK_LSQUARE:
        return parse_container(p, false);
    case JSON_TOK_STRING:
        p->pos++;
        return parse_string(p, t);
    case JSON_TOK_INTEGER:
    case JSON_TOK_FLOAT:
        p->pos++;
        return parse_number(p, t);
    case JSON_TOK_KEYWORD:
        p->pos++;
        return parse_keyword(p, t);
    default:
        parse_error(p, "expecting value");
        return NULL;
    }
}

JsonNode *json_parse_tokens(const JsonTokens *toks, GError **errp)
{
    Parser p = { .toks = toks };
    JsonNode *v = parse_value(&p);

    if (p.err) {
        g_clear_pointer(&v, json_node_unref);
        g_propagate_error(errp, p.err);
    }
    return v;
}
