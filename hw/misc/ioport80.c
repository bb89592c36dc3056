/*
 * Port 0x80: POST codes and the traditional I/O delay ("outb %al,$0x80").
 * QEMU's pc machine maps a dummy there that ignores writes and reads as
 * all ones; claiming the port keeps anything else from landing on it.
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "hw/qdev.h"
#include "hw/misc/ioport80.h"

typedef struct IOPort80State {
    DeviceState parent;
    IORegion *io;
} IOPort80State;

static uint64_t ioport80_read(void *opaque, uint64_t addr, unsigned size)
{
    (void)opaque; (void)addr; (void)size;
    return 0xff;
}

static void ioport80_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    (void)opaque; (void)addr; (void)val; (void)size;
}

static const IORegionOps ioport80_ops = {
    .read = ioport80_read,
    .write = ioport80_write,
};

static bool ioport80_realize(DeviceState *dev, GError **errp)
{
    IOPort80State *s = (IOPort80State *)dev;

    s->io = io_region_add(AS_PIO, IOPORT80_PORT, 1, &ioport80_ops, s,
                          "ioport80", errp);
    return s->io != NULL;
}

static void ioport80_finalize(DeviceState *dev)
{
    io_region_del(((IOPort80State *)dev)->io);
}

static const DeviceClass ioport80_class = {
    .name = "ioport80",
    .bus = "isa",
    .instance_size = sizeof(IOPort80State),
    .realize = ioport80_realize,
    .finalize = ioport80_finalize,
};

static void ioport80_register_types(void)
{
    qdev_register_type(&ioport80_class);
}
type_init(ioport80_register_types)

DeviceState *ioport80_create(GError **errp)
{
    DeviceState *dev = qdev_new("ioport80");

    if (!qdev_realize(dev, errp)) {
        qdev_destroy(dev);
        return NULL;
    }
    return dev;
}
