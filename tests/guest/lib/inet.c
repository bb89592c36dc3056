/*
 * Checksums, address parsing and frame building for the network guests.
 */
#include "guest.h"
#include "inet.h"

uint16_t inet_csum(const uint8_t *p, size_t len, uint32_t sum)
{
    uint64_t s = sum;

    for (; len >= 2; p += 2, len -= 2) {
        s += get_be16(p);
    }
    if (len) {
        s += (uint32_t)p[0] << 8;   /* an odd byte is padded with zero */
    }
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return (uint16_t)~s;
}

bool inet_parse_ip4(const char *s, uint8_t ip[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, digits = 0;

        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*s++ - '0');
            digits++;
        }
        if (!digits || v > 255 || *s != (i < 3 ? '.' : '\0')) {
            return false;
        }
        ip[i] = (uint8_t)v;
        s++;
    }
    return true;
}

void format_mac(char *buf, const uint8_t mac[ETH_ALEN])
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
             mac[2], mac[3], mac[4], mac[5]);
}

void build_udp_frame(uint8_t *f, size_t frame_len,
                     const uint8_t dst_mac[ETH_ALEN],
                     const uint8_t src_mac[ETH_ALEN],
                     const uint8_t src_ip[4], const uint8_t dst_ip[4],
                     uint16_t src_port, uint16_t dst_port)
{
    struct ethhdr eth;
    struct iphdr ip = { 0 };
    struct udphdr udp;
    size_t ip_len = frame_len - ETH_HLEN;
    uint8_t *iph = f + ETH_HLEN;

    memcpy(eth.h_dest, dst_mac, ETH_ALEN);
    memcpy(eth.h_source, src_mac, ETH_ALEN);
    eth.h_proto = be16(ETH_P_IP);
    memcpy(f, &eth, sizeof(eth));

    ip.version = 4;
    ip.ihl = sizeof(ip) / 4;
    ip.tot_len = be16((uint16_t)ip_len);
    ip.ttl = 64;
    ip.protocol = IPPROTO_UDP;
    memcpy(&ip.saddr, src_ip, 4);
    memcpy(&ip.daddr, dst_ip, 4);
    memcpy(iph, &ip, sizeof(ip));
    put_be16(iph + offsetof(struct iphdr, check), inet_csum(iph, sizeof(ip), 0));

    udp.source = be16(src_port);
    udp.dest = be16(dst_port);
    udp.len = be16((uint16_t)(ip_len - sizeof(ip)));
    udp.check = 0;
    memcpy(iph + sizeof(ip), &udp, sizeof(udp));
    memset(f + UDP_FRAME_HDRS, 0, frame_len - UDP_FRAME_HDRS);
}
