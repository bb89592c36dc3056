/*
 * A guest for the QMP tests: prints "tick N" on COM1 about every 10 ms
 * for as long as it runs, so a paused VM is seen as a counter that
 * stops, and powers off through ACPI S5 when the power button is
 * pressed (QMP system_powerdown), printing "power button" first.
 *
 * The PM1 event block sits just below PM1a_CNT on the PIIX4 PM block of
 * QEMU's and qvmm's pc machine (status at +0, enable at +2).
 */
#include "guest.h"

#define PM1_PWRBTN      (1u << 8)

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;

    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

void guest_main(const struct hvm_start_info *si)
{
    struct acpi_pm_info pm;
    uint16_t evt;

    check_start_info(si);
    if (!acpi_pm_info(si, &pm)) {
        guest_fail("no ACPI power management information");
    }
    evt = pm.pm1a_cnt - 4;
    outw(evt, PM1_PWRBTN);              /* clear a stale press */
    outw(evt + 2, PM1_PWRBTN);          /* and enable the button */
    for (uint32_t n = 0;; n++) {
        if (inw(evt) & PM1_PWRBTN) {
            outw(evt, PM1_PWRBTN);
            printf("power button\n");
            acpi_poweroff(&pm);
            guest_fail("still running after the S5 request");
        }
        printf("tick %u\n", n);
        udelay(10000);
    }
}
