/*
 * virtio-net-pci (virtio spec 5.1), modern interface only.
 *
 * Queues: receiveq/transmitq pairs 2i/2i+1 for each of the backend's
 * queues (one NIC client per pair, peered with the backend queue of the
 * same index), then the control queue.  As the spec says, the control
 * queue is number 2 while VIRTIO_NET_F_MQ is not negotiated and
 * 2 * max_virtqueue_pairs once it is.
 *
 * Frames between the device and a backend with a vnet header carry the
 * 12-byte struct virtio_net_hdr_v1, which passes through untouched (the
 * backend is told the guest's offloads at DRIVER_OK); without one the
 * device strips the header on transmit and writes a zeroed one on
 * receive.
 *
 * Everything runs in the main loop with the BQL held: queue kicks, the
 * backend's deliveries and the control queue.
 */
#ifndef HW_NET_VIRTIO_NET_H
#define HW_NET_VIRTIO_NET_H

#include "hw/virtio/virtio-pci.h"
#include "net/net.h"

#define TYPE_VIRTIO_NET_PCI          "virtio-net-pci"

/* rx_queue_size/tx_queue_size: a power of two in this range (QEMU's). */
#define VIRTIO_NET_QUEUE_SIZE_MIN    256
#define VIRTIO_NET_QUEUE_SIZE_MAX    1024
#define VIRTIO_NET_QUEUE_SIZE_DEF    256
#define VIRTIO_NET_CTRL_QUEUE_SIZE   64
/* Entries of the receive filter's MAC table; more means "accept all". */
#define VIRTIO_NET_MAC_TABLE_ENTRIES 64
#define VIRTIO_NET_MAX_VLAN          4096
/* Frames sent per queue per wake-up before yielding to the main loop. */
#define VIRTIO_NET_TX_BURST          256
/* Largest frame (without the vnet header) handed to a backend: QEMU's
 * NET_BUFSIZE, room for a 64 KiB GSO frame and its headers. */
#define VIRTIO_NET_MAX_FRAME         (4096 + 65536)

typedef struct VirtIONet VirtIONet;

typedef struct VirtIONetQueue {
    VirtIONet *n;
    NetClientState *nc;             /* this pair's NIC client */
    VirtQueueElement *tx_held;      /* a frame the backend could not take */
    bool tx_waiting;                /* stopped until the peer is ready */
} VirtIONetQueue;

typedef struct VirtIONetMacTable {
    unsigned in_use;                /* unicast entries first, then multi */
    unsigned first_multi;
    bool uni_overflow;              /* the driver gave more than fit */
    bool multi_overflow;
    uint8_t macs[VIRTIO_NET_MAC_TABLE_ENTRIES][6];
} VirtIONetMacTable;

struct VirtIONet {
    VirtIOPCIProxy proxy;           /* first */

    /* Properties. */
    char *netdev;
    char *mac_prop;
    bool mq;
    uint32_t vectors;
    uint16_t rx_queue_size;
    uint16_t tx_queue_size;
    uint16_t host_mtu;
    char *bootindex;                /* checked; no firmware to tell */
    bool f_csum, f_guest_csum;
    bool f_guest_tso4, f_guest_tso6, f_guest_ecn, f_guest_ufo;
    bool f_host_tso4, f_host_tso6, f_host_ecn, f_host_ufo;
    bool f_mrg_rxbuf, f_status;
    bool f_ctrl_vq, f_ctrl_rx, f_ctrl_vlan, f_ctrl_rx_extra;
    bool f_ctrl_mac_addr, f_ctrl_guest_offloads;

    uint8_t perm_mac[6];            /* mac= or the default series */
    unsigned max_pairs;             /* the backend's queues (1 without) */
    unsigned curr_pairs;            /* VQ_PAIRS_SET */
    VirtIONetQueue *vqs;            /* max_pairs entries */
    VhostNet *vhost;                /* the backend's kernel data path */
    unsigned vhost_pairs;           /* pairs vhost runs (0: none) */
    bool has_vnet_hdr;              /* the backend carries the header */
    bool has_ufo;
    bool broken;                    /* a driver error: wait for reset */
    uint16_t status;                /* VIRTIO_NET_S_LINK_UP */
    uint64_t guest_offloads;        /* the VIRTIO_NET_F_GUEST_* in use */

    /* Receive filter, as the control queue sets it. */
    uint8_t mac[6];
    bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
    VirtIONetMacTable mac_table;
    uint32_t vlans[VIRTIO_NET_MAX_VLAN / 32];
};

#endif
