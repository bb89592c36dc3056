/*
 * PCI bus 0: configuration mechanism #1, config space with write masks,
 * BAR decoding, INTx to the IOAPIC, and the placement rules of QEMU's
 * -device ...,bus=pci.0,addr=SLOT[.FN].
 *
 * Every value the guest controls is checked here: the CONFIG_ADDRESS
 * register selects only bus 0 (other buses and absent functions read
 * all-ones), offsets stay inside the 256-byte space, and a BAR is decoded
 * only while its enable bit is set and it lies wholly inside its address
 * space; a BAR the guest moves onto another region stops decoding until
 * it is moved somewhere free.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "sysemu/reset.h"
#include <glib-unix.h>
#include <sys/eventfd.h>

#define CONFIG_ADDR_ENABLE   0x80000000u
#define PCI_HOST_PORT        0xcf8
#define PCI_HOST_PORT_LEN    8
#define RCR_OFFSET           1          /* 0xcf9 */
#define NUM_GSI              24
#define BAR_UNMAPPED         UINT64_MAX
#define MEM64_ADDR_LIMIT     (1ULL << 52)

struct PCIBus {
    PCIDevice *devices[PCI_DEVFN_MAX];
    uint32_t config_reg;
    ResetControlState *rcr;
    IORegion *io;
    unsigned gsi_count[NUM_GSI];        /* devices asserting each GSI */
    uint64_t io_next;                   /* allocation cursors */
    uint64_t mem32_next, mem32_floor;
    uint64_t mem64_next, mem64_end;
};

static PCIBus *the_bus;

static uint32_t len_mask(unsigned len)
{
    return len >= 4 ? UINT32_MAX : (1u << (len * 8)) - 1;
}

static bool config_access_ok(uint32_t off, unsigned len)
{
    return (len == 1 || len == 2 || len == 4) &&
           off < PCI_CONFIG_SPACE_SIZE &&
           len <= PCI_CONFIG_SPACE_SIZE - off;
}

static bool ranges_overlap(uint32_t a, unsigned alen, uint32_t b,
                           unsigned blen)
{
    return a < b + blen && b < a + alen;
}

/* ---- BARs ---- */

static unsigned bar_offset(unsigned i)
{
    return PCI_BASE_ADDRESS_0 + 4 * i;
}

/* The address the BAR registers hold, ignoring the type bits. */
static uint64_t bar_reg_addr(const PCIDevice *d, unsigned i)
{
    uint32_t lo = pci_get_long(d->config + bar_offset(i));

    switch (d->bars[i].type) {
    case PCI_BAR_IO:
        return lo & ~3u;
    case PCI_BAR_MEM32:
        return lo & ~0xfu;
    case PCI_BAR_MEM64_PREF:
        return (lo & ~0xfu) |
               ((uint64_t)pci_get_long(d->config + bar_offset(i + 1)) << 32);
    default:
        return 0;
    }
}

/* Where the BAR decodes now, or BAR_UNMAPPED. */
static uint64_t bar_target(const PCIDevice *d, unsigned i)
{
    const PCIBar *b = &d->bars[i];
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    uint64_t addr = bar_reg_addr(d, i);
    uint64_t limit;

    if (b->type == PCI_BAR_IO) {
        if (!(cmd & PCI_COMMAND_IO)) {
            return BAR_UNMAPPED;
        }
        limit = PCI_IO_ALLOC_END;
    } else {
        if (!(cmd & PCI_COMMAND_MEMORY)) {
            return BAR_UNMAPPED;
        }
        limit = b->type == PCI_BAR_MEM32 ? 0x100000000ULL : MEM64_ADDR_LIMIT;
    }
    /* addr is size-aligned by the write mask, so addr + size cannot wrap */
    if (addr == 0 || addr > limit || b->size > limit - addr) {
        return BAR_UNMAPPED;
    }
    return addr;
}

/* Give a freshly mapped BAR's region the ioeventfds declared for it. */
static void bar_map_eventfds(PCIDevice *d, PCIBar *b)
{
    for (guint i = 0; b->eventfds && i < b->eventfds->len; i++) {
        PCIBarEventfd *e = &g_array_index(b->eventfds, PCIBarEventfd, i);
        g_autoptr(GError) err = NULL;

        if (!io_region_add_eventfd(b->region, e->offset, e->fd, &err)) {
            warn_report("%s: %s", d->name, err->message);
        }
    }
}

static void bar_unmap(PCIBar *b)
{
    if (b->region) {
        io_region_del(b->region);
        b->region = NULL;
    }
}

static void pci_update_mappings(PCIDevice *d)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        PCIBar *b = &d->bars[i];
        g_autoptr(GError) err = NULL;
        uint64_t target;

        if (!b->size) {
            continue;
        }
        target = bar_target(d, i);
        if (b->region && target == b->addr) {
            continue;
        }
        if (target == BAR_UNMAPPED) {
            bar_unmap(b);
        } else if (b->region) {
            if (io_region_move(b->region, target, &err)) {
                b->addr = target;
            } else {
                /* Onto another region: decode nothing until moved away. */
                bar_unmap(b);
            }
        } else {
            g_autofree char *name = g_strdup_printf("%s-bar%u", d->name, i);

            b->region = io_region_add(b->type == PCI_BAR_IO ? AS_PIO : AS_MMIO,
                                      target, b->size, b->ops, b->opaque,
                                      name, &err);
            b->addr = target;
            if (b->region) {
                bar_map_eventfds(d, b);
            }
        }
    }
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
    return (v + align - 1) & ~(align - 1);
}

/* qvmm's firmware duty: a home for the BAR in its window. */
static bool bar_assign(PCIBus *bus, PCIBarType type, uint64_t size,
                       const char *name, uint64_t *addr, GError **errp)
{
    uint64_t a;

    switch (type) {
    case PCI_BAR_IO:
        a = align_up(bus->io_next, size);
        if (a > PCI_IO_ALLOC_END || size > PCI_IO_ALLOC_END - a) {
            break;
        }
        bus->io_next = a + size;
        *addr = a;
        return true;
    case PCI_BAR_MEM32: {
        uint64_t align = MAX(size, 4096);

        if (size > bus->mem32_next) {
            break;
        }
        a = (bus->mem32_next - size) & ~(align - 1);
        if (a < bus->mem32_floor) {
            break;
        }
        bus->mem32_next = a;
        *addr = a;
        return true;
    }
    case PCI_BAR_MEM64_PREF:
        a = align_up(bus->mem64_next, MAX(size, 4096));
        if (a > bus->mem64_end || size > bus->mem64_end - a) {
            break;
        }
        bus->mem64_next = a + size;
        *addr = a;
        return true;
    default:
        g_assert_not_reached();
    }
    error_setg(errp, "PCI: no room for a %" PRIu64 "-byte %s BAR of %s",
               size, type == PCI_BAR_IO ? "I/O" : "memory", name);
    return false;
}

bool pci_register_bar(PCIDevice *d, unsigned bar, PCIBarType type,
                      uint64_t size, const IORegionOps *ops, void *opaque,
                      GError **errp)
{
    unsigned nregs = type == PCI_BAR_MEM64_PREF ? 2 : 1;
    uint64_t min = type == PCI_BAR_IO ? 4 : 16;
    uint64_t max = type == PCI_BAR_IO ? 256 :
                   type == PCI_BAR_MEM32 ? (1ULL << 31) : (1ULL << 40);
    uint64_t mask, addr;
    PCIBar *b;
    uint8_t flags;

    g_assert(d->bus);
    if (bar + nregs > PCI_NUM_BARS || d->bars[bar].size ||
        (nregs == 2 && d->bars[bar + 1].size) || type == PCI_BAR_NONE ||
        size < min || size > max || (size & (size - 1))) {
        error_setg(errp, "PCI: invalid BAR %u (%" PRIu64 " bytes) for %s",
                   bar, size, d->name);
        return false;
    }
    if (!bar_assign(d->bus, type, size, d->name, &addr, errp)) {
        return false;
    }
    b = &d->bars[bar];
    b->type = type;
    b->size = size;
    b->fw_addr = addr;
    b->ops = ops;
    b->opaque = opaque;

    mask = ~(size - 1);
    if (type == PCI_BAR_IO) {
        flags = PCI_BASE_ADDRESS_SPACE_IO;
        pci_set_long(d->wmask + bar_offset(bar), (uint32_t)mask & ~3u);
        pci_set_word(d->config + PCI_COMMAND,
                     pci_get_word(d->config + PCI_COMMAND) | PCI_COMMAND_IO);
    } else {
        flags = type == PCI_BAR_MEM64_PREF ?
                PCI_BASE_ADDRESS_MEM_TYPE_64 | PCI_BASE_ADDRESS_MEM_PREFETCH :
                0;
        pci_set_long(d->wmask + bar_offset(bar), (uint32_t)mask & ~0xfu);
        pci_set_word(d->config + PCI_COMMAND,
                     pci_get_word(d->config + PCI_COMMAND) |
                     PCI_COMMAND_MEMORY);
    }
    pci_set_long(d->config + bar_offset(bar), (uint32_t)addr | flags);
    if (nregs == 2) {
        pci_set_long(d->wmask + bar_offset(bar + 1), mask >> 32);
        pci_set_long(d->config + bar_offset(bar + 1), addr >> 32);
    }
    pci_update_mappings(d);
    memcpy(d->fw_config, d->config, sizeof(d->config));
    return true;
}

/* ---- INTx ---- */

static int intx_gsi(const PCIDevice *d)
{
    unsigned pin = d->config[PCI_INTERRUPT_PIN];

    if (pin < 1 || pin > PCI_NUM_PINS) {
        return -1;
    }
    return pci_slot_pin_gsi(PCI_SLOT(d->devfn), pin - 1);
}

static bool intx_disabled(const PCIDevice *d);
static void intx_notifier_sync(PCIDevice *d);

/* Recompute the device's contribution to its GSI (level, INTx disable). */
static void pci_update_intx(PCIDevice *d)
{
    PCIBus *bus = d->bus;
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    bool assert = d->irq_level && !(cmd & PCI_COMMAND_INTX_DISABLE) && bus;
    int gsi = intx_gsi(d);

    if (d->intx_blocked != intx_disabled(d)) {
        intx_notifier_sync(d);
    }
    if (gsi < 0 || assert == d->intx_asserted) {
        return;
    }
    d->intx_asserted = assert;
    if (assert) {
        if (bus->gsi_count[gsi]++ == 0) {
            pc_set_irq(gsi, 1);
        }
    } else {
        g_assert(bus->gsi_count[gsi] > 0);
        if (--bus->gsi_count[gsi] == 0) {
            pc_set_irq(gsi, 0);
        }
    }
}

void pci_set_irq(PCIDevice *d, int level)
{
    uint16_t status = pci_get_word(d->config + PCI_STATUS);

    d->irq_level = level != 0;
    status &= ~PCI_STATUS_INTERRUPT;
    if (d->irq_level) {
        status |= PCI_STATUS_INTERRUPT;
    }
    pci_set_word(d->config + PCI_STATUS, status);
    pci_update_intx(d);
}

/* ---- accelerator hooks ---- */

static const PCIIrqAccelOps *irq_accel;

void pci_set_irq_accel_ops(const PCIIrqAccelOps *ops)
{
    irq_accel = ops;
}

const PCIIrqAccelOps *pci_irq_accel_ops(void)
{
    return irq_accel;
}

/* ---- INTx from other threads ---- */

/*
 * Under KVM the device's eventfd is an irqfd with a resample fd on the
 * pin's GSI: the kernel holds the line up from the write until the
 * guest's EOI, then drops it and signals the resample fd, and the main
 * loop raises it again if the device still has its condition.  The
 * kernel ORs this source with KVM_IRQ_LINE, so other devices sharing the
 * GSI through pci_set_irq() are unaffected.  Without KVM the main loop
 * turns each write into pci_set_irq(d, 1).
 */
typedef struct PCIIntxNotifier {
    PCIDevice *dev;
    int fd;                     /* the device writes it */
    int resample_fd;            /* KVM only; else -1 */
    int gsi;
    bool bound;                 /* irqfd assigned (KVM) */
    int raised;                 /* atomic: notified, not yet lowered */
    GSource *source;
} PCIIntxNotifier;

/* Lazy set-up may race between I/O threads; bindings change under it. */
static GMutex intx_lock;

static void eventfd_drain(int fd)
{
    eventfd_t v;

    while (eventfd_read(fd, &v) == 0) {
        /* the fds are non-blocking: stops at EAGAIN */
    }
}

static bool intx_still_pending(PCIDevice *d, PCIIntxNotifier *n)
{
    if (d->intx_pending) {
        return d->intx_pending(d);
    }
    return g_atomic_int_get(&n->raised);
}

/* Main loop, BQL: the line went down at EOI (KVM) or a notify arrived. */
static gboolean intx_source_ready(gint fd, GIOCondition cond G_GNUC_UNUSED,
                                  gpointer opaque)
{
    PCIIntxNotifier *n = opaque;
    PCIDevice *d = n->dev;

    eventfd_drain(fd);
    if (!intx_still_pending(d, n)) {
        return G_SOURCE_CONTINUE;
    }
    if (n->resample_fd >= 0) {
        eventfd_write(n->fd, 1);
    } else {
        pci_set_irq(d, 1);
    }
    return G_SOURCE_CONTINUE;
}

/* intx_lock held.  Follow INTx disable: no irqfd while it is set. */
static void intx_bind(PCIIntxNotifier *n, bool want)
{
    int ret;

    if (n->resample_fd < 0 || n->gsi < 0 || want == n->bound) {
        return;
    }
    if (!want) {
        irq_accel->irqfd_deassign(n->fd, n->gsi);
        n->bound = false;
        return;
    }
    /* What arrived while the line was disabled is stale; ask the device. */
    eventfd_drain(n->fd);
    ret = irq_accel->irqfd_assign(n->fd, n->gsi, n->resample_fd);
    if (ret < 0) {
        warn_report("%s: INTx irqfd on GSI %d: %s", n->dev->name, n->gsi,
                    g_strerror(-ret));
        return;
    }
    n->bound = true;
    if (g_atomic_int_get(&n->raised)) {
        eventfd_write(n->fd, 1);
    }
}

static bool intx_disabled(const PCIDevice *d)
{
    return pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
}

static PCIIntxNotifier *intx_notifier_new(PCIDevice *d)
{
    PCIIntxNotifier *n = g_new0(PCIIntxNotifier, 1);
    bool kvm = irq_accel && irq_accel->irqfd_assign;
    int watch;

    n->dev = d;
    n->gsi = intx_gsi(d);
    n->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    n->resample_fd = kvm ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
    if (n->fd < 0 || (kvm && n->resample_fd < 0)) {
        warn_report("%s: INTx eventfd: %s", d->name, g_strerror(errno));
        if (n->fd >= 0) {
            close(n->fd);
        }
        g_free(n);
        return NULL;
    }
    watch = kvm ? n->resample_fd : n->fd;
    n->source = g_unix_fd_source_new(watch, G_IO_IN);
    g_source_set_callback(n->source, G_SOURCE_FUNC(intx_source_ready), n,
                          NULL);
    g_source_attach(n->source, NULL);
    intx_bind(n, !d->intx_blocked);
    return n;
}

static PCIIntxNotifier *intx_notifier_get(PCIDevice *d)
{
    PCIIntxNotifier *n = g_atomic_pointer_get(&d->intx_notifier);

    if (n) {
        return n;
    }
    g_mutex_lock(&intx_lock);
    n = d->intx_notifier;
    if (!n && d->bus) {
        n = intx_notifier_new(d);
        g_atomic_pointer_set(&d->intx_notifier, n);
    }
    g_mutex_unlock(&intx_lock);
    return n;
}

void pci_intx_notify(PCIDevice *d)
{
    PCIIntxNotifier *n = intx_notifier_get(d);

    if (n) {
        g_atomic_int_set(&n->raised, 1);
        eventfd_write(n->fd, 1);
    }
}

/*
 * Under KVM nothing needs lowering here: the irqfd only holds the line
 * until the guest's EOI, and the resample check that follows asks the
 * device, whose condition is already clear (the guest's ISR read is what
 * cleared it), so the line stays down.  Lowered without an EOI (say the
 * guest polls with the pin masked) the line drops at the next EOI, after
 * at most one spurious interrupt the guest's handler shrugs off.
 */
void pci_intx_lower(PCIDevice *d)
{
    PCIIntxNotifier *n = g_atomic_pointer_get(&d->intx_notifier);

    if (n) {
        g_atomic_int_set(&n->raised, 0);
    }
    if (!n || n->resample_fd < 0) {
        pci_set_irq(d, 0);
    }
}

/* BQL: the command register changed, or the device was reset. */
static void intx_notifier_sync(PCIDevice *d)
{
    g_mutex_lock(&intx_lock);
    d->intx_blocked = intx_disabled(d);
    if (d->intx_notifier) {
        intx_bind(d->intx_notifier, !d->intx_blocked);
    }
    g_mutex_unlock(&intx_lock);
}

/* System reset: forget notifications and drop a line KVM holds up. */
static void intx_notifier_reset(PCIDevice *d)
{
    PCIIntxNotifier *n = g_atomic_pointer_get(&d->intx_notifier);

    if (!n) {
        return;
    }
    g_atomic_int_set(&n->raised, 0);
    g_mutex_lock(&intx_lock);
    /* Deassigning the last resample irqfd of a GSI lowers its line. */
    intx_bind(n, false);
    eventfd_drain(n->fd);
    g_mutex_unlock(&intx_lock);
}

static void intx_notifier_free(PCIDevice *d)
{
    PCIIntxNotifier *n = d->intx_notifier;

    if (!n) {
        return;
    }
    g_mutex_lock(&intx_lock);
    intx_bind(n, false);
    d->intx_notifier = NULL;
    g_mutex_unlock(&intx_lock);
    g_source_destroy(n->source);
    g_source_unref(n->source);
    close(n->fd);
    if (n->resample_fd >= 0) {
        close(n->resample_fd);
    }
    g_free(n);
}

/* Under KVM the status bit follows the device's condition, not the line. */
static void intx_status_refresh(PCIDevice *d)
{
    PCIIntxNotifier *n = g_atomic_pointer_get(&d->intx_notifier);
    uint16_t status = pci_get_word(d->config + PCI_STATUS);

    if (!n || n->resample_fd < 0) {
        return;
    }
    status &= ~PCI_STATUS_INTERRUPT;
    if (intx_still_pending(d, n)) {
        status |= PCI_STATUS_INTERRUPT;
    }
    pci_set_word(d->config + PCI_STATUS, status);
}

/* ---- ioeventfds on BARs ---- */

static int bar_eventfd_find(const PCIBar *b, uint64_t offset)
{
    for (guint i = 0; b->eventfds && i < b->eventfds->len; i++) {
        if (g_array_index(b->eventfds, PCIBarEventfd, i).offset == offset) {
            return i;
        }
    }
    return -1;
}

bool pci_bar_add_eventfd(PCIDevice *d, unsigned bar, uint64_t offset,
                         int fd, GError **errp)
{
    PCIBarEventfd e = { .offset = offset, .fd = fd };
    PCIBar *b;

    if (bar >= PCI_NUM_BARS || !d->bars[bar].size ||
        offset >= d->bars[bar].size) {
        error_setg(errp, "%s: no BAR %u offset 0x%" PRIx64 " for an "
                   "ioeventfd", d->name, bar, offset);
        return false;
    }
    b = &d->bars[bar];
    if (bar_eventfd_find(b, offset) >= 0) {
        error_setg(errp, "%s: BAR %u offset 0x%" PRIx64 " already has an "
                   "ioeventfd", d->name, bar, offset);
        return false;
    }
    if (b->region && !io_region_add_eventfd(b->region, offset, fd, errp)) {
        return false;
    }
    if (!b->eventfds) {
        b->eventfds = g_array_new(false, false, sizeof(PCIBarEventfd));
    }
    g_array_append_val(b->eventfds, e);
    return true;
}

void pci_bar_del_eventfd(PCIDevice *d, unsigned bar, uint64_t offset)
{
    PCIBar *b;
    int i;

    if (bar >= PCI_NUM_BARS) {
        return;
    }
    b = &d->bars[bar];
    i = bar_eventfd_find(b, offset);
    if (i < 0) {
        return;
    }
    if (b->region) {
        io_region_del_eventfd(b->region, offset);
    }
    g_array_remove_index_fast(b->eventfds, i);
}

/* ---- capabilities ---- */

/* The first 4-aligned run of @size free bytes after the header, or 0. */
static uint8_t cap_find_space(const PCIDevice *d, uint8_t size)
{
    for (unsigned off = PCI_CONFIG_HEADER_SIZE;
         off + size <= PCI_CONFIG_SPACE_SIZE; off += 4) {
        unsigned i;

        for (i = 0; i < size && !d->cap_used[off + i]; i++) {
            /* count free bytes */
        }
        if (i == size) {
            return off;
        }
    }
    return 0;
}

/* The capability whose bytes include @off (offset and id), for errors. */
static uint8_t cap_at(const PCIDevice *d, unsigned off, uint8_t *id)
{
    uint8_t best = 0;

    for (uint8_t c = d->config[PCI_CAPABILITY_LIST], hops = 0;
         c && hops < 64; c = d->config[c + 1], hops++) {
        if (c <= off && c > best) {
            best = c;
        }
    }
    *id = best ? d->config[best] : 0;
    return best;
}

uint8_t pci_add_capability(PCIDevice *d, uint8_t cap_id, uint8_t offset,
                           uint8_t size, GError **errp)
{
    if (size < 2) {
        error_setg(errp, "%s: PCI capability %x of %u bytes is too small",
                   d->name, cap_id, size);
        return 0;
    }
    if (!offset) {
        offset = cap_find_space(d, size);
        if (!offset) {
            error_setg(errp, "%s: no room in config space for PCI "
                       "capability %x (%u bytes)", d->name, cap_id, size);
            return 0;
        }
    }
    if (offset < PCI_CONFIG_HEADER_SIZE || (offset & 3) ||
        size > PCI_CONFIG_SPACE_SIZE - offset) {
        error_setg(errp, "%s: PCI capability %x at offset %x overlaps the "
                   "header or leaves config space", d->name, cap_id, offset);
        return 0;
    }
    for (unsigned i = offset; i < offset + size; i++) {
        uint8_t other_id, other;

        if (d->cap_used[i]) {
            other = cap_at(d, i, &other_id);
            /* QEMU's wording, bus path included. */
            error_setg(errp, "0000:00:00:%02x.%x Attempt to add PCI "
                       "capability %x at offset %x overlaps existing "
                       "capability %x at offset %x", PCI_SLOT(d->devfn),
                       PCI_FUNC(d->devfn), cap_id, offset, other_id, other);
            return 0;
        }
    }
    /* New capabilities go first in the list, as QEMU links them. */
    d->config[offset] = cap_id;
    d->config[offset + 1] = d->config[PCI_CAPABILITY_LIST];
    d->config[PCI_CAPABILITY_LIST] = offset;
    pci_set_word(d->config + PCI_STATUS,
                 pci_get_word(d->config + PCI_STATUS) | PCI_STATUS_CAP_LIST);
    memset(d->cap_used + offset, 1, size);
    memset(d->wmask + offset, 0, size);
    memset(d->w1cmask + offset, 0, size);
    memcpy(d->fw_config, d->config, sizeof(d->config));
    return offset;
}

/* ---- config space ---- */

uint32_t pci_default_read_config(PCIDevice *d, uint32_t off, unsigned len)
{
    uint32_t val = 0;

    if (!config_access_ok(off, len)) {
        return len_mask(len);
    }
    if (ranges_overlap(off, len, PCI_STATUS, 2)) {
        intx_status_refresh(d);
    }
    for (unsigned i = 0; i < len; i++) {
        val |= (uint32_t)d->config[off + i] << (8 * i);
    }
    return val;
}

void pci_default_write_config(PCIDevice *d, uint32_t off, uint32_t val,
                              unsigned len)
{
    if (!config_access_ok(off, len)) {
        return;
    }
    for (unsigned i = 0; i < len; i++) {
        uint8_t byte = val >> (8 * i);
        uint8_t w = d->wmask[off + i], w1c = d->w1cmask[off + i];

        d->config[off + i] = (d->config[off + i] & ~w) | (byte & w);
        d->config[off + i] &= ~(byte & w1c);
    }
    if (ranges_overlap(off, len, PCI_COMMAND, 2) ||
        ranges_overlap(off, len, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS)) {
        pci_update_mappings(d);
    }
    if (ranges_overlap(off, len, PCI_COMMAND, 2)) {
        pci_update_intx(d);
    }
    if (d->msix) {
        msix_write_config(d, off, len);
    }
}

uint32_t pci_bus_config_read(PCIBus *bus, int devfn, uint32_t off,
                             unsigned len)
{
    PCIDevice *d;

    if (devfn < 0 || devfn >= PCI_DEVFN_MAX || !config_access_ok(off, len)) {
        return len_mask(len);
    }
    d = bus->devices[devfn];
    if (!d) {
        return len_mask(len);
    }
    if (d->config_read) {
        return d->config_read(d, off, len) & len_mask(len);
    }
    return pci_default_read_config(d, off, len);
}

void pci_bus_config_write(PCIBus *bus, int devfn, uint32_t off,
                          uint32_t val, unsigned len)
{
    PCIDevice *d;

    if (devfn < 0 || devfn >= PCI_DEVFN_MAX || !config_access_ok(off, len)) {
        return;
    }
    d = bus->devices[devfn];
    if (!d) {
        return;
    }
    val &= len_mask(len);
    if (d->config_write) {
        d->config_write(d, off, val, len);
    } else {
        pci_default_write_config(d, off, val, len);
    }
}

/* ---- configuration mechanism #1: 0xcf8-0xcfb address, 0xcfc-0xcff data */

/* Bus 0 only; @reg_off is the data port's offset (0-3). */
static bool config_target(PCIBus *bus, unsigned reg_off, int *devfn,
                          uint32_t *off)
{
    uint32_t reg = bus->config_reg;

    if (!(reg & CONFIG_ADDR_ENABLE) || ((reg >> 16) & 0xff) != 0) {
        return false;
    }
    *devfn = (reg >> 8) & 0xff;
    *off = (reg & 0xfc) + reg_off;
    return true;
}

static uint64_t host_read(PCIBus *bus, unsigned off, unsigned size)
{
    int devfn;
    uint32_t cfg_off;

    if (off < 4) {
        if (off == RCR_OFFSET && size == 1 && bus->rcr) {
            return reset_control_read(bus->rcr);
        }
        return (bus->config_reg >> (8 * off)) & len_mask(size);
    }
    if (!config_target(bus, off - 4, &devfn, &cfg_off)) {
        return len_mask(size);
    }
    return pci_bus_config_read(bus, devfn, cfg_off, size);
}

static void host_write(PCIBus *bus, unsigned off, uint32_t val, unsigned size)
{
    int devfn;
    uint32_t cfg_off;

    if (off < 4) {
        if (off == 0 && size == 4) {
            bus->config_reg = val;
        } else if (off == RCR_OFFSET && size == 1 && bus->rcr) {
            reset_control_write(bus->rcr, val);
        }
        return;
    }
    if (config_target(bus, off - 4, &devfn, &cfg_off)) {
        pci_bus_config_write(bus, devfn, cfg_off, val, size);
    }
}

/* An access straddling the two registers is taken a byte at a time. */
static bool host_access_split(uint64_t off, unsigned size)
{
    return (size != 1 && size != 2 && size != 4) ||
           off >= PCI_HOST_PORT_LEN || size > PCI_HOST_PORT_LEN - off ||
           (off < 4 && off + size > 4);
}

static uint64_t pci_host_io_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t val = 0;

    if (!host_access_split(off, size)) {
        return host_read(opaque, off, size);
    }
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t byte = off + i < PCI_HOST_PORT_LEN ?
                        host_read(opaque, off + i, 1) : 0xff;
        val |= byte << (8 * i);
    }
    return val;
}

static void pci_host_io_write(void *opaque, uint64_t off, uint64_t val,
                              unsigned size)
{
    if (!host_access_split(off, size)) {
        host_write(opaque, off, val, size);
        return;
    }
    for (unsigned i = 0; i < size && i < 8; i++) {
        if (off + i < PCI_HOST_PORT_LEN) {
            host_write(opaque, off + i, (val >> (8 * i)) & 0xff, 1);
        }
    }
}

static const IORegionOps pci_host_io_ops = {
    .read = pci_host_io_read,
    .write = pci_host_io_write,
};

/* ---- reset ---- */

static void pci_device_reset(PCIDevice *d)
{
    d->irq_level = 0;
    pci_update_intx(d);
    intx_notifier_reset(d);
    memcpy(d->config, d->fw_config, sizeof(d->config));
    pci_update_mappings(d);
    intx_notifier_sync(d);
    if (d->msix) {
        msix_reset(d);
    }
}

static void pci_bus_reset(void *opaque)
{
    PCIBus *bus = opaque;

    bus->config_reg = 0;
    for (unsigned i = 0; i < PCI_DEVFN_MAX; i++) {
        if (bus->devices[i]) {
            pci_device_reset(bus->devices[i]);
        }
    }
}

/* ---- the bus ---- */

PCIBus *pci_bus_new(uint64_t below_4g, uint64_t above_4g,
                    ResetControlState *rcr, GError **errp)
{
    PCIBus *bus;

    g_assert(!the_bus);
    bus = g_new0(PCIBus, 1);
    bus->rcr = rcr;
    bus->io_next = PCI_IO_ALLOC_START;
    bus->mem32_next = PCI_MEM32_ALLOC_TOP;
    bus->mem32_floor = MIN(below_4g, PCI_MEM32_ALLOC_TOP);
    bus->mem64_next = pci_hole64_start(above_4g);
    bus->mem64_end = bus->mem64_next + PCI_HOLE64_SIZE;
    bus->io = io_region_add(AS_PIO, PCI_HOST_PORT, PCI_HOST_PORT_LEN,
                            &pci_host_io_ops, bus, "pci-conf", errp);
    if (!bus->io) {
        g_free(bus);
        return NULL;
    }
    qemu_register_reset(pci_bus_reset, bus);
    the_bus = bus;
    return bus;
}

PCIBus *pci_bus_get(void)
{
    return the_bus;
}

void pci_bus_free(PCIBus *bus)
{
    if (!bus) {
        return;
    }
    for (unsigned i = 0; i < PCI_DEVFN_MAX; i++) {
        if (bus->devices[i]) {
            pci_unregister_device(bus->devices[i]);
        }
    }
    qemu_unregister_reset(pci_bus_reset, bus);
    io_region_del(bus->io);
    if (the_bus == bus) {
        the_bus = NULL;
    }
    g_free(bus);
}

void pci_bus_machine_done(PCIBus *bus)
{
    for (unsigned i = 0; i < PCI_DEVFN_MAX; i++) {
        PCIDevice *d = bus->devices[i];

        if (d) {
            memcpy(d->fw_config, d->config, sizeof(d->config));
        }
    }
}

PCIDevice *pci_bus_device(PCIBus *bus, int devfn)
{
    return devfn >= 0 && devfn < PCI_DEVFN_MAX ? bus->devices[devfn] : NULL;
}

/* ---- devices ---- */

bool pci_parse_devfn(const char *addr, const char *type, int *devfn,
                     GError **errp)
{
    const char *p = addr;
    unsigned long slot, fn = 0;
    char *end;

    if (!addr || !*addr) {
        *devfn = -1;
        return true;
    }
    if (!g_ascii_isxdigit(*p)) {
        goto invalid;
    }
    errno = 0;
    slot = strtoul(p, &end, 16);
    if (errno || slot >= PCI_SLOT_MAX) {
        goto invalid;
    }
    if (*end == '.') {
        p = end + 1;
        if (!g_ascii_isxdigit(*p)) {
            goto invalid;
        }
        fn = strtoul(p, &end, 16);
        if (errno || fn >= PCI_FUNC_MAX) {
            goto invalid;
        }
    }
    if (*end) {
        goto invalid;
    }
    *devfn = PCI_DEVFN(slot, fn);
    return true;

invalid:
    error_setg(errp, "Property '%s.addr' doesn't take value '%s'", type,
               addr);
    return false;
}

void pci_config_set_ids(PCIDevice *d, uint16_t vendor, uint16_t device,
                        uint8_t revision, uint32_t class_code)
{
    pci_set_word(d->config + PCI_VENDOR_ID, vendor);
    pci_set_word(d->config + PCI_DEVICE_ID, device);
    d->config[PCI_REVISION_ID] = revision;
    d->config[PCI_CLASS_PROG] = class_code;
    pci_set_word(d->config + PCI_CLASS_DEVICE, class_code >> 8);
}

/* QEMU's pci_init_wmask/pci_init_w1cmask for a type 0 header. */
static void init_masks(PCIDevice *d)
{
    memset(d->wmask, 0, sizeof(d->wmask));
    memset(d->w1cmask, 0, sizeof(d->w1cmask));
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    pci_set_word(d->wmask + PCI_COMMAND,
                 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                 PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
                 PCI_COMMAND_INTX_DISABLE);
    pci_set_word(d->w1cmask + PCI_STATUS, PCI_STATUS_W1C);
    /* The device-specific area is writable unless the device says not. */
    memset(d->wmask + PCI_CONFIG_HEADER_SIZE, 0xff,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
}

static int find_free_devfn(PCIBus *bus)
{
    for (int devfn = 0; devfn < PCI_DEVFN_MAX; devfn += PCI_FUNC_MAX) {
        if (!bus->devices[devfn]) {
            return devfn;
        }
    }
    return -1;
}

bool pci_register_device(PCIBus *bus, PCIDevice *d, const char *name,
                         int devfn, GError **errp)
{
    const PCIDevice *other;
    int gsi;

    g_assert(!d->bus && devfn >= -1 && devfn < PCI_DEVFN_MAX);
    if (devfn < 0) {
        devfn = find_free_devfn(bus);
        if (devfn < 0) {
            error_setg(errp, "PCI: no slot/function available for %s, all "
                       "in use or reserved", name);
            return false;
        }
    } else if ((other = bus->devices[devfn])) {
        error_setg(errp, "PCI: slot %d function %d not available for %s, in "
                   "use by %s,id=%s", PCI_SLOT(devfn), PCI_FUNC(devfn), name,
                   other->name, other->qdev.id ? other->qdev.id : "(null)");
        return false;
    }
    d->bus = bus;
    d->devfn = devfn;
    d->name = g_strdup(name);
    bus->devices[devfn] = d;
    init_masks(d);
    memset(d->cap_used, 1, PCI_CONFIG_HEADER_SIZE);
    if (!pci_get_word(d->config + PCI_SUBSYSTEM_VENDOR_ID) &&
        !pci_get_word(d->config + PCI_SUBSYSTEM_ID)) {
        pci_set_word(d->config + PCI_SUBSYSTEM_VENDOR_ID,
                     PCI_SUBVENDOR_ID_REDHAT_QUMRANET);
        pci_set_word(d->config + PCI_SUBSYSTEM_ID, PCI_SUBDEVICE_ID_QEMU);
    }
    gsi = intx_gsi(d);
    if (gsi >= 0) {
        d->config[PCI_INTERRUPT_LINE] = gsi;
    }
    memcpy(d->fw_config, d->config, sizeof(d->config));
    return true;
}

void pci_unregister_device(PCIDevice *d)
{
    PCIBus *bus = d->bus;

    if (!bus) {
        return;
    }
    d->irq_level = 0;
    pci_update_intx(d);
    intx_notifier_free(d);
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        bar_unmap(&d->bars[i]);
        if (d->bars[i].eventfds) {
            g_array_free(d->bars[i].eventfds, true);
            d->bars[i].eventfds = NULL;
        }
    }
    bus->devices[d->devfn] = NULL;
    d->bus = NULL;
    g_clear_pointer(&d->name, g_free);
}

bool pci_realize_device(PCIDevice *d, GError **errp)
{
    PCIBus *bus = pci_bus_get();
    const char *type = d->qdev.klass->name;
    int devfn;

    if (!bus) {
        error_setg(errp, "No 'PCI' bus found for device '%s'", type);
        return false;
    }
    if (!pci_parse_devfn(d->addr, type, &devfn, errp)) {
        return false;
    }
    return pci_register_device(bus, d, type, devfn, errp);
}
