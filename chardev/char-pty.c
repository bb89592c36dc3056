/*
 * pty: a pseudo-terminal whose slave side (/dev/pts/N) a user opens with
 * screen, minicom or socat.
 *
 * Nobody holds the slave open at first.  While that is so, output is
 * dropped (a serial line with no one listening) and a once-a-second
 * check notices when someone opens it; then CHR_EVENT_OPENED.  When the
 * last opener closes it, CHR_EVENT_CLOSED (QEMU sends only OPENED; a
 * close keeps the pair balanced for the monitor).
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "chardev/char-internal.h"
#include <poll.h>
#include <termios.h>

typedef struct PtyChardev {
    Chardev parent;
    int fd;                     /* master side */
    bool connected;
    ChrReader *reader;
    ChrOutBuf out;
    GSource *timer;
} PtyChardev;

/* A pty master polls as hung up while no one has the slave open. */
static bool pty_peer_present(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLOUT };

    while (poll(&pfd, 1, 0) < 0 && errno == EINTR) {
    }
    return !(pfd.revents & POLLHUP);
}

static void pty_set_connected(PtyChardev *s, bool connected);

static gboolean pty_timer(gpointer opaque)
{
    PtyChardev *s = opaque;

    if (!pty_peer_present(s->fd)) {
        return G_SOURCE_CONTINUE;
    }
    g_clear_pointer(&s->timer, g_source_unref);
    pty_set_connected(s, true);
    return G_SOURCE_REMOVE;
}

static void pty_start_timer(PtyChardev *s)
{
    s->timer = g_timeout_source_new(1000);
    g_source_set_callback(s->timer, pty_timer, s, NULL);
    g_source_attach(s->timer, NULL);
}

static void pty_stop_timer(PtyChardev *s)
{
    if (s->timer) {
        g_source_destroy(s->timer);
        g_clear_pointer(&s->timer, g_source_unref);
    }
}

static void pty_ready(Chardev *chr, GIOCondition cond)
{
    PtyChardev *s = (PtyChardev *)chr;
    uint8_t buf[CHR_READ_BUF_LEN];
    int avail = qemu_chr_be_can_write(chr);
    ssize_t n;

    (void)cond;
    if (avail <= 0) {
        return;
    }
    n = chr_read_fd(s->fd, buf, MIN(avail, (int)sizeof(buf)));
    if (n > 0) {
        qemu_chr_be_write(chr, buf, n);
    } else if (n == 0 || errno != EAGAIN) {
        /* EIO: the last opener of the slave closed it */
        pty_set_connected(s, false);
    }
}

static void pty_hangup(Chardev *chr)
{
    PtyChardev *s = (PtyChardev *)chr;

    /* The reader notices the close; here just drop what was queued. */
    chr_outbuf_reset(&s->out);
    chr_outbuf_init(&s->out, chr, s->fd, false, pty_hangup);
}

static void pty_set_connected(PtyChardev *s, bool connected)
{
    Chardev *chr = &s->parent;

    if (connected == s->connected) {
        return;
    }
    s->connected = connected;
    if (connected) {
        pty_stop_timer(s);
        s->reader = chr_reader_new(chr, s->fd, pty_ready);
        qemu_chr_be_event(chr, CHR_EVENT_OPENED);
    } else {
        g_clear_pointer(&s->reader, chr_reader_free);
        pty_hangup(chr);
        pty_start_timer(s);
        qemu_chr_be_event(chr, CHR_EVENT_CLOSED);
    }
}

/* A raw master/slave pair; returns the master, or -1 with errno set. */
static int pty_open_raw(char **slave_name)
{
    struct termios tty;
    char name[64];
    int master, slave;

    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) {
        return -1;
    }
    if (grantpt(master) < 0 || unlockpt(master) < 0 ||
        ptsname_r(master, name, sizeof(name)) != 0) {
        goto fail;
    }
    slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) {
        goto fail;
    }
    /* Bytes pass unchanged; whoever opens the slave sets it up anew. */
    if (tcgetattr(slave, &tty) == 0) {
        cfmakeraw(&tty);
        tcsetattr(slave, TCSAFLUSH, &tty);
    }
    close(slave);
    if (fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK) < 0) {
        goto fail;
    }
    *slave_name = g_strdup(name);
    return master;

fail:
    close(master);
    return -1;
}

static bool pty_open(Chardev *chr, const QOpts *opts, bool *be_opened,
                     GError **errp)
{
    PtyChardev *s = (PtyChardev *)chr;
    g_autofree char *name = NULL;

    (void)opts;
    s->fd = pty_open_raw(&name);
    if (s->fd < 0) {
        error_setg_errno(errp, errno, "Failed to create PTY");
        return false;
    }
    chr_outbuf_init(&s->out, chr, s->fd, false, pty_hangup);
    chr->filename = g_strdup_printf("pty:%s", name);
    /* QEMU prints this on stdout; scripts read the path from it. */
    printf("char device redirected to %s (label %s)\n", name, chr->label);
    fflush(stdout);
    *be_opened = false;
    pty_start_timer(s);
    return true;
}

static int pty_write(Chardev *chr, const uint8_t *buf, int len)
{
    PtyChardev *s = (PtyChardev *)chr;

    /*
     * Someone may have opened the slave since the last check: write
     * now rather than lose up to a second of output; the timer still
     * sends the OPENED event from the main loop.
     */
    if (!s->connected && !pty_peer_present(s->fd)) {
        return len;
    }
    if (chr_outbuf_write(&s->out, buf, len) < 0) {
        pty_hangup(chr);
    }
    return len;
}

static void pty_finalize(Chardev *chr)
{
    PtyChardev *s = (PtyChardev *)chr;

    if (s->fd < 0) {
        return;
    }
    pty_stop_timer(s);
    g_clear_pointer(&s->reader, chr_reader_free);
    chr_outbuf_reset(&s->out);
    close(s->fd);
}

const ChardevClass char_pty_class = {
    .name = "pty",
    .instance_size = sizeof(PtyChardev),
    .open = pty_open,
    .write = pty_write,
    .finalize = pty_finalize,
};
