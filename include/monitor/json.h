/*
 * The monitor's JSON: a streaming splitter and parser for input, and a
 * writer for output, both over json-glib's JsonNode.
 *
 * Input follows QEMU 7.2's JSON dialect and limits, so that a client sees
 * the same errors: single-quoted strings are accepted, duplicate keys are
 * refused, and one value may hold at most 64 MiB of token text, 2^21
 * tokens and 1024 levels of nesting.  After an error the splitter drops
 * what it had and starts over at the next structural character, as
 * QEMU's does.
 */
#ifndef MONITOR_JSON_H
#define MONITOR_JSON_H

#include "qemu/osdep.h"
#include <json-glib/json-glib.h>

#define JSON_MAX_TOKEN_SIZE  (64 * MiB)
#define JSON_MAX_TOKEN_COUNT (2u << 20)
#define JSON_MAX_NESTING     1024

/*
 * Called once per top-level value: @value (owned by the callee) or,
 * on a syntax error or an exceeded limit, @err (owned by the callee),
 * whose message is QEMU's ("JSON parse error, ...").
 */
typedef void JsonStreamEmit(void *opaque, JsonNode *value, GError *err);

typedef struct JsonStreamer JsonStreamer;

JsonStreamer *json_streamer_new(JsonStreamEmit *emit, void *opaque);
/* Feed bytes; @emit may run several times, or not at all. */
void json_streamer_feed(JsonStreamer *s, const uint8_t *buf, size_t len);
/* Forget a partial value (the peer went away). */
void json_streamer_reset(JsonStreamer *s);
void json_streamer_free(JsonStreamer *s);

/*
 * QEMU's JSON text for @node: ASCII only (\uXXXX for anything else,
 * U+FFFD for invalid UTF-8), ", " and ": " separators, or with @pretty
 * one member per line indented by four spaces.  Lines end in "\n".
 */
void json_write(GString *out, JsonNode *node, bool pretty);

#endif
