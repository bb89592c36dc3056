/*
 * MSI-X: the capability, the vector table and PBA in a BAR of their own,
 * and delivery through one eventfd per vector.
 *
 * A vector is "masked" while MSI-X is disabled, the function is masked or
 * its own mask bit is set.  While it is masked, or always without KVM, a
 * main-loop source drains its eventfd: into the pending bit when masked,
 * otherwise by writing the message into guest memory.  Under KVM an
 * unmasked vector's eventfd is instead an irqfd on a GSI routed to its
 * message, so msix_notify() reaches the guest without any lock.  The
 * vector table and PBA change only under the BQL.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/pci/msix.h"
#include <glib-unix.h>
#include <sys/eventfd.h>

/* Capability registers (PCI 3.0, 6.8.2), relative to the capability. */
#define MSIX_CAP_LENGTH          12
#define MSIX_FLAGS               2
#define MSIX_FLAGS_QSIZE         0x07ff
#define MSIX_FLAGS_MASKALL       0x4000
#define MSIX_FLAGS_ENABLE        0x8000
#define MSIX_TABLE               4
#define MSIX_PBA                 8

/* A table entry. */
#define MSIX_ENTRY_SIZE          16
#define MSIX_ENTRY_ADDR_LO       0
#define MSIX_ENTRY_ADDR_HI       4
#define MSIX_ENTRY_DATA          8
#define MSIX_ENTRY_CTRL          12
#define MSIX_ENTRY_CTRL_MASKBIT  1

/* QEMU's exclusive-BAR layout: 4 KiB with the PBA in the upper half,
 * unless the table needs more. */
#define MSIX_BAR_MIN_SIZE        4096
#define MSIX_PBA_MIN_OFFSET      2048

typedef struct MSIXVector {
    PCIDevice *dev;
    unsigned nr;
    int fd;                     /* msix_notify() writes it */
    int gsi;                    /* KVM MSI route, or -1 */
    bool bound;                 /* fd is a KVM irqfd on gsi */
    bool warned;                /* about a failure to bind: once is enough */
    GSource *source;            /* draining fd on the main loop, or NULL */
} MSIXVector;

typedef struct MSIXState {
    unsigned nvectors;
    unsigned bar;
    uint8_t cap;
    uint32_t pba_offset;
    uint32_t pba_size;
    uint8_t *table;
    uint8_t *pba;
    MSIXVector *vec;
    /* The capability's state as last seen, to know what a write changed. */
    bool enabled;
    bool fmasked;
} MSIXState;

static uint16_t msix_flags(PCIDevice *d)
{
    return pci_get_word(d->config + d->msix->cap + MSIX_FLAGS);
}

static uint8_t *entry(MSIXState *m, unsigned v)
{
    return m->table + v * MSIX_ENTRY_SIZE;
}

static bool vector_masked(MSIXState *m, unsigned v)
{
    return !m->enabled || m->fmasked ||
           (pci_get_long(entry(m, v) + MSIX_ENTRY_CTRL) &
            MSIX_ENTRY_CTRL_MASKBIT);
}

static uint64_t vector_addr(MSIXState *m, unsigned v)
{
    return pci_get_long(entry(m, v) + MSIX_ENTRY_ADDR_LO) |
           (uint64_t)pci_get_long(entry(m, v) + MSIX_ENTRY_ADDR_HI) << 32;
}

static uint32_t vector_data(MSIXState *m, unsigned v)
{
    return pci_get_long(entry(m, v) + MSIX_ENTRY_DATA);
}

static void pba_set(MSIXState *m, unsigned v, bool pending)
{
    uint8_t bit = 1u << (v % 8);

    m->pba[v / 8] = pending ? m->pba[v / 8] | bit : m->pba[v / 8] & ~bit;
}

static bool pba_test(MSIXState *m, unsigned v)
{
    return m->pba[v / 8] & (1u << (v % 8));
}

/*
 * The message as a device's bus-master write: little-endian into RAM, or
 * to whatever MMIO is there (nothing, under qtest, where the test reads
 * the RAM it pointed the vector at).
 */
static void msi_write(uint64_t addr, uint32_t data)
{
    for (unsigned i = 0; i < 4; i++) {
        if (guest_ram_ptr(addr + i, 1)) {
            uint32_t le = GUINT32_TO_LE(data);

            phys_mem_rw(addr, &le, 4, true);
            return;
        }
    }
    io_dispatch_write(AS_MMIO, addr, 4, data);
}

/* Consume what msix_notify() wrote; true if anything was there. */
static bool vector_drain(MSIXVector *v)
{
    eventfd_t n;
    bool any = false;

    while (eventfd_read(v->fd, &n) == 0) {
        any = true;
    }
    return any;
}

/* Main loop, BQL held. */
static gboolean vector_source_ready(gint fd G_GNUC_UNUSED,
                                    GIOCondition cond G_GNUC_UNUSED,
                                    gpointer opaque)
{
    MSIXVector *v = opaque;
    MSIXState *m = v->dev->msix;

    if (!vector_drain(v)) {
        return G_SOURCE_CONTINUE;
    }
    if (vector_masked(m, v->nr)) {
        pba_set(m, v->nr, true);
    } else if (!pci_irq_accel_ops()) {
        msi_write(vector_addr(m, v->nr), vector_data(m, v->nr));
    }
    /* else: KVM could not bind the vector (warned then); nothing to do */
    return G_SOURCE_CONTINUE;
}

static void vector_watch(MSIXVector *v, bool on)
{
    if (on && !v->source) {
        v->source = g_unix_fd_source_new(v->fd, G_IO_IN);
        g_source_set_callback(v->source, G_SOURCE_FUNC(vector_source_ready),
                              v, NULL);
        g_source_attach(v->source, NULL);
    } else if (!on && v->source) {
        g_source_destroy(v->source);
        g_clear_pointer(&v->source, g_source_unref);
    }
}

/* KVM: route the vector's GSI to its current message; 0 or -errno. */
static int vector_route(MSIXState *m, MSIXVector *v)
{
    const PCIIrqAccelOps *ops = pci_irq_accel_ops();
    uint64_t addr = vector_addr(m, v->nr);
    uint32_t data = vector_data(m, v->nr);

    if (v->gsi >= 0) {
        return ops->update_msi_route(v->gsi, addr, data);
    }
    v->gsi = ops->add_msi_route(addr, data);
    return v->gsi < 0 ? v->gsi : 0;
}

/* KVM: make the eventfd an irqfd; on failure the vector stays silent. */
static void vector_bind(MSIXState *m, MSIXVector *v)
{
    const PCIIrqAccelOps *ops = pci_irq_accel_ops();
    int ret = vector_route(m, v);

    if (ret == 0) {
        ret = ops->irqfd_assign(v->fd, v->gsi, -1);
    }
    if (ret < 0) {
        if (!v->warned) {
            warn_report("%s: MSI-X vector %u: %s", v->dev->name, v->nr,
                        g_strerror(-ret));
            v->warned = true;
        }
        return;
    }
    v->bound = true;
    vector_watch(v, false);
}

static void vector_unbind(MSIXVector *v)
{
    if (v->bound) {
        pci_irq_accel_ops()->irqfd_deassign(v->fd, v->gsi);
        v->bound = false;
    }
    vector_watch(v, true);
}

/* After a table or capability write: act on a change of the mask. */
static void vector_update(PCIDevice *d, unsigned nr, bool was_masked)
{
    MSIXState *m = d->msix;
    MSIXVector *v = &m->vec[nr];
    bool masked = vector_masked(m, nr);
    bool kvm = pci_irq_accel_ops() != NULL;

    if (masked) {
        if (!was_masked && kvm) {
            vector_unbind(v);
        }
        return;
    }
    if (!was_masked) {
        /* A message rewritten while live: follow it (Linux masks first). */
        if (v->bound) {
            vector_route(m, v);
        }
        return;
    }
    /* Unmasked: anything signalled while masked is pending now. */
    if (vector_drain(v)) {
        pba_set(m, nr, true);
    }
    if (kvm) {
        vector_bind(m, v);
    }
    if (pba_test(m, nr)) {
        pba_set(m, nr, false);
        if (v->bound) {
            eventfd_write(v->fd, 1);
        } else if (!kvm) {
            msi_write(vector_addr(m, nr), vector_data(m, nr));
        }
    }
}

/* ---- the BAR ---- */

static uint32_t table_read(MSIXState *m, uint32_t off)
{
    return pci_get_long(m->table + off);
}

static void table_write(PCIDevice *d, uint32_t off, uint32_t val)
{
    MSIXState *m = d->msix;
    unsigned nr = off / MSIX_ENTRY_SIZE;
    bool was_masked = vector_masked(m, nr);

    if (off % MSIX_ENTRY_SIZE == MSIX_ENTRY_CTRL) {
        /* Only the mask bit is writable; the rest is reserved. */
        val &= MSIX_ENTRY_CTRL_MASKBIT;
    }
    pci_set_long(m->table + off, val);
    vector_update(d, nr, was_masked);
}

/*
 * The 32 pending bits from @first: the main loop may not have drained a
 * masked vector's eventfd yet, so look now and the guest sees it at once.
 */
static uint32_t pba_read(MSIXState *m, uint32_t first)
{
    for (unsigned nr = first; nr < m->nvectors && nr < first + 32; nr++) {
        if (vector_masked(m, nr) && vector_drain(&m->vec[nr])) {
            pba_set(m, nr, true);
        }
    }
    return pci_get_long(m->pba + first / 8);
}

/* One aligned 32-bit access; anything outside table and PBA reads 0. */
static uint32_t msix_bar_read32(MSIXState *m, uint32_t off)
{
    if (off < m->nvectors * MSIX_ENTRY_SIZE) {
        return table_read(m, off);
    }
    if (off >= m->pba_offset && off - m->pba_offset < m->pba_size) {
        return pba_read(m, (off - m->pba_offset) * 8);
    }
    return 0;
}

/* The table and PBA take aligned 4- and 8-byte accesses, as in QEMU;
 * others read 0 and are dropped. */
static bool msix_access_ok(uint64_t off, unsigned size)
{
    return (size == 4 || size == 8) && !(off & (size - 1));
}

static uint64_t msix_bar_read(void *opaque, uint64_t off, unsigned size)
{
    PCIDevice *d = opaque;
    uint64_t val;

    if (!d->msix || !msix_access_ok(off, size)) {
        return 0;
    }
    val = msix_bar_read32(d->msix, off);
    if (size == 8) {
        val |= (uint64_t)msix_bar_read32(d->msix, off + 4) << 32;
    }
    return val;
}

static void msix_bar_write(void *opaque, uint64_t off, uint64_t val,
                           unsigned size)
{
    PCIDevice *d = opaque;

    if (!d->msix || !msix_access_ok(off, size)) {
        return;
    }
    /* The PBA and the padding are read-only. */
    for (unsigned i = 0; i < size; i += 4) {
        if (off + i < d->msix->nvectors * MSIX_ENTRY_SIZE) {
            table_write(d, off + i, val >> (8 * i));
        }
    }
}

static const IORegionOps msix_bar_ops = {
    .read = msix_bar_read,
    .write = msix_bar_write,
};

/* ---- the capability ---- */

void msix_write_config(PCIDevice *d, uint32_t off, unsigned len)
{
    MSIXState *m = d->msix;
    uint32_t ctrl = m->cap + MSIX_FLAGS + 1;   /* the enable/mask byte */
    bool was_enabled = m->enabled, was_fmasked = m->fmasked;
    uint16_t flags;

    if (off > ctrl || ctrl - off >= len) {
        return;
    }
    flags = msix_flags(d);
    m->enabled = flags & MSIX_FLAGS_ENABLE;
    m->fmasked = flags & MSIX_FLAGS_MASKALL;
    if (m->enabled && !was_enabled) {
        /* QEMU drops INTx when MSI-X takes over. */
        pci_set_irq(d, 0);
    }
    for (unsigned nr = 0; nr < m->nvectors; nr++) {
        bool was = !was_enabled || was_fmasked ||
                   (pci_get_long(entry(m, nr) + MSIX_ENTRY_CTRL) &
                    MSIX_ENTRY_CTRL_MASKBIT);

        vector_update(d, nr, was);
    }
}

bool msix_enabled(PCIDevice *d)
{
    return d->msix && d->msix->enabled && !d->msix->fmasked;
}

unsigned msix_nr_vectors(PCIDevice *d)
{
    return d->msix ? d->msix->nvectors : 0;
}

void msix_notify(PCIDevice *d, unsigned vector)
{
    MSIXState *m = d->msix;

    if (m && vector < m->nvectors) {
        eventfd_write(m->vec[vector].fd, 1);
    }
}

int msix_vector_fd(PCIDevice *d, unsigned vector)
{
    MSIXState *m = d->msix;

    return m && vector < m->nvectors ? m->vec[vector].fd : -1;
}

/* Drop KVM's hold on a vector: irqfd and GSI. */
static void vector_release(MSIXVector *v)
{
    const PCIIrqAccelOps *ops = pci_irq_accel_ops();

    if (v->bound) {
        ops->irqfd_deassign(v->fd, v->gsi);
        v->bound = false;
    }
    if (v->gsi >= 0) {
        ops->release_msi_route(v->gsi);
        v->gsi = -1;
    }
}

void msix_reset(PCIDevice *d)
{
    MSIXState *m = d->msix;
    uint8_t *flags;

    if (!m) {
        return;
    }
    flags = d->config + m->cap + MSIX_FLAGS;
    pci_set_word(flags, pci_get_word(flags) &
                        ~(MSIX_FLAGS_ENABLE | MSIX_FLAGS_MASKALL));
    m->enabled = m->fmasked = false;
    memset(m->table, 0, m->nvectors * MSIX_ENTRY_SIZE);
    memset(m->pba, 0, m->pba_size);
    for (unsigned nr = 0; nr < m->nvectors; nr++) {
        MSIXVector *v = &m->vec[nr];

        pci_set_long(entry(m, nr) + MSIX_ENTRY_CTRL, MSIX_ENTRY_CTRL_MASKBIT);
        vector_release(v);
        vector_drain(v);
        vector_watch(v, true);
    }
}

/* ---- set-up ---- */

static uint32_t pow2_ceil32(uint32_t v)
{
    uint32_t p = 1;

    while (p < v) {
        p <<= 1;
    }
    return p;
}

static void msix_free(MSIXState *m)
{
    for (unsigned nr = 0; m->vec && nr < m->nvectors; nr++) {
        MSIXVector *v = &m->vec[nr];

        vector_watch(v, false);
        vector_release(v);
        if (v->fd >= 0) {
            close(v->fd);
        }
    }
    g_free(m->vec);
    g_free(m->table);
    g_free(m->pba);
    g_free(m);
}

static MSIXState *msix_state_new(PCIDevice *d, unsigned nvectors,
                                 GError **errp)
{
    MSIXState *m = g_new0(MSIXState, 1);
    uint32_t table_size = nvectors * MSIX_ENTRY_SIZE;

    m->nvectors = nvectors;
    m->pba_offset = MAX(MSIX_PBA_MIN_OFFSET, table_size);
    m->pba_size = QEMU_ALIGN_UP(nvectors, 64) / 8;
    m->table = g_malloc0(table_size);
    m->pba = g_malloc0(m->pba_size);
    m->vec = g_new0(MSIXVector, nvectors);
    for (unsigned nr = 0; nr < nvectors; nr++) {
        m->vec[nr] = (MSIXVector) { .dev = d, .nr = nr, .fd = -1, .gsi = -1 };
    }
    for (unsigned nr = 0; nr < nvectors; nr++) {
        m->vec[nr].fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (m->vec[nr].fd < 0) {
            error_setg(errp, "%s: MSI-X vector eventfd: %s", d->name,
                       g_strerror(errno));
            msix_free(m);
            return NULL;
        }
    }
    return m;
}

bool msix_init_exclusive_bar(PCIDevice *d, unsigned nvectors, unsigned bar,
                             GError **errp)
{
    uint32_t bar_size;
    MSIXState *m;
    uint8_t cap;

    if (nvectors < 1 || nvectors > PCI_MSIX_MAX_VECTORS ||
        bar >= PCI_NUM_BARS || d->msix) {
        error_setg(errp, "%s: invalid MSI-X configuration (%u vectors, "
                   "BAR %u)", d->name, nvectors, bar);
        return false;
    }
    m = msix_state_new(d, nvectors, errp);
    if (!m) {
        return false;
    }
    bar_size = MAX(MSIX_BAR_MIN_SIZE,
                   pow2_ceil32(m->pba_offset + m->pba_size));
    cap = pci_add_capability(d, PCI_CAP_ID_MSIX, 0, MSIX_CAP_LENGTH, errp);
    if (!cap || !pci_register_bar(d, bar, PCI_BAR_MEM32, bar_size,
                                  &msix_bar_ops, d, errp)) {
        msix_free(m);
        return false;
    }
    m->cap = cap;
    m->bar = bar;
    pci_set_word(d->config + cap + MSIX_FLAGS, nvectors - 1);
    pci_set_long(d->config + cap + MSIX_TABLE, bar);
    pci_set_long(d->config + cap + MSIX_PBA, m->pba_offset | bar);
    d->wmask[cap + MSIX_FLAGS + 1] =
        (MSIX_FLAGS_ENABLE | MSIX_FLAGS_MASKALL) >> 8;
    memcpy(d->fw_config, d->config, sizeof(d->config));
    d->msix = m;
    msix_reset(d);
    return true;
}

void msix_uninit(PCIDevice *d)
{
    if (d->msix) {
        msix_free(d->msix);
        d->msix = NULL;
    }
}
