/*
 * Modern virtio-pci transport and polled split virtqueues.
 */
#include "guest.h"
#include "virtio.h"

#define PCI_CAP_ID_VNDR 0x09

struct bar_map {
    bool mapped;
    uint64_t addr, size;
};

/* One vendor capability's window: base address and length, checked. */
static bool cap_window(struct virtio_dev *v, uint8_t cap, struct bar_map *bars,
                       uintptr_t *addr, uint64_t *len)
{
    uint8_t bar = pci_read8(&v->pci, cap + VIRTIO_PCI_CAP_BAR);
    uint32_t off = pci_read32(&v->pci, cap + VIRTIO_PCI_CAP_OFFSET);
    uint32_t length = pci_read32(&v->pci, cap + VIRTIO_PCI_CAP_LENGTH);
    struct bar_map *b;

    if (bar > 5) {
        printf("virtio: capability at %#x names BAR %u\n", cap, bar);
        return false;
    }
    b = &bars[bar];
    if (!b->mapped) {
        if (!pci_map_bar(&v->pci, bar, &b->addr, &b->size)) {
            return false;
        }
        b->mapped = true;
    }
    if (off > b->size || length > b->size - off) {
        printf("virtio: capability at %#x (%#x+%#x) overruns BAR %u "
               "(%#lx bytes)\n", cap, off, length, bar,
               (unsigned long)b->size);
        return false;
    }
    *addr = b->addr + off;
    *len = length;
    return true;
}

static bool virtio_reset(struct virtio_dev *v)
{
    v->common->device_status = 0;
    /* The device reads 0 once the reset is complete. */
    for (unsigned i = 0; i < 100000; i++) {
        if (v->common->device_status == 0) {
            return true;
        }
        cpu_relax();
    }
    printf("virtio: device status stays %#x after reset\n",
           v->common->device_status);
    return false;
}

/* Record one capability of interest; the others are skipped. */
static bool take_cap(struct virtio_dev *v, uint8_t cap, struct bar_map *bars,
                     unsigned *seen)
{
    uint8_t type = pci_read8(&v->pci, cap + VIRTIO_PCI_CAP_CFG_TYPE);
    uint8_t cap_len = pci_read8(&v->pci, cap + VIRTIO_PCI_CAP_LEN);
    uintptr_t addr;
    uint64_t len;

    /* The spec: use the first capability of each type we understand. */
    if (type < VIRTIO_PCI_CAP_COMMON_CFG || type > VIRTIO_PCI_CAP_DEVICE_CFG ||
        type == VIRTIO_PCI_CAP_ISR_CFG || (*seen & 1u << type)) {
        return true;
    }
    if (!cap_window(v, cap, bars, &addr, &len)) {
        return false;
    }
    switch (type) {
    case VIRTIO_PCI_CAP_COMMON_CFG:
        if (len < sizeof(struct virtio_pci_common_cfg)) {
            printf("virtio: common configuration of %lu bytes\n",
                   (unsigned long)len);
            return false;
        }
        v->common = (volatile struct virtio_pci_common_cfg *)addr;
        break;
    case VIRTIO_PCI_CAP_NOTIFY_CFG:
        if (cap_len < sizeof(struct virtio_pci_notify_cap)) {
            printf("virtio: notify capability of %u bytes\n", cap_len);
            return false;
        }
        v->notify_base = addr;
        v->notify_len = len;
        v->notify_mult = pci_read32(&v->pci, cap +
            offsetof(struct virtio_pci_notify_cap, notify_off_multiplier));
        break;
    case VIRTIO_PCI_CAP_DEVICE_CFG:
        v->device_cfg = (volatile uint8_t *)addr;
        v->device_cfg_len = len;
        break;
    }
    *seen |= 1u << type;
    return true;
}

bool virtio_pci_probe(struct virtio_dev *v, const struct pci_dev *pci)
{
    struct bar_map bars[6] = { { 0 } };
    unsigned seen = 0;
    uint8_t cap = 0;

    memset(v, 0, sizeof(*v));
    v->pci = *pci;
    while ((cap = pci_find_cap(&v->pci, PCI_CAP_ID_VNDR, cap))) {
        if (!take_cap(v, cap, bars, &seen)) {
            return false;
        }
    }
    if (!v->common || !v->notify_base || !v->device_cfg) {
        printf("virtio: missing capabilities (found mask %#x)\n", seen);
        return false;
    }
    return virtio_reset(v);
}

uint8_t virtio_status(const struct virtio_dev *v)
{
    return v->common->device_status;
}

static void status_add(struct virtio_dev *v, uint8_t bits)
{
    v->common->device_status = v->common->device_status | bits;
}

void virtio_set_failed(struct virtio_dev *v)
{
    status_add(v, VIRTIO_CONFIG_S_FAILED);
}

void virtio_driver_ok(struct virtio_dev *v)
{
    status_add(v, VIRTIO_CONFIG_S_DRIVER_OK);
}

static uint64_t device_features(struct virtio_dev *v)
{
    uint64_t f;

    v->common->device_feature_select = 0;
    f = v->common->device_feature;
    v->common->device_feature_select = 1;
    return f | (uint64_t)v->common->device_feature << 32;
}

bool virtio_negotiate(struct virtio_dev *v, uint64_t wanted,
                      uint64_t required)
{
    uint64_t offered, accept;

    required |= 1ull << VIRTIO_F_VERSION_1;
    status_add(v, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    status_add(v, VIRTIO_CONFIG_S_DRIVER);
    offered = device_features(v);
    if ((offered & required) != required) {
        printf("virtio: device offers features %#lx, we need %#lx\n",
               (unsigned long)offered, (unsigned long)required);
        virtio_set_failed(v);
        return false;
    }
    accept = offered & (wanted | required);
    v->common->guest_feature_select = 0;
    v->common->guest_feature = (uint32_t)accept;
    v->common->guest_feature_select = 1;
    v->common->guest_feature = accept >> 32;
    status_add(v, VIRTIO_CONFIG_S_FEATURES_OK);
    if (!(v->common->device_status & VIRTIO_CONFIG_S_FEATURES_OK)) {
        printf("virtio: device refused features %#lx\n", (unsigned long)accept);
        virtio_set_failed(v);
        return false;
    }
    v->features = accept;
    return true;
}

bool virtq_setup(struct virtio_dev *v, struct virtq *q, uint16_t index,
                 uint16_t max_size, void *mem)
{
    volatile struct virtio_pci_common_cfg *c = v->common;
    uint16_t size;
    uint64_t notify_off;
    uintptr_t base = (uintptr_t)mem;

    c->queue_select = index;
    size = c->queue_size;
    if (size > max_size) {
        size = max_size;
    }
    if (!size || (size & (size - 1))) {
        printf("virtio: queue %u has size %u\n", index, size);
        return false;
    }
    memset(q, 0, sizeof(*q));
    memset(mem, 0, VIRTQ_MEM_SIZE(size));
    q->size = size;
    q->index = index;
    q->desc = mem;
    q->avail = (struct vring_avail *)(base + size * 16u);
    q->used = (struct vring_used *)(base +
        (size * 16u + 6u + 2u * size + 4095u) / 4096u * 4096u);
    /* We poll the used ring: ask for no interrupts. */
    q->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;

    notify_off = (uint64_t)c->queue_notify_off * v->notify_mult;
    if (notify_off > v->notify_len || v->notify_len - notify_off < 2) {
        printf("virtio: queue %u notify offset %#lx is outside the region\n",
               index, (unsigned long)notify_off);
        return false;
    }
    q->notify = (volatile uint16_t *)(v->notify_base + notify_off);
    c->queue_size = size;
    c->queue_msix_vector = VIRTIO_MSI_NO_VECTOR;
    c->queue_desc_lo = (uint32_t)(uintptr_t)q->desc;
    c->queue_desc_hi = (uint64_t)(uintptr_t)q->desc >> 32;
    c->queue_avail_lo = (uint32_t)(uintptr_t)q->avail;
    c->queue_avail_hi = (uint64_t)(uintptr_t)q->avail >> 32;
    c->queue_used_lo = (uint32_t)(uintptr_t)q->used;
    c->queue_used_hi = (uint64_t)(uintptr_t)q->used >> 32;
    c->queue_enable = 1;
    return true;
}

/*
 * Each field is read with an access of its own width, naturally aligned
 * (wider fields as aligned 32-bit halves): the spec's rule for drivers.
 */
static bool cfg_range_ok(const struct virtio_dev *v, uint32_t off, uint32_t len)
{
    uint32_t align = len < 4 ? len : 4;

    return !(off & (align - 1)) && off <= v->device_cfg_len &&
           len <= v->device_cfg_len - off;
}

bool virtio_cfg_read8(const struct virtio_dev *v, uint32_t off, uint8_t *val)
{
    if (!cfg_range_ok(v, off, 1)) {
        return false;
    }
    *val = v->device_cfg[off];
    return true;
}

bool virtio_cfg_read16(const struct virtio_dev *v, uint32_t off, uint16_t *val)
{
    if (!cfg_range_ok(v, off, 2)) {
        return false;
    }
    *val = *(volatile uint16_t *)(v->device_cfg + off);
    return true;
}

bool virtio_cfg_read32(const struct virtio_dev *v, uint32_t off, uint32_t *val)
{
    if (!cfg_range_ok(v, off, 4)) {
        return false;
    }
    *val = *(volatile uint32_t *)(v->device_cfg + off);
    return true;
}

bool virtio_cfg_read64(const struct virtio_dev *v, uint32_t off, uint64_t *val)
{
    volatile uint32_t *p = (volatile uint32_t *)(v->device_cfg + off);
    uint32_t lo, hi;
    uint8_t gen;

    if (!cfg_range_ok(v, off, 8)) {
        return false;
    }
    /* Two halves: repeat until the generation says they belong together. */
    do {
        gen = v->common->config_generation;
        lo = p[0];
        hi = p[1];
    } while (gen != v->common->config_generation);
    *val = (uint64_t)hi << 32 | lo;
    return true;
}

void virtq_kick(struct virtq *q)
{
    volatile uint16_t *idx = &q->avail->idx;
    uint64_t t0;

    /* Descriptors and ring entries before the index (x86 keeps stores
     * in order; the compiler must too). */
    __asm__ volatile("" ::: "memory");
    *idx = q->next_avail;
    /* The index store before the flags load: only a fence orders those. */
    __asm__ volatile("mfence" ::: "memory");
    if (*(volatile uint16_t *)&q->used->flags & VRING_USED_F_NO_NOTIFY) {
        q->kicks_suppressed++;
        return;
    }
    /* Timed: the write traps to the VMM, and its cost is worth knowing. */
    t0 = rdtsc();
    *q->notify = q->index;
    q->kick_ticks += rdtsc() - t0;
    q->kicks++;
}

int virtq_pop(struct virtq *q, uint32_t *id, uint32_t *len)
{
    uint16_t used_idx = *(volatile uint16_t *)&q->used->idx;
    struct vring_used_elem e;

    if (used_idx == q->last_used) {
        return 0;
    }
    if ((uint16_t)(used_idx - q->last_used) > q->size) {
        return -1;
    }
    /* The entry is read after the index that covers it. */
    __asm__ volatile("" ::: "memory");
    e = q->used->ring[q->last_used & (q->size - 1)];
    q->last_used++;
    *id = e.id;
    *len = e.len;
    return 1;
}
