/*
 * A small bounded pool of worker threads for blocking file operations,
 * and the per-GMainContext queue that hands their results back: each
 * context gets an eventfd whose GSource runs the completions there, so
 * callbacks run in the thread that owns the device's context (the main
 * loop with the BQL, or an I/O thread), never in a worker and never
 * inside the submitting call.
 */
#include "qemu/osdep.h"
#include "block/block_int.h"
#include <signal.h>
#include <sys/eventfd.h>

#define POOL_MAX_WORKERS 8

/* ---- completion queues, one per context ---- */

typedef struct Completion {
    BlockCompletionFunc *cb;
    void *opaque;
    int ret;
} Completion;

typedef struct CompletionQueue {
    GSource source;
    int efd;
    GMutex lock;
    GQueue done;                 /* of Completion* */
} CompletionQueue;

static GMutex queues_lock;
static GHashTable *queues;       /* GMainContext* -> CompletionQueue* */

static gboolean cq_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
    CompletionQueue *q = (CompletionQueue *)s;
    uint64_t n;
    GQueue batch = G_QUEUE_INIT;
    Completion *c;

    (void)cb;
    (void)data;
    if (read(q->efd, &n, sizeof(n)) < 0) {
        /* EAGAIN: another dispatch already consumed the count */
    }
    g_mutex_lock(&q->lock);
    batch = q->done;
    g_queue_init(&q->done);
    g_mutex_unlock(&q->lock);
    while ((c = g_queue_pop_head(&batch))) {
        c->cb(c->opaque, c->ret);
        g_free(c);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs cq_funcs = {
    .dispatch = cq_dispatch,
};

static CompletionQueue *cq_get(GMainContext *ctx)
{
    CompletionQueue *q;

    if (!ctx) {
        ctx = g_main_context_default();
    }
    g_mutex_lock(&queues_lock);
    if (!queues) {
        queues = g_hash_table_new(NULL, NULL);
    }
    q = g_hash_table_lookup(queues, ctx);
    if (!q) {
        q = (CompletionQueue *)g_source_new(&cq_funcs, sizeof(*q));
        q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        g_assert(q->efd >= 0);
        g_mutex_init(&q->lock);
        g_queue_init(&q->done);
        g_source_set_name(&q->source, "block-completions");
        g_source_add_unix_fd(&q->source, q->efd, G_IO_IN);
        /* As the linux-aio source: no wakeups around each dispatch. */
        g_source_set_can_recurse(&q->source, TRUE);
        g_source_attach(&q->source, ctx);
        /* Lives as long as the context: it is looked up by pointer. */
        g_hash_table_insert(queues, ctx, q);
    }
    g_mutex_unlock(&queues_lock);
    return q;
}

void thread_pool_forget_context(GMainContext *ctx)
{
    CompletionQueue *q;

    g_mutex_lock(&queues_lock);
    q = queues ? g_hash_table_lookup(queues, ctx) : NULL;
    if (q) {
        g_hash_table_remove(queues, ctx);
    }
    g_mutex_unlock(&queues_lock);
    if (q) {
        Completion *c;

        while ((c = g_queue_pop_head(&q->done))) {
            g_free(c);      /* drained before: nothing should be left */
        }
        close(q->efd);
        g_mutex_clear(&q->lock);
        g_source_destroy(&q->source);
        g_source_unref(&q->source);
    }
}

void block_ctx_complete(GMainContext *ctx, BlockCompletionFunc *cb,
                        void *opaque, int ret)
{
    CompletionQueue *q = cq_get(ctx);
    Completion *c = g_new(Completion, 1);
    uint64_t one = 1;

    c->cb = cb;
    c->opaque = opaque;
    c->ret = ret;
    g_mutex_lock(&q->lock);
    g_queue_push_tail(&q->done, c);
    g_mutex_unlock(&q->lock);
    if (write(q->efd, &one, sizeof(one)) < 0) {
        /* the counter cannot overflow with these increments */
    }
}

/* ---- the workers ---- */

typedef struct PoolJob {
    ThreadPoolFunc *fn;
    void *arg;
    GMainContext *ctx;
    BlockCompletionFunc *cb;
    void *opaque;
} PoolJob;

static GMutex pool_lock;
static GCond pool_cond;
static GQueue pool_jobs = G_QUEUE_INIT;
static unsigned pool_workers, pool_idle;

static gpointer worker_main(gpointer unused)
{
    sigset_t all;

    (void)unused;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    g_mutex_lock(&pool_lock);
    for (;;) {
        PoolJob *job;
        int ret;

        while (!(job = g_queue_pop_head(&pool_jobs))) {
            pool_idle++;
            g_cond_wait(&pool_cond, &pool_lock);
            pool_idle--;
        }
        g_mutex_unlock(&pool_lock);
        ret = job->fn(job->arg);
        block_ctx_complete(job->ctx, job->cb, job->opaque, ret);
        g_free(job);
        g_mutex_lock(&pool_lock);
    }
    return NULL;
}

void thread_pool_submit(GMainContext *ctx, ThreadPoolFunc *fn, void *arg,
                        BlockCompletionFunc *cb, void *opaque)
{
    PoolJob *job = g_new(PoolJob, 1);

    *job = (PoolJob){ fn, arg, ctx, cb, opaque };
    cq_get(ctx);     /* before a worker can complete into it */
    g_mutex_lock(&pool_lock);
    g_queue_push_tail(&pool_jobs, job);
    if (!pool_idle && pool_workers < POOL_MAX_WORKERS) {
        g_autofree char *name = g_strdup_printf("worker-%u", pool_workers);

        /* Workers live for the life of the process, like QEMU's. */
        g_thread_unref(g_thread_new(name, worker_main, NULL));
        pool_workers++;
    } else {
        g_cond_signal(&pool_cond);
    }
    g_mutex_unlock(&pool_lock);
}
