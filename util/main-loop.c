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
static GMainLoop *main_loop;
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

bool bql_locked(void)
{
    return bql_owner == g_thread_self();
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

    if (main_loop) {
        return;
    }
    default_poll = g_main_context_get_poll_func(ctx);
    g_main_context_set_poll_func(ctx, poll_unlocked);
    main_loop = g_main_loop_new(ctx, FALSE);
    bql_lock();
}

void main_loop_run(void)
{
    g_main_loop_run(main_loop);
}

void main_loop_quit(void)
{
    g_main_loop_quit(main_loop);
    g_main_context_wakeup(g_main_context_default());
}

void qemu_notify_event(void)
{
    g_main_context_wakeup(g_main_context_default());
}

typedef struct ScheduledCall {
    void (*fn)(void *opaque);
    void *opaque;
} ScheduledCall;

static gboolean run_scheduled(gpointer data)
{
    ScheduledCall *call = data;
    call->fn(call->opaque);
    return G_SOURCE_REMOVE;
}

void main_loop_schedule(void (*fn)(void *opaque), void *opaque)
{
    ScheduledCall *call = g_new(ScheduledCall, 1);

    call->fn = fn;
    call->opaque = opaque;
    g_idle_add_full(G_PRIORITY_HIGH, run_scheduled, call, g_free);
}
