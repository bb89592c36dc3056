/*
 * vhost-net: handing a virtio-net queue pair to the kernel.  The
 * sequence (owner, features, memory table, per ring num/base/addr/kick/
 * call, then the backend) is the kernel's vhost ABI, <linux/vhost.h>.
 * See include/hw/virtio/vhost-net.h.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/virtio/vhost-net.h"
#include "hw/virtio/virtio-pci.h"
#include <sys/ioctl.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>

#define VHOST_NET_INIT_FAILED \
    "vhost-net requested but could not be initialized"

static int vhost_ioctl_real(int fd, unsigned long request, void *arg)
{
    return ioctl(fd, request, arg);
}

int (*vhost_net_ioctl)(int fd, unsigned long request, void *arg) =
    vhost_ioctl_real;

struct VhostNet {
    int fd;
    int backend_fd;
    bool backend_has_vnet_hdr;
    uint64_t kernel_features;
    uint32_t busyloop_us;
    void (*backend_poll)(void *opaque, bool enable);
    void *opaque;
    VhostNet *prev, *next;
    VirtIOPCIProxy *proxy;         /* while started */
    unsigned first_vq;
};

/* The bits whose support the kernel decides; the others are the
 * device's and the tap's business. */
static const unsigned vhost_net_feature_bits[] = {
    VIRTIO_F_NOTIFY_ON_EMPTY, VIRTIO_RING_F_INDIRECT_DESC,
    VIRTIO_RING_F_EVENT_IDX, VIRTIO_F_ANY_LAYOUT, VIRTIO_F_VERSION_1,
    VIRTIO_NET_F_MRG_RXBUF, VIRTIO_F_ACCESS_PLATFORM,
};

static uint64_t feature_mask(void)
{
    uint64_t m = 0;

    for (unsigned i = 0; i < ARRAY_SIZE(vhost_net_feature_bits); i++) {
        m |= 1ULL << vhost_net_feature_bits[i];
    }
    return m;
}

VhostNet *vhost_net_init(const VhostNetOptions *o, GError **errp)
{
    VhostNet *net = g_new0(VhostNet, 1);

    net->fd = o->vhostfd;
    net->backend_fd = o->backend_fd;
    net->backend_has_vnet_hdr = o->backend_has_vnet_hdr;
    net->backend_poll = o->backend_poll;
    net->busyloop_us = o->busyloop_us;
    net->opaque = o->opaque;
    if (vhost_net_ioctl(net->fd, VHOST_SET_OWNER, NULL) < 0 ||
        vhost_net_ioctl(net->fd, VHOST_GET_FEATURES,
                        &net->kernel_features) < 0) {
        error_setg(errp, VHOST_NET_INIT_FAILED);
        close(net->fd);
        g_free(net);
        return NULL;
    }
    if (o->prev) {
        net->prev = o->prev;
        o->prev->next = net;
    }
    return net;
}

uint64_t vhost_net_get_features(VhostNet *net, uint64_t features)
{
    return features & (~feature_mask() | net->kernel_features);
}

/* ---- one queue pair ---- */

static bool set_mem_table(VhostNet *net)
{
    unsigned n = guest_ram_num_blocks();
    g_autofree struct vhost_memory *mem =
        g_malloc0(sizeof(*mem) + n * sizeof(mem->regions[0]));

    mem->nregions = n;
    for (unsigned i = 0; i < n; i++) {
        const RAMBlock *b = guest_ram_block(i);

        mem->regions[i].guest_phys_addr = b->gpa;
        mem->regions[i].memory_size = b->size;
        mem->regions[i].userspace_addr = (uintptr_t)b->hva;
    }
    return vhost_net_ioctl(net->fd, VHOST_SET_MEM_TABLE, mem) == 0;
}

static bool set_busyloop(VhostNet *net, unsigned r)
{
    struct vhost_vring_state st = { .index = r, .num = net->busyloop_us };

    return vhost_net_ioctl(net->fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT,
                           &st) == 0;
}

/* Ring @r (0 RX, 1 TX) of this pair from virtqueue @vq of @p. */
static bool set_vring(VhostNet *net, VirtIOPCIProxy *p, unsigned r,
                      unsigned vq, GError **errp)
{
    VirtIOPCIQueueRings rings;
    struct vhost_vring_state num, base;
    struct vhost_vring_addr addr = { .index = r };
    struct vhost_vring_file kick, call;

    if (!virtio_pci_queue_get_rings(p, vq, &rings)) {
        error_setg(errp, "vhost-net: virtqueue %u is not enabled", vq);
        return false;
    }
    if (rings.call_fd < 0) {
        error_setg(errp, "vhost-net: virtqueue %u has no MSI-X vector", vq);
        return false;
    }
    num = (struct vhost_vring_state){ .index = r, .num = rings.num };
    base = (struct vhost_vring_state){ .index = r,
                                       .num = rings.last_avail_idx };
    addr.desc_user_addr = (uintptr_t)rings.desc;
    addr.avail_user_addr = (uintptr_t)rings.avail;
    addr.used_user_addr = (uintptr_t)rings.used;
    kick = (struct vhost_vring_file){ .index = r, .fd = rings.kick_fd };
    call = (struct vhost_vring_file){ .index = r, .fd = rings.call_fd };
    if (vhost_net_ioctl(net->fd, VHOST_SET_VRING_NUM, &num) < 0 ||
        vhost_net_ioctl(net->fd, VHOST_SET_VRING_BASE, &base) < 0 ||
        vhost_net_ioctl(net->fd, VHOST_SET_VRING_ADDR, &addr) < 0) {
        error_setg_errno(errp, errno, "vhost-net: setting up virtqueue %u",
                         vq);
        return false;
    }
    virtio_pci_queue_set_kick_external(p, vq, true);
    if (vhost_net_ioctl(net->fd, VHOST_SET_VRING_KICK, &kick) < 0 ||
        vhost_net_ioctl(net->fd, VHOST_SET_VRING_CALL, &call) < 0 ||
        (net->busyloop_us && !set_busyloop(net, r))) {
        error_setg_errno(errp, errno, "vhost-net: setting up virtqueue %u",
                         vq);
        return false;
    }
    return true;
}

static bool set_backend(VhostNet *net, int fd)
{
    bool ok = true;

    for (unsigned r = 0; r < 2; r++) {
        struct vhost_vring_file f = { .index = r, .fd = fd };

        ok &= vhost_net_ioctl(net->fd, VHOST_NET_SET_BACKEND, &f) == 0;
    }
    return ok;
}

/* Give the rings back: the kernel's positions go to the virtqueues. */
static void stop_one(VhostNet *net)
{
    VirtIOPCIProxy *p = net->proxy;

    set_backend(net, -1);
    for (unsigned r = 0; r < 2; r++) {
        struct vhost_vring_state st = { .index = r };

        if (vhost_net_ioctl(net->fd, VHOST_GET_VRING_BASE, &st) == 0) {
            virtio_pci_queue_set_last_avail(p, net->first_vq + r, st.num);
        }
        virtio_pci_queue_set_kick_external(p, net->first_vq + r, false);
    }
    net->backend_poll(net->opaque, true);
    net->proxy = NULL;
}

static bool start_one(VhostNet *net, VirtIOPCIProxy *p, unsigned first_vq,
                      GError **errp)
{
    uint64_t features = p->guest_features & feature_mask() &
                        net->kernel_features;

    /* Without a header on the tap, the kernel adds and strips it. */
    if (!net->backend_has_vnet_hdr) {
        features |= 1ULL << VHOST_NET_F_VIRTIO_NET_HDR;
    }
    if (vhost_net_ioctl(net->fd, VHOST_SET_FEATURES, &features) < 0 ||
        !set_mem_table(net)) {
        error_setg_errno(errp, errno, "vhost-net: features or memory table");
        return false;
    }
    net->proxy = p;
    net->first_vq = first_vq;
    net->backend_poll(net->opaque, false);
    if (!set_vring(net, p, 0, first_vq, errp) ||
        !set_vring(net, p, 1, first_vq + 1, errp)) {
        stop_one(net);
        return false;
    }
    if (!set_backend(net, net->backend_fd)) {
        error_setg_errno(errp, errno, "vhost-net: VHOST_NET_SET_BACKEND");
        stop_one(net);
        return false;
    }
    return true;
}

bool vhost_net_start(VhostNet *net, VirtIOPCIProxy *p, unsigned npairs,
                     GError **errp)
{
    VhostNet *n = net;
    unsigned i;

    for (i = 0; i < npairs; i++, n = n->next) {
        if (!n) {
            error_setg(errp, "vhost-net: the netdev has %u queues, the "
                       "device uses %u", i, npairs);
            break;
        }
        if (!start_one(n, p, 2 * i, errp)) {
            break;
        }
    }
    if (i == npairs) {
        return true;
    }
    vhost_net_stop(net, p, i);
    return false;
}

void vhost_net_stop(VhostNet *net, VirtIOPCIProxy *p, unsigned npairs)
{
    for (unsigned i = 0; i < npairs && net; i++, net = net->next) {
        if (net->proxy == p) {
            stop_one(net);
        }
    }
}

void vhost_net_cleanup(VhostNet *net)
{
    if (net->proxy) {
        stop_one(net);
    }
    if (net->prev) {
        net->prev->next = net->next;
    }
    if (net->next) {
        net->next->prev = net->prev;
    }
    close(net->fd);
    g_free(net);
}
