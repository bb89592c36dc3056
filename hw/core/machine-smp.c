/*
 * -smp: QEMU 7.2 parses it with keyval (implied key "cpus"), merges
 * repeated -smp options, and applies the result as the machine's "smp"
 * property.  The arithmetic below is QEMU's, unsigned wrap-around and
 * integer division included, because scripts depend on which topology
 * a given -smp yields and on the exact error texts.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "hw/boards.h"

/* SMPConfiguration's members in QAPI order: errors follow this order. */
enum { SMP_CPUS, SMP_SOCKETS, SMP_DIES, SMP_CLUSTERS, SMP_CORES,
       SMP_THREADS, SMP_MAXCPUS, SMP_NKEYS };

static const char *const smp_keys[SMP_NKEYS] = {
    "cpus", "sockets", "dies", "clusters", "cores", "threads", "maxcpus",
};

typedef struct SMPConfig {
    bool has[SMP_NKEYS];
    int64_t val[SMP_NKEYS];
} SMPConfig;

static unsigned current_cpus = 1;

void machine_set_smp_cpus(unsigned cpus)
{
    current_cpus = cpus;
}

unsigned machine_smp_cpus(void)
{
    return current_cpus;
}

void machine_smp_default(CpuTopology *topo)
{
    *topo = (CpuTopology) {
        .cpus = 1, .sockets = 1, .dies = 1, .cores = 1, .threads = 1,
        .max_cpus = 1,
    };
}

void smp_print_help(void)
{
    /* qemu_opts_print_help() of "smp-opts": sorted, all numbers */
    static const char *const sorted[] = {
        "clusters", "cores", "cpus", "dies", "maxcpus", "sockets", "threads",
    };

    printf("smp-opts options:\n");
    for (size_t i = 0; i < ARRAY_SIZE(sorted); i++) {
        printf("  %s=<num>\n", sorted[i]);
    }
}

/* A later -smp overrides keys of an earlier one (QEMU's keyval_merge). */
static bool smp_merge(QOpts *acc, const QOpts *more, GError **errp)
{
    for (guint i = 0; i < more->items->len; i++) {
        QOpt *opt = g_ptr_array_index(more->items, i);

        for (guint j = 0; j < acc->items->len; j++) {
            QOpt *old = g_ptr_array_index(acc->items, j);
            size_t n = strlen(old->key), m = strlen(opt->key);

            if ((n < m && !strncmp(old->key, opt->key, n) &&
                 opt->key[n] == '.') ||
                (m < n && !strncmp(old->key, opt->key, m) &&
                 old->key[m] == '.')) {
                error_setg(errp, "Parameter 'smp.%.*s' used inconsistently",
                           (int)MIN(n, m), opt->key);
                return false;
            }
        }
        qopts_del(acc, opt->key);
        qopts_set(acc, opt->key, opt->value);
    }
    return true;
}

bool smp_parse_opts(QOpts **acc, const char *arg, bool *help, GError **errp)
{
    g_autoptr(QOpts) opts = qopts_parse_keyval(arg, "cpus", errp);

    if (!opts) {
        return false;
    }
    *help = opts->help;
    if (!*acc) {
        *acc = g_steal_pointer(&opts);
        return true;
    }
    return smp_merge(*acc, opts, errp);
}

/* The first dotted segment of @key, the name QEMU's visitor sees. */
static char *key_head(const char *key)
{
    return g_strndup(key, strcspn(key, "."));
}

static bool key_is_group_of(const char *key, const char *member)
{
    size_t n = strlen(member);

    return !strncmp(key, member, n) && key[n] == '.';
}

static bool smp_visit_member(const QOpts *smp, int k, SMPConfig *cfg,
                             GError **errp)
{
    const char *s = qopts_get(smp, smp_keys[k]);

    for (guint i = 0; i < smp->items->len; i++) {
        QOpt *opt = g_ptr_array_index(smp->items, i);

        if (key_is_group_of(opt->key, smp_keys[k])) {
            error_setg(errp, "Parameters 'smp.%s.*' are unexpected",
                       smp_keys[k]);
            return false;
        }
    }
    if (!s) {
        return true;
    }
    if (qemu_strtoi64(s, &cfg->val[k])) {
        error_setg(errp, "Parameter 'smp.%s' expects integer", smp_keys[k]);
        return false;
    }
    cfg->has[k] = true;
    return true;
}

/* What QEMU's QAPI visitor does with the merged dictionary. */
static bool smp_visit(const QOpts *smp, SMPConfig *cfg, GError **errp)
{
    memset(cfg, 0, sizeof(*cfg));
    if (!smp) {
        return true;
    }
    for (int k = 0; k < SMP_NKEYS; k++) {
        if (!smp_visit_member(smp, k, cfg, errp)) {
            return false;
        }
    }
    for (guint i = 0; i < smp->items->len; i++) {
        QOpt *opt = g_ptr_array_index(smp->items, i);
        g_autofree char *head = key_head(opt->key);

        if (!g_strv_contains(smp_keys, head)) {
            error_setg(errp, "Parameter 'smp.%s' is unexpected", head);
            return false;
        }
    }
    return true;
}

static char *hierarchy_to_string(const MachineSMPProps *mp,
                                 const CpuTopology *t, unsigned clusters)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "sockets (%u)", t->sockets);
    if (mp->dies_supported) {
        g_string_append_printf(s, " * dies (%u)", t->dies);
    }
    if (mp->clusters_supported) {
        g_string_append_printf(s, " * clusters (%u)", clusters);
    }
    g_string_append_printf(s, " * cores (%u) * threads (%u)",
                           t->cores, t->threads);
    return g_string_free(s, FALSE);
}

/* QEMU divides without checking; a zero divisor (wrapped product) would
 * crash it.  Yield 0 instead so the product check reports the mess. */
static unsigned divide(unsigned a, unsigned b)
{
    return b ? a / b : 0;
}

/* Fill the omitted counts; QEMU's order of preference. */
static void smp_compute(const MachineSMPProps *mp, unsigned cpus,
                        unsigned *maxcpus, CpuTopology *t, unsigned clusters)
{
    unsigned dc = t->dies * clusters;

    if (cpus == 0 && *maxcpus == 0) {
        t->sockets = t->sockets ? t->sockets : 1;
        t->cores = t->cores ? t->cores : 1;
        t->threads = t->threads ? t->threads : 1;
        return;
    }
    *maxcpus = *maxcpus ? *maxcpus : cpus;
    if (mp->prefer_sockets) {
        if (t->sockets == 0) {
            t->cores = t->cores ? t->cores : 1;
            t->threads = t->threads ? t->threads : 1;
            t->sockets = divide(*maxcpus, dc * t->cores * t->threads);
        } else if (t->cores == 0) {
            t->threads = t->threads ? t->threads : 1;
            t->cores = divide(*maxcpus, t->sockets * dc * t->threads);
        }
    } else {
        if (t->cores == 0) {
            t->sockets = t->sockets ? t->sockets : 1;
            t->threads = t->threads ? t->threads : 1;
            t->cores = divide(*maxcpus, t->sockets * dc * t->threads);
        } else if (t->sockets == 0) {
            t->threads = t->threads ? t->threads : 1;
            t->sockets = divide(*maxcpus, dc * t->cores * t->threads);
        }
    }
    if (t->threads == 0) {
        t->threads = divide(*maxcpus, t->sockets * dc * t->cores);
    }
}

static bool smp_check_unsupported(const MachineSMPProps *mp, unsigned dies,
                                  unsigned clusters, GError **errp)
{
    if (!mp->dies_supported && dies > 1) {
        error_setg(errp, "dies not supported by this machine's CPU topology");
        return false;
    }
    if (!mp->clusters_supported && clusters > 1) {
        error_setg(errp,
                   "clusters not supported by this machine's CPU topology");
        return false;
    }
    return true;
}

/* The sanity checks that follow the computation, in QEMU's order. */
static bool smp_check_result(const MachineSMPProps *mp, const CpuTopology *t,
                             unsigned clusters, GError **errp)
{
    unsigned product = t->sockets * t->dies * clusters * t->cores *
                       t->threads;
    g_autofree char *topo = hierarchy_to_string(mp, t, clusters);

    if (product != t->max_cpus) {
        error_setg(errp, "Invalid CPU topology: product of the hierarchy "
                   "must match maxcpus: %s != maxcpus (%u)",
                   topo, t->max_cpus);
        return false;
    }
    if (t->max_cpus < t->cpus) {
        error_setg(errp, "Invalid CPU topology: maxcpus must be equal to or "
                   "greater than smp: %s == maxcpus (%u) < smp_cpus (%u)",
                   topo, t->max_cpus, t->cpus);
        return false;
    }
    /* QEMU prints these unsigned counts with %d */
    if (t->cpus < mp->min_cpus) {
        error_setg(errp, "Invalid SMP CPUs %d. The min CPUs supported by "
                   "machine '%s' is %d", (int)t->cpus, mp->name,
                   (int)mp->min_cpus);
        return false;
    }
    if (t->max_cpus > mp->max_cpus) {
        error_setg(errp, "Invalid SMP CPUs %d. The max CPUs supported by "
                   "machine '%s' is %d", (int)t->max_cpus, mp->name,
                   (int)mp->max_cpus);
        return false;
    }
    return true;
}

static bool any_explicit_zero(const SMPConfig *cfg)
{
    for (int k = 0; k < SMP_NKEYS; k++) {
        if (cfg->has[k] && cfg->val[k] == 0) {
            return true;
        }
    }
    return false;
}

bool machine_smp_apply(const QOpts *smp, const MachineSMPProps *mp,
                       CpuTopology *topo, GError **errp)
{
    SMPConfig cfg;
    CpuTopology t;
    unsigned u[SMP_NKEYS];

    if (!smp_visit(smp, &cfg, errp)) {
        return false;
    }
    if (any_explicit_zero(&cfg)) {
        warn_report("Deprecated CPU topology (considered invalid): "
                    "CPU topology parameters must be greater than zero");
    }
    /* QEMU keeps the values as 'unsigned': larger ones wrap */
    for (int k = 0; k < SMP_NKEYS; k++) {
        u[k] = cfg.has[k] ? (unsigned)cfg.val[k] : 0;
    }
    if (!smp_check_unsupported(mp, u[SMP_DIES], u[SMP_CLUSTERS], errp)) {
        return false;
    }
    t = (CpuTopology) {
        .sockets = u[SMP_SOCKETS],
        .dies = u[SMP_DIES] ? u[SMP_DIES] : 1,
        .cores = u[SMP_CORES],
        .threads = u[SMP_THREADS],
    };
    u[SMP_CLUSTERS] = u[SMP_CLUSTERS] ? u[SMP_CLUSTERS] : 1;
    smp_compute(mp, u[SMP_CPUS], &u[SMP_MAXCPUS], &t, u[SMP_CLUSTERS]);
    t.max_cpus = u[SMP_MAXCPUS] ? u[SMP_MAXCPUS] :
                 t.sockets * t.dies * u[SMP_CLUSTERS] * t.cores * t.threads;
    t.cpus = u[SMP_CPUS] ? u[SMP_CPUS] : t.max_cpus;

    if (!smp_check_result(mp, &t, u[SMP_CLUSTERS], errp)) {
        return false;
    }
    *topo = t;
    return true;
}

bool machine_parse_smp(const char *arg, unsigned max_supported,
                       CpuTopology *topo, GError **errp)
{
    const MachineSMPProps pc = {
        .name = PC_MACHINE_NAME,
        .max_cpus = max_supported,
        .dies_supported = true,
    };
    g_autoptr(QOpts) smp = NULL;
    bool help = false;

    if (arg && !smp_parse_opts(&smp, arg, &help, errp)) {
        return false;
    }
    if (help) {
        error_setg(errp, "Help is not available for this option");
        return false;
    }
    return machine_smp_apply(smp, &pc, topo, errp);
}
