/*
 * BlockBackend: what a device's drive= names.  Checks each request
 * against the image and the node's flags, sends it to libaio or the
 * worker pool, adds the flush that a disabled write cache needs, and
 * completes it in the backend's context.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "block/block_int.h"
#include "sysemu/runstate.h"
#include <sys/stat.h>

struct BlockBackend {
    char *name;
    BlockFile *file;
    bool from_drive;
    bool read_only, discard, no_flush, wce, probed;
    BlockdevOnError werror, rerror;
    char *serial;
    GMainContext *ctx;
    void *dev;
    BlockIOStatus iostatus;
    const BlockDevOps *dev_ops;
    void *dev_opaque;
    /* the node graph QEMU would show (query-named-block-nodes) */
    const char *drv;         /* "raw" | "file" */
    char *fmt_node;          /* -drive: its format node's name */
    char *file_node;         /* "#block" name of an unnamed file node */
    bool drive_alias;        /* a -drive's node-name=: not a node of its own */
    /* requests submitted and not yet completed; drain waits on it */
    GMutex lock;
    GCond drained;
    int in_flight;
    int drain_waiters;          /* threads in g_cond_wait(&drained) */
};

typedef enum ReqType {
    REQ_READ, REQ_WRITE, REQ_FLUSH, REQ_DISCARD, REQ_ZEROES,
} ReqType;

typedef struct BlkReq {
    BlockBackend *blk;
    ReqType type;
    int64_t offset, bytes;
    struct iovec *iov;       /* our copy of the caller's vector */
    int iovcnt;
    int flags;
    bool sync_after;         /* flush before completing (no write cache) */
    bool tracked, rmw;       /* O_DIRECT write ordering, see serialise() */
    int64_t ser_start, ser_end;
    BlockCompletionFunc *cb;
    void *opaque;
} BlkReq;

static GList *backends;
static BlockIOErrorHook *io_error_hook;

static bool update_perms(BlockFile *f, GError **errp);
static void blk_free(BlockBackend *blk);

/* QEMU's generated node names: a counter and two random digits. */
static char *auto_node_name(void)
{
    static uint64_t counter;

    return g_strdup_printf("#block%" PRIu64 "%02d", counter++,
                           g_random_int_range(0, 100));
}

static void blk_init_graph(BlockBackend *blk, const BlockBackendOpts *o)
{
    blk->drv = o->driver && !strcmp(o->driver, "file") ? "file" : "raw";
    blk->drive_alias = o->drive_alias;
    if (o->from_drive) {
        blk->fmt_node = o->drive_node_name ? g_strdup(o->drive_node_name)
                                           : auto_node_name();
    }
    if (o->unnamed_file) {
        blk->file_node = auto_node_name();
    }
}

bool blk_parse_cache_mode(const char *mode, bool *writeback, bool *direct,
                          bool *no_flush)
{
    static const struct {
        const char *name;
        bool writeback, direct, no_flush;
    } modes[] = {
        { "writeback", true, false, false },
        { "none", true, true, false },
        { "off", true, true, false },          /* QEMU's alias of none */
        { "writethrough", false, false, false },
        { "directsync", false, true, false },
        { "unsafe", true, false, true },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
        if (!strcmp(mode, modes[i].name)) {
            *writeback = modes[i].writeback;
            *direct = modes[i].direct;
            *no_flush = modes[i].no_flush;
            return true;
        }
    }
    return false;
}

BlockBackend *blk_new(BlockFile *f, const BlockBackendOpts *o, GError **errp)
{
    BlockBackend *blk;

    if (!o->read_only && f->read_only) {
        error_setg(errp, "Block node is read-only");
        return NULL;
    }
    blk = g_new0(BlockBackend, 1);
    blk->name = g_strdup(o->name);
    blk->file = f;
    bfile_ref(f);
    blk->from_drive = o->from_drive;
    blk->read_only = o->read_only;
    blk->discard = o->discard;
    blk->no_flush = o->no_flush;
    blk->wce = o->writeback;
    blk->probed = o->probed;
    blk->werror = o->werror;
    blk->rerror = o->rerror;
    blk->serial = g_strdup(o->serial);
    blk_init_graph(blk, o);
    g_mutex_init(&blk->lock);
    g_cond_init(&blk->drained);
    backends = g_list_append(backends, blk);
    /* An unused -drive already holds "consistent read", as in QEMU. */
    if (!update_perms(f, errp)) {
        backends = g_list_remove(backends, blk);
        blk_free(blk);
        return NULL;
    }
    return blk;
}

BlockFile *blk_file(BlockBackend *blk)
{
    return blk->file;
}

bool blk_flush_enabled(const BlockBackend *blk)
{
    return !blk->no_flush;
}

BlockBackend *blk_by_name(const char *name)
{
    for (GList *l = backends; l; l = l->next) {
        BlockBackend *blk = l->data;
        if (!strcmp(blk->name, name)) {
            return blk;
        }
    }
    return NULL;
}

/*
 * The locks on a file are the union over its users, as QEMU computes
 * them: an attached device reads (and writes unless read-only) and lets
 * no one else write; an unattached -drive still holds "consistent read".
 */
static bool update_perms(BlockFile *f, GError **errp)
{
    unsigned perm = 0, shared = BLK_PERM_ALL;

    for (GList *l = backends; l; l = l->next) {
        BlockBackend *b = l->data;

        if (b->file != f) {
            continue;
        }
        if (b->dev) {
            perm |= BLK_PERM_CONSISTENT_READ |
                    (b->read_only ? 0 : BLK_PERM_WRITE);
            shared &= ~BLK_PERM_WRITE;
        } else if (b->from_drive) {
            perm |= BLK_PERM_CONSISTENT_READ;
        }
    }
    return bfile_set_perm(f, perm, shared, errp);
}

/*
 * Two nodes on one open file (two raw nodes over one file node) do not
 * see each other's OFD locks: check what QEMU's permission graph would.
 */
static bool check_sibling_users(BlockBackend *blk, GError **errp)
{
    for (GList *l = backends; l; l = l->next) {
        BlockBackend *b = l->data;

        if (b == blk || b->file != blk->file || !b->dev) {
            continue;
        }
        if (!b->read_only || !blk->read_only) {
            error_setg(errp, "Permission conflict on node '%s': permissions "
                       "'write' are both required by node '%s' and "
                       "unshared by node '%s'", blk->file->filename,
                       b->read_only ? blk->name : b->name,
                       b->read_only ? b->name : blk->name);
            return false;
        }
    }
    return true;
}

bool blk_attach_dev(BlockBackend *blk, void *dev, GError **errp)
{
    if (blk->dev) {
        error_setg(errp, "Drive '%s' is already in use by another device",
                   blk->name);
        return false;
    }
    if (!check_sibling_users(blk, errp)) {
        return false;
    }
    blk->dev = dev;
    if (!update_perms(blk->file, errp)) {
        blk->dev = NULL;
        return false;
    }
    return true;
}

void blk_detach_dev(BlockBackend *blk, void *dev)
{
    if (blk->dev != dev) {
        return;
    }
    blk_drain(blk);
    blk->dev = NULL;
    update_perms(blk->file, NULL);
}

const char *blk_get_serial(const BlockBackend *blk)
{
    return blk->serial;
}

int64_t blk_getlength(BlockBackend *blk)
{
    return bfile_size(blk->file);
}

bool blk_is_read_only(const BlockBackend *blk)
{
    return blk->read_only;
}

bool blk_discard_enabled(const BlockBackend *blk)
{
    return blk->discard;
}

uint32_t blk_get_request_alignment(const BlockBackend *blk)
{
    return blk->file->align;
}

bool blk_enable_write_cache(const BlockBackend *blk)
{
    return blk->wce;
}

void blk_set_enable_write_cache(BlockBackend *blk, bool wce)
{
    blk->wce = wce;
}

int blockdev_on_error_parse(const char *name)
{
    static const char *const names[] = {
        [BLOCKDEV_ON_ERROR_REPORT] = "report",
        [BLOCKDEV_ON_ERROR_IGNORE] = "ignore",
        [BLOCKDEV_ON_ERROR_ENOSPC] = "enospc",
        [BLOCKDEV_ON_ERROR_STOP] = "stop",
        [BLOCKDEV_ON_ERROR_AUTO] = "auto",
    };

    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        if (!strcmp(name, names[i])) {
            return i;
        }
    }
    return -1;
}

void blk_set_on_error(BlockBackend *blk, BlockdevOnError rerror,
                      BlockdevOnError werror)
{
    blk->rerror = rerror;
    blk->werror = werror;
}

BlockdevOnError blk_get_on_error(const BlockBackend *blk, bool is_read)
{
    return is_read ? blk->rerror : blk->werror;
}

BlockErrorAction blk_get_error_action(const BlockBackend *blk, bool is_read,
                                      int error)
{
    switch (blk_get_on_error(blk, is_read)) {
    case BLOCKDEV_ON_ERROR_ENOSPC:
        return error == ENOSPC ? BLOCK_ERROR_ACTION_STOP
                               : BLOCK_ERROR_ACTION_REPORT;
    case BLOCKDEV_ON_ERROR_STOP:
        return BLOCK_ERROR_ACTION_STOP;
    case BLOCKDEV_ON_ERROR_IGNORE:
        return BLOCK_ERROR_ACTION_IGNORE;
    case BLOCKDEV_ON_ERROR_AUTO:
        /* QEMU: auto means enospc for writes, report for reads */
        return !is_read && error == ENOSPC ? BLOCK_ERROR_ACTION_STOP
                                           : BLOCK_ERROR_ACTION_REPORT;
    case BLOCKDEV_ON_ERROR_REPORT:
    default:
        return BLOCK_ERROR_ACTION_REPORT;
    }
}

void blk_set_io_error_hook(BlockIOErrorHook *hook)
{
    io_error_hook = hook;
}

void blk_error_action(BlockBackend *blk, BlockErrorAction action,
                      bool is_read, int error)
{
    BlockIOErrorInfo info = {
        .device = blk->from_drive ? blk->name : "",
        .node_name = blk->fmt_node ? blk->fmt_node : blk->name,
        .operation = is_read ? "read" : "write",
        .action = action == BLOCK_ERROR_ACTION_IGNORE ? "ignore" :
                  action == BLOCK_ERROR_ACTION_STOP ? "stop" : "report",
        .nospace = error == ENOSPC,
        .reason = g_strerror(error),
    };

    /* QEMU keeps the first failure until the VM is resumed. */
    if (action == BLOCK_ERROR_ACTION_STOP &&
        blk->iostatus == BLOCK_IO_STATUS_OK) {
        blk->iostatus = error == ENOSPC ? BLOCK_IO_STATUS_NOSPACE
                                        : BLOCK_IO_STATUS_FAILED;
    }
    if (io_error_hook) {
        io_error_hook(blk, &info);
    }
    if (action == BLOCK_ERROR_ACTION_STOP) {
        /* The device keeps the request; the VM waits for `cont`. */
        qemu_system_vmstop_request(RUN_STATE_IO_ERROR);
    }
}

BlockIOStatus blk_iostatus(const BlockBackend *blk)
{
    return blk->iostatus;
}

void blk_iostatus_reset(BlockBackend *blk)
{
    blk->iostatus = BLOCK_IO_STATUS_OK;
}

void blk_iostatus_reset_all(void)
{
    for (GList *l = backends; l; l = l->next) {
        blk_iostatus_reset(l->data);
    }
}

void blk_set_aio_context(BlockBackend *blk, GMainContext *ctx)
{
    blk->ctx = ctx == g_main_context_default() ? NULL : ctx;
}

GMainContext *blk_get_aio_context(BlockBackend *blk)
{
    return blk->ctx ? blk->ctx : g_main_context_default();
}

/* ---- requests ---- */

static void req_finish(void *opaque, int ret)
{
    BlkReq *r = opaque;
    BlockBackend *blk = r->blk;

    r->cb(r->opaque, ret);
    g_free(r->iov);
    g_free(r);
    g_mutex_lock(&blk->lock);
    /* A broadcast is a system call even with no waiter: skip it then. */
    if (--blk->in_flight == 0 && blk->drain_waiters) {
        g_cond_broadcast(&blk->drained);
    }
    g_mutex_unlock(&blk->lock);
}

static int do_flush(void *arg)
{
    BlkReq *r = arg;

    return bfile_flush(r->blk->file);
}

/*
 * With O_DIRECT, a misaligned write is a read-modify-write of whole
 * blocks: any other write to those blocks in flight at the same time
 * could be undone by it.  Such overlapping writes wait for each other,
 * in order (QEMU's serialising requests).
 */
static bool ser_conflict(const BlkReq *a, const BlkReq *b)
{
    return (a->rmw || b->rmw) && a->ser_start < b->ser_end &&
           b->ser_start < a->ser_end;
}

static bool ser_may_start(BlockFile *f, const BlkReq *r, GList *upto)
{
    for (GList *l = f->busy; l; l = l->next) {
        if (ser_conflict(r, l->data)) {
            return false;
        }
    }
    for (GList *l = f->waiting.head; l && l != upto; l = l->next) {
        if (ser_conflict(r, l->data)) {
            return false;
        }
    }
    return true;
}

/* True if @r may go now; otherwise it is queued and started later. */
static bool serialise(BlkReq *r, bool aligned)
{
    BlockFile *f = r->blk->file;
    bool go;

    if (!f->direct || f->align <= 1) {
        return true;
    }
    r->tracked = true;
    r->rmw = !aligned;
    r->ser_start = QEMU_ALIGN_DOWN(r->offset, (int64_t)f->align);
    r->ser_end = QEMU_ALIGN_UP(r->offset + r->bytes, (int64_t)f->align);
    g_mutex_lock(&f->ser_lock);
    go = ser_may_start(f, r, NULL);
    if (go) {
        f->busy = g_list_prepend(f->busy, r);
    } else {
        g_queue_push_tail(&f->waiting, r);
    }
    g_mutex_unlock(&f->ser_lock);
    return go;
}

static int do_rw(void *arg);
static void write_done(void *opaque, int ret);

static void unserialise(BlkReq *r)
{
    BlockFile *f = r->blk->file;
    GList *start = NULL;

    g_mutex_lock(&f->ser_lock);
    f->busy = g_list_remove(f->busy, r);
    for (GList *l = f->waiting.head; l;) {
        GList *next = l->next;

        if (ser_may_start(f, l->data, l)) {
            start = g_list_append(start, l->data);
            f->busy = g_list_prepend(f->busy, l->data);
            g_queue_delete_link(&f->waiting, l);
        }
        l = next;
    }
    g_mutex_unlock(&f->ser_lock);
    /* The workers take them: this may not be the requests' own thread. */
    for (GList *l = start; l; l = l->next) {
        BlkReq *w = l->data;
        thread_pool_submit(w->blk->ctx, do_rw, w, write_done, w);
    }
    g_list_free(start);
}

/* A write done: make it durable first if the write cache is off. */
static void write_done(void *opaque, int ret)
{
    BlkReq *r = opaque;

    if (r->tracked) {
        r->tracked = false;
        unserialise(r);
    }

    if (ret == 0 && r->sync_after) {
        r->sync_after = false;
        thread_pool_submit(r->blk->ctx, do_flush, r, req_finish, r);
        return;
    }
    req_finish(r, ret);
}

/*
 * After format probing guessed raw, a guest must not be able to turn the
 * image into something a later probe would open as another format: a
 * write that would leave a known header in block 0 fails, as in QEMU.
 */
static int check_probed_write(BlkReq *r)
{
    uint8_t sector[512];
    int64_t n = MIN(bfile_size(r->blk->file), (int64_t)sizeof(sector));
    int64_t pos = r->offset;
    int ret;

    memset(sector, 0, sizeof(sector));
    ret = bfile_preadv(r->blk->file, 0, &(struct iovec){ sector, n }, 1);
    if (ret < 0) {
        return ret;
    }
    if (r->type == REQ_ZEROES) {
        memset(sector + pos, 0, MIN(r->bytes, 512 - pos));
    }
    for (int i = 0; i < r->iovcnt && pos < 512; i++) {
        memcpy(sector + pos, r->iov[i].iov_base,
               MIN(r->iov[i].iov_len, (size_t)(512 - pos)));
        pos += r->iov[i].iov_len;
    }
    return block_probe_format(sector, sizeof(sector)) ? -EPERM : 0;
}

static int do_rw(void *arg)
{
    BlkReq *r = arg;
    BlockFile *f = r->blk->file;
    int ret;

    if (r->type != REQ_READ && r->blk->probed && r->offset < 512) {
        ret = check_probed_write(r);
        if (ret < 0) {
            return ret;
        }
    }
    switch (r->type) {
    case REQ_READ:
        return bfile_preadv(f, r->offset, r->iov, r->iovcnt);
    case REQ_WRITE:
        return bfile_pwritev(f, r->offset, r->iov, r->iovcnt);
    case REQ_DISCARD:
        return bfile_discard(f, r->offset, r->bytes);
    case REQ_ZEROES:
        return bfile_write_zeroes(f, r->offset, r->bytes,
                                  (r->flags & BDRV_REQ_MAY_UNMAP) &&
                                  r->blk->discard);
    case REQ_FLUSH:
        return bfile_flush(f);
    }
    return -EINVAL;
}

static BlkReq *req_new(BlockBackend *blk, ReqType type, int64_t offset,
                       int64_t bytes, const struct iovec *iov, int iovcnt,
                       int flags, BlockCompletionFunc *cb, void *opaque)
{
    BlkReq *r = g_new0(BlkReq, 1);

    r->blk = blk;
    r->type = type;
    r->offset = offset;
    r->bytes = bytes;
    r->iov = iov ? g_memdup2(iov, sizeof(*iov) * iovcnt) : NULL;
    r->iovcnt = iovcnt;
    r->flags = flags;
    r->cb = cb;
    r->opaque = opaque;
    g_mutex_lock(&blk->lock);
    blk->in_flight++;
    g_mutex_unlock(&blk->lock);
    return r;
}

/* 0, or the error a request gets before it reaches the file. */
static int check_request(BlockBackend *blk, ReqType type, int64_t offset,
                         int64_t bytes)
{
    if (type != REQ_READ && type != REQ_FLUSH && blk->read_only) {
        return -EPERM;
    }
    if (offset < 0 || bytes < 0 || bytes > INT64_MAX - offset ||
        offset + bytes > bfile_size(blk->file)) {
        return -EIO;
    }
    return 0;
}

static size_t iov_size(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;

    for (int i = 0; i < iovcnt; i++) {
        n += iov[i].iov_len;
    }
    return n;
}

static void submit_rw(BlockBackend *blk, ReqType type, int64_t offset,
                      const struct iovec *iov, int iovcnt, int flags,
                      BlockCompletionFunc *cb, void *opaque)
{
    int64_t bytes = (int64_t)MIN(iov_size(iov, iovcnt), (size_t)INT64_MAX);
    BlkReq *r = req_new(blk, type, offset, bytes, iov, iovcnt, flags,
                        cb, opaque);
    int ret = check_request(blk, type, offset, bytes);
    BlockFile *f = blk->file;
    bool aligned;

    if (ret < 0) {
        block_ctx_complete(blk->ctx, req_finish, r, ret);
        return;
    }
    r->sync_after = type == REQ_WRITE && !blk->no_flush &&
                    (!blk->wce || (flags & BDRV_REQ_FUA));
    aligned = bfile_iov_aligned(f, offset, iov, iovcnt);
    if (type == REQ_WRITE && !serialise(r, aligned)) {
        return;
    }
    if (f->aio == BLOCK_AIO_NATIVE && f->direct && aligned &&
        !(blk->probed && offset < 512 && type == REQ_WRITE)) {
        laio_submit(blk->ctx, f, type == REQ_WRITE, offset, r->iov,
                    r->iovcnt, write_done, r);
        return;
    }
    thread_pool_submit(blk->ctx, do_rw, r, write_done, r);
}

void blk_aio_preadv(BlockBackend *blk, int64_t offset,
                    const struct iovec *iov, int iovcnt,
                    BlockCompletionFunc *cb, void *opaque)
{
    submit_rw(blk, REQ_READ, offset, iov, iovcnt, 0, cb, opaque);
}

void blk_aio_pwritev(BlockBackend *blk, int64_t offset,
                     const struct iovec *iov, int iovcnt, int flags,
                     BlockCompletionFunc *cb, void *opaque)
{
    submit_rw(blk, REQ_WRITE, offset, iov, iovcnt, flags, cb, opaque);
}

void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque)
{
    BlkReq *r = req_new(blk, REQ_FLUSH, 0, 0, NULL, 0, 0, cb, opaque);

    if (blk->no_flush) {
        block_ctx_complete(blk->ctx, req_finish, r, 0);
        return;
    }
    thread_pool_submit(blk->ctx, do_rw, r, req_finish, r);
}

void blk_aio_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BlockCompletionFunc *cb, void *opaque)
{
    BlkReq *r = req_new(blk, REQ_DISCARD, offset, bytes, NULL, 0, 0,
                        cb, opaque);
    int ret = check_request(blk, REQ_DISCARD, offset, bytes);

    if (ret < 0 || !blk->discard) {
        /* discard=ignore: accepted and dropped */
        block_ctx_complete(blk->ctx, req_finish, r, ret);
        return;
    }
    thread_pool_submit(blk->ctx, do_rw, r, req_finish, r);
}

void blk_aio_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                           int flags, BlockCompletionFunc *cb, void *opaque)
{
    BlkReq *r = req_new(blk, REQ_ZEROES, offset, bytes, NULL, 0, flags,
                        cb, opaque);
    int ret = check_request(blk, REQ_ZEROES, offset, bytes);

    if (ret < 0) {
        block_ctx_complete(blk->ctx, req_finish, r, ret);
        return;
    }
    r->sync_after = !blk->no_flush && (!blk->wce || (flags & BDRV_REQ_FUA));
    if (!serialise(r, offset % blk->file->align == 0 &&
                      bytes % blk->file->align == 0)) {
        return;
    }
    thread_pool_submit(blk->ctx, do_rw, r, write_done, r);
}

/* Only aio=native batches submissions; the workers take jobs singly. */
static bool blk_uses_laio(const BlockBackend *blk)
{
    return blk->file->aio == BLOCK_AIO_NATIVE && blk->file->direct;
}

void blk_io_plug(BlockBackend *blk)
{
    if (blk_uses_laio(blk)) {
        laio_plug(blk->ctx);
    }
}

void blk_io_unplug(BlockBackend *blk)
{
    if (blk_uses_laio(blk)) {
        laio_unplug(blk->ctx);
    }
}

void blk_drain(BlockBackend *blk)
{
    GMainContext *ctx = blk_get_aio_context(blk);

    if (g_main_context_acquire(ctx)) {
        /* Our own context: run its completions until none are left. */
        for (;;) {
            int n;

            g_mutex_lock(&blk->lock);
            n = blk->in_flight;
            g_mutex_unlock(&blk->lock);
            if (!n) {
                break;
            }
            g_main_context_iteration(ctx, TRUE);
        }
        g_main_context_release(ctx);
        return;
    }
    /* Another thread (an I/O thread) runs them: wait for it. */
    g_mutex_lock(&blk->lock);
    blk->drain_waiters++;
    while (blk->in_flight) {
        g_cond_wait(&blk->drained, &blk->lock);
    }
    blk->drain_waiters--;
    g_mutex_unlock(&blk->lock);
}

/* Wait for the requests of every backend on @f (from any context). */
static void drain_file(BlockFile *f)
{
    for (GList *l = backends; l; l = l->next) {
        BlockBackend *b = l->data;
        if (b->file == f) {
            blk_drain(b);
        }
    }
}

bool blk_truncate(BlockBackend *blk, int64_t size, GError **errp)
{
    int ret;

    if (size < 0) {
        error_setg(errp, "Parameter 'size' expects a >0 size");
        return false;
    }
    if (blk->read_only || blk->file->read_only) {
        error_setg(errp, "Image is read-only");
        return false;
    }
    drain_file(blk->file);
    ret = bfile_truncate(blk->file, size);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to resize the image '%s'",
                         blk->file->filename);
        return false;
    }
    /* Whoever sits on this image sees the new size. */
    for (GList *l = backends; l; l = l->next) {
        BlockBackend *b = l->data;
        if (b->file == blk->file && b->dev_ops && b->dev_ops->resize_cb) {
            b->dev_ops->resize_cb(b->dev_opaque);
        }
    }
    return true;
}

void blk_set_dev_ops(BlockBackend *blk, const BlockDevOps *ops,
                     void *opaque)
{
    blk->dev_ops = ops;
    blk->dev_opaque = opaque;
}

/* A node by name: given names, then the generated "#block" ones. */
static BlockBackend *blk_by_node_name(const char *name)
{
    for (GList *l = backends; l; l = l->next) {
        BlockBackend *b = l->data;
        if ((!b->from_drive && !strcmp(b->name, name)) ||
            (b->fmt_node && !strcmp(b->fmt_node, name)) ||
            (b->file_node && !strcmp(b->file_node, name))) {
            return b;
        }
    }
    return NULL;
}

BlockBackend *blk_lookup(const char *device, const char *node_name,
                         GError **errp)
{
    BlockBackend *blk = device ? blk_by_name(device) : NULL;

    /* "device" names only -drive backends, as QEMU's BlockBackends. */
    if (blk && blk->from_drive) {
        return blk;
    }
    blk = node_name ? blk_by_node_name(node_name) : NULL;
    if (blk) {
        return blk;
    }
    error_setg(errp, "Cannot find device='%s' nor node-name='%s'",
               device ? device : "", node_name ? node_name : "");
    return NULL;
}

/* ---- what query-block and query-named-block-nodes show ---- */

static void node_info(const BlockBackend *blk, BlockNodeInfo *n)
{
    struct stat st;

    *n = (BlockNodeInfo){
        .node_name = blk->fmt_node ? blk->fmt_node : blk->name,
        .drv = blk->drv, .filename = blk->file->filename,
        .ro = blk->read_only, .writeback = blk->wce,
        .direct = blk->file->direct, .no_flush = blk->no_flush,
        .virtual_size = bfile_size(blk->file), .actual_size = -1,
    };
    if (fstat(blk->file->fd, &st) == 0) {
        n->actual_size = (int64_t)st.st_blocks * 512;
    }
}

void blk_foreach_node(BlockNodeFunc *fn, void *opaque)
{
    for (GList *l = backends; l; l = l->next) {
        BlockBackend *b = l->data;
        BlockNodeInfo n;

        if (b->drive_alias) {
            continue;       /* its -drive's entry stands for it */
        }
        node_info(b, &n);
        fn(&n, opaque);
        if (b->file_node) {
            n.node_name = b->file_node;
            n.drv = "file";
            fn(&n, opaque);
        }
    }
}

void blk_foreach_device(bool drives, BlockDeviceFunc *fn, void *opaque)
{
    for (GList *l = backends; l; l = l->next) {
        BlockBackend *b = l->data;
        BlockDeviceInfo d = { 0 };

        /* A -drive always; a -blockdev node once a device uses it. */
        if (b->from_drive != drives || (!drives && !b->dev)) {
            continue;
        }
        d.device = b->from_drive ? b->name : "";
        d.attached = b->dev != NULL;
        d.iostatus = b->iostatus;
        if (b->dev_ops && b->dev_ops->get_qdev_path) {
            d.qdev = b->dev_ops->get_qdev_path(b->dev_opaque);
        }
        node_info(b, &d.node);
        fn(&d, opaque);
        g_free(d.qdev);
    }
}

static void blk_free(BlockBackend *blk)
{
    blk_drain(blk);
    bfile_unref(blk->file);
    g_mutex_clear(&blk->lock);
    g_cond_clear(&blk->drained);
    g_free(blk->name);
    g_free(blk->serial);
    g_free(blk->fmt_node);
    g_free(blk->file_node);
    g_free(blk);
}

void blk_context_release(GMainContext *ctx)
{
    laio_forget_context(ctx);
    thread_pool_forget_context(ctx);
}

void blk_close_all(void)
{
    GList *l = backends;

    backends = NULL;
    g_list_free_full(l, (GDestroyNotify)blk_free);
    blockdev_reset();
}
