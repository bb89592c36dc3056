/*
 * Split virtqueues (virtio 1.x, section 2.7), independent of the transport.
 *
 * The transport (virtio-pci) owns the registers and calls
 * virtqueue_set_size(), virtqueue_set_addresses() and
 * virtqueue_set_features(); the device pops requests with virtqueue_pop(),
 * completes them with virtqueue_push() and asks virtqueue_should_notify()
 * whether to interrupt the driver.
 *
 * Everything in guest memory is hostile.  Each guest-controlled field
 * (avail->idx, a ring entry, a descriptor) is copied once into a local and
 * validated there.  Any violation marks the queue broken: the reason is
 * logged once with error_report(), the transport's on_broken callback
 * runs (to set NEEDS_RESET), and the queue pops nothing more until
 * virtqueue_reset().  Validation rules, in the order they are checked:
 *
 *  - ring placement: size a power of two in 1..VIRTQUEUE_MAX_SIZE; the
 *    descriptor table (16 * size bytes, 16-aligned), avail ring
 *    (6 + 2 * size, 2-aligned) and used ring (6 + 8 * size, 4-aligned),
 *    event fields included, each wholly inside one RAM block;
 *  - avail->idx may run ahead of last_avail_idx by at most size;
 *  - a head index from the avail ring is < size;
 *  - a chain visits at most size descriptors (loops, self-loops, over-long
 *    chains); every next is < size (< table entries for an indirect table);
 *  - INDIRECT only with VIRTIO_RING_F_INDIRECT_DESC, only on the head
 *    descriptor (as QEMU and Linux), never together with NEXT, never
 *    inside an indirect table; the table's len is a non-zero multiple of
 *    16 of at most VIRTQUEUE_MAX_SIZE entries, wholly inside one RAM block;
 *    a walk of the table visits at most its entry count;
 *  - a device-readable (out) buffer after a device-writable (in) one is
 *    refused;
 *  - a buffer of length 0 is refused (as QEMU does);
 *  - each buffer must be guest RAM: a buffer that crosses from one RAM
 *    block into a block that starts exactly where it ends is split into
 *    one iovec per block; one that reaches a hole, or wraps past 2^64, is
 *    refused;
 *  - more than max_in in-iovecs or max_out out-iovecs is refused;
 *  - the bytes of a chain, in and out together, may not exceed 2^32 - 1
 *    (the spec forbids chains of 2^32 bytes or more).
 *
 * Threading: a VirtQueue is used by one thread at a time (the main loop or
 * the device's I/O thread); ordering against the guest uses __atomic.
 */
#ifndef HW_VIRTIO_VIRTIO_H
#define HW_VIRTIO_VIRTIO_H

#include "qemu/osdep.h"
#include <sys/uio.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_config.h>

/* The largest split queue the spec allows. */
#define VIRTQUEUE_MAX_SIZE 32768

typedef struct VirtQueue VirtQueue;

struct VirtQueue {
    const char *name;           /* for messages, e.g. "virtio-blk vq 0" */
    void (*on_broken)(VirtQueue *vq, void *opaque);
    void *opaque;

    unsigned int size;          /* 0: not configured */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool ready;                 /* addresses validated for this size */
    struct vring_desc *desc;    /* host mappings of the three rings */
    struct vring_avail *avail;
    struct vring_used *used;

    bool indirect;              /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
    bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated */

    uint16_t last_avail_idx;    /* next avail entry the device consumes */
    uint16_t shadow_avail_idx;  /* last value read from avail->idx */
    uint16_t used_idx;          /* next used entry the device writes */
    uint16_t signalled_used;    /* used_idx when the driver was last told */
    bool signalled_used_valid;
    bool notification;          /* device wants kicks */

    bool broken;
    char *broken_reason;
};

/* A popped request: host iovecs over the guest's buffers. */
typedef struct VirtQueueElement {
    unsigned int index;         /* head descriptor, written back in push */
    unsigned int in_num;        /* device-writable iovecs */
    unsigned int out_num;       /* device-readable iovecs */
    uint32_t in_len;            /* total bytes of in_sg */
    uint32_t out_len;           /* total bytes of out_sg */
    struct iovec *in_sg;
    struct iovec *out_sg;
} VirtQueueElement;

/* Initialise an unconfigured queue; on_broken may be NULL. */
void virtqueue_init(VirtQueue *vq, const char *name,
                    void (*on_broken)(VirtQueue *vq, void *opaque),
                    void *opaque);
/* Free what the queue owns (the broken reason); the queue is then reset. */
void virtqueue_cleanup(VirtQueue *vq);

/*
 * Set the size.  False (and nothing changes) unless a power of two in
 * 1..VIRTQUEUE_MAX_SIZE.  A successful call un-readies the queue: the
 * addresses must be set (and validated) again.
 */
bool virtqueue_set_size(VirtQueue *vq, unsigned int size);
/*
 * Place the rings.  False unless the size is set, each address is aligned
 * and each ring lies wholly in one RAM block; the queue is then not ready.
 */
bool virtqueue_set_addresses(VirtQueue *vq, uint64_t desc, uint64_t avail,
                             uint64_t used);
/* Negotiated features (the ring bits are read; others ignored). */
void virtqueue_set_features(VirtQueue *vq, uint64_t features);

/*
 * Device reset: indices, features, addresses and the broken state are
 * cleared and the queue is not ready; the size is kept (the transport
 * sets its default again).
 */
void virtqueue_reset(VirtQueue *vq);

bool virtqueue_is_ready(const VirtQueue *vq);
bool virtqueue_is_broken(const VirtQueue *vq);
/* Why the queue broke, or NULL. */
const char *virtqueue_broken_reason(const VirtQueue *vq);

/* True when the driver has made buffers available (false if broken). */
bool virtqueue_has_work(VirtQueue *vq);

/*
 * Take the next available chain.  NULL when there is none, when the queue
 * is not ready or broken, or when the chain is invalid (then the queue is
 * broken).  Free the result with virtqueue_element_free().
 */
VirtQueueElement *virtqueue_pop(VirtQueue *vq, size_t max_in, size_t max_out);
void virtqueue_element_free(VirtQueueElement *elem);
/*
 * Give back the last chain popped and not yet pushed, so that the next
 * pop returns it again (validated again).  Chains popped together are
 * given back newest first.  A device uses this when it took buffers for
 * something it then could not complete, e.g. a frame larger than the
 * receive buffers posted so far.
 */
void virtqueue_unpop(VirtQueue *vq);

/*
 * Return a chain to the driver with @len bytes written into its in
 * buffers, and publish it (used->idx) after the element is visible.
 */
void virtqueue_push(VirtQueue *vq, const VirtQueueElement *elem,
                    uint32_t len);

/*
 * Whether to interrupt the driver after pushes: VRING_AVAIL_F_NO_INTERRUPT
 * without event-idx, used_event with it.
 */
bool virtqueue_should_notify(VirtQueue *vq);

/*
 * Ask for (enable) or suppress kicks: VRING_USED_F_NO_NOTIFY without
 * event-idx, avail_event with it.  After enabling, the caller should check
 * virtqueue_has_work() again to close the race with the driver.
 */
void virtqueue_set_notification(VirtQueue *vq, bool enable);

#endif
