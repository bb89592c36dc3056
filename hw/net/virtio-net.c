/*
 * virtio-net-pci (virtio spec 5.1) on the network client core.
 *
 * Receive: a backend hands a frame to the NIC client of its queue; the
 * frame goes through the receive filter, then into as many receive
 * chains as it needs (one without VIRTIO_NET_F_MRG_RXBUF).  When the
 * ring holds too little, the chains are given back and the frame is
 * refused (0), so the backend keeps it and stops reading until the
 * driver posts buffers and kicks: nothing queues up inside qvmm.
 *
 * Transmit: chains are sent one by one, at most VIRTIO_NET_TX_BURST per
 * wake-up (then the queue's kick is re-armed so other work runs first).
 * A frame the backend cannot take now is kept until its peer_ready.
 *
 * A driver that breaks the rules (a receive chain with device-readable
 * buffers, a transmit chain with device-writable ones, a header missing,
 * a control command without its header or ack byte) puts the device
 * into NEEDS_RESET and it does nothing more until reset.  Well-formed
 * control commands with bad contents get VIRTIO_NET_ERR.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "hw/net/virtio-net.h"
#include "hw/virtio/vhost-net.h"
#include "hw/pci/msix.h"
#include <endian.h>
#include <sys/eventfd.h>
#include <linux/if_ether.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

#define HDR_LEN         sizeof(struct virtio_net_hdr_v1)
/* The iovecs one chain may have (what writev takes). */
#define MAX_SEGS        1024
#define NET_CONFIG_SIZE (offsetof(struct virtio_net_config, mtu) + 2)
#define F(bit)          (1ULL << (bit))

#define GUEST_OFFLOAD_MASK (F(VIRTIO_NET_F_GUEST_CSUM) | \
                            F(VIRTIO_NET_F_GUEST_TSO4) | \
                            F(VIRTIO_NET_F_GUEST_TSO6) | \
                            F(VIRTIO_NET_F_GUEST_ECN) | \
                            F(VIRTIO_NET_F_GUEST_UFO))

typedef struct VirtIONetNic {
    NetClientState nc;              /* first */
    VirtIONet *n;
} VirtIONetNic;

static VirtIONet *to_net(VirtIOPCIProxy *p)
{
    return (VirtIONet *)p;
}

static VirtIONet *nic_net(NetClientState *nc)
{
    return ((VirtIONetNic *)nc)->n;
}

/* ---- queue numbering ---- */

static unsigned ctrl_index(VirtIONet *n)
{
    return virtio_has_feature(&n->proxy, VIRTIO_NET_F_MQ) ?
           2 * n->max_pairs : 2;
}

static VirtIOPCIQueue *rx_pq(VirtIONet *n, unsigned pair)
{
    return &n->proxy.queues[2 * pair];
}

static VirtIOPCIQueue *tx_pq(VirtIONet *n, unsigned pair)
{
    return &n->proxy.queues[2 * pair + 1];
}

/* Which pair's receive queue takes frames from backend queue @q: the
 * backend keeps all its queues, so those beyond the driver's active
 * pairs are folded onto them. */
static unsigned rx_pair_for(VirtIONet *n, unsigned q)
{
    return q % n->curr_pairs;
}

static bool device_running(VirtIONet *n)
{
    return __atomic_load_n(&n->proxy.running, __ATOMIC_ACQUIRE) &&
           !n->broken;
}

/* A driver error: say why once, then stop until reset. */
static G_GNUC_PRINTF(2, 3) void net_error(VirtIONet *n, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!n->broken) {
        guest_error_report("virtio-net: %s", msg);
    }
    n->broken = true;
    virtio_pci_set_needs_reset(&n->proxy);
}

/* Ask the queue's handler to run again from the main loop. */
static void requeue(VirtIONet *n, unsigned q)
{
    eventfd_write(n->proxy.queues[q].kick_fd, 1);
}

/* ---- receive filter ---- */

static bool mac_in_table(const VirtIONetMacTable *t, unsigned from,
                         unsigned to, const uint8_t *mac)
{
    for (unsigned i = from; i < to; i++) {
        if (!memcmp(t->macs[i], mac, ETH_ALEN)) {
            return true;
        }
    }
    return false;
}

/* @eth holds the first @len (>= ETH_HLEN) bytes of the frame. */
static bool rx_filter(VirtIONet *n, const uint8_t *eth, size_t len)
{
    static const uint8_t bcast[ETH_ALEN] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    };
    const VirtIONetMacTable *t = &n->mac_table;
    uint16_t proto = eth[12] << 8 | eth[13];

    if (n->promisc) {
        return true;
    }
    if (proto == ETH_P_8021Q && len >= ETH_HLEN + 2) {
        unsigned vid = (eth[14] << 8 | eth[15]) & 0xfff;

        if (!(n->vlans[vid / 32] & (1u << (vid % 32)))) {
            return false;
        }
    }
    if (eth[0] & 1) {
        if (!memcmp(eth, bcast, ETH_ALEN)) {
            return !n->nobcast;
        }
        if (n->nomulti) {
            return false;
        }
        return n->allmulti || t->multi_overflow ||
               mac_in_table(t, t->first_multi, t->in_use, eth);
    }
    if (n->nouni) {
        return false;
    }
    return n->alluni || t->uni_overflow || !memcmp(eth, n->mac, ETH_ALEN) ||
           mac_in_table(t, 0, t->first_multi, eth);
}

/* ---- receive ---- */

/*
 * While vhost runs, the kernel owns the RX rings: a frame that reaches
 * qvmm anyway (a tap queue vhost does not serve, one held from before
 * the hand-over) must wait, or qvmm and the kernel would both fill the
 * same ring from their own indices.
 */
static bool rx_queue_ready(VirtIONet *n, unsigned pair)
{
    VirtIOPCIQueue *pq = rx_pq(n, pair);

    return device_running(n) && !n->vhost_pairs && pq->enabled &&
           !virtqueue_is_broken(&pq->vq);
}

/*
 * RX kicks are wanted only while the device waits for buffers: with
 * buffers on hand they would cost the guest an exit and the loop a
 * wakeup for each batch it posts.  So the device asks for them when it
 * finds the ring empty (then looks once more, in case the driver posted
 * before it could see the request) and turns them off when it takes
 * buffers again, as QEMU's virtio-net does.
 */
static bool rx_wait_for_buffers(VirtQueue *vq)
{
    if (virtqueue_has_work(vq)) {
        return false;
    }
    virtqueue_set_notification(vq, true);
    return !virtqueue_has_work(vq);
}

static bool virtio_net_can_receive(NetClientState *nc)
{
    VirtIONet *n = nic_net(nc);
    unsigned pair = rx_pair_for(n, nc->queue_index);

    return rx_queue_ready(n, pair) &&
           !rx_wait_for_buffers(&rx_pq(n, pair)->vq);
}

/* Did the driver publish buffers beyond what the device last read? */
static bool rx_more_posted(VirtQueue *vq)
{
    uint16_t idx = le16toh(__atomic_load_n(&vq->avail->idx,
                                           __ATOMIC_ACQUIRE));

    return idx != vq->shadow_avail_idx;
}

/* Copy @len bytes of @src from @soff into @dst from @doff. */
static void iov_copy_between(const struct iovec *dst, unsigned dcnt,
                             size_t doff, const struct iovec *src,
                             unsigned scnt, size_t soff, size_t len)
{
    for (unsigned i = 0; i < scnt && len; i++) {
        size_t seg = src[i].iov_len, chunk;

        if (soff >= seg) {
            soff -= seg;
            continue;
        }
        chunk = MIN(seg - soff, len);
        iov_from_buf(dst, dcnt, doff, (uint8_t *)src[i].iov_base + soff,
                     chunk);
        doff += chunk;
        len -= chunk;
        soff = 0;
    }
}

typedef struct RxChains {
    VirtQueueElement *e[VIRTIO_NET_QUEUE_SIZE_MAX];
    unsigned n;
} RxChains;

static void rx_give_back(VirtQueue *vq, RxChains *c)
{
    while (c->n) {
        virtqueue_element_free(c->e[--c->n]);
        virtqueue_unpop(vq);
    }
}

/*
 * Pop chains until they hold @need bytes.  1: they do; 0: the ring has
 * too little now (chains given back); -1: the frame cannot be received
 * (dropped) or the driver broke the rules.
 */
static int rx_take(VirtIONet *n, VirtQueue *vq, size_t need, RxChains *c)
{
    bool mergeable = virtio_has_feature(&n->proxy, VIRTIO_NET_F_MRG_RXBUF);
    uint64_t have = 0;

    while (have < need) {
        VirtQueueElement *e;

        if (c->n && !mergeable) {
            rx_give_back(vq, c);    /* the one buffer is too small */
            return -1;
        }
        e = c->n < G_N_ELEMENTS(c->e) ? virtqueue_pop(vq, MAX_SEGS, MAX_SEGS)
                                      : NULL;
        if (!e) {
            /* A whole ring too small for the frame never grows. */
            bool never = virtqueue_is_broken(vq) || c->n >= vq->size;

            rx_give_back(vq, c);
            return never ? -1 : 0;
        }
        c->e[c->n++] = e;
        if (e->out_num || e->in_len < HDR_LEN) {
            net_error(n, "receive chain %u %s", e->index, e->out_num ?
                      "has device-readable buffers" :
                      "is shorter than the header");
            rx_give_back(vq, c);
            return -1;
        }
        have += e->in_len;
    }
    return 1;
}

/* Write header and frame into the chains, hand them to the driver. */
static void rx_fill(VirtIONet *n, unsigned pair, RxChains *c,
                    struct virtio_net_hdr_v1 *hdr, const struct iovec *iov,
                    int iovcnt, size_t off, size_t len)
{
    VirtQueue *vq = &rx_pq(n, pair)->vq;

    hdr->num_buffers = htole16(c->n);
    for (unsigned i = 0; i < c->n; i++) {
        VirtQueueElement *e = c->e[i];
        size_t doff = i ? 0 : HDR_LEN;
        size_t chunk = MIN(len, e->in_len - doff);

        if (!i) {
            iov_from_buf(e->in_sg, e->in_num, 0, hdr, HDR_LEN);
        }
        iov_copy_between(e->in_sg, e->in_num, doff, iov, iovcnt, off, chunk);
        off += chunk;
        len -= chunk;
        virtqueue_push(vq, e, doff + chunk);
        virtqueue_element_free(e);
    }
    c->n = 0;
    virtio_pci_notify(&n->proxy, 2 * pair);
}

/*
 * A frame just handed to the driver is often answered at once (an ACK,
 * an echo).  Rather than let the driver kick for that answer, turn TX
 * kicks off and raise the TX queue's kick ourselves: its handler runs on
 * the loop's next iteration, after the frames that arrived with this
 * one, sends what the driver queued meanwhile and turns kicks back on
 * once the ring is empty (tx_flush).  One eventfd write per burst of
 * received frames replaces an exit per transmit batch.  Not with
 * EVENT_IDX: turning kicks off is a no-op there (virtio.c, as in QEMU),
 * so the write would buy nothing.
 */
static void tx_quiet_after_rx(VirtIONet *n, unsigned pair)
{
    VirtIOPCIQueue *pq = tx_pq(n, pair);

    if (pq->enabled && !pq->vq.event_idx && pq->vq.notification &&
        !n->vqs[pair].tx_waiting && !virtqueue_is_broken(&pq->vq)) {
        virtqueue_set_notification(&pq->vq, false);
        requeue(n, 2 * pair + 1);
    }
}

static ssize_t rx_deliver(VirtIONet *n, unsigned pair,
                          const struct iovec *iov, int iovcnt, size_t size)
{
    VirtQueue *vq = &rx_pq(n, pair)->vq;
    struct virtio_net_hdr_v1 hdr = { 0 };
    size_t host_hdr = n->has_vnet_hdr ? HDR_LEN : 0;
    size_t len = size - host_hdr;
    RxChains c = { .n = 0 };
    int r;

    if (host_hdr) {
        iov_to_buf(iov, iovcnt, 0, &hdr, HDR_LEN);
    }
    for (int tries = 0; tries < 2; tries++) {
        r = rx_take(n, vq, HDR_LEN + len, &c);
        if (r) {
            break;
        }
        /* Too little room: ask for a kick, then look once more in case
         * the driver posted buffers before it could see the request. */
        virtqueue_set_notification(vq, true);
        if (!rx_more_posted(vq)) {
            return 0;
        }
    }
    if (r <= 0) {
        return r < 0 ? (ssize_t)size : 0;
    }
    if (vq->notification) {
        virtqueue_set_notification(vq, false);  /* see rx_wait_for_buffers */
    }
    rx_fill(n, pair, &c, &hdr, iov, iovcnt, host_hdr, len);
    tx_quiet_after_rx(n, pair);
    return size;
}

static ssize_t virtio_net_receive(NetClientState *nc, const struct iovec *iov,
                                  int iovcnt)
{
    VirtIONet *n = nic_net(nc);
    unsigned pair = rx_pair_for(n, nc->queue_index);
    size_t size = iov_size(iov, iovcnt);
    size_t host_hdr = n->has_vnet_hdr ? HDR_LEN : 0;
    uint8_t eth[ETH_HLEN + 4];
    size_t got;

    if (!rx_queue_ready(n, pair)) {
        return 0;
    }
    if (size < host_hdr + ETH_HLEN || size - host_hdr > VIRTIO_NET_MAX_FRAME) {
        return size;                /* not an Ethernet frame: dropped */
    }
    got = iov_to_buf(iov, iovcnt, host_hdr, eth, sizeof(eth));
    if (!rx_filter(n, eth, got)) {
        return size;
    }
    return rx_deliver(n, pair, iov, iovcnt, size);
}

/* Let every backend queue read again (buffers posted, pairs changed). */
static void rx_flush_all(VirtIONet *n)
{
    for (unsigned i = 0; i < n->max_pairs; i++) {
        qemu_flush_queued_packets(n->vqs[i].nc);
    }
}

/* ---- transmit ---- */

/*
 * Send one chain.  True when it is done with (sent or dropped), false
 * when the backend could not take it now, or the device broke.
 */
static bool tx_send(VirtIONet *n, VirtIONetQueue *q, VirtQueueElement *e,
                    bool *broke)
{
    size_t skip = n->has_vnet_hdr ? 0 : HDR_LEN;
    struct iovec *iov;
    int cnt;

    if (e->in_num || e->out_len < HDR_LEN) {
        net_error(n, "transmit chain %u %s", e->index, e->in_num ?
                  "has device-writable buffers" : "is shorter than the header");
        *broke = true;
        return false;
    }
    if (e->out_len - HDR_LEN < ETH_HLEN ||
        e->out_len - HDR_LEN > VIRTIO_NET_MAX_FRAME) {
        return true;                /* no backend takes that: dropped */
    }
    iov = g_newa(struct iovec, e->out_num);
    cnt = iov_slice(e->out_sg, e->out_num, skip, e->out_len - skip, iov,
                    e->out_num);
    return cnt < 0 || qemu_sendv_packet(q->nc, iov, cnt) != 0;
}

static void tx_complete(VirtIONet *n, unsigned pair, VirtQueueElement *e)
{
    virtqueue_push(&tx_pq(n, pair)->vq, e, 0);
    virtqueue_element_free(e);
}

/* Send what the driver queued on @pair, up to a burst. */
static void tx_flush(VirtIONet *n, unsigned pair)
{
    VirtIONetQueue *q = &n->vqs[pair];
    VirtQueue *vq = &tx_pq(n, pair)->vq;
    unsigned sent = 0;
    bool broke = false;

    q->tx_waiting = false;
    if (q->tx_held) {
        if (!tx_send(n, q, q->tx_held, &broke)) {
            q->tx_waiting = !broke;
            return;
        }
        tx_complete(n, pair, q->tx_held);
        q->tx_held = NULL;
        sent++;
    }
    virtqueue_set_notification(vq, false);
    while (sent < VIRTIO_NET_TX_BURST) {
        VirtQueueElement *e;

        if (!qemu_can_send_packet(q->nc)) {
            q->tx_waiting = true;
            break;
        }
        e = virtqueue_pop(vq, MAX_SEGS, MAX_SEGS);
        if (!e) {
            virtqueue_set_notification(vq, true);
            if (virtqueue_is_broken(vq) || !virtqueue_has_work(vq)) {
                break;
            }
            virtqueue_set_notification(vq, false);
            continue;
        }
        if (!tx_send(n, q, e, &broke)) {
            if (broke) {
                virtqueue_element_free(e);
                break;
            }
            q->tx_held = e;
            q->tx_waiting = true;
            break;
        }
        tx_complete(n, pair, e);
        sent++;
    }
    if (sent) {
        virtio_pci_notify(&n->proxy, 2 * pair + 1);
    }
    if (sent == VIRTIO_NET_TX_BURST && !broke) {
        requeue(n, 2 * pair + 1);   /* more may wait: after other work */
    }
}

/* The backend can take frames again. */
static void virtio_net_peer_ready(NetClientState *nc)
{
    VirtIONet *n = nic_net(nc);
    unsigned pair = nc->queue_index;

    if (device_running(n) && n->vqs[pair].tx_waiting &&
        tx_pq(n, pair)->enabled) {
        tx_flush(n, pair);
    }
}

/* ---- link ---- */

static void virtio_net_link_changed(NetClientState *nc)
{
    VirtIONet *n = nic_net(nc);
    uint16_t old = n->status;

    n->status = n->vqs[0].nc->link_down ? 0 : VIRTIO_NET_S_LINK_UP;
    if (n->status != old) {
        virtio_pci_notify_config(&n->proxy);
    }
}

static const NetClientInfo virtio_net_nic_info = {
    .type = NET_CLIENT_DRIVER_NIC,
    .size = sizeof(VirtIONetNic),
    .receive_iov = virtio_net_receive,
    .can_receive = virtio_net_can_receive,
    .peer_ready = virtio_net_peer_ready,
    .link_status_changed = virtio_net_link_changed,
};

/* ---- control queue ---- */

/*
 * Payload lengths are checked as QEMU checks them: a command's value must
 * be there, trailing bytes are ignored, except for the MAC commands,
 * whose size must match exactly.
 */

/* A command's payload: the out bytes after its class/command header. */
typedef struct CtrlData {
    const struct iovec *iov;
    unsigned cnt;
    size_t off;
    size_t len;
} CtrlData;

static bool ctrl_read(CtrlData *d, void *buf, size_t len)
{
    if (len > d->len) {
        return false;
    }
    iov_to_buf(d->iov, d->cnt, d->off, buf, len);
    d->off += len;
    d->len -= len;
    return true;
}

static uint8_t ctrl_rx(VirtIONet *n, uint8_t cmd, CtrlData *d)
{
    bool *flags[] = {
        [VIRTIO_NET_CTRL_RX_PROMISC] = &n->promisc,
        [VIRTIO_NET_CTRL_RX_ALLMULTI] = &n->allmulti,
        [VIRTIO_NET_CTRL_RX_ALLUNI] = &n->alluni,
        [VIRTIO_NET_CTRL_RX_NOMULTI] = &n->nomulti,
        [VIRTIO_NET_CTRL_RX_NOUNI] = &n->nouni,
        [VIRTIO_NET_CTRL_RX_NOBCAST] = &n->nobcast,
    };
    uint8_t on;

    if (cmd >= G_N_ELEMENTS(flags) || d->len < 1 ||
        (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI &&
         !virtio_has_feature(&n->proxy, VIRTIO_NET_F_CTRL_RX_EXTRA))) {
        return VIRTIO_NET_ERR;
    }
    ctrl_read(d, &on, 1);
    *flags[cmd] = on != 0;
    return VIRTIO_NET_OK;
}

/* One virtio_net_ctrl_mac list into @t (or only counted on overflow). */
static bool ctrl_mac_list(CtrlData *d, VirtIONetMacTable *t, bool *overflow)
{
    uint32_t entries;
    uint64_t bytes;

    if (!ctrl_read(d, &entries, sizeof(entries))) {
        return false;
    }
    bytes = (uint64_t)le32toh(entries) * ETH_ALEN;
    if (bytes > d->len) {
        return false;
    }
    entries = le32toh(entries);
    if (t->in_use + (uint64_t)entries <= VIRTIO_NET_MAC_TABLE_ENTRIES) {
        ctrl_read(d, t->macs[t->in_use], bytes);
        t->in_use += entries;
    } else {
        *overflow = true;
        d->off += bytes;
        d->len -= bytes;
    }
    return true;
}

static uint8_t ctrl_mac(VirtIONet *n, uint8_t cmd, CtrlData *d)
{
    VirtIONetMacTable t = { .in_use = 0 };

    if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET) {
        if (!virtio_has_feature(&n->proxy, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
            d->len != ETH_ALEN) {
            return VIRTIO_NET_ERR;
        }
        ctrl_read(d, n->mac, ETH_ALEN);
        return VIRTIO_NET_OK;
    }
    if (cmd != VIRTIO_NET_CTRL_MAC_TABLE_SET ||
        !virtio_has_feature(&n->proxy, VIRTIO_NET_F_CTRL_RX)) {
        return VIRTIO_NET_ERR;
    }
    /* Unicast list, then multicast list, which must end the command. */
    if (!ctrl_mac_list(d, &t, &t.uni_overflow)) {
        return VIRTIO_NET_ERR;
    }
    t.first_multi = t.in_use;
    if (!ctrl_mac_list(d, &t, &t.multi_overflow) || d->len) {
        return VIRTIO_NET_ERR;
    }
    n->mac_table = t;
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_vlan(VirtIONet *n, uint8_t cmd, CtrlData *d)
{
    uint16_t vid;

    if (!virtio_has_feature(&n->proxy, VIRTIO_NET_F_CTRL_VLAN) ||
        d->len < sizeof(vid) || cmd > VIRTIO_NET_CTRL_VLAN_DEL) {
        return VIRTIO_NET_ERR;
    }
    ctrl_read(d, &vid, sizeof(vid));
    vid = le16toh(vid);
    if (vid >= VIRTIO_NET_MAX_VLAN) {
        return VIRTIO_NET_ERR;
    }
    if (cmd == VIRTIO_NET_CTRL_VLAN_ADD) {
        n->vlans[vid / 32] |= 1u << (vid % 32);
    } else {
        n->vlans[vid / 32] &= ~(1u << (vid % 32));
    }
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mq(VirtIONet *n, uint8_t cmd, CtrlData *d)
{
    uint16_t pairs;

    if (!virtio_has_feature(&n->proxy, VIRTIO_NET_F_MQ) ||
        cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || d->len < sizeof(pairs)) {
        return VIRTIO_NET_ERR;
    }
    ctrl_read(d, &pairs, sizeof(pairs));
    pairs = le16toh(pairs);
    if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > n->max_pairs) {
        return VIRTIO_NET_ERR;
    }
    n->curr_pairs = pairs;
    /* Backend queues may now feed other receive queues. */
    rx_flush_all(n);
    return VIRTIO_NET_OK;
}

static void apply_offloads(VirtIONet *n)
{
    uint64_t o = n->guest_offloads;

    for (unsigned i = 0; i < n->max_pairs; i++) {
        qemu_set_offload(n->vqs[i].nc->peer,
                         !!(o & F(VIRTIO_NET_F_GUEST_CSUM)),
                         !!(o & F(VIRTIO_NET_F_GUEST_TSO4)),
                         !!(o & F(VIRTIO_NET_F_GUEST_TSO6)),
                         !!(o & F(VIRTIO_NET_F_GUEST_ECN)),
                         !!(o & F(VIRTIO_NET_F_GUEST_UFO)));
    }
}

static uint8_t ctrl_offloads(VirtIONet *n, uint8_t cmd, CtrlData *d)
{
    uint64_t o;

    if (!virtio_has_feature(&n->proxy, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS) ||
        cmd != VIRTIO_NET_CTRL_GUEST_OFFLOADS_SET || d->len < sizeof(o)) {
        return VIRTIO_NET_ERR;
    }
    ctrl_read(d, &o, sizeof(o));
    o = le64toh(o);
    /* Only offloads negotiated at start-up may be switched. */
    if (o & ~(n->proxy.guest_features & GUEST_OFFLOAD_MASK)) {
        return VIRTIO_NET_ERR;
    }
    n->guest_offloads = o;
    apply_offloads(n);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_dispatch(VirtIONet *n, uint8_t cls, uint8_t cmd,
                             CtrlData *d)
{
    switch (cls) {
    case VIRTIO_NET_CTRL_RX:
        return virtio_has_feature(&n->proxy, VIRTIO_NET_F_CTRL_RX) ?
               ctrl_rx(n, cmd, d) : VIRTIO_NET_ERR;
    case VIRTIO_NET_CTRL_MAC:
        return ctrl_mac(n, cmd, d);
    case VIRTIO_NET_CTRL_VLAN:
        return ctrl_vlan(n, cmd, d);
    case VIRTIO_NET_CTRL_MQ:
        return ctrl_mq(n, cmd, d);
    case VIRTIO_NET_CTRL_GUEST_OFFLOADS:
        return ctrl_offloads(n, cmd, d);
    }
    return VIRTIO_NET_ERR;          /* ANNOUNCE (not offered), unknown */
}

/* One command; false when the chain is malformed (device broken). */
static bool ctrl_one(VirtIONet *n, VirtQueue *vq, VirtQueueElement *e)
{
    struct virtio_net_ctrl_hdr h;
    CtrlData d = { e->out_sg, e->out_num, sizeof(h), 0 };
    uint8_t ack;

    if (e->out_len < sizeof(h) || e->in_len < sizeof(ack)) {
        net_error(n, "control command %u without its header or ack byte",
                  e->index);
        return false;
    }
    iov_to_buf(e->out_sg, e->out_num, 0, &h, sizeof(h));
    d.len = e->out_len - sizeof(h);
    ack = ctrl_dispatch(n, h.class, h.cmd, &d);
    iov_from_buf(e->in_sg, e->in_num, 0, &ack, sizeof(ack));
    virtqueue_push(vq, e, sizeof(ack));
    return true;
}

static void ctrl_handle(VirtIONet *n, unsigned q)
{
    VirtQueue *vq = &n->proxy.queues[q].vq;
    unsigned done = 0;
    VirtQueueElement *e;

    /* Bounded like transmit: a driver refilling as fast as we answer
     * must not hold the main loop. */
    while (done < vq->size && (e = virtqueue_pop(vq, MAX_SEGS, MAX_SEGS))) {
        bool ok = ctrl_one(n, vq, e);

        virtqueue_element_free(e);
        if (!ok) {
            break;
        }
        done++;
    }
    if (done) {
        virtio_pci_notify(&n->proxy, q);
    }
    if (done == vq->size && !n->broken) {
        requeue(n, q);
    }
}

/* ---- device ops ---- */

static void virtio_net_handle_queue(VirtIOPCIProxy *p, unsigned q)
{
    VirtIONet *n = to_net(p);
    unsigned data_queues = 2 * (virtio_has_feature(p, VIRTIO_NET_F_MQ) ?
                                n->max_pairs : 1);

    if (n->broken) {
        return;
    }
    if (q == ctrl_index(n)) {
        ctrl_handle(n, q);
    } else if (q < data_queues && (q & 1)) {
        tx_flush(n, q / 2);
    } else if (q < data_queues) {
        rx_flush_all(n);            /* buffers posted: read again */
    }
}

/* What the backend lets the device offer; the properties choose. */
static uint64_t virtio_net_get_features(VirtIOPCIProxy *p)
{
    VirtIONet *n = to_net(p);
    enum { HDR = 1, UFO = 2, CTRL = 4 };    /* what a bit needs */
    const struct { bool on; unsigned bit; unsigned needs; } f[] = {
        { true, VIRTIO_NET_F_MAC, 0 },
        { n->host_mtu != 0, VIRTIO_NET_F_MTU, 0 },
        { n->f_status, VIRTIO_NET_F_STATUS, 0 },
        { n->f_mrg_rxbuf, VIRTIO_NET_F_MRG_RXBUF, 0 },
        { n->f_csum, VIRTIO_NET_F_CSUM, HDR },
        { n->f_guest_csum, VIRTIO_NET_F_GUEST_CSUM, HDR },
        { n->f_host_tso4 && n->f_csum, VIRTIO_NET_F_HOST_TSO4, HDR },
        { n->f_host_tso6 && n->f_csum, VIRTIO_NET_F_HOST_TSO6, HDR },
        { n->f_host_ecn && n->f_csum, VIRTIO_NET_F_HOST_ECN, HDR },
        { n->f_host_ufo && n->f_csum, VIRTIO_NET_F_HOST_UFO, HDR | UFO },
        { n->f_guest_tso4 && n->f_guest_csum, VIRTIO_NET_F_GUEST_TSO4, HDR },
        { n->f_guest_tso6 && n->f_guest_csum, VIRTIO_NET_F_GUEST_TSO6, HDR },
        { n->f_guest_ecn && n->f_guest_csum, VIRTIO_NET_F_GUEST_ECN, HDR },
        { n->f_guest_ufo && n->f_guest_csum, VIRTIO_NET_F_GUEST_UFO,
          HDR | UFO },
        { n->f_ctrl_vq, VIRTIO_NET_F_CTRL_VQ, 0 },
        { n->f_ctrl_rx, VIRTIO_NET_F_CTRL_RX, CTRL },
        { n->f_ctrl_rx && n->f_ctrl_rx_extra, VIRTIO_NET_F_CTRL_RX_EXTRA,
          CTRL },
        { n->f_ctrl_vlan, VIRTIO_NET_F_CTRL_VLAN, CTRL },
        { n->f_ctrl_mac_addr, VIRTIO_NET_F_CTRL_MAC_ADDR, CTRL },
        { n->f_ctrl_guest_offloads, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS,
          HDR | CTRL },
        { n->mq, VIRTIO_NET_F_MQ, CTRL },
    };
    uint64_t features = 0;

    for (unsigned i = 0; i < G_N_ELEMENTS(f); i++) {
        if (f[i].on && (!(f[i].needs & HDR) || n->has_vnet_hdr) &&
            (!(f[i].needs & UFO) || n->has_ufo) &&
            (!(f[i].needs & CTRL) || n->f_ctrl_vq)) {
            features |= F(f[i].bit);
        }
    }
    /* The kernel's data path must be able to do what is offered. */
    return n->vhost ? vhost_net_get_features(n->vhost, features) : features;
}

static void virtio_net_get_config(VirtIOPCIProxy *p, uint8_t *config)
{
    VirtIONet *n = to_net(p);
    struct virtio_net_config c = { 0 };

    memcpy(c.mac, n->mac, ETH_ALEN);
    c.status = htole16(n->status);
    c.max_virtqueue_pairs = htole16(n->max_pairs);
    c.mtu = htole16(n->host_mtu);
    memcpy(config, &c, NET_CONFIG_SIZE);
}

/*
 * Hand the data queues to the kernel's vhost-net.  If it cannot take
 * them (a queue without an MSI-X vector, an ioctl failing), the device
 * carries on in qvmm, as QEMU does.
 */
static void vhost_start(VirtIONet *n)
{
    GError *err = NULL;
    unsigned pairs = virtio_has_feature(&n->proxy, VIRTIO_NET_F_MQ) ?
                     n->max_pairs : 1;

    if (vhost_net_start(n->vhost, &n->proxy, pairs, &err)) {
        n->vhost_pairs = pairs;
        return;
    }
    error_report("unable to start vhost net: %s: falling back on userspace "
                 "virtio", err->message);
    g_error_free(err);
}

static void vhost_stop(VirtIONet *n)
{
    if (n->vhost_pairs) {
        vhost_net_stop(n->vhost, &n->proxy, n->vhost_pairs);
        n->vhost_pairs = 0;
    }
}

/* DRIVER_OK: the features are final. */
static void virtio_net_start(VirtIOPCIProxy *p)
{
    VirtIONet *n = to_net(p);

    /* Without VLAN filtering every VLAN passes. */
    memset(n->vlans, virtio_has_feature(p, VIRTIO_NET_F_CTRL_VLAN) ? 0 : 0xff,
           sizeof(n->vlans));
    n->guest_offloads = p->guest_features & GUEST_OFFLOAD_MASK;
    if (n->has_vnet_hdr) {
        apply_offloads(n);
    }
    if (n->vhost) {
        vhost_start(n);
    }
    /* The transport kicks every enabled queue next (those vhost took
     * excepted), which lets held frames through on both sides. */
}

static void virtio_net_reset(VirtIOPCIProxy *p)
{
    VirtIONet *n = to_net(p);

    if (n->vhost_pairs) {
        /* The transport reset the queues before this runs; giving them
         * back from the kernel wrote its ring positions into them. */
        vhost_stop(n);
        for (unsigned q = 0; q < p->num_queues; q++) {
            virtqueue_reset(&p->queues[q].vq);
        }
    }
    for (unsigned i = 0; i < n->max_pairs; i++) {
        if (n->vqs[i].tx_held) {
            virtqueue_element_free(n->vqs[i].tx_held);
            n->vqs[i].tx_held = NULL;
        }
        n->vqs[i].tx_waiting = false;
    }
    n->broken = false;
    n->curr_pairs = 1;
    /* QEMU's defaults: promiscuous until the driver says otherwise. */
    n->promisc = true;
    n->allmulti = n->alluni = n->nomulti = n->nouni = n->nobcast = false;
    memset(&n->mac_table, 0, sizeof(n->mac_table));
    memset(n->vlans, 0, sizeof(n->vlans));
    memcpy(n->mac, n->perm_mac, ETH_ALEN);
}

static const VirtIODeviceOps virtio_net_ops = {
    .device_id = VIRTIO_ID_NET,
    .class_code = 0x020000,             /* network, Ethernet */
    .config_size = NET_CONFIG_SIZE,
    .get_features = virtio_net_get_features,
    .get_config = virtio_net_get_config,
    .start = virtio_net_start,
    .handle_queue = virtio_net_handle_queue,
    .reset = virtio_net_reset,
};

/* ---- realize ---- */

static bool check_queue_size(const char *name, uint16_t v, const char *end,
                             GError **errp)
{
    if (v < VIRTIO_NET_QUEUE_SIZE_MIN || v > VIRTIO_NET_QUEUE_SIZE_MAX ||
        (v & (v - 1))) {
        error_setg(errp, "Invalid %s (= %u), must be a power of 2 between "
                   "%u and %u%s", name, v, VIRTIO_NET_QUEUE_SIZE_MIN,
                   VIRTIO_NET_QUEUE_SIZE_MAX, end);
        return false;
    }
    return true;
}

/* Boot order is for firmware, which qvmm has not: only checked. */
static bool check_bootindex(const char *v, GError **errp)
{
    long long i;
    char *end;

    if (!v) {
        return true;
    }
    errno = 0;
    i = strtoll(v, &end, 0);
    if (!*v || *end) {
        error_setg(errp, "Parameter 'bootindex' expects integer");
        return false;
    }
    if (errno || i < INT32_MIN || i > INT32_MAX) {
        error_setg(errp, "Parameter 'bootindex' expects int32_t");
        return false;
    }
    return true;
}

static bool set_mac(VirtIONet *n, GError **errp)
{
    if (n->mac_prop && !net_parse_macaddr(n->perm_mac, n->mac_prop)) {
        error_setg(errp, "Property 'virtio-net-device.mac' doesn't take "
                   "value '%s'", n->mac_prop);
        return false;
    }
    qemu_macaddr_default_if_unset(n->perm_mac, n->mac_prop != NULL);
    memcpy(n->mac, n->perm_mac, ETH_ALEN);
    return true;
}

/* Find the backend's queues; none without netdev= (frames dropped). */
static bool claim_backend(VirtIONet *n, NetClientState **peers,
                          GError **errp)
{
    unsigned nq = 0;

    if (n->netdev &&
        !qemu_net_claim_netdev(n->netdev, "virtio-net-device", peers, &nq,
                               errp)) {
        return false;
    }
    n->vhost = nq ? qemu_get_vhost_net(peers[0]) : NULL;
    n->max_pairs = MAX(nq, 1);
    n->has_vnet_hdr = nq && qemu_has_vnet_hdr(peers[0]) &&
                      qemu_has_vnet_hdr_len(peers[0], HDR_LEN);
    n->has_ufo = n->has_vnet_hdr && qemu_has_ufo(peers[0]);
    for (unsigned i = 0; n->has_vnet_hdr && i < nq; i++) {
        qemu_set_vnet_hdr_len(peers[i], HDR_LEN);
    }
    if (!nq) {
        peers[0] = NULL;
    }
    return true;
}

/*
 * QEMU's NIC names: the device id, else "virtio-net-pci.N", where N
 * counts every NIC of the model, named or not.
 */
static char *nic_name(VirtIONet *n)
{
    static unsigned index;
    unsigned i = index++;

    if (n->proxy.pci.qdev.id) {
        return g_strdup(n->proxy.pci.qdev.id);
    }
    return g_strdup_printf("%s.%u", TYPE_VIRTIO_NET_PCI, i);
}

static void make_nics(VirtIONet *n, NetClientState **peers)
{
    g_autofree char *name = nic_name(n);

    n->vqs = g_new0(VirtIONetQueue, n->max_pairs);
    for (unsigned i = 0; i < n->max_pairs; i++) {
        NetClientState *nc = qemu_new_net_client(&virtio_net_nic_info,
                                                 peers[0] ? peers[i] : NULL,
                                                 TYPE_VIRTIO_NET_PCI, name);

        ((VirtIONetNic *)nc)->n = n;
        nc->queue_index = i;
        nc->queues = n->max_pairs;
        snprintf(nc->info_str, sizeof(nc->info_str),
                 "model=%s,macaddr=%02x:%02x:%02x:%02x:%02x:%02x",
                 TYPE_VIRTIO_NET_PCI, n->perm_mac[0], n->perm_mac[1],
                 n->perm_mac[2], n->perm_mac[3], n->perm_mac[4],
                 n->perm_mac[5]);
        n->vqs[i].n = n;
        n->vqs[i].nc = nc;
    }
}

static bool virtio_net_realize(DeviceState *dev, GError **errp)
{
    VirtIONet *n = (VirtIONet *)dev;
    NetClientState *peers[MAX_QUEUE_NUM];
    unsigned nq;

    if (!check_bootindex(n->bootindex, errp) ||
        !check_queue_size("rx_queue_size", n->rx_queue_size, ".", errp) ||
        !check_queue_size("tx_queue_size", n->tx_queue_size, "", errp) ||
        !set_mac(n, errp) || !claim_backend(n, peers, errp)) {
        return false;
    }
    nq = 2 * n->max_pairs + 1;
    if (n->vectors == UINT32_MAX) {
        n->vectors = 2 * n->max_pairs + 2;  /* queues, config, control */
    }
    if (n->vectors > PCI_MSIX_MAX_VECTORS) {
        warn_report("unable to init msix vectors to %u", n->vectors);
        n->vectors = 0;
    }
    n->proxy.nvectors = n->vectors;
    if (!virtio_pci_realize(&n->proxy, &virtio_net_ops, "virtio-net", nq,
                            VIRTIO_NET_QUEUE_SIZE_MAX, errp)) {
        return false;
    }
    for (unsigned q = 0; q < nq; q++) {
        VirtIOPCIQueue *pq = &n->proxy.queues[q];

        /* As QEMU, tx_queue_size is checked but only vhost-user (which
         * qvmm has not) gets more than the default. */
        pq->max_size = q == nq - 1 ? VIRTIO_NET_CTRL_QUEUE_SIZE :
                       q & 1 ? MIN(n->tx_queue_size,
                                   VIRTIO_NET_QUEUE_SIZE_DEF) :
                       n->rx_queue_size;
        pq->size = pq->max_size;
    }
    make_nics(n, peers);
    n->status = VIRTIO_NET_S_LINK_UP;
    virtio_net_reset(&n->proxy);
    return true;
}

static void virtio_net_finalize(DeviceState *dev)
{
    VirtIONet *n = (VirtIONet *)dev;

    if (n->vqs) {
        vhost_stop(n);
    }
    virtio_pci_finalize(&n->proxy);
    for (unsigned i = 0; n->vqs && i < n->max_pairs; i++) {
        virtqueue_element_free(n->vqs[i].tx_held);
        if (n->vqs[i].nc) {
            qemu_del_net_client(n->vqs[i].nc);
        }
    }
    g_free(n->vqs);
    n->vqs = NULL;
}

static void virtio_net_device_reset(DeviceState *dev)
{
    virtio_pci_reset(&((VirtIONet *)dev)->proxy);
}

#define NET_FEATURE_PROP(_name, _field) \
    DEFINE_PROP(_name, PROP_BOOL, VirtIONet, _field, "on")

/* The transport's properties but iothread, which QEMU's virtio-net
 * does not have. */
static const Property virtio_net_props[] = {
    DEFINE_PCI_ADDR_PROP(VirtIONet, proxy.pci),
    DEFINE_PROP("disable-legacy", PROP_STRING, VirtIONet,
                proxy.disable_legacy, "auto"),
    DEFINE_PROP("disable-modern", PROP_BOOL, VirtIONet, proxy.disable_modern,
                "off"),
    DEFINE_PROP("event_idx", PROP_BOOL, VirtIONet, proxy.event_idx, "on"),
    DEFINE_PROP("indirect_desc", PROP_BOOL, VirtIONet, proxy.indirect_desc,
                "on"),
    DEFINE_PROP("netdev", PROP_STRING, VirtIONet, netdev, NULL),
    DEFINE_PROP("mac", PROP_STRING, VirtIONet, mac_prop, NULL),
    DEFINE_PROP("mq", PROP_BOOL, VirtIONet, mq, "off"),
    DEFINE_PROP("vectors", PROP_UINT32, VirtIONet, vectors, "4294967295"),
    DEFINE_PROP("rx_queue_size", PROP_UINT16, VirtIONet, rx_queue_size,
                "256"),
    DEFINE_PROP("tx_queue_size", PROP_UINT16, VirtIONet, tx_queue_size,
                "256"),
    DEFINE_PROP("host_mtu", PROP_UINT16, VirtIONet, host_mtu, "0"),
    DEFINE_PROP("bootindex", PROP_STRING, VirtIONet, bootindex, NULL),
    NET_FEATURE_PROP("csum", f_csum),
    NET_FEATURE_PROP("guest_csum", f_guest_csum),
    NET_FEATURE_PROP("guest_tso4", f_guest_tso4),
    NET_FEATURE_PROP("guest_tso6", f_guest_tso6),
    NET_FEATURE_PROP("guest_ecn", f_guest_ecn),
    NET_FEATURE_PROP("guest_ufo", f_guest_ufo),
    NET_FEATURE_PROP("host_tso4", f_host_tso4),
    NET_FEATURE_PROP("host_tso6", f_host_tso6),
    NET_FEATURE_PROP("host_ecn", f_host_ecn),
    NET_FEATURE_PROP("host_ufo", f_host_ufo),
    NET_FEATURE_PROP("mrg_rxbuf", f_mrg_rxbuf),
    NET_FEATURE_PROP("status", f_status),
    NET_FEATURE_PROP("ctrl_vq", f_ctrl_vq),
    NET_FEATURE_PROP("ctrl_rx", f_ctrl_rx),
    NET_FEATURE_PROP("ctrl_vlan", f_ctrl_vlan),
    NET_FEATURE_PROP("ctrl_rx_extra", f_ctrl_rx_extra),
    NET_FEATURE_PROP("ctrl_mac_addr", f_ctrl_mac_addr),
    NET_FEATURE_PROP("ctrl_guest_offloads", f_ctrl_guest_offloads),
    DEFINE_PROP_END_OF_LIST()
};

static const DeviceClass virtio_net_pci_class = {
    .name = TYPE_VIRTIO_NET_PCI,
    .bus = "pci",
    .desc = "Virtio network device",
    .alias = "virtio-net",
    .category = DEVICE_CATEGORY_NETWORK,
    .instance_size = sizeof(VirtIONet),
    .props = virtio_net_props,
    .user_creatable = true,
    .realize = virtio_net_realize,
    .reset = virtio_net_device_reset,
    .finalize = virtio_net_finalize,
};

static void virtio_net_register(void)
{
    qdev_register_type(&virtio_net_pci_class);
}
type_init(virtio_net_register)
