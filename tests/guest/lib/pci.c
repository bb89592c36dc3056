/*
 * PCI configuration mechanism 1, capability lists and memory BARs.
 */
#include "guest.h"
#include "pci.h"
#include "x86.h"

#define PCI_CONFIG_ADDR 0xcf8
#define PCI_CONFIG_DATA 0xcfc

#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_CAP_PTR        0x34

#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS_CAP     0x10

#define PCI_BAR_IO         0x1
#define PCI_BAR_TYPE_MASK  0x6
#define PCI_BAR_TYPE_64    0x4

/* Where BARs that read 0 are put; i440fx forwards it to PCI. */
#define FALLBACK_WINDOW_START 0xe0000000u
#define FALLBACK_WINDOW_END   0xfec00000u

static uint32_t next_fallback = FALLBACK_WINDOW_START;

static void pci_select(const struct pci_dev *d, uint8_t off)
{
    outl(PCI_CONFIG_ADDR, 0x80000000u | (uint32_t)d->bus << 16 |
                          (uint32_t)d->slot << 11 | (uint32_t)d->func << 8 |
                          (off & 0xfc));
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;

    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t off)
{
    pci_select(d, off);
    return inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(const struct pci_dev *d, uint8_t off)
{
    return pci_read32(d, off) >> ((off & 2) * 8);
}

uint8_t pci_read8(const struct pci_dev *d, uint8_t off)
{
    return pci_read32(d, off) >> ((off & 3) * 8);
}

void pci_write32(const struct pci_dev *d, uint8_t off, uint32_t v)
{
    pci_select(d, off);
    outl(PCI_CONFIG_DATA, v);
}

void pci_write16(const struct pci_dev *d, uint8_t off, uint16_t v)
{
    pci_select(d, off);
    outw(PCI_CONFIG_DATA + (off & 2), v);
}

static bool id_listed(uint16_t id, const uint16_t *list)
{
    for (; *list; list++) {
        if (*list == id) {
            return true;
        }
    }
    return false;
}

bool pci_find(uint16_t vendor, const uint16_t *devices, struct pci_dev *d)
{
    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned func = 0; func < 8; func++) {
            struct pci_dev f = { .bus = 0, .slot = slot, .func = func };
            uint32_t id = pci_read32(&f, PCI_VENDOR_ID);

            if ((id & 0xffff) == 0xffff) {
                if (func == 0) {
                    break;              /* empty slot */
                }
                continue;
            }
            f.vendor = id & 0xffff;
            f.device = id >> 16;
            if (f.vendor == vendor && id_listed(f.device, devices)) {
                *d = f;
                return true;
            }
            if (func == 0 && !(pci_read8(&f, PCI_HEADER_TYPE) & 0x80)) {
                break;                  /* single-function device */
            }
        }
    }
    return false;
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t prev)
{
    uint8_t off;

    if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP)) {
        return 0;
    }
    off = prev ? pci_read8(d, prev + 1) : pci_read8(d, PCI_CAP_PTR);
    /* At most 48 capabilities fit in 256 bytes: bound the walk. */
    for (unsigned n = 0; n < 48 && off >= 0x40; n++) {
        off &= 0xfc;
        if (pci_read8(d, off) == id) {
            return off;
        }
        off = pci_read8(d, off + 1);
    }
    return 0;
}

/* Size a BAR (decoding off meanwhile) and read where it is. */
static bool bar_probe(const struct pci_dev *d, unsigned bar, bool *is64,
                      uint64_t *base, uint64_t *size)
{
    uint8_t off = PCI_BAR0 + bar * 4;
    uint32_t lo = pci_read32(d, off), hi = 0, szlo, szhi = 0xffffffffu;
    uint64_t mask;

    if (lo & PCI_BAR_IO) {
        printf("pci: BAR %u of %02x:%02x.%x is an I/O BAR\n", bar, d->bus,
               d->slot, d->func);
        return false;
    }
    *is64 = (lo & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64;
    if (*is64 && bar == 5) {
        printf("pci: 64-bit BAR 5 has no upper half\n");
        return false;
    }
    pci_write32(d, off, 0xffffffffu);
    szlo = pci_read32(d, off);
    pci_write32(d, off, lo);
    if (*is64) {
        hi = pci_read32(d, off + 4);
        pci_write32(d, off + 4, 0xffffffffu);
        szhi = pci_read32(d, off + 4);
        pci_write32(d, off + 4, hi);
    }
    mask = (uint64_t)szhi << 32 | (szlo & ~0xfu);
    if (!(mask & ~0xfull)) {
        printf("pci: BAR %u sizes to 0: the device has no such BAR\n", bar);
        return false;
    }
    *size = ~mask + 1;
    *base = ((uint64_t)hi << 32 | lo) & ~0xfull;
    return true;
}

/* Give an unassigned BAR a home in the fallback window. */
static bool bar_assign(const struct pci_dev *d, unsigned bar, bool is64,
                       uint64_t size, uint64_t *base)
{
    uint64_t a = ((uint64_t)next_fallback + size - 1) & ~(size - 1);
    uint8_t off = PCI_BAR0 + bar * 4;

    if (size > FALLBACK_WINDOW_END || a > FALLBACK_WINDOW_END - size) {
        printf("pci: no room for a %#lx-byte BAR\n", (unsigned long)size);
        return false;
    }
    next_fallback = a + size;
    pci_write32(d, off, (uint32_t)a | (pci_read32(d, off) & 0xf));
    if (is64) {
        pci_write32(d, off + 4, 0);
    }
    *base = a;
    return true;
}

bool pci_map_bar(const struct pci_dev *d, unsigned bar, uint64_t *addr,
                 uint64_t *size)
{
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    uint64_t base, sz;
    bool is64, ok;

    if (bar > 5) {
        return false;
    }
    pci_write16(d, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    ok = bar_probe(d, bar, &is64, &base, &sz);
    if (ok && !base) {
        ok = bar_assign(d, bar, is64, sz, &base);
    }
    /* Bus mastering too: without it the device may not touch our RAM. */
    pci_write16(d, PCI_COMMAND,
                cmd | PCI_COMMAND_MEMORY | (ok ? PCI_COMMAND_MASTER : 0));
    if (!ok) {
        return false;
    }
    if (sz > UINT64_MAX - base || !paging_map_mmio(base, sz)) {
        printf("pci: BAR %u at %#lx (%#lx bytes) cannot be mapped\n", bar,
               (unsigned long)base, (unsigned long)sz);
        return false;
    }
    *addr = base;
    *size = sz;
    return true;
}

bool pci_move_bar64(const struct pci_dev *d, unsigned bar, uint64_t addr)
{
    uint16_t cmd = pci_read16(d, PCI_COMMAND);
    uint64_t base, size;
    bool is64, ok;

    if (bar > 5) {
        return false;
    }
    pci_write16(d, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    ok = bar_probe(d, bar, &is64, &base, &size);
    if (ok && (!is64 || (addr & (size - 1)))) {
        printf("pci: cannot move BAR %u (%s, %#lx bytes) to %#lx\n", bar,
               is64 ? "64-bit" : "32-bit", (unsigned long)size,
               (unsigned long)addr);
        ok = false;
    }
    if (ok) {
        uint8_t off = PCI_BAR0 + bar * 4;

        pci_write32(d, off, (uint32_t)addr | (pci_read32(d, off) & 0xf));
        pci_write32(d, off + 4, addr >> 32);
    }
    pci_write16(d, PCI_COMMAND, cmd);
    return ok;
}
