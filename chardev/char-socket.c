/*
 * socket: a unix (path=) or TCP (host=, port=) stream socket, or one
 * inherited as fd=N (libvirt passes listening sockets that way).
 *
 * A server serves one client at a time: while one is connected the
 * listening socket is not watched, so further clients wait in the
 * backlog, and when it leaves we listen again.  Output with no client
 * is dropped, as in QEMU.  Output to a client that does not read is
 * queued up to CHR_OUT_BUF_MAX and then dropped: QEMU blocks there
 * instead, but a stalled peer must not stop the guest or the main loop.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "chardev/char-internal.h"
#include <glib-unix.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <limits.h>

typedef struct SocketChardev {
    Chardev parent;
    bool is_listen;
    bool nodelay;
    int listen_fd;
    int fd;                     /* the connection, -1 while there is none */
    GSource *accept_watch;
    ChrReader *reader;
    ChrOutBuf out;
    char *addr_str;             /* for "disconnected:..." */
    char *unlink_path;          /* our listening unix socket, gone at exit */
} SocketChardev;

/* The options after QEMU's qemu_chr_parse_socket(). */
typedef struct SocketConfig {
    const char *path, *host, *port, *fd;
    bool server, wait, has_wait, nodelay;
    int family;
    bool v6only;
    uint64_t to;
    bool has_to;
} SocketConfig;

/* ---- option checks, in QEMU's order and words ---- */

/* Features of QEMU's socket chardev that qvmm leaves out. */
static bool socket_check_unsupported(const QOpts *opts, GError **errp)
{
    static const char *const flags[] = {
        "telnet", "tn3270", "websocket", "abstract", NULL
    };
    uint64_t reconnect;
    bool on;

    for (int i = 0; flags[i]; i++) {
        if (!qopts_get_bool(opts, flags[i], false, &on, errp)) {
            return false;
        }
        if (on) {
            error_setg(errp, "chardev: socket: '%s' is not supported by qvmm",
                       flags[i]);
            return false;
        }
    }
    if (qopts_get(opts, "tls-creds") || qopts_get(opts, "tls-authz")) {
        error_setg(errp, "chardev: socket: 'tls-creds' is not supported by "
                   "qvmm");
        return false;
    }
    if (!qopts_get_number(opts, "reconnect", 0, &reconnect, errp)) {
        return false;
    }
    if (reconnect) {
        error_setg(errp, "chardev: socket: 'reconnect' is not supported by "
                   "qvmm");
        return false;
    }
    return true;
}

/* QEMU's matrix of ipv4=/ipv6= onto a getaddrinfo() family. */
static bool socket_parse_family(const QOpts *opts, SocketConfig *c,
                                GError **errp)
{
    bool has4 = qopts_has(opts, "ipv4"), has6 = qopts_has(opts, "ipv6");
    bool v4 = false, v6 = false;

    if (!qopts_get_bool(opts, "ipv4", false, &v4, errp) ||
        !qopts_get_bool(opts, "ipv6", false, &v6, errp)) {
        return false;
    }
    c->family = AF_UNSPEC;
    c->v6only = has4 || has6;
    if (has4 && has6 && !v4 && !v6) {
        error_setg(errp, "Cannot disable IPv4 and IPv6 at same time");
        return false;
    }
    if (has4 && has6 && v4 && v6) {
        c->v6only = false;
        c->family = c->host[0] ? AF_UNSPEC : AF_INET6;
    } else if ((has6 && v6) || (has4 && !v4)) {
        c->family = AF_INET6;
    } else if ((has4 && v4) || (has6 && !v6)) {
        c->family = AF_INET;
    }
    return true;
}

static bool socket_parse(const QOpts *opts, SocketConfig *c, GError **errp)
{
    bool delay = true, has_reconnect = qopts_has(opts, "reconnect");

    c->path = qopts_get(opts, "path");
    c->host = qopts_get(opts, "host");
    c->port = qopts_get(opts, "port");
    c->fd = qopts_get(opts, "fd");
    if ((!!c->path + !!c->fd + !!c->host) > 1) {
        error_setg(errp, "None or one of 'path', 'fd' or 'host' option "
                   "required.");
        return false;
    }
    if (c->host && !c->port) {
        error_setg(errp, "chardev: socket: no port given");
        return false;
    }
    if (qopts_has(opts, "delay") && qopts_has(opts, "nodelay")) {
        error_setg(errp, "'delay' and 'nodelay' are mutually exclusive");
        return false;
    }
    if (!qopts_get_bool(opts, "delay", true, &delay, errp) ||
        !qopts_get_bool(opts, "nodelay", false, &c->nodelay, errp) ||
        !qopts_get_bool(opts, "server", false, &c->server, errp) ||
        !qopts_get_bool(opts, "wait", true, &c->wait, errp) ||
        !qopts_get_number(opts, "to", 0, &c->to, errp)) {
        return false;
    }
    c->nodelay |= !delay;
    c->has_wait = qopts_has(opts, "wait") || c->server;
    c->has_to = qopts_has(opts, "to");
    if (c->host && !socket_parse_family(opts, c, errp)) {
        return false;
    }
    if (!c->path && !c->host && has_reconnect) {
        error_setg(errp, "'reconnect' option is incompatible with 'fd' "
                   "address type");
        return false;
    }
    if (c->server && has_reconnect) {
        error_setg(errp, "'reconnect' option is incompatible with socket in "
                   "server listen mode");
        return false;
    }
    if (!c->server && c->has_wait) {
        error_setg(errp, "'wait' option is incompatible with socket in "
                   "client connect mode");
        return false;
    }
    return socket_check_unsupported(opts, errp);
}

/* ---- addresses ---- */

static char *inet_name(const struct sockaddr *sa, socklen_t len,
                       bool brackets)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    bool v6 = sa->sa_family == AF_INET6 && brackets;

    if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV)) {
        return g_strdup("unknown");
    }
    return g_strdup_printf("%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
                           serv);
}

/* What QEMU shows for a connection (query-chardev, "info chardev"). */
static char *socket_connected_name(SocketChardev *s)
{
    struct sockaddr_storage ls = { 0 }, ps = { 0 };
    socklen_t llen = sizeof(ls), plen = sizeof(ps);
    const char *srv = s->is_listen ? ",server=on" : "";
    g_autofree char *local = NULL, *peer = NULL;

    if (getsockname(s->fd, (struct sockaddr *)&ls, &llen) < 0 ||
        getpeername(s->fd, (struct sockaddr *)&ps, &plen) < 0) {
        return g_strdup("unknown");
    }
    if (ls.ss_family == AF_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)
                                 (s->is_listen ? &ls : &ps);
        return g_strdup_printf("unix:%s%s", un->sun_path, srv);
    }
    if (ls.ss_family != AF_INET && ls.ss_family != AF_INET6) {
        return g_strdup("unknown");
    }
    local = inet_name((struct sockaddr *)&ls, llen, true);
    peer = inet_name((struct sockaddr *)&ps, plen, true);
    return g_strdup_printf("tcp:%s%s <-> %s", local, srv, peer);
}

/* A listening socket's own address, as QEMU re-reads it after bind. */
static char *socket_listen_name(SocketChardev *s)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof(ss);
    g_autofree char *name = NULL;

    if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &len) < 0) {
        return g_strdup("unknown,server=on");
    }
    if (ss.ss_family == AF_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)&ss;

        if (un->sun_path[0]) {
            s->unlink_path = g_strdup(un->sun_path);
        }
        return g_strdup_printf("unix:%s,server=on", un->sun_path);
    }
    name = inet_name((struct sockaddr *)&ss, len, false);
    return g_strdup_printf("tcp:%s,server=on", name);
}

static void socket_set_disconnected_name(SocketChardev *s)
{
    g_free(s->parent.filename);
    s->parent.filename = g_strdup_printf("disconnected:%s", s->addr_str);
}

/* ---- connection state ---- */

static void socket_start_accepting(SocketChardev *s);

static void socket_disconnect(SocketChardev *s)
{
    bool was_connected = s->fd >= 0;

    g_clear_pointer(&s->reader, chr_reader_free);
    if (s->out.data) {
        chr_outbuf_reset(&s->out);
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    socket_set_disconnected_name(s);
    if (s->is_listen) {
        socket_start_accepting(s);
    }
    if (was_connected) {
        qemu_chr_be_event(&s->parent, CHR_EVENT_CLOSED);
    }
}

static void socket_hangup(Chardev *chr)
{
    socket_disconnect((SocketChardev *)chr);
}

static void socket_ready(Chardev *chr, GIOCondition cond)
{
    SocketChardev *s = (SocketChardev *)chr;
    uint8_t buf[CHR_READ_BUF_LEN];
    int avail = qemu_chr_be_can_write(chr);
    ssize_t n;

    (void)cond;
    if (avail <= 0) {
        return;
    }
    do {
        n = recv(s->fd, buf, MIN(avail, (int)sizeof(buf)), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        qemu_chr_be_write(chr, buf, n);
    } else if (n == 0 || errno != EAGAIN) {
        /* Data before a hang-up has all been read by now: nothing lost. */
        socket_disconnect(s);
    }
}

static void socket_stop_accepting(SocketChardev *s)
{
    if (s->accept_watch) {
        g_source_destroy(s->accept_watch);
        g_clear_pointer(&s->accept_watch, g_source_unref);
    }
}

static void socket_new_client(SocketChardev *s, int fd)
{
    Chardev *chr = &s->parent;
    int one = 1;

    socket_stop_accepting(s);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (s->nodelay) {
        /* fails harmlessly on unix sockets */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    s->fd = fd;
    chr_outbuf_init(&s->out, chr, fd, true, socket_hangup);
    s->reader = chr_reader_new(chr, fd, socket_ready);
    g_free(chr->filename);
    chr->filename = socket_connected_name(s);
    qemu_chr_be_event(chr, CHR_EVENT_OPENED);
}

static int socket_accept(SocketChardev *s)
{
    int fd;

    do {
        fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

static gboolean socket_accept_ready(gint listen_fd, GIOCondition cond,
                                    gpointer opaque)
{
    SocketChardev *s = opaque;
    int fd = socket_accept(s);

    (void)listen_fd;
    (void)cond;
    if (fd < 0) {
        return G_SOURCE_CONTINUE;
    }
    /* this drops accept_watch, i.e. the source running now */
    socket_new_client(s, fd);
    return G_SOURCE_REMOVE;
}

static void socket_start_accepting(SocketChardev *s)
{
    if (s->accept_watch) {
        return;
    }
    s->accept_watch = g_unix_fd_source_new(s->listen_fd, G_IO_IN);
    g_source_set_callback(s->accept_watch, G_SOURCE_FUNC(socket_accept_ready),
                          s, NULL);
    g_source_attach(s->accept_watch, NULL);
}

/* wait=on: block until the first client, before the machine exists. */
static void socket_wait_client(SocketChardev *s)
{
    struct pollfd pfd = { .fd = s->listen_fd, .events = POLLIN };
    int fd = -1;

    info_report("qvmm waiting for connection on: %s", s->parent.filename);
    while (fd < 0) {
        if (poll(&pfd, 1, -1) > 0) {
            fd = socket_accept(s);
        }
    }
    socket_new_client(s, fd);
}

/* ---- opening ---- */

static int socket_parse_fd(const char *str, GError **errp)
{
    char *end;
    long fd;
    int type;
    socklen_t len = sizeof(type);

    errno = 0;
    fd = str ? strtol(str, &end, 10) : 0;
    if (!str || !*str || *end || errno || fd < INT_MIN || fd > INT_MAX) {
        error_setg(errp, "Unable to parse FD number %s", str ? str : "");
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) {
        error_setg(errp, "File descriptor '%s' is not a socket", str);
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static bool unix_fill_addr(struct sockaddr_un *un, const char *path,
                           GError **errp)
{
    memset(un, 0, sizeof(*un));
    un->sun_family = AF_UNIX;
    /* the kernel takes a path that fills sun_path with no NUL */
    if (strlen(path) > sizeof(un->sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long\n"
                   "Path must be less than %zu bytes", path,
                   sizeof(un->sun_path));
        return false;
    }
    memcpy(un->sun_path, path, strlen(path));
    return true;
}

static int unix_listen(const char *path, GError **errp)
{
    g_autofree char *tmp = NULL;
    struct sockaddr_un un;
    int fd;

    if (!path[0]) {
        /* path= with no value: a fresh name in the temporary directory */
        tmp = g_build_filename(g_get_tmp_dir(), "qvmm-socket-XXXXXX", NULL);
        fd = g_mkstemp(tmp);
        if (fd < 0) {
            error_setg_errno(errp, errno,
                             "Failed to make a temporary socket %s", tmp);
            return -1;
        }
        close(fd);
        path = tmp;
    }
    if (!unix_fill_addr(&un, path, errp)) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create Unix socket");
        return -1;
    }
    /* QEMU takes over a stale socket file left by an earlier run */
    if (unlink(path) < 0 && errno != ENOENT) {
        error_setg_errno(errp, errno, "Failed to unlink socket %s", path);
    } else if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s", path);
    } else if (listen(fd, 1) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on socket");
    } else {
        return fd;
    }
    close(fd);
    return -1;
}

/*
 * Why no listening socket came out of QEMU's loop over addresses and
 * ports: a port in use moves on to the next one, other errors stop.
 */
typedef struct ListenError {
    int err;
    const char *what;
    bool fatal;
} ListenError;

static int inet_listen_port(struct addrinfo *e, const SocketConfig *c,
                            int port, ListenError *le)
{
    int one = 1, v6only = c->v6only;
    int fd = socket(e->ai_family, e->ai_socktype | SOCK_CLOEXEC,
                    e->ai_protocol);

    if (fd < 0) {
        *le = (ListenError) { errno, "Failed to create a socket", false };
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (e->ai_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        ((struct sockaddr_in6 *)e->ai_addr)->sin6_port = htons(port);
    } else {
        ((struct sockaddr_in *)e->ai_addr)->sin_port = htons(port);
    }
    if (bind(fd, e->ai_addr, e->ai_addrlen) < 0) {
        *le = (ListenError) { errno, "Failed to bind socket",
                              errno != EADDRINUSE };
    } else if (listen(fd, 1) < 0) {
        *le = (ListenError) { errno, "Failed to listen on socket",
                              errno != EADDRINUSE };
    } else {
        return fd;
    }
    if (le->err == EADDRINUSE) {
        le->what = "Failed to find an available port";
    }
    close(fd);
    return -1;
}

static int inet_listen(const SocketConfig *c, GError **errp)
{
    struct addrinfo hints = {
        .ai_flags = AI_PASSIVE, .ai_family = c->family,
        .ai_socktype = SOCK_STREAM,
    };
    ListenError le = { EADDRNOTAVAIL, "Failed to create a socket", false };
    struct addrinfo *res;
    int rc, fd = -1;

    rc = getaddrinfo(c->host[0] ? c->host : NULL,
                     c->port[0] ? c->port : NULL, &hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   c->host, c->port, gai_strerror(rc));
        return -1;
    }
    /* QEMU listens on every address; qvmm on the first that works. */
    for (struct addrinfo *e = res; e && fd < 0 && !le.fatal; e = e->ai_next) {
        int first = ntohs(e->ai_family == AF_INET6
                          ? ((struct sockaddr_in6 *)e->ai_addr)->sin6_port
                          : ((struct sockaddr_in *)e->ai_addr)->sin_port);
        int last = c->has_to ? (int)MIN(c->to, 65535) : first;

        for (int port = first; port <= last && fd < 0 && !le.fatal; port++) {
            fd = inet_listen_port(e, c, port, &le);
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, le.err, "%s", le.what);
    }
    return fd;
}

static bool socket_listen(SocketChardev *s, const SocketConfig *c,
                          GError **errp)
{
    if (c->path) {
        s->listen_fd = unix_listen(c->path, errp);
    } else if (c->host) {
        s->listen_fd = inet_listen(c, errp);
    } else {
        s->listen_fd = socket_parse_fd(c->fd, errp);
        if (s->listen_fd >= 0 && listen(s->listen_fd, 1) < 0) {
            error_setg_errno(errp, errno, "Failed to listen on fd socket");
            close(s->listen_fd);
            s->listen_fd = -1;
        }
    }
    if (s->listen_fd < 0) {
        return false;
    }
    fcntl(s->listen_fd, F_SETFL, fcntl(s->listen_fd, F_GETFL) | O_NONBLOCK);
    s->addr_str = socket_listen_name(s);
    return true;
}

static int unix_connect(const char *path, GError **errp)
{
    struct sockaddr_un un;
    int fd, rc;

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return -1;
    }
    if (!unix_fill_addr(&un, path, errp)) {
        close(fd);
        return -1;
    }
    do {
        rc = connect(fd, (struct sockaddr *)&un, sizeof(un));
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", path);
        close(fd);
        return -1;
    }
    return fd;
}

static int inet_connect(const SocketConfig *c, GError **errp)
{
    struct addrinfo hints = {
        .ai_flags = AI_CANONNAME | AI_ADDRCONFIG | AI_V4MAPPED,
        .ai_family = c->family, .ai_socktype = SOCK_STREAM,
    };
    struct addrinfo *res;
    int rc, fd = -1, err = 0;

    rc = getaddrinfo(c->host, c->port, &hints, &res);
    if (rc) {
        error_setg(errp, "address resolution failed for %s:%s: %s",
                   c->host, c->port, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *e = res; e && fd < 0; e = e->ai_next) {
        fd = socket(e->ai_family, e->ai_socktype | SOCK_CLOEXEC,
                    e->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        do {
            rc = connect(fd, e->ai_addr, e->ai_addrlen);
        } while (rc < 0 && errno == EINTR);
        if (rc < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        error_setg_errno(errp, err, "Failed to connect to '%s:%s'",
                         c->host, c->port);
    }
    return fd;
}

static bool socket_connect(SocketChardev *s, const SocketConfig *c,
                           GError **errp)
{
    int fd;

    if (c->path) {
        s->addr_str = g_strdup_printf("unix:%s", c->path);
        fd = unix_connect(c->path, errp);
    } else if (c->host) {
        s->addr_str = g_strdup_printf("tcp:%s:%s", c->host, c->port);
        fd = inet_connect(c, errp);
    } else {
        s->addr_str = g_strdup_printf("fd:%s", c->fd ? c->fd : "");
        fd = socket_parse_fd(c->fd, errp);
    }
    if (fd < 0) {
        return false;
    }
    socket_new_client(s, fd);
    return true;
}

static bool socket_open(Chardev *chr, const QOpts *opts, bool *be_opened,
                        GError **errp)
{
    SocketChardev *s = (SocketChardev *)chr;
    SocketConfig c = { 0 };

    s->listen_fd = -1;
    s->fd = -1;
    /* OPENED comes with the first client */
    *be_opened = false;
    if (!socket_parse(opts, &c, errp)) {
        return false;
    }
    s->nodelay = c.nodelay;
    s->is_listen = c.server;
    if (!c.server) {
        return socket_connect(s, &c, errp);
    }
    if (!socket_listen(s, &c, errp)) {
        return false;
    }
    socket_set_disconnected_name(s);
    if (c.wait) {
        socket_wait_client(s);
    } else {
        socket_start_accepting(s);
    }
    return true;
}

static int socket_write(Chardev *chr, const uint8_t *buf, int len)
{
    SocketChardev *s = (SocketChardev *)chr;

    if (s->fd < 0) {
        return len;
    }
    if (chr_outbuf_write(&s->out, buf, len) < 0) {
        /* The reader may be throttled and never see the hang-up. */
        socket_disconnect(s);
    }
    return len;
}

static void socket_finalize(Chardev *chr)
{
    SocketChardev *s = (SocketChardev *)chr;

    socket_stop_accepting(s);
    g_clear_pointer(&s->reader, chr_reader_free);
    if (s->out.data) {
        chr_outbuf_reset(&s->out);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
    }
    /* QEMU removes the socket files of its listeners when it exits. */
    if (s->unlink_path) {
        unlink(s->unlink_path);
    }
    g_free(s->unlink_path);
    g_free(s->addr_str);
}

const ChardevClass char_socket_class = {
    .name = "socket",
    .instance_size = sizeof(SocketChardev),
    .open = socket_open,
    .write = socket_write,
    .finalize = socket_finalize,
};
