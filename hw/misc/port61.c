/*
 * Port 0x61 (port B).  Channel 2 itself is the PIT's (in the kernel under
 * KVM); this register only gates it and shows its output.  The refresh
 * toggle flips every 15 µs of host time, as the DRAM refresh request it
 * stands for did; some firmware delay loops count its edges.
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "hw/misc/port61.h"

#define PORT61_GATE2      0x01
#define PORT61_SPEAKER    0x02
#define PORT61_REFRESH    0x10
#define PORT61_OUT2       0x20
#define REFRESH_PERIOD_NS 15085

typedef struct Port61State {
    DeviceState parent;
    IORegion *io;
    const Port61PitOps *ops;
    uint8_t ctrl;               /* bits 0-1 as last written */
} Port61State;

static uint64_t port61_read(void *opaque, uint64_t addr, unsigned size)
{
    Port61State *s = opaque;
    uint8_t val = s->ctrl;

    (void)addr; (void)size;
    if ((g_get_monotonic_time() * 1000 / REFRESH_PERIOD_NS) & 1) {
        val |= PORT61_REFRESH;
    }
    if (s->ops->get_out2()) {
        val |= PORT61_OUT2;
    }
    return val;
}

static void port61_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    Port61State *s = opaque;
    uint8_t ctrl = val & (PORT61_GATE2 | PORT61_SPEAKER);

    (void)addr; (void)size;
    if ((ctrl ^ s->ctrl) & PORT61_GATE2) {
        s->ops->set_gate2(ctrl & PORT61_GATE2);
    }
    s->ctrl = ctrl;
}

static const IORegionOps port61_ops = {
    .read = port61_read,
    .write = port61_write,
};

static bool port61_realize(DeviceState *dev, GError **errp)
{
    Port61State *s = (Port61State *)dev;

    s->io = io_region_add(AS_PIO, PORT61_PORT, 1, &port61_ops, s, "port61",
                          errp);
    return s->io != NULL;
}

/* Power-on: gate and speaker off (the PIT's own reset restores its gate). */
static void port61_reset(DeviceState *dev)
{
    ((Port61State *)dev)->ctrl = 0;
}

static void port61_finalize(DeviceState *dev)
{
    io_region_del(((Port61State *)dev)->io);
}

static const DeviceClass port61_class = {
    .name = "port61",
    .bus = "isa",
    .instance_size = sizeof(Port61State),
    .realize = port61_realize,
    .reset = port61_reset,
    .finalize = port61_finalize,
};

DeviceState *port61_create(const Port61PitOps *ops, GError **errp)
{
    Port61State *s = (Port61State *)qdev_new("port61");

    s->ops = ops;
    if (!qdev_realize(&s->parent, errp)) {
        qdev_destroy(&s->parent);
        return NULL;
    }
    return &s->parent;
}

static void port61_register_types(void)
{
    qdev_register_type(&port61_class);
}
type_init(port61_register_types)
