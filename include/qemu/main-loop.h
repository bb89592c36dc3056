/*
 * The main loop and the big qvmm lock (BQL).
 *
 * The main thread iterates glib's default GMainContext (vl.c) and holds
 * the BQL at all times except while blocked in poll().  vCPU threads take
 * the BQL around device dispatch.  Anything that touches device or
 * machine state must hold it.
 */
#ifndef QEMU_MAIN_LOOP_H
#define QEMU_MAIN_LOOP_H

#include "qemu/osdep.h"

void qemu_init_main_loop(void);
void bql_lock(void);
void bql_unlock(void);

/* Wait on @cond with the BQL as its mutex (the lock is released while
 * waiting, so the thread being waited for can take it). */
void bql_cond_wait(GCond *cond);

/* Wake the main loop from any thread (it re-checks pending requests). */
void qemu_notify_event(void);


#endif
