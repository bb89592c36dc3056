/*
 * PCI bus 0 through configuration mechanism #1: the i440FX host bridge
 * and PIIX3 ISA bridge with QEMU's identities, empty slots, the reset
 * control register inside the CONFIG_ADDRESS dword, and (qvmm only) the
 * DSDT's PCI root.
 */
#include <string.h>
#include <glib.h>
#include "libqtest.h"
#include "qtest-tap.h"

#define HOST_DEVFN  QT_PCI_DEVFN(0, 0)
#define ISA_DEVFN   QT_PCI_DEVFN(1, 0)

static void test_host_bridge(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    QT_ASSERT_EQ(qt_pci_config_readw(s, 0, HOST_DEVFN, 0x00), 0x8086);
    QT_ASSERT_EQ(qt_pci_config_readw(s, 0, HOST_DEVFN, 0x02), 0x1237);
    QT_ASSERT_EQ(qt_pci_config_readb(s, 0, HOST_DEVFN, 0x08), 0x02);
    QT_ASSERT_EQ(qt_pci_config_readl(s, 0, HOST_DEVFN, 0x08) >> 8, 0x060000);
    QT_ASSERT_EQ(qt_pci_config_readb(s, 0, HOST_DEVFN, 0x0e), 0x00);
    QT_ASSERT_EQ(qt_pci_config_readw(s, 0, HOST_DEVFN, 0x2c), 0x1af4);
    QT_ASSERT_EQ(qt_pci_config_readw(s, 0, HOST_DEVFN, 0x2e), 0x1100);
    /* read-only identity */
    qt_pci_config_writel(s, 0, HOST_DEVFN, 0x00, 0xffffffff);
    QT_ASSERT_EQ(qt_pci_config_readl(s, 0, HOST_DEVFN, 0x00), 0x12378086);
    qt_quit(s);
}

static void test_isa_bridge(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    QT_ASSERT_EQ(qt_pci_config_readl(s, 0, ISA_DEVFN, 0x00), 0x70008086);
    QT_ASSERT_EQ(qt_pci_config_readl(s, 0, ISA_DEVFN, 0x08), 0x06010000);
    QT_ASSERT_EQ(qt_pci_config_readb(s, 0, ISA_DEVFN, 0x0e), 0x80);
    QT_ASSERT_EQ(qt_pci_config_readw(s, 0, ISA_DEVFN, 0x06), 0x0200);
    QT_ASSERT_EQ(qt_pci_config_readl(s, 0, ISA_DEVFN, 0x2c), 0x11001af4);
    qt_quit(s);
}

/*
 * Slots 2-31 are empty with -nodefaults.  QEMU's PIIX3 has more
 * functions (IDE, USB, the PIIX4 PM at 01.3) that qvmm does not model.
 */
static void test_empty_slots(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        if (devfn == HOST_DEVFN || devfn == ISA_DEVFN ||
            (qt_is_qemu() && devfn < QT_PCI_DEVFN(2, 0))) {
            continue;
        }
        QT_ASSERT_EQ(qt_pci_config_readl(s, 0, devfn, 0), 0xffffffff);
    }
    QT_ASSERT_EQ(qt_pci_config_readw(s, 0, QT_PCI_DEVFN(5, 0), 2), 0xffff);
    qt_quit(s);
}

/* CONFIG_ADDRESS holds what was written; a byte at 0xcf9 is the RCR. */
static void test_config_address(const void *data)
{
    QTestState *s = qt_start(NULL);

    (void)data;
    qt_outl(s, 0xcf8, 0x80000810);
    QT_ASSERT_EQ(qt_inl(s, 0xcf8), 0x80000810);
    qt_outb(s, 0xcf9, 0x02);
    QT_ASSERT_EQ(qt_inb(s, 0xcf9), 0x02);
    QT_ASSERT_EQ(qt_inl(s, 0xcf8), 0x80000810);
    qt_outb(s, 0xcf9, 0x00);
    qt_quit(s);
}

/* A reset through 0xcf9 puts config space back. */
static void test_cf9_reset(const void *data)
{
    QTestState *s = qt_start("-serial null");
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

    (void)data;
    qt_pci_config_writeb(s, 0, HOST_DEVFN, 0x0c, 0x40);
    QT_ASSERT_EQ(qt_pci_config_readb(s, 0, HOST_DEVFN, 0x0c), 0x40);
    qt_outb(s, 0xcf9, 0x06);
    while (qt_pci_config_readb(s, 0, HOST_DEVFN, 0x0c) != 0) {
        if (g_get_monotonic_time() > deadline) {
            qt_fail("no reset within 5 s");
        }
        g_usleep(10000);
    }
    QT_ASSERT_EQ(qt_pci_config_readl(s, 0, HOST_DEVFN, 0x00), 0x12378086);
    qt_quit(s);
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

static bool contains(const uint8_t *hay, size_t len, const void *needle,
                     size_t nlen)
{
    return memmem(hay, len, needle, nlen) != NULL;
}

/* RSDP at 0xe0000 -> RSDT -> FADT (first entry) -> DSDT */
static void test_dsdt(const void *data)
{
    static const uint8_t pnp0a03[] = { 0x41, 0xd0, 0x0a, 0x03 };
    QTestState *s = qt_start(NULL);
    uint8_t rsdp[36], hdr[48];
    static uint8_t dsdt[0x20000];
    uint32_t rsdt, fadt, addr, len;

    (void)data;
    qt_bufread(s, 0xe0000, rsdp, sizeof(rsdp));
    QT_ASSERT(memcmp(rsdp, "RSD PTR ", 8) == 0);
    rsdt = le32(rsdp + 16);
    qt_bufread(s, rsdt, hdr, 40);
    fadt = le32(hdr + 36);
    qt_bufread(s, fadt, hdr, 44);
    QT_ASSERT(memcmp(hdr, "FACP", 4) == 0);
    addr = le32(hdr + 40);
    qt_bufread(s, addr, hdr, 36);
    QT_ASSERT(memcmp(hdr, "DSDT", 4) == 0);
    len = le32(hdr + 4);
    QT_ASSERT(len >= 36 && len <= sizeof(dsdt));
    qt_bufread(s, addr, dsdt, len);
    QT_ASSERT(contains(dsdt, len, "PCI0", 4));
    QT_ASSERT(contains(dsdt, len, "_PRT", 4));
    QT_ASSERT(contains(dsdt, len, pnp0a03, sizeof(pnp0a03)));
    qt_quit(s);
}

int main(int argc, char **argv)
{
    qt_test_add("pci/host-bridge", test_host_bridge, NULL, QT_BOTH, NULL);
    qt_test_add("pci/isa-bridge", test_isa_bridge, NULL, QT_BOTH, NULL);
    qt_test_add("pci/empty-slots", test_empty_slots, NULL, QT_BOTH, NULL);
    qt_test_add("pci/config-address", test_config_address, NULL, QT_BOTH,
                NULL);
    qt_test_add("pci/cf9-reset", test_cf9_reset, NULL, QT_BOTH, NULL);
    qt_test_add("pci/dsdt", test_dsdt, NULL, QT_QVMM_ONLY,
                "the DSDT comes from SeaBIOS, which never runs under -S");
    return qt_test_run(argc, argv);
}
