/*
 * isa-debug-exit: test programs in the guest end the VM with a status.
 *
 * QEMU calls exit() from the vCPU thread.  Here the exit goes through
 * the main loop so the terminal is restored; qemu_system_exit_request()
 * parks the vCPUs first, so the guest runs no further.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/qdev.h"
#include "hw/misc/debugexit.h"
#include "sysemu/runstate.h"

typedef struct DebugExitState {
    DeviceState parent;

    /* properties */
    uint32_t iobase;
    uint32_t iosize;

    IORegion *io;
    bool exiting;
} DebugExitState;

/*
 * Only the first write counts, as with QEMU's exit(): an "outl" that
 * straddles the region reaches us once per byte, and the first byte alone
 * decides the status's low 8 bits anyway.
 */
static void debug_exit_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    DebugExitState *s = opaque;

    (void)addr; (void)size;
    if (s->exiting) {
        return;
    }
    s->exiting = true;
    /* The status QEMU's exit((val << 1) | 1) leaves: the low 8 bits. */
    qemu_system_exit_request(((val << 1) | 1) & 0xff);
}

/* No read callback: reads float high like any undecoded port. */
static const IORegionOps debug_exit_ops = {
    .write = debug_exit_write,
};

static bool debug_exit_realize(DeviceState *dev, GError **errp)
{
    DebugExitState *s = (DebugExitState *)dev;

    if (!s->iosize) {
        return true;        /* QEMU maps an empty region: nothing to do */
    }
    s->io = io_region_add(AS_PIO, s->iobase, s->iosize, &debug_exit_ops, s,
                          "isa-debug-exit", errp);
    return s->io != NULL;
}

static void debug_exit_reset(DeviceState *dev)
{
    ((DebugExitState *)dev)->exiting = false;
}

static void debug_exit_finalize(DeviceState *dev)
{
    io_region_del(((DebugExitState *)dev)->io);
}

static const Property debug_exit_props[] = {
    DEFINE_PROP("iobase", PROP_UINT32, DebugExitState, iobase, "0x501"),
    DEFINE_PROP("iosize", PROP_UINT32, DebugExitState, iosize, "0x02"),
    DEFINE_PROP_END_OF_LIST()
};

static const DeviceClass debug_exit_class = {
    .name = "isa-debug-exit",
    .bus = "isa",
    .category = DEVICE_CATEGORY_MISC,
    .instance_size = sizeof(DebugExitState),
    .props = debug_exit_props,
    .user_creatable = true,
    .realize = debug_exit_realize,
    .reset = debug_exit_reset,
    .finalize = debug_exit_finalize,
};

static void debug_exit_register_types(void)
{
    qdev_register_type(&debug_exit_class);
}
type_init(debug_exit_register_types)

DeviceState *isa_debug_exit_create(uint32_t iobase, uint32_t iosize,
                                   GError **errp)
{
    DebugExitState *s = (DebugExitState *)qdev_new("isa-debug-exit");

    s->iobase = iobase;
    s->iosize = iosize;
    if (!qdev_realize(&s->parent, errp)) {
        qdev_destroy(&s->parent);
        return NULL;
    }
    return &s->parent;
}
