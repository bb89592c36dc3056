/*
 * A small modern virtio-pci driver (virtio 1.x, spec section 4.1) over
 * libqtest, playing the guest: it finds the function on bus 0, gives its
 * BARs addresses when nobody did (QEMU under -S runs no firmware), walks
 * the vendor capabilities, negotiates features, sets up split rings in
 * guest RAM and takes MSI-X messages as writes to guest RAM words.
 *
 * Only the modern interface is used, so a transitional device (1af4:1001
 * with a legacy I/O BAR) is driven the same way as a modern-only one.
 */
#ifndef TESTS_QTEST_VIRTIO_PCI_DRIVER_H
#define TESTS_QTEST_VIRTIO_PCI_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "libqtest.h"

#define QVIRTIO_VENDOR          0x1af4
#define QVIRTIO_MAX_QUEUES      16
#define QVIRTIO_NO_VECTOR       0xffff
/* A chain longer than this is a test bug, not a device property. */
#define QVIRTIO_MAX_CHAIN       16

typedef struct QVirtioDev QVirtioDev;

typedef struct QVirtQueue {
    QVirtioDev *dev;
    uint16_t index;
    uint16_t size;
    uint64_t desc, avail, used;         /* guest-physical ring addresses */
    uint16_t next_desc;                 /* round-robin descriptor slot */
    uint16_t avail_idx;                 /* our copy of avail->idx */
    uint16_t kicked_idx;                /* avail_idx at the last kick */
    uint16_t last_used;                 /* used->idx we have consumed */
    uint64_t notify_addr;
    uint16_t vector;                    /* MSI-X vector or NO_VECTOR */
    uint64_t msi_word;                  /* where its MSI lands */
    bool indirect;                      /* chains through indirect tables */
} QVirtQueue;

/* One element of a request chain. */
typedef struct QVirtBuf {
    uint64_t addr;
    uint32_t len;
    bool device_writes;
} QVirtBuf;

struct QVirtioDev {
    QTestState *s;
    QtGuestAlloc *alloc;
    uint8_t devfn;
    uint16_t device_id;
    uint64_t bar[6];                    /* assigned memory BAR addresses */
    uint64_t common, isr, device;       /* absolute MMIO addresses */
    uint64_t notify_base;
    uint32_t notify_mult;
    uint32_t device_cfg_len;
    uint8_t msix_cap;                   /* 0: none */
    bool msix_enabled;
    uint16_t msix_vectors;
    uint64_t msix_table;
    uint64_t config_msi_word;           /* 0 while no config vector */
    uint64_t features;                  /* negotiated */
    bool event_idx;
    QVirtQueue vq[QVIRTIO_MAX_QUEUES];
};

/*
 * Find the @nth (from 0) function on bus 0 whose vendor is 0x1af4 and
 * whose device id is one of @ids (zero-terminated); false when absent.
 * Sizes and assigns its memory BARs if they are unset, enables memory
 * decoding and bus mastering, and reads the capability list.
 */
bool qvirtio_pci_find(QVirtioDev *d, QTestState *s, QtGuestAlloc *alloc,
                      const uint16_t *ids, unsigned nth);

/* Common configuration registers (offsets as in virtio_pci_common_cfg). */
uint8_t qvirtio_get_status(QVirtioDev *d);
void qvirtio_set_status(QVirtioDev *d, uint8_t status);
/* Write 0 and wait (bounded) until the device reads back 0. */
void qvirtio_reset(QVirtioDev *d);
uint64_t qvirtio_device_features(QVirtioDev *d);
uint16_t qvirtio_num_queues(QVirtioDev *d);
/* Select queue @index and read its size (0: no such queue). */
uint16_t qvirtio_queue_max_size(QVirtioDev *d, uint16_t index);

/*
 * Reset, ACKNOWLEDGE, DRIVER, offer (device features & @wanted), set
 * FEATURES_OK and check it stuck.  VIRTIO_F_VERSION_1 is always asked
 * for.  Returns the negotiated set; fails the case when refused.
 */
uint64_t qvirtio_negotiate(QVirtioDev *d, uint64_t wanted);

/*
 * Turn MSI-X on with every vector masked except those this driver
 * routes: each routed vector writes its number + 1 to a RAM word.
 * Call after qvirtio_pci_find(), before queue setup.
 */
void qvirtio_msix_enable(QVirtioDev *d);
/* Route the configuration-change vector (vector 0). */
void qvirtio_config_vector(QVirtioDev *d);

/*
 * Allocate rings for queue @index (size min(@size, the device's); 0
 * keeps the device's), program them, give the queue MSI-X vector
 * @index + 1 when MSI-X is on, and enable it.
 */
QVirtQueue *qvirtio_queue_setup(QVirtioDev *d, uint16_t index,
                                uint16_t size);
void qvirtio_driver_ok(QVirtioDev *d);

/* Put a chain in the avail ring (no notification); returns its head. */
uint16_t qvirtq_add_chain(QVirtQueue *vq, const QVirtBuf *bufs,
                          unsigned n);
/* Notify the device, honouring avail_event when EVENT_IDX is on. */
void qvirtq_kick(QVirtQueue *vq);
/*
 * Wait (bounded wall time) for the next used element; returns false on
 * timeout.  Stores its id and written length.
 */
bool qvirtq_wait_used(QVirtQueue *vq, uint32_t *id, uint32_t *len,
                      int timeout_ms);
/* Wait for the queue's MSI word to be written, then clear it. */
bool qvirtq_wait_msi(QVirtQueue *vq, int timeout_ms);
bool qvirtio_wait_config_msi(QVirtioDev *d, int timeout_ms);

/* Raw ring access for tests that misbehave on purpose. */
void qvirtq_write_desc(QVirtQueue *vq, uint16_t i, uint64_t addr,
                       uint32_t len, uint16_t flags, uint16_t next);
void qvirtq_publish(QVirtQueue *vq, uint16_t head);
void qvirtq_set_avail_idx(QVirtQueue *vq, uint16_t idx);
uint16_t qvirtq_used_idx(QVirtQueue *vq);
uint16_t qvirtq_avail_event(QVirtQueue *vq);

/* Device-specific configuration space. */
uint8_t qvirtio_cfg_readb(QVirtioDev *d, unsigned off);
uint16_t qvirtio_cfg_readw(QVirtioDev *d, unsigned off);
uint32_t qvirtio_cfg_readl(QVirtioDev *d, unsigned off);
uint64_t qvirtio_cfg_readq(QVirtioDev *d, unsigned off);
void qvirtio_cfg_writeb(QVirtioDev *d, unsigned off, uint8_t val);

#endif
