/*
 * The network client core (net/net.c) and the tap backend (net/tap.c):
 * peering, flow control with a held frame, link state, MAC addresses,
 * -netdev option and JSON conversion, and a real tap in a network
 * namespace of the test's own (frames in both directions, the vnet
 * header stripped or passed, a refused frame held until peer_ready).
 */
#include "qemu/osdep.h"
#include <check.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "net/net.h"
#include "net/tap-int.h"

/* ---- a fake NIC ---- */

typedef struct FakeNic {
    NetClientState nc;
    bool refuse;                   /* receive_iov returns 0 */
    bool full;                     /* can_receive returns false */
    bool only_test_frames;         /* ignore the host's own (IPv6 RS) */
    size_t hdr_len;                /* vnet header before the frame */
    unsigned received, peer_ready_calls, link_changes;
    uint8_t last[2048];
    size_t last_len;
} FakeNic;

static ssize_t fake_receive(NetClientState *nc, const struct iovec *iov,
                            int iovcnt)
{
    FakeNic *f = (FakeNic *)nc;

    if (f->only_test_frames) {
        uint8_t type[2];

        if (iov_to_buf(iov, iovcnt, f->hdr_len + 12, type, 2) != 2 ||
            type[0] != 0x88 || type[1] != 0xb5) {
            return iov_size(iov, iovcnt);
        }
    }
    if (f->refuse) {
        return 0;
    }
    f->received++;
    f->last_len = iov_to_buf(iov, iovcnt, 0, f->last, sizeof(f->last));
    return iov_size(iov, iovcnt);
}

static bool fake_can_receive(NetClientState *nc)
{
    return !((FakeNic *)nc)->full;
}

static void fake_peer_ready(NetClientState *nc)
{
    ((FakeNic *)nc)->peer_ready_calls++;
}

static void fake_link(NetClientState *nc)
{
    ((FakeNic *)nc)->link_changes++;
}

static const NetClientInfo fake_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(FakeNic),
    .receive_iov = fake_receive,
    .can_receive = fake_can_receive,
    .peer_ready = fake_peer_ready,
    .link_status_changed = fake_link,
};

static const NetClientInfo fake_backend_info = {
    .type = NET_CLIENT_DRIVER_USER,
    .size = sizeof(FakeNic),
    .receive_iov = fake_receive,
    .can_receive = fake_can_receive,
    .peer_ready = fake_peer_ready,
    .link_status_changed = fake_link,
};

static FakeNic *fake_new(const NetClientInfo *info, NetClientState *peer,
                         const char *name)
{
    return (FakeNic *)qemu_new_net_client(info, peer, "fake", name);
}

static void collect(NetClientState *nc, void *opaque)
{
    GList **l = opaque;

    *l = g_list_prepend(*l, nc);
}

static void del_all(void)
{
    GList *all = NULL;

    net_cleanup();
    qemu_foreach_net_client(collect, &all);
    for (GList *l = all; l; l = l->next) {
        qemu_del_net_client(l->data);
    }
    g_list_free(all);
}

/* ---- the core ---- */

START_TEST(test_peers)
{
    FakeNic *be = fake_new(&fake_backend_info, NULL, "n0");
    FakeNic *nic;
    NetClientState *peers[MAX_QUEUE_NUM];
    unsigned n = 0;
    GError *err = NULL;

    be->nc.is_netdev = true;
    ck_assert(qemu_net_claim_netdev("n0", "virtio-net-pci", peers, &n,
                                    &err));
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_eq(peers[0], &be->nc);
    ck_assert(!qemu_net_claim_netdev("nx", "virtio-net-pci", peers, &n,
                                     &err));
    ck_assert_str_eq(err->message,
                     "Property 'virtio-net-pci.netdev' can't find value 'nx'");
    g_clear_error(&err);

    nic = fake_new(&fake_nic_info, &be->nc, "nic0");
    ck_assert_ptr_eq(be->nc.peer, &nic->nc);
    ck_assert(!qemu_net_claim_netdev("n0", "virtio-net-pci", peers, &n,
                                     &err));
    ck_assert_str_eq(err->message, "Property 'virtio-net-pci.netdev' "
                     "can't take value 'n0', it's in use");
    g_clear_error(&err);

    qemu_del_net_client(&nic->nc);
    ck_assert_ptr_null(be->nc.peer);
    del_all();
}
END_TEST

START_TEST(test_flow_control)
{
    FakeNic *be = fake_new(&fake_backend_info, NULL, "n0");
    FakeNic *nic = fake_new(&fake_nic_info, &be->nc, "nic0");
    uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

    ck_assert(qemu_can_send_packet(&be->nc));
    nic->full = true;
    ck_assert(!qemu_can_send_packet(&be->nc));
    nic->full = false;

    nic->refuse = true;
    ck_assert_int_eq(qemu_send_packet(&be->nc, frame, sizeof(frame)), 0);
    ck_assert_uint_eq(nic->received, 0);
    /* The receiver can take frames again: the sender hears of it. */
    nic->refuse = false;
    qemu_flush_queued_packets(&nic->nc);
    ck_assert_uint_eq(be->peer_ready_calls, 1);
    ck_assert_int_eq(qemu_send_packet(&be->nc, frame, sizeof(frame)),
                     sizeof(frame));
    ck_assert_uint_eq(nic->received, 1);
    ck_assert_uint_eq(nic->last_len, sizeof(frame));
    del_all();
}
END_TEST

START_TEST(test_link)
{
    FakeNic *be = fake_new(&fake_backend_info, NULL, "n0");
    FakeNic *nic = fake_new(&fake_nic_info, &be->nc, "nic0");
    uint8_t frame[60] = { 0 };
    GError *err = NULL;

    be->nc.is_netdev = true;
    ck_assert(!qemu_set_link("nope", false, &err));
    ck_assert_str_eq(err->message, "Device 'nope' not found");
    ck_assert(g_error_matches(err, QVMM_ERROR, QVMM_ERROR_DEVICE_NOT_FOUND));
    g_clear_error(&err);

    /*
     * QEMU's rules: a NIC's link leaves the backend's state alone (the
     * backend is only told), and nothing flows either way.
     */
    ck_assert(qemu_set_link("nic0", false, &err));
    ck_assert(nic->nc.link_down && !be->nc.link_down);
    ck_assert_uint_eq(nic->link_changes, 1);
    ck_assert_uint_eq(be->link_changes, 1);
    /* A frame on a pulled cable is lost, not refused. */
    ck_assert_int_eq(qemu_send_packet(&be->nc, frame, sizeof(frame)),
                     sizeof(frame));
    ck_assert_uint_eq(nic->received, 0);
    ck_assert(qemu_can_send_packet(&be->nc));
    ck_assert_int_eq(qemu_send_packet(&nic->nc, frame, sizeof(frame)),
                     sizeof(frame));
    ck_assert_uint_eq(be->received, 0);

    ck_assert(qemu_set_link("nic0", true, &err));
    ck_assert(!nic->nc.link_down && !be->nc.link_down);
    ck_assert_int_eq(qemu_send_packet(&be->nc, frame, sizeof(frame)),
                     sizeof(frame));
    ck_assert_uint_eq(nic->received, 1);

    /* A backend's link takes its NIC along, so the guest sees it. */
    ck_assert(qemu_set_link("n0", false, &err));
    ck_assert(be->nc.link_down && nic->nc.link_down);
    ck_assert_uint_eq(nic->link_changes, 3);
    ck_assert(qemu_set_link("n0", true, &err));
    ck_assert(!be->nc.link_down && !nic->nc.link_down);
    del_all();
}
END_TEST

START_TEST(test_macaddr)
{
    uint8_t mac[6], given[6];

    ck_assert(net_parse_macaddr(mac, "52:54:00:ab:CD:0f"));
    ck_assert_uint_eq(mac[4], 0xcd);
    ck_assert_uint_eq(mac[5], 0x0f);
    ck_assert(net_parse_macaddr(mac, "52-54-00-00-00-01"));
    ck_assert(!net_parse_macaddr(mac, "52:54:00:00:00"));
    ck_assert(!net_parse_macaddr(mac, "52:54:00:00:00:01:02"));
    ck_assert(!net_parse_macaddr(mac, "52:54:00:00:00:100"));
    ck_assert(!net_parse_macaddr(mac, "g2:54:00:00:00:01"));
    ck_assert(!net_parse_macaddr(mac, ""));

    /* The series skips an address a NIC took with mac=. */
    qemu_macaddr_default_if_unset(mac, false);
    ck_assert(!memcmp(mac, "\x52\x54\x00\x12\x34\x56", 6));
    ck_assert(net_parse_macaddr(given, "52:54:00:12:34:57"));
    qemu_macaddr_default_if_unset(given, true);
    qemu_macaddr_default_if_unset(mac, false);
    ck_assert(!memcmp(mac, "\x52\x54\x00\x12\x34\x58", 6));
}
END_TEST

/* ---- -netdev options ---- */

static char *opts_text(const QOpts *o)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < o->items->len; i++) {
        QOpt *opt = g_ptr_array_index(o->items, i);

        g_string_append_printf(s, "%s%s=%s", i ? "," : "", opt->key,
                               opt->value);
    }
    return g_string_free(s, FALSE);
}

START_TEST(test_netdev_parse)
{
    GError *err = NULL;
    bool json;
    QOpts *o;
    char *t;

    o = netdev_parse_opts("user,id=u0,hostfwd=tcp::1-:2,hostfwd=udp::3-:4",
                          &json, &err);
    ck_assert(o && !json);
    t = opts_text(o);
    ck_assert_str_eq(t, "type=user,id=u0,hostfwd=tcp::1-:2,"
                     "hostfwd=udp::3-:4");
    g_free(t);
    qopts_free(o);

    /* libvirt's JSON: fds as strings, booleans, QAPI String lists. */
    o = netdev_parse_opts("{\"type\":\"tap\",\"id\":\"hostnet0\",\"fd\":\"23\","
                          "\"vhost\":true,\"vhostfd\":\"25\",\"sndbuf\":0,"
                          "\"hostfwd\":[{\"str\":\"tcp::1-:2\"},"
                          "{\"str\":\"tcp::3-:4\"}]}", &json, &err);
    ck_assert(o && json);
    t = opts_text(o);
    ck_assert_str_eq(t, "type=tap,id=hostnet0,fd=23,vhost=on,vhostfd=25,"
                     "sndbuf=0,hostfwd=tcp::1-:2,hostfwd=tcp::3-:4");
    g_free(t);
    qopts_free(o);

    ck_assert_ptr_null(netdev_parse_opts("{\"type\":\"tap\",", &json, &err));
    ck_assert(g_str_has_prefix(err->message, "JSON parse error, "));
    g_clear_error(&err);
    ck_assert_ptr_null(netdev_parse_opts("{\"type\":\"tap\",\"id\":\"a\","
                                         "\"x\":{}}", &json, &err));
    ck_assert_str_eq(err->message,
                     "Invalid parameter type for 'x', expected: string");
    g_clear_error(&err);

    /* Members are type-checked with QEMU 7.2's texts. */
    static const char *const bad_json[][2] = {
        { "\"restrict\":\"on\"",
          "Invalid parameter type for 'restrict', expected: boolean" },
        { "\"vhost\":1",
          "Invalid parameter type for 'vhost', expected: boolean" },
        { "\"queues\":\"2\"", "Parameter 'queues' expects uint64" },
        { "\"ipv6-prefixlen\":\"64\"",
          "Invalid parameter type for 'ipv6-prefixlen', expected: integer" },
        { "\"ifname\":5",
          "Invalid parameter type for 'ifname', expected: string" },
        { "\"hostfwd\":\"x\"",
          "Invalid parameter type for 'hostfwd', expected: array" },
        { "\"hostfwd\":[\"tcp::1-:2\"]",
          "Invalid parameter type for 'hostfwd[0]', expected: object" },
        { "\"dnssearch\":[{\"x\":\"y\"}]",
          "Parameter 'dnssearch[0].str' is missing" },
        { "\"guestfwd\":[{\"str\":5}]",
          "Invalid parameter type for 'guestfwd[0].str', expected: string" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad_json); i++) {
        g_autofree char *arg = g_strdup_printf(
            "{\"type\":\"user\",\"id\":\"a\",%s}", bad_json[i][0]);

        ck_assert_ptr_null(netdev_parse_opts(arg, &json, &err));
        ck_assert_str_eq(err->message, bad_json[i][1]);
        g_clear_error(&err);
    }
}
END_TEST

static void check_add_error(const char *arg, const char *msg)
{
    GError *err = NULL;
    bool json;
    QOpts *o = netdev_parse_opts(arg, &json, &err);

    ck_assert_ptr_nonnull(o);
    ck_assert_msg(!netdev_add(o, json, &err), "%s was accepted", arg);
    ck_assert_str_eq(err->message, msg);
    g_error_free(err);
    qopts_free(o);
}

START_TEST(test_netdev_add_errors)
{
    FakeNic *be = fake_new(&fake_backend_info, NULL, "taken");
    QOpts *o = qopts_parse("help", "type", NULL);

    be->nc.is_netdev = true;
    check_add_error("tap", "Parameter 'id' is missing");
    check_add_error("foo", "Parameter 'id' is missing");
    check_add_error("id=x", "Parameter 'type' is missing");
    check_add_error("foo,id=x", "Parameter 'type' does not accept value "
                    "'foo'");
    check_add_error("socket,id=x", "netdev type 'socket' is not supported "
                    "by qvmm");
    check_add_error("tap,id=1x", "Parameter 'id' expects an identifier");
    check_add_error("tap,id=taken", "Duplicate ID 'taken' for netdev");
    check_add_error("{\"type\":\"tap\",\"id\":\"taken\"}",
                    "Duplicate ID 'taken'");
    check_add_error("tap,id=x,bogus=1", "Invalid parameter 'bogus'");
    check_add_error("tap,id=x,vnet_hdr=maybe",
                    "Parameter 'vnet_hdr' expects 'on' or 'off'");
    check_add_error("tap,id=x,queues=abc",
                    "Parameter 'queues' expects a uint64 value");
    check_add_error("tap,id=x,sndbuf=-1",
                    "Parameter 'sndbuf' expects a size value");
    check_add_error("tap,id=x,fd=3,ifname=a", "ifname=, script=, "
                    "downscript=, vnet_hdr=, helper=, queues=, fds=, and "
                    "vhostfds= are invalid with fd=");
    check_add_error("tap,id=x,fds=3:4,queues=2", "ifname=, script=, "
                    "downscript=, vnet_hdr=, helper=, queues=, and vhostfd= "
                    "are invalid with fds=");
    check_add_error("tap,id=x,fds=3:4,vhostfds=5", "The number of fds "
                    "passed does not match the number of vhostfds passed");
    check_add_error("tap,id=x,vhostfds=5", "vhostfds= is invalid if fds= "
                    "wasn't specified");
    check_add_error("tap,id=x,fd=x1", "Invalid file descriptor number "
                    "'x1'");
    check_add_error("tap,id=x,fd=1000000",
                    "x: Can't use file descriptor 1000000: Bad file "
                    "descriptor");
    ck_assert(netdev_help(o));
    qopts_free(o);
    del_all();
}
END_TEST

/* ---- a real tap in a namespace of our own ---- */

static char netns[64];             /* made by the parent, "" if none */
static char ifname[IFNAMSIZ];

/* Unchecked fixture: runs in check's parent, so the namespace goes
 * away even when a test's child process dies on a failed assertion. */
static void netns_create(void)
{
    g_autofree char *cmd = NULL;

    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
        printf("tap tests skipped: they need root and /dev/net/tun\n");
        return;
    }
    snprintf(netns, sizeof(netns), "qvmm-unit-%d", getpid());
    snprintf(ifname, sizeof(ifname), "qvu%d", getpid() % 100000);
    cmd = g_strdup_printf("ip netns add %s", netns);
    ck_assert_int_eq(system(cmd), 0);
}

static void netns_delete(void)
{
    g_autofree char *cmd = g_strdup_printf("ip netns del %s", netns);

    if (netns[0] && system(cmd) != 0) {
        fprintf(stderr, "could not remove netns %s\n", netns);
    }
}

/* In the test's own process: move into the namespace. */
static bool enter_netns(void)
{
    g_autofree char *path = g_strdup_printf("/var/run/netns/%s", netns);
    int fd;

    if (!netns[0]) {
        return false;
    }
    fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(setns(fd, CLONE_NEWNET), 0);
    close(fd);
    return true;
}

static void set_up(const char *name)
{
    struct ifreq ifr = { 0 };
    int s = socket(AF_INET, SOCK_DGRAM, 0);

    g_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
    ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
    close(s);
}

/* A packet socket on the tap: what it sends, the tap fd reads. */
static int packet_socket(const char *name)
{
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_protocol = htons(ETH_P_ALL),
        .sll_ifindex = if_nametoindex(name),
    };
    int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));

    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
    return s;
}

/* The next frame of ours on @ps, skipping what the host sends by itself
 * on a new interface (IPv6 router solicitations, MLD reports). */
static ssize_t recv_test_frame(int ps, uint8_t *buf, size_t size)
{
    gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < end) {
        ssize_t n = recv(ps, buf, size, 0);

        if (n >= 14 && buf[12] == 0x88 && buf[13] == 0xb5) {
            return n;
        }
        if (n < 0) {
            g_usleep(1000);
        }
    }
    return -1;
}

static void frame_fill(uint8_t *f, size_t len, uint8_t tag)
{
    memset(f, 0xff, 6);                          /* broadcast */
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
    f[12] = 0x88;                                /* local experimental */
    f[13] = 0xb5;
    for (size_t i = 14; i < len; i++) {
        f[i] = tag;
    }
}

static void loop_until(bool (*done)(void *), void *opaque)
{
    gint64 end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;

    while (!done(opaque) && g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static bool received_n(void *opaque)
{
    FakeNic *f = opaque;

    return f->received >= f->refuse + 1u;
}

static void spin(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;

    while (g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static void G_GNUC_PRINTF(2, 3) check_info(NetClientState *nc,
                                           const char *fmt, ...)
{
    g_autofree char *want = NULL;
    va_list ap;

    va_start(ap, fmt);
    want = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ck_assert_str_eq(nc->info_str, want);
}

static NetClientState *make_tap(const char *extra)
{
    g_autofree char *arg = g_strdup_printf(
        "tap,id=t0,ifname=%s,script=no,downscript=no%s", ifname, extra);
    GError *err = NULL;
    NetClientState *nc;
    bool json;
    QOpts *o = netdev_parse_opts(arg, &json, &err);

    ck_assert_msg(netdev_add(o, json, &err), "%s", err ? err->message : "");
    qopts_free(o);
    ck_assert_uint_eq(qemu_find_netdev_queues("t0", &nc, 1), 1);
    return nc;
}

START_TEST(test_tap_frames)
{
    uint8_t f[100], rx[200];
    NetClientState *tap;
    FakeNic *nic;
    int ps;

    if (!enter_netns()) {
        return;
    }
    tap = make_tap("");
    ck_assert(qemu_has_vnet_hdr(tap));
    check_info(tap, "ifname=%s,script=no,downscript=no", ifname);
    nic = fake_new(&fake_nic_info, tap, "nic0");
    nic->only_test_frames = true;
    set_up(ifname);
    ps = packet_socket(ifname);

    /* Host to NIC, header stripped: the NIC never asked for it. */
    frame_fill(f, sizeof(f), 1);
    ck_assert_int_eq(send(ps, f, sizeof(f), 0), sizeof(f));
    loop_until(received_n, nic);
    ck_assert_uint_eq(nic->received, 1);
    ck_assert_uint_eq(nic->last_len, sizeof(f));
    ck_assert(!memcmp(nic->last, f, sizeof(f)));

    /* NIC to host, a zeroed header added for the kernel. */
    frame_fill(f, sizeof(f), 2);
    ck_assert_int_eq(qemu_send_packet(&nic->nc, f, sizeof(f)), sizeof(f));
    ck_assert_int_eq(recv_test_frame(ps, rx, sizeof(rx)), sizeof(f));
    ck_assert(!memcmp(rx, f, sizeof(f)));

    /* With the NIC's 12-byte header, frames carry it both ways. */
    ck_assert(qemu_has_vnet_hdr_len(tap, 12));
    qemu_set_vnet_hdr_len(tap, 12);
    nic->hdr_len = 12;
    frame_fill(f, sizeof(f), 3);
    ck_assert_int_eq(send(ps, f, sizeof(f), 0), sizeof(f));
    nic->received = 0;
    loop_until(received_n, nic);
    ck_assert_uint_eq(nic->last_len, 12 + sizeof(f));
    ck_assert(!memcmp(nic->last + 12, f, sizeof(f)));
    ck_assert_uint_eq(((struct virtio_net_hdr *)nic->last)->gso_type,
                      VIRTIO_NET_HDR_GSO_NONE);

    close(ps);
    del_all();
}
END_TEST

START_TEST(test_tap_hold)
{
    uint8_t f[80];
    NetClientState *tap;
    FakeNic *nic;
    int ps;

    if (!enter_netns()) {
        return;
    }
    tap = make_tap(",vnet_hdr=off");
    ck_assert(!qemu_has_vnet_hdr(tap));
    nic = fake_new(&fake_nic_info, tap, "nic0");
    nic->only_test_frames = true;
    set_up(ifname);
    ps = packet_socket(ifname);

    /* The NIC refuses the first frame: the tap holds it, reads no more. */
    nic->refuse = true;
    for (uint8_t i = 1; i <= 3; i++) {
        frame_fill(f, sizeof(f), i);
        ck_assert_int_eq(send(ps, f, sizeof(f), 0), sizeof(f));
    }
    spin(100);
    ck_assert_uint_eq(nic->received, 0);

    /* A full NIC is not even offered frames. */
    nic->refuse = false;
    nic->full = true;
    qemu_flush_queued_packets(&nic->nc);
    ck_assert_uint_eq(nic->received, 1);       /* the held one */
    ck_assert_uint_eq(nic->last[20], 1);
    spin(100);
    ck_assert_uint_eq(nic->received, 1);

    /* Room again: the rest arrive, in order. */
    nic->full = false;
    qemu_flush_queued_packets(&nic->nc);
    spin(100);
    ck_assert_uint_eq(nic->received, 3);
    ck_assert_uint_eq(nic->last[20], 3);

    close(ps);
    del_all();
}
END_TEST

START_TEST(test_tap_existing_and_fd)
{
    g_autofree char *cmd = NULL, *arg = NULL;
    NetClientState *nc;
    GError *err = NULL;
    bool json;
    QOpts *o;
    int fd;

    if (!enter_netns()) {
        return;
    }
    /* A persistent tap made beforehand is attached, not recreated. */
    cmd = g_strdup_printf("ip tuntap add dev %s mode tap vnet_hdr", ifname);
    ck_assert_int_eq(system(cmd), 0);
    make_tap("");
    del_all();
    ck_assert_uint_ne(if_nametoindex(ifname), 0);

    /* fd=: the caller opened it; TUNGETIFF finds the header. */
    fd = open("/dev/net/tun", O_RDWR);
    {
        struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI |
                                          IFF_VNET_HDR };
        g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
        ck_assert_int_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
    }
    arg = g_strdup_printf("tap,id=f0,fd=%d", fd);
    o = netdev_parse_opts(arg, &json, &err);
    ck_assert_msg(netdev_add(o, json, &err), "%s", err ? err->message : "");
    qopts_free(o);
    ck_assert_uint_eq(qemu_find_netdev_queues("f0", &nc, 1), 1);
    ck_assert(qemu_has_vnet_hdr(nc));
    check_info(nc, "fd=%d", fd);
    del_all();
}
END_TEST

START_TEST(test_tap_multiqueue)
{
    NetClientState *ncs[4];
    g_autofree char *arg = NULL;
    GError *err = NULL;
    bool json;
    QOpts *o;

    if (!enter_netns()) {
        return;
    }
    /* Not ifname: a test may have left a single-queue tap of that name. */
    arg = g_strdup_printf("tap,id=m0,ifname=%sm,script=no,downscript=no,"
                          "queues=3", ifname);
    o = netdev_parse_opts(arg, &json, &err);
    ck_assert_msg(netdev_add(o, json, &err), "%s", err ? err->message : "");
    qopts_free(o);
    ck_assert_uint_eq(qemu_find_netdev_queues("m0", ncs, 4), 3);
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_uint_eq(ncs[i]->queue_index, i);
        ck_assert_uint_eq(ncs[i]->queues, 3);
    }
    /* Only queue 0 would run the scripts. */
    check_info(ncs[1], "ifname=%sm,script=no,downscript=no", ifname);
    del_all();
}
END_TEST

/*
 * The tap's queue full (EAGAIN), on a socket standing in for the tap fd:
 * the NIC's frame is refused, the NIC is offered nothing more, and it
 * hears peer_ready once the fd is writable again.
 */
START_TEST(test_tap_write_full)
{
    int sv[2], small = 4096;
    uint8_t f[1000] = { 0 }, buf[2048];
    unsigned sent = 0, drained = 0;
    NetClientState *tap;
    FakeNic *nic;
    ssize_t r = 1;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0,
                                sv), 0);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    tap = tap_client_new("s0", 0, 1, sv[0], false);
    nic = fake_new(&fake_nic_info, tap, "nic0");
    while (sent < 100000 && qemu_can_send_packet(&nic->nc)) {
        r = qemu_send_packet(&nic->nc, f, sizeof(f));
        if (r == 0) {
            break;
        }
        sent++;
    }
    ck_assert_int_eq(r, 0);
    ck_assert(!qemu_can_send_packet(&nic->nc));
    spin(20);
    ck_assert_uint_eq(nic->peer_ready_calls, 0);

    while (recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0) {
        drained++;
    }
    ck_assert_uint_eq(drained, sent);
    spin(20);
    ck_assert_uint_eq(nic->peer_ready_calls, 1);
    ck_assert(qemu_can_send_packet(&nic->nc));
    ck_assert_int_eq(qemu_send_packet(&nic->nc, f, sizeof(f)), sizeof(f));
    close(sv[1]);
    del_all();
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *core = tcase_create("core");
    TCase *tap = tcase_create("tap");

    tcase_add_test(core, test_peers);
    tcase_add_test(core, test_flow_control);
    tcase_add_test(core, test_link);
    tcase_add_test(core, test_macaddr);
    tcase_add_test(core, test_netdev_parse);
    tcase_add_test(core, test_netdev_add_errors);
    tcase_add_test(core, test_tap_write_full);
    tcase_add_test(tap, test_tap_frames);
    tcase_add_test(tap, test_tap_hold);
    tcase_add_test(tap, test_tap_existing_and_fd);
    tcase_add_test(tap, test_tap_multiqueue);
    tcase_add_unchecked_fixture(tap, netns_create, netns_delete);
    tcase_set_timeout(tap, 30);
    suite_add_tcase(s, core);
    suite_add_tcase(s, tap);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(net_suite());
    int failed;

    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
