/*
 * QMP as a client sees it: a small QMP client of the tests' own (glib
 * and json-glib, nothing from monitor/) drives qvmm over unix and TCP
 * sockets and checks replies, errors, events and run states.
 *
 *   qmp-test QVMM GUEST_DIR       (GTest: -p /qmp/... selects cases)
 *
 * Cases that run a guest need /dev/kvm and tests/guest's ticker.elf;
 * without them they are skipped with the reason.  The rest run qvmm
 * with the qtest accelerator, which needs neither.
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

static const char *qvmm_bin, *guest_dir;

typedef struct Vmm {
    GPid pid;
    char *dir;                  /* temporary directory for sockets */
    char *sock;                 /* the first monitor's unix socket */
    char *serial;               /* serial output file */
    int status;                 /* once reaped */
    bool reaped;
} Vmm;

typedef struct Qmp {
    int fd;
    GString *in;
    GQueue events;              /* JsonObject *, oldest first */
} Qmp;

/* ---- processes ---- */

static Vmm *vmm_start(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* A qvmm left behind by a failed assertion dies with the test. */
static void child_die_with_parent(gpointer data)
{
    (void)data;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/*
 * Run qvmm with "-display none -nodefaults", the arguments in @fmt (with
 * @DIR@ standing for a fresh directory), and wait for @DIR@/qmp.sock.
 */
static Vmm *vmm_start(const char *fmt, ...)
{
    Vmm *v = g_new0(Vmm, 1);
    g_autoptr(GError) err = NULL;
    g_autofree char *args = NULL, *line = NULL;
    g_auto(GStrv) argv = NULL;
    va_list ap;

    v->dir = g_dir_make_tmp("qmp-test-XXXXXX", &err);
    g_assert_no_error(err);
    v->sock = g_build_filename(v->dir, "qmp.sock", NULL);
    v->serial = g_build_filename(v->dir, "serial.txt", NULL);
    va_start(ap, fmt);
    args = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    {
        g_auto(GStrv) parts = g_strsplit(args, "@DIR@", -1);
        g_autofree char *joined = g_strjoinv(v->dir, parts);
        line = g_strdup_printf("%s -display none -nodefaults %s", qvmm_bin,
                               joined);
    }
    g_assert_true(g_shell_parse_argv(line, NULL, &argv, &err));
    /* Its stdout would mix with the TAP output. */
    g_assert_true(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD |
                                G_SPAWN_STDOUT_TO_DEV_NULL,
                                child_die_with_parent, NULL, &v->pid, &err));
    g_test_message("started: %s", line);
    return v;
}

static bool vmm_wait(Vmm *v, int timeout_ms)
{
    for (int t = 0; !v->reaped && t < timeout_ms; t += 10) {
        int st;
        if (waitpid(v->pid, &st, WNOHANG) == v->pid) {
            v->reaped = true;
            v->status = st;
            break;
        }
        g_usleep(10000);
    }
    return v->reaped;
}

static void vmm_free(Vmm *v)
{
    if (!v->reaped) {
        kill(v->pid, SIGKILL);
        vmm_wait(v, 5000);
    }
    g_spawn_close_pid(v->pid);
    unlink(v->sock);
    unlink(v->serial);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", v->dir);
    g_assert_cmpint(system(cmd), ==, 0);
    g_free(v->dir);
    g_free(v->sock);
    g_free(v->serial);
    g_free(v);
}

/* ---- the client ---- */

static int connect_unix(const char *path, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    for (int t = 0; t < timeout_ms; t += 10) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            return fd;
        }
        close(fd);
        g_usleep(10000);
    }
    g_error("cannot connect to %s", path);
}

static void qmp_send_raw(Qmp *q, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = send(q->fd, p, len, MSG_NOSIGNAL);
        g_assert_cmpint(n, >, 0);
        p += n;
        len -= n;
    }
}

static void qmp_send(Qmp *q, const char *json)
{
    qmp_send_raw(q, json, strlen(json));
}

/*
 * One message, which must end in CRLF; NULL on EOF or after
 * @timeout_ms.  Pretty-printed messages span lines: read until the
 * text parses.
 */
static JsonObject *qmp_recv_timeout(Qmp *q, int timeout_ms)
{
    for (;;) {
        char *crlf = strstr(q->in->str, "}\r\n");
        struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
        char buf[4096];
        ssize_t n;

        while (crlf) {
            size_t len = crlf + 3 - q->in->str;
            g_autofree char *text = g_strndup(q->in->str, len - 2);
            g_autoptr(JsonParser) p = json_parser_new();

            if (json_parser_load_from_data(p, text, -1, NULL)) {
                JsonNode *root = json_parser_get_root(p);
                g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
                /* Output is ASCII only. */
                for (size_t i = 0; i < len - 2; i++) {
                    g_assert_cmpint((unsigned char)text[i], <, 0x80);
                }
                g_string_erase(q->in, 0, len);
                return json_object_ref(json_node_get_object(root));
            }
            crlf = strstr(crlf + 1, "}\r\n");
        }
        if (poll(&pfd, 1, timeout_ms) <= 0) {
            return NULL;
        }
        n = recv(q->fd, buf, sizeof(buf), 0);
        if (n <= 0) {
            return NULL;
        }
        g_string_append_len(q->in, buf, n);
    }
}

static JsonObject *qmp_recv(Qmp *q)
{
    JsonObject *o = qmp_recv_timeout(q, 10000);

    g_assert_nonnull(o);
    return o;
}

/* The next reply, queueing the events before it. */
static JsonObject *qmp_reply(Qmp *q)
{
    for (;;) {
        JsonObject *o = qmp_recv(q);

        if (!json_object_has_member(o, "event")) {
            g_assert_true(json_object_has_member(o, "return") ||
                          json_object_has_member(o, "error"));
            return o;
        }
        g_queue_push_tail(&q->events, o);
    }
}

static JsonObject *qmp_cmd(Qmp *q, const char *json)
{
    qmp_send(q, json);
    return qmp_reply(q);
}

/* The next event named @name (others before it are dropped). */
static JsonObject *qmp_event(Qmp *q, const char *name, int timeout_ms)
{
    for (;;) {
        JsonObject *o = g_queue_pop_head(&q->events);

        if (!o) {
            o = qmp_recv_timeout(q, timeout_ms);
            if (!o) {
                return NULL;
            }
            if (!json_object_has_member(o, "event")) {
                json_object_unref(o);
                continue;
            }
        }
        if (!strcmp(json_object_get_string_member(o, "event"), name)) {
            return o;
        }
        json_object_unref(o);
    }
}

static Qmp *qmp_open_fd(int fd, bool negotiate)
{
    Qmp *q = g_new0(Qmp, 1);
    g_autoptr(JsonObject) greeting = NULL, ret = NULL;

    q->fd = fd;
    q->in = g_string_new(NULL);
    g_queue_init(&q->events);
    greeting = qmp_recv(q);
    g_assert_true(json_object_has_member(greeting, "QMP"));
    if (negotiate) {
        ret = qmp_cmd(q, "{\"execute\": \"qmp_capabilities\"}");
        g_assert_true(json_object_has_member(ret, "return"));
    }
    return q;
}

static Qmp *qmp_open(const char *path)
{
    return qmp_open_fd(connect_unix(path, 10000), true);
}

static void qmp_close(Qmp *q)
{
    close(q->fd);
    g_string_free(q->in, TRUE);
    g_queue_clear_full(&q->events, (GDestroyNotify)json_object_unref);
    g_free(q);
}

/* ---- checks ---- */

static JsonObject *ret_object(JsonObject *rsp)
{
    g_assert_true(json_object_has_member(rsp, "return"));
    return json_object_get_object_member(rsp, "return");
}

static JsonArray *ret_array(JsonObject *rsp)
{
    g_assert_true(json_object_has_member(rsp, "return"));
    return json_object_get_array_member(rsp, "return");
}

static void assert_error(JsonObject *rsp, const char *class, const char *desc)
{
    JsonObject *e;

    g_assert_true(json_object_has_member(rsp, "error"));
    e = json_object_get_object_member(rsp, "error");
    g_assert_cmpstr(json_object_get_string_member(e, "class"), ==, class);
    g_assert_cmpstr(json_object_get_string_member(e, "desc"), ==, desc);
    g_assert_cmpuint(json_object_get_size(e), ==, 2);
}

static void assert_cmd_error(Qmp *q, const char *req, const char *class,
                             const char *desc)
{
    g_autoptr(JsonObject) rsp = qmp_cmd(q, req);

    assert_error(rsp, class, desc);
}

static void assert_status(Qmp *q, const char *status, bool running)
{
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-status\"}");
    JsonObject *r = ret_object(rsp);

    g_assert_cmpstr(json_object_get_string_member(r, "status"), ==, status);
    g_assert_cmpint(json_object_get_boolean_member(r, "running"), ==,
                    running);
    g_assert_false(json_object_get_boolean_member(r, "singlestep"));
}

static void assert_members(JsonObject *o, const char *const *names)
{
    guint n = 0;

    for (; names[n]; n++) {
        if (!json_object_has_member(o, names[n])) {
            g_error("member '%s' missing", names[n]);
        }
    }
    g_assert_cmpuint(json_object_get_size(o), ==, n);
}

static bool have_kvm_guest(const char *guest, char **path)
{
    *path = g_build_filename(guest_dir, guest, NULL);
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        g_test_skip("/dev/kvm is not usable here");
        return false;
    }
    if (access(*path, R_OK) != 0) {
        g_test_skip("the test guest is not built");
        return false;
    }
    return true;
}

static int exit_code(Vmm *v)
{
    g_assert_true(vmm_wait(v, 20000));
    g_assert_true(WIFEXITED(v->status));
    return WEXITSTATUS(v->status);
}

#define QTEST_ARGS "-accel qtest -qmp unix:@DIR@/qmp.sock,server=on,wait=off"

/* ---- protocol ---- */

/* The greeting byte for byte, then its members. */
static void test_greeting(void)
{
    Vmm *v = vmm_start(QTEST_ARGS);
    int fd = connect_unix(v->sock, 10000);
    char raw[512];
    ssize_t n = recv(fd, raw, sizeof(raw) - 1, 0);

    g_assert_cmpint(n, >, 0);
    raw[n] = '\0';
    g_assert_cmpstr(raw, ==, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, "
                    "\"minor\": 2, \"major\": 7}, \"package\": \"qvmm 0.1.0\"}, "
                    "\"capabilities\": []}}\r\n");
    close(fd);
    vmm_free(v);
}

static void test_negotiation(void)
{
    Vmm *v = vmm_start(QTEST_ARGS " -S");
    Qmp *q = qmp_open_fd(connect_unix(v->sock, 10000), false);
    g_autoptr(JsonObject) rsp = NULL;

    assert_cmd_error(q, "{\"execute\":\"query-status\"}", "CommandNotFound",
                     "Expecting capabilities negotiation with "
                     "'qmp_capabilities'");
    assert_cmd_error(q, "{\"execute\":\"nonexistent\"}", "CommandNotFound",
                     "Expecting capabilities negotiation with "
                     "'qmp_capabilities'");
    assert_cmd_error(q, "{\"execute\":\"qmp_capabilities\","
                     "\"arguments\":{\"enable\":[\"oob\"]}}",
                     "GenericError", "Capability oob not available");
    assert_cmd_error(q, "{\"execute\":\"qmp_capabilities\","
                     "\"arguments\":{\"enable\":[\"foo\"]}}", "GenericError",
                     "Parameter 'null' does not accept value 'foo'");
    assert_cmd_error(q, "{\"execute\":\"qmp_capabilities\","
                     "\"arguments\":{\"enable\":1}}", "GenericError",
                     "Invalid parameter type for 'enable', expected: array");
    rsp = qmp_cmd(q, "{\"execute\":\"qmp_capabilities\",\"id\":7}");
    g_assert_cmpuint(json_object_get_size(ret_object(rsp)), ==, 0);
    g_assert_cmpint(json_object_get_int_member(rsp, "id"), ==, 7);
    assert_cmd_error(q, "{\"execute\":\"qmp_capabilities\"}",
                     "CommandNotFound", "Capabilities negotiation is "
                     "already complete, command ignored");
    assert_status(q, "prelaunch", false);
    qmp_close(q);
    vmm_free(v);
}

/* A second monitor that has not negotiated gets no events. */
static void test_no_events_before_negotiation(void)
{
    Vmm *v = vmm_start(QTEST_ARGS " -S -chardev socket,id=m2,path=@DIR@/m2.sock,"
                       "server=on,wait=off -mon chardev=m2,mode=control");
    g_autofree char *m2 = g_build_filename(v->dir, "m2.sock", NULL);
    Qmp *q = qmp_open(v->sock);
    Qmp *raw = qmp_open_fd(connect_unix(m2, 10000), false);
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"cont\"}");
    g_autoptr(JsonObject) ev = qmp_event(q, "RESUME", 5000);

    g_assert_nonnull(ev);
    g_assert_null(qmp_recv_timeout(raw, 300));
    qmp_close(raw);
    qmp_close(q);
    vmm_free(v);
}

static void test_id_echo(void)
{
    static const char *const ids[] = {
        "1", "-5", "1.5", "\"abc\"", "null", "true", "[]", "{\"a\": [1, 2]}",
        NULL
    };
    Vmm *v = vmm_start(QTEST_ARGS);
    Qmp *q = qmp_open(v->sock);

    for (int i = 0; ids[i]; i++) {
        g_autofree char *req = g_strdup_printf(
            "{\"execute\":\"query-name\",\"id\":%s}", ids[i]);
        g_autofree char *bad = g_strdup_printf(
            "{\"id\":%s,\"execute\":\"no-such-command\"}", ids[i]);
        g_autoptr(JsonObject) r1 = qmp_cmd(q, req);
        g_autoptr(JsonObject) r2 = qmp_cmd(q, bad);
        g_autoptr(JsonNode) want = json_from_string(ids[i], NULL);

        g_assert_true(json_node_equal(json_object_get_member(r1, "id"),
                                      want));
        g_assert_true(json_node_equal(json_object_get_member(r2, "id"),
                                      want));
        g_assert_cmpuint(json_object_get_size(r1), ==, 2);
        g_assert_cmpuint(json_object_get_size(r2), ==, 2);
    }
    qmp_close(q);
    vmm_free(v);
}

static void test_errors(void)
{
    Vmm *v = vmm_start(QTEST_ARGS);
    Qmp *q = qmp_open(v->sock);

    assert_cmd_error(q, "{\"execute\":\"no-such-command\"}", "CommandNotFound",
                     "The command no-such-command has not been found");
    /* A QEMU command qvmm lacks is absent, not faked. */
    assert_cmd_error(q, "{\"execute\":\"migrate\"}", "CommandNotFound",
                     "The command migrate has not been found");
    assert_cmd_error(q, "[1, 2]", "GenericError",
                     "QMP input must be a JSON object");
    assert_cmd_error(q, "{}", "GenericError",
                     "QMP input lacks member 'execute'");
    assert_cmd_error(q, "{\"execute\":1}", "GenericError",
                     "QMP input member 'execute' must be a string");
    assert_cmd_error(q, "{\"execute\":\"query-status\",\"arguments\":[]}",
                     "GenericError",
                     "QMP input member 'arguments' must be an object");
    assert_cmd_error(q, "{\"execute\":\"query-status\",\"foo\":1}",
                     "GenericError", "QMP input member 'foo' is unexpected");
    assert_cmd_error(q, "{\"exec-oob\":\"query-status\"}", "GenericError",
                     "QMP input member 'exec-oob' is unexpected");
    assert_cmd_error(q, "{\"execute\":\"query-status\","
                     "\"arguments\":{\"x\":1}}", "GenericError",
                     "Parameter 'x' is unexpected");
    assert_cmd_error(q, "{\"execute\":\"human-monitor-command\"}",
                     "GenericError", "Parameter 'command-line' is missing");
    assert_cmd_error(q, "{\"execute\":\"human-monitor-command\","
                     "\"arguments\":{\"command-line\":1}}", "GenericError",
                     "Invalid parameter type for 'command-line', "
                     "expected: string");
    assert_cmd_error(q, "{\"execute\":\"human-monitor-command\","
                     "\"arguments\":{\"command-line\":\"info status\","
                     "\"cpu-index\":\"0\"}}", "GenericError",
                     "Invalid parameter type for 'cpu-index', "
                     "expected: integer");
    assert_cmd_error(q, "{\"execute\":\"human-monitor-command\","
                     "\"arguments\":{\"command-line\":\"info status\","
                     "\"cpu-index\":5}}", "GenericError",
                     "Parameter 'cpu-index' expects a CPU number");
    assert_status(q, "running", true);
    qmp_close(q);
    vmm_free(v);
}

/* ---- commands ---- */

static const char *const expected_commands[] = {
    "qmp_capabilities", "query-version", "query-commands", "query-target",
    "query-name", "query-uuid", "query-kvm", "query-status",
    "query-cpus-fast", "query-hotpluggable-cpus", "query-machines",
    "query-chardev", "query-pci", "stop", "cont", "system_reset",
    "system_powerdown", "quit", "human-monitor-command", "query-block",
    "query-named-block-nodes", "query-iothreads", "block_resize", NULL
};

/* Every listed command exists; every query-* one answers without error. */
static void check_command_list(Qmp *q)
{
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-commands\"}");
    JsonArray *list = ret_array(rsp);
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonObject *c = json_array_get_object_element(list, i);
        const char *name = json_object_get_string_member(c, "name");
        static const char *const members[] = { "name", NULL };

        assert_members(c, members);
        g_hash_table_add(seen, (char *)name);
        if (g_str_has_prefix(name, "query-")) {
            g_autofree char *req = g_strdup_printf("{\"execute\":\"%s\"}",
                                                   name);
            g_autoptr(JsonObject) r = qmp_cmd(q, req);
            g_assert_true(json_object_has_member(r, "return"));
        }
    }
    for (int i = 0; expected_commands[i]; i++) {
        g_assert_true(g_hash_table_contains(seen, expected_commands[i]));
    }
    g_hash_table_unref(seen);
}

static void check_version(Qmp *q)
{
    static const char *const top[] = { "qemu", "package", NULL };
    static const char *const qemu[] = { "major", "minor", "micro", NULL };
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-version\"}");
    JsonObject *r = ret_object(rsp), *v;

    assert_members(r, top);
    v = json_object_get_object_member(r, "qemu");
    assert_members(v, qemu);
    g_assert_cmpint(json_object_get_int_member(v, "major"), ==, 7);
    g_assert_cmpint(json_object_get_int_member(v, "minor"), ==, 2);
    g_assert_nonnull(strstr(json_object_get_string_member(r, "package"),
                            "qvmm"));
}

static void check_simple_queries(Qmp *q)
{
    g_autoptr(JsonObject) t = qmp_cmd(q, "{\"execute\":\"query-target\"}");
    g_autoptr(JsonObject) n = qmp_cmd(q, "{\"execute\":\"query-name\"}");
    g_autoptr(JsonObject) u = qmp_cmd(q, "{\"execute\":\"query-uuid\"}");
    g_autoptr(JsonObject) k = qmp_cmd(q, "{\"execute\":\"query-kvm\"}");
    static const char *const kvm[] = { "enabled", "present", NULL };

    g_assert_cmpstr(json_object_get_string_member(ret_object(t), "arch"), ==,
                    "x86_64");
    g_assert_cmpstr(json_object_get_string_member(ret_object(n), "name"), ==,
                    "vm-one");
    g_assert_cmpstr(json_object_get_string_member(ret_object(u), "UUID"), ==,
                    "12345678-9abc-def0-1234-56789abcdef0");
    assert_members(ret_object(k), kvm);
    /* The qtest accelerator: no KVM in use. */
    g_assert_false(json_object_get_boolean_member(ret_object(k), "enabled"));
}

static void check_hotpluggable(Qmp *q)
{
    static const char *const present[] = {
        "props", "vcpus-count", "qom-path", "type", NULL
    };
    static const char *const absent[] = { "props", "vcpus-count", "type",
                                          NULL };
    static const char *const props[] = {
        "socket-id", "core-id", "thread-id", NULL
    };
    g_autoptr(JsonObject) rsp =
        qmp_cmd(q, "{\"execute\":\"query-hotpluggable-cpus\"}");
    JsonArray *a = ret_array(rsp);

    /* -smp 2,maxcpus=4,cores=2,threads=2: the last slot first. */
    g_assert_cmpuint(json_array_get_length(a), ==, 4);
    for (guint i = 0; i < 4; i++) {
        JsonObject *c = json_array_get_object_element(a, i);
        JsonObject *p = json_object_get_object_member(c, "props");
        unsigned index = 3 - i;

        assert_members(c, index < 2 ? present : absent);
        assert_members(p, props);
        g_assert_cmpint(json_object_get_int_member(p, "thread-id"), ==,
                        index % 2);
        g_assert_cmpint(json_object_get_int_member(p, "core-id"), ==,
                        index / 2);
    }
}

static void check_machines(Qmp *q)
{
    static const char *const m[] = {
        "name", "alias", "is-default", "cpu-max", "hotpluggable-cpus",
        "numa-mem-supported", "deprecated", "default-cpu-type",
        "default-ram-id", NULL
    };
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-machines\"}");
    JsonArray *a = ret_array(rsp);
    JsonObject *pc = json_array_get_object_element(a, 0);

    g_assert_cmpuint(json_array_get_length(a), ==, 1);
    assert_members(pc, m);
    g_assert_cmpstr(json_object_get_string_member(pc, "name"), ==,
                    "pc-i440fx-7.2");
    g_assert_cmpstr(json_object_get_string_member(pc, "alias"), ==, "pc");
}

static void check_chardev(Qmp *q)
{
    static const char *const m[] = { "label", "filename", "frontend-open",
                                     NULL };
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-chardev\"}");
    JsonArray *a = ret_array(rsp);
    bool found = false;

    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *c = json_array_get_object_element(a, i);

        assert_members(c, m);
        if (!strcmp(json_object_get_string_member(c, "label"),
                    "compat_monitor0")) {
            found = true;
            g_assert_true(json_object_get_boolean_member(c, "frontend-open"));
            g_assert_true(g_str_has_prefix(
                json_object_get_string_member(c, "filename"), "unix:"));
        }
    }
    g_assert_true(found);
}

static void check_pci(Qmp *q)
{
    static const char *const dev[] = {
        "bus", "slot", "function", "class_info", "id", "irq_pin", "qdev_id",
        "regions", NULL
    };
    static const char *const id[] = {
        "vendor", "device", "subsystem", "subsystem-vendor", NULL
    };
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-pci\"}");
    JsonArray *buses = ret_array(rsp);
    JsonObject *bus0 = json_array_get_object_element(buses, 0);
    JsonArray *devs = json_object_get_array_member(bus0, "devices");
    static const int want[][3] = { { 0, 0x1237, 0x0600 },
                                   { 1, 0x7000, 0x0601 } };

    g_assert_cmpuint(json_array_get_length(buses), ==, 1);
    g_assert_cmpuint(json_array_get_length(devs), ==, 2);
    for (guint i = 0; i < 2; i++) {
        JsonObject *d = json_array_get_object_element(devs, i);
        JsonObject *ids = json_object_get_object_member(d, "id");
        JsonObject *ci = json_object_get_object_member(d, "class_info");

        assert_members(d, dev);
        assert_members(ids, id);
        g_assert_cmpint(json_object_get_int_member(d, "slot"), ==,
                        want[i][0]);
        g_assert_cmpint(json_object_get_int_member(ids, "vendor"), ==,
                        0x8086);
        g_assert_cmpint(json_object_get_int_member(ids, "device"), ==,
                        want[i][1]);
        g_assert_cmpint(json_object_get_int_member(ci, "class"), ==,
                        want[i][2]);
    }
}

static void test_commands(void)
{
    Vmm *v = vmm_start(QTEST_ARGS " -name vm-one -smp 2,maxcpus=4,cores=2,"
                       "threads=2 -uuid 12345678-9ABC-def0-1234-56789abcdef0");
    Qmp *q = qmp_open(v->sock);
    g_autoptr(JsonObject) cpus = qmp_cmd(q, "{\"execute\":\"query-cpus-fast\"}");

    check_command_list(q);
    check_version(q);
    check_simple_queries(q);
    check_hotpluggable(q);
    check_machines(q);
    check_chardev(q);
    check_pci(q);
    /* The qtest accelerator runs no vCPUs. */
    g_assert_cmpuint(json_array_get_length(ret_array(cpus)), ==, 0);
    qmp_close(q);
    vmm_free(v);
}

static char *hmp(Qmp *q, const char *line)
{
    g_autofree char *req = g_strdup_printf(
        "{\"execute\":\"human-monitor-command\","
        "\"arguments\":{\"command-line\":\"%s\"}}", line);
    g_autoptr(JsonObject) rsp = qmp_cmd(q, req);

    return g_strdup(json_object_get_string_member(rsp, "return"));
}

static void assert_hmp(Qmp *q, const char *line, const char *want)
{
    g_autofree char *out = hmp(q, line);

    g_assert_cmpstr(out, ==, want);
}

static void test_hmp(void)
{
    Vmm *v = vmm_start(QTEST_ARGS " -S");
    Qmp *q = qmp_open(v->sock);
    g_autofree char *pci = NULL;

    assert_hmp(q, "info status", "VM status: paused (prelaunch)\r\n");
    assert_hmp(q, "info version", "7.2.0qvmm 0.1.0\r\n");
    assert_hmp(q, "info kvm", "kvm support: disabled\r\n");
    assert_hmp(q, "info cpus", "");
    assert_hmp(q, "", "");
    assert_hmp(q, "foo", "unknown command: 'foo'\r\n");
    assert_hmp(q, "info foo", "unknown command: 'info foo'\r\n");
    assert_hmp(q, "stop now", "stop|s: extraneous characters at the end of "
               "line\r\nTry \"help stop\" for more information\r\n");
    pci = hmp(q, "info pci");
    g_assert_cmpstr(pci, ==, "  Bus  0, device   0, function 0:\r\n"
                    "    Host bridge: PCI device 8086:1237\r\n"
                    "      PCI subsystem 1af4:1100\r\n      id \"\"\r\n"
                    "  Bus  0, device   1, function 0:\r\n"
                    "    ISA bridge: PCI device 8086:7000\r\n"
                    "      PCI subsystem 1af4:1100\r\n      id \"\"\r\n");
    assert_hmp(q, "cont", "");
    assert_status(q, "running", true);
    assert_hmp(q, "s", "");
    assert_hmp(q, "info status", "VM status: paused\r\n");
    assert_hmp(q, "c", "");
    assert_hmp(q, "info status", "VM status: running\r\n");
    qmp_close(q);
    vmm_free(v);
}

/* ---- block devices ---- */

static void assert_return_empty(Qmp *q, const char *req);

static char *make_image(const char *dir, const char *name, gsize size)
{
    char *path = g_build_filename(dir, name, NULL);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);
    close(fd);
    return path;
}

static gint64 path_size(const char *path)
{
    struct stat st;

    g_assert_cmpint(stat(path, &st), ==, 0);
    return st.st_size;
}

/* BlockDeviceInfo (a node) as QEMU 7.2 shows it for a raw image. */
static void check_node(JsonObject *n, const char *file, const char *drv,
                       bool ro, gint64 size)
{
    static const char *const members[] = {
        "file", "node-name", "ro", "drv", "backing_file_depth", "encrypted",
        "detect_zeroes", "bps", "bps_rd", "bps_wr", "iops", "iops_rd",
        "iops_wr", "image", "cache", "write_threshold", NULL };
    static const char *const image_members[] = {
        "filename", "format", "dirty-flag", "actual-size", "virtual-size",
        NULL };
    static const char *const cache_members[] = {
        "writeback", "direct", "no-flush", NULL };
    JsonObject *img = json_object_get_object_member(n, "image");

    assert_members(n, members);
    g_assert_cmpstr(json_object_get_string_member(n, "file"), ==, file);
    g_assert_cmpstr(json_object_get_string_member(n, "drv"), ==, drv);
    g_assert_cmpint(json_object_get_boolean_member(n, "ro"), ==, ro);
    g_assert_cmpstr(json_object_get_string_member(n, "detect_zeroes"), ==,
                    "off");
    g_assert_cmpint(json_object_get_int_member(n, "bps"), ==, 0);
    assert_members(img, image_members);
    g_assert_cmpstr(json_object_get_string_member(img, "filename"), ==, file);
    g_assert_cmpstr(json_object_get_string_member(img, "format"), ==, drv);
    g_assert_cmpint(json_object_get_int_member(img, "virtual-size"), ==,
                    size);
    assert_members(json_object_get_object_member(n, "cache"), cache_members);
}

/* One query-block entry; @qdev NULL for a -drive no device uses. */
static JsonObject *check_block(JsonArray *list, guint i, const char *device,
                               const char *qdev)
{
    static const char *const attached[] = {
        "device", "qdev", "type", "removable", "locked", "inserted",
        "io-status", NULL };
    static const char *const unattached[] = {
        "device", "type", "removable", "locked", "inserted", NULL };
    JsonObject *b = json_array_get_object_element(list, i);

    assert_members(b, qdev ? attached : unattached);
    g_assert_cmpstr(json_object_get_string_member(b, "device"), ==, device);
    if (qdev) {
        g_assert_cmpstr(json_object_get_string_member(b, "qdev"), ==, qdev);
        g_assert_cmpstr(json_object_get_string_member(b, "io-status"), ==,
                        "ok");
    }
    g_assert_cmpstr(json_object_get_string_member(b, "type"), ==, "unknown");
    g_assert_cmpint(json_object_get_boolean_member(b, "removable"), ==,
                    !qdev);
    g_assert_false(json_object_get_boolean_member(b, "locked"));
    return json_object_get_object_member(b, "inserted");
}

static void check_query_block(Qmp *q, const char *a, const char *b,
                              const char *u, gint64 a_size)
{
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-block\"}");
    JsonArray *list = ret_array(rsp);
    JsonObject *n;

    /* -drive backends first, then the -blockdev node a device uses */
    g_assert_cmpuint(json_array_get_length(list), ==, 3);
    n = check_block(list, 0, "d0", "/machine/peripheral/vb0/virtio-backend");
    check_node(n, a, "raw", false, a_size);
    g_assert_true(g_str_has_prefix(
        json_object_get_string_member(n, "node-name"), "#block"));
    n = check_block(list, 1, "u0", NULL);
    check_node(n, u, "raw", true, 1 << 20);
    n = check_block(list, 2, "",
                    "/machine/peripheral-anon/device[0]/virtio-backend");
    check_node(n, b, "raw", false, 2 << 20);
    g_assert_cmpstr(json_object_get_string_member(n, "node-name"), ==, "n1");
}

static void check_named_nodes(Qmp *q, const char *b)
{
    g_autoptr(JsonObject) rsp =
        qmp_cmd(q, "{\"execute\":\"query-named-block-nodes\"}");
    JsonArray *list = ret_array(rsp);
    unsigned generated = 0, named = 0;

    /* d0 and u0: format and file nodes each; f1 and n1 */
    g_assert_cmpuint(json_array_get_length(list), ==, 6);
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonObject *n = json_array_get_object_element(list, i);
        const char *name = json_object_get_string_member(n, "node-name");

        if (g_str_has_prefix(name, "#block")) {
            generated++;
        } else {
            g_assert_true(!strcmp(name, "f1") || !strcmp(name, "n1"));
            check_node(n, b, strcmp(name, "f1") ? "raw" : "file", false,
                       2 << 20);
            named++;
        }
    }
    g_assert_cmpuint(generated, ==, 4);
    g_assert_cmpuint(named, ==, 2);
}

static void check_iothreads(Qmp *q, Vmm *v)
{
    static const char *const members[] = {
        "id", "thread-id", "poll-max-ns", "poll-grow", "poll-shrink",
        "aio-max-batch", NULL };
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-iothreads\"}");
    JsonArray *list = ret_array(rsp);
    JsonObject *t;
    g_autofree char *task = NULL;

    g_assert_cmpuint(json_array_get_length(list), ==, 1);
    t = json_array_get_object_element(list, 0);
    assert_members(t, members);
    g_assert_cmpstr(json_object_get_string_member(t, "id"), ==, "io0");
    /* a real thread of the VMM, not the main one */
    task = g_strdup_printf("/proc/%d/task/%" G_GINT64_FORMAT, (int)v->pid,
                           json_object_get_int_member(t, "thread-id"));
    g_assert_true(g_file_test(task, G_FILE_TEST_IS_DIR));
    g_assert_cmpint(json_object_get_int_member(t, "thread-id"), !=, v->pid);
}

static void check_block_resize(Qmp *q, const char *a, const char *b)
{
    static const char *const nf = "GenericError";

    assert_return_empty(q, "{\"execute\":\"block_resize\",\"arguments\":"
                        "{\"device\":\"d0\",\"size\":3145728}}");
    g_assert_cmpint(path_size(a), ==, 3 << 20);
    assert_return_empty(q, "{\"execute\":\"block_resize\",\"arguments\":"
                        "{\"node-name\":\"f1\",\"size\":524288}}");
    g_assert_cmpint(path_size(b), ==, 512 << 10);
    assert_return_empty(q, "{\"execute\":\"block_resize\",\"arguments\":"
                        "{\"node-name\":\"n1\",\"size\":2097152}}");
    g_assert_cmpint(path_size(b), ==, 2 << 20);
    assert_cmd_error(q, "{\"execute\":\"block_resize\",\"arguments\":"
                     "{\"device\":\"x\",\"size\":512}}", nf,
                     "Cannot find device='x' nor node-name=''");
    assert_cmd_error(q, "{\"execute\":\"block_resize\",\"arguments\":"
                     "{\"device\":\"n1\",\"size\":512}}", nf,
                     "Cannot find device='n1' nor node-name=''");
    assert_cmd_error(q, "{\"execute\":\"block_resize\",\"arguments\":"
                     "{\"size\":512}}", nf,
                     "Cannot find device='' nor node-name=''");
    assert_cmd_error(q, "{\"execute\":\"block_resize\",\"arguments\":"
                     "{\"device\":\"u0\",\"size\":512}}", nf,
                     "Image is read-only");
    assert_cmd_error(q, "{\"execute\":\"block_resize\",\"arguments\":"
                     "{\"device\":\"d0\",\"size\":-1}}", nf,
                     "Parameter 'size' expects a >0 size");
    assert_cmd_error(q, "{\"execute\":\"block_resize\",\"arguments\":"
                     "{\"device\":\"d0\"}}", nf,
                     "Parameter 'size' is missing");
    assert_cmd_error(q, "{\"execute\":\"block_resize\",\"arguments\":"
                     "{\"device\":\"d0\",\"size\":\"1\"}}", nf,
                     "Invalid parameter type for 'size', expected: integer");
    g_assert_cmpint(path_size(a), ==, 3 << 20);
}

static void check_hmp_block(Qmp *q, const char *a, const char *b,
                            const char *u)
{
    g_autoptr(JsonObject) rsp = qmp_cmd(q, "{\"execute\":\"query-block\"}");
    JsonObject *d0 = json_object_get_object_member(
        json_array_get_object_element(ret_array(rsp), 0), "inserted");
    JsonObject *u0 = json_object_get_object_member(
        json_array_get_object_element(ret_array(rsp), 1), "inserted");
    g_autofree char *want = g_strdup_printf(
        "d0 (%s): %s (raw)\r\n"
        "    Attached to:      /machine/peripheral/vb0/virtio-backend\r\n"
        "    Cache mode:       writeback\r\n\r\n"
        "u0 (%s): %s (raw, read-only)\r\n"
        "    Removable device: not locked, tray closed\r\n"
        "    Cache mode:       writeback, direct\r\n\r\n"
        "n1: %s (raw)\r\n"
        "    Attached to:      "
        "/machine/peripheral-anon/device[0]/virtio-backend\r\n"
        "    Cache mode:       writeback\r\n",
        json_object_get_string_member(d0, "node-name"), a,
        json_object_get_string_member(u0, "node-name"), u, b);

    assert_hmp(q, "info block", want);
}

static void test_block(void)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("qmp-blk-XXXXXX", &err);
    g_autofree char *a = make_image(dir, "a.img", 1 << 20);
    g_autofree char *b = make_image(dir, "b.img", 2 << 20);
    g_autofree char *u = make_image(dir, "u.img", 1 << 20);
    Vmm *v = vmm_start(QTEST_ARGS " -object iothread,id=io0 "
        "-drive file=%s,format=raw,if=none,id=d0 "
        "-device virtio-blk-pci,drive=d0,id=vb0,iothread=io0 "
        "-drive file=%s,format=raw,if=none,id=u0,readonly=on,cache=none "
        "-blockdev driver=file,filename=%s,node-name=f1 "
        "-blockdev driver=raw,file=f1,node-name=n1 "
        "-device virtio-blk-pci,drive=n1", a, u, b);
    Qmp *q = qmp_open(v->sock);

    g_assert_no_error(err);
    check_query_block(q, a, b, u, 1 << 20);
    check_named_nodes(q, b);
    check_iothreads(q, v);
    check_hmp_block(q, a, b, u);
    check_block_resize(q, a, b);
    check_query_block(q, a, b, u, 3 << 20);
    qmp_close(q);
    vmm_free(v);
    g_assert_cmpint(unlink(a) | unlink(b) | unlink(u) | rmdir(dir), ==, 0);
}

/* ---- the input stream ---- */

static void assert_next_error(Qmp *q, const char *desc)
{
    g_autoptr(JsonObject) rsp = qmp_reply(q);

    assert_error(rsp, "GenericError", desc);
    g_assert_false(json_object_has_member(rsp, "id"));
}

static void assert_next_return(Qmp *q)
{
    g_autoptr(JsonObject) rsp = qmp_reply(q);

    g_assert_true(json_object_has_member(rsp, "return"));
}

static void test_stream(void)
{
    Vmm *v = vmm_start(QTEST_ARGS);
    Qmp *q = qmp_open(v->sock);
    const char *req = " {\"execute\" :\t\"query-name\"}\r\n";
    g_autoptr(JsonObject) echo = NULL;

    /* Several requests in one write, then one byte per write. */
    qmp_send(q, "{\"execute\":\"query-name\"}{\"execute\":\"query-kvm\"}"
             "{\"execute\":\"query-target\"}");
    for (int i = 0; i < 3; i++) {
        assert_next_return(q);
    }
    for (const char *p = req; *p; p++) {
        qmp_send_raw(q, p, 1);
        g_usleep(1000);
    }
    assert_next_return(q);
    /* UTF-8 and escapes in, ASCII with \u escapes out. */
    echo = qmp_cmd(q, "{\"execute\":\"query-name\","
                   "\"id\":\"\xc3\xa9\\u00e9\\ud83d\\ude00\\n'\"}");
    g_assert_cmpstr(json_object_get_string_member(echo, "id"), ==,
                    "\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80\n'");
    /* QEMU's single-quoted strings. */
    g_clear_pointer(&echo, json_object_unref);
    echo = qmp_cmd(q, "{'execute':'query-name','id':'it\\'s'}");
    g_assert_cmpstr(json_object_get_string_member(echo, "id"), ==, "it's");
    qmp_close(q);
    vmm_free(v);
}

static void test_malformed(void)
{
    Vmm *v = vmm_start(QTEST_ARGS);
    Qmp *q = qmp_open(v->sock);

    qmp_send(q, "{bad}");
    assert_next_error(q, "JSON parse error, invalid keyword 'bad'");
    qmp_send(q, "{\"a\":@}");
    assert_next_error(q, "JSON parse error, stray '@'");
    assert_next_error(q, "JSON parse error, expecting value");
    qmp_send(q, "{\"execute\":\"query-status\", \"id\": 1, \"id\": 2}");
    assert_next_error(q, "JSON parse error, duplicate key");
    qmp_send(q, "{\"execute\":\"query-name\"}}");
    assert_next_return(q);
    assert_next_error(q, "JSON parse error, expecting value");
    qmp_send(q, "{\"execute\" \"x\"}");
    assert_next_error(q, "JSON parse error, missing : in object pair");
    qmp_send(q, "{\"a\":1 \"b\":2}");
    assert_next_error(q, "JSON parse error, expected separator in dict");
    qmp_send(q, "{1:2}");
    assert_next_error(q, "JSON parse error, key is not a string in object");
    qmp_send(q, "{\"a\":\"\\q\"}");
    assert_next_error(q, "JSON parse error, invalid escape sequence in "
                      "string");
    qmp_send(q, "{\"a\":\"\\u12x4\"}");
    assert_next_error(q, "JSON parse error, invalid hex escape sequence in "
                      "string");
    qmp_send(q, "{\"a\":\"\xff\"}");
    assert_next_error(q, "JSON parse error, stray '\"\xef\xbf\xbd'");
    assert_next_error(q, "JSON parse error, expecting value");
    /* A control character resynchronises a confused parser. */
    qmp_send(q, "{\"execute\":\"query-name\"");
    g_usleep(10000);
    qmp_send(q, "\x01{\"execute\":\"query-name\"}");
    assert_next_error(q, "JSON parse error, stray '\001'");
    /* The error dropped the half request; the next one runs. */
    assert_next_return(q);
    assert_status(q, "running", true);
    qmp_close(q);
    vmm_free(v);
}

static void send_repeated(Qmp *q, const char *s, size_t count)
{
    size_t len = strlen(s);
    g_autoptr(GString) buf = g_string_sized_new(len * 65536);

    while (count) {
        size_t n = MIN(count, 65536);
        g_string_truncate(buf, 0);
        for (size_t i = 0; i < n; i++) {
            g_string_append_len(buf, s, len);
        }
        qmp_send_raw(q, buf->str, buf->len);
        count -= n;
    }
}

/* QEMU's limits: nesting, token count, token size; then it goes on. */
static void test_limits(void)
{
    Vmm *v = vmm_start(QTEST_ARGS);
    Qmp *q = qmp_open(v->sock);

    send_repeated(q, "[", 1024);
    send_repeated(q, "]", 1024);
    assert_next_error(q, "QMP input must be a JSON object");
    send_repeated(q, "[", 1025);
    assert_next_error(q, "JSON nesting depth limit exceeded");
    qmp_send(q, "\n");          /* the rest of the brackets: a new value */
    send_repeated(q, "]", 1025);
    for (int i = 0; i < 1025; i++) {
        assert_next_error(q, "JSON parse error, expecting value");
    }
    qmp_send(q, "[");
    /* 2^21 tokens fit; the last comma is one too many. */
    send_repeated(q, "1,", 1u << 20);
    assert_next_error(q, "JSON token count limit exceeded");
    qmp_send(q, "\n]");
    assert_next_error(q, "JSON parse error, expecting value");
    qmp_send(q, "{\"execute\":\"query-name\",\"id\":\"");
    send_repeated(q, "x", 64u << 20);
    assert_next_error(q, "JSON token size limit exceeded");
    qmp_send(q, "\n{\"execute\":\"query-name\"}");
    assert_next_return(q);
    assert_status(q, "running", true);
    qmp_close(q);
    vmm_free(v);
}

/* ---- run states and events ---- */

static void assert_event(Qmp *q, const char *name, int guest,
                         const char *reason)
{
    g_autoptr(JsonObject) ev = qmp_event(q, name, 10000);
    JsonObject *ts;

    if (!ev) {
        g_error("no %s event", name);
    }
    ts = json_object_get_object_member(ev, "timestamp");
    g_assert_cmpint(json_object_get_int_member(ts, "seconds"), >,
                    1500000000);
    g_assert_cmpint(json_object_get_int_member(ts, "microseconds"), <,
                    1000000);
    if (reason) {
        JsonObject *d = json_object_get_object_member(ev, "data");
        g_assert_cmpint(json_object_get_boolean_member(d, "guest"), ==,
                        guest);
        g_assert_cmpstr(json_object_get_string_member(d, "reason"), ==,
                        reason);
        g_assert_cmpuint(json_object_get_size(ev), ==, 3);
    } else {
        g_assert_cmpuint(json_object_get_size(ev), ==, 2);
    }
}

static void assert_return_empty(Qmp *q, const char *req)
{
    g_autoptr(JsonObject) rsp = qmp_cmd(q, req);

    g_assert_cmpuint(json_object_get_size(ret_object(rsp)), ==, 0);
}

/* -S, cont, stop, reset while paused: QEMU's states and events. */
static void test_runstates(void)
{
    Vmm *v = vmm_start(QTEST_ARGS " -S");
    Qmp *q = qmp_open(v->sock);

    assert_status(q, "prelaunch", false);
    assert_return_empty(q, "{\"execute\":\"stop\"}");  /* no event */
    assert_status(q, "prelaunch", false);
    assert_return_empty(q, "{\"execute\":\"cont\"}");
    assert_event(q, "RESUME", 0, NULL);
    assert_status(q, "running", true);
    assert_return_empty(q, "{\"execute\":\"cont\"}");
    assert_return_empty(q, "{\"execute\":\"stop\"}");
    assert_event(q, "STOP", 0, NULL);
    assert_status(q, "paused", false);
    assert_return_empty(q, "{\"execute\":\"system_reset\"}");
    assert_event(q, "RESET", 0, "host-qmp-system-reset");
    assert_status(q, "prelaunch", false);
    assert_return_empty(q, "{\"execute\":\"cont\"}");
    assert_event(q, "RESUME", 0, NULL);
    assert_return_empty(q, "{\"execute\":\"system_powerdown\"}");
    assert_event(q, "POWERDOWN", 0, NULL);
    qmp_close(q);
    vmm_free(v);
}

static void test_quit(void)
{
    Vmm *v = vmm_start(QTEST_ARGS " -no-shutdown");
    Qmp *q = qmp_open(v->sock);
    g_autoptr(JsonObject) rsp = NULL;

    qmp_send(q, "{\"execute\":\"quit\",\"id\":\"q\"}");
    assert_event(q, "SHUTDOWN", 0, "host-qmp-quit");
    rsp = qmp_reply(q);
    g_assert_cmpstr(json_object_get_string_member(rsp, "id"), ==, "q");
    g_assert_null(qmp_recv_timeout(q, 5000));       /* EOF */
    g_assert_cmpint(exit_code(v), ==, 0);
    qmp_close(q);
    vmm_free(v);
}

/* -no-reboot: QMP's system_reset shuts down, as in QEMU 7.2. */
static void test_reset_no_reboot(void)
{
    Vmm *v = vmm_start(QTEST_ARGS " -no-reboot");
    Qmp *q = qmp_open(v->sock);

    assert_return_empty(q, "{\"execute\":\"system_reset\"}");
    assert_event(q, "SHUTDOWN", 0, "host-qmp-system-reset");
    g_assert_cmpint(exit_code(v), ==, 0);
    qmp_close(q);
    vmm_free(v);
}

/* Three monitors (unix, tcp, -chardev/-mon pretty=on) get every event. */
static void test_multi_monitor(void)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    Vmm *v;
    Qmp *q[3];
    g_autofree char *m3 = NULL;
    char raw[64];

    /* A free port: bind, read it back, close. */
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(lfd, (struct sockaddr *)&sa, &len), ==, 0);
    close(lfd);
    v = vmm_start(QTEST_ARGS " -S -qmp tcp:127.0.0.1:%u,server,nowait "
                  "-chardev socket,id=m3,path=@DIR@/m3.sock,server=on,"
                  "wait=off -mon chardev=m3,mode=control,pretty=on",
                  ntohs(sa.sin_port));
    m3 = g_build_filename(v->dir, "m3.sock", NULL);
    q[0] = qmp_open(v->sock);
    for (int t = 0;; t += 10) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            q[1] = qmp_open_fd(fd, true);
            break;
        }
        close(fd);
        g_assert_cmpint(t, <, 10000);
        g_usleep(10000);
    }
    q[2] = qmp_open(m3);
    assert_return_empty(q[1], "{\"execute\":\"cont\"}");
    assert_return_empty(q[2], "{\"execute\":\"stop\"}");
    for (int i = 0; i < 3; i++) {
        assert_event(q[i], "RESUME", 0, NULL);
        assert_event(q[i], "STOP", 0, NULL);
    }
    /* pretty=on: QEMU's layout, every line ending in CRLF. */
    qmp_send(q[2], "{\"execute\":\"query-kvm\"}");
    g_assert_cmpint(recv(q[2]->fd, raw, 60, MSG_WAITALL), ==, 60);
    g_assert_true(g_str_has_prefix(raw, "{\r\n    \"return\": {\r\n        "
                                   "\"enabled\": false,\r\n"));
    for (int i = 0; i < 3; i++) {
        qmp_close(q[i]);
    }
    vmm_free(v);
}

/* -qmp stdio */
static void test_stdio(void)
{
    g_autofree char *cmd = g_strdup_printf(
        "printf '%%s' '{\"execute\":\"qmp_capabilities\"}"
        "{\"execute\":\"query-status\"}{\"execute\":\"quit\"}' | "
        "%s -accel qtest -display none -nodefaults -qmp stdio", qvmm_bin);
    g_autofree char *out = NULL;
    g_autoptr(GError) err = NULL;
    int status;

    gchar *argv[] = { (char *)"/bin/sh", (char *)"-c", cmd, NULL };

    g_assert_true(g_spawn_sync(NULL, argv, NULL, 0, NULL, NULL, &out, NULL,
                               &status, &err));
    g_assert_true(g_str_has_prefix(out, "{\"QMP\": {\"version\""));
    g_assert_nonnull(strstr(out, "\r\n{\"return\": {}}\r\n{\"return\": "
                            "{\"status\": \"running\""));
    g_assert_nonnull(strstr(out, "\"reason\": \"host-qmp-quit\"}}\r\n"
                            "{\"return\": {}}\r\n"));
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* wait=on: nothing runs until a client connects, then QMP works. */
static void test_wait_on(void)
{
    Vmm *v = vmm_start("-accel qtest -qmp unix:@DIR@/qmp.sock,server=on");
    Qmp *q;

    g_assert_false(vmm_wait(v, 300));
    q = qmp_open(v->sock);
    assert_status(q, "running", true);
    qmp_close(q);
    vmm_free(v);
}

/* fd=N: a listening socket inherited from the parent, as libvirt does. */
static void child_keep_fd(gpointer data)
{
    int fd = GPOINTER_TO_INT(data);

    fcntl(fd, F_SETFD, 0);
    child_die_with_parent(NULL);
}

static void test_inherited_fd(void)
{
    g_autofree char *dir = g_dir_make_tmp("qmp-test-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "fd.sock", NULL);
    g_autofree char *fdarg = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    GPid pid;
    Qmp *q;
    int st;

    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(lfd, 8), ==, 0);
    fdarg = g_strdup_printf("socket,id=c0,fd=%d,server=on,wait=off", lfd);
    {
        gchar *argv[] = { (char *)qvmm_bin, (char *)"-accel", (char *)"qtest",
                          (char *)"-display", (char *)"none",
                          (char *)"-nodefaults", (char *)"-chardev", fdarg,
                          (char *)"-mon", (char *)"chardev=c0,mode=control",
                          NULL };
        g_assert_true(g_spawn_async(NULL, argv, NULL,
                                    G_SPAWN_DO_NOT_REAP_CHILD |
                                    G_SPAWN_LEAVE_DESCRIPTORS_OPEN,
                                    child_keep_fd, GINT_TO_POINTER(lfd),
                                    &pid, NULL));
    }
    close(lfd);
    q = qmp_open(path);
    assert_return_empty(q, "{\"execute\":\"quit\"}");
    qmp_close(q);
    g_assert_cmpint(waitpid(pid, &st, 0), ==, pid);
    g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    unlink(path);
    rmdir(dir);
}

/* 100 clients connect and drop, some in the middle of a request. */
static void test_many_clients(void)
{
    Vmm *v = vmm_start(QTEST_ARGS);
    Qmp *q;

    for (int i = 0; i < 100; i++) {
        int fd = connect_unix(v->sock, 10000);

        switch (i % 4) {
        case 1:
            send(fd, "{\"execute\":", 11, MSG_NOSIGNAL);
            break;
        case 2:
            send(fd, "{\"execute\":\"qmp_capabilities\"}{\"execute\":"
                 "\"query-pci\"}", 52, MSG_NOSIGNAL);
            break;
        case 3:
            send(fd, "[[[[[[[[", 8, MSG_NOSIGNAL);
            break;
        }
        close(fd);
    }
    q = qmp_open(v->sock);
    assert_status(q, "running", true);
    qmp_close(q);
    vmm_free(v);
}

/*
 * A client that sends and never reads: its replies pile up and are
 * dropped; the VM and another monitor go on as before.
 */
static void test_stalled_client(void)
{
    Vmm *v = vmm_start(QTEST_ARGS " -chardev socket,id=m2,path=@DIR@/m2.sock,"
                       "server=on,wait=off -mon chardev=m2,mode=control");
    g_autofree char *m2 = g_build_filename(v->dir, "m2.sock", NULL);
    Qmp *stalled = qmp_open(v->sock);
    Qmp *q = qmp_open(m2);
    gint64 start;

    for (int i = 0; i < 200; i++) {
        send_repeated(stalled, "{\"execute\":\"query-pci\"}", 100);
    }
    start = g_get_monotonic_time();
    for (int i = 0; i < 20; i++) {
        assert_status(q, "running", true);
    }
    g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
    qmp_close(stalled);
    assert_status(q, "running", true);
    qmp_close(q);
    q = qmp_open(v->sock);          /* the first socket serves again */
    assert_status(q, "running", true);
    qmp_close(q);
    vmm_free(v);
}

static void assert_cli_error(const char *args, const char *want)
{
    g_autofree char *cmd = g_strdup_printf("%s -accel qtest -display none "
                                           "-nodefaults %s", qvmm_bin, args);
    g_autofree char *err = NULL;
    g_auto(GStrv) argv = NULL;
    int status;

    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                               NULL, NULL, NULL, &err, &status, NULL));
    g_assert_cmpstr(err, ==, want);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

static void test_cli_errors(void)
{
    assert_cli_error("-uuid xyz", "qvmm: -uuid xyz: failed to parse UUID "
                     "string: wrong format\n");
    assert_cli_error("-mon foo,mode=control",
                     "qvmm: -mon foo,mode=control: chardev \"foo\" not "
                     "found\n");
    assert_cli_error("-mon mode=control", "qvmm: -mon mode=control: "
                     "Parameter 'chardev' is missing\n");
    assert_cli_error("-chardev null,id=n -mon chardev=n,mode=bogus",
                     "qvmm: -mon chardev=n,mode=bogus: Parameter 'mode' "
                     "does not accept value 'bogus'\n");
    assert_cli_error("-chardev null,id=n -mon chardev=n,mode=control,x=1",
                     "qvmm: -mon chardev=n,mode=control,x=1: Invalid "
                     "parameter 'x'\n");
    assert_cli_error("-chardev null,id=n -mon chardev=n,mode=control,"
                     "pretty=maybe", "qvmm: -mon chardev=n,mode=control,"
                     "pretty=maybe: Parameter 'pretty' expects 'on' or "
                     "'off'\n");
    assert_cli_error("-chardev null,id=n -mon chardev=n,mode=control "
                     "-mon chardev=n,mode=control",
                     "qvmm: -mon chardev=n,mode=control: Device 'n' is in "
                     "use\n");
    assert_cli_error("-qmp chardev:nope",
                     "qvmm: -qmp chardev:nope: chardev \"nope\" not found\n");
    assert_cli_error("-qmp bogus:x", "qvmm: -qmp bogus:x: 'bogus:x' is not "
                     "a valid char driver\nqvmm: -qmp bogus:x: parse error: "
                     "bogus:x\n");
}

/* ---- with a guest under KVM ---- */

#define KVM_ARGS "-kernel %s -serial file:@DIR@/serial.txt " \
                 "-qmp unix:@DIR@/qmp.sock,server=on,wait=off"

static unsigned count_in_serial(Vmm *v, const char *what)
{
    g_autofree char *text = NULL;
    unsigned n = 0;

    if (!g_file_get_contents(v->serial, &text, NULL, NULL)) {
        return 0;
    }
    for (const char *p = text; (p = strstr(p, what)); p++) {
        n++;
    }
    return n;
}

static unsigned ticks(Vmm *v)
{
    return count_in_serial(v, "tick ");
}

/* Wait until the guest has printed more than @n ticks. */
static void wait_ticks(Vmm *v, unsigned n)
{
    for (int t = 0; ticks(v) <= n; t += 10) {
        if (t > 20000) {
            g_error("the guest makes no progress (%u ticks)", ticks(v));
        }
        g_usleep(10000);
    }
}

/* -S, then cont; stop and cont with the guest's counter watched. */
static void test_kvm_stop_cont(void)
{
    g_autofree char *guest = NULL;
    Vmm *v;
    Qmp *q;
    unsigned a, b;

    if (!have_kvm_guest("ticker.elf", &guest)) {
        return;
    }
    v = vmm_start("-S " KVM_ARGS, guest);
    q = qmp_open(v->sock);
    g_usleep(200000);
    g_assert_cmpuint(ticks(v), ==, 0);
    assert_status(q, "prelaunch", false);
    assert_return_empty(q, "{\"execute\":\"cont\"}");
    assert_event(q, "RESUME", 0, NULL);
    wait_ticks(v, 5);
    assert_return_empty(q, "{\"execute\":\"stop\"}");
    assert_event(q, "STOP", 0, NULL);
    a = ticks(v);
    g_usleep(500000);
    b = ticks(v);
    g_assert_cmpuint(a, ==, b);         /* paused: no progress at all */
    assert_return_empty(q, "{\"execute\":\"cont\"}");
    assert_event(q, "RESUME", 0, NULL);
    wait_ticks(v, b + 5);
    qmp_close(q);
    vmm_free(v);
}

static void test_kvm_powerdown(void)
{
    g_autofree char *guest = NULL;
    Vmm *v;
    Qmp *q;

    if (!have_kvm_guest("ticker.elf", &guest)) {
        return;
    }
    v = vmm_start(KVM_ARGS, guest);
    q = qmp_open(v->sock);
    wait_ticks(v, 2);
    assert_return_empty(q, "{\"execute\":\"system_powerdown\"}");
    assert_event(q, "POWERDOWN", 0, NULL);
    assert_event(q, "SHUTDOWN", 1, "guest-shutdown");
    g_assert_cmpint(exit_code(v), ==, 0);
    g_assert_cmpuint(count_in_serial(v, "power button"), ==, 1);
    qmp_close(q);
    vmm_free(v);
}

static void test_kvm_reset(void)
{
    g_autofree char *guest = NULL;
    Vmm *v;
    Qmp *q;

    if (!have_kvm_guest("ticker.elf", &guest)) {
        return;
    }
    v = vmm_start(KVM_ARGS, guest);
    q = qmp_open(v->sock);
    wait_ticks(v, 3);
    assert_return_empty(q, "{\"execute\":\"system_reset\"}");
    assert_event(q, "RESET", 0, "host-qmp-system-reset");
    /* The guest starts over: its counter begins at 0 again. */
    for (int t = 0; count_in_serial(v, "tick 0\r\n") < 2; t += 10) {
        g_assert_cmpint(t, <, 20000);
        g_usleep(10000);
    }
    assert_status(q, "running", true);
    qmp_close(q);
    vmm_free(v);
}

/* -no-shutdown: the guest's power-off stops the VM until a reset. */
static void test_kvm_no_shutdown(void)
{
    g_autofree char *guest = NULL;
    Vmm *v;
    Qmp *q;
    unsigned n;

    if (!have_kvm_guest("ticker.elf", &guest)) {
        return;
    }
    v = vmm_start("-no-shutdown " KVM_ARGS, guest);
    q = qmp_open(v->sock);
    wait_ticks(v, 2);
    assert_return_empty(q, "{\"execute\":\"system_powerdown\"}");
    assert_event(q, "SHUTDOWN", 1, "guest-shutdown");
    assert_event(q, "STOP", 0, NULL);
    assert_status(q, "shutdown", false);
    assert_cmd_error(q, "{\"execute\":\"cont\"}", "GenericError",
                     "Resetting the Virtual Machine is required");
    n = ticks(v);
    assert_return_empty(q, "{\"execute\":\"system_reset\"}");
    assert_event(q, "RESET", 0, "host-qmp-system-reset");
    assert_status(q, "prelaunch", false);
    assert_return_empty(q, "{\"execute\":\"cont\"}");
    assert_event(q, "RESUME", 0, NULL);
    wait_ticks(v, n + 3);
    qmp_close(q);
    vmm_free(v);
}

/* query-cpus-fast's thread ids are the vCPU threads of the process. */
static void test_kvm_cpus(void)
{
    g_autofree char *guest = NULL, *info = NULL;
    g_autoptr(JsonObject) rsp = NULL;
    JsonArray *a;
    Vmm *v;
    Qmp *q;

    if (!have_kvm_guest("ticker.elf", &guest)) {
        return;
    }
    v = vmm_start("-S -smp 2 " KVM_ARGS, guest);
    q = qmp_open(v->sock);
    rsp = qmp_cmd(q, "{\"execute\":\"query-cpus-fast\"}");
    a = ret_array(rsp);
    g_assert_cmpuint(json_array_get_length(a), ==, 2);
    for (guint i = 0; i < 2; i++) {
        static const char *const m[] = {
            "cpu-index", "qom-path", "thread-id", "props", "target", NULL
        };
        JsonObject *c = json_array_get_object_element(a, i);
        g_autofree char *comm = NULL, *path = g_strdup_printf(
            "/proc/%d/task/%" G_GINT64_FORMAT "/comm", v->pid,
            json_object_get_int_member(c, "thread-id"));
        g_autofree char *want = g_strdup_printf("CPU %u/KVM\n", i);

        assert_members(c, m);
        g_assert_cmpint(json_object_get_int_member(c, "cpu-index"), ==, i);
        g_assert_true(g_file_get_contents(path, &comm, NULL, NULL));
        g_assert_cmpstr(comm, ==, want);
    }
    info = hmp(q, "info cpus");
    g_assert_true(g_str_has_prefix(info, "* CPU #0: thread_id="));
    g_assert_nonnull(strstr(info, "\r\n  CPU #1: thread_id="));
    qmp_close(q);
    vmm_free(v);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (argc != 3) {
        fprintf(stderr, "usage: %s QVMM GUEST_DIR\n", argv[0]);
        return 1;
    }
    qvmm_bin = argv[1];
    guest_dir = argv[2];
    signal(SIGPIPE, SIG_IGN);
    g_test_add_func("/qmp/greeting", test_greeting);
    g_test_add_func("/qmp/negotiation", test_negotiation);
    g_test_add_func("/qmp/no-events-before-negotiation",
                    test_no_events_before_negotiation);
    g_test_add_func("/qmp/id-echo", test_id_echo);
    g_test_add_func("/qmp/errors", test_errors);
    g_test_add_func("/qmp/commands", test_commands);
    g_test_add_func("/qmp/hmp", test_hmp);
    g_test_add_func("/qmp/block", test_block);
    g_test_add_func("/qmp/stream", test_stream);
    g_test_add_func("/qmp/malformed", test_malformed);
    g_test_add_func("/qmp/limits", test_limits);
    g_test_add_func("/qmp/runstates", test_runstates);
    g_test_add_func("/qmp/quit", test_quit);
    g_test_add_func("/qmp/reset-no-reboot", test_reset_no_reboot);
    g_test_add_func("/qmp/multi-monitor", test_multi_monitor);
    g_test_add_func("/qmp/stdio", test_stdio);
    g_test_add_func("/qmp/wait-on", test_wait_on);
    g_test_add_func("/qmp/inherited-fd", test_inherited_fd);
    g_test_add_func("/qmp/many-clients", test_many_clients);
    g_test_add_func("/qmp/stalled-client", test_stalled_client);
    g_test_add_func("/qmp/cli-errors", test_cli_errors);
    g_test_add_func("/qmp/kvm/stop-cont", test_kvm_stop_cont);
    g_test_add_func("/qmp/kvm/powerdown", test_kvm_powerdown);
    g_test_add_func("/qmp/kvm/reset", test_kvm_reset);
    g_test_add_func("/qmp/kvm/no-shutdown", test_kvm_no_shutdown);
    g_test_add_func("/qmp/kvm/cpus", test_kvm_cpus);
    return g_test_run();
}
