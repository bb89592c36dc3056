/*
 * libFuzzer target: a hostile virtio-blk driver.
 *
 * A virtio-blk-pci device on PCI bus 0, backed by a 1 MiB scratch image
 * through the real block layer, with 1 MiB of guest RAM.  The input is a
 * program for the "driver": write guest RAM (rings, descriptors, request
 * headers), access BAR 4 (common config, ISR, device config, notify),
 * BAR 1 (MSI-X) and config space, set up a queue the normal way, and let
 * the main loop run the device and its block completions.  Whatever the
 * program, nothing may crash, leak, hang or touch memory outside guest
 * RAM; each input ends with a device reset so the next starts clean.
 *
 *   CC=clang meson setup /work/build-fuzz -Dfuzzing=true
 *   ninja -C /work/build-fuzz tests/fuzz/fuzz-virtio-blk
 *   /work/build-fuzz/tests/fuzz/fuzz-virtio-blk -max_total_time=30 \
 *       tests/fuzz/corpus-virtio-blk
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "block/block.h"
#include "exec/memory.h"
#include "hw/qdev.h"
#include "hw/pci/pci.h"
#include "hw/misc/reset-control.h"
#include "hw/virtio/virtio-pci.h"
#include "sysemu/qtest.h"
#include <linux/virtio_pci.h>

#define RAM_SIZE        (1 * MiB)
#define RING_BASE       0x10000ULL      /* where SETUP puts queue 0 */
#define DISK_SIZE       (1 * MiB)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static PCIDevice *dev;

enum {
    OP_WRITE_RAM, OP_BAR4_WRITE, OP_BAR4_READ, OP_POLL, OP_CFG_WRITE,
    OP_CFG_READ, OP_MSIX_WRITE, OP_SETUP, OP_KICK, OP_MAX
};

/* The input, consumed front to back; reads past its end give zeros. */
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

/* Let the device and the block layer's completions run until idle. */
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

/* The normal driver start with queue 0 at RING_BASE, size from input. */
static void setup_queue(uint16_t size)
{
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    bar4_write(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
               VIRTIO_CONFIG_S_DRIVER, 1);
    bar4_write(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    bar4_write(VIRTIO_PCI_COMMON_GF, 1, 4);           /* VERSION_1 */
    bar4_write(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    bar4_write(VIRTIO_PCI_COMMON_GF, bar4_read(VIRTIO_PCI_COMMON_DF, 4), 4);
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xb, 1);     /* + FEATURES_OK */
    bar4_write(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    bar4_write(VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
    bar4_write(VIRTIO_PCI_COMMON_Q_DESCLO, RING_BASE, 4);
    bar4_write(VIRTIO_PCI_COMMON_Q_AVAILLO, RING_BASE + 0x4000, 4);
    bar4_write(VIRTIO_PCI_COMMON_Q_USEDLO, RING_BASE + 0x6000, 4);
    bar4_write(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xf, 1);     /* + DRIVER_OK */
}

static void run_op(Input *in)
{
    uint8_t op = take(in, 1) % OP_MAX;
    uint64_t off, val;
    unsigned size, len;

    switch (op) {
    case OP_WRITE_RAM:
        off = RING_BASE + take(in, 2);
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
    case OP_CFG_READ:
        off = take(in, 1);
        size = access_size(take(in, 1) % 3);
        pci_bus_config_read(dev->bus, dev->devfn, off & ~(size - 1ULL), size);
        break;
    case OP_MSIX_WRITE:
        off = take(in, 2) & 0xffc;
        io_dispatch_write(AS_MMIO, bar_addr(1) + off, 4, take(in, 4));
        break;
    case OP_SETUP:
        setup_queue(take(in, 2));
        break;
    case OP_KICK:
        bar4_write(VIRTIO_PCI_NOTIFY_OFF +
                   (take(in, 1) & 3) * VIRTIO_PCI_NOTIFY_MULT, 0, 2);
        poll_loop();
        break;
    }
}

static void fail(GError *err)
{
    fprintf(stderr, "fuzz-virtio-blk: setup failed: %s\n",
            err ? err->message : "?");
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[] = "/tmp/qvmm-fuzz-blk-XXXXXX";
    g_autofree char *opts = NULL;
    GError *err = NULL;
    ResetControlState *rcr;
    DeviceState *d;
    int fd;

    (void)argc; (void)argv;
    qtest_accel_init();
    ram = g_malloc0(RAM_SIZE);
    guest_ram_add_block(0, RAM_SIZE, ram, "pc.ram");
    fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0) {
        abort();
    }
    close(fd);
    opts = g_strdup_printf("driver=file,filename=%s,node-name=disk0", path);
    rcr = reset_control_create(false, &err);
    if (!rcr || !pci_bus_new(0xe0000000ULL, 0, rcr, &err) ||
        !blockdev_new(opts, &err)) {
        fail(err);
    }
    unlink(path);               /* the open fd keeps it */
    d = qdev_new("virtio-blk-pci");
    if (!d || !qdev_set_prop(d, "drive", "disk0", &err) ||
        !qdev_set_prop(d, "num-queues", "2", &err) ||
        !qdev_realize(d, &err)) {
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
    while (in.left) {
        run_op(&in);
    }
    poll_loop();
    /* Reset, and wait for what is in flight, as a driver must. */
    bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    blk_drain(blk_by_name("disk0"));
    for (int i = 0; i < 100000 && bar4_read(VIRTIO_PCI_COMMON_STATUS, 1);
         i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    qdev_reset_all();
    return 0;
}
