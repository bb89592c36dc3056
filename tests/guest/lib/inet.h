/*
 * Just enough Ethernet, ARP, IPv4, ICMP and UDP for the test guests.
 *
 * Frames sit at arbitrary byte offsets in virtio buffers (after a 12-byte
 * virtio-net header), so fields are never read through a cast pointer:
 * headers are copied to and from locals (the uapi structures give the
 * layout) or accessed with the big-endian byte helpers below.
 */
#ifndef GUEST_INET_H
#define GUEST_INET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/icmp.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

/* ARP for IPv4 over Ethernet: the fixed header and its four addresses. */
struct arp_eth_ipv4 {
    struct arphdr h;
    uint8_t sha[ETH_ALEN];
    uint8_t spa[4];
    uint8_t tha[ETH_ALEN];
    uint8_t tpa[4];
} __attribute__((packed));

static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = (uint8_t)v;
}

static inline uint16_t be16(uint16_t v)     /* host <-> network order */
{
    return __builtin_bswap16(v);
}

/*
 * The Internet checksum (RFC 1071) of @len bytes at @p, continuing the
 * one's-complement sum @sum (0 to start), folded and inverted: the value
 * to store big-endian in a checksum field.  Over data that already holds
 * a correct checksum it yields 0.
 */
uint16_t inet_csum(const uint8_t *p, size_t len, uint32_t sum);

/* "A.B.C.D" into 4 bytes in network order; false if malformed. */
bool inet_parse_ip4(const char *s, uint8_t ip[4]);

/* "aa:bb:cc:dd:ee:ff" into @buf (at least 18 bytes). */
void format_mac(char *buf, const uint8_t mac[ETH_ALEN]);

/*
 * Write an Ethernet + IPv4 + UDP frame of @frame_len bytes (at least 42,
 * the headers, and at most 1514) into @f: the UDP payload is zeroed, the
 * IP checksum filled in, the UDP checksum left 0 (none, allowed for IPv4).
 */
void build_udp_frame(uint8_t *f, size_t frame_len,
                     const uint8_t dst_mac[ETH_ALEN],
                     const uint8_t src_mac[ETH_ALEN],
                     const uint8_t src_ip[4], const uint8_t dst_ip[4],
                     uint16_t src_port, uint16_t dst_port);

#define UDP_FRAME_HDRS (ETH_HLEN + sizeof(struct iphdr) + sizeof(struct udphdr))

#endif
