/*
 * The qtest protocol server: QEMU's replies for well-formed requests,
 * FAIL/ERR (never an abort) for malformed ones, IRQ intercepts, the
 * manual virtual clock, and a session over a real socket with its log.
 */
#include "qemu/osdep.h"
#include <check.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "qemu/timer.h"
#include "chardev/char.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "sysemu/qtest.h"

#define RAM_SIZE    (64 * KiB)
#define HIGH_BASE   (4 * GiB)
#define MMIO_BASE   0xfed00000ULL
#define PIO_BASE    0x510

static uint8_t ram[RAM_SIZE], high_ram[4 * KiB];
static uint64_t mmio_last_val;
static unsigned mmio_last_size, mmio_writes;
static uint64_t pio_last_val;
static unsigned pio_last_size;

static uint64_t mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque;
    mmio_last_size = size;
    return 0x1122334455667788ULL >> (8 * (8 - size)) ^ offset;
}

static void mmio_write(void *opaque, uint64_t offset, uint64_t value,
                       unsigned size)
{
    (void)opaque; (void)offset;
    mmio_last_val = value;
    mmio_last_size = size;
    mmio_writes++;
}

static uint64_t pio_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)opaque; (void)offset;
    return size == 4 ? 0xabcd1234 : size == 2 ? 0x1234 : 0x12;
}

static void pio_write(void *opaque, uint64_t offset, uint64_t value,
                      unsigned size)
{
    (void)opaque;
    pio_last_val = value;
    pio_last_size = size;
    if (offset == 4) {
        pc_set_irq(5, value & 1);   /* a device's interrupt line */
    }
}

static const IORegionOps mmio_ops = { .read = mmio_read, .write = mmio_write };
static const IORegionOps pio_ops = { .read = pio_read, .write = pio_write };

static void setup(void)
{
    qtest_accel_init();
    memset(ram, 0, sizeof(ram));
    guest_ram_reset_blocks();
    guest_ram_add_block(0, RAM_SIZE, ram, "pc.ram");
    guest_ram_add_block(HIGH_BASE, sizeof(high_ram), high_ram, "high");
    ck_assert_ptr_nonnull(io_region_add(AS_MMIO, MMIO_BASE, 0x1000,
                                        &mmio_ops, NULL, "mmio", NULL));
    ck_assert_ptr_nonnull(io_region_add(AS_PIO, PIO_BASE, 8, &pio_ops, NULL,
                                        "pio", NULL));
}

/* The output of one request, as the client would read it. */
static const char *req(const char *line)
{
    static GString *out;

    if (!out) {
        out = g_string_new(NULL);
    }
    g_string_truncate(out, 0);
    qtest_process_line(line, out);
    return out->str;
}

#define ck_req(line, reply) ck_assert_str_eq(req(line), reply)

/* ---- requests QEMU answers ---- */

START_TEST(test_pio)
{
    ck_req("endianness", "OK little\n");
    ck_req("outb 0x510 0x1ff", "OK\n");
    ck_assert_uint_eq(pio_last_val, 0x1ff);
    ck_assert_uint_eq(pio_last_size, 1);
    ck_req("outl 1296 0xdeadbeef", "OK\n");
    ck_assert_uint_eq(pio_last_size, 4);
    ck_req("inb 0x510", "OK 0x0012\n");
    ck_req("inw 0x510", "OK 0x1234\n");
    ck_req("inl 0x510", "OK 0xabcd1234\n");
    /* Unassigned ports read as all ones, as on QEMU's pc machine. */
    ck_req("inb 0x1234", "OK 0x00ff\n");
    ck_req("inl 0xfffe", "OK 0xffffffff\n");
    ck_req("outw 0xffff 1", "OK\n");
    /* Extra words are ignored, as in QEMU. */
    ck_req("inb 0x510 junk", "OK 0x0012\n");
}
END_TEST

START_TEST(test_memory_words)
{
    ck_req("writeq 0x100 0x0102030405060708", "OK\n");
    ck_assert_uint_eq(ram[0x100], 0x08);
    ck_req("readq 0x100", "OK 0x0102030405060708\n");
    ck_req("readl 0x104", "OK 0x0000000001020304\n");
    ck_req("readw 0x100", "OK 0x0000000000000708\n");
    ck_req("readb 256", "OK 0x0000000000000008\n");
    ck_req("writew 0x100 0x12345", "OK\n");
    ck_req("readl 0x100", "OK 0x0000000005062345\n");
    /* MMIO registers see one access of the request's width. */
    ck_req("writel 0xfed00010 0xcafef00d", "OK\n");
    ck_assert_uint_eq(mmio_last_val, 0xcafef00d);
    ck_assert_uint_eq(mmio_last_size, 4);
    ck_assert_uint_eq(mmio_writes, 1);
    ck_req("readw 0xfed00000", "OK 0x0000000000001122\n");
    /* Unassigned memory reads as zero. */
    ck_req("readq 0x80000000", "OK 0x0000000000000000\n");
    /* A negative number wraps, as strtoull's does. */
    ck_req("writeb 0x10 -1", "OK\n");
    ck_assert_uint_eq(ram[0x10], 0xff);
    /* Straddling the end of RAM: the RAM part is written. */
    ck_req("writel 0xfffe 0x44332211", "OK\n");
    ck_assert_uint_eq(ram[RAM_SIZE - 1], 0x22);
}
END_TEST

START_TEST(test_memory_blocks)
{
    ck_req("write 0x200 4 0x01020304", "OK\n");
    ck_req("read 0x200 4", "OK 0x01020304\n");
    /* Short data is zero-filled; a lone last digit does not count. */
    ck_req("write 0x200 4 0xaab", "OK\n");
    ck_req("read 0x200 5", "OK 0xaa00000000\n");
    /* QEMU decodes bad digits to ones rather than refusing them. */
    ck_req("write 0x200 2 0xz11z", "OK\n");
    ck_req("read 0x200 2", "OK 0xf1ff\n");
    ck_req("write 0x200 4 0x", "ERR invalid argument size\n");
    ck_req("write 0x200 0 0x12", "OK\n");
    ck_req("b64write 0x300 3 AQID", "OK\n");
    ck_req("b64read 0x300 3", "OK AQID\n");
    ck_req("b64read 0x300 0", "OK \n");
    ck_req("b64write 0x300 3 ab", "ERR invalid argument size\n");
    /* Too little data: only what was decoded is written. */
    ck_req("b64write 0x300 8 /w==", "OK\n");
    ck_req("read 0x300 4", "OK 0xff020300\n");
    ck_req("memset 0x400 3 0x1a5", "OK\n");
    ck_req("read 0x3ff 5", "OK 0x00a5a5a500\n");
    ck_req("memset 0x400 0 1", "OK\n");
    /* Across RAM and unassigned space, and into the high block. */
    ck_req("memset 0xfffe 4 0x77", "OK\n");
    ck_req("read 0xfffc 6", "OK 0x000077770000\n");
    ck_req("write 0x100000000 2 0xbeef", "OK\n");
    ck_assert_uint_eq(high_ram[1], 0xef);
}
END_TEST

START_TEST(test_misc)
{
    ck_req("module_load block iscsi", "FAIL\n");
    ck_req("frobnicate 1 2", "FAIL Unknown command 'frobnicate'\n");
    ck_req("endianness\r", "FAIL Unknown command 'endianness\r'\n");
    ck_req("", "FAIL Unknown command ''\n");
    ck_req(" outb 1 1", "FAIL Unknown command ''\n");
}
END_TEST

/* ---- requests QEMU would abort on ---- */

START_TEST(test_malformed)
{
    ck_req("outb", "FAIL missing argument\n");
    ck_req("outb 0x80", "FAIL missing argument\n");
    ck_req("outb 0x10000 1", "FAIL I/O port out of range\n");
    ck_req("inl -1", "FAIL I/O port out of range\n");
    ck_req("outb 0x80 0x1g", "FAIL invalid number '0x1g'\n");
    ck_req("outb 0x80  1", "FAIL invalid number ''\n");
    ck_req("readb 0x", "FAIL invalid number '0x'\n");
    ck_req("readq 0x10000000000000000",
           "FAIL invalid number '0x10000000000000000'\n");
    ck_req("readq 0xfffffffffffffffc", "FAIL address range wraps\n");
    ck_req("readb 0xffffffffffffffff", "OK 0x0000000000000000\n");
    ck_req("read 0 0", "FAIL size out of range (1 to 262144 bytes)\n");
    ck_req("read 0 0x40001", "FAIL size out of range (1 to 262144 bytes)\n");
    ck_req("b64read 0xfffffffffffffff0 0x20", "FAIL address range wraps\n");
    ck_req("write 0 0x1000001 0x00",
           "FAIL size out of range (0 to 16777216 bytes)\n");
    ck_req("memset 0xffffffffffffff00 0x1000 0", "FAIL address range wraps\n");
    ck_req("memset 0x80000000 0x1000001 0",
           "FAIL size out of range (0 to 16777216 bytes)\n");
    ck_req("set_irq_in ioapic unnamed-gpio-in 24 1",
           "FAIL IRQ number out of range\n");
    ck_req("set_irq_in ioapic unnamed-gpio-in 0x100000000 1",
           "FAIL invalid number '0x100000000'\n");
    ck_req("set_irq_in ioapic other 1 1", "FAIL Unknown GPIO list 'other'\n");
    ck_req("irq_intercept_in", "FAIL missing argument\n");
}
END_TEST

START_TEST(test_long_echo)
{
    g_autofree char *word = g_strnfill(1000, 'x');
    g_autofree char *expect =
        g_strdup_printf("FAIL Unknown command '%.*s...'\n", 128, word);

    ck_req(word, expect);
}
END_TEST

START_TEST(test_stream)
{
    g_autoptr(GString) out = g_string_new(NULL);
    static const char nul[] = "inb 0x510\0junk\ninb 0x510\n";

    qtest_server_feed((const uint8_t *)"endian", 6, out);
    ck_assert_str_eq(out->str, "");
    qtest_server_feed((const uint8_t *)"ness\ninb 0x5", 12, out);
    ck_assert_str_eq(out->str, "OK little\n");
    qtest_server_feed((const uint8_t *)"10\n\n", 4, out);
    ck_assert_str_eq(out->str, "OK little\nOK 0x0012\n"
                     "FAIL Unknown command ''\n");
    g_string_truncate(out, 0);
    qtest_server_feed((const uint8_t *)nul, sizeof(nul) - 1, out);
    ck_assert_str_eq(out->str, "FAIL NUL byte in request\nOK 0x0012\n");
}
END_TEST

START_TEST(test_line_too_long)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree uint8_t *chunk = g_malloc(MiB);

    memset(chunk, 'a', MiB);
    /* 40 MiB without a newline: dropped as it comes, answered at its end. */
    for (int i = 0; i < 40; i++) {
        qtest_server_feed(chunk, MiB, out);
    }
    ck_assert_str_eq(out->str, "");
    qtest_server_feed((const uint8_t *)"aaa\nendianness\n", 15, out);
    ck_assert_str_eq(out->str, "FAIL request too long\nOK little\n");
}
END_TEST

/* ---- interrupts ---- */

START_TEST(test_irq_intercept)
{
    /* Before the intercept, levels are not reported. */
    pc_set_irq(4, 1);
    ck_req("set_irq_in ioapic unnamed-gpio-in 4 1", "OK\n");
    ck_req("irq_intercept_in /machine/i440fx", "FAIL Unknown device\n");
    ck_req("irq_intercept_in /ioapic", "FAIL Unknown device\n");
    ck_req("irq_intercept_in machine/ioapic", "FAIL Unknown device\n");
    ck_req("irq_intercept_in /machine/i440fx/ioapic/x",
           "FAIL Unknown device\n");
    ck_req("irq_intercept_in ioapic foo",
           "FAIL Interception of named in-GPIOs not yet supported\n");
    ck_req("irq_intercept_in //machine/i440fx//ioapic/", "OK\n");
    ck_req("irq_intercept_in i440fx/ioapic", "OK\n");
    ck_req("irq_intercept_out ioapic", "OK\n");
    /* Only changes are reported; the level was forgotten, as in QEMU. */
    ck_req("set_irq_in ioapic unnamed-gpio-in 4 1", "IRQ raise 4\nOK\n");
    ck_req("set_irq_in ioapic unnamed-gpio-in 4 1", "OK\n");
    ck_req("set_irq_in ioapic unnamed-gpio-in 4 0", "IRQ lower 4\nOK\n");
    ck_req("set_irq_in ioapic unnamed-gpio-in 0 -3", "IRQ raise 0\nOK\n");
    ck_req("set_irq_in ioapic unnamed-gpio-in 0 2", "IRQ raise 0\nOK\n");
    /* A device's interrupt comes out before the reply that caused it. */
    ck_req("outb 0x514 1", "IRQ raise 5\nOK\n");
    ck_req("outb 0x514 3", "OK\n");
    ck_req("outb 0x514 0", "IRQ lower 5\nOK\n");
    qtest_server_reset();
    ck_req("set_irq_in ioapic unnamed-gpio-in 9 1", "OK\n");
}
END_TEST

START_TEST(test_irq_intercept_out)
{
    ck_req("irq_intercept_out ioapic foo", "FAIL No intercepts installed\n");
    ck_req("irq_intercept_out ioapic", "OK\n");
    /* QEMU installs nothing for the IOAPIC's (absent) outputs. */
    ck_req("irq_intercept_in ioapic", "OK\n");
    ck_req("set_irq_in ioapic unnamed-gpio-in 4 1", "OK\n");
}
END_TEST

/* ---- the virtual clock ---- */

static int64_t fired_at[8];
static int fired;

static void record_fire(void *opaque)
{
    (void)opaque;
    if (fired < (int)G_N_ELEMENTS(fired_at)) {
        fired_at[fired] = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    }
    fired++;
}

START_TEST(test_clock)
{
    QEMUTimer *t = timer_new_ns(QEMU_CLOCK_VIRTUAL, record_fire, NULL);

    fired = 0;
    ck_req("clock_step", "FAIL cannot advance clock to the next deadline "
           "because there is no pending deadline\n");
    timer_mod(t, 1500);
    ck_req("clock_step", "OK 1500\n");
    ck_assert_int_eq(fired, 1);
    ck_assert_int_eq(fired_at[0], 1500);
    timer_mod(t, 2000);
    ck_req("clock_step 100", "OK 1600\n");
    ck_req("clock_step 0", "FAIL could not advance time\n");
    ck_req("clock_step -5", "FAIL could not advance time\n");
    ck_req("clock_set 5000", "OK 5000\n");
    ck_assert_int_eq(fired, 2);
    ck_assert_int_eq(fired_at[1], 2000);
    ck_req("clock_set 4000", "FAIL 5000\n");
    ck_req("clock_set 5000", "OK 5000\n");
    ck_req("clock_step 0x7fffffffffffffff", "FAIL clock would overflow\n");
    ck_req("clock_step 1x", "FAIL invalid number '1x'\n");
    ck_req("clock_set", "FAIL missing argument\n");
    /* A timer already due fires after the request, as in QEMU's loop. */
    timer_mod(t, 10);
    ck_req("endianness", "OK little\n");
    ck_assert_int_eq(fired, 3);
    ck_assert_int_eq(fired_at[2], 5000);
    timer_free(t);
}
END_TEST

static QEMUTimer *tick_timer;

static void tick(void *opaque)
{
    (void)opaque;
    timer_mod(tick_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + 1);
}

START_TEST(test_clock_runaway)
{
    tick_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, tick, NULL);
    timer_mod(tick_timer, 1);
    /* A 1 ns periodic timer: stepping 2^62 ns must come back. */
    ck_req("clock_step 0x4000000000000000",
           "FAIL too many timer events: clock stopped at 10000000\n");
    ck_req("clock_step 1000", "OK 10001000\n");
    timer_free(tick_timer);
}
END_TEST

/* ---- a session over a socket, with its log ---- */

static int listen_unix(const char *path)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(un.sun_path, path, sizeof(un.sun_path));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    return fd;
}

/* Run the main loop until @n newline-terminated lines have arrived. */
static char *read_lines(int fd, int n)
{
    GString *in = g_string_new(NULL);

    while (n > 0) {
        char c;
        ssize_t r;

        g_main_context_iteration(NULL, FALSE);
        r = recv(fd, &c, 1, MSG_DONTWAIT);
        if (r == 1) {
            g_string_append_c(in, c);
            n -= c == '\n';
        } else {
            ck_assert(r < 0 && errno == EAGAIN);
            g_usleep(1000);
        }
    }
    return g_string_free(in, FALSE);
}

START_TEST(test_socket_session)
{
    g_autofree char *dir = g_dir_make_tmp("qtest-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "qtest.sock", NULL);
    g_autofree char *log = g_build_filename(dir, "qtest.log", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s", sock);
    g_autofree char *replies = NULL;
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) lines = NULL;
    const char *reqs = "endianness\ninb 0x510\nbogus\n";
    int lfd = listen_unix(sock), fd;

    ck_assert(qtest_server_init(spec, log, &err));
    fd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(fd, 0);
    ck_assert(!qtest_server_init(spec, NULL, &err));
    ck_assert_str_eq(err->message,
                     "Only one instance of qtest can be created");
    ck_assert_int_eq(write(fd, reqs, strlen(reqs)), (ssize_t)strlen(reqs));
    replies = read_lines(fd, 3);
    ck_assert_str_eq(replies, "OK little\nOK 0x0012\n"
                     "FAIL Unknown command 'bogus'\n");
    close(fd);
    for (int i = 0; i < 2000; i++) {
        g_clear_pointer(&text, g_free);
        ck_assert(g_file_get_contents(log, &text, NULL, NULL));
        if (strstr(text, "CLOSED")) {
            break;
        }
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    lines = g_strsplit(text, "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), 9);
    ck_assert(g_regex_match_simple("^\\[I \\d+\\.\\d{6}\\] OPENED$",
                                   lines[0], 0, 0));
    ck_assert(g_regex_match_simple("^\\[R \\+\\d+\\.\\d{6}\\] endianness$",
                                   lines[1], 0, 0));
    ck_assert(g_regex_match_simple("^\\[S \\+\\d+\\.\\d{6}\\] OK little$",
                                   lines[2], 0, 0));
    ck_assert(g_regex_match_simple("^\\[S \\+\\d+\\.\\d{6}\\] FAIL Unknown "
                                   "command 'bogus'$", lines[6], 0, 0));
    ck_assert(g_regex_match_simple("^\\[I \\+\\d+\\.\\d{6}\\] CLOSED$",
                                   lines[7], 0, 0));
    ck_assert_str_eq(lines[8], "");
    close(lfd);
    unlink(sock);
    unlink(log);
    rmdir(dir);
}
END_TEST

/*
 * A client that sends requests and leaves at once: the first reply fails
 * to send, the chardev reports CLOSED from inside that write, and the
 * server must stop walking its input there, not run off its end.
 */
START_TEST(test_client_gone)
{
    g_autofree char *dir = g_dir_make_tmp("qtest-XXXXXX", NULL);
    g_autofree char *sock = g_build_filename(dir, "qtest.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s", sock);
    g_autoptr(GError) err = NULL;
    GString *reqs = g_string_new(NULL);
    int lfd = listen_unix(sock), fd;

    for (int i = 0; i < 200; i++) {
        g_string_append(reqs, "read 0 0x1000\n");
    }
    ck_assert(qtest_server_init(spec, "none", &err));
    fd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, reqs->str, reqs->len), (ssize_t)reqs->len);
    close(fd);
    for (int i = 0; i < 200; i++) {
        g_main_context_iteration(NULL, FALSE);
    }
    g_string_free(reqs, TRUE);
    close(lfd);
    unlink(sock);
    rmdir(dir);
}
END_TEST

START_TEST(test_init_failure)
{
    g_autoptr(GError) err = NULL;

    ck_assert(!qtest_server_init("unix:/nonexistent/qtest.sock", "none",
                                 &err));
    ck_assert_str_eq(err->message, "Failed to initialize device for qtest: "
                     "\"unix:/nonexistent/qtest.sock\"");
}
END_TEST

static Suite *qtest_suite(void)
{
    Suite *s = suite_create("qtest");
    TCase *tc = tcase_create("protocol");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_pio);
    tcase_add_test(tc, test_memory_words);
    tcase_add_test(tc, test_memory_blocks);
    tcase_add_test(tc, test_misc);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_long_echo);
    tcase_add_test(tc, test_stream);
    tcase_add_test(tc, test_line_too_long);
    tcase_add_test(tc, test_irq_intercept);
    tcase_add_test(tc, test_irq_intercept_out);
    tcase_add_test(tc, test_clock);
    tcase_add_test(tc, test_clock_runaway);
    tcase_add_test(tc, test_socket_session);
    tcase_add_test(tc, test_client_gone);
    tcase_add_test(tc, test_init_failure);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(qtest_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
