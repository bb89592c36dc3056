/*
 * aio=native: Linux AIO on O_DIRECT files.  One io_context per
 * GMainContext; the kernel signals completions on an eventfd that a
 * GSource in that context watches, so requests complete in the thread
 * that owns the device's context.  A short transfer is finished by a
 * pool worker, which continues where the kernel stopped.
 */
#include "qemu/osdep.h"
#include "block/block_int.h"
#include <libaio.h>
#include <sys/eventfd.h>

#define LAIO_MAX_EVENTS 256

typedef struct LaioReq {
    struct iocb iocb;
    BlockFile *file;
    bool is_write;
    int64_t offset;
    struct iovec *iov;
    int iovcnt;
    size_t bytes;
    BlockCompletionFunc *cb;
    void *opaque;
} LaioReq;

typedef struct LaioState {
    GSource source;
    GMainContext *ctx;
    io_context_t io;
    int efd;
    unsigned in_flight;
    unsigned plugged;            /* > 0: hold submissions (laio_plug) */
    GQueue pending;              /* LaioReq* not yet submitted */
} LaioState;

static GMutex states_lock;
static GHashTable *states;       /* GMainContext* -> LaioState* */

static void laio_submit_pending(LaioState *s);

/* The rest of a short transfer, done the blocking way. */
static int finish_short(void *arg)
{
    LaioReq *r = arg;

    return r->is_write ? bfile_pwritev(r->file, r->offset, r->iov, r->iovcnt)
                       : bfile_preadv(r->file, r->offset, r->iov, r->iovcnt);
}

static void finish_short_done(void *opaque, int ret)
{
    LaioReq *r = opaque;

    r->cb(r->opaque, ret);
    g_free(r);
}

static void advance(LaioReq *r, size_t n)
{
    r->offset += n;
    while (n && r->iovcnt) {
        size_t step = MIN(n, r->iov->iov_len);

        r->iov->iov_base = (char *)r->iov->iov_base + step;
        r->iov->iov_len -= step;
        n -= step;
        if (!r->iov->iov_len) {
            r->iov++;
            r->iovcnt--;
        }
    }
}

static void laio_complete(LaioState *s, LaioReq *r, long res)
{
    int ret = 0;

    if (res < 0) {
        ret = (int)res;
    } else if ((size_t)res < r->bytes) {
        if (res == 0 && r->is_write) {
            ret = -EIO;
        } else {
            advance(r, (size_t)res);
            thread_pool_submit(s->ctx, finish_short, r, finish_short_done, r);
            return;
        }
    }
    r->cb(r->opaque, ret);
    g_free(r);
}

static gboolean laio_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    LaioState *s = (LaioState *)src;
    struct io_event ev[64];
    struct timespec zero = { 0, 0 };
    uint64_t n;
    int got;

    (void)cb;
    (void)data;
    if (read(s->efd, &n, sizeof(n)) < 0) {
        /* EAGAIN: nothing new; io_getevents below finds nothing */
    }
    do {
        got = io_getevents(s->io, 0, ARRAY_SIZE(ev), ev, &zero);
        for (int i = 0; i < got; i++) {
            s->in_flight--;
            laio_complete(s, ev[i].data, (long)ev[i].res);
        }
    } while (got == (int)ARRAY_SIZE(ev));
    laio_submit_pending(s);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs laio_funcs = {
    .dispatch = laio_dispatch,
};

static LaioState *laio_get(GMainContext *ctx)
{
    LaioState *s;

    if (!ctx) {
        ctx = g_main_context_default();
    }
    g_mutex_lock(&states_lock);
    if (!states) {
        states = g_hash_table_new(NULL, NULL);
    }
    s = g_hash_table_lookup(states, ctx);
    if (!s) {
        s = (LaioState *)g_source_new(&laio_funcs, sizeof(*s));
        s->ctx = ctx;
        s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        g_assert(s->efd >= 0);
        memset(&s->io, 0, sizeof(s->io));
        if (io_setup(LAIO_MAX_EVENTS, &s->io) < 0) {
            s->io = NULL;
        }
        g_queue_init(&s->pending);
        g_source_set_name(&s->source, "linux-aio");
        g_source_add_unix_fd(&s->source, s->efd, G_IO_IN);
        /* Recursive, so that glib does not take the eventfd out of the
         * poll set around each dispatch and wake the loop twice for it
         * (see queue_watch_kicks()).  A completion that runs the loop
         * again (blk_drain) only reaps later events. */
        g_source_set_can_recurse(&s->source, TRUE);
        g_source_attach(&s->source, ctx);
        g_hash_table_insert(states, ctx, s);
    }
    g_mutex_unlock(&states_lock);
    return s;
}

static void laio_fail(LaioState *s, LaioReq *r, int ret)
{
    /* Later, in the context: never inside the submitting call. */
    block_ctx_complete(s->ctx, r->cb, r->opaque, ret);
    g_free(r);
}

/* Take @n submitted requests off the head of the queue. */
static void pending_drop(LaioState *s, int n)
{
    for (int i = 0; i < n; i++) {
        g_queue_pop_head(&s->pending);
    }
    s->in_flight += n;
}

/*
 * How many iocbs one io_submit() may take.  The kernel plugs the block
 * queue for the length of the call and dispatches nothing until it
 * returns, so a long batch leaves an idle disk idle while all of it is
 * prepared (about 4 us an iocb), and its requests then tend to finish
 * together: a convoy that a guest resubmitting what completed keeps up.
 * While few requests are in flight the disk needs the next one at once;
 * with many in flight, larger batches save system calls and cost the
 * disk nothing.  (Measured in bench/README.md.)
 */
static unsigned laio_batch_limit(const LaioState *s)
{
    return 1 + s->in_flight / 8;
}

/* Submit what is queued, in batches of laio_batch_limit(). */
static void laio_submit_pending(LaioState *s)
{
    struct iocb *cbs[64];
    LaioReq *r;

    while (!s->plugged && s->in_flight < LAIO_MAX_EVENTS &&
           !g_queue_is_empty(&s->pending)) {
        unsigned n = 0, room = LAIO_MAX_EVENTS - s->in_flight;
        unsigned limit = MIN(room, laio_batch_limit(s));
        int ret;

        for (GList *l = s->pending.head; l && n < ARRAY_SIZE(cbs) &&
             n < limit; l = l->next) {
            cbs[n++] = &((LaioReq *)l->data)->iocb;
        }
        ret = io_submit(s->io, n, cbs);
        if (ret > 0) {
            pending_drop(s, ret);
            continue;
        }
        if (ret == -EAGAIN && s->in_flight) {
            return;             /* retried when a completion frees a slot */
        }
        r = g_queue_pop_head(&s->pending);
        if (ret == -EAGAIN || ret == 0) {
            /* nothing of ours in flight to wait for: the workers do it */
            thread_pool_submit(s->ctx, finish_short, r, finish_short_done, r);
        } else {
            laio_fail(s, r, ret);   /* the first iocb was refused */
        }
    }
}

void laio_plug(GMainContext *ctx)
{
    laio_get(ctx)->plugged++;
}

void laio_unplug(GMainContext *ctx)
{
    LaioState *s = laio_get(ctx);

    if (s->plugged && --s->plugged == 0 && s->io) {
        laio_submit_pending(s);
    }
}

void laio_forget_context(GMainContext *ctx)
{
    LaioState *s;

    g_mutex_lock(&states_lock);
    s = states ? g_hash_table_lookup(states, ctx) : NULL;
    if (s) {
        g_hash_table_remove(states, ctx);
    }
    g_mutex_unlock(&states_lock);
    if (s) {
        if (s->io) {
            io_destroy(s->io);
        }
        close(s->efd);
        g_source_destroy(&s->source);
        g_source_unref(&s->source);
    }
}

void laio_submit(GMainContext *ctx, BlockFile *f, bool is_write,
                 int64_t offset, struct iovec *iov, int iovcnt,
                 BlockCompletionFunc *cb, void *opaque)
{
    LaioState *s = laio_get(ctx);
    LaioReq *r = g_new0(LaioReq, 1);

    r->file = f;
    r->is_write = is_write;
    r->offset = offset;
    r->iov = iov;
    r->iovcnt = iovcnt;
    r->cb = cb;
    r->opaque = opaque;
    for (int i = 0; i < iovcnt; i++) {
        r->bytes += iov[i].iov_len;
    }
    if (!s->io) {
        /* io_setup refused (aio-max-nr reached): the workers do it. */
        thread_pool_submit(s->ctx, finish_short, r, finish_short_done, r);
        return;
    }
    if (is_write) {
        io_prep_pwritev(&r->iocb, f->fd, iov, iovcnt, offset);
    } else {
        io_prep_preadv(&r->iocb, f->fd, iov, iovcnt, offset);
    }
    r->iocb.data = r;
    io_set_eventfd(&r->iocb, s->efd);
    g_queue_push_tail(&s->pending, r);
    laio_submit_pending(s);
}
