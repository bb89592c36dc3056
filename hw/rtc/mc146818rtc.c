/*
 * MC146818 RTC with 128 bytes of CMOS memory.
 *
 * The clock is kept as nanoseconds since the epoch at a point of the
 * virtual clock, and the time registers are recomputed from it when read.
 * The once-a-second update cycle (update-ended and alarm interrupts) and
 * the periodic interrupt are virtual-clock timers, so under qtest they
 * move only when the test steps the clock.
 */
#include "qemu/osdep.h"
#include <time.h>
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/rtc/mc146818rtc.h"

#define ISA_NUM_IRQS        16
#define RTC_CLOCK_RATE      32768
/* UIP is set for the last 244 us (8 cycles of 32 kHz) before an update. */
#define UIP_HOLD_NS         (8 * NANOSECONDS_PER_SECOND / RTC_CLOCK_RATE)

enum {
    RTC_SECONDS = 0x00,
    RTC_SECONDS_ALARM = 0x01,
    RTC_MINUTES = 0x02,
    RTC_MINUTES_ALARM = 0x03,
    RTC_HOURS = 0x04,
    RTC_HOURS_ALARM = 0x05,
    RTC_DAY_OF_WEEK = 0x06,
    RTC_DAY_OF_MONTH = 0x07,
    RTC_MONTH = 0x08,
    RTC_YEAR = 0x09,
    RTC_REG_A = 0x0a,
    RTC_REG_B = 0x0b,
    RTC_REG_C = 0x0c,
    RTC_REG_D = 0x0d,
    RTC_CENTURY = 0x32,
    RTC_IBM_PS2_CENTURY = 0x37,
};

#define REG_A_UIP           0x80
#define REG_A_DV            0x70    /* divider chain select */
#define REG_A_RATE          0x0f

#define REG_B_SET           0x80
#define REG_B_PIE           0x40
#define REG_B_AIE           0x20
#define REG_B_UIE           0x10
#define REG_B_SQWE          0x08
#define REG_B_DM            0x04    /* binary, not BCD */
#define REG_B_24H           0x02

/* C's flags line up with B's enables (PF/PIE, AF/AIE, UF/UIE). */
#define REG_C_IRQF          0x80
#define REG_C_PF            0x40
#define REG_C_AF            0x20
#define REG_C_UF            0x10
#define REG_C_MASK          0x70

#define REG_D_VRT           0x80

struct RTCState {
    DeviceState parent;

    /* properties */
    uint16_t iobase;
    uint8_t irq;

    IORegion *io;
    QEMUTimer *update_timer;
    QEMUTimer *periodic_timer;

    uint8_t cmos[128];
    uint8_t index;
    int64_t base_ns;            /* guest time (ns since epoch) ... */
    int64_t base_clock;         /* ... at this virtual clock reading */
    int64_t next_periodic_tick; /* in 32 kHz cycles of the virtual clock */
    bool irq_level;
};

/* ---- clock ---- */

/*
 * A guest may write any year up to 9999, beyond int64 nanoseconds (2262):
 * the arithmetic wraps, as with QEMU's unsigned base, instead of
 * overflowing.
 */
static int64_t rtc_guest_ns(RTCState *s)
{
    return (int64_t)((uint64_t)s->base_ns +
        (uint64_t)(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) - s->base_clock));
}

static void rtc_set_guest_ns(RTCState *s, int64_t ns)
{
    s->base_ns = ns;
    s->base_clock = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

/* Dividers in reset (DV = 11x) stop the update cycle altogether. */
static bool rtc_divider_reset(RTCState *s)
{
    return (s->cmos[RTC_REG_A] & 0x60) == 0x60;
}

/* The time registers follow the clock: no SET, dividers at 32 kHz. */
static bool rtc_running(RTCState *s)
{
    return !(s->cmos[RTC_REG_B] & REG_B_SET) &&
           (s->cmos[RTC_REG_A] & REG_A_DV) <= 0x20;
}

static bool rtc_update_in_progress(RTCState *s)
{
    return rtc_running(s) &&
           rtc_guest_ns(s) % NANOSECONDS_PER_SECOND >=
           NANOSECONDS_PER_SECOND - UIP_HOLD_NS;
}

/* ---- register encoding ---- */

static int rtc_to_bcd(RTCState *s, int v)
{
    return (s->cmos[RTC_REG_B] & REG_B_DM) ? v : ((v / 10) << 4) | (v % 10);
}

/* -1 for an alarm "don't care" value (0xc0-0xff). */
static int rtc_from_bcd(RTCState *s, int v)
{
    if ((v & 0xc0) == 0xc0) {
        return -1;
    }
    return (s->cmos[RTC_REG_B] & REG_B_DM) ? v : (v >> 4) * 10 + (v & 0x0f);
}

/* An hours register (time or alarm) as 0-23, honouring 12-hour mode. */
static int rtc_decode_hour(RTCState *s, uint8_t reg)
{
    int h;

    if ((reg & 0xc0) == 0xc0) {
        return -1;
    }
    h = rtc_from_bcd(s, reg & 0x7f);
    if (s->cmos[RTC_REG_B] & REG_B_24H) {
        return h;
    }
    return h % 12 + ((reg & 0x80) ? 12 : 0);
}

static void rtc_tm_to_cmos(RTCState *s, const struct tm *tm)
{
    int year = tm->tm_year + 1900;
    int h = tm->tm_hour;

    s->cmos[RTC_SECONDS] = rtc_to_bcd(s, tm->tm_sec);
    s->cmos[RTC_MINUTES] = rtc_to_bcd(s, tm->tm_min);
    if (s->cmos[RTC_REG_B] & REG_B_24H) {
        s->cmos[RTC_HOURS] = rtc_to_bcd(s, h);
    } else {
        s->cmos[RTC_HOURS] = rtc_to_bcd(s, h % 12 ? h % 12 : 12) |
                             (h >= 12 ? 0x80 : 0);
    }
    s->cmos[RTC_DAY_OF_WEEK] = rtc_to_bcd(s, tm->tm_wday + 1);
    s->cmos[RTC_DAY_OF_MONTH] = rtc_to_bcd(s, tm->tm_mday);
    s->cmos[RTC_MONTH] = rtc_to_bcd(s, tm->tm_mon + 1);
    s->cmos[RTC_YEAR] = rtc_to_bcd(s, year % 100);
    s->cmos[RTC_CENTURY] = rtc_to_bcd(s, year / 100);
}

static void rtc_cmos_to_tm(RTCState *s, struct tm *tm)
{
    memset(tm, 0, sizeof(*tm));
    tm->tm_sec = rtc_from_bcd(s, s->cmos[RTC_SECONDS]);
    tm->tm_min = rtc_from_bcd(s, s->cmos[RTC_MINUTES]);
    tm->tm_hour = rtc_decode_hour(s, s->cmos[RTC_HOURS]);
    tm->tm_mday = rtc_from_bcd(s, s->cmos[RTC_DAY_OF_MONTH]);
    tm->tm_mon = rtc_from_bcd(s, s->cmos[RTC_MONTH]) - 1;
    tm->tm_year = rtc_from_bcd(s, s->cmos[RTC_YEAR]) +
                  rtc_from_bcd(s, s->cmos[RTC_CENTURY]) * 100 - 1900;
}

/* Bring the time registers up to the clock. */
static void rtc_refresh_cmos(RTCState *s)
{
    time_t secs = rtc_guest_ns(s) / NANOSECONDS_PER_SECOND;
    struct tm tm;

    gmtime_r(&secs, &tm);
    rtc_tm_to_cmos(s, &tm);
}

/*
 * The guest has written a time: restart the clock from the registers,
 * @phase_ns into the second.
 */
static void rtc_set_time_from_cmos(RTCState *s, int64_t phase_ns)
{
    struct tm tm;

    rtc_cmos_to_tm(s, &tm);
    rtc_set_guest_ns(s, (int64_t)((uint64_t)timegm(&tm) *
                                  NANOSECONDS_PER_SECOND + phase_ns));
}

/* ---- interrupts and timers ---- */

static void rtc_set_irq(RTCState *s, bool level)
{
    if (level != s->irq_level) {
        s->irq_level = level;
        pc_set_irq(s->irq, level);
    }
}

/* Latch flags in C; interrupt if a newly set one is enabled in B. */
static void rtc_raise_flags(RTCState *s, uint8_t flags)
{
    uint8_t fresh = flags & ~s->cmos[RTC_REG_C];

    s->cmos[RTC_REG_C] |= flags;
    if (fresh & s->cmos[RTC_REG_B] & REG_C_MASK) {
        s->cmos[RTC_REG_C] |= REG_C_IRQF;
        rtc_set_irq(s, true);
    }
}

/* Arm the update cycle for the next second boundary of guest time. */
static void rtc_arm_update(RTCState *s)
{
    int64_t into = rtc_guest_ns(s) % NANOSECONDS_PER_SECOND;

    if (rtc_divider_reset(s)) {
        timer_del(s->update_timer);
        return;
    }
    timer_mod(s->update_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
              NANOSECONDS_PER_SECOND - into);
}

static bool rtc_alarm_matches(RTCState *s)
{
    int asec = rtc_from_bcd(s, s->cmos[RTC_SECONDS_ALARM]);
    int amin = rtc_from_bcd(s, s->cmos[RTC_MINUTES_ALARM]);
    int ahour = rtc_decode_hour(s, s->cmos[RTC_HOURS_ALARM]);

    return (asec < 0 || asec == rtc_from_bcd(s, s->cmos[RTC_SECONDS])) &&
           (amin < 0 || amin == rtc_from_bcd(s, s->cmos[RTC_MINUTES])) &&
           (ahour < 0 || ahour == rtc_decode_hour(s, s->cmos[RTC_HOURS]));
}

static void rtc_update_cycle(void *opaque)
{
    RTCState *s = opaque;
    uint8_t flags = REG_C_UF;

    /* With SET the registers stand still, so the alarm cannot match. */
    if (rtc_running(s)) {
        rtc_refresh_cmos(s);
        if (rtc_alarm_matches(s)) {
            flags |= REG_C_AF;
        }
    }
    rtc_raise_flags(s, flags);
    rtc_arm_update(s);
}

static int64_t rtc_cycles_to_ns(int64_t cycles)
{
    return cycles / RTC_CLOCK_RATE * NANOSECONDS_PER_SECOND +
           cycles % RTC_CLOCK_RATE * NANOSECONDS_PER_SECOND / RTC_CLOCK_RATE;
}

static int64_t rtc_ns_to_cycles(int64_t ns)
{
    return ns / NANOSECONDS_PER_SECOND * RTC_CLOCK_RATE +
           ns % NANOSECONDS_PER_SECOND * RTC_CLOCK_RATE /
           NANOSECONDS_PER_SECOND;
}

/* Periodic interrupt period in 32 kHz cycles, or 0 when off. */
static int64_t rtc_periodic_cycles(RTCState *s)
{
    int rate = s->cmos[RTC_REG_A] & REG_A_RATE;

    if (!(s->cmos[RTC_REG_B] & REG_B_PIE) || !rate) {
        return 0;
    }
    if (rate <= 2) {
        rate += 7;      /* rates 1 and 2 repeat 8 and 9 on a 32 kHz base */
    }
    return 1 << (rate - 1);
}

static void rtc_arm_periodic(RTCState *s, bool restart)
{
    int64_t period = rtc_periodic_cycles(s);
    int64_t now = rtc_ns_to_cycles(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));

    if (!period) {
        timer_del(s->periodic_timer);
        return;
    }
    /* Ticks lost while the host did not run us are dropped, not queued. */
    if (restart || s->next_periodic_tick + period <= now) {
        s->next_periodic_tick = now + period;
    } else {
        s->next_periodic_tick += period;
    }
    timer_mod(s->periodic_timer, rtc_cycles_to_ns(s->next_periodic_tick));
}

static void rtc_periodic(void *opaque)
{
    RTCState *s = opaque;

    rtc_raise_flags(s, REG_C_PF);
    rtc_arm_periodic(s, false);
}

/* ---- registers ---- */

static void rtc_write_reg_a(RTCState *s, uint8_t val)
{
    uint8_t old = s->cmos[RTC_REG_A];

    if ((val & 0x60) == 0x60) {
        if (rtc_running(s)) {
            rtc_refresh_cmos(s);
        }
    } else if ((old & 0x60) == 0x60 && (val & REG_A_DV) <= 0x20 &&
               !(s->cmos[RTC_REG_B] & REG_B_SET)) {
        /* Leaving divider reset: the first update is half a second on. */
        rtc_set_time_from_cmos(s, NANOSECONDS_PER_SECOND / 2);
    }
    s->cmos[RTC_REG_A] = val & ~REG_A_UIP;
    if ((old ^ val) & REG_A_RATE) {
        rtc_arm_periodic(s, true);
    }
    rtc_arm_update(s);
}

static void rtc_write_reg_b(RTCState *s, uint8_t val)
{
    uint8_t old = s->cmos[RTC_REG_B];

    if (val & REG_B_SET) {
        if (rtc_running(s)) {
            rtc_refresh_cmos(s);
        }
        /* Setting SET clears UIE, as on the real part. */
        val &= ~REG_B_UIE;
    } else if ((old & REG_B_SET) && (s->cmos[RTC_REG_A] & REG_A_DV) <= 0x20) {
        rtc_set_time_from_cmos(s, rtc_guest_ns(s) % NANOSECONDS_PER_SECOND);
    }
    /* A flag already set in C interrupts as soon as it is enabled. */
    if (val & s->cmos[RTC_REG_C] & REG_C_MASK) {
        s->cmos[RTC_REG_C] |= REG_C_IRQF;
        rtc_set_irq(s, true);
    } else {
        s->cmos[RTC_REG_C] &= ~REG_C_IRQF;
        rtc_set_irq(s, false);
    }
    s->cmos[RTC_REG_B] = val;
    if ((old ^ val) & REG_B_PIE) {
        rtc_arm_periodic(s, true);
    }
    rtc_arm_update(s);
}

static void rtc_write_time(RTCState *s, unsigned index, uint8_t val)
{
    if (!rtc_running(s)) {
        s->cmos[index] = val;
        return;
    }
    /* Start from the current time so only this field changes. */
    rtc_refresh_cmos(s);
    s->cmos[index] = val;
    rtc_set_time_from_cmos(s, rtc_guest_ns(s) % NANOSECONDS_PER_SECOND);
    rtc_arm_update(s);
}

static void rtc_write_data(RTCState *s, uint8_t val)
{
    switch (s->index) {
    case RTC_IBM_PS2_CENTURY:
        s->index = RTC_CENTURY;
        /* fall through */
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        rtc_write_time(s, s->index, val);
        break;
    case RTC_REG_A:
        rtc_write_reg_a(s, val);
        break;
    case RTC_REG_B:
        rtc_write_reg_b(s, val);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break;      /* read-only */
    default:
        s->cmos[s->index] = val;
        break;
    }
}

static uint8_t rtc_read_data(RTCState *s)
{
    uint8_t ret;

    switch (s->index) {
    case RTC_IBM_PS2_CENTURY:
        s->index = RTC_CENTURY;
        /* fall through */
    case RTC_SECONDS:
    case RTC_MINUTES:
    case RTC_HOURS:
    case RTC_DAY_OF_WEEK:
    case RTC_DAY_OF_MONTH:
    case RTC_MONTH:
    case RTC_YEAR:
    case RTC_CENTURY:
        if (rtc_running(s)) {
            rtc_refresh_cmos(s);
        }
        return s->cmos[s->index];
    case RTC_REG_A:
        return s->cmos[RTC_REG_A] | (rtc_update_in_progress(s) ? REG_A_UIP : 0);
    case RTC_REG_C:
        /* Reading C acknowledges everything in it. */
        ret = s->cmos[RTC_REG_C];
        s->cmos[RTC_REG_C] = 0;
        rtc_set_irq(s, false);
        return ret;
    default:
        return s->cmos[s->index];
    }
}

static uint64_t rtc_io_read(void *opaque, uint64_t addr, unsigned size)
{
    (void)size;
    /* The index register is write-only. */
    return addr == 0 ? 0xff : rtc_read_data(opaque);
}

static void rtc_io_write(void *opaque, uint64_t addr, uint64_t val,
                         unsigned size)
{
    RTCState *s = opaque;

    (void)size;
    if (addr == 0) {
        s->index = val & 0x7f;      /* bit 7 is the NMI mask: no NMIs here */
    } else {
        rtc_write_data(s, val);
    }
}

static const IORegionOps rtc_io_ops = {
    .read = rtc_io_read,
    .write = rtc_io_write,
};

/* ---- memory and machine interface ---- */

void rtc_set_memory(RTCState *s, unsigned addr, uint8_t val)
{
    if (addr < sizeof(s->cmos)) {
        s->cmos[addr] = val;
    }
}

uint8_t rtc_get_memory(RTCState *s, unsigned addr)
{
    return addr < sizeof(s->cmos) ? s->cmos[addr] : 0xff;
}

static void rtc_set_word(RTCState *s, unsigned addr, uint64_t val)
{
    val = MIN(val, 0xffff);
    rtc_set_memory(s, addr, val);
    rtc_set_memory(s, addr + 1, val >> 8);
}

void rtc_set_pc_memory_config(RTCState *s, uint64_t below_4g,
                              uint64_t above_4g, unsigned ncpus)
{
    uint64_t ext = below_4g > MiB ? (below_4g - MiB) / KiB : 0;
    uint64_t high = below_4g > 16 * MiB ? (below_4g - 16 * MiB) / (64 * KiB)
                                        : 0;
    uint64_t above = above_4g / (64 * KiB);

    rtc_set_word(s, 0x15, MIN(below_4g / KiB, 640));
    rtc_set_word(s, 0x17, ext);
    rtc_set_word(s, 0x30, ext);
    rtc_set_word(s, 0x34, high);
    rtc_set_memory(s, 0x5b, above);
    rtc_set_memory(s, 0x5c, above >> 8);
    rtc_set_memory(s, 0x5d, above >> 16);
    rtc_set_memory(s, 0x5f, ncpus - 1);
}

/* ---- device ---- */

static void rtc_reset(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    /* As QEMU: interrupt enables and flags go, the time stays. */
    s->cmos[RTC_REG_B] &= ~(REG_B_PIE | REG_B_AIE | REG_B_SQWE);
    s->cmos[RTC_REG_C] = 0;
    rtc_arm_periodic(s, true);
    rtc_arm_update(s);
    s->irq_level = true;        /* force the line down */
    rtc_set_irq(s, false);
}

static bool rtc_realize(DeviceState *dev, GError **errp)
{
    RTCState *s = (RTCState *)dev;

    if (s->irq >= ISA_NUM_IRQS) {
        error_setg(errp, "Maximum value for \"irq\" is: %u", ISA_NUM_IRQS - 1);
        return false;
    }
    s->io = io_region_add(AS_PIO, s->iobase, 2, &rtc_io_ops, s, "rtc", errp);
    if (!s->io) {
        return false;
    }
    s->cmos[RTC_REG_A] = 0x26;      /* 32 kHz divider, 1024 Hz rate */
    s->cmos[RTC_REG_B] = REG_B_24H;
    s->cmos[RTC_REG_C] = 0;
    s->cmos[RTC_REG_D] = REG_D_VRT;
    rtc_set_guest_ns(s, qemu_host_time_s() * NANOSECONDS_PER_SECOND);
    rtc_refresh_cmos(s);
    s->update_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, rtc_update_cycle, s);
    s->periodic_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, rtc_periodic, s);
    rtc_reset(dev);
    return true;
}

static void rtc_finalize(DeviceState *dev)
{
    RTCState *s = (RTCState *)dev;

    timer_free(s->update_timer);
    timer_free(s->periodic_timer);
    io_region_del(s->io);
}

static const Property rtc_props[] = {
    DEFINE_PROP("iobase", PROP_UINT16, RTCState, iobase, "0x70"),
    DEFINE_PROP("irq", PROP_UINT8, RTCState, irq, "8"),
    DEFINE_PROP_END_OF_LIST()
};

static const DeviceClass rtc_class = {
    .name = "mc146818rtc",
    .bus = "isa",
    .category = DEVICE_CATEGORY_MISC,
    .instance_size = sizeof(RTCState),
    .props = rtc_props,
    .realize = rtc_realize,
    .reset = rtc_reset,
    .finalize = rtc_finalize,
};

static void rtc_register_types(void)
{
    qdev_register_type(&rtc_class);
}
type_init(rtc_register_types)

RTCState *mc146818_rtc_create(uint16_t iobase, unsigned irq, GError **errp)
{
    RTCState *s = (RTCState *)qdev_new("mc146818rtc");

    s->iobase = iobase;
    s->irq = MIN(irq, UINT8_MAX);
    if (!qdev_realize(&s->parent, errp)) {
        qdev_destroy(&s->parent);
        return NULL;
    }
    return s;
}
