/*
 * The main loop: glib's default context, with the big qvmm lock released
 * only while the loop sleeps in poll().  That gives every callback
 * (chardevs, timers, signals, monitors) the same exclusion that vCPU
 * threads get when they take the lock around device dispatch.
 */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include <poll.h>

static GMutex bql;
static GThread *bql_owner;
static bool initialised;
static GPollFunc default_poll;

void bql_lock(void)
{
    g_mutex_lock(&bql);
    bql_owner = g_thread_self();
}

void bql_unlock(void)
{
    bql_owner = NULL;
    g_mutex_unlock(&bql);
}

void bql_cond_wait(GCond *cond)
{
    bql_owner = NULL;
    g_cond_wait(cond, &bql);
    bql_owner = g_thread_self();
}

static gint poll_unlocked(GPollFD *fds, guint nfds, gint timeout)
{
    gint ret;

    bql_unlock();
    ret = default_poll(fds, nfds, timeout);
    bql_lock();
    return ret;
}

void qemu_init_main_loop(void)
{
    GMainContext *ctx = g_main_context_default();

    if (initialised) {
        return;
    }
    initialised = true;
    default_poll = g_main_context_get_poll_func(ctx);
    g_main_context_set_poll_func(ctx, poll_unlocked);
    bql_lock();
}

void qemu_notify_event(void)
{
    g_main_context_wakeup(g_main_context_default());
}
