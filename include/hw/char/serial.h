/*
 * 16550A UART on the ISA bus (qdev type "isa-serial").
 */
#ifndef HW_CHAR_SERIAL_H
#define HW_CHAR_SERIAL_H

#include "qemu/osdep.h"
#include "chardev/char.h"

#define MAX_ISA_SERIAL_PORTS 4

typedef struct SerialState SerialState;

/* COM1..COM4 as the pc machine places them: 0x3f8/4, 0x2f8/3, ... */
uint16_t serial_isa_iobase(unsigned index);
unsigned serial_isa_irq(unsigned index);

/*
 * Create and realize COM(@index + 1) at @iobase/@irq with @chr as its
 * backend (may be NULL: output is dropped, nothing is received).
 */
SerialState *serial_isa_create(unsigned index, uint16_t iobase, unsigned irq,
                               Chardev *chr, GError **errp);

#endif
