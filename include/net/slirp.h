/*
 * User-mode networking (net/slirp.c).  The backend registers itself as
 * netdev type "user"; this header holds what else it offers.
 */
#ifndef NET_SLIRP_H
#define NET_SLIRP_H

#include "net/net.h"

/*
 * Frames slirp had for the guest that the NIC could not take (no RX
 * buffers posted) and that were dropped: slirp cannot hold them back.
 * @nc must be a "user" netdev client.
 */
uint64_t net_slirp_dropped_frames(NetClientState *nc);

/* HMP "info usernet": every user netdev's connections, as QEMU prints. */
void hmp_info_usernet(GString *out, int cpu);

#endif
