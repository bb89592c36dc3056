/*
 * ACPI soft-off: PM1a_CNT from the FADT, SLP_TYP from the DSDT's \_S5
 * package, then SLP_EN.  The VMM must exit with status 0; reaching the
 * end of this function is a failure.
 */
#include "guest.h"

void guest_main(const struct hvm_start_info *si)
{
    struct acpi_pm_info pm;

    check_start_info(si);
    if (!acpi_pm_info(si, &pm)) {
        guest_fail("no ACPI power management information");
    }
    printf("poweroff: PM1a_CNT=%#x PM1b_CNT=%#x SLP_TYPa=%u\n", pm.pm1a_cnt,
           pm.pm1b_cnt, pm.slp_typa);
    printf("poweroff: entering S5\n");
    acpi_poweroff(&pm);
    guest_fail("still running after the S5 request");
}
