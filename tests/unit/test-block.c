/*
 * The block layer on real files: both I/O engines, O_DIRECT bouncing,
 * completions in the right context, discard and write-zeroes, image
 * locks (also against QEMU itself when it is installed), ENOSPC on a
 * tiny tmpfs, and the -drive/-blockdev option texts.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "block/block.h"
#include "block/block_int.h"
#include "sysemu/iothread.h"
#include "capture.h"
#include <check.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define IMG_SIZE (1 * MiB)

static char *tmpdir;
static char *img;

static void setup(void)
{
    int fd;

    tmpdir = g_dir_make_tmp("test-block-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
    img = g_build_filename(tmpdir, "disk.img", NULL);
    fd = open(img, O_CREAT | O_RDWR, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, IMG_SIZE), 0);
    close(fd);
}

static void teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);

    blk_close_all();
    ck_assert_int_eq(system(cmd), 0);
    g_free(img);
    g_free(tmpdir);
}

/* ---- running requests ---- */

typedef struct Done {
    bool done;
    int ret;
    GThread *thread;      /* where the callback ran */
} Done;

static void on_done(void *opaque, int ret)
{
    Done *d = opaque;

    d->done = true;
    d->ret = ret;
    d->thread = g_thread_self();
}

static int wait_done(Done *d)
{
    /* Never completed inside the submitting call. */
    ck_assert(!d->done);
    while (!d->done) {
        g_main_context_iteration(NULL, TRUE);
    }
    return d->ret;
}

static int do_write(BlockBackend *blk, int64_t off, void *buf, size_t len,
                    int flags)
{
    Done d = { 0 };
    struct iovec iov = { buf, len };

    blk_aio_pwritev(blk, off, &iov, 1, flags, on_done, &d);
    return wait_done(&d);
}

static int do_read(BlockBackend *blk, int64_t off, void *buf, size_t len)
{
    Done d = { 0 };
    struct iovec iov = { buf, len };

    blk_aio_preadv(blk, off, &iov, 1, on_done, &d);
    return wait_done(&d);
}

static int do_flush(BlockBackend *blk)
{
    Done d = { 0 };

    blk_aio_flush(blk, on_done, &d);
    return wait_done(&d);
}

static BlockBackend *open_drive(const char *extra)
{
    g_autofree char *arg = g_strdup_printf("file=%s,if=none,format=raw%s%s",
                                           img, *extra ? "," : "", extra);
    g_autoptr(GError) err = NULL;
    const char *id = strstr(extra, "id=");
    g_autofree char *name = g_strndup(id ? id + 3 : "none0",
                                      id ? strcspn(id + 3, ",") : 5);
    BlockBackend *blk;

    if (!drive_add(arg, &err)) {
        ck_abort_msg("%s: %s", arg, err->message);
    }
    blk = blk_by_name(name);
    ck_assert_ptr_nonnull(blk);
    return blk;
}

static void file_bytes(int64_t off, void *buf, size_t len)
{
    int fd = open(img, O_RDONLY);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(i * 31 + seed);
    }
}

/* ---- tables ---- */

START_TEST(cache_modes)
{
    static const struct {
        const char *mode;
        bool wb, direct, no_flush;
    } t[] = {
        { "writeback", true, false, false },
        { "none", true, true, false },
        { "writethrough", false, false, false },
        { "directsync", false, true, false },
        { "unsafe", true, false, true },
    };
    bool wb, direct, nf;

    for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
        ck_assert(blk_parse_cache_mode(t[i].mode, &wb, &direct, &nf));
        ck_assert_msg(wb == t[i].wb && direct == t[i].direct &&
                      nf == t[i].no_flush, "cache=%s", t[i].mode);
    }
    ck_assert(!blk_parse_cache_mode("foo", &wb, &direct, &nf));
}
END_TEST

START_TEST(cache_mode_backends)
{
    BlockBackend *blk = open_drive("cache=writethrough,id=a");

    ck_assert(!blk_enable_write_cache(blk));
    blk = open_drive("cache=unsafe,id=b,file.locking=off");
    ck_assert(blk_enable_write_cache(blk));
    ck_assert(!blk_flush_enabled(blk));
    blk = open_drive("cache=none,id=c,file.locking=off");
    ck_assert(blk_enable_write_cache(blk));
    ck_assert(blk_file(blk)->direct);
    ck_assert_uint_ge(blk_get_request_alignment(blk), 512);
    blk = open_drive("cache=writeback,cache.direct=on,id=d,"
                     "file.locking=off");
    ck_assert(blk_file(blk)->direct);
}
END_TEST

START_TEST(error_policy)
{
    static const struct {
        const char *werror, *rerror;
        int error;
        BlockErrorAction w, r;
    } t[] = {
        { "enospc", "report", ENOSPC, BLOCK_ERROR_ACTION_STOP,
          BLOCK_ERROR_ACTION_REPORT },
        { "enospc", "report", EIO, BLOCK_ERROR_ACTION_REPORT,
          BLOCK_ERROR_ACTION_REPORT },
        { "stop", "stop", EIO, BLOCK_ERROR_ACTION_STOP,
          BLOCK_ERROR_ACTION_STOP },
        { "ignore", "ignore", ENOSPC, BLOCK_ERROR_ACTION_IGNORE,
          BLOCK_ERROR_ACTION_IGNORE },
        { "report", "report", ENOSPC, BLOCK_ERROR_ACTION_REPORT,
          BLOCK_ERROR_ACTION_REPORT },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(t); i++) {
        g_autofree char *extra = g_strdup_printf(
            "werror=%s,rerror=%s,id=d%u,file.locking=off", t[i].werror,
            t[i].rerror, i);
        BlockBackend *blk = open_drive(extra);

        ck_assert_int_eq(blk_get_error_action(blk, false, t[i].error), t[i].w);
        ck_assert_int_eq(blk_get_error_action(blk, true, t[i].error), t[i].r);
    }
    /* QEMU's defaults: werror=enospc, rerror=report */
    ck_assert_int_eq(blk_get_on_error(open_drive("id=x,file.locking=off"),
                                      false), BLOCKDEV_ON_ERROR_ENOSPC);
    ck_assert_int_eq(blk_get_on_error(blk_by_name("x"), true),
                     BLOCKDEV_ON_ERROR_REPORT);
}
END_TEST

static BlockIOErrorInfo last_event;
static void on_io_error(BlockBackend *blk, const BlockIOErrorInfo *e)
{
    (void)blk;
    last_event = *e;
}

START_TEST(error_event)
{
    BlockBackend *blk = open_drive("id=d0,werror=stop");

    blk_set_io_error_hook(on_io_error);
    blk_error_action(blk, blk_get_error_action(blk, false, ENOSPC), false,
                     ENOSPC);
    ck_assert_str_eq(last_event.device, "d0");
    ck_assert_str_eq(last_event.operation, "write");
    ck_assert_str_eq(last_event.action, "stop");
    ck_assert(last_event.nospace);
    ck_assert_int_eq(blk_iostatus(blk), BLOCK_IO_STATUS_NOSPACE);
    blk_iostatus_reset(blk);
    ck_assert_int_eq(blk_iostatus(blk), BLOCK_IO_STATUS_OK);
    blk_set_io_error_hook(NULL);
}
END_TEST

/* ---- data ---- */

static void check_rw(BlockBackend *blk)
{
    g_autofree uint8_t *buf = g_malloc(3 * 4096 + 1000);
    g_autofree uint8_t *back = g_malloc(3 * 4096 + 1000);
    g_autofree uint8_t *raw = g_malloc(3 * 4096 + 1000);
    uint8_t *aligned;
    size_t len = 3 * 4096 + 1000;

    /* misaligned offset, length and buffer */
    fill(buf, len, 7);
    ck_assert_int_eq(do_write(blk, 4096 + 333, buf + 1, len - 1, 0), 0);
    ck_assert_int_eq(do_read(blk, 4096 + 333, back + 1, len - 1), 0);
    ck_assert(!memcmp(buf + 1, back + 1, len - 1));
    file_bytes(4096 + 333, raw, len - 1);
    ck_assert(!memcmp(buf + 1, raw, len - 1));
    /* the bytes around it are untouched (read-modify-write) */
    file_bytes(4096, raw, 333);
    for (int i = 0; i < 333; i++) {
        ck_assert_int_eq(raw[i], 0);
    }
    /* aligned: the libaio path when aio=native */
    ck_assert_int_eq(posix_memalign((void **)&aligned, 4096, 8192), 0);
    fill(aligned, 8192, 99);
    ck_assert_int_eq(do_write(blk, 65536, aligned, 8192, 0), 0);
    memset(aligned, 0, 8192);
    ck_assert_int_eq(do_read(blk, 65536, aligned, 8192), 0);
    fill(buf, 8192, 99);
    ck_assert(!memcmp(buf, aligned, 8192));
    file_bytes(65536, raw, 8192);
    ck_assert(!memcmp(buf, raw, 8192));
    free(aligned);
    ck_assert_int_eq(do_flush(blk), 0);
}

START_TEST(rw_threads)
{
    check_rw(open_drive("aio=threads"));
}
END_TEST

START_TEST(rw_threads_direct)
{
    check_rw(open_drive("aio=threads,cache=none"));
}
END_TEST

START_TEST(rw_native)
{
    check_rw(open_drive("aio=native,cache=none"));
}
END_TEST

/*
 * Plugged, aio=native requests wait in the queue (nothing completes
 * however long the context runs); unplug sends them all, and each lands.
 */
START_TEST(native_plug)
{
    enum { N = 8, LEN = 4096 };
    BlockBackend *blk = open_drive("aio=native,cache=none");
    uint8_t *buf = NULL, got[LEN], want[LEN];
    struct iovec iov[N];
    Done d[N] = { 0 };

    ck_assert_int_eq(posix_memalign((void **)&buf, 4096, N * LEN), 0);
    blk_io_plug(blk);
    for (unsigned i = 0; i < N; i++) {
        fill(buf + i * LEN, LEN, 40 + i);
        iov[i] = (struct iovec){ buf + i * LEN, LEN };
        blk_aio_pwritev(blk, (int64_t)i * LEN * 3, &iov[i], 1, 0, on_done,
                        &d[i]);
    }
    for (int i = 0; i < 50; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    for (unsigned i = 0; i < N; i++) {
        ck_assert(!d[i].done);
    }
    blk_io_unplug(blk);
    for (unsigned i = 0; i < N; i++) {
        while (!d[i].done) {
            g_main_context_iteration(NULL, TRUE);
        }
        ck_assert_int_eq(d[i].ret, 0);
        fill(want, LEN, 40 + i);
        file_bytes((int64_t)i * LEN * 3, got, LEN);
        ck_assert_mem_eq(got, want, LEN);
    }
    free(buf);
}
END_TEST

START_TEST(rw_writethrough)
{
    BlockBackend *blk = open_drive("cache=directsync,aio=native");

    ck_assert(!blk_enable_write_cache(blk));
    check_rw(blk);
    blk_set_enable_write_cache(blk, true);
    check_rw(blk);
}
END_TEST

START_TEST(rw_unsafe)
{
    check_rw(open_drive("cache=unsafe"));
}
END_TEST

START_TEST(vectored)
{
    BlockBackend *blk = open_drive("aio=native,cache=none");
    uint8_t *a, *b;
    uint8_t raw[8192], want[8192];
    struct iovec iov[2];
    Done d = { 0 };

    ck_assert_int_eq(posix_memalign((void **)&a, 4096, 4096), 0);
    ck_assert_int_eq(posix_memalign((void **)&b, 4096, 4096), 0);
    memset(a, 0xaa, 4096);
    memset(b, 0xbb, 4096);
    iov[0] = (struct iovec){ a, 4096 };
    iov[1] = (struct iovec){ b, 4096 };
    blk_aio_pwritev(blk, 8192, iov, 2, BDRV_REQ_FUA, on_done, &d);
    ck_assert_int_eq(wait_done(&d), 0);
    file_bytes(8192, raw, sizeof(raw));
    memset(want, 0xaa, 4096);
    memset(want + 4096, 0xbb, 4096);
    ck_assert(!memcmp(raw, want, sizeof(raw)));
    free(a);
    free(b);
}
END_TEST

/* Many small writes into the same O_DIRECT blocks at once: each is a
 * read-modify-write, and none may undo another. */
static void check_concurrent_rmw(const char *extra)
{
    BlockBackend *blk = open_drive(extra);
    enum { N = 64, LEN = 24 };
    static uint8_t bufs[N][LEN];
    struct iovec iov[N];
    Done d[N] = { 0 };
    uint8_t raw[N * LEN];

    for (int i = 0; i < N; i++) {
        memset(bufs[i], i + 1, LEN);
        iov[i] = (struct iovec){ bufs[i], LEN };
        blk_aio_pwritev(blk, 100 + i * LEN, &iov[i], 1, 0, on_done, &d[i]);
    }
    blk_drain(blk);
    for (int i = 0; i < N; i++) {
        ck_assert(d[i].done);
        ck_assert_int_eq(d[i].ret, 0);
    }
    file_bytes(100, raw, sizeof(raw));
    for (int i = 0; i < N * LEN; i++) {
        ck_assert_msg(raw[i] == i / LEN + 1, "byte %d is %d", i, raw[i]);
    }
}

START_TEST(rmw_concurrent_threads)
{
    check_concurrent_rmw("aio=threads,cache=none");
}
END_TEST

START_TEST(rmw_concurrent_native)
{
    check_concurrent_rmw("aio=native,cache=none");
}
END_TEST

START_TEST(bounds_and_readonly)
{
    BlockBackend *blk = open_drive("id=rw");
    BlockBackend *ro;
    uint8_t buf[512];

    ck_assert_int_eq(blk_getlength(blk), IMG_SIZE);
    ck_assert_int_eq(do_read(blk, IMG_SIZE - 256, buf, 512), -EIO);
    ck_assert_int_eq(do_read(blk, -1, buf, 1), -EIO);
    ck_assert_int_eq(do_write(blk, INT64_MAX - 10, buf, 512, 0), -EIO);
    ro = open_drive("id=ro,readonly=on");
    ck_assert(blk_is_read_only(ro));
    memset(buf, 1, sizeof(buf));
    ck_assert_int_eq(do_write(ro, 0, buf, 512, 0), -EPERM);
    file_bytes(0, buf, 512);
    ck_assert_int_eq(buf[0], 0);
    ck_assert_int_eq(do_read(ro, 0, buf, 512), 0);
}
END_TEST

START_TEST(short_file_reads_zeroes)
{
    BlockBackend *blk = open_drive("");
    uint8_t buf[4096];

    /* The file shrinks behind our back: what is gone reads as zeroes,
     * inside the size the image had when opened. */
    ck_assert_int_eq(truncate(img, 1000), 0);
    memset(buf, 0x55, sizeof(buf));
    ck_assert_int_eq(do_read(blk, 0, buf, sizeof(buf)), 0);
    for (unsigned i = 0; i < sizeof(buf); i++) {
        ck_assert_int_eq(buf[i], 0);
    }
}
END_TEST

static int64_t next_hole(int64_t off)
{
    int fd = open(img, O_RDONLY);
    off_t r = lseek(fd, off, SEEK_HOLE);

    close(fd);
    return r;
}

START_TEST(discard_and_zeroes)
{
    BlockBackend *blk = open_drive("discard=unmap");
    BlockBackend *ign;
    g_autofree uint8_t *buf = g_malloc(256 * KiB);
    Done d = { 0 };

    ck_assert(blk_discard_enabled(blk));
    memset(buf, 0x5a, 256 * KiB);
    ck_assert_int_eq(do_write(blk, 0, buf, 256 * KiB, 0), 0);
    ck_assert_int_eq(do_flush(blk), 0);
    ck_assert_int_eq(next_hole(0), 256 * KiB);
    blk_aio_pdiscard(blk, 64 * KiB, 64 * KiB, on_done, &d);
    ck_assert_int_eq(wait_done(&d), 0);
    ck_assert_int_eq(next_hole(0), 64 * KiB);
    ck_assert_int_eq(do_read(blk, 64 * KiB, buf, 64 * KiB), 0);
    for (unsigned i = 0; i < 64 * KiB; i++) {
        ck_assert_int_eq(buf[i], 0);
    }
    /* write-zeroes without MAY_UNMAP: zeroes, space kept */
    d = (Done){ 0 };
    blk_aio_pwrite_zeroes(blk, 130 * KiB + 7, 10000, 0, on_done, &d);
    ck_assert_int_eq(wait_done(&d), 0);
    file_bytes(130 * KiB, buf, 20000);
    for (unsigned i = 0; i < 20000; i++) {
        ck_assert_int_eq(buf[i], i >= 7 && i < 10007 ? 0 : 0x5a);
    }
    /* with MAY_UNMAP and discard=unmap: a hole */
    d = (Done){ 0 };
    blk_aio_pwrite_zeroes(blk, 192 * KiB, 64 * KiB, BDRV_REQ_MAY_UNMAP,
                          on_done, &d);
    ck_assert_int_eq(wait_done(&d), 0);
    ck_assert_int_eq(next_hole(160 * KiB), 192 * KiB);
    /* discard=ignore: accepted, data stays */
    ign = open_drive("id=ign,file.locking=off");
    ck_assert(!blk_discard_enabled(ign));
    d = (Done){ 0 };
    blk_aio_pdiscard(ign, 0, 64 * KiB, on_done, &d);
    ck_assert_int_eq(wait_done(&d), 0);
    file_bytes(0, buf, 16);
    ck_assert_int_eq(buf[0], 0x5a);
}
END_TEST

START_TEST(truncate_image)
{
    BlockBackend *blk = open_drive("id=a");
    g_autoptr(GError) err = NULL;

    ck_assert(blk_truncate(blk, 2 * IMG_SIZE, &err));
    ck_assert_int_eq(blk_getlength(blk), 2 * IMG_SIZE);
    blk = open_drive("id=b,readonly=on,file.locking=off");
    ck_assert(!blk_truncate(blk, IMG_SIZE, &err));
    ck_assert_str_eq(err->message, "Image is read-only");
}
END_TEST

START_TEST(probed_raw_protects_block0)
{
    g_autofree char *arg = g_strdup_printf("file=%s,if=none", img);
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    BlockBackend *blk;
    uint8_t sector[512] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3 };

    capture_start();
    ck_assert(drive_add(arg, &err));
    out = capture_end();
    ck_assert_ptr_nonnull(strstr(out, "WARNING: Image format was not "
                                      "specified for"));
    blk = blk_by_name("none0");
    ck_assert_int_eq(do_write(blk, 0, sector, 512, 0), -EPERM);
    ck_assert_int_eq(do_write(blk, 4, sector + 4, 4, 0), 0);
    sector[0] = 'x';
    ck_assert_int_eq(do_write(blk, 0, sector, 512, 0), 0);
}
END_TEST

/* ---- contexts ---- */

typedef struct CtxReq {
    BlockBackend *blk;
    uint8_t *buf;
    Done d;
} CtxReq;

static void submit_in_thread(void *opaque)
{
    CtxReq *r = opaque;
    struct iovec iov = { r->buf, 4096 };

    blk_aio_pwritev(r->blk, 0, &iov, 1, 0, on_done, &r->d);
    ck_assert(!r->d.done);
}

static void check_iothread(const char *extra)
{
    g_autoptr(GError) err = NULL;
    IOThread *t = iothread_create("io0", &err);
    BlockBackend *blk = open_drive(extra);
    CtxReq r = { .blk = blk };
    uint8_t raw[4096];

    ck_assert_ptr_nonnull(t);
    ck_assert_int_gt(iothread_thread_id(t), 0);
    ck_assert_int_ne(iothread_thread_id(t), getpid());
    ck_assert_ptr_eq(iothread_by_id("io0"), t);
    ck_assert_ptr_null(iothread_create("io0", &err));
    ck_assert_str_eq(err->message, "Duplicate ID 'io0' for object");
    ck_assert_int_eq(posix_memalign((void **)&r.buf, 4096, 4096), 0);
    memset(r.buf, 0x77, 4096);
    blk_set_aio_context(blk, iothread_get_context(t));
    ck_assert_ptr_eq(blk_get_aio_context(blk), iothread_get_context(t));
    iothread_run_sync(t, submit_in_thread, &r);
    blk_drain(blk);           /* from another thread: waits */
    ck_assert(r.d.done);
    ck_assert_int_eq(r.d.ret, 0);
    ck_assert_ptr_ne(r.d.thread, g_thread_self());
    file_bytes(0, raw, sizeof(raw));
    ck_assert(!memcmp(raw, r.buf, sizeof(raw)));
    free(r.buf);
    /* A device moves its backend home before the thread goes away. */
    blk_set_aio_context(blk, NULL);
    iothread_stop_all();
    ck_assert_ptr_null(iothread_by_id("io0"));
}

START_TEST(iothread_threads)
{
    check_iothread("aio=threads");
}
END_TEST

START_TEST(iothread_native)
{
    check_iothread("aio=native,cache=none");
}
END_TEST

START_TEST(drain_main_context)
{
    BlockBackend *blk = open_drive("");
    uint8_t buf[4096];
    struct iovec iov = { buf, sizeof(buf) };
    Done d[8] = { 0 };

    memset(buf, 3, sizeof(buf));
    for (int i = 0; i < 8; i++) {
        blk_aio_pwritev(blk, i * 4096, &iov, 1, 0, on_done, &d[i]);
    }
    blk_drain(blk);
    for (int i = 0; i < 8; i++) {
        ck_assert(d[i].done);
        ck_assert_int_eq(d[i].ret, 0);
    }
}
END_TEST

/* ---- image locks ---- */

static int dummy_dev_a, dummy_dev_b;

START_TEST(lock_second_writer_fails)
{
    BlockBackend *a = open_drive("id=a");
    BlockBackend *b = open_drive("id=b");
    g_autoptr(GError) err = NULL;
    g_autofree char *want = g_strdup_printf(
        "Failed to get \"write\" lock\nIs another process using the image "
        "[%s]?", img);

    ck_assert(blk_attach_dev(a, &dummy_dev_a, &err));
    ck_assert(!blk_attach_dev(b, &dummy_dev_b, &err));
    ck_assert_str_eq(err->message, want);
    /* the same backend cannot serve two devices */
    g_clear_error(&err);
    ck_assert(!blk_attach_dev(a, &dummy_dev_b, &err));
    ck_assert_str_eq(err->message,
                     "Drive 'a' is already in use by another device");
    /* once the first lets go, the second gets it */
    blk_detach_dev(a, &dummy_dev_a);
    g_clear_error(&err);
    ck_assert(blk_attach_dev(b, &dummy_dev_b, &err));
}
END_TEST

START_TEST(lock_readers_share)
{
    BlockBackend *a = open_drive("id=a,readonly=on");
    BlockBackend *b = open_drive("id=b,readonly=on");
    BlockBackend *c = open_drive("id=c");
    g_autoptr(GError) err = NULL;
    g_autofree char *want = g_strdup_printf(
        "Failed to get \"write\" lock\nIs another process using the image "
        "[%s]?", img);

    ck_assert(blk_attach_dev(a, &dummy_dev_a, &err));
    ck_assert(blk_attach_dev(b, &dummy_dev_b, &err));
    ck_assert(!blk_attach_dev(c, &dummy_dev_a, &err));
    ck_assert_str_eq(err->message, want);
}
END_TEST

START_TEST(lock_reader_after_writer)
{
    BlockBackend *a = open_drive("id=a");
    BlockBackend *b = open_drive("id=b,readonly=on");
    BlockBackend *c = open_drive("id=c,file.locking=off");
    g_autoptr(GError) err = NULL;
    g_autofree char *want = g_strdup_printf(
        "Failed to get shared \"write\" lock\nIs another process using the "
        "image [%s]?", img);

    ck_assert(blk_attach_dev(a, &dummy_dev_a, &err));
    ck_assert(!blk_attach_dev(b, &dummy_dev_b, &err));
    ck_assert_str_eq(err->message, want);
    /* file.locking=off takes no locks and checks none */
    ck_assert(blk_attach_dev(c, &dummy_dev_b, NULL));
}
END_TEST

/* QEMU and qvmm must keep each other off the same image. */
static GPid start_qemu(const char *drive, int *err_fd)
{
    g_autofree char *arg = g_strdup_printf("file=%s,if=virtio,format=raw%s",
                                           img, drive);
    const char *argv[] = {
        "qemu-system-x86_64", "-display", "none", "-S", "-nodefaults",
        "-machine", "pc,accel=tcg", "-drive", arg, NULL
    };
    GPid pid;

    ck_assert(g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                       G_SPAWN_SEARCH_PATH |
                                       G_SPAWN_DO_NOT_REAP_CHILD |
                                       G_SPAWN_STDOUT_TO_DEV_NULL,
                                       NULL, NULL, &pid, NULL, NULL, err_fd,
                                       NULL));
    return pid;
}

static bool byte_locked(int64_t off)
{
    int fd = open(img, O_RDONLY);
    struct flock fl = { .l_whence = SEEK_SET, .l_start = off, .l_len = 1,
                        .l_type = F_WRLCK };

    fcntl(fd, F_OFD_GETLK, &fl);
    close(fd);
    return fl.l_type != F_UNLCK;
}

static char *read_all(int fd)
{
    GString *s = g_string_new(NULL);
    char buf[512];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        g_string_append_len(s, buf, n);
    }
    close(fd);
    return g_string_free(s, FALSE);
}

START_TEST(lock_against_qemu)
{
    g_autofree char *qemu = g_find_program_in_path("qemu-system-x86_64");
    g_autoptr(GError) err = NULL;
    g_autofree char *want = NULL, *out = NULL;
    BlockBackend *blk;
    int efd, status, i;
    GPid pid;

    if (!qemu) {
        printf("lock_against_qemu: skipped, no qemu-system-x86_64\n");
        return;
    }
    /* QEMU holds the image: qvmm's device cannot have it. */
    pid = start_qemu("", &efd);
    for (i = 0; i < 200 && !byte_locked(201); i++) {
        g_usleep(50000);
    }
    ck_assert_msg(byte_locked(201), "QEMU took no lock");
    blk = open_drive("id=a");
    ck_assert(!blk_attach_dev(blk, &dummy_dev_a, &err));
    want = g_strdup_printf("Failed to get \"write\" lock\nIs another "
                           "process using the image [%s]?", img);
    ck_assert_str_eq(err->message, want);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(efd);
    g_spawn_close_pid(pid);

    /* qvmm holds it: QEMU says what it always says. */
    ck_assert(blk_attach_dev(blk, &dummy_dev_a, NULL));
    pid = start_qemu("", &efd);
    out = read_all(efd);
    waitpid(pid, &status, 0);
    g_spawn_close_pid(pid);
    ck_assert_int_eq(WEXITSTATUS(status), 1);
    ck_assert_msg(strstr(out, "Failed to get \"write\" lock\nIs another "
                         "process using the image"), "QEMU said: %s", out);
}
END_TEST

/* ---- ENOSPC ---- */

START_TEST(enospc_keeps_data)
{
    g_autofree char *mnt = g_build_filename(tmpdir, "small", NULL);
    g_autofree char *arg = NULL;
    g_autoptr(GError) err = NULL;
    uint8_t *buf = g_malloc(64 * KiB), *back = g_malloc(64 * KiB);
    BlockBackend *blk;
    int64_t off = 0;
    int ret = 0, fd;

    /* check runs each test in a child: a private mount namespace there
     * keeps the tmpfs away from everything else. */
    if (unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        printf("enospc_keeps_data: skipped, no mount namespace (%s)\n",
               g_strerror(errno));
        goto out;
    }
    ck_assert_int_eq(mkdir(mnt, 0700), 0);
    ck_assert_int_eq(mount("tmpfs", mnt, "tmpfs", 0, "size=256k"), 0);
    g_free(img);
    img = g_build_filename(mnt, "disk.img", NULL);
    fd = open(img, O_CREAT | O_RDWR, 0644);
    ck_assert_int_eq(ftruncate(fd, 4 * MiB), 0);  /* sparse, bigger */
    close(fd);
    arg = g_strdup_printf("file=%s,if=none,format=raw,id=s", img);
    ck_assert(drive_add(arg, &err));
    blk = blk_by_name("s");
    while (ret == 0 && off < 4 * (int64_t)MiB) {
        fill(buf, 64 * KiB, (unsigned)(off >> 16));
        ret = do_write(blk, off, buf, 64 * KiB, 0);
        off += ret == 0 ? 64 * KiB : 0;
    }
    ck_assert_int_eq(ret, -ENOSPC);
    ck_assert_int_eq(blk_get_error_action(blk, false, -ret),
                     BLOCK_ERROR_ACTION_STOP);
    ck_assert_int_gt(off, 0);
    /* everything that completed is there */
    for (int64_t o = 0; o < off; o += 64 * KiB) {
        fill(buf, 64 * KiB, (unsigned)(o >> 16));
        ck_assert_int_eq(do_read(blk, o, back, 64 * KiB), 0);
        ck_assert(!memcmp(buf, back, 64 * KiB));
    }
    blk_close_all();
    umount(mnt);
out:
    g_free(buf);
    g_free(back);
}
END_TEST

/* ---- option texts ---- */

static void expect_drive_error(const char *arg, const char *want)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *a = g_strdup_printf(arg, img);
    g_autofree char *w = g_strdup_printf(want, img);

    ck_assert_msg(!drive_add(a, &err), "%s accepted", a);
    ck_assert_str_eq(err->message, w);
}

START_TEST(drive_errors)
{
    expect_drive_error("file=%s,if=none,format=qcow2",
                       "Block driver 'qcow2' is not supported by qvmm "
                       "(only raw images: format=raw)");
    expect_drive_error("file=%s,if=none,format=foo", "Unknown driver 'foo'");
    expect_drive_error("file=%s,if=none,format=raw,cache=foo",
                       "invalid cache option");
    expect_drive_error("file=%s,if=none,format=raw,aio=foo",
                       "invalid aio option");
    expect_drive_error("file=%s,if=none,format=raw,werror=foo",
                       "'foo' invalid write error action");
    expect_drive_error("file=%s,if=none,format=raw,rerror=enospc",
                       "'enospc' invalid read error action");
    expect_drive_error("file=%s,if=none,format=raw,aio=native",
                       "aio=native was specified, but it requires "
                       "cache.direct=on, which was not specified.");
    expect_drive_error("file=%s,if=none,format=raw,foo=1",
                       "Block format 'raw' does not support the option "
                       "'foo'");
    expect_drive_error("file=%s,if=none,format=raw,discard=foo",
                       "Invalid discard option");
    expect_drive_error("file=%s,if=none,format=raw,readonly=foo",
                       "Parameter 'read-only' expects 'on' or 'off'");
    expect_drive_error("file=%s,if=scsi,format=raw",
                       "machine type does not support if=scsi,bus=0,unit=0");
    expect_drive_error("file=%s,if=foo,format=raw",
                       "unsupported bus type 'foo'");
    expect_drive_error("if=none,format=raw",
                       "A block device must be specified for \"file\"");
    expect_drive_error("file=%s.missing,if=none,format=raw",
                       "Could not open '%s.missing': No such file or "
                       "directory");
    expect_drive_error("file=%s,if=none,format=raw,file.locking=foo",
                       "invalid parameter value: foo");
}
END_TEST

START_TEST(drive_ids)
{
    g_autofree char *a = g_strdup_printf("file=%s,if=none,format=raw,"
                                         "file.locking=off", img);
    g_autofree char *b = g_strdup_printf("file=%s,if=none,format=raw,id=x,"
                                         "file.locking=off", img);
    g_autoptr(GError) err = NULL;

    ck_assert(drive_add(b, &err));
    ck_assert(drive_add(a, &err));
    ck_assert(drive_add(a, &err));
    /* QEMU numbers units per interface, counting drives with an id */
    ck_assert_ptr_nonnull(blk_by_name("none1"));
    ck_assert_ptr_nonnull(blk_by_name("none2"));
    ck_assert(!drive_add(b, &err));
    ck_assert_str_eq(err->message, "Duplicate ID 'x' for drive");
}
END_TEST

START_TEST(drive_node_name)
{
    g_autofree char *a = g_strdup_printf("file=%s,if=none,format=raw,id=d,"
                                         "node-name=n", img);
    g_autofree char *b = g_strdup_printf("file=%s,if=none,format=raw,id=e,"
                                         "node-name=d,file.locking=off", img);
    g_autoptr(GError) err = NULL;

    ck_assert(drive_add(a, &err));
    ck_assert_ptr_nonnull(blk_by_name("d"));
    ck_assert_ptr_nonnull(blk_by_name("n"));
    /* both names reach one file: only one device may write through it */
    ck_assert(blk_attach_dev(blk_by_name("d"), &dummy_dev_a, &err));
    ck_assert(!blk_attach_dev(blk_by_name("n"), &dummy_dev_b, &err));
    g_clear_error(&err);
    ck_assert(!drive_add(b, &err));
    ck_assert_str_eq(err->message, "node-name=d is conflicting with a "
                     "device id");
}
END_TEST

static void expect_blockdev_error(const char *arg, const char *want)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *a = g_strdup_printf(arg, img);

    ck_assert_msg(!blockdev_new(a, &err), "%s accepted", a);
    ck_assert_str_eq(err->message, want);
}

START_TEST(blockdev_forms)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *kv = g_strdup_printf(
        "driver=raw,node-name=disk0,file.driver=file,file.filename=%s,"
        "cache.direct=on,file.aio=native,discard=unmap,file.discard=unmap",
        img);
    g_autofree char *js = g_strdup_printf(
        "{\"driver\":\"raw\",\"node-name\":\"disk1\",\"read-only\":true,"
        "\"file\":{\"driver\":\"file\",\"filename\":\"%s\","
        "\"node-name\":\"f1\",\"locking\":\"off\"}}", img);
    g_autofree char *lv1 = g_strdup_printf(
        "{\"driver\":\"file\",\"filename\":\"%s\",\"node-name\":"
        "\"libvirt-1-storage\",\"auto-read-only\":true,\"discard\":\"unmap\","
        "\"locking\":\"off\"}", img);
    const char *lv2 = "{\"node-name\":\"libvirt-1-format\",\"read-only\":"
                      "false,\"driver\":\"raw\",\"file\":"
                      "\"libvirt-1-storage\"}";
    BlockBackend *blk;
    uint8_t buf[512];

    ck_assert_msg(blockdev_new(kv, &err), "%s", err ? err->message : "");
    blk = blk_by_name("disk0");
    ck_assert(blk_file(blk)->direct);
    ck_assert(blk_discard_enabled(blk));
    ck_assert_msg(blockdev_new(js, &err), "%s", err ? err->message : "");
    ck_assert(blk_is_read_only(blk_by_name("disk1")));
    ck_assert(blk_is_read_only(blk_by_name("f1")));
    ck_assert(blockdev_new(lv1, &err));
    ck_assert(blockdev_new(lv2, &err));
    blk = blk_by_name("libvirt-1-format");
    ck_assert(!blk_is_read_only(blk));
    ck_assert(!blk_discard_enabled(blk));    /* raw node: discard=ignore */
    memset(buf, 9, sizeof(buf));
    ck_assert_int_eq(do_write(blk, 512, buf, 512, 0), 0);
    /* two users of one file node: the second device is refused */
    ck_assert(blk_attach_dev(blk, &dummy_dev_a, &err));
    ck_assert(!blk_attach_dev(blk_by_name("libvirt-1-storage"),
                              &dummy_dev_b, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "Permission conflict"));
    ck_assert_int_eq(do_read(blk_by_name("libvirt-1-storage"), 512, buf,
                             512), 0);
    ck_assert_int_eq(buf[0], 9);
}
END_TEST

START_TEST(blockdev_errors)
{
    expect_blockdev_error("driver=foo,node-name=d",
                          "Parameter 'driver' does not accept value 'foo'");
    expect_blockdev_error("driver=file,node-name=f0",
                          "Parameter 'filename' is missing");
    expect_blockdev_error("driver=file,filename=%s",
                          "'node-name' must be specified for the root node");
    expect_blockdev_error("driver=file,node-name=f0,filename=%s,foo=1",
                          "Parameter 'foo' is unexpected");
    expect_blockdev_error("driver=file,node-name=f0,filename=%s,aio=native",
                          "aio=native was specified, but it requires "
                          "cache.direct=on, which was not specified.");
    expect_blockdev_error("driver=file,node-name=f0,filename=%s,"
                          "cache.direct=foo",
                          "Parameter 'cache.direct' expects 'on' or 'off'");
    expect_blockdev_error("driver=file,node-name=1f,filename=%s",
                          "Invalid node-name: '1f'");
    expect_blockdev_error("driver=raw,node-name=r0,file=nope",
                          "Cannot find device='nope' nor node-name='nope'");
    expect_blockdev_error("{\"driver\":\"raw\",\"node-name\":\"d\","
                          "\"file\":{\"driver\":\"file\",\"filename\":"
                          "\"%s\",\"bogus\":1}}",
                          "Parameter 'file.bogus' is unexpected");
    expect_blockdev_error("{\"driver\":\"raw\",\"node-name\":\"d\","
                          "\"read-only\":\"yes\",\"file\":{\"driver\":"
                          "\"file\",\"filename\":\"%s\"}}",
                          "Invalid parameter type for 'read-only', "
                          "expected: boolean");
    expect_blockdev_error("driver=file,node-name=f0,filename=%s,"
                          "locking=foo",
                          "Parameter 'locking' does not accept value 'foo'");
}
END_TEST

START_TEST(blockdev_names)
{
    g_autofree char *bd = g_strdup_printf(
        "driver=file,node-name=f0,filename=%s", img);
    g_autofree char *dr = g_strdup_printf(
        "file=%s,if=none,format=raw,id=f0,file.locking=off", img);
    g_autoptr(GError) err = NULL;

    ck_assert(blockdev_new(bd, &err));
    ck_assert(!blockdev_new(bd, &err));
    ck_assert_str_eq(err->message, "Duplicate nodes with node-name='f0'");
    g_clear_error(&err);
    ck_assert(!drive_add(dr, &err));
    ck_assert_str_eq(err->message,
                     "Device name 'f0' conflicts with an existing node name");
}
END_TEST

static Suite *block_suite(void)
{
    Suite *s = suite_create("block");
    TCase *tc = tcase_create("block");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, cache_modes);
    tcase_add_test(tc, cache_mode_backends);
    tcase_add_test(tc, error_policy);
    tcase_add_test(tc, error_event);
    tcase_add_test(tc, rw_threads);
    tcase_add_test(tc, rw_threads_direct);
    tcase_add_test(tc, rw_native);
    tcase_add_test(tc, native_plug);
    tcase_add_test(tc, rw_writethrough);
    tcase_add_test(tc, rw_unsafe);
    tcase_add_test(tc, vectored);
    tcase_add_test(tc, rmw_concurrent_threads);
    tcase_add_test(tc, rmw_concurrent_native);
    tcase_add_test(tc, bounds_and_readonly);
    tcase_add_test(tc, short_file_reads_zeroes);
    tcase_add_test(tc, discard_and_zeroes);
    tcase_add_test(tc, truncate_image);
    tcase_add_test(tc, probed_raw_protects_block0);
    tcase_add_test(tc, iothread_threads);
    tcase_add_test(tc, iothread_native);
    tcase_add_test(tc, drain_main_context);
    tcase_add_test(tc, lock_second_writer_fails);
    tcase_add_test(tc, lock_readers_share);
    tcase_add_test(tc, lock_reader_after_writer);
    tcase_add_test(tc, lock_against_qemu);
    tcase_add_test(tc, enospc_keeps_data);
    tcase_add_test(tc, drive_errors);
    tcase_add_test(tc, drive_ids);
    tcase_add_test(tc, drive_node_name);
    tcase_add_test(tc, blockdev_forms);
    tcase_add_test(tc, blockdev_errors);
    tcase_add_test(tc, blockdev_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(block_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
