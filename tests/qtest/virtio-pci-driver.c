/*
 * The modern virtio-pci driver of the qtest tier; see the header.
 *
 * Ring layout follows the split virtqueue of the virtio 1.x spec (2.7):
 * descriptor table, then the avail ring (flags, idx, ring[size],
 * used_event), then the used ring (flags, idx, ring[size], avail_event)
 * on its own 4-byte aligned block.  Structures come from the Linux uapi
 * headers; the offsets below are taken with offsetof() on them.
 */
#include <glib.h>
#include <stddef.h>
#include <string.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "qtest-tap.h"
#include "virtio-pci-driver.h"

/* Where BARs go when the device has none (QEMU's PCI hole, below 4 GiB). */
#define BAR_WINDOW_START    0xe0000000ULL
#define BAR_WINDOW_END      0xfec00000ULL
#define RESET_TIMEOUT_MS    5000
#define POLL_US             200

#define COMMON(f) offsetof(struct virtio_pci_common_cfg, f)

static int64_t now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* ---- PCI: BARs and capabilities ---- */

/* Size one memory BAR and give it an address in the test window. */
static unsigned assign_bar(QVirtioDev *d, unsigned i, uint64_t *next)
{
    uint8_t off = PCI_BASE_ADDRESS_0 + 4 * i;
    uint32_t orig = qt_pci_config_readl(d->s, 0, d->devfn, off);
    bool is64 = (orig & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
                PCI_BASE_ADDRESS_MEM_TYPE_64;
    uint64_t mask, size, addr;

    if (is64 && i == 5) {
        qt_fail("BAR5 claims to be the low half of a 64-bit BAR");
    }
    qt_pci_config_writel(d->s, 0, d->devfn, off, 0xffffffff);
    mask = qt_pci_config_readl(d->s, 0, d->devfn, off) &
           PCI_BASE_ADDRESS_MEM_MASK;
    if (is64) {
        qt_pci_config_writel(d->s, 0, d->devfn, off + 4, 0xffffffff);
        mask |= (uint64_t)qt_pci_config_readl(d->s, 0, d->devfn, off + 4)
                << 32;
    } else {
        mask |= 0xffffffff00000000ULL;
    }
    if (!(mask & 0xffffffff)) {
        qt_pci_config_writel(d->s, 0, d->devfn, off, orig);
        return is64 ? 2 : 1;            /* unimplemented BAR */
    }
    size = ~mask + 1;
    addr = (*next + size - 1) & ~(size - 1);
    if (addr + size > BAR_WINDOW_END) {
        qt_fail("BAR%u of 0x%" PRIx64 " bytes does not fit", i, size);
    }
    *next = addr + size;
    qt_pci_config_writel(d->s, 0, d->devfn, off, (uint32_t)addr);
    if (is64) {
        qt_pci_config_writel(d->s, 0, d->devfn, off + 4, addr >> 32);
    }
    d->bar[i] = addr;
    return is64 ? 2 : 1;
}

/* Keep BARs somebody placed (qvmm does); place the others ourselves. */
static void setup_bars(QVirtioDev *d)
{
    uint64_t next = BAR_WINDOW_START + 0x100000 * d->devfn;
    uint16_t cmd = qt_pci_config_readw(d->s, 0, d->devfn, PCI_COMMAND);

    qt_pci_config_writew(d->s, 0, d->devfn, PCI_COMMAND,
                         cmd & ~(PCI_COMMAND_MEMORY | PCI_COMMAND_IO));
    for (unsigned i = 0; i < 6;) {
        uint8_t off = PCI_BASE_ADDRESS_0 + 4 * i;
        uint32_t lo = qt_pci_config_readl(d->s, 0, d->devfn, off);
        bool is64 = (lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
                    PCI_BASE_ADDRESS_MEM_TYPE_64;
        uint64_t addr = lo & PCI_BASE_ADDRESS_MEM_MASK;

        if (lo & PCI_BASE_ADDRESS_SPACE_IO) {
            i++;                        /* the legacy interface: unused */
            continue;
        }
        if (is64 && i < 5) {
            addr |= (uint64_t)qt_pci_config_readl(d->s, 0, d->devfn,
                                                  off + 4) << 32;
        }
        if (addr) {
            d->bar[i] = addr;
            i += is64 ? 2 : 1;
        } else {
            i += assign_bar(d, i, &next);
        }
    }
    qt_pci_config_writew(d->s, 0, d->devfn, PCI_COMMAND,
                         (cmd & ~PCI_COMMAND_IO) | PCI_COMMAND_MEMORY |
                         PCI_COMMAND_MASTER);
}

/* The absolute address a vendor capability points at. */
static uint64_t cap_addr(QVirtioDev *d, uint8_t cap)
{
    uint8_t bar = qt_pci_config_readb(d->s, 0, d->devfn,
                                      cap + offsetof(struct virtio_pci_cap,
                                                     bar));
    uint32_t off = qt_pci_config_readl(d->s, 0, d->devfn,
                                       cap + offsetof(struct virtio_pci_cap,
                                                      offset));

    if (bar >= 6 || !d->bar[bar]) {
        qt_fail("capability at 0x%x names BAR%u, which has no address",
                cap, bar);
    }
    return d->bar[bar] + off;
}

static void read_vendor_cap(QVirtioDev *d, uint8_t cap)
{
    uint8_t type = qt_pci_config_readb(d->s, 0, d->devfn,
                                       cap + offsetof(struct virtio_pci_cap,
                                                      cfg_type));

    /* The spec lets several caps of a type exist; the first one wins. */
    switch (type) {
    case VIRTIO_PCI_CAP_COMMON_CFG:
        d->common = d->common ? d->common : cap_addr(d, cap);
        break;
    case VIRTIO_PCI_CAP_NOTIFY_CFG:
        if (!d->notify_base) {
            d->notify_base = cap_addr(d, cap);
            d->notify_mult = qt_pci_config_readl(
                d->s, 0, d->devfn,
                cap + offsetof(struct virtio_pci_notify_cap,
                               notify_off_multiplier));
        }
        break;
    case VIRTIO_PCI_CAP_ISR_CFG:
        d->isr = d->isr ? d->isr : cap_addr(d, cap);
        break;
    case VIRTIO_PCI_CAP_DEVICE_CFG:
        if (!d->device) {
            d->device = cap_addr(d, cap);
            d->device_cfg_len = qt_pci_config_readl(
                d->s, 0, d->devfn,
                cap + offsetof(struct virtio_pci_cap, length));
        }
        break;
    default:                            /* PCI_CFG and others: unused */
        break;
    }
}

static void read_msix_cap(QVirtioDev *d, uint8_t cap)
{
    uint16_t ctrl = qt_pci_config_readw(d->s, 0, d->devfn,
                                        cap + PCI_MSIX_FLAGS);
    uint32_t table = qt_pci_config_readl(d->s, 0, d->devfn,
                                         cap + PCI_MSIX_TABLE);
    unsigned bir = table & PCI_MSIX_TABLE_BIR;

    if (!d->bar[bir]) {
        qt_fail("MSI-X table in BAR%u, which has no address", bir);
    }
    d->msix_cap = cap;
    d->msix_vectors = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
    d->msix_table = d->bar[bir] + (table & PCI_MSIX_TABLE_OFFSET);
}

/* Walk the list, bounded: 48 dwords of space hold at most 48 caps. */
static void read_caps(QVirtioDev *d)
{
    uint8_t cap = qt_pci_config_readb(d->s, 0, d->devfn,
                                      PCI_CAPABILITY_LIST) & ~3;

    for (unsigned n = 0; cap && n < 48; n++) {
        uint8_t id = qt_pci_config_readb(d->s, 0, d->devfn, cap);

        if (id == PCI_CAP_ID_VNDR) {
            read_vendor_cap(d, cap);
        } else if (id == PCI_CAP_ID_MSIX) {
            read_msix_cap(d, cap);
        }
        cap = qt_pci_config_readb(d->s, 0, d->devfn, cap + 1) & ~3;
    }
    if (!d->common || !d->notify_base || !d->isr) {
        qt_fail("virtio capabilities missing (common 0x%" PRIx64
                " notify 0x%" PRIx64 " isr 0x%" PRIx64 ")",
                d->common, d->notify_base, d->isr);
    }
}

static bool id_matches(uint16_t id, const uint16_t *ids)
{
    for (; *ids; ids++) {
        if (*ids == id) {
            return true;
        }
    }
    return false;
}

bool qvirtio_pci_find(QVirtioDev *d, QTestState *s, QtGuestAlloc *alloc,
                      const uint16_t *ids, unsigned nth)
{
    memset(d, 0, sizeof(*d));
    d->s = s;
    d->alloc = alloc;
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = qt_pci_config_readl(s, 0, devfn, PCI_VENDOR_ID);

        if ((id & 0xffff) != QVIRTIO_VENDOR || !id_matches(id >> 16, ids) ||
            nth--) {
            continue;
        }
        d->devfn = devfn;
        d->device_id = id >> 16;
        setup_bars(d);
        read_caps(d);
        return true;
    }
    return false;
}

/* ---- common configuration ---- */

uint8_t qvirtio_get_status(QVirtioDev *d)
{
    return qt_readb(d->s, d->common + COMMON(device_status));
}

void qvirtio_set_status(QVirtioDev *d, uint8_t status)
{
    qt_writeb(d->s, d->common + COMMON(device_status), status);
}

void qvirtio_reset(QVirtioDev *d)
{
    int64_t deadline = now_ms() + RESET_TIMEOUT_MS;

    qvirtio_set_status(d, 0);
    while (qvirtio_get_status(d) != 0) {
        if (now_ms() > deadline) {
            qt_fail("device status not 0 %d ms after reset",
                    RESET_TIMEOUT_MS);
        }
        g_usleep(POLL_US);
    }
    d->features = 0;
    d->event_idx = false;
}

uint64_t qvirtio_device_features(QVirtioDev *d)
{
    uint64_t f;

    qt_writel(d->s, d->common + COMMON(device_feature_select), 0);
    f = qt_readl(d->s, d->common + COMMON(device_feature));
    qt_writel(d->s, d->common + COMMON(device_feature_select), 1);
    return f | (uint64_t)qt_readl(d->s, d->common + COMMON(device_feature))
               << 32;
}

uint16_t qvirtio_num_queues(QVirtioDev *d)
{
    return qt_readw(d->s, d->common + COMMON(num_queues));
}

uint16_t qvirtio_queue_max_size(QVirtioDev *d, uint16_t index)
{
    qt_writew(d->s, d->common + COMMON(queue_select), index);
    return qt_readw(d->s, d->common + COMMON(queue_size));
}

uint64_t qvirtio_negotiate(QVirtioDev *d, uint64_t wanted)
{
    uint64_t offer;

    qvirtio_reset(d);
    qvirtio_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    qvirtio_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
                          VIRTIO_CONFIG_S_DRIVER);
    offer = qvirtio_device_features(d) &
            (wanted | 1ULL << VIRTIO_F_VERSION_1);
    if (!(offer & 1ULL << VIRTIO_F_VERSION_1)) {
        qt_fail("device does not offer VIRTIO_F_VERSION_1");
    }
    qt_writel(d->s, d->common + COMMON(guest_feature_select), 0);
    qt_writel(d->s, d->common + COMMON(guest_feature), (uint32_t)offer);
    qt_writel(d->s, d->common + COMMON(guest_feature_select), 1);
    qt_writel(d->s, d->common + COMMON(guest_feature), offer >> 32);
    qvirtio_set_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE |
                          VIRTIO_CONFIG_S_DRIVER |
                          VIRTIO_CONFIG_S_FEATURES_OK);
    if (!(qvirtio_get_status(d) & VIRTIO_CONFIG_S_FEATURES_OK)) {
        qt_fail("device refused features 0x%" PRIx64, offer);
    }
    d->features = offer;
    d->event_idx = offer & 1ULL << VIRTIO_RING_F_EVENT_IDX;
    return offer;
}

/* ---- MSI-X ---- */

/* Vector @v writes v + 1 to @word. */
static void msix_route(QVirtioDev *d, unsigned v, uint64_t word)
{
    uint64_t e = d->msix_table + PCI_MSIX_ENTRY_SIZE * v;

    qt_writel(d->s, e + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)word);
    qt_writel(d->s, e + PCI_MSIX_ENTRY_UPPER_ADDR, word >> 32);
    qt_writel(d->s, e + PCI_MSIX_ENTRY_DATA, v + 1);
    qt_writel(d->s, e + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
}

void qvirtio_msix_enable(QVirtioDev *d)
{
    uint16_t ctrl;

    if (!d->msix_cap) {
        qt_fail("device has no MSI-X capability");
    }
    ctrl = qt_pci_config_readw(d->s, 0, d->devfn,
                               d->msix_cap + PCI_MSIX_FLAGS);
    qt_pci_config_writew(d->s, 0, d->devfn, d->msix_cap + PCI_MSIX_FLAGS,
                         (ctrl | PCI_MSIX_FLAGS_ENABLE) &
                         ~PCI_MSIX_FLAGS_MASKALL);
    d->msix_enabled = true;
}

void qvirtio_config_vector(QVirtioDev *d)
{
    if (!d->msix_enabled) {
        qt_fail("routing the config vector needs MSI-X enabled");
    }
    d->config_msi_word = qt_alloc(d->alloc, d->s, 4, 4);
    msix_route(d, 0, d->config_msi_word);
    qt_writew(d->s, d->common + COMMON(msix_config), 0);
    if (qt_readw(d->s, d->common + COMMON(msix_config)) != 0) {
        qt_fail("device refused MSI-X vector 0 for configuration changes");
    }
}

static bool wait_word(QVirtioDev *d, uint64_t word, uint32_t val,
                      int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;

    for (;;) {
        uint32_t got = qt_readl(d->s, word);

        if (got == val) {
            qt_writel(d->s, word, 0);
            return true;
        }
        if (got != 0) {
            qt_fail("MSI word 0x%" PRIx64 " holds 0x%x, expected 0x%x",
                    word, got, val);
        }
        if (now_ms() > deadline) {
            return false;
        }
        g_usleep(POLL_US);
    }
}

bool qvirtq_wait_msi(QVirtQueue *vq, int timeout_ms)
{
    if (vq->vector == QVIRTIO_NO_VECTOR) {
        qt_fail("queue %u has no MSI-X vector", vq->index);
    }
    return wait_word(vq->dev, vq->msi_word, vq->vector + 1u, timeout_ms);
}

bool qvirtio_wait_config_msi(QVirtioDev *d, int timeout_ms)
{
    if (!d->config_msi_word) {
        qt_fail("no configuration vector routed");
    }
    return wait_word(d, d->config_msi_word, 1, timeout_ms);
}

/* ---- virtqueues ---- */

static void alloc_rings(QVirtioDev *d, QVirtQueue *vq)
{
    uint64_t size = vq->size;

    vq->desc = qt_alloc(d->alloc, d->s, sizeof(struct vring_desc) * size,
                        16);
    /* flags, idx, ring[size], used_event */
    vq->avail = qt_alloc(d->alloc, d->s, 6 + 2 * size, 2);
    /* flags, idx, ring[size] of {id, len}, avail_event */
    vq->used = qt_alloc(d->alloc, d->s,
                        6 + sizeof(struct vring_used_elem) * size, 4);
}

static void program_queue(QVirtioDev *d, QVirtQueue *vq)
{
    uint64_t c = d->common;

    qt_writew(d->s, c + COMMON(queue_size), vq->size);
    qt_writel(d->s, c + COMMON(queue_desc_lo), (uint32_t)vq->desc);
    qt_writel(d->s, c + COMMON(queue_desc_hi), vq->desc >> 32);
    qt_writel(d->s, c + COMMON(queue_avail_lo), (uint32_t)vq->avail);
    qt_writel(d->s, c + COMMON(queue_avail_hi), vq->avail >> 32);
    qt_writel(d->s, c + COMMON(queue_used_lo), (uint32_t)vq->used);
    qt_writel(d->s, c + COMMON(queue_used_hi), vq->used >> 32);
    qt_writew(d->s, c + COMMON(queue_msix_vector), vq->vector);
    if (qt_readw(d->s, c + COMMON(queue_msix_vector)) != vq->vector) {
        qt_fail("device refused MSI-X vector %u for queue %u", vq->vector,
                vq->index);
    }
    qt_writew(d->s, c + COMMON(queue_enable), 1);
}

QVirtQueue *qvirtio_queue_setup(QVirtioDev *d, uint16_t index,
                                uint16_t size)
{
    QVirtQueue *vq;
    uint16_t max;

    if (index >= QVIRTIO_MAX_QUEUES) {
        qt_fail("queue %u: this driver handles %u", index,
                QVIRTIO_MAX_QUEUES);
    }
    max = qvirtio_queue_max_size(d, index);
    if (!max) {
        qt_fail("queue %u does not exist", index);
    }
    vq = &d->vq[index];
    memset(vq, 0, sizeof(*vq));
    vq->dev = d;
    vq->index = index;
    vq->size = size && size < max ? size : max;
    vq->vector = QVIRTIO_NO_VECTOR;
    /* Without MSI-X on, the device would signal INTx instead. */
    if (d->msix_enabled && index + 1u < d->msix_vectors) {
        vq->vector = index + 1;
        vq->msi_word = qt_alloc(d->alloc, d->s, 4, 4);
        msix_route(d, vq->vector, vq->msi_word);
    }
    alloc_rings(d, vq);
    vq->notify_addr = d->notify_base + (uint64_t)d->notify_mult *
        qt_readw(d->s, d->common + COMMON(queue_notify_off));
    program_queue(d, vq);
    return vq;
}

void qvirtio_driver_ok(QVirtioDev *d)
{
    qvirtio_set_status(d, qvirtio_get_status(d) |
                          VIRTIO_CONFIG_S_DRIVER_OK);
    if (!(qvirtio_get_status(d) & VIRTIO_CONFIG_S_DRIVER_OK)) {
        qt_fail("DRIVER_OK did not stick (status 0x%x)",
                qvirtio_get_status(d));
    }
}

void qvirtq_write_desc(QVirtQueue *vq, uint16_t i, uint64_t addr,
                       uint32_t len, uint16_t flags, uint16_t next)
{
    struct vring_desc desc = {
        .addr = GUINT64_TO_LE(addr), .len = GUINT32_TO_LE(len),
        .flags = GUINT16_TO_LE(flags), .next = GUINT16_TO_LE(next),
    };

    qt_bufwrite(vq->dev->s, vq->desc + sizeof(desc) * i, &desc,
                sizeof(desc));
}

/* The chain as a table of @n entries at @table (ring or indirect). */
static void write_table(QVirtQueue *vq, uint64_t table, uint16_t first,
                        uint16_t wrap, const QVirtBuf *bufs, unsigned n)
{
    struct vring_desc descs[QVIRTIO_MAX_CHAIN];

    for (unsigned i = 0; i < n; i++) {
        uint16_t slot = (first + i) % wrap;

        descs[i].addr = GUINT64_TO_LE(bufs[i].addr);
        descs[i].len = GUINT32_TO_LE(bufs[i].len);
        descs[i].flags = GUINT16_TO_LE(
            (bufs[i].device_writes ? VRING_DESC_F_WRITE : 0) |
            (i + 1 < n ? VRING_DESC_F_NEXT : 0));
        descs[i].next = GUINT16_TO_LE(i + 1 < n ? (slot + 1) % wrap : 0);
        /* Ring slots may wrap; write each where it belongs. */
        qt_bufwrite(vq->dev->s, table + sizeof(descs[0]) * slot, &descs[i],
                    sizeof(descs[0]));
    }
}

void qvirtq_publish(QVirtQueue *vq, uint16_t head)
{
    QTestState *s = vq->dev->s;
    uint64_t slot = vq->avail + 4 + 2ULL * (vq->avail_idx % vq->size);

    qt_writew(s, slot, head);
    if (vq->dev->event_idx) {
        /* Ask for an interrupt for every completion (before the device
         * can see the new entry). */
        qt_writew(s, vq->avail + 4 + 2ULL * vq->size, vq->last_used);
    }
    vq->avail_idx++;
    qt_writew(s, vq->avail + 2, vq->avail_idx);
}

uint16_t qvirtq_add_chain(QVirtQueue *vq, const QVirtBuf *bufs, unsigned n)
{
    uint16_t head = vq->next_desc;

    if (n == 0 || n > QVIRTIO_MAX_CHAIN || (!vq->indirect && n > vq->size)) {
        qt_fail("chain of %u descriptors", n);
    }
    if (vq->indirect) {
        uint64_t table = qt_alloc(vq->dev->alloc, NULL,
                                  sizeof(struct vring_desc) * n, 16);

        write_table(vq, table, 0, n, bufs, n);
        qvirtq_write_desc(vq, head, table, sizeof(struct vring_desc) * n,
                          VRING_DESC_F_INDIRECT, 0);
        vq->next_desc = (head + 1) % vq->size;
    } else {
        write_table(vq, vq->desc, head, vq->size, bufs, n);
        vq->next_desc = (head + n) % vq->size;
    }
    qvirtq_publish(vq, head);
    return head;
}

uint16_t qvirtq_avail_event(QVirtQueue *vq)
{
    return qt_readw(vq->dev->s, vq->used + 4 +
                    sizeof(struct vring_used_elem) * vq->size);
}

void qvirtq_kick(QVirtQueue *vq)
{
    uint16_t old = vq->kicked_idx, now = vq->avail_idx;

    vq->kicked_idx = now;
    if (vq->dev->event_idx) {
        uint16_t event = qvirtq_avail_event(vq);

        /* The spec's vring_need_event(): did we pass avail_event? */
        if ((uint16_t)(now - event - 1) >= (uint16_t)(now - old)) {
            return;
        }
    }
    qt_writew(vq->dev->s, vq->notify_addr, vq->index);
}

void qvirtq_set_avail_idx(QVirtQueue *vq, uint16_t idx)
{
    vq->avail_idx = idx;
    qt_writew(vq->dev->s, vq->avail + 2, idx);
}

uint16_t qvirtq_used_idx(QVirtQueue *vq)
{
    return qt_readw(vq->dev->s, vq->used + 2);
}

bool qvirtq_wait_used(QVirtQueue *vq, uint32_t *id, uint32_t *len,
                      int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    struct vring_used_elem e;

    while (qvirtq_used_idx(vq) == vq->last_used) {
        if (now_ms() > deadline) {
            return false;
        }
        g_usleep(POLL_US);
    }
    qt_bufread(vq->dev->s, vq->used + 4 +
               sizeof(e) * (vq->last_used % vq->size), &e, sizeof(e));
    vq->last_used++;
    if (id) {
        *id = GUINT32_FROM_LE(e.id);
    }
    if (len) {
        *len = GUINT32_FROM_LE(e.len);
    }
    return true;
}

/* ---- device configuration ---- */

static void check_cfg(QVirtioDev *d, unsigned off, unsigned size)
{
    if (!d->device || off > d->device_cfg_len ||
        size > d->device_cfg_len - off) {
        qt_fail("device config access at %u+%u beyond its %u bytes", off,
                size, d->device_cfg_len);
    }
}

uint8_t qvirtio_cfg_readb(QVirtioDev *d, unsigned off)
{
    check_cfg(d, off, 1);
    return qt_readb(d->s, d->device + off);
}

uint16_t qvirtio_cfg_readw(QVirtioDev *d, unsigned off)
{
    check_cfg(d, off, 2);
    return qt_readw(d->s, d->device + off);
}

uint32_t qvirtio_cfg_readl(QVirtioDev *d, unsigned off)
{
    check_cfg(d, off, 4);
    return qt_readl(d->s, d->device + off);
}

/* Two 32-bit halves, retried while config_generation moves under us. */
uint64_t qvirtio_cfg_readq(QVirtioDev *d, unsigned off)
{
    uint64_t gen_addr = d->common + COMMON(config_generation);

    check_cfg(d, off, 8);
    for (unsigned tries = 0; tries < 100; tries++) {
        uint8_t gen = qt_readb(d->s, gen_addr);
        uint64_t v = qt_readl(d->s, d->device + off) |
                     (uint64_t)qt_readl(d->s, d->device + off + 4) << 32;

        if (qt_readb(d->s, gen_addr) == gen) {
            return v;
        }
    }
    qt_fail("config_generation never settles");
}

void qvirtio_cfg_writeb(QVirtioDev *d, unsigned off, uint8_t val)
{
    check_cfg(d, off, 1);
    qt_writeb(d->s, d->device + off, val);
}
