/*
 * -drive and -blockdev: QEMU's option surface for raw images, with its
 * error texts.  Every named node becomes a BlockBackend that a device can
 * name in drive=; -drive ids live in the same namespace.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "hw/qdev.h"
#include "block/block_int.h"
#include <json-glib/json-glib.h>

/* if=virtio drives, created as devices after the -device ones. */
typedef struct VirtioDrive {
    char *id;
    char *arg;          /* the -drive argument, for error locations */
} VirtioDrive;

static GPtrArray *virtio_drives;
static GHashTable *drive_ids;      /* every -drive id */
static unsigned if_counters[2];    /* next unit for if=virtio, if=none */

static const char *const qemu_formats[] = {
    "qcow2", "qcow", "vmdk", "vdi", "vhdx", "vpc", "qed", "luks", "dmg",
    "parallels", "cloop", "bochs", "vvfat", "blkdebug", "nbd", "iscsi",
    "rbd", "ssh", "http", "https", "nvme", "host_device", "host_cdrom",
    "throttle", "copy-on-read", "null-co", "null-aio", "quorum",
    "compress", "preallocate", "replication", "blkverify", "ftp", "ftps",
    "gluster", "io_uring", "snapshot-access", NULL
};

void blockdev_reset(void)
{
    if (virtio_drives) {
        g_ptr_array_free(virtio_drives, TRUE);
        virtio_drives = NULL;
    }
    if (drive_ids) {
        g_hash_table_destroy(drive_ids);
        drive_ids = NULL;
    }
    memset(if_counters, 0, sizeof(if_counters));
}

static void virtio_drive_free(gpointer p)
{
    VirtioDrive *d = p;

    g_free(d->id);
    g_free(d->arg);
    g_free(d);
}

static void init_tables(void)
{
    if (!drive_ids) {
        drive_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          NULL);
        virtio_drives = g_ptr_array_new_with_free_func(virtio_drive_free);
    }
}

static bool unsupported_format(const char *fmt, GError **errp)
{
    if (g_strv_contains(qemu_formats, fmt)) {
        error_setg(errp, "Block driver '%s' is not supported by qvmm "
                   "(only raw images: format=raw)", fmt);
    } else {
        error_setg(errp, "Unknown driver '%s'", fmt);
    }
    return false;
}

/* First-sector signatures of the formats QEMU probes for. */
const char *block_probe_format(const uint8_t *buf, size_t len)
{
    static const struct {
        const char *name;
        size_t off;
        const char *magic;
        size_t len;
    } sigs[] = {
        { "qcow2", 0, "QFI\xfb\0\0\0\3", 8 },
        { "qcow2", 0, "QFI\xfb\0\0\0\2", 8 },
        { "qcow", 0, "QFI\xfb\0\0\0\1", 8 },
        { "vmdk", 0, "KDMV", 4 },
        { "vmdk", 0, "# Disk DescriptorFile", 21 },
        { "vdi", 64, "\x7f\x10\xda\xbe", 4 },
        { "vhdx", 0, "vhdxfile", 8 },
        { "vpc", 0, "conectix", 8 },
        { "qed", 0, "QED\0", 4 },
        { "luks", 0, "LUKS\xba\xbe", 6 },
        { "parallels", 0, "WithoutFreeSpace", 16 },
        { "parallels", 0, "WithouFreSpacExt", 16 },
        { "bochs", 0, "Bochs Virtual HD Image", 22 },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(sigs); i++) {
        if (len >= sigs[i].off + sigs[i].len &&
            !memcmp(buf + sigs[i].off, sigs[i].magic, sigs[i].len)) {
            return sigs[i].name;
        }
    }
    return NULL;
}

/* No format=: look at block 0, as QEMU does; raw gets its warning. */
static bool probe_format(BlockFile *f, bool *probed, GError **errp)
{
    uint8_t buf[512] = { 0 };
    ssize_t n = pread(f->fd, buf, sizeof(buf), 0);
    const char *fmt;

    if (f->direct) {
        int ret = bfile_preadv(f, 0, &(struct iovec){ buf, sizeof(buf) }, 1);
        n = ret < 0 ? ret : (ssize_t)MIN(bfile_size(f), (int64_t)sizeof(buf));
    }
    if (n < 0) {
        error_setg_errno(errp, errno, "Could not read image for determining "
                         "its format");
        return false;
    }
    fmt = block_probe_format(buf, (size_t)n);
    if (fmt) {
        error_setg(errp, "Image '%s' is in %s format, which qvmm does not "
                   "support (only raw)", f->filename, fmt);
        return false;
    }
    error_printf("WARNING: Image format was not specified for '%s' and "
                 "probing guessed raw.\n"
                 "         Automatically detecting the format is dangerous "
                 "for raw images, write operations on block 0 will be "
                 "restricted.\n"
                 "         Specify the 'raw' format explicitly to remove "
                 "the restrictions.\n", f->filename);
    *probed = true;
    return true;
}

/* -drive ids and node names share one namespace. */
static bool check_node_name(const char *name, bool is_drive_id,
                            GError **errp)
{
    init_tables();
    if (!is_drive_id && (!id_wellformed(name))) {
        error_setg(errp, "Invalid node-name: '%s'", name);
        return false;
    }
    if (!is_drive_id && strlen(name) > 31) {
        error_setg(errp, "Node name too long");
        return false;
    }
    if (is_drive_id && blk_by_name(name) &&
        !g_hash_table_contains(drive_ids, name)) {
        error_setg(errp, "Device name '%s' conflicts with an existing node "
                   "name", name);
        return false;
    }
    if (!is_drive_id && g_hash_table_contains(drive_ids, name)) {
        error_setg(errp, "node-name=%s is conflicting with a device id",
                   name);
        return false;
    }
    if (!is_drive_id && blk_by_name(name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'", name);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- -drive */

typedef struct DriveParams {
    const char *file, *format, *id, *iface;
    bool writeback, direct, no_flush, read_only, auto_read_only, discard;
    bool locking;
    BlockAioMode aio;
    BlockdevOnError werror, rerror;
    const char *serial, *node_name;
} DriveParams;

static const char *const drive_unsupported[] = {
    "index", "bus", "unit", "media", "snapshot", "copy-on-read", "addr",
    "boot", "trans", "cyls", "heads", "secs", "group", "throttling.group",
    "bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr", "iops_size",
    "bps_max", "bps_rd_max", "bps_wr_max", "iops_max", "iops_rd_max",
    "iops_wr_max", "force-share", NULL
};

static const char *const drive_keys[] = {
    "file", "if", "format", "id", "cache", "aio", "readonly", "discard",
    "werror", "rerror", "serial", "detect-zeroes", "read-only",
    "auto-read-only", "cache.direct", "cache.no-flush", "cache.writeback",
    "node-name", "file.locking", "file.filename", "file.driver", "file.aio",
    NULL
};

static bool parse_on_error(const char *v, bool is_read,
                           BlockdevOnError *out, GError **errp)
{
    int e = blockdev_on_error_parse(v);

    /* -drive knows no "auto", and ENOSPC cannot happen on a read. */
    if (e < 0 || e == BLOCKDEV_ON_ERROR_AUTO ||
        (is_read && e == BLOCKDEV_ON_ERROR_ENOSPC)) {
        error_setg(errp, "'%s' invalid %s error action", v,
                   is_read ? "read" : "write");
        return false;
    }
    *out = e;
    return true;
}

static bool parse_aio(const char *v, BlockAioMode *aio, bool blockdev,
                      GError **errp)
{
    if (!strcmp(v, "threads")) {
        *aio = BLOCK_AIO_THREADS;
    } else if (!strcmp(v, "native")) {
        *aio = BLOCK_AIO_NATIVE;
    } else if (!strcmp(v, "io_uring")) {
        error_setg(errp, "aio=io_uring is not supported by qvmm (use "
                   "threads or native)");
        return false;
    } else {
        if (blockdev) {
            error_setg(errp, "Parameter 'aio' does not accept value '%s'", v);
        } else {
            error_setg(errp, "invalid aio option");
        }
        return false;
    }
    return true;
}

static bool drive_check_keys(const QOpts *opts, const char *fmt,
                             GError **errp)
{
    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *o = g_ptr_array_index(opts->items, i);

        if (g_strv_contains(drive_unsupported, o->key) ||
            g_str_has_prefix(o->key, "throttling.")) {
            error_setg(errp, "-drive option '%s' is not supported by qvmm",
                       o->key);
            return false;
        }
        if (!g_strv_contains(drive_keys, o->key)) {
            error_setg(errp, "Block %s '%s' does not support the option "
                       "'%s'", strcmp(fmt, "file") ? "format" : "protocol",
                       fmt, o->key);
            return false;
        }
    }
    return true;
}

static bool drive_check_if(const char *iface, GError **errp)
{
    static const char *const qemu_only[] = { "ide", "floppy", "pflash",
                                             "xen", NULL };
    static const char *const machine_lacks[] = { "scsi", "sd", "mtd", NULL };

    if (!iface) {
        error_setg(errp, "-drive without if= is an IDE disk on the pc "
                   "machine, which qvmm lacks: use if=virtio or if=none "
                   "with -device virtio-blk-pci");
        return false;
    }
    if (!strcmp(iface, "virtio") || !strcmp(iface, "none")) {
        return true;
    }
    if (g_strv_contains(machine_lacks, iface)) {
        error_setg(errp, "machine type does not support if=%s,bus=0,unit=0",
                   iface);
    } else if (g_strv_contains(qemu_only, iface)) {
        error_setg(errp, "if=%s is not supported by qvmm (use if=virtio or "
                   "if=none)", iface);
    } else {
        error_setg(errp, "unsupported bus type '%s'", iface);
    }
    return false;
}

static bool drive_parse_cache(const QOpts *opts, DriveParams *p,
                              GError **errp)
{
    const char *cache = qopts_get(opts, "cache");

    p->writeback = true;
    if (cache && !blk_parse_cache_mode(cache, &p->writeback, &p->direct,
                                       &p->no_flush)) {
        error_setg(errp, "invalid cache option");
        return false;
    }
    /* Explicit cache.* keys win over cache=, as in QEMU. */
    return qopts_get_bool(opts, "cache.writeback", p->writeback,
                          &p->writeback, errp) &&
           qopts_get_bool(opts, "cache.direct", p->direct, &p->direct,
                          errp) &&
           qopts_get_bool(opts, "cache.no-flush", p->no_flush, &p->no_flush,
                          errp);
}

static bool drive_parse_misc(const QOpts *opts, DriveParams *p,
                             GError **errp)
{
    const char *v;
    bool ro;

    if (!qopts_get_bool(opts, "readonly", false, &ro, NULL)) {
        error_setg(errp, "Parameter 'read-only' expects 'on' or 'off'");
        return false;
    }
    if (!qopts_get_bool(opts, "read-only", ro, &p->read_only, errp) ||
        !qopts_get_bool(opts, "auto-read-only", false, &p->auto_read_only,
                        errp)) {
        return false;
    }
    v = qopts_get(opts, "discard");
    if (v && strcmp(v, "ignore") && strcmp(v, "off") && strcmp(v, "unmap") &&
        strcmp(v, "on")) {
        error_setg(errp, "Invalid discard option");
        return false;
    }
    p->discard = v && (!strcmp(v, "unmap") || !strcmp(v, "on"));
    v = qopts_get(opts, "detect-zeroes");
    if (v && strcmp(v, "off")) {
        error_setg(errp, "detect-zeroes=%s is not supported by qvmm", v);
        return false;
    }
    v = qopts_get(opts, "file.locking");
    if (v && strcmp(v, "on") && strcmp(v, "off") && strcmp(v, "auto")) {
        error_setg(errp, "invalid parameter value: %s", v);
        return false;
    }
    p->locking = !v || strcmp(v, "off");
    v = qopts_get(opts, "aio") ? qopts_get(opts, "aio")
                               : qopts_get(opts, "file.aio");
    p->aio = BLOCK_AIO_THREADS;
    if (v && !parse_aio(v, &p->aio, false, errp)) {
        return false;
    }
    p->werror = BLOCKDEV_ON_ERROR_ENOSPC;
    p->rerror = BLOCKDEV_ON_ERROR_REPORT;
    if ((v = qopts_get(opts, "werror")) &&
        !parse_on_error(v, false, &p->werror, errp)) {
        return false;
    }
    if ((v = qopts_get(opts, "rerror")) &&
        !parse_on_error(v, true, &p->rerror, errp)) {
        return false;
    }
    return true;
}

static bool drive_parse(const QOpts *opts, DriveParams *p, GError **errp)
{
    const char *fdrv = qopts_get(opts, "file.driver");

    p->id = qopts_get(opts, "id");
    p->iface = qopts_get(opts, "if");
    p->format = qopts_get(opts, "format");
    p->serial = qopts_get(opts, "serial");
    p->node_name = qopts_get(opts, "node-name");
    if (p->format && strcmp(p->format, "raw") && strcmp(p->format, "file")) {
        return unsupported_format(p->format, errp);
    }
    if (!drive_check_keys(opts, p->format ? p->format : "raw", errp) ||
        !drive_check_if(p->iface, errp)) {
        return false;
    }
    if (p->id && !id_wellformed(p->id)) {
        error_setg(errp, "Parameter 'id' expects an identifier\n"
                   "Identifiers consist of letters, digits, '-', '.', '_', "
                   "starting with a letter.");
        return false;
    }
    if (fdrv && strcmp(fdrv, "file")) {
        return unsupported_format(fdrv, errp);
    }
    p->file = qopts_get(opts, "file");
    if (p->file && qopts_get(opts, "file.filename")) {
        error_setg(errp, "Can't specify 'file' and 'filename' options at "
                   "the same time");
        return false;
    }
    if (!p->file) {
        p->file = qopts_get(opts, "file.filename");
    }
    if (!p->file || !*p->file) {
        error_setg(errp, "A block device must be specified for \"file\"");
        return false;
    }
    if (!drive_parse_cache(opts, p, errp) || !drive_parse_misc(opts, p, errp)) {
        return false;
    }
    if (p->aio == BLOCK_AIO_NATIVE && !p->direct) {
        error_setg(errp, "aio=native was specified, but it requires "
                   "cache.direct=on, which was not specified.");
        return false;
    }
    return true;
}

/* The -drive id, or QEMU's name for it: the interface and the first
 * free unit on it (counting drives that have ids). */
static char *drive_id(const DriveParams *p, bool virtio, GError **errp)
{
    unsigned *counter = &if_counters[virtio ? 0 : 1];
    char *id;

    if (p->id) {
        if (g_hash_table_contains(drive_ids, p->id)) {
            error_setg(errp, "Duplicate ID '%s' for drive", p->id);
            return NULL;
        }
        (*counter)++;
        return g_strdup(p->id);
    }
    id = g_strdup_printf("%s%u", p->iface, (*counter)++);
    while (g_hash_table_contains(drive_ids, id)) {
        g_free(id);
        id = g_strdup_printf("%s%u", p->iface, (*counter)++);
    }
    return id;
}

static BlockBackend *drive_backend(const DriveParams *p, BlockFile *f,
                                   const char *name, bool probed,
                                   GError **errp)
{
    return blk_new(f, &(BlockBackendOpts){
        .name = name, .from_drive = name == p->id, .read_only = f->read_only,
        .discard = p->discard, .no_flush = p->no_flush,
        .writeback = p->writeback, .probed = probed, .werror = p->werror,
        .rerror = p->rerror, .serial = p->serial,
        .drive_node_name = p->node_name, .drive_alias = name != p->id,
        .unnamed_file = name == p->id }, errp);
}

static bool drive_open(const QOpts *opts, const char *arg, GError **errp)
{
    DriveParams p = { 0 };
    g_autofree char *id = NULL;
    BlockFile *f;
    bool probed = false, virtio, ok;

    init_tables();
    if (!drive_parse(opts, &p, errp)) {
        return false;
    }
    virtio = !strcmp(p.iface, "virtio");
    id = drive_id(&p, virtio, errp);
    p.id = id;
    if (!id || !check_node_name(id, true, errp) ||
        (p.node_name && !check_node_name(p.node_name, false, errp))) {
        return false;
    }
    f = bfile_open(&(BlockFileOpts){
        .filename = p.file, .read_only = p.read_only,
        .auto_read_only = p.auto_read_only, .direct = p.direct,
        .locking = p.locking, .aio = p.aio }, errp);
    if (!f) {
        return false;
    }
    ok = (p.format || probe_format(f, &probed, errp)) &&
         drive_backend(&p, f, id, probed, errp) &&
         (!p.node_name || drive_backend(&p, f, p.node_name, probed, errp));
    bfile_unref(f);
    if (!ok) {
        return false;
    }
    g_hash_table_add(drive_ids, g_strdup(id));
    if (virtio) {
        VirtioDrive *d = g_new0(VirtioDrive, 1);

        d->id = g_strdup(id);
        d->arg = g_strdup(arg);
        g_ptr_array_add(virtio_drives, d);
    }
    return true;
}

bool drive_add(const char *optarg, GError **errp)
{
    g_autoptr(QOpts) opts = qopts_parse(optarg, NULL, errp);

    return opts && drive_open(opts, optarg, errp);
}

bool drive_create_devices(GError **errp)
{
    init_tables();
    for (guint i = 0; i < virtio_drives->len; i++) {
        VirtioDrive *d = g_ptr_array_index(virtio_drives, i);
        DeviceState *dev = qdev_new("virtio-blk-pci");

        if (d->arg) {
            loc_set_cmdline("-drive", d->arg);
        }
        if (!dev) {
            error_setg(errp, "'virtio-blk-pci' is not a valid device model "
                       "name");
            return false;
        }
        qdev_set_id(dev, NULL);
        if (!qdev_set_prop(dev, "drive", d->id, errp) ||
            !qdev_realize(dev, errp)) {
            qdev_destroy(dev);
            return false;
        }
        loc_clear();
    }
    return true;
}
