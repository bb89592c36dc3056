/*
 * mux: one backend shared by up to four frontends (the serial port and
 * the monitor of "-serial mon:stdio" and -nographic), with QEMU's Ctrl-a
 * escapes.  Input goes to the frontend with focus; output from all of
 * them goes out.
 *
 * Escapes are recognised whatever the backend, a pipe included, as in
 * QEMU: "printf '\001x' | qvmm -nographic" ends qvmm.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "sysemu/runstate.h"
#include "chardev/char-internal.h"

#define MUX_MAX 4
/* Input held per frontend while it is full; escapes never take room. */
#define MUX_BUFFER_SIZE 32
#define MUX_ESCAPE 0x01         /* Ctrl-a */

typedef struct MuxChardev {
    Chardev parent;
    Chardev *base;
    ChrFrontend fe[MUX_MAX];
    bool used[MUX_MAX];
    int focus;                  /* -1 before the first frontend */
    bool got_escape;
    bool timestamps;
    bool linestart;
    int64_t timestamps_start;   /* ms, -1 until the first stamp */
    uint8_t buf[MUX_MAX][MUX_BUFFER_SIZE];
    unsigned prod[MUX_MAX], cons[MUX_MAX];
} MuxChardev;

static bool muxes_opened = true;

static void mux_send_event(MuxChardev *d, int n, ChrEvent event)
{
    if (n >= 0 && d->used[n] && d->fe[n].event) {
        d->fe[n].event(d->fe[n].opaque, event);
    }
}

static void mux_send_all_event(MuxChardev *d, ChrEvent event)
{
    for (int n = 0; n < MUX_MAX; n++) {
        mux_send_event(d, n, event);
    }
}

static void mux_set_focus(MuxChardev *d, int n)
{
    mux_send_event(d, d->focus, CHR_EVENT_MUX_OUT);
    d->focus = n;
    mux_send_event(d, n, CHR_EVENT_MUX_IN);
}

/* ---- output ---- */

static void mux_write_stamp(MuxChardev *d)
{
    int64_t ms = qemu_clock_get_ns(QEMU_CLOCK_REALTIME) / 1000000;
    char stamp[64];
    int secs;

    if (d->timestamps_start == -1) {
        d->timestamps_start = ms;
    }
    ms -= d->timestamps_start;
    secs = ms / 1000;
    snprintf(stamp, sizeof(stamp), "[%02d:%02d:%02d.%03d] ",
             secs / 3600, (secs / 60) % 60, secs % 60, (int)(ms % 1000));
    qemu_chr_write(d->base, (uint8_t *)stamp, strlen(stamp));
}

/* "C-a t": each line that starts after the toggle gets the time. */
static int mux_write_stamped(MuxChardev *d, const uint8_t *buf, int len)
{
    int done = 0;

    while (done < len) {
        const uint8_t *nl = memchr(buf + done, '\n', len - done);
        int n = nl ? nl - (buf + done) + 1 : len - done;

        if (d->linestart) {
            mux_write_stamp(d);
        }
        qemu_chr_write(d->base, buf + done, n);
        d->linestart = nl != NULL;
        done += n;
    }
    return len;
}

static int mux_write(Chardev *chr, const uint8_t *buf, int len)
{
    MuxChardev *d = (MuxChardev *)chr;

    if (d->timestamps) {
        return mux_write_stamped(d, buf, len);
    }
    return qemu_chr_write(d->base, buf, len);
}

static void mux_print(MuxChardev *d, const char *s)
{
    qemu_chr_write(&d->parent, (const uint8_t *)s, strlen(s));
}

/*
 * QEMU 7.2's text, byte for byte.  "C-a s" stays listed: qvmm has no
 * -snapshot, so there is never anything to save and doing nothing is
 * what QEMU does then too.
 */
static void mux_print_help(MuxChardev *d)
{
    static const char *const help[] = {
        "\n\r",
        "C-a h    print this help\n\r",
        "C-a x    exit emulator\n\r",
        "C-a s    save disk data back to file (if -snapshot)\n\r",
        "C-a t    toggle console timestamps\n\r",
        "C-a b    send break (magic sysrq)\n\r",
        "C-a c    switch between console and monitor\n\r",
        "C-a C-a  sends C-a\n\r",
    };

    for (size_t i = 0; i < ARRAY_SIZE(help); i++) {
        mux_print(d, help[i]);
    }
}

/* ---- input ---- */

static void mux_next_focus(MuxChardev *d)
{
    for (int i = 1; i <= MUX_MAX; i++) {
        int n = (d->focus + i) % MUX_MAX;

        if (d->used[n]) {
            mux_set_focus(d, n);
            return;
        }
    }
}

/* Acts on escapes; true if @ch is input for the frontend. */
static bool mux_proc_byte(MuxChardev *d, uint8_t ch)
{
    if (!d->got_escape) {
        d->got_escape = ch == MUX_ESCAPE;
        return !d->got_escape;
    }
    d->got_escape = false;
    switch (ch) {
    case MUX_ESCAPE:
        return true;
    case 'h':
    case '?':
        mux_print_help(d);
        break;
    case 'x':
        mux_print(d, "QEMU: Terminated\n\r");
        /* QEMU runs its "quit" command here, hence that cause */
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
        break;
    case 'b':
        qemu_chr_be_event(&d->parent, CHR_EVENT_BREAK);
        break;
    case 'c':
        mux_next_focus(d);
        break;
    case 't':
        d->timestamps = !d->timestamps;
        d->timestamps_start = -1;
        d->linestart = false;
        break;
    }
    return false;
}

/* Hand buffered input to the focused frontend as far as it takes it. */
static void mux_flush(MuxChardev *d)
{
    int m = d->focus;

    while (m >= 0 && d->used[m] && d->prod[m] != d->cons[m] &&
           d->fe[m].can_read && d->fe[m].read) {
        unsigned start = d->cons[m] % MUX_BUFFER_SIZE;
        int len = MIN(d->prod[m] - d->cons[m], MUX_BUFFER_SIZE - start);
        int room = d->fe[m].can_read(d->fe[m].opaque);

        if (room <= 0) {
            break;
        }
        len = MIN(len, room);
        d->cons[m] += len;
        d->fe[m].read(d->fe[m].opaque, &d->buf[m][start], len);
    }
}

static int mux_can_read(void *opaque)
{
    MuxChardev *d = opaque;
    int m = d->focus;

    if (m < 0) {
        return MUX_BUFFER_SIZE;     /* escapes still work; input is lost */
    }
    return MUX_BUFFER_SIZE - (d->prod[m] - d->cons[m]);
}

static void mux_read(void *opaque, const uint8_t *buf, int len)
{
    MuxChardev *d = opaque;

    for (int i = 0; i < len; i++) {
        int m;

        if (!mux_proc_byte(d, buf[i])) {
            continue;
        }
        /* the focus may have moved with a "C-a c" earlier in @buf */
        m = d->focus;
        if (m >= 0 && d->prod[m] - d->cons[m] < MUX_BUFFER_SIZE) {
            d->buf[m][d->prod[m]++ % MUX_BUFFER_SIZE] = buf[i];
        }
    }
    mux_flush(d);
}

/* Events of the backend reach every frontend. */
static void mux_event(void *opaque, ChrEvent event)
{
    if (muxes_opened) {
        mux_send_all_event(opaque, event);
    }
}

/* ---- the Chardev side ---- */

static void mux_accept_input(Chardev *chr)
{
    mux_flush((MuxChardev *)chr);
}

/* Events raised on the mux itself (a break, its opening) go to focus. */
static void mux_be_event(Chardev *chr, ChrEvent event)
{
    MuxChardev *d = (MuxChardev *)chr;

    mux_send_event(d, d->focus, event);
}

static bool mux_attach(Chardev *chr, const ChrFrontend *fe, GError **errp)
{
    MuxChardev *d = (MuxChardev *)chr;
    int n = 0;

    while (n < MUX_MAX && d->used[n]) {
        n++;
    }
    if (n == MUX_MAX) {
        error_setg(errp, "Device '%s' is in use", chr->label);
        return false;
    }
    d->fe[n] = *fe;
    d->used[n] = true;
    d->prod[n] = d->cons[n] = 0;
    /* The newest frontend takes focus: with -nographic, the serial port. */
    mux_set_focus(d, n);
    if (chr->be_open) {
        mux_send_event(d, n, CHR_EVENT_OPENED);
    }
    return true;
}

static void mux_detach(Chardev *chr, void *opaque)
{
    MuxChardev *d = (MuxChardev *)chr;

    for (int n = 0; n < MUX_MAX; n++) {
        if (d->used[n] && d->fe[n].opaque == opaque) {
            d->used[n] = false;
            if (d->focus == n) {
                mux_next_focus(d);
            }
            if (d->focus == n) {
                d->focus = -1;
            }
            return;
        }
    }
}

static bool mux_fe_is_open(Chardev *chr)
{
    MuxChardev *d = (MuxChardev *)chr;

    for (int n = 0; n < MUX_MAX; n++) {
        if (d->used[n]) {
            return true;
        }
    }
    return false;
}

static bool mux_open(Chardev *chr, const QOpts *opts, bool *be_opened,
                     GError **errp)
{
    MuxChardev *d = (MuxChardev *)chr;
    const char *id = qopts_get(opts, "chardev");
    Chardev *base;

    d->focus = -1;
    if (!id) {
        error_setg(errp, "chardev: mux: no chardev given");
        return false;
    }
    base = qemu_chr_find(id);
    if (!base) {
        error_setg(errp, "mux: base chardev %s not found", id);
        return false;
    }
    if (!qemu_chr_attach(base, mux_can_read, mux_read, mux_event, d, errp)) {
        return false;
    }
    d->base = base;
    *be_opened = muxes_opened;
    return true;
}

static void mux_finalize(Chardev *chr)
{
    MuxChardev *d = (MuxChardev *)chr;

    if (d->base) {
        qemu_chr_detach(d->base, d);
    }
}

const ChardevClass char_mux_class = {
    .name = "mux",
    .instance_size = sizeof(MuxChardev),
    .open = mux_open,
    .write = mux_write,
    .finalize = mux_finalize,
    .attach = mux_attach,
    .detach = mux_detach,
    .fe_is_open = mux_fe_is_open,
    .accept_input = mux_accept_input,
    .be_event = mux_be_event,
};

void qemu_chr_suspend_mux_open(void)
{
    muxes_opened = false;
}

static void mux_open_now(Chardev *chr, void *opaque)
{
    (void)opaque;
    if (qemu_chr_is_mux(chr) && !chr->be_open) {
        mux_send_all_event((MuxChardev *)chr, CHR_EVENT_OPENED);
        chr->be_open = true;
    }
}

void qemu_chr_resume_mux_open(void)
{
    muxes_opened = true;
    qemu_chr_foreach(mux_open_now, NULL);
}
