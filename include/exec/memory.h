/*
 * Address-space dispatch and checked guest memory.
 *
 * Devices register port-I/O and MMIO regions as intervals with callbacks.
 * Callbacks run with the big qvmm lock (BQL) held, on a vCPU thread or the
 * main thread, so device state needs no further locking unless a device
 * also runs work in an I/O thread.
 *
 * Guest RAM is reached only through guest_ram_ptr(), which refuses ranges
 * that are not wholly inside one RAM block (overflow-safe), so a
 * guest-supplied address can never walk off the end of a mapping.
 */
#ifndef EXEC_MEMORY_H
#define EXEC_MEMORY_H

#include "qemu/osdep.h"

typedef enum AddressSpaceId {
    AS_PIO = 0,
    AS_MMIO = 1,
} AddressSpaceId;

typedef struct IORegionOps {
    /* @offset is relative to the region base; @size is 1, 2, 4 or 8. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
} IORegionOps;

typedef struct IORegion IORegion;

/*
 * Register [base, base+len).  Overlapping an existing region fails with
 * an error naming both.  Returns NULL on error.
 */
IORegion *io_region_add(AddressSpaceId as, uint64_t base, uint64_t len,
                        const IORegionOps *ops, void *opaque,
                        const char *name, GError **errp);
void io_region_del(IORegion *r);
/* Move a region (a BAR reprogrammed by the guest). */
bool io_region_move(IORegion *r, uint64_t new_base, GError **errp);

/*
 * Dispatch an access.  Returns false when nothing is mapped there; then a
 * read yields all-ones for PIO and zero for MMIO, as on QEMU's pc machine.
 * Accesses spanning two regions are split byte-wise.
 */
bool io_dispatch_read(AddressSpaceId as, uint64_t addr, unsigned size,
                      uint64_t *val);
bool io_dispatch_write(AddressSpaceId as, uint64_t addr, unsigned size,
                       uint64_t val);

/*
 * ioeventfds.  A write of any size whose address is exactly the region's
 * base + @offset signals @fd (eventfd_write 1) instead of reaching the
 * write op; reads still go to the op.  The accelerator may take such
 * writes over so the vCPU never leaves the guest (KVM_IOEVENTFD); the
 * memory layer then keeps the kernel's copy at the region's current
 * address as the region moves or goes away.  The fd stays the caller's.
 * False (with @errp) when @offset is outside the region, already has an
 * eventfd, or the accelerator refused it.
 */
bool io_region_add_eventfd(IORegion *r, uint64_t offset, int fd,
                           GError **errp);
void io_region_del_eventfd(IORegion *r, uint64_t offset);

/*
 * The accelerator's hook: assign (or deassign) a kernel ioeventfd for
 * writes of any length at @addr in @as.  Returns 0 or -errno.  NULL (the
 * default, and qtest) leaves the dispatch code to do it.
 */
typedef int (*IOEventfdHook)(AddressSpaceId as, uint64_t addr, int fd,
                             bool assign);
void io_eventfd_set_hook(IOEventfdHook hook);

/* Name of the region covering @addr, or NULL (for diagnostics). */
const char *io_region_name_at(AddressSpaceId as, uint64_t addr);

/* ---- guest RAM ---- */

typedef struct RAMBlock {
    uint64_t gpa;        /* guest-physical base */
    uint64_t size;
    uint8_t *hva;        /* host mapping */
    const char *name;
} RAMBlock;

/* Record a block of guest RAM (the machine does the mmap). */
void guest_ram_add_block(uint64_t gpa, uint64_t size, void *hva,
                         const char *name);
/* Forget every block (tests). */
void guest_ram_reset_blocks(void);
unsigned guest_ram_num_blocks(void);
const RAMBlock *guest_ram_block(unsigned i);

/*
 * Host pointer to guest range [gpa, gpa+len), or NULL if any byte of it is
 * outside RAM or the range wraps.  len == 0 is allowed when gpa is in RAM.
 */
void *guest_ram_ptr(uint64_t gpa, uint64_t len);

/* Copy to/from guest RAM; false if the range is not wholly RAM. */
bool guest_mem_read(uint64_t gpa, void *buf, uint64_t len);
bool guest_mem_write(uint64_t gpa, const void *buf, uint64_t len);

/*
 * A physical access as the CPU would do it: RAM, or else MMIO dispatch
 * (reads of unassigned memory give 0).  Used by qtest and MSI writes.
 */
void phys_mem_rw(uint64_t addr, void *buf, uint64_t len, bool is_write);

#endif
