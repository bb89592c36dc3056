/*
 * -cpu parsing and the CPUID table handed to KVM_SET_CPUID2.
 *
 * qvmm offers QEMU's two KVM models, "host" and "max" (the same thing
 * under KVM), with QEMU 7.2's feature names and "+feat,-feat,feat=on"
 * rules.  The CPUID table starts from KVM_GET_SUPPORTED_CPUID and is
 * shaped the way QEMU shapes it: only known feature bits, the topology
 * leaves (1, 4, 0xB, 0x1F, 0x8000001D/1E, 0x80000008) computed from
 * -smp, and KVM's paravirtual signature leaves.
 */
#ifndef TARGET_I386_CPU_H
#define TARGET_I386_CPU_H

#include "qemu/osdep.h"
#include "hw/boards.h"
#include <linux/kvm.h>

typedef enum X86CPUModel {
    X86_CPU_MODEL_HOST,
    X86_CPU_MODEL_MAX,
} X86CPUModel;

/* CPUID output registers, as X86CPUFeatureAdjust.reg. */
enum {
    X86_REG_EAX,
    X86_REG_EBX,
    X86_REG_ECX,
    X86_REG_EDX,
};

/*
 * How a feature was written.  QEMU applies every "feat=on|off" (and bare
 * "feat") first, in order, then every "+feat", then every "-feat", so
 * "-x2apic,x2apic=on" leaves x2apic off.
 */
typedef enum X86CPUAdjustKind {
    X86_CPU_ADJUST_SET,
    X86_CPU_ADJUST_PLUS,
    X86_CPU_ADJUST_MINUS,
} X86CPUAdjustKind;

typedef struct X86CPUFeatureAdjust {
    X86CPUAdjustKind kind;
    const char *name;     /* QEMU's canonical spelling (static string) */
    uint32_t function;    /* CPUID leaf */
    uint32_t index;       /* sub-leaf; 0 where the leaf has none */
    int reg;              /* X86_REG_* */
    uint32_t mask;        /* "kvmclock" names two bits */
    bool on;
} X86CPUFeatureAdjust;

typedef struct X86CPUDef {
    X86CPUModel model;
    GArray *features;        /* of X86CPUFeatureAdjust, command-line order */
    bool pmu;                /* leaf 0xA and PDCM (default on) */
    bool kvm;                /* KVM signature leaves 0x40000000.. (on) */
    bool enforce;            /* a missing feature is an error (off) */
    bool check;              /* warn about missing features (on) */
    bool migratable;         /* pass only named, migratable bits (on) */
    bool cpuid_0xb;          /* leaf 0xB topology (on) */
    uint64_t tsc_frequency;  /* Hz from tsc-frequency=/tsc-freq=; 0: host */
} X86CPUDef;

/*
 * Parse a -cpu argument ("host", "max,+avx,-sse4.2,pdpe1gb=on", ...)
 * into @def, which the caller releases with x86_cpu_def_clear().  @arg
 * NULL means "host".  QEMU reports these errors without a location:
 * "unable to find CPU model 'foo'", "-cpu option cannot be empty",
 * "Property 'host-x86_64-cpu.foo' not found", "can't apply global
 * host-x86_64-cpu.foo=on: ...".  Ambiguity warnings print here.
 * A property QEMU has but qvmm lacks is refused in one line.
 */
bool x86_cpu_parse(const char *arg, X86CPUDef *def, GError **errp);
void x86_cpu_def_clear(X86CPUDef *def);

/* QOM type name QEMU would use, e.g. "host-x86_64-cpu". */
const char *x86_cpu_type_name(X86CPUModel model);

/* "-cpu help": the models and QEMU 7.2's recognized CPUID flags. */
void x86_cpu_list(void);

/*
 * Build the CPUID table of vCPU @cpu_index from @supported, KVM's
 * KVM_GET_SUPPORTED_CPUID answer (which the caller may extend with
 * what its setup allows, e.g. TSC-deadline with an in-kernel irqchip).
 * Requested features the host lacks are dropped with QEMU's warning
 * ("host doesn't support requested feature: CPUID.01H:ECX.vmx [bit 5]"),
 * repeated for each vCPU as QEMU does; with "enforce" that is an error.
 * The caller frees *@out with g_free.
 */
bool x86_cpu_build_cpuid(const X86CPUDef *def,
                         const struct kvm_cpuid2 *supported,
                         const CpuTopology *topo, unsigned cpu_index,
                         struct kvm_cpuid2 **out, GError **errp);

#endif
