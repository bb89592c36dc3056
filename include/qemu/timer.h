/*
 * Timers on two clocks, run from the main loop with the BQL held.
 *
 * QEMU_CLOCK_VIRTUAL is what device models use.  Under KVM it follows the
 * host's monotonic clock; under qtest it stands still and moves only when
 * the test says so (qemu_clock_advance_virtual), which makes RTC and UART
 * timing deterministic in tests.
 * QEMU_CLOCK_REALTIME always follows the host.
 */
#ifndef QEMU_TIMER_H
#define QEMU_TIMER_H

#include "qemu/osdep.h"

#define NANOSECONDS_PER_SECOND 1000000000LL

typedef enum QEMUClockType {
    QEMU_CLOCK_REALTIME = 0,
    QEMU_CLOCK_VIRTUAL = 1,
} QEMUClockType;

typedef void QEMUTimerCB(void *opaque);
typedef struct QEMUTimer QEMUTimer;

QEMUTimer *timer_new_ns(QEMUClockType type, QEMUTimerCB *cb, void *opaque);
void timer_free(QEMUTimer *t);
/* Fire at @expire_ns on the timer's clock (absolute). */
void timer_mod(QEMUTimer *t, int64_t expire_ns);
void timer_del(QEMUTimer *t);
bool timer_pending(QEMUTimer *t);

int64_t qemu_clock_get_ns(QEMUClockType type);

/* qtest: make the virtual clock manual (set once, before any timer). */
void qemu_clock_set_manual(bool manual);
/* Next virtual deadline, or -1 if no virtual timer is pending. */
int64_t qemu_clock_deadline_virtual(void);
/* Manual clock: move to @ns (not backwards), firing due timers in order. */
void qemu_clock_advance_virtual(int64_t ns);

/* Host wall-clock seconds since the epoch (RTC). */
int64_t qemu_host_time_s(void);

#endif
