/*
 * ACPI fixed hardware: PM1 event and control registers and the PM timer,
 * laid out as on QEMU's PIIX4.
 *
 * There is no SMI_CMD port, so the guest never has to switch into ACPI
 * mode and SCI_EN always reads as set.  Sleep requests other than S5
 * (soft off) are ignored: qvmm's DSDT offers no other sleep state.
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/i386/pc.h"
#include "hw/acpi/pm.h"
#include "sysemu/runstate.h"

/* Events that raise the SCI when both their STS and EN bits are set. */
#define PM1_SCI_EVENTS  (ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | \
                         ACPI_PM1_PWRBTN_STS | ACPI_PM1_RTC_STS)
/* The timer status fires whenever bit 23 of the 24-bit counter flips. */
#define PM_TMR_HALF     0x800000

struct AcpiPMState {
    DeviceState parent;

    /* properties */
    uint16_t iobase;
    uint8_t sci_irq;

    IORegion *io;
    QEMUTimer *tmr_timer;
    uint16_t sts, en, cnt;
    int64_t overflow_ns;        /* virtual time of the next bit-23 flip */
    bool sci_level;
};

/* ---- PM timer ---- */

static uint64_t pm_ticks(int64_t ns)
{
    return ns / NANOSECONDS_PER_SECOND * ACPI_PM_TIMER_FREQUENCY +
           ns % NANOSECONDS_PER_SECOND * ACPI_PM_TIMER_FREQUENCY /
           NANOSECONDS_PER_SECOND;
}

/* The first nanosecond at which the counter has reached @ticks. */
static int64_t pm_ticks_to_ns(uint64_t ticks)
{
    return ticks / ACPI_PM_TIMER_FREQUENCY * NANOSECONDS_PER_SECOND +
           (ticks % ACPI_PM_TIMER_FREQUENCY * NANOSECONDS_PER_SECOND +
            ACPI_PM_TIMER_FREQUENCY - 1) / ACPI_PM_TIMER_FREQUENCY;
}

static void pm_calc_overflow(AcpiPMState *s)
{
    uint64_t now = pm_ticks(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL));

    s->overflow_ns = pm_ticks_to_ns((now + PM_TMR_HALF) &
                                    ~(uint64_t)(PM_TMR_HALF - 1));
}

static uint32_t pm_timer_value(void)
{
    return pm_ticks(qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL)) & 0xffffff;
}

/* ---- SCI ---- */

/* PM1_STS with the timer status brought up to date. */
static uint16_t pm_get_sts(AcpiPMState *s)
{
    if (qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) >= s->overflow_ns) {
        s->sts |= ACPI_PM1_TMR_STS;
    }
    return s->sts;
}

static void pm_update_sci(AcpiPMState *s)
{
    bool level = pm_get_sts(s) & s->en & PM1_SCI_EVENTS;

    if (level != s->sci_level) {
        s->sci_level = level;
        pc_set_irq(s->sci_irq, level);
    }
    /* Only a guest that wants timer interrupts needs the host timer. */
    if ((s->en & ACPI_PM1_TMR_STS) && !(s->sts & ACPI_PM1_TMR_STS)) {
        timer_mod(s->tmr_timer, s->overflow_ns);
    } else {
        timer_del(s->tmr_timer);
    }
}

static void pm_tmr_expired(void *opaque)
{
    pm_update_sci(opaque);
}

void acpi_pm_press_power_button(AcpiPMState *s)
{
    if (s->en & ACPI_PM1_PWRBTN_STS) {
        s->sts |= ACPI_PM1_PWRBTN_STS;
        pm_update_sci(s);
    }
}

/* ---- registers ---- */

static void pm_write_cnt(AcpiPMState *s, uint16_t val)
{
    /* SLP_EN is write-only: it triggers the transition and reads as 0. */
    s->cnt = val & ~ACPI_PM1_SLP_EN;
    if ((val & ACPI_PM1_SLP_EN) &&
        ((val & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT) ==
        ACPI_SLP_TYP_S5) {
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    }
}

/* Write the bytes of 16-bit register @reg selected by @mask. */
static void pm_write_reg16(AcpiPMState *s, unsigned reg, uint16_t val,
                           uint16_t mask)
{
    val &= mask;
    switch (reg) {
    case ACPI_PM1_EVT_OFFSET:
        /* Write-one-to-clear; clearing TMR_STS restarts the countdown. */
        if (val & pm_get_sts(s) & ACPI_PM1_TMR_STS) {
            pm_calc_overflow(s);
        }
        s->sts &= ~val;
        pm_update_sci(s);
        break;
    case ACPI_PM1_EVT_OFFSET + 2:
        s->en = (s->en & ~mask) | val;
        pm_update_sci(s);
        break;
    case ACPI_PM1_CNT_OFFSET:
        pm_write_cnt(s, (s->cnt & ~mask) | val);
        break;
    default:
        break;      /* the timer and unused offsets are read-only */
    }
}

static void pm_io_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    unsigned n;

    /* Split the access at 16-bit register boundaries. */
    for (unsigned i = 0; i < size; i += n) {
        unsigned off = addr + i, shift = (off & 1) * 8;
        uint16_t mask;

        n = MIN(size - i, 2 - (off & 1));
        mask = ((1u << (n * 8)) - 1) << shift;
        pm_write_reg16(opaque, off & ~1u, (val >> (i * 8)) << shift, mask);
    }
}

static uint8_t pm_read_byte(AcpiPMState *s, unsigned off, uint32_t tmr)
{
    uint16_t reg;

    switch (off & ~1u) {
    case ACPI_PM1_EVT_OFFSET:
        reg = pm_get_sts(s);
        break;
    case ACPI_PM1_EVT_OFFSET + 2:
        reg = s->en;
        break;
    case ACPI_PM1_CNT_OFFSET:
        reg = s->cnt | ACPI_PM1_SCI_EN;
        break;
    case ACPI_PM_TMR_OFFSET:
    case ACPI_PM_TMR_OFFSET + 2:
        return tmr >> ((off - ACPI_PM_TMR_OFFSET) * 8);
    default:
        return 0;
    }
    return reg >> ((off & 1) * 8);
}

static uint64_t pm_io_read(void *opaque, uint64_t addr, unsigned size)
{
    uint32_t tmr = pm_timer_value();    /* one sample for the whole read */
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)pm_read_byte(opaque, addr + i, tmr) << (i * 8);
    }
    return val;
}

static const IORegionOps pm_io_ops = {
    .read = pm_io_read,
    .write = pm_io_write,
};

/* ---- device ---- */

static void acpi_pm_reset(DeviceState *dev)
{
    AcpiPMState *s = (AcpiPMState *)dev;

    s->sts = 0;
    s->en = 0;
    s->cnt = 0;
    pm_calc_overflow(s);
    s->sci_level = true;        /* force the line down */
    pm_update_sci(s);
}

static bool acpi_pm_realize(DeviceState *dev, GError **errp)
{
    AcpiPMState *s = (AcpiPMState *)dev;

    s->io = io_region_add(AS_PIO, s->iobase, ACPI_PM_IO_SIZE, &pm_io_ops, s,
                          "acpi-pm", errp);
    if (!s->io) {
        return false;
    }
    s->tmr_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, pm_tmr_expired, s);
    acpi_pm_reset(dev);
    return true;
}

static void acpi_pm_finalize(DeviceState *dev)
{
    AcpiPMState *s = (AcpiPMState *)dev;

    timer_free(s->tmr_timer);
    io_region_del(s->io);
}

static const Property acpi_pm_props[] = {
    DEFINE_PROP("iobase", PROP_UINT16, AcpiPMState, iobase, "0x600"),
    DEFINE_PROP("sci-irq", PROP_UINT8, AcpiPMState, sci_irq, "9"),
    DEFINE_PROP_END_OF_LIST()
};

static const DeviceClass acpi_pm_class = {
    .name = "acpi-pm",
    .instance_size = sizeof(AcpiPMState),
    .props = acpi_pm_props,
    .realize = acpi_pm_realize,
    .reset = acpi_pm_reset,
    .finalize = acpi_pm_finalize,
};

static void acpi_pm_register_types(void)
{
    qdev_register_type(&acpi_pm_class);
}
type_init(acpi_pm_register_types)

AcpiPMState *acpi_pm_create(uint16_t base, unsigned sci_irq, GError **errp)
{
    AcpiPMState *s = (AcpiPMState *)qdev_new("acpi-pm");

    s->iobase = base;
    s->sci_irq = MIN(sci_irq, UINT8_MAX);
    if (!qdev_realize(&s->parent, errp)) {
        qdev_destroy(&s->parent);
        return NULL;
    }
    return s;
}
