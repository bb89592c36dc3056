/*
 * The qtest accelerator: no vCPUs; a test program plays the guest over
 * QEMU's qtest line protocol (accel/qtest/qtest.c), with a manual virtual
 * clock and the IOAPIC's input lines visible to it.
 */
#ifndef SYSEMU_QTEST_H
#define SYSEMU_QTEST_H

#include "qemu/osdep.h"

/* True once -accel qtest (or -machine accel=qtest) was chosen. */
bool qtest_enabled(void);

/*
 * Select the accelerator: the virtual clock becomes manual and interrupt
 * lines (pc_set_irq) go to the qtest interceptor.  Called before the
 * machine is built.
 */
void qtest_accel_init(void);

/*
 * Open the protocol server on the chardev given in -qtest's legacy syntax
 * ("unix:PATH" connects as a client, as QEMU does when libqtest listens;
 * "unix:PATH,server=on,wait=off" listens), logging every request and
 * reply to @log_path: NULL (no -qtest-log) logs to stderr as QEMU does,
 * "none" logs nothing.  Called once the machine exists.
 */
bool qtest_server_init(const char *chardev_spec, const char *log_path,
                       GError **errp);

/*
 * The protocol without a chardev, for unit tests and the fuzzer.
 * Everything the server sends meanwhile (replies, and the "IRQ raise N"
 * lines a request causes) is appended to @out; NULL sends it to the
 * -qtest chardev, as for a client's input.
 */
/* Run one request line, given without its newline. */
void qtest_process_line(const char *line, GString *out);
/* Raw client bytes: complete lines run in order, a partial one waits. */
void qtest_server_feed(const uint8_t *buf, size_t len, GString *out);
/* Forget partial input, the IRQ intercept and the IRQ levels seen. */
void qtest_server_reset(void);

#endif
