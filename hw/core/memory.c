/*
 * Address-space dispatch (port I/O and MMIO) and checked guest RAM.
 *
 * Regions live in a sorted array per address space and are found by
 * binary search; the handful of devices on a pc machine makes anything
 * cleverer pointless.  Lookups happen on vCPU threads under the BQL.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include <sys/eventfd.h>

typedef struct IOEventfd {
    uint64_t offset;
    int fd;
} IOEventfd;

struct IORegion {
    AddressSpaceId as;
    uint64_t base;
    uint64_t len;
    const IORegionOps *ops;
    void *opaque;
    char *name;
    GArray *eventfds;           /* IOEventfd; NULL until the first */
};

static IOEventfdHook eventfd_hook;

static GPtrArray *spaces[2];     /* IORegion*, sorted by base */

static GPtrArray *space(AddressSpaceId as)
{
    if (!spaces[as]) {
        spaces[as] = g_ptr_array_new();
    }
    return spaces[as];
}

/* Last byte of a region, which cannot overflow since len >= 1. */
static uint64_t region_last(const IORegion *r)
{
    return r->base + (r->len - 1);
}

/* Index of the region containing @addr, or -1. */
static int region_find(AddressSpaceId as, uint64_t addr)
{
    GPtrArray *a = space(as);
    int lo = 0, hi = (int)a->len - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        IORegion *r = g_ptr_array_index(a, mid);
        if (addr < r->base) {
            hi = mid - 1;
        } else if (addr > region_last(r)) {
            lo = mid + 1;
        } else {
            return mid;
        }
    }
    return -1;
}

static IORegion *region_overlapping(AddressSpaceId as, uint64_t base,
                                    uint64_t last)
{
    GPtrArray *a = space(as);
    for (guint i = 0; i < a->len; i++) {
        IORegion *r = g_ptr_array_index(a, i);
        if (r->base <= last && base <= region_last(r)) {
            return r;
        }
    }
    return NULL;
}

static gint region_cmp(gconstpointer pa, gconstpointer pb)
{
    const IORegion *a = *(IORegion *const *)pa;
    const IORegion *b = *(IORegion *const *)pb;
    return a->base < b->base ? -1 : a->base > b->base;
}

static bool region_range_ok(AddressSpaceId as, uint64_t base, uint64_t len,
                            const char *name, GError **errp)
{
    uint64_t limit = as == AS_PIO ? 0x10000 : 0;
    if (len == 0 || base + (len - 1) < base ||
        (limit && (base >= limit || len > limit - base))) {
        error_setg(errp, "region '%s' at 0x%" PRIx64 "+0x%" PRIx64
                   " does not fit its address space", name, base, len);
        return false;
    }
    return true;
}

IORegion *io_region_add(AddressSpaceId as, uint64_t base, uint64_t len,
                        const IORegionOps *ops, void *opaque,
                        const char *name, GError **errp)
{
    IORegion *clash;
    IORegion *r;

    if (!region_range_ok(as, base, len, name, errp)) {
        return NULL;
    }
    clash = region_overlapping(as, base, base + (len - 1));
    if (clash) {
        error_setg(errp, "%s region '%s' at 0x%" PRIx64 " overlaps '%s'",
                   as == AS_PIO ? "I/O port" : "MMIO", name, base,
                   clash->name);
        return NULL;
    }
    r = g_new0(IORegion, 1);
    r->as = as;
    r->base = base;
    r->len = len;
    r->ops = ops;
    r->opaque = opaque;
    r->name = g_strdup(name);
    g_ptr_array_add(space(as), r);
    g_ptr_array_sort(space(as), region_cmp);
    return r;
}

/* Tell the accelerator about every eventfd of @r at its current base. */
static void region_eventfds_set(IORegion *r, bool assign)
{
    if (!eventfd_hook || !r->eventfds) {
        return;
    }
    for (guint i = 0; i < r->eventfds->len; i++) {
        IOEventfd *e = &g_array_index(r->eventfds, IOEventfd, i);
        int ret = eventfd_hook(r->as, r->base + e->offset, e->fd, assign);

        /* Dispatch still signals the fd, only more slowly: not fatal. */
        if (ret < 0) {
            warn_report("%s ioeventfd at 0x%" PRIx64 " of '%s' failed: %s",
                        assign ? "registering" : "dropping",
                        r->base + e->offset, r->name, g_strerror(-ret));
        }
    }
}

void io_region_del(IORegion *r)
{
    if (!r) {
        return;
    }
    region_eventfds_set(r, false);
    if (r->eventfds) {
        g_array_free(r->eventfds, true);
    }
    g_ptr_array_remove(space(r->as), r);
    g_free(r->name);
    g_free(r);
}

bool io_region_move(IORegion *r, uint64_t new_base, GError **errp)
{
    IORegion *clash;

    if (!region_range_ok(r->as, new_base, r->len, r->name, errp)) {
        return false;
    }
    g_ptr_array_remove(space(r->as), r);
    clash = region_overlapping(r->as, new_base, new_base + (r->len - 1));
    if (clash) {
        g_ptr_array_add(space(r->as), r);
        g_ptr_array_sort(space(r->as), region_cmp);
        error_setg(errp, "region '%s' moved to 0x%" PRIx64 " overlaps '%s'",
                   r->name, new_base, clash->name);
        return false;
    }
    region_eventfds_set(r, false);
    r->base = new_base;
    region_eventfds_set(r, true);
    g_ptr_array_add(space(r->as), r);
    g_ptr_array_sort(space(r->as), region_cmp);
    return true;
}

void io_eventfd_set_hook(IOEventfdHook hook)
{
    eventfd_hook = hook;
}

static int region_eventfd_find(const IORegion *r, uint64_t offset)
{
    for (guint i = 0; r->eventfds && i < r->eventfds->len; i++) {
        if (g_array_index(r->eventfds, IOEventfd, i).offset == offset) {
            return i;
        }
    }
    return -1;
}

bool io_region_add_eventfd(IORegion *r, uint64_t offset, int fd,
                           GError **errp)
{
    IOEventfd e = { .offset = offset, .fd = fd };

    if (offset >= r->len || region_eventfd_find(r, offset) >= 0) {
        error_setg(errp, "ioeventfd at offset 0x%" PRIx64 " of '%s': %s",
                   offset, r->name, offset >= r->len ? "outside the region"
                                                     : "already registered");
        return false;
    }
    if (eventfd_hook) {
        int ret = eventfd_hook(r->as, r->base + offset, fd, true);

        if (ret < 0) {
            error_setg(errp, "ioeventfd at 0x%" PRIx64 " of '%s': %s",
                       r->base + offset, r->name, g_strerror(-ret));
            return false;
        }
    }
    if (!r->eventfds) {
        r->eventfds = g_array_new(false, false, sizeof(IOEventfd));
    }
    g_array_append_val(r->eventfds, e);
    return true;
}

void io_region_del_eventfd(IORegion *r, uint64_t offset)
{
    int i = region_eventfd_find(r, offset);

    if (i < 0) {
        return;
    }
    if (eventfd_hook) {
        int fd = g_array_index(r->eventfds, IOEventfd, i).fd;

        eventfd_hook(r->as, r->base + offset, fd, false);
    }
    g_array_remove_index_fast(r->eventfds, i);
}

/* A write the accelerator passed to us, or any under qtest. */
static bool region_eventfd_write(IORegion *r, uint64_t offset)
{
    int i = region_eventfd_find(r, offset);

    if (i < 0) {
        return false;
    }
    /* Only fails when the counter would overflow: it is signalled then. */
    eventfd_write(g_array_index(r->eventfds, IOEventfd, i).fd, 1);
    return true;
}

const char *io_region_name_at(AddressSpaceId as, uint64_t addr)
{
    int i = region_find(as, addr);
    return i < 0 ? NULL : ((IORegion *)g_ptr_array_index(space(as), i))->name;
}

/* The region that holds the whole access, or NULL if it is split/absent. */
static IORegion *region_for_access(AddressSpaceId as, uint64_t addr,
                                   unsigned size)
{
    int i = region_find(as, addr);
    IORegion *r;

    if (i < 0) {
        return NULL;
    }
    r = g_ptr_array_index(space(as), i);
    if (addr - r->base > r->len - size || size > r->len) {
        return NULL;
    }
    return r;
}

static uint64_t unassigned_value(AddressSpaceId as, unsigned size)
{
    if (as == AS_MMIO) {
        return 0;
    }
    return size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
}

bool io_dispatch_read(AddressSpaceId as, uint64_t addr, unsigned size,
                      uint64_t *val)
{
    IORegion *r = region_for_access(as, addr, size);
    bool hit = false;

    if (r) {
        *val = r->ops->read ? r->ops->read(r->opaque, addr - r->base, size)
                            : unassigned_value(as, size);
        return true;
    }
    /* Straddles regions or partly unassigned: assemble it byte by byte. */
    *val = 0;
    for (unsigned i = 0; i < size; i++) {
        uint64_t b = unassigned_value(as, 1);
        r = region_for_access(as, addr + i, 1);
        if (r) {
            hit = true;
            b = r->ops->read ? r->ops->read(r->opaque, addr + i - r->base, 1)
                             : b;
        }
        *val |= (b & 0xff) << (i * 8);
    }
    return hit;
}

bool io_dispatch_write(AddressSpaceId as, uint64_t addr, unsigned size,
                       uint64_t val)
{
    IORegion *r = region_for_access(as, addr, size);
    bool hit = false;

    if (r) {
        if (region_eventfd_write(r, addr - r->base)) {
            return true;
        }
        if (r->ops->write) {
            r->ops->write(r->opaque, addr - r->base, val, size);
        }
        return true;
    }
    for (unsigned i = 0; i < size; i++) {
        r = region_for_access(as, addr + i, 1);
        if (r) {
            hit = true;
            if (r->ops->write) {
                r->ops->write(r->opaque, addr + i - r->base,
                              (val >> (i * 8)) & 0xff, 1);
            }
        }
    }
    return hit;
}

/* ---- guest RAM ---- */

static RAMBlock ram_blocks[8];
static unsigned nr_ram_blocks;

void guest_ram_add_block(uint64_t gpa, uint64_t size, void *hva,
                         const char *name)
{
    g_assert(nr_ram_blocks < G_N_ELEMENTS(ram_blocks));
    g_assert(size > 0 && gpa + (size - 1) >= gpa);
    ram_blocks[nr_ram_blocks++] = (RAMBlock) {
        .gpa = gpa, .size = size, .hva = hva, .name = name,
    };
}

void guest_ram_reset_blocks(void)
{
    nr_ram_blocks = 0;
}

unsigned guest_ram_num_blocks(void)
{
    return nr_ram_blocks;
}

const RAMBlock *guest_ram_block(unsigned i)
{
    return i < nr_ram_blocks ? &ram_blocks[i] : NULL;
}

void *guest_ram_ptr(uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < nr_ram_blocks; i++) {
        const RAMBlock *b = &ram_blocks[i];
        uint64_t off;

        if (gpa < b->gpa || gpa - b->gpa >= b->size) {
            continue;
        }
        off = gpa - b->gpa;
        /* len may be up to what remains in the block; no addition here. */
        if (len > b->size - off) {
            return NULL;
        }
        return b->hva + off;
    }
    return NULL;
}

bool guest_mem_read(uint64_t gpa, void *buf, uint64_t len)
{
    void *p = guest_ram_ptr(gpa, len);
    if (!p) {
        return false;
    }
    memcpy(buf, p, len);
    return true;
}

bool guest_mem_write(uint64_t gpa, const void *buf, uint64_t len)
{
    void *p = guest_ram_ptr(gpa, len);
    if (!p) {
        return false;
    }
    memcpy(p, buf, len);
    return true;
}

/* Length of the run starting at @addr that is uniformly RAM or not-RAM. */
static uint64_t phys_chunk(uint64_t addr, uint64_t len, uint8_t **hva)
{
    for (unsigned i = 0; i < nr_ram_blocks; i++) {
        const RAMBlock *b = &ram_blocks[i];
        if (addr >= b->gpa && addr - b->gpa < b->size) {
            uint64_t off = addr - b->gpa;
            *hva = b->hva + off;
            return MIN(len, b->size - off);
        }
    }
    *hva = NULL;
    return 1;
}

void phys_mem_rw(uint64_t addr, void *buf, uint64_t len, bool is_write)
{
    uint8_t *p = buf;

    while (len) {
        uint8_t *hva;
        uint64_t n = phys_chunk(addr, len, &hva);

        if (hva) {
            if (is_write) {
                memcpy(hva, p, n);
            } else {
                memcpy(p, hva, n);
            }
        } else if (is_write) {
            io_dispatch_write(AS_MMIO, addr, 1, *p);
        } else {
            uint64_t v;
            io_dispatch_read(AS_MMIO, addr, 1, &v);
            *p = v;
        }
        p += n;
        addr += n;
        len -= n;
    }
}
