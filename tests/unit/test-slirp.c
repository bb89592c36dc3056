/*
 * User-mode networking (net/slirp.c): a "user" netdev made through
 * netdev_find_type("user") with a fake NIC as its peer.  The fake NIC
 * plays the guest: it sends Ethernet frames built here and checks what
 * slirp answers (DHCP, ARP, TFTP, hostfwd connections, restrict=on),
 * while the default main context runs slirp's sockets and timers.
 *
 * Cases that open host sockets first move their (forked) test process
 * into a network namespace of its own with only a loopback device, so
 * no traffic leaves it.
 */
#include "qemu/osdep.h"
#include <check.h>
#include <sched.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "net/net.h"
#include "net/slirp.h"
#include "chardev/char.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "capture.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* ---- the fake NIC ---- */

typedef struct FakeNic {
    NetClientState nc;
    GPtrArray *frames;             /* of GByteArray*, oldest first */
    bool full;                     /* no RX buffers: refuse frames */
    struct in_addr ip;             /* answered in ARP */
    GPtrArray *arp_replies;        /* to send from the pump, not in slirp */
} FakeNic;

static GByteArray *arp_frame(uint16_t op, const uint8_t *dst,
                             const uint8_t *sha, struct in_addr spa,
                             const uint8_t *tha, struct in_addr tpa);

static uint16_t get16(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

/* An ARP request from slirp for our address: answer it (later). */
static void nic_maybe_answer_arp(FakeNic *nic, const uint8_t *f, size_t len)
{
    const uint8_t *arp = f + ETH_HLEN;
    struct in_addr spa, tpa;

    if (len < ETH_HLEN + 28 || get16(f + 12) != ETH_P_ARP ||
        get16(arp + 6) != 1) {
        return;
    }
    memcpy(&spa, arp + 14, 4);
    memcpy(&tpa, arp + 24, 4);
    if (tpa.s_addr == nic->ip.s_addr) {
        g_ptr_array_add(nic->arp_replies,
                        arp_frame(2, arp + 8, guest_mac, nic->ip, arp + 8,
                                  spa));
    }
}

static ssize_t nic_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    FakeNic *nic = (FakeNic *)nc;
    GByteArray *f = g_byte_array_new();

    if (nic->full) {
        g_byte_array_unref(f);
        return 0;
    }
    for (int i = 0; i < iovcnt; i++) {
        g_byte_array_append(f, iov[i].iov_base, iov[i].iov_len);
    }
    nic_maybe_answer_arp(nic, f->data, f->len);
    g_ptr_array_add(nic->frames, f);
    return f->len;
}

static bool nic_can_receive(NetClientState *nc)
{
    return !((FakeNic *)nc)->full;
}

static void nic_cleanup(NetClientState *nc)
{
    FakeNic *nic = (FakeNic *)nc;

    g_ptr_array_free(nic->frames, TRUE);
    g_ptr_array_free(nic->arp_replies, TRUE);
}

static const NetClientInfo fake_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(FakeNic),
    .receive_iov = nic_receive_iov,
    .can_receive = nic_can_receive,
    .cleanup = nic_cleanup,
};

/* ---- setting up ---- */

static bool user_try(const char *optstr, GError **errp)
{
    g_autoptr(QOpts) opts = qopts_parse(optstr, NULL, errp);
    NetdevInitFunc init = netdev_find_type("user");

    ck_assert_ptr_nonnull(opts);
    ck_assert_ptr_nonnull(init);
    return init(opts, "u0", errp);
}

static NetClientState *user_netdev(void)
{
    NetClientState *ncs[2];

    ck_assert_uint_eq(qemu_find_netdev_queues("u0", ncs, 2), 1);
    return ncs[0];
}

/* A user netdev from @optstr with a fake NIC (guest 10.0.2.15) on it. */
static FakeNic *user_with_nic(const char *optstr)
{
    GError *err = NULL;
    FakeNic *nic;

    ck_assert_msg(user_try(optstr, &err), "%s: %s", optstr,
                  err ? err->message : "?");
    nic = (FakeNic *)qemu_new_net_client(&fake_nic_info, user_netdev(),
                                         "fake-nic", "nic0");
    nic->frames = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    nic->arp_replies = g_ptr_array_new_with_free_func(
        (GDestroyNotify)g_byte_array_unref);
    inet_aton("10.0.2.15", &nic->ip);
    return nic;
}

static void guest_send(FakeNic *nic, GByteArray *f)
{
    ck_assert_int_eq(qemu_send_packet(&nic->nc, f->data, f->len), f->len);
    g_byte_array_unref(f);
}

/* Run the main loop for up to @ms, answering ARP, until @pred finds a
 * frame (returned and removed from the list) or time runs out. */
typedef bool FramePred(const uint8_t *f, size_t len, const void *arg);

static GByteArray *pump_until(FakeNic *nic, FramePred *pred, const void *arg,
                              int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000LL;

    do {
        while (nic->arp_replies->len) {
            GByteArray *r = g_ptr_array_steal_index(nic->arp_replies, 0);
            guest_send(nic, r);
        }
        for (guint i = 0; pred && i < nic->frames->len; i++) {
            GByteArray *f = g_ptr_array_index(nic->frames, i);

            if (pred(f->data, f->len, arg)) {
                return g_ptr_array_steal_index(nic->frames, i);
            }
        }
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    } while (g_get_monotonic_time() < end);
    return NULL;
}

/* ---- frames a guest sends ---- */

static GByteArray *eth_start(const uint8_t *dst, uint16_t type)
{
    GByteArray *f = g_byte_array_new();
    uint8_t hdr[ETH_HLEN];

    memcpy(hdr, dst, 6);
    memcpy(hdr + 6, guest_mac, 6);
    put16(hdr + 12, type);
    g_byte_array_append(f, hdr, sizeof(hdr));
    return f;
}

static void pad_to_60(GByteArray *f)
{
    static const uint8_t zero[60];

    if (f->len < 60) {
        g_byte_array_append(f, zero, 60 - f->len);
    }
}

static GByteArray *arp_frame(uint16_t op, const uint8_t *dst,
                             const uint8_t *sha, struct in_addr spa,
                             const uint8_t *tha, struct in_addr tpa)
{
    GByteArray *f = eth_start(dst, ETH_P_ARP);
    uint8_t arp[28] = { 0, 1, 8, 0, 6, 4 };

    put16(arp + 6, op);
    memcpy(arp + 8, sha, 6);
    memcpy(arp + 14, &spa, 4);
    memcpy(arp + 18, tha, 6);
    memcpy(arp + 24, &tpa, 4);
    g_byte_array_append(f, arp, sizeof(arp));
    pad_to_60(f);
    return f;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += get16(p + i);
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

/* An IPv4 packet with @l4 as payload; TCP and UDP get their checksum. */
static GByteArray *ip_frame(const uint8_t *dst_mac, const char *src,
                            const char *dst, uint8_t proto, uint8_t *l4,
                            size_t l4len)
{
    GByteArray *f = eth_start(dst_mac, ETH_P_IP);
    uint8_t ip[20] = { 0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto };
    uint8_t pseudo[12];
    int sum_off = proto == IPPROTO_TCP ? 16 : 6;

    put16(ip + 2, sizeof(ip) + l4len);
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    put16(ip + 10, csum_fold(csum_add(0, ip, sizeof(ip))));
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = proto;
    put16(pseudo + 10, l4len);
    put16(l4 + sum_off, 0);
    put16(l4 + sum_off, csum_fold(csum_add(csum_add(0, pseudo, 12), l4,
                                           l4len)));
    g_byte_array_append(f, ip, sizeof(ip));
    g_byte_array_append(f, l4, l4len);
    pad_to_60(f);
    return f;
}

static GByteArray *tcp_frame(const char *src, uint16_t sport, const char *dst,
                             uint16_t dport, uint32_t seq, uint32_t ack,
                             uint8_t flags, const char *data)
{
    size_t dlen = data ? strlen(data) : 0;
    g_autofree uint8_t *tcp = g_malloc0(20 + dlen);
    uint8_t gw_mac[6] = { 0x52, 0x55, 10, 0, 2, 2 };

    put16(tcp, sport);
    put16(tcp + 2, dport);
    tcp[4] = seq >> 24;
    tcp[5] = seq >> 16;
    tcp[6] = seq >> 8;
    tcp[7] = seq;
    tcp[8] = ack >> 24;
    tcp[9] = ack >> 16;
    tcp[10] = ack >> 8;
    tcp[11] = ack;
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    if (dlen) {
        memcpy(tcp + 20, data, dlen);
    }
    return ip_frame(gw_mac, src, dst, IPPROTO_TCP, tcp, 20 + dlen);
}

static GByteArray *udp_frame(const uint8_t *dst_mac, const char *src,
                             uint16_t sport, const char *dst, uint16_t dport,
                             const uint8_t *data, size_t dlen)
{
    g_autofree uint8_t *udp = g_malloc0(8 + dlen);

    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, 8 + dlen);
    memcpy(udp + 8, data, dlen);
    return ip_frame(dst_mac, src, dst, IPPROTO_UDP, udp, 8 + dlen);
}

/* A DHCPDISCOVER, BOOTP-sized (slirp wants the full 548 bytes). */
static GByteArray *dhcp_discover(uint32_t xid)
{
    uint8_t bootp[548] = { 1, 1, 6, 0 };

    bootp[4] = xid >> 24;
    bootp[5] = xid >> 16;
    bootp[6] = xid >> 8;
    bootp[7] = xid;
    memcpy(bootp + 28, guest_mac, 6);
    memcpy(bootp + 236, "\x63\x82\x53\x63", 4);
    memcpy(bootp + 240, "\x35\x01\x01\xff", 4);   /* DISCOVER, end */
    return udp_frame(bcast_mac, "0.0.0.0", 68, "255.255.255.255", 67,
                     bootp, sizeof(bootp));
}

/* ---- frames slirp sends ---- */

/* The IPv4 header of @f (NULL if it is no IPv4 packet) and its length. */
static const uint8_t *ipv4_of(const uint8_t *f, size_t len, uint8_t proto,
                              size_t *l4len)
{
    const uint8_t *ip = f + ETH_HLEN;
    size_t ihl, tot;

    if (len < ETH_HLEN + 20 || get16(f + 12) != ETH_P_IP) {
        return NULL;
    }
    ihl = (ip[0] & 0xf) * 4;
    tot = get16(ip + 2);
    if (ip[9] != proto || ihl < 20 || tot < ihl || ETH_HLEN + tot > len) {
        return NULL;
    }
    *l4len = tot - ihl;
    return ip;
}

static const uint8_t *l4_of(const uint8_t *f, size_t len, uint8_t proto,
                            size_t *l4len)
{
    const uint8_t *ip = ipv4_of(f, len, proto, l4len);

    return ip ? ip + (ip[0] & 0xf) * 4 : NULL;
}

static bool is_dhcp_reply(const uint8_t *f, size_t len, const void *arg)
{
    size_t l4len;
    const uint8_t *udp = l4_of(f, len, IPPROTO_UDP, &l4len);

    (void)arg;
    return udp && l4len >= 8 + 240 && get16(udp) == 67 &&
           get16(udp + 2) == 68 && udp[8] == 2;
}

/* The value of DHCP option @code in a reply, or NULL. */
static const uint8_t *dhcp_option(const uint8_t *f, size_t len, uint8_t code)
{
    size_t l4len;
    const uint8_t *bootp = l4_of(f, len, IPPROTO_UDP, &l4len) + 8;
    size_t at = 240, end = l4len - 8;

    while (at + 2 <= end && bootp[at] != 255) {
        if (bootp[at] == 0) {
            at++;
            continue;
        }
        if (bootp[at] == code && at + 2 + bootp[at + 1] <= end) {
            return bootp + at + 1;
        }
        at += 2 + bootp[at + 1];
    }
    return NULL;
}

static void assert_ip4(const uint8_t *p, const char *want)
{
    char got[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, p, got, sizeof(got));
    ck_assert_str_eq(got, want);
}

typedef struct TcpMatch {
    const char *dst;
    uint16_t dport;
    uint8_t flags, mask;
} TcpMatch;

static bool is_tcp(const uint8_t *f, size_t len, const void *arg)
{
    const TcpMatch *m = arg;
    size_t l4len;
    const uint8_t *tcp = l4_of(f, len, IPPROTO_TCP, &l4len);
    struct in_addr dst;

    if (!tcp || l4len < 20) {
        return false;
    }
    inet_aton(m->dst, &dst);
    return !memcmp(f + ETH_HLEN + 16, &dst, 4) && get16(tcp + 2) == m->dport &&
           (tcp[13] & m->mask) == m->flags;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* ---- host side ---- */

/*
 * Move this (forked) test into a network namespace with just "lo", up.
 * False, with the reason printed, when the host cannot do that.
 */
static bool private_netns(const char *test)
{
    struct ifreq ifr = { .ifr_name = "lo" };
    int fd;

    if (unshare(CLONE_NEWNET) < 0) {
        printf("%s: skipped, no network namespace (%s)\n", test,
               strerror(errno));
        return false;
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    ck_assert_int_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    close(fd);
    return true;
}

/* A port nothing listens on: bind port 0 and see what the kernel gave. */
static int free_port(int type)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, type, 0);
    int port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int host_socket(int type, const char *addr, int port, bool do_bind)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    int fd = socket(AF_INET, type | SOCK_NONBLOCK, 0);
    int r;

    inet_aton(addr, &a.sin_addr);
    if (do_bind) {
        int one = 1;

        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        if (type == SOCK_STREAM) {
            ck_assert_int_eq(listen(fd, 4), 0);
        }
        return fd;
    }
    r = connect(fd, (struct sockaddr *)&a, sizeof(a));
    ck_assert(r == 0 || errno == EINPROGRESS);
    return fd;
}

/* ---- DHCP ---- */

static void check_offer(const char *optstr, const char *yiaddr,
                        const char *server, const char *dns)
{
    FakeNic *nic = user_with_nic(optstr);
    g_autoptr(GByteArray) f = NULL;
    const uint8_t *bootp, *opt;
    size_t l4len;

    guest_send(nic, dhcp_discover(0x12345678));
    f = pump_until(nic, is_dhcp_reply, NULL, 2000);
    ck_assert_msg(f != NULL, "no DHCP reply with %s", optstr);
    bootp = l4_of(f->data, f->len, IPPROTO_UDP, &l4len) + 8;
    ck_assert_uint_eq(get32(bootp + 4), 0x12345678);
    assert_ip4(bootp + 16, yiaddr);
    ck_assert_mem_eq(bootp + 28, guest_mac, 6);
    /* To the guest's MAC, or broadcast since it has no address yet. */
    ck_assert(!memcmp(f->data, guest_mac, 6) ||
              !memcmp(f->data, bcast_mac, 6));
    assert_ip4(f->data + ETH_HLEN + 12, server);
    opt = dhcp_option(f->data, f->len, 53);
    ck_assert(opt && opt[0] == 1 && opt[1] == 2);          /* OFFER */
    opt = dhcp_option(f->data, f->len, 3);                 /* router */
    ck_assert(opt && opt[0] == 4);
    assert_ip4(opt + 1, server);
    opt = dhcp_option(f->data, f->len, 6);                 /* DNS */
    ck_assert(opt && opt[0] == 4);
    assert_ip4(opt + 1, dns);
    net_cleanup();
}

START_TEST(dhcp_offer_default)
{
    check_offer("", "10.0.2.15", "10.0.2.2", "10.0.2.3");
}
END_TEST

START_TEST(dhcp_offer_changed)
{
    check_offer("dhcpstart=10.0.2.40", "10.0.2.40", "10.0.2.2", "10.0.2.3");
    check_offer("net=192.168.76.0/24", "192.168.76.15", "192.168.76.2",
                "192.168.76.3");
    check_offer("net=10.9.0.0/16,host=10.9.0.1,dns=10.9.0.53,"
                "dhcpstart=10.9.1.100", "10.9.1.100", "10.9.0.1",
                "10.9.0.53");
    check_offer("ip=172.20.5.0", "172.20.5.15", "172.20.5.2", "172.20.5.3");
}
END_TEST

START_TEST(dhcp_hostname_and_domain)
{
    FakeNic *nic = user_with_nic("hostname=vm1,domainname=example.org");
    g_autoptr(GByteArray) f = NULL;
    const uint8_t *opt;

    guest_send(nic, dhcp_discover(1));
    f = pump_until(nic, is_dhcp_reply, NULL, 2000);
    ck_assert_ptr_nonnull(f);
    opt = dhcp_option(f->data, f->len, 12);
    ck_assert(opt && opt[0] == 3 && !memcmp(opt + 1, "vm1", 3));
    opt = dhcp_option(f->data, f->len, 15);
    ck_assert(opt && opt[0] == 11 && !memcmp(opt + 1, "example.org", 11));
    net_cleanup();
}
END_TEST

/* restrict=on: DHCP still answers, but names no gateway and no DNS. */
START_TEST(dhcp_restricted)
{
    FakeNic *nic = user_with_nic("restrict=on");
    g_autoptr(GByteArray) f = NULL;
    const uint8_t *opt;

    guest_send(nic, dhcp_discover(11));
    f = pump_until(nic, is_dhcp_reply, NULL, 2000);
    ck_assert_ptr_nonnull(f);
    opt = dhcp_option(f->data, f->len, 53);
    ck_assert(opt && opt[1] == 2);
    ck_assert_ptr_null(dhcp_option(f->data, f->len, 3));
    ck_assert_ptr_null(dhcp_option(f->data, f->len, 6));
    net_cleanup();
}
END_TEST

/* A frame in three pieces reaches slirp whole. */
START_TEST(dhcp_split_frame)
{
    FakeNic *nic = user_with_nic("");
    GByteArray *d = dhcp_discover(7);
    struct iovec iov[3] = {
        { d->data, 10 }, { d->data + 10, 30 }, { d->data + 40, d->len - 40 },
    };
    g_autoptr(GByteArray) f = NULL;

    ck_assert_int_eq(qemu_sendv_packet(&nic->nc, iov, 3), d->len);
    g_byte_array_unref(d);
    f = pump_until(nic, is_dhcp_reply, NULL, 2000);
    ck_assert_ptr_nonnull(f);
    net_cleanup();
}
END_TEST

/* A NIC without RX buffers costs frames, counted, instead of memory. */
START_TEST(full_nic_drops)
{
    FakeNic *nic = user_with_nic("");

    ck_assert_uint_eq(net_slirp_dropped_frames(user_netdev()), 0);
    nic->full = true;
    guest_send(nic, dhcp_discover(2));
    guest_send(nic, dhcp_discover(3));
    ck_assert_ptr_null(pump_until(nic, NULL, NULL, 100));
    ck_assert_uint_eq(nic->frames->len, 0);
    ck_assert_uint_eq(net_slirp_dropped_frames(user_netdev()), 2);
    nic->full = false;
    guest_send(nic, dhcp_discover(4));
    ck_assert_ptr_nonnull(pump_until(nic, is_dhcp_reply, NULL, 2000));
    ck_assert_uint_eq(net_slirp_dropped_frames(user_netdev()), 2);
    net_cleanup();
}
END_TEST

/* ---- ARP ---- */

static bool is_arp_reply(const uint8_t *f, size_t len, const void *arg)
{
    (void)arg;
    return len >= ETH_HLEN + 28 && get16(f + 12) == ETH_P_ARP &&
           get16(f + ETH_HLEN + 6) == 2;
}

static GByteArray *ask_arp(FakeNic *nic, const char *who)
{
    struct in_addr spa, tpa;
    static const uint8_t zero[6];

    inet_aton("10.0.2.15", &spa);
    inet_aton(who, &tpa);
    guest_send(nic, arp_frame(1, bcast_mac, guest_mac, spa, zero, tpa));
    return pump_until(nic, is_arp_reply, NULL, 300);
}

START_TEST(arp_gateway)
{
    FakeNic *nic = user_with_nic("");
    g_autoptr(GByteArray) f = ask_arp(nic, "10.0.2.2");
    g_autoptr(GByteArray) dns = NULL, none = NULL;
    const uint8_t *arp;
    static const uint8_t gw_mac[6] = { 0x52, 0x55, 10, 0, 2, 2 };

    ck_assert_msg(f != NULL, "no ARP reply for the gateway");
    arp = f->data + ETH_HLEN;
    ck_assert_mem_eq(f->data, guest_mac, 6);
    ck_assert_mem_eq(f->data + 6, gw_mac, 6);
    ck_assert_mem_eq(arp + 8, gw_mac, 6);               /* sender MAC */
    assert_ip4(arp + 14, "10.0.2.2");
    ck_assert_mem_eq(arp + 18, guest_mac, 6);
    assert_ip4(arp + 24, "10.0.2.15");

    dns = ask_arp(nic, "10.0.2.3");
    ck_assert_ptr_nonnull(dns);
    assert_ip4(dns->data + ETH_HLEN + 14, "10.0.2.3");
    /* Nobody is at .50: slirp must not claim it. */
    none = ask_arp(nic, "10.0.2.50");
    ck_assert_ptr_null(none);
    net_cleanup();
}
END_TEST

/* ---- host forwarding ---- */

START_TEST(hostfwd_tcp_syn)
{
    g_autofree char *opts = NULL;
    g_autoptr(GByteArray) f = NULL;
    TcpMatch syn = { "10.0.2.15", 22, TCP_SYN, TCP_SYN | TCP_ACK };
    FakeNic *nic;
    int port, fd;

    if (!private_netns("hostfwd_tcp_syn")) {
        return;
    }
    port = free_port(SOCK_STREAM);
    opts = g_strdup_printf("hostfwd=tcp:127.0.0.1:%d-:22", port);
    nic = user_with_nic(opts);
    fd = host_socket(SOCK_STREAM, "127.0.0.1", port, false);
    f = pump_until(nic, is_tcp, &syn, 3000);
    ck_assert_msg(f != NULL, "no SYN to 10.0.2.15:22 for a host connect");
    ck_assert_mem_eq(f->data, guest_mac, 6);
    close(fd);
    net_cleanup();

    /* The rule went with the netdev: the port is free again. */
    fd = host_socket(SOCK_STREAM, "127.0.0.1", port, true);
    close(fd);
}
END_TEST

/* With no guest address the rule follows dhcpstart, as in QEMU. */
START_TEST(hostfwd_default_guest_addr)
{
    g_autofree char *opts = NULL;
    g_autoptr(GByteArray) f = NULL;
    TcpMatch syn = { "10.0.2.33", 8080, TCP_SYN, TCP_SYN | TCP_ACK };
    FakeNic *nic;
    int port, fd;

    if (!private_netns("hostfwd_default_guest_addr")) {
        return;
    }
    port = free_port(SOCK_STREAM);
    opts = g_strdup_printf("dhcpstart=10.0.2.33,hostfwd=::%d-:8080", port);
    nic = user_with_nic(opts);
    inet_aton("10.0.2.33", &nic->ip);
    fd = host_socket(SOCK_STREAM, "127.0.0.1", port, false);
    f = pump_until(nic, is_tcp, &syn, 3000);
    ck_assert_ptr_nonnull(f);
    close(fd);
    net_cleanup();
}
END_TEST

static bool is_udp_to(const uint8_t *f, size_t len, const void *arg)
{
    size_t l4len;
    const uint8_t *udp = l4_of(f, len, IPPROTO_UDP, &l4len);

    return udp && l4len >= 8 && get16(udp + 2) == *(const uint16_t *)arg;
}

START_TEST(hostfwd_udp)
{
    g_autofree char *opts = NULL;
    g_autoptr(GByteArray) f = NULL;
    uint16_t gport = 5353;
    FakeNic *nic;
    size_t l4len;
    const uint8_t *udp;
    int port, fd;

    if (!private_netns("hostfwd_udp")) {
        return;
    }
    port = free_port(SOCK_DGRAM);
    opts = g_strdup_printf("hostfwd=udp::%d-10.0.2.15:%d", port, gport);
    nic = user_with_nic(opts);
    fd = host_socket(SOCK_DGRAM, "127.0.0.1", port, false);
    ck_assert_int_eq(send(fd, "ping", 4, 0), 4);
    f = pump_until(nic, is_udp_to, &gport, 3000);
    ck_assert_msg(f != NULL, "no UDP datagram to the guest");
    udp = l4_of(f->data, f->len, IPPROTO_UDP, &l4len);
    assert_ip4(f->data + ETH_HLEN + 16, "10.0.2.15");
    ck_assert_uint_eq(l4len, 12);
    ck_assert_mem_eq(udp + 8, "ping", 4);
    close(fd);
    net_cleanup();
}
END_TEST

/* ---- restrict ---- */

/* Give "lo" the documentation address 192.0.2.1 as an outside host. */
static void add_outside_addr(void)
{
    struct ifreq ifr = { .ifr_name = "lo:1" };
    struct sockaddr_in *a = (struct sockaddr_in *)&ifr.ifr_addr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    a->sin_family = AF_INET;
    inet_aton("192.0.2.1", &a->sin_addr);
    ck_assert_int_eq(ioctl(fd, SIOCSIFADDR, &ifr), 0);
    close(fd);
}

/* The guest opens a TCP connection to 192.0.2.1:@port; did it get in? */
static bool guest_connects_out(const char *optstr, int port, int lfd)
{
    FakeNic *nic = user_with_nic(optstr);
    TcpMatch answer = { "10.0.2.15", 40000, 0, 0 };
    g_autoptr(GByteArray) f = NULL;
    const uint8_t *tcp;
    size_t l4len;
    bool synack;
    int cfd;

    guest_send(nic, tcp_frame("10.0.2.15", 40000, "192.0.2.1", port, 1000,
                              0, TCP_SYN, NULL));
    f = pump_until(nic, is_tcp, &answer, 2000);
    ck_assert_msg(f != NULL, "no answer to the guest's SYN (%s)", optstr);
    tcp = l4_of(f->data, f->len, IPPROTO_TCP, &l4len);
    assert_ip4(f->data + ETH_HLEN + 12, "192.0.2.1");
    synack = (tcp[13] & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);
    if (synack) {
        ck_assert_uint_eq(get32(tcp + 8), 1001);
    } else {
        ck_assert(tcp[13] & TCP_RST);
    }
    cfd = accept(lfd, NULL, NULL);
    ck_assert_int_eq(cfd >= 0, synack);
    if (cfd >= 0) {
        close(cfd);
    }
    net_cleanup();
    return synack;
}

START_TEST(restrict_blocks_outbound)
{
    int port, lfd;

    if (!private_netns("restrict_blocks_outbound")) {
        return;
    }
    add_outside_addr();
    port = free_port(SOCK_STREAM);
    lfd = host_socket(SOCK_STREAM, "192.0.2.1", port, true);
    ck_assert(guest_connects_out("restrict=off", port, lfd));
    ck_assert(!guest_connects_out("restrict=on", port, lfd));
    close(lfd);
}
END_TEST

/* restrict=on still lets host forwarding in. */
START_TEST(restrict_keeps_hostfwd)
{
    g_autofree char *opts = NULL;
    TcpMatch syn = { "10.0.2.15", 22, TCP_SYN, TCP_SYN | TCP_ACK };
    FakeNic *nic;
    int port, fd;

    if (!private_netns("restrict_keeps_hostfwd")) {
        return;
    }
    port = free_port(SOCK_STREAM);
    opts = g_strdup_printf("restrict=on,hostfwd=tcp::%d-:22", port);
    nic = user_with_nic(opts);
    ck_assert_str_eq(user_netdev()->info_str, "net=10.0.2.0,restrict=on");
    fd = host_socket(SOCK_STREAM, "127.0.0.1", port, false);
    ck_assert_ptr_nonnull(pump_until(nic, is_tcp, &syn, 3000));
    close(fd);
    net_cleanup();
}
END_TEST

/* ---- the net client ---- */

START_TEST(client_identity)
{
    NetClientState *nc;

    user_with_nic("net=192.168.76.0/24");
    nc = user_netdev();
    ck_assert_int_eq(nc->info->type, NET_CLIENT_DRIVER_USER);
    ck_assert_str_eq(nc->name, "u0");
    ck_assert_str_eq(nc->model, "user");
    ck_assert(nc->is_netdev);
    ck_assert_str_eq(nc->info_str, "net=192.168.76.0,restrict=off");
    ck_assert(!qemu_has_vnet_hdr(nc));
    net_cleanup();
    ck_assert_uint_eq(qemu_find_netdev_queues("u0", &nc, 1), 0);
}
END_TEST

/* ---- option errors ---- */

static const struct {
    const char *opts, *error;
} bad_opts[] = {
    { "hostfwd=x", "Invalid host forwarding rule 'x' (No : separators)" },
    { "hostfwd=", "Invalid host forwarding rule '' (No : separators)" },
    { "hostfwd=foo:1-:2",
      "Invalid host forwarding rule 'foo:1-:2' (Bad protocol name)" },
    { "hostfwd=unix:/tmp/x-:2",
      "Invalid host forwarding rule 'unix:/tmp/x-:2' (Bad protocol name)" },
    { "hostfwd=tcp:1", "Invalid host forwarding rule 'tcp:1' "
      "(Missing : separator)" },
    { "hostfwd=tcp::1", "Invalid host forwarding rule 'tcp::1' "
      "(Bad host port separator)" },
    { "hostfwd=tcp:x:1-:2", "Invalid host forwarding rule 'tcp:x:1-:2' "
      "(Bad host address)" },
    { "hostfwd=tcp::70000-:2", "Invalid host forwarding rule "
      "'tcp::70000-:2' (Bad host port)" },
    { "hostfwd=tcp::22x-:22", "Invalid host forwarding rule "
      "'tcp::22x-:22' (Bad host port)" },
    { "hostfwd=tcp::1-2", "Invalid host forwarding rule 'tcp::1-2' "
      "(Missing guest address)" },
    { "hostfwd=tcp::1-x:2", "Invalid host forwarding rule 'tcp::1-x:2' "
      "(Bad guest address)" },
    { "hostfwd=tcp::1-:0", "Invalid host forwarding rule 'tcp::1-:0' "
      "(Bad guest port)" },
    { "hostfwd=tcp::1-:", "Invalid host forwarding rule 'tcp::1-:' "
      "(Bad guest port)" },
    { "hostfwd=tcp::1-:abc", "Invalid host forwarding rule 'tcp::1-:abc' "
      "(Bad guest port)" },
    { "hostfwd=tcp::-1-:22", "Invalid host forwarding rule 'tcp::-1-:22' "
      "(Bad guest address)" },
    /* Like QEMU, the last rule given is the first one checked. */
    { "hostfwd=tcp::x-:23,hostfwd=tcp::y-:22", "Invalid host forwarding "
      "rule 'tcp::y-:22' (Bad host port)" },
    { "hostfwd=tcp:192.0.2.99:2222-:22",
      "Could not set up host forwarding rule 'tcp:192.0.2.99:2222-:22'" },
    { "guestfwd=x", "Invalid guest forwarding rule 'x'" },
    { "guestfwd=udp:10.0.2.100:1-cmd:cat",
      "Invalid guest forwarding rule 'udp:10.0.2.100:1-cmd:cat'" },
    { "guestfwd=tcp:10.0.2.100:0-cmd:cat",
      "Invalid guest forwarding rule 'tcp:10.0.2.100:0-cmd:cat'" },
    { "hostfwd=y,guestfwd=x", "Invalid guest forwarding rule 'x'" },
    { "net=foo", "Failed to parse netmask" },
    { "net=", "Failed to parse netmask" },
    { "net=10.0.0.0/3", "Invalid netmask provided (must be in range 4-32)" },
    { "net=10.0.0.0/33", "Invalid netmask provided (must be in range 4-32)" },
    { "net=10.0.0.0/", "Invalid netmask provided (must be in range 4-32)" },
    { "net=10.0.0.0/x", "Failed to parse netmask (trailing chars)" },
    { "net=10.0.0.0/24x", "Failed to parse netmask (trailing chars)" },
    { "net=10.0.0.0/8,net=x", "Failed to parse netmask" },
    { "host=1.2.3.4", "Host doesn't belong to network" },
    { "host=", "Failed to parse host" },
    { "dns=foo", "Failed to parse DNS" },
    { "dns=10.0.2.2", "DNS must be different from host" },
    { "restrict=on,dns=1.2.3.4", "DNS doesn't belong to network" },
    { "dhcpstart=x", "Failed to parse DHCP start address" },
    { "dhcpstart=10.0.3.1", "DHCP doesn't belong to network" },
    { "dhcpstart=10.0.2.2", "DHCP must be different from host and DNS" },
    { "net=10.1.2.3/30", "DHCP must be different from host and DNS" },
    { "net=1.2.3.4/32", "DNS must be different from host" },
    { "restrict=maybe", "Parameter 'restrict' expects 'on' or 'off'" },
    { "restrict=on,restrict=maybe",
      "Parameter 'restrict' expects 'on' or 'off'" },
    { "ipv4=2", "Parameter 'ipv4' expects 'on' or 'off'" },
    { "ipv4=off,ipv6=off", "IPv4 and IPv6 disabled" },
    { "ipv6=on,net=10.0.0.0/8",
      "IPv4 disabled but netmask/host/dns provided" },
    { "ipv4=off,net=10.0.0.0/8",
      "IPv4 disabled but netmask/host/dns provided" },
    { "ipv4=on,ipv6-host=fec0::5",
      "IPv6 disabled but prefix/host6/dns6 provided" },
    { "ipv6=off,ipv6-net=fec0::/64",
      "IPv6 disabled but prefix/host6/dns6 provided" },
    { "bogus=1", "Invalid parameter 'bogus'" },
    { "vlan=1", "Invalid parameter 'vlan'" },
    { "bogus=1,restrict=maybe", "Parameter 'restrict' expects 'on' or 'off'" },
    { "ipv6-net=fec0::/200", "Invalid IPv6 prefix provided (IPv6 prefix "
      "length must be between 0 and 126)" },
    { "ipv6-net=fec0::/-3", "Invalid IPv6 prefix provided (IPv6 prefix "
      "length must be between 0 and 126)" },
    { "ipv6-net=fec0::/x", "Parameter 'ipv6-prefixlen' expects a number" },
    { "ipv6-net=fec0::/", "Parameter 'ipv6-prefixlen' expects a number" },
    { "ipv6-net=fec0::/0x40", "Parameter 'ipv6-prefixlen' expects a number" },
    { "restrict=maybe,ipv6-net=::/x",
      "Parameter 'ipv6-prefixlen' expects a number" },
    { "ipv6-net=foo/64", "Failed to parse IPv6 prefix" },
    { "ipv6-prefix=foo", "Failed to parse IPv6 prefix" },
    { "ipv6-prefixlen=200", "Invalid IPv6 prefix provided (IPv6 prefix "
      "length must be between 0 and 126)" },
    { "ipv6-prefixlen=abc",
      "Parameter 'ipv6-prefixlen' expects an int64 value" },
    { "ipv6-host=xx", "Failed to parse IPv6 host" },
    { "ipv6-host=fec1::1", "IPv6 Host doesn't belong to network" },
    { "ipv6-dns=xx", "Failed to parse IPv6 DNS" },
    { "ipv6-dns=fec1::3,restrict=on", "IPv6 DNS doesn't belong to network" },
    { "domainname=", "'domainname' parameter cannot be empty" },
    { "smbserver=foo", "Failed to parse SMB address" },
    { "smb=/tmp", "'smb' is not supported by qvmm (it starts no SMB server "
      "for user networking)" },
};

START_TEST(option_errors)
{
    const char *o = bad_opts[_i].opts;
    GError *err = NULL;
    NetClientState *nc;

    ck_assert_msg(!user_try(o, &err), "'%s' was accepted", o);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(!strcmp(err->message, bad_opts[_i].error),
                  "'%s': got \"%s\"", o, err->message);
    g_error_free(err);
    /* A failed netdev leaves nothing behind. */
    ck_assert_uint_eq(qemu_find_netdev_queues("u0", &nc, 1), 0);
}
END_TEST

START_TEST(option_lengths)
{
    g_autofree char *name = g_strnfill(256, 'a');
    g_autofree char *o = NULL;
    GError *err = NULL;

    o = g_strdup_printf("hostname=%s", name);
    ck_assert(!user_try(o, &err));
    ck_assert_str_eq(err->message,
                     "'vhostname' parameter cannot exceed 255 bytes");
    g_clear_error(&err);
    g_free(o);
    o = g_strdup_printf("domainname=%s", name);
    ck_assert(!user_try(o, &err));
    ck_assert_str_eq(err->message,
                     "'domainname' parameter cannot exceed 255 bytes");
    g_clear_error(&err);
    g_free(o);
    o = g_strdup_printf("tftp-server-name=%s", name);
    ck_assert(!user_try(o, &err));
    ck_assert_str_eq(err->message,
                     "'tftp-server-name' parameter cannot exceed 255 bytes");
    g_clear_error(&err);
}
END_TEST

/* What QEMU 7.2 accepts, qvmm accepts. */
static const char *const good_opts[] = {
    "", "id=u0", "restrict", "restrict=yes", "ipv4=off", "ipv6=off",
    "ipv6=on", "net=10.0.0.0/4", "net=10.0.5.0/255.255.0.0",
    "net=192.168.1.0", "hostfwd=tcp::0-:22", "hostfwd=:127.0.0.1:0-:22",
    "hostfwd=tcp::0x0-10.0.2.16:22,hostfwd=udp::0-:1",
    "hostfwd=tcp::-1.2.3.4:22", "ipv6-net=fec0::", "ipv6-net=fd00:1::/48",
    "ipv6-prefixlen=0",
    ("ipv6-prefix=fd00::,ipv6-prefixlen=64,ipv6-host=fd00::2,"
     "ipv6-dns=fd00::3"),
    "dnssearch=a.com,dnssearch=b.org",
    "tftp=/nonexistent,bootfile=pxelinux.0",
    "smbserver=10.0.2.4", "guestfwd=tcp:10.0.2.100:1234-cmd:cat",
    "guestfwd=:10.0.2.100:1234-null",
};

START_TEST(option_accepted)
{
    GError *err = NULL;

    /* Rules listen on host ports: keep them out of the host's network. */
    if (!private_netns("option_accepted")) {
        return;
    }
    ck_assert_msg(user_try(good_opts[_i], &err), "'%s': %s", good_opts[_i],
                  err ? err->message : "");
    net_cleanup();
}
END_TEST

/*
 * libslirp 4.7's slirp_cleanup() never frees tftp_server_name (QEMU
 * leaks it the same way), so this netdev stays up, reachable, until the
 * test process exits: the leak checker then has nothing to report.
 */
START_TEST(option_tftp_server_name)
{
    FakeNic *nic = user_with_nic("tftp-server-name=tftp.example");
    const uint8_t *opt;
    g_autoptr(GByteArray) f = NULL;

    guest_send(nic, dhcp_discover(5));
    f = pump_until(nic, is_dhcp_reply, NULL, 2000);
    ck_assert_ptr_nonnull(f);
    opt = dhcp_option(f->data, f->len, 66);            /* TFTP server */
    ck_assert(opt && opt[0] == 12 && !memcmp(opt + 1, "tftp.example", 12));
}
END_TEST

/* ---- TFTP and guestfwd ---- */

static bool is_udp_from_69(const uint8_t *f, size_t len, const void *arg)
{
    size_t l4len;
    const uint8_t *udp = l4_of(f, len, IPPROTO_UDP, &l4len);

    (void)arg;
    return udp && l4len >= 12 && get16(udp) == 69;
}

START_TEST(tftp_read)
{
    g_autofree char *dir = g_dir_make_tmp("qvmm-tftp-XXXXXX", NULL);
    g_autofree char *file = g_build_filename(dir, "boot.txt", NULL);
    g_autofree char *opts = g_strdup_printf("tftp=%s", dir);
    static const uint8_t rrq[] = "\0\1boot.txt\0octet";
    uint8_t gw_mac[6] = { 0x52, 0x55, 10, 0, 2, 2 };
    g_autoptr(GByteArray) f = NULL;
    const uint8_t *udp;
    size_t l4len;
    FakeNic *nic;

    ck_assert(g_file_set_contents(file, "hello tftp", -1, NULL));
    nic = user_with_nic(opts);
    guest_send(nic, udp_frame(gw_mac, "10.0.2.15", 2000, "10.0.2.2", 69,
                              rrq, sizeof(rrq)));
    f = pump_until(nic, is_udp_from_69, NULL, 2000);
    ck_assert_msg(f != NULL, "no TFTP answer");
    udp = l4_of(f->data, f->len, IPPROTO_UDP, &l4len);
    ck_assert_uint_eq(get16(udp + 8), 3);                  /* DATA */
    ck_assert_uint_eq(get16(udp + 10), 1);                 /* block 1 */
    ck_assert_uint_eq(l4len, 12 + 10);
    ck_assert_mem_eq(udp + 12, "hello tftp", 10);
    net_cleanup();
    unlink(file);
    rmdir(dir);
}
END_TEST

/* The TCP payload of @f, or NULL (and 0) if it carries none. */
static const uint8_t *tcp_payload(GByteArray *f, size_t *len)
{
    size_t l4len;
    const uint8_t *tcp = l4_of(f->data, f->len, IPPROTO_TCP, &l4len);
    size_t off = (tcp[12] >> 4) * 4;

    *len = l4len > off ? l4len - off : 0;
    return *len ? tcp + off : NULL;
}

/* The next segment to the guest's port that carries data. */
static GByteArray *next_data(FakeNic *nic, uint16_t port)
{
    TcpMatch data = { "10.0.2.15", port, TCP_ACK, TCP_SYN | TCP_ACK };

    for (int i = 0; i < 20; i++) {
        GByteArray *d = pump_until(nic, is_tcp, &data, 3000);
        size_t len;

        if (!d || tcp_payload(d, &len)) {
            return d;
        }
        g_byte_array_unref(d);
    }
    return NULL;
}

static bool recv_pumped(int fd, char *buf, size_t want)
{
    size_t got = 0;

    for (int i = 0; i < 3000 && got < want; i++) {
        ssize_t r = recv(fd, buf + got, want - got, MSG_DONTWAIT);

        if (r > 0) {
            got += r;
        }
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    return got == want;
}

/* The guest connects to 10.0.2.100:1234 and reads the command's output. */
START_TEST(guestfwd_cmd)
{
    FakeNic *nic = user_with_nic(
        "restrict=on,guestfwd=tcp:10.0.2.100:1234-cmd:echo hello");
    TcpMatch synack = { "10.0.2.15", 40001, TCP_SYN | TCP_ACK,
                        TCP_SYN | TCP_ACK };
    g_autoptr(GByteArray) f = NULL, d = NULL;
    const uint8_t *tcp, *payload;
    size_t l4len, len;
    uint32_t seq;

    guest_send(nic, tcp_frame("10.0.2.15", 40001, "10.0.2.100", 1234, 500,
                              0, TCP_SYN, NULL));
    f = pump_until(nic, is_tcp, &synack, 3000);
    ck_assert_msg(f != NULL, "no SYN-ACK from the guestfwd address");
    tcp = l4_of(f->data, f->len, IPPROTO_TCP, &l4len);
    seq = get32(tcp + 4) + 1;
    guest_send(nic, tcp_frame("10.0.2.15", 40001, "10.0.2.100", 1234, 501,
                              seq, TCP_ACK, NULL));
    d = next_data(nic, 40001);
    ck_assert_msg(d != NULL, "no output from the command");
    payload = tcp_payload(d, &len);
    ck_assert_uint_eq(len, 6);
    ck_assert_mem_eq(payload, "hello\n", 6);
    net_cleanup();
}
END_TEST

/* guestfwd to a chardev: bytes both ways between guest and socket. */
START_TEST(guestfwd_chardev)
{
    g_autofree char *dir = g_dir_make_tmp("qvmm-gfwd-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "sock", NULL);
    g_autofree char *opts = g_strdup_printf(
        "guestfwd=tcp:10.0.2.100:1234-unix:%s", path);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    TcpMatch synack = { "10.0.2.15", 40002, TCP_SYN | TCP_ACK,
                        TCP_SYN | TCP_ACK };
    g_autoptr(GByteArray) f = NULL, d = NULL;
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0), cfd;
    const uint8_t *tcp, *payload;
    size_t l4len, len;
    uint32_t seq;
    char buf[4];
    FakeNic *nic;

    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(lfd, 1), 0);
    nic = user_with_nic(opts);
    cfd = accept(lfd, NULL, NULL);
    ck_assert_int_ge(cfd, 0);

    guest_send(nic, tcp_frame("10.0.2.15", 40002, "10.0.2.100", 1234, 700,
                              0, TCP_SYN, NULL));
    f = pump_until(nic, is_tcp, &synack, 3000);
    ck_assert_msg(f != NULL, "no SYN-ACK from the guestfwd address");
    tcp = l4_of(f->data, f->len, IPPROTO_TCP, &l4len);
    seq = get32(tcp + 4) + 1;
    guest_send(nic, tcp_frame("10.0.2.15", 40002, "10.0.2.100", 1234, 701,
                              seq, TCP_ACK, NULL));
    guest_send(nic, tcp_frame("10.0.2.15", 40002, "10.0.2.100", 1234, 701,
                              seq, TCP_ACK | 0x08, "ping"));
    ck_assert_msg(recv_pumped(cfd, buf, 4), "guest bytes did not arrive");
    ck_assert_mem_eq(buf, "ping", 4);

    ck_assert_int_eq(send(cfd, "pong", 4, 0), 4);
    d = next_data(nic, 40002);
    ck_assert_msg(d != NULL, "chardev bytes did not reach the guest");
    payload = tcp_payload(d, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(payload, "pong", 4);
    net_cleanup();
    close(cfd);
    close(lfd);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* As QEMU: the chardev's own complaint, then the rule's. */
START_TEST(guestfwd_bad_chardev)
{
    GError *err = NULL;
    g_autofree char *out = NULL;
    NetClientState *nc;

    capture_start();
    ck_assert(!user_try("guestfwd=tcp:10.0.2.100:1234-foo", &err));
    out = capture_end();
    ck_assert_str_eq(out, "qvmm: 'foo' is not a valid char driver\n");
    ck_assert_str_eq(err->message, "Could not open guest forwarding device "
                     "'guestfwd.tcp.1234'");
    g_clear_error(&err);
    g_free(out);
    capture_start();
    ck_assert(!user_try("guestfwd=tcp:10.0.2.100:1234-none", &err));
    out = capture_end();
    ck_assert_str_eq(out, "qvmm: 'none' is not a valid char driver\n");
    ck_assert_str_eq(err->message, "Could not open guest forwarding device "
                     "'guestfwd.tcp.1234'");
    g_clear_error(&err);
    ck_assert_uint_eq(qemu_find_netdev_queues("u0", &nc, 1), 0);
}
END_TEST

/* "chardev:ID" takes a -chardev; like QEMU, the netdev deletes it. */
START_TEST(guestfwd_named_chardev)
{
    GError *err = NULL;
    g_autofree char *out = NULL;

    ck_assert_ptr_nonnull(qemu_chr_new_legacy("c0", "null", &err));
    ck_assert(user_try("guestfwd=tcp:10.0.2.100:1234-chardev:c0", &err));
    ck_assert(qemu_chr_fe_is_open(qemu_chr_find("c0")));
    /* A second user of the same chardev is refused. */
    {
        g_autoptr(QOpts) opts = qopts_parse(
            "guestfwd=tcp:10.0.2.100:1234-chardev:c0", NULL, NULL);

        ck_assert(!netdev_find_type("user")(opts, "u1", &err));
        ck_assert_str_eq(err->message, "Device 'c0' is in use");
        g_clear_error(&err);
    }
    ck_assert_ptr_nonnull(qemu_chr_find("c0"));
    net_cleanup();
    ck_assert_ptr_null(qemu_chr_find("c0"));

    capture_start();
    ck_assert(!user_try("guestfwd=tcp:10.0.2.100:1234-chardev:nope", &err));
    out = capture_end();
    ck_assert_str_eq(out, "");
    ck_assert_str_eq(err->message, "Could not open guest forwarding device "
                     "'guestfwd.tcp.1234'");
    g_clear_error(&err);
}
END_TEST

/* ---- a hostile guest ---- */

/*
 * Garbage of every size, and a frame larger than any NIC sends.  Now and
 * then a random packet passes slirp's checks and goes out as a real
 * one, so this runs where "out" is an empty namespace.
 */
START_TEST(hostile_frames)
{
    static const uint16_t types[] = { ETH_P_IP, ETH_P_ARP, 0x86dd, 0x1234 };
    g_autofree uint8_t *big = g_malloc0(70000);
    FakeNic *nic;
    GRand *rand;

    if (!private_netns("hostile_frames")) {
        return;
    }
    nic = user_with_nic("");
    rand = g_rand_new_with_seed(6);

    for (int i = 0; i < 3000; i++) {
        uint8_t buf[1600];
        size_t len = g_rand_int_range(rand, 0, sizeof(buf));

        for (size_t j = 0; j < len; j++) {
            buf[j] = g_rand_int(rand);
        }
        if (len >= ETH_HLEN) {
            put16(buf + 12, types[i % 4]);
        }
        if (len >= ETH_HLEN + 1 && types[i % 4] == ETH_P_IP) {
            buf[ETH_HLEN] = 0x45;
        }
        ck_assert_int_eq(qemu_send_packet(&nic->nc, buf, len), len);
        if (i % 100 == 0) {
            g_main_context_iteration(NULL, FALSE);
        }
    }
    put16(big + 12, ETH_P_IP);
    ck_assert_int_eq(qemu_send_packet(&nic->nc, big, 70000), 70000);
    /* Still alive: a DHCP request is answered. */
    guest_send(nic, dhcp_discover(9));
    ck_assert_ptr_nonnull(pump_until(nic, is_dhcp_reply, NULL, 2000));
    g_rand_free(rand);
    net_cleanup();
}
END_TEST

static Suite *slirp_suite(void)
{
    Suite *s = suite_create("slirp");
    TCase *tc = tcase_create("slirp");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, dhcp_offer_default);
    tcase_add_test(tc, dhcp_offer_changed);
    tcase_add_test(tc, dhcp_hostname_and_domain);
    tcase_add_test(tc, dhcp_restricted);
    tcase_add_test(tc, dhcp_split_frame);
    tcase_add_test(tc, full_nic_drops);
    tcase_add_test(tc, arp_gateway);
    tcase_add_test(tc, hostfwd_tcp_syn);
    tcase_add_test(tc, hostfwd_default_guest_addr);
    tcase_add_test(tc, hostfwd_udp);
    tcase_add_test(tc, restrict_blocks_outbound);
    tcase_add_test(tc, restrict_keeps_hostfwd);
    tcase_add_test(tc, client_identity);
    tcase_add_loop_test(tc, option_errors, 0, ARRAY_SIZE(bad_opts));
    tcase_add_test(tc, option_lengths);
    tcase_add_loop_test(tc, option_accepted, 0, ARRAY_SIZE(good_opts));
    tcase_add_test(tc, option_tftp_server_name);
    tcase_add_test(tc, tftp_read);
    tcase_add_test(tc, guestfwd_cmd);
    tcase_add_test(tc, guestfwd_chardev);
    tcase_add_test(tc, guestfwd_bad_chardev);
    tcase_add_test(tc, guestfwd_named_chardev);
    tcase_add_test(tc, hostile_frames);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(slirp_suite());
    int failed;

    qemu_init_main_loop();
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
