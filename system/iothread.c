/*
 * I/O threads: -object iothread,id=ID.  Each is a named thread running a
 * GMainLoop over a GMainContext of its own; devices bound to one process
 * their queues and block completions there, outside the BQL.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "sysemu/iothread.h"
#include "block/block.h"
#include <signal.h>
#include <sys/syscall.h>

struct IOThread {
    char *id;
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    int tid;
    GMutex lock;
    GCond started;
};

static GList *iothreads;

static gpointer iothread_main(gpointer opaque)
{
    IOThread *t = opaque;
    sigset_t all;

    /* Signals are the main loop's business (terminating on signal N). */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    g_main_context_push_thread_default(t->ctx);
    g_mutex_lock(&t->lock);
    t->tid = (int)syscall(SYS_gettid);
    g_cond_signal(&t->started);
    g_mutex_unlock(&t->lock);
    g_main_loop_run(t->loop);
    g_main_context_pop_thread_default(t->ctx);
    return NULL;
}

IOThread *iothread_by_id(const char *id)
{
    for (GList *l = iothreads; l; l = l->next) {
        IOThread *t = l->data;
        if (!strcmp(t->id, id)) {
            return t;
        }
    }
    return NULL;
}

IOThread *iothread_create(const char *id, GError **errp)
{
    IOThread *t;
    g_autofree char *name = NULL;

    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier\n"
                   "Identifiers consist of letters, digits, '-', '.', '_', "
                   "starting with a letter.");
        return NULL;
    }
    if (iothread_by_id(id)) {
        error_setg(errp, "Duplicate ID '%s' for object", id);
        return NULL;
    }
    t = g_new0(IOThread, 1);
    t->id = g_strdup(id);
    t->ctx = g_main_context_new();
    t->loop = g_main_loop_new(t->ctx, FALSE);
    g_mutex_init(&t->lock);
    g_cond_init(&t->started);
    /* QEMU's thread name; the kernel keeps the first 15 bytes. */
    name = g_strdup_printf("IO %s", id);
    g_mutex_lock(&t->lock);
    t->thread = g_thread_new(name, iothread_main, t);
    while (!t->tid) {
        g_cond_wait(&t->started, &t->lock);
    }
    g_mutex_unlock(&t->lock);
    iothreads = g_list_append(iothreads, t);
    return t;
}

GMainContext *iothread_get_context(IOThread *t)
{
    return t->ctx;
}

const char *iothread_id(const IOThread *t)
{
    return t->id;
}

int iothread_thread_id(const IOThread *t)
{
    return t->tid;
}

GList *iothread_list(void)
{
    return g_list_copy(iothreads);
}

typedef struct SyncCall {
    void (*fn)(void *);
    void *opaque;
    GMutex lock;
    GCond cond;
    bool done;
} SyncCall;

static gboolean run_sync_cb(gpointer data)
{
    SyncCall *c = data;

    c->fn(c->opaque);
    g_mutex_lock(&c->lock);
    c->done = true;
    g_cond_signal(&c->cond);
    g_mutex_unlock(&c->lock);
    return G_SOURCE_REMOVE;
}

void iothread_run_sync(IOThread *t, void (*fn)(void *), void *opaque)
{
    SyncCall c = { .fn = fn, .opaque = opaque };

    if (g_thread_self() == t->thread) {
        fn(opaque);
        return;
    }
    g_mutex_init(&c.lock);
    g_cond_init(&c.cond);
    g_main_context_invoke(t->ctx, run_sync_cb, &c);
    g_mutex_lock(&c.lock);
    while (!c.done) {
        g_cond_wait(&c.cond, &c.lock);
    }
    g_mutex_unlock(&c.lock);
    g_mutex_clear(&c.lock);
    g_cond_clear(&c.cond);
}

static void iothread_quit(void *opaque)
{
    IOThread *t = opaque;

    g_main_loop_quit(t->loop);
}

void iothread_stop_all(void)
{
    GList *l = iothreads;

    iothreads = NULL;
    for (GList *i = l; i; i = i->next) {
        IOThread *t = i->data;

        iothread_run_sync(t, iothread_quit, t);
        g_thread_join(t->thread);
        blk_context_release(t->ctx);
        g_main_loop_unref(t->loop);
        g_main_context_unref(t->ctx);
        g_mutex_clear(&t->lock);
        g_cond_clear(&t->started);
        g_free(t->id);
        g_free(t);
    }
    g_list_free(l);
}
