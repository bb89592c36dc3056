/*
 * PCI for the test guests: configuration mechanism 1 (ports 0xcf8/0xcfc,
 * allowed from ring 3 by the TSS I/O bitmap), device lookup, capability
 * walk and memory BARs.
 */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct pci_dev {
    uint8_t bus, slot, func;
    uint16_t vendor, device;
};

uint32_t pci_read32(const struct pci_dev *d, uint8_t off);
uint16_t pci_read16(const struct pci_dev *d, uint8_t off);
uint8_t pci_read8(const struct pci_dev *d, uint8_t off);
void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v);

/*
 * The first function on bus 0 with this vendor and one of the device ids
 * (a list ending in 0); false if there is none.
 */
bool pci_find(uint16_t vendor, const uint16_t *devices, struct pci_dev *d);

/*
 * Offset of the next capability with this id after @prev (0: from the
 * start of the list), or 0 when there is none.  The walk is bounded, so
 * a looping list ends it rather than the guest.
 */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t prev);

/*
 * The address and size of memory BAR @bar (the pair, if it is 64-bit),
 * with memory decoding and bus mastering turned on.  A BAR that reads 0
 * (no firmware, and a VMM that left it to us) is given an address from
 * a window below 4 GiB.  The range is then made reachable
 * (paging_map_mmio).  False, with a message, on an I/O BAR, a BAR out of
 * range or a range that cannot be mapped.
 */
bool pci_map_bar(const struct pci_dev *d, unsigned bar, uint64_t *addr,
                 uint64_t *size);

/*
 * Move 64-bit memory BAR @bar to @addr (aligned to its size), decoding off
 * meanwhile; pci_map_bar() then finds it there.  False, with a message,
 * if it is not a 64-bit memory BAR or @addr is misaligned.
 */
bool pci_move_bar64(const struct pci_dev *d, unsigned bar, uint64_t addr);

/*
 * Identity-map [addr, addr + size) if it lies above the boot map's 4 GiB
 * (64-bit BARs may), with 2 MiB user pages.  Only the first 512 GiB can
 * be mapped; false beyond that or when the page-directory pool runs out.
 */
bool paging_map_mmio(uint64_t addr, uint64_t size);

#endif
