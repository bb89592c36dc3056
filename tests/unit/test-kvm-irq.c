/*
 * The KVM side of PCI interrupts and doorbells, against the real
 * /dev/kvm: MSI routes in the GSI table, irqfds bound and unbound as
 * MSI-X vectors are (un)masked, INTx resample irqfds, and ioeventfds that
 * follow a BAR the guest moves.  What the kernel holds is checked with
 * the kernel's own refusals: an eventfd already bound as an irqfd gives
 * EBUSY, an address already taken by an ioeventfd gives EEXIST.  A tiny
 * guest then takes an MSI-X vector and a level-triggered INTx.
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
 * A tiny guest, run on this thread with bare KVM_RUN: 32-bit flat
 * protected mode (set up from here), interrupts on, spinning on writes
 * to port 0x82.  The handler of vector 0x31 (the MSI) writes port 0x81,
 * that of vector 0x30 (INTx through the IOAPIC) port 0x83; both EOI their
 * LAPIC, which a level-triggered pin needs before it can fire again, and
 * go back to the loop with a fresh stack.  (KVM's instruction emulator,
 * which runs ring 0 on these hosts, has no protected-mode iret.)
 */
#define GUEST_GDT    0x500
#define GUEST_IDT    0x600
#define GUEST_CODE   0x1000
#define GUEST_MSI    0x1100
#define GUEST_INTX   0x1200
#define GUEST_STACK  0x8000
#define INTX_VECTOR  0x30
#define MSI_VECTOR   0x31
#define PORT_SPIN    0x82
#define PORT_MSI     0x81
#define PORT_INTX    0x83
#define LAPIC_SVR    0xf0
#define LAPIC_LVT0   0x350

typedef struct TinyGuest {
    int fd;
    struct kvm_run *run;
    uint8_t *ram;
} TinyGuest;

static const uint8_t guest_code[] = {
    0xfb,                       /* sti */
    0xe6, PORT_SPIN,            /* 1: out PORT_SPIN, al */
    0xeb, 0xfc,                 /* jmp 1b */
};

/* out @port, al; movl $0, LAPIC EOI; mov $GUEST_STACK, esp; jmp code */
static void guest_handler(uint8_t *ram, uint32_t at, uint8_t port)
{
    uint8_t h[] = {
        0xe6, port,
        0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0,
        0xbc, 0, 0, 0, 0,
        0xe9, 0, 0, 0, 0,
    };

    pci_set_long(h + 13, GUEST_STACK);
    pci_set_long(h + 18, GUEST_CODE - (at + sizeof(h)));
    memcpy(ram + at, h, sizeof(h));
}

static void idt_gate(uint8_t *ram, unsigned vector, uint32_t handler)
{
    uint8_t *g = ram + GUEST_IDT + 8 * vector;

    pci_set_word(g, handler);
    pci_set_word(g + 2, 0x08);                  /* the code segment */
    pci_set_word(g + 4, 0x8e00);                /* 32-bit interrupt gate */
    pci_set_word(g + 6, handler >> 16);
}

static void flat_segment(struct kvm_segment *seg, uint16_t sel, uint8_t type)
{
    *seg = (struct kvm_segment) {
        .base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
        .present = 1, .db = 1, .s = 1, .g = 1,
    };
}

static void tiny_guest_memory(TinyGuest *g)
{
    GError *err = NULL;

    g->ram = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(g->ram, MAP_FAILED);
    pci_set_long(g->ram + GUEST_GDT + 8, 0x0000ffff);      /* code */
    pci_set_long(g->ram + GUEST_GDT + 12, 0x00cf9a00);
    pci_set_long(g->ram + GUEST_GDT + 16, 0x0000ffff);     /* data */
    pci_set_long(g->ram + GUEST_GDT + 20, 0x00cf9200);
    idt_gate(g->ram, MSI_VECTOR, GUEST_MSI);
    idt_gate(g->ram, INTX_VECTOR, GUEST_INTX);
    memcpy(g->ram + GUEST_CODE, guest_code, sizeof(guest_code));
    guest_handler(g->ram, GUEST_MSI, PORT_MSI);
    guest_handler(g->ram, GUEST_INTX, PORT_INTX);
    ck_assert(kvm_set_user_memory(0, 0x10000, g->ram, &err));
}

static void tiny_guest_init(TinyGuest *g)
{
    struct kvm_sregs sregs;
    struct kvm_regs regs = {
        .rip = GUEST_CODE, .rflags = 2, .rsp = GUEST_STACK,
    };
    struct kvm_lapic_state lapic;
    uint8_t *lr = (uint8_t *)lapic.regs;

    tiny_guest_memory(g);
    g->fd = ioctl(kvm_state.vmfd, KVM_CREATE_VCPU, 0);
    ck_assert_int_ge(g->fd, 0);
    g->run = mmap(NULL, kvm_state.run_size, PROT_READ | PROT_WRITE,
                  MAP_SHARED, g->fd, 0);
    ck_assert_ptr_ne(g->run, MAP_FAILED);
    ck_assert_int_eq(ioctl(g->fd, KVM_GET_SREGS, &sregs), 0);
    sregs.cr0 |= 1;
    flat_segment(&sregs.cs, 0x08, 0xb);
    flat_segment(&sregs.ds, 0x10, 0x3);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt = (struct kvm_dtable) { .base = GUEST_GDT, .limit = 23 };
    sregs.idt = (struct kvm_dtable) {
        .base = GUEST_IDT, .limit = 8 * (MSI_VECTOR + 1) - 1,
    };
    ck_assert_int_eq(ioctl(g->fd, KVM_SET_SREGS, &sregs), 0);
    ck_assert_int_eq(ioctl(g->fd, KVM_SET_REGS, &regs), 0);
    /* Software-enable the LAPIC (KVM delivers no MSI to a disabled one)
     * and mask LINT0, where the never-initialised PIC
     * would otherwise inject. */
    ck_assert_int_eq(ioctl(g->fd, KVM_GET_LAPIC, &lapic), 0);
    pci_set_long(lr + LAPIC_SVR, pci_get_long(lr + LAPIC_SVR) | 0x100);
    pci_set_long(lr + LAPIC_LVT0, pci_get_long(lr + LAPIC_LVT0) | 0x10000);
    ck_assert_int_eq(ioctl(g->fd, KVM_SET_LAPIC, &lapic), 0);
}

/* Run until the guest writes a port; return which. */
static unsigned tiny_guest_run(TinyGuest *g)
{
    ck_assert_int_eq(kvm_ioctl_run(g->fd), 0);
    ck_assert_msg(g->run->exit_reason == KVM_EXIT_IO, "exit reason %u",
                  g->run->exit_reason);
    return g->run->io.port;
}

/* Did the guest write @port within @exits port writes? */
static bool tiny_guest_saw(TinyGuest *g, unsigned port, unsigned exits)
{
    for (unsigned i = 0; i < exits; i++) {
        if (tiny_guest_run(g) == port) {
            return true;
        }
    }
    return false;
}

static bool tiny_guest_saw_msi(TinyGuest *g, unsigned exits)
{
    return tiny_guest_saw(g, PORT_MSI, exits);
}

static void tiny_guest_free(TinyGuest *g)
{
    munmap(g->run, kvm_state.run_size);
    close(g->fd);
    munmap(g->ram, 0x10000);
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
    io_dispatch_write(AS_MMIO, bar + 24, 4, MSI_VECTOR);   /* fixed, edge */
    io_dispatch_write(AS_MMIO, bar + 28, 4, 0);
    cfg_write(cap + 2, 2, 0x8000);
    ck_assert_uint_eq(tiny_guest_run(&g), PORT_SPIN);
    ck_assert(!tiny_guest_saw_msi(&g, 20));

    /* through the irqfd, no userspace on the way */
    msix_notify(d, 1);
    ck_assert(tiny_guest_saw_msi(&g, 20000));
    ck_assert(!tiny_guest_saw_msi(&g, 20));

    /* masked: nothing arrives, the PBA says pending */
    io_dispatch_write(AS_MMIO, bar + 28, 4, 1);
    msix_notify(d, 1);
    ck_assert(!tiny_guest_saw_msi(&g, 50));
    io_dispatch_read(AS_MMIO, bar + 0x800, 4, &pba);
    ck_assert_uint_eq(pba, 2);
    /* unmasked: delivered once */
    io_dispatch_write(AS_MMIO, bar + 28, 4, 0);
    ck_assert(tiny_guest_saw_msi(&g, 20000));
    ck_assert(!tiny_guest_saw_msi(&g, 20));

    /* the function mask holds it back the same way */
    cfg_write(cap + 2, 2, 0xc000);
    msix_notify(d, 1);
    ck_assert(!tiny_guest_saw_msi(&g, 50));
    cfg_write(cap + 2, 2, 0x8000);
    ck_assert(tiny_guest_saw_msi(&g, 20000));

    /* a rewritten message is followed: to APIC 1, which does not exist */
    io_dispatch_write(AS_MMIO, bar + 16, 4, 0xfee01000);
    msix_notify(d, 1);
    ck_assert(!tiny_guest_saw_msi(&g, 50));
    io_dispatch_write(AS_MMIO, bar + 16, 4, 0xfee00000);
    msix_notify(d, 1);
    ck_assert(tiny_guest_saw_msi(&g, 20000));

    pci_unregister_device(d);
    msix_uninit(d);
    g_free(d);
    tiny_guest_free(&g);
}
END_TEST

static bool intx_cond;

static bool intx_cond_pending(PCIDevice *d)
{
    (void)d;
    return intx_cond;
}

/* IOAPIC pin @pin: level-triggered, fixed, @vector to APIC 0. */
static void ioapic_route_pin(unsigned pin, uint8_t vector)
{
    struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

    ck_assert_int_eq(ioctl(kvm_state.vmfd, KVM_GET_IRQCHIP, &chip), 0);
    chip.chip.ioapic.redirtbl[pin].bits = 0;
    chip.chip.ioapic.redirtbl[pin].fields.vector = vector;
    chip.chip.ioapic.redirtbl[pin].fields.trig_mode = 1;
    ck_assert_int_eq(ioctl(kvm_state.vmfd, KVM_SET_IRQCHIP, &chip), 0);
}

static bool status_interrupt(void)
{
    return pci_bus_config_read(bus, DEVFN, PCI_STATUS, 2) &
           PCI_STATUS_INTERRUPT;
}

static void run_main_loop(void)
{
    while (g_main_context_iteration(NULL, false)) {
        /* until nothing is ready */
    }
}

START_TEST(test_intx_delivery)
{
    PCIDevice *d = g_new0(PCIDevice, 1);
    GError *err = NULL;
    TinyGuest g;

    tiny_guest_init(&g);
    d->config[PCI_INTERRUPT_PIN] = 1;
    d->intx_pending = intx_cond_pending;
    ck_assert(pci_register_device(bus, d, "test-intx", DEVFN, &err));
    ck_assert_uint_eq(d->config[PCI_INTERRUPT_LINE], 11);
    ioapic_route_pin(11, INTX_VECTOR);
    ck_assert(!tiny_guest_saw(&g, PORT_INTX, 20));

    intx_cond = true;
    pci_intx_notify(d);
    ck_assert(tiny_guest_saw(&g, PORT_INTX, 20000));
    ck_assert(status_interrupt());
    /* the guest's EOI dropped the line: no storm, nothing until ... */
    ck_assert(!tiny_guest_saw(&g, PORT_INTX, 20));
    /* ... the main loop sees the resample fd and the condition still true */
    run_main_loop();
    ck_assert(tiny_guest_saw(&g, PORT_INTX, 20000));

    /* the guest reads the device's ISR: condition gone, line stays down */
    intx_cond = false;
    pci_intx_lower(d);
    ck_assert(!status_interrupt());
    ck_assert(!tiny_guest_saw(&g, PORT_INTX, 20));
    run_main_loop();
    ck_assert(!tiny_guest_saw(&g, PORT_INTX, 50));

    /* INTx disable holds it back; enabling lets the pending one through */
    pci_bus_config_write(bus, DEVFN, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE,
                         2);
    intx_cond = true;
    pci_intx_notify(d);
    run_main_loop();
    ck_assert(!tiny_guest_saw(&g, PORT_INTX, 50));
    pci_bus_config_write(bus, DEVFN, PCI_COMMAND, 0, 2);
    ck_assert(tiny_guest_saw(&g, PORT_INTX, 20000));
    intx_cond = false;
    pci_intx_lower(d);

    pci_unregister_device(d);
    g_free(d);
    tiny_guest_free(&g);
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
    tcase_add_test(tc, test_intx_delivery);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
