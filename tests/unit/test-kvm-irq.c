/*
 * The KVM side of PCI interrupts and doorbells, against the real
 * /dev/kvm: MSI routes in the GSI table, irqfds bound and unbound as
 * MSI-X vectors are (un)masked, INTx resample irqfds, and ioeventfds that
 * follow a BAR the guest moves.  What the kernel holds is checked with
 * the kernel's own refusals: an eventfd already bound as an irqfd gives
 * EBUSY, an address already taken by an ioeventfd gives EEXIST.  A tiny
 * real-mode guest then sees an MSI-X vector arrive as an NMI.
 *
 * Each test creates its own VM (check forks per test).  Without /dev/kvm
 * the program says why and exits 77, which meson reports as a skip.
 */
#include "qemu/osdep.h"
#include <check.h>
#include <dirent.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include "qemu/main-loop.h"
#include "exec/memory.h"
#include "hw/qdev.h"
#include "hw/misc/reset-control.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/pci-host/i440fx.h"
#include "sysemu/kvm.h"
#include "accel/kvm/kvm-internal.h"
#include "sysemu/reset.h"

#define BELOW_4G    0x80000000ULL
#define DEVFN       PCI_DEVFN(3, 0)      /* INTA on GSI 11 */

static PCIBus *bus;

static uint64_t null_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)off, (void)size;
    return 0;
}

static void null_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    (void)opaque, (void)off, (void)v, (void)size;
}

static const IORegionOps null_ops = { .read = null_read, .write = null_write };

static void setup(void)
{
    GError *err = NULL;
    ResetControlState *rcr;

    if (!kvm_init(&err)) {
        ck_abort_msg("kvm_init: %s", err->message);
    }
    rcr = reset_control_create(false, &err);
    bus = i440fx_create(BELOW_4G, 0, rcr, &err);
    ck_assert_ptr_null(err);
}

static void teardown(void)
{
    pci_bus_free(bus);
    qdev_destroy_all();
}

static void cfg_write(unsigned off, unsigned size, uint32_t v)
{
    pci_bus_config_write(bus, DEVFN, off, v, size);
}

static bool is_eventfd(int fd)
{
    g_autofree char *path = g_strdup_printf("/proc/self/fdinfo/%d", fd);
    g_autofree char *info = NULL;

    return g_file_get_contents(path, &info, NULL, NULL) &&
           strstr(info, "eventfd-count:");
}

/*
 * How many of this process's eventfds KVM already holds as irqfds: the
 * kernel refuses a second KVM_IRQFD on the same eventfd with EBUSY.
 */
static unsigned bound_irqfds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *e;
    unsigned n = 0;

    ck_assert_ptr_nonnull(dir);
    while ((e = readdir(dir))) {
        int fd = atoi(e->d_name);
        int ret;

        if (e->d_name[0] == '.' || fd == dirfd(dir) || !is_eventfd(fd)) {
            continue;
        }
        ret = kvm_irqfd_assign(fd, 23, -1);
        if (ret == -EBUSY) {
            n++;
        } else {
            ck_assert_int_eq(ret, 0);
            ck_assert_int_eq(kvm_irqfd_deassign(fd, 23), 0);
        }
    }
    closedir(dir);
    return n;
}

/* Is an ioeventfd (any length) registered at @addr? */
static bool ioeventfd_at(AddressSpaceId as, uint64_t addr)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    int ret = kvm_set_ioeventfd(as, addr, fd, true);

    if (ret == 0) {
        ck_assert_int_eq(kvm_set_ioeventfd(as, addr, fd, false), 0);
    } else {
        ck_assert_int_eq(ret, -EEXIST);
    }
    close(fd);
    return ret == -EEXIST;
}

START_TEST(test_msi_routes)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    int first, gsi, n = 0;
    struct kvm_irq_level line = { .irq = 10, .level = 1 };

    first = kvm_irqchip_add_msi_route(0xfee00000, 0x4041);
    ck_assert_int_ge(first, 24);
    ck_assert_int_eq(kvm_irqchip_update_msi_route(first, 0xfee01000, 0x4042),
                     0);
    ck_assert_int_eq(kvm_irqchip_update_msi_route(5, 0xfee01000, 0), -ENOENT);
    ck_assert_int_eq(kvm_irqfd_assign(fd, first, -1), 0);
    ck_assert_int_eq(kvm_irqfd_assign(fd, first, -1), -EBUSY);
    ck_assert_int_eq(eventfd_write(fd, 1), 0);
    ck_assert_int_eq(kvm_irqfd_deassign(fd, first), 0);
    ck_assert_int_eq(kvm_irqfd_assign(fd, first, -1), 0);
    ck_assert_int_eq(kvm_irqfd_deassign(fd, first), 0);

    /* GSIs are handed out up to the kernel's limit, then refused */
    while ((gsi = kvm_irqchip_add_msi_route(0xfee00000, n)) >= 0) {
        n++;
    }
    ck_assert_int_eq(gsi, -ENOSPC);
    ck_assert_int_ge(n, 1000);
    /* the irqchip routes are still there: GSI 10 reaches the IOAPIC */
    ck_assert_int_ge(ioctl(kvm_state.vmfd, KVM_IRQ_LINE_STATUS,
                           &line), 0);
    ck_assert_int_ne(line.status, -1);
    /* a released GSI is reused */
    kvm_irqchip_release_msi_route(first);
    ck_assert_int_eq(kvm_irqchip_add_msi_route(0xfee00000, 0), first);
    close(fd);
}
END_TEST

START_TEST(test_msix_irqfd)
{
    PCIDevice *d = g_new0(PCIDevice, 1);
    GError *err = NULL;
    uint64_t bar;
    uint8_t cap;
    unsigned base;

    ck_assert(pci_register_device(bus, d, "test-msix", DEVFN, &err));
    ck_assert(msix_init_exclusive_bar(d, 4, 1, &err));
    bar = d->bars[1].addr;
    cap = d->config[PCI_CAPABILITY_LIST];
    base = bound_irqfds();
    ck_assert_uint_eq(base, 0);

    /* vector 1 unmasked, MSI-X enabled: its eventfd becomes an irqfd */
    io_dispatch_write(AS_MMIO, bar + 16, 4, 0xfee00000);
    io_dispatch_write(AS_MMIO, bar + 24, 4, 0x4041);
    io_dispatch_write(AS_MMIO, bar + 28, 4, 0);
    ck_assert_uint_eq(bound_irqfds(), 0);
    cfg_write(cap + 2, 2, 0x8000);
    ck_assert_uint_eq(bound_irqfds(), 1);
    msix_notify(d, 1);
    /* a rewritten message is re-routed, still bound */
    io_dispatch_write(AS_MMIO, bar + 24, 4, 0x4042);
    ck_assert_uint_eq(bound_irqfds(), 1);
    /* the function mask and the vector mask each unbind it */
    cfg_write(cap + 2, 2, 0xc000);
    ck_assert_uint_eq(bound_irqfds(), 0);
    cfg_write(cap + 2, 2, 0x8000);
    ck_assert_uint_eq(bound_irqfds(), 1);
    io_dispatch_write(AS_MMIO, bar + 28, 4, 1);
    ck_assert_uint_eq(bound_irqfds(), 0);
    /* masked, a notification is pending in the PBA ... */
    msix_notify(d, 1);
    while (g_main_context_iteration(NULL, false)) {
        /* the main loop drains it */
    }
    {
        uint64_t pba = 0;

        io_dispatch_read(AS_MMIO, bar + 0x800, 4, &pba);
        ck_assert_uint_eq(pba, 2);
        /* ... and unmasking delivers it through the irqfd */
        io_dispatch_write(AS_MMIO, bar + 28, 4, 0);
        io_dispatch_read(AS_MMIO, bar + 0x800, 4, &pba);
        ck_assert_uint_eq(pba, 0);
    }
    ck_assert_uint_eq(bound_irqfds(), 1);
    /* reset drops it */
    qemu_devices_reset();
    ck_assert_uint_eq(bound_irqfds(), 0);
    pci_unregister_device(d);
    msix_uninit(d);
    g_free(d);
}
END_TEST

START_TEST(test_intx_resample)
{
    PCIDevice *d = g_new0(PCIDevice, 1);
    GError *err = NULL;

    d->config[PCI_INTERRUPT_PIN] = 1;
    ck_assert(pci_register_device(bus, d, "test-intx", DEVFN, &err));
    ck_assert_uint_eq(bound_irqfds(), 0);
    /* set up on first use: an irqfd (with resample fd) on GSI 11 */
    pci_intx_notify(d);
    ck_assert_uint_eq(bound_irqfds(), 1);
    /* INTx disable unbinds it; enabling binds it again */
    cfg_write(PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    ck_assert_uint_eq(bound_irqfds(), 0);
    cfg_write(PCI_COMMAND, 2, 0);
    ck_assert_uint_eq(bound_irqfds(), 1);
    /* across system reset */
    qemu_devices_reset();
    ck_assert_uint_eq(bound_irqfds(), 1);
    pci_intx_lower(d);
    pci_unregister_device(d);
    ck_assert_uint_eq(bound_irqfds(), 0);
    g_free(d);
}
END_TEST

START_TEST(test_ioeventfd_follows_bar)
{
    PCIDevice *d = g_new0(PCIDevice, 1);
    int fd = eventfd(0, EFD_CLOEXEC), pfd = eventfd(0, EFD_CLOEXEC);
    GError *err = NULL;
    uint64_t mem, io;

    ck_assert(pci_register_device(bus, d, "test-io", DEVFN, &err));
    ck_assert(pci_register_bar(d, 0, PCI_BAR_IO, 64, &null_ops, d, &err));
    ck_assert(pci_register_bar(d, 1, PCI_BAR_MEM32, 0x4000, &null_ops, d,
                               &err));
    mem = d->bars[1].addr;
    io = d->bars[0].addr;
    ck_assert(pci_bar_add_eventfd(d, 1, 0x3000, fd, &err));
    ck_assert(pci_bar_add_eventfd(d, 0, 0x10, pfd, &err));
    ck_assert_ptr_null(err);
    ck_assert(ioeventfd_at(AS_MMIO, mem + 0x3000));
    ck_assert(ioeventfd_at(AS_PIO, io + 0x10));
    ck_assert(!ioeventfd_at(AS_MMIO, mem + 0x2000));

    /* the guest moves both BARs */
    cfg_write(PCI_BASE_ADDRESS_0, 4, 0xd000);
    cfg_write(PCI_BASE_ADDRESS_0 + 4, 4, 0x10000000);
    ck_assert(!ioeventfd_at(AS_MMIO, mem + 0x3000));
    ck_assert(ioeventfd_at(AS_MMIO, 0x10003000));
    ck_assert(!ioeventfd_at(AS_PIO, io + 0x10));
    ck_assert(ioeventfd_at(AS_PIO, 0xd010));
    /* no decoding, no ioeventfd */
    cfg_write(PCI_COMMAND, 2, 0);
    ck_assert(!ioeventfd_at(AS_MMIO, 0x10003000));
    ck_assert(!ioeventfd_at(AS_PIO, 0xd010));
    cfg_write(PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    ck_assert(ioeventfd_at(AS_MMIO, 0x10003000));
    /* deleted, then unplugged */
    pci_bar_del_eventfd(d, 1, 0x3000);
    ck_assert(!ioeventfd_at(AS_MMIO, 0x10003000));
    pci_unregister_device(d);
    ck_assert(!ioeventfd_at(AS_PIO, 0xd010));
    g_free(d);
    close(fd);
    close(pfd);
}
END_TEST

/*
 * An MSI-X vector, end to end: a real-mode guest spins writing port
 * 0x82; the vector's message is an NMI to APIC 0 (delivery mode 4), and
 * its handler writes port 0x81.  Run on this thread with bare KVM_RUN.
 */
#define GUEST_CODE   0x1000
#define GUEST_NMI    0x1100
#define PORT_SPIN    0x82
#define PORT_NMI     0x81

typedef struct TinyGuest {
    int fd;
    struct kvm_run *run;
    uint8_t *ram;
} TinyGuest;

static void tiny_guest_init(TinyGuest *g)
{
    static const uint8_t code[] = {
        0xfa,                   /* cli: only the NMI gets in */
        0xe6, PORT_SPIN,        /* 1: out PORT_SPIN, al */
        0xeb, 0xfc,             /* jmp 1b */
    };
    static const uint8_t nmi[] = {
        0xe6, PORT_NMI,         /* out PORT_NMI, al */
        0xcf,                   /* iret */
    };
    struct kvm_sregs sregs;
    struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 2 };
    struct kvm_lapic_state lapic;
    GError *err = NULL;

    g->ram = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g->ram, MAP_FAILED);
    memcpy(g->ram + GUEST_CODE, code, sizeof(code));
    memcpy(g->ram + GUEST_NMI, nmi, sizeof(nmi));
    pci_set_long(g->ram + 2 * 4, GUEST_NMI);     /* IVT[2] = 0:GUEST_NMI */
    ck_assert(kvm_set_user_memory(0, 0x10000, g->ram, &err));
    g->fd = ioctl(kvm_state.vmfd, KVM_CREATE_VCPU, 0);
    ck_assert_int_ge(g->fd, 0);
    g->run = mmap(NULL, kvm_state.run_size, PROT_READ | PROT_WRITE,
                  MAP_SHARED, g->fd, 0);
    ck_assert_ptr_ne(g->run, MAP_FAILED);
    ck_assert_int_eq(ioctl(g->fd, KVM_GET_SREGS, &sregs), 0);
    sregs.cs.selector = 0;
    sregs.cs.base = 0;
    ck_assert_int_eq(ioctl(g->fd, KVM_SET_SREGS, &sregs), 0);
    ck_assert_int_eq(ioctl(g->fd, KVM_SET_REGS, &regs), 0);
    /* Software-enable the LAPIC (SVR bit 8), as any OS does first: KVM
     * does not deliver MSIs, even NMIs, to a disabled one. */
    ck_assert_int_eq(ioctl(g->fd, KVM_GET_LAPIC, &lapic), 0);
    pci_set_long((uint8_t *)lapic.regs + 0xf0,
                 pci_get_long((uint8_t *)lapic.regs + 0xf0) | 0x100);
    ck_assert_int_eq(ioctl(g->fd, KVM_SET_LAPIC, &lapic), 0);
}

/* Run until the guest writes a port; return which. */
static unsigned tiny_guest_run(TinyGuest *g)
{
    ck_assert_int_eq(kvm_ioctl_run(g->fd), 0);
    ck_assert_uint_eq(g->run->exit_reason, KVM_EXIT_IO);
    return g->run->io.port;
}

/* Did an NMI reach the guest within @exits port writes? */
static bool tiny_guest_saw_nmi(TinyGuest *g, unsigned exits)
{
    for (unsigned i = 0; i < exits; i++) {
        if (tiny_guest_run(g) == PORT_NMI) {
            return true;
        }
    }
    return false;
}

START_TEST(test_msix_delivery)
{
    PCIDevice *d = g_new0(PCIDevice, 1);
    GError *err = NULL;
    TinyGuest g;
    uint64_t bar, pba = 0;
    uint8_t cap;

    tiny_guest_init(&g);
    ck_assert(pci_register_device(bus, d, "test-msix", DEVFN, &err));
    ck_assert(msix_init_exclusive_bar(d, 2, 1, &err));
    bar = d->bars[1].addr;
    cap = d->config[PCI_CAPABILITY_LIST];
    io_dispatch_write(AS_MMIO, bar + 16, 4, 0xfee00000);   /* APIC 0 */
    io_dispatch_write(AS_MMIO, bar + 24, 4, 0x400);        /* NMI */
    io_dispatch_write(AS_MMIO, bar + 28, 4, 0);
    cfg_write(cap + 2, 2, 0x8000);
    ck_assert_uint_eq(tiny_guest_run(&g), PORT_SPIN);
    ck_assert(!tiny_guest_saw_nmi(&g, 20));

    /* through the irqfd, no userspace on the way */
    msix_notify(d, 1);
    ck_assert(tiny_guest_saw_nmi(&g, 1000));
    ck_assert(!tiny_guest_saw_nmi(&g, 20));

    /* masked: nothing arrives, the PBA says pending */
    io_dispatch_write(AS_MMIO, bar + 28, 4, 1);
    msix_notify(d, 1);
    ck_assert(!tiny_guest_saw_nmi(&g, 50));
    io_dispatch_read(AS_MMIO, bar + 0x800, 4, &pba);
    ck_assert_uint_eq(pba, 2);
    /* unmasked: delivered once */
    io_dispatch_write(AS_MMIO, bar + 28, 4, 0);
    ck_assert(tiny_guest_saw_nmi(&g, 1000));
    ck_assert(!tiny_guest_saw_nmi(&g, 20));

    /* the function mask holds it back the same way */
    cfg_write(cap + 2, 2, 0xc000);
    msix_notify(d, 1);
    ck_assert(!tiny_guest_saw_nmi(&g, 50));
    cfg_write(cap + 2, 2, 0x8000);
    ck_assert(tiny_guest_saw_nmi(&g, 1000));

    /* a rewritten message is followed: to APIC 1, which does not exist */
    io_dispatch_write(AS_MMIO, bar + 16, 4, 0xfee01000);
    msix_notify(d, 1);
    ck_assert(!tiny_guest_saw_nmi(&g, 50));
    io_dispatch_write(AS_MMIO, bar + 16, 4, 0xfee00000);
    msix_notify(d, 1);
    ck_assert(tiny_guest_saw_nmi(&g, 1000));

    pci_unregister_device(d);
    msix_uninit(d);
    g_free(d);
    close(g.fd);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kvm-irq");
    TCase *tc = tcase_create("kvm");
    SRunner *sr;
    int failed;

    if (access("/dev/kvm", R_OK | W_OK) < 0) {
        printf("SKIP: /dev/kvm is not usable here (%s)\n", g_strerror(errno));
        return 77;
    }
    qemu_init_main_loop();
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_msi_routes);
    tcase_add_test(tc, test_msix_irqfd);
    tcase_add_test(tc, test_intx_resample);
    tcase_add_test(tc, test_ioeventfd_follows_bar);
    tcase_add_test(tc, test_msix_delivery);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
