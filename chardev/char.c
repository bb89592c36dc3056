/*
 * The chardev core: the registry, -chardev and the legacy -serial/-qmp
 * syntax, frontend attachment, writes, and the fd helpers the backends
 * share.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "chardev/char-internal.h"
#include <glib-unix.h>
#include <poll.h>
#include <sys/socket.h>

G_DEFINE_QUARK(qemu-chr-error-quark, qemu_chr_error)

/* Every chardev, in creation order; a mux comes after its base. */
static GPtrArray *chardevs;

/* What -chardev accepts, in "-chardev help" order. */
static const ChardevClass *const backends[] = {
    &char_stdio_class,
    &char_socket_class,
    &char_pty_class,
    &char_file_class,
    &char_null_class,
    &char_mux_class,
};

/* QEMU backends that qvmm does not have: refused by name, not as typos. */
static const char *const unsupported_backends[] = {
    "ringbuf", "memory", "pipe", "qemu-vdagent", "msmouse", "wctablet",
    "vc", "console", "parallel", "parport", "serial", "tty", "udp",
    "testdev", "braille", "spicevmc", "spiceport", NULL
};

/*
 * QEMU 7.2's qemu_chardev_opts: every key any backend takes.  A key that
 * the chosen backend does not use is accepted and ignored, as in QEMU.
 */
static const QOptDesc chardev_desc[] = {
    { "id", QOPT_STRING },
    { "backend", QOPT_STRING },
    { "path", QOPT_STRING },
    { "host", QOPT_STRING },
    { "port", QOPT_STRING },
    { "fd", QOPT_STRING },
    { "localaddr", QOPT_STRING },
    { "localport", QOPT_STRING },
    { "to", QOPT_NUMBER },
    { "ipv4", QOPT_BOOL },
    { "ipv6", QOPT_BOOL },
    { "wait", QOPT_BOOL },
    { "server", QOPT_BOOL },
    { "delay", QOPT_BOOL },
    { "nodelay", QOPT_BOOL },
    { "reconnect", QOPT_NUMBER },
    { "telnet", QOPT_BOOL },
    { "tn3270", QOPT_BOOL },
    { "tls-creds", QOPT_STRING },
    { "tls-authz", QOPT_STRING },
    { "websocket", QOPT_BOOL },
    { "width", QOPT_NUMBER },
    { "height", QOPT_NUMBER },
    { "cols", QOPT_NUMBER },
    { "rows", QOPT_NUMBER },
    { "mux", QOPT_BOOL },
    { "signal", QOPT_BOOL },
    { "name", QOPT_STRING },
    { "debug", QOPT_NUMBER },
    { "size", QOPT_SIZE },
    { "chardev", QOPT_STRING },
    { "append", QOPT_BOOL },
    { "logfile", QOPT_STRING },
    { "logappend", QOPT_BOOL },
    { "mouse", QOPT_BOOL },
    { "clipboard", QOPT_BOOL },
    { "tight", QOPT_BOOL },
    { "abstract", QOPT_BOOL },
    { NULL, QOPT_STRING }
};

/* ---- registry ---- */

Chardev *qemu_chr_find(const char *id)
{
    for (guint i = 0; chardevs && i < chardevs->len; i++) {
        Chardev *chr = g_ptr_array_index(chardevs, i);

        if (!strcmp(chr->label, id)) {
            return chr;
        }
    }
    return NULL;
}

const char *qemu_chr_id(Chardev *chr)
{
    return chr->label;
}

const char *qemu_chr_filename(Chardev *chr)
{
    return chr->filename;
}

bool qemu_chr_is_mux(Chardev *chr)
{
    return chr->cls == &char_mux_class;
}

bool qemu_chr_fe_is_open(Chardev *chr)
{
    return chr->cls->fe_is_open ? chr->cls->fe_is_open(chr) : chr->has_fe;
}

void qemu_chr_foreach(void (*fn)(Chardev *chr, void *opaque), void *opaque)
{
    for (guint i = 0; chardevs && i < chardevs->len; i++) {
        fn(g_ptr_array_index(chardevs, i), opaque);
    }
}

static void chr_free(Chardev *chr)
{
    if (chr->logfd >= 0) {
        close(chr->logfd);
    }
    g_free(chr->label);
    g_free(chr->filename);
    g_free(chr);
}

static void chr_destroy(Chardev *chr)
{
    if (chr->cls->finalize) {
        chr->cls->finalize(chr);
    }
    chr_free(chr);
}

bool qemu_chr_delete(const char *id, GError **errp)
{
    Chardev *chr = qemu_chr_find(id);

    if (!chr) {
        g_set_error(errp, QVMM_ERROR, QVMM_ERROR_DEVICE_NOT_FOUND,
                    "Chardev '%s' not found", id);
        return false;
    }
    if (qemu_chr_fe_is_open(chr)) {
        error_setg(errp, "Chardev '%s' is busy", id);
        return false;
    }
    g_ptr_array_remove(chardevs, chr);
    chr_destroy(chr);
    return true;
}

void qemu_chr_cleanup_all(void)
{
    /* Newest first, so a mux lets go of its base before the base goes. */
    while (chardevs && chardevs->len) {
        chr_destroy(g_ptr_array_steal_index(chardevs, chardevs->len - 1));
    }
    g_clear_pointer(&chardevs, g_ptr_array_unref);
    qemu_chr_restore_terminal();
}

/* ---- creation ---- */

static bool chr_open_log(Chardev *chr, const QOpts *opts, GError **errp)
{
    const char *path = qopts_get(opts, "logfile");
    bool append;

    if (!path) {
        return true;
    }
    if (!qopts_get_bool(opts, "logappend", false, &append, errp)) {
        return false;
    }
    chr->logfd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
                      (append ? O_APPEND : O_TRUNC), 0666);
    if (chr->logfd < 0) {
        error_setg_errno(errp, errno, "Could not create '%s'", path);
        return false;
    }
    return true;
}

Chardev *chr_create(const ChardevClass *cls, const char *id, bool opts_id,
                    const QOpts *opts, GError **errp)
{
    Chardev *old = qemu_chr_find(id);
    Chardev *chr;
    bool be_opened = true;

    if (old) {
        if (opts_id && old->opts_id) {
            error_setg(errp, "Duplicate ID '%s' for chardev", id);
        } else {
            error_setg(errp, "attempt to add duplicate property '%s' to "
                       "object (type 'container')", id);
        }
        return NULL;
    }
    chr = g_malloc0(cls->instance_size);
    chr->cls = cls;
    chr->label = g_strdup(id);
    chr->opts_id = opts_id;
    chr->logfd = -1;
    if (!chr_open_log(chr, opts, errp)) {
        chr_free(chr);
        return NULL;
    }
    /* A failed open() leaves its fields safe for finalize(). */
    if (!cls->open(chr, opts, &be_opened, errp)) {
        chr_destroy(chr);
        return NULL;
    }
    if (!chr->filename) {
        chr->filename = g_strdup(cls->name);
    }
    if (!chardevs) {
        chardevs = g_ptr_array_new();
    }
    g_ptr_array_add(chardevs, chr);
    if (be_opened) {
        qemu_chr_be_event(chr, CHR_EVENT_OPENED);
    }
    return chr;
}

static bool is_help_option(const char *s)
{
    return !strcmp(s, "help") || !strcmp(s, "?");
}

static void print_backends(void)
{
    printf("Available chardev backend types: \n");
    for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
        printf("  %s\n", backends[i]->name);
    }
}

static const ChardevClass *find_class(const char *name, GError **errp)
{
    for (size_t i = 0; i < ARRAY_SIZE(backends); i++) {
        if (!strcmp(backends[i]->name, name)) {
            return backends[i];
        }
    }
    if (g_strv_contains(unsupported_backends, name)) {
        error_setg(errp, "chardev backend '%s' is not supported by qvmm",
                   name);
    } else {
        error_setg(errp, "'%s' is not a valid char driver name", name);
    }
    return NULL;
}

bool qemu_chr_opts_check(const QOpts *opts, GError **errp)
{
    const char *id = qopts_get(opts, "id");
    Chardev *old;

    if (!qopts_validate(opts, chardev_desc, errp)) {
        return false;
    }
    if (id && !id_wellformed(id)) {
        /* QEMU's hint line travels in the message: it has no other way */
        error_setg(errp, "Parameter 'id' expects an identifier\n"
                   "Identifiers consist of letters, digits, '-', '.', '_', "
                   "starting with a letter.");
        return false;
    }
    old = id ? qemu_chr_find(id) : NULL;
    if (old && old->opts_id) {
        error_setg(errp, "Duplicate ID '%s' for chardev", id);
        return false;
    }
    return true;
}

/* mux=on: the backend under "ID-base", the mux on top of it as "ID". */
static Chardev *chr_create_muxed(const ChardevClass *cls, const char *id,
                                 const QOpts *opts, GError **errp)
{
    g_autofree char *base_id = g_strdup_printf("%s-base", id);
    g_autoptr(QOpts) mux_opts = qopts_parse(NULL, NULL, NULL);
    Chardev *base, *mux;

    base = chr_create(cls, base_id, false, opts, errp);
    if (!base) {
        return NULL;
    }
    qopts_set(mux_opts, "chardev", base_id);
    mux = chr_create(&char_mux_class, id, true, mux_opts, errp);
    if (!mux) {
        g_ptr_array_remove(chardevs, base);
        chr_destroy(base);
    }
    return mux;
}

Chardev *qemu_chr_new_from_opts(const QOpts *opts, GError **errp)
{
    const char *backend = qopts_get(opts, "backend");
    const char *id = qopts_get(opts, "id");
    const ChardevClass *cls;
    bool mux;

    if (!qemu_chr_opts_check(opts, errp)) {
        return NULL;
    }
    if (opts->help || (backend && is_help_option(backend))) {
        print_backends();
        return NULL;
    }
    if (!id) {
        error_setg(errp, "chardev: no id specified");
        return NULL;
    }
    if (!backend) {
        error_setg(errp, "chardev: \"%s\" missing backend", id);
        return NULL;
    }
    cls = find_class(backend, errp);
    if (!cls || !qopts_get_bool(opts, "mux", false, &mux, errp)) {
        return NULL;
    }
    if (mux) {
        return chr_create_muxed(cls, id, opts, errp);
    }
    return chr_create(cls, id, true, opts, errp);
}

/* ---- the legacy syntax of -serial, -qmp, -monitor ---- */

/*
 * The ",key=value" tail of "unix:" and "tcp:" specs.  QEMU parses it
 * without the deprecation warning that -chardev gives for "server" or
 * "nowait", so this cannot use qopts_parse().  An "id=" here is ignored,
 * as in QEMU: the label names the chardev.
 */
static void legacy_parse_tail(QOpts *opts, const char *p,
                              const char *implied_key)
{
    while (*p) {
        GString *item = g_string_new(NULL);
        const char *eq;

        for (; *p && !(*p == ',' && p[1] != ','); p++) {
            g_string_append_c(item, *p);
            p += *p == ',';
        }
        p += *p == ',';
        eq = strchr(item->str, '=');
        if (eq) {
            g_autofree char *key = g_strndup(item->str, eq - item->str);

            if (strcmp(key, "id")) {
                qopts_set(opts, key, eq + 1);
            }
        } else if (implied_key) {
            qopts_set(opts, implied_key, item->str);
        } else if (g_str_has_prefix(item->str, "no")) {
            qopts_set(opts, item->str + 2, "off");
        } else {
            qopts_set(opts, item->str, "on");
        }
        implied_key = NULL;
        g_string_free(item, TRUE);
    }
}

/* What follows @prefix in @s, or NULL (QEMU's strstart()). */
static const char *str_after(const char *s, const char *prefix)
{
    return g_str_has_prefix(s, prefix) ? s + strlen(prefix) : NULL;
}

/*
 * "tcp:[HOST]:PORT[,opts]": QEMU reads at most 64 bytes of host and 32
 * of port, then the options after the first comma.
 */
static bool legacy_parse_tcp(QOpts *opts, const char *p)
{
    const char *colon = strchr(p, ':');
    const char *end = colon ? colon + 1 + strcspn(colon + 1, ",") : NULL;
    g_autofree char *host = NULL, *port = NULL;

    if (!colon || colon - p > 64 || end == colon + 1 || end - colon > 33) {
        return false;
    }
    host = g_strndup(p, colon - p);
    port = g_strndup(colon + 1, end - colon - 1);
    qopts_set(opts, "backend", "socket");
    qopts_set(opts, "host", host);
    qopts_set(opts, "port", port);
    if (*end == ',') {
        legacy_parse_tail(opts, end + 1, NULL);
    }
    return true;
}

/* The part after "tcp:" and its variants, or NULL. */
static const char *legacy_socket_prefix(const char *spec)
{
    static const char *const prefixes[] = {
        "tcp:", "telnet:", "tn3270:", "websocket:", NULL
    };

    for (int i = 0; prefixes[i]; i++) {
        if (str_after(spec, prefixes[i])) {
            return str_after(spec, prefixes[i]);
        }
    }
    return NULL;
}

/* QEMU's legacy forms of the backends qvmm lacks: their backend name. */
static const char *legacy_unsupported(const char *spec)
{
    static const char *const names[] = {
        "msmouse", "wctablet", "braille", "testdev", NULL
    };

    if (g_strv_contains(names, spec)) {
        return spec;
    }
    if (g_str_has_prefix(spec, "vc")) {
        return "vc";
    }
    if (g_str_has_prefix(spec, "pipe:")) {
        return "pipe";
    }
    if (g_str_has_prefix(spec, "udp:")) {
        return "udp";
    }
    if (!strcmp(spec, "con:")) {
        return "console";
    }
    if (g_str_has_prefix(spec, "/dev/parport") ||
        g_str_has_prefix(spec, "/dev/ppi")) {
        return "parallel";
    }
    if (g_str_has_prefix(spec, "/dev/") || g_str_has_prefix(spec, "COM")) {
        return "serial";
    }
    return NULL;
}

static bool legacy_parse(QOpts *opts, const char *spec, GError **errp)
{
    const char *p;

    if (!strcmp(spec, "null") || !strcmp(spec, "pty") ||
        !strcmp(spec, "stdio")) {
        qopts_set(opts, "backend", spec);
    } else if ((p = str_after(spec, "file:"))) {
        qopts_set(opts, "backend", "file");
        qopts_set(opts, "path", p);
    } else if ((p = str_after(spec, "pty:"))) {
        qopts_set(opts, "backend", "pty");
        qopts_set(opts, "path", p);
    } else if ((p = str_after(spec, "unix:"))) {
        qopts_set(opts, "backend", "socket");
        legacy_parse_tail(opts, p, "path");
    } else if ((p = legacy_socket_prefix(spec))) {
        if (!legacy_parse_tcp(opts, p)) {
            /* QEMU prints nothing of its own here */
            g_set_error_literal(errp, QEMU_CHR_ERROR, QEMU_CHR_ERROR_PARSE,
                                "");
            return false;
        }
        if (p - spec > 4) {
            /* "telnet:" and the like: refused by the socket backend */
            g_autofree char *flag = g_strndup(spec, p - spec - 1);

            qopts_set(opts, flag, "on");
        }
    } else if ((p = legacy_unsupported(spec))) {
        /* accepted by QEMU's parser: refused when created, by name */
        qopts_set(opts, "backend", p);
    } else {
        g_set_error(errp, QEMU_CHR_ERROR, QEMU_CHR_ERROR_PARSE,
                    "'%s' is not a valid char driver", spec);
        return false;
    }
    return true;
}

Chardev *qemu_chr_new_legacy(const char *label, const char *spec,
                             GError **errp)
{
    g_autoptr(QOpts) opts = qopts_parse(NULL, NULL, NULL);
    GError *err = NULL;
    Chardev *chr;
    const char *p;

    if (!strcmp(spec, "none")) {
        return NULL;
    }
    if ((p = str_after(spec, "chardev:"))) {
        chr = qemu_chr_find(p);
        if (!chr) {
            g_set_error(errp, QEMU_CHR_ERROR, QEMU_CHR_ERROR_NOT_FOUND,
                        "chardev \"%s\" not found", p);
        }
        return chr;
    }
    qopts_set(opts, "id", label);
    if ((p = str_after(spec, "mon:"))) {
        spec = p;
        qopts_set(opts, "mux", "on");
        if (!strcmp(spec, "stdio")) {
            /*
             * As with -nographic: Ctrl-C goes to the guest, not to us;
             * only this compat form gets that default.
             */
            qopts_set(opts, "signal", "off");
        }
    }
    if (!legacy_parse(opts, spec, errp)) {
        return NULL;
    }
    if (!qemu_chr_opts_check(opts, &err)) {
        g_set_error_literal(errp, QEMU_CHR_ERROR, QEMU_CHR_ERROR_PARSE,
                            err->message);
        g_error_free(err);
        return NULL;
    }
    return qemu_chr_new_from_opts(opts, errp);
}

/* ---- frontends ---- */

bool qemu_chr_attach(Chardev *chr, ChrCanReadHandler *can_read,
                     ChrReadHandler *read, ChrEventHandler *event,
                     void *opaque, GError **errp)
{
    ChrFrontend fe = {
        .can_read = can_read, .read = read, .event = event, .opaque = opaque,
    };

    if (chr->cls->attach) {
        return chr->cls->attach(chr, &fe, errp);
    }
    if (chr->has_fe) {
        error_setg(errp, "Device '%s' is in use", chr->label);
        return false;
    }
    chr->fe = fe;
    chr->has_fe = true;
    /* Attaching to a backend that is already up counts as its opening. */
    if (chr->be_open && event) {
        event(opaque, CHR_EVENT_OPENED);
    }
    qemu_notify_event();
    return true;
}

void qemu_chr_detach(Chardev *chr, void *opaque)
{
    if (chr->cls->detach) {
        chr->cls->detach(chr, opaque);
    } else if (chr->has_fe && chr->fe.opaque == opaque) {
        chr->has_fe = false;
        memset(&chr->fe, 0, sizeof(chr->fe));
    }
}

void qemu_chr_accept_input(Chardev *chr)
{
    if (chr->cls->accept_input) {
        chr->cls->accept_input(chr);
    }
    /* The readers re-check can_read when the loop next prepares a poll. */
    qemu_notify_event();
}

void qemu_chr_send_break(Chardev *chr)
{
    qemu_chr_be_event(chr, CHR_EVENT_BREAK);
}

int qemu_chr_be_can_write(Chardev *chr)
{
    if (!chr->has_fe || !chr->fe.can_read) {
        return 0;
    }
    return chr->fe.can_read(chr->fe.opaque);
}

void qemu_chr_be_write(Chardev *chr, const uint8_t *buf, int len)
{
    if (chr->has_fe && chr->fe.read) {
        chr->fe.read(chr->fe.opaque, buf, len);
    }
}

void qemu_chr_be_event(Chardev *chr, ChrEvent event)
{
    if (event == CHR_EVENT_OPENED) {
        chr->be_open = true;
    } else if (event == CHR_EVENT_CLOSED) {
        chr->be_open = false;
    }
    if (chr->cls->be_event) {
        chr->cls->be_event(chr, event);
    } else if (chr->has_fe && chr->fe.event) {
        chr->fe.event(chr->fe.opaque, event);
    }
}

/* ---- output ---- */

/* Logs are best effort, as in QEMU: errors are not reported. */
static void chr_write_log(Chardev *chr, const uint8_t *buf, int len)
{
    if (chr->logfd >= 0) {
        chr_write_all_fd(chr->logfd, buf, len);
    }
}

int qemu_chr_write(Chardev *chr, const uint8_t *buf, int len)
{
    int ret;

    if (len <= 0) {
        return 0;
    }
    ret = chr->cls->write ? chr->cls->write(chr, buf, len) : len;
    chr_write_log(chr, buf, len);
    return ret;
}

ssize_t chr_read_fd(int fd, uint8_t *buf, size_t len)
{
    ssize_t n;

    do {
        n = read(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

int chr_write_all_fd(int fd, const uint8_t *buf, int len)
{
    int done = 0;

    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);

        if (n > 0) {
            done += n;
        } else if (n < 0 && errno == EAGAIN) {
            /* someone made the fd non-blocking: wait, as QEMU does */
            struct pollfd pfd = { .fd = fd, .events = POLLOUT };
            poll(&pfd, 1, -1);
        } else if (n < 0 && errno != EINTR) {
            return -1;
        }
    }
    return len;
}

/* ---- non-blocking output with a queue (sockets, ptys) ---- */

static ssize_t outbuf_send(ChrOutBuf *ob, const uint8_t *buf, size_t len)
{
    ssize_t n;

    do {
        n = ob->is_socket
            ? send(ob->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
            : write(ob->fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

static gboolean outbuf_flush(gint fd, GIOCondition cond, gpointer opaque)
{
    ChrOutBuf *ob = opaque;
    ssize_t n = outbuf_send(ob, ob->data->data, ob->data->len);

    (void)fd;
    if (n > 0) {
        g_byte_array_remove_range(ob->data, 0, n);
    } else if (n == 0 || errno != EAGAIN || (cond & (G_IO_HUP | G_IO_ERR))) {
        /* A hung-up peer keeps the fd "ready": stop here or we spin. */
        ob->hangup(ob->chr);
        return G_SOURCE_REMOVE;
    }
    if (ob->data->len) {
        return G_SOURCE_CONTINUE;
    }
    g_clear_pointer(&ob->watch, g_source_unref);
    return G_SOURCE_REMOVE;
}

void chr_outbuf_init(ChrOutBuf *ob, Chardev *chr, int fd, bool is_socket,
                     void (*hangup)(Chardev *chr))
{
    ob->chr = chr;
    ob->hangup = hangup;
    ob->fd = fd;
    ob->is_socket = is_socket;
    ob->watch = NULL;
    ob->data = g_byte_array_new();
}

void chr_outbuf_reset(ChrOutBuf *ob)
{
    if (ob->watch) {
        g_source_destroy(ob->watch);
        g_clear_pointer(&ob->watch, g_source_unref);
    }
    g_clear_pointer(&ob->data, g_byte_array_unref);
}

int chr_outbuf_write(ChrOutBuf *ob, const uint8_t *buf, int len)
{
    int done = 0;
    guint room;

    /* Queued bytes go first, or the stream would be reordered. */
    while (!ob->data->len && done < len) {
        ssize_t n = outbuf_send(ob, buf + done, len - done);

        if (n > 0) {
            done += n;
        } else if (n < 0 && errno == EAGAIN) {
            break;
        } else {
            return -1;
        }
    }
    if (done == len) {
        return len;
    }
    room = CHR_OUT_BUF_MAX - MIN(ob->data->len, CHR_OUT_BUF_MAX);
    g_byte_array_append(ob->data, buf + done, MIN(room, (guint)(len - done)));
    if (!ob->watch && ob->data->len) {
        ob->watch = g_unix_fd_source_new(ob->fd, G_IO_OUT);
        g_source_set_callback(ob->watch, G_SOURCE_FUNC(outbuf_flush), ob,
                              NULL);
        g_source_attach(ob->watch, NULL);
    }
    return len;
}

/* ---- input polled only while the frontend has room ---- */

struct ChrReader {
    GSource source;
    Chardev *chr;
    int fd;
    gpointer tag;               /* the polled fd, NULL while throttled */
    ChrReadyFunc *ready;
};

/*
 * While the frontend is full the fd leaves the poll set entirely: a
 * hung-up peer would otherwise make poll() return at once, forever.
 */
static gboolean chr_reader_prepare(GSource *source, gint *timeout)
{
    ChrReader *r = (ChrReader *)source;
    bool want = qemu_chr_be_can_write(r->chr) > 0;

    *timeout = -1;
    if (want && !r->tag) {
        r->tag = g_source_add_unix_fd(source, r->fd,
                                      G_IO_IN | G_IO_HUP | G_IO_ERR);
    } else if (!want && r->tag) {
        g_source_remove_unix_fd(source, r->tag);
        r->tag = NULL;
    }
    return FALSE;
}

static gboolean chr_reader_check(GSource *source)
{
    ChrReader *r = (ChrReader *)source;

    return r->tag && g_source_query_unix_fd(source, r->tag);
}

static gboolean chr_reader_dispatch(GSource *source, GSourceFunc cb,
                                    gpointer data)
{
    ChrReader *r = (ChrReader *)source;
    GIOCondition cond = r->tag ? g_source_query_unix_fd(source, r->tag) : 0;

    (void)cb;
    (void)data;
    /* ready() may free this reader: touch nothing after it */
    if (cond) {
        r->ready(r->chr, cond);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs chr_reader_funcs = {
    .prepare = chr_reader_prepare,
    .check = chr_reader_check,
    .dispatch = chr_reader_dispatch,
};

ChrReader *chr_reader_new(Chardev *chr, int fd, ChrReadyFunc *ready)
{
    GSource *source = g_source_new(&chr_reader_funcs, sizeof(ChrReader));
    ChrReader *r = (ChrReader *)source;

    r->chr = chr;
    r->fd = fd;
    r->ready = ready;
    g_source_attach(source, NULL);
    return r;
}

void chr_reader_free(ChrReader *r)
{
    if (r) {
        g_source_destroy(&r->source);
        g_source_unref(&r->source);
    }
}
