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
#include "hw/virtio/virtio-pci.h"
#include "sysemu/qtest.h"
#include "fuzz-virtio-common.h"
#include <linux/virtio_pci.h>

#define RAM_SIZE        (1 * MiB)
#define RING_BASE       0x10000ULL      /* where SETUP puts queue 0 */
#define DISK_SIZE       (1 * MiB)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;

enum {
    OP_WRITE_RAM, OP_BAR4_WRITE, OP_BAR4_READ, OP_POLL, OP_CFG_WRITE,
    OP_CFG_READ, OP_MSIX_WRITE, OP_SETUP, OP_KICK, OP_MAX
};

/* The normal driver start with queue 0 at RING_BASE, size from input. */
static void setup_queue(uint16_t size)
{
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE |
               VIRTIO_CONFIG_S_DRIVER, 1);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_GF, 1, 4);           /* VERSION_1 */
    fuzz_bar4_write(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_GF,
                    fuzz_bar4_read(VIRTIO_PCI_COMMON_DF, 4), 4);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xb, 1);     /* + FEATURES_OK */
    fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_SIZE, size, 2);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_DESCLO, RING_BASE, 4);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_AVAILLO, RING_BASE + 0x4000, 4);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_USEDLO, RING_BASE + 0x6000, 4);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, 0xf, 1);     /* + DRIVER_OK */
}

static void run_op(FuzzInput *in)
{
    uint8_t op = fuzz_take(in, 1) % OP_MAX;
    uint64_t off;
    unsigned len;

    switch (op) {
    case OP_WRITE_RAM:
        off = RING_BASE + fuzz_take(in, 2);
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
    case OP_CFG_READ:
        fuzz_op_cfg_read(in);
        break;
    case OP_MSIX_WRITE:
        fuzz_op_msix_write(in);
        break;
    case OP_SETUP:
        setup_queue(fuzz_take(in, 2));
        break;
    case OP_KICK:
        fuzz_bar4_write(VIRTIO_PCI_NOTIFY_OFF + (fuzz_take(in, 1) & 3) *
                        VIRTIO_PCI_NOTIFY_MULT, 0, 2);
        fuzz_poll_loop();
        break;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[] = "/tmp/qvmm-fuzz-blk-XXXXXX";
    g_autofree char *opts = NULL;
    GError *err = NULL;
    DeviceState *d;
    int fd;

    (void)argc; (void)argv;
    ram = fuzz_machine_init(RAM_SIZE);
    fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, DISK_SIZE) < 0) {
        abort();
    }
    close(fd);
    opts = g_strdup_printf("driver=file,filename=%s,node-name=disk0", path);
    if (!blockdev_new(opts, &err)) {
        fuzz_fail(err);
    }
    unlink(path);               /* the open fd keeps it */
    d = qdev_new("virtio-blk-pci");
    if (!d || !qdev_set_prop(d, "drive", "disk0", &err) ||
        !qdev_set_prop(d, "num-queues", "2", &err) ||
        !qdev_realize(d, &err)) {
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
    while (in.left) {
        run_op(&in);
    }
    fuzz_poll_loop();
    /* Reset, and wait for what is in flight, as a driver must. */
    fuzz_bar4_write(VIRTIO_PCI_COMMON_STATUS, 0, 1);
    blk_drain(blk_by_name("disk0"));
    for (int i = 0; i < 100000 && fuzz_bar4_read(VIRTIO_PCI_COMMON_STATUS, 1);
         i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    qdev_reset_all();
    return 0;
}
