/*
 * A polled virtio 1.x driver core for the test guests: the modern PCI
 * transport (vendor capabilities, common configuration, notify region)
 * and split virtqueues that are polled instead of taking interrupts.
 * Structures and constants come from the Linux uapi headers.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "pci.h"

struct virtio_dev {
    struct pci_dev pci;
    volatile struct virtio_pci_common_cfg *common;
    volatile uint8_t *device_cfg;
    uint32_t device_cfg_len;
    uintptr_t notify_base;
    uint64_t notify_len;
    uint32_t notify_mult;
    uint64_t features;                  /* what we accepted */
};

struct virtq {
    uint16_t size, index;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t next_avail;                /* our copy of avail->idx */
    uint16_t last_used;                 /* used entries consumed so far */
    volatile uint16_t *notify;
    uint64_t kicks, kicks_suppressed;
    uint64_t kick_ticks;                /* TSC ticks spent in notify writes */
};

/* Bytes of (page-aligned) memory virtq_setup() needs for @n entries. */
#define VIRTQ_MEM_SIZE(n) \
    ((((n) * 16u + 6u + 2u * (n)) + 4095u) / 4096u * 4096u + 6u + 8u * (n))

#define PCI_VENDOR_ID_VIRTIO 0x1af4

/*
 * Map the common, notify and device capabilities of virtio function
 * @pci (found with pci_find) and reset it.  False, with a message, if it
 * is unusable.
 */
bool virtio_pci_probe(struct virtio_dev *v, const struct pci_dev *pci);

/*
 * ACKNOWLEDGE, DRIVER, then accept the offered subset of @wanted, which
 * must include @required (VERSION_1 is always required), and FEATURES_OK.
 */
bool virtio_negotiate(struct virtio_dev *v, uint64_t wanted,
                      uint64_t required);

/*
 * Set up queue @index with up to @max_size entries in @mem (page-aligned,
 * VIRTQ_MEM_SIZE(max_size) bytes), interrupts off (no MSI-X vector,
 * VRING_AVAIL_F_NO_INTERRUPT), and enable it.
 */
bool virtq_setup(struct virtio_dev *v, struct virtq *q, uint16_t index,
                 uint16_t max_size, void *mem);

void virtio_driver_ok(struct virtio_dev *v);
/* Set FAILED: tells the device we gave up on it. */
void virtio_set_failed(struct virtio_dev *v);
uint8_t virtio_status(const struct virtio_dev *v);

/* Device configuration fields; false if outside it or misaligned. */
bool virtio_cfg_read8(const struct virtio_dev *v, uint32_t off, uint8_t *val);
bool virtio_cfg_read16(const struct virtio_dev *v, uint32_t off, uint16_t *val);
bool virtio_cfg_read32(const struct virtio_dev *v, uint32_t off, uint32_t *val);
bool virtio_cfg_read64(const struct virtio_dev *v, uint32_t off, uint64_t *val);

/* Make the chain at @head available (seen by the device after a kick). */
static inline void virtq_push(struct virtq *q, uint16_t head)
{
    q->avail->ring[q->next_avail & (q->size - 1)] = head;
    q->next_avail++;
}

/*
 * Publish what was pushed and notify the device unless it has said it
 * does not need it (VRING_USED_F_NO_NOTIFY: it is still processing).
 */
void virtq_kick(struct virtq *q);

/*
 * One used element: 1 with *id and *len set, 0 if there is none yet, -1
 * if the device moved used->idx further than the ring holds (broken).
 */
int virtq_pop(struct virtq *q, uint32_t *id, uint32_t *len);

#endif
