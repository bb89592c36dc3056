/*
 * A polled virtio-net driver (modern virtio-pci, 1af4:1041, or the
 * transitional 1af4:1000 used in modern mode) running in ring 3: one
 * receive and one transmit queue, no offloads, no interrupts.
 *
 * Default mode, the kvm-tier test: take the MAC from the device's
 * configuration and the IPv4 address from "ip=A.B.C.D", print a ready
 * line, then answer ARP requests for that address and ICMP echo requests
 * to it.  With "pings=N" the guest ends through isa-debug-exit (NET_EXIT)
 * once it has answered N echo requests, and fails if "secs=S" seconds
 * (default 60) pass first; without pings= the time limit is the normal
 * end.  Either way it prints what it answered.
 *
 * "bench=tx64,tx1514,echo64,echo1514 peer=A.B.C.D secs=S": the guest
 * half of bench/net.py.  Once the host's start frame arrives (UDP to
 * port 9), txN floods N-byte UDP frames to the peer for S seconds, and
 * echoN sends every UDP frame for port 9 back with the MAC addresses
 * swapped for S seconds (N only names the phase: the host picks the
 * size); each phase prints what it counted.
 */
#include "guest.h"
#include "inet.h"
#include "virtio.h"
#include <linux/virtio_net.h>

#define NET_EXIT      0x31              /* VMM exit status 99 */
#define QUEUE_SIZE    256
#define BUF_SIZE      2048              /* header + the largest frame, rounded */
#define HDR_LEN       sizeof(struct virtio_net_hdr_v1)
#define MAX_FRAME     1514              /* no jumbo frames: no MTU feature */
#define BENCH_PORT    9                 /* UDP discard */
#define STALL_SECS    10                /* the longest we wait for the device */

struct counters {
    uint64_t rx, arp_replies, echo_replies, ignored, malformed;
};

static struct virtio_dev dev;
static struct virtq rxq, txq;
static uint8_t rx_ring[VIRTQ_MEM_SIZE(QUEUE_SIZE)] __attribute__((aligned(4096)));
static uint8_t tx_ring[VIRTQ_MEM_SIZE(QUEUE_SIZE)] __attribute__((aligned(4096)));
static uint8_t rx_bufs[QUEUE_SIZE][BUF_SIZE] __attribute__((aligned(4096)));
static uint8_t tx_bufs[QUEUE_SIZE][BUF_SIZE] __attribute__((aligned(4096)));
static uint16_t tx_free[QUEUE_SIZE];
static bool tx_busy[QUEUE_SIZE];
static unsigned tx_nfree, tx_unkicked;
static uint8_t my_mac[ETH_ALEN], my_ip[4];
static struct counters cnt;
static uint64_t tsc_rate_khz;

static uint64_t ticks_per_sec(void)
{
    /* Before calibration, assume 4 GHz: time limits only get longer. */
    return (tsc_rate_khz ? tsc_rate_khz : 4000000) * 1000;
}

/* ---- transmit ---- */

/* Take back the buffers the device has sent; a bad id ends the test. */
static unsigned tx_reclaim(void)
{
    uint32_t id, len;
    unsigned n = 0;
    int r;

    while ((r = virtq_pop(&txq, &id, &len)) > 0) {
        if (id >= txq.size || !tx_busy[id]) {
            guest_fail("virtio-net: TX used ring returned descriptor %u, "
                       "which is not in flight", id);
        }
        tx_busy[id] = false;
        tx_free[tx_nfree++] = (uint16_t)id;
        n++;
    }
    if (r < 0) {
        guest_fail("virtio-net: TX used index ran ahead of the ring");
    }
    return n;
}

/* A free TX slot's frame area, or NULL when all are in flight. */
static uint8_t *tx_alloc(unsigned *slot)
{
    if (!tx_nfree && !tx_reclaim()) {
        return NULL;
    }
    *slot = tx_free[--tx_nfree];
    return tx_bufs[*slot] + HDR_LEN;
}

/* Make slot's frame of @len bytes available; tx_flush() notifies. */
static void tx_commit(unsigned slot, uint32_t len)
{
    txq.desc[slot] = (struct vring_desc) { (uintptr_t)tx_bufs[slot],
                                           (uint32_t)HDR_LEN + len, 0, 0 };
    tx_busy[slot] = true;
    virtq_push(&txq, (uint16_t)slot);
    tx_unkicked++;
}

static void tx_flush(void)
{
    if (tx_unkicked) {
        virtq_kick(&txq);
        tx_unkicked = 0;
    }
}

/* A TX slot, waiting for the device if need be (bounded). */
static uint8_t *tx_alloc_wait(unsigned *slot)
{
    uint64_t deadline = rdtsc() + STALL_SECS * ticks_per_sec();
    uint8_t *f;

    tx_flush();
    while (!(f = tx_alloc(slot))) {
        if (rdtsc() > deadline) {
            guest_fail("virtio-net: the device sent nothing for %u s "
                       "(status %#x)", STALL_SECS, virtio_status(&dev));
        }
        cpu_relax();
    }
    return f;
}

/* Wait (bounded) until the device has sent everything; how many it took. */
static uint64_t tx_drain(void)
{
    uint64_t deadline = rdtsc() + STALL_SECS * ticks_per_sec(), n = 0;

    tx_flush();
    while ((n += tx_reclaim(), tx_nfree < txq.size)) {
        if (rdtsc() > deadline) {
            guest_fail("virtio-net: %u frames still unsent after %u s",
                       txq.size - tx_nfree, STALL_SECS);
        }
        cpu_relax();
    }
    return n;
}

/* ---- receive ---- */

typedef void frame_fn(const uint8_t *frame, uint32_t len);

/*
 * Hand every received frame to @fn and post its buffer again; one notify
 * for the batch.  Returns how many frames there were.
 */
static unsigned rx_poll(frame_fn *fn)
{
    uint32_t id, len;
    unsigned n = 0;
    int r;

    while ((r = virtq_pop(&rxq, &id, &len)) > 0) {
        if (id >= rxq.size) {
            guest_fail("virtio-net: RX used ring returned descriptor %u", id);
        }
        if (len < HDR_LEN || len > BUF_SIZE) {
            guest_fail("virtio-net: RX used length %u for a %u-byte buffer",
                       len, BUF_SIZE);
        }
        cnt.rx++;
        fn(rx_bufs[id] + HDR_LEN, len - HDR_LEN);
        virtq_push(&rxq, (uint16_t)id);
        n++;
    }
    if (r < 0) {
        guest_fail("virtio-net: RX used index ran ahead of the ring");
    }
    if (n) {
        virtq_kick(&rxq);
    }
    return n;
}

/* ---- ARP and ICMP echo ---- */

static void print_ip(const char *what, const uint8_t ip[4])
{
    printf("%s%u.%u.%u.%u", what, ip[0], ip[1], ip[2], ip[3]);
}

static void arp_reply(const uint8_t *frame, uint32_t len)
{
    struct arp_eth_ipv4 req, rep;
    struct ethhdr eth;
    unsigned slot;
    uint8_t *f;

    if (len < ETH_HLEN + sizeof(req)) {
        cnt.malformed++;
        return;
    }
    memcpy(&req, frame + ETH_HLEN, sizeof(req));
    if (req.h.ar_hrd != be16(ARPHRD_ETHER) || req.h.ar_pro != be16(ETH_P_IP) ||
        req.h.ar_hln != ETH_ALEN || req.h.ar_pln != 4 ||
        req.h.ar_op != be16(ARPOP_REQUEST) || memcmp(req.tpa, my_ip, 4)) {
        cnt.ignored++;
        return;
    }
    rep.h = req.h;
    rep.h.ar_op = be16(ARPOP_REPLY);
    memcpy(rep.sha, my_mac, ETH_ALEN);
    memcpy(rep.spa, my_ip, 4);
    memcpy(rep.tha, req.sha, ETH_ALEN);
    memcpy(rep.tpa, req.spa, 4);
    memcpy(eth.h_dest, req.sha, ETH_ALEN);
    memcpy(eth.h_source, my_mac, ETH_ALEN);
    eth.h_proto = be16(ETH_P_ARP);

    f = tx_alloc_wait(&slot);
    memcpy(f, &eth, sizeof(eth));
    memcpy(f + ETH_HLEN, &rep, sizeof(rep));
    tx_commit(slot, ETH_HLEN + sizeof(rep));
    cnt.arp_replies++;
    print_ip("virtio-net: ARP reply to ", req.spa);
    printf("\n");
}

/*
 * The ICMP message of an IPv4 packet for us in @frame: sets *icmp and
 * *icmp_len, and copies the IP header to @ip.  False if it is not one, or
 * is malformed (counted).
 */
static bool ipv4_icmp(const uint8_t *frame, uint32_t len, struct iphdr *ip,
                      const uint8_t **icmp, uint32_t *icmp_len)
{
    const uint8_t *iph = frame + ETH_HLEN;
    uint32_t hlen, tot;

    if (len < ETH_HLEN + sizeof(*ip)) {
        cnt.malformed++;
        return false;
    }
    memcpy(ip, iph, sizeof(*ip));
    hlen = ip->ihl * 4u;
    tot = be16(ip->tot_len);
    /* The frame may be padded past the packet, never cut short. */
    if (ip->version != 4 || hlen < sizeof(*ip) || tot < hlen ||
        tot > len - ETH_HLEN || inet_csum(iph, hlen, 0)) {
        cnt.malformed++;
        return false;
    }
    if (memcmp(&ip->daddr, my_ip, 4) || ip->protocol != IPPROTO_ICMP ||
        (be16(ip->frag_off) & 0x3fff)) {    /* MF or an offset: a fragment */
        cnt.ignored++;
        return false;
    }
    *icmp = iph + hlen;
    *icmp_len = tot - hlen;
    return true;
}

static void echo_reply(const uint8_t *frame, uint32_t len)
{
    const uint8_t *icmp;
    uint32_t icmp_len;
    struct iphdr ip;
    struct ethhdr eth;
    unsigned slot;
    uint8_t *f, *iph, *out;

    if (!ipv4_icmp(frame, len, &ip, &icmp, &icmp_len)) {
        return;
    }
    if (icmp_len < sizeof(struct icmphdr) || inet_csum(icmp, icmp_len, 0)) {
        cnt.malformed++;
        return;
    }
    if (icmp[0] != ICMP_ECHO || icmp[1] != 0) {
        cnt.ignored++;
        return;
    }
    memcpy(&eth, frame, ETH_HLEN);
    memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
    memcpy(eth.h_source, my_mac, ETH_ALEN);
    /* The reply carries no IP options, whatever the request had. */
    ip.ihl = sizeof(ip) / 4;
    ip.tot_len = be16((uint16_t)(sizeof(ip) + icmp_len));
    ip.frag_off = 0;
    ip.ttl = 64;
    ip.check = 0;
    ip.daddr = ip.saddr;
    memcpy(&ip.saddr, my_ip, 4);

    f = tx_alloc_wait(&slot);
    memcpy(f, &eth, sizeof(eth));
    iph = f + ETH_HLEN;
    memcpy(iph, &ip, sizeof(ip));
    put_be16(iph + offsetof(struct iphdr, check), inet_csum(iph, sizeof(ip), 0));
    out = iph + sizeof(ip);
    memcpy(out, icmp, icmp_len);
    out[0] = ICMP_ECHOREPLY;
    put_be16(out + offsetof(struct icmphdr, checksum), 0);
    put_be16(out + offsetof(struct icmphdr, checksum),
             inet_csum(out, icmp_len, 0));
    tx_commit(slot, ETH_HLEN + sizeof(ip) + icmp_len);
    cnt.echo_replies++;
    print_ip("virtio-net: echo reply to ", (const uint8_t *)&ip.daddr);
    printf(" seq %u (%u bytes)\n", get_be16(icmp + 6), icmp_len);
}

static void answer_frame(const uint8_t *frame, uint32_t len)
{
    uint16_t proto;

    if (len < ETH_HLEN) {
        cnt.malformed++;
        return;
    }
    proto = get_be16(frame + offsetof(struct ethhdr, h_proto));
    if (proto == ETH_P_ARP) {
        arp_reply(frame, len);
    } else if (proto == ETH_P_IP) {
        echo_reply(frame, len);
    } else {
        cnt.ignored++;                  /* IPv6 chatter from the host */
    }
}

static void print_counts(const char *why)
{
    printf("virtio-net: %s: %lu frames received, %lu ARP replies, "
           "%lu echo replies, %lu ignored, %lu malformed\n", why,
           (unsigned long)cnt.rx, (unsigned long)cnt.arp_replies,
           (unsigned long)cnt.echo_replies, (unsigned long)cnt.ignored,
           (unsigned long)cnt.malformed);
}

static void test_mode(const struct hvm_start_info *si)
{
    uint32_t secs = 60, pings = 0;
    uint64_t deadline;

    cmdline_get_u32(si, "secs", &secs);
    cmdline_get_u32(si, "pings", &pings);
    if (!secs || secs > 3600) {
        guest_fail("virtio-net: secs=%u: want 1-3600", secs);
    }
    deadline = rdtsc() + secs * ticks_per_sec();
    print_ip("virtio-net: ready, answering ARP and ping for ", my_ip);
    printf(" for up to %u s\n", secs);
    while (!pings || cnt.echo_replies < pings) {
        if (!rx_poll(answer_frame)) {
            if (rdtsc() > deadline) {
                break;
            }
            cpu_relax();
        }
        tx_flush();
    }
    tx_drain();                         /* the last replies leave first */
    if (pings && cnt.echo_replies < pings) {
        print_counts("time limit");
        guest_fail("virtio-net: %lu of %u echo requests in %u s",
                   (unsigned long)cnt.echo_replies, pings, secs);
    }
    print_counts(pings ? "done" : "time limit");
    debug_exit(NET_EXIT);
}

/* ---- bench mode ---- */

/* Where flood frames go: a unicast address no host interface has, so
 * the host's stack drops them right after AF_PACKET has seen them. */
static const uint8_t flood_mac[ETH_ALEN] = { 0x02, 0x71, 0x76, 0x6d, 0x6d, 0x01 };
static uint8_t peer_ip[4];
static bool started;
static uint64_t echoed, echo_bytes, echo_drops;

/* UDP to BENCH_PORT, addressed to us: the host's start and echo frames. */
static bool bench_frame(const uint8_t *f, uint32_t len)
{
    const uint8_t *iph = f + ETH_HLEN;

    return len >= UDP_FRAME_HDRS && !memcmp(f, my_mac, ETH_ALEN) &&
           get_be16(f + offsetof(struct ethhdr, h_proto)) == ETH_P_IP &&
           iph[0] == 0x45 && iph[offsetof(struct iphdr, protocol)] == IPPROTO_UDP &&
           get_be16(iph + sizeof(struct iphdr) +
                    offsetof(struct udphdr, dest)) == BENCH_PORT;
}

static void start_frame(const uint8_t *f, uint32_t len)
{
    if (bench_frame(f, len)) {
        started = true;
    }
}

static void echo_frame(const uint8_t *frame, uint32_t len)
{
    unsigned slot;
    uint8_t *f;

    if (!bench_frame(frame, len)) {
        cnt.ignored++;
        return;
    }
    f = tx_alloc(&slot);
    if (!f) {
        echo_drops++;                   /* as a NIC does when its ring is full */
        return;
    }
    memcpy(f, frame + ETH_ALEN, ETH_ALEN);
    memcpy(f + ETH_ALEN, my_mac, ETH_ALEN);
    memcpy(f + 2 * ETH_ALEN, frame + 2 * ETH_ALEN, len - 2 * ETH_ALEN);
    tx_commit(slot, len);
    echoed++;
    echo_bytes += len;
}

static uint64_t usecs(uint64_t ticks)
{
    uint64_t us = ticks * 1000 / tsc_rate_khz;

    return us ? us : 1;
}

/* Keep the TX ring full of @size-byte frames for @secs seconds. */
static void bench_tx(uint32_t size, uint32_t secs)
{
    uint64_t start, end, sent = 0, seq = 0, us;

    if (size < 60 || size > MAX_FRAME) {
        guest_fail("bench: tx%u: frames are 60-%u bytes", size, MAX_FRAME);
    }
    tx_drain();
    for (unsigned i = 0; i < txq.size; i++) {
        memset(tx_bufs[i], 0, HDR_LEN);
        build_udp_frame(tx_bufs[i] + HDR_LEN, size, flood_mac, my_mac, my_ip,
                        peer_ip, BENCH_PORT, BENCH_PORT);
    }
    txq.kicks = txq.kicks_suppressed = txq.kick_ticks = 0;
    printf("bench: start tx%u\n", size);
    start = rdtsc();
    end = start + secs * ticks_per_sec();
    while (rdtsc() < end) {
        sent += tx_reclaim();
        while (tx_nfree) {
            unsigned slot = tx_free[--tx_nfree];

            /* A sequence number, so the host could spot reordering. */
            memcpy(tx_bufs[slot] + HDR_LEN + UDP_FRAME_HDRS, &seq, 4);
            seq++;
            tx_commit(slot, size);
        }
        tx_flush();
    }
    sent += tx_drain();
    us = usecs(rdtsc() - start);
    printf("bench: end tx%u\n", size);
    printf("bench: tx size=%u frames=%lu usecs=%lu pps=%lu mbit=%lu "
           "kicks=%lu\n", size, (unsigned long)sent, (unsigned long)us,
           (unsigned long)(sent * 1000000 / us),
           (unsigned long)(sent * size * 8 / us), (unsigned long)txq.kicks);
}

/*
 * Send every bench frame back to where it came from, for @secs seconds.
 * @size only names the phase: the host chooses the frames' size.
 */
static void bench_echo(uint32_t size, uint32_t secs)
{
    uint64_t start, end, us;

    tx_drain();
    echoed = echo_bytes = echo_drops = 0;
    txq.kicks = txq.kicks_suppressed = txq.kick_ticks = 0;
    printf("bench: start echo%u\n", size);
    start = rdtsc();
    end = start + secs * ticks_per_sec();
    while (rdtsc() < end) {
        rx_poll(echo_frame);
        tx_flush();
    }
    tx_drain();
    us = usecs(rdtsc() - start);
    printf("bench: end echo%u\n", size);
    printf("bench: echo size=%u frames=%lu bytes=%lu usecs=%lu drops=%lu "
           "kicks=%lu\n", size, (unsigned long)echoed,
           (unsigned long)echo_bytes, (unsigned long)us,
           (unsigned long)echo_drops, (unsigned long)txq.kicks);
}

static void wait_start(void)
{
    uint64_t deadline = rdtsc() + 60 * ticks_per_sec();

    printf("bench: waiting for the host's start frame (UDP port %u)\n",
           BENCH_PORT);
    while (!started) {
        if (!rx_poll(start_frame) && rdtsc() > deadline) {
            guest_fail("bench: no start frame from the host in 60 s");
        }
    }
}

static void bench_mode(const struct hvm_start_info *si, const char *list)
{
    uint32_t secs = 5;
    char buf[16];
    const char *p = list;

    cmdline_get_u32(si, "secs", &secs);
    if (!secs || secs > 3600) {
        guest_fail("bench: secs=%u: want 1-3600", secs);
    }
    if (!cmdline_get(si, "peer", buf, sizeof(buf)) ||
        !inet_parse_ip4(buf, peer_ip)) {
        guest_fail("bench: no peer=A.B.C.D on the command line");
    }
    if (!tsc_rate_khz) {
        guest_fail("bench: PIT channel 2 never counted down: cannot time");
    }
    printf("bench: tsc_khz=%lu\n", (unsigned long)tsc_rate_khz);
    wait_start();
    while (*p) {
        size_t len = 0, name;
        uint32_t size = 0;

        while (p[len] && p[len] != ',') {
            len++;
        }
        name = !strncmp(p, "tx", 2) ? 2 : !strncmp(p, "echo", 4) ? 4 : 0;
        if (!name || len == name || len > name + 4) {
            guest_fail("bench: unknown phase in \"%s\"", list);
        }
        for (size_t i = name; i < len; i++) {
            if (p[i] < '0' || p[i] > '9') {
                guest_fail("bench: bad frame size in \"%s\"", list);
            }
            size = size * 10 + (uint32_t)(p[i] - '0');
        }
        if (name == 2) {
            bench_tx(size, secs);
        } else {
            bench_echo(size, secs);
        }
        p += len + (p[len] == ',');
    }
    printf("bench: done\n");
    debug_exit(NET_EXIT);
}

/* ---- set-up ---- */

static void read_config(void)
{
    char mac[18];
    uint16_t status = VIRTIO_NET_S_LINK_UP;

    for (unsigned i = 0; i < ETH_ALEN; i++) {
        if (!virtio_cfg_read8(&dev, offsetof(struct virtio_net_config, mac) + i,
                              &my_mac[i])) {
            guest_fail("virtio-net: device configuration has no MAC");
        }
    }
    if ((dev.features & 1ull << VIRTIO_NET_F_STATUS) &&
        !virtio_cfg_read16(&dev, offsetof(struct virtio_net_config, status),
                           &status)) {
        guest_fail("virtio-net: device configuration has no status");
    }
    format_mac(mac, my_mac);
    printf("virtio-net: mac %s, link %s, features %#lx, queue sizes %u/%u\n",
           mac, status & VIRTIO_NET_S_LINK_UP ? "up" : "down",
           (unsigned long)dev.features, rxq.size, txq.size);
}

static void net_init(void)
{
    static const uint16_t ids[] = { 0x1041, 0x1000, 0 };
    uint64_t want = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS;
    struct pci_dev pci;

    if (!pci_find(PCI_VENDOR_ID_VIRTIO, ids, &pci)) {
        guest_fail("virtio-net: no 1af4:1041 or 1af4:1000 on PCI bus 0");
    }
    printf("virtio-net: %04x:%04x at %02x:%02x.%x\n", pci.vendor, pci.device,
           pci.bus, pci.slot, pci.func);
    if (!virtio_pci_probe(&dev, &pci)) {
        guest_fail("virtio-net: unusable device");
    }
    if (!virtio_negotiate(&dev, want, 1ull << VIRTIO_NET_F_MAC)) {
        guest_fail("virtio-net: feature negotiation failed");
    }
    if (!virtq_setup(&dev, &rxq, 0, QUEUE_SIZE, rx_ring) ||
        !virtq_setup(&dev, &txq, 1, QUEUE_SIZE, tx_ring)) {
        virtio_set_failed(&dev);
        guest_fail("virtio-net: queue set-up failed");
    }
    read_config();
    for (unsigned i = 0; i < rxq.size; i++) {
        rxq.desc[i] = (struct vring_desc) { (uintptr_t)rx_bufs[i], BUF_SIZE,
                                            VRING_DESC_F_WRITE, 0 };
        virtq_push(&rxq, (uint16_t)i);
    }
    for (unsigned i = 0; i < txq.size; i++) {
        tx_free[i] = (uint16_t)i;
    }
    tx_nfree = txq.size;
    virtio_driver_ok(&dev);
    virtq_kick(&rxq);                   /* no notifications before DRIVER_OK */
}

void guest_main(const struct hvm_start_info *si)
{
    char buf[64];

    check_start_info(si);
    if (!cmdline_get(si, "ip", buf, sizeof(buf)) ||
        !inet_parse_ip4(buf, my_ip)) {
        guest_fail("virtio-net: no ip=A.B.C.D on the command line");
    }
    tsc_rate_khz = tsc_khz();
    net_init();
    if (cmdline_get(si, "bench", buf, sizeof(buf))) {
        bench_mode(si, buf);
    }
    test_mode(si);
}
