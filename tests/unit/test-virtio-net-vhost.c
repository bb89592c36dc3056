/*
 * virtio-net-pci with a vhost netdev, against hw/virtio/vhost-net.c with
 * a fake kernel (these hosts have no /dev/vhost-net): the device offers
 * only what the kernel's data path can do, hands its data queues over at
 * DRIVER_OK and takes them back at reset with clean ring positions, and
 * carries on in userspace when vhost cannot take them.
 */
#include "qemu/osdep.h"
#include <check.h>
#include <sys/eventfd.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include "qemu/iov.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/misc/reset-control.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/pci-host/i440fx.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/vhost-net.h"
#include "net/net.h"

#define RAM_SIZE    0x40000
#define BACKEND_FD  42
#define NO_VECTOR   0xffff
#define F(bit)      (1ULL << (bit))

static uint8_t *ram;
static PCIBus *bus;
static VirtIOPCIProxy *proxy;
static VhostNet *vhost;
static NetClientState *backend;
static GString *log_;               /* the ioctls that matter, one a line */
static unsigned frames;             /* what reached the backend */
static unsigned ring_base[2];       /* SET_VRING_BASE, per ring */
static unsigned progress;           /* what the "kernel" consumed since */

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
    (void)fd;
    switch (req) {
    case VHOST_GET_FEATURES:
        /* A kernel without mergeable buffers, to see the filter. */
        *(uint64_t *)arg = F(VIRTIO_F_VERSION_1) |
                           F(VIRTIO_RING_F_EVENT_IDX) |
                           F(VIRTIO_RING_F_INDIRECT_DESC) |
                           F(VHOST_NET_F_VIRTIO_NET_HDR);
        break;
    case VHOST_SET_VRING_BASE: {
        struct vhost_vring_state *s = arg;

        ring_base[s->index & 1] = s->num;
        break;
    }
    case VHOST_GET_VRING_BASE: {
        struct vhost_vring_state *s = arg;

        s->num = ring_base[s->index & 1] + progress;
        g_string_append_printf(log_, "GET_VRING_BASE %u\n", s->index);
        break;
    }
    case VHOST_NET_SET_BACKEND: {
        struct vhost_vring_file *f = arg;

        g_string_append_printf(log_, "NET_SET_BACKEND %u %s\n", f->index,
                               f->fd == BACKEND_FD ? "tap" : "-1");
        break;
    }
    }
    return 0;
}

static ssize_t backend_receive(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    (void)nc;
    frames++;
    return iov_size(iov, iovcnt);
}

static bool backend_true(NetClientState *nc)
{
    (void)nc;
    return true;
}

static bool backend_hdr_len(NetClientState *nc, int len)
{
    (void)nc;
    return len == 12;
}

static VhostNet *backend_vhost(NetClientState *nc)
{
    (void)nc;
    return vhost;
}

static void backend_poll(void *opaque, bool enable)
{
    (void)opaque;
    g_string_append_printf(log_, "poll %s\n", enable ? "on" : "off");
}

static const NetClientInfo backend_info = {
    .type = NET_CLIENT_DRIVER_TAP,
    .size = sizeof(NetClientState),
    .receive_iov = backend_receive,
    .has_vnet_hdr = backend_true,
    .has_vnet_hdr_len = backend_hdr_len,
    .get_vhost_net = backend_vhost,
};

static void fake_irq(unsigned gsi, int level)
{
    (void)gsi;
    (void)level;
}

static void bar4_write(uint64_t off, uint64_t val, unsigned size)
{
    io_dispatch_write(AS_MMIO, proxy->pci.bars[4].addr + off, size, val);
}

static uint64_t bar4_read(uint64_t off, unsigned size)
{
    uint64_t val = 0;

    io_dispatch_read(AS_MMIO, proxy->pci.bars[4].addr + off, size, &val);
    return val;
}

static void setup(void)
{
    GError *err = NULL;
    ResetControlState *rcr = reset_control_create(false, &err);
    VhostNetOptions o = {
        .vhostfd = eventfd(0, EFD_CLOEXEC),
        .backend_fd = BACKEND_FD,
        .backend_has_vnet_hdr = true,
        .backend_poll = backend_poll,
    };
    NetClientState *nc;
    DeviceState *d;
    uint8_t cap;

    pc_irq_set_handler(fake_irq);
    ram = g_malloc0(RAM_SIZE);
    guest_ram_reset_blocks();
    guest_ram_add_block(0, RAM_SIZE, ram, "ram-below-4g");
    bus = i440fx_create(0x80000000ULL, 0, rcr, &err);
    ck_assert_ptr_null(err);
    log_ = g_string_new(NULL);
    frames = 0;
    vhost_net_ioctl = fake_ioctl;
    vhost = vhost_net_init(&o, &err);
    ck_assert_ptr_nonnull(vhost);
    nc = qemu_new_net_client(&backend_info, NULL, "tap", "vh0");
    nc->is_netdev = true;
    backend = nc;
    d = qdev_new("virtio-net-pci");
    ck_assert(qdev_set_prop(d, "netdev", "vh0", &err));
    ck_assert_msg(qdev_realize(d, &err), "%s", err ? err->message : "");
    proxy = (VirtIOPCIProxy *)d;
    pci_bus_machine_done(bus);
    for (cap = proxy->pci.config[PCI_CAPABILITY_LIST];
         cap && proxy->pci.config[cap] != PCI_CAP_ID_MSIX;
         cap = proxy->pci.config[cap + 1]) {
    }
    ck_assert_uint_ne(cap, 0);
    pci_bus_config_write(bus, proxy->pci.devfn, cap + 2, 0x8000, 2);
    ck_assert(msix_enabled(&proxy->pci));
}

static void teardown(void)
{
    qdev_destroy_all();
    net_cleanup();
    vhost_net_cleanup(vhost);
    pci_bus_free(bus);
    guest_ram_reset_blocks();
    g_free(ram);
    g_string_free(log_, TRUE);
}

/* A driver's start: every feature offered, queues 0-2 at 0x1000 * (q+1)
 * with vector q + 1, or none for queue @no_vector. */
static uint64_t driver_start(int no_vector)
{
    uint64_t features;

    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 3, 1);
    bar4_write(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
    features = bar4_read(VIRTIO_PCI_COMMON_DF, 4);
    bar4_write(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
    features |= bar4_read(VIRTIO_PCI_COMMON_DF, 4) << 32;
    bar4_write(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    bar4_write(VIRTIO_PCI_COMMON_GF, (uint32_t)features, 4);
    bar4_write(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    bar4_write(VIRTIO_PCI_COMMON_GF, features >> 32, 4);
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xb, 1);
    for (unsigned q = 0; q < 3; q++) {
        uint64_t base = 0x1000 * (q + 1);

        bar4_write(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
        bar4_write(VIRTIO_PCI_COMMON_Q_SIZE, 64, 2);
        bar4_write(VIRTIO_PCI_COMMON_Q_DESCLO, base, 4);
        bar4_write(VIRTIO_PCI_COMMON_Q_AVAILLO, base + 0x400, 4);
        bar4_write(VIRTIO_PCI_COMMON_Q_USEDLO, base + 0x800, 4);
        bar4_write(VIRTIO_PCI_COMMON_Q_MSIX,
                   (int)q == no_vector ? NO_VECTOR : q + 1, 2);
        bar4_write(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    }
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xf, 1);
    ck_assert_uint_eq(bar4_read(VIRTIO_PCI_COMMON_STATUS, 1), 0xf);
    return features;
}

static void driver_reset(void)
{
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    ck_assert_uint_eq(bar4_read(VIRTIO_PCI_COMMON_STATUS, 1), 0);
}

START_TEST(test_handover)
{
    uint64_t features;

    progress = 7;
    g_string_truncate(log_, 0);
    features = driver_start(-1);
    /* The kernel has no MRG_RXBUF: not offered.  CSUM is the tap's. */
    ck_assert(!(features & F(VIRTIO_NET_F_MRG_RXBUF)));
    ck_assert(features & F(VIRTIO_NET_F_CSUM));
    ck_assert(features & F(VIRTIO_NET_F_CTRL_VQ));
    ck_assert_str_eq(log_->str, "poll off\nNET_SET_BACKEND 0 tap\n"
                     "NET_SET_BACKEND 1 tap\n");
    ck_assert(proxy->queues[0].kick_external);
    ck_assert(proxy->queues[1].kick_external);
    ck_assert(!proxy->queues[2].kick_external);   /* control: ours */
    ck_assert_ptr_nonnull(proxy->queues[2].kick_source);

    g_string_truncate(log_, 0);
    driver_reset();
    ck_assert_str_eq(log_->str, "NET_SET_BACKEND 0 -1\nNET_SET_BACKEND 1 -1\n"
                     "GET_VRING_BASE 0\nGET_VRING_BASE 1\npoll on\n");
    ck_assert(!proxy->queues[0].kick_external);
    /* The kernel's positions do not outlive the reset. */
    ck_assert_uint_eq(proxy->queues[0].vq.last_avail_idx, 0);
    ck_assert_uint_eq(proxy->queues[1].vq.last_avail_idx, 0);

    /* And a second start hands over again. */
    g_string_truncate(log_, 0);
    driver_start(-1);
    ck_assert(g_str_has_prefix(log_->str, "poll off\n"));
    driver_reset();
}
END_TEST

/*
 * While the kernel owns the RX ring, a frame that reaches qvmm anyway (a
 * tap queue vhost does not serve, a frame held from before) is refused,
 * never written into the kernel's ring.
 */
START_TEST(test_rx_ring_is_the_kernels)
{
    struct vring_desc *desc = (struct vring_desc *)(ram + 0x1000);
    struct vring_avail *avail = (struct vring_avail *)(ram + 0x1400);
    struct vring_used *used = (struct vring_used *)(ram + 0x1800);
    uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    driver_start(-1);
    ck_assert(proxy->queues[0].kick_external);
    desc[0] = (struct vring_desc) {
        .addr = 0x10000, .len = 2048, .flags = VRING_DESC_F_WRITE,
    };
    avail->ring[0] = 0;
    avail->idx = 1;
    ck_assert(!qemu_can_send_packet(backend));
    ck_assert_int_eq(qemu_send_packet(backend, frame, sizeof(frame)), 0);
    ck_assert_uint_eq(used->idx, 0);
    driver_reset();
}
END_TEST

/* A TX queue without an MSI-X vector: vhost refuses, qvmm transmits. */
START_TEST(test_fallback)
{
    struct vring_desc desc = { .addr = 0x8000, .len = 12 + 60 };
    uint16_t avail[3] = { 0, 1, 0 };

    progress = 0;
    g_string_truncate(log_, 0);
    driver_start(1);
    ck_assert(!proxy->queues[0].kick_external);
    ck_assert(!proxy->queues[1].kick_external);
    ck_assert_ptr_nonnull(proxy->queues[1].kick_source);
    memcpy(ram + 0x2000, &desc, sizeof(desc));
    memcpy(ram + 0x2400, avail, sizeof(avail));
    bar4_write(VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT, 1, 2);
    for (int i = 0; i < 100 && !frames; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    ck_assert_uint_eq(frames, 1);
    ck_assert_uint_eq(*(uint16_t *)(ram + 0x2802), 1);   /* used->idx */
    g_string_truncate(log_, 0);
    driver_reset();
    ck_assert_str_eq(log_->str, "");        /* nothing to give back */
}
END_TEST

static Suite *virtio_net_vhost_suite(void)
{
    Suite *s = suite_create("virtio-net-vhost");
    TCase *tc = tcase_create("handover");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_handover);
    tcase_add_test(tc, test_fallback);
    tcase_add_test(tc, test_rx_ring_is_the_kernels);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(virtio_net_vhost_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
