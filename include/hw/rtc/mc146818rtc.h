/*
 * MC146818 real-time clock and CMOS memory (qdev type "mc146818rtc").
 */
#ifndef HW_RTC_MC146818RTC_H
#define HW_RTC_MC146818RTC_H

#include "qemu/osdep.h"

#define RTC_ISA_BASE    0x70
#define RTC_ISA_IRQ     8

typedef struct RTCState RTCState;

/*
 * Create and realize the RTC at @iobase (index port; data at +1) with
 * its interrupt on @irq.  The clock starts at the host's time in UTC.
 */
RTCState *mc146818_rtc_create(uint16_t iobase, unsigned irq, GError **errp);

/* Plain CMOS bytes, for what a BIOS would have left there. */
void rtc_set_memory(RTCState *s, unsigned addr, uint8_t val);
uint8_t rtc_get_memory(RTCState *s, unsigned addr);

/*
 * The bytes QEMU's pc machine fills in: base memory (0x15/0x16),
 * extended memory (0x17/0x18 and 0x30/0x31, KiB above 1 MiB), memory
 * above 16 MiB (0x34/0x35) and above 4 GiB (0x5b-0x5d) in 64 KiB units,
 * and the number of CPUs minus one (0x5f).
 */
void rtc_set_pc_memory_config(RTCState *s, uint64_t below_4g,
                              uint64_t above_4g, unsigned ncpus);

#endif
