/*
 * System reset handlers: devices that are not qdev objects (the built-in
 * UARTs, RTC, i8042, ACPI PM) register here; pc_machine_reset() runs
 * them all, in registration order, with the BQL held and vCPUs paused.
 */
#ifndef SYSEMU_RESET_H
#define SYSEMU_RESET_H

#include "qemu/osdep.h"

typedef void QEMUResetHandler(void *opaque);

void qemu_register_reset(QEMUResetHandler *fn, void *opaque);
void qemu_unregister_reset(QEMUResetHandler *fn, void *opaque);
void qemu_devices_reset(void);

#endif
