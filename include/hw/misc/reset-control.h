/*
 * The PIIX3 reset control register at 0xcf9 (the FADT's RESET_REG).
 */
#ifndef HW_MISC_RESET_CONTROL_H
#define HW_MISC_RESET_CONTROL_H

#include "qemu/osdep.h"

typedef struct ResetControlState ResetControlState;

/*
 * Create the register (qdev type "reset-control").  0xcf9 lies inside
 * the PCI host's CONFIG_ADDRESS dword (0xcf8-0xcfb): with @map_port it
 * claims the byte itself, which only works without a PCI host; otherwise
 * the PCI host forwards single-byte accesses at 0xcf9 to the functions
 * below, as the chipset decodes them.
 */
ResetControlState *reset_control_create(bool map_port, GError **errp);
uint8_t reset_control_read(ResetControlState *s);
/* Bit 2 (with bit 1, "hard") resets the system. */
void reset_control_write(ResetControlState *s, uint8_t val);

#endif
