/*
 * i440FX host bridge and PIIX3 ISA bridge.
 *
 * Their registers are QEMU's reset values (read back from QEMU's pc under
 * -S), except PIIX3's PIRQ route control, which holds what SeaBIOS
 * programs (PIRQA-D on IRQ 10, 10, 11, 11): qvmm stands in for the
 * firmware, and the routing is fixed to match the DSDT's _PRT.
 */
#include "qemu/osdep.h"
#include "hw/qdev.h"
#include "hw/pci/pci.h"
#include "hw/pci-host/i440fx.h"

#define I440FX_DRAMC        0x57
#define I440FX_SMRAM        0x72

#define PIIX_IORT           0x4c
#define PIIX_XBCS           0x4e
#define PIIX_TOM            0x69
#define PIIX_MBIRQ0         0x70
#define PIIX_MBDMA          0x76
#define PIIX_PCSC           0x78
#define PIIX_SMICNTL        0xa0
#define PIIX_SMIREQ         0xa8

typedef struct PCIBridgeState {
    PCIDevice pci;
} PCIBridgeState;

static bool i440fx_realize(DeviceState *dev, GError **errp)
{
    PCIDevice *d = (PCIDevice *)dev;

    pci_config_set_ids(d, PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_82441,
                       0x02, PCI_CLASS_BRIDGE_HOST << 8);
    d->config[I440FX_DRAMC] = 0x10;
    d->config[I440FX_SMRAM] = 0x02;
    return pci_register_device(pci_bus_get(), d, "i440FX", PCI_DEVFN(0, 0),
                               errp);
}

static bool piix3_realize(DeviceState *dev, GError **errp)
{
    PCIDevice *d = (PCIDevice *)dev;
    static const uint8_t pirq_irq[4] = { 10, 10, 11, 11 };

    pci_config_set_ids(d, PCI_VENDOR_ID_INTEL, PCI_DEVICE_ID_INTEL_82371SB_0,
                       0x00, PCI_CLASS_BRIDGE_ISA << 8);
    pci_set_word(d->config + PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
    d->config[PCI_HEADER_TYPE] = PCI_HEADER_TYPE_MULTI_FUNCTION;
    d->config[PIIX_IORT] = 0x4d;
    d->config[PIIX_XBCS] = 0x03;
    d->config[PIIX_TOM] = 0x02;
    d->config[PIIX_MBIRQ0] = 0x80;
    d->config[PIIX_MBDMA] = 0x0c;
    d->config[PIIX_MBDMA + 1] = 0x0c;
    d->config[PIIX_PCSC] = 0x02;
    d->config[PIIX_SMICNTL] = 0x08;
    d->config[PIIX_SMIREQ] = 0x0f;
    for (unsigned i = 0; i < 4; i++) {
        d->config[PIIX_PIRQRC + i] = pirq_irq[i];
    }
    return pci_register_device(pci_bus_get(), d, "PIIX3", PCI_DEVFN(1, 0),
                               errp);
}

static void pci_bridge_finalize(DeviceState *dev)
{
    pci_unregister_device((PCIDevice *)dev);
}

static const DeviceClass i440fx_class = {
    .name = "i440FX",
    .bus = "pci",
    .desc = "Host bridge",
    .category = DEVICE_CATEGORY_BRIDGE,
    .instance_size = sizeof(PCIBridgeState),
    .realize = i440fx_realize,
    .finalize = pci_bridge_finalize,
};

static const DeviceClass piix3_class = {
    .name = "PIIX3",
    .bus = "pci",
    .desc = "ISA bridge",
    .category = DEVICE_CATEGORY_BRIDGE,
    .instance_size = sizeof(PCIBridgeState),
    .realize = piix3_realize,
    .finalize = pci_bridge_finalize,
};

static void i440fx_register_types(void)
{
    qdev_register_type(&i440fx_class);
    qdev_register_type(&piix3_class);
}
type_init(i440fx_register_types)

static bool create_bridge(const char *type, GError **errp)
{
    DeviceState *dev = qdev_new(type);

    if (!qdev_realize(dev, errp)) {
        qdev_destroy(dev);
        return false;
    }
    return true;
}

PCIBus *i440fx_create(uint64_t below_4g, uint64_t above_4g,
                      ResetControlState *rcr, GError **errp)
{
    PCIBus *bus = pci_bus_new(below_4g, above_4g, rcr, errp);

    if (!bus) {
        return NULL;
    }
    qdev_register_bus("pci.0", "pci");
    if (!create_bridge("i440FX", errp) || !create_bridge("PIIX3", errp)) {
        return NULL;
    }
    return bus;
}
