/*
 * -cpu host/max and the CPUID table of each vCPU.
 *
 * The feature names, the order "+feat"/"-feat"/"feat=on" take effect,
 * the warnings and the shape of the topology leaves follow QEMU 7.2, so
 * a libvirt host-passthrough guest sees what it would see under QEMU.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "target/i386/cpu.h"

/* QEMU's feature words, in QEMU's order: warnings come out in it. */
typedef enum FeatureWord {
    FEAT_1_EDX,
    FEAT_1_ECX,
    FEAT_7_0_EBX,
    FEAT_7_0_ECX,
    FEAT_7_0_EDX,
    FEAT_7_1_EAX,
    FEAT_8000_0001_EDX,
    FEAT_8000_0001_ECX,
    FEAT_8000_0007_EDX,
    FEAT_8000_0008_EBX,
    FEAT_C000_0001_EDX,
    FEAT_KVM,
    FEAT_KVM_HINTS,
    FEAT_SVM,
    FEAT_XSAVE,
    FEAT_6_EAX,
    FEAT_14_0_ECX,
    FEAT_SGX_12_0_EAX,
    FEAT_SGX_12_0_EBX,
    FEAT_SGX_12_1_EAX,
    FEATURE_WORDS,
} FeatureWord;

typedef struct FeatureWordInfo {
    uint32_t function;
    uint32_t index;
    bool indexed;              /* the sub-leaf matters */
    int reg;
    const char *names[32];
    uint32_t always_supported; /* QEMU allows these whatever KVM says */
    uint32_t no_autoenable;    /* "host" leaves these off unless asked */
    uint32_t unmigratable;     /* ... and these, unless migratable=off */
} FeatureWordInfo;

#define BIT(n) (1u << (n))

static const FeatureWordInfo feature_words[FEATURE_WORDS] = {
    [FEAT_1_EDX] = {
        .function = 1, .reg = X86_REG_EDX,
        .names = {
            "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce",
            "cx8", "apic", NULL, "sep", "mtrr", "pge", "mca", "cmov",
            "pat", "pse36", "pn", "clflush", NULL, "ds", "acpi", "mmx",
            "fxsr", "sse", "sse2", "ss", "ht", "tm", "ia64", "pbe",
        },
        /* old kernels misreported these; QEMU always allows them */
        .always_supported = BIT(7) | BIT(12) | BIT(14) | BIT(16),
        /* HT follows -smp, not the host */
        .no_autoenable = BIT(28),
    },
    [FEAT_1_ECX] = {
        .function = 1, .reg = X86_REG_ECX,
        .names = {
            "pni", "pclmulqdq", "dtes64", "monitor",
            "ds-cpl", "vmx", "smx", "est",
            "tm2", "ssse3", "cid", NULL, "fma", "cx16", "xtpr", "pdcm",
            NULL, "pcid", "dca", "sse4.1", "sse4.2", "x2apic", "movbe",
            "popcnt", "tsc-deadline", "aes", "xsave", NULL,
            "avx", "f16c", "rdrand", "hypervisor",
        },
        .always_supported = BIT(31),
    },
    [FEAT_7_0_EBX] = {
        .function = 7, .indexed = true, .reg = X86_REG_EBX,
        .names = {
            "fsgsbase", "tsc-adjust", "sgx", "bmi1",
            "hle", "avx2", NULL, "smep", "bmi2", "erms", "invpcid", "rtm",
            NULL, NULL, "mpx", NULL,
            "avx512f", "avx512dq", "rdseed", "adx",
            "smap", "avx512ifma", "pcommit", "clflushopt",
            "clwb", "intel-pt", "avx512pf", "avx512er",
            "avx512cd", "sha-ni", "avx512bw", "avx512vl",
        },
    },
    [FEAT_7_0_ECX] = {
        .function = 7, .indexed = true, .reg = X86_REG_ECX,
        .names = {
            NULL, "avx512vbmi", "umip", "pku",
            NULL, "waitpkg", "avx512vbmi2", NULL,
            "gfni", "vaes", "vpclmulqdq", "avx512vnni",
            "avx512bitalg", NULL, "avx512-vpopcntdq", NULL,
            "la57", NULL, NULL, NULL, NULL, NULL, "rdpid", NULL,
            "bus-lock-detect", "cldemote", NULL, "movdiri",
            "movdir64b", NULL, "sgxlc", "pks",
        },
    },
    [FEAT_7_0_EDX] = {
        .function = 7, .indexed = true, .reg = X86_REG_EDX,
        .names = {
            NULL, NULL, "avx512-4vnniw", "avx512-4fmaps",
            "fsrm", NULL, NULL, NULL,
            "avx512-vp2intersect", NULL, "md-clear", NULL,
            NULL, NULL, "serialize", NULL,
            "tsx-ldtrk", NULL, NULL, "arch-lbr",
            NULL, NULL, "amx-bf16", "avx512-fp16",
            "amx-tile", "amx-int8", "spec-ctrl", "stibp",
            NULL, "arch-capabilities", "core-capability", "ssbd",
        },
    },
    [FEAT_7_1_EAX] = {
        .function = 7, .index = 1, .indexed = true, .reg = X86_REG_EAX,
        .names = { [4] = "avx-vnni", [5] = "avx512-bf16" },
    },
    [FEAT_8000_0001_EDX] = {
        /* the AMD copies of leaf 1 bits are unnamed: see amd_aliases */
        .function = 0x80000001, .reg = X86_REG_EDX,
        .names = {
            [11] = "syscall", [20] = "nx", [22] = "mmxext",
            [25] = "fxsr-opt", [26] = "pdpe1gb", [27] = "rdtscp",
            [29] = "lm", [30] = "3dnowext", [31] = "3dnow",
        },
    },
    [FEAT_8000_0001_ECX] = {
        .function = 0x80000001, .reg = X86_REG_ECX,
        .names = {
            "lahf-lm", "cmp-legacy", "svm", "extapic",
            "cr8legacy", "abm", "sse4a", "misalignsse",
            "3dnowprefetch", "osvw", "ibs", "xop",
            "skinit", "wdt", NULL, "lwp",
            "fma4", "tce", NULL, "nodeid-msr",
            NULL, "tbm", "topoext", "perfctr-core", "perfctr-nb",
        },
        /* topoext needs cache leaves consistent with -smp: opt-in */
        .always_supported = BIT(22),
        .no_autoenable = BIT(22),
    },
    [FEAT_8000_0007_EDX] = {
        .function = 0x80000007, .reg = X86_REG_EDX,
        .names = { [8] = "invtsc" },
        .unmigratable = BIT(8),
    },
    [FEAT_8000_0008_EBX] = {
        .function = 0x80000008, .reg = X86_REG_EBX,
        .names = {
            [0] = "clzero", [2] = "xsaveerptr", [9] = "wbnoinvd",
            [12] = "ibpb", [14] = "ibrs", [15] = "amd-stibp",
            [24] = "amd-ssbd", [25] = "virt-ssbd", [26] = "amd-no-ssb",
        },
    },
    [FEAT_C000_0001_EDX] = {
        .function = 0xC0000001, .reg = X86_REG_EDX,
        .names = {
            [2] = "xstore", [3] = "xstore-en", [6] = "xcrypt",
            [7] = "xcrypt-en", [8] = "ace2", [9] = "ace2-en",
            [10] = "phe", [11] = "phe-en", [12] = "pmm", [13] = "pmm-en",
        },
    },
    [FEAT_KVM] = {
        .function = 0x40000001, .reg = X86_REG_EAX,
        .names = {
            "kvmclock", "kvm-nopiodelay", "kvm-mmu", "kvmclock",
            "kvm-asyncpf", "kvm-steal-time", "kvm-pv-eoi", "kvm-pv-unhalt",
            NULL, "kvm-pv-tlb-flush", NULL, "kvm-pv-ipi",
            "kvm-poll-control", "kvm-pv-sched-yield", "kvm-asyncpf-int",
            "kvm-msi-ext-dest-id", [24] = "kvmclock-stable-bit",
        },
    },
    [FEAT_KVM_HINTS] = {
        .function = 0x40000001, .reg = X86_REG_EDX,
        .names = { "kvm-hint-dedicated" },
        .always_supported = BIT(0),
        .no_autoenable = ~0u,
    },
    [FEAT_SVM] = {
        .function = 0x8000000A, .reg = X86_REG_EDX,
        .names = {
            "npt", "lbrv", "svm-lock", "nrip-save",
            "tsc-scale", "vmcb-clean", "flushbyasid", "decodeassists",
            NULL, NULL, "pause-filter", NULL,
            "pfthreshold", "avic", NULL, "v-vmsave-vmload",
            "vgif", [28] = "svme-addr-chk",
        },
    },
    [FEAT_XSAVE] = {
        .function = 0xD, .index = 1, .indexed = true, .reg = X86_REG_EAX,
        .names = { "xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd" },
    },
    [FEAT_6_EAX] = {
        .function = 6, .reg = X86_REG_EAX,
        .names = { [2] = "arat" },
        /* the APIC timer is emulated, so it never stops in C-states */
        .always_supported = BIT(2),
    },
    [FEAT_14_0_ECX] = {
        .function = 0x14, .indexed = true, .reg = X86_REG_ECX,
        .names = { [31] = "intel-pt-lip" },
    },
    [FEAT_SGX_12_0_EAX] = {
        .function = 0x12, .indexed = true, .reg = X86_REG_EAX,
        .names = { "sgx1", "sgx2" },
    },
    [FEAT_SGX_12_0_EBX] = {
        .function = 0x12, .indexed = true, .reg = X86_REG_EBX,
        .names = { "sgx-exinfo" },
    },
    [FEAT_SGX_12_1_EAX] = {
        .function = 0x12, .index = 1, .indexed = true, .reg = X86_REG_EAX,
        .names = {
            [1] = "sgx-debug", [2] = "sgx-mode64", [4] = "sgx-provisionkey",
            [5] = "sgx-tokenkey", [7] = "sgx-kss",
        },
    },
};

/* Bits that sit in a feature register but are not features. */
#define CPUID_1_EDX_HT          BIT(28)
#define CPUID_1_ECX_PDCM        BIT(15)
#define CPUID_1_ECX_XSAVE       BIT(26)
#define CPUID_1_ECX_OSXSAVE     BIT(27)
#define CPUID_1_ECX_AVX         BIT(28)
#define CPUID_7_0_EBX_SGX       BIT(2)
#define CPUID_7_0_EBX_MPX       BIT(14)
#define CPUID_7_0_EBX_AVX512F   BIT(16)
#define CPUID_7_0_EBX_INTEL_PT  BIT(25)
#define CPUID_7_0_ECX_PKU       BIT(3)
#define CPUID_7_0_ECX_SGXLC     BIT(30)
#define CPUID_7_0_EDX_AMX_TILE  BIT(24)
#define CPUID_EXT3_CMP_LEGACY   BIT(1)
#define CPUID_EXT3_SVM          BIT(2)
/* fpu..apic, mtrr..pse36, mmx, fxsr: mirrored in 0x80000001 EDX on AMD */
#define CPUID_EXT2_AMD_ALIASES  0x0183F3FFu

/* QEMU's extra spellings of a few features (QOM property aliases). */
static const struct {
    const char *alias;
    const char *name;
} feature_aliases[] = {
    { "sse3", "pni" }, { "pclmuldq", "pclmulqdq" },
    { "sse4-1", "sse4.1" }, { "sse4-2", "sse4.2" },
    { "xd", "nx" }, { "ffxsr", "fxsr-opt" }, { "i64", "lm" },
    { "ds_cpl", "ds-cpl" }, { "tsc_adjust", "tsc-adjust" },
    { "fxsr_opt", "fxsr-opt" }, { "lahf_lm", "lahf-lm" },
    { "cmp_legacy", "cmp-legacy" }, { "nodeid_msr", "nodeid-msr" },
    { "perfctr_core", "perfctr-core" }, { "perfctr_nb", "perfctr-nb" },
    { "kvm_nopiodelay", "kvm-nopiodelay" }, { "kvm_mmu", "kvm-mmu" },
    { "kvm_asyncpf", "kvm-asyncpf" }, { "kvm_asyncpf_int", "kvm-asyncpf-int" },
    { "kvm_steal_time", "kvm-steal-time" }, { "kvm_pv_eoi", "kvm-pv-eoi" },
    { "kvm_pv_unhalt", "kvm-pv-unhalt" },
    { "kvm_poll_control", "kvm-poll-control" },
    { "svm_lock", "svm-lock" }, { "nrip_save", "nrip-save" },
    { "tsc_scale", "tsc-scale" }, { "vmcb_clean", "vmcb-clean" },
    { "pause_filter", "pause-filter" },
    { "sse4_1", "sse4.1" }, { "sse4_2", "sse4.2" },
};

/*
 * QEMU 7.2 CPU properties and MSR-based features qvmm does not model.
 * Naming them gets a clear refusal instead of "not found".
 */
static const char *const unsupported_props[] = {
    "family", "model", "stepping", "model-id", "vendor",
    "level", "xlevel", "xlevel2", "min-level", "min-xlevel", "min-xlevel2",
    "level-func7", "phys-bits", "host-phys-bits", "host-phys-bits-limit",
    "fill-mtrr-mask", "l3-cache", "legacy-cache", "host-cache-info", "lmce",
    "full-cpuid-auto-level", "ucode-rev", "lbr-fmt", "lbr_fmt",
    "kvm-no-smi-migration", "kvm-pv-enforce-cpuid", "tcg-cpuid",
    "vmware-cpuid-freq", "apic-id", "node-id", "socket-id", "die-id",
    "core-id", "thread-id", "start-powered-off",
    /* bits of MSRs (IA32_ARCH_CAPABILITIES and friends) */
    "rdctl-no", "ibrs-all", "rsba", "skip-l1dfl-vmentry", "ssb-no",
    "mds-no", "pschange-mc-no", "tsx-ctrl", "taa-no", "split-lock-detect",
    "full-width-write",
    NULL,
};
static const char *const unsupported_prefixes[] = { "hv-", "vmx-", "x-" };

/* CPU properties that are not feature bits. */
typedef enum PropType { PROP_BOOL, PROP_INT } PropType;

static const struct CPUProp {
    const char *name;
    PropType type;
    size_t offset;
} cpu_props[] = {
    { "pmu", PROP_BOOL, offsetof(X86CPUDef, pmu) },
    { "kvm", PROP_BOOL, offsetof(X86CPUDef, kvm) },
    { "enforce", PROP_BOOL, offsetof(X86CPUDef, enforce) },
    { "check", PROP_BOOL, offsetof(X86CPUDef, check) },
    { "migratable", PROP_BOOL, offsetof(X86CPUDef, migratable) },
    { "cpuid-0xb", PROP_BOOL, offsetof(X86CPUDef, cpuid_0xb) },
    { "tsc-frequency", PROP_INT, offsetof(X86CPUDef, tsc_frequency) },
};

/* ---- names ---- */

typedef struct FeatureRef {
    FeatureWord w;
    uint32_t mask;
    const char *name;          /* canonical */
} FeatureRef;

static bool lookup_canonical(const char *name, FeatureRef *ref)
{
    ref->mask = 0;
    for (int w = 0; w < FEATURE_WORDS; w++) {
        for (int bit = 0; bit < 32; bit++) {
            const char *n = feature_words[w].names[bit];

            if (n && !strcmp(n, name)) {
                ref->w = w;
                ref->mask |= BIT(bit);
                ref->name = n;
            }
        }
        if (ref->mask) {
            return true;
        }
    }
    return false;
}

/*
 * "feat=on" names arrive with '_' already turned into '-', so only the
 * aliases without '_' can match them; "+feat" names match any alias.
 */
static bool lookup_feature(const char *name, FeatureRef *ref)
{
    if (lookup_canonical(name, ref)) {
        return true;
    }
    for (size_t i = 0; i < ARRAY_SIZE(feature_aliases); i++) {
        if (!strcmp(feature_aliases[i].alias, name)) {
            return lookup_canonical(feature_aliases[i].name, ref);
        }
    }
    return false;
}

static const struct CPUProp *lookup_prop(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(cpu_props); i++) {
        if (!strcmp(cpu_props[i].name, name)) {
            return &cpu_props[i];
        }
    }
    return NULL;
}

static bool is_unsupported_prop(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(unsupported_prefixes); i++) {
        if (g_str_has_prefix(name, unsupported_prefixes[i])) {
            return true;
        }
    }
    return g_strv_contains(unsupported_props, name);
}

const char *x86_cpu_type_name(X86CPUModel model)
{
    return model == X86_CPU_MODEL_MAX ? "max-x86_64-cpu" : "host-x86_64-cpu";
}

/* "CPUID.07H:EBX" */
static char *feature_word_description(FeatureWord w)
{
    static const char regs[][4] = { "EAX", "EBX", "ECX", "EDX" };
    const FeatureWordInfo *fi = &feature_words[w];

    return g_strdup_printf("CPUID.%02XH:%s", fi->function, regs[fi->reg]);
}

/* ---- -cpu parsing ---- */

static void cpu_def_init(X86CPUDef *def, X86CPUModel model)
{
    *def = (X86CPUDef) {
        .model = model,
        .features = g_array_new(FALSE, FALSE, sizeof(X86CPUFeatureAdjust)),
        .pmu = true,
        .kvm = true,
        .check = true,
        .migratable = true,
        .cpuid_0xb = true,
    };
}

void x86_cpu_def_clear(X86CPUDef *def)
{
    if (def->features) {
        g_array_free(def->features, TRUE);
        def->features = NULL;
    }
}

static void add_feature(X86CPUDef *def, X86CPUAdjustKind kind,
                        const FeatureRef *ref, bool on)
{
    const FeatureWordInfo *fi = &feature_words[ref->w];
    X86CPUFeatureAdjust adj = {
        .kind = kind, .name = ref->name,
        .function = fi->function, .index = fi->index, .reg = fi->reg,
        .mask = ref->mask, .on = on,
    };

    g_array_append_val(def->features, adj);
}

static void set_prop_value(X86CPUDef *def, const struct CPUProp *p,
                           bool b, int64_t i)
{
    char *field = (char *)def + p->offset;

    if (p->type == PROP_BOOL) {
        *(bool *)field = b;
    } else {
        *(uint64_t *)field = i;
    }
}

static bool parse_prop_value(const struct CPUProp *p, const char *value,
                             bool *b, int64_t *i, GError **errp)
{
    if (p->type == PROP_BOOL) {
        return parse_option_bool(p->name, value, b, errp);
    }
    if (qemu_strtoi64(value, i)) {
        error_setg(errp, "Parameter '%s' expects int64", p->name);
        return false;
    }
    return true;
}

/* "name=value": QEMU registers it as a global property of the CPU type. */
static bool apply_global(X86CPUDef *def, const char *name, const char *value,
                         GError **errp)
{
    const char *type = x86_cpu_type_name(def->model);
    const struct CPUProp *p = lookup_prop(name);
    GError *err = NULL;
    FeatureRef ref;
    bool b = false;
    int64_t i = 0;

    if (lookup_feature(name, &ref)) {
        if (parse_option_bool(name, value, &b, &err)) {
            add_feature(def, X86_CPU_ADJUST_SET, &ref, b);
            return true;
        }
    } else if (p) {
        if (parse_prop_value(p, value, &b, &i, &err)) {
            set_prop_value(def, p, b, i);
            return true;
        }
    } else if (is_unsupported_prop(name)) {
        error_setg(errp, "CPU property '%s' is not supported by qvmm", name);
        return false;
    } else {
        error_setg(errp, "can't apply global %s.%s=%s: Property '%s.%s' "
                   "not found", type, name, value, type, name);
        return false;
    }
    error_setg(errp, "can't apply global %s.%s=%s: %s", type, name, value,
               err->message);
    g_error_free(err);
    return false;
}

/* "+name" / "-name": QEMU sets a boolean property after the globals. */
static bool apply_plus_minus(X86CPUDef *def, const char *name, bool on,
                             GError **errp)
{
    const struct CPUProp *p = lookup_prop(name);
    FeatureRef ref;

    if (lookup_feature(name, &ref)) {
        add_feature(def, on ? X86_CPU_ADJUST_PLUS : X86_CPU_ADJUST_MINUS,
                    &ref, on);
        return true;
    }
    if (p && p->type == PROP_BOOL) {
        set_prop_value(def, p, on, 0);
        return true;
    }
    if (p) {
        error_setg(errp, "Invalid parameter type for '%s', expected: integer",
                   name);
    } else if (is_unsupported_prop(name)) {
        error_setg(errp, "CPU property '%s' is not supported by qvmm", name);
    } else {
        error_setg(errp, "Property '%s.%s' not found",
                   x86_cpu_type_name(def->model), name);
    }
    return false;
}

typedef struct FeatureLists {
    GPtrArray *plus, *minus;   /* names as written */
    GPtrArray *names, *values; /* "name=value" items, '_' -> '-' */
    bool ambiguous;
} FeatureLists;

static void warn_if_ambiguous(FeatureLists *l, const char *name,
                              const char *val)
{
    if (g_ptr_array_find_with_equal_func(l->plus, name, g_str_equal, NULL)) {
        warn_report("Ambiguous CPU model string. Don't mix both \"+%s\" "
                    "and \"%s=%s\"", name, name, val);
        l->ambiguous = true;
    }
    if (g_ptr_array_find_with_equal_func(l->minus, name, g_str_equal, NULL)) {
        warn_report("Ambiguous CPU model string. Don't mix both \"-%s\" "
                    "and \"%s=%s\"", name, name, val);
        l->ambiguous = true;
    }
}

/* "tsc-freq" takes a metric size ("2.5G") and becomes tsc-frequency. */
static bool convert_tsc_freq(const char *val, char **num, GError **errp)
{
    uint64_t hz;

    if (qemu_strtosz_metric(val, &hz) < 0 || hz > INT64_MAX) {
        error_setg(errp, "bad numerical value %s", val);
        return false;
    }
    *num = g_strdup_printf("%" PRIu64, hz);
    return true;
}

static bool split_one(FeatureLists *l, char *item, GError **errp)
{
    char *eq, *val, *name;

    if (item[0] == '+' || item[0] == '-') {
        g_ptr_array_add(item[0] == '+' ? l->plus : l->minus,
                        g_strdup(item + 1));
        return true;
    }
    eq = strchr(item, '=');
    if (eq) {
        *eq = '\0';
    }
    name = g_strdelimit(g_strdup(item), "_", '-');
    val = g_strdup(eq ? eq + 1 : "on");
    warn_if_ambiguous(l, name, val);
    if (!strcmp(name, "tsc-freq")) {
        char *num;

        if (!convert_tsc_freq(val, &num, errp)) {
            g_free(name);
            g_free(val);
            return false;
        }
        g_free(name);
        g_free(val);
        name = g_strdup("tsc-frequency");
        val = num;
    }
    g_ptr_array_add(l->names, name);
    g_ptr_array_add(l->values, val);
    return true;
}

/* Empty items vanish, as with QEMU's strtok: "host,,x" is "host,x". */
static bool split_features(FeatureLists *l, const char *features,
                           GError **errp)
{
    g_auto(GStrv) items = g_strsplit(features, ",", -1);

    for (char **it = items; *it; it++) {
        if (**it && !split_one(l, *it, errp)) {
            return false;
        }
    }
    if (l->ambiguous) {
        warn_report("Compatibility of ambiguous CPU model strings won't be "
                    "kept on future QEMU versions");
    }
    return true;
}

static bool apply_lists(X86CPUDef *def, const FeatureLists *l, GError **errp)
{
    for (guint i = 0; i < l->names->len; i++) {
        if (!apply_global(def, l->names->pdata[i], l->values->pdata[i],
                          errp)) {
            return false;
        }
    }
    for (guint i = 0; i < l->plus->len; i++) {
        if (!apply_plus_minus(def, l->plus->pdata[i], true, errp)) {
            return false;
        }
    }
    for (guint i = 0; i < l->minus->len; i++) {
        if (!apply_plus_minus(def, l->minus->pdata[i], false, errp)) {
            return false;
        }
    }
    return true;
}

static bool parse_model(const char *name, X86CPUModel *model, GError **errp)
{
    if (!strcmp(name, "host")) {
        *model = X86_CPU_MODEL_HOST;
    } else if (!strcmp(name, "max")) {
        *model = X86_CPU_MODEL_MAX;
    } else {
        error_setg(errp, "unable to find CPU model '%s'", name);
        return false;
    }
    return true;
}

bool x86_cpu_parse(const char *arg, X86CPUDef *def, GError **errp)
{
    g_auto(GStrv) pieces = g_strsplit(arg ? arg : "host", ",", 2);
    FeatureLists l = {
        .plus = g_ptr_array_new_with_free_func(g_free),
        .minus = g_ptr_array_new_with_free_func(g_free),
        .names = g_ptr_array_new_with_free_func(g_free),
        .values = g_ptr_array_new_with_free_func(g_free),
    };
    X86CPUModel model;
    bool ok = false;

    memset(def, 0, sizeof(*def));
    if (!pieces[0]) {
        error_setg(errp, "-cpu option cannot be empty");
        goto out;
    }
    if (!parse_model(pieces[0], &model, errp)) {
        goto out;
    }
    cpu_def_init(def, model);
    ok = (!pieces[1] || split_features(&l, pieces[1], errp)) &&
         apply_lists(def, &l, errp);
    if (!ok) {
        x86_cpu_def_clear(def);
    }
out:
    g_ptr_array_free(l.plus, TRUE);
    g_ptr_array_free(l.minus, TRUE);
    g_ptr_array_free(l.names, TRUE);
    g_ptr_array_free(l.values, TRUE);
    return ok;
}

static gint compare_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* QEMU's listflags(): sorted, wrapped before column 75. */
static void list_flags(void)
{
    GPtrArray *names = g_ptr_array_new();
    size_t len = 0;

    for (int w = 0; w < FEATURE_WORDS; w++) {
        for (int bit = 0; bit < 32; bit++) {
            if (feature_words[w].names[bit]) {
                g_ptr_array_add(names, (gpointer)feature_words[w].names[bit]);
            }
        }
    }
    g_ptr_array_sort(names, compare_str);
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];

        if (len + strlen(name) + 1 >= 75) {
            printf("\n");
            len = 0;
        }
        printf("%s%s", len == 0 ? "  " : " ", name);
        len += strlen(name) + 1;
    }
    printf("\n");
    g_ptr_array_free(names, TRUE);
}

void x86_cpu_list(void)
{
    printf("Available CPUs:\n");
    printf("x86 %-20s  %s\n", "host",
           "processor with all supported host features ");
    printf("x86 %-20s  %s\n", "max",
           "Enables all features supported by the accelerator in the "
           "current host");
    printf("\nRecognized CPUID flags:\n");
    list_flags();
}

/* ---- CPUID table access ---- */

typedef GArray CPUIDTable;   /* of struct kvm_cpuid_entry2 */

static bool entry_matches(const struct kvm_cpuid_entry2 *e, uint32_t fn,
                          uint32_t index)
{
    return e->function == fn &&
           (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index);
}

static struct kvm_cpuid_entry2 *cpuid_find(CPUIDTable *t, uint32_t fn,
                                           uint32_t index)
{
    for (guint i = 0; i < t->len; i++) {
        struct kvm_cpuid_entry2 *e =
            &g_array_index(t, struct kvm_cpuid_entry2, i);

        if (entry_matches(e, fn, index)) {
            return e;
        }
    }
    return NULL;
}

/* Pointers from cpuid_find() are invalid after this. */
static struct kvm_cpuid_entry2 *cpuid_add(CPUIDTable *t, uint32_t fn,
                                          uint32_t index, bool indexed)
{
    struct kvm_cpuid_entry2 e = {
        .function = fn,
        .index = index,
        .flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
    };

    g_array_append_val(t, e);
    return &g_array_index(t, struct kvm_cpuid_entry2, t->len - 1);
}

static struct kvm_cpuid_entry2 *cpuid_get(CPUIDTable *t, uint32_t fn,
                                          uint32_t index, bool indexed)
{
    struct kvm_cpuid_entry2 *e = cpuid_find(t, fn, index);

    return e ? e : cpuid_add(t, fn, index, indexed);
}

static void cpuid_remove_leaf(CPUIDTable *t, uint32_t fn)
{
    for (guint i = t->len; i > 0; i--) {
        if (g_array_index(t, struct kvm_cpuid_entry2, i - 1).function == fn) {
            g_array_remove_index(t, i - 1);
        }
    }
}

static void cpuid_zero_leaf(CPUIDTable *t, uint32_t fn)
{
    for (guint i = 0; i < t->len; i++) {
        struct kvm_cpuid_entry2 *e =
            &g_array_index(t, struct kvm_cpuid_entry2, i);

        if (e->function == fn) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        }
    }
}

static uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, int reg)
{
    switch (reg) {
    case X86_REG_EAX:
        return &e->eax;
    case X86_REG_EBX:
        return &e->ebx;
    case X86_REG_ECX:
        return &e->ecx;
    default:
        return &e->edx;
    }
}

static uint32_t cpuid_read(CPUIDTable *t, uint32_t fn, uint32_t index,
                           int reg)
{
    struct kvm_cpuid_entry2 *e = cpuid_find(t, fn, index);

    return e ? *cpuid_reg(e, reg) : 0;
}

/* ---- which features the vCPU gets ---- */

typedef struct CPUFeatures {
    uint32_t f[FEATURE_WORDS];
    uint32_t user[FEATURE_WORDS];       /* bits the command line set */
    uint32_t supported[FEATURE_WORDS];
} CPUFeatures;

static uint32_t named_bits(FeatureWord w)
{
    uint32_t mask = 0;

    for (int bit = 0; bit < 32; bit++) {
        if (feature_words[w].names[bit]) {
            mask |= BIT(bit);
        }
    }
    return mask;
}

static void apply_user_kind(const X86CPUDef *def, X86CPUAdjustKind kind,
                            CPUFeatures *cf)
{
    for (guint i = 0; i < def->features->len; i++) {
        const X86CPUFeatureAdjust *a =
            &g_array_index(def->features, X86CPUFeatureAdjust, i);

        for (int w = 0; w < FEATURE_WORDS; w++) {
            const FeatureWordInfo *fi = &feature_words[w];

            if (a->kind != kind || fi->function != a->function ||
                fi->index != a->index || fi->reg != a->reg) {
                continue;
            }
            cf->f[w] = a->on ? cf->f[w] | a->mask : cf->f[w] & ~a->mask;
            cf->user[w] |= a->mask;
        }
    }
}

/* "host": everything KVM offers that the user did not decide on. */
static void expand_host_features(const X86CPUDef *def, CPUFeatures *cf)
{
    for (int w = 0; w < FEATURE_WORDS; w++) {
        const FeatureWordInfo *fi = &feature_words[w];
        uint32_t allowed = def->migratable ?
                           named_bits(w) & ~fi->unmigratable : ~0u;

        cf->f[w] |= cf->supported[w] & allowed & ~cf->user[w] &
                    ~fi->no_autoenable;
    }
}

static void warn_features(const char *prefix, FeatureWord w, uint32_t mask)
{
    g_autofree char *desc = feature_word_description(w);

    for (int bit = 0; bit < 32; bit++) {
        const char *name = feature_words[w].names[bit];

        if (mask & BIT(bit)) {
            warn_report("%s: %s%s%s [bit %d]", prefix, desc,
                        name ? "." : "", name ? name : "", bit);
        }
    }
}

/* Features that make no sense without another (QEMU's dependencies). */
static void apply_dependencies(CPUFeatures *cf)
{
    static const struct {
        FeatureWord from_w;
        uint32_t from;
        FeatureWord to_w;
        uint32_t to;
    } deps[] = {
        { FEAT_7_0_EBX, CPUID_7_0_EBX_INTEL_PT, FEAT_14_0_ECX, ~0u },
        { FEAT_8000_0001_ECX, CPUID_EXT3_SVM, FEAT_SVM, ~0u },
        { FEAT_7_0_EBX, CPUID_7_0_EBX_SGX, FEAT_7_0_ECX, CPUID_7_0_ECX_SGXLC },
        { FEAT_7_0_EBX, CPUID_7_0_EBX_SGX, FEAT_SGX_12_0_EAX, ~0u },
        { FEAT_7_0_EBX, CPUID_7_0_EBX_SGX, FEAT_SGX_12_0_EBX, ~0u },
        { FEAT_7_0_EBX, CPUID_7_0_EBX_SGX, FEAT_SGX_12_1_EAX, ~0u },
    };

    for (size_t i = 0; i < ARRAY_SIZE(deps); i++) {
        uint32_t lost;

        if (cf->f[deps[i].from_w] & deps[i].from) {
            continue;
        }
        lost = cf->f[deps[i].to_w] & deps[i].to;
        warn_features("This feature depends on other features that were "
                      "not requested", deps[i].to_w,
                      lost & cf->user[deps[i].to_w]);
        cf->f[deps[i].to_w] &= ~lost;
    }
}

/* Drop what the host lacks; QEMU warns per bit and per vCPU. */
static bool filter_features(const X86CPUDef *def, CPUFeatures *cf,
                            GError **errp)
{
    bool missing = false;

    for (int w = 0; w < FEATURE_WORDS; w++) {
        uint32_t lost = cf->f[w] & ~cf->supported[w];

        if (!lost) {
            continue;
        }
        missing = true;
        if (def->check || def->enforce) {
            warn_features("host doesn't support requested feature", w, lost);
        }
        cf->f[w] &= ~lost;
    }
    if (missing && def->enforce) {
        error_setg(errp, "Host doesn't support requested features");
        return false;
    }
    return true;
}

static bool resolve_features(const X86CPUDef *def, CPUIDTable *t,
                             CPUFeatures *cf, GError **errp)
{
    memset(cf, 0, sizeof(*cf));
    for (int w = 0; w < FEATURE_WORDS; w++) {
        const FeatureWordInfo *fi = &feature_words[w];

        cf->supported[w] = cpuid_read(t, fi->function, fi->index, fi->reg) |
                           fi->always_supported;
    }
    apply_user_kind(def, X86_CPU_ADJUST_SET, cf);
    apply_user_kind(def, X86_CPU_ADJUST_PLUS, cf);
    apply_user_kind(def, X86_CPU_ADJUST_MINUS, cf);
    expand_host_features(def, cf);
    apply_dependencies(cf);
    return filter_features(def, cf, errp);
}

/* ---- shaping the table ---- */

typedef struct CPUIDContext {
    CPUIDTable *t;
    const X86CPUDef *def;
    const CpuTopology *topo;
    CPUFeatures cf;
    unsigned apic_id;
    bool amd;       /* "AuthenticAMD", QEMU's IS_AMD_CPU */
    bool intel;     /* "GenuineIntel" */
} CPUIDContext;

static bool vendor_is(CPUIDTable *t, const char *vendor)
{
    struct kvm_cpuid_entry2 *e = cpuid_find(t, 0, 0);
    char v[12];

    if (!e) {
        return false;
    }
    memcpy(v, &e->ebx, 4);
    memcpy(v + 4, &e->edx, 4);
    memcpy(v + 8, &e->ecx, 4);
    return !memcmp(v, vendor, 12);
}

/* Logical CPUs per die, what QEMU 7.2 calls nr_cores * nr_threads. */
static unsigned threads_per_die(const CpuTopology *topo)
{
    return topo->cores * topo->threads;
}

static void write_feature_words(CPUIDContext *c)
{
    for (int w = 0; w < FEATURE_WORDS; w++) {
        const FeatureWordInfo *fi = &feature_words[w];
        struct kvm_cpuid_entry2 *e = cpuid_find(c->t, fi->function,
                                                fi->index);

        if (!e && !c->cf.f[w]) {
            continue;
        }
        if (!e) {
            e = cpuid_add(c->t, fi->function, fi->index, fi->indexed);
        }
        *cpuid_reg(e, fi->reg) = c->cf.f[w];
    }
}

static uint32_t max_basic_leaf(CPUIDContext *c)
{
    return cpuid_read(c->t, 0, 0, X86_REG_EAX);
}

static void fixup_leaf1(CPUIDContext *c)
{
    struct kvm_cpuid_entry2 *e = cpuid_find(c->t, 1, 0);
    unsigned n = threads_per_die(c->topo);

    if (!e) {
        return;
    }
    /* initial APIC id, CLFLUSH line in 8-byte units, logical count */
    e->ebx = (c->apic_id << 24) | (8 << 8);
    if (n > 1) {
        e->ebx |= (n & 0xff) << 16;
        e->edx |= CPUID_1_EDX_HT;
    }
    /* OSXSAVE mirrors CR4, which KVM tracks at run time */
    e->ecx &= ~CPUID_1_ECX_OSXSAVE;
    if (!c->def->pmu) {
        e->ecx &= ~CPUID_1_ECX_PDCM;
    }
}

/*
 * QEMU 7.2 knows one sub-leaf of leaf 7 beyond the first and reports it
 * only when one of its features is on; other sub-leaves stay dark.
 */
static void fixup_leaf7(CPUIDContext *c)
{
    uint32_t max_sub = c->cf.f[FEAT_7_1_EAX] ? 1 : 0;

    for (guint i = 0; i < c->t->len; i++) {
        struct kvm_cpuid_entry2 *e =
            &g_array_index(c->t, struct kvm_cpuid_entry2, i);

        if (e->function != 7) {
            continue;
        }
        if (e->index == 0) {
            e->eax = max_sub;
        } else if (e->index > max_sub) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        } else {
            e->ebx = e->ecx = e->edx = 0;
        }
    }
}

/* QEMU always reports MONITOR/MWAIT extensions and interrupt break. */
static void fixup_leaf5(CPUIDContext *c)
{
    if (max_basic_leaf(c) >= 5) {
        cpuid_get(c->t, 5, 0, false)->ecx |= 3;
    }
}

/*
 * Leaf 4 keeps the host's cache geometry but describes sharing by the
 * guest's topology, as QEMU does; AMD guests get none (QEMU's default
 * vendor-specific CPUID).
 */
static void fixup_leaf4(CPUIDContext *c)
{
    unsigned die_ids = 1u << x86_apicid_die_offset(c->topo);

    if (c->amd) {
        cpuid_zero_leaf(c->t, 4);
        return;
    }
    for (guint i = 0; i < c->t->len; i++) {
        struct kvm_cpuid_entry2 *e =
            &g_array_index(c->t, struct kvm_cpuid_entry2, i);
        unsigned level = (e->eax >> 5) & 7;
        unsigned sharing;

        if (e->function != 4 || !(e->eax & 0x1f)) {
            continue;
        }
        sharing = level <= 1 ? 1 : level == 2 ? c->topo->threads : die_ids;
        e->eax = (e->eax & 0x3fff) | ((c->topo->cores - 1) << 26) |
                 ((sharing - 1) << 14);
    }
}

/* x2APIC topology levels (leaf 0xB and 0x1F, ECX[15:8]). */
enum { TOPO_INVALID = 0, TOPO_SMT = 1, TOPO_CORE = 2, TOPO_DIE = 5 };

static void add_topo_subleaf(CPUIDContext *c, uint32_t fn, uint32_t index,
                             unsigned type, unsigned shift, unsigned count)
{
    struct kvm_cpuid_entry2 *e = cpuid_add(c->t, fn, index, true);

    e->eax = type == TOPO_INVALID ? 0 : shift;
    e->ebx = type == TOPO_INVALID ? 0 : count & 0xffff;
    e->ecx = index | (type << 8);
    e->edx = c->apic_id;
}

static void build_leaf_0xb(CPUIDContext *c)
{
    const CpuTopology *tp = c->topo;

    cpuid_remove_leaf(c->t, 0xB);
    if (!c->def->cpuid_0xb || max_basic_leaf(c) < 0xB) {
        return;
    }
    add_topo_subleaf(c, 0xB, 0, TOPO_SMT, x86_apicid_core_offset(tp),
                     tp->threads);
    add_topo_subleaf(c, 0xB, 1, TOPO_CORE, x86_apicid_pkg_offset(tp),
                     threads_per_die(tp));
    add_topo_subleaf(c, 0xB, 2, TOPO_INVALID, 0, 0);
}

/* QEMU offers leaf 0x1F only when there are several dies. */
static void build_leaf_0x1f(CPUIDContext *c)
{
    const CpuTopology *tp = c->topo;
    struct kvm_cpuid_entry2 *e0;

    cpuid_remove_leaf(c->t, 0x1F);
    if (tp->dies < 2) {
        return;
    }
    e0 = cpuid_find(c->t, 0, 0);
    if (e0 && e0->eax < 0x1F) {
        e0->eax = 0x1F;
    }
    add_topo_subleaf(c, 0x1F, 0, TOPO_SMT, x86_apicid_core_offset(tp),
                     tp->threads);
    add_topo_subleaf(c, 0x1F, 1, TOPO_CORE, x86_apicid_die_offset(tp),
                     threads_per_die(tp));
    add_topo_subleaf(c, 0x1F, 2, TOPO_DIE, x86_apicid_pkg_offset(tp),
                     tp->dies * threads_per_die(tp));
    add_topo_subleaf(c, 0x1F, 3, TOPO_INVALID, 0, 0);
}

/* XSAVE components and the feature each belongs to. */
static uint64_t xsave_components(const CPUFeatures *cf)
{
    static const struct {
        int comp;
        FeatureWord w;
        uint32_t bit;
    } map[] = {
        { 2, FEAT_1_ECX, CPUID_1_ECX_AVX },
        { 3, FEAT_7_0_EBX, CPUID_7_0_EBX_MPX },
        { 4, FEAT_7_0_EBX, CPUID_7_0_EBX_MPX },
        { 5, FEAT_7_0_EBX, CPUID_7_0_EBX_AVX512F },
        { 6, FEAT_7_0_EBX, CPUID_7_0_EBX_AVX512F },
        { 7, FEAT_7_0_EBX, CPUID_7_0_EBX_AVX512F },
        { 9, FEAT_7_0_ECX, CPUID_7_0_ECX_PKU },
        { 17, FEAT_7_0_EDX, CPUID_7_0_EDX_AMX_TILE },
        { 18, FEAT_7_0_EDX, CPUID_7_0_EDX_AMX_TILE },
    };
    uint64_t comps = 3;   /* x87 and SSE come with XSAVE itself */

    for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
        if (cf->f[map[i].w] & map[i].bit) {
            comps |= 1ull << map[i].comp;
        }
    }
    return comps;
}

#define XSAVE_LEGACY_SIZE 576   /* legacy area plus XSAVE header */

/* Sizes of the enabled components, standard and compacted layouts. */
static void xsave_sizes(CPUIDContext *c, uint64_t comps, uint64_t xss,
                        uint32_t *standard, uint32_t *compacted)
{
    *standard = *compacted = XSAVE_LEGACY_SIZE;
    for (int i = 2; i < 64; i++) {
        struct kvm_cpuid_entry2 *e = cpuid_find(c->t, 0xD, i);

        if (!e || !((comps | xss) >> i & 1)) {
            continue;
        }
        if (comps >> i & 1) {
            *standard = MAX(*standard, e->ebx + e->eax);
        }
        *compacted += e->eax;
    }
}

/* Components the vCPU lacks disappear from leaf 0xD, as in QEMU. */
static void fixup_leaf_0xd(CPUIDContext *c)
{
    struct kvm_cpuid_entry2 *e0 = cpuid_find(c->t, 0xD, 0);
    struct kvm_cpuid_entry2 *e1;
    uint64_t comps, xss = 0;
    uint32_t standard, compacted;

    if (!e0 || !(c->cf.f[FEAT_1_ECX] & CPUID_1_ECX_XSAVE)) {
        cpuid_zero_leaf(c->t, 0xD);
        return;
    }
    comps = xsave_components(&c->cf) & ((uint64_t)e0->edx << 32 | e0->eax);
    for (int i = 2; i < 64; i++) {
        if (!cpuid_find(c->t, 0xD, i)) {
            comps &= ~(1ull << i);
        }
    }
    e1 = cpuid_find(c->t, 0xD, 1);
    if (e1) {
        xss = (uint64_t)e1->edx << 32 | e1->ecx;
    }
    for (guint i = 0; i < c->t->len; i++) {
        struct kvm_cpuid_entry2 *e =
            &g_array_index(c->t, struct kvm_cpuid_entry2, i);

        if (e->function == 0xD && e->index >= 2 && e->index < 64 &&
            !((comps | xss) >> e->index & 1)) {
            e->eax = e->ebx = e->ecx = e->edx = 0;
        }
    }
    xsave_sizes(c, comps, xss, &standard, &compacted);
    e0->eax = (uint32_t)comps;
    e0->edx = comps >> 32;
    e0->ecx = standard;
    e0->ebx = standard;
    if (e1) {
        e1->ebx = compacted;
    }
}

static void fixup_ext_leaves(CPUIDContext *c)
{
    struct kvm_cpuid_entry2 *e = cpuid_find(c->t, 0x80000001, 0);
    unsigned n = threads_per_die(c->topo);

    if (e) {
        e->ebx = 0;
        if (n > 1 && !c->intel) {
            /* Linux discards thread information when it sees this */
            e->ecx |= CPUID_EXT3_CMP_LEGACY;
        }
        if (c->amd) {
            e->edx = (e->edx & ~CPUID_EXT2_AMD_ALIASES) |
                     (c->cf.f[FEAT_1_EDX] & CPUID_EXT2_AMD_ALIASES);
        }
    }
    e = cpuid_find(c->t, 0x80000008, 0);
    if (e) {
        /* ApicIdSize and the number of threads in the package */
        e->ecx = n > 1 ? (x86_apicid_pkg_offset(c->topo) << 12) | (n - 1)
                       : 0;
        e->edx = 0;
    }
}

/* Leaves that only mean something with their feature enabled. */
static void zero_disabled_leaves(CPUIDContext *c)
{
    if (!c->def->pmu) {
        cpuid_zero_leaf(c->t, 0xA);
    }
    if (!(c->cf.f[FEAT_7_0_EBX] & CPUID_7_0_EBX_INTEL_PT)) {
        cpuid_zero_leaf(c->t, 0x14);
    }
    if (!(c->cf.f[FEAT_7_0_EBX] & CPUID_7_0_EBX_SGX)) {
        cpuid_zero_leaf(c->t, 0x12);
    }
    if (!(c->cf.f[FEAT_8000_0001_ECX] & CPUID_EXT3_SVM)) {
        cpuid_zero_leaf(c->t, 0x8000000A);
    }
}

/* AMD cache topology: the host's caches, shared the guest's way. */
static void fixup_leaf_8000001d(CPUIDContext *c)
{
    for (guint i = 0; i < c->t->len; i++) {
        struct kvm_cpuid_entry2 *e =
            &g_array_index(c->t, struct kvm_cpuid_entry2, i);
        unsigned level = (e->eax >> 5) & 7, sharing;

        if (e->function != 0x8000001D || !(e->eax & 0x1f)) {
            continue;
        }
        sharing = level == 3 ? threads_per_die(c->topo) : c->topo->threads;
        e->eax = (e->eax & ~(0xfffu << 14)) | ((sharing - 1) << 14);
    }
}

/* AMD extended APIC id, core and node identifiers. */
static void build_leaf_8000001e(CPUIDContext *c)
{
    uint32_t xlevel = cpuid_read(c->t, 0x80000000, 0, X86_REG_EAX);
    struct kvm_cpuid_entry2 *e;
    X86CPUTopoIDs ids;

    if (!c->amd || xlevel < 0x8000001E) {
        return;
    }
    x86_topo_ids_from_apicid(c->topo, c->apic_id, &ids);
    e = cpuid_get(c->t, 0x8000001E, 0, false);
    e->eax = c->apic_id;
    e->ebx = ((c->topo->threads - 1) << 8) | (ids.core_id & 0xff);
    e->ecx = ((c->topo->dies - 1) << 8) |
             ((c->apic_id >> x86_apicid_die_offset(c->topo)) & 0xff);
    e->edx = 0;
}

/* QEMU's own 0x40000000 leaves replace whatever KVM listed. */
static void build_kvm_leaves(CPUIDContext *c)
{
    static const char sig[12] = "KVMKVMKVM\0\0\0";
    struct kvm_cpuid_entry2 *e;

    for (guint i = c->t->len; i > 0; i--) {
        uint32_t fn = g_array_index(c->t, struct kvm_cpuid_entry2,
                                    i - 1).function;

        if (fn >= 0x40000000 && fn <= 0x4FFFFFFF) {
            g_array_remove_index(c->t, i - 1);
        }
    }
    if (!c->def->kvm) {
        return;
    }
    e = cpuid_add(c->t, 0x40000000, 0, false);
    e->eax = 0x40000001;
    memcpy(&e->ebx, sig, 4);
    memcpy(&e->ecx, sig + 4, 4);
    memcpy(&e->edx, sig + 8, 4);
    e = cpuid_add(c->t, 0x40000001, 0, false);
    e->eax = c->cf.f[FEAT_KVM];
    e->edx = c->cf.f[FEAT_KVM_HINTS];
}

/*
 * KVM answers zeros for a leaf it has no entry for, so all-zero
 * entries only take room (QEMU leaves them out too).
 */
static void drop_empty_entries(CPUIDTable *t)
{
    for (guint i = t->len; i > 0; i--) {
        struct kvm_cpuid_entry2 *e =
            &g_array_index(t, struct kvm_cpuid_entry2, i - 1);

        if (!e->eax && !e->ebx && !e->ecx && !e->edx &&
            !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)) {
            g_array_remove_index(t, i - 1);
        }
    }
}

static struct kvm_cpuid2 *table_to_kvm(CPUIDTable *t)
{
    struct kvm_cpuid2 *out = g_malloc0(sizeof(*out) +
                                       t->len * sizeof(out->entries[0]));

    out->nent = t->len;
    memcpy(out->entries, t->data, t->len * sizeof(out->entries[0]));
    return out;
}

static bool check_topology(const CpuTopology *topo, unsigned cpu_index,
                           GError **errp)
{
    if (!topo->dies || !topo->cores || !topo->threads) {
        error_setg(errp, "CPU topology has a zero count");
        return false;
    }
    if (cpu_index >= MAX(topo->max_cpus, 1u)) {
        error_setg(errp, "CPU index %u is beyond maxcpus (%u)", cpu_index,
                   topo->max_cpus);
        return false;
    }
    return true;
}

bool x86_cpu_build_cpuid(const X86CPUDef *def,
                         const struct kvm_cpuid2 *supported,
                         const CpuTopology *topo, unsigned cpu_index,
                         struct kvm_cpuid2 **out, GError **errp)
{
    CPUIDContext c = { .def = def, .topo = topo };
    bool ok = false;

    if (!check_topology(topo, cpu_index, errp)) {
        return false;
    }
    c.t = g_array_sized_new(FALSE, FALSE, sizeof(struct kvm_cpuid_entry2),
                            supported->nent + 8);
    g_array_append_vals(c.t, supported->entries, supported->nent);
    c.apic_id = x86_apicid_from_cpu_idx(topo, cpu_index);
    c.amd = vendor_is(c.t, "AuthenticAMD");
    c.intel = vendor_is(c.t, "GenuineIntel");
    if (!resolve_features(def, c.t, &c.cf, errp)) {
        goto out;
    }
    write_feature_words(&c);
    fixup_leaf1(&c);
    fixup_leaf4(&c);
    fixup_leaf5(&c);
    fixup_leaf7(&c);
    build_leaf_0xb(&c);
    build_leaf_0x1f(&c);
    fixup_leaf_0xd(&c);
    fixup_ext_leaves(&c);
    zero_disabled_leaves(&c);
    fixup_leaf_8000001d(&c);
    build_leaf_8000001e(&c);
    build_kvm_leaves(&c);
    drop_empty_entries(c.t);
    *out = table_to_kvm(c.t);
    ok = true;
out:
    g_array_free(c.t, TRUE);
    return ok;
}
