/*
 * i8042 keyboard controller with nothing plugged into it.
 *
 * It exists for what guests use the controller itself for: the reset
 * line (command 0xfe, or the output port's bit 0), the command byte, the
 * self tests and the AUX loopback that Linux probes with.  Bytes sent on
 * to the keyboard or the mouse get what a controller returns when no
 * device answers: 0xfe with the timeout bit, so drivers give up at once
 * instead of waiting out their own timeouts.
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/input/i8042.h"
#include "sysemu/runstate.h"

/* Controller commands (port 0x64). */
#define CCMD_READ_MODE          0x20
#define CCMD_WRITE_MODE         0x60
#define CCMD_MOUSE_DISABLE      0xa7
#define CCMD_MOUSE_ENABLE       0xa8
#define CCMD_TEST_MOUSE         0xa9
#define CCMD_SELF_TEST          0xaa
#define CCMD_KBD_TEST           0xab
#define CCMD_KBD_DISABLE        0xad
#define CCMD_KBD_ENABLE         0xae
#define CCMD_READ_INPORT        0xc0
#define CCMD_READ_OUTPORT       0xd0
#define CCMD_WRITE_OUTPORT      0xd1
#define CCMD_WRITE_OBUF         0xd2
#define CCMD_WRITE_AUX_OBUF     0xd3
#define CCMD_WRITE_MOUSE        0xd4
#define CCMD_DISABLE_A20        0xdd
#define CCMD_ENABLE_A20         0xdf
#define CCMD_PULSE_BITS         0xf0    /* 0xf0-0xff: pulse outport 3-0 low */
#define CCMD_RESET              0xfe

#define STAT_OBF                0x01
#define STAT_SYS                0x04    /* self test passed (POST done) */
#define STAT_CMD                0x08    /* "last write was a command": QEMU
                                           leaves it set, and so do we */
#define STAT_UNLOCKED           0x10
#define STAT_MOUSE_OBF          0x20
#define STAT_GTO                0x40    /* device timeout */

#define MODE_KBD_INT            0x01
#define MODE_MOUSE_INT          0x02
#define MODE_SYS                0x04
#define MODE_DISABLE_KBD        0x10
#define MODE_DISABLE_MOUSE      0x20

#define OUT_RESET               0x01    /* 0 holds the CPU in reset */
#define OUT_A20                 0x02
#define OUT_DEFAULT             0xcf    /* QEMU's: reset high, A20 on */

#define NO_DEVICE_REPLY         0xfe
#define QUEUE_SIZE              16
#define QUEUE_AUX               0x100   /* entry came "from the mouse" */

struct I8042State {
    DeviceState parent;

    IORegion *data_io;
    IORegion *cmd_io;
    uint8_t status;
    uint8_t mode;                   /* the command byte */
    uint8_t outport;
    uint8_t write_cmd;              /* command awaiting its data byte */
    uint8_t last;                   /* data port value when empty */
    uint16_t queue[QUEUE_SIZE];
    unsigned head, count;
    bool kbd_level, mouse_level;
};

static void i8042_set_lines(I8042State *s, bool kbd, bool mouse)
{
    if (kbd != s->kbd_level) {
        s->kbd_level = kbd;
        pc_set_irq(I8042_KBD_IRQ, kbd);
    }
    if (mouse != s->mouse_level) {
        s->mouse_level = mouse;
        pc_set_irq(I8042_MOUSE_IRQ, mouse);
    }
}

/* OBF and the interrupt lines follow the byte at the head of the queue. */
static void i8042_update(I8042State *s)
{
    bool aux = s->count && (s->queue[s->head] & QUEUE_AUX);
    bool kbd = s->count && !aux && (s->mode & MODE_KBD_INT) &&
               !(s->mode & MODE_DISABLE_KBD);
    bool mouse = aux && (s->mode & MODE_MOUSE_INT);

    s->status &= ~(STAT_OBF | STAT_MOUSE_OBF);
    s->status |= (s->count ? STAT_OBF : 0) | (aux ? STAT_MOUSE_OBF : 0);
    i8042_set_lines(s, kbd, mouse);
}

static void i8042_queue(I8042State *s, uint8_t b, bool aux)
{
    if (s->count < QUEUE_SIZE) {
        s->queue[(s->head + s->count) % QUEUE_SIZE] = b | (aux ? QUEUE_AUX : 0);
        s->count++;
    }
    i8042_update(s);
}

/* A byte for the keyboard or mouse, where nobody listens. */
static void i8042_no_device(I8042State *s, bool aux)
{
    s->status |= STAT_GTO;
    i8042_queue(s, NO_DEVICE_REPLY, aux);
}

static void i8042_write_outport(I8042State *s, uint8_t val)
{
    s->outport = val;
    if (!(val & OUT_RESET)) {
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
    }
}

static void i8042_command(I8042State *s, uint8_t cmd)
{
    /* Pulsing output port bit 0 low is the classic reboot. */
    if ((cmd & CCMD_PULSE_BITS) == CCMD_PULSE_BITS) {
        if (!(cmd & 1)) {
            qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        }
        return;
    }
    switch (cmd) {
    case CCMD_READ_MODE:
        i8042_queue(s, s->mode, false);
        break;
    case CCMD_WRITE_MODE:
    case CCMD_WRITE_OUTPORT:
    case CCMD_WRITE_OBUF:
    case CCMD_WRITE_AUX_OBUF:
    case CCMD_WRITE_MOUSE:
        s->write_cmd = cmd;
        break;
    case CCMD_MOUSE_DISABLE:
        s->mode |= MODE_DISABLE_MOUSE;
        break;
    case CCMD_MOUSE_ENABLE:
        s->mode &= ~MODE_DISABLE_MOUSE;
        break;
    case CCMD_SELF_TEST:
        s->status |= STAT_SYS;
        i8042_queue(s, 0x55, false);
        break;
    case CCMD_TEST_MOUSE:
    case CCMD_KBD_TEST:
        i8042_queue(s, 0x00, false);    /* interface lines are fine */
        break;
    case CCMD_KBD_DISABLE:
        s->mode |= MODE_DISABLE_KBD;
        i8042_update(s);
        break;
    case CCMD_KBD_ENABLE:
        s->mode &= ~MODE_DISABLE_KBD;
        i8042_update(s);
        break;
    case CCMD_READ_INPORT:
        i8042_queue(s, 0x80, false);    /* keyboard not inhibited */
        break;
    case CCMD_READ_OUTPORT:
        i8042_queue(s, s->outport, false);
        break;
    case CCMD_DISABLE_A20:
        s->outport &= ~OUT_A20;
        break;
    case CCMD_ENABLE_A20:
        s->outport |= OUT_A20;
        break;
    default:
        break;      /* unknown commands are ignored, as by QEMU */
    }
}

static void i8042_data(I8042State *s, uint8_t val)
{
    uint8_t cmd = s->write_cmd;

    s->write_cmd = 0;
    switch (cmd) {
    case 0:
        i8042_no_device(s, false);
        break;
    case CCMD_WRITE_MODE:
        s->mode = val;
        i8042_update(s);
        break;
    case CCMD_WRITE_OUTPORT:
        i8042_write_outport(s, val);
        break;
    case CCMD_WRITE_OBUF:
        i8042_queue(s, val, false);
        break;
    case CCMD_WRITE_AUX_OBUF:
        i8042_queue(s, val, true);
        break;
    case CCMD_WRITE_MOUSE:
        i8042_no_device(s, true);
        break;
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t addr, unsigned size)
{
    I8042State *s = opaque;

    (void)addr; (void)size;
    if (s->count) {
        s->last = s->queue[s->head] & 0xff;
        s->head = (s->head + 1) % QUEUE_SIZE;
        s->count--;
        /* ISA lines are edge-triggered: drop so the next byte is seen. */
        i8042_set_lines(s, false, false);
        i8042_update(s);
    }
    return s->last;
}

static void i8042_data_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    I8042State *s = opaque;

    (void)addr; (void)size;
    s->status &= ~STAT_GTO;
    i8042_data(s, val);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t addr, unsigned size)
{
    (void)addr; (void)size;
    return ((I8042State *)opaque)->status;
}

static void i8042_cmd_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    I8042State *s = opaque;

    (void)addr; (void)size;
    s->status &= ~STAT_GTO;
    i8042_command(s, val);
}

static const IORegionOps i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
};

static const IORegionOps i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
};

/* The state a BIOS leaves: self test passed, interrupts on, A20 on. */
static void i8042_reset(DeviceState *dev)
{
    I8042State *s = (I8042State *)dev;

    s->mode = MODE_KBD_INT | MODE_MOUSE_INT | MODE_SYS;
    s->status = STAT_CMD | STAT_UNLOCKED | STAT_SYS;
    s->outport = OUT_DEFAULT;
    s->write_cmd = 0;
    s->last = 0;
    s->head = s->count = 0;
    s->kbd_level = s->mouse_level = true;   /* force both lines down */
    i8042_set_lines(s, false, false);
}

static bool i8042_realize(DeviceState *dev, GError **errp)
{
    I8042State *s = (I8042State *)dev;

    s->data_io = io_region_add(AS_PIO, I8042_DATA_PORT, 1, &i8042_data_ops,
                               s, "i8042-data", errp);
    if (!s->data_io) {
        return false;
    }
    s->cmd_io = io_region_add(AS_PIO, I8042_CMD_PORT, 1, &i8042_cmd_ops, s,
                              "i8042-cmd", errp);
    if (!s->cmd_io) {
        io_region_del(s->data_io);
        return false;
    }
    i8042_reset(dev);
    return true;
}

static void i8042_finalize(DeviceState *dev)
{
    I8042State *s = (I8042State *)dev;

    io_region_del(s->data_io);
    io_region_del(s->cmd_io);
}

static const DeviceClass i8042_class = {
    .name = "i8042",
    .bus = "isa",
    .category = DEVICE_CATEGORY_INPUT,
    .instance_size = sizeof(I8042State),
    .realize = i8042_realize,
    .reset = i8042_reset,
    .finalize = i8042_finalize,
};

static void i8042_register_types(void)
{
    qdev_register_type(&i8042_class);
}
type_init(i8042_register_types)

I8042State *i8042_create(GError **errp)
{
    DeviceState *dev = qdev_new("i8042");

    if (!qdev_realize(dev, errp)) {
        qdev_destroy(dev);
        return NULL;
    }
    return (I8042State *)dev;
}
