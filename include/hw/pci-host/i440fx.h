/*
 * The i440FX host bridge (00.0) and the PIIX3 PCI-to-ISA bridge (01.0) of
 * the pc machine, as QEMU's pc shows them to a guest.
 */
#ifndef HW_PCI_HOST_I440FX_H
#define HW_PCI_HOST_I440FX_H

#include "hw/pci/pci.h"

#define PCI_DEVICE_ID_INTEL_82441      0x1237
#define PCI_DEVICE_ID_INTEL_82371SB_0  0x7000
#define PCI_CLASS_BRIDGE_HOST          0x0600
#define PCI_CLASS_BRIDGE_ISA           0x0601

/* PIIX3 PIRQ route control: PIRQA-D in 0x60-0x63. */
#define PIIX_PIRQRC                    0x60

/*
 * Bus 0 ("pci.0" for -device) with the two bridges on it.  0xcf9 goes to
 * @rcr, which must have been created with map_port off.
 */
PCIBus *i440fx_create(uint64_t below_4g, uint64_t above_4g,
                      ResetControlState *rcr, GError **errp);

#endif
