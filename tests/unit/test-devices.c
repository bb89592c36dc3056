/*
 * Legacy pc devices and the qdev registry, driven through port I/O with
 * the virtual clock in manual mode and a fake interrupt controller.
 */
#include "qemu/osdep.h"
#include <check.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/option.h"
#include "qemu/timer.h"
#include "exec/memory.h"
#include "chardev/char.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/char/serial.h"
#include "hw/rtc/mc146818rtc.h"
#include "hw/input/i8042.h"
#include "hw/misc/debugexit.h"
#include "hw/misc/ioport80.h"
#include "hw/misc/reset-control.h"
#include "hw/acpi/pm.h"
#include "hw/i386/pc.h"
#include "sysemu/runstate.h"

/* ---- fixtures ---- */

static int irq_level[24];
static int irq_raises[24];
static int resets;
static char last_event[32];
static ShutdownCause last_cause;

static void fake_irq(unsigned gsi, int level)
{
    ck_assert_uint_lt(gsi, 24);
    if (level && !irq_level[gsi]) {
        irq_raises[gsi]++;
    }
    irq_level[gsi] = level;
}

static void count_reset(void)
{
    resets++;
}

static void record_event(const char *event, gboolean has_data,
                         gboolean guest, ShutdownCause cause)
{
    (void)has_data; (void)guest;
    g_strlcpy(last_event, event, sizeof(last_event));
    last_cause = cause;
}

static void setup(void)
{
    static const RunstateHooks hooks = { .reset = count_reset };

    memset(irq_level, 0, sizeof(irq_level));
    memset(irq_raises, 0, sizeof(irq_raises));
    resets = 0;
    last_event[0] = 0;
    pc_irq_set_handler(fake_irq);
    runstate_set_hooks(&hooks);
    runstate_set_event_hook(record_event);
    qemu_clock_set_manual(true);
    qdev_register_bus("isa.0", "isa");
}

static void teardown(void)
{
    int status;

    qdev_destroy_all();
    while (main_loop_should_exit(&status)) {
        /* drop requests a test left behind */
    }
}

static void outb(uint16_t port, uint8_t val)
{
    ck_assert(io_dispatch_write(AS_PIO, port, 1, val));
}

static void outw(uint16_t port, uint16_t val)
{
    ck_assert(io_dispatch_write(AS_PIO, port, 2, val));
}

static uint8_t inb(uint16_t port)
{
    uint64_t v;

    io_dispatch_read(AS_PIO, port, 1, &v);
    return v;
}

static uint16_t inw(uint16_t port)
{
    uint64_t v;

    io_dispatch_read(AS_PIO, port, 2, &v);
    return v;
}

static uint32_t inl(uint16_t port)
{
    uint64_t v;

    io_dispatch_read(AS_PIO, port, 4, &v);
    return v;
}

static void clock_step(int64_t ns)
{
    qemu_clock_advance_virtual(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + ns);
}

/* ---- 16550A ---- */

#define COM1        0x3f8
#define RBR         (COM1 + 0)
#define IER         (COM1 + 1)
#define IIR         (COM1 + 2)
#define FCR         (COM1 + 2)
#define LCR         (COM1 + 3)
#define MCR         (COM1 + 4)
#define LSR         (COM1 + 5)
#define MSR         (COM1 + 6)
#define SCR         (COM1 + 7)
#define COM1_IRQ    4
/* 9600 8N1: ten bits at 115200 / 12 */
#define CHAR_NS     (NANOSECONDS_PER_SECOND * 10 * 12 / 115200)

static SerialState *com1(Chardev *chr)
{
    GError *err = NULL;
    SerialState *s = serial_isa_create(0, 0x3f8, 4, chr, &err);

    ck_assert_msg(s, "%s", err ? err->message : "");
    return s;
}

/* Loopback with the FIFOs on at @trigger_bits, receive interrupts on. */
static void com1_loopback_fifo(uint8_t trigger_bits)
{
    com1(NULL);
    outb(MCR, 0x10 | 0x08);
    outb(FCR, 0x01 | trigger_bits);
    outb(IER, 0x01);
}

START_TEST(test_serial_reset_state)
{
    com1(NULL);
    ck_assert_uint_eq(inb(IER), 0);
    ck_assert_uint_eq(inb(IIR), 0x01);
    ck_assert_uint_eq(inb(LCR), 0);
    ck_assert_uint_eq(inb(MCR), 0x08);
    ck_assert_uint_eq(inb(LSR), 0x60);
    ck_assert_uint_eq(inb(MSR), 0xb0);
    outb(SCR, 0x5a);
    ck_assert_uint_eq(inb(SCR), 0x5a);

    /* The divisor latch shadows RBR/IER while DLAB is set. */
    outb(LCR, 0x83);
    ck_assert_uint_eq(inb(RBR), 12);
    ck_assert_uint_eq(inb(IER), 0);
    outb(RBR, 0x01);
    outb(IER, 0x00);
    ck_assert_uint_eq(inb(RBR), 0x01);
    outb(LCR, 0x03);
    ck_assert_uint_eq(inb(IER), 0);
    ck_assert_uint_eq(inb(LCR), 0x03);
    ck_assert_int_eq(irq_level[COM1_IRQ], 0);
}
END_TEST

START_TEST(test_serial_loopback)
{
    com1(NULL);
    outb(MCR, 0x10 | 0x08 | 0x02);          /* LOOP, OUT2, RTS */
    ck_assert_uint_eq(inb(MSR) & 0xf0, 0x90);   /* DCD (OUT2), CTS (RTS) */
    outb(RBR, 'A');
    ck_assert_uint_eq(inb(LSR), 0x61);
    ck_assert_uint_eq(inb(RBR), 'A');
    ck_assert_uint_eq(inb(LSR), 0x60);

    /* Without FIFO a second byte before the read is an overrun. */
    outb(RBR, 'B');
    outb(RBR, 'C');
    ck_assert_uint_eq(inb(LSR), 0x63);
    ck_assert_uint_eq(inb(LSR), 0x61);      /* OE cleared by the read */
    ck_assert_uint_eq(inb(RBR), 'C');
}
END_TEST

START_TEST(test_serial_fifo_trigger_levels)
{
    static const struct {
        uint8_t bits;
        unsigned level;
    } levels[] = { { 0x00, 1 }, { 0x40, 4 }, { 0x80, 8 }, { 0xc0, 14 } };

    com1_loopback_fifo(0);
    for (unsigned i = 0; i < ARRAY_SIZE(levels); i++) {
        outb(FCR, 0x01 | 0x02 | levels[i].bits);    /* also clear RX */
        for (unsigned n = 1; n < levels[i].level; n++) {
            outb(RBR, n);
            ck_assert_uint_eq(inb(IIR), 0xc1);
            ck_assert_int_eq(irq_level[COM1_IRQ], 0);
        }
        outb(RBR, 0xee);
        ck_assert_uint_eq(inb(IIR), 0xc4);
        ck_assert_int_eq(irq_level[COM1_IRQ], 1);
        /* Below the trigger again: no data interrupt until the timeout. */
        inb(RBR);
        if (levels[i].level > 1) {
            ck_assert_uint_eq(inb(IIR), 0xc1);
        }
    }

    /* Bytes come out in order; a full FIFO drops the newcomer. */
    outb(FCR, 0x01 | 0x02);
    for (unsigned n = 0; n < 17; n++) {
        outb(RBR, 0x40 + n);
    }
    ck_assert_uint_eq(inb(LSR) & 0x03, 0x03);
    for (unsigned n = 0; n < 16; n++) {
        ck_assert_uint_eq(inb(RBR), 0x40 + n);
    }
    ck_assert_uint_eq(inb(LSR) & 0x01, 0);
}
END_TEST

START_TEST(test_serial_rx_timeout)
{
    com1_loopback_fifo(0xc0);               /* trigger at 14 */
    outb(RBR, 'x');
    outb(RBR, 'y');
    outb(RBR, 'z');
    ck_assert_uint_eq(inb(IIR), 0xc1);
    clock_step(4 * CHAR_NS - 1000);
    ck_assert_uint_eq(inb(IIR), 0xc1);
    clock_step(1000);
    ck_assert_uint_eq(inb(IIR), 0xcc);
    ck_assert_int_eq(irq_level[COM1_IRQ], 1);

    /* A read clears the timeout and restarts it for what is left. */
    ck_assert_uint_eq(inb(RBR), 'x');
    ck_assert_uint_eq(inb(IIR), 0xc1);
    ck_assert_int_eq(irq_level[COM1_IRQ], 0);
    clock_step(4 * CHAR_NS);
    ck_assert_uint_eq(inb(IIR), 0xcc);
    ck_assert_uint_eq(inb(RBR), 'y');
    ck_assert_uint_eq(inb(RBR), 'z');
    ck_assert_uint_eq(inb(IIR), 0xc1);
    clock_step(10 * CHAR_NS);
    ck_assert_uint_eq(inb(IIR), 0xc1);      /* empty: no timeout */

    /* The timeout follows the line speed: 115200 baud is 12x faster. */
    outb(LCR, 0x83);
    outb(RBR, 1);
    outb(LCR, 0x03);
    outb(RBR, 'w');
    clock_step(4 * CHAR_NS / 12 + 1);
    ck_assert_uint_eq(inb(IIR), 0xcc);
}
END_TEST

START_TEST(test_serial_iir_priorities)
{
    com1_loopback_fifo(0);
    outb(IER, 0x0f);
    ck_assert_uint_eq(inb(IIR), 0xc2);      /* enabling THRI: pending */
    outb(RBR, 1);                           /* transmitting: THRE again */
    ck_assert_uint_eq(inb(IIR), 0xc4);      /* data beats THRE */

    for (unsigned n = 0; n < 16; n++) {
        outb(RBR, 2);                       /* the 17th overruns */
    }
    ck_assert_uint_eq(inb(IIR), 0xc6);      /* line status beats all */
    ck_assert_uint_eq(inb(LSR) & 0x02, 0x02);
    ck_assert_uint_eq(inb(IIR), 0xc4);
    for (unsigned n = 0; n < 16; n++) {
        inb(RBR);
    }
    ck_assert_uint_eq(inb(IIR), 0xc2);      /* then THRE */
    ck_assert_uint_eq(inb(IIR), 0xc1);      /* the read acked it */
    /* Loopback modem lines carry no delta bits, as in QEMU. */
    ck_assert_uint_eq(inb(MSR), 0x80);
    ck_assert_int_eq(irq_level[COM1_IRQ], 0);

    /* Character timeout ranks with received data, above THRE. */
    outb(FCR, 0xc1);
    outb(RBR, 3);
    inb(IIR);                               /* ack THRE from the write */
    outb(IER, 0x00);
    outb(IER, 0x03);                        /* THRE pending again */
    ck_assert_uint_eq(inb(IIR), 0xc2);
    outb(IER, 0x00);
    outb(IER, 0x03);
    clock_step(4 * CHAR_NS);
    ck_assert_uint_eq(inb(IIR), 0xcc);
}
END_TEST

START_TEST(test_serial_thre_interrupt)
{
    com1(NULL);
    outb(IER, 0x02);
    ck_assert_int_eq(irq_level[COM1_IRQ], 1);
    ck_assert_uint_eq(inb(IIR), 0x02);
    ck_assert_uint_eq(inb(IIR), 0x01);      /* the read acknowledged it */
    ck_assert_int_eq(irq_level[COM1_IRQ], 0);

    outb(IER, 0x02);                        /* no change: stays quiet */
    ck_assert_uint_eq(inb(IIR), 0x01);
    outb(IER, 0x00);
    outb(IER, 0x02);                        /* rising edge: raised again */
    ck_assert_uint_eq(inb(IIR), 0x02);
    ck_assert_int_eq(irq_raises[COM1_IRQ], 2);
    inb(IIR);

    outb(RBR, 'a');                         /* sent at once: THRE again */
    ck_assert_int_eq(irq_level[COM1_IRQ], 1);
    ck_assert_uint_eq(inb(LSR), 0x60);
    ck_assert_uint_eq(inb(IIR), 0x02);
    ck_assert_int_eq(irq_level[COM1_IRQ], 0);

    /* Machine reset quiets the line and the registers. */
    outb(IER, 0x00);
    outb(IER, 0x02);
    ck_assert_int_eq(irq_level[COM1_IRQ], 1);
    qdev_reset_all();
    ck_assert_int_eq(irq_level[COM1_IRQ], 0);
    ck_assert_uint_eq(inb(IER), 0);
}
END_TEST

START_TEST(test_serial_com_ports)
{
    GError *err = NULL;

    ck_assert_uint_eq(serial_isa_iobase(1), 0x2f8);
    ck_assert_uint_eq(serial_isa_irq(1), 3);
    ck_assert_uint_eq(serial_isa_iobase(3), 0x2e8);
    ck_assert_uint_eq(serial_isa_irq(2), 4);
    com1(NULL);
    ck_assert_ptr_null(serial_isa_create(1, 0x3f8, 4, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "overlaps"));
    g_clear_error(&err);
}
END_TEST

/* ---- 16550A with a chardev: a connected unix socket ---- */

static char *sock_path;

static Chardev *socket_chardev(int *peer)
{
    g_autofree char *spec = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    GError *err = NULL;
    Chardev *chr;
    int fd;

    sock_path = g_strdup_printf("%s/qvmm-test-devices-%d.sock",
                                g_get_tmp_dir(), getpid());
    unlink(sock_path);
    spec = g_strdup_printf("unix:%s,server=on,wait=off", sock_path);
    chr = qemu_chr_new_legacy("serial0", spec, &err);
    ck_assert_msg(chr, "%s", err ? err->message : "");
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    *peer = fd;
    return chr;
}

static void socket_chardev_done(int peer)
{
    close(peer);
    qemu_chr_cleanup_all();
    unlink(sock_path);
    g_clear_pointer(&sock_path, g_free);
}

/* Run the main loop (BQL held, as it expects) until @cond holds. */
static bool spin_until(bool (*cond)(void))
{
    for (int i = 0; i < 2000 && !cond(); i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(500);
    }
    return cond();
}

static void spin(int n)
{
    for (int i = 0; i < n; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(500);
    }
}

/* Received data up to the trigger level (receive interrupts only). */
static bool rx_at_trigger(void)
{
    return inb(IIR) == 0xc4;
}

START_TEST(test_serial_chardev)
{
    GError *err = NULL;
    char buf[64];
    int peer;
    Chardev *chr = socket_chardev(&peer);

    com1(chr);
    outb(FCR, 0xc1);                        /* FIFO, trigger at 14 */
    outb(IER, 0x01);
    spin(20);                               /* let the server accept */

    /* Output goes straight to the backend. */
    outb(RBR, 'h');
    outb(RBR, 'i');
    ck_assert_int_eq(recv(peer, buf, sizeof(buf), 0), 2);
    ck_assert_mem_eq(buf, "hi", 2);

    /* 40 bytes of input: the FIFO takes 16, the rest waits its turn. */
    memset(buf, 'q', 40);
    ck_assert_int_eq(send(peer, buf, 40, 0), 40);
    for (int round = 0; round < 2; round++) {
        ck_assert(spin_until(rx_at_trigger));
        spin(20);
        for (int i = 0; i < 16; i++) {
            ck_assert_uint_eq(inb(RBR), 'q');
        }
    }
    outb(FCR, 0x81);                        /* trigger at 8 for the rest */
    ck_assert(spin_until(rx_at_trigger));
    for (int i = 0; i < 8; i++) {
        ck_assert_uint_eq(inb(RBR), 'q');
    }
    spin(20);
    ck_assert_uint_eq(inb(LSR), 0x60);      /* drained, never overrun */

    /* chardev-send-break: a NUL flagged BI, a line status interrupt. */
    outb(IER, 0x05);
    qemu_chr_send_break(chr);
    ck_assert_uint_eq(inb(IIR), 0xc6);
    ck_assert_uint_eq(inb(LSR), 0x71);
    ck_assert_uint_eq(inb(IIR), 0xc1);      /* 1 byte, trigger 8 */
    ck_assert_uint_eq(inb(RBR), 0);
    ck_assert_uint_eq(inb(LSR), 0x60);

    /* One frontend per chardev. */
    ck_assert_ptr_null(serial_isa_create(1, 0x2f8, 3, chr, &err));
    ck_assert_str_eq(err->message, "Property 'serial.chardev' can't "
                     "take value 'serial0': Device 'serial0' is in use");
    g_error_free(err);
    qdev_destroy_all();
    socket_chardev_done(peer);
}
END_TEST

/* ---- MC146818 RTC ---- */

static uint8_t cmos_read(uint8_t index)
{
    outb(0x70, index);
    return inb(0x71);
}

static void cmos_write(uint8_t index, uint8_t val)
{
    outb(0x70, index);
    outb(0x71, val);
}

static RTCState *rtc(void)
{
    GError *err = NULL;
    RTCState *s = mc146818_rtc_create(RTC_ISA_BASE, RTC_ISA_IRQ, &err);

    ck_assert_msg(s, "%s", err ? err->message : "");
    return s;
}

/* 2023-03-15 13:45:30 (a Wednesday), written in BCD, 24-hour mode. */
static void rtc_set_example_time(void)
{
    cmos_write(0x0b, 0x82);                 /* SET, 24h, BCD */
    cmos_write(0x00, 0x30);
    cmos_write(0x02, 0x45);
    cmos_write(0x04, 0x13);
    cmos_write(0x06, 0x04);
    cmos_write(0x07, 0x15);
    cmos_write(0x08, 0x03);
    cmos_write(0x09, 0x23);
    cmos_write(0x32, 0x20);
    cmos_write(0x0b, 0x02);
}

START_TEST(test_rtc_host_time)
{
    time_t now = time(NULL);
    struct tm tm;
    int year;

    rtc();
    gmtime_r(&now, &tm);
    year = (cmos_read(0x32) >> 4) * 1000 + (cmos_read(0x32) & 15) * 100 +
           (cmos_read(0x09) >> 4) * 10 + (cmos_read(0x09) & 15);
    ck_assert_int_eq(year, tm.tm_year + 1900);
    ck_assert_uint_eq(cmos_read(0x0a), 0x26);
    ck_assert_uint_eq(cmos_read(0x0b), 0x02);
    ck_assert_uint_eq(cmos_read(0x0d), 0x80);
    ck_assert_uint_eq(inb(0x70), 0xff);     /* index port is write-only */
    /* Bit 7 of the index is the NMI mask; it selects nothing. */
    outb(0x70, 0x80 | 0x0d);
    ck_assert_uint_eq(inb(0x71), 0x80);
    ck_assert_uint_eq(cmos_read(0x37), cmos_read(0x32));
}
END_TEST

START_TEST(test_rtc_bcd_binary_12h)
{
    rtc();
    rtc_set_example_time();
    ck_assert_uint_eq(cmos_read(0x00), 0x30);
    ck_assert_uint_eq(cmos_read(0x04), 0x13);
    ck_assert_uint_eq(cmos_read(0x06), 0x04);
    ck_assert_uint_eq(cmos_read(0x09), 0x23);
    ck_assert_uint_eq(cmos_read(0x32), 0x20);

    cmos_write(0x0b, 0x06);                 /* binary, 24h */
    ck_assert_uint_eq(cmos_read(0x00), 30);
    ck_assert_uint_eq(cmos_read(0x02), 45);
    ck_assert_uint_eq(cmos_read(0x04), 13);
    ck_assert_uint_eq(cmos_read(0x09), 23);
    ck_assert_uint_eq(cmos_read(0x32), 20);

    cmos_write(0x0b, 0x04);                 /* binary, 12h */
    ck_assert_uint_eq(cmos_read(0x04), 0x81);   /* 1 PM */
    cmos_write(0x0b, 0x00);                 /* BCD, 12h */
    ck_assert_uint_eq(cmos_read(0x04), 0x81);

    /* Time runs on the virtual clock, across minute boundaries too. */
    cmos_write(0x0b, 0x02);
    clock_step(31 * NANOSECONDS_PER_SECOND);
    ck_assert_uint_eq(cmos_read(0x00), 0x01);
    ck_assert_uint_eq(cmos_read(0x02), 0x46);

    /* One field written while running moves only that field. */
    cmos_write(0x09, 0x24);
    ck_assert_uint_eq(cmos_read(0x09), 0x24);
    ck_assert_uint_eq(cmos_read(0x02), 0x46);
    ck_assert_uint_eq(cmos_read(0x08), 0x03);
}
END_TEST

START_TEST(test_rtc_set_freezes)
{
    rtc();
    rtc_set_example_time();
    cmos_write(0x0b, 0x82);
    clock_step(5 * NANOSECONDS_PER_SECOND);
    ck_assert_uint_eq(cmos_read(0x00), 0x30);
    ck_assert_uint_eq(cmos_read(0x0a) & 0x80, 0);   /* no UIP with SET */
    cmos_write(0x0b, 0x02);
    clock_step(NANOSECONDS_PER_SECOND);
    ck_assert_uint_eq(cmos_read(0x00), 0x31);
}
END_TEST

START_TEST(test_rtc_uip)
{
    rtc();
    /* The clock started on a second boundary at virtual time 0. */
    clock_step(NANOSECONDS_PER_SECOND - 300000);
    ck_assert_uint_eq(cmos_read(0x0a), 0x26);
    clock_step(100000);
    ck_assert_uint_eq(cmos_read(0x0a), 0xa6);
    clock_step(200000);
    ck_assert_uint_eq(cmos_read(0x0a), 0x26);
    /* Dividers held in reset: no updates, no UIP. */
    cmos_write(0x0a, 0x66);
    clock_step(NANOSECONDS_PER_SECOND - 100000);
    ck_assert_uint_eq(cmos_read(0x0a), 0x66);
}
END_TEST

START_TEST(test_rtc_update_interrupt)
{
    rtc();
    cmos_write(0x0b, 0x12);                 /* UIE, 24h */
    clock_step(NANOSECONDS_PER_SECOND / 2);
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 0);
    clock_step(NANOSECONDS_PER_SECOND / 2);
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 1);
    ck_assert_uint_eq(cmos_read(0x0c), 0x90);   /* IRQF | UF */
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 0);
    ck_assert_uint_eq(cmos_read(0x0c), 0x00);
    clock_step(NANOSECONDS_PER_SECOND);
    ck_assert_int_eq(irq_raises[RTC_ISA_IRQ], 2);

    /* UF without UIE is flagged but does not interrupt. */
    cmos_read(0x0c);
    cmos_write(0x0b, 0x02);
    clock_step(NANOSECONDS_PER_SECOND);
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 0);
    ck_assert_uint_eq(cmos_read(0x0c), 0x10);

    /* A machine reset drops the line and the flags. */
    cmos_write(0x0b, 0x12);
    clock_step(NANOSECONDS_PER_SECOND);
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 1);
    qdev_reset_all();
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 0);
    ck_assert_uint_eq(cmos_read(0x0c), 0x00);
}
END_TEST

START_TEST(test_rtc_alarm)
{
    rtc();
    rtc_set_example_time();
    cmos_write(0x01, 0x32);                 /* 13:45:32 */
    cmos_write(0x03, 0x45);
    cmos_write(0x05, 0xc0);                 /* any hour */
    cmos_write(0x0b, 0x22);                 /* AIE */
    clock_step(NANOSECONDS_PER_SECOND);
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 0);
    clock_step(NANOSECONDS_PER_SECOND);
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 1);
    ck_assert_uint_eq(cmos_read(0x0c), 0xb0);   /* IRQF | AF | UF */
}
END_TEST

START_TEST(test_rtc_periodic)
{
    rtc();
    cmos_write(0x0a, 0x26);                 /* 1024 Hz */
    cmos_write(0x0b, 0x42);                 /* PIE */
    clock_step(976562 - 10);
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 0);
    clock_step(20);
    ck_assert_int_eq(irq_level[RTC_ISA_IRQ], 1);
    ck_assert_uint_eq(cmos_read(0x0c), 0xc0);   /* IRQF | PF */
    clock_step(NANOSECONDS_PER_SECOND / 1024);
    ck_assert_int_eq(irq_raises[RTC_ISA_IRQ], 2);
    cmos_write(0x0b, 0x02);
    cmos_read(0x0c);
    clock_step(NANOSECONDS_PER_SECOND / 100);
    ck_assert_uint_eq(cmos_read(0x0c) & 0x40, 0);
}
END_TEST

START_TEST(test_rtc_memory)
{
    RTCState *s = rtc();

    rtc_set_pc_memory_config(s, 512 * MiB, 2 * GiB, 4);
    ck_assert_uint_eq(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
    ck_assert_uint_eq(cmos_read(0x17) | cmos_read(0x18) << 8, 0xffff);
    ck_assert_uint_eq(cmos_read(0x30) | cmos_read(0x31) << 8, 0xffff);
    ck_assert_uint_eq(cmos_read(0x34) | cmos_read(0x35) << 8,
                      (512 - 16) * 16);
    ck_assert_uint_eq(cmos_read(0x5b) | cmos_read(0x5c) << 8 |
                      cmos_read(0x5d) << 16, 2 * 16384);
    ck_assert_uint_eq(cmos_read(0x5f), 3);

    rtc_set_pc_memory_config(s, 32 * MiB, 0, 1);
    ck_assert_uint_eq(cmos_read(0x17) | cmos_read(0x18) << 8, 31 * 1024);
    ck_assert_uint_eq(cmos_read(0x34) | cmos_read(0x35) << 8, 16 * 16);
    ck_assert_uint_eq(cmos_read(0x5f), 0);

    rtc_set_memory(s, 0x40, 0xab);
    ck_assert_uint_eq(rtc_get_memory(s, 0x40), 0xab);
    cmos_write(0x41, 0xcd);
    ck_assert_uint_eq(rtc_get_memory(s, 0x41), 0xcd);
}
END_TEST

/* ---- i8042 ---- */

static void i8042(void)
{
    GError *err = NULL;

    ck_assert_msg(i8042_create(&err), "%s", err ? err->message : "");
}

START_TEST(test_i8042_commands)
{
    int status;

    i8042();
    ck_assert_uint_eq(inb(0x64), 0x1c);     /* empty, SYS, CMD, unlocked */
    outb(0x64, 0xaa);
    ck_assert_uint_eq(inb(0x64) & 0x01, 0x01);
    ck_assert_int_eq(irq_level[1], 1);
    ck_assert_uint_eq(inb(0x60), 0x55);
    ck_assert_int_eq(irq_level[1], 0);
    ck_assert_uint_eq(inb(0x64) & 0x01, 0);
    outb(0x64, 0xab);
    ck_assert_uint_eq(inb(0x60), 0x00);

    outb(0x64, 0x20);
    ck_assert_uint_eq(inb(0x60), 0x07);
    outb(0x64, 0x60);
    outb(0x60, 0x10 | 0x01);                /* keyboard off */
    ck_assert_uint_eq(inb(0x64), 0x1c);     /* SYS stays, as in QEMU */
    outb(0x64, 0xae);
    outb(0x64, 0x20);
    ck_assert_uint_eq(inb(0x60), 0x01);
    outb(0x64, 0xad);
    outb(0x64, 0x20);
    ck_assert_uint_eq(inb(0x60), 0x11);
    ck_assert_int_eq(irq_raises[1], 4);

    /* No keyboard: a byte sent to it times out with 0xfe. */
    outb(0x64, 0xae);
    outb(0x60, 0xf2);
    ck_assert_uint_eq(inb(0x64) & 0x41, 0x41);
    ck_assert_uint_eq(inb(0x60), 0xfe);

    /* AUX loopback comes back flagged as mouse data on IRQ 12. */
    outb(0x64, 0x60);
    outb(0x60, 0x03);
    outb(0x64, 0xd3);
    outb(0x60, 0x5a);
    ck_assert_uint_eq(inb(0x64) & 0x21, 0x21);
    ck_assert_int_eq(irq_level[12], 1);
    ck_assert_uint_eq(inb(0x60), 0x5a);
    ck_assert_int_eq(irq_level[12], 0);

    ck_assert(!main_loop_should_exit(&status));
    ck_assert_int_eq(resets, 0);
}
END_TEST

START_TEST(test_i8042_reset)
{
    int status;

    i8042();
    outb(0x64, 0xfe);
    ck_assert(!main_loop_should_exit(&status));
    ck_assert_int_eq(resets, 1);
    ck_assert_str_eq(last_event, "RESET");
    ck_assert_int_eq(last_cause, SHUTDOWN_CAUSE_GUEST_RESET);

    /* The output port: bit 0 low holds the CPU in reset. */
    outb(0x64, 0xd1);
    outb(0x60, 0xdf);
    ck_assert(!main_loop_should_exit(&status));
    ck_assert_int_eq(resets, 1);
    outb(0x64, 0xd0);
    ck_assert_uint_eq(inb(0x60), 0xdf);
    outb(0x64, 0xd1);
    outb(0x60, 0xde);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 2);

    /* Pulse commands 0xf0-0xff reset when they pulse bit 0. */
    outb(0x64, 0xff);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 2);
    outb(0x64, 0xf0);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 3);
}
END_TEST

/* ---- isa-debug-exit, port 0x80 ---- */

static DeviceState *device_add(const char *spec, GError **errp)
{
    g_autoptr(QOpts) opts = qopts_parse(spec, "driver", errp);

    return opts ? qdev_new_from_opts(opts, errp) : NULL;
}

START_TEST(test_debug_exit)
{
    GError *err = NULL;
    int status = -1;

    ck_assert(device_add("isa-debug-exit,iobase=0xf4,iosize=0x04", &err));
    ck_assert(!main_loop_should_exit(&status));
    ck_assert_uint_eq(inb(0xf4), 0xff);
    ck_assert(io_dispatch_write(AS_PIO, 0xf4, 4, 0x10));
    ck_assert(main_loop_should_exit(&status));
    ck_assert_int_eq(status, 0x21);
    /* Only the low 8 bits reach the parent, as with QEMU's exit(). */
    qdev_reset_all();
    outb(0xf7, 0x80);
    ck_assert(main_loop_should_exit(&status));
    ck_assert_int_eq(status, 1);

    /* The default 2-byte port hit by an outl: split per byte, the first
     * byte decides, as QEMU's 2-byte access would. */
    ck_assert(device_add("isa-debug-exit", &err));
    ck_assert(io_dispatch_write(AS_PIO, 0x501, 4, 0x12345678));
    ck_assert(main_loop_should_exit(&status));
    ck_assert_int_eq(status, (0x5678 << 1 | 1) & 0xff);

    ck_assert(isa_debug_exit_create(0x510, 1, &err));
    outb(0x510, 3);
    ck_assert(main_loop_should_exit(&status));
    ck_assert_int_eq(status, 7);
}
END_TEST

START_TEST(test_ioport80)
{
    GError *err = NULL;

    ck_assert(ioport80_create(&err));
    outb(0x80, 0x12);
    ck_assert_uint_eq(inb(0x80), 0xff);
    ck_assert_str_eq(io_region_name_at(AS_PIO, 0x80), "ioport80");
}
END_TEST

/* ---- ACPI PM and reset control ---- */

#define PM_STS  (PC_ACPI_PM_BASE + ACPI_PM1_EVT_OFFSET)
#define PM_EN   (PC_ACPI_PM_BASE + ACPI_PM1_EVT_OFFSET + 2)
#define PM_CNT  (PC_ACPI_PM_BASE + ACPI_PM1_CNT_OFFSET)
#define PM_TMR  (PC_ACPI_PM_BASE + ACPI_PM_TMR_OFFSET)
#define SCI     PC_ACPI_SCI_IRQ

static AcpiPMState *acpi_pm(void)
{
    GError *err = NULL;
    AcpiPMState *s = acpi_pm_create(PC_ACPI_PM_BASE, SCI, &err);

    ck_assert_msg(s, "%s", err ? err->message : "");
    return s;
}

START_TEST(test_pm_s5)
{
    int status = -1;

    acpi_pm();
    ck_assert_uint_eq(inw(PM_CNT), ACPI_PM1_SCI_EN);
    /* SLP_TYP without SLP_EN, and sleep types we do not offer: nothing. */
    outw(PM_CNT, ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT);
    outw(PM_CNT, (1 << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
    ck_assert(!main_loop_should_exit(&status));
    ck_assert_uint_eq(inw(PM_CNT) & ACPI_PM1_SLP_EN, 0);

    outw(PM_CNT, (ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT) |
         ACPI_PM1_SLP_EN);
    ck_assert(main_loop_should_exit(&status));
    ck_assert_int_eq(status, 0);
    ck_assert_str_eq(last_event, "SHUTDOWN");
    ck_assert_int_eq(last_cause, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);

    /* The same through a byte write of the high half, as some do. */
    outb(PM_CNT + 1, ACPI_PM1_SLP_EN >> 8);
    ck_assert(main_loop_should_exit(&status));
}
END_TEST

START_TEST(test_pm_power_button)
{
    AcpiPMState *s = acpi_pm();

    /* Not enabled yet: the press is lost, as on QEMU. */
    acpi_pm_press_power_button(s);
    ck_assert_uint_eq(inw(PM_STS) & ACPI_PM1_PWRBTN_STS, 0);
    ck_assert_int_eq(irq_level[SCI], 0);

    outw(PM_EN, ACPI_PM1_PWRBTN_STS);
    ck_assert_uint_eq(inw(PM_EN), ACPI_PM1_PWRBTN_STS);
    acpi_pm_press_power_button(s);
    ck_assert_uint_eq(inw(PM_STS) & ACPI_PM1_PWRBTN_STS,
                      ACPI_PM1_PWRBTN_STS);
    ck_assert_int_eq(irq_level[SCI], 1);
    outw(PM_STS, 0);                        /* writing 0 clears nothing */
    ck_assert_int_eq(irq_level[SCI], 1);
    outw(PM_STS, ACPI_PM1_PWRBTN_STS);
    ck_assert_uint_eq(inw(PM_STS) & ACPI_PM1_PWRBTN_STS, 0);
    ck_assert_int_eq(irq_level[SCI], 0);

    /* Masking the event drops the SCI but keeps the status. */
    acpi_pm_press_power_button(s);
    ck_assert_int_eq(irq_level[SCI], 1);
    outb(PM_EN + 1, 0);
    ck_assert_int_eq(irq_level[SCI], 0);
    ck_assert_uint_eq(inw(PM_STS) & ACPI_PM1_PWRBTN_STS,
                      ACPI_PM1_PWRBTN_STS);
    qdev_reset_all();
    ck_assert_uint_eq(inw(PM_STS), 0);
    ck_assert_uint_eq(inw(PM_EN), 0);
}
END_TEST

START_TEST(test_pm_timer)
{
    /* 2^23 ticks of 3.579545 MHz: when bit 23 first flips. */
    const int64_t half_ns = (int64_t)0x800000 * NANOSECONDS_PER_SECOND /
                            ACPI_PM_TIMER_FREQUENCY + 1;

    acpi_pm();
    ck_assert_uint_eq(inl(PM_TMR), 0);
    clock_step(NANOSECONDS_PER_SECOND);
    ck_assert_uint_eq(inl(PM_TMR), ACPI_PM_TIMER_FREQUENCY);
    ck_assert_uint_eq(inw(PM_TMR + 2), ACPI_PM_TIMER_FREQUENCY >> 16);

    outw(PM_EN, ACPI_PM1_TMR_STS);
    clock_step(half_ns - NANOSECONDS_PER_SECOND - 10);
    ck_assert_int_eq(irq_level[SCI], 0);
    clock_step(10);
    ck_assert_int_eq(irq_level[SCI], 1);
    ck_assert_uint_eq(inw(PM_STS), ACPI_PM1_TMR_STS);
    outw(PM_STS, ACPI_PM1_TMR_STS);
    ck_assert_int_eq(irq_level[SCI], 0);
    clock_step(half_ns);
    ck_assert_int_eq(irq_level[SCI], 1);
    /* The counter is 24 bits wide. */
    ck_assert_uint_eq(inl(PM_TMR) >> 24, 0);
}
END_TEST

START_TEST(test_reset_control)
{
    GError *err = NULL;
    ResetControlState *rc = reset_control_create(true, &err);
    int status;

    ck_assert_ptr_nonnull(rc);
    outb(PC_RESET_CONTROL_PORT, 0x02);
    ck_assert_uint_eq(inb(PC_RESET_CONTROL_PORT), 0x02);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 0);
    outb(PC_RESET_CONTROL_PORT, 0x06);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 1);
    ck_assert_int_eq(last_cause, SHUTDOWN_CAUSE_GUEST_RESET);

    /* Unmapped, for a PCI host that forwards byte accesses at 0xcf9. */
    rc = reset_control_create(false, &err);
    ck_assert_ptr_nonnull(rc);
    reset_control_write(rc, 0x04);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 2);
}
END_TEST

/* ---- qdev ---- */

static void check_device_error(const char *spec, const char *msg)
{
    GError *err = NULL;

    ck_assert_msg(!device_add(spec, &err), "%s: accepted", spec);
    ck_assert_str_eq(err->message, msg);
    g_error_free(err);
}

START_TEST(test_qdev_errors)
{
    GError *err = NULL;

    check_device_error("foo", "'foo' is not a valid device model name");
    check_device_error("isa-debug-exit,foo=1",
                       "Property 'isa-debug-exit.foo' not found");
    check_device_error("isa-debug-exit,iobase=abc",
                       "Parameter 'iobase' expects integer");
    check_device_error("isa-debug-exit,iobase=",
                       "Parameter 'iobase' expects integer");
    check_device_error("isa-debug-exit,iobase=0x100000000",
                       "Parameter 'iobase' expects uint32_t");
    check_device_error("isa-serial,chardev=nope",
                       "Property 'serial.chardev' can't find value 'nope'");
    check_device_error("i8042",
                       "Parameter 'driver' expects a pluggable device type");
    check_device_error("mc146818rtc",
                       "Parameter 'driver' expects a pluggable device type");
    check_device_error("isa-debug-exit,id=1x",
                       "Parameter 'id' expects an identifier\n"
                       "Identifiers consist of letters, digits, '-', '.', "
                       "'_', starting with a letter.");
    check_device_error("id=x", "Parameter 'driver' is missing");
    check_device_error("isa-debug-exit,bus=pci.7", "Bus 'pci.7' not found");
    check_device_error("isa-serial,index=4",
                       "Max. supported number of ISA serial ports is 4.");

    ck_assert(device_add("isa-debug-exit,id=x", &err));
    ck_assert_ptr_nonnull(qdev_find_by_id("x"));
    check_device_error("isa-debug-exit,id=x,iobase=0x600",
                       "Duplicate ID 'x' for device");
    check_device_error("foo,id=x", "Duplicate ID 'x' for device");
    ck_assert(device_add("isa-debug-exit,bus=isa.0,iobase=0x602", &err));

    qdev_register_bus("pci.0", "pci");
    check_device_error("isa-debug-exit,bus=pci.0,iobase=0x604",
                       "Device 'isa-debug-exit' can't go on PCI bus");
    qdev_destroy_all();
    check_device_error("isa-debug-exit",
                       "No 'ISA' bus found for device 'isa-debug-exit'");
}
END_TEST

START_TEST(test_qdev_props)
{
    GError *err = NULL;
    DeviceState *dev = qdev_new("isa-serial");

    ck_assert_ptr_nonnull(dev);
    ck_assert(!dev->realized);
    ck_assert(qdev_set_prop(dev, "index", "1", &err));
    ck_assert(!qdev_set_prop(dev, "nope", "1", &err));
    ck_assert_str_eq(err->message, "Property 'isa-serial.nope' not found");
    g_clear_error(&err);
    ck_assert(qdev_realize(dev, &err));
    ck_assert_str_eq(io_region_name_at(AS_PIO, 0x2f8), "serial1");
    ck_assert(!qdev_set_prop(dev, "index", "2", &err));
    ck_assert_str_eq(err->message, "Attempt to set property 'index' on "
                     "anonymous device (type 'isa-serial') after it was "
                     "realized");
    g_clear_error(&err);

    /* Without index=, the next free COM port, then its default base. */
    dev = device_add("isa-serial,id=com", &err);
    ck_assert_ptr_nonnull(dev);
    ck_assert_str_eq(io_region_name_at(AS_PIO, 0x3f8), "serial0");
    qdev_destroy(dev);
    ck_assert_ptr_null(io_region_name_at(AS_PIO, 0x3f8));
    ck_assert_ptr_null(qdev_find_by_id("com"));
    ck_assert_ptr_null(qdev_new("no-such-type"));
}
END_TEST

/* Run @fn with stdout going to a string. */
static char *capture_stdout(void (*fn)(void))
{
    char path[] = "/tmp/qvmm-test-stdout-XXXXXX";
    int fd = mkstemp(path);
    int saved = dup(STDOUT_FILENO);
    char *out = NULL;

    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    dup2(fd, STDOUT_FILENO);
    fn();
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fd);
    ck_assert(g_file_get_contents(path, &out, NULL, NULL));
    unlink(path);
    return out;
}

static void help_types(void)
{
    g_autoptr(QOpts) opts = qopts_parse("help", "driver", NULL);
    ck_assert(qdev_device_help(opts));
}

static void help_debug_exit(void)
{
    g_autoptr(QOpts) opts = qopts_parse("isa-debug-exit,help", "driver",
                                        NULL);
    ck_assert(qdev_device_help(opts));
}

static void help_serial(void)
{
    g_autoptr(QOpts) opts = qopts_parse("isa-serial,?", "driver", NULL);
    ck_assert(qdev_device_help(opts));
}

static void help_none(void)
{
    g_autoptr(QOpts) opts = qopts_parse("isa-serial,index=1", "driver",
                                        NULL);
    ck_assert(!qdev_device_help(opts));
}

START_TEST(test_qdev_help)
{
    g_autofree char *types = capture_stdout(help_types);
    g_autofree char *dbg = capture_stdout(help_debug_exit);
    g_autofree char *ser = capture_stdout(help_serial);
    g_autofree char *none = capture_stdout(help_none);

    ck_assert_ptr_nonnull(strstr(types, "\nInput devices:\n"
                                 "name \"isa-serial\", bus ISA\n"));
    ck_assert_ptr_nonnull(strstr(types, "\nMisc devices:\n"
                                 "name \"isa-debug-exit\", bus ISA\n"));
    ck_assert_ptr_null(strstr(types, "i8042"));
    ck_assert_ptr_null(strstr(types, "mc146818rtc"));
    ck_assert_str_eq(dbg, "isa-debug-exit options:\n"
                     "  iobase=<uint32>        -  (default: 1281)\n"
                     "  iosize=<uint32>        -  (default: 2)\n");
    ck_assert_str_eq(ser, "isa-serial options:\n"
                     "  baudbase=<uint32>      -  (default: 115200)\n"
                     "  chardev=<str>          - ID of a chardev to use "
                     "as a backend\n"
                     "  index=<uint32>         -  (default: 4294967295)\n"
                     "  iobase=<uint32>        -  (default: 4294967295)\n"
                     "  irq=<uint32>           -  (default: 4294967295)\n");
    ck_assert_str_eq(none, "");
}
END_TEST

/* ---- main ---- */

static void add(Suite *s, const char *name, const TTest *t)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

int main(void)
{
    Suite *s = suite_create("devices");
    SRunner *sr;
    int failed;

    qemu_init_main_loop();
    add(s, "serial-reset", test_serial_reset_state);
    add(s, "serial-loopback", test_serial_loopback);
    add(s, "serial-fifo", test_serial_fifo_trigger_levels);
    add(s, "serial-timeout", test_serial_rx_timeout);
    add(s, "serial-iir", test_serial_iir_priorities);
    add(s, "serial-thre", test_serial_thre_interrupt);
    add(s, "serial-ports", test_serial_com_ports);
    add(s, "serial-chardev", test_serial_chardev);
    add(s, "rtc-host-time", test_rtc_host_time);
    add(s, "rtc-formats", test_rtc_bcd_binary_12h);
    add(s, "rtc-set", test_rtc_set_freezes);
    add(s, "rtc-uip", test_rtc_uip);
    add(s, "rtc-update-irq", test_rtc_update_interrupt);
    add(s, "rtc-alarm", test_rtc_alarm);
    add(s, "rtc-periodic", test_rtc_periodic);
    add(s, "rtc-memory", test_rtc_memory);
    add(s, "i8042-commands", test_i8042_commands);
    add(s, "i8042-reset", test_i8042_reset);
    add(s, "debug-exit", test_debug_exit);
    add(s, "ioport80", test_ioport80);
    add(s, "pm-s5", test_pm_s5);
    add(s, "pm-power-button", test_pm_power_button);
    add(s, "pm-timer", test_pm_timer);
    add(s, "reset-control", test_reset_control);
    add(s, "qdev-errors", test_qdev_errors);
    add(s, "qdev-props", test_qdev_props);
    add(s, "qdev-help", test_qdev_help);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
