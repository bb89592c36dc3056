/*
 * 16550A UART on COM1 (0x3f8, IRQ 4): registers, loopback, FIFOs and
 * interrupts through the IOAPIC intercept.
 */
#include <string.h>
#include "libqtest.h"
#include "qtest-tap.h"

#define COM1    0x3f8
#define RBR     (COM1 + 0)
#define THR     (COM1 + 0)
#define DLL     (COM1 + 0)
#define IER     (COM1 + 1)
#define DLM     (COM1 + 1)
#define IIR     (COM1 + 2)
#define FCR     (COM1 + 2)
#define LCR     (COM1 + 3)
#define MCR     (COM1 + 4)
#define LSR     (COM1 + 5)
#define MSR     (COM1 + 6)
#define SCR     (COM1 + 7)
#define COM1_IRQ 4

#define LSR_DR      0x01
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MCR_LOOP    0x10

static QTestState *start(void)
{
    return qt_start("-serial null");
}

static void test_reset_values(const void *data)
{
    QTestState *s = start();

    (void)data;
    QT_ASSERT_EQ(qt_inb(s, IER), 0);
    QT_ASSERT_EQ(qt_inb(s, IIR), 0x01);
    QT_ASSERT_EQ(qt_inb(s, LCR), 0);
    QT_ASSERT_EQ(qt_inb(s, LSR), LSR_THRE | LSR_TEMT);
    QT_ASSERT_EQ(qt_inb(s, SCR), 0);
    qt_quit(s);
}

static void test_scratch(const void *data)
{
    QTestState *s = start();

    (void)data;
    for (unsigned v = 0; v < 0x100; v += 0x33) {
        qt_outb(s, SCR, v);
        QT_ASSERT_EQ(qt_inb(s, SCR), v);
    }
    qt_outb(s, SCR, 0xa5);
    QT_ASSERT_EQ(qt_inb(s, SCR), 0xa5);
    qt_quit(s);
}

static void test_divisor_latch(const void *data)
{
    QTestState *s = start();

    (void)data;
    qt_outb(s, IER, 0x05);
    qt_outb(s, LCR, 0x83);          /* DLAB, 8N1 */
    qt_outb(s, DLL, 0x01);          /* 115200 baud */
    qt_outb(s, DLM, 0x02);
    QT_ASSERT_EQ(qt_inb(s, DLL), 0x01);
    QT_ASSERT_EQ(qt_inb(s, DLM), 0x02);
    QT_ASSERT_EQ(qt_inb(s, LCR), 0x83);
    qt_outb(s, LCR, 0x03);
    /* Without DLAB the same ports are IER and RBR again. */
    QT_ASSERT_EQ(qt_inb(s, IER), 0x05);
    QT_ASSERT_EQ(qt_inb(s, LCR), 0x03);
    qt_outb(s, LCR, 0x80);
    QT_ASSERT_EQ(qt_inb(s, DLL), 0x01);
    QT_ASSERT_EQ(qt_inb(s, DLM), 0x02);
    qt_quit(s);
}

static void test_loopback_echo(const void *data)
{
    QTestState *s = start();
    const char *msg = "qvmm";

    (void)data;
    qt_outb(s, MCR, MCR_LOOP | 0x0f);
    /* The modem outputs come back as inputs: DTR, RTS, OUT1, OUT2. */
    QT_ASSERT_EQ(qt_inb(s, MSR) & 0xf0, 0xf0);
    qt_outb(s, MCR, MCR_LOOP | 0x01);
    QT_ASSERT_EQ(qt_inb(s, MSR) & 0xf0, 0x20);
    for (const char *p = msg; *p; p++) {
        QT_ASSERT_EQ(qt_inb(s, LSR) & LSR_DR, 0);
        qt_outb(s, THR, *p);
        QT_ASSERT_EQ(qt_inb(s, LSR) & (LSR_DR | LSR_THRE),
                     LSR_DR | LSR_THRE);
        QT_ASSERT_EQ(qt_inb(s, RBR), (uint8_t)*p);
    }
    QT_ASSERT_EQ(qt_inb(s, LSR) & LSR_DR, 0);
    qt_quit(s);
}

static void test_fifo(const void *data)
{
    QTestState *s = start();

    (void)data;
    qt_outb(s, FCR, 0x07);          /* enable, clear both FIFOs */
    QT_ASSERT_EQ(qt_inb(s, IIR), 0xc1);
    qt_outb(s, MCR, MCR_LOOP);
    for (unsigned i = 0; i < 8; i++) {
        qt_outb(s, THR, 'a' + i);
    }
    for (unsigned i = 0; i < 8; i++) {
        QT_ASSERT_EQ(qt_inb(s, LSR) & LSR_DR, LSR_DR);
        QT_ASSERT_EQ(qt_inb(s, RBR), 'a' + i);
    }
    QT_ASSERT_EQ(qt_inb(s, LSR) & LSR_DR, 0);
    /* A receive FIFO reset drops what is queued. */
    qt_outb(s, THR, 'z');
    qt_outb(s, FCR, 0x03);
    QT_ASSERT_EQ(qt_inb(s, LSR) & LSR_DR, 0);
    qt_outb(s, FCR, 0x00);
    QT_ASSERT_EQ(qt_inb(s, IIR), 0x01);
    qt_quit(s);
}

static void test_thre_irq(const void *data)
{
    QTestState *s = start();

    (void)data;
    qt_irq_intercept_in(s, "ioapic");
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    qt_outb(s, IER, 0x02);          /* THRI: THR is empty, so at once */
    QT_ASSERT(qt_irq_raised(s, COM1_IRQ));
    QT_ASSERT_EQ(qt_inb(s, IIR), 0x02);
    /* Reading IIR acknowledged it. */
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    QT_ASSERT_EQ(qt_inb(s, IIR), 0x01);
    /* Transmitting empties THR again: a new THRE interrupt. */
    qt_outb(s, THR, 'x');
    QT_ASSERT(qt_irq_raised(s, COM1_IRQ));
    qt_outb(s, IER, 0x00);
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    qt_quit(s);
}

static void test_rx_irq(const void *data)
{
    QTestState *s = start();
    bool fifo = data != NULL;

    qt_irq_intercept_in(s, "ioapic");
    if (fifo) {
        qt_outb(s, FCR, 0x07);      /* trigger level 1 */
    }
    qt_outb(s, MCR, MCR_LOOP);
    qt_outb(s, IER, 0x01);          /* received data available */
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    qt_outb(s, THR, 0x42);
    QT_ASSERT(qt_irq_raised(s, COM1_IRQ));
    QT_ASSERT_EQ(qt_inb(s, IIR), fifo ? 0xc4 : 0x04);
    /* IIR does not acknowledge data: only reading RBR does. */
    QT_ASSERT(qt_irq_raised(s, COM1_IRQ));
    QT_ASSERT_EQ(qt_inb(s, RBR), 0x42);
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    QT_ASSERT_EQ(qt_inb(s, IIR), fifo ? 0xc1 : 0x01);
    qt_quit(s);
}

/* Below the trigger level, data interrupts after four character times. */
static void test_rx_timeout_irq(const void *data)
{
    QTestState *s = start();

    (void)data;
    qt_irq_intercept_in(s, "ioapic");
    qt_outb(s, FCR, 0x47);          /* FIFO, trigger level 4 */
    qt_outb(s, MCR, MCR_LOOP);
    qt_outb(s, IER, 0x01);
    qt_outb(s, THR, 0x31);
    qt_outb(s, THR, 0x32);
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    QT_ASSERT_EQ(qt_inb(s, IIR), 0xc1);
    qt_clock_step(s, 1000000);      /* 1 ms: under a character at 9600 */
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    qt_clock_step(s, 5000000);
    QT_ASSERT(qt_irq_raised(s, COM1_IRQ));
    QT_ASSERT_EQ(qt_inb(s, IIR), 0xcc);
    QT_ASSERT_EQ(qt_inb(s, RBR), 0x31);
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    QT_ASSERT_EQ(qt_inb(s, RBR), 0x32);
    QT_ASSERT_EQ(qt_inb(s, LSR) & LSR_DR, 0);
    qt_clock_step(s, 10000000);
    QT_ASSERT(!qt_irq_raised(s, COM1_IRQ));
    qt_quit(s);
}

int main(int argc, char **argv)
{
    qt_test_add("uart/reset-values", test_reset_values, NULL, QT_BOTH, NULL);
    qt_test_add("uart/scratch", test_scratch, NULL, QT_BOTH, NULL);
    qt_test_add("uart/divisor-latch", test_divisor_latch, NULL, QT_BOTH,
                NULL);
    qt_test_add("uart/loopback-echo", test_loopback_echo, NULL, QT_BOTH,
                NULL);
    qt_test_add("uart/fifo", test_fifo, NULL, QT_BOTH, NULL);
    qt_test_add("uart/thre-irq", test_thre_irq, NULL, QT_BOTH, NULL);
    qt_test_add("uart/rx-irq", test_rx_irq, NULL, QT_BOTH, NULL);
    qt_test_add("uart/rx-irq-fifo", test_rx_irq, "fifo", QT_BOTH, NULL);
    qt_test_add("uart/rx-timeout-irq", test_rx_timeout_irq, NULL,
                QT_QVMM_ONLY, "needs clock_step (qtest accelerator)");
    return qt_test_run(argc, argv);
}
