/*
 * MSI-X (PCI 3.0, 6.8.2): the capability, the vector table and the
 * pending-bit array in a BAR of their own, and delivery.
 *
 * Each vector has an eventfd.  Under KVM, while the vector is unmasked
 * and MSI-X is enabled, that eventfd is a KVM irqfd on a GSI routed as
 * MSI with the table's address and data, so a device thread raises the
 * interrupt with one write() and no lock.  While the vector (or the
 * function) is masked the irqfd is detached and the main loop drains
 * the eventfd into the pending bit instead; unmasking delivers a pending
 * vector.  Without KVM (qtest) the main loop delivers every vector by
 * writing its data to its address in guest memory.
 */
#ifndef HW_PCI_MSIX_H
#define HW_PCI_MSIX_H

#include "hw/pci/pci.h"

#define PCI_CAP_ID_MSIX          0x11
#define PCI_MSIX_MAX_VECTORS     2048

/*
 * Add the capability and a 32-bit memory BAR @bar holding the table (at
 * 0) and the PBA (after it), as QEMU's msix_init_exclusive_bar() lays
 * them out.  Call from realize() after pci_register_device().
 */
bool msix_init_exclusive_bar(PCIDevice *d, unsigned nvectors, unsigned bar,
                             GError **errp);
/* Free what msix_init_exclusive_bar() made (the device's finalize). */
void msix_uninit(PCIDevice *d);

/* MSI-X enabled and the function not masked. */
bool msix_enabled(PCIDevice *d);
unsigned msix_nr_vectors(PCIDevice *d);

/*
 * Raise @vector.  Any thread, no lock needed; a vector number out of
 * range is ignored.  The device is responsible for not calling this
 * while MSI-X is disabled (it uses INTx then).
 */
void msix_notify(PCIDevice *d, unsigned vector);

/*
 * The eventfd behind @vector (-1 if none): writing it is msix_notify(),
 * so a kernel backend (vhost) can interrupt the guest directly.
 */
int msix_vector_fd(PCIDevice *d, unsigned vector);

/* Device reset: every vector masked, nothing pending, MSI-X disabled.
 * (pci.c also calls it on system reset.) */
void msix_reset(PCIDevice *d);

/* For pci.c: config bytes [@off, @off+@len) were written (BQL). */
void msix_write_config(PCIDevice *d, uint32_t off, unsigned len);

#endif
