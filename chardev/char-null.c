/*
 * null: output vanishes, input never comes.
 */
#include "qemu/osdep.h"
#include "chardev/char-internal.h"

static bool null_open(Chardev *chr, const QOpts *opts, bool *be_opened,
                      GError **errp)
{
    (void)chr;
    (void)opts;
    (void)be_opened;
    (void)errp;
    return true;
}

const ChardevClass char_null_class = {
    .name = "null",
    .instance_size = sizeof(Chardev),
    .open = null_open,
};
