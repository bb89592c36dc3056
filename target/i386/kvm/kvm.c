/*
 * x86 state of a KVM vCPU: CPUID, local APIC wiring, MSRs, the register
 * state each boot protocol expects, and a register dump for fatal exits.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "target/i386/cpu.h"
#include "../../../accel/kvm/kvm-internal.h"
#include <asm/kvm.h>

#define MSR_IA32_MISC_ENABLE  0x1a0
#define MSR_IA32_CR_PAT       0x277
#define MISC_ENABLE_FAST_STRING 1ULL
#define PAT_POWER_ON_VALUE    0x0007040600070406ULL

#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_EXTINT (7 << 8)
#define APIC_MODE_NMI    (4 << 8)

static void lapic_set_reg(struct kvm_lapic_state *s, unsigned reg,
                          uint32_t val)
{
    memcpy(&s->regs[reg], &val, sizeof(val));
}

/* LINT0 as virtual wire (ExtINT) and LINT1 as NMI, as firmware leaves them,
 * so PIC interrupts reach a guest that never programs the LAPIC. */
static bool init_lapic(KVMVCPU *cpu, GError **errp)
{
    struct kvm_lapic_state lapic;
    int r = kvm_ioctl(cpu->fd, KVM_GET_LAPIC, &lapic);

    if (r == 0) {
        lapic_set_reg(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
        lapic_set_reg(&lapic, APIC_LVT1, APIC_MODE_NMI);
        r = kvm_ioctl(cpu->fd, KVM_SET_LAPIC, &lapic);
    }
    if (r < 0) {
        error_setg(errp, "vCPU %u: LAPIC setup failed: %s", cpu->index,
                   g_strerror(-r));
        return false;
    }
    cpu->initial_lapic = lapic;
    return true;
}

/* Remember the power-on segment and control registers: a system reset
 * must not inherit, say, EFER.LMA from the guest's previous life. */
static bool save_initial_sregs(KVMVCPU *cpu, GError **errp)
{
    int r = kvm_ioctl(cpu->fd, KVM_GET_SREGS, &cpu->initial_sregs);

    if (r < 0) {
        error_setg(errp, "vCPU %u: KVM_GET_SREGS failed: %s", cpu->index,
                   g_strerror(-r));
        return false;
    }
    return true;
}

/*
 * KVM_GET_SUPPORTED_CPUID leaves out TSC-deadline because it depends on
 * the in-kernel LAPIC, which qvmm always has; QEMU adds it the same way.
 */
static void add_tsc_deadline(struct kvm_cpuid2 *cpuid)
{
    if (kvm_ioctl(kvm_state.fd, KVM_CHECK_EXTENSION,
                  (void *)(long)KVM_CAP_TSC_DEADLINE_TIMER) <= 0) {
        return;
    }
    for (uint32_t i = 0; i < cpuid->nent; i++) {
        if (cpuid->entries[i].function == 1) {
            cpuid->entries[i].ecx |= 1u << 24;
        }
    }
}

bool kvm_arch_init_vcpu(KVMVCPU *cpu, const CpuTopology *topo,
                        const X86CPUDef *def,
                        const struct kvm_cpuid2 *supported, GError **errp)
{
    g_autofree struct kvm_cpuid2 *cpuid = NULL;
    int r;

    if (!x86_cpu_build_cpuid(def, supported, topo, cpu->index, &cpuid,
                             errp)) {
        return false;
    }
    add_tsc_deadline(cpuid);
    r = kvm_ioctl(cpu->fd, KVM_SET_CPUID2, cpuid);
    if (r < 0) {
        error_setg(errp, "vCPU %u: KVM_SET_CPUID2 failed: %s", cpu->index,
                   g_strerror(-r));
        return false;
    }
    return save_initial_sregs(cpu, errp) && init_lapic(cpu, errp);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
                    bool code64, bool big)
{
    *s = (struct kvm_segment) {
        .base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
        .present = 1, .dpl = 0, .db = big, .s = 1, .l = code64, .g = 1,
    };
}

static void setup_boot_sregs(struct kvm_sregs *sregs, const BootInfo *boot)
{
    bool lm = boot->mode == BOOT_MODE_LINUX64;

    set_seg(&sregs->cs, boot->code_sel, 0xb, lm, !lm);
    set_seg(&sregs->ds, boot->data_sel, 0x3, false, true);
    sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
    sregs->gdt.base = boot->gdt_base;
    sregs->gdt.limit = boot->gdt_limit;
    sregs->cr0 = 0x11;                 /* PE, ET */
    sregs->cr4 = 0;
    if (lm) {
        sregs->cr3 = boot->cr3;
        sregs->cr4 = 0x20;             /* PAE */
        sregs->cr0 |= 0x80000000;      /* PG */
        sregs->efer = 0x500;           /* LME | LMA */
    }
}

static bool set_msrs(KVMVCPU *cpu)
{
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e[2];
    } msrs = {
        .hdr.nmsrs = 2,
        .e = {
            { .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING },
            { .index = MSR_IA32_CR_PAT, .data = PAT_POWER_ON_VALUE },
        },
    };
    return kvm_ioctl(cpu->fd, KVM_SET_MSRS, &msrs) == 2;
}

/* Power-on state; the BSP also gets the boot protocol's entry state. */
bool kvm_arch_reset_vcpu(KVMVCPU *cpu, const BootInfo *boot, GError **errp)
{
    struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_UNINITIALIZED };
    struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
    struct kvm_sregs sregs = cpu->initial_sregs;
    struct kvm_regs regs = { .rflags = 0x2 };
    bool bsp = cpu->index == 0;
    int r;

    r = kvm_ioctl(cpu->fd, KVM_SET_LAPIC, &cpu->initial_lapic);
    if (!bsp) {
        regs.rip = 0xfff0;     /* the reset vector; SIPI replaces it */
    }
    if (r == 0 && bsp) {
        setup_boot_sregs(&sregs, boot);
        regs.rip = boot->entry;
        if (boot->mode == BOOT_MODE_PVH32) {
            regs.rbx = boot->boot_info;
        } else {
            regs.rsi = boot->boot_info;
        }
        mp.mp_state = KVM_MP_STATE_RUNNABLE;
    }
    if (r == 0) {
        r = kvm_ioctl(cpu->fd, KVM_SET_SREGS, &sregs);
    }
    if (r == 0) {
        r = kvm_ioctl(cpu->fd, KVM_SET_REGS, &regs);
    }
    if (r == 0) {
        r = kvm_ioctl(cpu->fd, KVM_SET_FPU, &fpu);
    }
    if (r == 0) {
        r = kvm_ioctl(cpu->fd, KVM_SET_MP_STATE, &mp);
    }
    if (r == 0 && !set_msrs(cpu)) {
        r = -EINVAL;
    }
    if (r < 0) {
        error_setg(errp, "vCPU %u: reset failed: %s", cpu->index,
                   g_strerror(-r));
        return false;
    }
    return true;
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
    error_printf("%-3s=%04x %016" PRIx64 " %08x %02x%02x%02x%02x\n", name,
                 s->selector, (uint64_t)s->base, s->limit, s->present,
                 s->dpl, s->type, s->l);
}

/* The bytes around RIP: 43 before and 21 after, the current one in <>. */
static void dump_code(KVMVCPU *cpu, uint64_t rip)
{
    struct kvm_translation tr = { .linear_address = rip - 43 };
    uint8_t code[64];

    if (kvm_ioctl(cpu->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid ||
        !guest_mem_read(tr.physical_address, code, sizeof(code))) {
        error_printf("Code=??\n");
        return;
    }
    error_printf("Code=");
    for (unsigned i = 0; i < sizeof(code); i++) {
        error_printf(i == 43 ? "<%02x> " : "%02x ", code[i]);
    }
    error_printf("\n");
}

void kvm_arch_dump_state(KVMVCPU *cpu)
{
    struct kvm_regs r;
    struct kvm_sregs s;

    if (kvm_ioctl(cpu->fd, KVM_GET_REGS, &r) < 0 ||
        kvm_ioctl(cpu->fd, KVM_GET_SREGS, &s) < 0) {
        error_printf("(vCPU %u registers unavailable)\n", cpu->index);
        return;
    }
    error_printf("CPU#%u\n", cpu->index);
    error_printf("RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n",
                 r.rax, r.rbx, r.rcx, r.rdx);
    error_printf("RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n",
                 r.rsi, r.rdi, r.rbp, r.rsp);
    error_printf("R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n",
                 r.r8, r.r9, r.r10, r.r11);
    error_printf("R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n",
                 r.r12, r.r13, r.r14, r.r15);
    error_printf("RIP=%016llx RFL=%08llx\n", r.rip, r.rflags);
    dump_seg("ES", &s.es);
    dump_seg("CS", &s.cs);
    dump_seg("SS", &s.ss);
    dump_seg("DS", &s.ds);
    dump_seg("FS", &s.fs);
    dump_seg("GS", &s.gs);
    error_printf("GDT=     %016llx %08x\n", s.gdt.base, s.gdt.limit);
    error_printf("IDT=     %016llx %08x\n", s.idt.base, s.idt.limit);
    error_printf("CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx\n",
                 s.cr0, s.cr2, s.cr3, s.cr4);
    error_printf("EFER=%016llx\n", s.efer);
    dump_code(cpu, s.cs.base + r.rip);
}
