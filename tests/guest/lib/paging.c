/*
 * Identity mappings above the boot map's 4 GiB, for 64-bit BARs (qvmm
 * puts them past the end of RAM above 4 GiB).  The tables live in .data
 * and .bss, which the boot map makes user-writable, so ring 3 fills them
 * and only the CR3 reload needs ring 0.
 */
#include "guest.h"
#include "pci.h"
#include "x86.h"

#define GIB (1ull << 30)
#define PD_POOL 8                       /* 8 GiB of extra mappings */

extern uint64_t pml4[512];

static uint64_t pd_pool[PD_POOL][512] __attribute__((aligned(4096)));
static unsigned pd_used;

static void reload_cr3(uint64_t unused)
{
    uint64_t cr3;

    (void)unused;
    __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* Map the 1 GiB at index @gib of the first PDPT; false if out of tables. */
static bool map_gib(uint64_t *pdpt, uint64_t gib)
{
    uint64_t *pd;

    if (pdpt[gib] & 1) {
        return true;
    }
    if (pd_used == PD_POOL) {
        return false;
    }
    pd = pd_pool[pd_used++];
    for (uint64_t i = 0; i < 512; i++) {
        pd[i] = (gib * GIB + i * 0x200000) | PDE_2M_USER;
    }
    __asm__ volatile("" ::: "memory");
    pdpt[gib] = (uint64_t)pd | PTE_USER;
    return true;
}

bool paging_map_mmio(uint64_t addr, uint64_t size)
{
    uint64_t *pdpt = (uint64_t *)(pml4[0] & ~0xfffull);
    uint64_t end;

    if (!size || size - 1 > UINT64_MAX - addr) {
        return false;
    }
    end = addr + size - 1;
    if (end < 4 * GIB) {
        return true;                    /* the boot map covers it */
    }
    if (end >= 512 * GIB) {
        return false;
    }
    for (uint64_t g = addr / GIB; g <= end / GIB; g++) {
        if (!map_gib(pdpt, g)) {
            return false;
        }
    }
    ring0_call(reload_cr3, 0);
    return true;
}
