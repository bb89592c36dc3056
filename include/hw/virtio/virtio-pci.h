/*
 * The virtio 1.x PCI transport (virtio spec 4.1), modern interface only.
 *
 * A virtio PCI device type's instance starts with a VirtIOPCIProxy (which
 * starts with its PCIDevice).  The device supplies a VirtIODeviceOps and
 * calls virtio_pci_realize() from its realize(); the transport then owns
 * PCI identity, the capabilities, BAR 1 (MSI-X) and BAR 4 (common config,
 * ISR, device config and notify areas, laid out as QEMU lays them out),
 * feature negotiation, device status and the queues' registers.
 *
 * Queues are kicked through ioeventfds and processed in the device's
 * context: an I/O thread's GMainContext when the device has one, else the
 * main loop's (BQL held).  Interrupts go out through MSI-X vectors or,
 * while MSI-X is off, INTx with the ISR register.
 *
 * Reset never blocks a vCPU: writing 0 to device_status stops queue
 * processing at once, and the register reads back non-zero until every
 * request the device had in flight has completed (the spec's driver
 * waits for 0 before re-initialising).
 */
#ifndef HW_VIRTIO_VIRTIO_PCI_H
#define HW_VIRTIO_VIRTIO_PCI_H

#include "hw/pci/pci.h"
#include "hw/virtio/virtio.h"
#include <linux/virtio_pci.h>

#define PCI_VENDOR_ID_REDHAT_QUMRANET  0x1af4
#define VIRTIO_PCI_DEVICE_ID_BASE      0x1040
#define VIRTIO_PCI_MAX_QUEUES          1024

/* BAR 4's areas, each 4 KiB (QEMU's layout). */
#define VIRTIO_PCI_COMMON_OFF          0x0000
#define VIRTIO_PCI_ISR_OFF             0x1000
#define VIRTIO_PCI_DEVICE_OFF          0x2000
#define VIRTIO_PCI_NOTIFY_OFF          0x3000
#define VIRTIO_PCI_AREA_SIZE           0x1000
#define VIRTIO_PCI_BAR_SIZE            0x4000
#define VIRTIO_PCI_NOTIFY_MULT         4
#define VIRTIO_PCI_MSIX_BAR            1
#define VIRTIO_PCI_MODERN_BAR          4

typedef struct VirtIOPCIProxy VirtIOPCIProxy;

typedef struct VirtIODeviceOps {
    uint16_t device_id;            /* VIRTIO_ID_* */
    uint32_t class_code;           /* PCI class, e.g. 0x010000 */
    size_t config_size;            /* at most VIRTIO_PCI_AREA_SIZE */
    /* Device feature bits offered (the transport adds its own). */
    uint64_t (*get_features)(VirtIOPCIProxy *p);
    /* Fill @config with the current device configuration. */
    void (*get_config)(VirtIOPCIProxy *p, uint8_t *config);
    /* The driver wrote @len bytes at @off of the device configuration. */
    void (*set_config)(VirtIOPCIProxy *p, uint32_t off, const uint8_t *config,
                       unsigned len);
    /* DRIVER_OK: the negotiated features and ready queues are final. */
    void (*start)(VirtIOPCIProxy *p);
    /*
     * A queue was kicked (or started with work pending).  Runs in the
     * device's context; the device pops, processes and completes.
     */
    void (*handle_queue)(VirtIOPCIProxy *p, unsigned q);
    /* Requests the device has in flight (reset waits for 0). */
    unsigned (*in_flight)(VirtIOPCIProxy *p);
    /* Reset finished: clear device state (BQL held). */
    void (*reset)(VirtIOPCIProxy *p);
} VirtIODeviceOps;

typedef struct VirtIOPCIQueue {
    VirtQueue vq;
    char name[48];
    uint16_t size;                 /* register values, staged until enable */
    uint16_t max_size;
    uint16_t vector;
    bool enabled;
    uint64_t desc, driver, device;
    int kick_fd;                   /* ioeventfd, -1 if none */
    GSource *kick_source;          /* while running */
    bool kick_external;            /* a kernel backend (vhost) reads it */
} VirtIOPCIQueue;

struct VirtIOPCIProxy {
    PCIDevice pci;                 /* first */
    const VirtIODeviceOps *ops;
    const char *type_name;         /* "virtio-blk" for messages */

    /* Properties. */
    char *disable_legacy;          /* "auto"/"on" accepted, "off" refused */
    bool disable_modern;           /* only false */
    uint32_t nvectors;             /* "vectors" */
    bool event_idx;
    bool indirect_desc;
    char *iothread_id;             /* NULL: main loop */

    GMainContext *ctx;             /* where queues and completions run */
    uint64_t host_features;
    uint64_t guest_features;
    uint32_t dfselect, gfselect;
    uint8_t status;
    uint8_t config_generation;
    uint16_t config_vector;
    uint16_t queue_sel;
    unsigned num_queues;
    VirtIOPCIQueue *queues;
    uint8_t *config;               /* ops->config_size bytes */
    uint32_t isr;                  /* atomic: bit 0 queue, bit 1 config */
    bool resetting;                /* waiting for in-flight requests */
    bool running;                  /* DRIVER_OK and queues started */
    uint32_t pci_cfg_cap;          /* offset of VIRTIO_PCI_CAP_PCI_CFG */
};

/* Properties every virtio PCI device has, for its Property list. */
#define DEFINE_VIRTIO_PCI_PROPS(_state, _field) \
    DEFINE_PCI_ADDR_PROP(_state, _field.pci), \
    DEFINE_PROP("disable-legacy", PROP_STRING, _state, \
                _field.disable_legacy, "auto"), \
    DEFINE_PROP("disable-modern", PROP_BOOL, _state, \
                _field.disable_modern, "off"), \
    DEFINE_PROP("event_idx", PROP_BOOL, _state, _field.event_idx, "on"), \
    DEFINE_PROP("indirect_desc", PROP_BOOL, _state, \
                _field.indirect_desc, "on"), \
    DEFINE_PROP("iothread", PROP_STRING, _state, _field.iothread_id, NULL)

/*
 * Set up the transport for @num_queues queues of at most @queue_size
 * entries with @nvectors MSI-X vectors (0: none).  @p's properties are
 * already set.  False with @errp (nothing left registered) on failure.
 */
bool virtio_pci_realize(VirtIOPCIProxy *p, const VirtIODeviceOps *ops,
                        const char *type_name, unsigned num_queues,
                        unsigned queue_size, GError **errp);
void virtio_pci_finalize(VirtIOPCIProxy *p);
/* Machine reset. */
void virtio_pci_reset(VirtIOPCIProxy *p);

static inline bool virtio_has_feature(const VirtIOPCIProxy *p, unsigned bit)
{
    return p->guest_features & (1ULL << bit);
}

/* Interrupt the driver for queue @q if the ring asks for it (any thread
 * the queue runs in). */
void virtio_pci_notify(VirtIOPCIProxy *p, unsigned q);
/* The device configuration changed (BQL held). */
void virtio_pci_notify_config(VirtIOPCIProxy *p);
/* Put the device into NEEDS_RESET (a queue broke, or the device did). */
void virtio_pci_set_needs_reset(VirtIOPCIProxy *p);

/* ---- for vhost: a kernel backend running a queue ---- */

typedef struct VirtIOPCIQueueRings {
    unsigned num;                  /* ring size */
    void *desc, *avail, *used;     /* host addresses of the rings */
    uint16_t last_avail_idx;       /* where the device is in the ring */
    int kick_fd;                   /* the queue's ioeventfd */
    int call_fd;                   /* its MSI-X vector's eventfd, or -1 */
} VirtIOPCIQueueRings;

/* Queue @q's rings and fds; false if it is not enabled (or no such). */
bool virtio_pci_queue_get_rings(VirtIOPCIProxy *p, unsigned q,
                                VirtIOPCIQueueRings *r);
/*
 * @external: the transport stops (true) or resumes (false) watching
 * queue @q's ioeventfd; a kick that arrives meanwhile is the backend's.
 */
void virtio_pci_queue_set_kick_external(VirtIOPCIProxy *p, unsigned q,
                                        bool external);
/* The backend gives queue @q back at avail index @idx; the used index
 * is read back from the ring the backend wrote. */
void virtio_pci_queue_set_last_avail(VirtIOPCIProxy *p, unsigned q,
                                     uint16_t idx);

#endif
