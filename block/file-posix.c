/*
 * Raw image files: open flags from the cache mode, QEMU-compatible OFD
 * image locks, O_DIRECT alignment (with bounce buffers), and the blocking
 * operations the I/O workers run.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "block/block_int.h"
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define LOCK_PERM_BASE 100
#define LOCK_SHARED_BASE 200
#define NPERMS 4

static const char *const perm_names[NPERMS] = {
    "consistent read", "write", "write unchanged", "resize",
};

/* ---- image locks (the layout QEMU 7.2's file-posix uses) ---- */

static int ofd_lock(int fd, int64_t off, bool lock)
{
    struct flock fl = {
        .l_whence = SEEK_SET, .l_start = off, .l_len = 1,
        .l_type = lock ? F_RDLCK : F_UNLCK,
    };
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* Whether another open file (any process) holds a lock on byte @off. */
static bool ofd_locked_elsewhere(int fd, int64_t off)
{
    struct flock fl = {
        .l_whence = SEEK_SET, .l_start = off, .l_len = 1, .l_type = F_WRLCK,
    };
    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return false;
    }
    return fl.l_type != F_UNLCK;
}

static int apply_locks(BlockFile *f, unsigned perm, unsigned unshared)
{
    for (int i = 0; i < NPERMS; i++) {
        unsigned bit = 1u << i;
        int ret;

        if ((perm & bit) != (f->perm & bit)) {
            ret = ofd_lock(f->fd, LOCK_PERM_BASE + i, perm & bit);
            if (ret < 0) {
                return ret;
            }
        }
        if ((unshared & bit) != (f->unshared & bit)) {
            ret = ofd_lock(f->fd, LOCK_SHARED_BASE + i, unshared & bit);
            if (ret < 0) {
                return ret;
            }
        }
    }
    f->perm = perm;
    f->unshared = unshared;
    return 0;
}

static bool check_locks(BlockFile *f, unsigned perm, unsigned unshared,
                        GError **errp)
{
    for (int i = 0; i < NPERMS; i++) {
        if ((perm & (1u << i)) &&
            ofd_locked_elsewhere(f->fd, LOCK_SHARED_BASE + i)) {
            error_setg(errp, "Failed to get \"%s\" lock\nIs another process "
                       "using the image [%s]?", perm_names[i], f->filename);
            return false;
        }
    }
    for (int i = 0; i < NPERMS; i++) {
        if ((unshared & (1u << i)) &&
            ofd_locked_elsewhere(f->fd, LOCK_PERM_BASE + i)) {
            error_setg(errp, "Failed to get shared \"%s\" lock\nIs another "
                       "process using the image [%s]?", perm_names[i],
                       f->filename);
            return false;
        }
    }
    return true;
}

bool bfile_set_perm(BlockFile *f, unsigned perm, unsigned shared,
                    GError **errp)
{
    unsigned unshared = BLK_PERM_ALL & ~shared;
    unsigned old_perm = f->perm, old_unshared = f->unshared;
    int ret;

    if (!f->locking) {
        return true;
    }
    ret = apply_locks(f, perm, unshared);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to lock byte");
        apply_locks(f, old_perm, old_unshared);
        return false;
    }
    if (!check_locks(f, perm, unshared, errp)) {
        apply_locks(f, old_perm, old_unshared);
        return false;
    }
    return true;
}

/* ---- open ---- */

static int64_t fd_length(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);

    return end < 0 ? -errno : end;
}

/* Find what O_DIRECT needs: statx() knows on recent kernels; otherwise
 * try reads at growing alignments, as QEMU's probe does. */
static void probe_dio_alignment(BlockFile *f)
{
    struct statx stx;
    void *buf;

    if (statx(f->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
        f->align = stx.stx_dio_offset_align;
        f->mem_align = MAX(stx.stx_dio_mem_align, 1);
        return;
    }
    f->align = f->mem_align = 4096;
    if (posix_memalign(&buf, 4096, 4096) != 0) {
        return;
    }
    for (uint32_t a = 512; a <= 4096; a *= 2) {
        if (pread(f->fd, buf, a, 0) >= 0) {
            f->align = a;
            break;
        }
    }
    for (uint32_t a = 512; a <= 4096; a *= 2) {
        if (pread(f->fd, (char *)buf + a, f->align, 0) >= 0 ||
            a == 4096) {
            f->mem_align = a;
            break;
        }
    }
    free(buf);
}

static int open_image(const BlockFileOpts *o, bool read_only)
{
    int flags = O_CLOEXEC | (read_only ? O_RDONLY : O_RDWR) |
                (o->direct ? O_DIRECT : 0);

    return open(o->filename, flags);
}

BlockFile *bfile_open(const BlockFileOpts *o, GError **errp)
{
    BlockFile *f;
    bool read_only = o->read_only;
    struct stat st;
    int fd;
    int64_t len;

    /* Regular files, and block devices (QEMU's host_device). */
    if (stat(o->filename, &st) == 0 && !S_ISREG(st.st_mode) &&
        !S_ISBLK(st.st_mode)) {
        error_setg(errp, "'file' driver requires '%s' to be a regular file",
                   o->filename);
        return NULL;
    }
    fd = open_image(o, read_only);
    if (fd < 0 && !read_only && o->auto_read_only &&
        (errno == EACCES || errno == EROFS)) {
        read_only = true;
        fd = open_image(o, true);
    }
    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", o->filename);
        return NULL;
    }
    len = fd_length(fd);
    if (len < 0) {
        error_setg_errno(errp, (int)-len, "Could not open '%s'",
                         o->filename);
        close(fd);
        return NULL;
    }
    f = g_new0(BlockFile, 1);
    f->refcnt = 1;
    f->filename = g_strdup(o->filename);
    f->fd = fd;
    f->read_only = read_only;
    f->direct = o->direct;
    f->locking = o->locking;
    f->aio = o->aio;
    f->size = len;
    f->align = f->mem_align = 1;
    g_mutex_init(&f->ser_lock);
    g_queue_init(&f->waiting);
    if (o->direct) {
        probe_dio_alignment(f);
    }
    return f;
}

void bfile_ref(BlockFile *f)
{
    f->refcnt++;
}

void bfile_unref(BlockFile *f)
{
    if (!f || --f->refcnt > 0) {
        return;
    }
    close(f->fd);         /* drops the OFD locks too */
    g_mutex_clear(&f->ser_lock);
    g_free(f->filename);
    g_free(f);
}

int bfile_truncate(BlockFile *f, int64_t size)
{
    int64_t len;

    if (f->read_only) {
        return -EACCES;
    }
    if (ftruncate(f->fd, size) < 0) {
        return -errno;
    }
    len = fd_length(f->fd);
    if (len < 0) {
        return (int)len;
    }
    __atomic_store_n(&f->size, len, __ATOMIC_RELEASE);
    return 0;
}

bool bfile_iov_aligned(const BlockFile *f, int64_t offset,
                       const struct iovec *iov, int iovcnt)
{
    uint64_t total = 0;

    if (offset % f->align) {
        return false;
    }
    for (int i = 0; i < iovcnt; i++) {
        if ((uintptr_t)iov[i].iov_base % f->mem_align ||
            iov[i].iov_len % f->align) {
            return false;
        }
        total += iov[i].iov_len;
    }
    return total % f->align == 0;
}

/* ---- blocking I/O, for the workers ---- */

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
    size_t n = 0;

    for (int i = 0; i < iovcnt; i++) {
        n += iov[i].iov_len;
    }
    return n;
}

/* Drop @n bytes from the front of a (copied) vector. */
static void iov_advance(struct iovec **iov, int *iovcnt, size_t n)
{
    while (n && *iovcnt) {
        size_t step = MIN(n, (*iov)->iov_len);

        (*iov)->iov_base = (char *)(*iov)->iov_base + step;
        (*iov)->iov_len -= step;
        n -= step;
        if (!(*iov)->iov_len) {
            (*iov)++;
            (*iovcnt)--;
        }
    }
}

static void iov_memset(struct iovec *iov, int iovcnt, int c)
{
    for (int i = 0; i < iovcnt; i++) {
        memset(iov[i].iov_base, c, iov[i].iov_len);
    }
}

/*
 * Loop until every byte moved: short transfers continue where they
 * stopped; a read that hits end-of-file fills the rest with zeroes, a
 * write that makes no progress is -EIO.
 */
static int rw_all(int fd, bool is_write, int64_t offset,
                  const struct iovec *iov_in, int iovcnt)
{
    g_autofree struct iovec *copy = g_memdup2(iov_in,
                                              sizeof(*iov_in) * iovcnt);
    struct iovec *iov = copy;

    while (iovcnt && iov_total(iov, iovcnt)) {
        ssize_t n = is_write ? pwritev(fd, iov, MIN(iovcnt, IOV_MAX), offset)
                             : preadv(fd, iov, MIN(iovcnt, IOV_MAX), offset);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        if (n == 0) {
            if (is_write) {
                return -EIO;
            }
            iov_memset(iov, iovcnt, 0);
            return 0;
        }
        offset += n;
        iov_advance(&iov, &iovcnt, (size_t)n);
    }
    return 0;
}

static void *bounce_alloc(BlockFile *f, size_t len)
{
    void *p = NULL;

    if (posix_memalign(&p, MAX(f->mem_align, sizeof(void *)), len) != 0) {
        return NULL;
    }
    return p;
}

/* Copy between a vector and a flat buffer, @skip bytes into the vector. */
static void iov_copy(const struct iovec *iov, int iovcnt, uint8_t *buf,
                     size_t len, bool to_iov)
{
    for (int i = 0; i < iovcnt && len; i++) {
        size_t n = MIN(len, iov[i].iov_len);

        if (to_iov) {
            memcpy(iov[i].iov_base, buf, n);
        } else {
            memcpy(buf, iov[i].iov_base, n);
        }
        buf += n;
        len -= n;
    }
}

int bfile_preadv(BlockFile *f, int64_t offset, const struct iovec *iov,
                 int iovcnt)
{
    size_t len = iov_total(iov, iovcnt);
    int64_t start, end;
    uint8_t *buf;
    int ret;

    if (!f->direct || bfile_iov_aligned(f, offset, iov, iovcnt)) {
        return rw_all(f->fd, false, offset, iov, iovcnt);
    }
    start = QEMU_ALIGN_DOWN(offset, f->align);
    end = QEMU_ALIGN_UP(offset + (int64_t)len, (int64_t)f->align);
    buf = bounce_alloc(f, end - start);
    if (!buf) {
        return -ENOMEM;
    }
    ret = rw_all(f->fd, false, start,
                 &(struct iovec){ buf, end - start }, 1);
    if (ret == 0) {
        iov_copy(iov, iovcnt, buf + (offset - start), len, true);
    }
    free(buf);
    return ret;
}

/* O_DIRECT write of misaligned data: read the partial edge blocks,
 * merge, write whole blocks. */
static int pwrite_bounced(BlockFile *f, int64_t offset,
                          const struct iovec *iov, int iovcnt)
{
    size_t len = iov_total(iov, iovcnt);
    int64_t start = QEMU_ALIGN_DOWN(offset, f->align);
    int64_t end = QEMU_ALIGN_UP(offset + (int64_t)len, (int64_t)f->align);
    uint8_t *buf = bounce_alloc(f, end - start);
    int ret = 0;

    if (!buf) {
        return -ENOMEM;
    }
    if (start != offset) {
        ret = rw_all(f->fd, false, start, &(struct iovec){ buf, f->align }, 1);
    }
    if (ret == 0 && end != offset + (int64_t)len &&
        (end - (int64_t)f->align != start || start == offset)) {
        ret = rw_all(f->fd, false, end - f->align,
                     &(struct iovec){ buf + (end - start - f->align),
                                      f->align }, 1);
    }
    if (ret == 0) {
        iov_copy(iov, iovcnt, buf + (offset - start), len, false);
        ret = rw_all(f->fd, true, start,
                     &(struct iovec){ buf, end - start }, 1);
    }
    free(buf);
    return ret;
}

int bfile_pwritev(BlockFile *f, int64_t offset, const struct iovec *iov,
                  int iovcnt)
{
    if (!f->direct || bfile_iov_aligned(f, offset, iov, iovcnt)) {
        return rw_all(f->fd, true, offset, iov, iovcnt);
    }
    return pwrite_bounced(f, offset, iov, iovcnt);
}

int bfile_flush(BlockFile *f)
{
    return fdatasync(f->fd) < 0 ? -errno : 0;
}

int bfile_discard(BlockFile *f, int64_t offset, int64_t bytes)
{
    if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  offset, bytes) < 0) {
        /* Discard is a hint: a file system that cannot punch holes
         * simply keeps the data, as QEMU does. */
        if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL) {
            return 0;
        }
        return -errno;
    }
    return 0;
}

static int write_zeroes_slowly(BlockFile *f, int64_t offset, int64_t bytes)
{
    const size_t chunk = 1 * MiB;
    uint8_t *buf = bounce_alloc(f, chunk);
    int ret = 0;

    if (!buf) {
        return -ENOMEM;
    }
    memset(buf, 0, chunk);
    while (bytes > 0 && ret == 0) {
        size_t n = MIN((uint64_t)bytes, chunk);

        ret = bfile_pwritev(f, offset, &(struct iovec){ buf, n }, 1);
        offset += n;
        bytes -= n;
    }
    free(buf);
    return ret;
}

int bfile_write_zeroes(BlockFile *f, int64_t offset, int64_t bytes,
                       bool may_unmap)
{
    if (may_unmap &&
        fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  offset, bytes) == 0) {
        return 0;
    }
    if (fallocate(f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                  offset, bytes) == 0) {
        return 0;
    }
    if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENOTTY) {
        return -errno;
    }
    return write_zeroes_slowly(f, offset, bytes);
}
