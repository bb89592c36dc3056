/*
 * vhost-net: the kernel's virtio-net data path (/dev/vhost-net).
 *
 * A tap netdev with vhost=on (or vhostfd=) has one VhostNet per queue,
 * each owning one vhost-net fd; they are chained in queue order, so the
 * VhostNet of queue 0 (qemu_get_vhost_net(peer[0])) reaches them all.
 * When the driver sets DRIVER_OK, virtio-net calls vhost_net_start():
 * queue pair i (virtqueues 2i and 2i+1, RX and TX) is handed to the
 * kernel with the guest RAM layout, the rings' host addresses, the
 * queue's ioeventfd as kick (the transport stops watching it) and its
 * MSI-X vector's eventfd as call, and the tap fd as backend; while it
 * runs the tap stops reading its fd in qvmm.  vhost_net_stop() undoes
 * it and puts the kernel's ring positions back into the virtqueues.
 *
 * Every ioctl goes through vhost_net_ioctl, so a unit test can record
 * the exact sequence against a fake.
 */
#ifndef HW_VIRTIO_VHOST_NET_H
#define HW_VIRTIO_VHOST_NET_H

#include "qemu/osdep.h"

typedef struct VhostNet VhostNet;
typedef struct VirtIOPCIProxy VirtIOPCIProxy;

/* ioctl(2) by default; tests point it at a recording fake. */
extern int (*vhost_net_ioctl)(int fd, unsigned long request, void *arg);

typedef struct VhostNetOptions {
    int vhostfd;                   /* an open /dev/vhost-net; taken over */
    int backend_fd;                /* the tap queue's fd; stays the tap's */
    bool backend_has_vnet_hdr;     /* IFF_VNET_HDR on it */
    /* The tap queue stops (false) or resumes (true) reading its fd. */
    void (*backend_poll)(void *opaque, bool enable);
    void *opaque;
    VhostNet *prev;                /* the previous queue's, or NULL */
    uint32_t busyloop_us;          /* the kernel busy-polls (poll-us=) */
} VhostNetOptions;

/*
 * VHOST_SET_OWNER and VHOST_GET_FEATURES on @o->vhostfd.  NULL with
 * "vhost-net requested but could not be initialized" on failure (the fd
 * is closed then too).
 */
VhostNet *vhost_net_init(const VhostNetOptions *o, GError **errp);
/* Stop if running, close the fd, free (and unlink from the chain). */
void vhost_net_cleanup(VhostNet *net);

/*
 * @features with the bits the kernel's vhost-net cannot do cleared
 * (only ring and net bits it knows about are looked at); the device
 * offers the result.
 */
uint64_t vhost_net_get_features(VhostNet *net, uint64_t features);

/*
 * Hand queue pairs 0..@npairs-1 of @p to the kernel.  False with @errp
 * (and nothing left started) when a queue is not usable for vhost (not
 * enabled, no MSI-X vector), a pair has no VhostNet, or an ioctl fails;
 * the device then carries on in userspace.
 */
bool vhost_net_start(VhostNet *net, VirtIOPCIProxy *p, unsigned npairs,
                     GError **errp);
/* Take them back (a no-op for what is not running). */
void vhost_net_stop(VhostNet *net, VirtIOPCIProxy *p, unsigned npairs);

#endif
