/*
 * Machine-wide CPU topology: -smp parsing with QEMU 7.2's rules, and the
 * x86 APIC id layout that follows from it.
 */
#ifndef HW_BOARDS_H
#define HW_BOARDS_H

#include "qemu/osdep.h"
#include "qemu/option.h"

/*
 * The resolved topology.  @cores is per die and @threads per core, as
 * in QEMU, so a package holds dies * cores * threads logical CPUs.
 */
typedef struct CpuTopology {
    unsigned cpus;       /* vCPUs present at start-up */
    unsigned sockets;
    unsigned dies;
    unsigned cores;
    unsigned threads;
    unsigned max_cpus;   /* present plus hot-pluggable */
} CpuTopology;

/* What a machine type says about -smp (QEMU's MachineClass fields). */
typedef struct MachineSMPProps {
    const char *name;          /* full type name, as errors print it */
    unsigned min_cpus;         /* 0: no lower bound */
    unsigned max_cpus;
    bool prefer_sockets;       /* machine types older than 6.2 */
    bool dies_supported;
    bool clusters_supported;
} MachineSMPProps;

/* The pc machine QEMU 7.2 resolves "-M pc" to. */
#define PC_MACHINE_NAME "pc-i440fx-7.2"
#define PC_MACHINE_MAX_CPUS 255

/*
 * The -smp default and QEMU's behaviour for an absent -smp: one CPU.
 */
void machine_smp_default(CpuTopology *topo);
/* The running machine's vCPU count at start-up (1 before one exists),
 * for devices whose defaults follow it (virtio-blk's num-queues). */
void machine_set_smp_cpus(unsigned cpus);
unsigned machine_smp_cpus(void);

/*
 * Step 1, while reading the command line: merge one -smp argument into
 * *@acc (created on first use; free with qopts_free).  Errors are
 * keyval syntax errors, which QEMU reports with the "-smp ARG:" location
 * set.  *@help is set for "help" or "?"; print smp_print_help() then.
 */
bool smp_parse_opts(QOpts **acc, const char *arg, bool *help, GError **errp);
void smp_print_help(void);

/*
 * Step 2, when the machine is built: resolve the merged options (NULL:
 * no -smp given) into @topo.  QEMU reports these errors, and the
 * deprecation warning for zero values, with no location prefix.
 */
bool machine_smp_apply(const QOpts *smp, const MachineSMPProps *mp,
                       CpuTopology *topo, GError **errp);

/*
 * Both steps at once for the pc machine ("pc-i440fx-7.2") limited to
 * @max_supported CPUs.  @arg NULL means no -smp.  "help" is an error
 * here ("Help is not available for this option").
 */
bool machine_parse_smp(const char *arg, unsigned max_supported,
                       CpuTopology *topo, GError **errp);

/*
 * x86 APIC ids.  Each level (thread, core, die) gets the bits needed to
 * count its members, rounded up to a power of two; the package number
 * takes the rest.  So 3 cores per die leave a hole at core id 3.
 */
typedef struct X86CPUTopoIDs {
    unsigned pkg_id;
    unsigned die_id;
    unsigned core_id;
    unsigned smt_id;
} X86CPUTopoIDs;

static inline unsigned apicid_bitwidth_for_count(unsigned count)
{
    return count > 1 ? 32 - __builtin_clz(count - 1) : 0;
}

static inline unsigned x86_apicid_core_offset(const CpuTopology *topo)
{
    return apicid_bitwidth_for_count(topo->threads);
}

static inline unsigned x86_apicid_die_offset(const CpuTopology *topo)
{
    return x86_apicid_core_offset(topo) +
           apicid_bitwidth_for_count(topo->cores);
}

static inline unsigned x86_apicid_pkg_offset(const CpuTopology *topo)
{
    return x86_apicid_die_offset(topo) +
           apicid_bitwidth_for_count(topo->dies);
}

static inline void x86_topo_ids_from_idx(const CpuTopology *topo,
                                         unsigned cpu_index,
                                         X86CPUTopoIDs *ids)
{
    unsigned threads = topo->threads, cores = topo->cores;

    ids->pkg_id = cpu_index / (topo->dies * cores * threads);
    ids->die_id = cpu_index / (cores * threads) % topo->dies;
    ids->core_id = cpu_index / threads % cores;
    ids->smt_id = cpu_index % threads;
}

static inline void x86_topo_ids_from_apicid(const CpuTopology *topo,
                                            unsigned apic_id,
                                            X86CPUTopoIDs *ids)
{
    unsigned core_off = x86_apicid_core_offset(topo);
    unsigned die_off = x86_apicid_die_offset(topo);
    unsigned pkg_off = x86_apicid_pkg_offset(topo);

    ids->smt_id = apic_id & ((1u << core_off) - 1);
    ids->core_id = (apic_id >> core_off) & ((1u << (die_off - core_off)) - 1);
    ids->die_id = (apic_id >> die_off) & ((1u << (pkg_off - die_off)) - 1);
    ids->pkg_id = apic_id >> pkg_off;
}

static inline unsigned x86_apicid_from_topo_ids(const CpuTopology *topo,
                                                const X86CPUTopoIDs *ids)
{
    return (ids->pkg_id << x86_apicid_pkg_offset(topo)) |
           (ids->die_id << x86_apicid_die_offset(topo)) |
           (ids->core_id << x86_apicid_core_offset(topo)) |
           ids->smt_id;
}

/* APIC id of the vCPU with index @cpu_index (0 .. max_cpus - 1). */
static inline unsigned x86_apicid_from_cpu_idx(const CpuTopology *topo,
                                               unsigned cpu_index)
{
    X86CPUTopoIDs ids;

    x86_topo_ids_from_idx(topo, cpu_index, &ids);
    return x86_apicid_from_topo_ids(topo, &ids);
}

#endif
