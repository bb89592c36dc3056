/*
 * The test guests' small runtime: boot information, serial output,
 * formatted printing, ways to end the VM, ACPI lookups and the local APIC.
 *
 * guest_main() runs in 64-bit ring 3 (port I/O allowed, interrupts off)
 * over an identity map of the low 4 GiB, so every physical address below
 * 4 GiB, MMIO included, is directly addressable.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define noreturn __attribute__((noreturn))
#define printf_like(f, a) __attribute__((format(printf, f, a)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- PVH boot information (Xen's arch-x86/hvm/start_info.h) ---- */
#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;      /* version >= 1 */
    uint32_t memmap_entries;    /* version >= 1 */
    uint32_t reserved;
};

struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

#define MEMMAP_RAM 1

/* Each guest defines this; it runs in ring 3 and normally does not return. */
void guest_main(const struct hvm_start_info *si);

/* Check the magic; a mismatch ends the VM with GUEST_EXIT_FAIL. */
void check_start_info(const struct hvm_start_info *si);
/* The command line, "" when there is none. */
const char *boot_cmdline(const struct hvm_start_info *si);
/* The memory map, or NULL (and *n = 0) when start_info has none. */
const struct hvm_memmap_entry *boot_memmap(const struct hvm_start_info *si,
                                           uint32_t *n);
/*
 * The value of "key=value" on the command line, copied to buf (NUL-ended);
 * false when the key is absent.
 */
bool cmdline_get(const struct hvm_start_info *si, const char *key,
                 char *buf, size_t size);
/* A numeric value (decimal or 0x hex); false when absent or malformed. */
bool cmdline_get_u32(const struct hvm_start_info *si, const char *key,
                     uint32_t *val);

/* ---- port I/O ---- */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/*
 * A pointer to a fixed physical address.  The empty asm hides the constant
 * from GCC, which otherwise warns about "arrays" at small addresses.
 */
static inline volatile void *phys_ptr(uintptr_t addr)
{
    __asm__("" : "+r"(addr));
    return (volatile void *)addr;
}

/* An address from boot information or ACPI: NULL if 0 or beyond our map. */
static inline const void *phys_to_ptr(uint64_t paddr)
{
    return paddr && paddr < 0x100000000ull ? (const void *)phys_ptr(paddr)
                                           : NULL;
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
    return *(volatile uint32_t *)phys_ptr(addr);
}
static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
    *(volatile uint32_t *)phys_ptr(addr) = v;
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/*
 * Busy-wait for about @us microseconds.  The TSC rate is not known to us;
 * assuming 4 GHz makes waits at least as long as asked on any real CPU
 * up to that speed, which is all the callers need.
 */
void udelay(uint32_t us);

/*
 * The TSC rate in kHz, measured against PIT channel 2 (~0.2 s); 0 if the
 * PIT never counted down.
 */
uint64_t tsc_khz(void);

/* ---- atomics (lock-prefixed; cmpxchg16b is not emulated) ---- */
typedef struct { volatile uint32_t v; } spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
static inline uint32_t atomic_fetch_add(volatile uint32_t *p, uint32_t v)
{
    __asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
    return v;
}

/* ---- serial console (COM1) and formatted output ---- */
void serial_init(void);
int printf(const char *fmt, ...) printf_like(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) printf_like(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
/* For the exception handler: take the console even if someone holds it. */
void serial_steal(void);

/* ---- ending the VM ---- */
#define DEBUG_EXIT_PORT 0x501
#define GUEST_EXIT_FAIL 0x7f            /* status (0x7f << 1) | 1 = 255 */

/* isa-debug-exit: the VMM exits with status (value << 1) | 1. */
noreturn void debug_exit(uint32_t value);
/* Print "FAIL: ..." and exit with GUEST_EXIT_FAIL. */
noreturn void guest_fail(const char *fmt, ...) printf_like(1, 2);
/* Pulse the reset line through the i8042 (0xfe to port 0x64). */
void kbd_reset(void);

/* Run fn(arg) in ring 0 and return; see start.S. */
void ring0_call(void (*fn)(uint64_t), uint64_t arg);
/* Load the shared IDT on this CPU (ring 0). */
void cpu_load_idt(void);
/* Load an empty IDT and raise an exception: the CPU shuts down. */
noreturn void triple_fault(void);

/* ---- CMOS / RTC NVRAM (survives a system reset, not a new VM) ---- */
uint8_t cmos_read(uint8_t index);
void cmos_write(uint8_t index, uint8_t value);

/* ---- ACPI ---- */
struct acpi_rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
    uint32_t length;            /* revision >= 2 from here on */
    uint64_t xsdt_address;
    uint8_t ext_checksum;
    uint8_t reserved[3];
} __attribute__((packed));

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __attribute__((packed));

/* RSDP from start_info, else found by scanning the BIOS area. */
const struct acpi_rsdp *acpi_find_rsdp(const struct hvm_start_info *si);
/* A table by signature through the XSDT (or RSDT); NULL if absent. */
const struct acpi_header *acpi_find_table(const struct hvm_start_info *si,
                                          const char sig[4]);

struct acpi_pm_info {
    uint16_t pm1a_cnt;          /* PM1a control block port */
    uint16_t pm1b_cnt;          /* 0 when absent */
    uint8_t slp_typa;           /* \_S5 package values */
    uint8_t slp_typb;
    bool reset_supported;       /* FADT RESET_REG usable (system I/O) */
    uint16_t reset_port;
    uint8_t reset_value;
};
/* Read FADT and the DSDT's \_S5; false (with a message) if they are unusable. */
bool acpi_pm_info(const struct hvm_start_info *si, struct acpi_pm_info *pm);
/* Enter S5.  Returns only if the VM is still running a while later. */
void acpi_poweroff(const struct acpi_pm_info *pm);

/* MADT: number of enabled processors and their APIC ids (up to max). */
unsigned acpi_cpus(const struct hvm_start_info *si, uint32_t *apic_ids,
                   unsigned max);

/* ---- local APIC (xAPIC MMIO) ---- */
#define LAPIC_BASE     0xfee00000u
#define LAPIC_ID       0x020
#define LAPIC_SVR      0x0f0
#define LAPIC_ICR_LO   0x300
#define LAPIC_ICR_HI   0x310

static inline uint32_t lapic_read(uint32_t reg)
{
    return mmio_read32(LAPIC_BASE + reg);
}
static inline void lapic_write(uint32_t reg, uint32_t v)
{
    mmio_write32(LAPIC_BASE + reg, v);
}
static inline uint32_t lapic_id(void)
{
    return lapic_read(LAPIC_ID) >> 24;
}

/* ---- string helpers (the compiler may also call these) ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

#endif
