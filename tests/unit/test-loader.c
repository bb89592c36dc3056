/*
 * Kernel loading: synthetic bzImage, PVH ELF and plain ELF64 files in a
 * temporary directory, loaded into a fake guest RAM; then hostile files
 * that must give clean errors.
 */
#include "qemu/osdep.h"
#include <check.h>
#include <elf.h>
#include <asm/bootparam.h>
#include <glib/gstdio.h>
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/i386/pc.h"
#include "hw/i386/pvh.h"

#define RAM_SIZE       (32 * MiB)
#define RSDP_ADDR      0xe0000
#define ELF_PAYLOAD    0x1000       /* file offset of the loaded bytes */
#define ELF_FILESZ     0x100
#define ELF_MEMSZ      0x3000
#define ELF_NOTE_OFF   0x200
#define ELF_FILE_SIZE  (ELF_PAYLOAD + ELF_FILESZ)
#define BZ_SETUP_SECTS 4
#define BZ_SETUP_SIZE  ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PROT_SIZE   0x1000

static uint8_t *ram;
static char *tmpdir;
static E820Table e820;
static BootConfig cfg;
static BootInfo info;

static void setup(void)
{
    ram = g_malloc(RAM_SIZE);
    memset(ram, 0xaa, RAM_SIZE);    /* so that zeroing is visible */
    guest_ram_add_block(0, RAM_SIZE, ram, "ram");
    pc_build_e820(&e820, RAM_SIZE, 0);
    tmpdir = g_dir_make_tmp("qvmm-test-loader-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
    cfg = (BootConfig) {
        .cmdline = "console=ttyS0 root=/dev/vda",
        .e820 = &e820,
        .below_4g = RAM_SIZE,
        .rsdp_addr = RSDP_ADDR,
    };
}

static void teardown(void)
{
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(tmpdir, name, NULL);

        if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
            g_rmdir(path);
        } else {
            g_unlink(path);
        }
    }
    g_dir_close(d);
    g_rmdir(tmpdir);
    g_free(tmpdir);
    g_free((char *)cfg.kernel_filename);
    g_free((char *)cfg.initrd_filename);
    guest_ram_reset_blocks();
    g_free(ram);
}

/*
 * Write @data to tmpdir/@name; the returned path is owned by the caller.
 * (Not g_file_set_contents(), whose fsync makes the mutation test crawl.)
 */
static char *write_file(const char *name, const void *data, size_t len)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    FILE *f = fopen(path, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static void set_kernel(const void *data, size_t len)
{
    g_free((char *)cfg.kernel_filename);
    cfg.kernel_filename = write_file("kernel", data, len);
}

static void set_initrd(size_t len)
{
    g_autofree uint8_t *data = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        data[i] = i * 13 + 5;
    }
    g_free((char *)cfg.initrd_filename);
    cfg.initrd_filename = write_file("initrd", data, len);
}

static bool load(void)
{
    g_autoptr(GError) err = NULL;
    bool ok = pc_load_kernel(&cfg, &info, &err);

    ck_assert_msg(ok, "load failed: %s", err ? err->message : "?");
    ck_assert_ptr_null(err);
    return ok;
}

/* Load, expect failure with a message containing @want. */
static void load_fails(const char *want)
{
    g_autoptr(GError) err = NULL;

    ck_assert(!pc_load_kernel(&cfg, &info, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err->message, want), "got '%s', want '%s'",
                  err->message, want);
}

static uint8_t payload_byte(size_t i)
{
    return i * 7 + 1;
}

/* ---- synthetic files ---- */

typedef struct ElfImage {
    uint8_t data[ELF_FILE_SIZE];
} ElfImage;

static void put_note(uint8_t *p, uint32_t descsz, uint64_t entry)
{
    uint32_t hdr[3] = { 4, descsz, XEN_ELFNOTE_PHYS32_ENTRY };

    memcpy(p, hdr, sizeof(hdr));
    memcpy(p + 12, "Xen", 4);
    memcpy(p + 16, &entry, descsz <= 8 ? descsz : 8);
}

static void fill_payload(ElfImage *img)
{
    for (size_t i = 0; i < ELF_FILESZ; i++) {
        img->data[ELF_PAYLOAD + i] = payload_byte(i);
    }
}

/* ELF64: PT_LOAD of the payload, and a PT_NOTE if @pvh_entry != 0. */
static Elf64_Phdr *make_elf64(ElfImage *img, uint64_t vaddr, uint64_t paddr,
                              uint64_t e_entry, uint64_t pvh_entry)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img->data;
    Elf64_Phdr *ph = (Elf64_Phdr *)(img->data + sizeof(*eh));

    memset(img, 0, sizeof(*img));
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS64;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    eh->e_entry = e_entry;
    eh->e_phoff = sizeof(*eh);
    eh->e_ehsize = sizeof(*eh);
    eh->e_phentsize = sizeof(*ph);
    eh->e_phnum = pvh_entry ? 2 : 1;
    ph[0] = (Elf64_Phdr) {
        .p_type = PT_LOAD, .p_offset = ELF_PAYLOAD, .p_vaddr = vaddr,
        .p_paddr = paddr, .p_filesz = ELF_FILESZ, .p_memsz = ELF_MEMSZ,
        .p_align = 0x1000, .p_flags = PF_R | PF_X,
    };
    if (pvh_entry) {
        ph[1] = (Elf64_Phdr) {
            .p_type = PT_NOTE, .p_offset = ELF_NOTE_OFF, .p_filesz = 24,
            .p_align = 4,
        };
        put_note(img->data + ELF_NOTE_OFF, 8, pvh_entry);
    }
    fill_payload(img);
    return ph;
}

static Elf32_Phdr *make_elf32(ElfImage *img, uint32_t paddr,
                              uint32_t pvh_entry)
{
    Elf32_Ehdr *eh = (Elf32_Ehdr *)img->data;
    Elf32_Phdr *ph = (Elf32_Phdr *)(img->data + sizeof(*eh));

    memset(img, 0, sizeof(*img));
    memcpy(eh->e_ident, ELFMAG, SELFMAG);
    eh->e_ident[EI_CLASS] = ELFCLASS32;
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_ident[EI_VERSION] = EV_CURRENT;
    eh->e_type = ET_EXEC;
    eh->e_machine = EM_386;
    eh->e_version = EV_CURRENT;
    eh->e_entry = paddr;
    eh->e_phoff = sizeof(*eh);
    eh->e_ehsize = sizeof(*eh);
    eh->e_phentsize = sizeof(*ph);
    eh->e_phnum = pvh_entry ? 2 : 1;
    ph[0] = (Elf32_Phdr) {
        .p_type = PT_LOAD, .p_offset = ELF_PAYLOAD, .p_vaddr = paddr,
        .p_paddr = paddr, .p_filesz = ELF_FILESZ, .p_memsz = ELF_MEMSZ,
        .p_align = 0x1000,
    };
    if (pvh_entry) {
        ph[1] = (Elf32_Phdr) {
            .p_type = PT_NOTE, .p_offset = ELF_NOTE_OFF, .p_filesz = 20,
            .p_align = 4,
        };
        put_note(img->data + ELF_NOTE_OFF, 4, pvh_entry);
    }
    fill_payload(img);
    return ph;
}

typedef struct BzImage {
    uint8_t data[BZ_SETUP_SIZE + BZ_PROT_SIZE];
} BzImage;

static struct setup_header *make_bzimage(BzImage *img, uint16_t version)
{
    struct setup_header *h = (struct setup_header *)(img->data + 0x1f1);

    memset(img, 0, sizeof(*img));
    h->setup_sects = BZ_SETUP_SECTS;
    h->boot_flag = 0xaa55;
    h->jump = 0x66eb;               /* jmp over the header to 0x268 */
    h->header = 0x53726448;
    h->version = version;
    h->loadflags = LOADED_HIGH;
    h->initrd_addr_max = 0x7fffffff;
    h->kernel_alignment = 0x200000;
    h->relocatable_kernel = 1;
    h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
    h->cmdline_size = 2047;
    h->pref_address = 16 * MiB;
    h->init_size = 1 * MiB;
    for (size_t i = 0; i < BZ_PROT_SIZE; i++) {
        img->data[BZ_SETUP_SIZE + i] = payload_byte(i);
    }
    return h;
}

/* ---- checks shared by the modes ---- */

static void check_payload(uint64_t gpa)
{
    for (size_t i = 0; i < ELF_FILESZ; i++) {
        ck_assert_uint_eq(ram[gpa + i], payload_byte(i));
    }
    for (size_t i = ELF_FILESZ; i < ELF_MEMSZ; i++) {
        ck_assert_uint_eq(ram[gpa + i], 0);     /* bss */
    }
    ck_assert_uint_eq(ram[gpa + ELF_MEMSZ], 0xaa);
}

static void check_cmdline(void)
{
    ck_assert_str_eq((char *)ram + PC_CMDLINE_ADDR, cfg.cmdline);
}

static void check_initrd(uint64_t addr, uint64_t size, uint64_t top)
{
    ck_assert_uint_eq(addr % 4096, 0);
    ck_assert_uint_le(addr + size, top);
    ck_assert_uint_gt(addr + size + 4096, top);
    for (size_t i = 0; i < size; i++) {
        ck_assert_uint_eq(ram[addr + i], (uint8_t)(i * 13 + 5));
    }
}

static void check_gdt(uint64_t code)
{
    uint64_t gdt[4];

    ck_assert_uint_eq(info.gdt_base, PC_GDT_ADDR);
    ck_assert_uint_eq(info.gdt_limit, 31);
    ck_assert_uint_eq(info.code_sel, 0x10);
    ck_assert_uint_eq(info.data_sel, 0x18);
    memcpy(gdt, ram + PC_GDT_ADDR, sizeof(gdt));
    ck_assert_uint_eq(gdt[0], 0);
    ck_assert_uint_eq(gdt[2], code);
    ck_assert_uint_eq(gdt[3], 0x00cf93000000ffffULL);
}

static const struct boot_params *check_boot_params(void)
{
    const struct boot_params *bp = (void *)(ram + PC_ZERO_PAGE_ADDR);
    const uint64_t *pt = (void *)(ram + PC_PAGE_TABLE_ADDR);

    ck_assert_uint_eq(info.mode, BOOT_MODE_LINUX64);
    ck_assert_uint_eq(info.boot_info, PC_ZERO_PAGE_ADDR);
    ck_assert_uint_eq(bp->hdr.header, 0x53726448);
    ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
    ck_assert(bp->hdr.loadflags & CAN_USE_HEAP);
    ck_assert_uint_ne(bp->hdr.heap_end_ptr, 0);
    ck_assert_uint_eq(bp->hdr.cmd_line_ptr, PC_CMDLINE_ADDR);
    ck_assert_uint_eq(bp->acpi_rsdp_addr, RSDP_ADDR);
    ck_assert_uint_eq(bp->e820_entries, e820.count);
    for (unsigned i = 0; i < e820.count; i++) {
        ck_assert_uint_eq(bp->e820_table[i].addr, e820.entry[i].addr);
        ck_assert_uint_eq(bp->e820_table[i].size, e820.entry[i].size);
        ck_assert_uint_eq(bp->e820_table[i].type, e820.entry[i].type);
    }
    ck_assert_uint_eq(bp->sentinel, 0);
    check_cmdline();
    check_gdt(0x00af9b000000ffffULL);

    /* PML4 -> PDPT -> 4 PDs of 2 MiB pages, identity. */
    ck_assert_uint_eq(info.cr3, PC_PAGE_TABLE_ADDR);
    ck_assert_uint_eq(pt[0], PC_PAGE_TABLE_ADDR + 0x1000 + 3);
    ck_assert_uint_eq(pt[1], 0);
    for (unsigned i = 0; i < 4; i++) {
        const uint64_t *pd = pt + (0x2000 + i * 0x1000) / 8;

        ck_assert_uint_eq(pt[512 + i], PC_PAGE_TABLE_ADDR + 0x2000 +
                          i * 0x1000 + 3);
        ck_assert_uint_eq(pd[0], (i * GiB) | 0x83);
        ck_assert_uint_eq(pd[511], (i * GiB + 511 * 2 * MiB) | 0x83);
    }
    ck_assert_uint_eq(pt[512 + 4], 0);
    return bp;
}

/* ---- good files ---- */

START_TEST(test_pvh_elf64)
{
    const struct hvm_start_info *si = (void *)(ram + PC_START_INFO_ADDR);
    const struct hvm_memmap_table_entry *map;
    const struct hvm_modlist_entry *mod;
    ElfImage img;

    make_elf64(&img, 0xffffffff81000000ULL, 2 * MiB, 0xffffffff81000000ULL,
               2 * MiB + 0x10);
    set_kernel(&img, sizeof(img));
    set_initrd(10000);
    load();

    ck_assert_uint_eq(info.mode, BOOT_MODE_PVH32);
    ck_assert_uint_eq(info.entry, 2 * MiB + 0x10);
    ck_assert_uint_eq(info.boot_info, PC_START_INFO_ADDR);
    check_payload(2 * MiB);
    check_cmdline();
    check_gdt(0x00cf9b000000ffffULL);

    ck_assert_uint_eq(si->magic, XEN_HVM_START_MAGIC_VALUE);
    ck_assert_uint_eq(si->version, 1);
    ck_assert_uint_eq(si->cmdline_paddr, PC_CMDLINE_ADDR);
    ck_assert_uint_eq(si->rsdp_paddr, RSDP_ADDR);
    ck_assert_uint_eq(si->memmap_entries, e820.count);
    map = (void *)(ram + si->memmap_paddr);
    for (unsigned i = 0; i < e820.count; i++) {
        ck_assert_uint_eq(map[i].addr, e820.entry[i].addr);
        ck_assert_uint_eq(map[i].size, e820.entry[i].size);
        ck_assert_uint_eq(map[i].type, e820.entry[i].type);
        ck_assert_uint_eq(map[i].reserved, 0);
    }
    ck_assert_uint_eq(si->nr_modules, 1);
    mod = (void *)(ram + si->modlist_paddr);
    ck_assert_uint_eq(mod->size, 10000);
    ck_assert_uint_eq(mod->cmdline_paddr, 0);
    check_initrd(mod->paddr, 10000, RAM_SIZE);
    /* The boot data stays inside the low page set aside for it. */
    ck_assert_uint_lt(si->memmap_paddr + e820.count * sizeof(*map),
                      PC_START_INFO_ADDR + 0x1000);
}
END_TEST

START_TEST(test_pvh_elf32)
{
    const struct hvm_start_info *si = (void *)(ram + PC_START_INFO_ADDR);
    ElfImage img;

    make_elf32(&img, 1 * MiB, 1 * MiB + 0x20);
    set_kernel(&img, sizeof(img));
    load();
    ck_assert_uint_eq(info.mode, BOOT_MODE_PVH32);
    ck_assert_uint_eq(info.entry, 1 * MiB + 0x20);
    check_payload(1 * MiB);
    ck_assert_uint_eq(si->magic, XEN_HVM_START_MAGIC_VALUE);
    ck_assert_uint_eq(si->nr_modules, 0);
    ck_assert_uint_eq(si->modlist_paddr, 0);
}
END_TEST

START_TEST(test_elf64_entry)
{
    const struct boot_params *bp;
    ElfImage img;

    /* e_entry given as a virtual address, like a vmlinux's. */
    make_elf64(&img, 0xffffffff81000000ULL, 16 * MiB,
               0xffffffff81000100ULL, 0);
    set_kernel(&img, sizeof(img));
    set_initrd(5000);
    load();
    ck_assert_uint_eq(info.entry, 16 * MiB + 0x100);
    check_payload(16 * MiB);
    bp = check_boot_params();
    ck_assert_uint_eq(bp->hdr.version, 0x020f);
    ck_assert_uint_eq(bp->hdr.boot_flag, 0xaa55);
    check_initrd(bp->hdr.ramdisk_image, 5000, RAM_SIZE);
    ck_assert_uint_eq(bp->hdr.ramdisk_size, 5000);
    ck_assert_uint_ge(bp->hdr.ramdisk_image, 16 * MiB + ELF_MEMSZ);

    /* A physical e_entry is taken as it is. */
    make_elf64(&img, 0xffffffff81000000ULL, 16 * MiB, 16 * MiB + 8, 0);
    set_kernel(&img, sizeof(img));
    load();
    ck_assert_uint_eq(info.entry, 16 * MiB + 8);
}
END_TEST

START_TEST(test_bzimage)
{
    const struct boot_params *bp;
    BzImage img;

    make_bzimage(&img, 0x020f);
    set_kernel(&img, sizeof(img));
    set_initrd(12345);
    load();
    ck_assert_uint_eq(info.entry, 0x100200);
    for (size_t i = 0; i < BZ_PROT_SIZE; i++) {
        ck_assert_uint_eq(ram[0x100000 + i], payload_byte(i));
    }
    bp = check_boot_params();
    ck_assert_uint_eq(bp->hdr.setup_sects, BZ_SETUP_SECTS);
    ck_assert_uint_eq(bp->hdr.version, 0x020f);
    ck_assert_uint_eq(bp->hdr.init_size, 1 * MiB);
    ck_assert_uint_eq(bp->hdr.ramdisk_size, 12345);
    check_initrd(bp->hdr.ramdisk_image, 12345, RAM_SIZE);
    /* Nothing of the setup code beyond the header is copied. */
    ck_assert_uint_eq(((uint8_t *)bp)[0x268], 0);
}
END_TEST

START_TEST(test_bzimage_initrd_limits)
{
    const struct boot_params *bp = (void *)(ram + PC_ZERO_PAGE_ADDR);
    struct setup_header *h;
    BzImage img;

    /* Without XLF_CAN_BE_LOADED_ABOVE_4G, initrd_addr_max rules. */
    h = make_bzimage(&img, 0x020c);
    h->xloadflags = XLF_KERNEL_64;
    h->initrd_addr_max = 24 * MiB - 1;
    set_kernel(&img, sizeof(img));
    set_initrd(8192);
    load();
    ck_assert_uint_eq(bp->hdr.ramdisk_image, 24 * MiB - 8192);
    /* Protocol 2.12 has no acpi_rsdp_addr: the kernel scans for it. */
    ck_assert_uint_eq(bp->acpi_rsdp_addr, 0);

    /* The initrd must stay above the decompressor's work area. */
    h->initrd_addr_max = 17 * MiB + 4095;
    set_kernel(&img, sizeof(img));
    load_fails("initrd is too large, cannot support.(max: 4096, need 8192)");
}
END_TEST

START_TEST(test_bzimage_old_protocol)
{
    struct setup_header *h;
    BzImage img;

    h = make_bzimage(&img, 0x0205);
    set_kernel(&img, sizeof(img));
    load_fails("uses boot protocol 2.05; qvmm needs 2.06 or later");

    h->version = 0x020b;             /* no xloadflags yet */
    set_kernel(&img, sizeof(img));
    load_fails("has no 64-bit entry point");

    h->version = 0x020f;
    h->xloadflags = 0;               /* a 32-bit kernel */
    set_kernel(&img, sizeof(img));
    load_fails("has no 64-bit entry point");
}
END_TEST

/* ---- errors ---- */

START_TEST(test_missing_files)
{
    g_autofree char *want = NULL;
    ElfImage img;

    cfg.kernel_filename = g_build_filename(tmpdir, "nonexistent", NULL);
    want = g_strdup_printf("could not open kernel file '%s': No such file "
                           "or directory", cfg.kernel_filename);
    load_fails(want);

    set_kernel("", 0);
    load_fails("could not load kernel");

    g_free((char *)cfg.kernel_filename);
    cfg.kernel_filename = g_strdup(tmpdir);
    load_fails("Is a directory");

    set_kernel("#!/bin/sh\necho hello, world\n", 28);
    load_fails("is neither a bzImage nor an ELF file");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB);
    set_kernel(&img, sizeof(img));
    cfg.initrd_filename = g_build_filename(tmpdir, "no-initrd", NULL);
    load_fails("error reading initrd ");
    load_fails("no-initrd");
}
END_TEST

START_TEST(test_initrd_too_large)
{
    ElfImage img;

    make_elf64(&img, 16 * MiB, 16 * MiB, 16 * MiB, 16 * MiB);
    set_kernel(&img, sizeof(img));
    set_initrd(RAM_SIZE - 16 * MiB);
    load_fails("initrd is too large, cannot support.");
}
END_TEST

START_TEST(test_cmdline_too_long)
{
    g_autofree char *cmdline = g_strnfill(PC_CMDLINE_MAX, 'x');
    ElfImage img;

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB);
    set_kernel(&img, sizeof(img));
    cfg.cmdline = cmdline;
    load_fails("kernel command line is too long");
    cmdline[PC_CMDLINE_MAX - 1] = '\0';
    load();
    check_cmdline();
}
END_TEST

START_TEST(test_elf32_without_note)
{
    ElfImage img;

    make_elf32(&img, 1 * MiB, 0);
    set_kernel(&img, sizeof(img));
    load_fails("Error loading uncompressed kernel without PVH ELF Note");
}
END_TEST

START_TEST(test_bzimage_truncated)
{
    struct setup_header *h;
    BzImage img;

    /* 255 setup sectors (128 KiB) in a file of 6 KiB */
    h = make_bzimage(&img, 0x020f);
    h->setup_sects = 255;
    set_kernel(&img, sizeof(img));
    load_fails("invalid kernel header");

    /* Cut inside the setup code */
    make_bzimage(&img, 0x020f);
    set_kernel(&img, BZ_SETUP_SIZE - 1);
    load_fails("invalid kernel header");

    /* No protected-mode code at all */
    set_kernel(&img, BZ_SETUP_SIZE);
    load_fails("invalid kernel header");

    /* Too short to hold the header the magic announces */
    set_kernel(&img, 0x210);
    load_fails("invalid kernel header");
}
END_TEST

START_TEST(test_bzimage_hostile_header)
{
    struct setup_header *h;
    BzImage img;

    /* pref_address + init_size overflows */
    h = make_bzimage(&img, 0x020f);
    h->pref_address = UINT64_MAX - 10;
    set_kernel(&img, sizeof(img));
    load_fails("invalid kernel header");

    /* a header too short to hold the version */
    h = make_bzimage(&img, 0x020f);
    img.data[0x201] = 0;
    set_kernel(&img, sizeof(img));
    load_fails("boot protocol 0.00");
}
END_TEST

START_TEST(test_bzimage_too_big_for_ram)
{
    size_t size = BZ_SETUP_SIZE + RAM_SIZE;
    g_autofree uint8_t *big = g_malloc0(size);
    BzImage img;

    make_bzimage(&img, 0x020f);
    memcpy(big, &img, sizeof(img));
    set_kernel(big, size);
    load_fails("does not fit in guest RAM");
}
END_TEST

static void elf64_fails(ElfImage *img, const char *want)
{
    set_kernel(img, sizeof(*img));
    load_fails(want);
    /* Nothing was written where the segment would go. */
    ck_assert_uint_eq(ram[2 * MiB], 0xaa);
}

START_TEST(test_elf_hostile_headers)
{
    ElfImage img;
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img.data;

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    set_kernel(&img, 20);
    load_fails("truncated ELF header");

    eh->e_phoff = ELF_FILE_SIZE - 10;
    elf64_fails(&img, "bad program header table");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    eh->e_phoff = UINT64_MAX - 8;
    elf64_fails(&img, "bad program header table");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    eh->e_phnum = 0xfff0;
    elf64_fails(&img, "bad program header table");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    eh->e_phentsize = 8;
    elf64_fails(&img, "bad program header table");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    eh->e_machine = EM_AARCH64;
    elf64_fails(&img, "is not x86");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    eh->e_type = ET_DYN;
    elf64_fails(&img, "not an executable");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    eh->e_ident[EI_DATA] = ELFDATA2MSB;
    elf64_fails(&img, "not a little-endian");
}
END_TEST

START_TEST(test_elf_hostile_segments)
{
    ElfImage img;
    Elf64_Phdr *ph;

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    ph->p_filesz = 1ULL << 40;
    ph->p_memsz = 1ULL << 41;
    elf64_fails(&img, "lies beyond end of file");

    /* A file cut short in the middle of its segment */
    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    set_kernel(&img, ELF_FILE_SIZE - 0x80);
    load_fails("segment 0 lies beyond end of file");

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    ph->p_offset = UINT64_MAX - 0x10;
    elf64_fails(&img, "lies beyond end of file");

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    ph->p_filesz = ELF_MEMSZ + 1;
    elf64_fails(&img, "above memory size");

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    ph->p_paddr = UINT64_MAX - 0x100;
    elf64_fails(&img, "wraps around");

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    ph->p_paddr = RAM_SIZE - 0x1000;
    elf64_fails(&img, "is outside guest RAM");

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    ph->p_paddr = 16ULL * GiB;
    elf64_fails(&img, "is outside guest RAM");

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    ph->p_paddr = PC_ZERO_PAGE_ADDR;
    elf64_fails(&img, "overlaps the boot area below 1 MiB");

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0);
    ph->p_type = PT_NULL;
    elf64_fails(&img, "has no loadable segments");

    make_elf64(&img, 2 * MiB, 2 * MiB, 64 * MiB, 0);
    set_kernel(&img, sizeof(img));
    load_fails("entry point 0x4000000 is not in a loaded segment");
}
END_TEST

START_TEST(test_elf_hostile_notes)
{
    ElfImage img;
    Elf64_Phdr *ph;
    uint32_t *note = (uint32_t *)(img.data + ELF_NOTE_OFF);

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB);
    note[0] = UINT32_MAX;                       /* namesz */
    elf64_fails(&img, "note runs past its segment");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB);
    note[1] = UINT32_MAX - 2;                   /* descsz */
    elf64_fails(&img, "note runs past its segment");

    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB);
    note[1] = 3;
    elf64_fails(&img, "PVH entry note of 3 bytes");

    ph = make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB);
    ph[1].p_offset = ELF_FILE_SIZE - 4;
    elf64_fails(&img, "note segment beyond end of file");

    /* A PVH entry outside the loaded image */
    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 0x7000);
    elf64_fails(&img, "entry point 0x7000 is not in a loaded segment");

    /* A note that is not Xen's is skipped: plain 64-bit entry. */
    make_elf64(&img, 2 * MiB, 2 * MiB, 2 * MiB, 2 * MiB);
    memcpy(img.data + ELF_NOTE_OFF + 12, "Xem", 4);
    set_kernel(&img, sizeof(img));
    load();
    ck_assert_uint_eq(info.mode, BOOT_MODE_LINUX64);
}
END_TEST

/*
 * Random byte flips in good images: every result must be a clean load or
 * a clean error (valgrind checks that nothing is read out of bounds).
 */
START_TEST(test_mutations)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(20240601);
    ElfImage elf;
    BzImage bz;

    set_initrd(4096);
    for (int iter = 0; iter < 300; iter++) {
        g_autoptr(GError) err = NULL;
        uint8_t *data;
        size_t size;

        if (iter % 2) {
            make_elf64(&elf, 2 * MiB, 2 * MiB, 2 * MiB,
                       iter % 4 == 1 ? 2 * MiB : 0);
            data = elf.data;
            size = ELF_PAYLOAD;     /* mutate headers and notes only */
        } else {
            make_bzimage(&bz, 0x020f);
            data = bz.data + 0x1f1;
            size = 0x268 - 0x1f1;
        }
        for (int n = g_rand_int_range(rand, 1, 6); n > 0; n--) {
            data[g_rand_int_range(rand, 0, size)] = g_rand_int(rand);
        }
        if (iter % 2) {
            set_kernel(&elf, sizeof(elf));
        } else {
            set_kernel(&bz, sizeof(bz));
        }
        if (!pc_load_kernel(&cfg, &info, &err)) {
            ck_assert_ptr_nonnull(err);
            ck_assert(err->message[0] != '\0');
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loader");
    TCase *good = tcase_create("good");
    TCase *bad = tcase_create("errors");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(good, setup, teardown);
    tcase_add_test(good, test_pvh_elf64);
    tcase_add_test(good, test_pvh_elf32);
    tcase_add_test(good, test_elf64_entry);
    tcase_add_test(good, test_bzimage);
    tcase_add_test(good, test_bzimage_initrd_limits);
    suite_add_tcase(s, good);

    tcase_add_checked_fixture(bad, setup, teardown);
    tcase_set_timeout(bad, 120);
    tcase_add_test(bad, test_bzimage_old_protocol);
    tcase_add_test(bad, test_missing_files);
    tcase_add_test(bad, test_initrd_too_large);
    tcase_add_test(bad, test_cmdline_too_long);
    tcase_add_test(bad, test_elf32_without_note);
    tcase_add_test(bad, test_bzimage_truncated);
    tcase_add_test(bad, test_bzimage_hostile_header);
    tcase_add_test(bad, test_bzimage_too_big_for_ram);
    tcase_add_test(bad, test_elf_hostile_headers);
    tcase_add_test(bad, test_elf_hostile_segments);
    tcase_add_test(bad, test_elf_hostile_notes);
    tcase_add_test(bad, test_mutations);
    suite_add_tcase(s, bad);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
