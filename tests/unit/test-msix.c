/*
 * MSI-X without KVM (hw/pci/msix.c): the capability and BAR layout, the
 * table and PBA as the guest sees them, and delivery as writes of the
 * message into guest RAM, with vector and function masks honoured.
 */
#include "qemu/osdep.h"
#include <check.h>
#include "qemu/main-loop.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/misc/reset-control.h"
#include "hw/pci/pci.h"
#include "hw/pci/msix.h"
#include "hw/pci-host/i440fx.h"
#include "sysemu/reset.h"
#include "sysemu/runstate.h"

#define BELOW_4G    0x80000000ULL
#define ABOVE_4G    0x40000000ULL
#define RAM_SIZE    0x10000
#define DEVFN       PCI_DEVFN(3, 0)
#define MSIX_BAR    1

/* Where the tests point vectors: RAM, as QEMU's qtests do. */
#define MSG_ADDR(v) (0x1000 + 4 * (v))

static uint8_t *ram;
static PCIBus *bus;
static PCIDevice *dev;
static uint64_t bar;            /* the MSI-X BAR's address */
static uint8_t cap;             /* the capability's offset */
static int irq_level[24];

static void fake_irq(unsigned gsi, int level)
{
    irq_level[gsi] = level;
}

static void setup_bus(void)
{
    GError *err = NULL;
    ResetControlState *rcr = reset_control_create(false, &err);

    memset(irq_level, 0, sizeof(irq_level));
    pc_irq_set_handler(fake_irq);
    ram = g_malloc0(RAM_SIZE);
    guest_ram_reset_blocks();
    guest_ram_add_block(0, RAM_SIZE, ram, "ram");
    bus = i440fx_create(BELOW_4G, ABOVE_4G, rcr, &err);
    ck_assert_ptr_null(err);
}

static PCIDevice *msix_dev_new(int devfn, unsigned nvectors)
{
    PCIDevice *d = g_new0(PCIDevice, 1);
    GError *err = NULL;

    pci_config_set_ids(d, 0x1af4, 0x1041, 1, 0x020000);
    d->config[PCI_INTERRUPT_PIN] = 1;
    ck_assert(pci_register_device(bus, d, "test-msix", devfn, &err));
    ck_assert(msix_init_exclusive_bar(d, nvectors, MSIX_BAR, &err));
    ck_assert_ptr_null(err);
    return d;
}

static void msix_dev_free(PCIDevice *d)
{
    pci_unregister_device(d);
    msix_uninit(d);
    g_free(d);
}

static uint32_t cfg_read(unsigned off, unsigned size)
{
    return pci_bus_config_read(bus, DEVFN, off, size);
}

static void cfg_write(unsigned off, unsigned size, uint32_t v)
{
    pci_bus_config_write(bus, DEVFN, off, v, size);
}

static uint64_t mmio_read(uint64_t addr, unsigned size)
{
    uint64_t v = ~0ULL;

    ck_assert(io_dispatch_read(AS_MMIO, addr, size, &v));
    return v;
}

static void mmio_write(uint64_t addr, unsigned size, uint64_t v)
{
    ck_assert(io_dispatch_write(AS_MMIO, addr, size, v));
}

static uint64_t entry_addr(unsigned v, unsigned reg)
{
    return bar + 16 * v + reg;
}

static uint32_t ram_long(uint64_t gpa)
{
    return pci_get_long(ram + gpa);
}

static void run_main_loop(void)
{
    while (g_main_context_iteration(NULL, false)) {
        /* until nothing is ready */
    }
}

static void setup(void)
{
    setup_bus();
    dev = msix_dev_new(DEVFN, 4);
    bar = dev->bars[MSIX_BAR].addr;
    cap = cfg_read(PCI_CAPABILITY_LIST, 1);
}

static void teardown(void)
{
    msix_dev_free(dev);
    pci_bus_free(bus);
    bus = NULL;
    qdev_destroy_all();
    guest_ram_reset_blocks();
    g_free(ram);
}

/* Program vector @v with its own RAM address and data 0x100 + v. */
static void program(unsigned v, bool masked)
{
    mmio_write(entry_addr(v, 0), 4, MSG_ADDR(v));
    mmio_write(entry_addr(v, 4), 4, 0);
    mmio_write(entry_addr(v, 8), 4, 0x100 + v);
    mmio_write(entry_addr(v, 12), 4, masked);
}

static void enable(bool on, bool fmask)
{
    cfg_write(cap + 2, 2, (on ? 0x8000 : 0) | (fmask ? 0x4000 : 0));
}

static uint32_t pba(void)
{
    return mmio_read(bar + 0x800, 4);
}

START_TEST(test_capability)
{
    ck_assert_uint_eq(cfg_read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST,
                      PCI_STATUS_CAP_LIST);
    ck_assert_uint_eq(cap, 0x40);
    ck_assert_uint_eq(cfg_read(cap, 1), PCI_CAP_ID_MSIX);
    ck_assert_uint_eq(cfg_read(cap + 1, 1), 0);
    ck_assert_uint_eq(cfg_read(cap + 2, 2), 3);            /* 4 vectors */
    ck_assert_uint_eq(cfg_read(cap + 4, 4), MSIX_BAR);     /* table at 0 */
    ck_assert_uint_eq(cfg_read(cap + 8, 4), 0x800 | MSIX_BAR);
    /* a 4 KiB 32-bit memory BAR */
    ck_assert_uint_eq(dev->bars[MSIX_BAR].type, PCI_BAR_MEM32);
    ck_assert_uint_eq(dev->bars[MSIX_BAR].size, 4096);
    ck_assert_uint_eq(bar & 0xfff, 0);
    ck_assert_uint_lt(bar, 0x100000000ULL);
    /* only enable and function mask are writable */
    cfg_write(cap, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(cap, 4), 0xc0030011);
    cfg_write(cap + 4, 4, 0xffffffff);
    cfg_write(cap + 8, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_read(cap + 4, 4), MSIX_BAR);
    ck_assert_uint_eq(cfg_read(cap + 8, 4), 0x800 | MSIX_BAR);
    ck_assert(!msix_enabled(dev));
    cfg_write(cap + 2, 2, 0x8000);
    ck_assert(msix_enabled(dev));
    cfg_write(cap + 3, 1, 0xc0);
    ck_assert(!msix_enabled(dev));
    ck_assert_uint_eq(msix_nr_vectors(dev), 4);
}
END_TEST

/* QEMU's layout for larger tables: PBA right after the table. */
START_TEST(test_layout)
{
    static const struct {
        unsigned n;
        uint32_t pba;
        uint64_t size;
    } cases[] = {
        { 1, 0x800, 4096 }, { 128, 0x800, 4096 }, { 129, 0x810, 4096 },
        { 200, 0xc80, 4096 }, { 255, 0xff0, 8192 }, { 300, 0x12c0, 8192 },
        { 2048, 0x8000, 0x10000 },
    };
    GError *err = NULL;
    PCIDevice bad = { 0 };

    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        PCIDevice *d = msix_dev_new(PCI_DEVFN(4, 0), cases[i].n);
        uint8_t c = d->config[PCI_CAPABILITY_LIST];

        ck_assert_uint_eq(pci_get_word(d->config + c + 2), cases[i].n - 1);
        ck_assert_uint_eq(pci_get_long(d->config + c + 8),
                          cases[i].pba | MSIX_BAR);
        ck_assert_uint_eq(d->bars[MSIX_BAR].size, cases[i].size);
        msix_dev_free(d);
    }
    ck_assert(pci_register_device(bus, &bad, "bad", PCI_DEVFN(5, 0), &err));
    ck_assert(!msix_init_exclusive_bar(&bad, 0, 1, &err));
    g_clear_error(&err);
    ck_assert(!msix_init_exclusive_bar(&bad, 2049, 1, &err));
    g_clear_error(&err);
    ck_assert(!msix_init_exclusive_bar(&bad, 4, 6, &err));
    g_clear_error(&err);
    ck_assert_ptr_null(bad.msix);
    pci_unregister_device(&bad);
}
END_TEST

START_TEST(test_table)
{
    /* reset state: all zero but the mask bits */
    for (unsigned v = 0; v < 4; v++) {
        ck_assert_uint_eq(mmio_read(entry_addr(v, 0), 8), 0);
        ck_assert_uint_eq(mmio_read(entry_addr(v, 8), 4), 0);
        ck_assert_uint_eq(mmio_read(entry_addr(v, 12), 4), 1);
    }
    mmio_write(entry_addr(2, 0), 8, 0x12345678fee01000ULL);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 0), 4), 0xfee01000);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 4), 4), 0x12345678);
    mmio_write(entry_addr(2, 8), 8, 0xffffffff00004041ULL);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 8), 8), 0x0000000100004041);
    /* only the mask bit of vector control is writable */
    mmio_write(entry_addr(2, 12), 4, 0xfffffffe);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 12), 4), 0);
    mmio_write(entry_addr(2, 12), 4, 0xffffffff);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 12), 4), 1);
    /* byte, word and unaligned accesses read 0 and write nothing */
    ck_assert_uint_eq(mmio_read(entry_addr(2, 0), 1), 0);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 0), 2), 0);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 4), 8), 0);
    mmio_write(entry_addr(2, 0), 2, 0xffff);
    mmio_write(entry_addr(2, 0), 1, 0xff);
    mmio_write(entry_addr(2, 4), 8, 0);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 0), 4), 0xfee01000);
    ck_assert_uint_eq(mmio_read(entry_addr(2, 4), 4), 0x12345678);
    /* past the table and between table and PBA: reads 0, writes dropped */
    mmio_write(bar + 0x40, 4, 0xffffffff);
    ck_assert_uint_eq(mmio_read(bar + 0x40, 4), 0);
    ck_assert_uint_eq(mmio_read(bar + 0xffc, 4), 0);
    /* the PBA is read-only */
    mmio_write(bar + 0x800, 4, 0xf);
    mmio_write(bar + 0x800, 8, 0xf);
    ck_assert_uint_eq(mmio_read(bar + 0x800, 8), 0);
}
END_TEST

START_TEST(test_delivery)
{
    program(0, false);
    program(1, false);
    enable(true, false);
    msix_notify(dev, 1);
    msix_notify(dev, 7);        /* out of range: ignored */
    ck_assert_uint_eq(ram_long(MSG_ADDR(1)), 0);
    run_main_loop();
    ck_assert_uint_eq(ram_long(MSG_ADDR(1)), 0x101);
    ck_assert_uint_eq(ram_long(MSG_ADDR(0)), 0);
    ck_assert_uint_eq(pba(), 0);
    /* a rewritten message takes effect at once */
    mmio_write(entry_addr(1, 8), 4, 0x2222);
    msix_notify(dev, 1);
    run_main_loop();
    ck_assert_uint_eq(ram_long(MSG_ADDR(1)), 0x2222);
    /* MSI-X takes the line from INTx */
    ck_assert_int_eq(irq_level[pci_slot_pin_gsi(3, 0)], 0);
}
END_TEST

START_TEST(test_vector_mask)
{
    program(2, true);
    enable(true, false);
    /* the PBA shows a notification before the main loop has run */
    msix_notify(dev, 2);
    ck_assert_uint_eq(pba(), 1u << 2);
    msix_notify(dev, 2);
    run_main_loop();
    ck_assert_uint_eq(ram_long(MSG_ADDR(2)), 0);
    ck_assert_uint_eq(pba(), 1u << 2);
    /* unmasking delivers once and clears the bit */
    mmio_write(entry_addr(2, 12), 4, 0);
    ck_assert_uint_eq(ram_long(MSG_ADDR(2)), 0x102);
    ck_assert_uint_eq(pba(), 0);
    pci_set_long(ram + MSG_ADDR(2), 0);
    run_main_loop();
    ck_assert_uint_eq(ram_long(MSG_ADDR(2)), 0);
    /* a notification still in flight when masked becomes pending */
    msix_notify(dev, 2);
    mmio_write(entry_addr(2, 12), 4, 1);
    run_main_loop();
    ck_assert_uint_eq(ram_long(MSG_ADDR(2)), 0);
    ck_assert_uint_eq(pba(), 1u << 2);
    /* writing the entry while masked leaves it pending */
    mmio_write(entry_addr(2, 12), 4, 1);
    mmio_write(entry_addr(2, 8), 4, 0x202);
    ck_assert_uint_eq(pba(), 1u << 2);
    mmio_write(entry_addr(2, 12), 4, 0);
    ck_assert_uint_eq(ram_long(MSG_ADDR(2)), 0x202);
}
END_TEST

START_TEST(test_function_mask)
{
    program(0, false);
    program(3, true);
    enable(true, true);
    msix_notify(dev, 0);
    msix_notify(dev, 3);
    run_main_loop();
    ck_assert_uint_eq(ram_long(MSG_ADDR(0)), 0);
    ck_assert_uint_eq(pba(), 0x9);
    /* unmasking the function delivers vector 0; 3 is still masked */
    enable(true, false);
    ck_assert_uint_eq(ram_long(MSG_ADDR(0)), 0x100);
    ck_assert_uint_eq(ram_long(MSG_ADDR(3)), 0);
    ck_assert_uint_eq(pba(), 0x8);
    mmio_write(entry_addr(3, 12), 4, 0);
    ck_assert_uint_eq(ram_long(MSG_ADDR(3)), 0x103);
    ck_assert_uint_eq(pba(), 0);
    /* MSI-X disabled: as if masked */
    enable(false, false);
    msix_notify(dev, 0);
    run_main_loop();
    ck_assert_uint_eq(pba(), 0x1);
    pci_set_long(ram + MSG_ADDR(0), 0);
    enable(true, false);
    ck_assert_uint_eq(ram_long(MSG_ADDR(0)), 0x100);
}
END_TEST

START_TEST(test_reset)
{
    program(0, true);
    program(1, false);
    enable(true, true);
    msix_notify(dev, 0);
    run_main_loop();
    ck_assert_uint_eq(pba(), 1);
    qemu_devices_reset();
    ck_assert(!msix_enabled(dev));
    ck_assert_uint_eq(cfg_read(cap + 2, 2), 3);
    ck_assert_uint_eq(pba(), 0);
    for (unsigned v = 0; v < 4; v++) {
        ck_assert_uint_eq(mmio_read(entry_addr(v, 0), 8), 0);
        ck_assert_uint_eq(mmio_read(entry_addr(v, 8), 8), 1ULL << 32);
    }
    /* a notification left behind by the old driver is not delivered */
    msix_notify(dev, 1);
    msix_reset(dev);
    program(1, false);
    enable(true, false);
    run_main_loop();
    ck_assert_uint_eq(ram_long(MSG_ADDR(1)), 0);
    ck_assert_uint_eq(pba(), 0);
    /* and the device works after it */
    msix_notify(dev, 1);
    run_main_loop();
    ck_assert_uint_eq(ram_long(MSG_ADDR(1)), 0x101);
}
END_TEST

/* A message to an address that is not RAM goes to MMIO, like a DMA. */
START_TEST(test_mmio_target)
{
    mmio_write(entry_addr(0, 0), 4, 0xfee00000);
    mmio_write(entry_addr(0, 8), 4, 0x4041);
    mmio_write(entry_addr(0, 12), 4, 0);
    /* point vector 1 at vector 0's data register: it changes the table */
    mmio_write(entry_addr(1, 0), 4, entry_addr(0, 8));
    mmio_write(entry_addr(1, 8), 4, 0x5555);
    mmio_write(entry_addr(1, 12), 4, 0);
    enable(true, false);
    msix_notify(dev, 0);
    msix_notify(dev, 1);
    run_main_loop();
    ck_assert_uint_eq(mmio_read(entry_addr(0, 8), 4), 0x5555);
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
    Suite *s = suite_create("msix");
    SRunner *sr;
    int failed;

    qemu_init_main_loop();
    add(s, "capability", test_capability);
    add(s, "layout", test_layout);
    add(s, "table", test_table);
    add(s, "delivery", test_delivery);
    add(s, "vector-mask", test_vector_mask);
    add(s, "function-mask", test_function_mask);
    add(s, "reset", test_reset);
    add(s, "mmio-target", test_mmio_target);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
