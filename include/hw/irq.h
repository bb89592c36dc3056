/*
 * Interrupt lines of the pc machine, numbered as global system interrupts
 * (GSI 0-23 = IOAPIC pins; 0-15 are also the PIC's ISA IRQs).
 */
#ifndef HW_IRQ_H
#define HW_IRQ_H

#include "qemu/osdep.h"

/* Drive GSI @gsi to @level (0/1).  Edge devices pulse it. */
void pc_set_irq(unsigned gsi, int level);
static inline void pc_pulse_irq(unsigned gsi)
{
    pc_set_irq(gsi, 1);
    pc_set_irq(gsi, 0);
}

/* Set by the accelerator: KVM_IRQ_LINE, or the qtest intercept. */
typedef void (*IRQLineHandler)(unsigned gsi, int level);
void pc_irq_set_handler(IRQLineHandler handler);

#endif
