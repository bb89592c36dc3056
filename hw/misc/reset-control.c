/*
 * Reset control register (PIIX3 RCR, port 0xcf9).
 *
 * Writing a value with bit 2 set resets the system; Linux does that with
 * 0x06 because the FADT names this port as RESET_REG.  Bit 1 (hard
 * versus soft reset) is kept for reads and otherwise changes nothing.
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "hw/qdev.h"
#include "hw/i386/pc.h"
#include "hw/misc/reset-control.h"
#include "sysemu/runstate.h"

#define RCR_SYS_RST     0x02
#define RCR_RST_CPU     0x04

struct ResetControlState {
    DeviceState parent;
    bool map_port;              /* property */
    IORegion *io;
    uint8_t rcr;
};

uint8_t reset_control_read(ResetControlState *s)
{
    return s->rcr;
}

void reset_control_write(ResetControlState *s, uint8_t val)
{
    if (val & RCR_RST_CPU) {
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        return;
    }
    s->rcr = val & RCR_SYS_RST;
}

static uint64_t rcr_io_read(void *opaque, uint64_t addr, unsigned size)
{
    (void)addr; (void)size;
    return reset_control_read(opaque);
}

static void rcr_io_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    (void)addr; (void)size;
    reset_control_write(opaque, val);
}

static const IORegionOps rcr_io_ops = {
    .read = rcr_io_read,
    .write = rcr_io_write,
};

static void reset_control_reset(DeviceState *dev)
{
    ((ResetControlState *)dev)->rcr = 0;
}

static bool reset_control_realize(DeviceState *dev, GError **errp)
{
    ResetControlState *s = (ResetControlState *)dev;

    if (!s->map_port) {
        return true;
    }
    s->io = io_region_add(AS_PIO, PC_RESET_CONTROL_PORT, 1, &rcr_io_ops, s,
                          "reset-control", errp);
    return s->io != NULL;
}

static void reset_control_finalize(DeviceState *dev)
{
    io_region_del(((ResetControlState *)dev)->io);
}

static const Property reset_control_props[] = {
    DEFINE_PROP("map-port", PROP_BOOL, ResetControlState, map_port, "on"),
    DEFINE_PROP_END_OF_LIST()
};

static const DeviceClass reset_control_class = {
    .name = "reset-control",
    .instance_size = sizeof(ResetControlState),
    .props = reset_control_props,
    .realize = reset_control_realize,
    .reset = reset_control_reset,
    .finalize = reset_control_finalize,
};

static void reset_control_register_types(void)
{
    qdev_register_type(&reset_control_class);
}
type_init(reset_control_register_types)

ResetControlState *reset_control_create(bool map_port, GError **errp)
{
    ResetControlState *s = (ResetControlState *)qdev_new("reset-control");

    s->map_port = map_port;
    if (!qdev_realize(&s->parent, errp)) {
        qdev_destroy(&s->parent);
        return NULL;
    }
    return s;
}
