/*
 * The x86 PVH boot ABI, as a guest kernel sees it.
 *
 * This is Xen's public interface (xen/include/public/arch-x86/hvm/
 * start_info.h and xen/include/public/elfnote.h), which KVM loaders and
 * Linux use unchanged for direct boot.  No uapi header carries it, so the
 * layout is spelled out here.  Everything is little endian; addresses
 * are guest-physical, 0 meaning "not present".
 *
 * On entry: 32-bit protected mode, paging off, flat 4 GiB CS (execute/
 * read) and DS/ES/SS (read/write), EBX = address of struct
 * hvm_start_info, interrupts disabled.
 */
#ifndef HW_I386_PVH_H
#define HW_I386_PVH_H

#include "qemu/osdep.h"

/* ELF note (owner "Xen") giving the 32-bit physical PVH entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY   18
#define XEN_ELFNOTE_NAME           "Xen"

/* "xEn3" with the top bit of the 'E' set */
#define XEN_HVM_START_MAGIC_VALUE  0x336ec578

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;          /* 1: has the memory map fields */
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;    /* array of struct hvm_modlist_entry */
    uint64_t cmdline_paddr;    /* NUL-terminated */
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;     /* array of struct hvm_memmap_table_entry */
    uint32_t memmap_entries;
    uint32_t reserved;
};

/* A module; Linux takes the first one as its initrd. */
struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

/* Types are the e820 ones (1 RAM, 2 reserved, 3 ACPI, 4 NVS ...). */
struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

G_STATIC_ASSERT(sizeof(struct hvm_start_info) == 56);
G_STATIC_ASSERT(sizeof(struct hvm_modlist_entry) == 32);
G_STATIC_ASSERT(sizeof(struct hvm_memmap_table_entry) == 24);

#endif
