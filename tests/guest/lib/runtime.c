/*
 * Ring-0 set-up (TSS, IDT), exceptions, the ring-0 gate, ways to end the
 * VM, CMOS, timing, locks, boot information and string helpers.
 * Compiled as 64-bit code: see start.S for why.
 */
#include "guest.h"
#include "x86.h"

struct tss {                    /* 64-bit TSS */
    uint32_t reserved0;
    uint64_t rsp0;
    uint64_t rsp1, rsp2, reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    /* One bit per port, all clear (allowed); the CPU reads a byte past. */
    uint8_t iomap[65536 / 8 + 1];
} __attribute__((packed));

struct gate {                   /* 64-bit IDT entry */
    uint16_t offset0;
    uint16_t selector;
    uint16_t flags;
    uint16_t offset1;
    uint32_t offset2;
    uint32_t reserved;
};

struct table_desc {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* What exc_common in start.S leaves on the stack. */
struct exc_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

extern uint64_t gdt[GDT_ENTRIES];
extern char ring0_stack_top[];
extern const uint64_t exc_stubs[32];
extern char ring0_call_trap[];

const struct hvm_start_info *boot_start_info;
static struct tss tss;
static struct gate idt[32];

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
                     "d"((uint32_t)(v >> 32)));
}

static struct gate idt_gate(uint64_t handler)
{
    return (struct gate) {
        .offset0 = (uint16_t)handler,
        .selector = KERNEL_CS,
        /* present, 64-bit interrupt gate: IF stays clear in handlers */
        .flags = 0x8e00,
        .offset1 = (uint16_t)(handler >> 16),
        .offset2 = (uint32_t)(handler >> 32),
    };
}

void cpu_load_idt(void)
{
    struct table_desc d = { sizeof(idt) - 1, (uint64_t)idt };

    __asm__ volatile("lidt %0" : : "m"(d));
}

void ring0_setup(void);
void ring0_setup(void)
{
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;

    tss.rsp0 = (uint64_t)ring0_stack_top;
    tss.iomap_base = offsetof(struct tss, iomap);
    tss.iomap[sizeof(tss.iomap) - 1] = 0xff;
    /*
     * Written on every boot: ltr marks the descriptor busy, and a VMM
     * may re-enter us after a reset without reloading the image.
     */
    gdt[TSS_SEL / 8] = (base >> 16 & 0xff) << 32 | 0x89ull << 40 |
                       (limit & 0xf0000) << 32 | (base >> 24 & 0xff) << 56 |
                       (limit & 0xffff) | (base & 0xffff) << 16;
    gdt[TSS_SEL / 8 + 1] = base >> 32;
    __asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
    /* sysexit derives the ring-3 selectors from this (x86.h). */
    wrmsr(MSR_IA32_SYSENTER_CS, KERNEL_CS);

    for (unsigned i = 0; i < 32; i++) {
        idt[i] = idt_gate(exc_stubs[i]);
    }
    cpu_load_idt();

    serial_init();
}

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
    "#DF", "?9", "#TS", "#NP", "#SS", "#GP", "#PF", "?15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

void exception_handler(struct exc_frame *f);
void exception_handler(struct exc_frame *f)
{
    const char *name = exc_names[f->vector & 31];

    if (f->vector == 6 && f->rip == (uint64_t)ring0_call_trap &&
        (f->cs & 3) == 3) {
        ((void (*)(uint64_t))f->rax)(f->rdi);
        f->rip += 2;                    /* past the ud2 */
        return;
    }

    serial_steal();
    printf("FAIL: exception %lu %s error=%#lx at %#lx:%#lx rflags=%#lx "
           "rsp=%#lx cpu=%u\n", f->vector, name ? name : "", f->error, f->cs,
           f->rip, f->rflags, f->rsp, lapic_id());
    printf("  rax=%lx rbx=%lx rcx=%lx rdx=%lx rsi=%lx rdi=%lx rbp=%lx\n",
           f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp);
    debug_exit(GUEST_EXIT_FAIL);
}

void guest_main_returned(void);
void guest_main_returned(void)
{
    guest_fail("guest_main returned");
}

static void triple_fault_ring0(uint64_t unused)
{
    struct table_desc none = { 0, 0 };
    volatile uint32_t zero = 0;

    (void)unused;
    __asm__ volatile("lidt %0" : : "m"(none));
    /*
     * #DE cannot be delivered through an empty IDT, nor can the #GP that
     * raises, nor the #DF after it: the CPU shuts down.  A divide error
     * rather than int3 or ud2, which the emulator may not handle.
     */
    __asm__ volatile("divl %1" : : "a"(1), "rm"(zero), "d"(0));
}

void triple_fault(void)
{
    ring0_call(triple_fault_ring0, 0);
    guest_fail("still running after a triple fault");
}

void debug_exit(uint32_t value)
{
    outl(DEBUG_EXIT_PORT, value);
    /* No isa-debug-exit device: make the failure visible, then stop. */
    serial_steal();
    printf("FAIL: debug-exit (port %#x) did not end the VM\n", DEBUG_EXIT_PORT);
    for (;;) {
        __asm__ volatile("" ::: "memory");
    }
}

void guest_fail(const char *fmt, ...)
{
    va_list ap;

    printf("FAIL: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    debug_exit(GUEST_EXIT_FAIL);
}

void kbd_reset(void)
{
    /* Wait (bounded) for the controller's input buffer to drain. */
    for (int i = 0; i < 1000 && (inb(0x64) & 0x02); i++) {
        cpu_relax();
    }
    outb(0x64, 0xfe);
}

uint8_t cmos_read(uint8_t index)
{
    outb(0x70, index);
    return inb(0x71);
}

void cmos_write(uint8_t index, uint8_t value)
{
    outb(0x70, index);
    outb(0x71, value);
}

void udelay(uint32_t us)
{
    uint64_t end = rdtsc() + (uint64_t)us * 4000;

    while (rdtsc() < end) {
        cpu_relax();
    }
}

void spin_lock(spinlock_t *l)
{
    uint32_t v;

    for (;;) {
        v = 1;
        __asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(l->v) : : "memory");
        if (!v) {
            return;
        }
        while (l->v) {
            cpu_relax();
        }
    }
}

void spin_unlock(spinlock_t *l)
{
    __asm__ volatile("" ::: "memory");
    l->v = 0;
}

/* ---- boot information ---- */

void check_start_info(const struct hvm_start_info *si)
{
    if (!si || si->magic != HVM_START_MAGIC) {
        guest_fail("bad hvm_start_info at %p (magic %#x)", (const void *)si,
                   si ? si->magic : 0);
    }
}

const char *boot_cmdline(const struct hvm_start_info *si)
{
    const char *s = phys_to_ptr(si->cmdline_paddr);

    return s ? s : "";
}

const struct hvm_memmap_entry *boot_memmap(const struct hvm_start_info *si,
                                           uint32_t *n)
{
    const struct hvm_memmap_entry *map = NULL;

    if (si->version >= 1) {
        map = phys_to_ptr(si->memmap_paddr);
    }
    *n = map ? si->memmap_entries : 0;
    return map;
}

bool cmdline_get(const struct hvm_start_info *si, const char *key,
                 char *buf, size_t size)
{
    const char *p = boot_cmdline(si);
    size_t klen = strlen(key);

    while (*p) {
        while (*p == ' ') {
            p++;
        }
        if (!strncmp(p, key, klen) && p[klen] == '=') {
            size_t n = 0;

            p += klen + 1;
            while (p[n] && p[n] != ' ' && n + 1 < size) {
                buf[n] = p[n];
                n++;
            }
            buf[n] = '\0';
            return true;
        }
        while (*p && *p != ' ') {
            p++;
        }
    }
    return false;
}

bool cmdline_get_u32(const struct hvm_start_info *si, const char *key,
                     uint32_t *val)
{
    char buf[16];
    const char *p = buf;
    uint32_t v = 0, base = 10;

    if (!cmdline_get(si, key, buf, sizeof(buf)) || !*buf) {
        return false;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!*p) {
        return false;
    }
    for (; *p; p++) {
        uint32_t d;

        if (*p >= '0' && *p <= '9') {
            d = *p - '0';
        } else if (base == 16 && (*p | 0x20) >= 'a' && (*p | 0x20) <= 'f') {
            d = (*p | 0x20) - 'a' + 10;
        } else {
            return false;
        }
        if (v > (UINT32_MAX - d) / base) {
            return false;
        }
        v = v * base + d;
    }
    *val = v;
    return true;
}

/* ---- string helpers ---- */

/*
 * rep movsb/stosb rather than loops: the compiler may turn a plain loop
 * back into a call to memcpy() or memset() themselves.
 */
void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;

    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;

    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (; n; n--, x++, y++) {
        if (*x != *y) {
            return *x - *y;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n]) {
        n++;
    }
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) {
            return (unsigned char)*a - (unsigned char)*b;
        }
    }
    return 0;
}
