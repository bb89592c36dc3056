/*
 * QEMU's option syntax: "[implied=]value,key=value,flag,noflag" with ",,"
 * standing for a literal comma.  One parser serves -m, -smp, -machine,
 * -accel, -cpu, -chardev, -device, -name and the rest.
 */
#ifndef QEMU_OPTION_H
#define QEMU_OPTION_H

#include "qemu/osdep.h"

typedef struct QOpt {
    char *key;
    char *value;
} QOpt;

/* An ordered list of key=value pairs; keys may repeat (hostfwd=...). */
typedef struct QOpts {
    GPtrArray *items;      /* of QOpt*, in command-line order */
    bool help;             /* "help" or "?" was given as an item */
} QOpts;

/*
 * Parse @str with QemuOpts' rules.  If @implied_key is not NULL, a first
 * item without '=' is taken as its value ("-m 1G" is "size=1G").  Any
 * other item without '=' is "key=on", or "key=off" when written "nokey"
 * (QEMU's deprecated short form: a warning is printed, as QEMU does).
 * "help" and "?" set opts->help and end the parse.  ",," is a literal
 * comma in values.  Only the first "id=" is kept.  Syntax alone never
 * fails: empty keys and values are kept and rejected later by
 * qopts_validate()/qopts_check_keys() ("Invalid parameter ''"), as in
 * QEMU; @errp is there for symmetry with qopts_parse_keyval().
 */
QOpts *qopts_parse(const char *str, const char *implied_key, GError **errp);
void qopts_free(QOpts *opts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(QOpts, qopts_free)

/* Last value given for @key, or NULL. */
const char *qopts_get(const QOpts *opts, const char *key);
bool qopts_has(const QOpts *opts, const char *key);
void qopts_set(QOpts *opts, const char *key, const char *value);
/* Remove every occurrence of @key; returns how many were removed. */
unsigned qopts_del(QOpts *opts, const char *key);

/*
 * Reject keys that are not in the NULL-terminated @allowed list:
 * "Invalid parameter 'x'".
 */
bool qopts_check_keys(const QOpts *opts, const char *const *allowed,
                      GError **errp);

/* Typed getters.  Each returns false and sets @errp with QEMU's text on a
 * malformed value; when @key is absent *@val is set to @def. */
bool qopts_get_bool(const QOpts *opts, const char *key, bool def, bool *val,
                    GError **errp);
bool qopts_get_number(const QOpts *opts, const char *key, uint64_t def,
                      uint64_t *val, GError **errp);
bool qopts_get_size(const QOpts *opts, const char *key, uint64_t def,
                    uint64_t *val, GError **errp);

/* Value parsers with QEMU's error texts, naming parameter @name. */
bool parse_option_bool(const char *name, const char *value, bool *ret,
                       GError **errp);
bool parse_option_number(const char *name, const char *value, uint64_t *ret,
                         GError **errp);
bool parse_option_size(const char *name, const char *value, uint64_t *ret,
                       GError **errp);

/*
 * qemu_strtosz: "<number>[.<fraction>][kKMGTPE]" with @default_suffix
 * applied to a bare number ('B' for bytes, 'M' for -m).  Returns 0, or
 * -EINVAL (malformed) / -ERANGE (>= 2^64).
 */
int qemu_strtosz(const char *str, char default_suffix, uint64_t *result);

/* ---- additions beyond the first draft of this header ---- */

/*
 * qemu_strtosz with the multiplier base @unit (1024, or 1000 for
 * qemu_strtosz_metric).  With @end the parse may stop early and *@end
 * points past the last character used; without it trailing characters
 * are an error.  Hex ("0x10") is accepted without a fraction; a hex
 * number with a suffix is accepted with QEMU's deprecation warning.
 */
int qemu_strtosz_full(const char *str, const char **end, char default_suffix,
                      uint64_t unit, uint64_t *result);
int qemu_strtosz_metric(const char *str, uint64_t *result);

/*
 * Whole-string integer parsers in QEMU's qemu_strtou64/qemu_strtoi64
 * style (base 0: "0x" hex and "0" octal prefixes, leading blanks, sign).
 * Return 0, -EINVAL or -ERANGE.  Note "-1" is UINT64_MAX for the
 * unsigned one, as in QEMU.
 */
int qemu_strtou64(const char *str, uint64_t *result);
int qemu_strtoi64(const char *str, int64_t *result);

/*
 * QEMU prints this hint after a malformed size ("-m foo").  The hint is
 * not part of the GError message (QMP clients never see it).
 */
void error_print_size_hint(void);
/* True if @err is parse_option_size's "expects a non-negative number" */
bool error_is_size_format(const GError *err);
/* error_report_err() plus the size hint where QEMU prints it. */
void error_report_opts_err(GError *err);

/* "Identifiers consist of letters, digits, '-', '.', '_', starting with
 * a letter." */
bool id_wellformed(const char *id);

/*
 * Type-checking of a whole QOpts against a descriptor table, in
 * command-line order, the way QemuOpts validates while parsing: the
 * first unknown key ("Invalid parameter 'x'") or malformed value wins.
 */
typedef enum QOptType {
    QOPT_STRING,
    QOPT_BOOL,
    QOPT_NUMBER,
    QOPT_SIZE,
} QOptType;

typedef struct QOptDesc {
    const char *name;
    QOptType type;
} QOptDesc;

/* @desc ends with an entry whose name is NULL. */
bool qopts_validate(const QOpts *opts, const QOptDesc *desc, GError **errp);

/*
 * QEMU's keyval syntax (-smp, -machine, -boot, -object): like QemuOpts,
 * but only the first item may omit "key=" (and then only with
 * @implied_key; its value ends at the first comma, no ",," escape);
 * "flag"/"noflag" shorthands do not exist ("Expected '=' after
 * parameter 'x'"); keys are QAPI names, optionally dotted ("a.b=1");
 * a repeated key replaces the earlier value; "help" or "?" anywhere
 * sets opts->help.  Dotted keys stay flat ("a.b") in the result.
 */
QOpts *qopts_parse_keyval(const char *str, const char *implied_key,
                          GError **errp);

#endif
