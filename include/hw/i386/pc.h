/*
 * The pc machine: memory layout, boot information and firmware tables.
 *
 * qvmm boots without firmware, so it writes what a BIOS would leave behind
 * (e820 map, ACPI tables) and what a boot loader would (boot_params or
 * hvm_start_info, command line, initrd) straight into guest RAM.
 *
 * Fixed guest-physical layout below 1 MiB:
 *   0x00500  GDT for the boot CPU
 *   0x06000  hvm_start_info, its memory map and module list (PVH)
 *   0x07000  boot_params, the "zero page" (Linux 64-bit boot protocol)
 *   0x09000  page tables (PML4, PDPT, 4 PDs: identity map of 0-4 GiB)
 *   0x20000  kernel command line
 *   0x9fc00  EBDA (reserved)
 *   0xe0000  ACPI tables, RSDP first (reserved), up to 0xfffff
 */
#ifndef HW_I386_PC_H
#define HW_I386_PC_H

#include "qemu/osdep.h"

#define PC_GDT_ADDR          0x500
#define PC_START_INFO_ADDR   0x6000
#define PC_ZERO_PAGE_ADDR    0x7000
#define PC_PAGE_TABLE_ADDR   0x9000
#define PC_CMDLINE_ADDR      0x20000
#define PC_CMDLINE_MAX       0x10000
#define PC_EBDA_ADDR         0x9fc00
#define PC_ACPI_ADDR         0xe0000
#define PC_ACPI_SIZE         0x20000
#define PC_HIGH_MEM_ADDR     0x100000

/* KVM's private pages for VMX real mode (identity map, then the TSS),
 * where QEMU puts them, reserved in the e820 map. */
#define PC_KVM_PRIVATE_ADDR  0xfeffc000ULL
#define PC_KVM_PRIVATE_SIZE  0x4000
#define PC_IOAPIC_ADDR       0xfec00000ULL
#define PC_LAPIC_ADDR        0xfee00000ULL
#define PC_PCI_HOLE_START    0xe0000000ULL  /* default max below 4 GiB */
#define PC_4G                0x100000000ULL

/* ACPI PM I/O block (as on PIIX4 under QEMU) and the SCI line. */
#define PC_ACPI_PM_BASE      0x600
#define PC_ACPI_SCI_IRQ      9
#define PC_RESET_CONTROL_PORT 0xcf9
/* Value the FADT tells the OS to write to the reset port (hard reset). */
#define PC_RESET_CONTROL_VALUE 0x06
/*
 * ISA IRQs shared with PCI INTx links (QEMU's pc pci_irq_mask): level
 * triggered, active high, so the MADT overrides them.  Includes the SCI.
 */
#define PC_PCI_IRQ_MASK      ((1u << 5) | (1u << 9) | (1u << 10) | (1u << 11))

/* ---- e820 ---- */
#define E820_TYPE_RAM        1
#define E820_TYPE_RESERVED   2
#define E820_TYPE_ACPI       3
#define E820_TYPE_NVS        4
#define E820_MAX_ENTRIES     32

typedef struct E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} E820Entry;

typedef struct E820Table {
    E820Entry entry[E820_MAX_ENTRIES];
    unsigned count;
} E820Table;

/*
 * RAM below and above 4 GiB for @ram_size, as QEMU's pc machine splits it:
 * RAM at or beyond 3.5 GiB leaves 3 GiB low and maps the rest from 4 GiB.
 */
void pc_split_ram(uint64_t ram_size, uint64_t *below_4g, uint64_t *above_4g);
/* The map qvmm reports: low RAM, EBDA, BIOS area with ACPI, RAM, RAM>4G. */
void pc_build_e820(E820Table *t, uint64_t below_4g, uint64_t above_4g);

/* ---- ACPI ---- */
typedef struct AcpiBuildConfig {
    unsigned ncpus;           /* vCPUs present (APIC ids 0..ncpus-1 mapped) */
    const uint32_t *apic_ids; /* APIC id of each vCPU; NULL: id = index */
    unsigned nserial;         /* COM ports present (1..4), for the DSDT */
    bool pci;                 /* describe PCI0 with its windows and _PRT */
    uint64_t below_4g;        /* RAM below 4 GiB: the 32-bit window starts */
    uint64_t above_4g;        /* RAM from 4 GiB: the 64-bit window is past it */
} AcpiBuildConfig;

/*
 * Build RSDP, RSDT, XSDT, FADT, FACS, DSDT and MADT into guest RAM at
 * PC_ACPI_ADDR.  Returns the RSDP's guest address, 0 on error.
 */
uint64_t acpi_build_tables(const AcpiBuildConfig *cfg, GError **errp);

/* ---- kernel loading ---- */
typedef enum BootMode {
    BOOT_MODE_PVH32,    /* 32-bit protected mode, paging off, EBX=start_info */
    BOOT_MODE_LINUX64,  /* long mode, identity paging, RSI=boot_params */
} BootMode;

typedef struct BootConfig {
    const char *kernel_filename;
    const char *initrd_filename;   /* or NULL */
    const char *cmdline;           /* never NULL ("" when no -append) */
    const E820Table *e820;
    uint64_t below_4g;
    uint64_t rsdp_addr;
} BootConfig;

/*
 * GDT selectors the loader writes at PC_GDT_ADDR, in both modes.  Linux's
 * 64-bit boot protocol requires exactly these (__BOOT_CS, __BOOT_DS); PVH
 * leaves the choice to us, so it uses the same ones.  The code segment is
 * 64-bit (L=1) for LINUX64 and 32-bit (D=1) for PVH32; all are flat 4 GiB,
 * DPL 0, accessed.
 */
#define PC_BOOT_CS           0x10
#define PC_BOOT_DS           0x18

typedef struct BootInfo {
    BootMode mode;
    uint64_t entry;          /* guest-physical entry point */
    uint64_t boot_info;      /* EBX (PVH) or RSI (Linux) */
    uint64_t gdt_base;       /* GDT written by the loader */
    uint16_t gdt_limit;
    uint16_t code_sel;       /* CS: PC_BOOT_CS */
    uint16_t data_sel;       /* DS, ES, SS (and FS, GS): PC_BOOT_DS */
    uint64_t cr3;            /* LINUX64 only */
} BootInfo;

/*
 * Load -kernel/-initrd/-append into guest RAM.  Accepts a bzImage (64-bit
 * boot protocol), an ELF with a PVH note (PVH), or an ELF64 vmlinux
 * without one (64-bit entry at e_entry).  Errors name the file.
 */
bool pc_load_kernel(const BootConfig *cfg, BootInfo *info, GError **errp);

#endif
