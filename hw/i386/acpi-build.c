/*
 * ACPI tables of the pc machine, written straight into guest RAM.
 *
 * There is no firmware to run QEMU's table loader, so the tables are laid
 * out at their final guest addresses, in the BIOS area the e820 map
 * reserves, with the RSDP first where the OS scans for it (0xe0000):
 *
 *   RSDP (rev 2) -> RSDT and XSDT -> FADT (rev 3) -> FACS, DSDT
 *                                 -> MADT
 *
 * Contents follow what QEMU 7.2 gives a pc guest, except that the FADT is
 * the ACPI 2.0 layout (QEMU's pc keeps rev 1 for Windows 2000) so that it
 * can carry 64-bit pointers and the reset register.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "exec/memory.h"
#include "hw/acpi/aml-build.h"
#include "hw/i386/pc.h"
#include "hw/pci/pci.h"

#define ADDR(off)            ((uint64_t)PC_ACPI_ADDR + (off))

#define RSDP_LEN             36
#define FACS_LEN             64
#define MAX_SERIAL           4

/* FADT flags (ACPI 6.x, table 5.10) */
#define FADT_F_WBINVD        (1u << 0)
#define FADT_F_PROC_C1       (1u << 2)
#define FADT_F_SLP_BUTTON    (1u << 5)  /* set: no fixed sleep button */
#define FADT_F_RTC_S4        (1u << 7)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_USE_PLATFORM_CLOCK (1u << 15)
#define FADT_F_FORCE_APIC_CLUSTER_MODEL (1u << 18)

#define FADT_BOOT_ARCH_8042  (1u << 1)
#define RTC_CENTURY_REG      0x32       /* CMOS index, as QEMU's RTC */

/* Generic Address Structure address space ids */
#define GAS_SYSTEM_MEMORY    0
#define GAS_SYSTEM_IO        1
#define GAS_ACCESS_BYTE      1

/* MADT entry types */
#define MADT_LOCAL_APIC      0
#define MADT_IO_APIC         1
#define MADT_INT_OVERRIDE    2
#define MADT_LOCAL_APIC_NMI  4
#define MADT_LOCAL_X2APIC    9
#define MADT_LOCAL_X2APIC_NMI 0xa
#define MADT_PCAT_COMPAT     1
#define MADT_ENABLED         1
#define MADT_ALL_CPUS        0xff
#define MADT_ISO_LEVEL_HIGH  0xd        /* active high, level triggered */

static const struct {
    uint16_t port;
    uint8_t irq;
} com_ports[MAX_SERIAL] = {
    { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

static void append_zeros(GByteArray *t, size_t n)
{
    while (n--) {
        acpi_append_int(t, 0, 1);
    }
}

static void append_gas(GByteArray *t, uint8_t space, uint8_t bits,
                       uint8_t access, uint64_t addr)
{
    acpi_append_int(t, space, 1);
    acpi_append_int(t, bits, 1);
    acpi_append_int(t, 0, 1);           /* Register Bit Offset */
    acpi_append_int(t, access, 1);
    acpi_append_int(t, addr, 8);
}

static void append_gas_io(GByteArray *t, uint8_t bytes, uint64_t port)
{
    /* Access size "undefined": the OS uses the block's width, as QEMU. */
    append_gas(t, GAS_SYSTEM_IO, bytes * 8, 0, port);
}

static void append_gas_none(GByteArray *t)
{
    append_gas(t, GAS_SYSTEM_MEMORY, 0, 0, 0);
}

static size_t build_facs(GByteArray *t)
{
    size_t start = t->len;

    acpi_append_bytes(t, "FACS", 4);
    acpi_append_int(t, FACS_LEN, 4);
    acpi_append_int(t, 0, 4);           /* Hardware Signature */
    acpi_append_int(t, 0, 4);           /* Firmware Waking Vector */
    acpi_append_int(t, 0, 4);           /* Global Lock */
    acpi_append_int(t, 0, 4);           /* Flags: no S4BIOS, 32-bit wake */
    acpi_append_int(t, 0, 8);           /* X Firmware Waking Vector */
    acpi_append_int(t, 1, 1);           /* Version: ACPI 2.0 layout */
    append_zeros(t, FACS_LEN - (t->len - start));
    return start;
}

static Aml *build_com(unsigned i)
{
    char name[5];
    Aml *dev, *crs;

    g_snprintf(name, sizeof(name), "COM%u", i + 1);
    crs = aml_resource_template();
    aml_append(crs, aml_io(com_ports[i].port, com_ports[i].port, 0, 8));
    aml_append(crs, aml_irq_no_flags(com_ports[i].irq));

    dev = aml_device(name);
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0501")));
    aml_append(dev, aml_name_decl("_UID", aml_int(i + 1)));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

static Aml *build_rtc(void)
{
    Aml *dev = aml_device("RTC");
    Aml *crs = aml_resource_template();

    aml_append(crs, aml_io(0x70, 0x70, 1, 8));
    aml_append(crs, aml_irq_no_flags(8));
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0B00")));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

static Aml *build_kbd(void)
{
    Aml *dev = aml_device("KBD");
    Aml *crs = aml_resource_template();

    aml_append(crs, aml_io(0x60, 0x60, 1, 1));
    aml_append(crs, aml_io(0x64, 0x64, 1, 1));
    aml_append(crs, aml_irq_no_flags(1));
    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0303")));
    aml_append(dev, aml_name_decl("_STA", aml_int(0xf)));
    aml_append(dev, aml_name_decl("_CRS", crs));
    return dev;
}

/*
 * _PRT with a GSI for every slot and pin (Source 0, SourceIndex = GSI),
 * the same lines QEMU's link devices end up on with SeaBIOS's routing.
 */
static Aml *build_prt(void)
{
    Aml *prt = aml_package();

    for (unsigned slot = 0; slot < PCI_SLOT_MAX; slot++) {
        for (unsigned pin = 0; pin < PCI_NUM_PINS; pin++) {
            Aml *entry = aml_package();

            aml_append(entry, aml_int(((uint64_t)slot << 16) | 0xffff));
            aml_append(entry, aml_int(pin));
            aml_append(entry, aml_int(0));
            aml_append(entry, aml_int(pci_slot_pin_gsi(slot, pin)));
            aml_append(prt, entry);
        }
    }
    return aml_name_decl("_PRT", prt);
}

/* Below 4 GiB the window runs from the end of RAM up to the IOAPIC. */
#define PCI_HOLE_END         0xfebfffffULL

static Aml *build_pci0(const AcpiBuildConfig *cfg)
{
    Aml *dev = aml_device("PCI0");
    Aml *crs = aml_resource_template();
    uint64_t hole64 = pci_hole64_start(cfg->above_4g);

    aml_append(crs, aml_word_bus_number(0, 0xff));
    aml_append(crs, aml_io(0xcf8, 0xcf8, 1, 8));
    aml_append(crs, aml_word_io(0, 0xcf7));
    aml_append(crs, aml_word_io(0xd00, 0xffff));
    if (cfg->below_4g < PCI_HOLE_END) {
        aml_append(crs, aml_dword_memory(cfg->below_4g, PCI_HOLE_END, false));
    }
    aml_append(crs, aml_qword_memory(hole64, hole64 + PCI_HOLE64_SIZE - 1,
                                     true));

    aml_append(dev, aml_name_decl("_HID", aml_eisaid("PNP0A03")));
    aml_append(dev, aml_name_decl("_ADR", aml_int(0)));
    aml_append(dev, aml_name_decl("_UID", aml_int(0)));
    aml_append(dev, aml_name_decl("_CRS", crs));
    aml_append(dev, build_prt());
    return dev;
}

static size_t build_dsdt(GByteArray *t, const AcpiBuildConfig *cfg)
{
    size_t start = acpi_table_begin(t, "DSDT", 2);
    Aml *body = aml_new();
    Aml *scope, *s5;

    /*
     * \_S5: SLP_TYP 0 in PM1a_CNT means soft-off on QEMU's PIIX4 PM
     * device; PM1b does not exist, the other two are reserved.
     */
    s5 = aml_package();
    for (int i = 0; i < 4; i++) {
        aml_append(s5, aml_int(0));
    }
    scope = aml_scope("\\");
    aml_append(scope, aml_name_decl("_S5", s5));
    aml_append(body, scope);

    scope = aml_scope("\\_SB");
    for (unsigned i = 0; i < cfg->nserial; i++) {
        aml_append(scope, build_com(i));
    }
    aml_append(scope, build_rtc());
    aml_append(scope, build_kbd());
    if (cfg->pci) {
        aml_append(scope, build_pci0(cfg));
    }
    aml_append(body, scope);

    acpi_append_bytes(t, aml_data(body), aml_len(body));
    aml_free(body);
    acpi_table_end(t, start);
    return start;
}

static uint32_t fadt_flags(const AcpiBuildConfig *cfg)
{
    uint32_t flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON |
                     FADT_F_RTC_S4 | FADT_F_USE_PLATFORM_CLOCK |
                     FADT_F_RESET_REG_SUP;

    /* Flat logical APIC destination mode addresses at most 8 CPUs. */
    if (cfg->ncpus > 8) {
        flags |= FADT_F_FORCE_APIC_CLUSTER_MODEL;
    }
    return flags;
}

/* FADT revision 3 (ACPI 2.0+ layout, 244 bytes). */
static size_t build_fadt(GByteArray *t, const AcpiBuildConfig *cfg,
                         size_t facs, size_t dsdt)
{
    size_t start = acpi_table_begin(t, "FACP", 3);

    /* ACPI 2.0+: FIRMWARE_CTRL must be 0 when X_FIRMWARE_CTRL is set. */
    acpi_append_int(t, 0, 4);                   /* FIRMWARE_CTRL */
    acpi_append_int(t, ADDR(dsdt), 4);          /* DSDT */
    acpi_append_int(t, 1, 1);                   /* INT_MODEL (1.0): APIC */
    acpi_append_int(t, 0, 1);                   /* Preferred_PM_Profile */
    acpi_append_int(t, PC_ACPI_SCI_IRQ, 2);     /* SCI_INT */
    /* No SMI_CMD: ACPI mode is always on, SCI_EN stays set. */
    acpi_append_int(t, 0, 4);                   /* SMI_CMD */
    acpi_append_int(t, 0, 1);                   /* ACPI_ENABLE */
    acpi_append_int(t, 0, 1);                   /* ACPI_DISABLE */
    acpi_append_int(t, 0, 1);                   /* S4BIOS_REQ */
    acpi_append_int(t, 0, 1);                   /* PSTATE_CNT */
    acpi_append_int(t, PC_ACPI_PM_BASE, 4);     /* PM1a_EVT_BLK */
    acpi_append_int(t, 0, 4);                   /* PM1b_EVT_BLK */
    acpi_append_int(t, PC_ACPI_PM_BASE + 4, 4); /* PM1a_CNT_BLK */
    acpi_append_int(t, 0, 4);                   /* PM1b_CNT_BLK */
    acpi_append_int(t, 0, 4);                   /* PM2_CNT_BLK */
    acpi_append_int(t, PC_ACPI_PM_BASE + 8, 4); /* PM_TMR_BLK */
    acpi_append_int(t, 0, 4);                   /* GPE0_BLK */
    acpi_append_int(t, 0, 4);                   /* GPE1_BLK */
    acpi_append_int(t, 4, 1);                   /* PM1_EVT_LEN */
    acpi_append_int(t, 2, 1);                   /* PM1_CNT_LEN */
    acpi_append_int(t, 0, 1);                   /* PM2_CNT_LEN */
    acpi_append_int(t, 4, 1);                   /* PM_TMR_LEN */
    acpi_append_int(t, 0, 1);                   /* GPE0_BLK_LEN */
    acpi_append_int(t, 0, 1);                   /* GPE1_BLK_LEN */
    acpi_append_int(t, 0, 1);                   /* GPE1_BASE */
    acpi_append_int(t, 0, 1);                   /* CST_CNT */
    acpi_append_int(t, 0xfff, 2);               /* P_LVL2_LAT: no C2 */
    acpi_append_int(t, 0xfff, 2);               /* P_LVL3_LAT: no C3 */
    acpi_append_int(t, 0, 2);                   /* FLUSH_SIZE */
    acpi_append_int(t, 0, 2);                   /* FLUSH_STRIDE */
    acpi_append_int(t, 0, 1);                   /* DUTY_OFFSET */
    acpi_append_int(t, 0, 1);                   /* DUTY_WIDTH */
    acpi_append_int(t, 0, 1);                   /* DAY_ALRM */
    acpi_append_int(t, 0, 1);                   /* MON_ALRM */
    acpi_append_int(t, RTC_CENTURY_REG, 1);     /* CENTURY */
    acpi_append_int(t, FADT_BOOT_ARCH_8042, 2); /* IAPC_BOOT_ARCH */
    acpi_append_int(t, 0, 1);                   /* Reserved */
    acpi_append_int(t, fadt_flags(cfg), 4);     /* Flags */
    append_gas(t, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE,
               PC_RESET_CONTROL_PORT);          /* RESET_REG */
    acpi_append_int(t, PC_RESET_CONTROL_VALUE, 1); /* RESET_VALUE */
    append_zeros(t, 3);                         /* Reserved */
    acpi_append_int(t, ADDR(facs), 8);          /* X_FIRMWARE_CTRL */
    acpi_append_int(t, ADDR(dsdt), 8);          /* X_DSDT */
    append_gas_io(t, 4, PC_ACPI_PM_BASE);       /* X_PM1a_EVT_BLK */
    append_gas_none(t);                         /* X_PM1b_EVT_BLK */
    append_gas_io(t, 2, PC_ACPI_PM_BASE + 4);   /* X_PM1a_CNT_BLK */
    append_gas_none(t);                         /* X_PM1b_CNT_BLK */
    append_gas_none(t);                         /* X_PM2_CNT_BLK */
    append_gas_io(t, 4, PC_ACPI_PM_BASE + 8);   /* X_PM_TMR_BLK */
    append_gas_none(t);                         /* X_GPE0_BLK */
    append_gas_none(t);                         /* X_GPE1_BLK */
    acpi_table_end(t, start);
    return start;
}

static void madt_cpu(GByteArray *t, uint32_t uid, uint32_t apic_id)
{
    /* The 8-bit entry cannot hold id 255 (broadcast) or larger. */
    if (apic_id < 0xff && uid < 0xff) {
        acpi_append_int(t, MADT_LOCAL_APIC, 1);
        acpi_append_int(t, 8, 1);
        acpi_append_int(t, uid, 1);
        acpi_append_int(t, apic_id, 1);
        acpi_append_int(t, MADT_ENABLED, 4);
    } else {
        acpi_append_int(t, MADT_LOCAL_X2APIC, 1);
        acpi_append_int(t, 16, 1);
        acpi_append_int(t, 0, 2);
        acpi_append_int(t, apic_id, 4);
        acpi_append_int(t, MADT_ENABLED, 4);
        acpi_append_int(t, uid, 4);
    }
}

static void madt_override(GByteArray *t, uint8_t irq, uint32_t gsi,
                          uint16_t flags)
{
    acpi_append_int(t, MADT_INT_OVERRIDE, 1);
    acpi_append_int(t, 10, 1);
    acpi_append_int(t, 0, 1);                   /* Bus: ISA */
    acpi_append_int(t, irq, 1);
    acpi_append_int(t, gsi, 4);
    acpi_append_int(t, flags, 2);
}

static uint32_t cpu_apic_id(const AcpiBuildConfig *cfg, unsigned i)
{
    return cfg->apic_ids ? cfg->apic_ids[i] : i;
}

static size_t build_madt(GByteArray *t, const AcpiBuildConfig *cfg)
{
    size_t start = acpi_table_begin(t, "APIC", 1);
    bool x2apic = false;

    acpi_append_int(t, PC_LAPIC_ADDR, 4);
    acpi_append_int(t, MADT_PCAT_COMPAT, 4);    /* there are 8259s too */
    for (unsigned i = 0; i < cfg->ncpus; i++) {
        uint32_t id = cpu_apic_id(cfg, i);

        madt_cpu(t, i, id);
        x2apic |= id >= 0xff || i >= 0xff;
    }

    acpi_append_int(t, MADT_IO_APIC, 1);
    acpi_append_int(t, 12, 1);
    acpi_append_int(t, 0, 1);                   /* I/O APIC ID */
    acpi_append_int(t, 0, 1);
    acpi_append_int(t, PC_IOAPIC_ADDR, 4);
    acpi_append_int(t, 0, 4);                   /* GSI base */

    /* The PIT is wired to IOAPIC pin 2; flags 0: ISA (edge, high). */
    madt_override(t, 0, 2, 0);
    for (unsigned irq = 1; irq < 16; irq++) {
        if (PC_PCI_IRQ_MASK & (1u << irq)) {
            madt_override(t, irq, irq, MADT_ISO_LEVEL_HIGH);
        }
    }

    /* NMI arrives on LINT1 of every CPU. */
    if (x2apic) {
        acpi_append_int(t, MADT_LOCAL_X2APIC_NMI, 1);
        acpi_append_int(t, 12, 1);
        acpi_append_int(t, 0, 2);               /* Flags */
        acpi_append_int(t, UINT32_MAX, 4);      /* all processors */
        acpi_append_int(t, 1, 1);               /* LINT1 */
        append_zeros(t, 3);
    } else {
        acpi_append_int(t, MADT_LOCAL_APIC_NMI, 1);
        acpi_append_int(t, 6, 1);
        acpi_append_int(t, MADT_ALL_CPUS, 1);
        acpi_append_int(t, 0, 2);               /* Flags */
        acpi_append_int(t, 1, 1);               /* LINT1 */
    }
    acpi_table_end(t, start);
    return start;
}

/* RSDT (32-bit entries) or XSDT (64-bit entries) listing @tables. */
static size_t build_sdt(GByteArray *t, const char *sig, unsigned entry_size,
                        const size_t *tables, unsigned n)
{
    size_t start = acpi_table_begin(t, sig, 1);

    for (unsigned i = 0; i < n; i++) {
        acpi_append_int(t, ADDR(tables[i]), entry_size);
    }
    acpi_table_end(t, start);
    return start;
}

/* Fill the RSDP reserved at offset 0. */
static void build_rsdp(GByteArray *t, size_t rsdt, size_t xsdt)
{
    g_autoptr(GByteArray) r = g_byte_array_new();

    acpi_append_bytes(r, "RSD PTR ", 8);
    acpi_append_int(r, 0, 1);                   /* Checksum (first 20) */
    acpi_append_bytes(r, ACPI_OEM_ID, 6);
    acpi_append_int(r, 2, 1);                   /* Revision: ACPI 2.0+ */
    acpi_append_int(r, ADDR(rsdt), 4);
    acpi_append_int(r, RSDP_LEN, 4);
    acpi_append_int(r, ADDR(xsdt), 8);
    acpi_append_int(r, 0, 1);                   /* Extended Checksum */
    append_zeros(r, 3);
    g_assert(r->len == RSDP_LEN);
    r->data[8] = acpi_checksum(r->data, 20);
    r->data[32] = acpi_checksum(r->data, RSDP_LEN);
    memcpy(t->data, r->data, RSDP_LEN);
}

static bool check_config(const AcpiBuildConfig *cfg, GError **errp)
{
    if (cfg->ncpus == 0) {
        error_setg(errp, "ACPI tables need at least one CPU");
        return false;
    }
    if (cfg->nserial > MAX_SERIAL) {
        error_setg(errp, "ACPI tables describe at most %u serial ports, "
                   "not %u", MAX_SERIAL, cfg->nserial);
        return false;
    }
    return true;
}

uint64_t acpi_build_tables(const AcpiBuildConfig *cfg, GError **errp)
{
    g_autoptr(GByteArray) t = g_byte_array_new();
    size_t facs, dsdt, sdts[2], rsdt, xsdt;

    if (!check_config(cfg, errp)) {
        return 0;
    }

    append_zeros(t, RSDP_LEN);      /* filled once the tables are placed */
    acpi_align(t, 64);              /* the FACS must be 64-byte aligned */
    facs = build_facs(t);
    dsdt = build_dsdt(t, cfg);
    acpi_align(t, 8);
    sdts[0] = build_fadt(t, cfg, facs, dsdt);
    acpi_align(t, 8);
    sdts[1] = build_madt(t, cfg);
    acpi_align(t, 8);
    rsdt = build_sdt(t, "RSDT", 4, sdts, ARRAY_SIZE(sdts));
    acpi_align(t, 8);
    xsdt = build_sdt(t, "XSDT", 8, sdts, ARRAY_SIZE(sdts));
    build_rsdp(t, rsdt, xsdt);

    if (t->len > PC_ACPI_SIZE) {
        error_setg(errp, "ACPI tables need %u bytes, more than the %u "
                   "bytes reserved at 0x%x", t->len, PC_ACPI_SIZE,
                   PC_ACPI_ADDR);
        return 0;
    }
    if (!guest_mem_write(PC_ACPI_ADDR, t->data, t->len)) {
        error_setg(errp, "cannot write ACPI tables: no guest RAM at "
                   "0x%x-0x%x", PC_ACPI_ADDR, PC_ACPI_ADDR + t->len - 1);
        return 0;
    }
    return PC_ACPI_ADDR;
}
