/* The list of reset handlers run on a system reset. */
#include "qemu/osdep.h"
#include "sysemu/reset.h"

typedef struct ResetEntry {
    QEMUResetHandler *fn;
    void *opaque;
} ResetEntry;

static GArray *handlers;

void qemu_register_reset(QEMUResetHandler *fn, void *opaque)
{
    ResetEntry e = { fn, opaque };

    if (!handlers) {
        handlers = g_array_new(FALSE, FALSE, sizeof(ResetEntry));
    }
    g_array_append_val(handlers, e);
}

void qemu_unregister_reset(QEMUResetHandler *fn, void *opaque)
{
    for (guint i = 0; handlers && i < handlers->len; i++) {
        ResetEntry *e = &g_array_index(handlers, ResetEntry, i);
        if (e->fn == fn && e->opaque == opaque) {
            g_array_remove_index(handlers, i);
            return;
        }
    }
}

void qemu_devices_reset(void)
{
    for (guint i = 0; handlers && i < handlers->len; i++) {
        ResetEntry *e = &g_array_index(handlers, ResetEntry, i);
        e->fn(e->opaque);
    }
}
