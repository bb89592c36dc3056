/* Between the monitor's JSON splitter and its parser. */
#ifndef MONITOR_JSON_INTERNAL_H
#define MONITOR_JSON_INTERNAL_H

#include "monitor/json.h"

typedef enum JsonTokenType {
    JSON_TOK_ERROR,
    JSON_TOK_LCURLY, JSON_TOK_RCURLY, JSON_TOK_LSQUARE, JSON_TOK_RSQUARE,
    JSON_TOK_COMMA, JSON_TOK_COLON,
    JSON_TOK_STRING, JSON_TOK_INTEGER, JSON_TOK_FLOAT, JSON_TOK_KEYWORD,
} JsonTokenType;

typedef struct JsonToken {
    JsonTokenType type;
    size_t offset;              /* into JsonTokens.text, NUL-terminated */
    size_t len;
} JsonToken;

/* One top-level value's tokens, their texts packed in one buffer. */
typedef struct JsonTokens {
    GArray *list;               /* of JsonToken */
    GString *text;
} JsonTokens;

/* The value the tokens spell, or NULL with QEMU's "JSON parse error, ...". */
JsonNode *json_parse_tokens(const JsonTokens *toks, GError **errp);

#endif
