/*
 * virtio-net-pci on a user-mode (slirp) netdev, driven through
 * virtio-pci-driver.c: the test plays the guest's network stack.  A
 * DHCP discover gets slirp's offer, an ARP request for the gateway gets
 * its reply, and a connection to a hostfwd port on the host arrives in
 * the RX queue as a TCP SYN to the guest.  Bad options give QEMU's
 * texts, checked against QEMU as well.
 *
 * The whole program runs in a network namespace of its own (made with
 * unshare at start, gone when the program and its VMMs exit) with only
 * a loopback device, so hostfwd listens and connects there and nothing
 * leaves it.
 */
#include <errno.h>
#include <glib.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>

#include "libqtest.h"
#include "qtest-tap.h"
#include "virtio-pci-driver.h"

#define RAM_SIZE        (128ULL << 20)
#define TIMEOUT_MS      5000
#define HDR_LEN         sizeof(struct virtio_net_hdr_v1)
#define RX_BUF_LEN      2048
#define RX_POSTED       64
#define ETH_HLEN        14
#define ETH_P_IP        0x0800
#define ETH_P_ARP       0x0806
#define TCP_SYN         0x02
#define TCP_ACK         0x10
#define F(bit)          (1ULL << (bit))

#define QEMU_STOPPED    "QEMU runs -S here (no qtest accelerator), and its " \
                        "virtio-net moves no frames while the VM is stopped"

static const uint16_t net_ids[] = { 0x1041, 0x1000, 0 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t gw_mac[6] = { 0x52, 0x55, 10, 0, 2, 2 };
static bool have_netns;
static char netns_error[128];

typedef struct UNet {
    QTestState *s;
    QtGuestAlloc alloc;
    QVirtioDev dev;
    uint8_t mac[6];
    uint64_t rx_buf[256];               /* by descriptor head */
} UNet;

typedef struct Frame {
    uint8_t data[RX_BUF_LEN];
    size_t len;
} Frame;

static uint16_t get16(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

/* ---- the device ---- */

static void post_rx(UNet *n, unsigned count)
{
    QVirtQueue *vq = &n->dev.vq[0];

    for (unsigned i = 0; i < count; i++) {
        uint64_t buf = qt_alloc(&n->alloc, NULL, RX_BUF_LEN, 64);
        QVirtBuf b = { buf, RX_BUF_LEN, true };
        uint16_t head = qvirtq_add_chain(vq, &b, 1);

        QT_ASSERT(head < G_N_ELEMENTS(n->rx_buf));
        n->rx_buf[head] = buf;
    }
    qvirtq_kick(vq);
}

/* A user netdev with @user_opts behind the device; @rx buffers posted. */
static void unet_start(UNet *n, const char *user_opts, unsigned rx)
{
    memset(n, 0, sizeof(*n));
    n->s = qt_start("-m %llu -netdev user,id=n0%s%s "
                    "-device virtio-net-pci,netdev=n0",
                    (unsigned long long)(RAM_SIZE >> 20),
                    user_opts ? "," : "", user_opts ? user_opts : "");
    qt_alloc_init(&n->alloc, RAM_SIZE);
    if (!qvirtio_pci_find(&n->dev, n->s, &n->alloc, net_ids, 0)) {
        qt_fail("no virtio-net function on bus 0");
    }
    qvirtio_msix_enable(&n->dev);
    qvirtio_negotiate(&n->dev, F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS));
    qvirtio_queue_setup(&n->dev, 0, 0);
    qvirtio_queue_setup(&n->dev, 1, 0);
    qvirtio_driver_ok(&n->dev);
    for (unsigned i = 0; i < 6; i++) {
        n->mac[i] = qvirtio_cfg_readb(&n->dev,
                                      offsetof(struct virtio_net_config,
                                               mac) + i);
    }
    if (rx) {
        post_rx(n, rx);
    }
}

/* Transmit @frame (header, then the frame, in one buffer). */
static void guest_tx(UNet *n, const uint8_t *frame, size_t len)
{
    QVirtQueue *vq = &n->dev.vq[1];
    struct virtio_net_hdr_v1 h = { 0 };
    uint64_t buf = qt_alloc(&n->alloc, NULL, HDR_LEN + len, 64);
    QVirtBuf b = { buf, HDR_LEN + len, false };
    uint32_t id, used_len;

    qt_bufwrite(n->s, buf, &h, HDR_LEN);
    qt_bufwrite(n->s, buf + HDR_LEN, frame, len);
    qvirtq_add_chain(vq, &b, 1);
    qvirtq_kick(vq);
    if (!qvirtq_wait_used(vq, &id, &used_len, TIMEOUT_MS)) {
        qt_fail("tx: frame not completed within %d ms", TIMEOUT_MS);
    }
}

/* The next received frame, its buffer given back; false on timeout. */
static bool guest_rx(UNet *n, Frame *f)
{
    QVirtQueue *vq = &n->dev.vq[0];
    uint32_t id, len;

    if (!qvirtq_wait_used(vq, &id, &len, TIMEOUT_MS)) {
        return false;
    }
    QT_ASSERT(id < G_N_ELEMENTS(n->rx_buf) && n->rx_buf[id]);
    QT_ASSERT(len >= HDR_LEN && len <= RX_BUF_LEN);
    f->len = len - HDR_LEN;
    qt_bufread(n->s, n->rx_buf[id] + HDR_LEN, f->data, f->len);
    n->rx_buf[id] = 0;
    post_rx(n, 1);
    return true;
}

/* ---- frames ---- */

static size_t eth_start(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                        uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
    return ETH_HLEN;
}

static size_t arp_frame(uint8_t *f, uint16_t op, const uint8_t *src_mac,
                        const uint8_t *dst_mac, const char *spa,
                        const char *tpa)
{
    uint8_t *arp = f + eth_start(f, dst_mac, src_mac, ETH_P_ARP);
    static const uint8_t head[6] = { 0, 1, 8, 0, 6, 4 };

    memcpy(arp, head, sizeof(head));
    put16(arp + 6, op);
    memcpy(arp + 8, src_mac, 6);
    inet_pton(AF_INET, spa, arp + 14);
    memcpy(arp + 18, op == 1 ? (const uint8_t *)"\0\0\0\0\0\0" : dst_mac,
           6);
    inet_pton(AF_INET, tpa, arp + 24);
    memset(arp + 28, 0, 60 - ETH_HLEN - 28);
    return 60;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += get16(p + i);
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

/* A DHCPDISCOVER of BOOTP's full size, with UDP checksum 0 (none). */
static size_t dhcp_discover(uint8_t *f, const uint8_t *mac, uint32_t xid)
{
    uint8_t *ip = f + eth_start(f, bcast, mac, ETH_P_IP);
    uint8_t *udp = ip + 20, *bootp = udp + 8;
    size_t bootp_len = 548;

    memset(ip, 0, 20 + 8 + bootp_len);
    ip[0] = 0x45;
    put16(ip + 2, 20 + 8 + bootp_len);
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    memset(ip + 16, 0xff, 4);
    put16(ip + 10, csum(ip, 20));
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, 8 + bootp_len);
    bootp[0] = 1;
    bootp[1] = 1;
    bootp[2] = 6;
    memcpy(bootp + 4, &xid, 4);
    memcpy(bootp + 28, mac, 6);
    memcpy(bootp + 236, "\x63\x82\x53\x63\x35\x01\x01\xff", 8);
    return ETH_HLEN + 20 + 8 + bootp_len;
}

/* The IPv4 payload of @f if it is protocol @proto, else NULL. */
static const uint8_t *ip_payload(const Frame *f, uint8_t proto,
                                 size_t *len)
{
    const uint8_t *ip = f->data + ETH_HLEN;
    size_t ihl, tot;

    if (f->len < ETH_HLEN + 20 || get16(f->data + 12) != ETH_P_IP) {
        return NULL;
    }
    ihl = (ip[0] & 0xf) * 4;
    tot = get16(ip + 2);
    if (ip[9] != proto || ihl < 20 || tot < ihl || ETH_HLEN + tot > f->len) {
        return NULL;
    }
    *len = tot - ihl;
    return ip + ihl;
}

static void assert_ip4(const uint8_t *p, const char *want)
{
    char got[INET_ADDRSTRLEN];

    inet_ntop(AF_INET, p, got, sizeof(got));
    if (strcmp(got, want)) {
        qt_fail("address %s, expected %s", got, want);
    }
}

/* Receive until @pred matches, answering slirp's ARP questions about
 * the guest (10.0.2.15) on the way. */
typedef bool FramePred(UNet *n, const Frame *f);

static void rx_until(UNet *n, FramePred *pred, Frame *f, const char *what)
{
    for (unsigned i = 0; i < 32; i++) {
        if (!guest_rx(n, f)) {
            break;
        }
        if (pred(n, f)) {
            return;
        }
        if (f->len >= 42 && get16(f->data + 12) == ETH_P_ARP &&
            get16(f->data + 20) == 1 &&
            !memcmp(f->data + 38, "\x0a\x00\x02\x0f", 4)) {
            uint8_t reply[60];

            guest_tx(n, reply, arp_frame(reply, 2, n->mac, f->data + 22,
                                         "10.0.2.15", "10.0.2.2"));
        }
    }
    qt_fail("no %s in the RX queue", what);
}

/* ---- cases ---- */

static bool is_dhcp_offer(UNet *n, const Frame *f)
{
    size_t len;
    const uint8_t *udp = ip_payload(f, IPPROTO_UDP, &len);

    (void)n;
    return udp && len >= 8 + 240 + 3 && get16(udp) == 67 &&
           get16(udp + 2) == 68 && udp[8] == 2;
}

static void test_dhcp(const void *data)
{
    const char *const *c = data;
    uint8_t f[600];
    Frame r;
    const uint8_t *bootp;
    size_t len;
    UNet n;

    unet_start(&n, c[0], RX_POSTED);
    guest_tx(&n, f, dhcp_discover(f, n.mac, 0x5eed));
    rx_until(&n, is_dhcp_offer, &r, "DHCP offer");
    bootp = ip_payload(&r, IPPROTO_UDP, &len) + 8;
    QT_ASSERT(!memcmp(bootp + 4, "\xed\x5e\x00\x00", 4));
    QT_ASSERT(!memcmp(bootp + 28, n.mac, 6));
    assert_ip4(bootp + 16, c[1]);                       /* yiaddr */
    assert_ip4(r.data + ETH_HLEN + 12, c[2]);           /* from server */
    /* Option 53, message type OFFER, comes first in slirp's reply. */
    QT_ASSERT(!memcmp(bootp + 240, "\x35\x01\x02", 3));
    qt_quit(n.s);
}

static bool is_arp_reply(UNet *n, const Frame *f)
{
    (void)n;
    return f->len >= 42 && get16(f->data + 12) == ETH_P_ARP &&
           get16(f->data + 20) == 2;
}

static void test_arp(const void *data)
{
    uint8_t f[60];
    Frame r;
    UNet n;

    (void)data;
    unet_start(&n, NULL, RX_POSTED);
    guest_tx(&n, f, arp_frame(f, 1, n.mac, bcast, "10.0.2.15", "10.0.2.2"));
    rx_until(&n, is_arp_reply, &r, "ARP reply");
    QT_ASSERT(!memcmp(r.data, n.mac, 6));
    QT_ASSERT(!memcmp(r.data + 22, gw_mac, 6));         /* sender MAC */
    assert_ip4(r.data + 28, "10.0.2.2");
    QT_ASSERT(!memcmp(r.data + 32, n.mac, 6));
    assert_ip4(r.data + 38, "10.0.2.15");
    qt_quit(n.s);
}

static bool is_syn_to_22(UNet *n, const Frame *f)
{
    size_t len;
    const uint8_t *tcp = ip_payload(f, IPPROTO_TCP, &len);

    return tcp && len >= 20 && !memcmp(f->data, n->mac, 6) &&
           !memcmp(f->data + ETH_HLEN + 16, "\x0a\x00\x02\x0f", 4) &&
           get16(tcp + 2) == 22 && (tcp[13] & (TCP_SYN | TCP_ACK)) == TCP_SYN;
}

/*
 * With no RX buffers posted, slirp's answer is dropped, not queued: once
 * buffers come, the first frame is the answer to a later request.
 */
static void test_no_buffers(const void *data)
{
    uint8_t f[600];
    Frame r;
    const uint8_t *bootp;
    size_t len;
    UNet n;

    (void)data;
    unet_start(&n, NULL, 0);
    guest_tx(&n, f, dhcp_discover(f, n.mac, 1));
    g_usleep(300 * 1000);
    post_rx(&n, RX_POSTED);
    guest_tx(&n, f, dhcp_discover(f, n.mac, 2));
    QT_ASSERT(guest_rx(&n, &r));
    QT_ASSERT(is_dhcp_offer(&n, &r));
    bootp = ip_payload(&r, IPPROTO_UDP, &len) + 8;
    QT_ASSERT(!memcmp(bootp + 4, "\x02\x00\x00\x00", 4));
    qt_quit(n.s);
}

/* A port nothing listens on: bind port 0 and see what the kernel gave. */
static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    QT_ASSERT(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    QT_ASSERT(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void test_hostfwd(const void *data)
{
    g_autofree char *opts = NULL;
    struct sockaddr_in a = { .sin_family = AF_INET };
    int port, fd;
    Frame r;
    UNet n;

    (void)data;
    if (!have_netns) {
        qt_fail("%s", netns_error);
    }
    port = free_port();
    opts = g_strdup_printf("hostfwd=tcp:127.0.0.1:%d-:22", port);
    unet_start(&n, opts, RX_POSTED);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    QT_ASSERT(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ||
              errno == EINPROGRESS);
    rx_until(&n, is_syn_to_22, &r, "SYN to 10.0.2.15:22");
    close(fd);
    qt_quit(n.s);
}

/* ---- option errors, against QEMU too ---- */

static const struct {
    const char *opt, *error;
} bad_opts[] = {
    { "-netdev user,id=n0,hostfwd=x",
      "Invalid host forwarding rule 'x' (No : separators)" },
    { "-netdev user,id=n0,hostfwd=foo:1-:2",
      "Invalid host forwarding rule 'foo:1-:2' (Bad protocol name)" },
    { "-netdev user,id=n0,hostfwd=tcp::1",
      "Invalid host forwarding rule 'tcp::1' (Bad host port separator)" },
    { "-netdev user,id=n0,hostfwd=tcp::70000-:22",
      "Invalid host forwarding rule 'tcp::70000-:22' (Bad host port)" },
    { "-netdev user,id=n0,hostfwd=tcp::1-x:2",
      "Invalid host forwarding rule 'tcp::1-x:2' (Bad guest address)" },
    { "-netdev user,id=n0,hostfwd=tcp::1-:0",
      "Invalid host forwarding rule 'tcp::1-:0' (Bad guest port)" },
    { "-netdev user,id=n0,hostfwd=tcp:192.0.2.99:2222-:22",
      "Could not set up host forwarding rule 'tcp:192.0.2.99:2222-:22'" },
    { "-netdev user,id=n0,guestfwd=x", "Invalid guest forwarding rule 'x'" },
    { "-netdev user,id=n0,net=foo", "Failed to parse netmask" },
    { "-netdev user,id=n0,net=10.0.0.0/3",
      "Invalid netmask provided (must be in range 4-32)" },
    { "-netdev user,id=n0,host=1.2.3.4", "Host doesn't belong to network" },
    { "-netdev user,id=n0,dns=10.0.2.2", "DNS must be different from host" },
    { "-netdev user,id=n0,dhcpstart=10.0.3.1",
      "DHCP doesn't belong to network" },
    { "-netdev user,id=n0,restrict=maybe",
      "Parameter 'restrict' expects 'on' or 'off'" },
    { "-netdev user,id=n0,ipv4=off,ipv6=off", "IPv4 and IPv6 disabled" },
    { "-netdev user,id=n0,bogus=1", "Invalid parameter 'bogus'" },
    { "-netdev user,id=n0,ipv6-net=fec0::/200", "Invalid IPv6 prefix "
      "provided (IPv6 prefix length must be between 0 and 126)" },
    { "-netdev user,id=n0,domainname=",
      "'domainname' parameter cannot be empty" },
};

/* What QEMU prints for a bad user netdev, qvmm prints: one line, exit 1. */
static void test_errors(const void *data)
{
    (void)data;
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_opts); i++) {
        g_autofree char *err = NULL;
        g_autofree char *want = g_strdup_printf(" %s: %s\n", bad_opts[i].opt,
                                                bad_opts[i].error);
        int code = qt_run_vmm(bad_opts[i].opt, &err);
        const char *colon = strchr(err, ':');

        if (code != 1 || !colon || strcmp(colon + 1, want)) {
            qt_fail("%s: exit %d, stderr \"%s\", wanted 1 and \"...:%s\"",
                    bad_opts[i].opt, code, err, want);
        }
    }
}

/* This program's own network namespace, with "lo" up. */
static void enter_netns(void)
{
    struct ifreq ifr = { .ifr_name = "lo" };
    int fd;

    if (unshare(CLONE_NEWNET) < 0) {
        snprintf(netns_error, sizeof(netns_error),
                 "cannot make a network namespace: %s", g_strerror(errno));
        return;
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        snprintf(netns_error, sizeof(netns_error), "lo: %s",
                 g_strerror(errno));
        return;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
        snprintf(netns_error, sizeof(netns_error), "bringing lo up: %s",
                 g_strerror(errno));
        return;
    }
    close(fd);
    have_netns = true;
}

int main(int argc, char **argv)
{
    static const char *const dhcp_default[] = {
        NULL, "10.0.2.15", "10.0.2.2",
    };
    static const char *const dhcp_changed[] = {
        "net=192.168.76.0/24,dhcpstart=192.168.76.9", "192.168.76.9",
        "192.168.76.2",
    };

    enter_netns();
    qt_test_add("user/dhcp", test_dhcp, dhcp_default, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("user/dhcp-changed", test_dhcp, dhcp_changed, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("user/arp", test_arp, NULL, QT_QVMM_ONLY, QEMU_STOPPED);
    qt_test_add("user/hostfwd", test_hostfwd, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("user/no-buffers", test_no_buffers, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("user/errors", test_errors, NULL, QT_BOTH, NULL);
    return qt_test_run(argc, argv);
}
