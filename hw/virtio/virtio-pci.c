/*
 * The virtio 1.x PCI transport: capabilities, BAR 4's common config, ISR,
 * device config and notify areas, status and feature negotiation, queue
 * registers, kicks through ioeventfds and interrupts through MSI-X or
 * INTx.  See include/hw/virtio/virtio-pci.h for the threading rules.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/pci/msix.h"
#include "sysemu/iothread.h"
#include <glib-unix.h>
#include <sys/eventfd.h>

#define VIRTIO_MSI_NO_VECTOR 0xffff

/* ---- interrupts ---- */

void virtio_pci_notify(VirtIOPCIProxy *p, unsigned q)
{
    if (q >= p->num_queues || !virtqueue_should_notify(&p->queues[q].vq)) {
        return;
    }
    if (msix_enabled(&p->pci)) {
        uint16_t v = __atomic_load_n(&p->queues[q].vector, __ATOMIC_RELAXED);
        if (v != VIRTIO_MSI_NO_VECTOR) {
            msix_notify(&p->pci, v);
        }
        return;
    }
    __atomic_fetch_or(&p->isr, 1, __ATOMIC_SEQ_CST);
    pci_intx_notify(&p->pci);
}

void virtio_pci_notify_config(VirtIOPCIProxy *p)
{
    __atomic_fetch_add(&p->config_generation, 1, __ATOMIC_SEQ_CST);
    if (!(__atomic_load_n(&p->status, __ATOMIC_RELAXED) &
          VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    if (msix_enabled(&p->pci)) {
        if (p->config_vector != VIRTIO_MSI_NO_VECTOR) {
            msix_notify(&p->pci, p->config_vector);
        }
        return;
    }
    __atomic_fetch_or(&p->isr, 2, __ATOMIC_SEQ_CST);
    pci_intx_notify(&p->pci);
}

void virtio_pci_set_needs_reset(VirtIOPCIProxy *p)
{
    uint8_t old = __atomic_fetch_or(&p->status, VIRTIO_CONFIG_S_NEEDS_RESET,
                                    __ATOMIC_SEQ_CST);

    if (!(old & VIRTIO_CONFIG_S_NEEDS_RESET)) {
        virtio_pci_notify_config(p);
    }
}

static bool virtio_pci_intx_pending(PCIDevice *d)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)d;

    return __atomic_load_n(&p->isr, __ATOMIC_SEQ_CST) != 0;
}

static void queue_broken(VirtQueue *vq, void *opaque)
{
    (void)vq;
    virtio_pci_set_needs_reset(opaque);
}

/* ---- starting, stopping and resetting ---- */

static gboolean queue_kicked(gint fd, GIOCondition cond, gpointer opaque)
{
    VirtIOPCIQueue *vpq = opaque;
    VirtIOPCIProxy *p = vpq->vq.opaque;
    eventfd_t cnt;

    (void)cond;
    if (eventfd_read(fd, &cnt) < 0 && errno != EAGAIN) {
        error_report("%s: reading its ioeventfd: %s", vpq->name,
                     g_strerror(errno));
    }
    if (__atomic_load_n(&p->running, __ATOMIC_ACQUIRE)) {
        p->ops->handle_queue(p, vpq - p->queues);
    }
    return G_SOURCE_CONTINUE;
}

/*
 * Process @vpq's kicks in the device's context.  The source may recurse:
 * glib otherwise takes a dispatched source's fd out of the poll set and
 * puts it back, waking its loop through the wakeup eventfd twice for
 * every kick (QEMU's AioContext source is recursive for the same reason).
 */
static void queue_watch_kicks(VirtIOPCIProxy *p, VirtIOPCIQueue *vpq)
{
    vpq->kick_source = g_unix_fd_source_new(vpq->kick_fd, G_IO_IN);
    g_source_set_callback(vpq->kick_source, G_SOURCE_FUNC(queue_kicked),
                          vpq, NULL);
    g_source_set_can_recurse(vpq->kick_source, TRUE);
    g_source_attach(vpq->kick_source, p->ctx);
    /* A kick written before this (before DRIVER_OK, say) is in the fd. */
    eventfd_write(vpq->kick_fd, 1);
}

static void virtio_pci_start(VirtIOPCIProxy *p)
{
    p->ops->start(p);
    __atomic_store_n(&p->running, true, __ATOMIC_RELEASE);
    for (unsigned q = 0; q < p->num_queues; q++) {
        VirtIOPCIQueue *vpq = &p->queues[q];

        if (!vpq->enabled) {
            continue;
        }
        virtqueue_set_features(&vpq->vq, p->guest_features);
        if (vpq->kick_external) {
            continue;              /* vhost took it in ops->start */
        }
        queue_watch_kicks(p, vpq);
    }
}

static void sync_noop(void *opaque)
{
    (void)opaque;
}

/* Stop processing kicks; afterwards no queue handler is running. */
static void virtio_pci_stop(VirtIOPCIProxy *p)
{
    __atomic_store_n(&p->running, false, __ATOMIC_RELEASE);
    for (unsigned q = 0; q < p->num_queues; q++) {
        if (p->queues[q].kick_source) {
            g_source_destroy(p->queues[q].kick_source);
            g_source_unref(p->queues[q].kick_source);
            p->queues[q].kick_source = NULL;
        }
    }
    if (p->iothread_id) {
        /* Wait out a handler or completion already running there. */
        iothread_run_sync(iothread_by_id(p->iothread_id), sync_noop, NULL);
    }
}

static void queue_regs_reset(VirtIOPCIQueue *vpq)
{
    virtqueue_reset(&vpq->vq);
    vpq->size = vpq->max_size;
    vpq->vector = VIRTIO_MSI_NO_VECTOR;
    vpq->enabled = false;
    vpq->desc = vpq->driver = vpq->device = 0;
}

static void virtio_pci_finish_reset(VirtIOPCIProxy *p)
{
    for (unsigned q = 0; q < p->num_queues; q++) {
        queue_regs_reset(&p->queues[q]);
    }
    p->guest_features = 0;
    p->dfselect = p->gfselect = 0;
    p->queue_sel = 0;
    p->config_vector = VIRTIO_MSI_NO_VECTOR;
    __atomic_store_n(&p->isr, 0, __ATOMIC_SEQ_CST);
    pci_intx_lower(&p->pci);
    __atomic_store_n(&p->resetting, false, __ATOMIC_SEQ_CST);
    __atomic_store_n(&p->status, 0, __ATOMIC_SEQ_CST);
    if (p->ops->reset) {
        p->ops->reset(p);
    }
}

static bool device_idle(VirtIOPCIProxy *p)
{
    return !p->ops->in_flight || p->ops->in_flight(p) == 0;
}

/* The driver wrote 0 to device_status (or the machine reset). */
static void virtio_pci_device_reset(VirtIOPCIProxy *p)
{
    /* From here on, completions drop their results (see resetting). */
    __atomic_store_n(&p->resetting, true, __ATOMIC_SEQ_CST);
    virtio_pci_stop(p);
    if (device_idle(p)) {
        virtio_pci_finish_reset(p);
    }
}

/* device_status as the driver reads it: non-zero until reset is done. */
static uint8_t virtio_pci_read_status(VirtIOPCIProxy *p)
{
    if (p->resetting && device_idle(p)) {
        virtio_pci_finish_reset(p);
    }
    return __atomic_load_n(&p->status, __ATOMIC_SEQ_CST);
}

void virtio_pci_reset(VirtIOPCIProxy *p)
{
    virtio_pci_device_reset(p);
    /* The vCPUs are stopped: wait here for what was in flight, which
     * completes in the I/O thread, or in this (main) thread's loop. */
    while (p->resetting) {
        if (p->ctx) {
            g_usleep(1000);
        } else {
            g_main_context_iteration(NULL, TRUE);
        }
        virtio_pci_read_status(p);
    }
    msix_reset(&p->pci);
}

/* ---- status and features ---- */

static bool features_acceptable(VirtIOPCIProxy *p)
{
    return !(p->guest_features & ~p->host_features) &&
           (p->guest_features & (1ULL << VIRTIO_F_VERSION_1));
}

static void virtio_pci_write_status(VirtIOPCIProxy *p, uint8_t val)
{
    uint8_t old = __atomic_load_n(&p->status, __ATOMIC_SEQ_CST);

    if (val == 0) {
        virtio_pci_device_reset(p);
        return;
    }
    if (p->resetting) {
        return;                 /* the driver did not wait for 0 */
    }
    if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
        !(old & VIRTIO_CONFIG_S_FEATURES_OK) && !features_acceptable(p)) {
        val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
    }
    val |= old & VIRTIO_CONFIG_S_NEEDS_RESET;
    if ((val & VIRTIO_CONFIG_S_DRIVER_OK) &&
        !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
        if (!(val & VIRTIO_CONFIG_S_FEATURES_OK)) {
            guest_error_report("%s: DRIVER_OK without FEATURES_OK",
                               p->type_name);
            val |= VIRTIO_CONFIG_S_NEEDS_RESET;
            __atomic_store_n(&p->status, val, __ATOMIC_SEQ_CST);
            return;
        }
        __atomic_store_n(&p->status, val, __ATOMIC_SEQ_CST);
        if (val & VIRTIO_CONFIG_S_NEEDS_RESET) {
            /* Broken during set-up: say so now that the driver listens. */
            virtio_pci_notify_config(p);
            return;
        }
        virtio_pci_start(p);
        return;
    }
    __atomic_store_n(&p->status, val, __ATOMIC_SEQ_CST);
}

static void write_driver_features(VirtIOPCIProxy *p, uint32_t val)
{
    if (p->status & VIRTIO_CONFIG_S_FEATURES_OK) {
        return;                 /* fixed once accepted */
    }
    if (p->gfselect == 0) {
        p->guest_features = (p->guest_features & ~0xffffffffULL) | val;
    } else if (p->gfselect == 1) {
        p->guest_features = (p->guest_features & 0xffffffffULL) |
                            ((uint64_t)val << 32);
    }
}

/* ---- queue registers ---- */

static VirtIOPCIQueue *selected_queue(VirtIOPCIProxy *p)
{
    return p->queue_sel < p->num_queues ? &p->queues[p->queue_sel] : NULL;
}

/* queue_enable = 1: place the rings as the staged registers say. */
static void queue_enable(VirtIOPCIProxy *p, VirtIOPCIQueue *vpq)
{
    if (!virtqueue_set_size(&vpq->vq, vpq->size)) {
        guest_error_report("%s: queue size %u is not a power of two <= %u",
                           vpq->name, vpq->size, vpq->max_size);
        virtio_pci_set_needs_reset(p);
        return;
    }
    if (!virtqueue_set_addresses(&vpq->vq, vpq->desc, vpq->driver,
                                 vpq->device)) {
        guest_error_report("%s: rings at 0x%" PRIx64 "/0x%" PRIx64
                           "/0x%" PRIx64 " are misaligned or not in RAM",
                           vpq->name, vpq->desc, vpq->driver, vpq->device);
        virtio_pci_set_needs_reset(p);
        return;
    }
    vpq->enabled = true;
}

static void set_half(uint64_t *reg, bool high, uint32_t val)
{
    if (high) {
        *reg = (*reg & 0xffffffffULL) | ((uint64_t)val << 32);
    } else {
        *reg = (*reg & ~0xffffffffULL) | val;
    }
}

static uint16_t checked_vector(VirtIOPCIProxy *p, uint16_t v)
{
    return v < msix_nr_vectors(&p->pci) ? v : VIRTIO_MSI_NO_VECTOR;
}

/* Writes to the selected queue's registers: only before it is enabled
 * and before DRIVER_OK, so rings cannot move under the device. */
static void queue_reg_write(VirtIOPCIProxy *p, uint64_t off, uint32_t val)
{
    VirtIOPCIQueue *vpq = selected_queue(p);

    if (!vpq) {
        return;
    }
    if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
        __atomic_store_n(&vpq->vector, checked_vector(p, val),
                         __ATOMIC_RELAXED);
        return;
    }
    /* A broken device waits for its reset: no more set-up (or messages). */
    if (vpq->enabled || (p->status & (VIRTIO_CONFIG_S_DRIVER_OK |
                                      VIRTIO_CONFIG_S_NEEDS_RESET))) {
        return;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_SIZE:
        if (val <= vpq->max_size) {
            vpq->size = val;    /* checked when the queue is enabled */
        }
        break;
    case VIRTIO_PCI_COMMON_Q_ENABLE:
        if (val == 1) {
            queue_enable(p, vpq);
        }
        break;
    case VIRTIO_PCI_COMMON_Q_DESCLO:
    case VIRTIO_PCI_COMMON_Q_DESCHI:
        set_half(&vpq->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, val);
        break;
    case VIRTIO_PCI_COMMON_Q_AVAILLO:
    case VIRTIO_PCI_COMMON_Q_AVAILHI:
        set_half(&vpq->driver, off == VIRTIO_PCI_COMMON_Q_AVAILHI, val);
        break;
    case VIRTIO_PCI_COMMON_Q_USEDLO:
    case VIRTIO_PCI_COMMON_Q_USEDHI:
        set_half(&vpq->device, off == VIRTIO_PCI_COMMON_Q_USEDHI, val);
        break;
    }
}

/* ---- BAR 4: common configuration ---- */

static uint32_t common_read32(VirtIOPCIProxy *p, uint64_t off)
{
    VirtIOPCIQueue *vpq = selected_queue(p);

    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        return p->dfselect;
    case VIRTIO_PCI_COMMON_DF:
        return p->dfselect < 2 ? p->host_features >> (32 * p->dfselect) : 0;
    case VIRTIO_PCI_COMMON_GFSELECT:
        return p->gfselect;
    case VIRTIO_PCI_COMMON_GF:
        return p->gfselect < 2 ? p->guest_features >> (32 * p->gfselect) : 0;
    }
    if (!vpq) {
        return 0;               /* a queue the device does not have */
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_DESCLO:  return vpq->desc;
    case VIRTIO_PCI_COMMON_Q_DESCHI:  return vpq->desc >> 32;
    case VIRTIO_PCI_COMMON_Q_AVAILLO: return vpq->driver;
    case VIRTIO_PCI_COMMON_Q_AVAILHI: return vpq->driver >> 32;
    case VIRTIO_PCI_COMMON_Q_USEDLO:  return vpq->device;
    case VIRTIO_PCI_COMMON_Q_USEDHI:  return vpq->device >> 32;
    }
    return 0;
}

static uint16_t common_read16(VirtIOPCIProxy *p, uint64_t off)
{
    VirtIOPCIQueue *vpq = selected_queue(p);

    switch (off) {
    case VIRTIO_PCI_COMMON_MSIX:      return p->config_vector;
    case VIRTIO_PCI_COMMON_NUMQ:      return p->num_queues;
    case VIRTIO_PCI_COMMON_Q_SELECT:  return p->queue_sel;
    }
    if (!vpq) {
        return 0;               /* queue_size 0: not available */
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_Q_SIZE:    return vpq->size;
    case VIRTIO_PCI_COMMON_Q_MSIX:    return vpq->vector;
    case VIRTIO_PCI_COMMON_Q_ENABLE:  return vpq->enabled;
    case VIRTIO_PCI_COMMON_Q_NOFF:    return p->queue_sel;
    }
    return 0;
}

/* Any naturally placed read; fields are composed byte-wise so that a
 * driver reading a 16-bit field as bytes sees the same value. */
static uint64_t common_read(void *opaque, uint64_t off, unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        uint64_t o = off + i;
        uint8_t b;

        if (o == VIRTIO_PCI_COMMON_STATUS) {
            b = virtio_pci_read_status(p);
        } else if (o == VIRTIO_PCI_COMMON_CFGGENERATION) {
            b = __atomic_load_n(&p->config_generation, __ATOMIC_SEQ_CST);
        } else if (o < VIRTIO_PCI_COMMON_MSIX ||
                   (o >= VIRTIO_PCI_COMMON_Q_DESCLO &&
                    o < VIRTIO_PCI_COMMON_Q_USEDHI + 4)) {
            b = common_read32(p, o & ~3ULL) >> (8 * (o & 3));
        } else if (o < VIRTIO_PCI_COMMON_Q_DESCLO) {
            b = common_read16(p, o & ~1ULL) >> (8 * (o & 1));
        } else {
            b = 0;
        }
        val |= (uint64_t)b << (8 * i);
    }
    return val;
}

static void common_write32(VirtIOPCIProxy *p, uint64_t off, uint32_t val)
{
    switch (off) {
    case VIRTIO_PCI_COMMON_DFSELECT:
        p->dfselect = val;
        break;
    case VIRTIO_PCI_COMMON_GFSELECT:
        p->gfselect = val;
        break;
    case VIRTIO_PCI_COMMON_GF:
        write_driver_features(p, val);
        break;
    default:
        queue_reg_write(p, off, val);
    }
}

static void common_write(void *opaque, uint64_t off, uint64_t val,
                         unsigned size)
{
    VirtIOPCIProxy *p = opaque;

    if (size == 8) {            /* a 64-bit field written in one go */
        common_write(opaque, off, val & 0xffffffff, 4);
        common_write(opaque, off + 4, val >> 32, 4);
        return;
    }
    switch (off) {
    case VIRTIO_PCI_COMMON_STATUS:
        virtio_pci_write_status(p, val);
        return;
    case VIRTIO_PCI_COMMON_MSIX:
        p->config_vector = checked_vector(p, val);
        return;
    case VIRTIO_PCI_COMMON_Q_SELECT:
        p->queue_sel = val;
        return;
    }
    common_write32(p, off, val);
}

/* ---- BAR 4: ISR, device configuration, notifications ---- */

static uint64_t isr_read(VirtIOPCIProxy *p)
{
    uint32_t isr = __atomic_exchange_n(&p->isr, 0, __ATOMIC_SEQ_CST);

    pci_intx_lower(&p->pci);
    return isr;
}

static uint64_t device_cfg_read(VirtIOPCIProxy *p, uint64_t off,
                                unsigned size)
{
    uint64_t val = 0;

    if (off >= p->ops->config_size || size > p->ops->config_size - off) {
        return 0;
    }
    p->ops->get_config(p, p->config);
    memcpy(&val, p->config + off, size);
    return le64toh(val);
}

static void device_cfg_write(VirtIOPCIProxy *p, uint64_t off, uint64_t val,
                             unsigned size)
{
    uint64_t le = htole64(val);

    if (off >= p->ops->config_size || size > p->ops->config_size - off ||
        !p->ops->set_config) {
        return;
    }
    p->ops->get_config(p, p->config);
    memcpy(p->config + off, &le, size);
    p->ops->set_config(p, off, p->config, size);
}

/* Reached only when no ioeventfd took the write (none registered). */
static void notify_write(VirtIOPCIProxy *p, uint64_t off)
{
    uint64_t q = off / VIRTIO_PCI_NOTIFY_MULT;

    if (q < p->num_queues && p->queues[q].kick_fd >= 0) {
        eventfd_write(p->queues[q].kick_fd, 1);
    }
}

static uint64_t bar4_read(void *opaque, uint64_t off, unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    uint64_t area = off & ~(uint64_t)(VIRTIO_PCI_AREA_SIZE - 1);
    uint64_t rel = off - area;

    switch (area) {
    case VIRTIO_PCI_COMMON_OFF:
        return rel < sizeof(struct virtio_pci_common_cfg) ?
               common_read(p, rel, size) : 0;
    case VIRTIO_PCI_ISR_OFF:
        return rel == 0 ? isr_read(p) : 0;
    case VIRTIO_PCI_DEVICE_OFF:
        return device_cfg_read(p, rel, size);
    }
    return 0;
}

static void bar4_write(void *opaque, uint64_t off, uint64_t val,
                       unsigned size)
{
    VirtIOPCIProxy *p = opaque;
    uint64_t area = off & ~(uint64_t)(VIRTIO_PCI_AREA_SIZE - 1);
    uint64_t rel = off - area;

    switch (area) {
    case VIRTIO_PCI_COMMON_OFF:
        if (rel < sizeof(struct virtio_pci_common_cfg)) {
            common_write(p, rel, val, size);
        }
        break;
    case VIRTIO_PCI_DEVICE_OFF:
        device_cfg_write(p, rel, val, size);
        break;
    case VIRTIO_PCI_NOTIFY_OFF:
        notify_write(p, rel);
        break;
    }
}

static const IORegionOps bar4_ops = {
    .read = bar4_read,
    .write = bar4_write,
};

/* ---- capabilities ---- */

static bool add_vendor_cap(VirtIOPCIProxy *p, uint8_t type, uint32_t off,
                           uint32_t len, uint8_t size, uint8_t *cap_off,
                           GError **errp)
{
    uint8_t o = pci_add_capability(&p->pci, PCI_CAP_ID_VNDR, 0, size, errp);
    uint8_t *c = p->pci.config + o;

    if (!o) {
        return false;
    }
    c[VIRTIO_PCI_CAP_LEN] = size;
    c[VIRTIO_PCI_CAP_CFG_TYPE] = type;
    c[VIRTIO_PCI_CAP_BAR] = VIRTIO_PCI_MODERN_BAR;
    pci_set_long(c + VIRTIO_PCI_CAP_OFFSET, off);
    pci_set_long(c + VIRTIO_PCI_CAP_LENGTH, len);
    if (cap_off) {
        *cap_off = o;
    }
    return true;
}

static bool add_caps(VirtIOPCIProxy *p, GError **errp)
{
    uint8_t notify, cfg;
    uint32_t cfg_len = p->ops->config_size;

    if (!add_vendor_cap(p, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
                        VIRTIO_PCI_AREA_SIZE, 16, NULL, errp) ||
        !add_vendor_cap(p, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF,
                        VIRTIO_PCI_AREA_SIZE, 16, NULL, errp) ||
        (cfg_len && !add_vendor_cap(p, VIRTIO_PCI_CAP_DEVICE_CFG,
                                    VIRTIO_PCI_DEVICE_OFF,
                                    VIRTIO_PCI_AREA_SIZE, 16, NULL, errp)) ||
        !add_vendor_cap(p, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
                        VIRTIO_PCI_AREA_SIZE, 20, &notify, errp) ||
        !add_vendor_cap(p, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 20, &cfg, errp)) {
        return false;
    }
    pci_set_long(p->pci.config + notify + VIRTIO_PCI_NOTIFY_CAP_MULT,
                 VIRTIO_PCI_NOTIFY_MULT);
    /* The PCI-config access window: bar, offset, length and data are the
     * driver's to write. */
    p->pci_cfg_cap = cfg;
    p->pci.wmask[cfg + VIRTIO_PCI_CAP_BAR] = 0xff;
    memset(p->pci.wmask + cfg + VIRTIO_PCI_CAP_OFFSET, 0xff, 4);
    memset(p->pci.wmask + cfg + VIRTIO_PCI_CAP_LENGTH, 0xff, 4);
    memset(p->pci.wmask + cfg + 16, 0xff, 4);
    return true;
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG: an access to pci_cfg_data reaches BAR 4 at the
 * offset and length the capability holds (1, 2 or 4 bytes, aligned).
 */
static bool pci_cfg_window(VirtIOPCIProxy *p, uint32_t off, unsigned len,
                           uint64_t *bar_off, unsigned *size)
{
    const uint8_t *c = p->pci.config + p->pci_cfg_cap;
    uint32_t o = pci_get_long(c + VIRTIO_PCI_CAP_OFFSET);
    uint32_t l = pci_get_long(c + VIRTIO_PCI_CAP_LENGTH);
    uint32_t data = p->pci_cfg_cap + 16;

    if (!p->pci_cfg_cap || off != data || len < l ||
        c[VIRTIO_PCI_CAP_BAR] != VIRTIO_PCI_MODERN_BAR ||
        (l != 1 && l != 2 && l != 4) || (o & (l - 1)) ||
        o >= VIRTIO_PCI_BAR_SIZE) {
        return false;
    }
    *bar_off = o;
    *size = l;
    return true;
}

static uint32_t virtio_pci_config_read(PCIDevice *d, uint32_t off,
                                       unsigned len)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)d;
    uint64_t bar_off;
    unsigned size;

    if (pci_cfg_window(p, off, len, &bar_off, &size)) {
        return bar4_read(p, bar_off, size);
    }
    return pci_default_read_config(d, off, len);
}

static void virtio_pci_config_write(PCIDevice *d, uint32_t off, uint32_t val,
                                    unsigned len)
{
    VirtIOPCIProxy *p = (VirtIOPCIProxy *)d;
    uint64_t bar_off;
    unsigned size;

    pci_default_write_config(d, off, val, len);
    if (pci_cfg_window(p, off, len, &bar_off, &size)) {
        bar4_write(p, bar_off, val & (0xffffffffU >> (32 - 8 * size)), size);
    }
}

/* ---- realize ---- */

static bool check_transport_props(VirtIOPCIProxy *p, GError **errp)
{
    if (p->disable_legacy && strcmp(p->disable_legacy, "auto") &&
        strcmp(p->disable_legacy, "on")) {
        if (!strcmp(p->disable_legacy, "off")) {
            error_setg(errp, "%s-pci: legacy virtio (disable-legacy=off) is "
                       "not supported by qvmm", p->type_name);
        } else {
            error_setg(errp, "Parameter 'disable-legacy' does not accept "
                       "value '%s'", p->disable_legacy);
        }
        return false;
    }
    if (p->disable_modern) {
        error_setg(errp, "%s-pci: disable-modern=on would leave only legacy "
                   "virtio, which qvmm does not support", p->type_name);
        return false;
    }
    if (p->iothread_id) {
        IOThread *t = iothread_by_id(p->iothread_id);

        if (!t) {
            error_setg(errp, "Device '%s' not found", p->iothread_id);
            return false;
        }
        p->ctx = iothread_get_context(t);
    }
    return true;
}

static bool init_queues(VirtIOPCIProxy *p, unsigned num_queues,
                        unsigned queue_size, GError **errp)
{
    p->num_queues = num_queues;
    p->queues = g_new0(VirtIOPCIQueue, num_queues);
    for (unsigned q = 0; q < num_queues; q++) {
        p->queues[q].kick_fd = -1;
    }
    for (unsigned q = 0; q < num_queues; q++) {
        VirtIOPCIQueue *vpq = &p->queues[q];

        snprintf(vpq->name, sizeof(vpq->name), "%s vq %u", p->type_name, q);
        virtqueue_init(&vpq->vq, vpq->name, queue_broken, p);
        vpq->max_size = queue_size;
        queue_regs_reset(vpq);
        vpq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (vpq->kick_fd < 0) {
            error_setg_errno(errp, errno, "%s: eventfd", p->type_name);
            return false;
        }
        if (!pci_bar_add_eventfd(&p->pci, VIRTIO_PCI_MODERN_BAR,
                                 VIRTIO_PCI_NOTIFY_OFF +
                                 q * VIRTIO_PCI_NOTIFY_MULT,
                                 vpq->kick_fd, errp)) {
            return false;
        }
    }
    return true;
}

bool virtio_pci_realize(VirtIOPCIProxy *p, const VirtIODeviceOps *ops,
                        const char *type_name, unsigned num_queues,
                        unsigned queue_size, GError **errp)
{
    PCIDevice *d = &p->pci;

    p->ops = ops;
    p->type_name = type_name;
    p->config_vector = VIRTIO_MSI_NO_VECTOR;
    if (!check_transport_props(p, errp)) {
        return false;
    }
    p->host_features = ops->get_features(p) | (1ULL << VIRTIO_F_VERSION_1) |
        (p->event_idx ? 1ULL << VIRTIO_RING_F_EVENT_IDX : 0) |
        (p->indirect_desc ? 1ULL << VIRTIO_RING_F_INDIRECT_DESC : 0);
    pci_config_set_ids(d, PCI_VENDOR_ID_REDHAT_QUMRANET,
                       VIRTIO_PCI_DEVICE_ID_BASE + ops->device_id, 1,
                       ops->class_code);
    d->config[PCI_INTERRUPT_PIN] = 1;
    d->config_read = virtio_pci_config_read;
    d->config_write = virtio_pci_config_write;
    d->intx_pending = virtio_pci_intx_pending;
    p->config = g_malloc0(ops->config_size ? ops->config_size : 1);
    if (!pci_realize_device(d, errp) || !add_caps(p, errp) ||
        (p->nvectors &&
         !msix_init_exclusive_bar(d, p->nvectors, VIRTIO_PCI_MSIX_BAR,
                                  errp)) ||
        !pci_register_bar(d, VIRTIO_PCI_MODERN_BAR, PCI_BAR_MEM64_PREF,
                          VIRTIO_PCI_BAR_SIZE, &bar4_ops, p, errp)) {
        return false;
    }
    return init_queues(p, num_queues, queue_size, errp);
}

void virtio_pci_finalize(VirtIOPCIProxy *p)
{
    if (p->running) {
        virtio_pci_stop(p);
    }
    for (unsigned q = 0; p->queues && q < p->num_queues; q++) {
        if (p->queues[q].kick_fd >= 0) {
            pci_bar_del_eventfd(&p->pci, VIRTIO_PCI_MODERN_BAR,
                                VIRTIO_PCI_NOTIFY_OFF +
                                q * VIRTIO_PCI_NOTIFY_MULT);
            close(p->queues[q].kick_fd);
        }
        virtqueue_cleanup(&p->queues[q].vq);
    }
    g_free(p->queues);
    p->queues = NULL;
    if (p->pci.bus) {
        pci_unregister_device(&p->pci);
    }
    if (p->pci.msix) {
        msix_uninit(&p->pci);
    }
    g_free(p->config);
    p->config = NULL;
}

/* ---- for vhost ---- */

bool virtio_pci_queue_get_rings(VirtIOPCIProxy *p, unsigned q,
                                VirtIOPCIQueueRings *r)
{
    VirtIOPCIQueue *vpq;

    if (q >= p->num_queues || !p->queues[q].enabled) {
        return false;
    }
    vpq = &p->queues[q];
    r->num = vpq->vq.size;
    r->desc = vpq->vq.desc;
    r->avail = vpq->vq.avail;
    r->used = vpq->vq.used;
    r->last_avail_idx = vpq->vq.last_avail_idx;
    r->kick_fd = vpq->kick_fd;
    r->call_fd = msix_enabled(&p->pci) &&
                 vpq->vector != VIRTIO_MSI_NO_VECTOR
                 ? msix_vector_fd(&p->pci, vpq->vector) : -1;
    return true;
}

void virtio_pci_queue_set_kick_external(VirtIOPCIProxy *p, unsigned q,
                                        bool external)
{
    VirtIOPCIQueue *vpq;

    if (q >= p->num_queues) {
        return;
    }
    vpq = &p->queues[q];
    vpq->kick_external = external;
    if (external && vpq->kick_source) {
        g_source_destroy(vpq->kick_source);
        g_source_unref(vpq->kick_source);
        vpq->kick_source = NULL;
    } else if (!external && !vpq->kick_source && p->running &&
               vpq->enabled) {
        queue_watch_kicks(p, vpq);
    }
}

void virtio_pci_queue_set_last_avail(VirtIOPCIProxy *p, unsigned q,
                                     uint16_t idx)
{
    VirtQueue *vq;

    if (q >= p->num_queues) {
        return;
    }
    vq = &p->queues[q].vq;
    vq->last_avail_idx = idx;
    vq->shadow_avail_idx = idx;
    if (vq->used) {
        vq->used_idx = le16toh(__atomic_load_n(&vq->used->idx,
                                               __ATOMIC_ACQUIRE));
    }
    vq->signalled_used_valid = false;
}
