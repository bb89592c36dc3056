/*
 * The guest behind `make run`: a short tour of what qvmm hands a guest
 * (processors, memory map, command line, ACPI), then ACPI power-off.
 */
#include "guest.h"

#define MAX_CPUS 64

static const char *cpu_brand(char buf[49])
{
    uint32_t r[12], max;
    const char *p = buf;

    __asm__ volatile("cpuid" : "=a"(max) : "a"(0x80000000) : "ebx", "ecx", "edx");
    if (max < 0x80000004) {
        return "(no brand string)";
    }
    for (uint32_t i = 0; i < 3; i++) {
        __asm__ volatile("cpuid"
                         : "=a"(r[i * 4]), "=b"(r[i * 4 + 1]),
                           "=c"(r[i * 4 + 2]), "=d"(r[i * 4 + 3])
                         : "a"(0x80000002 + i));
    }
    memcpy(buf, r, 48);
    buf[48] = '\0';
    while (*p == ' ') {             /* some brands are right-aligned */
        p++;
    }
    return p;
}

/* "639 KiB", "63.4 MiB", "4.0 GiB": one decimal, rounded down. */
static const char *size_str(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
    uint64_t scale = 1;
    unsigned u = 0;

    while (u + 1 < ARRAY_SIZE(units) && bytes >= scale * 1024) {
        scale *= 1024;
        u++;
    }
    if (bytes % scale == 0) {
        snprintf(buf, len, "%lu %s", bytes / scale, units[u]);
    } else {
        snprintf(buf, len, "%lu.%lu %s", bytes / scale,
                 bytes % scale * 10 / scale, units[u]);
    }
    return buf;
}

static const char *type_str(uint32_t type)
{
    switch (type) {
    case 1: return "usable RAM";
    case 2: return "reserved";
    case 3: return "ACPI tables";
    case 4: return "ACPI NVS";
    default: return "other";
    }
}

void guest_main(const struct hvm_start_info *si)
{
    uint32_t ids[MAX_CPUS], nmap;
    const struct hvm_memmap_entry *map;
    const struct acpi_rsdp *rsdp;
    struct acpi_pm_info pm;
    uint64_t ram = 0;
    char brand_buf[49], size[32];
    unsigned ncpu;

    check_start_info(si);
    printf("\n");
    printf("  Hello from the qvmm demo guest!\n");
    printf("  ===============================\n\n");
    printf("  I was entered in 32-bit protected mode through my PVH entry\n");
    printf("  point, switched to long mode, and now run in 64-bit ring 3.\n");
    printf("  Here is what the virtual machine looks like from inside:\n\n");

    ncpu = acpi_cpus(si, ids, MAX_CPUS);
    printf("  Processors   %u (from the ACPI MADT), APIC ids", ncpu);
    for (unsigned i = 0; i < ncpu && i < MAX_CPUS; i++) {
        printf(" %u", ids[i]);
    }
    printf("\n               %s\n", cpu_brand(brand_buf));

    map = boot_memmap(si, &nmap);
    for (uint32_t i = 0; i < nmap; i++) {
        if (map[i].type == MEMMAP_RAM) {
            ram += map[i].size;
        }
    }
    printf("  Memory       %s usable; the map:\n",
           size_str(ram, size, sizeof(size)));
    for (uint32_t i = 0; i < nmap; i++) {
        printf("                 0x%010lx - 0x%010lx  %-12s %s\n", map[i].addr,
               map[i].addr + map[i].size - 1, type_str(map[i].type),
               size_str(map[i].size, size, sizeof(size)));
    }

    printf("  Command line \"%s\"\n", boot_cmdline(si));
    rsdp = acpi_find_rsdp(si);
    if (rsdp) {
        printf("  ACPI         RSDP at %p, revision %u, OEM \"%.6s\"\n",
               (const void *)rsdp, rsdp->revision, rsdp->oem_id);
    } else {
        printf("  ACPI         no RSDP found\n");
    }

    if (!acpi_pm_info(si, &pm)) {
        guest_fail("cannot power off without ACPI");
    }
    printf("\n  That's all.  Powering off through ACPI (S5, PM1a_CNT at %#x).\n"
           "  Goodbye!\n\n", pm.pm1a_cnt);
    acpi_poweroff(&pm);
    guest_fail("still running after the S5 request");
}
