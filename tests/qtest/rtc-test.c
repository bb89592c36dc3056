/*
 * MC146818 RTC (0x70/0x71, IRQ 8): register defaults, BCD and binary,
 * 12/24-hour modes, setting the time, and the update cycle.
 *
 * Cases that step the clock need qvmm's qtest accelerator; under QEMU
 * TCG -S the RTC runs on the host clock, which one case uses instead.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <glib.h>
#include "libqtest.h"
#include "qtest-tap.h"

#define RTC_INDEX   0x70
#define RTC_DATA    0x71
#define RTC_IRQ     8

enum {
    SEC = 0x00, MIN = 0x02, HOUR = 0x04, WDAY = 0x06, MDAY = 0x07,
    MON = 0x08, YEAR = 0x09, REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c,
    REG_D = 0x0d, CENTURY = 0x32,
};

#define B_SET   0x80
#define B_PIE   0x40
#define B_UIE   0x10
#define B_DM    0x04
#define B_24H   0x02
#define C_IRQF  0x80
#define C_PF    0x40
#define C_UF    0x10

#define NS_PER_SEC 1000000000LL

static uint8_t cmos_read(QTestState *s, uint8_t idx)
{
    qt_outb(s, RTC_INDEX, idx);
    return qt_inb(s, RTC_DATA);
}

static void cmos_write(QTestState *s, uint8_t idx, uint8_t val)
{
    qt_outb(s, RTC_INDEX, idx);
    qt_outb(s, RTC_DATA, val);
}

static int from_bcd(uint8_t v)
{
    if ((v & 0x0f) > 9 || (v >> 4) > 9) {
        qt_fail("0x%02x is not BCD", v);
    }
    return (v >> 4) * 10 + (v & 0x0f);
}

/* The RTC's time as seconds since the epoch (24-hour mode). */
static time_t rtc_time_once(QTestState *s, bool bcd)
{
    static const uint8_t regs[] = { SEC, MIN, HOUR, MDAY, MON, YEAR,
                                    CENTURY };
    int v[G_N_ELEMENTS(regs)];
    struct tm tm = { 0 };

    for (unsigned i = 0; i < G_N_ELEMENTS(regs); i++) {
        uint8_t raw = cmos_read(s, regs[i]);
        v[i] = bcd ? from_bcd(raw) : raw;
    }
    tm.tm_sec = v[0];
    tm.tm_min = v[1];
    tm.tm_hour = v[2];
    tm.tm_mday = v[3];
    tm.tm_mon = v[4] - 1;
    tm.tm_year = v[6] * 100 + v[5] - 1900;
    return timegm(&tm);
}

/* Two reads that agree: no update came between the fields. */
static time_t rtc_time(QTestState *s, bool bcd)
{
    time_t t = rtc_time_once(s, bcd);

    for (unsigned i = 0; i < 5; i++) {
        time_t again = rtc_time_once(s, bcd);
        if (again == t) {
            return t;
        }
        t = again;
    }
    qt_fail("the RTC time does not hold still");
}

static QTestState *start(void)
{
    return qt_start(NULL);
}

static void test_defaults(const void *data)
{
    QTestState *s = start();

    (void)data;
    QT_ASSERT_EQ(cmos_read(s, REG_A) & 0x7f, 0x26);
    QT_ASSERT_EQ(cmos_read(s, REG_B), B_24H);
    QT_ASSERT_EQ(cmos_read(s, REG_C), 0);
    QT_ASSERT_EQ(cmos_read(s, REG_D), 0x80);
    qt_quit(s);
}

/* The clock starts at the host's UTC time, BCD-encoded. */
static void test_host_time_bcd(const void *data)
{
    QTestState *s = start();
    time_t host = time(NULL), rtc = rtc_time(s, true);

    (void)data;
    if (llabs((long long)(rtc - host)) > 5) {
        qt_fail("RTC time %lld, host time %lld", (long long)rtc,
                (long long)host);
    }
    QT_ASSERT_EQ(cmos_read(s, CENTURY), 0x20);
    qt_quit(s);
}

static void test_binary_mode(const void *data)
{
    QTestState *s = start();
    time_t bcd, bin;

    (void)data;
    bcd = rtc_time(s, true);
    cmos_write(s, REG_B, B_24H | B_DM);
    QT_ASSERT_EQ(cmos_read(s, REG_B), B_24H | B_DM);
    bin = rtc_time(s, false);
    QT_ASSERT(bin >= bcd && bin - bcd <= 2);
    QT_ASSERT_EQ(cmos_read(s, CENTURY), 20);
    qt_quit(s);
}

typedef struct RtcTime {
    uint8_t sec, min, hour, wday, mday, mon, year, century;
} RtcTime;

/* Writes @t with SET held, then lets the clock run from it. */
static void set_time(QTestState *s, const RtcTime *t, uint8_t mode)
{
    cmos_write(s, REG_B, B_SET | mode);
    cmos_write(s, SEC, t->sec);
    cmos_write(s, MIN, t->min);
    cmos_write(s, HOUR, t->hour);
    cmos_write(s, WDAY, t->wday);
    cmos_write(s, MDAY, t->mday);
    cmos_write(s, MON, t->mon);
    cmos_write(s, YEAR, t->year);
    cmos_write(s, CENTURY, t->century);
}

static void check_time(QTestState *s, const RtcTime *t, int sec_slack)
{
    int sec = cmos_read(s, SEC) - t->sec;

    QT_ASSERT(sec >= 0 && sec <= sec_slack);
    QT_ASSERT_EQ(cmos_read(s, MIN), t->min);
    QT_ASSERT_EQ(cmos_read(s, HOUR), t->hour);
    QT_ASSERT_EQ(cmos_read(s, WDAY), t->wday);
    QT_ASSERT_EQ(cmos_read(s, MDAY), t->mday);
    QT_ASSERT_EQ(cmos_read(s, MON), t->mon);
    QT_ASSERT_EQ(cmos_read(s, YEAR), t->year);
    QT_ASSERT_EQ(cmos_read(s, CENTURY), t->century);
}

static void test_set_time(const void *data)
{
    QTestState *s = start();
    const RtcTime t = { 0x10, 0x30, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20 };

    (void)data;
    set_time(s, &t, B_24H);
    check_time(s, &t, 0);           /* SET holds the registers */
    cmos_write(s, REG_B, B_24H);
    check_time(s, &t, 1);           /* QEMU's clock is real time */
    qt_quit(s);
}

/* Changing DM or 24H re-encodes the running time. */
static void test_hour_modes(const void *data)
{
    QTestState *s = start();
    const RtcTime t = { 0x00, 0x30, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20 };

    (void)data;
    set_time(s, &t, B_24H);
    cmos_write(s, REG_B, B_24H);
    QT_ASSERT_EQ(cmos_read(s, HOUR), 0x23);
    cmos_write(s, REG_B, 0);                /* BCD, 12-hour */
    QT_ASSERT_EQ(cmos_read(s, HOUR), 0x80 | 0x11);
    QT_ASSERT_EQ(cmos_read(s, MIN), 0x30);
    cmos_write(s, REG_B, B_DM);             /* binary, 12-hour */
    QT_ASSERT_EQ(cmos_read(s, HOUR), 0x80 | 11);
    QT_ASSERT_EQ(cmos_read(s, MIN), 30);
    cmos_write(s, REG_B, B_DM | B_24H);     /* binary, 24-hour */
    QT_ASSERT_EQ(cmos_read(s, HOUR), 23);
    QT_ASSERT_EQ(cmos_read(s, MDAY), 29);
    qt_quit(s);
}

/* One virtual second from @from must give @to. */
static void test_rollover(const void *data)
{
    const RtcTime *tt = data;
    QTestState *s = start();

    set_time(s, &tt[0], B_24H);
    cmos_write(s, REG_B, B_24H);
    check_time(s, &tt[0], 0);
    qt_clock_step(s, NS_PER_SEC);
    check_time(s, &tt[1], 0);
    qt_quit(s);
}

static const RtcTime leap_day[2] = {
    { 0x59, 0x59, 0x23, 0x04, 0x28, 0x02, 0x24, 0x20 },
    { 0x00, 0x00, 0x00, 0x05, 0x29, 0x02, 0x24, 0x20 },
};
static const RtcTime new_century[2] = {
    { 0x59, 0x59, 0x23, 0x05, 0x31, 0x12, 0x99, 0x20 },
    { 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0x21 },
};

static void test_update_irq(const void *data)
{
    QTestState *s = start();
    uint8_t sec;

    (void)data;
    qt_irq_intercept_in(s, "ioapic");
    cmos_read(s, REG_C);
    sec = from_bcd(cmos_read(s, SEC));
    /* Without UIE the flag is latched but no interrupt is raised. */
    qt_clock_step(s, NS_PER_SEC);
    QT_ASSERT(!qt_irq_raised(s, RTC_IRQ));
    QT_ASSERT_EQ(cmos_read(s, REG_C), C_UF);
    QT_ASSERT_EQ(from_bcd(cmos_read(s, SEC)), (sec + 1) % 60);
    cmos_write(s, REG_B, B_24H | B_UIE);
    qt_clock_step(s, NS_PER_SEC);
    QT_ASSERT(qt_irq_raised(s, RTC_IRQ));
    QT_ASSERT_EQ(from_bcd(cmos_read(s, SEC)), (sec + 2) % 60);
    QT_ASSERT_EQ(cmos_read(s, REG_C), C_IRQF | C_UF);
    QT_ASSERT(!qt_irq_raised(s, RTC_IRQ));
    QT_ASSERT_EQ(cmos_read(s, REG_C), 0);
    qt_quit(s);
}

/* Rate 6 in register A: 1024 Hz. */
static void test_periodic_irq(const void *data)
{
    QTestState *s = start();

    (void)data;
    qt_irq_intercept_in(s, "ioapic");
    cmos_read(s, REG_C);
    cmos_write(s, REG_B, B_24H | B_PIE);
    QT_ASSERT(!qt_irq_raised(s, RTC_IRQ));
    qt_clock_step(s, NS_PER_SEC / 1024 + 1);
    QT_ASSERT(qt_irq_raised(s, RTC_IRQ));
    QT_ASSERT_EQ(cmos_read(s, REG_C) & (C_IRQF | C_PF), C_IRQF | C_PF);
    QT_ASSERT(!qt_irq_raised(s, RTC_IRQ));
    qt_quit(s);
}

/* QEMU's RTC runs on the host clock even with the vCPUs stopped. */
static void test_update_irq_realtime(const void *data)
{
    QTestState *s = start();
    int64_t deadline = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;

    (void)data;
    qt_irq_intercept_in(s, "ioapic");
    cmos_read(s, REG_C);
    cmos_write(s, REG_B, B_24H | B_UIE);
    while (!qt_irq_raised(s, RTC_IRQ) &&
           g_get_monotonic_time() < deadline) {
        g_usleep(20000);
    }
    QT_ASSERT(qt_irq_raised(s, RTC_IRQ));
    QT_ASSERT_EQ(cmos_read(s, REG_C) & (C_IRQF | C_UF), C_IRQF | C_UF);
    QT_ASSERT(!qt_irq_raised(s, RTC_IRQ));
    qt_quit(s);
}

int main(int argc, char **argv)
{
    const char *clk = "needs clock_step (qtest accelerator)";

    qt_test_add("rtc/defaults", test_defaults, NULL, QT_BOTH, NULL);
    qt_test_add("rtc/host-time-bcd", test_host_time_bcd, NULL, QT_BOTH,
                NULL);
    qt_test_add("rtc/binary-mode", test_binary_mode, NULL, QT_BOTH, NULL);
    qt_test_add("rtc/set-time", test_set_time, NULL, QT_BOTH, NULL);
    qt_test_add("rtc/hour-modes", test_hour_modes, NULL, QT_BOTH, NULL);
    qt_test_add("rtc/rollover-leap-day", test_rollover, leap_day,
                QT_QVMM_ONLY, clk);
    qt_test_add("rtc/rollover-century", test_rollover, new_century,
                QT_QVMM_ONLY, clk);
    qt_test_add("rtc/update-irq", test_update_irq, NULL, QT_QVMM_ONLY, clk);
    qt_test_add("rtc/periodic-irq", test_periodic_irq, NULL, QT_QVMM_ONLY,
                clk);
    qt_test_add("rtc/update-irq-realtime", test_update_irq_realtime, NULL,
                QT_QEMU_ONLY, "the virtual clock only moves by clock_step");
    return qt_test_run(argc, argv);
}
