/*
 * Boot information as the guest sees it: the PVH memory map, the command
 * line, and the RAM totals the runner compares with -m.  Ends through
 * isa-debug-exit with 0x11 (status 35).
 */
#include "guest.h"

#define MEMMAP_EXIT 0x11

static const char *type_name(uint32_t type)
{
    static const char *const names[] = {
        [1] = "ram", [2] = "reserved", [3] = "acpi", [4] = "nvs",
        [5] = "unusable", [6] = "disabled", [7] = "pmem",
    };

    return type < ARRAY_SIZE(names) && names[type] ? names[type] : "?";
}

void guest_main(const struct hvm_start_info *si)
{
    const struct hvm_memmap_entry *map;
    uint64_t ram = 0, ram_high = 0;
    uint32_t n;

    check_start_info(si);
    printf("start_info: version %u, %u modules, rsdp %#lx\n", si->version,
           si->nr_modules, si->rsdp_paddr);
    map = boot_memmap(si, &n);
    if (!map) {
        guest_fail("start_info has no memory map");
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t end = map[i].addr + map[i].size;

        printf("memmap: 0x%016lx-0x%016lx type %u (%s)\n", map[i].addr,
               end - 1, map[i].type, type_name(map[i].type));
        if (map[i].type != MEMMAP_RAM) {
            continue;
        }
        ram += map[i].size;
        if (end > 0x100000000ull) {
            ram_high += end - (map[i].addr > 0x100000000ull ? map[i].addr
                                                            : 0x100000000ull);
        }
    }
    printf("cmdline: \"%s\"\n", boot_cmdline(si));
    printf("ram-total-kib=%lu\n", ram >> 10);
    printf("ram-total-mib=%lu\n", ram >> 20);
    printf("ram-above-4g-mib=%lu\n", ram_high >> 20);
    debug_exit(MEMMAP_EXIT);
}
