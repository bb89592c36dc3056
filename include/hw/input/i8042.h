/*
 * The i8042 keyboard controller, without keyboard or mouse behind it.
 */
#ifndef HW_INPUT_I8042_H
#define HW_INPUT_I8042_H

#include "qemu/osdep.h"

#define I8042_DATA_PORT     0x60
#define I8042_CMD_PORT      0x64
#define I8042_KBD_IRQ       1
#define I8042_MOUSE_IRQ     12

typedef struct I8042State I8042State;

/* Create and realize the controller at 0x60/0x64 (qdev type "i8042"). */
I8042State *i8042_create(GError **errp);

#endif
