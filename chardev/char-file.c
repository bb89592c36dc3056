/*
 * file: output to a file, truncated at start unless append=on.  QEMU
 * 7.2's file backend has no input side.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "chardev/char-internal.h"

typedef struct FileChardev {
    Chardev parent;
    int fd;
} FileChardev;

static bool file_open(Chardev *chr, const QOpts *opts, bool *be_opened,
                      GError **errp)
{
    FileChardev *s = (FileChardev *)chr;
    const char *path = qopts_get(opts, "path");
    bool append;

    (void)be_opened;
    s->fd = -1;
    if (!path) {
        error_setg(errp, "chardev: file: no filename given");
        return false;
    }
    if (!qopts_get_bool(opts, "append", false, &append, errp)) {
        return false;
    }
    s->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC |
                 (append ? O_APPEND : O_TRUNC), 0666);
    if (s->fd < 0) {
        error_setg_errno(errp, errno, "Could not open '%s'", path);
        return false;
    }
    return true;
}

static int file_write(Chardev *chr, const uint8_t *buf, int len)
{
    return chr_write_all_fd(((FileChardev *)chr)->fd, buf, len);
}

static void file_finalize(Chardev *chr)
{
    FileChardev *s = (FileChardev *)chr;

    if (s->fd >= 0) {
        close(s->fd);
    }
}

const ChardevClass char_file_class = {
    .name = "file",
    .instance_size = sizeof(FileChardev),
    .open = file_open,
    .write = file_write,
    .finalize = file_finalize,
};
