/*
 * virtio-blk-pci (virtio spec 5.2) on the block layer.
 *
 * Each request is parsed from its popped chain (header in the first out
 * bytes, status in the last in byte), checked against the disk's size and
 * block size with overflow-safe arithmetic, and handed to the block layer
 * asynchronously; the completion writes the status, returns the chain and
 * interrupts the driver.  Queues and completions run in the device's
 * context (its I/O thread, or the main loop).  A malformed chain or header
 * breaks the device (NEEDS_RESET); a request the disk cannot serve gets
 * VIRTIO_BLK_S_IOERR or _UNSUPP, as QEMU answers.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "block/block.h"
#include "hw/boards.h"
#include "hw/pci/msix.h"
#include "hw/virtio/virtio-pci.h"
#include "sysemu/runstate.h"
#include <endian.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_blk.h>

#define SECTOR_SHIFT         9
#define SECTOR_SIZE          (1u << SECTOR_SHIFT)
#define MAX_QUEUE_SIZE       1024
/* The most iovecs one request may use: what preadv/pwritev take. */
#define MAX_SEGS             1024
/* size_max: one data segment is at most this long. */
#define SEGMENT_SIZE_MAX     (1u << 30)
/* The device config, through write_zeroes_may_unmap and its padding. */
#define BLK_CONFIG_SIZE      offsetof(struct virtio_blk_config, unused1[3])

typedef struct VirtIOBlock {
    VirtIOPCIProxy proxy;       /* first */
    /* Properties. */
    char *drive;
    char *serial;
    uint16_t num_queues;
    uint16_t queue_size;
    char *write_cache;          /* on, off, auto */
    uint64_t logical_block_size;
    uint64_t physical_block_size;
    uint64_t min_io_size;
    uint64_t opt_io_size;
    bool config_wce;
    bool discard;
    bool write_zeroes;
    uint32_t max_discard_sectors;
    uint32_t max_write_zeroes_sectors;
    bool seg_max_adjust;
    uint32_t vectors;
    char *werror, *rerror;      /* "auto": the drive's policy */
    char *bootindex;            /* firmware boot order: none to tell */

    BlockBackend *blk;
    bool original_wce;
    unsigned in_flight;         /* atomic */
    /* werror/rerror=stop: failed requests kept while the VM is paused in
     * io-error, submitted again on resume; a device reset drops them. */
    GMutex held_lock;
    GSList *held;
} VirtIOBlock;

typedef struct VirtIOBlockReq {
    VirtIOBlock *s;
    unsigned q;
    VirtQueueElement *elem;
    uint32_t type;
    uint64_t sector;
    unsigned niov;
    struct iovec iov[];         /* data buffers (without header/status) */
} VirtIOBlockReq;

static VirtIOBlock *to_blk(VirtIOPCIProxy *p)
{
    return (VirtIOBlock *)p;
}

/* ---- completion ---- */

static void req_complete(VirtIOBlockReq *r, uint8_t status)
{
    VirtIOBlock *s = r->s;
    VirtQueueElement *e = r->elem;

    if (!__atomic_load_n(&s->proxy.resetting, __ATOMIC_ACQUIRE)) {
        /* The status byte is the last byte of the in buffers. */
        iov_from_buf(e->in_sg, e->in_num, e->in_len - 1, &status, 1);
        /* Like QEMU, report the whole in area as written. */
        virtqueue_push(&s->proxy.queues[r->q].vq, e, e->in_len);
        virtio_pci_notify(&s->proxy, r->q);
    }
    virtqueue_element_free(e);
    g_free(r);
    __atomic_fetch_sub(&s->in_flight, 1, __ATOMIC_SEQ_CST);
}

static bool req_is_read(const VirtIOBlockReq *r)
{
    return r->type == VIRTIO_BLK_T_IN;
}

/* Keep a failed request while the VM pauses (werror/rerror=stop). */
static void req_hold(VirtIOBlockReq *r)
{
    VirtIOBlock *s = r->s;

    g_mutex_lock(&s->held_lock);
    s->held = g_slist_prepend(s->held, r);
    g_mutex_unlock(&s->held_lock);
    __atomic_fetch_sub(&s->in_flight, 1, __ATOMIC_SEQ_CST);
}

static void drop_held(VirtIOBlock *s)
{
    g_mutex_lock(&s->held_lock);
    for (GSList *l = s->held; l; l = l->next) {
        VirtIOBlockReq *r = l->data;
        virtqueue_element_free(r->elem);
        g_free(r);
    }
    g_slist_free(s->held);
    s->held = NULL;
    g_mutex_unlock(&s->held_lock);
}

static void rw_done(void *opaque, int ret)
{
    VirtIOBlockReq *r = opaque;
    uint8_t status = VIRTIO_BLK_S_OK;

    if (ret < 0) {
        BlockErrorAction a = blk_get_error_action(r->s->blk, req_is_read(r),
                                                  -ret);

        blk_error_action(r->s->blk, a, req_is_read(r), -ret);
        switch (a) {
        case BLOCK_ERROR_ACTION_IGNORE:
            break;
        case BLOCK_ERROR_ACTION_STOP:
            if (!__atomic_load_n(&r->s->proxy.resetting, __ATOMIC_ACQUIRE)) {
                req_hold(r);
                return;
            }
            /* fall through */
        case BLOCK_ERROR_ACTION_REPORT:
            status = VIRTIO_BLK_S_IOERR;
        }
    }
    req_complete(r, status);
}

/* ---- request checks ---- */

/* [sector, sector + bytes/512) inside the disk and block-aligned. */
static bool sector_range_ok(VirtIOBlock *s, uint64_t sector, uint64_t bytes)
{
    int64_t len = blk_getlength(s->blk);
    uint64_t lbs = s->logical_block_size;

    if (len < 0 || sector > (uint64_t)len >> SECTOR_SHIFT) {
        return false;
    }
    if (((sector << SECTOR_SHIFT) & (lbs - 1)) || (bytes & (lbs - 1))) {
        return false;
    }
    return bytes <= (uint64_t)len - (sector << SECTOR_SHIFT);
}

static bool segments_ok(const VirtIOBlockReq *r)
{
    for (unsigned i = 0; i < r->niov; i++) {
        if (r->iov[i].iov_len > SEGMENT_SIZE_MAX) {
            return false;
        }
    }
    return true;
}

/* ---- request types ---- */

/*
 * Adjacent reads (or writes) popped in one go are merged into one block
 * request, as QEMU does: a driver's sequential stream then reaches the
 * disk in large transfers.  The batch lives for one pass over the queue.
 */
#define MERGE_MAX_REQS   32
#define MERGE_MAX_BYTES  (8u << 20)

typedef struct MergeBatch {
    VirtIOBlockReq *reqs[MERGE_MAX_REQS];
    unsigned n;
    unsigned niov;
    uint64_t bytes;
} MergeBatch;

typedef struct MergedReq {
    unsigned n;
    VirtIOBlockReq **reqs;
    struct iovec *iov;
} MergedReq;

static void merged_done(void *opaque, int ret)
{
    MergedReq *m = opaque;

    for (unsigned i = 0; i < m->n; i++) {
        rw_done(m->reqs[i], ret);
    }
    g_free(m->reqs);
    g_free(m->iov);
    g_free(m);
}

static void submit_one(VirtIOBlockReq *r, const struct iovec *iov,
                       unsigned niov, BlockCompletionFunc *cb, void *opaque)
{
    int64_t off = r->sector << SECTOR_SHIFT;

    if (req_is_read(r)) {
        blk_aio_preadv(r->s->blk, off, iov, niov, cb, opaque);
    } else {
        blk_aio_pwritev(r->s->blk, off, iov, niov, 0, cb, opaque);
    }
}

static void batch_flush(MergeBatch *b)
{
    MergedReq *m;
    unsigned k = 0;

    if (b->n == 1) {
        submit_one(b->reqs[0], b->reqs[0]->iov, b->reqs[0]->niov, rw_done,
                   b->reqs[0]);
    } else if (b->n > 1) {
        m = g_new(MergedReq, 1);
        m->n = b->n;
        m->reqs = g_memdup2(b->reqs, sizeof(b->reqs[0]) * b->n);
        m->iov = g_new(struct iovec, b->niov);
        for (unsigned i = 0; i < b->n; i++) {
            memcpy(m->iov + k, b->reqs[i]->iov,
                   sizeof(struct iovec) * b->reqs[i]->niov);
            k += b->reqs[i]->niov;
        }
        submit_one(m->reqs[0], m->iov, b->niov, merged_done, m);
    }
    b->n = b->niov = 0;
    b->bytes = 0;
}

/* Does @r continue the batch (same direction, the next sectors)? */
static bool batch_extends(const MergeBatch *b, const VirtIOBlockReq *r,
                          uint64_t bytes)
{
    const VirtIOBlockReq *first = b->reqs[0];

    return b->n < MERGE_MAX_REQS && first->type == r->type &&
           first->sector + (b->bytes >> SECTOR_SHIFT) == r->sector &&
           b->niov + r->niov <= MAX_SEGS &&
           b->bytes + bytes <= MERGE_MAX_BYTES;
}

static void handle_rw(VirtIOBlockReq *r, MergeBatch *b)
{
    VirtIOBlock *s = r->s;
    uint64_t bytes = iov_size(r->iov, r->niov);

    if (!sector_range_ok(s, r->sector, bytes) || !segments_ok(r) ||
        (!req_is_read(r) && blk_is_read_only(s->blk))) {
        req_complete(r, VIRTIO_BLK_S_IOERR);
        return;
    }
    if (bytes == 0) {
        req_complete(r, VIRTIO_BLK_S_OK);   /* nothing to transfer */
        return;
    }
    if (b->n && !batch_extends(b, r, bytes)) {
        batch_flush(b);
    }
    b->reqs[b->n++] = r;
    b->niov += r->niov;
    b->bytes += bytes;
}

static void handle_get_id(VirtIOBlockReq *r)
{
    char id[VIRTIO_BLK_ID_BYTES] = { 0 };
    const char *serial = r->s->serial;

    if (serial) {
        /* 20 bytes, NUL-padded when shorter, not terminated when not. */
        memcpy(id, serial, MIN(strlen(serial), sizeof(id)));
    }
    iov_from_buf(r->iov, r->niov, 0, id, sizeof(id));
    req_complete(r, VIRTIO_BLK_S_OK);
}

/* DISCARD and WRITE_ZEROES: one segment, as max_*_seg says. */
static void handle_dwz(VirtIOBlockReq *r)
{
    VirtIOBlock *s = r->s;
    bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
    struct virtio_blk_discard_write_zeroes seg;
    uint64_t sector, bytes;
    uint32_t num, flags, max;

    if (iov_size(r->iov, r->niov) != sizeof(seg)) {
        req_complete(r, VIRTIO_BLK_S_UNSUPP);
        return;
    }
    iov_to_buf(r->iov, r->niov, 0, &seg, sizeof(seg));
    sector = le64toh(seg.sector);
    num = le32toh(seg.num_sectors);
    flags = le32toh(seg.flags);
    max = wz ? s->max_write_zeroes_sectors : s->max_discard_sectors;
    if (flags & ~(wz ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0)) {
        req_complete(r, VIRTIO_BLK_S_UNSUPP);
        return;
    }
    bytes = (uint64_t)num << SECTOR_SHIFT;
    if (num > max || !sector_range_ok(s, sector, bytes) ||
        blk_is_read_only(s->blk)) {
        req_complete(r, VIRTIO_BLK_S_IOERR);
        return;
    }
    if (wz) {
        int f = (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) &&
                blk_discard_enabled(s->blk) ? BDRV_REQ_MAY_UNMAP : 0;
        blk_aio_pwrite_zeroes(s->blk, sector << SECTOR_SHIFT, bytes, f,
                              rw_done, r);
    } else if (blk_discard_enabled(s->blk)) {
        blk_aio_pdiscard(s->blk, sector << SECTOR_SHIFT, bytes, rw_done, r);
    } else {
        req_complete(r, VIRTIO_BLK_S_OK);   /* discard=ignore */
    }
}

/*
 * Split a chain into header, data and status.  False for a chain that no
 * driver following the spec sends: that breaks the device.
 */
static VirtIOBlockReq *parse_req(VirtIOBlock *s, unsigned q,
                                 VirtQueueElement *e)
{
    struct virtio_blk_outhdr hdr;
    VirtIOBlockReq *r;
    uint32_t type;
    bool in_data;
    const struct iovec *src;
    unsigned cnt;
    size_t off, len;
    int n;

    if (e->out_len < sizeof(hdr) || e->in_len < 1) {
        guest_error_report("%s: request without header or status byte",
                           s->proxy.queues[q].name);
        return NULL;
    }
    iov_to_buf(e->out_sg, e->out_num, 0, &hdr, sizeof(hdr));
    type = le32toh(hdr.type) & ~VIRTIO_BLK_T_BARRIER;
    in_data = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    src = in_data ? e->in_sg : e->out_sg;
    cnt = in_data ? e->in_num : e->out_num;
    off = in_data ? 0 : sizeof(hdr);
    len = in_data ? e->in_len - 1 : e->out_len - sizeof(hdr);
    /* A slice of the chain's buffers needs at most as many entries. */
    r = g_malloc0(sizeof(*r) + sizeof(struct iovec) * cnt);
    r->s = s;
    r->q = q;
    r->elem = e;
    r->type = type;
    r->sector = le64toh(hdr.sector);
    n = iov_slice(src, cnt, off, len, r->iov, cnt);
    r->niov = n < 0 ? 0 : n;
    if (n < 0) {
        r->type = UINT32_MAX;    /* answered IOERR below */
    }
    return r;
}

/* Send a parsed request (new, or held by werror=stop) on its way. */
static void submit_req(VirtIOBlockReq *r, MergeBatch *b)
{
    VirtIOBlock *s = r->s;

    switch (r->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
        handle_rw(r, b);
        break;
    case VIRTIO_BLK_T_FLUSH:
        blk_aio_flush(s->blk, rw_done, r);
        break;
    case VIRTIO_BLK_T_GET_ID:
        handle_get_id(r);
        break;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (virtio_has_feature(&s->proxy, r->type == VIRTIO_BLK_T_DISCARD ?
                               VIRTIO_BLK_F_DISCARD :
                               VIRTIO_BLK_F_WRITE_ZEROES)) {
            handle_dwz(r);
        } else {
            req_complete(r, VIRTIO_BLK_S_UNSUPP);
        }
        break;
    case UINT32_MAX:
        req_complete(r, VIRTIO_BLK_S_IOERR);
        break;
    default:
        req_complete(r, VIRTIO_BLK_S_UNSUPP);
    }
}

static void handle_request(VirtIOBlock *s, unsigned q, VirtQueueElement *e,
                           MergeBatch *b)
{
    VirtIOBlockReq *r = parse_req(s, q, e);

    if (!r) {
        virtqueue_element_free(e);
        virtio_pci_set_needs_reset(&s->proxy);
        return;
    }
    /* Anything but a read or write (a FLUSH above all) must come after
     * the reads and writes popped before it. */
    if (r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_OUT) {
        batch_flush(b);
    }
    __atomic_fetch_add(&s->in_flight, 1, __ATOMIC_SEQ_CST);
    submit_req(r, b);
}

/*
 * The VM resumed after werror/rerror=stop (QMP cont): submit the held
 * requests again, in order, in the device's context.
 */
static gboolean retry_held(gpointer opaque)
{
    VirtIOBlock *s = opaque;
    MergeBatch b = { .n = 0 };
    GSList *held;

    g_mutex_lock(&s->held_lock);
    held = g_slist_reverse(s->held);
    s->held = NULL;
    g_mutex_unlock(&s->held_lock);
    for (GSList *l = held; l; l = l->next) {
        VirtIOBlockReq *r = l->data;

        if (r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_OUT) {
            batch_flush(&b);
        }
        __atomic_fetch_add(&s->in_flight, 1, __ATOMIC_SEQ_CST);
        submit_req(r, &b);
    }
    batch_flush(&b);
    g_slist_free(held);
    return G_SOURCE_REMOVE;
}

static void virtio_blk_resume(void *opaque)
{
    VirtIOBlock *s = opaque;

    g_main_context_invoke(s->proxy.ctx, retry_held, s);
}

static void virtio_blk_handle_queue(VirtIOPCIProxy *p, unsigned q)
{
    VirtIOBlock *s = to_blk(p);
    VirtQueue *vq = &p->queues[q].vq;
    VirtQueueElement *e;

    MergeBatch b = { .n = 0 };

    blk_io_plug(s->blk);
    do {
        virtqueue_set_notification(vq, false);
        while ((e = virtqueue_pop(vq, MAX_SEGS, MAX_SEGS))) {
            handle_request(s, q, e, &b);
        }
        virtqueue_set_notification(vq, true);
    } while (!virtqueue_is_broken(vq) && virtqueue_has_work(vq));
    batch_flush(&b);
    blk_io_unplug(s->blk);
}

/* ---- device ops ---- */

static uint64_t virtio_blk_get_features(VirtIOPCIProxy *p)
{
    VirtIOBlock *s = to_blk(p);
    uint64_t f = 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
                 1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_TOPOLOGY |
                 1ULL << VIRTIO_BLK_F_FLUSH;

    if (s->config_wce) {
        f |= 1ULL << VIRTIO_BLK_F_CONFIG_WCE;
    }
    if (blk_is_read_only(s->blk)) {
        f |= 1ULL << VIRTIO_BLK_F_RO;
    }
    if (s->num_queues > 1) {
        f |= 1ULL << VIRTIO_BLK_F_MQ;
    }
    if (s->discard) {
        f |= 1ULL << VIRTIO_BLK_F_DISCARD;
    }
    if (s->write_zeroes) {
        f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    }
    return f;
}

static void virtio_blk_get_config(VirtIOPCIProxy *p, uint8_t *config)
{
    VirtIOBlock *s = to_blk(p);
    struct virtio_blk_config c = { 0 };
    int64_t len = blk_getlength(s->blk);
    uint32_t lbs = s->logical_block_size;
    uint32_t seg_max = s->queue_size - 2;

    c.capacity = htole64(len < 0 ? 0 : (uint64_t)len >> SECTOR_SHIFT);
    c.size_max = htole32(SEGMENT_SIZE_MAX);
    c.seg_max = htole32(s->seg_max_adjust ? MIN(seg_max, MAX_SEGS - 2) : 126);
    c.blk_size = htole32(lbs);
    c.physical_block_exp = __builtin_ctzll(s->physical_block_size / lbs);
    c.min_io_size = htole16(s->min_io_size / lbs);
    c.opt_io_size = htole32(s->opt_io_size / lbs);
    c.wce = blk_enable_write_cache(s->blk);
    c.num_queues = htole16(s->num_queues);
    c.max_discard_sectors = htole32(s->max_discard_sectors);
    c.max_discard_seg = htole32(1);
    c.discard_sector_alignment = htole32(lbs >> SECTOR_SHIFT);
    c.max_write_zeroes_sectors = htole32(s->max_write_zeroes_sectors);
    c.max_write_zeroes_seg = htole32(1);
    c.write_zeroes_may_unmap = 1;
    memcpy(config, &c, BLK_CONFIG_SIZE);
}

/* Only the writeback byte is the driver's to write (CONFIG_WCE). */
static void virtio_blk_set_config(VirtIOPCIProxy *p, uint32_t off,
                                  const uint8_t *config, unsigned len)
{
    VirtIOBlock *s = to_blk(p);
    uint32_t wce = offsetof(struct virtio_blk_config, wce);

    if (off <= wce && wce - off < len &&
        virtio_has_feature(p, VIRTIO_BLK_F_CONFIG_WCE)) {
        blk_set_enable_write_cache(s->blk, config[wce] != 0);
    }
}

/* A driver that does not know FLUSH cannot cope with a volatile cache. */
static void virtio_blk_start(VirtIOPCIProxy *p)
{
    VirtIOBlock *s = to_blk(p);

    if (!virtio_has_feature(p, VIRTIO_BLK_F_FLUSH)) {
        blk_set_enable_write_cache(s->blk, false);
    }
}

static unsigned virtio_blk_in_flight(VirtIOPCIProxy *p)
{
    return __atomic_load_n(&to_blk(p)->in_flight, __ATOMIC_SEQ_CST);
}

static void virtio_blk_reset(VirtIOPCIProxy *p)
{
    VirtIOBlock *s = to_blk(p);

    drop_held(s);
    blk_set_enable_write_cache(s->blk, s->original_wce);
}

static const VirtIODeviceOps virtio_blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .class_code = 0x010000,             /* mass storage, SCSI */
    .config_size = BLK_CONFIG_SIZE,
    .get_features = virtio_blk_get_features,
    .get_config = virtio_blk_get_config,
    .set_config = virtio_blk_set_config,
    .start = virtio_blk_start,
    .handle_queue = virtio_blk_handle_queue,
    .in_flight = virtio_blk_in_flight,
    .reset = virtio_blk_reset,
};

/* ---- realize ---- */

static bool check_block_size(const char *name, uint64_t v, GError **errp)
{
    if (v < 512 || v > 2 * 1024 * 1024) {
        error_setg(errp, "Property .%s doesn't take value %" PRIu64
                   " (minimum: 512, maximum: 2097152)", name, v);
        return false;
    }
    if (v & (v - 1)) {
        error_setg(errp, "Property .%s doesn't take value '%" PRIu64
                   "', it's not a power of 2", name, v);
        return false;
    }
    return true;
}

static bool check_props(VirtIOBlock *s, GError **errp)
{
    if (!s->logical_block_size) {
        s->logical_block_size = 512;
    }
    if (!s->physical_block_size) {
        s->physical_block_size = 512;
    }
    if (!check_block_size("logical_block_size", s->logical_block_size,
                          errp) ||
        !check_block_size("physical_block_size", s->physical_block_size,
                          errp)) {
        return false;
    }
    if (s->logical_block_size > s->physical_block_size) {
        error_setg(errp, "logical_block_size > physical_block_size not "
                   "supported");
        return false;
    }
    if (s->num_queues == 0xffff) {          /* auto: one per vCPU */
        s->num_queues = MIN(machine_smp_cpus(), VIRTIO_PCI_MAX_QUEUES);
    }
    if (s->num_queues == 0) {
        error_setg(errp, "num-queues property must be larger than 0");
        return false;
    }
    if (s->num_queues > VIRTIO_PCI_MAX_QUEUES) {
        error_setg(errp, "num-queues property must be at most %u",
                   VIRTIO_PCI_MAX_QUEUES);
        return false;
    }
    if (s->queue_size <= 2) {
        error_setg(errp, "invalid queue-size property (%u), must be > 2",
                   s->queue_size);
        return false;
    }
    if (s->queue_size & (s->queue_size - 1) ||
        s->queue_size > MAX_QUEUE_SIZE) {
        error_setg(errp, "invalid queue-size property (%u), must be a power "
                   "of 2 (max %u)", s->queue_size, MAX_QUEUE_SIZE);
        return false;
    }
    if (s->bootindex) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s->bootindex, &end, 0);
        if (errno || !*s->bootindex || *end || v < INT32_MIN ||
            v > INT32_MAX) {
            error_setg(errp, "Parameter 'bootindex' expects integer");
            return false;
        }
    }
    if (strcmp(s->write_cache, "on") && strcmp(s->write_cache, "off") &&
        strcmp(s->write_cache, "auto")) {
        error_setg(errp, "Parameter 'write-cache' does not accept value "
                   "'%s'", s->write_cache);
        return false;
    }
    return true;
}

/* werror=/rerror= as the device gives them ("auto" keeps the drive's). */
static bool parse_on_error(const char *name, const char *v,
                           BlockdevOnError *out, GError **errp)
{
    int e = blockdev_on_error_parse(v);

    if (e < 0) {
        error_setg(errp, "Parameter '%s' does not accept value '%s'", name,
                   v);
        return false;
    }
    *out = e;
    return true;
}

static bool apply_error_props(VirtIOBlock *s, GError **errp)
{
    BlockdevOnError re, we;

    if (!parse_on_error("werror", s->werror, &we, errp) ||
        !parse_on_error("rerror", s->rerror, &re, errp)) {
        return false;
    }
    if (re == BLOCKDEV_ON_ERROR_AUTO) {
        re = blk_get_on_error(s->blk, true);
    }
    if (we == BLOCKDEV_ON_ERROR_AUTO) {
        we = blk_get_on_error(s->blk, false);
    }
    blk_set_on_error(s->blk, re, we);
    return true;
}

static bool attach_drive(VirtIOBlock *s, GError **errp)
{
    if (!s->drive) {
        error_setg(errp, "drive property not set");
        return false;
    }
    s->blk = blk_by_name(s->drive);
    if (!s->blk) {
        error_setg(errp, "Property 'virtio-blk-device.drive' can't find "
                   "value '%s'", s->drive);
        return false;
    }
    if (!blk_attach_dev(s->blk, s, errp)) {
        s->blk = NULL;
        return false;
    }
    if (!apply_error_props(s, errp)) {
        return false;
    }
    if (!s->serial && blk_get_serial(s->blk)) {
        s->serial = g_strdup(blk_get_serial(s->blk));
    }
    if (strcmp(s->write_cache, "auto")) {
        blk_set_enable_write_cache(s->blk, !strcmp(s->write_cache, "on"));
    }
    s->original_wce = blk_enable_write_cache(s->blk);
    return true;
}

/* block_resize: the guest learns the new capacity from a config change. */
static void virtio_blk_resize(void *opaque)
{
    VirtIOBlock *s = opaque;

    virtio_pci_notify_config(&s->proxy);
}

static char *virtio_blk_qdev_path(void *opaque)
{
    g_autofree char *path = qdev_get_canonical_path(opaque);

    /* QEMU reports the virtio device inside the PCI proxy. */
    return g_strconcat(path, "/virtio-backend", NULL);
}

static const BlockDevOps virtio_blk_dev_ops = {
    .resize_cb = virtio_blk_resize,
    .get_qdev_path = virtio_blk_qdev_path,
};

static bool virtio_blk_realize(DeviceState *dev, GError **errp)
{
    VirtIOBlock *s = (VirtIOBlock *)dev;

    g_mutex_init(&s->held_lock);
    if (!check_props(s, errp) || !attach_drive(s, errp)) {
        return false;
    }
    if (s->vectors == UINT32_MAX) {
        s->vectors = s->num_queues + 1;
    }
    if (s->vectors > PCI_MSIX_MAX_VECTORS) {
        warn_report("unable to init msix vectors to %u", s->vectors);
        s->vectors = 0;
    }
    s->proxy.nvectors = s->vectors;
    if (!virtio_pci_realize(&s->proxy, &virtio_blk_ops, "virtio-blk",
                            s->num_queues, s->queue_size, errp)) {
        return false;
    }
    blk_set_aio_context(s->blk, s->proxy.ctx);
    blk_set_dev_ops(s->blk, &virtio_blk_dev_ops, s);
    runstate_add_resume_notifier(virtio_blk_resume, s);
    return true;
}

static void virtio_blk_finalize(DeviceState *dev)
{
    VirtIOBlock *s = (VirtIOBlock *)dev;
    GMainContext *ctx = s->proxy.ctx;

    runstate_remove_resume_notifier(virtio_blk_resume, s);
    if (s->blk) {
        blk_set_dev_ops(s->blk, NULL, NULL);
    }
    /* Completions must not run after the device is gone. */
    if (s->blk) {
        blk_drain(s->blk);
    }
    while (virtio_blk_in_flight(&s->proxy)) {
        if (ctx) {
            g_usleep(1000);     /* the I/O thread completes them */
        } else {
            g_main_context_iteration(NULL, FALSE);
        }
    }
    virtio_pci_finalize(&s->proxy);
    drop_held(s);
    g_mutex_clear(&s->held_lock);
    if (s->blk) {
        blk_set_aio_context(s->blk, NULL);
        blk_detach_dev(s->blk, s);
    }
}

static void virtio_blk_device_reset(DeviceState *dev)
{
    virtio_pci_reset(&((VirtIOBlock *)dev)->proxy);
}

static const Property virtio_blk_props[] = {
    DEFINE_VIRTIO_PCI_PROPS(VirtIOBlock, proxy),
    DEFINE_PROP("drive", PROP_STRING, VirtIOBlock, drive, NULL),
    DEFINE_PROP("serial", PROP_STRING, VirtIOBlock, serial, NULL),
    DEFINE_PROP("num-queues", PROP_UINT16, VirtIOBlock, num_queues, "65535"),
    DEFINE_PROP("queue-size", PROP_UINT16, VirtIOBlock, queue_size, "256"),
    DEFINE_PROP("write-cache", PROP_STRING, VirtIOBlock, write_cache, "auto"),
    DEFINE_PROP("logical_block_size", PROP_SIZE, VirtIOBlock,
                logical_block_size, "0"),
    DEFINE_PROP("physical_block_size", PROP_SIZE, VirtIOBlock,
                physical_block_size, "0"),
    DEFINE_PROP("min_io_size", PROP_SIZE, VirtIOBlock, min_io_size, "0"),
    DEFINE_PROP("opt_io_size", PROP_SIZE, VirtIOBlock, opt_io_size, "0"),
    DEFINE_PROP("config-wce", PROP_BOOL, VirtIOBlock, config_wce, "on"),
    DEFINE_PROP("discard", PROP_BOOL, VirtIOBlock, discard, "on"),
    DEFINE_PROP("write-zeroes", PROP_BOOL, VirtIOBlock, write_zeroes, "on"),
    DEFINE_PROP("max-discard-sectors", PROP_UINT32, VirtIOBlock,
                max_discard_sectors, "4194303"),
    DEFINE_PROP("max-write-zeroes-sectors", PROP_UINT32, VirtIOBlock,
                max_write_zeroes_sectors, "4194303"),
    DEFINE_PROP("seg-max-adjust", PROP_BOOL, VirtIOBlock, seg_max_adjust,
                "on"),
    DEFINE_PROP("vectors", PROP_UINT32, VirtIOBlock, vectors, "4294967295"),
    DEFINE_PROP("werror", PROP_STRING, VirtIOBlock, werror, "auto"),
    DEFINE_PROP("bootindex", PROP_STRING, VirtIOBlock, bootindex, NULL),
    DEFINE_PROP("rerror", PROP_STRING, VirtIOBlock, rerror, "auto"),
    DEFINE_PROP_END_OF_LIST()
};

static const DeviceClass virtio_blk_pci_class = {
    .name = "virtio-blk-pci",
    .bus = "pci",
    .desc = "Virtio block device",
    .alias = "virtio-blk",
    .category = DEVICE_CATEGORY_STORAGE,
    .instance_size = sizeof(VirtIOBlock),
    .props = virtio_blk_props,
    .user_creatable = true,
    .realize = virtio_blk_realize,
    .reset = virtio_blk_device_reset,
    .finalize = virtio_blk_finalize,
};

static void virtio_blk_register(void)
{
    qdev_register_type(&virtio_blk_pci_class);
}
type_init(virtio_blk_register)
