/*
 * The QMP commands that need no block layer, with QEMU 7.2's reply
 * shapes (the QAPI schema in qapi/).  Every one reports or changes real state: what
 * qvmm cannot do is not registered, so it answers CommandNotFound.
 */
#include "qemu/osdep.h"
#include "block/block.h"
#include "qemu/error-report.h"
#include "monitor-internal.h"
#include "hw/pci/pci.h"
#include "sysemu/kvm.h"
#include "sysemu/runstate.h"

MonitorVMInfo monitor_vm_info;

JsonNode *qmp_object_node(JsonObject *o)
{
    JsonNode *n = json_node_init(json_node_alloc(), JSON_NODE_OBJECT);

    json_node_take_object(n, o);
    return n;
}

JsonNode *qmp_array_node(JsonArray *a)
{
    JsonNode *n = json_node_init(json_node_alloc(), JSON_NODE_ARRAY);

    json_node_take_array(n, a);
    return n;
}

/* ---- control ---- */

static JsonNode *qmp_capabilities(JsonObject *args, GError **errp)
{
    JsonArray *enable = args && json_object_has_member(args, "enable")
                        ? json_object_get_array_member(args, "enable") : NULL;

    for (guint i = 0; enable && i < json_array_get_length(enable); i++) {
        const char *cap = json_array_get_string_element(enable, i);
        if (strcmp(cap, "oob")) {
            /* QEMU's visitor names list elements this way. */
            error_setg(errp, "Parameter 'null' does not accept value '%s'",
                       cap);
            return NULL;
        }
    }
    if (qmp_cur_negotiated()) {
        g_set_error(errp, QVMM_ERROR, QVMM_ERROR_COMMAND_NOT_FOUND,
                    "Capabilities negotiation is already complete, command "
                    "ignored");
        return NULL;
    }
    if (enable && json_array_get_length(enable)) {
        error_setg(errp, "Capability oob not available");
        return NULL;
    }
    qmp_set_negotiated();
    return NULL;
}

static JsonNode *qmp_query_version(JsonObject *args, GError **errp)
{
    (void)args; (void)errp;
    return qmp_version_node();
}

static JsonNode *qmp_query_commands(JsonObject *args, GError **errp)
{
    (void)args; (void)errp;
    return qmp_command_list();
}

static JsonNode *qmp_query_target(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();

    (void)args; (void)errp;
    json_object_set_string_member(o, "arch", "x86_64");
    return qmp_object_node(o);
}

static JsonNode *qmp_query_name(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();

    (void)args; (void)errp;
    if (monitor_vm_info.name) {
        json_object_set_string_member(o, "name", monitor_vm_info.name);
    }
    return qmp_object_node(o);
}

static JsonNode *qmp_query_uuid(JsonObject *args, GError **errp)
{
    const uint8_t *u = monitor_vm_info.uuid;
    JsonObject *o = json_object_new();
    g_autofree char *s = g_strdup_printf(
        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
        "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
        u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);

    (void)args; (void)errp;
    json_object_set_string_member(o, "UUID", s);
    return qmp_object_node(o);
}

JsonNode *qmp_query_kvm(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();

    (void)args; (void)errp;
    json_object_set_boolean_member(o, "enabled", kvm_enabled());
    /* QEMU: KVM support is compiled in, whether or not it is used. */
    json_object_set_boolean_member(o, "present", true);
    return qmp_object_node(o);
}

JsonNode *qmp_query_status(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();

    (void)args; (void)errp;
    json_object_set_string_member(o, "status", runstate_name(runstate_get()));
    json_object_set_boolean_member(o, "singlestep", false);
    json_object_set_boolean_member(o, "running", runstate_is_running());
    return qmp_object_node(o);
}

/* ---- CPUs ---- */

static JsonObject *cpu_props(unsigned index)
{
    const CpuTopology *topo = &monitor_vm_info.topo;
    JsonObject *p = json_object_new();
    X86CPUTopoIDs ids;

    x86_topo_ids_from_idx(topo, index, &ids);
    json_object_set_int_member(p, "core-id", ids.core_id);
    json_object_set_int_member(p, "thread-id", ids.smt_id);
    if (topo->dies > 1) {
        json_object_set_int_member(p, "die-id", ids.die_id);
    }
    json_object_set_int_member(p, "socket-id", ids.pkg_id);
    return p;
}

/* qvmm has no QOM tree; the paths follow QEMU's form, one per vCPU. */
static char *cpu_qom_path(unsigned index)
{
    return g_strdup_printf("/machine/unattached/device[%u]", index);
}

JsonNode *qmp_query_cpus_fast(JsonObject *args, GError **errp)
{
    JsonArray *arr = json_array_new();
    unsigned n = kvm_enabled() ? kvm_vcpu_count() : 0;

    (void)args; (void)errp;
    for (unsigned i = 0; i < n; i++) {
        JsonObject *o = json_object_new();
        g_autofree char *path = cpu_qom_path(i);
        int tid = 0;
        uint32_t apic_id;

        kvm_vcpu_info(i, &tid, &apic_id);
        json_object_set_int_member(o, "thread-id", tid);
        json_object_set_object_member(o, "props", cpu_props(i));
        json_object_set_string_member(o, "qom-path", path);
        json_object_set_int_member(o, "cpu-index", i);
        json_object_set_string_member(o, "target", "x86_64");
        json_array_add_object_element(arr, o);
    }
    return qmp_array_node(arr);
}

/* Every possible CPU slot, the last first, as QEMU lists them. */
static JsonNode *qmp_query_hotpluggable_cpus(JsonObject *args, GError **errp)
{
    const CpuTopology *topo = &monitor_vm_info.topo;
    JsonArray *arr = json_array_new();

    (void)args; (void)errp;
    for (unsigned i = topo->max_cpus; i-- > 0;) {
        JsonObject *o = json_object_new();

        json_object_set_object_member(o, "props", cpu_props(i));
        json_object_set_int_member(o, "vcpus-count", 1);
        if (i < topo->cpus) {
            g_autofree char *path = cpu_qom_path(i);
            json_object_set_string_member(o, "qom-path", path);
        }
        json_object_set_string_member(o, "type", monitor_vm_info.cpu_type);
        json_array_add_object_element(arr, o);
    }
    return qmp_array_node(arr);
}

static JsonNode *qmp_query_machines(JsonObject *args, GError **errp)
{
    JsonArray *arr = json_array_new();
    JsonObject *o = json_object_new();

    (void)args; (void)errp;
    /* CPU hot-plug (device_add of a CPU) is not implemented: false. */
    json_object_set_boolean_member(o, "hotpluggable-cpus", false);
    json_object_set_string_member(o, "name", PC_MACHINE_NAME);
    json_object_set_boolean_member(o, "numa-mem-supported", false);
    json_object_set_string_member(o, "default-cpu-type", "host-x86_64-cpu");
    json_object_set_boolean_member(o, "is-default", true);
    json_object_set_int_member(o, "cpu-max", PC_MACHINE_MAX_CPUS);
    json_object_set_boolean_member(o, "deprecated", false);
    json_object_set_string_member(o, "default-ram-id", "pc.ram");
    json_object_set_string_member(o, "alias", "pc");
    json_array_add_object_element(arr, o);
    return qmp_array_node(arr);
}

/* ---- chardevs ---- */

static void add_chardev(Chardev *chr, void *opaque)
{
    JsonObject *o = json_object_new();

    json_object_set_boolean_member(o, "frontend-open",
                                   qemu_chr_fe_is_open(chr));
    json_object_set_string_member(o, "filename", qemu_chr_filename(chr));
    json_object_set_string_member(o, "label", qemu_chr_id(chr));
    json_array_add_object_element(opaque, o);
}

static JsonNode *qmp_query_chardev(JsonObject *args, GError **errp)
{
    JsonArray *arr = json_array_new();

    (void)args; (void)errp;
    qemu_chr_foreach(add_chardev, arr);
    return qmp_array_node(arr);
}

/* ---- PCI ---- */

/* QEMU's names for the classes (pci_class_descriptions), those a pc
 * machine with virtio devices shows. */
static const char *pci_class_desc(uint16_t class)
{
    static const struct { uint16_t class; const char *desc; } names[] = {
        { 0x0100, "SCSI controller" }, { 0x0101, "IDE controller" },
        { 0x0106, "SATA controller" }, { 0x0180, "Storage controller" },
        { 0x0200, "Ethernet controller" }, { 0x0280, "Network controller" },
        { 0x0300, "VGA controller" }, { 0x0600, "Host bridge" },
        { 0x0601, "ISA bridge" }, { 0x0604, "PCI bridge" },
        { 0x0680, "Bridge" }, { 0x0780, "Communication controller" },
        { 0x0880, "System peripheral" }, { 0x0c03, "USB controller" },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(names); i++) {
        if (names[i].class == class && names[i].desc) {
            return names[i].desc;
        }
    }
    return NULL;
}

static JsonObject *pci_region(const PCIBar *bar, unsigned index)
{
    JsonObject *r = json_object_new();

    json_object_set_int_member(r, "bar", index);
    json_object_set_string_member(r, "type",
                                  bar->type == PCI_BAR_IO ? "io" : "memory");
    /* -1 while the BAR does not decode, as QEMU reports it. */
    json_object_set_int_member(r, "address",
                               bar->region ? (gint64)bar->addr : -1);
    json_object_set_int_member(r, "size", bar->size);
    if (bar->type != PCI_BAR_IO) {
        json_object_set_boolean_member(r, "prefetch",
                                       bar->type == PCI_BAR_MEM64_PREF);
        json_object_set_boolean_member(r, "mem_type_64",
                                       bar->type == PCI_BAR_MEM64_PREF);
    }
    return r;
}

static JsonObject *pci_device_info(PCIDevice *d)
{
    JsonObject *o = json_object_new(), *ci = json_object_new();
    JsonObject *id = json_object_new();
    JsonArray *regions = json_array_new();
    uint16_t class = pci_get_word(d->config + PCI_CLASS_DEVICE);
    uint8_t pin = d->config[PCI_INTERRUPT_PIN];
    const char *desc = pci_class_desc(class);

    json_object_set_int_member(o, "bus", 0);
    json_object_set_int_member(o, "slot", PCI_SLOT(d->devfn));
    json_object_set_int_member(o, "function", PCI_FUNC(d->devfn));
    if (desc) {
        json_object_set_string_member(ci, "desc", desc);
    }
    json_object_set_int_member(ci, "class", class);
    json_object_set_object_member(o, "class_info", ci);
    json_object_set_int_member(id, "device",
                               pci_get_word(d->config + PCI_DEVICE_ID));
    json_object_set_int_member(id, "vendor",
                               pci_get_word(d->config + PCI_VENDOR_ID));
    json_object_set_int_member(id, "subsystem",
                               pci_get_word(d->config + PCI_SUBSYSTEM_ID));
    json_object_set_int_member(id, "subsystem-vendor",
                            pci_get_word(d->config + PCI_SUBSYSTEM_VENDOR_ID));
    json_object_set_object_member(o, "id", id);
    if (pin) {
        json_object_set_int_member(o, "irq", d->config[PCI_INTERRUPT_LINE]);
    }
    json_object_set_int_member(o, "irq_pin", pin);
    json_object_set_string_member(o, "qdev_id", d->qdev.id ? d->qdev.id : "");
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        if (d->bars[i].type != PCI_BAR_NONE && d->bars[i].size) {
            json_array_add_object_element(regions,
                                          pci_region(&d->bars[i], i));
        }
    }
    json_object_set_array_member(o, "regions", regions);
    return o;
}

JsonNode *qmp_query_pci(JsonObject *args, GError **errp)
{
    JsonArray *buses = json_array_new();
    PCIBus *bus = pci_bus_get();

    (void)args; (void)errp;
    if (bus) {
        JsonObject *b = json_object_new();
        JsonArray *devs = json_array_new();

        for (int devfn = 0; devfn < PCI_DEVFN_MAX; devfn++) {
            PCIDevice *d = pci_bus_device(bus, devfn);
            if (d) {
                json_array_add_object_element(devs, pci_device_info(d));
            }
        }
        json_object_set_int_member(b, "bus", 0);
        json_object_set_array_member(b, "devices", devs);
        json_array_add_object_element(buses, b);
    }
    return qmp_array_node(buses);
}

/* ---- running ---- */

JsonNode *qmp_stop(JsonObject *args, GError **errp)
{
    (void)args; (void)errp;
    vm_stop(RUN_STATE_PAUSED);
    return NULL;
}

JsonNode *qmp_cont(JsonObject *args, GError **errp)
{
    (void)args;
    if (runstate_needs_reset()) {
        error_setg(errp, "Resetting the Virtual Machine is required");
        return NULL;
    }
    blk_iostatus_reset_all();
    vm_start();
    return NULL;
}

JsonNode *qmp_system_reset(JsonObject *args, GError **errp)
{
    (void)args; (void)errp;
    qemu_system_reset_request(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    return NULL;
}

JsonNode *qmp_system_powerdown(JsonObject *args, GError **errp)
{
    (void)args; (void)errp;
    qemu_system_powerdown_request();
    return NULL;
}

JsonNode *qmp_quit(JsonObject *args, GError **errp)
{
    (void)args; (void)errp;
    qemu_system_quit_request();
    return NULL;
}

void qmp_register_builtin_commands(void)
{
    static const QmpArg capabilities_args[] = {
        { "enable", QMP_ARG_STR_LIST, true }, { NULL, 0, false },
    };

    qmp_register_command("qmp_capabilities", qmp_capabilities,
                         capabilities_args);
    qmp_register_command("query-version", qmp_query_version, NULL);
    qmp_register_command("query-commands", qmp_query_commands, NULL);
    qmp_register_command("query-target", qmp_query_target, NULL);
    qmp_register_command("query-name", qmp_query_name, NULL);
    qmp_register_command("query-uuid", qmp_query_uuid, NULL);
    qmp_register_command("query-kvm", qmp_query_kvm, NULL);
    qmp_register_command("query-status", qmp_query_status, NULL);
    qmp_register_command("query-cpus-fast", qmp_query_cpus_fast, NULL);
    qmp_register_command("query-hotpluggable-cpus",
                         qmp_query_hotpluggable_cpus, NULL);
    qmp_register_command("query-machines", qmp_query_machines, NULL);
    qmp_register_command("query-chardev", qmp_query_chardev, NULL);
    qmp_register_command("query-pci", qmp_query_pci, NULL);
    qmp_register_command("stop", qmp_stop, NULL);
    qmp_register_command("cont", qmp_cont, NULL);
    qmp_register_command("system_reset", qmp_system_reset, NULL);
    qmp_register_command("system_powerdown", qmp_system_powerdown, NULL);
    qmp_register_command("quit", qmp_quit, NULL);
}
