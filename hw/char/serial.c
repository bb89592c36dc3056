/*
 * 16550A UART.
 *
 * The transmitter is infinitely fast: a byte written to THR goes to the
 * chardev at once, so THR, the transmit FIFO and the shift register are
 * always empty again by the time the guest can look.  The receiver is
 * modelled properly: a 16-byte FIFO with trigger levels, the character
 * timeout on the virtual clock, overrun and break, and backpressure on the
 * chardev through can_read so that no input is ever dropped.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/char/serial.h"

#define ISA_NUM_IRQS    16
#define UART_FIFO_SIZE  16

/* Register offsets; the first two double as the divisor latch (DLAB). */
enum {
    UART_RBR = 0,       /* read: receive buffer; write: THR */
    UART_IER = 1,
    UART_IIR = 2,       /* read: IIR; write: FCR */
    UART_LCR = 3,
    UART_MCR = 4,
    UART_LSR = 5,
    UART_MSR = 6,
    UART_SCR = 7,
};

#define IER_RDI         0x01    /* received data available */
#define IER_THRI        0x02    /* THR empty */
#define IER_RLSI        0x04    /* receiver line status */

#define IIR_NO_INT      0x01
#define IIR_THRI        0x02
#define IIR_RDI         0x04
#define IIR_RLSI        0x06
#define IIR_CTI         0x0c    /* character timeout */
#define IIR_FIFO_ON     0xc0

#define FCR_FE          0x01    /* FIFO enable */
#define FCR_RFR         0x02    /* receive FIFO reset */
#define FCR_XFR         0x04    /* transmit FIFO reset */
#define FCR_STICKY      0xc9    /* trigger level, DMA mode, enable */

#define LCR_DLAB        0x80

#define MCR_DTR         0x01
#define MCR_RTS         0x02
#define MCR_OUT1        0x04
#define MCR_OUT2        0x08
#define MCR_LOOP        0x10

#define LSR_DR          0x01
#define LSR_OE          0x02
#define LSR_PE          0x04
#define LSR_FE          0x08
#define LSR_BI          0x10
#define LSR_THRE        0x20
#define LSR_TEMT        0x40
#define LSR_INT_ANY     (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_CTS         0x10
#define MSR_DSR         0x20
#define MSR_RI          0x40
#define MSR_DCD         0x80

struct SerialState {
    DeviceState parent;

    /* properties */
    uint32_t index;
    uint32_t iobase;
    uint32_t irq;
    uint32_t baudbase;          /* UART clock / 16 */
    char *chardev;              /* id from -device; or @chr set directly */

    Chardev *chr;

    IORegion *io;
    QEMUTimer *timeout_timer;
    bool attached;

    uint8_t rbr;                /* receive buffer without FIFO */
    uint8_t ier, iir, fcr, lcr, mcr, lsr, scr;
    uint16_t divider;

    uint8_t rx_fifo[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
    unsigned rx_trigger;

    bool thr_ipending;          /* THRE interrupt not yet acknowledged */
    bool timeout_ipending;      /* character timeout fired */
    bool irq_level;
    bool throttled;             /* can_read said 0: kick input on space */
    int64_t char_ns;            /* one character time at the line speed */
};

static const uint16_t isa_serial_io[MAX_ISA_SERIAL_PORTS] = {
    0x3f8, 0x2f8, 0x3e8, 0x2e8
};
static const uint8_t isa_serial_irqs[MAX_ISA_SERIAL_PORTS] = { 4, 3, 4, 3 };

uint16_t serial_isa_iobase(unsigned index)
{
    g_assert(index < MAX_ISA_SERIAL_PORTS);
    return isa_serial_io[index];
}

unsigned serial_isa_irq(unsigned index)
{
    g_assert(index < MAX_ISA_SERIAL_PORTS);
    return isa_serial_irqs[index];
}

/* ---- interrupts ---- */

static void serial_set_irq(SerialState *s, bool level)
{
    if (level != s->irq_level) {
        s->irq_level = level;
        pc_set_irq(s->irq, level);
    }
}

/* Pick the highest-priority pending source, as a 16550A ranks them. */
static void serial_update_irq(SerialState *s)
{
    uint8_t id = IIR_NO_INT;

    if ((s->ier & IER_RLSI) && (s->lsr & LSR_INT_ANY)) {
        id = IIR_RLSI;
    } else if ((s->ier & IER_RDI) && s->timeout_ipending) {
        /* Masked by IER.RDI too: not in the datasheet, but real parts do. */
        id = IIR_CTI;
    } else if ((s->ier & IER_RDI) && (s->lsr & LSR_DR) &&
               (!(s->fcr & FCR_FE) || s->rx_count >= s->rx_trigger)) {
        id = IIR_RDI;
    } else if ((s->ier & IER_THRI) && s->thr_ipending) {
        id = IIR_THRI;
    }
    s->iir = id;
    serial_set_irq(s, id != IIR_NO_INT);
}

/* ---- receiver ---- */

static void serial_arm_timeout(SerialState *s)
{
    timer_mod(s->timeout_timer,
              qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + 4 * s->char_ns);
}

static void serial_timeout(void *opaque)
{
    SerialState *s = opaque;

    if (s->rx_count) {
        s->timeout_ipending = true;
        serial_update_irq(s);
    }
}

static void rx_fifo_reset(SerialState *s)
{
    s->rx_head = 0;
    s->rx_count = 0;
}

static uint8_t rx_fifo_pop(SerialState *s)
{
    uint8_t b = s->rx_fifo[s->rx_head];

    s->rx_head = (s->rx_head + 1) % UART_FIFO_SIZE;
    s->rx_count--;
    return b;
}

/* A byte off the line; the caller updates the interrupt. */
static void serial_receive_byte(SerialState *s, uint8_t b)
{
    if (s->fcr & FCR_FE) {
        /* An overrun loses the new byte; the FIFO keeps what it has. */
        if (s->rx_count == UART_FIFO_SIZE) {
            s->lsr |= LSR_OE;
        } else {
            s->rx_fifo[(s->rx_head + s->rx_count) % UART_FIFO_SIZE] = b;
            s->rx_count++;
        }
        serial_arm_timeout(s);
    } else {
        if (s->lsr & LSR_DR) {
            s->lsr |= LSR_OE;
        }
        s->rbr = b;
    }
    s->lsr |= LSR_DR;
}

/* The guest made room: let a throttled backend deliver again. */
static void serial_kick_input(SerialState *s)
{
    if (s->throttled && s->chr && !(s->mcr & MCR_LOOP)) {
        s->throttled = false;
        qemu_chr_accept_input(s->chr);
    }
}

static int serial_can_read(void *opaque)
{
    SerialState *s = opaque;
    int space;

    if (s->mcr & MCR_LOOP) {
        space = 0;      /* the line input is disconnected in loopback */
    } else if (s->fcr & FCR_FE) {
        space = UART_FIFO_SIZE - s->rx_count;
    } else {
        space = !(s->lsr & LSR_DR);
    }
    if (!space) {
        s->throttled = true;
    }
    return space;
}

static void serial_read(void *opaque, const uint8_t *buf, int len)
{
    SerialState *s = opaque;

    for (int i = 0; i < len; i++) {
        serial_receive_byte(s, buf[i]);
    }
    serial_update_irq(s);
}

static void serial_event(void *opaque, ChrEvent event)
{
    SerialState *s = opaque;

    if (event == CHR_EVENT_BREAK) {
        /* A break arrives as a NUL character flagged with BI. */
        serial_receive_byte(s, 0);
        s->lsr |= LSR_BI;
        serial_update_irq(s);
    }
}

/* ---- transmitter and modem lines ---- */

static void serial_transmit(SerialState *s, uint8_t b)
{
    if (s->mcr & MCR_LOOP) {
        serial_receive_byte(s, b);
    } else if (s->chr) {
        qemu_chr_write(s->chr, &b, 1);
    }
    s->lsr |= LSR_THRE | LSR_TEMT;
    s->thr_ipending = true;
    serial_update_irq(s);
}

/*
 * The modem inputs: "carrier, ready, clear to send" on a chardev, which
 * has no modem lines, or the MCR outputs wired back in loopback.  As in
 * QEMU they never change behind the guest's back, so the delta bits and
 * the modem status interrupt stay clear.
 */
static uint8_t serial_msr(SerialState *s)
{
    if (!(s->mcr & MCR_LOOP)) {
        return MSR_DCD | MSR_DSR | MSR_CTS;
    }
    return ((s->mcr & MCR_DTR) ? MSR_DSR : 0) |
           ((s->mcr & MCR_RTS) ? MSR_CTS : 0) |
           ((s->mcr & MCR_OUT1) ? MSR_RI : 0) |
           ((s->mcr & MCR_OUT2) ? MSR_DCD : 0);
}

static void serial_update_params(SerialState *s)
{
    unsigned bits = 1 + 5 + (s->lcr & 0x03);    /* start + data */

    if (!s->divider || s->divider > s->baudbase) {
        return;             /* below 1 baud: keep the last speed */
    }
    bits += (s->lcr & 0x08) ? 1 : 0;            /* parity */
    bits += (s->lcr & 0x04) ? 2 : 1;            /* stop */
    s->char_ns = NANOSECONDS_PER_SECOND * bits * s->divider / s->baudbase;
}

/* ---- registers ---- */

static void serial_write_fcr(SerialState *s, uint8_t val)
{
    static const unsigned trigger[4] = { 1, 4, 8, 14 };

    /* Switching the FIFOs on or off empties both. */
    if ((val ^ s->fcr) & FCR_FE) {
        val |= FCR_RFR | FCR_XFR;
    }
    if (val & FCR_RFR) {
        rx_fifo_reset(s);
        s->lsr &= ~(LSR_DR | LSR_BI);
        s->timeout_ipending = false;
        timer_del(s->timeout_timer);
    }
    if (val & FCR_XFR) {
        s->lsr |= LSR_THRE | LSR_TEMT;
        s->thr_ipending = true;
    }
    s->fcr = val & FCR_STICKY;
    s->rx_trigger = trigger[s->fcr >> 6];
    serial_update_irq(s);
    serial_kick_input(s);
}

static void serial_write_ier(SerialState *s, uint8_t val)
{
    uint8_t changed = (s->ier ^ val) & 0x0f;

    s->ier = val & 0x0f;
    /*
     * Enabling THRI with THR empty raises THRE again even after an IIR
     * read acknowledged it.  Drivers (Linux's start_tx, Windows) rely on
     * that rising edge to get transmission going.
     */
    if (changed & IER_THRI) {
        s->thr_ipending = (s->ier & IER_THRI) && (s->lsr & LSR_THRE);
    }
    if (changed) {
        serial_update_irq(s);
    }
}

static void serial_write_mcr(SerialState *s, uint8_t val)
{
    bool left_loop = (s->mcr & MCR_LOOP) && !(val & MCR_LOOP);

    s->mcr = val & 0x1f;
    if (left_loop) {
        serial_kick_input(s);
    }
}

static void serial_io_write(void *opaque, uint64_t addr, uint64_t val,
                            unsigned size)
{
    SerialState *s = opaque;
    bool dlab = s->lcr & LCR_DLAB;

    (void)size;
    val &= 0xff;
    switch (addr) {
    case UART_RBR:
        if (dlab) {
            s->divider = (s->divider & 0xff00) | val;
            serial_update_params(s);
        } else {
            serial_transmit(s, val);
        }
        break;
    case UART_IER:
        if (dlab) {
            s->divider = (s->divider & 0x00ff) | (val << 8);
            serial_update_params(s);
        } else {
            serial_write_ier(s, val);
        }
        break;
    case UART_IIR:
        serial_write_fcr(s, val);
        break;
    case UART_LCR:
        s->lcr = val;
        serial_update_params(s);
        break;
    case UART_MCR:
        serial_write_mcr(s, val);
        break;
    case UART_SCR:
        s->scr = val;
        break;
    default:
        break;      /* LSR and MSR are read-only */
    }
}

static uint8_t serial_read_rbr(SerialState *s)
{
    uint8_t ret;

    if (s->fcr & FCR_FE) {
        ret = s->rx_count ? rx_fifo_pop(s) : 0;
        if (s->rx_count) {
            serial_arm_timeout(s);
        } else {
            s->lsr &= ~(LSR_DR | LSR_BI);
            timer_del(s->timeout_timer);
        }
        s->timeout_ipending = false;
    } else {
        ret = s->rbr;
        s->lsr &= ~(LSR_DR | LSR_BI);
    }
    serial_update_irq(s);
    serial_kick_input(s);
    return ret;
}

static uint8_t serial_read_iir(SerialState *s)
{
    uint8_t ret = s->iir | ((s->fcr & FCR_FE) ? IIR_FIFO_ON : 0);

    /* Reading IIR acknowledges a THRE interrupt. */
    if (s->iir == IIR_THRI) {
        s->thr_ipending = false;
        serial_update_irq(s);
    }
    return ret;
}

/* Reading LSR clears the error bits it reports. */
static uint8_t serial_read_lsr(SerialState *s)
{
    uint8_t ret = s->lsr;

    s->lsr &= ~(LSR_BI | LSR_OE);
    serial_update_irq(s);
    return ret;
}

static uint64_t serial_io_read(void *opaque, uint64_t addr, unsigned size)
{
    SerialState *s = opaque;
    bool dlab = s->lcr & LCR_DLAB;

    (void)size;
    switch (addr) {
    case UART_RBR:
        return dlab ? (s->divider & 0xff) : serial_read_rbr(s);
    case UART_IER:
        return dlab ? (s->divider >> 8) : s->ier;
    case UART_IIR:
        return serial_read_iir(s);
    case UART_LCR:
        return s->lcr;
    case UART_MCR:
        return s->mcr;
    case UART_LSR:
        return serial_read_lsr(s);
    case UART_MSR:
        return serial_msr(s);
    default:
        return s->scr;
    }
}

/*
 * Wider accesses reach the registers one byte at a time, lowest address
 * first, as they would on the ISA bus.
 */
static uint64_t serial_read_wide(void *opaque, uint64_t addr, unsigned size)
{
    uint64_t val = 0;

    for (unsigned i = 0; i < size && addr + i < 8; i++) {
        val |= serial_io_read(opaque, addr + i, 1) << (8 * i);
    }
    return val;
}

static void serial_write_wide(void *opaque, uint64_t addr, uint64_t val,
                              unsigned size)
{
    for (unsigned i = 0; i < size && addr + i < 8; i++) {
        serial_io_write(opaque, addr + i, (val >> (8 * i)) & 0xff, 1);
    }
}

static const IORegionOps serial_io_ops = {
    .read = serial_read_wide,
    .write = serial_write_wide,
};

/* ---- device ---- */

static void serial_reset(DeviceState *dev)
{
    SerialState *s = (SerialState *)dev;

    s->rbr = 0;
    s->ier = 0;
    s->iir = IIR_NO_INT;
    s->fcr = 0;
    s->rx_trigger = 1;
    s->lcr = 0;
    s->mcr = MCR_OUT2;
    s->lsr = LSR_TEMT | LSR_THRE;
    s->scr = 0;
    /* 9600 baud; timed as 8N1, as QEMU does, although LCR says 5N1. */
    s->divider = 12;
    s->char_ns = NANOSECONDS_PER_SECOND * 10 / 9600;
    rx_fifo_reset(s);
    s->thr_ipending = false;
    s->timeout_ipending = false;
    timer_del(s->timeout_timer);
    s->irq_level = true;            /* force the line down */
    serial_set_irq(s, false);
    serial_kick_input(s);
}

static GList *serial_ports;     /* realized SerialState*, for index= */

static bool serial_index_in_use(unsigned index)
{
    for (GList *l = serial_ports; l; l = l->next) {
        if (((SerialState *)l->data)->index == index) {
            return true;
        }
    }
    return false;
}

/* Without index=, take the next COM port, as QEMU's counter does. */
static bool serial_pick_index(SerialState *s, GError **errp)
{
    if (s->index == UINT32_MAX) {
        s->index = 0;
        while (s->index < MAX_ISA_SERIAL_PORTS &&
               serial_index_in_use(s->index)) {
            s->index++;
        }
    }
    if (s->index >= MAX_ISA_SERIAL_PORTS) {
        error_setg(errp, "Max. supported number of ISA serial ports is %d.",
                   MAX_ISA_SERIAL_PORTS);
        return false;
    }
    if (s->iobase == UINT32_MAX) {
        s->iobase = isa_serial_io[s->index];
    }
    if (s->irq == UINT32_MAX) {
        s->irq = isa_serial_irqs[s->index];
    }
    return true;
}

/*
 * QEMU's isa-serial forwards "chardev" to an inner object of type
 * "serial", so its errors name 'serial.chardev'.
 */
static bool serial_attach(SerialState *s, GError **errp)
{
    GError *err = NULL;

    if (s->chardev && *s->chardev) {
        s->chr = qemu_chr_find(s->chardev);
        if (!s->chr) {
            error_setg(errp, "Property 'serial.chardev' can't find value '%s'",
                       s->chardev);
            return false;
        }
    }
    if (!s->chr) {
        return true;
    }
    if (!qemu_chr_attach(s->chr, serial_can_read, serial_read, serial_event,
                         s, &err)) {
        g_set_error(errp, err->domain, err->code,
                    "Property 'serial.chardev' can't take value '%s': %s",
                    qemu_chr_id(s->chr), err->message);
        g_error_free(err);
        return false;
    }
    s->attached = true;
    return true;
}

static bool serial_realize(DeviceState *dev, GError **errp)
{
    SerialState *s = (SerialState *)dev;
    g_autofree char *name = NULL;

    if (!serial_pick_index(s, errp)) {
        return false;
    }
    if (s->irq >= ISA_NUM_IRQS) {
        error_setg(errp, "Maximum value for \"irq\" is: %u",
                   ISA_NUM_IRQS - 1);
        return false;
    }
    name = g_strdup_printf("serial%u", s->index);
    s->io = io_region_add(AS_PIO, s->iobase, 8, &serial_io_ops, s, name,
                          errp);
    if (!s->io) {
        return false;
    }
    if (!serial_attach(s, errp)) {
        io_region_del(s->io);
        return false;
    }
    s->timeout_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, serial_timeout, s);
    serial_reset(dev);
    serial_ports = g_list_append(serial_ports, s);
    return true;
}

static void serial_finalize(DeviceState *dev)
{
    SerialState *s = (SerialState *)dev;

    serial_ports = g_list_remove(serial_ports, s);
    if (s->attached) {
        qemu_chr_detach(s->chr, s);
    }
    timer_free(s->timeout_timer);
    io_region_del(s->io);
    serial_set_irq(s, false);
}

static const Property serial_props[] = {
    DEFINE_PROP("index", PROP_UINT32, SerialState, index, "0xffffffff"),
    DEFINE_PROP("iobase", PROP_UINT32, SerialState, iobase, "0xffffffff"),
    DEFINE_PROP("irq", PROP_UINT32, SerialState, irq, "0xffffffff"),
    DEFINE_PROP("baudbase", PROP_UINT32, SerialState, baudbase, "115200"),
    { .name = "chardev", .type = PROP_STRING,
      .offset = offsetof(SerialState, chardev),
      .description = "ID of a chardev to use as a backend" },
    DEFINE_PROP_END_OF_LIST()
};

static const DeviceClass serial_isa_class = {
    .name = "isa-serial",
    .bus = "isa",
    .category = DEVICE_CATEGORY_INPUT,
    .instance_size = sizeof(SerialState),
    .props = serial_props,
    .user_creatable = true,
    .realize = serial_realize,
    .reset = serial_reset,
    .finalize = serial_finalize,
};

static void serial_register_types(void)
{
    qdev_register_type(&serial_isa_class);
}
type_init(serial_register_types)

SerialState *serial_isa_create(unsigned index, uint16_t iobase, unsigned irq,
                               Chardev *chr, GError **errp)
{
    SerialState *s = (SerialState *)qdev_new("isa-serial");

    s->index = index;
    s->iobase = iobase;
    s->irq = irq;
    s->chr = chr;
    if (!qdev_realize(&s->parent, errp)) {
        qdev_destroy(&s->parent);
        return NULL;
    }
    return s;
}
