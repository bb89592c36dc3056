/*
 * The device registry: types with typed properties, instances created
 * from -device options or by the machine, and the help listings.
 *
 * Property errors are worded as QEMU 7.2 words them when -device goes
 * through its keyval visitor, so scripts that match on them keep working.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "chardev/char.h"
#include "hw/qdev.h"

typedef struct BusEntry {
    char *name;                 /* "isa.0" */
    char *type;                 /* "isa" */
} BusEntry;

static GPtrArray *types;        /* const DeviceClass*, registration order */
static GPtrArray *devices;      /* DeviceState*, creation order */
static GPtrArray *buses;        /* BusEntry* */

static const char *const category_names[DEVICE_CATEGORY_MAX] = {
    [DEVICE_CATEGORY_NONE] = "Uncategorized",
    [DEVICE_CATEGORY_BRIDGE] = "Controller/Bridge/Hub",
    [DEVICE_CATEGORY_USB] = "USB",
    [DEVICE_CATEGORY_STORAGE] = "Storage",
    [DEVICE_CATEGORY_NETWORK] = "Network",
    [DEVICE_CATEGORY_INPUT] = "Input",
    [DEVICE_CATEGORY_DISPLAY] = "Display",
    [DEVICE_CATEGORY_SOUND] = "Sound",
    [DEVICE_CATEGORY_MISC] = "Misc",
    [DEVICE_CATEGORY_CPU] = "CPU",
    [DEVICE_CATEGORY_WATCHDOG] = "Watchdog",
};

/* ---- types ---- */

void qdev_register_type(const DeviceClass *dc)
{
    if (!types) {
        types = g_ptr_array_new();
    }
    g_assert(!qdev_find_type(dc->name));
    g_ptr_array_add(types, (gpointer)dc);
}

const DeviceClass *qdev_find_type(const char *name)
{
    for (guint i = 0; types && i < types->len; i++) {
        const DeviceClass *dc = g_ptr_array_index(types, i);
        if (!strcmp(dc->name, name)) {
            return dc;
        }
    }
    return NULL;
}

/* A type by name or, failing that, by its alias ("virtio-blk"). */
static const DeviceClass *find_type_or_alias(const char *name)
{
    const DeviceClass *dc = qdev_find_type(name);

    for (guint i = 0; !dc && types && i < types->len; i++) {
        const DeviceClass *t = g_ptr_array_index(types, i);
        if (t->alias && !strcmp(t->alias, name)) {
            dc = t;
        }
    }
    return dc;
}

/* QEMU sorts type listings case-insensitively. */
static gint type_cmp(gconstpointer a, gconstpointer b)
{
    const DeviceClass *x = *(const DeviceClass *const *)a;
    const DeviceClass *y = *(const DeviceClass *const *)b;
    return g_ascii_strcasecmp(x->name, y->name);
}

const DeviceClass **qdev_list_types(void)
{
    guint n = types ? types->len : 0;
    const DeviceClass **list = g_new0(const DeviceClass *, n + 1);

    for (guint i = 0; i < n; i++) {
        list[i] = g_ptr_array_index(types, i);
    }
    qsort(list, n, sizeof(*list), type_cmp);
    return list;
}

/* ---- property values ---- */

static void *prop_ptr(DeviceState *dev, const Property *p)
{
    return (char *)dev + p->offset;
}

static bool set_uint(const Property *p, const char *value, void *ptr,
                     GError **errp)
{
    static const struct {
        uint64_t max;
        const char *name;
    } limits[] = {
        [PROP_UINT8] = { UINT8_MAX, "uint8_t" },
        [PROP_UINT16] = { UINT16_MAX, "uint16_t" },
        [PROP_UINT32] = { UINT32_MAX, "uint32_t" },
        [PROP_UINT64] = { UINT64_MAX, "uint64_t" },
    };
    uint64_t v;

    if (qemu_strtou64(value, &v) < 0) {
        error_setg(errp, "Parameter '%s' expects integer", p->name);
        return false;
    }
    if (v > limits[p->type].max) {
        error_setg(errp, "Parameter '%s' expects %s", p->name,
                   limits[p->type].name);
        return false;
    }
    switch (p->type) {
    case PROP_UINT8:
        *(uint8_t *)ptr = v;
        break;
    case PROP_UINT16:
        *(uint16_t *)ptr = v;
        break;
    case PROP_UINT32:
        *(uint32_t *)ptr = v;
        break;
    default:
        *(uint64_t *)ptr = v;
        break;
    }
    return true;
}

static bool set_chardev(DeviceState *dev, const Property *p,
                        const char *value, Chardev **ptr, GError **errp)
{
    Chardev *chr;

    if (!*value) {
        *ptr = NULL;
        return true;
    }
    chr = qemu_chr_find(value);
    if (!chr) {
        error_setg(errp, "Property '%s.%s' can't find value '%s'",
                   dev->klass->name, p->name, value);
        return false;
    }
    *ptr = chr;
    return true;
}

static bool prop_set(DeviceState *dev, const Property *p, const char *value,
                     GError **errp)
{
    void *ptr = prop_ptr(dev, p);
    uint64_t size;

    switch (p->type) {
    case PROP_BOOL:
        if (strcmp(value, "on") && strcmp(value, "off")) {
            error_setg(errp, "Parameter '%s' expects 'on' or 'off'", p->name);
            return false;
        }
        *(bool *)ptr = !strcmp(value, "on");
        return true;
    case PROP_UINT8:
    case PROP_UINT16:
    case PROP_UINT32:
    case PROP_UINT64:
        return set_uint(p, value, ptr, errp);
    case PROP_SIZE:
        if (qemu_strtosz(value, 'B', &size) < 0) {
            error_setg(errp, "Parameter '%s' expects size", p->name);
            return false;
        }
        *(uint64_t *)ptr = size;
        return true;
    case PROP_STRING:
        g_free(*(char **)ptr);
        *(char **)ptr = g_strdup(value);
        return true;
    case PROP_CHARDEV:
        return set_chardev(dev, p, value, ptr, errp);
    }
    g_assert_not_reached();
}

static const Property *find_prop(const DeviceClass *dc, const char *name)
{
    for (const Property *p = dc->props; p && p->name; p++) {
        if (!strcmp(p->name, name)) {
            return p;
        }
    }
    return NULL;
}

bool qdev_set_prop(DeviceState *dev, const char *name, const char *value,
                   GError **errp)
{
    const Property *p = find_prop(dev->klass, name);

    if (!p) {
        error_setg(errp, "Property '%s.%s' not found", dev->klass->name, name);
        return false;
    }
    if (dev->realized) {
        if (dev->id) {
            error_setg(errp, "Attempt to set property '%s' on device '%s' "
                       "(type '%s') after it was realized",
                       name, dev->id, dev->klass->name);
        } else {
            error_setg(errp, "Attempt to set property '%s' on anonymous "
                       "device (type '%s') after it was realized",
                       name, dev->klass->name);
        }
        return false;
    }
    return prop_set(dev, p, value, errp);
}

/* ---- instances ---- */

DeviceState *qdev_new(const char *type)
{
    const DeviceClass *dc = qdev_find_type(type);
    DeviceState *dev;

    if (!dc) {
        return NULL;
    }
    g_assert(dc->instance_size >= sizeof(DeviceState));
    dev = g_malloc0(dc->instance_size);
    dev->klass = dc;
    for (const Property *p = dc->props; p && p->name; p++) {
        GError *err = NULL;
        if (p->defval && !prop_set(dev, p, p->defval, &err)) {
            g_error("%s.%s: bad default: %s", dc->name, p->name,
                    err->message);
        }
    }
    if (!devices) {
        devices = g_ptr_array_new();
    }
    g_ptr_array_add(devices, dev);
    return dev;
}

bool qdev_realize(DeviceState *dev, GError **errp)
{
    if (dev->realized) {
        return true;
    }
    if (dev->klass->realize && !dev->klass->realize(dev, errp)) {
        return false;
    }
    dev->realized = true;
    return true;
}

DeviceState *qdev_find_by_id(const char *id)
{
    for (guint i = 0; devices && i < devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(devices, i);
        if (dev->id && !strcmp(dev->id, id)) {
            return dev;
        }
    }
    return NULL;
}

void qdev_destroy(DeviceState *dev)
{
    if (!dev) {
        return;
    }
    if (dev->realized && dev->klass->finalize) {
        dev->klass->finalize(dev);
    }
    for (const Property *p = dev->klass->props; p && p->name; p++) {
        if (p->type == PROP_STRING) {
            g_free(*(char **)prop_ptr(dev, p));
        }
    }
    g_ptr_array_remove(devices, dev);
    g_free(dev->id);
    g_free(dev);
}

void qdev_reset_all(void)
{
    for (guint i = 0; devices && i < devices->len; i++) {
        DeviceState *dev = g_ptr_array_index(devices, i);
        if (dev->realized && dev->klass->reset) {
            dev->klass->reset(dev);
        }
    }
}

static void bus_entry_free(gpointer data)
{
    BusEntry *b = data;

    g_free(b->name);
    g_free(b->type);
    g_free(b);
}

void qdev_destroy_all(void)
{
    /* Newest first, so nothing outlives a device it was created on. */
    while (devices && devices->len) {
        qdev_destroy(g_ptr_array_index(devices, devices->len - 1));
    }
    g_clear_pointer(&devices, g_ptr_array_unref);
    g_clear_pointer(&buses, g_ptr_array_unref);
}

/* ---- buses ---- */

void qdev_register_bus(const char *name, const char *type)
{
    BusEntry *b = g_new0(BusEntry, 1);

    if (!buses) {
        buses = g_ptr_array_new_with_free_func(bus_entry_free);
    }
    b->name = g_strdup(name);
    b->type = g_strdup(type);
    g_ptr_array_add(buses, b);
}

/* QEMU names bus types in capitals (TYPE_ISA_BUS is "ISA"). */
static char *bus_type_name(const char *type)
{
    return g_ascii_strup(type, -1);
}

static const BusEntry *find_bus(const char *name, const char *type)
{
    for (guint i = 0; buses && i < buses->len; i++) {
        const BusEntry *b = g_ptr_array_index(buses, i);
        if (name ? !strcmp(b->name, name) : !strcmp(b->type, type)) {
            return b;
        }
    }
    return NULL;
}

static bool check_bus(const DeviceClass *dc, const char *path, GError **errp)
{
    const BusEntry *b;
    g_autofree char *tname = NULL;

    if (path) {
        b = find_bus(path, NULL);
        if (!b) {
            error_setg(errp, "Bus '%s' not found", path);
            return false;
        }
        if (!dc->bus || strcmp(dc->bus, b->type)) {
            tname = bus_type_name(b->type);
            error_setg(errp, "Device '%s' can't go on %s bus", dc->name,
                       tname);
            return false;
        }
        return true;
    }
    if (dc->bus && !find_bus(NULL, dc->bus)) {
        tname = bus_type_name(dc->bus);
        error_setg(errp, "No '%s' bus found for device '%s'", tname,
                   dc->name);
        return false;
    }
    return true;
}

/* ---- -device ---- */

static const DeviceClass *device_class_for(const char *driver, GError **errp)
{
    const DeviceClass *dc;

    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return NULL;
    }
    dc = find_type_or_alias(driver);
    if (!dc) {
        error_setg(errp, "'%s' is not a valid device model name", driver);
        return NULL;
    }
    if (!dc->user_creatable) {
        error_setg(errp, "Parameter 'driver' expects a pluggable device type");
        return NULL;
    }
    return dc;
}

static bool set_props_from_opts(DeviceState *dev, const QOpts *opts,
                                GError **errp)
{
    for (guint i = 0; i < opts->items->len; i++) {
        const QOpt *o = g_ptr_array_index(opts->items, i);
        if (!strcmp(o->key, "driver") || !strcmp(o->key, "bus") ||
            !strcmp(o->key, "id")) {
            continue;
        }
        if (!qdev_set_prop(dev, o->key, o->value, errp)) {
            return false;
        }
    }
    return true;
}

/* QEMU checks ids while parsing the option, before looking at anything. */
static bool check_id(const char *id, GError **errp)
{
    if (!id) {
        return true;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier\n"
                   "Identifiers consist of letters, digits, '-', '.', '_', "
                   "starting with a letter.");
        return false;
    }
    if (qdev_find_by_id(id)) {
        error_setg(errp, "Duplicate ID '%s' for device", id);
        return false;
    }
    return true;
}

void qdev_set_id(DeviceState *dev, const char *id)
{
    static unsigned anon_count;

    g_free(dev->id);
    dev->id = g_strdup(id);
    if (!id) {
        dev->anon_index = ++anon_count;
    }
}

char *qdev_get_canonical_path(const DeviceState *dev)
{
    if (dev->id) {
        return g_strdup_printf("/machine/peripheral/%s", dev->id);
    }
    if (dev->anon_index) {
        return g_strdup_printf("/machine/peripheral-anon/device[%u]",
                               dev->anon_index - 1);
    }
    /* Board devices: QEMU numbers them too, but nothing here asks. */
    return g_strdup("/machine/unattached");
}

DeviceState *qdev_new_from_opts(const QOpts *opts, GError **errp)
{
    const char *id = qopts_get(opts, "id");
    const DeviceClass *dc;
    DeviceState *dev;

    if (!check_id(id, errp)) {
        return NULL;
    }
    dc = device_class_for(qopts_get(opts, "driver"), errp);
    if (!dc || !check_bus(dc, qopts_get(opts, "bus"), errp)) {
        return NULL;
    }
    dev = qdev_new(dc->name);
    qdev_set_id(dev, id);
    if (!set_props_from_opts(dev, opts, errp) || !qdev_realize(dev, errp)) {
        qdev_destroy(dev);
        return NULL;
    }
    return dev;
}

/* ---- help ---- */

static bool is_help_option(const char *s)
{
    return !strcmp(s, "help") || !strcmp(s, "?");
}

static void print_devinfo(const DeviceClass *dc)
{
    printf("name \"%s\"", dc->name);
    if (dc->bus) {
        g_autofree char *tname = bus_type_name(dc->bus);
        printf(", bus %s", tname);
    }
    if (dc->alias) {
        printf(", alias \"%s\"", dc->alias);
    }
    if (dc->desc) {
        printf(", desc \"%s\"", dc->desc);
    }
    printf("\n");
}

void qdev_print_types(void)
{
    g_autofree const DeviceClass **list = qdev_list_types();

    /* QEMU's order: the named categories first, "Uncategorized" last. */
    for (int i = DEVICE_CATEGORY_NONE + 1; i <= DEVICE_CATEGORY_MAX; i++) {
        DeviceCategory cat = i == DEVICE_CATEGORY_MAX ? DEVICE_CATEGORY_NONE
                                                      : i;
        bool printed = false;

        for (const DeviceClass **dc = list; *dc; dc++) {
            if ((*dc)->category != cat || !(*dc)->user_creatable) {
                continue;
            }
            if (!printed) {
                /* Every heading but the very first category's gets a blank
                 * line before it, even when earlier ones were empty. */
                printf("%s%s devices:\n",
                       cat == DEVICE_CATEGORY_BRIDGE ? "" : "\n",
                       category_names[cat]);
                printed = true;
            }
            print_devinfo(*dc);
        }
    }
}

static const char *prop_type_name(PropertyType t)
{
    static const char *const names[] = {
        [PROP_BOOL] = "bool", [PROP_UINT8] = "uint8",
        [PROP_UINT16] = "uint16", [PROP_UINT32] = "uint32",
        [PROP_UINT64] = "uint64", [PROP_SIZE] = "size",
        [PROP_STRING] = "str", [PROP_CHARDEV] = "str",
    };
    return names[t];
}

/* The default as QEMU shows it: the JSON of the parsed value. */
static char *prop_default_json(const Property *p)
{
    uint64_t v;

    if (!p->defval || p->type == PROP_CHARDEV) {
        return NULL;
    }
    switch (p->type) {
    case PROP_BOOL:
        return g_strdup(!strcmp(p->defval, "on") ? "true" : "false");
    case PROP_STRING: {
        g_autofree char *esc = g_strescape(p->defval, NULL);
        return g_strdup_printf("\"%s\"", esc);
    }
    case PROP_SIZE:
        if (qemu_strtosz(p->defval, 'B', &v) < 0) {
            return NULL;
        }
        return g_strdup_printf("%" PRIu64, v);
    default:
        return qemu_strtou64(p->defval, &v) < 0 ? NULL
               : g_strdup_printf("%" PRIu64, v);
    }
}

static const char *prop_description(const Property *p)
{
    if (p->description) {
        return p->description;
    }
    return p->type == PROP_CHARDEV ? "ID of a chardev to use as a backend"
                                   : NULL;
}

/* One line as QEMU's object_property_help() lays it out. */
static char *prop_help_line(const Property *p)
{
    GString *s = g_string_new(NULL);
    g_autofree char *def = prop_default_json(p);
    const char *desc = prop_description(p);

    g_string_append_printf(s, "  %s=<%s>", p->name, prop_type_name(p->type));
    if (desc || def) {
        while (s->len < 24) {
            g_string_append_c(s, ' ');
        }
        g_string_append(s, " - ");
    }
    if (desc) {
        g_string_append(s, desc);
    }
    if (def) {
        g_string_append_printf(s, " (default: %s)", def);
    }
    return g_string_free(s, FALSE);
}

static gint str_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

bool qdev_print_props(const char *type, GError **errp)
{
    const DeviceClass *dc = find_type_or_alias(type);
    g_autoptr(GPtrArray) lines = NULL;

    if (!dc) {
        error_setg(errp, "Device '%s' not found", type);
        return false;
    }
    lines = g_ptr_array_new_with_free_func(g_free);
    for (const Property *p = dc->props; p && p->name; p++) {
        g_ptr_array_add(lines, prop_help_line(p));
    }
    if (lines->len) {
        printf("%s options:\n", dc->name);
    } else {
        printf("There are no options for %s.\n", dc->name);
    }
    g_ptr_array_sort(lines, str_cmp);
    for (guint i = 0; i < lines->len; i++) {
        printf("%s\n", (char *)g_ptr_array_index(lines, i));
    }
    return true;
}

bool qdev_device_help(const QOpts *opts)
{
    const char *driver = qopts_get(opts, "driver");
    GError *err = NULL;

    if (driver && is_help_option(driver)) {
        qdev_print_types();
        return true;
    }
    if (!driver || !opts->help) {
        return false;
    }
    if (!qdev_print_props(driver, &err)) {
        error_report_err(err);
    }
    return true;
}
