/*
 * I/O threads (-object iothread,id=ID): each runs a GMainContext of its
 * own, so a device bound to one processes its queues and block
 * completions there without the BQL.
 */
#ifndef SYSEMU_IOTHREAD_H
#define SYSEMU_IOTHREAD_H

#include "qemu/osdep.h"

typedef struct IOThread IOThread;

/* Start one; QEMU's error texts for a duplicate id. */
IOThread *iothread_create(const char *id, GError **errp);
IOThread *iothread_by_id(const char *id);
GMainContext *iothread_get_context(IOThread *t);
const char *iothread_id(const IOThread *t);
/* Host thread id (for query-iothreads). */
int iothread_thread_id(const IOThread *t);
/* Every iothread in creation order (g_list_free the list only). */
GList *iothread_list(void);
/* Run @fn(@opaque) in @t's thread and wait for it to return. */
void iothread_run_sync(IOThread *t, void (*fn)(void *), void *opaque);
/* Stop and join every thread (end of main). */
void iothread_stop_all(void);

#endif
