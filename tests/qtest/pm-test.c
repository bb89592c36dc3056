/*
 * The ACPI PM block at 0x600 (PM1 event and control, PM timer) and the
 * port 0x80 dummy.  The PM block is qvmm only: on QEMU's pc the PIIX4
 * maps it where firmware programs PMBASE, which does not happen under -S.
 */
#include <glib.h>
#include "libqtest.h"
#include "qtest-tap.h"

#define PM_BASE     0x600
#define PM1_STS     (PM_BASE + 0)
#define PM1_EN      (PM_BASE + 2)
#define PM1_CNT     (PM_BASE + 4)
#define PM_TMR      (PM_BASE + 8)
#define SCI_EN      0x0001
#define SLP_EN      (1 << 13)
#define PM_TMR_HZ   3579545
#define SCI_IRQ     9

static void test_pm_timer(const void *data)
{
    QTestState *s = qt_start(NULL);
    uint32_t t0, t1;

    (void)data;
    t0 = qt_inl(s, PM_TMR);
    qt_clock_step(s, 1000000000);       /* one second of virtual time */
    t1 = qt_inl(s, PM_TMR);
    QT_ASSERT((t0 & ~0xffffffu) == 0 && (t1 & ~0xffffffu) == 0);
    /* 24 bits counting at 3.579545 MHz: one second, give or take a tick. */
    QT_ASSERT(((t1 - t0) & 0xffffff) >= PM_TMR_HZ - 1 &&
              ((t1 - t0) & 0xffffff) <= PM_TMR_HZ + 1);
    qt_quit(s);
}

static void test_control_and_status(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    /* No SMI_CMD: ACPI mode is always on. */
    QT_ASSERT(qt_inw(s, PM1_CNT) & SCI_EN);
    qt_outw(s, PM1_EN, 0x0100);         /* power button enable */
    QT_ASSERT_EQ(qt_inw(s, PM1_EN), 0x0100);
    /* Nothing pending: the SCI stays low. */
    qt_irq_intercept_in(s, "ioapic");
    QT_ASSERT(!qt_irq_raised(s, SCI_IRQ));
    QT_ASSERT_EQ(qt_inw(s, PM1_STS) & 0x0100, 0);
    qt_quit(s);
}

/* SLP_TYP 0 (our \_S5) with SLP_EN: the VMM exits with status 0. */
static void test_s5_poweroff(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    qt_outw(s, PM1_CNT, SLP_EN);
    QT_ASSERT_EQ(qt_wait_exit(s, 10000), 0);
}

/* Under -no-shutdown the same write stops the VM and the process stays. */
static void test_s5_no_shutdown(const void *data)
{
    QTestState *s = qt_start("-no-shutdown");

    (void)data;
    qt_outw(s, PM1_CNT, SLP_EN);
    g_usleep(200 * 1000);
    QT_ASSERT(qt_alive(s));
    QT_ASSERT(qt_inw(s, PM1_CNT) & SCI_EN);     /* still answering */
    qt_quit(s);
}

static void test_port80(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    qt_outb(s, 0x80, 0x42);
    QT_ASSERT_EQ(qt_inb(s, 0x80), 0xff);
    qt_quit(s);
}

int main(int argc, char **argv)
{
    const char *why = "QEMU maps the PM block only once firmware sets PMBASE";

    qt_test_add("pm/timer", test_pm_timer, NULL, QT_QVMM_ONLY,
                "needs clock_step (qtest accelerator)");
    qt_test_add("pm/control-status", test_control_and_status, NULL,
                QT_QVMM_ONLY, why);
    qt_test_add("pm/s5-poweroff", test_s5_poweroff, NULL, QT_QVMM_ONLY, why);
    qt_test_add("pm/s5-no-shutdown", test_s5_no_shutdown, NULL,
                QT_QVMM_ONLY, why);
    qt_test_add("port80/dummy", test_port80, NULL, QT_BOTH, NULL);
    return qt_test_run(argc, argv);
}
