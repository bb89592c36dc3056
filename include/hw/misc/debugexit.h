/*
 * isa-debug-exit: a write of V makes the process exit with (V << 1) | 1.
 */
#ifndef HW_MISC_DEBUGEXIT_H
#define HW_MISC_DEBUGEXIT_H

#include "qemu/osdep.h"
#include "hw/qdev.h"

/* As -device isa-debug-exit,iobase=@iobase,iosize=@iosize would. */
DeviceState *isa_debug_exit_create(uint32_t iobase, uint32_t iosize,
                                   GError **errp);

#endif
