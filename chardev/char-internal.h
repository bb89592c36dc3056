/*
 * Private interface between the chardev core (char.c) and the backends.
 *
 * Every backend embeds Chardev as its first member and describes itself
 * with a ChardevClass.  All state is protected by the BQL: the main loop
 * runs our GSource callbacks with it held, and frontends call
 * qemu_chr_write() with it held.
 */
#ifndef CHARDEV_CHAR_INTERNAL_H
#define CHARDEV_CHAR_INTERNAL_H

#include "chardev/char.h"

/* Largest chunk read from a backend fd in one go. */
#define CHR_READ_BUF_LEN 4096
/*
 * Output queued for a socket or pty peer that is slow to read.  Beyond
 * this the bytes are dropped, as a serial line without flow control
 * would; it is large enough for any QMP reply.
 */
#define CHR_OUT_BUF_MAX (1 * MiB)

typedef struct ChrFrontend {
    ChrCanReadHandler *can_read;
    ChrReadHandler *read;
    ChrEventHandler *event;
    void *opaque;
} ChrFrontend;

typedef struct ChardevClass {
    const char *name;           /* backend name in -chardev */
    size_t instance_size;
    /*
     * Parse the backend's options and open it.  Clear *be_opened when
     * the backend is not ready yet (a socket without a client).
     */
    bool (*open)(Chardev *chr, const QOpts *opts, bool *be_opened,
                 GError **errp);
    /* Write all of @buf or drop it; -1 on a hard error. */
    int (*write)(Chardev *chr, const uint8_t *buf, int len);
    /* Release everything the backend holds (never the Chardev itself). */
    void (*finalize)(Chardev *chr);
    /* Only the mux overrides these: it fans out to several frontends. */
    bool (*attach)(Chardev *chr, const ChrFrontend *fe, GError **errp);
    void (*detach)(Chardev *chr, void *opaque);
    bool (*fe_is_open)(Chardev *chr);
    void (*accept_input)(Chardev *chr);
    void (*be_event)(Chardev *chr, ChrEvent event);
} ChardevClass;

struct Chardev {
    const ChardevClass *cls;
    char *label;
    char *filename;
    bool be_open;               /* backend side connected */
    /*
     * The id came from -chardev or a legacy label (QEMU's QemuOpts id), so
     * a clash is "Duplicate ID"; internal ids ("x-base") clash differently.
     */
    bool opts_id;
    int logfd;
    bool has_fe;
    ChrFrontend fe;
};

extern const ChardevClass char_null_class;
extern const ChardevClass char_file_class;
extern const ChardevClass char_stdio_class;
extern const ChardevClass char_pty_class;
extern const ChardevClass char_socket_class;
extern const ChardevClass char_mux_class;

/* ---- used by backends (char.c) ---- */

/* What the frontend can take now (0 without a frontend). */
int qemu_chr_be_can_write(Chardev *chr);
/* Deliver input to the frontend; @len must not exceed can_write. */
void qemu_chr_be_write(Chardev *chr, const uint8_t *buf, int len);
/* Track OPENED/CLOSED in be_open and pass the event on. */
void qemu_chr_be_event(Chardev *chr, ChrEvent event);

/*
 * Input from an fd, polled only while the frontend can take bytes, so a
 * full UART FIFO leaves the data in the kernel and the loop idle.
 * @ready runs in the main loop when the fd is readable or hung up; it
 * reads at most qemu_chr_be_can_write() bytes.
 */
typedef struct ChrReader ChrReader;
typedef void ChrReadyFunc(Chardev *chr, GIOCondition cond);
ChrReader *chr_reader_new(Chardev *chr, int fd, ChrReadyFunc *ready);
void chr_reader_free(ChrReader *r);

/*
 * Non-blocking output with a bounded queue, flushed from the main loop
 * when the fd becomes writable.  chr_outbuf_write() returns @len, or -1
 * with errno set on a hard error.  When a queued flush finds the peer
 * gone, @hangup runs; it must call chr_outbuf_reset().
 */
typedef struct ChrOutBuf {
    Chardev *chr;
    void (*hangup)(Chardev *chr);
    GByteArray *data;
    GSource *watch;
    int fd;
    bool is_socket;             /* use send(MSG_NOSIGNAL): no SIGPIPE */
} ChrOutBuf;
void chr_outbuf_init(ChrOutBuf *ob, Chardev *chr, int fd, bool is_socket,
                     void (*hangup)(Chardev *chr));
int chr_outbuf_write(ChrOutBuf *ob, const uint8_t *buf, int len);
/* Drop queued bytes and stop watching; the ChrOutBuf can be re-inited. */
void chr_outbuf_reset(ChrOutBuf *ob);

/* Blocking write of all of @buf (stdio, files); -1 on error. */
int chr_write_all_fd(int fd, const uint8_t *buf, int len);
/* read() retried on EINTR. */
ssize_t chr_read_fd(int fd, uint8_t *buf, size_t len);

/* Create a chardev of @cls with @id (the mux uses it for its base). */
Chardev *chr_create(const ChardevClass *cls, const char *id, bool opts_id,
                    const QOpts *opts, GError **errp);

#endif
