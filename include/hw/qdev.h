/*
 * The device registry: one object model for -device (and later
 * device_add and device-list-properties).
 *
 * A device type lists typed properties with their offsets into the
 * instance; qdev_new_from_opts() checks and stores them, then realize()
 * wires the device into the machine.  "Property 'T.x' not found" and type
 * errors therefore read the same for every device.
 */
#ifndef HW_QDEV_H
#define HW_QDEV_H

#include "qemu/osdep.h"
#include "qemu/option.h"

typedef struct DeviceState DeviceState;

typedef enum PropertyType {
    PROP_BOOL,        /* bool */
    PROP_UINT8,       /* uint8_t */
    PROP_UINT16,      /* uint16_t */
    PROP_UINT32,      /* uint32_t */
    PROP_UINT64,      /* uint64_t */
    PROP_SIZE,        /* uint64_t, size suffixes allowed */
    PROP_STRING,      /* char *, g_free'd with the device */
    PROP_CHARDEV,     /* Chardev *, looked up by id */
} PropertyType;

typedef struct Property {
    const char *name;
    PropertyType type;
    size_t offset;          /* in the instance struct */
    const char *defval;     /* default as text, parsed at creation; or NULL */
    const char *description;
} Property;

/* DEFINE_PROP("iobase", PROP_UINT32, MyState, iobase, "0x501") */
#define DEFINE_PROP(_name, _type, _state, _field, _defval) \
    { .name = (_name), .type = (_type), \
      .offset = offsetof(_state, _field), .defval = (_defval) }
#define DEFINE_PROP_END_OF_LIST() { .name = NULL }

/* The groups "-device help" lists devices in, in QEMU's order. */
typedef enum DeviceCategory {
    DEVICE_CATEGORY_NONE,             /* "Uncategorized", listed last */
    DEVICE_CATEGORY_BRIDGE,
    DEVICE_CATEGORY_USB,
    DEVICE_CATEGORY_STORAGE,
    DEVICE_CATEGORY_NETWORK,
    DEVICE_CATEGORY_INPUT,
    DEVICE_CATEGORY_DISPLAY,
    DEVICE_CATEGORY_SOUND,
    DEVICE_CATEGORY_MISC,
    DEVICE_CATEGORY_CPU,
    DEVICE_CATEGORY_WATCHDOG,
    DEVICE_CATEGORY_MAX,
} DeviceCategory;

typedef struct DeviceClass {
    const char *name;                 /* "isa-debug-exit" */
    const char *bus;                  /* "isa", "pci", or NULL */
    const char *desc;
    const char *alias;                /* "virtio-blk" for virtio-blk-pci */
    DeviceCategory category;
    size_t instance_size;             /* starts with DeviceState */
    const Property *props;            /* terminated by {NULL} */
    bool user_creatable;
    bool (*realize)(DeviceState *dev, GError **errp);
    void (*reset)(DeviceState *dev);  /* machine reset; may be NULL */
    void (*finalize)(DeviceState *dev);
} DeviceClass;

struct DeviceState {
    const DeviceClass *klass;
    char *id;                         /* may be NULL */
    unsigned anon_index;              /* user-created without id: N + 1 */
    bool realized;
};

void qdev_register_type(const DeviceClass *dc);
const DeviceClass *qdev_find_type(const char *name);
/* NULL-terminated, sorted by name; g_free the array. */
const DeviceClass **qdev_list_types(void);

/*
 * -device DRIVER,prop=val,...: @opts parsed with implied key "driver".
 * Errors as QEMU words them, e.g. "'foo' is not a valid device model name".
 */
DeviceState *qdev_new_from_opts(const QOpts *opts, GError **errp);
/*
 * The three steps by hand: qdev_new() makes an unrealized instance with
 * its defaults (NULL for an unknown type), properties are set from text
 * (or fields directly, by the device's own create function), then
 * qdev_realize().  On a realize failure the caller qdev_destroy()s it.
 */
DeviceState *qdev_new(const char *type);
bool qdev_set_prop(DeviceState *dev, const char *name, const char *value,
                   GError **errp);
bool qdev_realize(DeviceState *dev, GError **errp);
DeviceState *qdev_find_by_id(const char *id);
/*
 * A user-created device (-device, -drive if=virtio) takes @id, or without
 * one the next /machine/peripheral-anon/device[N] slot, as in QEMU.
 */
void qdev_set_id(DeviceState *dev, const char *id);
/* QEMU's QOM path of a device: /machine/peripheral/ID and so on. */
char *qdev_get_canonical_path(const DeviceState *dev);
/* Unrealize (finalize) and free one device, realized or not. */
void qdev_destroy(DeviceState *dev);
void qdev_reset_all(void);
void qdev_destroy_all(void);

/*
 * Buses the machine provides, by QEMU name: qdev_register_bus("isa.0",
 * "isa").  A device whose class names a bus can only be created once a
 * bus of that type exists ("No 'ISA' bus found for device ...").
 */
void qdev_register_bus(const char *name, const char *type);

/*
 * -device help, -device T,help (or "?"): print QEMU's listing on stdout
 * and return true; the caller then exits 0, as QEMU does even when the
 * type is unknown (the error is reported first).  False: not a help
 * request.
 */
bool qdev_device_help(const QOpts *opts);
/* The "-device help" listing of user-creatable types. */
void qdev_print_types(void);
/* The "-device T,help" listing; false with @errp set if T is unknown. */
bool qdev_print_props(const char *type, GError **errp);

#define type_init(fn) \
    static void __attribute__((constructor)) do_type_init_##fn(void) { fn(); }

#endif
