/*
 * Port 0x80, the POST-code / I/O-delay port: writes vanish, reads 0xff.
 */
#ifndef HW_MISC_IOPORT80_H
#define HW_MISC_IOPORT80_H

#include "qemu/osdep.h"
#include "hw/qdev.h"

#define IOPORT80_PORT 0x80

/* Claim port 0x80 (qdev type "ioport80"). */
DeviceState *ioport80_create(GError **errp);

#endif
