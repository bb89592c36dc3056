/*
 * The block layer: images opened by -drive and -blockdev, read and
 * written asynchronously on behalf of devices.
 *
 * A BlockBackend is what a device's "drive" property names: the -drive id
 * or the -blockdev node-name of the top (format) node.  It is opened once
 * at start-up from the command line (blockdev.c), attached to at most one
 * device, and serves vectored requests whose completion callbacks run in
 * the backend's GMainContext: the main loop's (BQL held) unless the device
 * moved it to its I/O thread with blk_set_aio_context() before first use.
 *
 * Requests are never completed from inside the submitting call, so a
 * device may submit while iterating its queue.  Errors are -errno.
 *
 * Durability follows QEMU's cache modes:
 *              cache.direct  cache.no-flush  write cache (device WCE)
 *   writeback      off           off             on
 *   none           on            off             on
 *   writethrough   off           off             off
 *   directsync     on            off             off
 *   unsafe         off           on              on
 * With the write cache off every write is made durable before it
 * completes; with no-flush a flush completes at once doing nothing.
 */
#ifndef BLOCK_BLOCK_H
#define BLOCK_BLOCK_H

#include "qemu/osdep.h"
#include "qemu/option.h"
#include <sys/uio.h>

typedef struct BlockBackend BlockBackend;

/* 0 or -errno. */
typedef void BlockCompletionFunc(void *opaque, int ret);

/* werror= / rerror= (QEMU's BlockdevOnError). */
typedef enum BlockdevOnError {
    BLOCKDEV_ON_ERROR_REPORT,
    BLOCKDEV_ON_ERROR_IGNORE,
    BLOCKDEV_ON_ERROR_ENOSPC,
    BLOCKDEV_ON_ERROR_STOP,
    BLOCKDEV_ON_ERROR_AUTO,
} BlockdevOnError;

/* QEMU's name for a BlockdevOnError ("report", ..., "auto"), or -1. */
int blockdev_on_error_parse(const char *name);

/* What a device does with a failed request (QEMU's BlockErrorAction). */
typedef enum BlockErrorAction {
    BLOCK_ERROR_ACTION_IGNORE,  /* complete it as if it succeeded */
    BLOCK_ERROR_ACTION_REPORT,  /* fail it to the guest */
    BLOCK_ERROR_ACTION_STOP,    /* keep it, stop the VM (io-error) */
} BlockErrorAction;

/* Flags for blk_aio_pwritev() / blk_aio_pwrite_zeroes(). */
#define BDRV_REQ_FUA        0x1 /* durable before completion */
#define BDRV_REQ_MAY_UNMAP  0x2 /* zeroes may be written as a hole */

/*
 * Command line.  drive_add() takes one -drive argument (error locations
 * then name it), blockdev_new() one -blockdev argument (keyval or JSON).
 * Both open the
 * image now (so lock and permission errors come at start-up) and report
 * QEMU's texts.  drive_create_devices() then creates the devices that
 * if=virtio drives imply, after the machine; the rest wait for -device.
 */
bool drive_add(const char *optarg, GError **errp);
bool blockdev_new(const char *optarg, GError **errp);
bool drive_create_devices(GError **errp);
/* Close every backend (end of main); devices are gone by then. */
void blk_close_all(void);

/* By -drive id / -blockdev node-name; NULL if none. */
BlockBackend *blk_by_name(const char *name);
/*
 * Claim @blk for @dev; fails if another device has it, with QEMU's
 * "Drive 'ID' is already in use by another device"-style text.
 */
bool blk_attach_dev(BlockBackend *blk, void *dev, GError **errp);
void blk_detach_dev(BlockBackend *blk, void *dev);
/* The serial= given with -drive, or NULL. */
const char *blk_get_serial(const BlockBackend *blk);

int64_t blk_getlength(BlockBackend *blk);     /* bytes, or -errno */
bool blk_is_read_only(const BlockBackend *blk);
/* discard=unmap: discard requests punch holes (else they are ignored) */
bool blk_discard_enabled(const BlockBackend *blk);
/* Buffer and offset alignment that requests must honour anyway
 * (the block layer bounces misaligned buffers for O_DIRECT itself). */
uint32_t blk_get_request_alignment(const BlockBackend *blk);
bool blk_enable_write_cache(const BlockBackend *blk);
void blk_set_enable_write_cache(BlockBackend *blk, bool wce);

BlockdevOnError blk_get_on_error(const BlockBackend *blk, bool is_read);
/* A device's rerror=/werror= properties override the drive's. */
void blk_set_on_error(BlockBackend *blk, BlockdevOnError rerror,
                      BlockdevOnError werror);
/* The action for a request that failed with -@error (positive errno). */
BlockErrorAction blk_get_error_action(const BlockBackend *blk, bool is_read,
                                      int error);

/*
 * Before any request: run completions in @ctx (NULL: the main loop's).
 * Requests are submitted from the thread that runs that context (or,
 * for the main loop's, with the BQL held, e.g. from a vCPU thread).
 */
void blk_set_aio_context(BlockBackend *blk, GMainContext *ctx);
GMainContext *blk_get_aio_context(BlockBackend *blk);

/*
 * Asynchronous requests.  @iov must stay valid until @cb runs; byte
 * offsets and lengths need not be aligned.  Reads past the end of the
 * image, and writes to a read-only backend, fail (-EIO, -EPERM/-EROFS)
 * without touching the file.
 */
void blk_aio_preadv(BlockBackend *blk, int64_t offset,
                    const struct iovec *iov, int iovcnt,
                    BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwritev(BlockBackend *blk, int64_t offset,
                     const struct iovec *iov, int iovcnt, int flags,
                     BlockCompletionFunc *cb, void *opaque);
void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque);
void blk_aio_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                           int flags, BlockCompletionFunc *cb, void *opaque);
/*
 * Between plug and unplug (in the backend's context thread), aio=native
 * requests are queued and then submitted together, as a device does
 * around one pass over its queue: one system call for several requests
 * once the disk has enough to do (block/linux-aio.c).  Pairs nest.
 */
void blk_io_plug(BlockBackend *blk);
void blk_io_unplug(BlockBackend *blk);
/* Wait (in the caller's thread) until no request is in flight. */
void blk_drain(BlockBackend *blk);
/*
 * Grow or shrink the image (block_resize), QEMU's texts for a read-only
 * image or a negative size.  Main thread: every backend on the same
 * image is drained first, and the devices attached to any of them are
 * told through their resize callback afterwards.
 */
bool blk_truncate(BlockBackend *blk, int64_t size, GError **errp);

/* ---- additions beyond the first draft of this header ---- */

/* query-block's io-status (set by a "stop" action until reset). */
typedef enum BlockIOStatus {
    BLOCK_IO_STATUS_OK,
    BLOCK_IO_STATUS_FAILED,
    BLOCK_IO_STATUS_NOSPACE,
} BlockIOStatus;

/* The members of QEMU's BLOCK_IO_ERROR event. */
typedef struct BlockIOErrorInfo {
    const char *device;      /* -drive id, "" for a -blockdev node */
    const char *node_name;
    const char *operation;   /* "read" | "write" */
    const char *action;      /* "ignore" | "report" | "stop" */
    bool nospace;
    const char *reason;      /* strerror text */
} BlockIOErrorInfo;

typedef void BlockIOErrorHook(BlockBackend *blk, const BlockIOErrorInfo *e);
/* The monitor registers this to emit BLOCK_IO_ERROR. */
void blk_set_io_error_hook(BlockIOErrorHook *hook);
/*
 * A device calls this once it has decided @action (from
 * blk_get_error_action) for a request that failed with -@error: records
 * io-status, reports the event through the hook and, for "stop", asks
 * the main loop to pause the VM in io-error.
 */
void blk_error_action(BlockBackend *blk, BlockErrorAction action,
                      bool is_read, int error);
BlockIOStatus blk_iostatus(const BlockBackend *blk);
/*
 * @ctx (an I/O thread's) is about to be destroyed: free the completion
 * sources the block layer attached to it.  No backend may use it any
 * more and nothing may be in flight there.
 */
void blk_context_release(GMainContext *ctx);
void blk_iostatus_reset(BlockBackend *blk);
/* cont: every backend's io-status back to ok. */
void blk_iostatus_reset_all(void);

/*
 * What the block layer asks of the device attached to a backend, set at
 * realize (after blk_attach_dev) and cleared with NULL before detach.
 * Both run on the main thread with the BQL held.
 */
typedef struct BlockDevOps {
    /* The image changed size: tell the guest (config-change interrupt). */
    void (*resize_cb)(void *opaque);
    /* QEMU's qdev path of the device's backend, g_free'd by the caller. */
    char *(*get_qdev_path)(void *opaque);
} BlockDevOps;
void blk_set_dev_ops(BlockBackend *blk, const BlockDevOps *ops,
                     void *opaque);

/* block_resize's lookup: QEMU's bdrv_lookup_bs() order and error text. */
BlockBackend *blk_lookup(const char *device, const char *node_name,
                         GError **errp);

/* One node of the graph QEMU would build (query-named-block-nodes). */
typedef struct BlockNodeInfo {
    const char *node_name;   /* given, or QEMU's "#blockNNN" form */
    const char *drv;         /* "raw" | "file" */
    const char *filename;
    bool ro;
    bool writeback, direct, no_flush;
    int64_t virtual_size;
    int64_t actual_size;     /* allocated bytes, -1 if unknown */
} BlockNodeInfo;

/* One entry of query-block: a -drive, or a node a device uses. */
typedef struct BlockDeviceInfo {
    const char *device;      /* the -drive id, "" for a -blockdev node */
    char *qdev;              /* attached device's path, NULL if none */
    bool attached;           /* io-status is reported (a device has it) */
    BlockIOStatus iostatus;
    BlockNodeInfo node;      /* the top node */
} BlockDeviceInfo;

typedef void BlockNodeFunc(const BlockNodeInfo *info, void *opaque);
typedef void BlockDeviceFunc(const BlockDeviceInfo *info, void *opaque);
/* In creation order, format nodes before the file nodes under them. */
void blk_foreach_node(BlockNodeFunc *fn, void *opaque);
/* The -drive backends (@drives) or the -blockdev nodes devices use. */
void blk_foreach_device(bool drives, BlockDeviceFunc *fn, void *opaque);

#endif
