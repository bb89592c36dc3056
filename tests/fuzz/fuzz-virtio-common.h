/*
 * What the virtio fuzz targets share: a machine with guest RAM at 0 and
 * PCI bus 0 under the qtest accelerator, the input read as a byte
 * stream, and access to the device's BARs.
 */
#ifndef TESTS_FUZZ_VIRTIO_COMMON_H
#define TESTS_FUZZ_VIRTIO_COMMON_H

#include "qemu/osdep.h"
#include "hw/pci/pci.h"

/* The input, consumed front to back; reads past its end give zeros. */
typedef struct FuzzInput {
    const uint8_t *p;
    size_t left;
} FuzzInput;

uint64_t fuzz_take(FuzzInput *in, unsigned bytes);
/* 1, 2, 4 or 8 from the low bits of @sel. */
unsigned fuzz_access_size(uint64_t sel);

/* The device under test, set by the target once realized. */
extern PCIDevice *fuzz_dev;

uint64_t fuzz_bar_addr(unsigned bar);
void fuzz_bar4_write(uint64_t off, uint64_t val, unsigned size);
uint64_t fuzz_bar4_read(uint64_t off, unsigned size);
/*
 * The transport-level operations both targets take from their input:
 * a BAR 4 write or read, a PCI configuration write or read, an MSI-X
 * table write.  Each consumes what it needs from @in.
 */
void fuzz_op_bar4_write(FuzzInput *in);
void fuzz_op_bar4_read(FuzzInput *in);
void fuzz_op_cfg_write(FuzzInput *in);
void fuzz_op_cfg_read(FuzzInput *in);
void fuzz_op_msix_write(FuzzInput *in);
/* Let the device (and its backends' completions) run until idle. */
void fuzz_poll_loop(void);

/* qtest accelerator, @ram_size bytes of RAM at 0, PCI bus 0; the RAM. */
uint8_t *fuzz_machine_init(size_t ram_size);
/* Setup failed: say why and abort. */
G_NORETURN void fuzz_fail(GError *err);

#endif
