/*
 * libFuzzer target: a hostile virtio-net driver and a hostile wire.
 *
 * A virtio-net-pci device (mq=on) on PCI bus 0, peered with a two-queue
 * backend of this file's own that carries the vnet header, with 1 MiB
 * of guest RAM.  The input is a program: write guest RAM (rings,
 * descriptors, headers, control commands), access BAR 4, BAR 1 (MSI-X)
 * and config space, set up all five queues the normal way, kick a
 * queue, deliver a frame from the backend (any length, any header),
 * make the backend refuse frames for a while or become ready again, and
 * flip the link.  Nothing may crash, leak, hang or touch memory outside
 * guest RAM; each input ends with a device reset.
 *
 *   CC=clang meson setup /work/build-fuzz -Dfuzzing=true
 *   ninja -C /work/build-fuzz tests/fuzz/fuzz-virtio-net
 *   /work/build-fuzz/tests/fuzz/fuzz-virtio-net -max_total_time=30 \
 *       tests/fuzz/corpus-virtio-net
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "exec/memory.h"
#include "hw/qdev.h"
#include "hw/pci/pci.h"
#include "hw/misc/reset-control.h"
#include "hw/virtio/virtio-pci.h"
#include "net/net.h"
#include "sysemu/qtest.h"
#include <linux/virtio_pci.h>

#define RAM_SIZE        (1 * MiB)
#define RING_BASE       0x10000ULL      /* queue q's rings at + q * 0x8000 */
#define RING_STRIDE     0x8000ULL
#define NUM_QUEUES      5               /* two pairs and the control queue */
#define BACKEND_QUEUES  2
#define MAX_FRAME       (70 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static PCIDevice *dev;
static NetClientState *backend[BACKEND_QUEUES];
static bool backend_busy;               /* refuse frames (flow control) */
static size_t sent_bytes;               /* what the device transmitted */

enum {
    OP_WRITE_RAM, OP_BAR4_WRITE, OP_BAR4_READ, OP_POLL, OP_CFG_WRITE,
    OP_MSIX_WRITE, OP_SETUP, OP_KICK, OP_RX_FRAME, OP_BUSY, OP_READY,
    OP_LINK, OP_MAX
};

/* ---- the backend: takes frames unless busy, sends what it is told ---- */

static ssize_t backend_receive(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    size_t size = iov_size(iov, iovcnt);
    uint8_t first = 0;

    (void)nc;
    if (backend_busy) {
        return 0;
    }
    /* Touch the first and last byte: ASan sees a bad iovec. */
    iov_to_buf(iov, iovcnt, 0, &first, 1);
    if (size) {
        iov_to_buf(iov, iovcnt, size - 1, &first, 1);
    }
    sent_bytes += size;
    return size;
}

static bool backend_has_vnet_hdr(NetClientState *nc)
{
    (void)nc;
    return true;
}

static bool backend_has_vnet_hdr_len(NetClientState *nc, int len)
{
    (void)nc;
    return len == 10 || len == 12;
}

static void backend_set_vnet_hdr_len(NetClientState *nc, int len)
{
    (void)nc;
    if (len != 12) {
        abort();                /* virtio 1.x always uses 12 bytes */
    }
}

static const NetClientInfo backend_info = {
    .type = NET_CLIENT_DRIVER_TAP,
    .size = sizeof(NetClientState),
    .receive_iov = backend_receive,
    .has_vnet_hdr = backend_has_vnet_hdr,
    .has_vnet_hdr_len = backend_has_vnet_hdr_len,
    .set_vnet_hdr_len = backend_set_vnet_hdr_len,
};

/* ---- the input ---- */

typedef struct Input {
    const uint8_t *p;
    size_t left;
} Input;

static uint64_t take(Input *in, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++) {
        if (in->left) {
            v |= (uint64_t)*in->p++ << (8 * i);
            in->left--;
        }
    }
    return v;
}

static unsigned access_size(uint64_t sel)
{
    static const unsigned sizes[4] = { 1, 2, 4, 8 };

    return sizes[sel & 3];
}

static uint64_t bar_addr(unsigned bar)
{
    return dev->bars[bar].addr;
}

static void poll_loop(void)
{
    for (int i = 0; i < 1000 && g_main_context_iteration(NULL, FALSE); i++) {
    }
}

static void bar4_write(uint64_t off, uint64_t val, unsigned size)
{
    io_dispatch_write(AS_MMIO, bar_addr(4) + off, size, val);
}

static uint64_t bar4_read(uint64_t off, unsigned size)
{
    uint64_t val = 0;

    io_dispatch_read(AS_MMIO, bar_addr(4) + off, size, &val);
    return val;
}

/* The normal driver start: every feature offered, all queues enabled. */
static void setup_queues(Input *in)
{
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    bar4_write(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
               VIRTIO_CONFIG_S_DRIVER, 1);
    for (unsigned sel = 0; sel < 2; sel++) {
        bar4_write(VIRTIO_PCI_COMMON_DFSELECT, sel, 4);
        bar4_write(VIRTIO_PCI_COMMON_GFSELECT, sel, 4);
        /* Input chooses which offered bits to take. */
        bar4_write(VIRTIO_PCI_COMMON_GF, bar4_read(VIRTIO_PCI_COMMON_DF, 4) &
                   (take(in, 4) | (sel ? 1 : 0)), 4);
    }
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xb, 1);     /* + FEATURES_OK */
    for (unsigned q = 0; q < NUM_QUEUES; q++) {
        uint64_t base = RING_BASE + q * RING_STRIDE;

        bar4_write(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
        bar4_write(VIRTIO_PCI_COMMON_Q_SIZE, take(in, 2), 2);
        bar4_write(VIRTIO_PCI_COMMON_Q_DESCLO, base, 4);
        bar4_write(VIRTIO_PCI_COMMON_Q_AVAILLO, base + 0x4000, 4);
        bar4_write(VIRTIO_PCI_COMMON_Q_USEDLO, base + 0x5000, 4);
        bar4_write(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    }
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xf, 1);     /* + DRIVER_OK */
    poll_loop();
}

/* A frame from the wire on backend queue 0 or 1, bytes from the input. */
static void rx_frame(Input *in)
{
    static uint8_t frame[MAX_FRAME];
    unsigned q = take(in, 1) % BACKEND_QUEUES;
    size_t len = take(in, 3) % MAX_FRAME;
    size_t given = MIN(len, in->left);

    memcpy(frame, in->p, given);
    memset(frame + given, 0x5a, len - given);
    in->p += given;
    in->left -= given;
    if (qemu_can_send_packet(backend[q])) {
        qemu_send_packet(backend[q], frame, len);
    }
    poll_loop();
}

static void run_op(Input *in)
{
    uint8_t op = take(in, 1) % OP_MAX;
    uint64_t off, val;
    unsigned size, len;

    switch (op) {
    case OP_WRITE_RAM:
        off = RING_BASE + take(in, 3) % (RAM_SIZE - RING_BASE);
        len = take(in, 1);
        for (unsigned i = 0; i < len && off + i < RAM_SIZE; i++) {
            ram[off + i] = take(in, 1);
        }
        break;
    case OP_BAR4_WRITE:
        off = take(in, 2) % VIRTIO_PCI_BAR_SIZE;
        size = access_size(take(in, 1));
        bar4_write(off, take(in, size), size);
        break;
    case OP_BAR4_READ:
        off = take(in, 2) % VIRTIO_PCI_BAR_SIZE;
        bar4_read(off, access_size(take(in, 1)));
        break;
    case OP_POLL:
        poll_loop();
        break;
    case OP_CFG_WRITE:
        off = take(in, 1);
        size = access_size(take(in, 1) % 3);
        val = take(in, size);
        pci_bus_config_write(dev->bus, dev->devfn, off & ~(size - 1ULL), val,
                             size);
        break;
    case OP_MSIX_WRITE:
        off = take(in, 2) & 0xffc;
        io_dispatch_write(AS_MMIO, bar_addr(1) + off, 4, take(in, 4));
        break;
    case OP_SETUP:
        setup_queues(in);
        break;
    case OP_KICK:
        bar4_write(VIRTIO_PCI_NOTIFY_OFF +
                   (take(in, 1) % NUM_QUEUES) * VIRTIO_PCI_NOTIFY_MULT, 0, 2);
        poll_loop();
        break;
    case OP_RX_FRAME:
        rx_frame(in);
        break;
    case OP_BUSY:
        backend_busy = true;
        break;
    case OP_READY:
        backend_busy = false;
        for (unsigned q = 0; q < BACKEND_QUEUES; q++) {
            qemu_flush_queued_packets(backend[q]);
        }
        poll_loop();
        break;
    case OP_LINK:
        qemu_set_link("nic0", take(in, 1) & 1, NULL);
        poll_loop();
        break;
    }
}

static void fail(GError *err)
{
    fprintf(stderr, "fuzz-virtio-net: setup failed: %s\n",
            err ? err->message : "?");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    GError *err = NULL;
    ResetControlState *rcr;
    DeviceState *d;

    (void)argc; (void)argv;
    qtest_accel_init();
    ram = g_malloc0(RAM_SIZE);
    guest_ram_add_block(0, RAM_SIZE, ram, "pc.ram");
    rcr = reset_control_create(false, &err);
    if (!rcr || !pci_bus_new(0xe0000000ULL, 0, rcr, &err)) {
        fail(err);
    }
    for (unsigned q = 0; q < BACKEND_QUEUES; q++) {
        backend[q] = qemu_new_net_client(&backend_info, NULL, "fuzz",
                                         "fuzz0");
        backend[q]->queue_index = q;
        backend[q]->queues = BACKEND_QUEUES;
        backend[q]->is_netdev = true;
    }
    d = qdev_new("virtio-net-pci");
    if (!d) {
        fail(NULL);
    }
    qdev_set_id(d, "nic0");
    if (!qdev_set_prop(d, "netdev", "fuzz0", &err) ||
        !qdev_set_prop(d, "mq", "on", &err) || !qdev_realize(d, &err)) {
        fail(err);
    }
    dev = (PCIDevice *)d;
    pci_bus_machine_done(dev->bus);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Input in = { data, size };

    memset(ram, 0, RAM_SIZE);
    backend_busy = false;
    qemu_set_link("nic0", true, NULL);
    while (in.left) {
        run_op(&in);
    }
    poll_loop();
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    for (int i = 0; i < 1000 && bar4_read(VIRTIO_PCI_COMMON_STATUS, 1);
         i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    qdev_reset_all();
    return 0;
}
