/*
 * QEMU's option syntax: QemuOpts ("k=v,flag,noflag" with an implied
 * first key) and keyval (-smp, -machine), plus the value parsers that
 * give QEMU's exact error texts.
 *
 * Management tools match on these texts and rely on the odd corners
 * (",," escapes, "-1" being a valid number, "1.5" being an invalid size
 * in bytes), so behaviour follows QEMU 7.2 even where it surprises.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/option.h"

#include <math.h>

/* ---- the option list ---- */

static void qopt_free(gpointer p)
{
    QOpt *opt = p;

    g_free(opt->key);
    g_free(opt->value);
    g_free(opt);
}

static QOpts *qopts_new(void)
{
    QOpts *opts = g_new0(QOpts, 1);

    opts->items = g_ptr_array_new_with_free_func(qopt_free);
    return opts;
}

/* Takes ownership of @key and @value. */
static void qopts_append(QOpts *opts, char *key, char *value)
{
    QOpt *opt = g_new(QOpt, 1);

    opt->key = key;
    opt->value = value;
    g_ptr_array_add(opts->items, opt);
}

static QOpt *qopts_find_last(const QOpts *opts, const char *key)
{
    for (guint i = opts->items->len; i > 0; i--) {
        QOpt *opt = g_ptr_array_index(opts->items, i - 1);

        if (!strcmp(opt->key, key)) {
            return opt;
        }
    }
    return NULL;
}

void qopts_free(QOpts *opts)
{
    if (opts) {
        g_ptr_array_free(opts->items, TRUE);
        g_free(opts);
    }
}

const char *qopts_get(const QOpts *opts, const char *key)
{
    QOpt *opt = qopts_find_last(opts, key);

    return opt ? opt->value : NULL;
}

bool qopts_has(const QOpts *opts, const char *key)
{
    return qopts_find_last(opts, key) != NULL;
}

/* Appends, as qemu_opt_set() does: the new value is the one seen. */
void qopts_set(QOpts *opts, const char *key, const char *value)
{
    qopts_append(opts, g_strdup(key), g_strdup(value));
}

unsigned qopts_del(QOpts *opts, const char *key)
{
    unsigned removed = 0;

    for (guint i = opts->items->len; i > 0; i--) {
        QOpt *opt = g_ptr_array_index(opts->items, i - 1);

        if (!strcmp(opt->key, key)) {
            g_ptr_array_remove_index(opts->items, i - 1);
            removed++;
        }
    }
    return removed;
}

/* ---- QemuOpts syntax ---- */

static bool is_help_option_n(const char *s, size_t len)
{
    return (len == 4 && !strncmp(s, "help", 4)) ||
           (len == 1 && s[0] == '?');
}

/*
 * Copy a value up to the next single comma; ",," stands for ','.
 * Returns the position of the terminating comma or NUL.
 */
static const char *get_opt_value(const char *p, char **value)
{
    GString *s = g_string_new(NULL);

    for (;;) {
        if (*p == '\0') {
            break;
        }
        if (*p == ',') {
            if (p[1] != ',') {
                break;
            }
            p++;
        }
        g_string_append_c(s, *p++);
    }
    *value = g_string_free(s, FALSE);
    return p;
}

static void warn_short_form_bool(const char *prefix, const char *name,
                                 const char *value)
{
    warn_report("short-form boolean option '%s%s' deprecated", prefix, name);
    if (!strcmp(name, "delay")) {
        /* "nodelay" is itself the option; its short forms read inverted */
        error_printf("Please use nodelay=%s instead\n",
                     prefix[0] ? "on" : "off");
    } else {
        error_printf("Please use %s=%s instead\n", name, value);
    }
}

/*
 * A bare item: "flag" is flag=on, "noflag" is flag=off.  QEMU strips
 * "no" from any bare word, so "node" really is "de=off".
 */
static const char *parse_bare_item(QOpts *opts, const char *p, size_t len)
{
    const char *prefix = "";
    char *name = g_strndup(p, len);
    const char *value = "on";

    if (g_str_has_prefix(name, "no")) {
        memmove(name, name + 2, strlen(name + 2) + 1);
        prefix = "no";
        value = "off";
    } else if (is_help_option_n(p, len)) {
        opts->help = true;
        g_free(name);
        return p + len;
    }
    warn_short_form_bool(prefix, name, value);
    qopts_append(opts, name, g_strdup(value));
    return p + len;
}

QOpts *qopts_parse(const char *str, const char *implied_key, GError **errp)
{
    QOpts *opts = qopts_new();
    const char *p = str ? str : "";
    bool seen_id = false;

    (void)errp;
    while (*p && !opts->help) {
        size_t len = strcspn(p, "=,");
        char *key, *value;

        if (p[len] != '=') {
            if (!implied_key) {
                p = parse_bare_item(opts, p, len);
                goto next;
            }
            key = g_strdup(implied_key);
            p = get_opt_value(p, &value);
        } else {
            key = g_strndup(p, len);
            p = get_opt_value(p + len + 1, &value);
        }
        /* QEMU takes the id from the first "id=" and ignores the rest */
        if (!strcmp(key, "id") && seen_id) {
            g_free(key);
            g_free(value);
            goto next;
        }
        seen_id |= !strcmp(key, "id");
        qopts_append(opts, key, value);
next:
        implied_key = NULL;
        if (*p == ',') {
            p++;
        }
    }
    return opts;
}

/* ---- validation and typed access ---- */

bool qopts_check_keys(const QOpts *opts, const char *const *allowed,
                      GError **errp)
{
    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *opt = g_ptr_array_index(opts->items, i);

        if (!g_strv_contains(allowed, opt->key)) {
            error_setg(errp, "Invalid parameter '%s'", opt->key);
            return false;
        }
    }
    return true;
}

static const QOptDesc *find_desc(const QOptDesc *desc, const char *name)
{
    for (; desc->name; desc++) {
        if (!strcmp(desc->name, name)) {
            return desc;
        }
    }
    return NULL;
}

static bool check_value(const QOptDesc *desc, const char *value,
                        GError **errp)
{
    bool b;
    uint64_t n;

    switch (desc->type) {
    case QOPT_BOOL:
        return parse_option_bool(desc->name, value, &b, errp);
    case QOPT_NUMBER:
        return parse_option_number(desc->name, value, &n, errp);
    case QOPT_SIZE:
        return parse_option_size(desc->name, value, &n, errp);
    case QOPT_STRING:
        break;
    }
    return true;
}

bool qopts_validate(const QOpts *opts, const QOptDesc *desc, GError **errp)
{
    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *opt = g_ptr_array_index(opts->items, i);
        const QOptDesc *d = find_desc(desc, opt->key);

        if (!d) {
            error_setg(errp, "Invalid parameter '%s'", opt->key);
            return false;
        }
        if (!check_value(d, opt->value, errp)) {
            return false;
        }
    }
    return true;
}

bool qopts_get_bool(const QOpts *opts, const char *key, bool def, bool *val,
                    GError **errp)
{
    const char *s = qopts_get(opts, key);

    if (!s) {
        *val = def;
        return true;
    }
    return parse_option_bool(key, s, val, errp);
}

bool qopts_get_number(const QOpts *opts, const char *key, uint64_t def,
                      uint64_t *val, GError **errp)
{
    const char *s = qopts_get(opts, key);

    if (!s) {
        *val = def;
        return true;
    }
    return parse_option_number(key, s, val, errp);
}

bool qopts_get_size(const QOpts *opts, const char *key, uint64_t def,
                    uint64_t *val, GError **errp)
{
    const char *s = qopts_get(opts, key);

    if (!s) {
        *val = def;
        return true;
    }
    return parse_option_size(key, s, val, errp);
}

/* ---- value parsers ---- */

/* QEMU's qapi_bool_parse: four spellings each way, case-sensitive. */
bool parse_option_bool(const char *name, const char *value, bool *ret,
                       GError **errp)
{
    static const char *const yes[] = { "on", "yes", "true", "y", NULL };
    static const char *const no[] = { "off", "no", "false", "n", NULL };

    if (value && g_strv_contains(yes, value)) {
        *ret = true;
        return true;
    }
    if (value && g_strv_contains(no, value)) {
        *ret = false;
        return true;
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}

bool parse_option_number(const char *name, const char *value, uint64_t *ret,
                         GError **errp)
{
    int err = qemu_strtou64(value, ret);

    if (err == -ERANGE) {
        error_setg(errp, "Value '%s' is too large for parameter '%s'",
                   value, name);
        return false;
    }
    if (err) {
        error_setg(errp, "Parameter '%s' expects a number", name);
        return false;
    }
    return true;
}

bool parse_option_size(const char *name, const char *value, uint64_t *ret,
                       GError **errp)
{
    int err = qemu_strtosz(value, 'B', ret);

    if (err == -ERANGE) {
        error_setg(errp, "Value '%s' is out of range for parameter '%s'",
                   value, name);
        return false;
    }
    if (err) {
        error_setg(errp, "Parameter '%s' expects a non-negative number "
                   "below 2^64", name);
        return false;
    }
    return true;
}

void error_print_size_hint(void)
{
    error_printf("Optional suffix k, M, G, T, P or E means kilo-, mega-, "
                 "giga-, tera-, peta-\nand exabytes, respectively.\n");
}

bool error_is_size_format(const GError *err)
{
    return err && g_str_has_prefix(err->message, "Parameter '") &&
           g_str_has_suffix(err->message,
                            "' expects a non-negative number below 2^64");
}

void error_report_opts_err(GError *err)
{
    bool hint = error_is_size_format(err);

    error_report_err(err);
    if (hint) {
        error_print_size_hint();
    }
}

bool id_wellformed(const char *id)
{
    if (!g_ascii_isalpha(id[0])) {
        return false;
    }
    for (const char *p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

/* ---- numbers ---- */

/*
 * strtoull with QEMU's checks: no digits is -EINVAL, overflow is -ERANGE
 * (value saturated), and without @end trailing characters are -EINVAL.
 * *@end is set even on error, as QEMU's size parser relies on it.
 */
static int strtou64_end(const char *s, const char **end, int base,
                        uint64_t *result)
{
    char *ep;
    int err;

    errno = 0;
    *result = strtoull(s, &ep, base);
    err = errno;
    if (end) {
        *end = ep;
    }
    if (ep == s) {
        return -EINVAL;
    }
    /* trailing garbage outranks overflow, as in QEMU */
    if (!end && *ep) {
        return -EINVAL;
    }
    if (err == ERANGE) {
        *result = UINT64_MAX;
        return -ERANGE;
    }
    return 0;
}

int qemu_strtou64(const char *str, uint64_t *result)
{
    uint64_t val;
    int err;

    if (!str) {
        return -EINVAL;
    }
    err = strtou64_end(str, NULL, 0, &val);
    if (err != -EINVAL) {
        *result = val;
    }
    return err;
}

int qemu_strtoi64(const char *str, int64_t *result)
{
    char *ep;
    long long val;

    if (!str) {
        return -EINVAL;
    }
    errno = 0;
    val = strtoll(str, &ep, 0);
    if (ep == str || *ep) {
        return -EINVAL;
    }
    *result = val;
    return errno == ERANGE ? -ERANGE : 0;
}

/* 0 when @c is not a size suffix. */
static uint64_t suffix_mul(char c, uint64_t unit)
{
    static const char order[] = "KMGTPE";
    const char *pos;
    uint64_t mul = unit;

    if (c == 'b' || c == 'B') {
        return 1;
    }
    pos = c ? strchr(order, g_ascii_toupper(c)) : NULL;
    if (!pos) {
        return 0;
    }
    for (int i = 0; i < pos - order; i++) {
        mul *= unit;
    }
    return mul;
}

/*
 * The fraction after the '.' at @dot as 0.64 fixed point.  QEMU goes
 * through a double; a fraction that rounds to 1.0 there ends up as 0
 * on x86 hosts ("1.99999999999999999999" is 1), and we keep that.
 * Returns false when strtod finds no number (then "1.k" still works:
 * the caller skips the dot).
 */
static bool parse_fraction(const char *dot, const char **end, uint64_t *frac,
                           bool *exponent)
{
    char *ep;
    double d;

    errno = 0;
    d = strtod(dot, &ep);
    *end = ep;
    if (ep == dot || errno == ERANGE || !isfinite(d)) {
        return false;
    }
    *exponent = memchr(dot, 'e', ep - dot) || memchr(dot, 'E', ep - dot);
    *frac = d < 1.0 ? (uint64_t)(d * 0x1p64) : 0;
    return true;
}

/* val * mul + frac * mul, rounded half up; false on overflow. */
static bool scale_size(uint64_t val, uint64_t frac, uint64_t mul,
                       uint64_t *result)
{
    unsigned __int128 whole = (unsigned __int128)val * mul;
    unsigned __int128 part = (unsigned __int128)frac * mul;

    whole += part >> 64;
    whole += (uint64_t)part >> 63;
    if (whole >> 64) {
        return false;
    }
    *result = (uint64_t)whole;
    return true;
}

int qemu_strtosz_full(const char *str, const char **end, char default_suffix,
                      uint64_t unit, uint64_t *result)
{
    const char *p;
    uint64_t val, frac = 0, mul;
    bool hex = false, exponent = false;
    int ret;

    ret = strtou64_end(str, &p, 10, &val);
    if (ret) {
        goto out;
    }
    if (memchr(str, '-', p - str)) {
        goto invalid;
    }
    if (val == 0 && (*p == 'x' || *p == 'X')) {
        ret = strtou64_end(str, &p, 16, &val);
        if (ret) {
            goto out;
        }
        if (*p == '.') {
            goto invalid;
        }
        hex = true;
    } else if (*p == '.') {
        const char *dot = p;

        if (!parse_fraction(dot, &p, &frac, &exponent)) {
            p++;
        } else if (exponent) {
            goto invalid;
        }
    }

    mul = suffix_mul(*p, unit);
    if (mul) {
        if (hex) {
            warn_report("Using a multiplier suffix on hex numbers "
                        "is deprecated: %s", str);
        }
        p++;
    } else {
        mul = suffix_mul(default_suffix, unit);
        g_assert(mul);
    }
    if (mul == 1 && frac) {
        /* a fraction of a byte makes no sense */
        goto invalid;
    }
    if (!scale_size(val, frac, mul, &val)) {
        ret = -ERANGE;
        goto out;
    }
    ret = 0;
    goto out;

invalid:
    p = str;
    ret = -EINVAL;
out:
    if (end) {
        *end = p;
    } else if (*p) {
        ret = -EINVAL;
    }
    if (ret == 0) {
        *result = val;
    }
    return ret;
}

int qemu_strtosz(const char *str, char default_suffix, uint64_t *result)
{
    if (!str) {
        return -EINVAL;
    }
    return qemu_strtosz_full(str, NULL, default_suffix, 1024, result);
}

int qemu_strtosz_metric(const char *str, uint64_t *result)
{
    if (!str) {
        return -EINVAL;
    }
    return qemu_strtosz_full(str, NULL, 'B', 1000, result);
}

/* ---- keyval syntax ---- */

/* Length of the QAPI name at @s ("[__RFQDN_]alpha[alnum-_]*"), or 0. */
static size_t qapi_name_len(const char *s)
{
    const char *p = s;

    if (*p == '_') {
        /* downstream extension prefix "__com.example_" */
        if (*++p != '_') {
            return 0;
        }
        while (*++p && (g_ascii_isalnum(*p) || *p == '-' || *p == '.')) {
        }
        if (*p++ != '_') {
            return 0;
        }
    }
    if (!g_ascii_isalpha(*p)) {
        return 0;
    }
    while (*++p && (g_ascii_isalnum(*p) || *p == '-' || *p == '_')) {
    }
    return p - s;
}

/* Fragments after the first may be list indexes: digits only. */
static size_t index_len(const char *s)
{
    size_t n = 0;

    while (g_ascii_isdigit(s[n])) {
        n++;
    }
    return n;
}

/* A key is QAPI-name fragments joined by '.'; QEMU's texts on failure. */
static bool keyval_check_key(const char *key, size_t len, GError **errp)
{
    const char *s = key, *key_end = key + len;

    for (;;) {
        size_t n = s != key ? index_len(s) : 0;

        if (!n) {
            n = qapi_name_len(s);
        }
        if (!n || s + n > key_end || (s + n < key_end && s[n] != '.')) {
            error_setg(errp, "Invalid parameter '%.*s'", (int)len, key);
            return false;
        }
        if (n >= 128) {
            bool frag = s != key || s + n != key_end;

            error_setg(errp, "Parameter%s '%.*s' is too long",
                       frag ? " fragment" : "", (int)n, s);
            return false;
        }
        s += n;
        if (s == key_end) {
            return true;
        }
        s++;
    }
}

/* True if @prefix is @key's leading dotted path ("a.b" of "a.b.c"). */
static bool is_dotted_prefix(const char *prefix, const char *key)
{
    size_t n = strlen(prefix);

    return !strncmp(prefix, key, n) && key[n] == '.';
}

/*
 * Store @key=@value, the later of two equal keys winning.  A key cannot
 * be both a value and a group of dotted sub-keys.
 */
static bool keyval_store(QOpts *opts, char *key, char *value, GError **errp)
{
    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *opt = g_ptr_array_index(opts->items, i);
        const char *group = NULL;

        if (!strcmp(opt->key, key)) {
            g_free(opt->value);
            opt->value = value;
            g_free(key);
            return true;
        }
        if (is_dotted_prefix(opt->key, key)) {
            group = opt->key;
        } else if (is_dotted_prefix(key, opt->key)) {
            group = key;
        }
        if (group) {
            error_setg(errp, "Parameters '%s.*' used inconsistently", group);
            g_free(key);
            g_free(value);
            return false;
        }
    }
    qopts_append(opts, key, value);
    return true;
}

static const char *keyval_parse_one(QOpts *opts, const char *s,
                                    const char *implied_key, GError **errp)
{
    size_t len = strcspn(s, "=,");
    char *value;

    if (len && s[len] != '=') {
        if (is_help_option_n(s, len)) {
            opts->help = true;
            s += len;
            return *s == ',' ? s + 1 : s;
        }
        if (implied_key) {
            /* the implied value ends at the first comma: no ",," here */
            value = g_strndup(s, len);
            s += len;
            if (!keyval_store(opts, g_strdup(implied_key), value, errp)) {
                return NULL;
            }
            return *s == ',' ? s + 1 : s;
        }
    }
    if (!keyval_check_key(s, len, errp)) {
        return NULL;
    }
    if (s[len] != '=') {
        error_setg(errp, "Expected '=' after parameter '%.*s'", (int)len, s);
        return NULL;
    }
    {
        char *key = g_strndup(s, len);

        s = get_opt_value(s + len + 1, &value);
        if (!keyval_store(opts, key, value, errp)) {
            return NULL;
        }
    }
    return *s == ',' ? s + 1 : s;
}

QOpts *qopts_parse_keyval(const char *str, const char *implied_key,
                          GError **errp)
{
    QOpts *opts = qopts_new();
    const char *p = str ? str : "";

    while (*p) {
        p = keyval_parse_one(opts, p, implied_key, errp);
        if (!p) {
            qopts_free(opts);
            return NULL;
        }
        implied_key = NULL;
    }
    return opts;
}
