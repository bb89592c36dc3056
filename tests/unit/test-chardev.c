/*
 * Chardevs: option and legacy syntax, QEMU's error texts and filenames,
 * file/socket/pty/stdio backends, input backpressure, the Ctrl-a mux.
 */
#include "qemu/osdep.h"
#include <check.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <termios.h>
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"
#include "chardev/char.h"
#include "chardev/char-internal.h"     /* CHR_OUT_BUF_MAX */

/* ---- a frontend that records what it gets ---- */

typedef struct TestFe {
    GByteArray *in;
    int room;                   /* what can_read reports */
    ChrEvent events[32];
    int nevents;
} TestFe;

static int fe_can_read(void *opaque)
{
    return ((TestFe *)opaque)->room;
}

static void fe_read(void *opaque, const uint8_t *buf, int len)
{
    TestFe *fe = opaque;

    ck_assert_int_le(len, fe->room);
    fe->room -= len;
    g_byte_array_append(fe->in, buf, len);
}

static void fe_event(void *opaque, ChrEvent event)
{
    TestFe *fe = opaque;

    ck_assert_int_lt(fe->nevents, (int)ARRAY_SIZE(fe->events));
    fe->events[fe->nevents++] = event;
}

static void fe_init(TestFe *fe, int room)
{
    memset(fe, 0, sizeof(*fe));
    fe->in = g_byte_array_new();
    fe->room = room;
}

static void fe_attach(TestFe *fe, Chardev *chr, int room)
{
    GError *err = NULL;

    fe_init(fe, room);
    ck_assert_msg(qemu_chr_attach(chr, fe_can_read, fe_read, fe_event, fe,
                                  &err), "%s", err ? err->message : "");
}

static bool fe_has_event(TestFe *fe, ChrEvent event)
{
    for (int i = 0; i < fe->nevents; i++) {
        if (fe->events[i] == event) {
            return true;
        }
    }
    return false;
}

static bool fe_got(TestFe *fe, const char *s)
{
    return fe->in->len == strlen(s) && !memcmp(fe->in->data, s, fe->in->len);
}

/* Run the main loop (BQL held, as it expects) until @cond or ~5 s. */
#define SPIN_UNTIL(cond) \
    do { \
        for (int i_ = 0; i_ < 5000 && !(cond); i_++) { \
            g_main_context_iteration(NULL, FALSE); \
            if (!(cond)) { \
                g_usleep(1000); \
            } \
        } \
        ck_assert_msg((cond), "timed out: %s", #cond); \
    } while (0)

static void spin_a_bit(void)
{
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static Chardev *new_chardev(const char *spec)
{
    g_autoptr(QOpts) opts = qopts_parse(spec, "backend", NULL);
    GError *err = NULL;
    Chardev *chr = qemu_chr_new_from_opts(opts, &err);

    ck_assert_msg(chr, "%s: %s", spec, err ? err->message : "no error");
    return chr;
}

static void check_opts_error(const char *spec, const char *msg)
{
    g_autoptr(QOpts) opts = qopts_parse(spec, "backend", NULL);
    g_autoptr(GError) err = NULL;

    ck_assert_msg(!qemu_chr_new_from_opts(opts, &err), "%s succeeded", spec);
    ck_assert_msg(err, "%s: no error", spec);
    ck_assert_str_eq(err->message, msg);
}

static void check_legacy_error(const char *spec, GQuark domain, int code,
                               const char *msg)
{
    g_autoptr(GError) err = NULL;

    ck_assert_msg(!qemu_chr_new_legacy("serial0", spec, &err), "%s", spec);
    ck_assert_msg(err, "%s: no error", spec);
    ck_assert_str_eq(err->message, msg);
    ck_assert_msg(g_error_matches(err, domain, code), "%s: domain/code",
                  spec);
}

static char *tmp_path(const char *name)
{
    return g_strdup_printf("%s/qvmm-test-chardev-%d-%s", g_get_tmp_dir(),
                           getpid(), name);
}

static int unix_client(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static int unix_server(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    unlink(path);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    return fd;
}

static int tcp_listener(int *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

static int tcp_client(int port, int *local_port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *local_port = ntohs(sa.sin_port);
    return fd;
}

static void send_str(int fd, const char *s)
{
    ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/*
 * Read exactly strlen(@expect) bytes and compare, running the main loop
 * meanwhile (it may be what produces them); up to ~5 s.
 */
static void expect_read(int fd, const char *expect)
{
    size_t len = strlen(expect), got = 0;
    g_autofree char *buf = g_malloc0(len + 1);

    for (int i = 0; i < 5000 && got < len; i++) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        g_main_context_iteration(NULL, FALSE);
        if (poll(&pfd, 1, 1) == 1) {
            ssize_t n = read(fd, buf + got, len - got);

            ck_assert_int_gt(n, 0);
            got += n;
        }
    }
    ck_assert_msg(got == len, "timed out after '%s'", buf);
    ck_assert_str_eq(buf, expect);
}

static char *read_file(const char *path)
{
    char *s = NULL;

    ck_assert(g_file_get_contents(path, &s, NULL, NULL));
    return s;
}

static Chardev *new_legacy(const char *label, const char *spec)
{
    GError *err = NULL;
    Chardev *chr = qemu_chr_new_legacy(label, spec, &err);

    ck_assert_msg(chr, "%s: %s", spec, err ? err->message : "no error");
    return chr;
}

/* ---- legacy syntax ---- */

START_TEST(test_legacy_parse)
{
    g_autofree char *path = tmp_path("a,b");
    g_autofree char *spec = g_strdup_printf("file:%s", path);
    g_autofree char *sock = tmp_path("legacy.sock");
    g_autofree char *uspec = g_strdup_printf("unix:%s,server,nowait", sock);
    g_autofree char *fname = NULL;
    GError *err = NULL;
    Chardev *chr;

    ck_assert_ptr_null(qemu_chr_new_legacy("serial0", "none", &err));
    ck_assert_ptr_null(err);

    chr = new_legacy("serial0", "null");
    ck_assert_str_eq(qemu_chr_id(chr), "serial0");
    ck_assert_str_eq(qemu_chr_filename(chr), "null");
    ck_assert(!qemu_chr_is_mux(chr));
    ck_assert_ptr_eq(new_legacy("x", "chardev:serial0"), chr);

    /* everything after "file:" is the path, commas included */
    chr = new_legacy("serial1", spec);
    ck_assert_str_eq(qemu_chr_filename(chr), "file");
    ck_assert(g_file_test(path, G_FILE_TEST_EXISTS));

    /* the deprecated short forms, without -chardev's warning */
    chr = new_legacy("serial2", uspec);
    fname = g_strdup_printf("disconnected:unix:%s,server=on", sock);
    ck_assert_str_eq(qemu_chr_filename(chr), fname);

    chr = new_legacy("serial3", "tcp:127.0.0.1:0,server=on,wait=off");
    ck_assert(g_str_has_prefix(qemu_chr_filename(chr),
                               "disconnected:tcp:127.0.0.1:"));
    ck_assert(g_str_has_suffix(qemu_chr_filename(chr), ",server=on"));

    qemu_chr_cleanup_all();
    /* QEMU removes its listening sockets' files at exit */
    ck_assert(!g_file_test(sock, G_FILE_TEST_EXISTS));
    unlink(path);
}
END_TEST

START_TEST(test_legacy_errors)
{
    const GQuark chr_err = QEMU_CHR_ERROR;

    check_legacy_error("foo", chr_err, QEMU_CHR_ERROR_PARSE,
                       "'foo' is not a valid char driver");
    check_legacy_error("mon:foo", chr_err, QEMU_CHR_ERROR_PARSE,
                       "'foo' is not a valid char driver");
    /* QEMU has nothing to add to its "could not connect" line here */
    check_legacy_error("tcp:", chr_err, QEMU_CHR_ERROR_PARSE, "");
    check_legacy_error("tcp:abc", chr_err, QEMU_CHR_ERROR_PARSE, "");
    check_legacy_error("chardev:nope", chr_err, QEMU_CHR_ERROR_NOT_FOUND,
                       "chardev \"nope\" not found");
    check_legacy_error("tcp:127.0.0.1:4456,server=on,wait=off,bogus=3",
                       chr_err, QEMU_CHR_ERROR_PARSE,
                       "Invalid parameter 'bogus'");
    check_legacy_error("unix:", QVMM_ERROR, QVMM_ERROR_GENERIC,
                       "Unable to parse FD number ");
    check_legacy_error("file:", QVMM_ERROR, QVMM_ERROR_GENERIC,
                       "Could not open '': No such file or directory");
    check_legacy_error("pipe:/tmp/x", QVMM_ERROR, QVMM_ERROR_GENERIC,
                       "chardev backend 'pipe' is not supported by qvmm");
    check_legacy_error("telnet::4444,server=on,wait=off", QVMM_ERROR,
                       QVMM_ERROR_GENERIC,
                       "chardev: socket: 'telnet' is not supported by qvmm");

    new_legacy("serial0", "null");
    check_legacy_error("null", chr_err, QEMU_CHR_ERROR_PARSE,
                       "Duplicate ID 'serial0' for chardev");
    qemu_chr_cleanup_all();
}
END_TEST

/* ---- -chardev errors ---- */

START_TEST(test_opts_errors)
{
    GError *err = NULL;
    g_autoptr(QOpts) help = qopts_parse("help", "backend", NULL);
    TestFe fe;

    check_opts_error("foo,id=x", "'foo' is not a valid char driver name");
    check_opts_error("ringbuf,id=x",
                     "chardev backend 'ringbuf' is not supported by qvmm");
    check_opts_error("null", "chardev: no id specified");
    check_opts_error("id=x", "chardev: \"x\" missing backend");
    check_opts_error("null,id=x,bogus=1", "Invalid parameter 'bogus'");
    check_opts_error("stdio,id=a,signal=maybe",
                     "Parameter 'signal' expects 'on' or 'off'");
    check_opts_error("null,id=1abc",
                     "Parameter 'id' expects an identifier\n"
                     "Identifiers consist of letters, digits, '-', '.', "
                     "'_', starting with a letter.");
    check_opts_error("file,id=x", "chardev: file: no filename given");
    check_opts_error("file,id=x,path=/nonexistent/qvmm/f",
                     "Could not open '/nonexistent/qvmm/f': "
                     "No such file or directory");
    check_opts_error("null,id=x,logfile=/nonexistent/qvmm/log",
                     "Could not create '/nonexistent/qvmm/log': "
                     "No such file or directory");
    check_opts_error("mux,id=m", "chardev: mux: no chardev given");
    check_opts_error("mux,id=m,chardev=nope",
                     "mux: base chardev nope not found");

    /* help prints the list and is not an error */
    ck_assert_ptr_null(qemu_chr_new_from_opts(help, &err));
    ck_assert_ptr_null(err);

    new_chardev("null,id=x");
    check_opts_error("null,id=x", "Duplicate ID 'x' for chardev");
    fe_attach(&fe, qemu_chr_find("x"), 0);
    ck_assert(!qemu_chr_attach(qemu_chr_find("x"), fe_can_read, fe_read,
                               fe_event, &fe, &err));
    ck_assert_str_eq(err->message, "Device 'x' is in use");
    g_clear_error(&err);
    ck_assert(!qemu_chr_delete("x", &err));
    ck_assert_str_eq(err->message, "Chardev 'x' is busy");
    g_clear_error(&err);
    ck_assert(!qemu_chr_delete("nope", &err));
    ck_assert_str_eq(err->message, "Chardev 'nope' not found");
    g_clear_error(&err);
    qemu_chr_detach(qemu_chr_find("x"), &fe);
    ck_assert(qemu_chr_delete("x", &err));
    ck_assert_ptr_null(qemu_chr_find("x"));

    /* a mux's base is not a -chardev id: QEMU's QOM error, not its own */
    new_chardev("null,id=m-base");
    check_opts_error("null,id=m,mux=on", "attempt to add duplicate property "
                     "'m-base' to object (type 'container')");
    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

START_TEST(test_socket_errors)
{
    g_autofree char *busy = NULL, *refused = NULL;
    g_autofree char *long_path = g_strnfill(120, 'a');
    g_autofree char *long_spec = NULL, *long_msg = NULL;
    int port, fd;

    check_opts_error("socket,id=x", "Unable to parse FD number ");
    check_opts_error("socket,id=x,fd=abc,server=on,wait=off",
                     "Unable to parse FD number abc");
    check_opts_error("socket,id=x,fd=77,server=on,wait=off",
                     "File descriptor '77' is not a socket");
    check_opts_error("socket,id=x,host=localhost",
                     "chardev: socket: no port given");
    check_opts_error("socket,id=x,path=/tmp/a.sock,host=foo,port=3",
                     "None or one of 'path', 'fd' or 'host' option "
                     "required.");
    check_opts_error("socket,id=x,path=/tmp/a.sock,wait=off",
                     "'wait' option is incompatible with socket in client "
                     "connect mode");
    check_opts_error("socket,id=x,path=/tmp/a.sock,server=on,reconnect=1",
                     "'reconnect' option is incompatible with socket in "
                     "server listen mode");
    check_opts_error("socket,id=x,path=/tmp/a.sock,delay=on,nodelay=on",
                     "'delay' and 'nodelay' are mutually exclusive");
    check_opts_error("socket,id=x,host=127.0.0.1,port=abc,server=on,"
                     "wait=off", "address resolution failed for "
                     "127.0.0.1:abc: Servname not supported for "
                     "ai_socktype");
    check_opts_error("socket,id=x,host=127.0.0.1,port=1,ipv4=off,ipv6=off",
                     "Cannot disable IPv4 and IPv6 at same time");
    check_opts_error("socket,id=x,path=/nonexistent/qvmm/s.sock,server=on,"
                     "wait=off", "Failed to bind socket to "
                     "/nonexistent/qvmm/s.sock: No such file or directory");
    check_opts_error("socket,id=x,path=/nonexistent/qvmm/s.sock",
                     "Failed to connect to '/nonexistent/qvmm/s.sock': "
                     "No such file or directory");
    check_opts_error("socket,id=x,path=/tmp/s,server=on,telnet=on",
                     "chardev: socket: 'telnet' is not supported by qvmm");

    long_spec = g_strdup_printf("socket,id=x,path=/tmp/%s", long_path);
    long_msg = g_strdup_printf("UNIX socket path '/tmp/%s' is too long\n"
                               "Path must be less than 108 bytes", long_path);
    check_opts_error(long_spec, long_msg);

    /* a port that is taken, and one where nobody listens */
    fd = tcp_listener(&port);
    busy = g_strdup_printf("socket,id=x,host=127.0.0.1,port=%d,server=on,"
                           "wait=off", port);
    check_opts_error(busy, "Failed to find an available port: "
                     "Address already in use");
    close(fd);
    g_free(busy);
    busy = g_strdup_printf("socket,id=x,host=127.0.0.1,port=%d", port);
    refused = g_strdup_printf("Failed to connect to '127.0.0.1:%d': "
                              "Connection refused", port);
    check_opts_error(busy, refused);
    qemu_chr_cleanup_all();
}
END_TEST

/* ---- file ---- */

START_TEST(test_file)
{
    g_autofree char *path = tmp_path("file");
    g_autofree char *spec = NULL, *text = NULL, *log = tmp_path("log");
    g_autofree char *logspec = NULL;
    Chardev *chr;

    g_file_set_contents(path, "old content", -1, NULL);
    spec = g_strdup_printf("file,id=f,path=%s", path);
    chr = new_chardev(spec);
    ck_assert_int_eq(qemu_chr_write(chr, (const uint8_t *)"hello", 5), 5);
    text = read_file(path);
    ck_assert_str_eq(text, "hello");        /* truncated first */
    qemu_chr_cleanup_all();

    g_free(spec);
    g_free(text);
    spec = g_strdup_printf("file,id=f,path=%s,append=on", path);
    chr = new_chardev(spec);
    qemu_chr_write(chr, (const uint8_t *)" world", 6);
    text = read_file(path);
    ck_assert_str_eq(text, "hello world");
    qemu_chr_cleanup_all();

    /* logfile= records output, even where the backend drops it */
    logspec = g_strdup_printf("null,id=n,logfile=%s", log);
    chr = new_chardev(logspec);
    qemu_chr_write(chr, (const uint8_t *)"logged", 6);
    g_free(text);
    text = read_file(log);
    ck_assert_str_eq(text, "logged");
    qemu_chr_cleanup_all();
    unlink(path);
    unlink(log);
}
END_TEST

/* ---- sockets ---- */

START_TEST(test_socket_unix_server)
{
    g_autofree char *path = tmp_path("server.sock");
    g_autofree char *spec = NULL, *disc = NULL, *conn = NULL;
    Chardev *chr;
    TestFe fe;
    int fd;

    spec = g_strdup_printf("socket,id=s,path=%s,server=on,wait=off", path);
    disc = g_strdup_printf("disconnected:unix:%s,server=on", path);
    conn = g_strdup_printf("unix:%s,server=on", path);
    chr = new_chardev(spec);
    ck_assert_str_eq(qemu_chr_filename(chr), disc);
    fe_attach(&fe, chr, 3);
    ck_assert_int_eq(fe.nevents, 0);
    /* no client: output is dropped, quietly */
    ck_assert_int_eq(qemu_chr_write(chr, (const uint8_t *)"lost", 4), 4);

    fd = unix_client(path);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_OPENED));
    ck_assert_str_eq(qemu_chr_filename(chr), conn);
    ck_assert(qemu_chr_fe_is_open(chr));

    /* input only up to can_read, then nothing until accept_input */
    send_str(fd, "abcdefgh");
    SPIN_UNTIL(fe.in->len == 3);
    spin_a_bit();
    ck_assert(fe_got(&fe, "abc"));
    fe.room = 100;
    qemu_chr_accept_input(chr);
    SPIN_UNTIL(fe.in->len == 8);
    ck_assert(fe_got(&fe, "abcdefgh"));

    ck_assert_int_eq(qemu_chr_write(chr, (const uint8_t *)"xyz", 3), 3);
    expect_read(fd, "xyz");

    /* bytes sent just before a hang-up still arrive, then CLOSED */
    fe.room = 0;
    send_str(fd, "tail");
    close(fd);
    spin_a_bit();
    ck_assert(!fe_has_event(&fe, CHR_EVENT_CLOSED));
    fe.room = 100;
    qemu_chr_accept_input(chr);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_CLOSED));
    ck_assert(fe_got(&fe, "abcdefghtail"));
    ck_assert_str_eq(qemu_chr_filename(chr), disc);

    /* back to listening: the next client is served */
    fe.nevents = 0;
    fd = unix_client(path);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_OPENED));
    qemu_chr_write(chr, (const uint8_t *)"again", 5);
    expect_read(fd, "again");
    close(fd);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_CLOSED));

    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

START_TEST(test_socket_tcp_server)
{
    Chardev *chr = new_chardev("socket,id=t,host=127.0.0.1,port=0,"
                               "server=on,wait=off");
    const char *disc = qemu_chr_filename(chr);
    g_autofree char *conn = NULL;
    int port, local, fd;
    TestFe fe;

    ck_assert_int_eq(sscanf(disc, "disconnected:tcp:127.0.0.1:%d,server=on",
                            &port), 1);
    fe_attach(&fe, chr, 100);
    fd = tcp_client(port, &local);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_OPENED));
    conn = g_strdup_printf("tcp:127.0.0.1:%d,server=on <-> 127.0.0.1:%d",
                           port, local);
    ck_assert_str_eq(qemu_chr_filename(chr), conn);
    send_str(fd, "ping");
    SPIN_UNTIL(fe.in->len == 4);
    qemu_chr_write(chr, (const uint8_t *)"pong", 4);
    expect_read(fd, "pong");
    close(fd);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_CLOSED));
    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

/* A client that does not read: writes return at once, order is kept. */
START_TEST(test_socket_slow_reader)
{
    g_autofree char *path = tmp_path("slow.sock");
    g_autofree char *spec = NULL;
    const int total = 2 * CHR_OUT_BUF_MAX;
    uint8_t chunk[4096];
    int received = 0, idle = 0, fd, small = 4096;
    Chardev *chr;
    TestFe fe;

    spec = g_strdup_printf("socket,id=s,path=%s,server=on,wait=off", path);
    chr = new_chardev(spec);
    fe_attach(&fe, chr, 0);
    fd = unix_client(path);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_OPENED));

    for (int off = 0; off < total; off += sizeof(chunk)) {
        gint64 start = g_get_monotonic_time();

        for (size_t i = 0; i < sizeof(chunk); i++) {
            chunk[i] = (off + i) % 251;
        }
        ck_assert_int_eq(qemu_chr_write(chr, chunk, sizeof(chunk)),
                         sizeof(chunk));
        ck_assert_int_lt(g_get_monotonic_time() - start, G_USEC_PER_SEC / 10);
    }
    /* what arrives is an unbroken start of the stream, queue included */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    while (idle < 200) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        g_main_context_iteration(NULL, FALSE);
        if (n <= 0) {
            idle++;
            g_usleep(1000);
            continue;
        }
        for (ssize_t i = 0; i < n; i++) {
            ck_assert_int_eq(chunk[i], (received + i) % 251);
        }
        received += n;
        idle = 0;
    }
    ck_assert_int_ge(received, CHR_OUT_BUF_MAX);
    ck_assert_int_lt(received, total);
    close(fd);
    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

/* A peer that left while input was throttled is noticed on write. */
START_TEST(test_socket_write_after_hangup)
{
    g_autofree char *path = tmp_path("gone.sock");
    g_autofree char *spec = NULL;
    Chardev *chr;
    TestFe fe;

    spec = g_strdup_printf("socket,id=s,path=%s,server=on,wait=off", path);
    chr = new_chardev(spec);
    fe_attach(&fe, chr, 0);
    close(unix_client(path));
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_OPENED));
    spin_a_bit();
    ck_assert(!fe_has_event(&fe, CHR_EVENT_CLOSED));
    ck_assert_int_eq(qemu_chr_write(chr, (const uint8_t *)"x", 1), 1);
    ck_assert(fe_has_event(&fe, CHR_EVENT_CLOSED));
    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

static gpointer connect_later(gpointer path)
{
    g_usleep(100 * 1000);
    return GINT_TO_POINTER(unix_client(path));
}

START_TEST(test_socket_wait)
{
    g_autofree char *path = tmp_path("wait.sock");
    g_autofree char *spec = NULL, *line = NULL, *out = NULL;
    char *text = NULL;
    size_t text_len;
    FILE *msgs = open_memstream(&text, &text_len);
    GThread *client;
    Chardev *chr;
    TestFe fe;

    unlink(path);
    spec = g_strdup_printf("socket,id=w,path=%s,server=on", path);
    client = g_thread_new("client", connect_later, path);
    error_set_output(msgs);
    chr = new_chardev(spec);
    error_set_output(NULL);
    fclose(msgs);
    line = g_strdup_printf("qvmm: info: qvmm waiting for connection on: "
                           "disconnected:unix:%s,server=on\n", path);
    ck_assert_str_eq(text, line);
    free(text);
    /* connected before anyone attached: attaching delivers OPENED */
    fe_attach(&fe, chr, 10);
    ck_assert_int_eq(fe.nevents, 1);
    ck_assert_int_eq(fe.events[0], CHR_EVENT_OPENED);
    close(GPOINTER_TO_INT(g_thread_join(client)));
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_CLOSED));
    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

START_TEST(test_socket_client)
{
    g_autofree char *path = tmp_path("client.sock");
    g_autofree char *spec = NULL, *conn = NULL, *disc = NULL;
    int lfd = unix_server(path), fd;
    Chardev *chr;
    TestFe fe;

    spec = g_strdup_printf("socket,id=c,path=%s", path);
    chr = new_chardev(spec);
    conn = g_strdup_printf("unix:%s", path);
    ck_assert_str_eq(qemu_chr_filename(chr), conn);
    fd = accept(lfd, NULL, NULL);
    fe_attach(&fe, chr, 100);
    ck_assert(fe_has_event(&fe, CHR_EVENT_OPENED));
    qemu_chr_write(chr, (const uint8_t *)"hi", 2);
    expect_read(fd, "hi");
    send_str(fd, "yo");
    SPIN_UNTIL(fe_got(&fe, "yo"));
    close(fd);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_CLOSED));
    disc = g_strdup_printf("disconnected:unix:%s", path);
    ck_assert_str_eq(qemu_chr_filename(chr), disc);
    qemu_chr_cleanup_all();
    close(lfd);
    unlink(path);
    g_byte_array_unref(fe.in);
}
END_TEST

/* libvirt's way: a listening socket handed down as fd=N */
START_TEST(test_socket_fd)
{
    g_autofree char *path = tmp_path("fd.sock");
    g_autofree char *spec = NULL, *disc = NULL;
    int lfd = unix_server(path), fd;
    Chardev *chr;
    TestFe fe;

    spec = g_strdup_printf("socket,id=f,fd=%d,server=on,wait=off", lfd);
    chr = new_chardev(spec);
    disc = g_strdup_printf("disconnected:unix:%s,server=on", path);
    ck_assert_str_eq(qemu_chr_filename(chr), disc);
    fe_attach(&fe, chr, 100);
    fd = unix_client(path);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_OPENED));
    send_str(fd, "via fd");
    SPIN_UNTIL(fe_got(&fe, "via fd"));
    close(fd);
    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

/* ---- stdio and the mux, on pipes standing in for the terminal ---- */

static int saved_stdin = -1, saved_stdout = -1;
static int stdin_w = -1, stdout_r = -1;

static void pipes_as_stdio(void)
{
    int in[2], out[2];

    ck_assert_int_eq(pipe(in), 0);
    ck_assert_int_eq(pipe(out), 0);
    fflush(stdout);
    saved_stdin = dup(0);
    saved_stdout = dup(1);
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(out[1]);
    stdin_w = in[1];
    stdout_r = out[0];
}

static void restore_stdio(void)
{
    fflush(stdout);
    dup2(saved_stdin, 0);
    dup2(saved_stdout, 1);
    close(saved_stdin);
    close(saved_stdout);
    close(stdin_w);
    close(stdout_r);
}

static ShutdownCause last_cause;
static int shutdown_events;

static void record_event(const char *event, gboolean has_data,
                         gboolean guest, ShutdownCause cause)
{
    (void)has_data;
    (void)guest;
    if (!strcmp(event, "SHUTDOWN")) {
        last_cause = cause;
        shutdown_events++;
    }
}

static const char mux_help[] =
    "\n\r"
    "C-a h    print this help\n\r"
    "C-a x    exit emulator\n\r"
    "C-a s    save disk data back to file (if -snapshot)\n\r"
    "C-a t    toggle console timestamps\n\r"
    "C-a b    send break (magic sysrq)\n\r"
    "C-a c    switch between console and monitor\n\r"
    "C-a C-a  sends C-a\n\r";

START_TEST(test_mux_stdio)
{
    TestFe mon, ser;
    Chardev *chr;
    int status = -1;
    char buf[64];
    ssize_t n;

    pipes_as_stdio();
    chr = new_legacy("serial0", "mon:stdio");
    ck_assert(qemu_chr_is_mux(chr));
    ck_assert_str_eq(qemu_chr_filename(chr), "mux");
    ck_assert_str_eq(qemu_chr_filename(qemu_chr_find("serial0-base")),
                     "stdio");

    /* as with -nographic: the monitor first, then the serial port */
    fe_attach(&mon, chr, 100);
    fe_attach(&ser, chr, 100);
    ck_assert_int_eq(mon.nevents, 3);
    ck_assert_int_eq(mon.events[0], CHR_EVENT_MUX_IN);
    ck_assert_int_eq(mon.events[1], CHR_EVENT_OPENED);
    ck_assert_int_eq(mon.events[2], CHR_EVENT_MUX_OUT);
    ck_assert_int_eq(ser.events[0], CHR_EVENT_MUX_IN);
    ck_assert_int_eq(ser.events[1], CHR_EVENT_OPENED);

    send_str(stdin_w, "hi\001\001");
    SPIN_UNTIL(ser.in->len == 3);
    ck_assert(fe_got(&ser, "hi\001"));

    send_str(stdin_w, "\001h");
    expect_read(stdout_r, mux_help);

    send_str(stdin_w, "\001b");
    SPIN_UNTIL(fe_has_event(&ser, CHR_EVENT_BREAK));
    ck_assert(!fe_has_event(&mon, CHR_EVENT_BREAK));

    /* C-a c: input now goes to the monitor */
    send_str(stdin_w, "\001cz");
    SPIN_UNTIL(mon.in->len == 1);
    ck_assert(fe_got(&mon, "z"));
    ck_assert_int_eq(ser.events[ser.nevents - 1], CHR_EVENT_MUX_OUT);
    ck_assert_int_eq(mon.events[mon.nevents - 1], CHR_EVENT_MUX_IN);
    ck_assert(fe_got(&ser, "hi\001"));

    /* output from either frontend goes out, with C-a t stamps */
    send_str(stdin_w, "\001t");
    spin_a_bit();
    qemu_chr_write(chr, (const uint8_t *)"a\nb\n", 4);
    n = read(stdout_r, buf, sizeof(buf) - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_msg(g_str_has_prefix(buf, "a\n[00:00:00.") &&
                  g_str_has_suffix(buf, "] b\n"), "'%s'", buf);
    send_str(stdin_w, "\001t");

    /* C-a x: QEMU's line and a "quit" shutdown request */
    runstate_set_event_hook(record_event);
    send_str(stdin_w, "\001x");
    expect_read(stdout_r, "QEMU: Terminated\n\r");
    ck_assert(main_loop_should_exit(&status));
    ck_assert_int_eq(status, 0);
    ck_assert_int_eq(shutdown_events, 1);
    ck_assert_int_eq(last_cause, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    runstate_set_event_hook(NULL);

    qemu_chr_cleanup_all();
    restore_stdio();
    g_byte_array_unref(mon.in);
    g_byte_array_unref(ser.in);
}
END_TEST

/* The mux holds input for a full frontend and lets the backend wait. */
START_TEST(test_mux_backpressure)
{
    g_autofree char *path = tmp_path("mux.sock");
    g_autofree char *spec = NULL;
    Chardev *chr;
    TestFe fe;
    int fd;

    spec = g_strdup_printf("socket,id=m,path=%s,server=on,wait=off,mux=on",
                           path);
    chr = new_chardev(spec);
    ck_assert(qemu_chr_is_mux(chr));
    fe_attach(&fe, chr, 2);
    fd = unix_client(path);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_OPENED));
    send_str(fd, "0123456789");
    SPIN_UNTIL(fe.in->len == 2);
    spin_a_bit();
    ck_assert(fe_got(&fe, "01"));
    fe.room = 3;
    qemu_chr_accept_input(chr);
    ck_assert(fe_got(&fe, "01234"));
    fe.room = 100;
    qemu_chr_accept_input(chr);
    SPIN_UNTIL(fe.in->len == 10);
    ck_assert(fe_got(&fe, "0123456789"));
    close(fd);
    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

START_TEST(test_mux_open_deferred)
{
    TestFe a, b, c, d;
    GError *err = NULL;
    Chardev *chr;

    qemu_chr_suspend_mux_open();
    chr = new_chardev("null,id=m,mux=on");
    fe_attach(&a, chr, 10);
    fe_attach(&b, chr, 10);
    ck_assert(!fe_has_event(&a, CHR_EVENT_OPENED));
    ck_assert(!fe_has_event(&b, CHR_EVENT_OPENED));
    qemu_chr_resume_mux_open();
    ck_assert(fe_has_event(&a, CHR_EVENT_OPENED));
    ck_assert(fe_has_event(&b, CHR_EVENT_OPENED));

    /* four frontends at most, as in QEMU */
    fe_attach(&c, chr, 10);
    fe_attach(&d, chr, 10);
    ck_assert(!qemu_chr_attach(chr, fe_can_read, fe_read, fe_event, &a,
                               &err));
    ck_assert_str_eq(err->message, "Device 'm' is in use");
    g_error_free(err);
    qemu_chr_cleanup_all();
    g_byte_array_unref(a.in);
    g_byte_array_unref(b.in);
    g_byte_array_unref(c.in);
    g_byte_array_unref(d.in);
}
END_TEST

START_TEST(test_stdio_once)
{
    pipes_as_stdio();
    new_chardev("stdio,id=a");
    check_opts_error("stdio,id=b",
                     "cannot use stdio by multiple character devices");
    qemu_chr_cleanup_all();
    /* usable again once the first is gone */
    new_chardev("stdio,id=b");
    qemu_chr_cleanup_all();
    qemu_chr_restore_terminal();
    restore_stdio();
}
END_TEST

/* ---- pty ---- */

START_TEST(test_pty)
{
    g_autofree char *expect = NULL;
    char line[256] = "", pts[128];
    struct termios tty;
    Chardev *chr;
    TestFe fe;
    ssize_t n;
    int fd;

    pipes_as_stdio();
    chr = new_chardev("pty,id=p");
    fflush(stdout);
    n = read(stdout_r, line, sizeof(line) - 1);
    restore_stdio();
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(sscanf(qemu_chr_filename(chr), "pty:%127s", pts), 1);
    expect = g_strdup_printf("char device redirected to %s (label p)\n", pts);
    ck_assert_str_eq(line, expect);

    fe_attach(&fe, chr, 100);
    ck_assert_int_eq(fe.nevents, 0);
    /* nobody on the other side yet: dropped */
    qemu_chr_write(chr, (const uint8_t *)"lost", 4);

    fd = open(pts, O_RDWR | O_NOCTTY);
    ck_assert_int_ge(fd, 0);
    tcgetattr(fd, &tty);
    cfmakeraw(&tty);
    tcsetattr(fd, TCSANOW, &tty);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_OPENED));
    qemu_chr_write(chr, (const uint8_t *)"ping", 4);
    expect_read(fd, "ping");
    send_str(fd, "pong");
    SPIN_UNTIL(fe_got(&fe, "pong"));
    close(fd);
    SPIN_UNTIL(fe_has_event(&fe, CHR_EVENT_CLOSED));
    qemu_chr_cleanup_all();
    g_byte_array_unref(fe.in);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chardev");
    TCase *tc = tcase_create("chardev");
    SRunner *sr;
    int failed;

    error_set_progname("qvmm");
    qemu_init_main_loop();
    signal(SIGPIPE, SIG_IGN);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_legacy_parse);
    tcase_add_test(tc, test_legacy_errors);
    tcase_add_test(tc, test_opts_errors);
    tcase_add_test(tc, test_socket_errors);
    tcase_add_test(tc, test_file);
    tcase_add_test(tc, test_socket_unix_server);
    tcase_add_test(tc, test_socket_tcp_server);
    tcase_add_test(tc, test_socket_slow_reader);
    tcase_add_test(tc, test_socket_write_after_hangup);
    tcase_add_test(tc, test_socket_wait);
    tcase_add_test(tc, test_socket_client);
    tcase_add_test(tc, test_socket_fd);
    tcase_add_test(tc, test_mux_stdio);
    tcase_add_test(tc, test_mux_backpressure);
    tcase_add_test(tc, test_mux_open_deferred);
    tcase_add_test(tc, test_stdio_once);
    tcase_add_test(tc, test_pty);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
