/*
 * Timers.  All pending timers sit in one list sorted by (clock, deadline);
 * a GSource wakes the main loop at the earliest host-clock deadline.
 * A manual virtual clock (qtest) has no host deadline at all: its timers
 * fire only from qemu_clock_advance_virtual().
 */
#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "qemu/main-loop.h"

struct QEMUTimer {
    QEMUClockType type;
    QEMUTimerCB *cb;
    void *opaque;
    int64_t expire;
    bool pending;
};

static GList *active;          /* QEMUTimer*, sorted by expire per clock */
static bool virtual_manual;
static int64_t virtual_ns;     /* manual virtual clock */
static int64_t clock_origin;   /* monotonic time at first use */
static GSource *timer_source;

static int64_t host_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

int64_t qemu_clock_get_ns(QEMUClockType type)
{
    if (!clock_origin) {
        clock_origin = host_ns() - 1;
    }
    if (type == QEMU_CLOCK_VIRTUAL && virtual_manual) {
        return virtual_ns;
    }
    return host_ns() - clock_origin;
}

void qemu_clock_set_manual(bool manual)
{
    virtual_manual = manual;
    virtual_ns = 0;
}

int64_t qemu_host_time_s(void)
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

static gint timer_cmp(gconstpointer a, gconstpointer b)
{
    const QEMUTimer *x = a, *y = b;
    return x->expire < y->expire ? -1 : x->expire > y->expire;
}

static bool timer_is_manual(const QEMUTimer *t)
{
    return t->type == QEMU_CLOCK_VIRTUAL && virtual_manual;
}

/* Milliseconds until the first host-driven timer is due, or -1. */
static gint next_host_timeout(void)
{
    for (GList *l = active; l; l = l->next) {
        QEMUTimer *t = l->data;
        if (!timer_is_manual(t)) {
            int64_t d = t->expire - qemu_clock_get_ns(t->type);
            if (d <= 0) {
                return 0;
            }
            return (gint)MIN((d + 999999) / 1000000, G_MAXINT);
        }
    }
    return -1;
}

/* Pop and run one due timer; false when none is due. */
static bool run_one_due(bool manual_clock)
{
    for (GList *l = active; l; l = l->next) {
        QEMUTimer *t = l->data;
        if (timer_is_manual(t) != manual_clock) {
            continue;
        }
        if (t->expire > qemu_clock_get_ns(t->type)) {
            continue;
        }
        active = g_list_delete_link(active, l);
        t->pending = false;
        t->cb(t->opaque);
        return true;
    }
    return false;
}

static gboolean timer_prepare(GSource *s, gint *timeout)
{
    (void)s;
    *timeout = next_host_timeout();
    return *timeout == 0;
}

static gboolean timer_check(GSource *s)
{
    (void)s;
    return next_host_timeout() == 0;
}

static gboolean timer_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
    (void)s; (void)cb; (void)data;
    while (run_one_due(false)) {
        /* a callback may re-arm itself; the loop picks that up */
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
    .prepare = timer_prepare,
    .check = timer_check,
    .dispatch = timer_dispatch,
};

static void timer_source_init(void)
{
    if (!timer_source) {
        timer_source = g_source_new(&timer_funcs, sizeof(GSource));
        g_source_attach(timer_source, NULL);
    }
}

QEMUTimer *timer_new_ns(QEMUClockType type, QEMUTimerCB *cb, void *opaque)
{
    QEMUTimer *t = g_new0(QEMUTimer, 1);

    t->type = type;
    t->cb = cb;
    t->opaque = opaque;
    timer_source_init();
    return t;
}

void timer_del(QEMUTimer *t)
{
    if (t && t->pending) {
        active = g_list_remove(active, t);
        t->pending = false;
    }
}

void timer_free(QEMUTimer *t)
{
    timer_del(t);
    g_free(t);
}

void timer_mod(QEMUTimer *t, int64_t expire_ns)
{
    timer_del(t);
    t->expire = expire_ns;
    t->pending = true;
    active = g_list_insert_sorted(active, t, timer_cmp);
    if (!timer_is_manual(t)) {
        g_main_context_wakeup(NULL);
    }
}

bool timer_pending(QEMUTimer *t)
{
    return t->pending;
}

int64_t qemu_clock_deadline_virtual(void)
{
    for (GList *l = active; l; l = l->next) {
        QEMUTimer *t = l->data;
        if (t->type == QEMU_CLOCK_VIRTUAL) {
            return t->expire;
        }
    }
    return -1;
}

void qemu_clock_advance_virtual(int64_t ns)
{
    g_assert(virtual_manual);
    /* Step through deadlines so each callback sees the clock at its time. */
    for (;;) {
        int64_t next = qemu_clock_deadline_virtual();
        if (next < 0 || next > ns) {
            break;
        }
        if (next > virtual_ns) {
            virtual_ns = next;
        }
        run_one_due(true);
    }
    if (ns > virtual_ns) {
        virtual_ns = ns;
    }
}
