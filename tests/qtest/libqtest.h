/*
 * A small qtest client: starts a VMM (qvmm, or QEMU's qemu-system-x86_64
 * with -accel tcg -S) with its qtest chardev connected to a socket we
 * listen on, and speaks the qtest line protocol to it.
 *
 * Every failure (bad reply, timeout, unexpected exit) ends the current
 * test case through qt_fail(), which the runner in qtest-tap.h catches.
 */
#ifndef TESTS_QTEST_LIBQTEST_H
#define TESTS_QTEST_LIBQTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define QT_MAX_IRQ 256

typedef struct QTestState QTestState;

/* Which VMM the tests drive; chosen once, by qt_init_vmm(). */
typedef enum { QT_VMM_QVMM, QT_VMM_QEMU } QtVmm;

/*
 * The binary is argv[1] or $QTEST_QEMU_BINARY; the flavour is $QTEST_VMM
 * ("qvmm" or "qemu") or else guessed from the name ("qemu-system-*").
 * Returns the number of argv entries consumed.
 */
int qt_init_vmm(int argc, char **argv);
QtVmm qt_vmm(void);
bool qt_is_qemu(void);
const char *qt_binary(void);

/*
 * Run the VMM (-display none -nodefaults -machine pc, qtest or tcg -S)
 * with @extra until it exits on its own, as a start-up error does; its
 * stderr in *@err_out and its exit code (128 + signal if killed).
 */
int qt_run_vmm(const char *extra, char **err_out);

/* Start the VMM with extra arguments (shell-quoted, may be NULL). */
QTestState *qt_start(const char *extra_fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* SIGTERM, wait (then SIGKILL), and check the exit status. */
void qt_quit(QTestState *s);
void qt_set_expected_status(QTestState *s, int status);
/* Wait up to @timeout_ms for the VMM to exit on its own; returns the
 * exit status (or 128+signal).  The state is freed. */
int qt_wait_exit(QTestState *s, int timeout_ms);
/* SIGKILL every VMM still running; the runner calls it after a failure. */
void qt_kill_all(void);
pid_t qt_pid(QTestState *s);
bool qt_alive(QTestState *s);

/* Raw protocol access: a request line (no newline) and its reply. */
void qt_send(QTestState *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void qt_send_raw(QTestState *s, const void *buf, size_t len);
/* The next line that is not an IRQ notification; caller frees. */
char *qt_recv(QTestState *s);
/* qt_send + qt_recv; caller frees. */
char *qt_request(QTestState *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A request whose reply must be "OK" or "OK <rest>": returns <rest>. */
char *qt_request_ok(QTestState *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Interrupts, as seen through the intercept. */
void qt_irq_intercept_in(QTestState *s, const char *path);
bool qt_irq_raised(QTestState *s, unsigned irq);

void qt_outb(QTestState *s, uint16_t port, uint8_t val);
void qt_outw(QTestState *s, uint16_t port, uint16_t val);
void qt_outl(QTestState *s, uint16_t port, uint32_t val);
uint8_t qt_inb(QTestState *s, uint16_t port);
uint16_t qt_inw(QTestState *s, uint16_t port);
uint32_t qt_inl(QTestState *s, uint16_t port);

void qt_writeb(QTestState *s, uint64_t addr, uint8_t val);
void qt_writew(QTestState *s, uint64_t addr, uint16_t val);
void qt_writel(QTestState *s, uint64_t addr, uint32_t val);
void qt_writeq(QTestState *s, uint64_t addr, uint64_t val);
uint8_t qt_readb(QTestState *s, uint64_t addr);
uint16_t qt_readw(QTestState *s, uint64_t addr);
uint32_t qt_readl(QTestState *s, uint64_t addr);
uint64_t qt_readq(QTestState *s, uint64_t addr);

/* Hex ("read"/"write") and base64 ("b64read"/"b64write") transfers. */
void qt_memread(QTestState *s, uint64_t addr, void *buf, size_t len);
void qt_memwrite(QTestState *s, uint64_t addr, const void *buf, size_t len);
void qt_bufread(QTestState *s, uint64_t addr, void *buf, size_t len);
void qt_bufwrite(QTestState *s, uint64_t addr, const void *buf, size_t len);
void qt_memset(QTestState *s, uint64_t addr, uint8_t val, size_t len);

/* Advance the virtual clock by @ns (0: to the next deadline); returns
 * the new clock reading.  Needs the qtest accelerator (qvmm). */
int64_t qt_clock_step(QTestState *s, int64_t ns);

/* PCI configuration mechanism #1 through 0xcf8/0xcfc. */
#define QT_PCI_DEVFN(dev, fn) ((((dev) & 0x1f) << 3) | ((fn) & 7))
uint8_t qt_pci_config_readb(QTestState *s, uint8_t bus, uint8_t devfn,
                            uint8_t off);
uint16_t qt_pci_config_readw(QTestState *s, uint8_t bus, uint8_t devfn,
                             uint8_t off);
uint32_t qt_pci_config_readl(QTestState *s, uint8_t bus, uint8_t devfn,
                             uint8_t off);
void qt_pci_config_writeb(QTestState *s, uint8_t bus, uint8_t devfn,
                          uint8_t off, uint8_t val);
void qt_pci_config_writew(QTestState *s, uint8_t bus, uint8_t devfn,
                          uint8_t off, uint16_t val);
void qt_pci_config_writel(QTestState *s, uint8_t bus, uint8_t devfn,
                          uint8_t off, uint32_t val);

/* A bump allocator over a window of guest RAM, for rings and buffers. */
typedef struct QtGuestAlloc {
    uint64_t start, end, next;
} QtGuestAlloc;

#define QT_ALLOC_START 0x200000ULL     /* above the BIOS area and 1 MiB */

/* The window [QT_ALLOC_START, ram_below_4g) for a guest with @ram_size. */
void qt_alloc_init(QtGuestAlloc *a, uint64_t ram_size);
void qt_alloc_init_range(QtGuestAlloc *a, uint64_t start, uint64_t end);
/* @align: a power of two (0 means 8).  Zeroes the block when @s is set. */
uint64_t qt_alloc(QtGuestAlloc *a, QTestState *s, uint64_t size,
                  uint64_t align);

/* The pc machine's RAM split around the PCI hole (QEMU's and qvmm's). */
void qt_pc_split_ram(uint64_t ram_size, uint64_t *below_4g,
                     uint64_t *above_4g);

#endif
