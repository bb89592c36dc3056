/* Helpers shared by the virtio fuzz targets; see fuzz-virtio-common.h. */
#include "fuzz-virtio-common.h"
#include "exec/memory.h"
#include "hw/misc/reset-control.h"
#include "hw/virtio/virtio-pci.h"
#include "sysemu/qtest.h"
#include <errno.h>

PCIDevice *fuzz_dev;

uint64_t fuzz_take(FuzzInput *in, unsigned bytes)
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

unsigned fuzz_access_size(uint64_t sel)
{
    static const unsigned sizes[4] = { 1, 2, 4, 8 };

    return sizes[sel & 3];
}

uint64_t fuzz_bar_addr(unsigned bar)
{
    return fuzz_dev->bars[bar].addr;
}

void fuzz_bar4_write(uint64_t off, uint64_t val, unsigned size)
{
    io_dispatch_write(AS_MMIO, fuzz_bar_addr(4) + off, size, val);
}

uint64_t fuzz_bar4_read(uint64_t off, unsigned size)
{
    uint64_t val = 0;

    io_dispatch_read(AS_MMIO, fuzz_bar_addr(4) + off, size, &val);
    return val;
}

void fuzz_op_bar4_write(FuzzInput *in)
{
    uint64_t off = fuzz_take(in, 2) % VIRTIO_PCI_BAR_SIZE;
    unsigned size = fuzz_access_size(fuzz_take(in, 1));

    fuzz_bar4_write(off, fuzz_take(in, size), size);
}

void fuzz_op_bar4_read(FuzzInput *in)
{
    uint64_t off = fuzz_take(in, 2) % VIRTIO_PCI_BAR_SIZE;

    fuzz_bar4_read(off, fuzz_access_size(fuzz_take(in, 1)));
}

void fuzz_op_cfg_write(FuzzInput *in)
{
    uint64_t off = fuzz_take(in, 1);
    unsigned size = fuzz_access_size(fuzz_take(in, 1) % 3);
    uint64_t val = fuzz_take(in, size);

    pci_bus_config_write(fuzz_dev->bus, fuzz_dev->devfn,
                         off & ~(size - 1ULL), val, size);
}

void fuzz_op_cfg_read(FuzzInput *in)
{
    uint64_t off = fuzz_take(in, 1);
    unsigned size = fuzz_access_size(fuzz_take(in, 1) % 3);

    pci_bus_config_read(fuzz_dev->bus, fuzz_dev->devfn,
                        off & ~(size - 1ULL), size);
}

void fuzz_op_msix_write(FuzzInput *in)
{
    uint64_t off = fuzz_take(in, 2) & 0xffc;

    io_dispatch_write(AS_MMIO, fuzz_bar_addr(1) + off, 4, fuzz_take(in, 4));
}

void fuzz_poll_loop(void)
{
    for (int i = 0; i < 1000 && g_main_context_iteration(NULL, FALSE); i++) {
    }
}

uint8_t *fuzz_machine_init(size_t ram_size)
{
    GError *err = NULL;
    ResetControlState *rcr;
    uint8_t *ram;

    qtest_accel_init();
    ram = g_malloc0(ram_size);
    guest_ram_add_block(0, ram_size, ram, "pc.ram");
    rcr = reset_control_create(false, &err);
    if (!rcr || !pci_bus_new(0xe0000000ULL, 0, rcr, &err)) {
        fuzz_fail(err);
    }
    return ram;
}

void fuzz_fail(GError *err)
{
    fprintf(stderr, "%s: setup failed: %s\n", program_invocation_short_name,
            err ? err->message : "?");
    abort();
}
