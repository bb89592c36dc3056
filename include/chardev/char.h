/*
 * Character devices: the host side of serial ports and monitors.
 *
 * A backend (stdio, file, pty, socket, null, mux) moves bytes; one
 * frontend (a UART, a monitor) attaches to it.  Input is delivered on the
 * main thread with the BQL held, and only as much as the frontend's
 * can_read() allows, so a full UART FIFO applies backpressure.
 * qemu_chr_write() may be called from any thread holding the BQL.
 */
#ifndef CHARDEV_CHAR_H
#define CHARDEV_CHAR_H

#include "qemu/osdep.h"
#include "qemu/option.h"

typedef struct Chardev Chardev;

typedef enum ChrEvent {
    CHR_EVENT_OPENED,     /* a client connected / backend ready */
    CHR_EVENT_CLOSED,     /* client went away */
    CHR_EVENT_BREAK,      /* Ctrl-a b on the mux */
    CHR_EVENT_MUX_IN,     /* the mux switched to this frontend */
    CHR_EVENT_MUX_OUT,
} ChrEvent;

typedef int ChrCanReadHandler(void *opaque);
typedef void ChrReadHandler(void *opaque, const uint8_t *buf, int len);
typedef void ChrEventHandler(void *opaque, ChrEvent event);

/* -chardev BACKEND,id=ID,...  (opts already parsed, implied key "backend") */
Chardev *qemu_chr_new_from_opts(const QOpts *opts, GError **errp);
/*
 * The legacy syntax of -serial/-qmp/-monitor: "stdio", "mon:stdio",
 * "null", "none" (returns NULL, no error), "file:PATH", "pty",
 * "unix:PATH[,server=on,wait=off]", "tcp:[HOST]:PORT[,...]", "chardev:ID".
 * @label names the chardev created ("serial0").
 */
Chardev *qemu_chr_new_legacy(const char *label, const char *spec,
                             GError **errp);
Chardev *qemu_chr_find(const char *id);
const char *qemu_chr_id(Chardev *chr);
/* For query-chardev: "unix:/path,server=on", "pty:/dev/pts/3", ... */
const char *qemu_chr_filename(Chardev *chr);

/* Attach a frontend; fails if one is already attached (unless mux). */
bool qemu_chr_attach(Chardev *chr, ChrCanReadHandler *can_read,
                     ChrReadHandler *read, ChrEventHandler *event,
                     void *opaque, GError **errp);
void qemu_chr_detach(Chardev *chr, void *opaque);
/* The frontend's can_read grew again: resume delivering input. */
void qemu_chr_accept_input(Chardev *chr);

/*
 * Write all of @buf if a peer is there; bytes are dropped while a socket
 * has no client (as QEMU does).  Returns bytes written or -1.
 */
int qemu_chr_write(Chardev *chr, const uint8_t *buf, int len);

/* Close everything and restore the terminal (every exit path). */
void qemu_chr_cleanup_all(void);
/* Restore the terminal only (async-signal-safe enough for atexit). */
void qemu_chr_restore_terminal(void);


/* ---- additions beyond the first draft of this header ---- */

/*
 * qemu_chr_new_legacy() failures that are about the spec itself use this
 * domain.  QEMU prints nothing of its own for some of them: then the
 * message is "" and the caller prints only its line ("could not connect
 * serial device to character backend '...'", "parse error: ...").
 * Failures to open the backend keep QVMM_ERROR.
 */
#define QEMU_CHR_ERROR (qemu_chr_error_quark())
GQuark qemu_chr_error_quark(void);
typedef enum QemuChrError {
    QEMU_CHR_ERROR_PARSE,       /* malformed spec, bad key, duplicate id */
    QEMU_CHR_ERROR_NOT_FOUND,   /* "chardev:ID" names no chardev */
} QemuChrError;

/*
 * The checks QEMU makes while parsing -chardev, before anything is
 * created: keys and value types ("Invalid parameter 'x'"), a well-formed
 * id, "Duplicate ID 'x' for chardev".  qemu_chr_new_from_opts() runs it
 * too; call it early to report these in QEMU's order.
 */
bool qemu_chr_opts_check(const QOpts *opts, GError **errp);

/*
 * "-chardev help" (and "?"): qemu_chr_new_from_opts() prints the list of
 * backends on stdout and returns NULL without an error; exit(0) then.
 */

/* True for a mux ("mon:..." or mux=on): a monitor may attach as well. */
bool qemu_chr_is_mux(Chardev *chr);
/* query-chardev's "frontend-open": a frontend is attached. */
bool qemu_chr_fe_is_open(Chardev *chr);
/* Every chardev, in creation order (query-chardev). */
void qemu_chr_foreach(void (*fn)(Chardev *chr, void *opaque), void *opaque);
/* chardev-send-break: CHR_EVENT_BREAK to the frontend (with focus). */
void qemu_chr_send_break(Chardev *chr);
/*
 * chardev-remove: "Chardev 'x' not found" (QVMM_ERROR_DEVICE_NOT_FOUND),
 * "Chardev 'x' is busy" while a frontend is attached.
 */
bool qemu_chr_delete(const char *id, GError **errp);

/*
 * QEMU holds back CHR_EVENT_OPENED on muxes while the command line is
 * processed, then sends it to every attached frontend at once, so only
 * the frontend with focus (the last attached, normally the serial port)
 * shows anything and the monitor prints no banner behind it.  Call
 * suspend before creating chardevs and resume once devices are realized.
 */
void qemu_chr_suspend_mux_open(void);
void qemu_chr_resume_mux_open(void);

#endif
