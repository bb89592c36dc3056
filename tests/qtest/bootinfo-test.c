/*
 * What qvmm hands a PVH kernel, read from guest memory with no vCPU
 * running: hvm_start_info, its memory map against -m, the command line,
 * and an RSDP pointer whose MADT lists -smp CPUs.  qvmm only: QEMU builds
 * these in SeaBIOS's option ROM, which never runs under -S.
 *
 * The kernel is tests/guest/hello.elf, found through $QTEST_GUEST_DIR.
 */
#include <string.h>
#include <glib.h>
#include "libqtest.h"
#include "qtest-tap.h"

#define MiB ((uint64_t)1024 * 1024)
#define GiB (1024 * MiB)
#define START_INFO_ADDR 0x6000           /* include/hw/i386/pc.h */
#define PVH_MAGIC 0x336ec578
#define E820_RAM 1

typedef struct BootCase {
    uint64_t ram;
    unsigned cpus;
} BootCase;

static char *guest_kernel(void)
{
    const char *dir = g_getenv("QTEST_GUEST_DIR");

    if (!dir) {
        qt_fail("QTEST_GUEST_DIR is not set");
    }
    return g_build_filename(dir, "hello.elf", NULL);
}

/* Sum of the RAM entries; also checks they are sorted and disjoint. */
static uint64_t memmap_ram(QTestState *s, uint64_t map, uint32_t n)
{
    uint64_t total = 0, end = 0;

    QT_ASSERT(n > 0 && n < 32);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t addr = qt_readq(s, map + i * 24);
        uint64_t size = qt_readq(s, map + i * 24 + 8);
        uint32_t type = qt_readl(s, map + i * 24 + 16);

        QT_ASSERT(addr >= end);
        end = addr + size;
        if (type == E820_RAM) {
            total += size;
        }
    }
    return total;
}

/* Number of processor-local APIC entries in the MADT the RSDP leads to. */
static unsigned madt_cpus(QTestState *s, uint64_t rsdp)
{
    uint64_t xsdt = qt_readq(s, rsdp + 24);
    uint32_t len = qt_readl(s, xsdt + 4);
    unsigned cpus = 0;

    for (uint32_t off = 36; off + 8 <= len; off += 8) {
        uint64_t t = qt_readq(s, xsdt + off);
        uint32_t tlen;

        if (qt_readl(s, t) != 0x43495041) {      /* "APIC" */
            continue;
        }
        tlen = qt_readl(s, t + 4);
        for (uint32_t p = 44; p + 2 <= tlen; p += qt_readb(s, t + p + 1)) {
            uint8_t type = qt_readb(s, t + p);
            if (type == 0 || type == 9) {       /* LAPIC, x2APIC */
                cpus++;
            }
            QT_ASSERT(qt_readb(s, t + p + 1) >= 2);
        }
    }
    return cpus;
}

static void test_start_info(const void *data)
{
    const BootCase *c = data;
    g_autofree char *kernel = guest_kernel();
    QTestState *s = qt_start("-m %" PRIu64 "M -smp %u -kernel %s "
                             "-append 'qtest boot-info'",
                             c->ram / MiB, c->cpus, kernel);
    char cmdline[32] = { 0 };
    uint64_t rsdp, below, above;

    QT_ASSERT_EQ(qt_readl(s, START_INFO_ADDR), PVH_MAGIC);
    QT_ASSERT(qt_readl(s, START_INFO_ADDR + 4) >= 1);
    /* RAM less the EBDA and the 640 KiB-1 MiB hole. */
    qt_pc_split_ram(c->ram, &below, &above);
    QT_ASSERT_EQ(memmap_ram(s, qt_readq(s, START_INFO_ADDR + 40),
                            qt_readl(s, START_INFO_ADDR + 48)),
                 c->ram - (MiB - 0x9fc00));
    qt_memread(s, qt_readq(s, START_INFO_ADDR + 24), cmdline,
               sizeof(cmdline) - 1);
    QT_ASSERT(strcmp(cmdline, "qtest boot-info") == 0);
    rsdp = qt_readq(s, START_INFO_ADDR + 32);
    QT_ASSERT_EQ(qt_readq(s, rsdp), 0x2052545020445352ULL);  /* RSD PTR */
    QT_ASSERT_EQ(madt_cpus(s, rsdp), c->cpus);
    qt_quit(s);
}

static const BootCase boot_64m = { 64 * MiB, 1 };
static const BootCase boot_1g = { GiB, 2 };
static const BootCase boot_6g = { 6 * GiB, 4 };

int main(int argc, char **argv)
{
    const char *why = "QEMU's boot information comes from its option ROM";

    qt_test_add("boot-info/64M-1cpu", test_start_info, &boot_64m,
                QT_QVMM_ONLY, why);
    qt_test_add("boot-info/1G-2cpus", test_start_info, &boot_1g,
                QT_QVMM_ONLY, why);
    qt_test_add("boot-info/6G-4cpus", test_start_info, &boot_6g,
                QT_QVMM_ONLY, why);
    return qt_test_run(argc, argv);
}
