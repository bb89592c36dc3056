/*
 * KVM interrupt plumbing beyond KVM_IRQ_LINE: the GSI routing table (the
 * pc's irqchip routes plus one MSI route per bound MSI-X vector), irqfds
 * (with resample fds for level-triggered INTx) and ioeventfds.  All of it runs under the BQL; the kernel takes the whole
 * routing table at once, so this file keeps the master copy.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/pci/pci.h"
#include "kvm-internal.h"
#include <sys/ioctl.h>

#define PC_NUM_GSI 24

typedef struct KVMRouting {
    GArray *entries;            /* struct kvm_irq_routing_entry */
    unsigned max_gsi;           /* the kernel's limit on both the number
                                 * of routes and the GSI numbers */
    uint8_t *gsi_used;          /* max_gsi flags, for MSI GSIs >= 24 */
} KVMRouting;

static KVMRouting routing;

static void add_irqchip_route(uint32_t gsi, uint32_t chip, uint32_t pin)
{
    struct kvm_irq_routing_entry e = {
        .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
        .u.irqchip = { .irqchip = chip, .pin = pin },
    };

    g_array_append_val(routing.entries, e);
}

/* Hand the whole table to the kernel. */
static int routing_commit(void)
{
    unsigned n = routing.entries->len;
    g_autofree struct kvm_irq_routing *r =
        g_malloc0(sizeof(*r) + n * sizeof(r->entries[0]));

    r->nr = n;
    memcpy(r->entries, routing.entries->data, n * sizeof(r->entries[0]));
    return kvm_ioctl(kvm_state.vmfd, KVM_SET_GSI_ROUTING, r);
}

/*
 * KVM's default table wires GSI n to IOAPIC pin n, but the MADT says (as
 * on every PC) that ISA IRQ 0, the PIT, arrives at GSI 2.  Route GSI 0 to
 * IOAPIC pin 2, as QEMU does, so the kernel finds its timer there.
 */
bool kvm_irq_routing_init(GError **errp)
{
    int max = kvm_ioctl(kvm_state.fd, KVM_CHECK_EXTENSION,
                        (void *)(long)KVM_CAP_IRQ_ROUTING);
    int ret;

    /* The capability's value is the number of routes the VM may have. */
    routing.max_gsi = max > PC_NUM_GSI ? (unsigned)max : PC_NUM_GSI;
    if (routing.entries) {
        /* a second VM in one process (tests): start afresh */
        g_array_free(routing.entries, true);
        g_free(routing.gsi_used);
    }
    routing.entries = g_array_new(false, true,
                                  sizeof(struct kvm_irq_routing_entry));
    routing.gsi_used = g_malloc0(routing.max_gsi);
    memset(routing.gsi_used, 1, PC_NUM_GSI);
    for (uint32_t gsi = 0; gsi < 16; gsi++) {
        if (gsi != 2) {
            add_irqchip_route(gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
                                           : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
        }
    }
    for (uint32_t gsi = 0; gsi < PC_NUM_GSI; gsi++) {
        if (gsi != 2) {
            add_irqchip_route(gsi, KVM_IRQCHIP_IOAPIC, gsi ? gsi : 2);
        }
    }
    ret = routing_commit();
    if (ret < 0) {
        error_setg(errp, "KVM_SET_GSI_ROUTING failed: %s", g_strerror(-ret));
        return false;
    }
    return true;
}

static void msi_entry(struct kvm_irq_routing_entry *e, int gsi,
                      uint64_t addr, uint32_t data)
{
    *e = (struct kvm_irq_routing_entry) {
        .gsi = gsi, .type = KVM_IRQ_ROUTING_MSI,
        .u.msi = { .address_lo = (uint32_t)addr,
                   .address_hi = addr >> 32, .data = data },
    };
}

static int msi_entry_index(int gsi)
{
    for (guint i = 0; i < routing.entries->len; i++) {
        struct kvm_irq_routing_entry *e =
            &g_array_index(routing.entries, struct kvm_irq_routing_entry, i);

        if (e->gsi == (uint32_t)gsi && e->type == KVM_IRQ_ROUTING_MSI) {
            return i;
        }
    }
    return -1;
}

int kvm_irqchip_add_msi_route(uint64_t addr, uint32_t data)
{
    struct kvm_irq_routing_entry e;
    unsigned gsi;
    int ret;

    for (gsi = PC_NUM_GSI; gsi < routing.max_gsi; gsi++) {
        if (!routing.gsi_used[gsi]) {
            break;
        }
    }
    if (gsi >= routing.max_gsi || routing.entries->len >= routing.max_gsi) {
        return -ENOSPC;
    }
    msi_entry(&e, gsi, addr, data);
    g_array_append_val(routing.entries, e);
    ret = routing_commit();
    if (ret < 0) {
        g_array_remove_index(routing.entries, routing.entries->len - 1);
        return ret;
    }
    routing.gsi_used[gsi] = 1;
    return gsi;
}

int kvm_irqchip_update_msi_route(int gsi, uint64_t addr, uint32_t data)
{
    int i = msi_entry_index(gsi);
    struct kvm_irq_routing_entry *e, old;

    if (i < 0) {
        return -ENOENT;
    }
    e = &g_array_index(routing.entries, struct kvm_irq_routing_entry, i);
    old = *e;
    msi_entry(e, gsi, addr, data);
    if (!memcmp(&old, e, sizeof(old))) {
        return 0;
    }
    return routing_commit();
}

void kvm_irqchip_release_msi_route(int gsi)
{
    int i = msi_entry_index(gsi);

    if (i < 0) {
        return;
    }
    g_array_remove_index(routing.entries, i);
    routing.gsi_used[gsi] = 0;
    routing_commit();
}

int kvm_irqfd_assign(int fd, int gsi, int resample_fd)
{
    struct kvm_irqfd irqfd = { .fd = fd, .gsi = gsi };

    if (resample_fd >= 0) {
        irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
        irqfd.resamplefd = resample_fd;
    }
    return kvm_ioctl(kvm_state.vmfd, KVM_IRQFD, &irqfd);
}

int kvm_irqfd_deassign(int fd, int gsi)
{
    struct kvm_irqfd irqfd = {
        .fd = fd, .gsi = gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN,
    };

    return kvm_ioctl(kvm_state.vmfd, KVM_IRQFD, &irqfd);
}

/*
 * Length 0 (KVM_CAP_IOEVENTFD_ANY_LENGTH) matches a write of any size at
 * exactly @addr, on the MMIO bus and, as the kernel allows it there too,
 * on the PIO bus; that is the semantics the dispatch code gives without
 * KVM.  No datamatch: any value signals.
 */
int kvm_set_ioeventfd(AddressSpaceId as, uint64_t addr, int fd, bool assign)
{
    struct kvm_ioeventfd io = { .addr = addr, .len = 0, .fd = fd };

    if (as == AS_PIO) {
        io.flags |= KVM_IOEVENTFD_FLAG_PIO;
    }
    if (!assign) {
        io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
    }
    return kvm_ioctl(kvm_state.vmfd, KVM_IOEVENTFD, &io);
}

static const PCIIrqAccelOps kvm_pci_irq_ops = {
    .add_msi_route = kvm_irqchip_add_msi_route,
    .update_msi_route = kvm_irqchip_update_msi_route,
    .release_msi_route = kvm_irqchip_release_msi_route,
    .irqfd_assign = kvm_irqfd_assign,
    .irqfd_deassign = kvm_irqfd_deassign,
};

bool kvm_irq_hooks_init(GError **errp)
{
    static const struct {
        int cap;
        const char *name;
    } caps[] = {
        { KVM_CAP_IOEVENTFD_ANY_LENGTH, "KVM_CAP_IOEVENTFD_ANY_LENGTH" },
        { KVM_CAP_IRQFD_RESAMPLE, "KVM_CAP_IRQFD_RESAMPLE" },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(caps); i++) {
        if (kvm_ioctl(kvm_state.fd, KVM_CHECK_EXTENSION,
                      (void *)(long)caps[i].cap) <= 0) {
            error_setg(errp, "kvm does not support %s, which qvmm needs",
                       caps[i].name);
            return false;
        }
    }
    io_eventfd_set_hook(kvm_set_ioeventfd);
    pci_set_irq_accel_ops(&kvm_pci_irq_ops);
    return true;
}
