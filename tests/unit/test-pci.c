/*
 * PCI bus 0 through ports 0xcf8/0xcfc: config space masks, BAR sizing
 * and moving, the reset control register at 0xcf9, INTx sharing, and
 * -device placement; capabilities, BAR ioeventfds and INTx raised from
 * other threads (without KVM).
 */
#include "qemu/osdep.h"
#include <check.h>
#include <sys/eventfd.h>
#include "qemu/main-loop.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/misc/reset-control.h"
#include "hw/pci/pci.h"
#include "hw/pci-host/i440fx.h"
#include "sysemu/reset.h"
#include "sysemu/runstate.h"

#define BELOW_4G    0x80000000ULL
#define ABOVE_4G    0x40000000ULL   /* 64-bit window from 5 GiB */

static int irq_level[24];
static int resets;
static PCIBus *bus;

typedef struct TestDev {
    PCIDevice pci;
    uint64_t last_off;
    uint64_t last_val;
    unsigned accesses;
} TestDev;

static void fake_irq(unsigned gsi, int level)
{
    ck_assert_uint_lt(gsi, 24);
    irq_level[gsi] = level;
}

static void count_reset(void)
{
    resets++;
}

static void setup(void)
{
    static const RunstateHooks hooks = { .reset = count_reset };
    GError *err = NULL;
    ResetControlState *rcr;

    memset(irq_level, 0, sizeof(irq_level));
    resets = 0;
    pc_irq_set_handler(fake_irq);
    runstate_set_hooks(&hooks);
    rcr = reset_control_create(false, &err);
    ck_assert_ptr_nonnull(rcr);
    bus = i440fx_create(BELOW_4G, ABOVE_4G, rcr, &err);
    ck_assert_ptr_null(err);
    ck_assert_ptr_nonnull(bus);
}

static void teardown(void)
{
    int status;

    pci_bus_free(bus);
    bus = NULL;
    qdev_destroy_all();
    while (main_loop_should_exit(&status)) {
        /* drop requests a test left behind */
    }
}

static bool pio_read(uint16_t port, unsigned size, uint64_t *v)
{
    return io_dispatch_read(AS_PIO, port, size, v);
}

static uint64_t in(uint16_t port, unsigned size)
{
    uint64_t v = 0;

    pio_read(port, size, &v);
    return v;
}

static void out(uint16_t port, unsigned size, uint64_t v)
{
    ck_assert(io_dispatch_write(AS_PIO, port, size, v));
}

static void select_reg(int devfn, unsigned off)
{
    out(0xcf8, 4, 0x80000000u | (devfn << 8) | (off & 0xfc));
}

static uint32_t cfg_read(int devfn, unsigned off, unsigned size)
{
    select_reg(devfn, off);
    return in(0xcfc + (off & 3), size);
}

static void cfg_write(int devfn, unsigned off, unsigned size, uint32_t v)
{
    select_reg(devfn, off);
    out(0xcfc + (off & 3), size, v);
}

/* ---- a device with one BAR of each kind ---- */

static uint64_t tdev_read(void *opaque, uint64_t off, unsigned size)
{
    TestDev *t = opaque;

    (void)size;
    t->accesses++;
    t->last_off = off;
    return 0x5a;
}

static void tdev_write(void *opaque, uint64_t off, uint64_t val,
                       unsigned size)
{
    TestDev *t = opaque;

    (void)size;
    t->accesses++;
    t->last_off = off;
    t->last_val = val;
}

static const IORegionOps tdev_ops = { .read = tdev_read, .write = tdev_write };

static TestDev *tdev_new(int devfn, uint8_t pin, bool bars)
{
    TestDev *t = g_new0(TestDev, 1);
    GError *err = NULL;

    pci_config_set_ids(&t->pci, 0x1af4, 0x1042, 1, 0x010000);
    t->pci.config[PCI_INTERRUPT_PIN] = pin;
    ck_assert(pci_register_device(bus, &t->pci, "test-dev", devfn, &err));
    if (bars) {
        ck_assert(pci_register_bar(&t->pci, 0, PCI_BAR_IO, 32, &tdev_ops, t,
                                   &err));
        ck_assert(pci_register_bar(&t->pci, 1, PCI_BAR_MEM32, 0x1000,
                                   &tdev_ops, t, &err));
        ck_assert(pci_register_bar(&t->pci, 2, PCI_BAR_MEM64_PREF, 0x4000,
                                   &tdev_ops, t, &err));
    }
    ck_assert_ptr_null(err);
    return t;
}

static void tdev_free(TestDev *t)
{
    pci_unregister_device(&t->pci);
    g_free(t);
}

/* ---- tests ---- */

START_TEST(test_enumerate)
{
    ck_assert_uint_eq(cfg_read(0, 0, 4), 0x12378086);
    ck_assert_uint_eq(cfg_read(0, 8, 4), 0x06000002);
    ck_assert_uint_eq(cfg_read(0, PCI_HEADER_TYPE, 1), 0);
    ck_assert_uint_eq(cfg_read(0, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
    ck_assert_uint_eq(cfg_read(8, 0, 4), 0x70008086);
    ck_assert_uint_eq(cfg_read(8, 8, 4), 0x06010000);
    ck_assert_uint_eq(cfg_read(8, PCI_HEADER_TYPE, 1), 0x80);
    ck_assert_uint_eq(cfg_read(8, PCI_STATUS, 2), 0x0200);
    ck_assert_uint_eq(cfg_read(8, PIIX_PIRQRC, 4), 0x0b0b0a0a);
    /* Unassigned functions, other buses, and the enable bit clear */
    for (int devfn = 1; devfn < 256; devfn++) {
        if (devfn != 8) {
            ck_assert_uint_eq(cfg_read(devfn, 0, 4), 0xffffffff);
        }
    }
    ck_assert_uint_eq(cfg_read(9, 2, 2), 0xffff);
    ck_assert_uint_eq(cfg_read(9, 3, 1), 0xff);
    out(0xcf8, 4, 0x80010000);
    ck_assert_uint_eq(in(0xcfc, 4), 0xffffffff);
    out(0xcf8, 4, 0x00000000);
    ck_assert_uint_eq(in(0xcfc, 4), 0xffffffff);
    /* CONFIG_ADDRESS reads back; sub-dword writes to it are ignored */
    out(0xcf8, 4, 0x80000808);
    ck_assert_uint_eq(in(0xcf8, 4), 0x80000808);
    out(0xcf8, 2, 0);
    out(0xcfa, 2, 0x1234);
    ck_assert_uint_eq(in(0xcf8, 4), 0x80000808);
    ck_assert_uint_eq(in(0xcfa, 2), 0x8000);
    /* Byte and word reads of CONFIG_DATA at every offset */
    ck_assert_uint_eq(cfg_read(0, 1, 1), 0x80);
    ck_assert_uint_eq(cfg_read(0, 2, 2), 0x1237);
    ck_assert_uint_eq(cfg_read(0, 3, 1), 0x12);
    ck_assert_uint_eq(cfg_read(0, 0xb, 1), 0x06);
    /* A dword straddling the end of CONFIG_DATA */
    select_reg(0, 0);
    ck_assert_uint_eq(in(0xcfe, 4) & 0xffff, 0x1237);
}
END_TEST

START_TEST(test_masks)
{
    TestDev *t = tdev_new(-1, 1, false);
    int devfn = t->pci.devfn;

    /* identity registers are read-only */
    cfg_write(0, 0, 4, 0xffffffff);
    cfg_write(0, 8, 4, 0xffffffff);
    cfg_write(0, PCI_HEADER_TYPE, 1, 0xff);
    ck_assert_uint_eq(cfg_read(0, 0, 4), 0x12378086);
    ck_assert_uint_eq(cfg_read(0, 8, 4), 0x06000002);
    ck_assert_uint_eq(cfg_read(0, PCI_HEADER_TYPE, 1), 0);
    cfg_write(8, PCI_SUBSYSTEM_VENDOR_ID, 4, 0);
    ck_assert_uint_eq(cfg_read(8, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001af4);
    /* command: only the implemented bits */
    cfg_write(devfn, PCI_COMMAND, 2, 0xffff);
    ck_assert_uint_eq(cfg_read(devfn, PCI_COMMAND, 2), 0x0547);
    cfg_write(devfn, PCI_COMMAND, 2, 0);
    ck_assert_uint_eq(cfg_read(devfn, PCI_COMMAND, 2), 0);
    /* status: error bits are write-one-to-clear, the rest read-only */
    pci_set_word(t->pci.config + PCI_STATUS, 0xf900 | PCI_STATUS_CAP_LIST);
    cfg_write(devfn, PCI_STATUS, 2, 0x8100 | PCI_STATUS_CAP_LIST);
    ck_assert_uint_eq(cfg_read(devfn, PCI_STATUS, 2),
                      0x7800 | PCI_STATUS_CAP_LIST);
    /* interrupt line writable, pin not; line set to the _PRT's GSI */
    ck_assert_uint_eq(cfg_read(devfn, PCI_INTERRUPT_LINE, 1), 10);
    cfg_write(devfn, PCI_INTERRUPT_LINE, 2, 0x0405);
    ck_assert_uint_eq(cfg_read(devfn, PCI_INTERRUPT_LINE, 2), 0x0105);
    /* cache line size, not latency timer (as QEMU); device-specific */
    cfg_write(devfn, PCI_CACHE_LINE_SIZE, 2, 0x4010);
    ck_assert_uint_eq(cfg_read(devfn, PCI_CACHE_LINE_SIZE, 2), 0x0010);
    cfg_write(devfn, 0xfd, 1, 0x77);
    ck_assert_uint_eq(cfg_read(devfn, 0xfc, 4), 0x00007700);
    /* expansion ROM and capability pointer absent */
    cfg_write(devfn, PCI_ROM_ADDRESS, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(devfn, PCI_ROM_ADDRESS, 4), 0);
    /* out-of-range accesses through the C API do nothing */
    pci_bus_config_write(bus, devfn, 0xff, 0xffffffff, 4);
    ck_assert_uint_eq(pci_bus_config_read(bus, devfn, 0xfe, 4), 0xffffffff);
    ck_assert_uint_eq(pci_bus_config_read(bus, devfn, 0x100, 1), 0xff);
    ck_assert_uint_eq(pci_bus_config_read(bus, devfn, 0, 3), 0xffffff);
    ck_assert_uint_eq(pci_bus_config_read(bus, 256, 0, 4), 0xffffffff);
    ck_assert_uint_eq(cfg_read(devfn, 0xfc, 4), 0x00007700);
    tdev_free(t);
}
END_TEST

START_TEST(test_bars)
{
    TestDev *t = tdev_new(-1, 1, true);
    int d = t->pci.devfn;
    uint64_t v;

    ck_assert_int_eq(d, PCI_DEVFN(2, 0));
    /* qvmm's assignment */
    ck_assert_uint_eq(cfg_read(d, 0x10, 4), 0xc001);
    ck_assert_uint_eq(cfg_read(d, 0x14, 4), 0xfdfff000);
    ck_assert_uint_eq(cfg_read(d, 0x18, 4), 0x4000000c);
    ck_assert_uint_eq(cfg_read(d, 0x1c, 4), 1);
    ck_assert_uint_eq(cfg_read(d, PCI_COMMAND, 2), 3);
    ck_assert_uint_eq(in(0xc004, 1), 0x5a);
    ck_assert_uint_eq(t->last_off, 4);
    ck_assert(io_dispatch_write(AS_MMIO, 0xfdfff010, 4, 0x99));
    ck_assert_uint_eq(t->last_off, 0x10);
    ck_assert_uint_eq(t->last_val, 0x99);
    ck_assert(io_dispatch_read(AS_MMIO, 0x140003ff8ULL, 8, &v));
    ck_assert_uint_eq(t->last_off, 0x3ff8);

    /* sizing: all-ones read back as ~(size - 1) with the type bits */
    cfg_write(d, PCI_COMMAND, 2, 0);
    ck_assert(!pio_read(0xc004, 1, &v));
    ck_assert(!io_dispatch_read(AS_MMIO, 0xfdfff000, 4, &v));
    for (unsigned i = 0; i < 4; i++) {
        cfg_write(d, 0x10 + 4 * i, 4, 0xffffffff);
    }
    ck_assert_uint_eq(cfg_read(d, 0x10, 4), 0xffffffe1);
    ck_assert_uint_eq(cfg_read(d, 0x14, 4), 0xfffff000);
    ck_assert_uint_eq(cfg_read(d, 0x18, 4), 0xffffc00c);
    ck_assert_uint_eq(cfg_read(d, 0x1c, 4), 0xffffffff);
    ck_assert_uint_eq(cfg_read(d, 0x20, 4), 0);     /* unused BAR */
    cfg_write(d, 0x20, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(d, 0x20, 4), 0);

    /* the guest moves them; decoding follows the command register */
    cfg_write(d, 0x10, 4, 0xd040);
    cfg_write(d, 0x14, 4, 0xc0000000);
    cfg_write(d, 0x18, 4, 0x00010000);
    cfg_write(d, 0x1c, 4, 0x2);
    ck_assert(!pio_read(0xd044, 1, &v));
    cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_IO);
    ck_assert_uint_eq(in(0xd044, 1), 0x5a);
    ck_assert(!pio_read(0xc004, 1, &v));
    ck_assert(!io_dispatch_read(AS_MMIO, 0xc0000000, 4, &v));
    cfg_write(d, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    ck_assert(io_dispatch_read(AS_MMIO, 0xc0000ffc, 4, &v));
    ck_assert(io_dispatch_read(AS_MMIO, 0x200010000ULL, 4, &v));
    ck_assert(!io_dispatch_read(AS_MMIO, 0xfdfff000, 4, &v));
    /* move while decoding */
    cfg_write(d, 0x10, 4, 0xe000);
    ck_assert(!pio_read(0xd044, 1, &v));
    ck_assert_uint_eq(in(0xe01f, 1), 0x5a);
    ck_assert_uint_eq(t->last_off, 0x1f);
    /* low bits of a BAR are never written */
    cfg_write(d, 0x10, 4, 0xe01f);
    ck_assert_uint_eq(cfg_read(d, 0x10, 4), 0xe001);

    /* invalid places decode nothing, and do not hurt the host */
    cfg_write(d, 0x10, 4, 0);
    ck_assert(!pio_read(0xe000, 1, &v));
    cfg_write(d, 0x10, 4, 0xffe0);          /* last 32 bytes: fine */
    ck_assert_uint_eq(in(0xffff, 1), 0x5a);
    cfg_write(d, 0x10, 4, 0x10000);         /* past 64 KiB */
    ck_assert(!pio_read(0x0000, 1, &v));
    cfg_write(d, 0x10, 4, 0xce0);           /* onto 0xcf8: refused */
    ck_assert_uint_eq(cfg_read(d, 0x10, 4), 0xce1);
    ck_assert(!pio_read(0xce0, 1, &v));
    ck_assert_uint_eq(cfg_read(0, 0, 4), 0x12378086);
    cfg_write(d, 0x10, 4, 0xd000);
    ck_assert_uint_eq(in(0xd000, 1), 0x5a);
    cfg_write(d, 0x18, 4, 0xfffff000);      /* 64-bit BAR past 2^52 */
    cfg_write(d, 0x1c, 4, 0xffffffff);
    ck_assert(!io_dispatch_read(AS_MMIO, 0x200010000ULL, 4, &v));
    cfg_write(d, 0x14, 4, 0);
    ck_assert(!io_dispatch_read(AS_MMIO, 0xc0000000, 4, &v));

    /* a machine reset puts back what qvmm assigned */
    qemu_devices_reset();
    ck_assert_uint_eq(cfg_read(d, 0x10, 4), 0xc001);
    ck_assert_uint_eq(cfg_read(d, 0x18, 4), 0x4000000c);
    ck_assert_uint_eq(cfg_read(d, 0x1c, 4), 1);
    ck_assert_uint_eq(cfg_read(d, PCI_COMMAND, 2), 3);
    ck_assert_uint_eq(in(0xc000, 1), 0x5a);
    ck_assert(io_dispatch_read(AS_MMIO, 0xfdfff000, 4, &v));
    ck_assert(io_dispatch_read(AS_MMIO, 0x140000000ULL, 4, &v));
    ck_assert(!pio_read(0xd000, 1, &v));

    tdev_free(t);
    ck_assert(!pio_read(0xc000, 1, &v));
    ck_assert(!io_dispatch_read(AS_MMIO, 0xfdfff000, 4, &v));
}
END_TEST

START_TEST(test_bar_errors)
{
    TestDev *t = tdev_new(-1, 0, false);
    GError *err = NULL;

    ck_assert(!pci_register_bar(&t->pci, 0, PCI_BAR_IO, 24, &tdev_ops, t,
                                &err));
    ck_assert_str_eq(err->message, "PCI: invalid BAR 0 (24 bytes) for "
                     "test-dev");
    g_clear_error(&err);
    ck_assert(!pci_register_bar(&t->pci, 5, PCI_BAR_MEM64_PREF, 4096,
                                &tdev_ops, t, &err));
    g_clear_error(&err);
    ck_assert(!pci_register_bar(&t->pci, 0, PCI_BAR_IO, 512, &tdev_ops, t,
                                &err));
    g_clear_error(&err);
    /* the I/O window fills up */
    for (unsigned i = 0; i < 3; i++) {
        ck_assert(pci_register_bar(&t->pci, i, PCI_BAR_IO, 256, &tdev_ops, t,
                                   &err));
    }
    ck_assert_uint_eq(cfg_read(t->pci.devfn, 0x18, 4), 0xc201);
    tdev_free(t);
}
END_TEST

START_TEST(test_cf9)
{
    int status;

    out(0xcf8, 4, 0x80000000);
    out(0xcf9, 1, 0x02);
    ck_assert_uint_eq(in(0xcf9, 1), 0x02);
    ck_assert_uint_eq(in(0xcf8, 4), 0x80000000);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 0);
    out(0xcf9, 1, 0x06);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 1);
    /* a dword write at 0xcf8 is CONFIG_ADDRESS, not a reset */
    out(0xcf8, 4, 0x80000400);
    main_loop_should_exit(&status);
    ck_assert_int_eq(resets, 1);
    ck_assert_uint_eq(in(0xcf8, 4), 0x80000400);
}
END_TEST

START_TEST(test_intx)
{
    TestDev *a = tdev_new(PCI_DEVFN(2, 0), 1, false);
    TestDev *b = tdev_new(PCI_DEVFN(6, 0), 1, false);   /* also GSI 10 */
    TestDev *c = tdev_new(PCI_DEVFN(3, 0), 1, false);   /* GSI 11 */
    TestDev *n = tdev_new(PCI_DEVFN(4, 0), 0, false);   /* no pin */

    ck_assert_uint_eq(a->pci.config[PCI_INTERRUPT_LINE], 10);
    ck_assert_uint_eq(b->pci.config[PCI_INTERRUPT_LINE], 10);
    ck_assert_uint_eq(c->pci.config[PCI_INTERRUPT_LINE], 11);
    ck_assert_uint_eq(n->pci.config[PCI_INTERRUPT_LINE], 0);

    pci_set_irq(&a->pci, 1);
    ck_assert_int_eq(irq_level[10], 1);
    ck_assert_uint_eq(cfg_read(a->pci.devfn, PCI_STATUS, 2) &
                      PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
    pci_set_irq(&b->pci, 1);
    pci_set_irq(&a->pci, 1);
    pci_set_irq(&a->pci, 0);
    ck_assert_int_eq(irq_level[10], 1);
    pci_set_irq(&b->pci, 0);
    ck_assert_int_eq(irq_level[10], 0);
    ck_assert_uint_eq(cfg_read(a->pci.devfn, PCI_STATUS, 2), 0);

    pci_set_irq(&c->pci, 1);
    ck_assert_int_eq(irq_level[11], 1);
    ck_assert_int_eq(irq_level[10], 0);
    /* INTx disable masks the line but keeps the status bit */
    cfg_write(c->pci.devfn, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    ck_assert_int_eq(irq_level[11], 0);
    ck_assert_uint_eq(cfg_read(c->pci.devfn, PCI_STATUS, 2),
                      PCI_STATUS_INTERRUPT);
    cfg_write(c->pci.devfn, PCI_COMMAND, 2, 0);
    ck_assert_int_eq(irq_level[11], 1);
    /* reset and unplug drop the line */
    qemu_devices_reset();
    ck_assert_int_eq(irq_level[11], 0);
    pci_set_irq(&c->pci, 1);
    pci_set_irq(&n->pci, 1);
    tdev_free(c);
    ck_assert_int_eq(irq_level[11], 0);
    for (unsigned i = 0; i < 24; i++) {
        ck_assert_int_eq(irq_level[i], 0);
    }

    /* the _PRT's routing */
    ck_assert_uint_eq(pci_slot_pin_gsi(1, 0), 9);
    ck_assert_uint_eq(pci_slot_pin_gsi(1, 1), 10);
    ck_assert_uint_eq(pci_slot_pin_gsi(2, 0), 10);
    ck_assert_uint_eq(pci_slot_pin_gsi(3, 0), 11);
    ck_assert_uint_eq(pci_slot_pin_gsi(4, 0), 11);
    ck_assert_uint_eq(pci_slot_pin_gsi(5, 0), 10);
    ck_assert_uint_eq(pci_slot_pin_gsi(5, 3), 11);
    tdev_free(a);
    tdev_free(b);
    tdev_free(n);
}
END_TEST

START_TEST(test_placement)
{
    static const char *const bad[] = {
        "20", "3.8", "x", "3.", ".1", "3.1.2", "-1", "3 ", "3.-1",
    };
    GError *err = NULL;
    TestDev *t;
    int devfn;

    ck_assert(pci_parse_devfn(NULL, "t", &devfn, &err));
    ck_assert_int_eq(devfn, -1);
    ck_assert(pci_parse_devfn("3", "t", &devfn, &err));
    ck_assert_int_eq(devfn, PCI_DEVFN(3, 0));
    ck_assert(pci_parse_devfn("1f.7", "t", &devfn, &err));
    ck_assert_int_eq(devfn, 0xff);
    ck_assert(pci_parse_devfn("0A.2", "t", &devfn, &err));
    ck_assert_int_eq(devfn, PCI_DEVFN(10, 2));
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *msg = g_strdup_printf(
            "Property 'virtio-blk-pci.addr' doesn't take value '%s'", bad[i]);

        ck_assert_msg(!pci_parse_devfn(bad[i], "virtio-blk-pci", &devfn,
                                       &err), "%s", bad[i]);
        ck_assert_str_eq(err->message, msg);
        g_clear_error(&err);
    }

    t = g_new0(TestDev, 1);
    ck_assert(!pci_register_device(bus, &t->pci, "test-dev", 0, &err));
    ck_assert_str_eq(err->message, "PCI: slot 0 function 0 not available "
                     "for test-dev, in use by i440FX,id=(null)");
    g_clear_error(&err);
    ck_assert(!pci_register_device(bus, &t->pci, "test-dev", 8, &err));
    ck_assert_str_eq(err->message, "PCI: slot 1 function 0 not available "
                     "for test-dev, in use by PIIX3,id=(null)");
    g_clear_error(&err);
    g_free(t);

    /* first free slot, function 0, from the bottom; then none left */
    {
        TestDev *devs[PCI_SLOT_MAX];

        devs[0] = tdev_new(PCI_DEVFN(3, 1), 0, false);
        for (int slot = 2; slot < PCI_SLOT_MAX; slot++) {
            devs[slot] = tdev_new(-1, 0, false);
            ck_assert_int_eq(devs[slot]->pci.devfn, PCI_DEVFN(slot, 0));
        }
        t = g_new0(TestDev, 1);
        ck_assert(!pci_register_device(bus, &t->pci, "test-dev", -1, &err));
        ck_assert_str_eq(err->message, "PCI: no slot/function available for "
                         "test-dev, all in use or reserved");
        g_clear_error(&err);
        g_free(t);
        tdev_free(devs[0]);
        for (int slot = 2; slot < PCI_SLOT_MAX; slot++) {
            tdev_free(devs[slot]);
        }
    }
    ck_assert_uint_eq(cfg_read(PCI_DEVFN(2, 0), 0, 4), 0xffffffff);
}
END_TEST

/* Run what the main loop has ready (eventfd sources), as vl.c would. */
static void run_main_loop(void)
{
    while (g_main_context_iteration(NULL, false)) {
        /* until nothing is ready */
    }
}

START_TEST(test_capabilities)
{
    TestDev *t = tdev_new(PCI_DEVFN(3, 0), 1, false);
    GError *err = NULL;

    ck_assert_uint_eq(cfg_read(t->pci.devfn, PCI_STATUS, 2) &
                      PCI_STATUS_CAP_LIST, 0);
    ck_assert_uint_eq(pci_add_capability(&t->pci, PCI_CAP_ID_VNDR, 0, 16,
                                         &err), 0x40);
    ck_assert_uint_eq(pci_add_capability(&t->pci, 0x11, 0, 12, &err), 0x50);
    /* an explicit place; the first free run that fits skips it */
    ck_assert_uint_eq(pci_add_capability(&t->pci, 0x05, 0x60, 6, &err),
                      0x60);
    ck_assert_uint_eq(pci_add_capability(&t->pci, PCI_CAP_ID_VNDR, 0, 8,
                                         &err), 0x68);
    ck_assert_ptr_null(err);
    ck_assert_uint_eq(cfg_read(t->pci.devfn, PCI_STATUS, 2) &
                      PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
    /* The guest walks the newest first, as QEMU links them. */
    ck_assert_uint_eq(cfg_read(t->pci.devfn, PCI_CAPABILITY_LIST, 1), 0x68);
    ck_assert_uint_eq(cfg_read(t->pci.devfn, 0x68, 2), 0x6009);
    ck_assert_uint_eq(cfg_read(t->pci.devfn, 0x60, 2), 0x5005);
    ck_assert_uint_eq(cfg_read(t->pci.devfn, 0x50, 2), 0x4011);
    ck_assert_uint_eq(cfg_read(t->pci.devfn, 0x40, 2), 0x0009);
    /* ids and links are read-only; so is the body until the caller says */
    cfg_write(t->pci.devfn, 0x40, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(t->pci.devfn, 0x40, 4), 0x0009);
    /* bytes after the capabilities stay writable, as before */
    cfg_write(t->pci.devfn, 0xf0, 4, 0x12345678);
    ck_assert_uint_eq(cfg_read(t->pci.devfn, 0xf0, 4), 0x12345678);

    ck_assert_uint_eq(pci_add_capability(&t->pci, 0x10, 0x4c, 8, &err), 0);
    ck_assert_str_eq(err->message, "0000:00:00:03.0 Attempt to add PCI "
                     "capability 10 at offset 4c overlaps existing "
                     "capability 9 at offset 40");
    g_clear_error(&err);
    ck_assert_uint_eq(pci_add_capability(&t->pci, 0x10, 0x64, 8, &err), 0);
    ck_assert_str_eq(err->message, "0000:00:00:03.0 Attempt to add PCI "
                     "capability 10 at offset 64 overlaps existing "
                     "capability 5 at offset 60");
    g_clear_error(&err);
    ck_assert_uint_eq(pci_add_capability(&t->pci, 0x10, 0x3c, 4, &err), 0);
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    ck_assert_uint_eq(pci_add_capability(&t->pci, 0x10, 0xfc, 8, &err), 0);
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    ck_assert_uint_eq(pci_add_capability(&t->pci, 0x10, 0, 200, &err), 0);
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    /* the list is what the reset state holds */
    cfg_write(t->pci.devfn, PCI_COMMAND, 2, 0);
    qemu_devices_reset();
    ck_assert_uint_eq(cfg_read(t->pci.devfn, PCI_CAPABILITY_LIST, 1), 0x68);
    tdev_free(t);
}
END_TEST

static bool eventfd_signalled(int fd)
{
    eventfd_t v;

    return eventfd_read(fd, &v) == 0 && v > 0;
}

START_TEST(test_ioeventfd)
{
    TestDev *t = tdev_new(PCI_DEVFN(3, 0), 1, true);
    int mfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int pfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    GError *err = NULL;
    uint64_t mem = t->pci.bars[1].addr, io = t->pci.bars[0].addr;
    uint64_t v;

    ck_assert(pci_bar_add_eventfd(&t->pci, 1, 0x10, mfd, &err));
    ck_assert(pci_bar_add_eventfd(&t->pci, 0, 4, pfd, &err));
    ck_assert_ptr_null(err);
    ck_assert(!pci_bar_add_eventfd(&t->pci, 1, 0x10, mfd, &err));
    g_clear_error(&err);
    ck_assert(!pci_bar_add_eventfd(&t->pci, 1, 0x1000, mfd, &err));
    g_clear_error(&err);
    ck_assert(!pci_bar_add_eventfd(&t->pci, 3, 0, mfd, &err));
    g_clear_error(&err);

    /* any size at the offset signals and never reaches the device */
    ck_assert(io_dispatch_write(AS_MMIO, mem + 0x10, 2, 7));
    ck_assert(eventfd_signalled(mfd));
    ck_assert_uint_eq(t->accesses, 0);
    ck_assert(io_dispatch_write(AS_MMIO, mem + 0x10, 4, 7));
    ck_assert(eventfd_signalled(mfd));
    out(io + 4, 2, 3);
    ck_assert(eventfd_signalled(pfd));
    ck_assert_uint_eq(t->accesses, 0);
    /* other offsets and reads still do */
    ck_assert(io_dispatch_write(AS_MMIO, mem + 0x14, 4, 9));
    ck_assert_uint_eq(t->accesses, 1);
    ck_assert(io_dispatch_read(AS_MMIO, mem + 0x10, 4, &v));
    ck_assert_uint_eq(t->accesses, 2);
    ck_assert(!eventfd_signalled(mfd));

    /* the guest moves the BAR: the new address signals, the old is gone */
    cfg_write(t->pci.devfn, PCI_BASE_ADDRESS_0 + 4, 4, 0x10000000);
    ck_assert(!io_dispatch_write(AS_MMIO, mem + 0x10, 4, 7));
    ck_assert(!eventfd_signalled(mfd));
    ck_assert(io_dispatch_write(AS_MMIO, 0x10000010, 4, 7));
    ck_assert(eventfd_signalled(mfd));
    /* decoding off and on again keeps it */
    cfg_write(t->pci.devfn, PCI_COMMAND, 2, PCI_COMMAND_IO);
    ck_assert(!io_dispatch_write(AS_MMIO, 0x10000010, 4, 7));
    cfg_write(t->pci.devfn, PCI_COMMAND, 2,
              PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    ck_assert(io_dispatch_write(AS_MMIO, 0x10000010, 4, 7));
    ck_assert(eventfd_signalled(mfd));
    ck_assert_uint_eq(t->accesses, 2);

    /* deleted: writes reach the device again */
    pci_bar_del_eventfd(&t->pci, 1, 0x10);
    ck_assert(io_dispatch_write(AS_MMIO, 0x10000010, 4, 7));
    ck_assert(!eventfd_signalled(mfd));
    ck_assert_uint_eq(t->accesses, 3);
    ck_assert_uint_eq(t->last_off, 0x10);
    tdev_free(t);
    close(mfd);
    close(pfd);
}
END_TEST

static bool cond_pending;

static bool test_intx_pending(PCIDevice *d)
{
    (void)d;
    return cond_pending;
}

static gpointer notify_thread(gpointer opaque)
{
    pci_intx_notify(opaque);
    return NULL;
}

START_TEST(test_intx_notify)
{
    TestDev *a = tdev_new(PCI_DEVFN(2, 0), 1, false);   /* GSI 10 */
    TestDev *b = tdev_new(PCI_DEVFN(6, 0), 1, false);   /* GSI 10 too */
    GThread *th;

    a->pci.intx_pending = test_intx_pending;
    cond_pending = true;
    /* from another thread; the main loop raises the line */
    th = g_thread_new("notify", notify_thread, &a->pci);
    g_thread_join(th);
    ck_assert_int_eq(irq_level[10], 0);
    run_main_loop();
    ck_assert_int_eq(irq_level[10], 1);
    ck_assert_uint_eq(cfg_read(a->pci.devfn, PCI_STATUS, 2) &
                      PCI_STATUS_INTERRUPT, PCI_STATUS_INTERRUPT);
    /* shared with a device using pci_set_irq */
    pci_set_irq(&b->pci, 1);
    cond_pending = false;
    pci_intx_lower(&a->pci);
    ck_assert_int_eq(irq_level[10], 1);
    pci_set_irq(&b->pci, 0);
    ck_assert_int_eq(irq_level[10], 0);
    ck_assert_uint_eq(cfg_read(a->pci.devfn, PCI_STATUS, 2), 0);

    /* a notification the device took back before the main loop ran */
    cond_pending = true;
    pci_intx_notify(&a->pci);
    cond_pending = false;
    pci_intx_lower(&a->pci);
    run_main_loop();
    ck_assert_int_eq(irq_level[10], 0);

    /* INTx disable holds the line down; re-enabling raises it */
    cfg_write(a->pci.devfn, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
    cond_pending = true;
    pci_intx_notify(&a->pci);
    run_main_loop();
    ck_assert_int_eq(irq_level[10], 0);
    cfg_write(a->pci.devfn, PCI_COMMAND, 2, 0);
    ck_assert_int_eq(irq_level[10], 1);

    /* system reset drops it and forgets what was not yet delivered */
    qemu_devices_reset();
    ck_assert_int_eq(irq_level[10], 0);
    pci_intx_notify(&a->pci);
    qemu_devices_reset();
    run_main_loop();
    ck_assert_int_eq(irq_level[10], 0);
    /* ... and works afterwards */
    pci_intx_notify(&a->pci);
    run_main_loop();
    ck_assert_int_eq(irq_level[10], 1);
    /* unplug drops the line and the notifier */
    tdev_free(a);
    ck_assert_int_eq(irq_level[10], 0);
    tdev_free(b);
}
END_TEST

static void add(Suite *s, const char *name, const TTest *t)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

int main(void)
{
    Suite *s = suite_create("pci");
    SRunner *sr;
    int failed;

    qemu_init_main_loop();
    add(s, "enumerate", test_enumerate);
    add(s, "masks", test_masks);
    add(s, "bars", test_bars);
    add(s, "bar-errors", test_bar_errors);
    add(s, "cf9", test_cf9);
    add(s, "intx", test_intx);
    add(s, "placement", test_placement);
    add(s, "capabilities", test_capabilities);
    add(s, "ioeventfd", test_ioeventfd);
    add(s, "intx-notify", test_intx_notify);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
