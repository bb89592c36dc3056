/*
 * System reset and what survives it.  The method comes from the command
 * line, "reset=kbd|acpi|cf9|triple":
 *   kbd     0xfe to the i8042 command port
 *   acpi    the FADT's RESET_REG with RESET_VALUE
 *   cf9     6 (full reset) to the PIIX reset control register at 0xcf9
 *   triple  a triple fault
 * A CMOS NVRAM byte survives the reset (though not a new VM) and tells
 * the second boot from the first: boot 1 sets it and resets, boot 2
 * clears it and ends through isa-debug-exit with 0x21 (status 67).
 * With -no-reboot the VMM must instead exit with status 0 after boot 1.
 */
#include "guest.h"

#define RESET_EXIT   0x21
#define CMOS_MARK    0x40           /* NVRAM byte unused by QEMU and qvmm */
#define MARK_RESET   0x5a

static void reset_cf9(void)
{
    outb(0xcf9, 0x02);              /* select a hard reset, then pulse it */
    outb(0xcf9, 0x06);
}

void guest_main(const struct hvm_start_info *si)
{
    char method[16];
    struct acpi_pm_info pm;

    check_start_info(si);
    if (cmos_read(CMOS_MARK) == MARK_RESET) {
        cmos_write(CMOS_MARK, 0);
        printf("reset: boot 2, after the reset\n");
        debug_exit(RESET_EXIT);
    }
    if (!cmdline_get(si, "reset", method, sizeof(method))) {
        guest_fail("no reset=METHOD on the command line");
    }
    if (!strncmp(method, "acpi", sizeof(method))) {
        if (!acpi_pm_info(si, &pm) || !pm.reset_supported) {
            guest_fail("the FADT has no usable reset register");
        }
        printf("reset: FADT reset register: I/O port %#x, value %#x\n",
               pm.reset_port, pm.reset_value);
    } else if (strncmp(method, "kbd", sizeof(method)) &&
               strncmp(method, "cf9", sizeof(method)) &&
               strncmp(method, "triple", sizeof(method))) {
        guest_fail("unknown reset method \"%s\"", method);
    }

    cmos_write(CMOS_MARK, MARK_RESET);
    if (cmos_read(CMOS_MARK) != MARK_RESET) {
        guest_fail("CMOS byte %#x does not hold a value", CMOS_MARK);
    }
    printf("reset: boot 1, resetting through %s\n", method);
    switch (method[0]) {
    case 'k':
        kbd_reset();
        break;
    case 'a':
        outb(pm.reset_port, pm.reset_value);
        break;
    case 'c':
        reset_cf9();
        break;
    case 't':
        triple_fault();
    }
    udelay(1000000);
    cmos_write(CMOS_MARK, 0);
    guest_fail("still running a second after the %s reset", method);
}
