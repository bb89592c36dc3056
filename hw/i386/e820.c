/*
 * Guest RAM split and the e820 memory map of the pc machine.
 *
 * Without firmware nobody answers INT 15h/E820, so qvmm hands this table
 * to the kernel directly (boot_params or the PVH memory map).
 */
#include "qemu/osdep.h"
#include "hw/i386/pc.h"

void pc_split_ram(uint64_t ram_size, uint64_t *below_4g, uint64_t *above_4g)
{
    /*
     * QEMU's pc (i440fx) machine keeps everything below 4 GiB while RAM
     * fits under the 3.5 GiB PCI hole start; past that it gigabyte-aligns
     * the split (3 GiB low) so that large pages map both halves.
     */
    uint64_t lowmem = PC_PCI_HOLE_START;

    if (ram_size >= lowmem) {
        lowmem = 3 * GiB;
    }
    if (ram_size >= lowmem) {
        *below_4g = lowmem;
        *above_4g = ram_size - lowmem;
    } else {
        *below_4g = ram_size;
        *above_4g = 0;
    }
}

static void e820_add(E820Table *t, uint64_t addr, uint64_t size,
                     uint32_t type)
{
    if (size == 0) {
        return;
    }
    /* The fixed layout below produces at most five entries. */
    g_assert(t->count < E820_MAX_ENTRIES);
    t->entry[t->count].addr = addr;
    t->entry[t->count].size = size;
    t->entry[t->count].type = type;
    t->count++;
}

void pc_build_e820(E820Table *t, uint64_t below_4g, uint64_t above_4g)
{
    memset(t, 0, sizeof(*t));

    /*
     * Conventional memory stops at the EBDA.  With a tiny -m the RAM may
     * end earlier; the reserved ranges are reported regardless, since they
     * describe the address space, not RAM.
     */
    e820_add(t, 0, MIN(below_4g, (uint64_t)PC_EBDA_ADDR), E820_TYPE_RAM);
    e820_add(t, PC_EBDA_ADDR, 0xa0000 - PC_EBDA_ADDR, E820_TYPE_RESERVED);
    /* The BIOS area holding the ACPI tables; the VGA hole is left out. */
    e820_add(t, PC_ACPI_ADDR, PC_ACPI_SIZE, E820_TYPE_RESERVED);
    if (below_4g > PC_HIGH_MEM_ADDR) {
        e820_add(t, PC_HIGH_MEM_ADDR, below_4g - PC_HIGH_MEM_ADDR,
                 E820_TYPE_RAM);
    }
    e820_add(t, PC_KVM_PRIVATE_ADDR, PC_KVM_PRIVATE_SIZE, E820_TYPE_RESERVED);
    e820_add(t, PC_4G, above_4g, E820_TYPE_RAM);
}
