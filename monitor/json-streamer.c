/*
 * Splitting a byte stream into JSON values: a lexer that turns bytes into
 * tokens, and a streamer that collects a top-level value's tokens until
 * its braces and brackets balance, then hands them to the parser.
 *
 * Every limit is checked before memory is taken, so a client that sends
 * an endless string or array costs at most JSON_MAX_TOKEN_SIZE bytes of
 * token text before it gets an error and its input is dropped.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "monitor/json.h"
#include "json-internal.h"

typedef enum LexState {
    L_START,
    L_DQ, L_DQ_ESC,             /* "string" */
    L_SQ, L_SQ_ESC,             /* 'string' (QEMU's extension) */
    L_NEG,                      /* after '-' */
    L_ZERO, L_INT,              /* 0, or [1-9][0-9]* */
    L_FRAC0, L_FRAC,            /* after '.', then its digits */
    L_EXP0, L_EXP_SIGN, L_EXP,  /* after 'e', its sign, its digits */
    L_KEYWORD,                  /* [a-z]+: the parser judges the word */
    L_RECOVERY,                 /* after an error: skip to a safe point */
} LexState;

struct JsonStreamer {
    JsonStreamEmit *emit;
    void *opaque;
    LexState state;
    GString *token;             /* the token being lexed */
    JsonTokens toks;            /* the value being collected */
    int braces, brackets;
};

static bool is_structural(uint8_t c)
{
    return c == '{' || c == '}' || c == '[' || c == ']' ||
           c == ',' || c == ':';
}

static void tokens_clear(JsonTokens *t)
{
    g_array_set_size(t->list, 0);
    g_string_truncate(t->text, 0);
}

/* Drop the collected value and report @err for it. */
static void stream_fail(JsonStreamer *s, GError *err)
{
    tokens_clear(&s->toks);
    s->braces = s->brackets = 0;
    s->emit(s->opaque, NULL, err);
}

static void stream_error(JsonStreamer *s, const char *msg)
{
    stream_fail(s, g_error_new_literal(QVMM_ERROR, QVMM_ERROR_GENERIC, msg));
}

/* True if @extra more bytes of token text still fit in the value. */
static bool stream_size_ok(JsonStreamer *s, size_t extra)
{
    return s->toks.text->len + extra + 1 <= JSON_MAX_TOKEN_SIZE;
}

static void stream_token(JsonStreamer *s, JsonTokenType type)
{
    JsonToken tok;
    GError *err = NULL;
    JsonNode *value;

    if (type == JSON_TOK_ERROR) {
        g_autofree char *msg = g_strdup_printf("JSON parse error, stray '%s'",
                                               s->token->str);
        stream_error(s, msg);
        return;
    }
    s->braces += type == JSON_TOK_LCURLY ? 1 : type == JSON_TOK_RCURLY ? -1 : 0;
    s->brackets += type == JSON_TOK_LSQUARE ? 1 :
                   type == JSON_TOK_RSQUARE ? -1 : 0;
    if (!stream_size_ok(s, s->token->len)) {
        stream_error(s, "JSON token size limit exceeded");
        return;
    }
    if (s->toks.list->len + 1 > JSON_MAX_TOKEN_COUNT) {
        stream_error(s, "JSON token count limit exceeded");
        return;
    }
    if (s->braces + s->brackets > JSON_MAX_NESTING) {
        stream_error(s, "JSON nesting depth limit exceeded");
        return;
    }
    tok.type = type;
    tok.offset = s->toks.text->len;
    tok.len = s->token->len;
    g_string_append_len(s->toks.text, s->token->str, s->token->len);
    g_string_append_c(s->toks.text, '\0');
    g_array_append_val(s->toks.list, tok);
    if ((s->braces > 0 || s->brackets > 0) &&
        s->braces >= 0 && s->brackets >= 0) {
        return;                 /* the value goes on */
    }
    value = json_parse_tokens(&s->toks, &err);
    tokens_clear(&s->toks);
    s->braces = s->brackets = 0;
    s->emit(s->opaque, value, err);
}

/* The token ends here: pass it on and start the next one. */
static void lex_emit(JsonStreamer *s, JsonTokenType type)
{
    stream_token(s, type);
    g_string_truncate(s->token, 0);
    s->state = type == JSON_TOK_ERROR ? L_RECOVERY : L_START;
}

static void lex_error(JsonStreamer *s, uint8_t c)
{
    g_string_append_c(s->token, c);
    lex_emit(s, JSON_TOK_ERROR);
}

static bool lex_start(JsonStreamer *s, uint8_t c)
{
    static const JsonTokenType structural[256] = {
        ['{'] = JSON_TOK_LCURLY, ['}'] = JSON_TOK_RCURLY,
        ['['] = JSON_TOK_LSQUARE, [']'] = JSON_TOK_RSQUARE,
        [','] = JSON_TOK_COMMA, [':'] = JSON_TOK_COLON,
    };

    if (is_structural(c)) {
        g_string_append_c(s->token, c);
        lex_emit(s, structural[c]);
        return true;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        return true;
    }
    s->state = c == '"' ? L_DQ : c == '\'' ? L_SQ : c == '0' ? L_ZERO :
               (c >= '1' && c <= '9') ? L_INT : c == '-' ? L_NEG :
               (c >= 'a' && c <= 'z') ? L_KEYWORD : L_RECOVERY;
    if (s->state == L_RECOVERY) {
        lex_error(s, c);
    } else {
        g_string_append_c(s->token, c);
    }
    return true;
}

static bool lex_string(JsonStreamer *s, uint8_t c, uint8_t quote)
{
    bool escaped = s->state == L_DQ_ESC || s->state == L_SQ_ESC;
    LexState plain = quote == '"' ? L_DQ : L_SQ;

    if (c < 0x20 || c > 0xfd) {
        lex_error(s, c);
        return true;
    }
    g_string_append_c(s->token, c);
    if (escaped) {
        s->state = plain;
    } else if (c == '\\') {
        s->state = quote == '"' ? L_DQ_ESC : L_SQ_ESC;
    } else if (c == quote) {
        lex_emit(s, JSON_TOK_STRING);
    }
    return true;
}

/*
 * A number or keyword ends at the first byte that cannot continue it;
 * that byte is then lexed afresh (returns false: not consumed).  A byte
 * beyond ASCII there is an error, as in QEMU.
 */
static bool lex_end_token(JsonStreamer *s, uint8_t c, JsonTokenType type)
{
    if (c >= 0x80) {
        lex_error(s, c);
        return true;
    }
    lex_emit(s, type);
    return false;
}

static bool lex_number(JsonStreamer *s, uint8_t c)
{
    bool digit = c >= '0' && c <= '9';
    bool exp = c == 'e' || c == 'E';
    LexState next = L_RECOVERY;

    switch (s->state) {
    case L_NEG:
        next = c == '0' ? L_ZERO : (digit ? L_INT : L_RECOVERY);
        break;
    case L_ZERO:
    case L_INT:
        if (s->state == L_ZERO && digit) {
            break;
        }
        next = digit ? L_INT : c == '.' ? L_FRAC0 : exp ? L_EXP0 : L_START;
        if (next == L_START) {
            return lex_end_token(s, c, JSON_TOK_INTEGER);
        }
        break;
    case L_FRAC0:
        next = digit ? L_FRAC : L_RECOVERY;
        break;
    case L_FRAC:
        next = digit ? L_FRAC : exp ? L_EXP0 : L_START;
        break;
    case L_EXP0:
        next = digit ? L_EXP : (c == '+' || c == '-') ? L_EXP_SIGN
                                                      : L_RECOVERY;
        break;
    case L_EXP_SIGN:
    case L_EXP:
        next = digit ? L_EXP : s->state == L_EXP ? L_START : L_RECOVERY;
        break;
    default:
        g_assert_not_reached();
    }
    if (next == L_START) {
        return lex_end_token(s, c, JSON_TOK_FLOAT);
    }
    if (next == L_RECOVERY) {
        lex_error(s, c);
        return true;
    }
    g_string_append_c(s->token, c);
    s->state = next;
    return true;
}

/*
 * After an error, skip to something a well-behaved client would send
 * next: a bracket or brace, a control character (QMP's documented way
 * to reset the parser: 0x00-0x1f but tab, or 0xfe/0xff).
 */
static bool lex_recovery(JsonStreamer *s, uint8_t c)
{
    if ((c < 0x20 && c != '\t') || c >= 0xfe ||
        c == '{' || c == '}' || c == '[' || c == ']') {
        s->state = L_START;
        return false;
    }
    return true;
}

/* One byte; false when it must be looked at again in the new state. */
static bool lex_char(JsonStreamer *s, uint8_t c)
{
    switch (s->state) {
    case L_START:
        return lex_start(s, c);
    case L_DQ:
    case L_DQ_ESC:
        return lex_string(s, c, '"');
    case L_SQ:
    case L_SQ_ESC:
        return lex_string(s, c, '\'');
    case L_KEYWORD:
        if (c >= 'a' && c <= 'z') {
            g_string_append_c(s->token, c);
            return true;
        }
        return lex_end_token(s, c, JSON_TOK_KEYWORD);
    case L_RECOVERY:
        return lex_recovery(s, c);
    default:
        return lex_number(s, c);
    }
}

void json_streamer_feed(JsonStreamer *s, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        while (!lex_char(s, buf[i])) {
            /* re-examine buf[i] in the state the last token left */
        }
        /* A token still being lexed counts against the value's size. */
        if (s->token->len && !stream_size_ok(s, s->token->len)) {
            g_string_truncate(s->token, 0);
            s->state = L_RECOVERY;
            stream_error(s, "JSON token size limit exceeded");
        }
    }
}

void json_streamer_reset(JsonStreamer *s)
{
    g_string_truncate(s->token, 0);
    tokens_clear(&s->toks);
    s->braces = s->brackets = 0;
    s->state = L_START;
}

JsonStreamer *json_streamer_new(JsonStreamEmit *emit, void *opaque)
{
    JsonStreamer *s = g_new0(JsonStreamer, 1);

    s->emit = emit;
    s->opaque = opaque;
    s->token = g_string_new(NULL);
    s->toks.list = g_array_new(FALSE, FALSE, sizeof(JsonToken));
    s->toks.text = g_string_new(NULL);
    return s;
}

void json_streamer_free(JsonStreamer *s)
{
    if (!s) {
        return;
    }
    g_string_free(s->token, TRUE);
    g_array_free(s->toks.list, TRUE);
    g_string_free(s->toks.text, TRUE);
    g_free(s);
}
