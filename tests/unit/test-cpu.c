/*
 * -cpu parsing and CPUID table building over fake KVM tables.
 *
 * The AMD table is KVM_GET_SUPPORTED_CPUID from a development host; the
 * expected AMD values were read from the table QEMU 7.2 passed to
 * KVM_SET_CPUID2 on that host ("-cpu host -smp 12,sockets=2,dies=2,
 * cores=3,threads=1").  The Intel table is made up but shaped like a
 * Skylake server's.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "target/i386/cpu.h"

#include "capture.h"
#include <check.h>

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

typedef struct FakeEntry {
    uint32_t fn, index, flags, eax, ebx, ecx, edx;
} FakeEntry;

static const FakeEntry amd_host[] = {
    { 0x00000000, 0x0, 0, 0x0000001c, 0x68747541, 0x444d4163, 0x69746e65 },
    { 0x00000001, 0x0, 0, 0x00a10f11, 0x00020800, 0x81202000, 0x078bfbff },
    { 0x00000004, 0x0, SIG, 0, 0, 0, 0 },
    { 0x00000006, 0x0, 0, 0x00000004, 0x00000000, 0x00000000, 0x00000000 },
    { 0x00000007, 0x0, SIG, 0x00000001, 0x01800002, 0x00000104, 0x20000000 },
    { 0x00000007, 0x1, SIG, 0, 0, 0, 0 },
    { 0x0000000b, 0x0, SIG, 0, 0, 0, 0x00000001 },
    { 0x0000000d, 0x0, SIG, 0x000000e7, 0x00000980, 0x00000980, 0x00000000 },
    { 0x0000000d, 0x1, SIG, 0, 0, 0, 0 },
    { 0x0000000d, 0x2, SIG, 0x00000100, 0x00000240, 0x00000000, 0x00000000 },
    { 0x0000000d, 0x5, SIG, 0x00000040, 0x00000340, 0x00000000, 0x00000000 },
    { 0x0000000d, 0x6, SIG, 0x00000200, 0x00000380, 0x00000000, 0x00000000 },
    { 0x0000000d, 0x7, SIG, 0x00000400, 0x00000580, 0x00000000, 0x00000000 },
    { 0x80000000, 0x0, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65 },
    { 0x80000001, 0x0, 0, 0x00a10f11, 0x40000000, 0x00400393, 0x23d3fbff },
    { 0x80000005, 0x0, 0, 0xff48ff40, 0xff48ff40, 0x20080140, 0x20080140 },
    { 0x80000006, 0x0, 0, 0x5c002200, 0x6c004200, 0x04006140, 0x0a009140 },
    { 0x80000007, 0x0, 0, 0x00000000, 0x00000000, 0x00000000, 0x00000100 },
    { 0x80000008, 0x0, 0, 0x00003030, 0x50020005, 0x00007001, 0x00000000 },
    { 0x8000001a, 0x0, 0, 0x00000006, 0x00000000, 0x00000000, 0x00000000 },
    { 0x8000001d, 0x0, SIG, 0x00000121, 0x01c0003f, 0x0000003f, 0x00000000 },
    { 0x8000001d, 0x1, SIG, 0x00000122, 0x01c0003f, 0x0000003f, 0x00000000 },
    { 0x8000001d, 0x2, SIG, 0x00000143, 0x01c0003f, 0x000007ff, 0x00000002 },
    { 0x8000001d, 0x3, SIG, 0x00004163, 0x03c0003f, 0x00007fff, 0x00000001 },
    { 0x8000001d, 0x4, SIG, 0, 0, 0, 0 },
    { 0x8000001e, 0x0, 0, 0, 0, 0, 0 },
    { 0x80000021, 0x0, 0, 0x00000204, 0x00000000, 0x00000006, 0x00000000 },
    { 0x40000000, 0x0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d },
    { 0x40000001, 0x0, 0, 0x01007efb, 0x00000000, 0x00000000, 0x00000000 },
};

/* "GenuineIntel": EBX "Genu", EDX "ineI", ECX "ntel" */
#define INTEL_VENDOR 0x756e6547, 0x6c65746e, 0x49656e69
/* leaf 1 ECX: pni pclmulqdq ssse3 fma cx16 pdcm pcid sse4.1 sse4.2 x2apic
 * movbe popcnt tsc-deadline aes xsave OSXSAVE avx f16c rdrand hypervisor */
#define INTEL_1_ECX 0xfffab203
/* leaf 7.0 EDX: md-clear spec-ctrl stibp arch-capabilities ssbd, plus
 * bit 28, which QEMU 7.2 has no name for */
#define INTEL_7_EDX 0xbc000400

static const FakeEntry intel_host[] = {
    { 0x00000000, 0, 0, 0x00000016, INTEL_VENDOR },
    { 0x00000001, 0, 0, 0x00050654, 0x05100800, INTEL_1_ECX, 0xbfebfbff },
    { 0x00000004, 0, SIG, 0x7c004121, 0x01c0003f, 0x0000003f, 0 },
    { 0x00000004, 1, SIG, 0x7c004122, 0x01c0003f, 0x0000003f, 0 },
    { 0x00000004, 2, SIG, 0x7c004143, 0x03c0003f, 0x000003ff, 0 },
    { 0x00000004, 3, SIG, 0x7c0fc163, 0x0280003f, 0x0000dfff, 4 },
    { 0x00000004, 4, SIG, 0, 0, 0, 0 },
    { 0x00000005, 0, 0, 0x40, 0x40, 0x3, 0x2020 },
    { 0x00000006, 0, 0, 0x00000004, 0, 0, 0 },
    { 0x00000007, 0, SIG, 0, 0xd19f47ab, 0x00000018, INTEL_7_EDX },
    { 0x0000000a, 0, 0, 0x07300404, 0, 0, 0x00000603 },
    { 0x0000000b, 0, SIG, 1, 2, 0x100, 5 },
    { 0x0000000b, 1, SIG, 5, 16, 0x201, 5 },
    { 0x0000000d, 0, SIG, 0x000002e7, 0x00000a88, 0x00000a88, 0 },
    { 0x0000000d, 1, SIG, 0x0000000f, 0x00000a08, 0, 0 },
    { 0x0000000d, 2, SIG, 0x00000100, 0x00000240, 0, 0 },
    { 0x0000000d, 5, SIG, 0x00000040, 0x00000440, 0, 0 },
    { 0x0000000d, 6, SIG, 0x00000200, 0x00000480, 0, 0 },
    { 0x0000000d, 7, SIG, 0x00000400, 0x00000680, 0, 0 },
    { 0x0000000d, 9, SIG, 0x00000008, 0x00000a80, 0, 0 },
    { 0x00000014, 0, SIG, 1, 0xf, 7, 0 },
    { 0x80000000, 0, 0, 0x80000008, 0, 0, 0 },
    { 0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800 },
    { 0x80000007, 0, 0, 0, 0, 0, 0x00000100 },
    { 0x80000008, 0, 0, 0x0000302e, 0x00000200, 0, 0 },
    { 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d },
    { 0x40000001, 0, 0, 0x01007efb, 0, 0, 0 },
};

static struct kvm_cpuid2 *fake_table(const FakeEntry *fe, size_t n)
{
    struct kvm_cpuid2 *t = g_malloc0(sizeof(*t) + n * sizeof(t->entries[0]));

    t->nent = n;
    for (size_t i = 0; i < n; i++) {
        t->entries[i] = (struct kvm_cpuid_entry2) {
            .function = fe[i].fn, .index = fe[i].index, .flags = fe[i].flags,
            .eax = fe[i].eax, .ebx = fe[i].ebx, .ecx = fe[i].ecx,
            .edx = fe[i].edx,
        };
    }
    return t;
}


/* ---- helpers ---- */

static void parse_ok(const char *arg, X86CPUDef *def)
{
    GError *err = NULL;

    ck_assert_msg(x86_cpu_parse(arg, def, &err), "-cpu '%s': %s", arg,
                  err ? err->message : "");
}

static char *parse_err(const char *arg)
{
    X86CPUDef def;
    GError *err = NULL;
    char *msg;

    ck_assert(!x86_cpu_parse(arg, &def, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(def.features);
    msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

#define ck_assert_cpu_error(arg, want) do {                      \
        g_autofree char *msg_ = parse_err(arg);                  \
        ck_assert_str_eq(msg_, want);                            \
    } while (0)

static CpuTopology topo(unsigned sockets, unsigned dies, unsigned cores,
                        unsigned threads)
{
    unsigned n = sockets * dies * cores * threads;

    return (CpuTopology) {
        .cpus = n, .sockets = sockets, .dies = dies, .cores = cores,
        .threads = threads, .max_cpus = n,
    };
}

/* Build vCPU @idx's table for "-cpu @arg" over @host; no warnings allowed
 * unless @warnings is given to receive them. */
static struct kvm_cpuid2 *build(const char *arg, const FakeEntry *host,
                                size_t n, CpuTopology t, unsigned idx,
                                char **warnings)
{
    g_autofree struct kvm_cpuid2 *sup = fake_table(host, n);
    struct kvm_cpuid2 *out = NULL;
    GError *err = NULL;
    X86CPUDef def;
    char *printed;

    capture_start();
    parse_ok(arg, &def);
    ck_assert_msg(x86_cpu_build_cpuid(&def, sup, &t, idx, &out, &err),
                  "%s", err ? err->message : "");
    printed = capture_end();
    x86_cpu_def_clear(&def);
    if (warnings) {
        *warnings = printed;
    } else {
        ck_assert_msg(!*printed, "unexpected output: %s", printed);
        free(printed);
    }
    return out;
}

#define BUILD_INTEL(arg, t, idx) \
    build(arg, intel_host, ARRAY_SIZE(intel_host), t, idx, NULL)
#define BUILD_AMD(arg, t, idx) \
    build(arg, amd_host, ARRAY_SIZE(amd_host), t, idx, NULL)

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c,
                                           uint32_t fn, uint32_t index)
{
    for (unsigned i = 0; i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &c->entries[i];

        if (e->function == fn &&
            (!(e->flags & SIG) || e->index == index)) {
            return e;
        }
    }
    return NULL;
}

static const struct kvm_cpuid_entry2 *get(const struct kvm_cpuid2 *c,
                                          uint32_t fn, uint32_t index)
{
    const struct kvm_cpuid_entry2 *e = find(c, fn, index);

    ck_assert_msg(e, "no entry %#x.%u", fn, index);
    return e;
}

#define ck_assert_regs(e, a, b, c_, d) do {                      \
        ck_assert_uint_eq((e)->eax, a);                          \
        ck_assert_uint_eq((e)->ebx, b);                          \
        ck_assert_uint_eq((e)->ecx, c_);                         \
        ck_assert_uint_eq((e)->edx, d);                          \
    } while (0)

static unsigned count_leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
    unsigned n = 0;

    for (unsigned i = 0; i < c->nent; i++) {
        n += c->entries[i].function == fn;
    }
    return n;
}

/* ---- parsing ---- */

START_TEST(test_parse_models)
{
    X86CPUDef def;

    parse_ok("host", &def);
    ck_assert_int_eq(def.model, X86_CPU_MODEL_HOST);
    ck_assert_uint_eq(def.features->len, 0);
    ck_assert(def.pmu && def.kvm && def.check && def.migratable &&
              def.cpuid_0xb && !def.enforce);
    ck_assert_uint_eq(def.tsc_frequency, 0);
    x86_cpu_def_clear(&def);
    x86_cpu_def_clear(&def);

    parse_ok("max", &def);
    ck_assert_int_eq(def.model, X86_CPU_MODEL_MAX);
    x86_cpu_def_clear(&def);

    parse_ok(NULL, &def);
    ck_assert_int_eq(def.model, X86_CPU_MODEL_HOST);
    x86_cpu_def_clear(&def);

    /* empty items vanish */
    parse_ok("host,,+avx,", &def);
    ck_assert_uint_eq(def.features->len, 1);
    x86_cpu_def_clear(&def);

    ck_assert_str_eq(x86_cpu_type_name(X86_CPU_MODEL_MAX), "max-x86_64-cpu");
}
END_TEST

START_TEST(test_parse_bad_model)
{
    ck_assert_cpu_error("foo", "unable to find CPU model 'foo'");
    ck_assert_cpu_error("Host", "unable to find CPU model 'Host'");
    ck_assert_cpu_error("qemu64,+avx", "unable to find CPU model 'qemu64'");
    ck_assert_cpu_error(",+foo", "unable to find CPU model ''");
    ck_assert_cpu_error("", "-cpu option cannot be empty");
}
END_TEST

static const X86CPUFeatureAdjust *adj(const X86CPUDef *def, unsigned i)
{
    ck_assert_uint_lt(i, def->features->len);
    return &g_array_index(def->features, X86CPUFeatureAdjust, i);
}

START_TEST(test_parse_features)
{
    X86CPUDef def;
    const X86CPUFeatureAdjust *a;

    parse_ok("host,+avx,-sse4.2,pdpe1gb=on,x2apic=off,kvmclock=off,"
             "+avx512vl,-kvm-pv-eoi", &def);
    ck_assert_uint_eq(def.features->len, 7);
    /* settings first, then "+", then "-" */
    a = adj(&def, 0);
    ck_assert_str_eq(a->name, "pdpe1gb");
    ck_assert_int_eq(a->kind, X86_CPU_ADJUST_SET);
    ck_assert(a->on);
    ck_assert_uint_eq(a->function, 0x80000001);
    ck_assert_int_eq(a->reg, X86_REG_EDX);
    ck_assert_uint_eq(a->mask, 1u << 26);
    a = adj(&def, 1);
    ck_assert_str_eq(a->name, "x2apic");
    ck_assert(!a->on);
    ck_assert_uint_eq(a->function, 1);
    ck_assert_int_eq(a->reg, X86_REG_ECX);
    ck_assert_uint_eq(a->mask, 1u << 21);
    a = adj(&def, 2);
    ck_assert_str_eq(a->name, "kvmclock");
    ck_assert_uint_eq(a->function, 0x40000001);
    ck_assert_uint_eq(a->mask, 0x9);      /* both clock bits */
    a = adj(&def, 3);
    ck_assert_str_eq(a->name, "avx");
    ck_assert_int_eq(a->kind, X86_CPU_ADJUST_PLUS);
    ck_assert_uint_eq(a->mask, 1u << 28);
    a = adj(&def, 4);
    ck_assert_str_eq(a->name, "avx512vl");
    ck_assert_uint_eq(a->function, 7);
    ck_assert_uint_eq(a->index, 0);
    ck_assert_int_eq(a->reg, X86_REG_EBX);
    ck_assert_uint_eq(a->mask, 1u << 31);
    a = adj(&def, 5);
    ck_assert_str_eq(a->name, "sse4.2");
    ck_assert_int_eq(a->kind, X86_CPU_ADJUST_MINUS);
    ck_assert(!a->on);
    a = adj(&def, 6);
    ck_assert_str_eq(a->name, "kvm-pv-eoi");
    ck_assert_uint_eq(a->mask, 1u << 6);
    x86_cpu_def_clear(&def);
}
END_TEST

START_TEST(test_parse_aliases)
{
    static const struct {
        const char *arg, *name;
    } cases[] = {
        { "host,+sse4_2", "sse4.2" },
        { "host,sse4_2=on", "sse4.2" },     /* becomes sse4-2, an alias */
        { "host,+sse4-1", "sse4.1" },
        { "host,lahf_lm=on", "lahf-lm" },
        { "host,+lahf_lm", "lahf-lm" },
        { "host,+xd", "nx" },
        { "host,+sse3", "pni" },
        { "host,avx512_bf16=on", "avx512-bf16" },
        { "host,+kvm_pv_unhalt", "kvm-pv-unhalt" },
        { "host,avx512-vp2intersect=on", "avx512-vp2intersect" },
    };

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        X86CPUDef def;

        parse_ok(cases[i].arg, &def);
        ck_assert_uint_eq(def.features->len, 1);
        ck_assert_str_eq(adj(&def, 0)->name, cases[i].name);
        x86_cpu_def_clear(&def);
    }
    ck_assert_uint_eq(0, 0);
}
END_TEST

START_TEST(test_parse_unknown)
{
    ck_assert_cpu_error("host,+foo", "Property 'host-x86_64-cpu.foo' not "
                        "found");
    ck_assert_cpu_error("max,-foo", "Property 'max-x86_64-cpu.foo' not found");
    /* "+" names are not translated, and this one has no alias */
    ck_assert_cpu_error("host,+avx512_bf16", "Property "
                        "'host-x86_64-cpu.avx512_bf16' not found");
    ck_assert_cpu_error("host,foo=on", "can't apply global "
                        "host-x86_64-cpu.foo=on: Property "
                        "'host-x86_64-cpu.foo' not found");
    ck_assert_cpu_error("host,foo", "can't apply global "
                        "host-x86_64-cpu.foo=on: Property "
                        "'host-x86_64-cpu.foo' not found");
    /* there is no "no" prefix in -cpu */
    ck_assert_cpu_error("host,noavx", "can't apply global "
                        "host-x86_64-cpu.noavx=on: Property "
                        "'host-x86_64-cpu.noavx' not found");
    ck_assert_cpu_error("host,+", "Property 'host-x86_64-cpu.' not found");
    ck_assert_cpu_error("host,=on", "can't apply global host-x86_64-cpu.=on: "
                        "Property 'host-x86_64-cpu.' not found");
    /* globals are applied first, then "+", then "-" */
    ck_assert_cpu_error("host,-a,+b,c=on", "can't apply global "
                        "host-x86_64-cpu.c=on: Property "
                        "'host-x86_64-cpu.c' not found");
    ck_assert_cpu_error("host,-a,+b", "Property 'host-x86_64-cpu.b' not "
                        "found");
}
END_TEST

START_TEST(test_parse_bad_values)
{
    ck_assert_cpu_error("host,x2apic=maybe", "can't apply global "
                        "host-x86_64-cpu.x2apic=maybe: Parameter 'x2apic' "
                        "expects 'on' or 'off'");
    ck_assert_cpu_error("host,sse4-2=maybe", "can't apply global "
                        "host-x86_64-cpu.sse4-2=maybe: Parameter 'sse4-2' "
                        "expects 'on' or 'off'");
    ck_assert_cpu_error("host,pmu=2", "can't apply global "
                        "host-x86_64-cpu.pmu=2: Parameter 'pmu' expects 'on' "
                        "or 'off'");
    ck_assert_cpu_error("host,tsc-freq=foo", "bad numerical value foo");
    ck_assert_cpu_error("host,tsc-frequency=x", "can't apply global "
                        "host-x86_64-cpu.tsc-frequency=x: Parameter "
                        "'tsc-frequency' expects int64");
    ck_assert_cpu_error("host,+tsc-frequency", "Invalid parameter type for "
                        "'tsc-frequency', expected: integer");
}
END_TEST

START_TEST(test_parse_unsupported)
{
    ck_assert_cpu_error("host,hv-relaxed=on",
                        "CPU property 'hv-relaxed' is not supported by qvmm");
    ck_assert_cpu_error("host,+vmx-ept",
                        "CPU property 'vmx-ept' is not supported by qvmm");
    ck_assert_cpu_error("host,level=13",
                        "CPU property 'level' is not supported by qvmm");
    ck_assert_cpu_error("host,model-id=x",
                        "CPU property 'model-id' is not supported by qvmm");
    ck_assert_cpu_error("host,-rdctl-no",
                        "CPU property 'rdctl-no' is not supported by qvmm");
}
END_TEST

START_TEST(test_parse_props)
{
    X86CPUDef def;
    char *out;

    parse_ok("host,pmu=off,kvm=off,enforce,check=off,migratable=no,"
             "cpuid-0xb=off,tsc-freq=2.5G", &def);
    ck_assert(!def.pmu && !def.kvm && def.enforce && !def.check &&
              !def.migratable && !def.cpuid_0xb);
    ck_assert_uint_eq(def.tsc_frequency, 2500000000ull);
    ck_assert_uint_eq(def.features->len, 0);
    x86_cpu_def_clear(&def);

    /* "+"/"-" win over settings whatever the order */
    capture_start();
    parse_ok("host,-pmu,pmu=on,tsc-frequency=1000", &def);
    out = capture_end();
    ck_assert_ptr_nonnull(strstr(out, "Don't mix both \"-pmu\" and "
                                      "\"pmu=on\""));
    free(out);
    ck_assert(!def.pmu);
    ck_assert_uint_eq(def.tsc_frequency, 1000);
    x86_cpu_def_clear(&def);
}
END_TEST

START_TEST(test_parse_ambiguous)
{
    X86CPUDef def;
    char *out;

    capture_start();
    parse_ok("host,+x2apic,x2apic=on", &def);
    x86_cpu_def_clear(&def);
    parse_ok("host,-x2apic,x2apic=off,+x2apic", &def);
    out = capture_end();
    ck_assert_str_eq(out,
        "qvmm: warning: Ambiguous CPU model string. Don't mix both "
        "\"+x2apic\" and \"x2apic=on\"\n"
        "qvmm: warning: Compatibility of ambiguous CPU model strings won't "
        "be kept on future QEMU versions\n"
        "qvmm: warning: Ambiguous CPU model string. Don't mix both "
        "\"-x2apic\" and \"x2apic=off\"\n"
        "qvmm: warning: Compatibility of ambiguous CPU model strings won't "
        "be kept on future QEMU versions\n");
    free(out);
    ck_assert_uint_eq(def.features->len, 3);
    x86_cpu_def_clear(&def);
}
END_TEST

START_TEST(test_cpu_list)
{
    FILE *saved = stdout;
    char *buf = NULL;
    size_t len = 0;

    stdout = open_memstream(&buf, &len);
    x86_cpu_list();
    fclose(stdout);
    stdout = saved;
    ck_assert(g_str_has_prefix(buf, "Available CPUs:\n"
        "x86 host                  processor with all supported host "
        "features \n"
        "x86 max                   Enables all features supported by the "
        "accelerator in the current host\n\nRecognized CPUID flags:\n"
        "  3dnow 3dnowext 3dnowprefetch abm ace2 ace2-en acpi adx aes "
        "amd-no-ssb\n"));
    /* two bits share the name, and QEMU lists it twice */
    {
        g_auto(GStrv) words = g_strsplit_set(buf, " \n", -1);
        unsigned n = 0;

        for (char **w = words; *w; w++) {
            n += !strcmp(*w, "kvmclock");
        }
        ck_assert_uint_eq(n, 2);
    }
    ck_assert_ptr_nonnull(strstr(buf, " xtpr\n"));
    free(buf);
}
END_TEST

/* ---- the table ---- */

START_TEST(test_leaf1_topology)
{
    /* 2 sockets x 2 cores x 2 threads: vCPU 5 is package 1, core 0,
     * thread 1, APIC id 5 */
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(2, 1, 2, 2), 5);
    const struct kvm_cpuid_entry2 *e = get(c, 1, 0);

    ck_assert_uint_eq(e->eax, 0x00050654);
    ck_assert_uint_eq(e->ebx, 0x05040800);
    ck_assert_uint_eq(e->edx, 0xbfebfbff);            /* HT kept */
    ck_assert_uint_eq(e->ecx, INTEL_1_ECX & ~(1u << 27)); /* no OSXSAVE */
}
END_TEST

START_TEST(test_leaf1_single_cpu)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *ht = BUILD_INTEL("host,+ht",
                                                   topo(1, 1, 1, 1), 0);
    const struct kvm_cpuid_entry2 *e = get(c, 1, 0);

    /* the host's HT and its APIC id and count do not leak through */
    ck_assert_uint_eq(e->ebx, 0x00000800);
    ck_assert_uint_eq(e->edx, 0xbfebfbff & ~(1u << 28));
    ck_assert_uint_eq(get(ht, 1, 0)->edx, 0xbfebfbff);
}
END_TEST

START_TEST(test_leaf4_sharing)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(2, 1, 2, 2), 0);

    /* cores per package - 1 in [31:26], sharing - 1 in [25:14] */
    ck_assert_uint_eq(get(c, 4, 0)->eax, 0x04000121);
    ck_assert_uint_eq(get(c, 4, 1)->eax, 0x04000122);
    ck_assert_uint_eq(get(c, 4, 2)->eax, 0x04004143);
    ck_assert_uint_eq(get(c, 4, 3)->eax, 0x0400c163);
    /* geometry is the host's */
    ck_assert_uint_eq(get(c, 4, 3)->ecx, 0x0000dfff);
    ck_assert_uint_eq(get(c, 4, 4)->eax, 0);
}
END_TEST

START_TEST(test_leaf_0xb)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(2, 1, 3, 2), 7);
    g_autofree struct kvm_cpuid2 *off = BUILD_INTEL("host,cpuid-0xb=off",
                                                    topo(2, 1, 3, 2), 7);
    /* vCPU 7: package 1, core 0, thread 1 -> 8 | 1 */
    const unsigned apic = 9;

    ck_assert_uint_eq(count_leaf(c, 0xB), 3);
    ck_assert_regs(get(c, 0xB, 0), 1, 2, 0x100, apic);
    ck_assert_regs(get(c, 0xB, 1), 3, 6, 0x201, apic);
    ck_assert_regs(get(c, 0xB, 2), 0, 0, 0x002, apic);
    ck_assert_uint_eq(get(c, 1, 0)->ebx >> 24, apic);
    ck_assert_uint_eq(count_leaf(c, 0x1F), 0);
    ck_assert_uint_eq(count_leaf(off, 0xB), 0);
}
END_TEST

START_TEST(test_leaf_0x1f_with_dies)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(2, 2, 3, 2), 13);
    /* vCPU 13: package 1, die 0, core 0, thread 1 */
    const unsigned apic = (1u << 4) | 1;

    ck_assert_uint_eq(get(c, 0, 0)->eax, 0x1F);
    ck_assert_uint_eq(count_leaf(c, 0x1F), 4);
    ck_assert_regs(get(c, 0x1F, 0), 1, 2, 0x100, apic);
    ck_assert_regs(get(c, 0x1F, 1), 3, 6, 0x201, apic);
    ck_assert_regs(get(c, 0x1F, 2), 4, 12, 0x502, apic);
    ck_assert_regs(get(c, 0x1F, 3), 0, 0, 0x003, apic);
    /* leaf 0xB's second level spans the package */
    ck_assert_regs(get(c, 0xB, 1), 4, 6, 0x201, apic);
}
END_TEST

START_TEST(test_feature_adjustments)
{
    g_autofree struct kvm_cpuid2 *c =
        BUILD_INTEL("host,-sse4.2,x2apic=off,-hypervisor,+ssse3,-avx512vl",
                    topo(1, 1, 1, 1), 0);
    const struct kvm_cpuid_entry2 *e = get(c, 1, 0);

    ck_assert_uint_eq(e->ecx & (1u << 20), 0);
    ck_assert_uint_eq(e->ecx & (1u << 21), 0);
    ck_assert_uint_eq(e->ecx & (1u << 31), 0);
    ck_assert_uint_ne(e->ecx & (1u << 9), 0);
    ck_assert_uint_eq(get(c, 7, 0)->ebx, 0xd19f47ab & ~(1u << 31));
}
END_TEST

START_TEST(test_minus_beats_setting)
{
    g_autofree struct kvm_cpuid2 *c = NULL;
    char *out;

    c = build("host,-x2apic,x2apic=on", intel_host, ARRAY_SIZE(intel_host),
              topo(1, 1, 1, 1), 0, &out);
    ck_assert_uint_eq(get(c, 1, 0)->ecx & (1u << 21), 0);
    ck_assert_ptr_nonnull(strstr(out, "Ambiguous CPU model string"));
    free(out);
}
END_TEST

START_TEST(test_unnamed_and_unmigratable_bits)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *all = BUILD_INTEL("host,migratable=off",
                                                    topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *tsc = BUILD_INTEL("host,+invtsc",
                                                    topo(1, 1, 1, 1), 0);

    /* bit 28 of 7.0 EDX has no name in QEMU 7.2, invtsc blocks migration */
    ck_assert_uint_eq(get(c, 7, 0)->edx, INTEL_7_EDX & ~(1u << 28));
    ck_assert_ptr_null(find(c, 0x80000007, 0));
    ck_assert_uint_eq(get(all, 7, 0)->edx, INTEL_7_EDX);
    ck_assert_uint_eq(get(all, 0x80000007, 0)->edx, 0x100);
    ck_assert_uint_eq(get(tsc, 0x80000007, 0)->edx, 0x100);
}
END_TEST

START_TEST(test_missing_feature_warns)
{
    g_autofree struct kvm_cpuid2 *c = NULL;
    g_autofree struct kvm_cpuid2 *quiet = NULL;
    char *out;

    c = build("host,+vmx,+svm,+avx", intel_host, ARRAY_SIZE(intel_host),
              topo(1, 1, 1, 1), 0, &out);
    ck_assert_str_eq(out,
        "qvmm: warning: host doesn't support requested feature: "
        "CPUID.01H:ECX.vmx [bit 5]\n"
        "qvmm: warning: host doesn't support requested feature: "
        "CPUID.80000001H:ECX.svm [bit 2]\n");
    free(out);
    ck_assert_uint_eq(get(c, 1, 0)->ecx & (1u << 5), 0);
    ck_assert_uint_eq(get(c, 0x80000001, 0)->ecx & (1u << 2), 0);

    quiet = build("host,+vmx,check=off", intel_host, ARRAY_SIZE(intel_host),
                  topo(1, 1, 1, 1), 0, &out);
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(test_enforce)
{
    g_autofree struct kvm_cpuid2 *sup = fake_table(intel_host,
                                                   ARRAY_SIZE(intel_host));
    CpuTopology t = topo(1, 1, 1, 1);
    struct kvm_cpuid2 *out = NULL;
    GError *err = NULL;
    X86CPUDef def;
    char *printed;

    parse_ok("host,+vmx,enforce", &def);
    capture_start();
    ck_assert(!x86_cpu_build_cpuid(&def, sup, &t, 0, &out, &err));
    printed = capture_end();
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err->message, "Host doesn't support requested features");
    ck_assert_str_eq(printed, "qvmm: warning: host doesn't support requested "
                     "feature: CPUID.01H:ECX.vmx [bit 5]\n");
    free(printed);
    g_error_free(err);
    x86_cpu_def_clear(&def);
}
END_TEST

START_TEST(test_dependency_warning)
{
    g_autofree struct kvm_cpuid2 *c = NULL;
    char *out;

    c = build("host,npt=on", intel_host, ARRAY_SIZE(intel_host),
              topo(1, 1, 1, 1), 0, &out);
    ck_assert_str_eq(out, "qvmm: warning: This feature depends on other "
                     "features that were not requested: "
                     "CPUID.8000000AH:EDX.npt [bit 0]\n");
    free(out);
    ck_assert_ptr_null(find(c, 0x8000000A, 0));
}
END_TEST

START_TEST(test_always_allowed)
{
    /* QEMU lets topoext and the KVM hint through whatever KVM says */
    g_autofree struct kvm_cpuid2 *c =
        BUILD_INTEL("host,+topoext,kvm-hint-dedicated=on",
                    topo(1, 1, 1, 1), 0);

    ck_assert_uint_ne(get(c, 0x80000001, 0)->ecx & (1u << 22), 0);
    ck_assert_uint_eq(get(c, 0x40000001, 0)->edx, 1);
}
END_TEST

START_TEST(test_xsave_components)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *nopku = BUILD_INTEL("host,-pku",
                                                      topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *noavx = BUILD_INTEL("host,-avx512f,-avx",
                                                      topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *none = BUILD_INTEL("host,-xsave",
                                                     topo(1, 1, 1, 1), 0);

    ck_assert_regs(get(c, 0xD, 0), 0x2e7, 0xa88, 0xa88, 0);
    ck_assert_uint_eq(get(c, 0xD, 1)->ebx, 576 + 0x100 + 0x40 + 0x200 +
                      0x400 + 8);
    ck_assert_uint_eq(get(c, 0xD, 1)->eax, 0xf);

    ck_assert_regs(get(nopku, 0xD, 0), 0xe7, 0xa80, 0xa80, 0);
    ck_assert_regs(get(nopku, 0xD, 9), 0, 0, 0, 0);

    ck_assert_regs(get(noavx, 0xD, 0), 0x203, 0xa88, 0xa88, 0);
    ck_assert_regs(get(noavx, 0xD, 2), 0, 0, 0, 0);
    ck_assert_regs(get(noavx, 0xD, 6), 0, 0, 0, 0);
    ck_assert_regs(get(noavx, 0xD, 9), 8, 0xa80, 0, 0);

    ck_assert_regs(get(none, 0xD, 0), 0, 0, 0, 0);
    ck_assert_regs(get(none, 0xD, 1), 0, 0, 0, 0);
    ck_assert_uint_eq(get(none, 1, 0)->ecx & (1u << 26), 0);
}
END_TEST

START_TEST(test_pmu_off)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *off = BUILD_INTEL("host,pmu=off",
                                                    topo(1, 1, 1, 1), 0);

    ck_assert_uint_eq(get(c, 0xA, 0)->eax, 0x07300404);
    ck_assert_uint_ne(get(c, 1, 0)->ecx & (1u << 15), 0);
    ck_assert_ptr_null(find(off, 0xA, 0));
    ck_assert_uint_eq(get(off, 1, 0)->ecx & (1u << 15), 0);
}
END_TEST

START_TEST(test_kvm_leaves)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *noclock = BUILD_INTEL("host,-kvmclock",
                                                        topo(1, 1, 1, 1), 0);
    g_autofree struct kvm_cpuid2 *hidden = BUILD_INTEL("host,kvm=off",
                                                       topo(1, 1, 1, 1), 0);
    const struct kvm_cpuid_entry2 *e = get(c, 0x40000000, 0);
    char sig[13] = { 0 };

    memcpy(sig, &e->ebx, 4);
    memcpy(sig + 4, &e->ecx, 4);
    memcpy(sig + 8, &e->edx, 4);
    ck_assert_str_eq(sig, "KVMKVMKVM");
    ck_assert_uint_eq(e->eax, 0x40000001);
    /* bit 10 (async PF via VM exit) has no name in QEMU 7.2 */
    ck_assert_regs(get(c, 0x40000001, 0), 0x01007afb, 0, 0, 0);
    ck_assert_uint_eq(get(noclock, 0x40000001, 0)->eax, 0x01007af2);
    ck_assert_uint_eq(count_leaf(hidden, 0x40000000), 0);
    ck_assert_uint_eq(count_leaf(hidden, 0x40000001), 0);
    /* the hypervisor bit stays */
    ck_assert_uint_ne(get(hidden, 1, 0)->ecx & (1u << 31), 0);
}
END_TEST

START_TEST(test_extended_leaves_intel)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(2, 1, 2, 2), 3);

    /* no CmpLegacy on Intel; syscall nx pdpe1gb rdtscp lm pass */
    ck_assert_regs(get(c, 0x80000001, 0), 0, 0, 0x121, 0x2c100800);
    ck_assert_regs(get(c, 0x80000008, 0), 0x302e, 0x200, 0x2003, 0);
    ck_assert_regs(get(c, 0x14, 0), 0, 0, 0, 0);
    ck_assert_ptr_null(find(c, 0x8000001E, 0));
    ck_assert_uint_eq(get(c, 5, 0)->ecx, 3);
}
END_TEST

START_TEST(test_table_is_clean)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_INTEL("host", topo(2, 2, 2, 2), 9);

    for (unsigned i = 0; i < c->nent; i++) {
        const struct kvm_cpuid_entry2 *a = &c->entries[i];

        ck_assert(a->eax || a->ebx || a->ecx || a->edx || (a->flags & SIG));
        for (unsigned j = i + 1; j < c->nent; j++) {
            const struct kvm_cpuid_entry2 *b = &c->entries[j];

            ck_assert_msg(a->function != b->function ||
                          ((a->flags & SIG) && a->index != b->index),
                          "duplicate %#x.%u", a->function, a->index);
        }
    }
}
END_TEST

START_TEST(test_bad_topology)
{
    g_autofree struct kvm_cpuid2 *sup = fake_table(intel_host,
                                                   ARRAY_SIZE(intel_host));
    CpuTopology t = topo(1, 1, 2, 1);
    struct kvm_cpuid2 *out = NULL;
    GError *err = NULL;
    X86CPUDef def;

    parse_ok("host", &def);
    ck_assert(!x86_cpu_build_cpuid(&def, sup, &t, 2, &out, &err));
    ck_assert_str_eq(err->message, "CPU index 2 is beyond maxcpus (2)");
    g_clear_error(&err);
    t.cores = 0;
    ck_assert(!x86_cpu_build_cpuid(&def, sup, &t, 0, &out, &err));
    g_clear_error(&err);
    ck_assert_ptr_null(out);
    x86_cpu_def_clear(&def);
}
END_TEST

/* ---- AMD, against QEMU 7.2's own table on the same host ---- */

START_TEST(test_amd_matches_qemu)
{
    /* -smp 12,sockets=2,dies=2,cores=3,threads=1: vCPU 4 has APIC id 5 */
    g_autofree struct kvm_cpuid2 *c = BUILD_AMD("host,-arch-capabilities",
                                                topo(2, 2, 3, 1), 4);

    ck_assert_regs(get(c, 1, 0), 0x00a10f11, 0x05030800, 0x81202000,
                   0x178bfbff);
    ck_assert_regs(get(c, 7, 0), 0, 0x01800002, 0x104, 0);
    ck_assert_regs(get(c, 7, 1), 0, 0, 0, 0);
    ck_assert_regs(get(c, 0xB, 0), 0, 1, 0x100, 5);
    ck_assert_regs(get(c, 0xB, 1), 3, 3, 0x201, 5);
    ck_assert_regs(get(c, 0xB, 2), 0, 0, 0x002, 5);
    ck_assert_regs(get(c, 0x80000001, 0), 0x00a10f11, 0, 0x393, 0x23d3fbff);
    ck_assert_regs(get(c, 0x80000008, 0), 0x3030, 5, 0x3002, 0);
    ck_assert_regs(get(c, 0x8000001E, 0), 5, 1, 0x101, 0);
    ck_assert_regs(get(c, 0x40000001, 0), 0x01007afb, 0, 0, 0);
    ck_assert_uint_eq(get(c, 5, 0)->ecx, 3);
    /* QEMU's own numbers for the sharing of each cache level */
    ck_assert_uint_eq(get(c, 0x8000001D, 0)->eax, 0x121);
    ck_assert_uint_eq(get(c, 0x8000001D, 3)->eax, 0x8163);
    /* no leaf 4 on AMD, no XSAVE on this host */
    ck_assert_regs(get(c, 4, 0), 0, 0, 0, 0);
    ck_assert_regs(get(c, 0xD, 0), 0, 0, 0, 0);
}
END_TEST

START_TEST(test_amd_threads)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_AMD("host", topo(1, 1, 2, 2), 3);

    /* APIC id 3: core 1 thread 1 */
    ck_assert_regs(get(c, 0x8000001E, 0), 3, 0x101, 0, 0);
    ck_assert_uint_eq(get(c, 0x80000008, 0)->ecx, 0x2003);
    ck_assert_uint_eq(get(c, 0x8000001D, 0)->eax, 0x4121);
    ck_assert_uint_eq(get(c, 0x8000001D, 3)->eax, 0xc163);
    ck_assert_uint_eq(get(c, 7, 0)->edx, 0x20000000);
    /* topoext needs asking for */
    ck_assert_uint_eq(get(c, 0x80000001, 0)->ecx & (1u << 22), 0);
}
END_TEST

START_TEST(test_amd_single)
{
    g_autofree struct kvm_cpuid2 *c = BUILD_AMD("max,+topoext",
                                                topo(1, 1, 1, 1), 0);

    ck_assert_regs(get(c, 0x80000001, 0), 0x00a10f11, 0, 0x400393,
                   0x23d3fbff);
    ck_assert_uint_eq(get(c, 0x80000008, 0)->ecx, 0);
    /* all zero for the only vCPU, so left out as QEMU does */
    ck_assert_ptr_null(find(c, 0x8000001E, 0));
    ck_assert_uint_eq(get(c, 1, 0)->ebx, 0x800);
}
END_TEST

static Suite *cpu_suite(void)
{
    Suite *s = suite_create("cpu");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_parse_models);
    tcase_add_test(tc, test_parse_bad_model);
    tcase_add_test(tc, test_parse_features);
    tcase_add_test(tc, test_parse_aliases);
    tcase_add_test(tc, test_parse_unknown);
    tcase_add_test(tc, test_parse_bad_values);
    tcase_add_test(tc, test_parse_unsupported);
    tcase_add_test(tc, test_parse_props);
    tcase_add_test(tc, test_parse_ambiguous);
    tcase_add_test(tc, test_cpu_list);
    suite_add_tcase(s, tc);

    tc = tcase_create("cpuid");
    tcase_add_test(tc, test_leaf1_topology);
    tcase_add_test(tc, test_leaf1_single_cpu);
    tcase_add_test(tc, test_leaf4_sharing);
    tcase_add_test(tc, test_leaf_0xb);
    tcase_add_test(tc, test_leaf_0x1f_with_dies);
    tcase_add_test(tc, test_feature_adjustments);
    tcase_add_test(tc, test_minus_beats_setting);
    tcase_add_test(tc, test_unnamed_and_unmigratable_bits);
    tcase_add_test(tc, test_missing_feature_warns);
    tcase_add_test(tc, test_enforce);
    tcase_add_test(tc, test_dependency_warning);
    tcase_add_test(tc, test_always_allowed);
    tcase_add_test(tc, test_xsave_components);
    tcase_add_test(tc, test_pmu_off);
    tcase_add_test(tc, test_kvm_leaves);
    tcase_add_test(tc, test_extended_leaves_intel);
    tcase_add_test(tc, test_table_is_clean);
    tcase_add_test(tc, test_bad_topology);
    tcase_add_test(tc, test_amd_matches_qemu);
    tcase_add_test(tc, test_amd_threads);
    tcase_add_test(tc, test_amd_single);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cpu_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
