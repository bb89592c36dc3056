/* GSI lines of the pc machine, routed to whatever the accelerator set up. */
#include "qemu/osdep.h"
#include "hw/irq.h"

static IRQLineHandler irq_handler;

void pc_irq_set_handler(IRQLineHandler handler)
{
    irq_handler = handler;
}

void pc_set_irq(unsigned gsi, int level)
{
    if (irq_handler) {
        irq_handler(gsi, level);
    }
}
