/*
 * vhost-net's set-up and tear-down (hw/virtio/vhost-net.c) against a
 * recording fake of the kernel: the exact ioctl sequence and arguments
 * (owner, features, memory table, each ring's num/base/addr/kick/call,
 * the backend), the transport handing over and taking back its kicks,
 * the ring position coming back, and the failure paths.
 */
#include "qemu/osdep.h"
#include <check.h>
#include <sys/eventfd.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/misc/reset-control.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/pci-host/i440fx.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/virtio/vhost-net.h"

#define RAM_SIZE   0x20000
#define RAM2_GPA   0x100000000ULL
#define BACKEND_FD 42
#define NO_VECTOR  0xffff

static uint8_t *ram, *ram2;
static PCIBus *bus;
static VirtIOPCIProxy *proxy;
static GString *log_;              /* the ioctls, one per line */
static int fail_request = -1;      /* this ioctl number fails */
static uint64_t kernel_features;
static unsigned polls_on, polls_off;

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
    (void)fd;
    if ((long)req == fail_request) {
        errno = EINVAL;
        return -1;
    }
    switch (req) {
    case VHOST_SET_OWNER:
        g_string_append(log_, "SET_OWNER\n");
        break;
    case VHOST_GET_FEATURES:
        *(uint64_t *)arg = kernel_features;
        g_string_append(log_, "GET_FEATURES\n");
        break;
    case VHOST_SET_FEATURES:
        g_string_append_printf(log_, "SET_FEATURES %#" PRIx64 "\n",
                               *(uint64_t *)arg);
        break;
    case VHOST_SET_MEM_TABLE: {
        struct vhost_memory *m = arg;

        g_string_append_printf(log_, "SET_MEM_TABLE %u", m->nregions);
        for (unsigned i = 0; i < m->nregions; i++) {
            struct vhost_memory_region *r = &m->regions[i];

            g_string_append_printf(log_, " %#llx+%#llx%s", r->guest_phys_addr,
                                   r->memory_size,
                                   r->userspace_addr ==
                                   (uintptr_t)(i ? ram2 : ram) ? "" : "!");
        }
        g_string_append_c(log_, '\n');
        break;
    }
    case VHOST_SET_VRING_NUM:
    case VHOST_SET_VRING_BASE:
    case VHOST_SET_VRING_BUSYLOOP_TIMEOUT: {
        struct vhost_vring_state *s = arg;

        g_string_append_printf(log_, "%s %u %u\n",
                               req == VHOST_SET_VRING_NUM ? "SET_VRING_NUM"
                               : req == VHOST_SET_VRING_BASE
                               ? "SET_VRING_BASE" : "SET_BUSYLOOP",
                               s->index, s->num);
        break;
    }
    case VHOST_GET_VRING_BASE: {
        struct vhost_vring_state *s = arg;

        s->num = 7 + s->index;     /* where the "kernel" got to */
        g_string_append_printf(log_, "GET_VRING_BASE %u\n", s->index);
        break;
    }
    case VHOST_SET_VRING_ADDR: {
        struct vhost_vring_addr *a = arg;

        g_string_append_printf(log_, "SET_VRING_ADDR %u %#llx %#llx %#llx\n",
                               a->index,
                               a->desc_user_addr - (uintptr_t)ram,
                               a->avail_user_addr - (uintptr_t)ram,
                               a->used_user_addr - (uintptr_t)ram);
        break;
    }
    case VHOST_SET_VRING_KICK:
    case VHOST_SET_VRING_CALL:
    case VHOST_NET_SET_BACKEND: {
        struct vhost_vring_file *f = arg;
        const char *name = req == VHOST_SET_VRING_KICK ? "SET_VRING_KICK"
                         : req == VHOST_SET_VRING_CALL ? "SET_VRING_CALL"
                         : "NET_SET_BACKEND";
        const char *what = "other";

        if (req == VHOST_NET_SET_BACKEND) {
            what = f->fd == -1 ? "-1" : f->fd == BACKEND_FD ? "tap" : what;
        } else if (req == VHOST_SET_VRING_CALL) {
            /* queue q uses vector q + 1 (queue_setup) */
            what = f->fd == msix_vector_fd(&proxy->pci, f->index + 1)
                   ? "vector" : what;
        } else if (f->fd == proxy->queues[f->index].kick_fd) {
            what = "kick";
        }
        g_string_append_printf(log_, "%s %u %s\n", name, f->index, what);
        break;
    }
    default:
        ck_abort_msg("unexpected ioctl %#lx", req);
    }
    return 0;
}

static void backend_poll(void *opaque, bool enable)
{
    (void)opaque;
    if (enable) {
        polls_on++;
    } else {
        polls_off++;
    }
}

static void fake_irq(unsigned gsi, int level)
{
    (void)gsi;
    (void)level;
}

static void msix_enable(PCIDevice *d)
{
    uint8_t cap = d->config[PCI_CAPABILITY_LIST];

    while (cap && d->config[cap] != PCI_CAP_ID_MSIX) {
        cap = d->config[cap + 1];
    }
    ck_assert_uint_ne(cap, 0);
    d->config[cap + 3] |= 0x80;    /* MSI-X Enable */
    msix_write_config(d, cap + 2, 2);
    ck_assert(msix_enabled(d));
}

/* Queue @q enabled with rings at 0x1000 * (q + 1) and MSI-X vector @v. */
static void queue_setup(unsigned q, uint16_t v)
{
    VirtIOPCIQueue *vpq = &proxy->queues[q];
    uint64_t base = 0x1000 * (q + 1);

    virtqueue_init(&vpq->vq, "test vq", NULL, proxy);
    ck_assert(virtqueue_set_size(&vpq->vq, 64));
    ck_assert(virtqueue_set_addresses(&vpq->vq, base, base + 0x400,
                                      base + 0x800));
    vpq->size = 64;
    vpq->enabled = true;
    vpq->vector = v;
    vpq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

static void setup(void)
{
    GError *err = NULL;
    ResetControlState *rcr = reset_control_create(false, &err);

    pc_irq_set_handler(fake_irq);
    ram = g_malloc0(RAM_SIZE);
    ram2 = g_malloc0(RAM_SIZE);
    guest_ram_reset_blocks();
    guest_ram_add_block(0, RAM_SIZE, ram, "ram-below-4g");
    guest_ram_add_block(RAM2_GPA, RAM_SIZE, ram2, "ram-above-4g");
    bus = i440fx_create(0x80000000ULL, RAM_SIZE, rcr, &err);
    ck_assert_ptr_null(err);
    proxy = g_new0(VirtIOPCIProxy, 1);
    pci_config_set_ids(&proxy->pci, 0x1af4, 0x1041, 1, 0x020000);
    ck_assert(pci_register_device(bus, &proxy->pci, "test-vhost",
                                  PCI_DEVFN(3, 0), &err));
    ck_assert(msix_init_exclusive_bar(&proxy->pci, 5, 1, &err));
    msix_enable(&proxy->pci);
    proxy->num_queues = 4;
    proxy->queues = g_new0(VirtIOPCIQueue, 4);
    for (unsigned q = 0; q < 4; q++) {
        queue_setup(q, q + 1);
    }
    proxy->guest_features = (1ULL << VIRTIO_F_VERSION_1) |
                            (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
                            (1ULL << VIRTIO_RING_F_EVENT_IDX) |
                            (1ULL << VIRTIO_NET_F_CSUM);
    kernel_features = (1ULL << VIRTIO_F_VERSION_1) |
                      (1ULL << VIRTIO_NET_F_MRG_RXBUF) |
                      (1ULL << VIRTIO_RING_F_EVENT_IDX) |
                      (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
                      (1ULL << VHOST_NET_F_VIRTIO_NET_HDR);
    log_ = g_string_new(NULL);
    fail_request = -1;
    polls_on = polls_off = 0;
    vhost_net_ioctl = fake_ioctl;
}

static void teardown(void)
{
    for (unsigned q = 0; q < proxy->num_queues; q++) {
        close(proxy->queues[q].kick_fd);
        virtqueue_cleanup(&proxy->queues[q].vq);
    }
    g_free(proxy->queues);
    pci_unregister_device(&proxy->pci);
    msix_uninit(&proxy->pci);
    g_free(proxy);
    pci_bus_free(bus);
    qdev_destroy_all();
    guest_ram_reset_blocks();
    g_free(ram);
    g_free(ram2);
    g_string_free(log_, TRUE);
}

static VhostNet *net_new_busy(VhostNet *prev, bool vnet_hdr, uint32_t us)
{
    VhostNetOptions o = {
        .busyloop_us = us,
        .vhostfd = eventfd(0, EFD_CLOEXEC),    /* closed by cleanup */
        .backend_fd = BACKEND_FD,
        .backend_has_vnet_hdr = vnet_hdr,
        .backend_poll = backend_poll,
        .prev = prev,
    };
    GError *err = NULL;
    VhostNet *net = vhost_net_init(&o, &err);

    ck_assert_msg(net, "%s", err ? err->message : "");
    return net;
}

static VhostNet *net_new(VhostNet *prev, bool vnet_hdr)
{
    return net_new_busy(prev, vnet_hdr, 0);
}

static void log_reset(void)
{
    g_string_truncate(log_, 0);
}

START_TEST(test_init_and_features)
{
    VhostNet *net = net_new(NULL, true);
    uint64_t offered = (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
                       (1ULL << VIRTIO_F_ACCESS_PLATFORM) |
                       (1ULL << VIRTIO_NET_F_CSUM) |
                       (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY);

    ck_assert_str_eq(log_->str, "SET_OWNER\nGET_FEATURES\n");
    /* The kernel's bits are filtered, the device's own (CSUM) kept. */
    ck_assert_uint_eq(vhost_net_get_features(net, offered),
                      (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
                      (1ULL << VIRTIO_NET_F_CSUM));
    vhost_net_cleanup(net);
}
END_TEST

START_TEST(test_init_fails)
{
    VhostNetOptions o = {
        .vhostfd = eventfd(0, EFD_CLOEXEC),
        .backend_fd = BACKEND_FD,
        .backend_poll = backend_poll,
    };
    GError *err = NULL;

    fail_request = VHOST_SET_OWNER;
    ck_assert_ptr_null(vhost_net_init(&o, &err));
    ck_assert_str_eq(err->message,
                     "vhost-net requested but could not be initialized");
    g_error_free(err);
}
END_TEST

static const char start_pair0[] =
    "SET_FEATURES 0x120008000\n"
    "SET_MEM_TABLE 2 0+0x20000 0x100000000+0x20000\n"
    "SET_VRING_NUM 0 64\n"
    "SET_VRING_BASE 0 0\n"
    "SET_VRING_ADDR 0 0x1000 0x1400 0x1800\n"
    "SET_VRING_KICK 0 kick\n"
    "SET_VRING_CALL 0 vector\n"
    "SET_VRING_NUM 1 64\n"
    "SET_VRING_BASE 1 0\n"
    "SET_VRING_ADDR 1 0x2000 0x2400 0x2800\n"
    "SET_VRING_KICK 1 kick\n"
    "SET_VRING_CALL 1 vector\n"
    "NET_SET_BACKEND 0 tap\n"
    "NET_SET_BACKEND 1 tap\n";

static const char stop_pair[] =
    "NET_SET_BACKEND 0 -1\n"
    "NET_SET_BACKEND 1 -1\n"
    "GET_VRING_BASE 0\n"
    "GET_VRING_BASE 1\n";

START_TEST(test_start_stop)
{
    VhostNet *net = net_new(NULL, true);
    GError *err = NULL;

    log_reset();
    ck_assert_msg(vhost_net_start(net, proxy, 1, &err), "%s",
                  err ? err->message : "");
    /* VERSION_1 | MRG_RXBUF | EVENT_IDX; CSUM is not the kernel's. */
    ck_assert_str_eq(log_->str, start_pair0);
    ck_assert(proxy->queues[0].kick_external);
    ck_assert(proxy->queues[1].kick_external);
    ck_assert(!proxy->queues[2].kick_external);
    ck_assert_uint_eq(polls_off, 1);

    log_reset();
    vhost_net_stop(net, proxy, 1);
    ck_assert_str_eq(log_->str, stop_pair);
    ck_assert(!proxy->queues[0].kick_external);
    ck_assert_uint_eq(proxy->queues[0].vq.last_avail_idx, 7);
    ck_assert_uint_eq(proxy->queues[1].vq.last_avail_idx, 8);
    ck_assert_uint_eq(polls_on, 1);

    /* Stopping again does nothing. */
    log_reset();
    vhost_net_stop(net, proxy, 1);
    ck_assert_str_eq(log_->str, "");
    vhost_net_cleanup(net);
}
END_TEST

START_TEST(test_no_vnet_hdr_on_tap)
{
    VhostNet *net = net_new(NULL, false);
    GError *err = NULL;

    log_reset();
    ck_assert(vhost_net_start(net, proxy, 1, &err));
    /* The kernel adds the header itself: VHOST_NET_F_VIRTIO_NET_HDR. */
    ck_assert(g_str_has_prefix(log_->str, "SET_FEATURES 0x128008000\n"));
    vhost_net_cleanup(net);        /* stops what runs */
    ck_assert_uint_eq(polls_on, 1);
}
END_TEST

START_TEST(test_busyloop)
{
    VhostNet *net = net_new_busy(NULL, true, 50);
    GError *err = NULL;

    log_reset();
    ck_assert(vhost_net_start(net, proxy, 1, &err));
    /* poll-us=50: each ring busy-polls after its call fd is set. */
    ck_assert_ptr_nonnull(strstr(log_->str, "SET_VRING_CALL 0 vector\n"
                                 "SET_BUSYLOOP 0 50\nSET_VRING_NUM 1 64\n"));
    ck_assert_ptr_nonnull(strstr(log_->str, "SET_VRING_CALL 1 vector\n"
                                 "SET_BUSYLOOP 1 50\nNET_SET_BACKEND 0"));
    vhost_net_cleanup(net);
}
END_TEST

START_TEST(test_two_pairs)
{
    VhostNet *net0 = net_new(NULL, true);
    VhostNet *net1 = net_new(net0, true);
    GError *err = NULL;

    log_reset();
    ck_assert(vhost_net_start(net0, proxy, 2, &err));
    /* The second pair is virtqueues 2 and 3, rings 0 and 1 of its own fd. */
    ck_assert(g_str_has_prefix(log_->str, start_pair0));
    ck_assert_ptr_nonnull(strstr(log_->str + strlen(start_pair0),
                                 "SET_VRING_ADDR 0 0x3000 0x3400 0x3800\n"));
    ck_assert(proxy->queues[3].kick_external);
    vhost_net_stop(net0, proxy, 2);
    ck_assert(!proxy->queues[3].kick_external);
    ck_assert_uint_eq(proxy->queues[2].vq.last_avail_idx, 7);
    vhost_net_cleanup(net1);
    vhost_net_cleanup(net0);
}
END_TEST

START_TEST(test_start_failures)
{
    VhostNet *net = net_new(NULL, true);
    GError *err = NULL;

    /* More pairs than the netdev has queues: nothing stays started. */
    ck_assert(!vhost_net_start(net, proxy, 2, &err));
    ck_assert_str_eq(err->message, "vhost-net: the netdev has 1 queues, "
                     "the device uses 2");
    g_clear_error(&err);
    ck_assert(!proxy->queues[0].kick_external);
    ck_assert_uint_eq(polls_on, polls_off);

    /* A queue without an MSI-X vector cannot be handed over. */
    proxy->queues[1].vector = NO_VECTOR;
    ck_assert(!vhost_net_start(net, proxy, 1, &err));
    ck_assert_str_eq(err->message,
                     "vhost-net: virtqueue 1 has no MSI-X vector");
    g_clear_error(&err);
    ck_assert(!proxy->queues[0].kick_external);
    ck_assert_uint_eq(polls_on, polls_off);

    /* The kernel refusing the backend. */
    proxy->queues[1].vector = 2;
    fail_request = VHOST_NET_SET_BACKEND;
    ck_assert(!vhost_net_start(net, proxy, 1, &err));
    ck_assert(g_str_has_prefix(err->message,
                               "vhost-net: VHOST_NET_SET_BACKEND"));
    g_clear_error(&err);
    ck_assert(!proxy->queues[1].kick_external);
    vhost_net_cleanup(net);
}
END_TEST

static Suite *vhost_net_suite(void)
{
    Suite *s = suite_create("vhost-net");
    TCase *tc = tcase_create("sequence");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_init_and_features);
    tcase_add_test(tc, test_init_fails);
    tcase_add_test(tc, test_start_stop);
    tcase_add_test(tc, test_no_vnet_hdr_on_tap);
    tcase_add_test(tc, test_busyloop);
    tcase_add_test(tc, test_two_pairs);
    tcase_add_test(tc, test_start_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(vhost_net_suite());
    int failed;

    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
