/*
 * Port 0x61, the PC's "NMI status and control" register (port B): the
 * gate of PIT channel 2 and the speaker enable (bits 0-1, read/write),
 * the refresh toggle (bit 4) and channel 2's output (bit 5).  Firmware
 * and kernels time the TSC with it: gate channel 2 on, load a count,
 * poll bit 5.
 */
#ifndef HW_MISC_PORT61_H
#define HW_MISC_PORT61_H

#include "qemu/osdep.h"
#include "hw/qdev.h"

#define PORT61_PORT 0x61

/* Where channel 2 lives (the in-kernel PIT under KVM). */
typedef struct Port61PitOps {
    bool (*get_out2)(void);
    void (*set_gate2)(bool gate);
} Port61PitOps;

/* Claim port 0x61 (qdev type "port61"), backed by @ops. */
DeviceState *port61_create(const Port61PitOps *ops, GError **errp);

#endif
