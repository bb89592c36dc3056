/*
 * -netdev tap: a Linux tap device (/dev/net/tun) as a network backend.
 *
 * Frames are read from the tap fd in the main loop while the peer can
 * take them (qemu_can_send_packet); when the peer refuses one (returns
 * 0) the tap keeps it, stops polling its fd and waits for peer_ready.
 * Frames from the NIC are written with writev; when the tap's queue is
 * full (EAGAIN) the NIC keeps its frame and the tap polls for POLLOUT,
 * then calls qemu_flush_queued_packets().  Nothing is queued in qvmm.
 *
 * With IFF_VNET_HDR every frame on the fd carries a virtio-net header;
 * the tap strips or prepends a zeroed one until the NIC says (through
 * qemu_set_vnet_hdr_len) that it sends and takes headers itself.
 */
#include "net/net.h"
#include "net/tap-int.h"
#include "hw/virtio/vhost-net.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include <limits.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#define TAP_BUFSIZE     (4096 + 65536)   /* a GSO frame and its header */
#define TAP_BURST       64               /* frames read per wake-up */

typedef struct TAPState TAPState;

/* A GSource on the tap fd whose events change with the flow state. */
typedef struct TapSource {
    GSource source;
    gpointer tag;
    TAPState *s;
} TapSource;

struct TAPState {
    NetClientState nc;
    int fd;
    TapSource *src;
    bool read_poll;                /* reading: the peer can take frames */
    bool write_poll;               /* the tap's queue was full */
    GIOCondition events;           /* what the fd is polled for now */
    bool vhost_running;            /* the kernel reads the fd, not us */
    unsigned host_vnet_hdr_len;    /* header on the fd; 0: none */
    bool using_vnet_hdr;           /* the NIC sends and takes headers */
    bool has_ufo;
    bool held;                     /* buf holds a frame the peer refused */
    size_t held_off, held_len;
    char *down_script, *down_ifname;
    VhostNet *vhost;
    uint8_t buf[TAP_BUFSIZE];
};

static TAPState *tap_of(NetClientState *nc)
{
    return (TAPState *)nc;
}

static void tap_update_poll(TAPState *s)
{
    GIOCondition ev = 0;

    if (s->read_poll && !s->vhost_running) {
        ev |= G_IO_IN;
    }
    if (s->write_poll) {
        ev |= G_IO_OUT;
    }
    /* glib wakes the main loop on every change: make only real ones
     * (peer_ready comes with every RX kick, mostly with reading on). */
    if (ev != s->events) {
        s->events = ev;
        g_source_modify_unix_fd(&s->src->source, s->src->tag, ev);
    }
}

static void tap_set_read_poll(TAPState *s, bool on)
{
    s->read_poll = on;
    tap_update_poll(s);
}

/* Offer one frame from buf to the peer; false if the peer refused it. */
static bool tap_deliver(TAPState *s, size_t off, size_t len)
{
    if (qemu_send_packet(&s->nc, s->buf + off, len) == 0) {
        s->held = true;
        s->held_off = off;
        s->held_len = len;
        tap_set_read_poll(s, false);
        return false;
    }
    return true;
}

static void tap_send(TAPState *s)
{
    for (unsigned n = 0; n < TAP_BURST; n++) {
        size_t skip = s->using_vnet_hdr ? 0 : s->host_vnet_hdr_len;
        ssize_t len;

        if (!qemu_can_send_packet(&s->nc)) {
            /* The peer's flush (peer_ready) turns reading back on. */
            tap_set_read_poll(s, false);
            return;
        }
        len = read(s->fd, s->buf, sizeof(s->buf));
        if (len < 0 && errno == EINTR) {
            continue;
        }
        if (len <= 0) {
            return;                /* EAGAIN: drained */
        }
        if ((size_t)len <= skip) {
            continue;              /* a header without a frame */
        }
        if (!tap_deliver(s, skip, len - skip)) {
            return;
        }
    }
}

static void tap_peer_ready(NetClientState *nc)
{
    TAPState *s = tap_of(nc);

    if (s->held) {
        s->held = false;
        if (!tap_deliver(s, s->held_off, s->held_len)) {
            return;
        }
    }
    tap_set_read_poll(s, true);
}

static gboolean tap_source_dispatch(GSource *source, GSourceFunc cb,
                                    gpointer data)
{
    TapSource *ts = (TapSource *)source;
    TAPState *s = ts->s;
    GIOCondition rev = g_source_query_unix_fd(source, ts->tag);

    (void)cb;
    (void)data;
    if ((rev & G_IO_OUT) && s->write_poll) {
        s->write_poll = false;
        tap_update_poll(s);
        qemu_flush_queued_packets(&s->nc);
    }
    if ((rev & (G_IO_IN | G_IO_HUP | G_IO_ERR)) && s->read_poll &&
        !s->vhost_running) {
        tap_send(s);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs tap_source_funcs = {
    .dispatch = tap_source_dispatch,
};

/* ---- frames from the NIC ---- */

static bool tap_can_receive(NetClientState *nc)
{
    return !tap_of(nc)->write_poll;
}

static ssize_t tap_receive_iov(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    TAPState *s = tap_of(nc);
    size_t size = iov_size(iov, iovcnt);
    struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
    g_autofree struct iovec *v = NULL;
    ssize_t ret;

    if (s->write_poll) {
        return 0;
    }
    if (s->host_vnet_hdr_len && !s->using_vnet_hdr) {
        if (iovcnt >= IOV_MAX) {
            return size;           /* cannot be written: dropped */
        }
        v = g_new(struct iovec, iovcnt + 1);
        v[0].iov_base = &hdr;
        v[0].iov_len = s->host_vnet_hdr_len;
        memcpy(v + 1, iov, iovcnt * sizeof(*iov));
        iov = v;
        iovcnt++;
    }
    do {
        ret = writev(s->fd, iov, iovcnt);
    } while (ret < 0 && errno == EINTR);
    if (ret < 0 && errno == EAGAIN) {
        s->write_poll = true;
        tap_update_poll(s);
        return 0;
    }
    /* Other errors (the interface is down) lose the frame, as a wire. */
    return size;
}

/* ---- vnet header and offloads ---- */

static bool tap_has_vnet_hdr(NetClientState *nc)
{
    return tap_of(nc)->host_vnet_hdr_len != 0;
}

static bool tap_has_vnet_hdr_len(NetClientState *nc, int len)
{
    TAPState *s = tap_of(nc);
    int orig;

    if (!s->host_vnet_hdr_len ||
        ioctl(s->fd, TUNGETVNETHDRSZ, &orig) < 0 ||
        ioctl(s->fd, TUNSETVNETHDRSZ, &len) < 0) {
        return false;
    }
    ioctl(s->fd, TUNSETVNETHDRSZ, &orig);
    return true;
}

static void tap_set_vnet_hdr_len(NetClientState *nc, int len)
{
    TAPState *s = tap_of(nc);

    if (!s->host_vnet_hdr_len) {
        return;
    }
    if (ioctl(s->fd, TUNSETVNETHDRSZ, &len) < 0) {
        /* The NIC asked has_vnet_hdr_len first; this cannot happen. */
        error_report("%s: TUNSETVNETHDRSZ %d: %s", s->nc.name, len,
                     g_strerror(errno));
        return;
    }
    s->host_vnet_hdr_len = len;
    s->using_vnet_hdr = true;
}

static bool tap_has_ufo(NetClientState *nc)
{
    return tap_of(nc)->has_ufo;
}

static void tap_set_offload(NetClientState *nc, int csum, int tso4,
                            int tso6, int ecn, int ufo)
{
    TAPState *s = tap_of(nc);
    unsigned int flags = 0;

    if (!s->host_vnet_hdr_len) {
        return;                    /* offloads need the header */
    }
    flags |= csum ? TUN_F_CSUM : 0;
    flags |= tso4 ? TUN_F_TSO4 : 0;
    flags |= tso6 ? TUN_F_TSO6 : 0;
    flags |= ecn ? TUN_F_TSO_ECN : 0;
    flags |= ufo ? TUN_F_UFO : 0;
    if (ioctl(s->fd, TUNSETOFFLOAD, flags) < 0 && (flags & TUN_F_UFO)) {
        /* A kernel without UFO still takes the rest. */
        ioctl(s->fd, TUNSETOFFLOAD, flags & ~TUN_F_UFO);
    }
}

static VhostNet *tap_get_vhost_net(NetClientState *nc)
{
    return tap_of(nc)->vhost;
}

static void tap_vhost_poll(void *opaque, bool enable)
{
    TAPState *s = opaque;

    s->vhost_running = !enable;
    tap_update_poll(s);
}

static void tap_cleanup(NetClientState *nc)
{
    TAPState *s = tap_of(nc);
    g_autoptr(GError) err = NULL;

    if (s->vhost) {
        vhost_net_cleanup(s->vhost);
        s->vhost = NULL;
    }
    if (s->down_script &&
        !tap_run_script(s->down_script, s->down_ifname, &err)) {
        error_report_err(g_steal_pointer(&err));
    }
    g_free(s->down_script);
    g_free(s->down_ifname);
    if (s->src) {
        g_source_destroy(&s->src->source);
        g_source_unref(&s->src->source);
    }
    close(s->fd);
}

static const NetClientInfo tap_info = {
    .type = NET_CLIENT_DRIVER_TAP,
    .size = sizeof(TAPState),
    .receive_iov = tap_receive_iov,
    .can_receive = tap_can_receive,
    .peer_ready = tap_peer_ready,
    .cleanup = tap_cleanup,
    .has_vnet_hdr = tap_has_vnet_hdr,
    .has_vnet_hdr_len = tap_has_vnet_hdr_len,
    .set_vnet_hdr_len = tap_set_vnet_hdr_len,
    .has_ufo = tap_has_ufo,
    .set_offload = tap_set_offload,
    .get_vhost_net = tap_get_vhost_net,
};

/* UFO is there if the kernel takes it with checksum offload. */
static bool tap_probe_ufo(int fd)
{
    return ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_UFO) == 0;
}

NetClientState *tap_client_new(const char *name, unsigned queue_index,
                               unsigned queues, int fd, bool vnet_hdr)
{
    NetClientState *nc = qemu_new_net_client(&tap_info, NULL, "tap", name);
    TAPState *s = tap_of(nc);

    nc->queue_index = queue_index;
    nc->queues = queues;
    nc->is_netdev = true;
    s->fd = fd;
    if (vnet_hdr) {
        s->host_vnet_hdr_len = sizeof(struct virtio_net_hdr);
        s->has_ufo = tap_probe_ufo(fd);
        /* Offloads stay off until the NIC negotiates them. */
        ioctl(fd, TUNSETOFFLOAD, 0);
    }
    s->src = (TapSource *)g_source_new(&tap_source_funcs, sizeof(TapSource));
    s->src->s = s;
    s->src->tag = g_source_add_unix_fd(&s->src->source, fd, 0);
    /* No fd removal and re-adding (two main-loop wakeups) per dispatch. */
    g_source_set_can_recurse(&s->src->source, TRUE);
    g_source_attach(&s->src->source, NULL);
    tap_set_read_poll(s, true);
    return nc;
}

void tap_client_set_down_script(NetClientState *nc, const char *script,
                                const char *ifname)
{
    TAPState *s = tap_of(nc);

    s->down_script = g_strdup(script);
    s->down_ifname = g_strdup(ifname);
}

bool tap_client_enable_vhost(NetClientState *nc, int vhostfd,
                             NetClientState *prev, uint64_t poll_us,
                             GError **errp)
{
    TAPState *s = tap_of(nc);
    VhostNetOptions o = {
        .vhostfd = vhostfd,
        .backend_fd = s->fd,
        .backend_has_vnet_hdr = s->host_vnet_hdr_len != 0,
        .backend_poll = tap_vhost_poll,
        .opaque = s,
        .prev = prev ? tap_of(prev)->vhost : NULL,
        .busyloop_us = poll_us,
    };

    s->vhost = vhost_net_init(&o, errp);
    return s->vhost != NULL;
}

int tap_client_fd(NetClientState *nc)
{
    return tap_of(nc)->fd;
}
