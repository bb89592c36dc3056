/*
 * Inside the block layer: the open file under one or more backends
 * (file-posix.c), the two I/O engines (thread-pool.c, linux-aio.c) and
 * the per-context completion queue they share.
 */
#ifndef BLOCK_BLOCK_INT_H
#define BLOCK_BLOCK_INT_H

#include "block/block.h"

typedef enum BlockAioMode {
    BLOCK_AIO_THREADS,
    BLOCK_AIO_NATIVE,
} BlockAioMode;

/* QEMU's permission bits; image locks sit at 100 + bit and 200 + bit. */
enum {
    BLK_PERM_CONSISTENT_READ = 0x1,
    BLK_PERM_WRITE = 0x2,
    BLK_PERM_WRITE_UNCHANGED = 0x4,
    BLK_PERM_RESIZE = 0x8,
    BLK_PERM_ALL = 0xf,
};

typedef struct BlockFileOpts {
    const char *filename;
    bool read_only;
    bool auto_read_only;     /* fall back to O_RDONLY if rw is refused */
    bool direct;             /* O_DIRECT */
    bool locking;            /* OFD image locks */
    BlockAioMode aio;
} BlockFileOpts;

/* An open image; shared by the nodes stacked on it. */
typedef struct BlockFile {
    int refcnt;
    char *filename;
    int fd;
    bool read_only;
    bool direct;
    bool locking;
    BlockAioMode aio;
    uint32_t align;          /* offset/length alignment for O_DIRECT */
    uint32_t mem_align;      /* buffer alignment for O_DIRECT */
    int64_t size;            /* cached length; bfile_size() to read */
    unsigned perm, unshared; /* lock bytes currently held */
    /* O_DIRECT writes in flight, and those waiting for an overlapping
     * read-modify-write to finish (block-backend.c) */
    GMutex ser_lock;
    GList *busy;
    GQueue waiting;
} BlockFile;

BlockFile *bfile_open(const BlockFileOpts *o, GError **errp);
void bfile_ref(BlockFile *f);
void bfile_unref(BlockFile *f);
/* Take the locks for @perm and for not sharing ~@shared; QEMU's texts. */
bool bfile_set_perm(BlockFile *f, unsigned perm, unsigned shared,
                    GError **errp);
int bfile_truncate(BlockFile *f, int64_t size);
/* The length, read atomically: block_resize (main thread) changes it
 * while devices in I/O threads check requests against it. */
static inline int64_t bfile_size(const BlockFile *f)
{
    return __atomic_load_n(&f->size, __ATOMIC_ACQUIRE);
}
bool bfile_iov_aligned(const BlockFile *f, int64_t offset,
                       const struct iovec *iov, int iovcnt);

/* Blocking work, run in a pool worker: 0 or -errno, whole length done. */
int bfile_preadv(BlockFile *f, int64_t offset, const struct iovec *iov,
                 int iovcnt);
int bfile_pwritev(BlockFile *f, int64_t offset, const struct iovec *iov,
                  int iovcnt);
int bfile_flush(BlockFile *f);
int bfile_discard(BlockFile *f, int64_t offset, int64_t bytes);
int bfile_write_zeroes(BlockFile *f, int64_t offset, int64_t bytes,
                       bool may_unmap);

/* Run @cb(@opaque, @ret) later in @ctx (NULL: the default); any thread. */
void block_ctx_complete(GMainContext *ctx, BlockCompletionFunc *cb,
                        void *opaque, int ret);

/* Thread pool: @fn(@arg) in a worker, then @cb(@opaque, ret) in @ctx. */
typedef int ThreadPoolFunc(void *arg);
void thread_pool_submit(GMainContext *ctx, ThreadPoolFunc *fn, void *arg,
                        BlockCompletionFunc *cb, void *opaque);

/* libaio: an aligned O_DIRECT read or write; @iov is owned by the caller
 * and may be modified (it is advanced over short transfers). */
void laio_submit(GMainContext *ctx, BlockFile *f, bool is_write,
                 int64_t offset, struct iovec *iov, int iovcnt,
                 BlockCompletionFunc *cb, void *opaque);

/* -drive cache= modes: false for an unknown name. */
bool blk_parse_cache_mode(const char *mode, bool *writeback, bool *direct,
                          bool *no_flush);

/* What blockdev.c hands to block-backend.c for one node. */
typedef struct BlockBackendOpts {
    const char *name;
    bool from_drive;         /* -drive: holds the read lock while unused */
    bool read_only;
    bool discard;
    bool no_flush;
    bool writeback;
    bool probed;             /* raw guessed: block 0 writes are checked */
    BlockdevOnError werror, rerror;
    const char *serial;
    const char *driver;      /* "raw" (NULL) or "file" */
    /* -drive: the format node's node-name=, NULL for a "#block" name */
    const char *drive_node_name;
    bool drive_alias;        /* the backend a -drive's node-name= names */
    bool unnamed_file;       /* its file node has no backend: list one */
} BlockBackendOpts;

BlockBackend *blk_new(BlockFile *f, const BlockBackendOpts *o,
                      GError **errp);
BlockFile *blk_file(BlockBackend *blk);
bool blk_flush_enabled(const BlockBackend *blk);
/* Detect an image format by its first sector; NULL if none known. */
const char *block_probe_format(const uint8_t *buf, size_t len);

/* Drop what the engines keep for @ctx (an I/O thread going away). */
void thread_pool_forget_context(GMainContext *ctx);
void laio_forget_context(GMainContext *ctx);
/* Hold libaio submissions in @ctx's thread, then send them together. */
void laio_plug(GMainContext *ctx);
void laio_unplug(GMainContext *ctx);

/* Forget every node name (blk_close_all). */
void blockdev_reset(void);

#endif
