/*
 * PCI bus 0 of the pc machine: configuration mechanism #1 on 0xcf8-0xcff,
 * the device-side API (config space with write masks, BARs, INTx), and
 * the firmware duties qvmm takes over (BAR assignment, interrupt line).
 *
 * A PCI device type's instance starts with a PCIDevice (which starts with
 * its DeviceState).  Its realize() fills the read-only identity registers
 * (pci_config_set_ids), calls pci_register_device() to take a devfn on
 * the bus, then declares its BARs with pci_register_bar(); qvmm picks
 * their addresses and enables decoding as firmware would.  Everything is
 * called with the BQL held.
 */
#ifndef HW_PCI_PCI_H
#define HW_PCI_PCI_H

#include "qemu/osdep.h"
#include "exec/memory.h"
#include "hw/qdev.h"
#include "hw/misc/reset-control.h"

#define PCI_DEVFN(slot, fn)      ((((slot) & 0x1f) << 3) | ((fn) & 7))
#define PCI_SLOT(devfn)          (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)          ((devfn) & 7)
#define PCI_SLOT_MAX             32
#define PCI_FUNC_MAX             8
#define PCI_DEVFN_MAX            256
#define PCI_CONFIG_SPACE_SIZE    256
#define PCI_NUM_BARS             6
#define PCI_NUM_PINS             4

/* Type 0 header registers */
#define PCI_VENDOR_ID            0x00
#define PCI_DEVICE_ID            0x02
#define PCI_COMMAND              0x04
#define PCI_STATUS               0x06
#define PCI_REVISION_ID          0x08
#define PCI_CLASS_PROG           0x09
#define PCI_CLASS_DEVICE         0x0a
#define PCI_CACHE_LINE_SIZE      0x0c
#define PCI_LATENCY_TIMER        0x0d
#define PCI_HEADER_TYPE          0x0e
#define PCI_BASE_ADDRESS_0       0x10
#define PCI_SUBSYSTEM_VENDOR_ID  0x2c
#define PCI_SUBSYSTEM_ID         0x2e
#define PCI_ROM_ADDRESS          0x30
#define PCI_CAPABILITY_LIST      0x34
#define PCI_INTERRUPT_LINE       0x3c
#define PCI_INTERRUPT_PIN        0x3d
#define PCI_CONFIG_HEADER_SIZE   0x40

#define PCI_COMMAND_IO           0x0001
#define PCI_COMMAND_MEMORY       0x0002
#define PCI_COMMAND_MASTER       0x0004
#define PCI_COMMAND_PARITY       0x0040
#define PCI_COMMAND_SERR         0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT     0x0008
#define PCI_STATUS_CAP_LIST      0x0010
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
/* The error bits software clears by writing ones. */
#define PCI_STATUS_W1C           0xf900

#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

#define PCI_BASE_ADDRESS_SPACE_IO      0x01
#define PCI_BASE_ADDRESS_MEM_TYPE_64   0x04
#define PCI_BASE_ADDRESS_MEM_PREFETCH  0x08

/* QEMU's subsystem ids for devices that set none (Red Hat, QEMU). */
#define PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_SUBDEVICE_ID_QEMU            0x1100

#define PCI_VENDOR_ID_INTEL      0x8086

/* Where qvmm puts BARs (there is no firmware to do it). */
#define PCI_IO_ALLOC_START       0xc000
#define PCI_IO_ALLOC_END         0x10000
#define PCI_MEM32_ALLOC_TOP      0xfe000000ULL

typedef enum PCIBarType {
    PCI_BAR_NONE = 0,
    PCI_BAR_IO,                 /* I/O space, size 4 B .. 256 B */
    PCI_BAR_MEM32,              /* 32-bit memory, below 4 GiB */
    PCI_BAR_MEM64_PREF,         /* 64-bit prefetchable, above RAM; 2 slots */
} PCIBarType;

typedef struct PCIBus PCIBus;
typedef struct PCIDevice PCIDevice;

typedef struct PCIBar {
    PCIBarType type;
    uint64_t size;              /* power of two; 0: unused */
    uint64_t addr;              /* where it is mapped, if region != NULL */
    uint64_t fw_addr;           /* where qvmm put it */
    const IORegionOps *ops;
    void *opaque;
    IORegion *region;           /* NULL while not decoded */
    GArray *eventfds;           /* PCIBarEventfd, for pci_bar_add_eventfd */
} PCIBar;

typedef struct PCIBarEventfd {
    uint64_t offset;
    int fd;
} PCIBarEventfd;

/* Hooks for registers with side effects; defaults act on config[]. */
typedef uint32_t (*PCIConfigReadFunc)(PCIDevice *d, uint32_t off,
                                      unsigned len);
typedef void (*PCIConfigWriteFunc)(PCIDevice *d, uint32_t off,
                                   uint32_t val, unsigned len);

struct PCIDevice {
    DeviceState qdev;           /* first */
    PCIBus *bus;                /* NULL until registered */
    int devfn;
    char *name;                 /* the type name, as QEMU's errors use it */
    /* Current registers, bits the guest may write, bits it clears by
     * writing ones, and the state qvmm's "firmware" left (for reset). */
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t wmask[PCI_CONFIG_SPACE_SIZE];
    uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE];
    uint8_t fw_config[PCI_CONFIG_SPACE_SIZE];
    PCIBar bars[PCI_NUM_BARS];
    PCIConfigReadFunc config_read;    /* or NULL */
    PCIConfigWriteFunc config_write;  /* or NULL */
    int irq_level;              /* INTx as the device drives it */
    bool intx_asserted;         /* ... and as it reaches the GSI */
    /* The "addr" property (SLOT[.FN], hex), NULL for the first free slot. */
    char *addr;
    /* For pci_intx_notify(): is the device's interrupt condition still
     * true?  (BQL held.) */
    bool (*intx_pending)(PCIDevice *d);
    struct PCIIntxNotifier *intx_notifier;  /* pci.c's, for INTx above */
    bool intx_blocked;          /* INTx disable as the notifier last saw it */
    struct MSIXState *msix;                 /* msix.c's, or NULL */
    /* Config bytes taken by the header and capabilities. */
    bool cap_used[PCI_CONFIG_SPACE_SIZE];
};

/* The "addr" property for a PCI device type's Property list. */
#define DEFINE_PCI_ADDR_PROP(_state, _field) \
    DEFINE_PROP("addr", PROP_STRING, _state, _field.addr, NULL)

/*
 * The machine's bus 0 ("pci.0"): claims ports 0xcf8-0xcff and forwards
 * byte accesses at 0xcf9 to @rcr.  @below_4g/@above_4g place the BAR
 * windows.  One bus per process.
 */
PCIBus *pci_bus_new(uint64_t below_4g, uint64_t above_4g,
                    ResetControlState *rcr, GError **errp);
PCIBus *pci_bus_get(void);      /* NULL when there is none */
void pci_bus_free(PCIBus *bus);
/*
 * Record every device's current registers as its reset state; the
 * machine calls this once all devices are created.  (pci_register_device
 * and pci_register_bar record it too, so set the registers first.)
 */
void pci_bus_machine_done(PCIBus *bus);
PCIDevice *pci_bus_device(PCIBus *bus, int devfn);
/*
 * The 64-bit BAR window above RAM: QEMU's start (4 GiB + RAM above 4 GiB,
 * rounded up to 1 GiB) and qvmm's size.
 */
#define PCI_HOLE64_SIZE          (32ULL << 30)
static inline uint64_t pci_hole64_start(uint64_t above_4g)
{
    uint64_t gib = 1ULL << 30;

    return (0x100000000ULL + above_4g + gib - 1) & ~(gib - 1);
}

/*
 * Parse an "addr" value: "SLOT" or "SLOT.FN" in hex, slot <= 0x1f,
 * function <= 7.  NULL or "" gives -1 (first free slot).  The error is
 * QEMU's: "Property 'T.addr' doesn't take value 'V'".
 */
bool pci_parse_devfn(const char *addr, const char *type, int *devfn,
                     GError **errp);
/*
 * Put @d on @bus at @devfn, or the first free slot (function 0, from
 * slot 0 up) when @devfn is -1; QEMU's errors for clashes.  Sets the
 * subsystem ids to QEMU's when the device left them zero, and the
 * interrupt line to the GSI the DSDT's _PRT gives for its pin.
 */
bool pci_register_device(PCIBus *bus, PCIDevice *d, const char *name,
                         int devfn, GError **errp);
/* Take @d off its bus, unmapping its BARs and dropping its INTx. */
void pci_unregister_device(PCIDevice *d);
/* For the realize() of a PCI device type: place it by its "addr". */
bool pci_realize_device(PCIDevice *d, GError **errp);

void pci_config_set_ids(PCIDevice *d, uint16_t vendor, uint16_t device,
                        uint8_t revision, uint32_t class_code);

/*
 * Declare BAR @bar (a 64-bit BAR also takes @bar + 1) of @size bytes, a
 * power of two; @ops get offsets relative to the BAR.  qvmm assigns the
 * address and turns on decoding in the command register.  False (with
 * @errp) when the window is full or the BAR invalid.
 */
bool pci_register_bar(PCIDevice *d, unsigned bar, PCIBarType type,
                      uint64_t size, const IORegionOps *ops, void *opaque,
                      GError **errp);

/* Config space as the host sees it (mask-checked write, hooks called). */
uint32_t pci_default_read_config(PCIDevice *d, uint32_t off, unsigned len);
void pci_default_write_config(PCIDevice *d, uint32_t off, uint32_t val,
                              unsigned len);
/* A config cycle addressed to bus 0, @devfn: all-ones with no device. */
uint32_t pci_bus_config_read(PCIBus *bus, int devfn, uint32_t off,
                             unsigned len);
void pci_bus_config_write(PCIBus *bus, int devfn, uint32_t off,
                          uint32_t val, unsigned len);

/* Drive the device's INTx pin (config[PCI_INTERRUPT_PIN], 1 = INTA). */
void pci_set_irq(PCIDevice *d, int level);

/*
 * Capabilities.  pci_add_capability() links a capability of @size bytes
 * with id @cap_id into the list at @offset (0: the first free, 4-aligned,
 * place after the header), sets PCI_STATUS_CAP_LIST, and returns its
 * offset, or 0 with @errp when it does not fit.
 */
#define PCI_CAP_ID_VNDR          0x09
uint8_t pci_add_capability(PCIDevice *d, uint8_t cap_id, uint8_t offset,
                           uint8_t size, GError **errp);

/*
 * ioeventfds: a guest write of any size to BAR @bar at @offset signals
 * @fd instead of reaching the BAR's write op.  Under KVM the kernel does
 * it (KVM_IOEVENTFD, re-registered when the BAR moves, dropped while it
 * is not decoded), so the vCPU does not even leave the guest; otherwise
 * the dispatch code writes the eventfd.  The fd stays the caller's.
 */
bool pci_bar_add_eventfd(PCIDevice *d, unsigned bar, uint64_t offset,
                         int fd, GError **errp);
void pci_bar_del_eventfd(PCIDevice *d, unsigned bar, uint64_t offset);

/*
 * INTx for devices that raise it from I/O threads.  pci_intx_notify()
 * (any thread, no lock) asserts the pin; under KVM it writes an irqfd
 * with a resample fd, so the line drops at the guest's EOI and the PCI
 * code (main loop, BQL) re-asserts it while d->intx_pending(d) still
 * says true.  Without KVM it is pci_set_irq(d, 1) run on the main loop.
 * pci_intx_lower() (BQL held) drops the pin once the device's condition
 * clears, e.g. when the guest reads virtio's ISR.
 */
void pci_intx_notify(PCIDevice *d);
void pci_intx_lower(PCIDevice *d);

/*
 * What the accelerator offers for interrupts raised by a write to an
 * eventfd (KVM's GSI routing and irqfds; BQL held, 0 or -errno, a GSI
 * from add_msi_route).  Unset, as under qtest, the PCI code delivers
 * from the main loop instead.
 */
typedef struct PCIIrqAccelOps {
    int (*add_msi_route)(uint64_t addr, uint32_t data);
    int (*update_msi_route)(int gsi, uint64_t addr, uint32_t data);
    void (*release_msi_route)(int gsi);
    int (*irqfd_assign)(int fd, int gsi, int resample_fd);
    int (*irqfd_deassign)(int fd, int gsi);
} PCIIrqAccelOps;
void pci_set_irq_accel_ops(const PCIIrqAccelOps *ops);
const PCIIrqAccelOps *pci_irq_accel_ops(void);

/*
 * The GSI a slot's pin (0 = INTA) reaches, as the DSDT's _PRT says:
 * QEMU's PIIX routing, PIRQ (slot + pin - 1) % 4 with PIRQA-D on 10, 10,
 * 11, 11 (SeaBIOS's choice) and slot 1 INTA on the SCI (9, QEMU's LNKS).
 */
#define PCI_SCI_GSI              9
static inline unsigned pci_slot_pin_gsi(unsigned slot, unsigned pin)
{
    static const uint8_t pirq_gsi[4] = { 10, 10, 11, 11 };

    if (slot == 1 && pin == 0) {
        return PCI_SCI_GSI;
    }
    return pirq_gsi[(slot + pin + 3) & 3];
}

static inline uint16_t pci_get_word(const uint8_t *p)
{
    return p[0] | (p[1] << 8);
}
static inline void pci_set_word(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}
static inline uint32_t pci_get_long(const uint8_t *p)
{
    return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline void pci_set_long(uint8_t *p, uint32_t v)
{
    pci_set_word(p, v);
    pci_set_word(p + 2, v >> 16);
}

#endif
