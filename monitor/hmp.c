/*
 * human-monitor-command: the few HMP commands management tools send
 * through QMP, printing what QEMU 7.2's HMP prints.  Each is a thin
 * layer over the QMP command of the same meaning.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "monitor-internal.h"
#include "net/slirp.h"
#include "sysemu/kvm.h"

typedef struct HmpCmd {
    const char *name;           /* "stop|s": the names it answers to */
    const char *help;           /* for "info" with no argument */
    void (*fn)(GString *out, int cpu);
} HmpCmd;

static void hmp_info_status(GString *out, int cpu)
{
    g_autoptr(JsonNode) n = qmp_query_status(NULL, NULL);
    JsonObject *o = json_node_get_object(n);
    const char *status = json_object_get_string_member(o, "status");
    bool running = json_object_get_boolean_member(o, "running");

    (void)cpu;
    g_string_append_printf(out, "VM status: %s",
                           running ? "running" : "paused");
    if (!running && strcmp(status, "paused")) {
        g_string_append_printf(out, " (%s)", status);
    }
    g_string_append_c(out, '\n');
}

static void hmp_info_version(GString *out, int cpu)
{
    (void)cpu;
    g_string_append_printf(out, "%d.%d.%d%s\n", QVMM_QEMU_MAJOR,
                           QVMM_QEMU_MINOR, QVMM_QEMU_MICRO,
                           "qvmm " QVMM_VERSION);
}

static void hmp_info_kvm(GString *out, int cpu)
{
    (void)cpu;
    g_string_append_printf(out, "kvm support: %s\n",
                           kvm_enabled() ? "enabled" : "disabled");
}

static void hmp_info_cpus(GString *out, int cpu)
{
    g_autoptr(JsonNode) n = qmp_query_cpus_fast(NULL, NULL);
    JsonArray *a = json_node_get_array(n);

    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *o = json_array_get_object_element(a, i);
        gint64 index = json_object_get_int_member(o, "cpu-index");

        g_string_append_printf(out, "%c CPU #%" G_GINT64_FORMAT
                               ": thread_id=%" G_GINT64_FORMAT "\n",
                               index == cpu ? '*' : ' ', index,
                               json_object_get_int_member(o, "thread-id"));
    }
}

static void hmp_pci_region(GString *out, JsonObject *r)
{
    gint64 bar = json_object_get_int_member(r, "bar");
    guint64 addr = json_object_get_int_member(r, "address");
    guint64 last = addr + json_object_get_int_member(r, "size") - 1;

    if (!strcmp(json_object_get_string_member(r, "type"), "io")) {
        g_string_append_printf(out, "      BAR%" G_GINT64_FORMAT ": I/O at "
                               "0x%04" G_GINT64_MODIFIER "x [0x%04"
                               G_GINT64_MODIFIER "x].\n", bar, addr, last);
        return;
    }
    g_string_append_printf(out, "      BAR%" G_GINT64_FORMAT ": %d bit%s "
        "memory at 0x%08" G_GINT64_MODIFIER "x [0x%08" G_GINT64_MODIFIER
        "x].\n", bar,
        json_object_get_boolean_member(r, "mem_type_64") ? 64 : 32,
        json_object_get_boolean_member(r, "prefetch") ? " prefetchable" : "",
        addr, last);
}

static void hmp_pci_device(GString *out, JsonObject *d)
{
    JsonObject *ci = json_object_get_object_member(d, "class_info");
    JsonObject *id = json_object_get_object_member(d, "id");
    JsonArray *regions = json_object_get_array_member(d, "regions");
    gint64 pin = json_object_get_int_member(d, "irq_pin");

    g_string_append_printf(out, "  Bus %2d, device %3" G_GINT64_FORMAT
                           ", function %" G_GINT64_FORMAT ":\n    ", 0,
                           json_object_get_int_member(d, "slot"),
                           json_object_get_int_member(d, "function"));
    if (json_object_has_member(ci, "desc")) {
        g_string_append(out, json_object_get_string_member(ci, "desc"));
    } else {
        g_string_append_printf(out, "Class %04" G_GINT64_MODIFIER "x",
                               json_object_get_int_member(ci, "class"));
    }
    g_string_append_printf(out, ": PCI device %04x:%04x\n"
                           "      PCI subsystem %04x:%04x\n",
        (unsigned)json_object_get_int_member(id, "vendor"),
        (unsigned)json_object_get_int_member(id, "device"),
        (unsigned)json_object_get_int_member(id, "subsystem-vendor"),
        (unsigned)json_object_get_int_member(id, "subsystem"));
    if (pin) {
        g_string_append_printf(out, "      IRQ %" G_GINT64_FORMAT ", pin %c\n",
                               json_object_get_int_member(d, "irq"),
                               (char)('A' + pin - 1));
    }
    for (guint i = 0; i < json_array_get_length(regions); i++) {
        hmp_pci_region(out, json_array_get_object_element(regions, i));
    }
    g_string_append_printf(out, "      id \"%s\"\n",
                           json_object_get_string_member(d, "qdev_id"));
}

static void hmp_info_pci(GString *out, int cpu)
{
    g_autoptr(JsonNode) n = qmp_query_pci(NULL, NULL);
    JsonArray *buses = json_node_get_array(n);

    (void)cpu;
    for (guint b = 0; b < json_array_get_length(buses); b++) {
        JsonArray *devs = json_object_get_array_member(
            json_array_get_object_element(buses, b), "devices");
        for (guint i = 0; i < json_array_get_length(devs); i++) {
            hmp_pci_device(out, json_array_get_object_element(devs, i));
        }
    }
}

/* A QMP command's effect; an error is printed as HMP prints it. */
static void hmp_run_qmp(GString *out, QmpCommandFunc *fn)
{
    g_autoptr(GError) err = NULL;
    JsonNode *ret = fn(NULL, &err);

    if (ret) {
        json_node_unref(ret);
    }
    if (err) {
        g_string_append_printf(out, "Error: %s\n", err->message);
    }
}

static void hmp_stop(GString *o, int c) { (void)c; hmp_run_qmp(o, qmp_stop); }
static void hmp_cont(GString *o, int c) { (void)c; hmp_run_qmp(o, qmp_cont); }
static void hmp_quit(GString *o, int c) { (void)c; hmp_run_qmp(o, qmp_quit); }
static void hmp_system_reset(GString *o, int c)
{
    (void)c;
    hmp_run_qmp(o, qmp_system_reset);
}
static void hmp_system_powerdown(GString *o, int c)
{
    (void)c;
    hmp_run_qmp(o, qmp_system_powerdown);
}

static const HmpCmd info_cmds[] = {
    { "block", "show info of one block device or all block devices "
      "(-n: show named nodes; -v: show details)", hmp_info_block },
    { "cpus", "show infos for each CPU", hmp_info_cpus },
    { "kvm", "show KVM information", hmp_info_kvm },
    { "network", "show the network state", hmp_info_network },
    { "pci", "show PCI info", hmp_info_pci },
    { "status", "show the current VM status (running|paused)",
      hmp_info_status },
    { "usernet", "show user network stack connection states",
      hmp_info_usernet },
    { "version", "show the version of QEMU", hmp_info_version },
    { NULL, NULL, NULL },
};

static const HmpCmd top_cmds[] = {
    { "cont|c", NULL, hmp_cont },
    { "quit|q", NULL, hmp_quit },
    { "stop|s", NULL, hmp_stop },
    { "system_powerdown", NULL, hmp_system_powerdown },
    { "system_reset", NULL, hmp_system_reset },
    { NULL, NULL, NULL },
};

static const HmpCmd *hmp_find(const HmpCmd *table, const char *word)
{
    for (; table->name; table++) {
        g_auto(GStrv) names = g_strsplit(table->name, "|", -1);
        if (g_strv_contains((const char *const *)names, word)) {
            return table;
        }
    }
    return NULL;
}

/* Split off the next word of *@line (HMP words are space-separated). */
static char *next_word(const char **line)
{
    const char *p = *line + strspn(*line, " \t"), *end;

    end = p + strcspn(p, " \t");
    *line = end;
    return end > p ? g_strndup(p, end - p) : NULL;
}

static bool only_blanks(const char *p)
{
    return p[strspn(p, " \t")] == '\0';
}

static void hmp_dispatch(GString *out, const char *line, int cpu)
{
    const char *p = line;
    g_autofree char *cmd = next_word(&p), *sub = NULL;
    const HmpCmd *c;

    if (!cmd) {
        return;
    }
    if (strcmp(cmd, "info") && strcmp(cmd, "i")) {
        c = hmp_find(top_cmds, cmd);
        if (!c) {
            g_string_append_printf(out, "unknown command: '%s'\n", cmd);
        } else if (!only_blanks(p)) {
            g_string_append_printf(out, "%s: extraneous characters at the "
                                   "end of line\nTry \"help %s\" for more "
                                   "information\n", c->name, cmd);
        } else {
            c->fn(out, cpu);
        }
        return;
    }
    sub = next_word(&p);
    if (!sub) {
        for (c = info_cmds; c->name; c++) {
            g_string_append_printf(out, "info %s  -- %s\n", c->name, c->help);
        }
        return;
    }
    c = hmp_find(info_cmds, sub);
    if (!c) {
        g_string_append_printf(out, "unknown command: 'info %s'\n", sub);
    } else if (!only_blanks(p)) {
        g_string_append_printf(out, "%s: extraneous characters at the end "
                               "of line\nTry \"help info %s\" for more "
                               "information\n", c->name, sub);
    } else {
        c->fn(out, cpu);
    }
}

static JsonNode *qmp_human_monitor_command(JsonObject *args, GError **errp)
{
    const char *line = json_object_get_string_member(args, "command-line");
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) crlf = g_string_new(NULL);
    gint64 cpu = 0;

    if (json_object_has_member(args, "cpu-index")) {
        unsigned ncpus = kvm_enabled() ? kvm_vcpu_count() : 0;

        cpu = json_object_get_int_member(args, "cpu-index");
        if (cpu < 0 || cpu >= ncpus) {
            error_setg(errp, "Parameter 'cpu-index' expects a CPU number");
            return NULL;
        }
    }
    hmp_dispatch(out, line, cpu);
    /* HMP output lines end in CRLF, as QEMU's monitor writes them. */
    for (const char *p = out->str; *p; p++) {
        if (*p == '\n') {
            g_string_append_c(crlf, '\r');
        }
        g_string_append_c(crlf, *p);
    }
    return json_node_init_string(json_node_alloc(), crlf->str);
}

void hmp_register_command(void)
{
    static const QmpArg args[] = {
        { "command-line", QMP_ARG_STR, false },
        { "cpu-index", QMP_ARG_INT, true },
        { NULL, 0, false },
    };

    qmp_register_command("human-monitor-command", qmp_human_monitor_command,
                         args);
}
