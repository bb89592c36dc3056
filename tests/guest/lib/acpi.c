/*
 * Just enough ACPI for the tests: find tables, read the FADT's PM1
 * control ports and reset register, the DSDT's \_S5 sleep type, and the
 * MADT's processors.  Table contents come from the VMM and are checked
 * (signature, checksum, lengths) before use.
 */
#include "guest.h"

#define TABLE_MAX_LEN  (1u << 20)

/* FADT field offsets (ACPI 6.x, table 5.9) */
#define FADT_DSDT          40
#define FADT_PM1A_CNT_BLK  64
#define FADT_PM1B_CNT_BLK  68
#define FADT_FLAGS         112
#define FADT_RESET_REG     116      /* Generic Address Structure */
#define FADT_RESET_VALUE   128
#define FADT_X_DSDT        140
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define GAS_SYSTEM_IO      1

/* MADT */
#define MADT_ENTRIES       44
#define MADT_LAPIC         0
#define MADT_X2APIC        9
#define MADT_ENABLED       1

static uint8_t sum(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint8_t s = 0;

    while (n--) {
        s += *b++;
    }
    return s;
}

static uint32_t get32(const void *p)
{
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static uint64_t get64(const void *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
}

static bool rsdp_valid(const struct acpi_rsdp *r)
{
    if (memcmp(r->signature, "RSD PTR ", 8) || sum(r, 20)) {
        return false;
    }
    return r->revision < 2 ||
           (r->length >= sizeof(*r) && r->length <= 4096 && !sum(r, r->length));
}

static const struct acpi_rsdp *scan_rsdp(uint32_t start, uint32_t end)
{
    for (uintptr_t a = start; a + sizeof(struct acpi_rsdp) <= end; a += 16) {
        const struct acpi_rsdp *r = (const void *)phys_ptr(a);

        if (rsdp_valid(r)) {
            return r;
        }
    }
    return NULL;
}

const struct acpi_rsdp *acpi_find_rsdp(const struct hvm_start_info *si)
{
    const struct acpi_rsdp *r = phys_to_ptr(si->rsdp_paddr);
    uint32_t ebda;

    if (r && rsdp_valid(r)) {
        return r;
    }
    /* As an OS without the pointer would: EBDA's first KiB, then the BIOS area. */
    ebda = (uint32_t)*(volatile uint16_t *)phys_ptr(0x40e) << 4;
    if (ebda >= 0x80000 && ebda < 0xa0000 && (r = scan_rsdp(ebda, ebda + 1024))) {
        return r;
    }
    return scan_rsdp(0xe0000, 0x100000);
}

static const struct acpi_header *table_at(uint64_t paddr, const char sig[4])
{
    const struct acpi_header *h = phys_to_ptr(paddr);

    if (!h || memcmp(h->signature, sig, 4) || h->length < sizeof(*h) ||
        h->length > TABLE_MAX_LEN || paddr + h->length > 0x100000000ull) {
        return NULL;
    }
    if (sum(h, h->length)) {
        printf("acpi: table %.4s at %#x has a bad checksum\n", sig,
               (uint32_t)paddr);
        return NULL;
    }
    return h;
}

const struct acpi_header *acpi_find_table(const struct hvm_start_info *si,
                                          const char sig[4])
{
    const struct acpi_rsdp *r = acpi_find_rsdp(si);
    const struct acpi_header *root = NULL;
    size_t esize = 4;

    if (!r) {
        return NULL;
    }
    if (r->revision >= 2) {
        root = table_at(r->xsdt_address, "XSDT");
        esize = 8;
    }
    if (!root) {
        root = table_at(r->rsdt_address, "RSDT");
        esize = 4;
    }
    if (!root) {
        return NULL;
    }
    for (uint32_t off = sizeof(*root); off + esize <= root->length; off += esize) {
        const uint8_t *e = (const uint8_t *)root + off;
        uint64_t addr = esize == 8 ? get64(e) : get32(e);
        const struct acpi_header *t = table_at(addr, sig);

        if (t) {
            return t;
        }
    }
    return NULL;
}

/* One AML integer: ZeroOp, OneOp, OnesOp, or a Byte/Word/DWord constant. */
static bool aml_int(const uint8_t *p, const uint8_t *end, const uint8_t **next,
                    uint32_t *val)
{
    static const uint8_t size[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4 };

    if (p >= end) {
        return false;
    }
    switch (*p) {
    case 0x00:
    case 0x01:
        *val = *p;
        *next = p + 1;
        return true;
    case 0xff:
        *val = 0xffffffff;
        *next = p + 1;
        return true;
    case 0x0a:
    case 0x0b:
    case 0x0c:
        if (end - p <= size[*p]) {
            return false;
        }
        *val = 0;
        memcpy(val, p + 1, size[*p]);
        *next = p + 1 + size[*p];
        return true;
    }
    return false;
}

/*
 * Name(_S5, Package(n) {SLP_TYPa, SLP_TYPb, ...}) found by a byte scan,
 * as small OSes do: NameOp [\] "_S5_" PackageOp PkgLength NumElements.
 */
static bool dsdt_s5(const struct acpi_header *dsdt, uint8_t *a, uint8_t *b)
{
    const uint8_t *aml = (const uint8_t *)dsdt;
    const uint8_t *end = aml + dsdt->length;

    for (const uint8_t *p = aml + sizeof(*dsdt) + 1; p + 7 <= end; p++) {
        const uint8_t *q;
        uint32_t va, vb;

        if (memcmp(p, "_S5_", 4) ||
            !(p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08)) ||
            p[4] != 0x12) {
            continue;
        }
        q = p + 5;
        q += 1 + (*q >> 6);             /* PkgLength: lead byte + extra bytes */
        q++;                            /* NumElements */
        if (!aml_int(q, end, &q, &va) || !aml_int(q, end, &q, &vb)) {
            return false;
        }
        *a = (uint8_t)va;
        *b = (uint8_t)vb;
        return true;
    }
    return false;
}

bool acpi_pm_info(const struct hvm_start_info *si, struct acpi_pm_info *pm)
{
    const struct acpi_header *fadt = acpi_find_table(si, "FACP");
    const struct acpi_header *dsdt = NULL;
    const uint8_t *f = (const uint8_t *)fadt;

    memset(pm, 0, sizeof(*pm));
    if (!fadt || fadt->length < FADT_PM1B_CNT_BLK + 4) {
        printf("acpi: no usable FADT\n");
        return false;
    }
    pm->pm1a_cnt = (uint16_t)get32(f + FADT_PM1A_CNT_BLK);
    pm->pm1b_cnt = (uint16_t)get32(f + FADT_PM1B_CNT_BLK);
    if (fadt->length >= FADT_RESET_VALUE + 1 &&
        (get32(f + FADT_FLAGS) & FADT_FLAG_RESET_REG_SUP) &&
        f[FADT_RESET_REG] == GAS_SYSTEM_IO) {
        pm->reset_supported = true;
        pm->reset_port = (uint16_t)get64(f + FADT_RESET_REG + 4);
        pm->reset_value = f[FADT_RESET_VALUE];
    }
    if (fadt->length >= FADT_X_DSDT + 8) {
        dsdt = table_at(get64(f + FADT_X_DSDT), "DSDT");
    }
    if (!dsdt) {
        dsdt = table_at(get32(f + FADT_DSDT), "DSDT");
    }
    if (!pm->pm1a_cnt) {
        printf("acpi: FADT has no PM1a control block\n");
        return false;
    }
    if (!dsdt || !dsdt_s5(dsdt, &pm->slp_typa, &pm->slp_typb)) {
        printf("acpi: no \\_S5 package in the DSDT\n");
        return false;
    }
    return true;
}

void acpi_poweroff(const struct acpi_pm_info *pm)
{
    const uint16_t slp_en = 1 << 13;

    outw(pm->pm1a_cnt, (uint16_t)((pm->slp_typa & 7) << 10) | slp_en);
    if (pm->pm1b_cnt) {
        outw(pm->pm1b_cnt, (uint16_t)((pm->slp_typb & 7) << 10) | slp_en);
    }
    udelay(1000000);
}

unsigned acpi_cpus(const struct hvm_start_info *si, uint32_t *apic_ids,
                   unsigned max)
{
    const struct acpi_header *madt = acpi_find_table(si, "APIC");
    const uint8_t *m = (const uint8_t *)madt;
    unsigned n = 0;

    if (!madt) {
        return 0;
    }
    for (uint32_t off = MADT_ENTRIES; off + 2 <= madt->length;) {
        const uint8_t *e = m + off;
        uint32_t id;

        if (e[1] < 2 || off + e[1] > madt->length) {
            break;
        }
        if (e[0] == MADT_LAPIC && e[1] >= 8 && (get32(e + 4) & MADT_ENABLED)) {
            id = e[3];
        } else if (e[0] == MADT_X2APIC && e[1] >= 16 &&
                   (get32(e + 8) & MADT_ENABLED)) {
            id = get32(e + 4);
        } else {
            off += e[1];
            continue;
        }
        if (n < max) {
            apic_ids[n] = id;
        }
        n++;
        off += e[1];
    }
    return n;
}
