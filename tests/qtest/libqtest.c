/*
 * The qtest client: process management and the line protocol.
 *
 * The VMM connects to our socket as a client (-qtest unix:PATH), so we
 * listen before starting it.  It runs in its own process group with
 * PR_SET_PDEATHSIG, and every live instance is on a list that the runner
 * SIGKILLs after a failure, so no test leaves a VMM behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libqtest.h"
#include "qtest-tap.h"

#define CONNECT_TIMEOUT_MS  30000
#define REPLY_TIMEOUT_MS    30000
#define QUIT_TIMEOUT_MS     30000

struct QTestState {
    pid_t pid;
    int fd;
    GString *rx;            /* bytes received, not yet consumed */
    bool irq[QT_MAX_IRQ];
    int expected_status;
    char *tmpdir;
    QTestState *next;
};

static QtVmm vmm;
static const char *binary;
static QTestState *live;

/* ---- which VMM ---- */

int qt_init_vmm(int argc, char **argv)
{
    const char *flavour = getenv("QTEST_VMM");
    int used = 0;

    if (argc > 1) {
        binary = argv[1];
        used = 1;
    } else {
        binary = getenv("QTEST_QEMU_BINARY");
    }
    if (!binary) {
        fprintf(stderr, "usage: %s VMM-BINARY (or set QTEST_QEMU_BINARY)\n",
                argc ? argv[0] : "qtest");
        exit(2);
    }
    if (flavour) {
        vmm = strcmp(flavour, "qemu") == 0 ? QT_VMM_QEMU : QT_VMM_QVMM;
    } else {
        g_autofree char *base = g_path_get_basename(binary);
        vmm = g_str_has_prefix(base, "qemu-system") ? QT_VMM_QEMU
                                                    : QT_VMM_QVMM;
    }
    return used;
}

QtVmm qt_vmm(void)
{
    return vmm;
}

bool qt_is_qemu(void)
{
    return vmm == QT_VMM_QEMU;
}

const char *qt_binary(void)
{
    return binary;
}

/* ---- process management ---- */

static int64_t now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        qt_fail("socket: %s", g_strerror(errno));
    }
    if (strlen(path) >= sizeof(addr.sun_path)) {
        close(fd);
        qt_fail("socket path too long: %s", path);
    }
    strcpy(addr.sun_path, path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(fd, 1) < 0) {
        int err = errno;
        close(fd);
        qt_fail("listen on %s: %s", path, g_strerror(err));
    }
    return fd;
}

static GPtrArray *build_argv(const char *sock, const char *extra)
{
    GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) extra_argv = NULL;
    GError *err = NULL;

    g_ptr_array_add(args, g_strdup(binary));
    g_ptr_array_add(args, g_strdup("-qtest"));
    g_ptr_array_add(args, g_strdup_printf("unix:%s", sock));
    g_ptr_array_add(args, g_strdup("-qtest-log"));
    g_ptr_array_add(args, g_strdup(getenv("QTEST_LOG") ? "/dev/fd/2"
                                                       : "none"));
    for (const char *a = "-display none -nodefaults -machine pc -accel"; *a;) {
        const char *sp = strchrnul(a, ' ');
        g_ptr_array_add(args, g_strndup(a, sp - a));
        a = *sp ? sp + 1 : sp;
    }
    g_ptr_array_add(args, g_strdup(qt_is_qemu() ? "tcg" : "qtest"));
    if (qt_is_qemu()) {
        g_ptr_array_add(args, g_strdup("-S"));
    }
    if (extra && *extra && !g_shell_parse_argv(extra, NULL, &extra_argv,
                                               &err)) {
        g_ptr_array_free(args, true);
        qt_fail("bad extra arguments '%s': %s", extra, err->message);
    }
    for (char **a = extra_argv; a && *a; a++) {
        g_ptr_array_add(args, g_strdup(*a));
    }
    g_ptr_array_add(args, NULL);
    return args;
}

static pid_t spawn(char **argv)
{
    pid_t parent = getpid();
    pid_t pid = fork();

    if (pid < 0) {
        qt_fail("fork: %s", g_strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);

        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
        }
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], g_strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);      /* also here: no race with kill(-pid) */
    return pid;
}

/* Reaps @pid if it has exited; returns its wait status or -1. */
static int try_reap(pid_t pid)
{
    int status;

    return waitpid(pid, &status, WNOHANG) == pid ? status : -1;
}

static int status_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status)
                             : 128 + WTERMSIG(status);
}

/* Accepts the VMM's connection; fails early if the VMM dies first. */
static int accept_vmm(int lfd, pid_t pid)
{
    int64_t deadline = now_ms() + CONNECT_TIMEOUT_MS;
    struct pollfd p = { .fd = lfd, .events = POLLIN };

    while (now_ms() < deadline) {
        int status = try_reap(pid);

        if (status != -1) {
            qt_fail("VMM exited before connecting (status %d)",
                    status_code(status));
        }
        if (poll(&p, 1, 100) > 0) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                return fd;
            }
        }
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
    qt_fail("VMM did not connect within %d ms", CONNECT_TIMEOUT_MS);
}

static void state_free(QTestState *s)
{
    QTestState **p;

    for (p = &live; *p && *p != s; p = &(*p)->next) {
    }
    if (*p) {
        *p = s->next;
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->tmpdir) {
        g_autofree char *sock = g_build_filename(s->tmpdir, "qtest.sock",
                                                 NULL);
        unlink(sock);
        rmdir(s->tmpdir);
        g_free(s->tmpdir);
    }
    g_string_free(s->rx, true);
    g_free(s);
}

static QTestState *state_new(void)
{
    QTestState *s = g_new0(QTestState, 1);
    GError *err = NULL;

    s->fd = -1;
    s->pid = -1;
    s->rx = g_string_new(NULL);
    s->next = live;
    live = s;
    s->tmpdir = g_dir_make_tmp("qtest-XXXXXX", &err);
    if (!s->tmpdir) {
        qt_fail("temporary directory: %s", err->message);
    }
    return s;
}

QTestState *qt_start(const char *extra_fmt, ...)
{
    QTestState *s = state_new();
    g_autofree char *sock = g_build_filename(s->tmpdir, "qtest.sock", NULL);
    g_autofree char *extra = NULL;
    GPtrArray *args;
    int lfd;
    va_list ap;

    if (extra_fmt) {
        va_start(ap, extra_fmt);
        extra = g_strdup_vprintf(extra_fmt, ap);
        va_end(ap);
    }
    lfd = listen_unix(sock);
    args = build_argv(sock, extra);
    s->pid = spawn((char **)args->pdata);
    g_ptr_array_free(args, true);
    s->fd = accept_vmm(lfd, s->pid);
    close(lfd);
    unlink(sock);
    g_autofree char *reply = qt_request(s, "endianness");
    if (strcmp(reply, "OK little") != 0) {
        qt_fail("endianness: unexpected reply '%s'", reply);
    }
    return s;
}

pid_t qt_pid(QTestState *s)
{
    return s->pid;
}

void qt_set_expected_status(QTestState *s, int status)
{
    s->expected_status = status;
}

/* Waits for @s->pid; SIGKILLs the group at the deadline.  Wait status. */
static int wait_exit(QTestState *s, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int status;

    while ((status = try_reap(s->pid)) == -1 && now_ms() < deadline) {
        g_usleep(5000);
    }
    if (status == -1) {
        kill(-s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
    }
    kill(-s->pid, SIGKILL);     /* anything it left in its group */
    s->pid = -1;
    return status;
}

bool qt_alive(QTestState *s)
{
    return s->pid > 0 && kill(s->pid, 0) == 0 &&
           waitpid(s->pid, NULL, WNOHANG) == 0;
}

void qt_quit(QTestState *s)
{
    int status, expected = s->expected_status;

    kill(s->pid, SIGTERM);
    status = wait_exit(s, QUIT_TIMEOUT_MS);
    state_free(s);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != expected) {
        qt_fail("VMM exit status %d, expected %d", status_code(status),
                expected);
    }
}

int qt_wait_exit(QTestState *s, int timeout_ms)
{
    int status = wait_exit(s, timeout_ms);

    state_free(s);
    return status_code(status);
}

void qt_kill_all(void)
{
    while (live) {
        if (live->pid > 0) {
            kill(-live->pid, SIGKILL);
            waitpid(live->pid, NULL, 0);
        }
        state_free(live);
    }
}

/* ---- the line protocol ---- */

void qt_send_raw(QTestState *s, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            qt_fail("send to VMM: %s", g_strerror(errno));
        }
        p += n;
        len -= n;
    }
}

void qt_send(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    GString *line = g_string_new(NULL);

    va_start(ap, fmt);
    g_string_append_vprintf(line, fmt, ap);
    va_end(ap);
    g_string_append_c(line, '\n');
    qt_send_raw(s, line->str, line->len);
    g_string_free(line, true);
}

/* Appends what arrives within @timeout_ms; false on EOF or timeout. */
static bool fill(QTestState *s, int timeout_ms)
{
    struct pollfd p = { .fd = s->fd, .events = POLLIN };
    char buf[65536];
    ssize_t n;

    if (poll(&p, 1, timeout_ms) <= 0) {
        return false;
    }
    n = recv(s->fd, buf, sizeof(buf), 0);
    if (n <= 0) {
        return false;
    }
    g_string_append_len(s->rx, buf, n);
    return true;
}

/* Takes one whole line off the buffer, or NULL if none is complete. */
static char *take_line(QTestState *s)
{
    char *nl = memchr(s->rx->str, '\n', s->rx->len);
    char *line;

    if (!nl) {
        return NULL;
    }
    line = g_strndup(s->rx->str, nl - s->rx->str);
    g_string_erase(s->rx, 0, nl - s->rx->str + 1);
    return line;
}

/* Records an "IRQ raise N"/"IRQ lower N" line; false for anything else. */
static bool irq_line(QTestState *s, const char *line)
{
    bool raise = g_str_has_prefix(line, "IRQ raise ");
    char *end;
    unsigned long n;

    if (!raise && !g_str_has_prefix(line, "IRQ lower ")) {
        return false;
    }
    n = strtoul(line + 10, &end, 0);
    if (*end || n >= QT_MAX_IRQ) {
        qt_fail("bad IRQ line '%s'", line);
    }
    s->irq[n] = raise;
    return true;
}

char *qt_recv(QTestState *s)
{
    int64_t deadline = now_ms() + REPLY_TIMEOUT_MS;

    for (;;) {
        char *line = take_line(s);

        if (line && !irq_line(s, line)) {
            return line;
        }
        g_free(line);
        if (!line && !fill(s, MAX(0, deadline - now_ms()))) {
            qt_fail("no reply from VMM (%s)",
                    qt_alive(s) ? "timeout" : "it exited");
        }
    }
}

char *qt_request(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *req = NULL;

    va_start(ap, fmt);
    req = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qt_send(s, "%s", req);
    return qt_recv(s);
}

static char *vrequest_ok(QTestState *s, const char *req)
{
    char *reply, *rest;

    qt_send(s, "%s", req);
    reply = qt_recv(s);
    if (strcmp(reply, "OK") != 0 && !g_str_has_prefix(reply, "OK ")) {
        g_autofree char *r = reply;
        qt_fail("'%.100s': reply '%.200s'", req, r);
    }
    rest = g_strdup(reply[2] ? reply + 3 : "");
    g_free(reply);
    return rest;
}

char *qt_request_ok(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *req = NULL;

    va_start(ap, fmt);
    req = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return vrequest_ok(s, req);
}

static void request_void(QTestState *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void request_void(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *req = NULL;

    va_start(ap, fmt);
    req = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_free(vrequest_ok(s, req));
}

/* A request answered with "OK 0x<hex>". */
static uint64_t request_value(QTestState *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static uint64_t request_value(QTestState *s, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *req = NULL;
    g_autofree char *rest = NULL;
    char *end;
    uint64_t v;

    va_start(ap, fmt);
    req = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    rest = vrequest_ok(s, req);
    errno = 0;
    v = g_ascii_strtoull(rest, &end, 0);
    if (!g_str_has_prefix(rest, "0x") || *end || errno) {
        qt_fail("'%s': bad value '%s'", req, rest);
    }
    return v;
}

/* ---- interrupts ---- */

void qt_irq_intercept_in(QTestState *s, const char *path)
{
    request_void(s, "irq_intercept_in %s", path);
}

bool qt_irq_raised(QTestState *s, unsigned irq)
{
    char *line;

    if (irq >= QT_MAX_IRQ) {
        qt_fail("IRQ %u out of range", irq);
    }
    /* Notifications that arrived since the last reply, if any. */
    while (fill(s, 0)) {
    }
    while (g_str_has_prefix(s->rx->str, "IRQ ") && (line = take_line(s))) {
        irq_line(s, line);
        g_free(line);
    }
    return s->irq[irq];
}

/* ---- port and memory accessors ---- */

void qt_outb(QTestState *s, uint16_t port, uint8_t val)
{
    request_void(s, "outb 0x%x 0x%x", port, val);
}

void qt_outw(QTestState *s, uint16_t port, uint16_t val)
{
    request_void(s, "outw 0x%x 0x%x", port, val);
}

void qt_outl(QTestState *s, uint16_t port, uint32_t val)
{
    request_void(s, "outl 0x%x 0x%x", port, val);
}

uint8_t qt_inb(QTestState *s, uint16_t port)
{
    return request_value(s, "inb 0x%x", port);
}

uint16_t qt_inw(QTestState *s, uint16_t port)
{
    return request_value(s, "inw 0x%x", port);
}

uint32_t qt_inl(QTestState *s, uint16_t port)
{
    return request_value(s, "inl 0x%x", port);
}

void qt_writeb(QTestState *s, uint64_t addr, uint8_t val)
{
    request_void(s, "writeb 0x%" G_GINT64_MODIFIER "x 0x%x", addr, val);
}

void qt_writew(QTestState *s, uint64_t addr, uint16_t val)
{
    request_void(s, "writew 0x%" G_GINT64_MODIFIER "x 0x%x", addr, val);
}

void qt_writel(QTestState *s, uint64_t addr, uint32_t val)
{
    request_void(s, "writel 0x%" G_GINT64_MODIFIER "x 0x%x", addr, val);
}

void qt_writeq(QTestState *s, uint64_t addr, uint64_t val)
{
    request_void(s, "writeq 0x%" G_GINT64_MODIFIER "x 0x%"
                 G_GINT64_MODIFIER "x", addr, val);
}

uint8_t qt_readb(QTestState *s, uint64_t addr)
{
    return request_value(s, "readb 0x%" G_GINT64_MODIFIER "x", addr);
}

uint16_t qt_readw(QTestState *s, uint64_t addr)
{
    return request_value(s, "readw 0x%" G_GINT64_MODIFIER "x", addr);
}

uint32_t qt_readl(QTestState *s, uint64_t addr)
{
    return request_value(s, "readl 0x%" G_GINT64_MODIFIER "x", addr);
}

uint64_t qt_readq(QTestState *s, uint64_t addr)
{
    return request_value(s, "readq 0x%" G_GINT64_MODIFIER "x", addr);
}

static int hex_digit(char c)
{
    return g_ascii_xdigit_value(c);
}

void qt_memread(QTestState *s, uint64_t addr, void *buf, size_t len)
{
    g_autofree char *rest = NULL;
    uint8_t *out = buf;

    if (!len) {
        return;
    }
    rest = qt_request_ok(s, "read 0x%" G_GINT64_MODIFIER "x 0x%zx",
                         addr, len);
    if (!g_str_has_prefix(rest, "0x") || strlen(rest) != 2 + 2 * len) {
        qt_fail("read: bad reply length %zu for %zu bytes", strlen(rest),
                len);
    }
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit(rest[2 + 2 * i]), lo = hex_digit(rest[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            qt_fail("read: bad hex digit in reply");
        }
        out[i] = hi << 4 | lo;
    }
}

void qt_memwrite(QTestState *s, uint64_t addr, const void *buf, size_t len)
{
    const uint8_t *in = buf;
    GString *req;

    if (!len) {
        return;
    }
    req = g_string_sized_new(32 + 2 * len);
    g_string_printf(req, "write 0x%" G_GINT64_MODIFIER "x 0x%zx 0x",
                    addr, len);
    for (size_t i = 0; i < len; i++) {
        g_string_append_printf(req, "%02x", in[i]);
    }
    g_free(vrequest_ok(s, req->str));
    g_string_free(req, true);
}

void qt_bufread(QTestState *s, uint64_t addr, void *buf, size_t len)
{
    g_autofree char *rest = NULL;
    g_autofree guchar *data = NULL;
    gsize got;

    if (!len) {
        return;
    }
    rest = qt_request_ok(s, "b64read 0x%" G_GINT64_MODIFIER "x 0x%zx",
                         addr, len);
    data = g_base64_decode(rest, &got);
    if (got != len) {
        qt_fail("b64read: %zu bytes for %zu", (size_t)got, len);
    }
    memcpy(buf, data, len);
}

void qt_bufwrite(QTestState *s, uint64_t addr, const void *buf, size_t len)
{
    g_autofree char *b64 = NULL;

    if (!len) {
        return;
    }
    b64 = g_base64_encode(buf, len);
    request_void(s, "b64write 0x%" G_GINT64_MODIFIER "x 0x%zx %s",
                 addr, len, b64);
}

void qt_memset(QTestState *s, uint64_t addr, uint8_t val, size_t len)
{
    request_void(s, "memset 0x%" G_GINT64_MODIFIER "x 0x%zx 0x%02x",
                 addr, len, val);
}

int64_t qt_clock_step(QTestState *s, int64_t ns)
{
    g_autofree char *rest = ns ? qt_request_ok(s, "clock_step %" PRId64, ns)
                               : qt_request_ok(s, "clock_step");
    char *end;
    int64_t v = g_ascii_strtoll(rest, &end, 10);

    if (!*rest || *end) {
        qt_fail("clock_step: bad reply '%s'", rest);
    }
    return v;
}

/* ---- PCI configuration space ---- */

static void pci_select(QTestState *s, uint8_t bus, uint8_t devfn,
                       uint8_t off)
{
    qt_outl(s, 0xcf8, 0x80000000u | bus << 16 | devfn << 8 | (off & 0xfc));
}

uint8_t qt_pci_config_readb(QTestState *s, uint8_t bus, uint8_t devfn,
                            uint8_t off)
{
    pci_select(s, bus, devfn, off);
    return qt_inb(s, 0xcfc + (off & 3));
}

uint16_t qt_pci_config_readw(QTestState *s, uint8_t bus, uint8_t devfn,
                             uint8_t off)
{
    pci_select(s, bus, devfn, off);
    return qt_inw(s, 0xcfc + (off & 2));
}

uint32_t qt_pci_config_readl(QTestState *s, uint8_t bus, uint8_t devfn,
                             uint8_t off)
{
    pci_select(s, bus, devfn, off);
    return qt_inl(s, 0xcfc);
}

void qt_pci_config_writeb(QTestState *s, uint8_t bus, uint8_t devfn,
                          uint8_t off, uint8_t val)
{
    pci_select(s, bus, devfn, off);
    qt_outb(s, 0xcfc + (off & 3), val);
}

void qt_pci_config_writew(QTestState *s, uint8_t bus, uint8_t devfn,
                          uint8_t off, uint16_t val)
{
    pci_select(s, bus, devfn, off);
    qt_outw(s, 0xcfc + (off & 2), val);
}

void qt_pci_config_writel(QTestState *s, uint8_t bus, uint8_t devfn,
                          uint8_t off, uint32_t val)
{
    pci_select(s, bus, devfn, off);
    qt_outl(s, 0xcfc, val);
}

/* ---- guest memory ---- */

void qt_pc_split_ram(uint64_t ram_size, uint64_t *below_4g,
                     uint64_t *above_4g)
{
    uint64_t lowmem = 0xe0000000ULL;

    /* Past the PCI hole start, pc gigabyte-aligns the split. */
    if (ram_size >= lowmem) {
        lowmem = 0xc0000000ULL;
    }
    *below_4g = MIN(ram_size, lowmem);
    *above_4g = ram_size - *below_4g;
}

void qt_alloc_init_range(QtGuestAlloc *a, uint64_t start, uint64_t end)
{
    a->start = a->next = start;
    a->end = end;
}

void qt_alloc_init(QtGuestAlloc *a, uint64_t ram_size)
{
    uint64_t below, above;

    qt_pc_split_ram(ram_size, &below, &above);
    qt_alloc_init_range(a, QT_ALLOC_START, below);
}

uint64_t qt_alloc(QtGuestAlloc *a, QTestState *s, uint64_t size,
                  uint64_t align)
{
    uint64_t addr;

    align = align ? align : 8;
    if (align & (align - 1)) {
        qt_fail("alloc: alignment 0x%" PRIx64 " is not a power of two",
                align);
    }
    addr = (a->next + align - 1) & ~(align - 1);
    if (addr < a->next || size > a->end || addr > a->end - size) {
        qt_fail("alloc: 0x%" PRIx64 " bytes do not fit in guest RAM",
                size);
    }
    a->next = addr + size;
    if (s && size) {
        qt_memset(s, addr, 0, size);
    }
    return addr;
}

int qt_run_vmm(const char *extra, char **err_out)
{
    g_autofree char *cmd = g_strdup_printf(
        "%s -display none -nodefaults -machine pc -accel %s %s",
        qt_binary(), qt_is_qemu() ? "tcg -S" : "qtest", extra);
    g_auto(GStrv) argv = NULL;
    GError *err = NULL;
    int status;

    if (!g_shell_parse_argv(cmd, NULL, &argv, &err) ||
        !g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                      NULL, NULL, err_out, &status, &err)) {
        qt_fail("%s: %s", cmd, err->message);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
