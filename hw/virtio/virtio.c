/*
 * Split virtqueues: ring placement, chain walking, used ring and
 * notification suppression.  The validation rules are listed in
 * include/hw/virtio/virtio.h.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/virtio/virtio.h"
#include <endian.h>

/* Ring sizes in bytes, event fields included (virtio 1.x 2.7). */
static uint64_t desc_ring_bytes(unsigned int size)
{
    return (uint64_t)sizeof(struct vring_desc) * size;
}

static uint64_t avail_ring_bytes(unsigned int size)
{
    return sizeof(struct vring_avail) + sizeof(__virtio16) * (size + 1);
}

static uint64_t used_ring_bytes(unsigned int size)
{
    return sizeof(struct vring_used) +
           sizeof(struct vring_used_elem) * (uint64_t)size +
           sizeof(__virtio16);
}

static G_GNUC_PRINTF(2, 3) void vq_error(VirtQueue *vq, const char *fmt, ...)
{
    va_list ap;

    if (vq->broken) {
        return;
    }
    va_start(ap, fmt);
    vq->broken_reason = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    vq->broken = true;
    guest_error_report("%s: %s", vq->name, vq->broken_reason);
    if (vq->on_broken) {
        vq->on_broken(vq, vq->opaque);
    }
}

void virtqueue_init(VirtQueue *vq, const char *name,
                    void (*on_broken)(VirtQueue *vq, void *opaque),
                    void *opaque)
{
    memset(vq, 0, sizeof(*vq));
    vq->name = name ? name : "virtqueue";
    vq->on_broken = on_broken;
    vq->opaque = opaque;
    vq->notification = true;
}

static void virtqueue_unready(VirtQueue *vq)
{
    vq->ready = false;
    vq->desc = NULL;
    vq->avail = NULL;
    vq->used = NULL;
}

void virtqueue_reset(VirtQueue *vq)
{
    virtqueue_unready(vq);
    vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
    vq->indirect = false;
    vq->event_idx = false;
    vq->last_avail_idx = 0;
    vq->shadow_avail_idx = 0;
    vq->used_idx = 0;
    vq->signalled_used = 0;
    vq->signalled_used_valid = false;
    vq->notification = true;
    vq->broken = false;
    g_free(vq->broken_reason);
    vq->broken_reason = NULL;
}

void virtqueue_cleanup(VirtQueue *vq)
{
    virtqueue_reset(vq);
}

bool virtqueue_set_size(VirtQueue *vq, unsigned int size)
{
    if (size == 0 || size > VIRTQUEUE_MAX_SIZE || (size & (size - 1))) {
        return false;
    }
    vq->size = size;
    virtqueue_unready(vq);
    return true;
}

bool virtqueue_set_addresses(VirtQueue *vq, uint64_t desc, uint64_t avail,
                             uint64_t used)
{
    void *d, *a, *u;

    virtqueue_unready(vq);
    vq->desc_gpa = desc;
    vq->avail_gpa = avail;
    vq->used_gpa = used;
    if (!vq->size || (desc & 15) || (avail & 1) || (used & 3)) {
        return false;
    }
    d = guest_ram_ptr(desc, desc_ring_bytes(vq->size));
    a = guest_ram_ptr(avail, avail_ring_bytes(vq->size));
    u = guest_ram_ptr(used, used_ring_bytes(vq->size));
    if (!d || !a || !u) {
        return false;
    }
    vq->desc = d;
    vq->avail = a;
    vq->used = u;
    vq->ready = true;
    return true;
}

void virtqueue_set_features(VirtQueue *vq, uint64_t features)
{
    vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
}

bool virtqueue_is_ready(const VirtQueue *vq)
{
    return vq->ready;
}

bool virtqueue_is_broken(const VirtQueue *vq)
{
    return vq->broken;
}

const char *virtqueue_broken_reason(const VirtQueue *vq)
{
    return vq->broken_reason;
}

/* avail_event lives after the used ring, used_event after the avail ring. */
static uint16_t *avail_event_ptr(VirtQueue *vq)
{
    return (uint16_t *)&vq->used->ring[vq->size];
}

static uint16_t *used_event_ptr(VirtQueue *vq)
{
    return (uint16_t *)&vq->avail->ring[vq->size];
}

bool virtqueue_has_work(VirtQueue *vq)
{
    uint16_t idx;

    if (!vq->ready || vq->broken) {
        return false;
    }
    if (vq->shadow_avail_idx != vq->last_avail_idx) {
        return true;
    }
    /* Acquire: the ring entries and descriptors are read after idx. */
    idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
    if ((uint16_t)(idx - vq->last_avail_idx) > vq->size) {
        vq_error(vq, "guest moved avail index from %u to %u (queue size %u)",
                 vq->last_avail_idx, idx, vq->size);
        return false;
    }
    vq->shadow_avail_idx = idx;
    return idx != vq->last_avail_idx;
}

/* One descriptor copied out of guest memory: each field read once. */
typedef struct Desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
} Desc;

static void read_desc(const struct vring_desc *table, unsigned int i,
                      Desc *out)
{
    struct vring_desc raw;

    memcpy(&raw, &table[i], sizeof(raw));
    out->addr = le64toh(raw.addr);
    out->len = le32toh(raw.len);
    out->flags = le16toh(raw.flags);
    out->next = le16toh(raw.next);
}

/* Growable iovec list for one direction. */
typedef struct SgList {
    struct iovec *iov;
    unsigned int num;
    unsigned int cap;
    size_t max;
} SgList;

static bool sg_append(SgList *sg, void *base, uint64_t len)
{
    if (sg->num >= sg->max) {
        return false;
    }
    if (sg->num == sg->cap) {
        sg->cap = sg->cap ? sg->cap * 2 : 8;
        sg->iov = g_renew(struct iovec, sg->iov, sg->cap);
    }
    sg->iov[sg->num].iov_base = base;
    sg->iov[sg->num].iov_len = len;
    sg->num++;
    return true;
}

/* The RAM block holding @gpa, or NULL. */
static const RAMBlock *ram_block_at(uint64_t gpa)
{
    for (unsigned int i = 0; i < guest_ram_num_blocks(); i++) {
        const RAMBlock *b = guest_ram_block(i);
        if (gpa >= b->gpa && gpa - b->gpa < b->size) {
            return b;
        }
    }
    return NULL;
}

/*
 * Map guest buffer [gpa, gpa+len) onto @sg, one iovec per RAM block it
 * touches; blocks must be contiguous.  Returns NULL on success or a
 * static reason.
 */
static const char *map_buffer(SgList *sg, uint64_t gpa, uint64_t len)
{
    if (len == 0) {
        return "zero-sized buffer";
    }
    if (gpa + len - 1 < gpa) {
        return "buffer wraps around the address space";
    }
    while (len) {
        const RAMBlock *b = ram_block_at(gpa);
        uint64_t chunk;
        void *p;

        if (!b) {
            return "buffer outside guest RAM";
        }
        chunk = MIN(len, b->size - (gpa - b->gpa));
        p = guest_ram_ptr(gpa, chunk);
        if (!p) {
            return "buffer outside guest RAM";
        }
        if (!sg_append(sg, p, chunk)) {
            return "too many buffers in chain";
        }
        gpa += chunk;       /* cannot wrap: checked above */
        len -= chunk;
    }
    return NULL;
}

VirtQueueElement *virtqueue_pop(VirtQueue *vq, size_t max_in, size_t max_out)
{
    SgList in = { .max = max_in }, out = { .max = max_out };
    const struct vring_desc *table;
    unsigned int max, count = 0, i;
    uint16_t slot, head;
    uint64_t total = 0;
    VirtQueueElement *elem = NULL;
    const char *why;
    Desc d;

    if (!virtqueue_has_work(vq)) {
        return NULL;
    }
    slot = vq->last_avail_idx & (vq->size - 1);
    head = le16toh(__atomic_load_n(&vq->avail->ring[slot], __ATOMIC_RELAXED));
    if (head >= vq->size) {
        vq_error(vq, "head index %u out of range (queue size %u)",
                 head, vq->size);
        goto out;
    }

    table = vq->desc;
    max = vq->size;
    i = head;
    read_desc(table, i, &d);
    if (d.flags & VRING_DESC_F_INDIRECT) {
        if (!vq->indirect) {
            vq_error(vq, "indirect descriptor without the feature");
            goto out;
        }
        if (d.flags & VRING_DESC_F_NEXT) {
            vq_error(vq, "indirect descriptor with NEXT set");
            goto out;
        }
        if (d.len == 0 || d.len % sizeof(struct vring_desc) ||
            d.len / sizeof(struct vring_desc) > VIRTQUEUE_MAX_SIZE) {
            vq_error(vq, "invalid indirect table size %u", d.len);
            goto out;
        }
        table = guest_ram_ptr(d.addr, d.len);
        if (!table) {
            vq_error(vq, "indirect table at 0x%" PRIx64 "+0x%x outside RAM",
                     d.addr, d.len);
            goto out;
        }
        max = d.len / sizeof(struct vring_desc);
        i = 0;
        read_desc(table, i, &d);
    }

    for (;;) {
        if (++count > max) {
            vq_error(vq, "looped or over-long descriptor chain at head %u",
                     head);
            goto out;
        }
        if (d.flags & VRING_DESC_F_INDIRECT) {
            vq_error(vq, table == vq->desc
                     ? "indirect descriptor not at the head of a chain"
                     : "indirect descriptor inside an indirect table");
            goto out;
        }
        if (d.flags & VRING_DESC_F_WRITE) {
            why = map_buffer(&in, d.addr, d.len);
        } else if (in.num) {
            why = "device-readable descriptor after a device-writable one";
        } else {
            why = map_buffer(&out, d.addr, d.len);
        }
        if (why) {
            vq_error(vq, "%s (descriptor %u: 0x%" PRIx64 "+0x%x)",
                     why, i, d.addr, d.len);
            goto out;
        }
        total += d.len;
        if (total > UINT32_MAX) {
            vq_error(vq, "descriptor chain longer than 4 GiB at head %u",
                     head);
            goto out;
        }
        if (!(d.flags & VRING_DESC_F_NEXT)) {
            break;
        }
        if (d.next >= max) {
            vq_error(vq, "next index %u out of range (%u descriptors)",
                     d.next, max);
            goto out;
        }
        i = d.next;
        read_desc(table, i, &d);
    }

    vq->last_avail_idx++;
    if (vq->event_idx && vq->notification) {
        __atomic_store_n(avail_event_ptr(vq), htole16(vq->last_avail_idx),
                         __ATOMIC_RELAXED);
    }

    elem = g_malloc(sizeof(*elem) +
                    sizeof(struct iovec) * ((size_t)in.num + out.num));
    elem->index = head;
    elem->in_num = in.num;
    elem->out_num = out.num;
    elem->in_sg = (struct iovec *)(elem + 1);
    elem->out_sg = elem->in_sg + in.num;
    elem->in_len = elem->out_len = 0;
    for (unsigned int k = 0; k < in.num; k++) {
        elem->in_sg[k] = in.iov[k];
        elem->in_len += in.iov[k].iov_len;
    }
    for (unsigned int k = 0; k < out.num; k++) {
        elem->out_sg[k] = out.iov[k];
        elem->out_len += out.iov[k].iov_len;
    }
out:
    g_free(in.iov);
    g_free(out.iov);
    return elem;
}

void virtqueue_element_free(VirtQueueElement *elem)
{
    g_free(elem);
}

void virtqueue_unpop(VirtQueue *vq)
{
    vq->last_avail_idx--;
}

void virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len)
{
    struct vring_used_elem e;
    uint16_t slot;

    if (!vq->ready) {
        return;
    }
    slot = vq->used_idx & (vq->size - 1);
    e.id = htole32(elem->index);
    e.len = htole32(len);
    memcpy(&vq->used->ring[slot], &e, sizeof(e));
    vq->used_idx++;
    /* Release: the element is visible before the index that publishes it. */
    __atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

bool virtqueue_should_notify(VirtQueue *vq)
{
    uint16_t old, new, event;
    bool valid;

    if (!vq->ready) {
        return false;
    }
    /* Our used->idx store must be visible before we read the driver's flags. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!vq->event_idx) {
        uint16_t flags = le16toh(__atomic_load_n(&vq->avail->flags,
                                                 __ATOMIC_RELAXED));
        return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
    }
    old = vq->signalled_used;
    valid = vq->signalled_used_valid;
    new = vq->signalled_used = vq->used_idx;
    vq->signalled_used_valid = true;
    if (!valid) {
        return true;
    }
    event = le16toh(__atomic_load_n(used_event_ptr(vq), __ATOMIC_RELAXED));
    return vring_need_event(event, new, old);
}

void virtqueue_set_notification(VirtQueue *vq, bool enable)
{
    vq->notification = enable;
    if (!vq->ready) {
        return;
    }
    if (vq->event_idx) {
        if (enable) {
            __atomic_store_n(avail_event_ptr(vq),
                             htole16(vq->shadow_avail_idx), __ATOMIC_RELAXED);
        }
    } else {
        __atomic_store_n(&vq->used->flags,
                         htole16(enable ? 0 : VRING_USED_F_NO_NOTIFY),
                         __ATOMIC_RELAXED);
    }
    if (enable) {
        /* Publish the request before the caller re-reads avail->idx. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
}
