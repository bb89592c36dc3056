/*
 * virtio-net-pci driven through virtio-pci-driver.c against a tap device.
 *
 * Every case that moves frames runs in a network namespace of its own
 * (qvmm-vnet-PID-N): the test enters it before starting the VMM, so the
 * VMM creates its tap there, and the test reads and writes the tap's
 * host side with an AF_PACKET socket bound to it.  The namespace is
 * removed when the case ends, by the next case if it failed, at exit and
 * on SIGTERM.  Test frames use the local experimental EtherType 0x88b5
 * and IPv6 is off in the namespace, so nothing else is on the wire.
 *
 * Cases: identity and configuration against the command line, frames
 * both ways with and without the vnet header, checksum and segmentation
 * offloads as the kernel sees them, the receive filter through the
 * control queue, multiqueue steering, backpressure (no buffers: the
 * tap's queue drops, qvmm's memory stays put), link state through QMP
 * set_link, hostile drivers, and property errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "libqtest.h"
#include "qtest-tap.h"
#include "virtio-pci-driver.h"
#include "qmp-client.h"

#define RAM_SIZE        (128ULL << 20)
#define TIMEOUT_MS      5000
#define QUIET_MS        300             /* "nothing arrives" window */
#define IFNAME          "qvtap0"
#define ETH_P_TEST      0x88b5
#define HDR_LEN         sizeof(struct virtio_net_hdr_v1)
#define RX_BUF_LEN      2048
#define MAX_RX_POSTED   256
#define CFG(f)          offsetof(struct virtio_net_config, f)
#define F(bit)          (1ULL << (bit))

/* What a typical guest asks for, offloads apart. */
#define NET_FEATURES    (F(VIRTIO_NET_F_MAC) | F(VIRTIO_NET_F_STATUS) |     \
                         F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | \
                         F(VIRTIO_NET_F_CTRL_RX_EXTRA) |                     \
                         F(VIRTIO_NET_F_CTRL_VLAN) |                         \
                         F(VIRTIO_NET_F_CTRL_MAC_ADDR) |                     \
                         F(VIRTIO_RING_F_EVENT_IDX))
#define OFFLOADS        (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) | \
                         F(VIRTIO_NET_F_HOST_TSO4) |                         \
                         F(VIRTIO_NET_F_HOST_TSO6) |                         \
                         F(VIRTIO_NET_F_GUEST_TSO4) |                        \
                         F(VIRTIO_NET_F_GUEST_TSO6))

#define QEMU_STOPPED    "QEMU runs -S here (no qtest accelerator), and its " \
                        "virtio-net moves no frames while the VM is stopped"

static const uint16_t net_ids[] = { 0x1041, 0x1000, 0 };
static const uint8_t other_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

typedef struct Net {
    QTestState *s;
    QtGuestAlloc alloc;
    QVirtioDev dev;
    int pkt;                    /* AF_PACKET on the tap, -1: none */
    int ifindex;
    unsigned max_pairs;
    QVirtQueue *ctrl;
    uint64_t rx_buf[QVIRTIO_MAX_QUEUES][MAX_RX_POSTED];   /* by head */
    uint32_t rx_len[QVIRTIO_MAX_QUEUES];
    char *qmp_path;
    int qmp;
} Net;

/* ---- network namespaces ---- */

static int orig_ns = -1;
static char live_ns[64];        /* the current case's, removed later */

/* What `ip netns del` does, with calls a signal handler may make. */
static void ns_remove_raw(void)
{
    char path[96];

    if (!live_ns[0]) {
        return;
    }
    snprintf(path, sizeof(path), "/run/netns/%s", live_ns);
    umount2(path, MNT_DETACH);
    unlink(path);
    live_ns[0] = '\0';
}

static void ns_leave(void)
{
    if (orig_ns >= 0) {
        setns(orig_ns, CLONE_NEWNET);
    }
    ns_remove_raw();
}

static void ns_on_signal(int sig)
{
    ns_leave();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void write_sysctl(const char *path, const char *val)
{
    int fd = open(path, O_WRONLY);

    if (fd >= 0) {
        if (write(fd, val, strlen(val)) < 0) {
            qt_note("%s: %s", path, g_strerror(errno));
        }
        close(fd);
    }
}

/* Create a namespace and move this process into it. */
static void ns_enter(void)
{
    static unsigned count;
    g_autofree char *cmd = NULL;
    g_autofree char *path = NULL;
    GError *err = NULL;
    int status, fd;

    ns_leave();
    if (orig_ns < 0) {
        orig_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    }
    snprintf(live_ns, sizeof(live_ns), "qvmm-vnet-%d-%u", (int)getpid(),
             count++);
    cmd = g_strdup_printf("ip netns add %s", live_ns);
    if (!g_spawn_command_line_sync(cmd, NULL, NULL, &status, &err) ||
        !g_spawn_check_wait_status(status, NULL)) {
        live_ns[0] = '\0';
        qt_fail("%s failed%s%s", cmd, err ? ": " : "",
                err ? err->message : "");
    }
    path = g_strdup_printf("/run/netns/%s", live_ns);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        qt_fail("entering %s: %s", path, g_strerror(errno));
    }
    close(fd);
    /* No router solicitations or MLD reports on the test's wire. */
    write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
    write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
}

/* ---- the tap's host side ---- */

static void link_up(const char *ifname)
{
    struct ifreq ifr = { 0 };
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        qt_fail("%s: %s", ifname, g_strerror(errno));
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
        qt_fail("bringing %s up: %s", ifname, g_strerror(errno));
    }
    close(fd);
}

/* A raw socket on @ifname; with @vnet_hdr frames carry a virtio_net_hdr. */
static int packet_open(Net *n, bool vnet_hdr)
{
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
    };
    int one = 1;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    htons(ETH_P_ALL));

    n->ifindex = if_nametoindex(IFNAME);
    if (!n->ifindex) {
        qt_fail("no interface %s in the namespace", IFNAME);
    }
    sll.sll_ifindex = n->ifindex;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
                   sizeof(one)) < 0 ||
        (vnet_hdr && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
                                sizeof(one)) < 0)) {
        qt_fail("AF_PACKET on %s: %s", IFNAME, g_strerror(errno));
    }
    return fd;
}

static void host_send(Net *n, const void *frame, size_t len)
{
    if (send(n->pkt, frame, len, 0) != (ssize_t)len) {
        qt_fail("sending %zu bytes on %s: %s", len, IFNAME,
                g_strerror(errno));
    }
}

/*
 * The next frame on the host side whose EtherType (at byte 12 after
 * @skip header bytes) is @type; its length, or -1 after @timeout_ms.
 */
static ssize_t host_recv(Net *n, uint16_t type, size_t skip, void *buf,
                         size_t size, int timeout_ms)
{
    int64_t deadline = g_get_monotonic_time() / 1000 + timeout_ms;

    for (;;) {
        int64_t left = deadline - g_get_monotonic_time() / 1000;
        struct pollfd p = { .fd = n->pkt, .events = POLLIN };
        const uint8_t *b = buf;
        ssize_t got;

        if (left <= 0 || poll(&p, 1, left) <= 0) {
            return -1;
        }
        got = recv(n->pkt, buf, size, 0);
        if (got >= (ssize_t)(skip + ETH_HLEN) &&
            (b[skip + 12] << 8 | b[skip + 13]) == type) {
            return got;
        }
    }
}

/* ---- frames ---- */

/* dst, src, EtherType ETH_P_TEST, then @tag and a byte pattern. */
static size_t test_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                         unsigned tag, size_t len)
{
    memcpy(f, dst, ETH_ALEN);
    memcpy(f + ETH_ALEN, src, ETH_ALEN);
    f[12] = ETH_P_TEST >> 8;
    f[13] = ETH_P_TEST & 0xff;
    for (size_t i = ETH_HLEN; i < len; i++) {
        f[i] = (uint8_t)(i * 7 + tag);
    }
    memcpy(f + ETH_HLEN, &tag, sizeof(tag));
    return len;
}

static unsigned frame_tag(const uint8_t *f)
{
    unsigned tag;

    memcpy(&tag, f + ETH_HLEN, sizeof(tag));
    return tag;
}

static uint16_t ip_checksum(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;

    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += p[i] << 8 | p[i + 1];
    }
    if (len & 1) {
        sum += p[len - 1] << 8;
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return sum;
}

/*
 * An IPv4 frame 10.0.0.@sa:@sport -> 10.0.0.@da:@dport of @proto with
 * @payload bytes; the L4 checksum field holds the pseudo-header sum (as
 * for CHECKSUM_PARTIAL) when @partial, else the full checksum.
 */
static size_t ip_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                       uint8_t proto, uint8_t sa, uint8_t da, uint16_t sport,
                       uint16_t dport, size_t payload, bool partial)
{
    /* Headers built aligned here, then copied: in the frame they are
     * 2 bytes off their natural alignment. */
    struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = proto };
    struct tcphdr tcp = { .doff = 5, .ack = 1 };
    struct udphdr udp = { 0 };
    bool is_tcp = proto == IPPROTO_TCP;
    size_t l4hdr = is_tcp ? sizeof(tcp) : sizeof(udp);
    size_t l4len = l4hdr + payload;
    uint8_t *l4 = f + ETH_HLEN + sizeof(ip);
    size_t csum_off = is_tcp ? offsetof(struct tcphdr, check)
                             : offsetof(struct udphdr, check);
    uint32_t pseudo = 0x0a00 * 2 + sa + da + proto + l4len;
    uint16_t csum;

    memcpy(f, dst, ETH_ALEN);
    memcpy(f + ETH_ALEN, src, ETH_ALEN);
    f[12] = 0x08;
    f[13] = 0x00;
    ip.tot_len = htons(sizeof(ip) + l4len);
    ip.saddr = htonl(0x0a000000 | sa);
    ip.daddr = htonl(0x0a000000 | da);
    ip.check = htons(~ip_checksum(&ip, sizeof(ip), 0) & 0xffff);
    memcpy(f + ETH_HLEN, &ip, sizeof(ip));
    tcp.source = udp.source = htons(sport);
    tcp.dest = udp.dest = htons(dport);
    tcp.window = htons(1024);
    udp.len = htons(l4len);
    memcpy(l4, is_tcp ? (void *)&tcp : (void *)&udp, l4hdr);
    for (size_t i = 0; i < payload; i++) {
        l4[l4hdr + i] = (uint8_t)(i * 13 + sport);
    }
    csum = partial ? ip_checksum(NULL, 0, pseudo)
                   : ~ip_checksum(l4, l4len, pseudo) & 0xffff;
    l4[csum_off] = csum >> 8;
    l4[csum_off + 1] = csum & 0xff;
    return ETH_HLEN + sizeof(ip) + l4len;
}

/* ---- the VMM and the driver ---- */

/*
 * In a fresh namespace: a tap netdev with @tap_opts, a virtio-net-pci
 * with @dev_opts, optionally a QMP socket; the tap's host side is up.
 */
static void net_start(Net *n, const char *tap_opts, const char *dev_opts,
                      bool qmp)
{
    g_autofree char *qmp_arg = NULL;

    memset(n, 0, sizeof(*n));
    n->pkt = n->qmp = -1;
    ns_enter();
    if (qmp) {
        n->qmp_path = g_strdup_printf("/tmp/qvmm-vnet-%d.qmp",
                                      (int)getpid());
        unlink(n->qmp_path);
        qmp_arg = g_strdup_printf("-qmp unix:%s,server=on,wait=off ",
                                  n->qmp_path);
    }
    n->s = qt_start("-m %llu %s-netdev tap,id=n0,ifname=" IFNAME
                    ",script=no,downscript=no%s%s "
                    "-device virtio-net-pci,netdev=n0%s%s",
                    (unsigned long long)(RAM_SIZE >> 20),
                    qmp_arg ? qmp_arg : "",
                    tap_opts ? "," : "", tap_opts ? tap_opts : "",
                    dev_opts ? "," : "", dev_opts ? dev_opts : "");
    qt_alloc_init(&n->alloc, RAM_SIZE);
    link_up(IFNAME);
    n->pkt = packet_open(n, false);
    if (!qvirtio_pci_find(&n->dev, n->s, &n->alloc, net_ids, 0)) {
        qt_fail("no virtio-net function on bus 0");
    }
}

static void net_finish(Net *n)
{
    if (n->pkt >= 0) {
        close(n->pkt);
    }
    if (n->qmp >= 0) {
        close(n->qmp);
    }
    qt_quit(n->s);
    if (n->qmp_path) {
        unlink(n->qmp_path);
        g_free(n->qmp_path);
    }
    ns_leave();
}

/*
 * Negotiate @features, route MSI-X, set up @pairs queue pairs (of a
 * device with @max_pairs) and the control queue when negotiated, then
 * DRIVER_OK.
 */
static uint64_t net_init(Net *n, uint64_t features, unsigned pairs,
                         unsigned max_pairs)
{
    QVirtioDev *d = &n->dev;
    uint64_t got;

    qvirtio_msix_enable(d);
    got = qvirtio_negotiate(d, features);
    qvirtio_config_vector(d);
    n->max_pairs = max_pairs;
    for (unsigned i = 0; i < 2 * pairs; i++) {
        qvirtio_queue_setup(d, i, 0);
        n->rx_len[i] = 0;
    }
    n->ctrl = NULL;
    if (got & F(VIRTIO_NET_F_CTRL_VQ)) {
        n->ctrl = qvirtio_queue_setup(d, got & F(VIRTIO_NET_F_MQ) ?
                                      2 * max_pairs : 2, 0);
    }
    qvirtio_driver_ok(d);
    return got;
}

/* Post @count receive buffers of @len bytes on pair @pair's rx queue. */
static void post_rx(Net *n, unsigned pair, unsigned count, uint32_t len)
{
    QVirtQueue *vq = &n->dev.vq[2 * pair];

    for (unsigned i = 0; i < count; i++) {
        uint64_t buf = qt_alloc(&n->alloc, NULL, len, 64);
        QVirtBuf b = { buf, len, true };
        uint16_t head = qvirtq_add_chain(vq, &b, 1);

        if (head >= MAX_RX_POSTED) {
            qt_fail("rx head %u beyond this test's table", head);
        }
        n->rx_buf[2 * pair][head] = buf;
    }
    n->rx_len[2 * pair] = len;
    qvirtq_kick(vq);
}

/* The next received frame on @pair: header and frame; its length. */
static uint32_t wait_rx(Net *n, unsigned pair, struct virtio_net_hdr_v1 *h,
                        uint8_t *frame, size_t size)
{
    QVirtQueue *vq = &n->dev.vq[2 * pair];
    uint32_t id, len;

    if (!qvirtq_wait_used(vq, &id, &len, TIMEOUT_MS)) {
        qt_fail("rx queue %u: nothing received within %d ms (status 0x%x)",
                vq->index, TIMEOUT_MS, qvirtio_get_status(&n->dev));
    }
    QT_ASSERT(id < MAX_RX_POSTED && n->rx_buf[vq->index][id]);
    QT_ASSERT(len >= HDR_LEN && len <= n->rx_len[vq->index]);
    qt_bufread(n->s, n->rx_buf[vq->index][id], h, HDR_LEN);
    QT_ASSERT(len - HDR_LEN <= size);
    qt_bufread(n->s, n->rx_buf[vq->index][id] + HDR_LEN, frame,
               len - HDR_LEN);
    return len - HDR_LEN;
}

/* Nothing arrives on @pair for a while. */
static void expect_no_rx(Net *n, unsigned pair)
{
    QVirtQueue *vq = &n->dev.vq[2 * pair];

    g_usleep(QUIET_MS * 1000);
    QT_ASSERT_EQ(qvirtq_used_idx(vq), vq->last_used);
}

/* Transmit header @h and @frame on @pair, split over two descriptors. */
static void guest_tx(Net *n, unsigned pair, const struct virtio_net_hdr_v1 *h,
                     const void *frame, size_t len)
{
    QVirtQueue *vq = &n->dev.vq[2 * pair + 1];
    uint64_t buf = qt_alloc(&n->alloc, NULL, HDR_LEN + len, 64);
    QVirtBuf b[2] = {
        { buf, HDR_LEN, false }, { buf + HDR_LEN, len, false },
    };
    uint32_t id, used_len;
    uint16_t head;

    qt_bufwrite(n->s, buf, h, HDR_LEN);
    qt_bufwrite(n->s, buf + HDR_LEN, frame, len);
    head = qvirtq_add_chain(vq, b, 2);
    qvirtq_kick(vq);
    if (!qvirtq_wait_used(vq, &id, &used_len, TIMEOUT_MS)) {
        qt_fail("tx queue %u: frame not completed within %d ms (status "
                "0x%x)", vq->index, TIMEOUT_MS, qvirtio_get_status(&n->dev));
    }
    QT_ASSERT_EQ(id, head);
    QT_ASSERT_EQ(used_len, 0);
}

/* A control command; its ack byte. */
static uint8_t ctrl_cmd(Net *n, uint8_t cls, uint8_t cmd, const void *data,
                        size_t len)
{
    QVirtQueue *vq = n->ctrl;
    uint64_t buf = qt_alloc(&n->alloc, NULL, 2 + len + 1, 16);
    uint8_t hdr[2] = { cls, cmd };
    QVirtBuf b[2] = {
        { buf, 2 + len, false }, { buf + 2 + len, 1, true },
    };
    uint32_t id, used_len;
    uint16_t head;

    if (!vq) {
        qt_fail("no control queue negotiated");
    }
    qt_bufwrite(n->s, buf, hdr, 2);
    if (len) {
        qt_bufwrite(n->s, buf + 2, data, len);
    }
    qt_writeb(n->s, buf + 2 + len, 0xee);
    head = qvirtq_add_chain(vq, b, 2);
    qvirtq_kick(vq);
    if (!qvirtq_wait_used(vq, &id, &used_len, TIMEOUT_MS)) {
        qt_fail("control command %u/%u not answered (status 0x%x)", cls, cmd,
                qvirtio_get_status(&n->dev));
    }
    QT_ASSERT_EQ(id, head);
    QT_ASSERT_EQ(used_len, 1);
    return qt_readb(n->s, buf + 2 + len);
}

static uint8_t ctrl_flag(Net *n, uint8_t cmd, bool on)
{
    uint8_t v = on;

    return ctrl_cmd(n, VIRTIO_NET_CTRL_RX, cmd, &v, 1);
}

static void guest_mac(Net *n, uint8_t *mac)
{
    for (unsigned i = 0; i < ETH_ALEN; i++) {
        mac[i] = qvirtio_cfg_readb(&n->dev, CFG(mac) + i);
    }
}

static void expect_needs_reset(Net *n)
{
    int64_t deadline = g_get_monotonic_time() / 1000 + TIMEOUT_MS;

    while (!(qvirtio_get_status(&n->dev) & VIRTIO_CONFIG_S_NEEDS_RESET)) {
        if (g_get_monotonic_time() / 1000 > deadline) {
            qt_fail("no NEEDS_RESET within %d ms (status 0x%x)", TIMEOUT_MS,
                    qvirtio_get_status(&n->dev));
        }
        g_usleep(1000);
    }
    if (!qvirtio_wait_config_msi(&n->dev, TIMEOUT_MS)) {
        qt_fail("NEEDS_RESET without a configuration-change interrupt");
    }
}

/* ---- identity and configuration (no backend needed) ---- */

static void start_plain(Net *n, const char *args)
{
    memset(n, 0, sizeof(*n));
    n->pkt = n->qmp = -1;
    n->s = qt_start("-m %llu %s", (unsigned long long)(RAM_SIZE >> 20),
                    args);
    qt_alloc_init(&n->alloc, RAM_SIZE);
    if (!qvirtio_pci_find(&n->dev, n->s, &n->alloc, net_ids, 0)) {
        qt_fail("no virtio-net function on bus 0");
    }
}

static void test_identity(const void *data)
{
    Net n;
    uint8_t mac[6];
    uint64_t f;

    (void)data;
    start_plain(&n, "-device virtio-net-pci,disable-legacy=on");
    QT_ASSERT_EQ(qt_pci_config_readw(n.s, 0, n.dev.devfn, 2), 0x1041);
    QT_ASSERT_EQ(qt_pci_config_readl(n.s, 0, n.dev.devfn, 8) >> 8,
                 0x020000);
    QT_ASSERT_EQ(n.dev.msix_vectors, 4);
    QT_ASSERT_EQ(qvirtio_num_queues(&n.dev), 3);
    QT_ASSERT_EQ(qvirtio_queue_max_size(&n.dev, 0), 256);
    QT_ASSERT_EQ(qvirtio_queue_max_size(&n.dev, 1), 256);
    QT_ASSERT_EQ(qvirtio_queue_max_size(&n.dev, 2), 64);
    f = qvirtio_device_features(&n.dev);
    for (unsigned bit = 0; bit < 64; bit++) {
        static const uint64_t want = NET_FEATURES | F(VIRTIO_F_VERSION_1) |
                                     F(VIRTIO_NET_F_MRG_RXBUF);
        /* Without a vnet header there is nothing to offload. */
        static const uint64_t never = OFFLOADS | F(VIRTIO_NET_F_MQ) |
                                      F(VIRTIO_NET_F_MTU);

        if ((want & F(bit)) && !(f & F(bit))) {
            qt_fail("feature bit %u not offered (0x%" PRIx64 ")", bit, f);
        }
        if ((never & F(bit)) && (f & F(bit))) {
            qt_fail("feature bit %u offered (0x%" PRIx64 ")", bit, f);
        }
    }
    guest_mac(&n, mac);
    QT_ASSERT(!memcmp(mac, "\x52\x54\x00\x12\x34\x56", 6));
    QT_ASSERT_EQ(qvirtio_cfg_readw(&n.dev, CFG(status)),
                 VIRTIO_NET_S_LINK_UP);
    qt_quit(n.s);
}

static void test_config(const void *data)
{
    Net n;
    uint8_t mac[6];
    uint64_t f;

    (void)data;
    start_plain(&n, "-device virtio-net-pci,mac=02:11:22:33:44:55,"
                "mq=on,host_mtu=9000,rx_queue_size=1024,tx_queue_size=512,"
                "vectors=7,mrg_rxbuf=off,ctrl_vlan=off "
                "-device virtio-net-pci -device virtio-net-pci");
    f = qvirtio_device_features(&n.dev);
    QT_ASSERT(f & F(VIRTIO_NET_F_MQ));
    QT_ASSERT(f & F(VIRTIO_NET_F_MTU));
    QT_ASSERT(!(f & F(VIRTIO_NET_F_MRG_RXBUF)));
    QT_ASSERT(!(f & F(VIRTIO_NET_F_CTRL_VLAN)));
    QT_ASSERT_EQ(n.dev.msix_vectors, 7);
    QT_ASSERT_EQ(qvirtio_queue_max_size(&n.dev, 0), 1024);
    /* tx_queue_size is for vhost-user backends only (QEMU's rule). */
    QT_ASSERT_EQ(qvirtio_queue_max_size(&n.dev, 1), 256);
    QT_ASSERT_EQ(qvirtio_cfg_readw(&n.dev, CFG(mtu)), 9000);
    guest_mac(&n, mac);
    QT_ASSERT(!memcmp(mac, "\x02\x11\x22\x33\x44\x55", 6));
    /* The next NICs take QEMU's default series. */
    for (unsigned i = 1; i < 3; i++) {
        QVirtioDev d;

        QT_ASSERT(qvirtio_pci_find(&d, n.s, &n.alloc, net_ids, i));
        for (unsigned b = 0; b < ETH_ALEN; b++) {
            mac[b] = qvirtio_cfg_readb(&d, CFG(mac) + b);
        }
        QT_ASSERT(!memcmp(mac, "\x52\x54\x00\x12\x34", 5));
        QT_ASSERT_EQ(mac[5], 0x56 + i - 1);
    }
    qt_quit(n.s);
}

/* Without a backend the device works and frames vanish, as in QEMU. */
static void test_unconnected(const void *data)
{
    struct virtio_net_hdr_v1 h = { 0 };
    uint8_t f[64];
    Net n;

    (void)data;
    start_plain(&n, "-device virtio-net-pci");
    net_init(&n, NET_FEATURES, 1, 1);
    post_rx(&n, 0, 4, RX_BUF_LEN);
    for (unsigned i = 0; i < 3; i++) {
        guest_tx(&n, 0, &h, f, test_frame(f, host_mac, host_mac, i, 60));
    }
    expect_no_rx(&n, 0);
    QT_ASSERT_EQ(qvirtio_get_status(&n.dev) & VIRTIO_CONFIG_S_NEEDS_RESET,
                 0);
    qt_quit(n.s);
}

/* ---- frames both ways ---- */

/* Guest -> tap: the bytes arrive unchanged, the header is gone. */
static void tx_roundtrip(Net *n, unsigned pair, unsigned tag, size_t len)
{
    struct virtio_net_hdr_v1 h = { 0 };
    uint8_t f[1600], got[2048];
    uint8_t mac[6];
    ssize_t r;

    guest_mac(n, mac);
    test_frame(f, host_mac, mac, tag, len);
    guest_tx(n, pair, &h, f, len);
    r = host_recv(n, ETH_P_TEST, 0, got, sizeof(got), TIMEOUT_MS);
    if (r < 0) {
        qt_fail("frame %u never reached %s", tag, IFNAME);
    }
    QT_ASSERT_EQ(r, len);
    QT_ASSERT(!memcmp(got, f, len));
}

/* Tap -> guest on @pair: a zeroed header with num_buffers 1. */
static void rx_roundtrip(Net *n, unsigned pair, unsigned tag, size_t len)
{
    struct virtio_net_hdr_v1 h;
    uint8_t f[1600], got[RX_BUF_LEN];
    uint8_t mac[6];
    uint32_t r;

    guest_mac(n, mac);
    test_frame(f, mac, host_mac, tag, len);
    host_send(n, f, len);
    r = wait_rx(n, pair, &h, got, sizeof(got));
    QT_ASSERT_EQ(r, len);
    QT_ASSERT(!memcmp(got, f, len));
    QT_ASSERT_EQ(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM, 0);
    QT_ASSERT_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    QT_ASSERT_EQ(GUINT16_FROM_LE(h.num_buffers), 1);
}

static void test_traffic(const void *data)
{
    const char *tap_opts = data;
    Net n;

    net_start(&n, tap_opts, NULL, false);
    net_init(&n, NET_FEATURES, 1, 1);
    post_rx(&n, 0, 16, RX_BUF_LEN);
    for (unsigned i = 0; i < 8; i++) {
        tx_roundtrip(&n, 0, 100 + i, 60 + 180 * i);
        rx_roundtrip(&n, 0, 200 + i, 60 + 190 * i);
    }
    if (!qvirtq_wait_msi(&n.dev.vq[0], TIMEOUT_MS)) {
        qt_fail("receive completions without an MSI-X message");
    }
    net_finish(&n);
}

/* Mergeable buffers: a frame larger than one buffer spans several. */
static void test_mergeable(const void *data)
{
    struct virtio_net_hdr_v1 h;
    uint8_t f[1600], got[1600], mac[6];
    QVirtQueue *vq;
    uint32_t id, len, off = 0;
    Net n;

    (void)data;
    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES | F(VIRTIO_NET_F_MRG_RXBUF), 1, 1);
    post_rx(&n, 0, 8, 512);
    guest_mac(&n, mac);
    test_frame(f, mac, host_mac, 7, 1500);
    host_send(&n, f, 1500);
    vq = &n.dev.vq[0];
    /* 12 + 1500 bytes: 512 + 512 + 488. */
    for (unsigned i = 0; i < 3; i++) {
        uint64_t buf;

        if (!qvirtq_wait_used(vq, &id, &len, TIMEOUT_MS)) {
            qt_fail("buffer %u of the frame never came", i);
        }
        buf = n.rx_buf[0][id];
        if (i == 0) {
            qt_bufread(n.s, buf, &h, HDR_LEN);
            QT_ASSERT_EQ(GUINT16_FROM_LE(h.num_buffers), 3);
            QT_ASSERT_EQ(len, 512);
            qt_bufread(n.s, buf + HDR_LEN, got, len - HDR_LEN);
            off = len - HDR_LEN;
        } else {
            QT_ASSERT_EQ(len, i == 1 ? 512 : 1512 - 1024);
            qt_bufread(n.s, buf, got + off, len);
            off += len;
        }
    }
    QT_ASSERT_EQ(off, 1500);
    QT_ASSERT(!memcmp(got, f, 1500));
    net_finish(&n);
}

/* A frame larger than the one buffer posted is dropped, not split. */
static void test_small_buffers(const void *data)
{
    uint8_t f[1600];
    Net n;

    (void)data;
    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES, 1, 1);
    post_rx(&n, 0, 1, 512);
    host_send(&n, f, test_frame(f, host_mac, host_mac, 1, 1000));
    expect_no_rx(&n, 0);
    /* The buffer is still there for a frame that fits. */
    rx_roundtrip(&n, 0, 2, 400);
    net_finish(&n);
}

/* ---- offloads ---- */

#define TSO_PAYLOAD     3000
#define TSO_MSS         1000

/* The TCP frame of the offload cases: 10.0.0.1:1000 -> 10.0.0.2:2000. */
static size_t tso_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                        struct virtio_net_hdr_v1 *h)
{
    size_t len = ip_frame(f, dst, src, IPPROTO_TCP, 1, 2, 1000, 2000,
                          TSO_PAYLOAD, true);

    memset(h, 0, sizeof(*h));
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    h->hdr_len = GUINT16_TO_LE(ETH_HLEN + 20 + 20);
    h->gso_size = GUINT16_TO_LE(TSO_MSS);
    h->csum_start = GUINT16_TO_LE(ETH_HLEN + 20);
    h->csum_offset = GUINT16_TO_LE(offsetof(struct tcphdr, check));
    return len;
}

/*
 * Guest -> tap with NEEDS_CSUM and TSO: the kernel takes the frame as
 * one GSO packet with a partial checksum, as its own vnet header on the
 * AF_PACKET side shows.
 */
static void test_tx_offload(const void *data)
{
    struct virtio_net_hdr_v1 h;
    struct virtio_net_hdr *kh;
    uint8_t f[4096], got[4096 + 16], mac[6];
    size_t len;
    ssize_t r;
    Net n;

    (void)data;
    net_start(&n, NULL, NULL, false);
    QT_ASSERT((qvirtio_device_features(&n.dev) & OFFLOADS) == OFFLOADS);
    net_init(&n, NET_FEATURES | OFFLOADS, 1, 1);
    close(n.pkt);
    n.pkt = packet_open(&n, true);
    guest_mac(&n, mac);
    len = tso_frame(f, host_mac, mac, &h);
    guest_tx(&n, 0, &h, f, len);
    r = host_recv(&n, ETH_P_IP, sizeof(*kh), got, sizeof(got), TIMEOUT_MS);
    if (r < 0) {
        qt_fail("the TSO frame never reached %s", IFNAME);
    }
    kh = (struct virtio_net_hdr *)got;
    QT_ASSERT_EQ(r, sizeof(*kh) + len);
    QT_ASSERT_EQ(kh->gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    QT_ASSERT_EQ(kh->gso_size, TSO_MSS);
    QT_ASSERT(kh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
    QT_ASSERT_EQ(kh->csum_start, ETH_HLEN + 20);
    QT_ASSERT_EQ(kh->csum_offset, offsetof(struct tcphdr, check));
    QT_ASSERT(!memcmp(got + sizeof(*kh), f, len));
    net_finish(&n);
}

/* Is the TCP checksum of the IPv4 frame @f right? */
static bool tcp_csum_ok(const uint8_t *f, size_t len)
{
    /* The last bytes of the source and destination addresses. */
    size_t l4len = len - ETH_HLEN - 20;
    uint32_t pseudo = 0x0a00 * 2 + f[ETH_HLEN + 15] + f[ETH_HLEN + 19] +
                      IPPROTO_TCP + l4len;

    return ip_checksum(f + ETH_HLEN + 20, l4len, pseudo) == 0xffff;
}

/*
 * Tap -> guest of a 3000-byte TSO frame: a guest that negotiated
 * GUEST_CSUM and GUEST_TSO4 gets it whole with its GSO header (the tap's
 * offloads were set from the features); one that did not gets MSS-sized
 * segments with checksums filled in by the kernel.
 */
static void test_rx_offload(const void *data)
{
    bool offload = data != NULL;
    uint8_t f[4096], got[8192], mac[6];
    struct virtio_net_hdr_v1 h, gh;
    size_t len, total = 0;
    uint32_t r;
    Net n;

    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES | (offload ? OFFLOADS : 0), 1, 1);
    close(n.pkt);
    n.pkt = packet_open(&n, true);
    post_rx(&n, 0, 8, 8192);
    guest_mac(&n, mac);
    len = tso_frame(f, mac, host_mac, &h);
    memcpy(got, &h, sizeof(struct virtio_net_hdr));
    memcpy(got + sizeof(struct virtio_net_hdr), f, len);
    host_send(&n, got, sizeof(struct virtio_net_hdr) + len);
    if (offload) {
        r = wait_rx(&n, 0, &gh, got, sizeof(got));
        QT_ASSERT_EQ(r, len);
        QT_ASSERT_EQ(gh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
        QT_ASSERT_EQ(GUINT16_FROM_LE(gh.gso_size), TSO_MSS);
        QT_ASSERT(gh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
        QT_ASSERT(!memcmp(got + 54, f + 54, TSO_PAYLOAD));
    } else {
        for (unsigned seg = 0; total < TSO_PAYLOAD; seg++) {
            r = wait_rx(&n, 0, &gh, got, sizeof(got));
            QT_ASSERT_EQ(gh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
            QT_ASSERT(!(gh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM));
            QT_ASSERT(r > 54 && r - 54 <= TSO_MSS);
            QT_ASSERT(tcp_csum_ok(got, r));
            QT_ASSERT(!memcmp(got + 54, f + 54 + total, r - 54));
            total += r - 54;
            QT_ASSERT(seg < 3);
        }
    }
    net_finish(&n);
}

/* ---- receive filter through the control queue ---- */

/* @drop is filtered out: the marker sent after it is what arrives. */
static void expect_filtered(Net *n, const uint8_t *drop_dst, unsigned tag)
{
    uint8_t f[128], got[RX_BUF_LEN], mac[6];
    struct virtio_net_hdr_v1 h;

    guest_mac(n, mac);
    host_send(n, f, test_frame(f, drop_dst, host_mac, tag, 80));
    host_send(n, f, test_frame(f, mac, host_mac, tag + 1, 80));
    QT_ASSERT_EQ(wait_rx(n, 0, &h, got, sizeof(got)), 80);
    QT_ASSERT_EQ(frame_tag(got), tag + 1);
}

static void expect_passed(Net *n, const uint8_t *dst, unsigned tag)
{
    uint8_t f[128], got[RX_BUF_LEN];
    struct virtio_net_hdr_v1 h;

    host_send(n, f, test_frame(f, dst, host_mac, tag, 80));
    QT_ASSERT_EQ(wait_rx(n, 0, &h, got, sizeof(got)), 80);
    QT_ASSERT_EQ(frame_tag(got), tag);
}

static uint8_t mac_table_set(Net *n, const uint8_t *uni, uint32_t nuni,
                             const uint8_t *multi, uint32_t nmulti)
{
    uint8_t buf[8 + 6 * 8];
    uint32_t le;
    size_t off = 0;

    le = GUINT32_TO_LE(nuni);
    memcpy(buf, &le, 4);
    if (nuni) {
        memcpy(buf + 4, uni, 6 * nuni);
    }
    off = 4 + 6 * nuni;
    le = GUINT32_TO_LE(nmulti);
    memcpy(buf + off, &le, 4);
    if (nmulti) {
        memcpy(buf + off + 4, multi, 6 * nmulti);
    }
    off += 4 + 6 * nmulti;
    return ctrl_cmd(n, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET,
                    buf, off);
}

static void test_filter(const void *data)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    static const uint8_t new_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
    static const uint8_t third[6] = { 0x02, 0, 0, 0, 0, 0x77 };
    uint8_t mac[6];
    Net n;

    (void)data;
    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES, 1, 1);
    post_rx(&n, 0, 64, RX_BUF_LEN);
    guest_mac(&n, mac);
    expect_passed(&n, other_mac, 10);           /* promiscuous at reset */
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_PROMISC, false),
                 VIRTIO_NET_OK);
    expect_filtered(&n, other_mac, 20);
    expect_passed(&n, bcast, 30);
    expect_filtered(&n, mcast, 40);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_NOBCAST, true),
                 VIRTIO_NET_OK);
    expect_filtered(&n, bcast, 50);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_NOBCAST, false),
                 VIRTIO_NET_OK);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_ALLMULTI, true),
                 VIRTIO_NET_OK);
    expect_passed(&n, mcast, 60);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_ALLMULTI, false),
                 VIRTIO_NET_OK);
    /* The MAC table: one unicast and one multicast address. */
    QT_ASSERT_EQ(mac_table_set(&n, other_mac, 1, mcast, 1), VIRTIO_NET_OK);
    expect_passed(&n, other_mac, 70);
    expect_passed(&n, mcast, 80);
    expect_filtered(&n, third, 90);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_NOMULTI, true),
                 VIRTIO_NET_OK);
    expect_filtered(&n, mcast, 100);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_NOMULTI, false),
                 VIRTIO_NET_OK);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_ALLUNI, true),
                 VIRTIO_NET_OK);
    expect_passed(&n, third, 110);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_ALLUNI, false),
                 VIRTIO_NET_OK);
    QT_ASSERT_EQ(mac_table_set(&n, NULL, 0, NULL, 0), VIRTIO_NET_OK);
    expect_filtered(&n, other_mac, 120);
    /* A new primary address: config space and the filter follow. */
    QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_ADDR_SET, new_mac, 6),
                 VIRTIO_NET_OK);
    guest_mac(&n, mac);
    QT_ASSERT(!memcmp(mac, new_mac, 6));
    expect_passed(&n, new_mac, 130);
    expect_filtered(&n, (const uint8_t *)"\x52\x54\x00\x12\x34\x56", 140);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_PROMISC, true),
                 VIRTIO_NET_OK);
    expect_passed(&n, third, 150);
    net_finish(&n);
}

/* VLAN filtering: tagged frames pass only for VLANs the driver added. */
static void test_vlan(const void *data)
{
    uint8_t f[128], got[RX_BUF_LEN], mac[6];
    struct virtio_net_hdr_v1 h;
    uint16_t vid;
    Net n;

    (void)data;
    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES, 1, 1);
    post_rx(&n, 0, 16, RX_BUF_LEN);
    guest_mac(&n, mac);
    QT_ASSERT_EQ(ctrl_flag(&n, VIRTIO_NET_CTRL_RX_PROMISC, false),
                 VIRTIO_NET_OK);
    for (unsigned pass = 0; pass < 2; pass++) {
        test_frame(f, mac, host_mac, 300 + pass, 80);
        /* 802.1Q tag for VLAN 5 in front of the EtherType. */
        memmove(f + 16, f + 12, 80 - 12);
        f[12] = 0x81;
        f[13] = 0x00;
        f[14] = 0x00;
        f[15] = 0x05;
        host_send(&n, f, 84);
        if (!pass) {
            host_send(&n, f, test_frame(f, mac, host_mac, 310, 80));
            QT_ASSERT_EQ(wait_rx(&n, 0, &h, got, sizeof(got)), 80);
            QT_ASSERT_EQ(frame_tag(got), 310);
            vid = GUINT16_TO_LE(5);
            QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_VLAN,
                                  VIRTIO_NET_CTRL_VLAN_ADD, &vid, 2),
                         VIRTIO_NET_OK);
        } else {
            QT_ASSERT_EQ(wait_rx(&n, 0, &h, got, sizeof(got)), 84);
            QT_ASSERT_EQ(got[15], 5);
        }
    }
    vid = GUINT16_TO_LE(5000);
    QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD,
                          &vid, 2), VIRTIO_NET_ERR);
    net_finish(&n);
}

/* Well-formed commands with bad contents: VIRTIO_NET_ERR, device fine. */
static void test_ctrl_errors(const void *data)
{
    static const uint8_t junk[100] = { 1, 2, 3 };
    uint8_t two[2] = { 1, 1 };
    uint32_t huge = GUINT32_TO_LE(1000);
    uint16_t pairs = GUINT16_TO_LE(1);
    Net n;

    (void)data;
    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES, 1, 1);
    post_rx(&n, 0, 8, RX_BUF_LEN);
    QT_ASSERT_EQ(ctrl_cmd(&n, 0xff, 0xff, junk, sizeof(junk)),
                 VIRTIO_NET_ERR);
    QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_RX, 99, two, 1),
                 VIRTIO_NET_ERR);
    QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_RX,
                          VIRTIO_NET_CTRL_RX_PROMISC, NULL, 0),
                 VIRTIO_NET_ERR);
    QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_VLAN,
                          VIRTIO_NET_CTRL_VLAN_ADD, two, 1),
                 VIRTIO_NET_ERR);
    QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_TABLE_SET, &huge, 4),
                 VIRTIO_NET_ERR);
    QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_MAC,
                          VIRTIO_NET_CTRL_MAC_ADDR_SET, two, 2),
                 VIRTIO_NET_ERR);
    /* MQ was not negotiated. */
    QT_ASSERT_EQ(ctrl_cmd(&n, VIRTIO_NET_CTRL_MQ,
                          VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
                 VIRTIO_NET_ERR);
    QT_ASSERT_EQ(qvirtio_get_status(&n.dev) & VIRTIO_CONFIG_S_NEEDS_RESET,
                 0);
    tx_roundtrip(&n, 0, 1, 100);
    rx_roundtrip(&n, 0, 2, 100);
    net_finish(&n);
}

/* ---- multiqueue ---- */

static uint8_t set_pairs(Net *n, uint16_t pairs)
{
    uint16_t le = GUINT16_TO_LE(pairs);

    return ctrl_cmd(n, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
                    &le, sizeof(le));
}

/*
 * The guest sends UDP flow @port on @pair; the host's reply to it
 * (addresses and ports swapped) must come back on @expect_pair: the tap
 * steers a flow's replies to the queue the flow was last sent from.
 */
static void flow_roundtrip(Net *n, unsigned pair, unsigned expect_pair,
                           uint16_t port)
{
    struct virtio_net_hdr_v1 h = { 0 };
    uint8_t f[256], got[RX_BUF_LEN], mac[6];
    size_t len;

    guest_mac(n, mac);
    len = ip_frame(f, host_mac, mac, IPPROTO_UDP, 1, 2, port, 7, 64, false);
    guest_tx(n, pair, &h, f, len);
    if (host_recv(n, ETH_P_IP, 0, got, sizeof(got), TIMEOUT_MS) !=
        (ssize_t)len || memcmp(got, f, len)) {
        qt_fail("flow %u from pair %u did not reach %s intact", port, pair,
                IFNAME);
    }
    len = ip_frame(f, mac, host_mac, IPPROTO_UDP, 2, 1, 7, port, 64, false);
    host_send(n, f, len);
    QT_ASSERT_EQ(wait_rx(n, expect_pair, &h, got, sizeof(got)), len);
    QT_ASSERT(!memcmp(got, f, len));
}

static void test_multiqueue(const void *data)
{
    Net n;

    (void)data;
    net_start(&n, "queues=2", "mq=on", false);
    QT_ASSERT_EQ(qvirtio_num_queues(&n.dev), 5);
    QT_ASSERT_EQ(n.dev.msix_vectors, 6);
    QT_ASSERT_EQ(qvirtio_cfg_readw(&n.dev, CFG(max_virtqueue_pairs)), 2);
    net_init(&n, NET_FEATURES | F(VIRTIO_NET_F_MQ), 2, 2);
    post_rx(&n, 0, 16, RX_BUF_LEN);
    post_rx(&n, 1, 16, RX_BUF_LEN);
    QT_ASSERT_EQ(set_pairs(&n, 0), VIRTIO_NET_ERR);
    QT_ASSERT_EQ(set_pairs(&n, 3), VIRTIO_NET_ERR);
    QT_ASSERT_EQ(set_pairs(&n, 2), VIRTIO_NET_OK);
    tx_roundtrip(&n, 0, 1, 100);
    tx_roundtrip(&n, 1, 2, 100);
    flow_roundtrip(&n, 1, 1, 5001);
    flow_roundtrip(&n, 0, 0, 5002);
    flow_roundtrip(&n, 1, 1, 5003);
    /* One pair again: the tap's second queue folds onto the first. */
    QT_ASSERT_EQ(set_pairs(&n, 1), VIRTIO_NET_OK);
    flow_roundtrip(&n, 1, 0, 5001);
    net_finish(&n);
}

/* ---- backpressure ---- */

static long vm_rss_kb(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", (int)pid);
    g_autofree char *text = NULL;
    const char *p;

    if (!g_file_get_contents(path, &text, NULL, NULL) ||
        !(p = strstr(text, "VmRSS:"))) {
        qt_fail("no VmRSS in %s", path);
    }
    return strtol(p + 6, NULL, 10);
}

/*
 * The tap's transmit drops (frames the kernel could not queue for the
 * tap's reader), from /proc/self/net/dev: sysfs shows the namespace it
 * was mounted in, this file the caller's.
 */
static uint64_t tap_tx_dropped(void)
{
    g_autofree char *text = NULL;
    const char *p;
    uint64_t v = 0;

    if (!g_file_get_contents("/proc/self/net/dev", &text, NULL, NULL) ||
        !(p = strstr(text, IFNAME ":"))) {
        qt_fail("%s not in /proc/self/net/dev", IFNAME);
    }
    p += strlen(IFNAME ":");
    /* 8 receive counters, then tx bytes, packets, errs, drop. */
    for (unsigned i = 0; i < 12; i++) {
        char *end;

        v = g_ascii_strtoull(p, &end, 10);
        p = end;
    }
    return v;
}

/*
 * No receive buffers: 20000 frames (28 MB) written into the tap do not
 * reach qvmm's memory; the tap's own queue drops them.  Posted buffers
 * then fill at once.
 */
static void test_backpressure(const void *data)
{
    uint8_t f[1400], got[RX_BUF_LEN], mac[6];
    struct virtio_net_hdr_v1 h;
    long rss0, rss1;
    uint64_t drop0;
    unsigned sent = 0;
    Net n;

    (void)data;
    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES, 1, 1);
    guest_mac(&n, mac);
    g_usleep(200 * 1000);
    rss0 = vm_rss_kb(qt_pid(n.s));
    drop0 = tap_tx_dropped();
    for (unsigned i = 0; i < 20000; i++) {
        test_frame(f, mac, host_mac, i, sizeof(f));
        sent += send(n.pkt, f, sizeof(f), 0) == sizeof(f);
    }
    g_usleep(500 * 1000);
    rss1 = vm_rss_kb(qt_pid(n.s));
    qt_note("sent %u frames; VmRSS %ld -> %ld kB; tap tx_dropped +%" PRIu64,
            sent, rss0, rss1, tap_tx_dropped() - drop0);
    QT_ASSERT(sent > 10000);
    QT_ASSERT(rss1 - rss0 < 4096);
    QT_ASSERT(tap_tx_dropped() - drop0 > 10000);
    QT_ASSERT(qt_alive(n.s));
    /* The oldest frames waited in the tap: they come first, in order. */
    post_rx(&n, 0, 32, RX_BUF_LEN);
    for (unsigned i = 0; i < 32; i++) {
        QT_ASSERT_EQ(wait_rx(&n, 0, &h, got, sizeof(got)), sizeof(f));
        QT_ASSERT_EQ(frame_tag(got), i);
    }
    net_finish(&n);
}

/* ---- RX notifications ---- */

static bool rx_kicks_wanted(Net *n)
{
    QVirtQueue *vq = &n->dev.vq[0];

    return !(qt_readw(n->s, vq->used) & VRING_USED_F_NO_NOTIFY);
}

/*
 * The device asks for RX kicks only while it waits for buffers: a
 * driver posting buffers it already has room for costs no exit.
 */
static void test_rx_kicks(const void *data)
{
    uint8_t f[200], got[RX_BUF_LEN], mac[6];
    struct virtio_net_hdr_v1 h;
    int64_t deadline;
    Net n;

    (void)data;
    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES & ~F(VIRTIO_RING_F_EVENT_IDX), 1, 1);
    guest_mac(&n, mac);
    post_rx(&n, 0, 3, RX_BUF_LEN);
    rx_roundtrip(&n, 0, 1, 100);
    QT_ASSERT(!rx_kicks_wanted(&n));            /* two buffers on hand */
    rx_roundtrip(&n, 0, 2, 100);
    rx_roundtrip(&n, 0, 3, 100);
    /* Out of buffers with a frame waiting: now it wants a kick. */
    test_frame(f, mac, host_mac, 4, sizeof(f));
    host_send(&n, f, sizeof(f));
    deadline = g_get_monotonic_time() + TIMEOUT_MS * 1000;
    while (!rx_kicks_wanted(&n) && g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    QT_ASSERT(rx_kicks_wanted(&n));
    expect_no_rx(&n, 0);
    post_rx(&n, 0, 2, RX_BUF_LEN);              /* kicks, as it asked */
    QT_ASSERT_EQ(wait_rx(&n, 0, &h, got, sizeof(got)), sizeof(f));
    QT_ASSERT_EQ(frame_tag(got), 4);
    QT_ASSERT(!rx_kicks_wanted(&n));
    net_finish(&n);
}

/* ---- link state ---- */

/* set_link @name @up; the reply must be a return. */
static void set_link(int qmp, const char *name, bool up)
{
    g_autofree char *args = g_strdup_printf(
        "{\"name\": \"%s\", \"up\": %s}", name, up ? "true" : "false");
    g_autofree char *reply = qmp_client_cmd_args(qmp, "set_link", args);

    if (!strstr(reply, "\"return\"")) {
        qt_fail("set_link %s: %s", args, reply);
    }
}

/* Take the link down through @name and bring it back, checking what
 * the guest sees each time. */
static void link_cycle(Net *n, const char *name)
{
    struct virtio_net_hdr_v1 h = { 0 };
    uint8_t f[128], got[256], mac[6];

    guest_mac(n, mac);
    QT_ASSERT_EQ(qvirtio_cfg_readw(&n->dev, CFG(status)),
                 VIRTIO_NET_S_LINK_UP);
    set_link(n->qmp, name, false);
    if (!qvirtio_wait_config_msi(&n->dev, TIMEOUT_MS)) {
        qt_fail("link down without a configuration-change interrupt");
    }
    QT_ASSERT_EQ(qvirtio_cfg_readw(&n->dev, CFG(status)), 0);
    /* Down: transmitted frames are consumed and lost, nothing comes in. */
    guest_tx(n, 0, &h, f, test_frame(f, host_mac, mac, 1, 80));
    QT_ASSERT(host_recv(n, ETH_P_TEST, 0, got, sizeof(got), QUIET_MS) < 0);
    host_send(n, f, test_frame(f, mac, host_mac, 2, 80));
    expect_no_rx(n, 0);
    set_link(n->qmp, name, true);
    if (!qvirtio_wait_config_msi(&n->dev, TIMEOUT_MS)) {
        qt_fail("link up without a configuration-change interrupt");
    }
    QT_ASSERT_EQ(qvirtio_cfg_readw(&n->dev, CFG(status)),
                 VIRTIO_NET_S_LINK_UP);
    tx_roundtrip(n, 0, 3, 80);
    rx_roundtrip(n, 0, 4, 80);
}

/* set_link on the NIC, then on its netdev (which takes the NIC along,
 * as in QEMU): the STATUS bit and a config interrupt each time. */
static void test_link(const void *data)
{
    Net n;

    (void)data;
    net_start(&n, NULL, "id=nic0", true);
    net_init(&n, NET_FEATURES, 1, 1);
    post_rx(&n, 0, 8, RX_BUF_LEN);
    n.qmp = qmp_client_open(n.qmp_path);
    qmp_client_handshake(n.qmp);
    link_cycle(&n, "nic0");
    link_cycle(&n, "n0");
    net_finish(&n);
}

/* ---- hostile drivers ---- */

/* qvmm lives, and after a reset the device moves frames again. */
static void expect_recovery(Net *n)
{
    QT_ASSERT(qt_alive(n->s));
    QT_ASSERT_EQ(qt_pci_config_readw(n->s, 0, n->dev.devfn, 0), 0x1af4);
    net_init(n, NET_FEATURES, 1, 1);
    QT_ASSERT_EQ(qvirtio_get_status(&n->dev) & VIRTIO_CONFIG_S_NEEDS_RESET,
                 0);
    post_rx(n, 0, 4, RX_BUF_LEN);
    tx_roundtrip(n, 0, 900, 120);
    rx_roundtrip(n, 0, 901, 120);
}

enum {
    BAD_RX_READABLE, BAD_RX_SHORT, BAD_TX_WRITABLE, BAD_TX_SHORT,
    BAD_TX_OUTSIDE_RAM, BAD_CTRL_NO_ACK, BAD_CTRL_NO_HEADER, BAD_MAX
};

/* Put one malformed chain on the queue the case names. */
static void bad_chain(Net *n, unsigned which)
{
    uint64_t buf = qt_alloc(&n->alloc, n->s, 4096, 64);
    uint8_t f[128], mac[6];
    QVirtQueue *vq;
    QVirtBuf b[2];
    unsigned nb = 2;

    guest_mac(n, mac);
    switch (which) {
    case BAD_RX_READABLE:
    case BAD_RX_SHORT:
        vq = &n->dev.vq[0];
        b[0] = (QVirtBuf){ buf, which == BAD_RX_SHORT ? 8 : 64,
                           which == BAD_RX_SHORT };
        b[1] = (QVirtBuf){ buf + 1024, 2048, true };
        nb = which == BAD_RX_SHORT ? 1 : 2;
        break;
    case BAD_TX_WRITABLE:
    case BAD_TX_SHORT:
    case BAD_TX_OUTSIDE_RAM:
        vq = &n->dev.vq[1];
        qt_bufwrite(n->s, buf + HDR_LEN,
                    f, test_frame(f, host_mac, mac, 5, 80));
        b[0] = (QVirtBuf){ which == BAD_TX_OUTSIDE_RAM ? 0x4000000000ULL
                                                       : buf,
                           which == BAD_TX_SHORT ? 6 : HDR_LEN, false };
        b[1] = (QVirtBuf){ buf + HDR_LEN, 80, which == BAD_TX_WRITABLE };
        nb = which == BAD_TX_SHORT ? 1 : 2;
        break;
    default:
        vq = n->ctrl;
        b[0] = (QVirtBuf){ buf, which == BAD_CTRL_NO_HEADER ? 1 : 3,
                           false };
        b[1] = (QVirtBuf){ buf + 64, 1, true };
        nb = which == BAD_CTRL_NO_ACK ? 1 : 2;
        break;
    }
    qvirtq_add_chain(vq, b, nb);
    qvirtq_kick(vq);
    if (vq == &n->dev.vq[0]) {
        /* The device looks at receive buffers when a frame comes. */
        host_send(n, f, test_frame(f, mac, host_mac, 6, 80));
    }
}

static void test_hostile(const void *data)
{
    unsigned which = *(const unsigned *)data;
    Net n;

    net_start(&n, NULL, NULL, false);
    net_init(&n, NET_FEATURES, 1, 1);
    bad_chain(&n, which);
    expect_needs_reset(&n);
    expect_recovery(&n);
    net_finish(&n);
}

/* ---- property errors ---- */

typedef struct BadProp {
    const char *args;           /* after the VMM's usual options */
    const char *error;          /* after "BINARY: -device ...: " */
} BadProp;

static const BadProp bad_props[] = {
    { "rx_queue_size=100", "Invalid rx_queue_size (= 100), must be a power "
      "of 2 between 256 and 1024." },
    { "rx_queue_size=2048", "Invalid rx_queue_size (= 2048), must be a "
      "power of 2 between 256 and 1024." },
    { "tx_queue_size=128", "Invalid tx_queue_size (= 128), must be a power "
      "of 2 between 256 and 1024" },
    { "tx_queue_size=768", "Invalid tx_queue_size (= 768), must be a power "
      "of 2 between 256 and 1024" },
    { "mac=52:54:00:12:34", "Property 'virtio-net-device.mac' doesn't take "
      "value '52:54:00:12:34'" },
    { "netdev=nope", "Property 'virtio-net-device.netdev' can't find value "
      "'nope'" },
    { "mq=maybe", "Parameter 'mq' expects 'on' or 'off'" },
    { "host_mtu=70000", "Parameter 'host_mtu' expects uint16_t" },
    { "vectors=x", "Parameter 'vectors' expects integer" },
    { "iothread=io0", "Property 'virtio-net-pci.iothread' not found" },
    { "bootindex=x", "Parameter 'bootindex' expects integer" },
    { "bootindex=99999999999", "Parameter 'bootindex' expects int32_t" },
};

static void expect_error(const char *extra, const char *opt,
                         const char *error)
{
    g_autofree char *err = NULL;
    g_autofree char *want = NULL;
    const char *colon;
    int code = qt_run_vmm(extra, &err);

    colon = strchr(err, ':');
    want = g_strdup_printf(" %s: %s\n", opt, error);
    if (code != 1 || !colon || strcmp(colon + 1, want)) {
        qt_fail("%s: exit %d, stderr \"%s\", wanted 1 and \"...:%s\"",
                extra, code, err, want);
    }
}

static void test_bad_props(const void *data)
{
    (void)data;
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_props); i++) {
        g_autofree char *opt = g_strdup_printf("-device virtio-net-pci,%s",
                                               bad_props[i].args);
        g_autofree char *extra = g_strdup_printf("-device "
                                                 "virtio-net-pci,%s",
                                                 bad_props[i].args);

        expect_error(extra, opt, bad_props[i].error);
    }
}

/* One backend, two NICs: the second is refused. */
static void test_netdev_in_use(const void *data)
{
    (void)data;
    ns_enter();
    expect_error("-netdev tap,id=n0,ifname=" IFNAME ",script=no,"
                 "downscript=no -device virtio-net-pci,netdev=n0 "
                 "-device virtio-net-pci,netdev=n0",
                 "-device virtio-net-pci,netdev=n0",
                 "Property 'virtio-net-device.netdev' can't take value "
                 "'n0', it's in use");
    ns_leave();
}

int main(int argc, char **argv)
{
    static const unsigned bad[BAD_MAX] = { 0, 1, 2, 3, 4, 5, 6 };
    static const char *const bad_names[BAD_MAX] = {
        "hostile/rx-readable", "hostile/rx-short", "hostile/tx-writable",
        "hostile/tx-short", "hostile/tx-outside-ram", "hostile/ctrl-no-ack",
        "hostile/ctrl-no-header",
    };
    int ret;

    signal(SIGTERM, ns_on_signal);
    signal(SIGINT, ns_on_signal);
    qt_test_add("net/identity", test_identity, NULL, QT_BOTH, NULL);
    qt_test_add("net/config", test_config, NULL, QT_BOTH, NULL);
    qt_test_add("net/bad-props", test_bad_props, NULL, QT_BOTH, NULL);
    qt_test_add("net/netdev-in-use", test_netdev_in_use, NULL, QT_BOTH,
                NULL);
    qt_test_add("net/unconnected", test_unconnected, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/traffic", test_traffic, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/traffic-no-vnet-hdr", test_traffic, "vnet_hdr=off",
                QT_QVMM_ONLY, QEMU_STOPPED);
    qt_test_add("net/mergeable", test_mergeable, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/small-buffers", test_small_buffers, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/tx-offload", test_tx_offload, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/rx-offload", test_rx_offload, "", QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/rx-no-offload", test_rx_offload, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/filter", test_filter, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/vlan", test_vlan, NULL, QT_QVMM_ONLY, QEMU_STOPPED);
    qt_test_add("net/ctrl-errors", test_ctrl_errors, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/multiqueue", test_multiqueue, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/backpressure", test_backpressure, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/rx-kicks", test_rx_kicks, NULL, QT_QVMM_ONLY,
                QEMU_STOPPED);
    qt_test_add("net/link", test_link, NULL, QT_QVMM_ONLY, QEMU_STOPPED);
    for (unsigned i = 0; i < BAD_MAX; i++) {
        qt_test_add(bad_names[i], test_hostile, &bad[i], QT_QVMM_ONLY,
                    QEMU_STOPPED);
    }
    ret = qt_test_run(argc, argv);
    ns_leave();
    return ret;
}
