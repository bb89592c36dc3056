/* Between net/tap.c (the client) and net/tap-linux.c (device, options). */
#ifndef NET_TAP_INT_H
#define NET_TAP_INT_H

#include "net/net.h"

#define PATH_NET_TUN             "/dev/net/tun"
#define DEFAULT_NETWORK_SCRIPT   "/etc/qemu-ifup"
#define DEFAULT_NETWORK_DOWN_SCRIPT "/etc/qemu-ifdown"

/*
 * Open /dev/net/tun and attach to (or create) @ifname ("" lets the
 * kernel pick tapN), non-blocking.  *@vnet_hdr in: want the header;
 * out: got it.  @ifname is replaced by the kernel's name.  -1 with
 * QEMU's texts on failure.
 */
int tap_open(char *ifname, size_t ifname_size, bool *vnet_hdr,
             bool vnet_hdr_required, bool mq_required, GError **errp);
/* Run @script with @ifname as its argument; false unless it exits 0. */
bool tap_run_script(const char *script, const char *ifname, GError **errp);

/* A tap client on @fd (taken over), polling from the main loop. */
NetClientState *tap_client_new(const char *name, unsigned queue_index,
                               unsigned queues, int fd, bool vnet_hdr);
/* Run @script with @ifname when the client goes away. */
void tap_client_set_down_script(NetClientState *nc, const char *script,
                                const char *ifname);
/* vhost-net on @vhostfd (taken over), chained after @prev's, busy
 * polling for @poll_us microseconds (poll-us=) when not 0. */
bool tap_client_enable_vhost(NetClientState *nc, int vhostfd,
                             NetClientState *prev, uint64_t poll_us,
                             GError **errp);
int tap_client_fd(NetClientState *nc);

/* -netdev tap,... */
bool net_init_tap(const QOpts *opts, const char *id, GError **errp);

#endif
