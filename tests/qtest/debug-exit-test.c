/*
 * isa-debug-exit: a write of V ends the VMM with status (V << 1) | 1,
 * truncated to 8 bits by exit().
 */
#include "libqtest.h"
#include "qtest-tap.h"

typedef struct ExitCase {
    const char *device;     /* -device argument */
    const char *request;    /* the write that exits */
    int status;
} ExitCase;

static const ExitCase exit_l5 = {
    "isa-debug-exit,iobase=0xf4,iosize=4", "outl 0xf4 0x5", 11,
};
static const ExitCase exit_b0 = {
    "isa-debug-exit,iobase=0xf4,iosize=4", "outb 0xf7 0x0", 1,
};
static const ExitCase exit_default_port = {
    "isa-debug-exit", "outb 0x501 0x20", 65,
};
static const ExitCase exit_truncated = {
    "isa-debug-exit,iobase=0xf4,iosize=4", "outw 0xf4 0x1ff", 0xff,
};

static void test_exit(const void *data)
{
    const ExitCase *c = data;
    QTestState *s = qt_start("-device %s", c->device);

    /* The reply may or may not come before the exit: do not wait for it. */
    qt_send(s, "%s", c->request);
    QT_ASSERT_EQ(qt_wait_exit(s, 10000), c->status);
}

/* Ports around the device do nothing. */
static void test_outside(const void *data)
{
    QTestState *s = qt_start("-device isa-debug-exit,iobase=0xf4,iosize=4");

    (void)data;
    qt_outb(s, 0xf3, 0x1);
    qt_outb(s, 0xf8, 0x1);
    QT_ASSERT(qt_alive(s));
    qt_quit(s);
}

int main(int argc, char **argv)
{
    qt_test_add("debug-exit/outl-5", test_exit, &exit_l5, QT_BOTH, NULL);
    qt_test_add("debug-exit/outb-last-port", test_exit, &exit_b0, QT_BOTH,
                NULL);
    qt_test_add("debug-exit/default-port", test_exit, &exit_default_port,
                QT_BOTH, NULL);
    qt_test_add("debug-exit/status-truncated", test_exit, &exit_truncated,
                QT_BOTH, NULL);
    qt_test_add("debug-exit/outside", test_outside, NULL, QT_BOTH, NULL);
    return qt_test_run(argc, argv);
}
