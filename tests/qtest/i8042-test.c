/*
 * i8042 keyboard controller (0x60/0x64) and the two reset paths of the
 * pc machine: command 0xfe to the i8042 and the reset control register
 * at 0xcf9.  A reset is observed through devices it puts back to their
 * power-on state (the UART's scratch register, the RTC's interrupt
 * enables), which QEMU and qvmm share.
 */
#include <string.h>
#include <glib.h>
#include "libqtest.h"
#include "qtest-tap.h"

#define I8042_DATA  0x60
#define I8042_CMD   0x64

#define STAT_OBF    0x01
#define STAT_SYS    0x04
#define STAT_CMD    0x08
#define STAT_UNLOCKED 0x10

#define COM1_SCR    0x3ff
#define RTC_INDEX   0x70
#define RTC_DATA    0x71

static uint8_t read_output(QTestState *s)
{
    QT_ASSERT_EQ(qt_inb(s, I8042_CMD) & STAT_OBF, STAT_OBF);
    return qt_inb(s, I8042_DATA);
}

/*
 * QEMU's i8042 comes out of reset with SYS clear, for the BIOS's self
 * test to set; qvmm boots without a BIOS and starts in the state one
 * leaves, SYS set.  Deliberate: the rest of the register is shared.
 */
static void test_status(const void *data)
{
    QTestState *s = qt_start(NULL);
    uint8_t status = qt_inb(s, I8042_CMD);

    (void)data;
    QT_ASSERT_EQ(status & ~STAT_SYS, STAT_CMD | STAT_UNLOCKED);
    QT_ASSERT_EQ(status & STAT_SYS, qt_is_qemu() ? 0 : STAT_SYS);
    qt_quit(s);
}

static void test_self_test(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    qt_outb(s, I8042_CMD, 0xaa);
    QT_ASSERT_EQ(read_output(s), 0x55);
    QT_ASSERT_EQ(qt_inb(s, I8042_CMD) & (STAT_OBF | STAT_SYS), STAT_SYS);
    qt_outb(s, I8042_CMD, 0xab);            /* keyboard interface test */
    QT_ASSERT_EQ(read_output(s), 0x00);
    qt_quit(s);
}

static void test_command_byte(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    qt_outb(s, I8042_CMD, 0x60);
    qt_outb(s, I8042_DATA, 0x64);           /* translate, no IRQs, SYS */
    qt_outb(s, I8042_CMD, 0x20);
    QT_ASSERT_EQ(read_output(s), 0x64);
    qt_quit(s);
}

/* Sets state that a machine reset clears. */
static void dirty_devices(QTestState *s)
{
    qt_outb(s, COM1_SCR, 0x5a);
    qt_outb(s, RTC_INDEX, 0x0b);
    qt_outb(s, RTC_DATA, 0x42);             /* PIE | 24H */
    QT_ASSERT_EQ(qt_inb(s, COM1_SCR), 0x5a);
}

static void wait_for_reset(QTestState *s)
{
    int64_t deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    /* The main loop handles the request after the reply. */
    while (qt_inb(s, COM1_SCR) != 0) {
        if (g_get_monotonic_time() > deadline) {
            qt_fail("no reset within 5 s");
        }
        g_usleep(10000);
    }
    qt_outb(s, RTC_INDEX, 0x0b);
    QT_ASSERT_EQ(qt_inb(s, RTC_DATA), 0x02);
    g_autofree char *reply = qt_request(s, "endianness");
    QT_ASSERT(strcmp(reply, "OK little") == 0);
    QT_ASSERT(qt_alive(s));
}

static void test_reset(const void *data)
{
    const char *how = data;
    QTestState *s = qt_start("-serial null");

    dirty_devices(s);
    if (strcmp(how, "i8042") == 0) {
        qt_outb(s, I8042_CMD, 0xfe);
    } else {
        qt_outb(s, 0xcf9, 0x06);
    }
    wait_for_reset(s);
    /* And again: the second request must work as well. */
    dirty_devices(s);
    qt_outb(s, I8042_CMD, 0xfe);
    wait_for_reset(s);
    qt_quit(s);
}

/* With -no-reboot a reset request ends the VMM, with status 0. */
static void test_no_reboot(const void *data)
{
    QTestState *s = qt_start("-serial null -no-reboot");

    (void)data;
    qt_send(s, "outb 0x64 0xfe");
    QT_ASSERT_EQ(qt_wait_exit(s, 10000), 0);
}

int main(int argc, char **argv)
{
    qt_test_add("i8042/status", test_status, NULL, QT_BOTH, NULL);
    qt_test_add("i8042/self-test", test_self_test, NULL, QT_BOTH, NULL);
    qt_test_add("i8042/command-byte", test_command_byte, NULL, QT_BOTH, NULL);
    qt_test_add("i8042/reset", test_reset, "i8042", QT_BOTH, NULL);
    qt_test_add("reset-control/cf9", test_reset, "cf9", QT_BOTH, NULL);
    qt_test_add("i8042/reset-no-reboot", test_no_reboot, NULL, QT_BOTH,
                NULL);
    return qt_test_run(argc, argv);
}
