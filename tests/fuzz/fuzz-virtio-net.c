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
#include "hw/virtio/virtio-pci.h"
#include "net/net.h"
#include "sysemu/qtest.h"
#include "fuzz-virtio-common.h"
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

/* The normal driver start: every feature offered, all queues enabled. */
static void setup_queues(FuzzInput *in)
{
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
               VIRTIO_CONFIG_S_DRIVER, 1);
    for (unsigned sel = 0; sel < 2; sel++) {
        fuzz_bar4_write(VIRTIO_PCI_COMMON_DFSELECT, sel, 4);
        fuzz_bar4_write(VIRTIO_PCI_COMMON_GFSELECT, sel, 4);
        /* The input chooses which offered bits to take. */
        fuzz_bar4_write(VIRTIO_PCI_COMMON_GF,
                        fuzz_bar4_read(VIRTIO_PCI_COMMON_DF, 4) &
                        (fuzz_take(in, 4) | (sel ? 1 : 0)), 4);
    }
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xb, 1);     /* + FEATURES_OK */
    for (unsigned q = 0; q < NUM_QUEUES; q++) {
        uint64_t base = RING_BASE + q * RING_STRIDE;

        fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
        fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_SIZE, fuzz_take(in, 2), 2);
        fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_DESCLO, base, 4);
        fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_AVAILLO, base + 0x4000, 4);
        fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_USEDLO, base + 0x5000, 4);
        fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    }
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xf, 1);     /* + DRIVER_OK */
    fuzz_poll_loop();
}

/* A frame from the wire on backend queue 0 or 1, bytes from the input. */
static void rx_frame(FuzzInput *in)
{
    static uint8_t frame[MAX_FRAME];
    unsigned q = fuzz_take(in, 1) % BACKEND_QUEUES;
    size_t len = fuzz_take(in, 3) % MAX_FRAME;
    size_t given = MIN(len, in->left);

    memcpy(frame, in->p, given);
    memset(frame + given, 0x5a, len - given);
    in->p += given;
    in->left -= given;
    if (qemu_can_send_packet(backend[q])) {
        qemu_send_packet(backend[q], frame, len);
    }
    fuzz_poll_loop();
}

static void run_op(FuzzInput *in)
{
    uint8_t op = fuzz_take(in, 1) % OP_MAX;
    uint64_t off;
    unsigned len;

    switch (op) {
    case OP_WRITE_RAM:
        off = RING_BASE + fuzz_take(in, 3) % (RAM_SIZE - RING_BASE);
        len = fuzz_take(in, 1);
        for (unsigned i = 0; i < len && off + i < RAM_SIZE; i++) {
            ram[off + i] = fuzz_take(in, 1);
        }
        break;
    case OP_BAR4_WRITE:
        fuzz_op_bar4_write(in);
        break;
    case OP_BAR4_READ:
        fuzz_op_bar4_read(in);
        break;
    case OP_POLL:
        fuzz_poll_loop();
        break;
    case OP_CFG_WRITE:
        fuzz_op_cfg_write(in);
        break;
    case OP_MSIX_WRITE:
        fuzz_op_msix_write(in);
        break;
    case OP_SETUP:
        setup_queues(in);
        break;
    case OP_KICK:
        fuzz_bar4_write(VIRTIO_PCI_NOTIFY_OFF +
                        (fuzz_take(in, 1) % NUM_QUEUES) *
                        VIRTIO_PCI_NOTIFY_MULT, 0, 2);
        fuzz_poll_loop();
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
        fuzz_poll_loop();
        break;
    case OP_LINK:
        qemu_set_link("nic0", fuzz_take(in, 1) & 1, NULL);
        fuzz_poll_loop();
        break;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    GError *err = NULL;
    DeviceState *d;

    (void)argc; (void)argv;
    ram = fuzz_machine_init(RAM_SIZE);
    for (unsigned q = 0; q < BACKEND_QUEUES; q++) {
        backend[q] = qemu_new_net_client(&backend_info, NULL, "fuzz",
                                         "fuzz0");
        backend[q]->queue_index = q;
        backend[q]->queues = BACKEND_QUEUES;
        backend[q]->is_netdev = true;
    }
    d = qdev_new("virtio-net-pci");
    if (!d) {
        fuzz_fail(NULL);
    }
    qdev_set_id(d, "nic0");
    if (!qdev_set_prop(d, "netdev", "fuzz0", &err) ||
        !qdev_set_prop(d, "mq", "on", &err) || !qdev_realize(d, &err)) {
        fuzz_fail(err);
    }
    fuzz_dev = (PCIDevice *)d;
    pci_bus_machine_done(fuzz_dev->bus);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = { data, size };

    memset(ram, 0, RAM_SIZE);
    backend_busy = false;
    qemu_set_link("nic0", true, NULL);
    while (in.left) {
        run_op(&in);
    }
    fuzz_poll_loop();
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    for (int i = 0; i < 1000 && fuzz_bar4_read(VIRTIO_PCI_COMMON_STATUS, 1);
         i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    qdev_reset_all();
    return 0;
}
