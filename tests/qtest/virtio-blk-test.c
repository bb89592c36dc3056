/*
 * virtio-blk-pci driven through virtio-pci-driver.c: identity and
 * configuration against the command line, reads and writes checked in
 * the backing file, flush, discard, write-zeroes, GET_ID, read-only,
 * several queues, reset, I/O errors on a full file system, durability
 * across kill -9, and a hostile driver that must get NEEDS_RESET (or be
 * ignored) without hurting the VMM.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "libqtest.h"
#include "qtest-tap.h"
#include "virtio-pci-driver.h"
#include "qmp-client.h"

#define RAM_SIZE        (128ULL << 20)
#define SECTOR          512
#define IO_TIMEOUT_MS   10000
#define IMG_SIZE        (4ULL << 20)
#define CFG(f)          offsetof(struct virtio_blk_config, f)

#define F(bit)          (1ULL << (bit))
/* What a typical guest asks for. */
#define BLK_FEATURES    (F(VIRTIO_BLK_F_SEG_MAX) | F(VIRTIO_BLK_F_BLK_SIZE) | \
                         F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_TOPOLOGY) |   \
                         F(VIRTIO_BLK_F_CONFIG_WCE) | F(VIRTIO_BLK_F_MQ) |    \
                         F(VIRTIO_BLK_F_DISCARD) |                            \
                         F(VIRTIO_BLK_F_WRITE_ZEROES) | F(VIRTIO_BLK_F_RO))

/* Both flags: skipped under either VMM, with the reason given. */
#define SKIP_ALWAYS     (QT_QVMM_ONLY | QT_QEMU_ONLY)

static const uint16_t blk_ids[] = { 0x1042, 0x1001, 0 };

typedef struct Blk {
    QTestState *s;
    QtGuestAlloc alloc;
    QVirtioDev dev;
    char *dir;                  /* mkdtemp directory, removed at the end */
    char *img;
    uint16_t queue_size;        /* for blk_init(); 0: the device's */
} Blk;

/* A request in flight: where its header and status byte live. */
typedef struct BlkReq {
    QVirtQueue *vq;
    uint16_t head;
    uint64_t status;
    uint32_t used_len;          /* what the device says it wrote */
} BlkReq;

/* ---- images ---- */

/*
 * The current case's directory and image.  They live here, not only in
 * its Blk, so that what a failed case (abandoned by longjmp) left behind
 * is removed by the next case or at exit.
 */
static char *live_dir, *live_img;

static void remove_live(void)
{
    /* Detach first, so the signal handler never sees freed strings. */
    g_autofree char *img = live_img;
    g_autofree char *dir = live_dir;

    live_img = live_dir = NULL;
    if (img) {
        unlink(img);
    }
    if (dir) {
        umount2(dir, MNT_DETACH);       /* the ENOSPC case's tmpfs */
        rmdir(dir);
    }
}

/* meson's timeout sends SIGTERM: still remove the image (signal-safe). */
static void remove_live_on_signal(int sig)
{
    if (live_img) {
        unlink(live_img);
    }
    if (live_dir) {
        umount2(live_dir, MNT_DETACH);
        rmdir(live_dir);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void blk_dir(Blk *b)
{
    remove_live();
    live_dir = g_strdup("/tmp/qvmm-blk-XXXXXX");
    if (!g_mkdtemp(live_dir)) {
        qt_fail("mkdtemp: %s", g_strerror(errno));
    }
    live_img = g_build_filename(live_dir, "disk.img", NULL);
    b->dir = live_dir;
    b->img = live_img;
}

static uint8_t pattern_byte(uint64_t off, unsigned seed)
{
    return (uint8_t)((off * 131 + (off >> 9) * 7 + seed * 29) ^ seed);
}

static void fill_pattern(uint8_t *buf, size_t len, uint64_t off,
                         unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = pattern_byte(off + i, seed);
    }
}

/* An image of @size bytes holding pattern @seed (0: sparse, all holes). */
static void make_image(Blk *b, uint64_t size, unsigned seed)
{
    int fd = open(b->img, O_RDWR | O_CREAT | O_TRUNC, 0600);
    g_autofree uint8_t *buf = g_malloc(size);

    if (fd < 0 || ftruncate(fd, size) < 0) {
        qt_fail("%s: %s", b->img, g_strerror(errno));
    }
    if (seed) {
        fill_pattern(buf, size, 0, seed);
        if (pwrite(fd, buf, size, 0) != (ssize_t)size) {
            close(fd);
            qt_fail("writing %s: %s", b->img, g_strerror(errno));
        }
    }
    close(fd);
}

static void file_read(const char *path, uint64_t off, void *buf,
                      size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : pread(fd, buf, len, off);

    if (fd >= 0) {
        close(fd);
    }
    if (n != (ssize_t)len) {
        qt_fail("reading %zu bytes of %s at %" PRIu64 ": %s", len, path,
                off, n < 0 ? g_strerror(errno) : "short read");
    }
}

static void blk_cleanup(Blk *b)
{
    remove_live();
    b->img = b->dir = NULL;
}

/* ---- the VMM and the driver ---- */

/* -drive with @drive_opts, -device virtio-blk-pci with @dev_opts. */
static void blk_start(Blk *b, const char *drive_opts, const char *dev_opts)
{
    b->s = qt_start("-m %llu -drive file=%s,format=raw,if=none,id=d0%s%s "
                    "-device virtio-blk-pci,drive=d0%s%s",
                    (unsigned long long)(RAM_SIZE >> 20) , b->img,
                    drive_opts ? "," : "", drive_opts ? drive_opts : "",
                    dev_opts ? "," : "", dev_opts ? dev_opts : "");
    qt_alloc_init(&b->alloc, RAM_SIZE);
}

static void blk_find(Blk *b)
{
    if (!qvirtio_pci_find(&b->dev, b->s, &b->alloc, blk_ids, 0)) {
        qt_fail("no virtio-blk function on bus 0");
    }
}

/* The usual image (pattern seed 1), the VMM with @dev_opts, the device. */
static void blk_open(Blk *b, const char *dev_opts)
{
    blk_dir(b);
    make_image(b, IMG_SIZE, 1);
    blk_start(b, NULL, dev_opts);
    blk_find(b);
}

/* Negotiate @features, route MSI-X, set up @nq queues, DRIVER_OK. */
static void blk_init(Blk *b, uint64_t features, unsigned nq)
{
    QVirtioDev *d = &b->dev;

    qvirtio_msix_enable(d);
    qvirtio_negotiate(d, features);
    qvirtio_config_vector(d);
    for (unsigned i = 0; i < nq; i++) {
        QVirtQueue *vq = qvirtio_queue_setup(d, i, b->queue_size);

        vq->indirect = d->features & F(VIRTIO_RING_F_INDIRECT_DESC);
    }
    qvirtio_driver_ok(d);
}

/* A started VMM with a driven modern device on a patterned image. */
static void blk_setup(Blk *b, const char *drive_opts, const char *dev_opts,
                      uint64_t features, unsigned nq)
{
    blk_dir(b);
    make_image(b, IMG_SIZE, 1);
    blk_start(b, drive_opts, dev_opts);
    blk_find(b);
    blk_init(b, features, nq);
}

static void blk_finish(Blk *b)
{
    qt_quit(b->s);
    blk_cleanup(b);
}

/* ---- requests ---- */

static BlkReq blk_submit(Blk *b, QVirtQueue *vq, uint32_t type,
                         uint64_t sector, uint64_t data, uint32_t len,
                         bool device_writes)
{
    struct virtio_blk_outhdr hdr = {
        .type = GUINT32_TO_LE(type), .sector = GUINT64_TO_LE(sector),
    };
    uint64_t hdr_addr = qt_alloc(&b->alloc, NULL, sizeof(hdr), 16);
    BlkReq r = { .vq = vq, .status = qt_alloc(&b->alloc, NULL, 1, 1) };
    QVirtBuf bufs[3] = { { hdr_addr, sizeof(hdr), false } };
    unsigned n = 1;

    qt_bufwrite(b->s, hdr_addr, &hdr, sizeof(hdr));
    qt_writeb(b->s, r.status, 0xff);
    if (len) {
        bufs[n++] = (QVirtBuf){ data, len, device_writes };
    }
    bufs[n++] = (QVirtBuf){ r.status, 1, true };
    r.head = qvirtq_add_chain(vq, bufs, n);
    qvirtq_kick(vq);
    return r;
}

/* Wait for @r (the next completion on its queue); its status byte. */
static uint8_t blk_complete(Blk *b, BlkReq *r)
{
    uint32_t id, len;

    if (!qvirtq_wait_used(r->vq, &id, &len, IO_TIMEOUT_MS)) {
        qt_fail("queue %u: no completion within %d ms (status 0x%x)",
                r->vq->index, IO_TIMEOUT_MS, qvirtio_get_status(&b->dev));
    }
    QT_ASSERT_EQ(id, r->head);
    r->used_len = len;
    if (r->vq->vector != QVIRTIO_NO_VECTOR &&
        !qvirtq_wait_msi(r->vq, IO_TIMEOUT_MS)) {
        qt_fail("queue %u: completion without its MSI-X message",
                r->vq->index);
    }
    return qt_readb(b->s, r->status);
}

static uint8_t blk_io(Blk *b, QVirtQueue *vq, uint32_t type,
                      uint64_t sector, uint64_t data, uint32_t len,
                      bool device_writes)
{
    BlkReq r = blk_submit(b, vq, type, sector, data, len, device_writes);

    return blk_complete(b, &r);
}

/* Guest buffer of @len bytes holding @src (or zeroed). */
static uint64_t guest_buf(Blk *b, const void *src, size_t len)
{
    uint64_t addr = qt_alloc(&b->alloc, src ? NULL : b->s, len, 4096);

    if (src) {
        qt_bufwrite(b->s, addr, src, len);
    }
    return addr;
}

static void blk_write_ok(Blk *b, QVirtQueue *vq, uint64_t sector,
                         const void *src, size_t len)
{
    uint64_t buf = guest_buf(b, src, len);

    QT_ASSERT_EQ(blk_io(b, vq, VIRTIO_BLK_T_OUT, sector, buf, len, false),
                 VIRTIO_BLK_S_OK);
}

static void blk_read_ok(Blk *b, QVirtQueue *vq, uint64_t sector, void *dst,
                        size_t len)
{
    uint64_t buf = guest_buf(b, NULL, len);
    BlkReq r = blk_submit(b, vq, VIRTIO_BLK_T_IN, sector, buf, len, true);

    QT_ASSERT_EQ(blk_complete(b, &r), VIRTIO_BLK_S_OK);
    /* The data and the status byte. */
    QT_ASSERT_EQ(r.used_len, len + 1);
    qt_bufread(b->s, buf, dst, len);
}

static void assert_file(Blk *b, uint64_t off, const void *want, size_t len)
{
    g_autofree uint8_t *got = g_malloc(len);

    file_read(b->img, off, got, len);
    if (memcmp(got, want, len) != 0) {
        qt_fail("%s differs from what was written at %" PRIu64, b->img,
                off);
    }
}

/* ---- identity and configuration ---- */

static void test_identity(const void *data)
{
    Blk b = { 0 };
    uint16_t cmd;

    (void)data;
    blk_open(&b, "disable-legacy=on,num-queues=2");
    QT_ASSERT_EQ(b.dev.device_id, 0x1042);
    QT_ASSERT_EQ(qt_pci_config_readb(b.s, 0, b.dev.devfn, 0x08), 0x01);
    QT_ASSERT_EQ(qt_pci_config_readl(b.s, 0, b.dev.devfn, 0x08) >> 8,
                 0x010000);
    QT_ASSERT_EQ(qt_pci_config_readw(b.s, 0, b.dev.devfn, 0x2c), 0x1af4);
    cmd = qt_pci_config_readw(b.s, 0, b.dev.devfn, 0x04);
    QT_ASSERT_EQ(cmd & 0x6, 0x6);
    QT_ASSERT(b.dev.msix_cap != 0);
    /* QEMU's default: one vector per queue plus the config vector. */
    QT_ASSERT_EQ(b.dev.msix_vectors, 3);
    QT_ASSERT(b.dev.device != 0);
    QT_ASSERT(b.dev.device_cfg_len >= CFG(write_zeroes_may_unmap) + 1);
    QT_ASSERT_EQ(qvirtio_get_status(&b.dev), 0);
    QT_ASSERT(qvirtio_device_features(&b.dev) & F(VIRTIO_F_VERSION_1));
    QT_ASSERT_EQ(qvirtio_num_queues(&b.dev), 2);
    blk_finish(&b);
}

static void test_config(const void *data)
{
    uint64_t want = BLK_FEATURES;
    QVirtioDev *d;
    Blk b = { 0 };

    (void)data;
    blk_dir(&b);
    make_image(&b, 3ULL << 20, 0);
    blk_start(&b, NULL, "disable-legacy=on,num-queues=3,"
              "logical_block_size=4096,physical_block_size=4096");
    blk_find(&b);
    d = &b.dev;
    QT_ASSERT_EQ(qvirtio_negotiate(d, want) & want, want & ~F(VIRTIO_BLK_F_RO));
    QT_ASSERT_EQ(qvirtio_cfg_readq(d, CFG(capacity)), (3ULL << 20) / SECTOR);
    QT_ASSERT_EQ(qvirtio_cfg_readl(d, CFG(blk_size)), 4096);
    QT_ASSERT_EQ(qvirtio_cfg_readw(d, CFG(num_queues)), 3);
    QT_ASSERT_EQ(qvirtio_num_queues(d), 3);
    /* QEMU's seg-max-adjust: two descriptors go to header and status. */
    QT_ASSERT_EQ(qvirtio_cfg_readl(d, CFG(seg_max)),
                 qvirtio_queue_max_size(d, 0) - 2);
    QT_ASSERT_EQ(qvirtio_cfg_readb(d, CFG(physical_block_exp)), 0);
    QT_ASSERT_EQ(qvirtio_cfg_readb(d, CFG(wce)), 1);
    QT_ASSERT(qvirtio_cfg_readl(d, CFG(max_discard_sectors)) > 0);
    QT_ASSERT(qvirtio_cfg_readl(d, CFG(max_discard_seg)) >= 1);
    /* Discard granularity in sectors: the logical block here. */
    QT_ASSERT_EQ(qvirtio_cfg_readl(d, CFG(discard_sector_alignment)), 8);
    QT_ASSERT(qvirtio_cfg_readl(d, CFG(max_write_zeroes_sectors)) > 0);
    QT_ASSERT(qvirtio_cfg_readl(d, CFG(max_write_zeroes_seg)) >= 1);
    for (unsigned q = 0; q < 3; q++) {
        QT_ASSERT(qvirtio_queue_max_size(d, q) >= 128);
    }
    QT_ASSERT_EQ(qvirtio_queue_max_size(d, 3), 0);
    blk_finish(&b);
}

/* Topology: sizes in logical blocks, the physical block as a shift. */
static void test_topology(const void *data)
{
    QVirtioDev *d;
    Blk b = { 0 };

    (void)data;
    blk_dir(&b);
    make_image(&b, IMG_SIZE, 0);
    blk_start(&b, NULL, "disable-legacy=on,logical_block_size=512,"
              "physical_block_size=4096,min_io_size=8192,opt_io_size=65536");
    blk_find(&b);
    d = &b.dev;
    QT_ASSERT(qvirtio_negotiate(d, BLK_FEATURES) & F(VIRTIO_BLK_F_TOPOLOGY));
    QT_ASSERT_EQ(qvirtio_cfg_readl(d, CFG(blk_size)), 512);
    QT_ASSERT_EQ(qvirtio_cfg_readb(d, CFG(physical_block_exp)), 3);
    QT_ASSERT_EQ(qvirtio_cfg_readb(d, CFG(alignment_offset)), 0);
    QT_ASSERT_EQ(qvirtio_cfg_readw(d, CFG(min_io_size)), 16);
    QT_ASSERT_EQ(qvirtio_cfg_readl(d, CFG(opt_io_size)), 128);
    blk_finish(&b);
}

static void rw_roundtrip(Blk *b, QVirtQueue *vq, unsigned seed);

/* CONFIG_WCE: the guest flips the cache mode in config space. */
static void test_writeback(const void *data)
{
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    QT_ASSERT(b.dev.features & F(VIRTIO_BLK_F_CONFIG_WCE));
    QT_ASSERT_EQ(qvirtio_cfg_readb(&b.dev, CFG(wce)), 1);
    qvirtio_cfg_writeb(&b.dev, CFG(wce), 0);
    QT_ASSERT_EQ(qvirtio_cfg_readb(&b.dev, CFG(wce)), 0);
    qvirtio_cfg_writeb(&b.dev, CFG(wce), 1);
    QT_ASSERT_EQ(qvirtio_cfg_readb(&b.dev, CFG(wce)), 1);
    /* Everything else in config space is read-only. */
    qvirtio_cfg_writeb(&b.dev, CFG(capacity), 0x55);
    qvirtio_cfg_writeb(&b.dev, CFG(num_queues), 0x55);
    QT_ASSERT_EQ(qvirtio_cfg_readq(&b.dev, CFG(capacity)), IMG_SIZE / SECTOR);
    QT_ASSERT_EQ(qvirtio_cfg_readw(&b.dev, CFG(num_queues)),
                 qvirtio_num_queues(&b.dev));
    rw_roundtrip(&b, &b.dev.vq[0], 17);
    blk_finish(&b);
}

/* ---- reads and writes ---- */

/* Read 64 KiB at sector 8 and compare with the file; write and check. */
static void rw_roundtrip(Blk *b, QVirtQueue *vq, unsigned seed)
{
    const size_t len = 64 * 1024;
    const uint64_t sector = 8;
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);

    file_read(b->img, sector * SECTOR, want, len);
    blk_read_ok(b, vq, sector, got, len);
    if (memcmp(want, got, len) != 0) {
        qt_fail("read data differs from the file");
    }
    fill_pattern(want, len, 0, seed);
    blk_write_ok(b, vq, sector + 1, want, len);
    assert_file(b, (sector + 1) * SECTOR, want, len);
    /* The neighbours are untouched. */
    file_read(b->img, sector * SECTOR, got, SECTOR);
    QT_ASSERT_EQ(got[0], pattern_byte(sector * SECTOR, 1));
    blk_read_ok(b, vq, sector + 1, got, len);
    QT_ASSERT(memcmp(want, got, len) == 0);
}

static void test_rw(const void *data)
{
    uint64_t extra = data ? *(const uint64_t *)data : 0;
    Blk b = { 0 };

    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES | extra, 1);
    QT_ASSERT_EQ(b.dev.features & extra, extra);
    rw_roundtrip(&b, &b.dev.vq[0], 7);
    rw_roundtrip(&b, &b.dev.vq[0], 9);
    if (extra & F(VIRTIO_RING_F_EVENT_IDX)) {
        /* The device tells us where it will look next. */
        QT_ASSERT_EQ(qvirtq_avail_event(&b.dev.vq[0]), b.dev.vq[0].avail_idx);
    }
    blk_finish(&b);
}

/*
 * A ring of 8 entries, many more requests than that: avail and used
 * indices wrap, and (with direct chains of three) chains wrap around
 * the end of the descriptor table.
 */
static void test_ring_wrap(const void *data)
{
    uint64_t extra = data ? *(const uint64_t *)data : 0;
    g_autofree uint8_t *want = g_malloc(4096);
    g_autofree uint8_t *got = g_malloc(4096);
    Blk b = { .queue_size = 8 };

    blk_open(&b, "disable-legacy=on");
    blk_init(&b, BLK_FEATURES | extra, 1);
    QT_ASSERT_EQ(b.dev.vq[0].size, 8);
    for (unsigned i = 0; i < 40; i++) {
        uint64_t sector = 8ULL * (i % 13);

        fill_pattern(want, 4096, 0, 100 + i);
        blk_write_ok(&b, &b.dev.vq[0], sector, want, 4096);
        blk_read_ok(&b, &b.dev.vq[0], sector, got, 4096);
        QT_ASSERT(memcmp(want, got, 4096) == 0);
        assert_file(&b, sector * SECTOR, want, 4096);
    }
    blk_finish(&b);
}

/* The transitional device (1af4:1001), driven through its modern caps. */
static void test_transitional(const void *data)
{
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=off", BLK_FEATURES, 1);
    QT_ASSERT_EQ(b.dev.device_id, 0x1001);
    rw_roundtrip(&b, &b.dev.vq[0], 3);
    blk_finish(&b);
}

/* libvirt's spelling: -blockdev file + raw nodes. */
static void test_blockdev(const void *data)
{
    Blk b = { 0 };

    (void)data;
    blk_dir(&b);
    make_image(&b, IMG_SIZE, 1);
    b.s = qt_start("-m 128 -blockdev '{\"driver\":\"file\",\"filename\":"
                   "\"%s\",\"node-name\":\"f0\"}' -blockdev '{\"driver\":"
                   "\"raw\",\"file\":\"f0\",\"node-name\":\"d0\"}' "
                   "-device virtio-blk-pci,drive=d0,disable-legacy=on",
                   b.img);
    qt_alloc_init(&b.alloc, RAM_SIZE);
    blk_find(&b);
    blk_init(&b, BLK_FEATURES, 1);
    rw_roundtrip(&b, &b.dev.vq[0], 5);
    blk_finish(&b);
}

/* -drive if=virtio makes the device itself (QEMU's is transitional). */
static void test_if_virtio(const void *data)
{
    Blk b = { 0 };

    (void)data;
    blk_dir(&b);
    make_image(&b, IMG_SIZE, 1);
    b.s = qt_start("-m 128 -drive file=%s,format=raw,if=virtio", b.img);
    qt_alloc_init(&b.alloc, RAM_SIZE);
    blk_find(&b);
    blk_init(&b, BLK_FEATURES, 1);
    QT_ASSERT_EQ(qvirtio_cfg_readq(&b.dev, CFG(capacity)), IMG_SIZE / SECTOR);
    rw_roundtrip(&b, &b.dev.vq[0], 8);
    blk_finish(&b);
}

static void test_iothread(const void *data)
{
    Blk b = { 0 };

    (void)data;
    blk_dir(&b);
    make_image(&b, IMG_SIZE, 1);
    b.s = qt_start("-m 128 -object iothread,id=io0 "
                   "-drive file=%s,format=raw,if=none,id=d0 "
                   "-device virtio-blk-pci,drive=d0,disable-legacy=on,"
                   "iothread=io0,num-queues=2", b.img);
    qt_alloc_init(&b.alloc, RAM_SIZE);
    blk_find(&b);
    blk_init(&b, BLK_FEATURES, 2);
    rw_roundtrip(&b, &b.dev.vq[0], 5);
    rw_roundtrip(&b, &b.dev.vq[1], 6);
    blk_finish(&b);
}

/* Reads past the end and requests of unknown type fail cleanly. */
static void test_bad_requests(const void *data)
{
    uint64_t cap, buf;
    Blk b = { 0 };
    QVirtQueue *vq;

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    vq = &b.dev.vq[0];
    cap = qvirtio_cfg_readq(&b.dev, CFG(capacity));
    buf = guest_buf(&b, NULL, 4096);
    QT_ASSERT_EQ(blk_io(&b, vq, VIRTIO_BLK_T_IN, cap - 4, buf, 4096, true),
                 VIRTIO_BLK_S_IOERR);
    QT_ASSERT_EQ(blk_io(&b, vq, VIRTIO_BLK_T_OUT, cap, buf, 512, false),
                 VIRTIO_BLK_S_IOERR);
    QT_ASSERT_EQ(blk_io(&b, vq, VIRTIO_BLK_T_IN, UINT64_MAX / 4, buf, 512,
                        true), VIRTIO_BLK_S_IOERR);
    QT_ASSERT_EQ(blk_io(&b, vq, 0x42, 0, buf, 512, true),
                 VIRTIO_BLK_S_UNSUPP);
    /* The last sector itself is fine. */
    QT_ASSERT_EQ(blk_io(&b, vq, VIRTIO_BLK_T_IN, cap - 1, buf, 512, true),
                 VIRTIO_BLK_S_OK);
    rw_roundtrip(&b, vq, 4);
    blk_finish(&b);
}

/* ---- INTx ---- */

#define PIIX3_DEVFN     QT_PCI_DEVFN(1, 0)
#define PIIX3_PIRQ_ROUTE 0x60

static bool wait_irq(QTestState *s, unsigned gsi, bool level, int timeout_ms)
{
    int64_t deadline = g_get_monotonic_time() / 1000 + timeout_ms;

    while (qt_irq_raised(s, gsi) != level) {
        if (g_get_monotonic_time() / 1000 > deadline) {
            return false;
        }
        g_usleep(1000);
    }
    return true;
}

/*
 * Without MSI-X the device raises INTx and sets ISR bit 0; reading the
 * ISR clears it and drops the line.  PIRQA-D are routed to 10, 10, 11,
 * 11 as SeaBIOS does (QEMU under -S has no firmware to do it; qvmm's
 * fixed routing is the same).
 */
static void test_intx(const void *data)
{
    static const uint8_t pirq_gsi[4] = { 10, 10, 11, 11 };
    g_autofree uint8_t *got = g_malloc(4096);
    unsigned slot, pin, gsi;
    Blk b = { 0 };

    (void)data;
    blk_dir(&b);
    make_image(&b, IMG_SIZE, 1);
    blk_start(&b, NULL, "disable-legacy=on");
    for (unsigned i = 0; i < 4; i++) {
        qt_pci_config_writeb(b.s, 0, PIIX3_DEVFN, PIIX3_PIRQ_ROUTE + i,
                             pirq_gsi[i]);
    }
    blk_find(&b);
    slot = b.dev.devfn >> 3;
    pin = qt_pci_config_readb(b.s, 0, b.dev.devfn, 0x3d);
    QT_ASSERT_EQ(pin, 1);
    gsi = pirq_gsi[(slot + pin - 2) & 3];
    qt_irq_intercept_in(b.s, "ioapic");
    qvirtio_negotiate(&b.dev, BLK_FEATURES);
    qvirtio_queue_setup(&b.dev, 0, 0);
    qvirtio_driver_ok(&b.dev);
    QT_ASSERT_EQ(b.dev.vq[0].vector, QVIRTIO_NO_VECTOR);
    QT_ASSERT(!qt_irq_raised(b.s, gsi));
    blk_read_ok(&b, &b.dev.vq[0], 0, got, 4096);
    QT_ASSERT_EQ(got[0], pattern_byte(0, 1));
    if (!wait_irq(b.s, gsi, true, IO_TIMEOUT_MS)) {
        qt_fail("no INTx on GSI %u after a completion", gsi);
    }
    QT_ASSERT_EQ(qt_readb(b.s, b.dev.isr) & 1, 1);
    if (!wait_irq(b.s, gsi, false, IO_TIMEOUT_MS)) {
        qt_fail("GSI %u still raised after reading the ISR", gsi);
    }
    QT_ASSERT_EQ(qt_readb(b.s, b.dev.isr), 0);
    blk_finish(&b);
}

/* ---- flush, discard, write-zeroes, GET_ID ---- */

static void test_flush(const void *data)
{
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    QT_ASSERT(b.dev.features & F(VIRTIO_BLK_F_FLUSH));
    QT_ASSERT_EQ(blk_io(&b, &b.dev.vq[0], VIRTIO_BLK_T_FLUSH, 0, 0, 0, false),
                 VIRTIO_BLK_S_OK);
    rw_roundtrip(&b, &b.dev.vq[0], 2);
    QT_ASSERT_EQ(blk_io(&b, &b.dev.vq[0], VIRTIO_BLK_T_FLUSH, 0, 0, 0, false),
                 VIRTIO_BLK_S_OK);
    blk_finish(&b);
}

/* One {sector, num_sectors, flags} segment for DISCARD/WRITE_ZEROES. */
static uint8_t blk_range(Blk *b, uint32_t type, uint64_t sector,
                         uint32_t nsect, uint32_t flags)
{
    struct virtio_blk_discard_write_zeroes seg = {
        .sector = GUINT64_TO_LE(sector),
        .num_sectors = GUINT32_TO_LE(nsect),
        .flags = GUINT32_TO_LE(flags),
    };
    uint64_t buf = guest_buf(b, &seg, sizeof(seg));

    return blk_io(b, &b->dev.vq[0], type, 0, buf, sizeof(seg), false);
}

static bool all_zero(const uint8_t *p, size_t len)
{
    return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* SEEK_HOLE from @off lands on @off: the range starts with a hole. */
static void assert_hole(Blk *b, uint64_t off)
{
    int fd = open(b->img, O_RDONLY);
    off_t hole = fd < 0 ? -1 : lseek(fd, off, SEEK_HOLE);

    if (fd >= 0) {
        close(fd);
    }
    if (hole != (off_t)off) {
        qt_fail("no hole at %" PRIu64 " in %s (SEEK_HOLE gives %lld)", off,
                b->img, (long long)hole);
    }
}

static void test_discard(const void *data)
{
    const uint64_t off = 1 << 20, len = 256 * 1024;
    g_autofree uint8_t *buf = g_malloc(len);
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, "discard=unmap", "disable-legacy=on", BLK_FEATURES, 1);
    QT_ASSERT(b.dev.features & F(VIRTIO_BLK_F_DISCARD));
    QT_ASSERT_EQ(blk_range(&b, VIRTIO_BLK_T_DISCARD, off / SECTOR,
                           len / SECTOR, 0), VIRTIO_BLK_S_OK);
    assert_hole(&b, off);
    file_read(b.img, off, buf, len);
    QT_ASSERT(all_zero(buf, len));
    /* Outside the range the data stays. */
    file_read(b.img, off + len, buf, 1);
    QT_ASSERT_EQ(buf[0], pattern_byte(off + len, 1));
    file_read(b.img, off - 1, buf, 1);
    QT_ASSERT_EQ(buf[0], pattern_byte(off - 1, 1));
    /* A range past the end is refused; the unmap flag is for
     * write-zeroes only, and a discard carrying it is unsupported. */
    QT_ASSERT_EQ(blk_range(&b, VIRTIO_BLK_T_DISCARD, IMG_SIZE / SECTOR, 8, 0),
                 VIRTIO_BLK_S_IOERR);
    QT_ASSERT_EQ(blk_range(&b, VIRTIO_BLK_T_DISCARD, 0, 8,
                           VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
                 VIRTIO_BLK_S_UNSUPP);
    file_read(b.img, 0, buf, 1);
    QT_ASSERT_EQ(buf[0], pattern_byte(0, 1));
    blk_finish(&b);
}

static void test_write_zeroes(const void *data)
{
    const uint64_t off = 512 * 1024, len = 128 * 1024;
    g_autofree uint8_t *buf = g_malloc(len);
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, "discard=unmap", "disable-legacy=on", BLK_FEATURES, 1);
    QT_ASSERT(b.dev.features & F(VIRTIO_BLK_F_WRITE_ZEROES));
    QT_ASSERT_EQ(qvirtio_cfg_readb(&b.dev, CFG(write_zeroes_may_unmap)), 1);
    QT_ASSERT_EQ(blk_range(&b, VIRTIO_BLK_T_WRITE_ZEROES, off / SECTOR,
                           len / SECTOR, 0), VIRTIO_BLK_S_OK);
    file_read(b.img, off, buf, len);
    QT_ASSERT(all_zero(buf, len));
    QT_ASSERT_EQ(blk_range(&b, VIRTIO_BLK_T_WRITE_ZEROES,
                           (2 * off) / SECTOR, len / SECTOR,
                           VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
                 VIRTIO_BLK_S_OK);
    file_read(b.img, 2 * off, buf, len);
    QT_ASSERT(all_zero(buf, len));
    file_read(b.img, 2 * off + len, buf, 1);
    QT_ASSERT_EQ(buf[0], pattern_byte(2 * off + len, 1));
    file_read(b.img, off - 1, buf, 1);
    QT_ASSERT_EQ(buf[0], pattern_byte(off - 1, 1));
    QT_ASSERT_EQ(blk_range(&b, VIRTIO_BLK_T_WRITE_ZEROES,
                           IMG_SIZE / SECTOR - 4, 8, 0), VIRTIO_BLK_S_IOERR);
    file_read(b.img, IMG_SIZE - 4 * SECTOR, buf, 1);
    QT_ASSERT_EQ(buf[0], pattern_byte(IMG_SIZE - 4 * SECTOR, 1));
    blk_finish(&b);
}

/*
 * GET_ID: the serial, NUL-padded to 20 bytes (or cut there).  With
 * @padded the bytes after the terminator must be NUL too; QEMU writes
 * only the serial and one NUL and leaves the rest of the buffer alone.
 */
static void check_serial(const char *serial, bool padded)
{
    uint8_t id[VIRTIO_BLK_ID_BYTES], expect[VIRTIO_BLK_ID_BYTES] = { 0 };
    size_t n = MIN(strlen(serial) + 1, sizeof(id));
    g_autofree char *opts = g_strdup_printf("disable-legacy=on,serial=%s",
                                            serial);
    uint64_t buf;
    Blk b = { 0 };

    memcpy(expect, serial, MIN(strlen(serial), sizeof(expect)));
    blk_setup(&b, NULL, opts, BLK_FEATURES, 1);
    buf = guest_buf(&b, NULL, sizeof(id));
    qt_memset(b.s, buf, 0xaa, sizeof(id));
    QT_ASSERT_EQ(blk_io(&b, &b.dev.vq[0], VIRTIO_BLK_T_GET_ID, 0, buf,
                        sizeof(id), true), VIRTIO_BLK_S_OK);
    qt_bufread(b.s, buf, id, sizeof(id));
    if (memcmp(id, expect, padded ? sizeof(id) : n) != 0) {
        qt_fail("GET_ID gave \"%.20s\" (byte %zu: 0x%02x), expected \"%s\"",
                id, n - 1, id[n - 1], serial);
    }
    blk_finish(&b);
}

static void test_get_id(const void *data)
{
    bool padded = data != NULL;

    check_serial("QM0001", padded);
    check_serial("ABCDEFGHIJKLMNOPQRST", padded);
}

/* ---- read-only ---- */

static void test_read_only(const void *data)
{
    const size_t len = 4096;
    g_autofree uint8_t *want = g_malloc(len);
    g_autofree uint8_t *got = g_malloc(len);
    uint64_t buf;
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, "readonly=on", "disable-legacy=on", BLK_FEATURES, 1);
    QT_ASSERT(b.dev.features & F(VIRTIO_BLK_F_RO));
    file_read(b.img, 0, want, len);
    blk_read_ok(&b, &b.dev.vq[0], 0, got, len);
    QT_ASSERT(memcmp(want, got, len) == 0);
    fill_pattern(got, len, 0, 77);
    buf = guest_buf(&b, got, len);
    QT_ASSERT_EQ(blk_io(&b, &b.dev.vq[0], VIRTIO_BLK_T_OUT, 0, buf, len,
                        false), VIRTIO_BLK_S_IOERR);
    QT_ASSERT_EQ(blk_range(&b, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0),
                 VIRTIO_BLK_S_IOERR);
    assert_file(&b, 0, want, len);
    blk_finish(&b);
}

/* ---- several queues, reset ---- */

/* One 32 KiB write in flight on each of four queues, then reads. */
static void test_multiqueue(const void *data)
{
    enum { NQ = 4, LEN = 32 * 1024 };
    BlkReq reqs[NQ];
    g_autofree uint8_t *want = g_malloc(LEN * NQ);
    g_autofree uint8_t *got = g_malloc(LEN);
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on,num-queues=4", BLK_FEATURES, NQ);
    QT_ASSERT(b.dev.features & F(VIRTIO_BLK_F_MQ));
    for (unsigned q = 0; q < NQ; q++) {
        uint8_t *src = want + LEN * q;

        fill_pattern(src, LEN, 0, 20 + q);
        reqs[q] = blk_submit(&b, &b.dev.vq[q], VIRTIO_BLK_T_OUT,
                             q * LEN / SECTOR, guest_buf(&b, src, LEN), LEN,
                             false);
    }
    for (unsigned q = 0; q < NQ; q++) {
        QT_ASSERT_EQ(blk_complete(&b, &reqs[q]), VIRTIO_BLK_S_OK);
    }
    assert_file(&b, 0, want, LEN * NQ);
    for (unsigned q = 0; q < NQ; q++) {
        blk_read_ok(&b, &b.dev.vq[NQ - 1 - q], q * LEN / SECTOR, got, LEN);
        QT_ASSERT(memcmp(got, want + LEN * q, LEN) == 0);
    }
    blk_finish(&b);
}

/*
 * Requests popped together: adjacent ones may be merged into one disk
 * transfer (qvmm and QEMU both do), yet each keeps its own bytes and its
 * own status.  Completion order is free, so only the used ring is read.
 */
static void wait_all(Blk *b, BlkReq *reqs, unsigned n)
{
    unsigned done = 0;

    while (done < n) {
        uint32_t id, len;

        if (!qvirtq_wait_used(reqs[0].vq, &id, &len, IO_TIMEOUT_MS)) {
            qt_fail("%u of %u requests completed", done, n);
        }
        for (unsigned i = 0; i < n; i++) {
            if (reqs[i].head == id) {
                QT_ASSERT_EQ(qt_readb(b->s, reqs[i].status), VIRTIO_BLK_S_OK);
            }
        }
        done++;
    }
}

static void test_adjacent(const void *data)
{
    enum { N = 8, LEN = 4096 };
    BlkReq reqs[N + 1];
    uint64_t bufs[N];
    g_autofree uint8_t *want = g_malloc(LEN * N);
    g_autofree uint8_t *got = g_malloc(LEN);
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    fill_pattern(want, LEN * N, 0, 61);
    for (unsigned i = 0; i < N; i++) {
        reqs[i] = blk_submit(&b, &b.dev.vq[0], VIRTIO_BLK_T_OUT,
                             8 + i * LEN / SECTOR,
                             guest_buf(&b, want + i * LEN, LEN), LEN, false);
    }
    /* One that continues nothing, in the middle of the stream. */
    reqs[N] = blk_submit(&b, &b.dev.vq[0], VIRTIO_BLK_T_OUT, 1024,
                         guest_buf(&b, want, LEN), LEN, false);
    wait_all(&b, reqs, N + 1);
    assert_file(&b, 8 * SECTOR, want, LEN * N);
    assert_file(&b, 1024 * SECTOR, want, LEN);
    for (unsigned i = 0; i < N; i++) {
        bufs[i] = guest_buf(&b, NULL, LEN);
        reqs[i] = blk_submit(&b, &b.dev.vq[0], VIRTIO_BLK_T_IN,
                             8 + i * LEN / SECTOR, bufs[i], LEN, true);
    }
    wait_all(&b, reqs, N);
    for (unsigned i = 0; i < N; i++) {
        qt_bufread(b.s, bufs[i], got, LEN);
        QT_ASSERT(memcmp(got, want + i * LEN, LEN) == 0);
    }
    blk_finish(&b);
}

/* After a reset the queues are gone and a fresh setup works. */
static void test_reset(const void *data)
{
    uint64_t c;
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    rw_roundtrip(&b, &b.dev.vq[0], 11);
    qvirtio_reset(&b.dev);
    c = b.dev.common;
    qt_writew(b.s, c + offsetof(struct virtio_pci_common_cfg, queue_select),
              0);
    QT_ASSERT_EQ(qt_readw(b.s, c + offsetof(struct virtio_pci_common_cfg,
                                            queue_enable)), 0);
    QT_ASSERT_EQ(qt_readl(b.s, c + offsetof(struct virtio_pci_common_cfg,
                                            queue_desc_lo)), 0);
    QT_ASSERT_EQ(qt_readw(b.s, c + offsetof(struct virtio_pci_common_cfg,
                                            msix_config)),
                 QVIRTIO_NO_VECTOR);
    blk_init(&b, BLK_FEATURES, 1);
    rw_roundtrip(&b, &b.dev.vq[0], 12);
    blk_finish(&b);
}

/* ---- I/O errors and durability ---- */

#define TINY_FS_SIZE    (1 << 20)

/*
 * A tmpfs of 1 MiB mounted in a private mount namespace (the VMM
 * inherits it), so writes to a bigger sparse image run out of space.
 * Needs root; main() probes that first and skips the case otherwise.
 */
static void mount_tiny_fs(Blk *b)
{
    g_autofree char *opts = g_strdup_printf("size=%u", TINY_FS_SIZE);

    if (unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        qt_fail("private mount namespace: %s", g_strerror(errno));
    }
    if (mount("tmpfs", b->dir, "tmpfs", 0, opts) < 0) {
        qt_fail("mount tmpfs on %s: %s", b->dir, g_strerror(errno));
    }
}

/* Can this process make a private mount namespace and mount tmpfs? */
static const char *tiny_fs_unavailable(void)
{
    int status;
    pid_t pid;

    if (geteuid() != 0) {
        return "needs root to mount a tmpfs in a mount namespace";
    }
    pid = fork();
    if (pid == 0) {
        char dir[] = "/tmp/qvmm-probe-XXXXXX";
        bool ok = g_mkdtemp(dir) && unshare(CLONE_NEWNS) == 0 &&
                  mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
                  mount("tmpfs", dir, "tmpfs", 0, "size=64k") == 0;

        if (ok) {
            umount2(dir, MNT_DETACH);
        }
        rmdir(dir);
        _exit(ok ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid ||
        !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return "unshare(CLONE_NEWNS) or mounting tmpfs failed here";
    }
    return NULL;
}

/*
 * Write 64 KiB chunks until the file system is full: the guest sees
 * IOERR under werror=report, keeps running, and every chunk it was told
 * was written is in the file.
 */
static void test_enospc(const void *data)
{
    enum { LEN = 64 * 1024, MAX_CHUNKS = 64 };
    g_autofree uint8_t *chunk = g_malloc(LEN);
    unsigned done = 0;
    uint8_t status = VIRTIO_BLK_S_OK;
    Blk b = { 0 };

    (void)data;
    blk_dir(&b);
    mount_tiny_fs(&b);
    make_image(&b, (uint64_t)LEN * MAX_CHUNKS, 0);
    blk_start(&b, "werror=report,rerror=report", "disable-legacy=on");
    blk_find(&b);
    blk_init(&b, BLK_FEATURES, 1);
    while (done < MAX_CHUNKS) {
        uint64_t buf;

        fill_pattern(chunk, LEN, 0, 30 + done);
        buf = guest_buf(&b, chunk, LEN);
        status = blk_io(&b, &b.dev.vq[0], VIRTIO_BLK_T_OUT,
                        (uint64_t)done * LEN / SECTOR, buf, LEN, false);
        if (status != VIRTIO_BLK_S_OK) {
            break;
        }
        done++;
    }
    qt_note("%u chunks of %u bytes written before the error", done, LEN);
    QT_ASSERT_EQ(status, VIRTIO_BLK_S_IOERR);
    QT_ASSERT(done >= 4 && done < MAX_CHUNKS);
    QT_ASSERT_EQ(qvirtio_get_status(&b.dev) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
    for (unsigned i = 0; i < done; i++) {
        fill_pattern(chunk, LEN, 0, 30 + i);
        assert_file(&b, (uint64_t)i * LEN, chunk, LEN);
    }
    /* The device still reads what it wrote. */
    blk_read_ok(&b, &b.dev.vq[0], 0, chunk, LEN);
    QT_ASSERT_EQ(chunk[0], pattern_byte(0, 30));
    blk_finish(&b);
}

/* ---- a few QMP commands, for werror=stop ---- */

/* The reply to @cmd; an "error" reply fails the test. */
static char *qmp_cmd(int fd, const char *cmd)
{
    char *reply = qmp_client_cmd_args(fd, cmd, NULL);

    QT_ASSERT(strstr(reply, "\"error\"") == NULL);
    return reply;
}

/*
 * werror=stop: the write that hits ENOSPC is held and the VM pauses in
 * io-error; once space is freed, QMP cont submits it again and the guest
 * sees it succeed, its bytes in the file.
 */
static void test_enospc_stop(const void *data)
{
    enum { LEN = 64 * 1024, MAX_CHUNKS = 64 };
    g_autofree uint8_t *chunk = g_malloc(LEN);
    g_autofree char *ballast = NULL, *sock = NULL, *reply = NULL;
    BlkReq r = { 0 };
    unsigned done = 0;
    uint32_t id;
    Blk b = { 0 };
    int qmp;

    blk_dir(&b);
    mount_tiny_fs(&b);
    ballast = g_build_filename(b.dir, "ballast", NULL);
    {                                   /* 256 KiB to free later */
        g_autofree char *zeros = g_malloc0(4 * LEN);
        QT_ASSERT(g_file_set_contents(ballast, zeros, 4 * LEN, NULL));
    }
    make_image(&b, (uint64_t)LEN * MAX_CHUNKS, 0);
    sock = g_build_filename(b.dir, "qmp.sock", NULL);
    /* With an I/O thread the event starts there and goes out from the
     * main loop. */
    b.s = qt_start("-m %llu -qmp unix:%s,server=on,wait=off%s "
                   "-drive file=%s,format=raw,if=none,id=d0,werror=stop "
                   "-device virtio-blk-pci,drive=d0,disable-legacy=on%s",
                   (unsigned long long)(RAM_SIZE >> 20), sock,
                   data ? " -object iothread,id=io0" : "", b.img,
                   data ? ",iothread=io0" : "");
    qt_alloc_init(&b.alloc, RAM_SIZE);
    blk_find(&b);
    blk_init(&b, BLK_FEATURES, 1);
    qmp = qmp_client_open(sock);
    qmp_client_handshake(qmp);
    for (; done < MAX_CHUNKS; done++) {
        fill_pattern(chunk, LEN, 0, 40 + done);
        r = blk_submit(&b, &b.dev.vq[0], VIRTIO_BLK_T_OUT,
                       (uint64_t)done * LEN / SECTOR,
                       guest_buf(&b, chunk, LEN), LEN, false);
        if (!qvirtq_wait_used(r.vq, &id, NULL, 2000)) {
            break;              /* held: the disk is full */
        }
        QT_ASSERT_EQ(qt_readb(b.s, r.status), VIRTIO_BLK_S_OK);
        if (r.vq->vector != QVIRTIO_NO_VECTOR) {
            qvirtq_wait_msi(r.vq, IO_TIMEOUT_MS);
        }
    }
    qt_note("request %u held by werror=stop", done);
    QT_ASSERT(done >= 2 && done < MAX_CHUNKS);
    /* QEMU's BLOCK_IO_ERROR, its members in schema order. */
    reply = qmp_client_line(qmp, "\"BLOCK_IO_ERROR\"");
    QT_ASSERT(strstr(reply, "\"data\": {\"device\": \"d0\", "
                     "\"node-name\": \"#block") != NULL);
    QT_ASSERT(strstr(reply, "\"operation\": \"write\", \"action\": "
                     "\"stop\", \"nospace\": true, \"reason\": "
                     "\"No space left on device\"}") != NULL);
    g_free(reply);
    reply = qmp_cmd(qmp, "query-block");
    QT_ASSERT(strstr(reply, "\"io-status\": \"nospace\"") != NULL);
    g_free(reply);
    reply = qmp_cmd(qmp, "query-status");
    QT_ASSERT(strstr(reply, "\"io-error\"") != NULL);
    QT_ASSERT_EQ(qt_readb(b.s, r.status), 0xff);   /* not completed */
    QT_ASSERT_EQ(unlink(ballast), 0);
    g_free(qmp_cmd(qmp, "cont"));
    QT_ASSERT_EQ(blk_complete(&b, &r), VIRTIO_BLK_S_OK);
    assert_file(&b, (uint64_t)done * LEN, chunk, LEN);
    g_free(reply);
    reply = qmp_cmd(qmp, "query-status");
    QT_ASSERT(strstr(reply, "\"running\"") != NULL);
    close(qmp);
    blk_finish(&b);
}

/* The device's config_generation (virtio 1.x common configuration). */
static uint8_t config_generation(Blk *b)
{
    return qt_readb(b->s, b->dev.common +
                    offsetof(struct virtio_pci_common_cfg,
                             config_generation));
}

static uint64_t file_size(const char *path)
{
    struct stat st;

    QT_ASSERT_EQ(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

/* block_resize over QMP, then what the driver sees of it. */
static void resize_to(Blk *b, int qmp, uint64_t size)
{
    g_autofree char *args = g_strdup_printf(
        "{\"device\": \"d0\", \"size\": %" PRIu64 "}", size);
    g_autofree char *reply = NULL;
    uint8_t gen = config_generation(b);

    reply = qmp_client_cmd_args(qmp, "block_resize", args);
    QT_ASSERT(strstr(reply, "{\"return\": {}}") != NULL);
    QT_ASSERT(qvirtio_wait_config_msi(&b->dev, IO_TIMEOUT_MS));
    QT_ASSERT(config_generation(b) != gen);
    QT_ASSERT_EQ(qvirtio_cfg_readq(&b->dev, CFG(capacity)), size / SECTOR);
    QT_ASSERT_EQ(file_size(b->img), size);
}

/*
 * block_resize grows and shrinks the image, and the guest driver gets a
 * configuration-change interrupt and reads the new capacity.
 */
static void test_resize(const void *data)
{
    uint8_t buf[SECTOR];
    g_autofree char *sock = NULL, *reply = NULL;
    Blk b = { 0 };
    int qmp;

    (void)data;
    blk_dir(&b);
    make_image(&b, IMG_SIZE, 3);
    sock = g_build_filename(b.dir, "qmp.sock", NULL);
    b.s = qt_start("-m %llu -qmp unix:%s,server=on,wait=off "
                   "-drive file=%s,format=raw,if=none,id=d0 "
                   "-device virtio-blk-pci,drive=d0,disable-legacy=on",
                   (unsigned long long)(RAM_SIZE >> 20), sock, b.img);
    qt_alloc_init(&b.alloc, RAM_SIZE);
    blk_find(&b);
    blk_init(&b, BLK_FEATURES, 1);
    qmp = qmp_client_open(sock);
    qmp_client_handshake(qmp);
    QT_ASSERT_EQ(qvirtio_cfg_readq(&b.dev, CFG(capacity)), IMG_SIZE / SECTOR);
    resize_to(&b, qmp, 2 * IMG_SIZE);
    /* The grown tail reads back (as zeroes) where it failed before. */
    blk_read_ok(&b, &b.dev.vq[0], IMG_SIZE / SECTOR, buf, sizeof(buf));
    QT_ASSERT(all_zero(buf, sizeof(buf)));
    resize_to(&b, qmp, IMG_SIZE / 2);
    QT_ASSERT_EQ(blk_io(&b, &b.dev.vq[0], VIRTIO_BLK_T_IN, IMG_SIZE / SECTOR,
                        guest_buf(&b, NULL, SECTOR), SECTOR, true),
                 VIRTIO_BLK_S_IOERR);
    reply = qmp_client_cmd_args(qmp, "block_resize",
                         "{\"device\": \"nope\", \"size\": 512}");
    QT_ASSERT(strstr(reply, "Cannot find device='nope' nor node-name=''"));
    QT_ASSERT_EQ(file_size(b.img), IMG_SIZE / 2);
    close(qmp);
    blk_finish(&b);
}

/* After a completed FLUSH, kill -9 of the VMM loses nothing. */
static void test_flush_kill(const void *data)
{
    const size_t len = 128 * 1024;
    g_autofree uint8_t *want = g_malloc(len);
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    fill_pattern(want, len, 0, 55);
    blk_write_ok(&b, &b.dev.vq[0], 64, want, len);
    QT_ASSERT_EQ(blk_io(&b, &b.dev.vq[0], VIRTIO_BLK_T_FLUSH, 0, 0, 0, false),
                 VIRTIO_BLK_S_OK);
    kill(qt_pid(b.s), SIGKILL);
    QT_ASSERT_EQ(qt_wait_exit(b.s, 10000), 128 + SIGKILL);
    assert_file(&b, 64 * SECTOR, want, len);
    blk_cleanup(&b);
}

/* ---- a hostile driver ---- */

#define COMMON(f)       offsetof(struct virtio_pci_common_cfg, f)
#define NEEDS_RESET_MS  5000

/* The device must flag NEEDS_RESET and say so through the config vector. */
static void expect_needs_reset(Blk *b)
{
    int64_t deadline = g_get_monotonic_time() / 1000 + NEEDS_RESET_MS;

    while (!(qvirtio_get_status(&b->dev) & VIRTIO_CONFIG_S_NEEDS_RESET)) {
        if (g_get_monotonic_time() / 1000 > deadline) {
            qt_fail("no NEEDS_RESET within %d ms (status 0x%x)",
                    NEEDS_RESET_MS, qvirtio_get_status(&b->dev));
        }
        g_usleep(1000);
    }
    if (!qvirtio_wait_config_msi(&b->dev, NEEDS_RESET_MS)) {
        qt_fail("NEEDS_RESET without a configuration-change interrupt");
    }
}

/* The VMM still answers, and a reset brings the device back. */
static void expect_recovery(Blk *b)
{
    QT_ASSERT(qt_alive(b->s));
    QT_ASSERT_EQ(qt_pci_config_readw(b->s, 0, b->dev.devfn, 0), 0x1af4);
    blk_init(b, BLK_FEATURES, 1);
    rw_roundtrip(b, &b->dev.vq[0], 13);
    blk_finish(b);
}

/* A two-descriptor chain: header, then @data/@len for the device. */
static void bad_chain(Blk *b, uint64_t data, uint32_t len)
{
    QVirtQueue *vq = &b->dev.vq[0];
    struct virtio_blk_outhdr hdr = { .type = GUINT32_TO_LE(VIRTIO_BLK_T_IN) };
    uint64_t hdr_addr = guest_buf(b, &hdr, sizeof(hdr));

    qvirtq_write_desc(vq, 0, hdr_addr, sizeof(hdr), VRING_DESC_F_NEXT, 1);
    qvirtq_write_desc(vq, 1, data, len, VRING_DESC_F_WRITE, 0);
    qvirtq_publish(vq, 0);
    qvirtq_kick(vq);
}

static void test_desc_outside_ram(const void *data)
{
    static const struct { uint64_t addr; uint32_t len; } bad[] = {
        { 0x4000000000ULL, 4096 },              /* 256 GiB: no RAM */
        { RAM_SIZE - 512, 4096 },               /* crosses RAM's end */
        { UINT64_MAX - 1023, 4096 },            /* wraps around */
    };
    unsigned i = *(const unsigned *)data;
    Blk b = { 0 };

    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    bad_chain(&b, bad[i].addr, bad[i].len);
    expect_needs_reset(&b);
    expect_recovery(&b);
}

/*
 * header -> 1 -> 2 -> 1 -> ...: a loop among well-ordered device-
 * writable descriptors; the walk must stop at the queue size.
 */
static void test_desc_loop(const void *data)
{
    const uint16_t w = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE;
    QVirtQueue *vq;
    uint64_t buf;
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    vq = &b.dev.vq[0];
    buf = guest_buf(&b, NULL, 4096);
    qvirtq_write_desc(vq, 0, buf, 16, VRING_DESC_F_NEXT, 1);
    qvirtq_write_desc(vq, 1, buf + 512, 512, w, 2);
    qvirtq_write_desc(vq, 2, buf + 1024, 512, w, 1);
    qvirtq_publish(vq, 0);
    qvirtq_kick(vq);
    expect_needs_reset(&b);
    expect_recovery(&b);
}

/*
 * avail->idx moved by more than the queue size.  Every ring slot names
 * a valid GET_ID chain, so only the jump itself is wrong (QEMU, which
 * does not check the jump, fails at "Virtqueue size exceeded" instead).
 */
static void test_avail_jump(const void *data)
{
    struct virtio_blk_outhdr hdr = {
        .type = GUINT32_TO_LE(VIRTIO_BLK_T_GET_ID),
    };
    QVirtQueue *vq;
    uint64_t buf;
    Blk b = { 0 };

    (void)data;
    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    vq = &b.dev.vq[0];
    buf = guest_buf(&b, &hdr, sizeof(hdr));
    qvirtq_write_desc(vq, 0, buf, sizeof(hdr), VRING_DESC_F_NEXT, 1);
    qvirtq_write_desc(vq, 1, buf + 512, VIRTIO_BLK_ID_BYTES,
                      VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
    qvirtq_write_desc(vq, 2, buf + 1024, 1, VRING_DESC_F_WRITE, 0);
    qt_memset(b.s, vq->avail + 4, 0, 2ULL * vq->size);
    qvirtq_set_avail_idx(vq, vq->size + 1);
    qt_writew(b.s, vq->notify_addr, 0);
    expect_needs_reset(&b);
    QT_ASSERT((uint16_t)qvirtq_used_idx(vq) <= vq->size);
    expect_recovery(&b);
}

/*
 * A queue_select naming no queue reads queue_size 0, and programming
 * that "queue" changes nothing: queue 0 still works afterwards.
 */
static void test_queue_select(const void *data)
{
    uint16_t sel = *(const uint16_t *)data;
    uint64_t c;
    Blk b = { 0 };

    blk_open(&b, "disable-legacy=on,num-queues=2");
    qvirtio_msix_enable(&b.dev);
    qvirtio_negotiate(&b.dev, BLK_FEATURES);
    qvirtio_config_vector(&b.dev);
    qvirtio_queue_setup(&b.dev, 0, 0);
    c = b.dev.common;
    sel = sel ? sel : qvirtio_num_queues(&b.dev);
    QT_ASSERT_EQ(qvirtio_queue_max_size(&b.dev, sel), 0);
    qt_writew(b.s, c + COMMON(queue_size), 64);
    qt_writel(b.s, c + COMMON(queue_desc_lo), 0x1000);
    qt_writel(b.s, c + COMMON(queue_avail_lo), 0x2000);
    qt_writel(b.s, c + COMMON(queue_used_lo), 0x3000);
    qt_writew(b.s, c + COMMON(queue_enable), 1);
    QT_ASSERT_EQ(qt_readw(b.s, c + COMMON(queue_size)), 0);
    /* QEMU keeps what was written for any selector below 1024. */
    if (!qt_is_qemu()) {
        QT_ASSERT_EQ(qt_readw(b.s, c + COMMON(queue_enable)), 0);
    }
    QT_ASSERT_EQ(qvirtio_queue_max_size(&b.dev, 0), b.dev.vq[0].size);
    QT_ASSERT_EQ(qt_readl(b.s, c + COMMON(queue_desc_lo)),
                 (uint32_t)b.dev.vq[0].desc);
    qvirtio_driver_ok(&b.dev);
    rw_roundtrip(&b, &b.dev.vq[0], 14);
    QT_ASSERT_EQ(qvirtio_get_status(&b.dev) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
    blk_finish(&b);
}

/* A vector beyond the MSI-X table reads back as NO_VECTOR. */
static void test_msix_vector_range(const void *data)
{
    uint64_t c;
    Blk b = { 0 };

    (void)data;
    blk_open(&b, "disable-legacy=on");
    qvirtio_msix_enable(&b.dev);
    qvirtio_negotiate(&b.dev, BLK_FEATURES);
    c = b.dev.common;
    qt_writew(b.s, c + COMMON(msix_config), b.dev.msix_vectors);
    QT_ASSERT_EQ(qt_readw(b.s, c + COMMON(msix_config)), QVIRTIO_NO_VECTOR);
    qvirtio_queue_max_size(&b.dev, 0);
    qt_writew(b.s, c + COMMON(queue_msix_vector), 0x7ff);
    QT_ASSERT_EQ(qt_readw(b.s, c + COMMON(queue_msix_vector)),
                 QVIRTIO_NO_VECTOR);
    blk_finish(&b);
}

/*
 * A split ring's size must be a power of two: the device either ignores
 * the write or refuses the queue with NEEDS_RESET by DRIVER_OK.
 */
static void test_queue_size_pow2(const void *data)
{
    uint16_t size;
    Blk b = { 0 };

    (void)data;
    blk_open(&b, "disable-legacy=on");
    qvirtio_msix_enable(&b.dev);
    qvirtio_negotiate(&b.dev, BLK_FEATURES);
    qvirtio_config_vector(&b.dev);
    qvirtio_queue_setup(&b.dev, 0, 100);
    size = qt_readw(b.s, b.dev.common + COMMON(queue_size));
    qvirtio_set_status(&b.dev, qvirtio_get_status(&b.dev) |
                               VIRTIO_CONFIG_S_DRIVER_OK);
    if (size == 100) {
        expect_needs_reset(&b);
    } else {
        QT_ASSERT(size && !(size & (size - 1)));
        QT_ASSERT_EQ(qvirtio_get_status(&b.dev) & VIRTIO_CONFIG_S_NEEDS_RESET,
                     0);
    }
    expect_recovery(&b);
}

/*
 * Ring addresses (and with @data, the size too) are fixed once
 * DRIVER_OK is set: later writes change nothing the device uses.
 */
static void test_regs_after_driver_ok(const void *data)
{
    bool size_too = data != NULL;
    uint64_t c;
    Blk b = { 0 };

    blk_setup(&b, NULL, "disable-legacy=on", BLK_FEATURES, 1);
    c = b.dev.common;
    qvirtio_queue_max_size(&b.dev, 0);
    qt_writel(b.s, c + COMMON(queue_desc_lo), 0x10000);
    qt_writel(b.s, c + COMMON(queue_desc_hi), 0x10);
    qt_writel(b.s, c + COMMON(queue_avail_lo), 0x20000);
    qt_writel(b.s, c + COMMON(queue_used_lo), 0x30000);
    if (size_too) {
        qt_writew(b.s, c + COMMON(queue_size), 2);
    }
    rw_roundtrip(&b, &b.dev.vq[0], 15);
    rw_roundtrip(&b, &b.dev.vq[0], 16);
    QT_ASSERT_EQ(qvirtio_get_status(&b.dev) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
    blk_finish(&b);
}

/*
 * Indirect tables: a length that is no whole number of descriptors (0),
 * an indirect descriptor inside a table (1), a loop inside a table (2).
 * Each table starts with the header and stays well ordered otherwise.
 */
static void test_indirect_bad(const void *data)
{
    const uint16_t w = VRING_DESC_F_NEXT | VRING_DESC_F_WRITE;
    unsigned kind = *(const unsigned *)data;
    QVirtQueue *vq;
    uint64_t table, buf, ring;
    Blk b = { 0 };

    blk_setup(&b, NULL, "disable-legacy=on",
              BLK_FEATURES | F(VIRTIO_RING_F_INDIRECT_DESC), 1);
    vq = &b.dev.vq[0];
    buf = guest_buf(&b, NULL, 4096);
    table = guest_buf(&b, NULL, 4096);
    /* Write the table's entries through the ring writer aimed at it. */
    ring = vq->desc;
    vq->desc = table;
    qvirtq_write_desc(vq, 0, buf, 16, VRING_DESC_F_NEXT, 1);
    if (kind == 1) {
        qvirtq_write_desc(vq, 1, table, 48,
                          VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
    } else {
        qvirtq_write_desc(vq, 1, buf + 512, 512, w, 2);
    }
    qvirtq_write_desc(vq, 2, buf + 1024, 1, kind == 2 ? w : VRING_DESC_F_WRITE,
                      1);
    vq->desc = ring;
    qvirtq_write_desc(vq, 0, table, kind == 0 ? 47 : 48,
                      VRING_DESC_F_INDIRECT, 0);
    qvirtq_publish(vq, 0);
    qvirtq_kick(vq);
    expect_needs_reset(&b);
    expect_recovery(&b);
}

static void add_hostile_cases(void)
{
    static const char bounce[] = "QEMU completes the request: addresses "
        "outside RAM go through its bounce buffer and the bytes are dropped";
    static const unsigned idx[] = { 0, 1, 2 };
    static const uint16_t sel_num_queues = 0, sel_1023 = 1023,
                          sel_ffff = 0xffff;

    qt_test_add("hostile/desc-beyond-ram", test_desc_outside_ram, &idx[0],
                QT_QVMM_ONLY, bounce);
    qt_test_add("hostile/desc-crossing-ram-end", test_desc_outside_ram,
                &idx[1], QT_QVMM_ONLY, bounce);
    qt_test_add("hostile/desc-wrapping", test_desc_outside_ram, &idx[2],
                QT_QVMM_ONLY, bounce);
    qt_test_add("hostile/desc-loop", test_desc_loop, NULL, QT_BOTH, NULL);
    qt_test_add("hostile/indirect-odd-length", test_indirect_bad, &idx[0],
                QT_BOTH, NULL);
    qt_test_add("hostile/indirect-nested", test_indirect_bad, &idx[1],
                QT_QVMM_ONLY, "QEMU takes an indirect flag inside a table "
                "for a plain buffer and completes the request");
    qt_test_add("hostile/indirect-loop", test_indirect_bad, &idx[2],
                QT_BOTH, NULL);
    qt_test_add("hostile/avail-jump", test_avail_jump, NULL, QT_QVMM_ONLY,
                "QEMU does not check the jump: it serves every slot, "
                "reading the ring round again");
    qt_test_add("hostile/queue-select-num-queues", test_queue_select,
                &sel_num_queues, QT_BOTH, NULL);
    qt_test_add("hostile/queue-select-1023", test_queue_select, &sel_1023,
                QT_BOTH, NULL);
    qt_test_add("hostile/queue-select-ffff", test_queue_select, &sel_ffff,
                QT_QVMM_ONLY, "QEMU ignores a queue_select of 1024 or more "
                "and keeps the previous queue selected");
    qt_test_add("hostile/msix-vector-range", test_msix_vector_range, NULL,
                QT_BOTH, NULL);
    qt_test_add("hostile/queue-size-pow2", test_queue_size_pow2, NULL,
                QT_QVMM_ONLY, "QEMU accepts any queue size up to 1024 "
                "(packed rings need no power of two)");
    qt_test_add("hostile/addrs-after-driver-ok", test_regs_after_driver_ok,
                NULL, QT_BOTH, NULL);
    qt_test_add("hostile/size-after-driver-ok", test_regs_after_driver_ok,
                "", QT_QVMM_ONLY, "QEMU applies a queue_size write at once, "
                "even after DRIVER_OK");
}

int main(int argc, char **argv)
{
    static const uint64_t indirect = F(VIRTIO_RING_F_INDIRECT_DESC);
    static const uint64_t event_idx = F(VIRTIO_RING_F_EVENT_IDX);
    static const uint64_t both = F(VIRTIO_RING_F_INDIRECT_DESC) |
                                 F(VIRTIO_RING_F_EVENT_IDX);
    const char *no_tiny_fs = tiny_fs_unavailable();
    int ret;

    signal(SIGTERM, remove_live_on_signal);
    signal(SIGINT, remove_live_on_signal);

    qt_test_add("blk/identity", test_identity, NULL, QT_BOTH, NULL);
    qt_test_add("blk/config", test_config, NULL, QT_BOTH, NULL);
    qt_test_add("blk/topology", test_topology, NULL, QT_BOTH, NULL);
    qt_test_add("blk/writeback", test_writeback, NULL, QT_BOTH, NULL);
    qt_test_add("blk/rw", test_rw, NULL, QT_BOTH, NULL);
    qt_test_add("blk/rw-indirect", test_rw, &indirect, QT_BOTH, NULL);
    qt_test_add("blk/rw-event-idx", test_rw, &event_idx, QT_BOTH, NULL);
    qt_test_add("blk/rw-indirect-event-idx", test_rw, &both, QT_BOTH, NULL);
    qt_test_add("blk/ring-wrap", test_ring_wrap, NULL, QT_BOTH, NULL);
    qt_test_add("blk/ring-wrap-indirect-event-idx", test_ring_wrap, &both,
                QT_BOTH, NULL);
    qt_test_add("blk/transitional", test_transitional, NULL, QT_QEMU_ONLY,
                "qvmm offers only the modern device and refuses "
                "disable-legacy=off");
    qt_test_add("blk/blockdev", test_blockdev, NULL, QT_BOTH, NULL);
    qt_test_add("blk/if-virtio", test_if_virtio, NULL, QT_BOTH, NULL);
    qt_test_add("blk/iothread", test_iothread, NULL, QT_BOTH, NULL);
    qt_test_add("blk/bad-requests", test_bad_requests, NULL, QT_BOTH, NULL);
    qt_test_add("blk/intx", test_intx, NULL, QT_BOTH, NULL);
    qt_test_add("blk/flush", test_flush, NULL, QT_BOTH, NULL);
    qt_test_add("blk/discard", test_discard, NULL, QT_BOTH, NULL);
    qt_test_add("blk/write-zeroes", test_write_zeroes, NULL, QT_BOTH, NULL);
    qt_test_add("blk/get-id", test_get_id, NULL, QT_BOTH, NULL);
    qt_test_add("blk/get-id-padding", test_get_id, "", QT_QVMM_ONLY,
                "QEMU writes the serial and one NUL, not 20 padded bytes");
    qt_test_add("blk/read-only", test_read_only, NULL, QT_BOTH, NULL);
    qt_test_add("blk/multiqueue", test_multiqueue, NULL, QT_BOTH, NULL);
    qt_test_add("blk/adjacent", test_adjacent, NULL, QT_BOTH, NULL);
    qt_test_add("blk/reset", test_reset, NULL, QT_BOTH, NULL);
    qt_test_add("blk/enospc", test_enospc, NULL,
                no_tiny_fs ? SKIP_ALWAYS : QT_BOTH, no_tiny_fs);
    qt_test_add("blk/enospc-stop", test_enospc_stop, NULL,
                no_tiny_fs ? SKIP_ALWAYS : QT_QVMM_ONLY,
                no_tiny_fs ? no_tiny_fs :
                "QEMU runs -S here (no qtest accelerator): no running VM "
                "for werror=stop to pause");
    qt_test_add("blk/enospc-stop-iothread", test_enospc_stop, "iothread",
                no_tiny_fs ? SKIP_ALWAYS : QT_QVMM_ONLY,
                no_tiny_fs ? no_tiny_fs :
                "QEMU runs -S here (no qtest accelerator): no running VM "
                "for werror=stop to pause");
    qt_test_add("blk/flush-kill", test_flush_kill, NULL, QT_BOTH, NULL);
    qt_test_add("blk/resize", test_resize, NULL, QT_BOTH, NULL);
    add_hostile_cases();
    ret = qt_test_run(argc, argv);
    remove_live();
    return ret;
}
