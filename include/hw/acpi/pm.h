/*
 * ACPI fixed-hardware registers as PIIX4 lays them out under QEMU: the
 * PM1a event block, the PM1a control block and the PM timer, in one
 * 64-byte I/O block at PC_ACPI_PM_BASE.  The FADT points at these.
 */
#ifndef HW_ACPI_PM_H
#define HW_ACPI_PM_H

#include "qemu/osdep.h"

#define ACPI_PM_IO_SIZE         64
#define ACPI_PM1_EVT_OFFSET     0x00    /* PM1_STS (2 bytes), PM1_EN (2) */
#define ACPI_PM1_EVT_LEN        4
#define ACPI_PM1_CNT_OFFSET     0x04
#define ACPI_PM1_CNT_LEN        2
#define ACPI_PM_TMR_OFFSET      0x08
#define ACPI_PM_TMR_LEN         4
#define ACPI_PM_TIMER_FREQUENCY 3579545

/* PM1_STS / PM1_EN */
#define ACPI_PM1_TMR_STS        0x0001
#define ACPI_PM1_GBL_STS        0x0020
#define ACPI_PM1_PWRBTN_STS     0x0100
#define ACPI_PM1_RTC_STS        0x0400
#define ACPI_PM1_WAK_STS        0x8000

/* PM1_CNT */
#define ACPI_PM1_SCI_EN         0x0001
#define ACPI_PM1_SLP_TYP_SHIFT  10
#define ACPI_PM1_SLP_TYP        0x1c00
#define ACPI_PM1_SLP_EN         0x2000
/* The \_S5 package of qvmm's DSDT: SLP_TYP 0 means soft-off. */
#define ACPI_SLP_TYP_S5         0

typedef struct AcpiPMState AcpiPMState;

/* Create the block at @base with the SCI on GSI @sci_irq ("acpi-pm"). */
AcpiPMState *acpi_pm_create(uint16_t base, unsigned sci_irq, GError **errp);

/*
 * The ACPI power button (QMP system_powerdown).  As on QEMU, the press
 * only registers while the guest has enabled the power-button event.
 */
void acpi_pm_press_power_button(AcpiPMState *s);

#endif
