/*
 * stdio: the terminal qvmm was started from.
 *
 * When stdin is a terminal it is put in raw mode, as QEMU does: no echo,
 * no line editing, and no signal keys unless signal=on (the default; the
 * "mon:stdio" form turns it off so that Ctrl-C reaches the guest).
 * Output processing stays on.  When stdin is a pipe or a file the bytes
 * pass through untouched.
 *
 * stdin is left blocking: the reader only reads after poll() says there
 * is data, and making fd 0 non-blocking would also make a terminal's
 * stdout and stderr non-blocking (they share one open file), so that
 * error messages could be lost.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "chardev/char-internal.h"
#include <signal.h>
#include <termios.h>

typedef struct StdioChardev {
    Chardev parent;
    bool owns_stdio;
    ChrReader *reader;
} StdioChardev;

static bool stdio_in_use;
/*
 * The terminal as we found it and as we set it; signal handlers and
 * atexit read these, so they are plain statics set before the flag.
 */
static struct termios stdio_saved_tty;
static struct termios stdio_raw_tty;
static volatile sig_atomic_t stdio_tty_raw;

/* Only tcsetattr(), which is async-signal-safe: fatal handlers call this. */
void qemu_chr_restore_terminal(void)
{
    if (stdio_tty_raw) {
        stdio_tty_raw = 0;
        tcsetattr(0, TCSANOW, &stdio_saved_tty);
    }
}

/* After a stop (Ctrl-Z with signal=on) the shell has reset the terminal. */
static void stdio_sigcont(int sig)
{
    (void)sig;
    if (stdio_tty_raw) {
        tcsetattr(0, TCSANOW, &stdio_raw_tty);
    }
}

static void stdio_install_hooks(void)
{
    static bool installed;
    struct sigaction act = { .sa_handler = stdio_sigcont,
                             .sa_flags = SA_RESTART };

    if (!installed) {
        atexit(qemu_chr_restore_terminal);
        sigaction(SIGCONT, &act, NULL);
        installed = true;
    }
}

static void stdio_make_raw(bool allow_signal)
{
    struct termios tty;

    if (!isatty(0) || tcgetattr(0, &stdio_saved_tty) < 0) {
        return;
    }
    tty = stdio_saved_tty;
    tty.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
                     ICRNL | IXON);
    tty.c_oflag |= OPOST;
    tty.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
    if (!allow_signal) {
        tty.c_lflag &= ~ISIG;
    }
    tty.c_cflag &= ~(CSIZE | PARENB);
    tty.c_cflag |= CS8;
    tty.c_cc[VMIN] = 1;
    tty.c_cc[VTIME] = 0;
    stdio_raw_tty = tty;
    stdio_install_hooks();
    stdio_tty_raw = 1;
    tcsetattr(0, TCSANOW, &stdio_raw_tty);
}

static void stdio_ready(Chardev *chr, GIOCondition cond)
{
    StdioChardev *s = (StdioChardev *)chr;
    uint8_t buf[CHR_READ_BUF_LEN];
    int avail = qemu_chr_be_can_write(chr);
    ssize_t n;

    (void)cond;
    if (avail <= 0) {
        return;
    }
    n = chr_read_fd(0, buf, MIN(avail, (int)sizeof(buf)));
    if (n > 0) {
        qemu_chr_be_write(chr, buf, n);
    } else if (n == 0 || errno != EAGAIN) {
        /* End of input: stop reading and tell the frontend, as QEMU does */
        g_clear_pointer(&s->reader, chr_reader_free);
        qemu_chr_be_event(chr, CHR_EVENT_CLOSED);
    }
}

static bool stdio_open(Chardev *chr, const QOpts *opts, bool *be_opened,
                       GError **errp)
{
    StdioChardev *s = (StdioChardev *)chr;
    bool allow_signal;

    (void)be_opened;
    if (stdio_in_use) {
        error_setg(errp, "cannot use stdio by multiple character devices");
        return false;
    }
    if (!qopts_get_bool(opts, "signal", true, &allow_signal, errp)) {
        return false;
    }
    stdio_in_use = true;
    s->owns_stdio = true;
    s->reader = chr_reader_new(chr, 0, stdio_ready);
    stdio_make_raw(allow_signal);
    return true;
}

/* Like QEMU, a terminal that does not keep up stalls us rather than lose
 * console output. */
static int stdio_write(Chardev *chr, const uint8_t *buf, int len)
{
    (void)chr;
    return chr_write_all_fd(1, buf, len);
}

static void stdio_finalize(Chardev *chr)
{
    StdioChardev *s = (StdioChardev *)chr;

    if (s->owns_stdio) {
        g_clear_pointer(&s->reader, chr_reader_free);
        qemu_chr_restore_terminal();
        stdio_in_use = false;
    }
}

const ChardevClass char_stdio_class = {
    .name = "stdio",
    .instance_size = sizeof(StdioChardev),
    .open = stdio_open,
    .write = stdio_write,
    .finalize = stdio_finalize,
};
