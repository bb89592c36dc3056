/*
 * Network clients.  A NIC front end (virtio-net) and a backend (tap,
 * user) are NetClientStates joined as peers, one pair per queue: a
 * backend with queues=4 is four clients with the same name, and the NIC
 * that takes it makes four of its own.  Everything here runs in the main
 * loop with the BQL held.
 *
 * Frames.  Between a NIC and a backend that has a vnet header
 * (qemu_has_vnet_hdr) and on which the NIC called qemu_set_vnet_hdr_len,
 * every frame starts with that many bytes of struct virtio_net_hdr_v1
 * (10 or 12); otherwise frames are plain Ethernet.
 *
 * Flow control, both directions.  A sender asks qemu_can_send_packet()
 * before it reads its source (a backend its fd, the NIC its TX ring).
 * qemu_sendv_packet() returns the frame's size when the receiver took or
 * dropped it, and 0 when the receiver cannot take it now: the sender then
 * keeps that frame, stops reading, and waits until its info->peer_ready
 * is called.  The receiver calls qemu_flush_queued_packets(itself) when
 * it can take frames again (the guest posted RX buffers), which calls its
 * peer's peer_ready.  So nothing is ever queued without bound: a guest
 * that posts no buffers leaves the frames in the tap's kernel queue.
 */
#ifndef NET_NET_H
#define NET_NET_H

#include "qemu/osdep.h"
#include "qemu/option.h"
#include <sys/uio.h>

#define MAX_QUEUE_NUM 256          /* queues of one netdev, as QEMU */

typedef enum NetClientDriver {
    NET_CLIENT_DRIVER_NIC,
    NET_CLIENT_DRIVER_TAP,
    NET_CLIENT_DRIVER_USER,
} NetClientDriver;

typedef struct NetClientState NetClientState;
typedef struct VhostNet VhostNet;

typedef struct NetClientInfo {
    NetClientDriver type;
    size_t size;                   /* instance size, >= NetClientState */
    /*
     * Take one frame sent by the peer.  Return its size when it was
     * consumed or deliberately dropped, 0 when it cannot be taken now
     * (the sender holds it until peer_ready).  Required.
     */
    ssize_t (*receive_iov)(NetClientState *nc, const struct iovec *iov,
                           int iovcnt);
    /* Could receive_iov take a frame now?  NULL: always. */
    bool (*can_receive)(NetClientState *nc);
    /* The peer can take frames again: send the held frame, read again. */
    void (*peer_ready)(NetClientState *nc);
    /* nc->link_down changed (set_link). */
    void (*link_status_changed)(NetClientState *nc);
    /* Release what the client owns; the core frees the instance. */
    void (*cleanup)(NetClientState *nc);

    /* Backends with a vnet header (tap).  NULL: none. */
    bool (*has_vnet_hdr)(NetClientState *nc);
    bool (*has_vnet_hdr_len)(NetClientState *nc, int len);
    void (*set_vnet_hdr_len)(NetClientState *nc, int len);
    bool (*has_ufo)(NetClientState *nc);
    void (*set_offload)(NetClientState *nc, int csum, int tso4, int tso6,
                        int ecn, int ufo);
    /* The backend's vhost-net device (tap with vhost=on), or NULL. */
    VhostNet *(*get_vhost_net)(NetClientState *nc);
} NetClientInfo;

struct NetClientState {
    const NetClientInfo *info;
    NetClientState *peer;
    char *model;                   /* "tap", "user", "virtio-net-pci" */
    char *name;                    /* netdev id; the NIC's device id */
    unsigned queue_index;
    unsigned queues;               /* how many clients share the name */
    bool link_down;
    bool is_netdev;                /* a backend made by -netdev or -nic */
    char info_str[256];            /* "ifname=tap0,script=no,..." */
};

/*
 * Make a client of @info->size bytes (zeroed) named @name, queue
 * @queue_index, peered with @peer if not NULL.  Clients are listed in
 * creation order.
 */
NetClientState *qemu_new_net_client(const NetClientInfo *info,
                                    NetClientState *peer, const char *model,
                                    const char *name);
/* Unpeer, cleanup and free one client. */
void qemu_del_net_client(NetClientState *nc);
/* Delete every client (at exit). */
void net_cleanup(void);

/* Call @fn for every client, in creation order. */
void qemu_foreach_net_client(void (*fn)(NetClientState *nc, void *opaque),
                             void *opaque);
/* The backend (netdev) clients named @id, in queue order, up to @max;
 * returns how many there are (0: no such netdev). */
unsigned qemu_find_netdev_queues(const char *id, NetClientState **ncs,
                                 unsigned max);

/*
 * For a NIC's "netdev" property: find the netdev @id and check that no
 * other NIC has it, with QEMU's texts ("Property 'virtio-net-pci.netdev'
 * can't find value 'x'", "... can't take value 'x', it's in use").
 * Fills @peers (up to MAX_QUEUE_NUM) and *@nqueues.
 */
bool qemu_net_claim_netdev(const char *id, const char *dev_type,
                           NetClientState **peers, unsigned *nqueues,
                           GError **errp);

/* Flow control and delivery; see the top of this file. */
bool qemu_can_send_packet(NetClientState *sender);
ssize_t qemu_sendv_packet(NetClientState *sender, const struct iovec *iov,
                          int iovcnt);
ssize_t qemu_send_packet(NetClientState *sender, const void *buf,
                         size_t size);
void qemu_flush_queued_packets(NetClientState *receiver);

/* Vnet header of the backend @nc (false/no-op without one). */
bool qemu_has_vnet_hdr(NetClientState *nc);
bool qemu_has_vnet_hdr_len(NetClientState *nc, int len);
void qemu_set_vnet_hdr_len(NetClientState *nc, int len);
bool qemu_has_ufo(NetClientState *nc);
void qemu_set_offload(NetClientState *nc, int csum, int tso4, int tso6,
                      int ecn, int ufo);
VhostNet *qemu_get_vhost_net(NetClientState *nc);

/*
 * QMP set_link: every client named @name (a netdev's queues or a NIC's)
 * and their peers go up or down.  "Device 'x' not found" otherwise.
 */
bool qemu_set_link(const char *name, bool up, GError **errp);

/* "52:54:00:12:34:56" -> @mac; false if malformed. */
bool net_parse_macaddr(uint8_t mac[6], const char *str);
/*
 * QEMU's default MAC series: a NIC without mac= gets 52:54:00:12:34:56,
 * the next 52:54:00:12:34:57 and so on, skipping addresses in use.  A
 * NIC with its own mac= marks it used.
 */
void qemu_macaddr_default_if_unset(uint8_t mac[6], bool given);

/*
 * Netdev backend types register an init function: -netdev TYPE,... and
 * -nic TYPE,... call it with the options (JSON -netdev is turned into the
 * same form first; repeated keys such as hostfwd repeat) minus "type".
 * @id is the netdev id.  On failure nothing stays registered.
 */
typedef bool (*NetdevInitFunc)(const QOpts *opts, const char *id,
                               GError **errp);
void netdev_register_type(const char *type, NetdevInitFunc init);
/* The init function of @type, or NULL when qvmm has no such backend. */
NetdevInitFunc netdev_find_type(const char *type);

/*
 * -netdev: @arg in QemuOpts syntax ("tap,id=n0,...", repeated keys kept)
 * or JSON as libvirt writes it ({"type":"tap","id":"n0","fd":"23",
 * "vhost":true}, lists such as "hostfwd":[{"str":"..."}] repeat the key):
 * both become the same QOpts.  *@json tells which it was (some texts
 * differ).
 */
QOpts *netdev_parse_opts(const char *arg, bool *json, GError **errp);
/* "-netdev help": print the backend types; true if it was that. */
bool netdev_help(const QOpts *opts);
/*
 * Check id and type with QEMU's texts and order ("Parameter 'id' is
 * missing", "Duplicate ID 'x' for netdev", "Parameter 'type' does not
 * accept value 'x'"; QEMU types qvmm lacks are named as such), then call
 * the type's init function.
 */
bool netdev_add(const QOpts *opts, bool json, GError **errp);
/* The same for an id qvmm made up ("__org.qemu.nic0" for -nic), which
 * a user could not write. */
bool netdev_add_generated_id(const QOpts *opts, GError **errp);

#endif
