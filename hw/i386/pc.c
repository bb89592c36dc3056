/*
 * The pc machine: guest RAM around the PCI hole, the built-in ISA devices,
 * and what firmware would otherwise leave in memory (e820, ACPI tables)
 * before the kernel is entered directly.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/i386/machine.h"
#include "hw/i386/pc.h"
#include "hw/char/serial.h"
#include "hw/rtc/mc146818rtc.h"
#include "hw/input/i8042.h"
#include "hw/misc/ioport80.h"
#include "hw/misc/port61.h"
#include "hw/misc/reset-control.h"
#include "hw/pci/pci.h"
#include "hw/pci-host/i440fx.h"
#include "hw/acpi/pm.h"
#include "hw/qdev.h"
#include "sysemu/hostmem.h"
#include "sysemu/kvm.h"
#include "sysemu/reset.h"
#include "sysemu/runstate.h"

static struct {
    PCMachineConfig *cfg;
    uint8_t *ram;
    uint64_t below_4g, above_4g;
    E820Table e820;
    AcpiPMState *pm;
    PCIBus *pci;
    RTCState *rtc;
    BootInfo boot;
} pcms;

/* -machine memory-backend=ID, or a default built from -m/-mem-path. */
static HostMemoryBackend *ram_backend(const PCMachineConfig *cfg)
{
    if (cfg->ram_backend) {
        return cfg->ram_backend;
    }
    return hostmem_new(cfg->mem_path ? HOSTMEM_FILE : HOSTMEM_RAM, "pc.ram",
                       cfg->ram_size, cfg->mem_path, false,
                       cfg->mem_prealloc);
}

static bool map_ram(GError **errp)
{
    HostMemoryBackend *b = ram_backend(pcms.cfg);

    if (!hostmem_map(b, errp)) {
        return false;
    }
    b->used = true;
    pcms.ram = b->hva;
    pc_split_ram(pcms.cfg->ram_size, &pcms.below_4g, &pcms.above_4g);
    if (kvm_enabled() &&
        !kvm_set_user_memory(0, pcms.below_4g, pcms.ram, errp)) {
        return false;
    }
    guest_ram_add_block(0, pcms.below_4g, pcms.ram, "pc.ram");
    if (pcms.above_4g) {
        if (kvm_enabled() &&
            !kvm_set_user_memory(PC_4G, pcms.above_4g,
                                 pcms.ram + pcms.below_4g, errp)) {
            return false;
        }
        guest_ram_add_block(PC_4G, pcms.above_4g, pcms.ram + pcms.below_4g,
                            "pc.ram-above-4g");
    }
    return true;
}

/* i440FX and PIIX3, which decodes 0xcf9 inside the PCI host's ports. */
static bool create_pci_host(GError **errp)
{
    ResetControlState *rcr = reset_control_create(false, errp);

    if (!rcr) {
        return false;
    }
    pcms.pci = i440fx_create(pcms.below_4g, pcms.above_4g, rcr, errp);
    return pcms.pci != NULL;
}

static const Port61PitOps kvm_port61_ops = {
    .get_out2 = kvm_pit_out2,
    .set_gate2 = kvm_pit_set_gate2,
};

static bool create_isa_devices(GError **errp)
{
    PCMachineConfig *cfg = pcms.cfg;

    qdev_register_bus("isa.0", "isa");
    for (unsigned i = 0; i < cfg->nserial; i++) {
        if (!serial_isa_create(i, serial_isa_iobase(i), serial_isa_irq(i),
                               cfg->serial[i], errp)) {
            return false;
        }
    }
    pcms.rtc = mc146818_rtc_create(RTC_ISA_BASE, RTC_ISA_IRQ, errp);
    if (!pcms.rtc) {
        return false;
    }
    rtc_set_pc_memory_config(pcms.rtc, pcms.below_4g, pcms.above_4g,
                             cfg->topo.cpus);
    if (!i8042_create(errp) || !ioport80_create(errp)) {
        return false;
    }
    /* Channel 2 exists only in KVM's PIT; qtest has no PIT at all. */
    if (kvm_enabled() && !port61_create(&kvm_port61_ops, errp)) {
        return false;
    }
    pcms.pm = acpi_pm_create(PC_ACPI_PM_BASE, PC_ACPI_SCI_IRQ, errp);
    return pcms.pm != NULL;
}

bool pc_machine_init(PCMachineConfig *cfg, GError **errp)
{
    pcms.cfg = cfg;
    machine_set_smp_cpus(cfg->topo.cpus);
    if (!map_ram(errp)) {
        return false;
    }
    /* Under qtest there are no vCPUs: the test program plays the guest. */
    if (kvm_enabled() && !kvm_create_vcpus(&cfg->topo, &cfg->cpu, errp)) {
        return false;
    }
    return create_pci_host(errp) && create_isa_devices(errp);
}

/* Everything firmware and boot loader would put in RAM, then the CPUs. */
static bool load_guest(GError **errp)
{
    unsigned n = pcms.cfg->topo.cpus;
    g_autofree uint32_t *apic_ids = g_new(uint32_t, n);
    AcpiBuildConfig acpi = {
        .ncpus = n, .apic_ids = apic_ids, .nserial = pcms.cfg->nserial,
        .pci = true, .below_4g = pcms.below_4g, .above_4g = pcms.above_4g,
    };
    BootConfig boot = {
        .kernel_filename = pcms.cfg->kernel,
        .initrd_filename = pcms.cfg->initrd,
        .cmdline = pcms.cfg->cmdline,
        .e820 = &pcms.e820,
        .below_4g = pcms.below_4g,
    };

    for (unsigned i = 0; i < n; i++) {
        apic_ids[i] = x86_apicid_from_cpu_idx(&pcms.cfg->topo, i);
    }
    pc_build_e820(&pcms.e820, pcms.below_4g, pcms.above_4g);
    boot.rsdp_addr = acpi_build_tables(&acpi, errp);
    if (!boot.rsdp_addr) {
        return false;
    }
    if (boot.kernel_filename && !pc_load_kernel(&boot, &pcms.boot, errp)) {
        return false;
    }
    return !kvm_enabled() || kvm_reset_vcpus(&pcms.boot, errp);
}

bool pc_machine_done(GError **errp)
{
    pci_bus_machine_done(pcms.pci);
    return load_guest(errp);
}

void pc_machine_reset(void)
{
    g_autoptr(GError) err = NULL;

    qemu_devices_reset();
    qdev_reset_all();
    if (kvm_enabled()) {
        kvm_reset_irqchip();
    }
    if (!load_guest(&err)) {
        /* The files were readable at start-up; now they are not. */
        error_report_err(g_steal_pointer(&err));
        qemu_system_guest_error_request();
    }
}

void pc_machine_powerdown(void)
{
    acpi_pm_press_power_button(pcms.pm);
}
