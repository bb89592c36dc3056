/*
 * Direct kernel boot: -kernel, -initrd and -append without firmware.
 *
 * Three kinds of kernel file are accepted, tried in this order:
 *  - a bzImage, entered through the 64-bit boot protocol
 *    (Documentation/arch/x86/boot.rst): boot_params at PC_ZERO_PAGE_ADDR,
 *    protected-mode code at 1 MiB, entry 0x200 bytes into it;
 *  - an ELF with a XEN_ELFNOTE_PHYS32_ENTRY note, entered through PVH
 *    (include/hw/i386/pvh.h) with hvm_start_info at PC_START_INFO_ADDR;
 *  - an ELF64 vmlinux without that note, entered at e_entry in long mode
 *    with a boot_params whose setup header qvmm makes up.
 *
 * The file is hostile input: every offset and length in it is checked
 * with overflow-safe arithmetic before use, and guest RAM is only reached
 * through guest_ram_ptr()/guest_mem_write(), which refuse ranges outside
 * RAM.  No part of the file is loaded below 1 MiB: that area holds the
 * boot data qvmm writes itself.
 */
#include "qemu/osdep.h"
#include <sys/stat.h>
#include <elf.h>
#include <asm/bootparam.h>
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/i386/pc.h"
#include "hw/i386/pvh.h"

#define BZ_LOAD_ADDR         PC_HIGH_MEM_ADDR
#define BZ_ENTRY_64_OFFSET   0x200
#define BZ_HDR_OFFSET        0x1f1
#define BZ_MAGIC_OFFSET      0x202
#define BZ_MAGIC             0x53726448          /* "HdrS" */
#define BZ_MIN_PROTOCOL      0x206
#define BZ_LOADER_UNDEFINED  0xff
/* Like QEMU: heap ends where the command line would start. */
#define BZ_HEAP_END          0xfe00
#define BOOT_PROTOCOL_NOW    0x020f              /* for a made-up header */

/* Linux's old default for kernels that do not state initrd_addr_max. */
#define INITRD_ADDR_MAX_OLD  0x37ffffffu

/* hvm_start_info, then the module list and memory map, in one page. */
#define PVH_MODLIST_ADDR     (PC_START_INFO_ADDR + 0x40)
#define PVH_MEMMAP_ADDR      (PC_START_INFO_ADDR + 0x80)
G_STATIC_ASSERT(sizeof(struct hvm_start_info) <= 0x40);
G_STATIC_ASSERT(0x80 + E820_MAX_ENTRIES *
                sizeof(struct hvm_memmap_table_entry) <= 0x1000);

/* Page tables: PML4, PDPT, then four page directories of 2 MiB pages. */
#define PT_PML4              PC_PAGE_TABLE_ADDR
#define PT_PDPT              (PC_PAGE_TABLE_ADDR + 0x1000)
#define PT_PD(i)             (PC_PAGE_TABLE_ADDR + 0x2000 + (i) * 0x1000)
#define PT_SIZE              0x6000
#define PTE_PRESENT_RW       0x3
#define PTE_LARGE            0x80

/* Flat 4 GiB descriptors: present, DPL 0, accessed. */
#define GDT_CODE64           0x00af9b000000ffffULL   /* L=1 */
#define GDT_CODE32           0x00cf9b000000ffffULL   /* D=1 */
#define GDT_DATA             0x00cf93000000ffffULL
#define GDT_ENTRIES          4

G_STATIC_ASSERT(sizeof(struct boot_params) == 4096);
G_STATIC_ASSERT(offsetof(struct boot_params, hdr) == BZ_HDR_OFFSET);

/* The kernel file, mapped read-only. */
typedef struct KernelFile {
    const char *name;
    const uint8_t *data;
    size_t size;
} KernelFile;

/* What the kernel-specific loaders leave for the common code. */
typedef struct LoadedKernel {
    uint64_t entry;
    uint64_t end;            /* first byte past the kernel's memory */
    uint64_t initrd_max;     /* last byte an initrd may occupy */
    bool pvh;
    struct setup_header hdr; /* LINUX64: the header for boot_params */
    size_t hdr_len;
} LoadedKernel;

/* [off, off + len) lies within a buffer of @size bytes. */
static bool range_in(uint64_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

static bool write_guest(uint64_t gpa, const void *buf, uint64_t len,
                        const char *what, GError **errp)
{
    if (!guest_mem_write(gpa, buf, len)) {
        error_setg(errp, "no guest RAM for the %s at 0x%" PRIx64
                   " (%" PRIu64 " bytes)", what, gpa, len);
        return false;
    }
    return true;
}

/* ---- bzImage ---- */

static bool is_bzimage(const KernelFile *k)
{
    uint32_t magic;

    if (k->size < BZ_MAGIC_OFFSET + 4) {
        return false;
    }
    memcpy(&magic, k->data + BZ_MAGIC_OFFSET, 4);
    return GUINT32_FROM_LE(magic) == BZ_MAGIC;
}

/*
 * The setup header ends at 0x202 plus the byte at 0x201 (the jump over
 * it); copy no more than that, and no more than the header qvmm knows.
 */
static size_t bz_header_len(const KernelFile *k)
{
    size_t end = BZ_MAGIC_OFFSET + k->data[0x201];

    return MIN(end, BZ_HDR_OFFSET + sizeof(struct setup_header)) -
           BZ_HDR_OFFSET;
}

static bool bz_check_protocol(const KernelFile *k,
                              const struct setup_header *hdr, GError **errp)
{
    if (hdr->version < BZ_MIN_PROTOCOL) {
        error_setg(errp, "kernel '%s' uses boot protocol %u.%02u; qvmm "
                   "needs 2.06 or later", k->name, hdr->version >> 8,
                   hdr->version & 0xff);
        return false;
    }
    /* xloadflags exists from 2.12 on; older kernels have no 64-bit entry. */
    if (hdr->version < 0x20c || !(hdr->xloadflags & XLF_KERNEL_64)) {
        error_setg(errp, "kernel '%s' has no 64-bit entry point "
                   "(XLF_KERNEL_64 is not set)", k->name);
        return false;
    }
    return true;
}

/*
 * Where the kernel's memory ends.  The decompressor works at
 * max(load address, pref_address) over init_size bytes, so an initrd must
 * stay above that as well as above the loaded image.
 */
static bool bz_kernel_end(const struct setup_header *hdr, uint64_t image_end,
                          uint64_t *end, GError **errp)
{
    uint64_t work_end;

    *end = image_end;
    if (hdr->version < 0x20a) {
        return true;
    }
    if (!g_uint64_checked_add(&work_end, MAX(hdr->pref_address, BZ_LOAD_ADDR),
                              hdr->init_size)) {
        error_setg(errp, "invalid kernel header");
        return false;
    }
    *end = MAX(image_end, work_end);
    return true;
}

static uint64_t bz_initrd_max(const struct setup_header *hdr)
{
    if (hdr->version >= 0x20c &&
        (hdr->xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G)) {
        return UINT32_MAX;
    }
    if (hdr->version >= 0x203) {
        return hdr->initrd_addr_max;
    }
    return INITRD_ADDR_MAX_OLD;
}

static bool load_bzimage(const KernelFile *k, LoadedKernel *lk,
                         GError **errp)
{
    unsigned setup_sects = k->data[BZ_HDR_OFFSET] ? k->data[BZ_HDR_OFFSET] : 4;
    size_t setup_size = (setup_sects + 1) * 512;
    size_t prot_size;

    /*
     * QEMU's wording for a file shorter than its own setup code; used for
     * every header that contradicts the file.
     */
    if (setup_size > k->size) {
        error_setg(errp, "invalid kernel header");
        return false;
    }
    lk->hdr_len = bz_header_len(k);
    memset(&lk->hdr, 0, sizeof(lk->hdr));
    memcpy(&lk->hdr, k->data + BZ_HDR_OFFSET, lk->hdr_len);
    if (!bz_check_protocol(k, &lk->hdr, errp)) {
        return false;
    }

    prot_size = k->size - setup_size;
    if (prot_size <= BZ_ENTRY_64_OFFSET) {
        error_setg(errp, "invalid kernel header");
        return false;
    }
    if (!bz_kernel_end(&lk->hdr, BZ_LOAD_ADDR + prot_size, &lk->end, errp)) {
        return false;
    }
    if (!guest_mem_write(BZ_LOAD_ADDR, k->data + setup_size, prot_size)) {
        error_setg(errp, "kernel '%s' does not fit in guest RAM (%zu bytes "
                   "at 0x%x)", k->name, prot_size, BZ_LOAD_ADDR);
        return false;
    }
    lk->entry = BZ_LOAD_ADDR + BZ_ENTRY_64_OFFSET;
    lk->initrd_max = bz_initrd_max(&lk->hdr);
    return true;
}

/* ---- ELF ---- */

typedef struct ElfSeg {
    uint32_t type;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
} ElfSeg;

typedef struct ElfFile {
    bool is64;
    uint16_t machine;
    uint64_t entry;
    unsigned nsegs;
    ElfSeg *segs;
} ElfFile;

static bool is_elf(const KernelFile *k)
{
    return k->size >= SELFMAG && !memcmp(k->data, ELFMAG, SELFMAG);
}

static bool elf_malformed(const KernelFile *k, GError **errp,
                          const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool elf_malformed(const KernelFile *k, GError **errp,
                          const char *fmt, ...)
{
    g_autofree char *why = NULL;
    va_list ap;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(errp, "kernel '%s': malformed ELF file: %s", k->name, why);
    return false;
}

static void elf_read_phdr(const KernelFile *k, bool is64, uint64_t off,
                          ElfSeg *s)
{
    if (is64) {
        Elf64_Phdr p;

        memcpy(&p, k->data + off, sizeof(p));
        *s = (ElfSeg) { p.p_type, p.p_offset, p.p_vaddr, p.p_paddr,
                        p.p_filesz, p.p_memsz, p.p_align };
    } else {
        Elf32_Phdr p;

        memcpy(&p, k->data + off, sizeof(p));
        *s = (ElfSeg) { p.p_type, p.p_offset, p.p_vaddr, p.p_paddr,
                        p.p_filesz, p.p_memsz, p.p_align };
    }
}

/* Read the ELF header and program headers into @ef (x86 only, LE). */
static bool elf_parse(const KernelFile *k, ElfFile *ef, GError **errp)
{
    uint64_t phoff;
    unsigned phnum, phentsize, type;
    size_t ehsize, phsize;

    if (k->size < EI_NIDENT || k->data[EI_DATA] != ELFDATA2LSB ||
        (k->data[EI_CLASS] != ELFCLASS32 && k->data[EI_CLASS] != ELFCLASS64)) {
        return elf_malformed(k, errp, "not a little-endian ELF32/ELF64");
    }
    ef->is64 = k->data[EI_CLASS] == ELFCLASS64;
    ehsize = ef->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    phsize = ef->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (k->size < ehsize) {
        return elf_malformed(k, errp, "truncated ELF header");
    }
    if (ef->is64) {
        Elf64_Ehdr eh;

        memcpy(&eh, k->data, sizeof(eh));
        ef->machine = eh.e_machine;
        ef->entry = eh.e_entry;
        phoff = eh.e_phoff;
        phnum = eh.e_phnum;
        phentsize = eh.e_phentsize;
        type = eh.e_type;
    } else {
        Elf32_Ehdr eh;

        memcpy(&eh, k->data, sizeof(eh));
        ef->machine = eh.e_machine;
        ef->entry = eh.e_entry;
        phoff = eh.e_phoff;
        phnum = eh.e_phnum;
        phentsize = eh.e_phentsize;
        type = eh.e_type;
    }
    if (type != ET_EXEC) {
        return elf_malformed(k, errp, "not an executable");
    }
    if (ef->machine != EM_X86_64 && ef->machine != EM_386) {
        return elf_malformed(k, errp, "machine %u is not x86", ef->machine);
    }
    /* PN_XNUM would put the count in section 0: no kernel does that. */
    if (phnum == 0 || phnum == PN_XNUM || phentsize < phsize ||
        !range_in(k->size, phoff, (uint64_t)phnum * phentsize)) {
        return elf_malformed(k, errp, "bad program header table");
    }
    ef->nsegs = phnum;
    ef->segs = g_new(ElfSeg, phnum);
    for (unsigned i = 0; i < phnum; i++) {
        elf_read_phdr(k, ef->is64, phoff + (uint64_t)i * phentsize,
                      &ef->segs[i]);
    }
    return true;
}

static uint32_t read_le32(const uint8_t *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return GUINT32_FROM_LE(v);
}

/*
 * Walk the notes of one PT_NOTE segment for Xen's PHYS32_ENTRY.  Names
 * and descriptors are padded to 4 bytes (8 in segments aligned to 8).
 * Returns false on a malformed note; *found tells whether it was there.
 */
static bool elf_scan_notes(const KernelFile *k, const ElfSeg *s,
                           uint64_t *entry, bool *found, GError **errp)
{
    uint64_t pad = s->align == 8 ? 8 : 4;
    uint64_t off = 0;
    const uint8_t *p;

    if (!range_in(k->size, s->offset, s->filesz)) {
        return elf_malformed(k, errp, "note segment beyond end of file");
    }
    p = k->data + s->offset;
    while (off < s->filesz && s->filesz - off >= 12) {
        uint64_t namesz = read_le32(p + off);
        uint64_t descsz = read_le32(p + off + 4);
        uint32_t type = read_le32(p + off + 8);
        uint64_t name_off = off + 12;
        uint64_t desc_off = name_off + QEMU_ALIGN_UP(namesz, pad);

        if (!range_in(s->filesz, name_off, QEMU_ALIGN_UP(namesz, pad)) ||
            !range_in(s->filesz, desc_off, descsz)) {
            return elf_malformed(k, errp, "note runs past its segment");
        }
        if (type == XEN_ELFNOTE_PHYS32_ENTRY &&
            namesz == sizeof(XEN_ELFNOTE_NAME) &&
            !memcmp(p + name_off, XEN_ELFNOTE_NAME, namesz)) {
            if (descsz == 4) {
                *entry = read_le32(p + desc_off);
            } else if (descsz == 8) {
                *entry = read_le32(p + desc_off) |
                         (uint64_t)read_le32(p + desc_off + 4) << 32;
            } else {
                return elf_malformed(k, errp, "PVH entry note of %" PRIu64
                                     " bytes", descsz);
            }
            *found = true;
            return true;
        }
        off = desc_off + QEMU_ALIGN_UP(descsz, pad);
    }
    return true;
}

static bool elf_find_pvh_entry(const KernelFile *k, const ElfFile *ef,
                               uint64_t *entry, bool *found, GError **errp)
{
    *found = false;
    for (unsigned i = 0; i < ef->nsegs && !*found; i++) {
        if (ef->segs[i].type == PT_NOTE &&
            !elf_scan_notes(k, &ef->segs[i], entry, found, errp)) {
            return false;
        }
    }
    return true;
}

static bool elf_check_segment(const KernelFile *k, const ElfSeg *s,
                              unsigned i, uint64_t below_4g, GError **errp)
{
    uint64_t end;

    if (s->filesz > s->memsz) {
        return elf_malformed(k, errp, "segment %u has file size %" PRIu64
                             " above memory size %" PRIu64, i, s->filesz,
                             s->memsz);
    }
    if (!range_in(k->size, s->offset, s->filesz)) {
        return elf_malformed(k, errp, "segment %u lies beyond end of file",
                             i);
    }
    if (!g_uint64_checked_add(&end, s->paddr, s->memsz)) {
        return elf_malformed(k, errp, "segment %u wraps around", i);
    }
    if (s->paddr < PC_HIGH_MEM_ADDR) {
        error_setg(errp, "kernel '%s': segment %u at 0x%" PRIx64 " overlaps "
                   "the boot area below 1 MiB", k->name, i, s->paddr);
        return false;
    }
    if (end > below_4g || !guest_ram_ptr(s->paddr, s->memsz)) {
        error_setg(errp, "kernel '%s': segment %u (0x%" PRIx64 "-0x%" PRIx64
                   ") is outside guest RAM below 4 GiB", k->name, i,
                   s->paddr, end);
        return false;
    }
    return true;
}

/* Check every PT_LOAD and find where the last one ends. */
static bool elf_check_segments(const KernelFile *k, const ElfFile *ef,
                               uint64_t below_4g, uint64_t *end,
                               GError **errp)
{
    unsigned nload = 0;

    *end = 0;
    for (unsigned i = 0; i < ef->nsegs; i++) {
        const ElfSeg *s = &ef->segs[i];

        if (s->type != PT_LOAD || s->memsz == 0) {
            continue;
        }
        if (!elf_check_segment(k, s, i, below_4g, errp)) {
            return false;
        }
        *end = MAX(*end, s->paddr + s->memsz);
        nload++;
    }
    if (nload == 0) {
        error_setg(errp, "kernel '%s' has no loadable segments", k->name);
        return false;
    }
    return true;
}

static void elf_copy_segments(const KernelFile *k, const ElfFile *ef)
{
    for (unsigned i = 0; i < ef->nsegs; i++) {
        const ElfSeg *s = &ef->segs[i];
        uint8_t *dst;

        if (s->type != PT_LOAD || s->memsz == 0) {
            continue;
        }
        dst = guest_ram_ptr(s->paddr, s->memsz);
        memcpy(dst, k->data + s->offset, s->filesz);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
}

/*
 * The physical address of @addr: itself if a segment is loaded there,
 * else, if @virt, translated through the segment whose virtual range
 * holds it (a vmlinux may give e_entry as a virtual address).
 */
static bool elf_phys_entry(const ElfFile *ef, uint64_t addr, bool virt,
                           uint64_t *phys)
{
    for (int pass = 0; pass < (virt ? 2 : 1); pass++) {
        for (unsigned i = 0; i < ef->nsegs; i++) {
            const ElfSeg *s = &ef->segs[i];
            uint64_t base = pass == 0 ? s->paddr : s->vaddr;

            if (s->type == PT_LOAD && addr >= base &&
                addr - base < s->memsz) {
                *phys = s->paddr + (addr - base);
                return true;
            }
        }
    }
    return false;
}

/* A setup header like a bzImage's, for a vmlinux that has none. */
static void make_setup_header(struct setup_header *hdr, uint64_t initrd_max)
{
    memset(hdr, 0, sizeof(*hdr));
    hdr->root_flags = 1;                /* mount root read-only unless rw */
    hdr->vid_mode = 0xffff;             /* "normal" */
    hdr->boot_flag = 0xaa55;
    hdr->header = BZ_MAGIC;
    hdr->version = BOOT_PROTOCOL_NOW;
    hdr->loadflags = LOADED_HIGH;
    hdr->initrd_addr_max = MIN(initrd_max, UINT32_MAX);
    hdr->kernel_alignment = 2 * MiB;
    hdr->xloadflags = XLF_KERNEL_64;
    hdr->cmdline_size = PC_CMDLINE_MAX - 1;
}

static bool load_elf(const KernelFile *k, const BootConfig *cfg,
                     LoadedKernel *lk, GError **errp)
{
    ElfFile ef = { 0 };
    uint64_t entry = 0;
    bool ok = false;

    if (!elf_parse(k, &ef, errp) ||
        !elf_find_pvh_entry(k, &ef, &entry, &lk->pvh, errp)) {
        goto out;
    }
    if (!lk->pvh && (!ef.is64 || ef.machine != EM_X86_64)) {
        /* QEMU's words: only PVH can enter a 32-bit ELF. */
        error_setg(errp, "Error loading uncompressed kernel without PVH "
                   "ELF Note");
        goto out;
    }
    if (!lk->pvh) {
        entry = ef.entry;
    }
    /* Everything is checked first, so a bad file leaves RAM untouched. */
    if (!elf_check_segments(k, &ef, cfg->below_4g, &lk->end, errp)) {
        goto out;
    }
    if (!elf_phys_entry(&ef, entry, !lk->pvh, &lk->entry) ||
        (lk->pvh && lk->entry > UINT32_MAX)) {
        error_setg(errp, "kernel '%s': entry point 0x%" PRIx64 " is not in "
                   "a loaded segment", k->name, entry);
        goto out;
    }
    elf_copy_segments(k, &ef);
    lk->initrd_max = cfg->below_4g - 1;
    if (!lk->pvh) {
        make_setup_header(&lk->hdr, lk->initrd_max);
        lk->hdr_len = sizeof(lk->hdr);
    }
    ok = true;
out:
    g_free(ef.segs);
    return ok;
}

/* ---- initrd, command line, boot data ---- */

static bool load_initrd(const BootConfig *cfg, const LoadedKernel *lk,
                        uint64_t *addr, uint64_t *size, GError **errp)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GMappedFile) f = NULL;
    uint64_t top, floor, avail;

    *addr = *size = 0;
    if (!cfg->initrd_filename) {
        return true;
    }
    f = g_mapped_file_new(cfg->initrd_filename, FALSE, &err);
    if (!f) {
        error_setg(errp, "error reading initrd %s: %s", cfg->initrd_filename,
                   err->message);
        return false;
    }
    *size = g_mapped_file_get_length(f);

    /* Highest page-aligned spot below the limit, above the kernel. */
    top = MIN(lk->initrd_max, cfg->below_4g - 1) + 1;
    floor = QEMU_ALIGN_UP(lk->end, 4096);
    avail = top > floor ? top - floor : 0;
    if (*size > avail) {
        error_setg(errp, "initrd is too large, cannot support."
                   "(max: %" PRIu64 ", need %" PRIu64 ")", avail, *size);
        return false;
    }
    *addr = QEMU_ALIGN_DOWN(top - *size, 4096);
    return *size == 0 ||
           write_guest(*addr, g_mapped_file_get_contents(f), *size,
                       "initrd", errp);
}

static bool load_cmdline(const char *cmdline, GError **errp)
{
    size_t len = strlen(cmdline) + 1;

    if (len > PC_CMDLINE_MAX) {
        error_setg(errp, "kernel command line is too long (%zu bytes, at "
                   "most %u)", len - 1, PC_CMDLINE_MAX - 1);
        return false;
    }
    return write_guest(PC_CMDLINE_ADDR, cmdline, len, "command line", errp);
}

static bool write_boot_params(const BootConfig *cfg, const LoadedKernel *lk,
                              uint64_t initrd_addr, uint64_t initrd_size,
                              GError **errp)
{
    g_autofree struct boot_params *bp = g_new0(struct boot_params, 1);
    const E820Table *e820 = cfg->e820;

    /* boot.rst: a zeroed page plus the kernel's own setup header. */
    memcpy(&bp->hdr, &lk->hdr, lk->hdr_len);
    bp->hdr.type_of_loader = BZ_LOADER_UNDEFINED;
    bp->hdr.loadflags |= CAN_USE_HEAP;
    bp->hdr.heap_end_ptr = BZ_HEAP_END;
    bp->hdr.cmd_line_ptr = PC_CMDLINE_ADDR;
    bp->hdr.ramdisk_image = initrd_addr;
    bp->hdr.ramdisk_size = initrd_size;
    if (bp->hdr.version >= 0x20e) {
        bp->acpi_rsdp_addr = cfg->rsdp_addr;
    }
    for (unsigned i = 0; i < e820->count; i++) {
        bp->e820_table[i].addr = e820->entry[i].addr;
        bp->e820_table[i].size = e820->entry[i].size;
        bp->e820_table[i].type = e820->entry[i].type;
    }
    bp->e820_entries = e820->count;
    return write_guest(PC_ZERO_PAGE_ADDR, bp, sizeof(*bp), "boot_params",
                       errp);
}

static bool write_start_info(const BootConfig *cfg, uint64_t initrd_addr,
                             uint64_t initrd_size, GError **errp)
{
    struct hvm_start_info si = {
        .magic = XEN_HVM_START_MAGIC_VALUE,
        .version = 1,
        .cmdline_paddr = PC_CMDLINE_ADDR,
        .rsdp_paddr = cfg->rsdp_addr,
        .memmap_paddr = PVH_MEMMAP_ADDR,
        .memmap_entries = cfg->e820->count,
    };
    struct hvm_memmap_table_entry map[E820_MAX_ENTRIES] = { 0 };
    struct hvm_modlist_entry mod = {
        .paddr = initrd_addr,
        .size = initrd_size,
    };

    for (unsigned i = 0; i < cfg->e820->count; i++) {
        map[i].addr = cfg->e820->entry[i].addr;
        map[i].size = cfg->e820->entry[i].size;
        map[i].type = cfg->e820->entry[i].type;
    }
    if (cfg->initrd_filename) {
        si.nr_modules = 1;
        si.modlist_paddr = PVH_MODLIST_ADDR;
    }
    return write_guest(PVH_MEMMAP_ADDR, map, cfg->e820->count * sizeof(map[0]),
                       "PVH memory map", errp) &&
           write_guest(PVH_MODLIST_ADDR, &mod, sizeof(mod),
                       "PVH module list", errp) &&
           write_guest(PC_START_INFO_ADDR, &si, sizeof(si), "hvm_start_info",
                       errp);
}

static bool write_gdt(bool long_mode, BootInfo *info, GError **errp)
{
    uint64_t gdt[GDT_ENTRIES] = { 0 };

    gdt[PC_BOOT_CS / 8] = GUINT64_TO_LE(long_mode ? GDT_CODE64 : GDT_CODE32);
    gdt[PC_BOOT_DS / 8] = GUINT64_TO_LE(GDT_DATA);
    info->gdt_base = PC_GDT_ADDR;
    info->gdt_limit = sizeof(gdt) - 1;
    info->code_sel = PC_BOOT_CS;
    info->data_sel = PC_BOOT_DS;
    return write_guest(PC_GDT_ADDR, gdt, sizeof(gdt), "GDT", errp);
}

/* Identity map of 0-4 GiB with 2 MiB pages, as the 64-bit entry needs. */
static bool write_page_tables(BootInfo *info, GError **errp)
{
    uint64_t *pt = guest_ram_ptr(PC_PAGE_TABLE_ADDR, PT_SIZE);

    if (!pt) {
        error_setg(errp, "no guest RAM for the page tables at 0x%x",
                   PC_PAGE_TABLE_ADDR);
        return false;
    }
    memset(pt, 0, PT_SIZE);
    pt[0] = GUINT64_TO_LE(PT_PDPT | PTE_PRESENT_RW);
    for (uint64_t i = 0; i < 4; i++) {
        uint64_t *pd = pt + (PT_PD(i) - PT_PML4) / 8;

        pt[(PT_PDPT - PT_PML4) / 8 + i] =
            GUINT64_TO_LE(PT_PD(i) | PTE_PRESENT_RW);
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t addr = (i * 512 + j) * 2 * MiB;

            pd[j] = GUINT64_TO_LE(addr | PTE_PRESENT_RW | PTE_LARGE);
        }
    }
    info->cr3 = PT_PML4;
    return true;
}

/* ---- entry point ---- */

static GMappedFile *open_kernel(const char *name, GError **errp)
{
    g_autoptr(GError) err = NULL;
    GMappedFile *f;
    struct stat st;
    int fd = open(name, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        error_setg(errp, "could not open kernel file '%s': %s", name,
                   g_strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        error_setg(errp, "could not load kernel '%s': %s", name,
                   g_strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        error_setg(errp, "could not load kernel '%s': %s", name,
                   S_ISDIR(st.st_mode) ? g_strerror(EISDIR) :
                   !S_ISREG(st.st_mode) ? "not a regular file" :
                   "file is empty");
        close(fd);
        return NULL;
    }
    f = g_mapped_file_new_from_fd(fd, FALSE, &err);
    close(fd);
    if (!f) {
        error_setg(errp, "could not load kernel '%s': %s", name,
                   err->message);
    }
    return f;
}

static bool load_kernel_file(const BootConfig *cfg, LoadedKernel *lk,
                             GError **errp)
{
    g_autoptr(GMappedFile) f = open_kernel(cfg->kernel_filename, errp);
    KernelFile k;

    if (!f) {
        return false;
    }
    k.name = cfg->kernel_filename;
    k.data = (const uint8_t *)g_mapped_file_get_contents(f);
    k.size = g_mapped_file_get_length(f);
    if (is_bzimage(&k)) {
        return load_bzimage(&k, lk, errp);
    }
    if (is_elf(&k)) {
        return load_elf(&k, cfg, lk, errp);
    }
    error_setg(errp, "kernel '%s' is neither a bzImage nor an ELF file",
               k.name);
    return false;
}

bool pc_load_kernel(const BootConfig *cfg, BootInfo *info, GError **errp)
{
    LoadedKernel lk = { 0 };
    uint64_t initrd_addr, initrd_size;

    memset(info, 0, sizeof(*info));
    g_assert(cfg->e820 && cfg->e820->count <= E820_MAX_ENTRIES);
    if (!load_kernel_file(cfg, &lk, errp) ||
        !load_initrd(cfg, &lk, &initrd_addr, &initrd_size, errp) ||
        !load_cmdline(cfg->cmdline ? cfg->cmdline : "", errp)) {
        return false;
    }

    info->entry = lk.entry;
    if (lk.pvh) {
        info->mode = BOOT_MODE_PVH32;
        info->boot_info = PC_START_INFO_ADDR;
        return write_start_info(cfg, initrd_addr, initrd_size, errp) &&
               write_gdt(false, info, errp);
    }
    info->mode = BOOT_MODE_LINUX64;
    info->boot_info = PC_ZERO_PAGE_ADDR;
    return write_boot_params(cfg, &lk, initrd_addr, initrd_size, errp) &&
           write_gdt(true, info, errp) &&
           write_page_tables(info, errp);
}
