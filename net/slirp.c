/*
 * User-mode networking (-netdev user, -nic user) through libslirp.
 *
 * One netdev is one NetClientState and one Slirp instance.  Frames from
 * the NIC go to slirp_input(); slirp's send_packet callback hands frames
 * to the NIC.  Slirp's host sockets are polled by a GSource on the
 * default main context, and its timers are QEMUTimers on the virtual
 * clock (as in QEMU), so everything runs in the main loop with the BQL.
 *
 * Slirp has no way to hold a frame back: when the NIC has no room
 * (qemu_send_packet returns 0) the frame is dropped and counted, and
 * TCP in the guest or on slirp's side retransmits it.  Queueing instead
 * would let a guest that posts no RX buffers grow qvmm without bound.
 */
#include "qemu/osdep.h"
#include "net/net.h"
#include "net/slirp.h"
#include "chardev/char.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <libslirp.h>

/* The largest frame a NIC may hand us, as QEMU's NET_BUFSIZE. */
#define USER_MAX_FRAME (4096 + 65536)

typedef struct SlirpSource SlirpSource;

typedef struct GuestFwd {
    struct in_addr addr;
    int port;
    Chardev *chr;                  /* NULL for a "cmd:" rule */
    bool chr_owned;                /* ours to delete (as in QEMU) */
    bool attached;
    struct SlirpState *s;
} GuestFwd;

typedef struct SlirpState {
    NetClientState nc;
    Slirp *slirp;
    SlirpSource *source;
    GArray *hostfwds;              /* of HostFwd, removed at cleanup */
    GPtrArray *guestfwds;          /* of GuestFwd* */
    uint8_t *frame;                /* flattens multi-part frames */
    uint64_t dropped;              /* frames the NIC had no room for */
} SlirpState;

typedef struct HostFwd {
    bool udp;
    struct sockaddr_in host;
    struct sockaddr_in guest;
} HostFwd;

/* The settings of one netdev after QEMU's defaults and checks. */
typedef struct UserNetConfig {
    bool restricted, ipv4, ipv6;
    struct in_addr net, mask, host, dhcp, dns;
    struct in6_addr prefix6, host6, dns6;
    int64_t prefix6_len;
    const char *hostname, *tftp, *bootfile, *domainname, *tftp_server_name;
    const char **dnssearch;        /* NULL-terminated, or NULL */
    char *prefix_str;              /* ipv6-net's prefix part; freed */
} UserNetConfig;

static SlirpState *nc_to_slirp(NetClientState *nc)
{
    return (SlirpState *)nc;
}

/* ------------------------------------------------------------------ */
/* Option parsing                                                      */
/* ------------------------------------------------------------------ */

static const char *const user_keys[] = {
    "id", "hostname", "restrict", "ipv4", "ipv6", "ip", "net", "host",
    "tftp", "bootfile", "dhcpstart", "dns", "dnssearch", "domainname",
    "ipv6-prefix", "ipv6-prefixlen", "ipv6-host", "ipv6-dns", "ipv6-net",
    "smb", "smbserver", "hostfwd", "guestfwd", "tftp-server-name", NULL
};

/*
 * A whole-string integer in @base (0 allows 0x and 0 prefixes), as
 * strtol reads it; an empty string is 0, which is how QEMU 7.2 reads an
 * empty host port in a hostfwd rule.
 */
static bool parse_long(const char *str, int base, long *val)
{
    char *end;

    errno = 0;
    *val = strtol(str, &end, base);
    return !errno && *end == '\0';
}

/*
 * "ipv6-net=PREFIX[/LEN]" is shorthand for ipv6-prefix and
 * ipv6-prefixlen and, as in QEMU, wins over them.  Its length must be a
 * decimal number; the range is checked with ipv6-prefixlen's.
 */
static bool parse_ipv6_net(const QOpts *opts, const char **prefix,
                           char **owned, int64_t *len, bool *has_len,
                           GError **errp)
{
    const char *net = qopts_get(opts, "ipv6-net");
    const char *slash;
    long long n;
    char *end;

    if (!net) {
        return true;
    }
    slash = strchr(net, '/');
    if (!slash) {
        *prefix = net;
        *len = 64;
        *has_len = true;
        return true;
    }
    *prefix = *owned = g_strndup(net, slash - net);
    errno = 0;
    n = strtoll(slash + 1, &end, 10);
    if (errno || end == slash + 1 || *end) {
        error_setg(errp, "Parameter 'ipv6-prefixlen' expects a number");
        return false;
    }
    *len = n;
    *has_len = true;
    return true;
}

/* The typed parameters, in the order QEMU's visitor checks them. */
static bool parse_typed(const QOpts *opts, bool *restricted, bool *ipv4,
                        bool *ipv6, GError **errp)
{
    bool v4 = true, v6 = true;
    bool has4 = qopts_has(opts, "ipv4"), has6 = qopts_has(opts, "ipv6");

    if (!qopts_get_bool(opts, "restrict", false, restricted, errp) ||
        !qopts_get_bool(opts, "ipv4", true, &v4, errp) ||
        !qopts_get_bool(opts, "ipv6", true, &v6, errp)) {
        return false;
    }
    /* QEMU: naming only one family and turning it on means "only it". */
    *ipv4 = !((has6 && v6 && !has4) || (has4 && !v4));
    *ipv6 = !((has4 && v4 && !has6) || (has6 && !v6));
    return true;
}

static bool parse_prefixlen(const QOpts *opts, int64_t *len, GError **errp)
{
    const char *s = qopts_get(opts, "ipv6-prefixlen");

    *len = 0;
    if (s && qemu_strtoi64(s, len)) {
        error_setg(errp, "Parameter 'ipv6-prefixlen' expects an int64 "
                   "value");
        return false;
    }
    return true;
}

/* A network address without a mask gets the mask of its class. */
static uint32_t classful_mask(uint32_t addr)
{
    if (!(addr & 0x80000000)) {
        return 0xff000000;                        /* class A */
    } else if ((addr & 0xfff00000) == 0xac100000) {
        return 0xfff00000;                        /* 172.16.0.0/12 */
    } else if ((addr & 0xc0000000) == 0x80000000) {
        return 0xffff0000;                        /* class B */
    } else if ((addr & 0xffff0000) == 0xc0a80000) {
        return 0xffff0000;                        /* 192.168.0.0/16 */
    } else if ((addr & 0xffff0000) == 0xc6120000) {
        return 0xfffe0000;                        /* 198.18.0.0/15 */
    } else if ((addr & 0xe0000000) == 0xe0000000) {
        return 0xffffff00;
    }
    return 0xfffffff0;
}

/* "ADDR[/BITS|/MASK]" into c->net and c->mask. */
static bool parse_vnetwork(const char *str, UserNetConfig *c, GError **errp)
{
    const char *slash = strchr(str, '/');
    g_autofree char *addr = slash ? g_strndup(str, slash - str) : g_strdup(str);
    long bits;

    if (!inet_aton(addr, &c->net)) {
        error_setg(errp, "Failed to parse netmask");
        return false;
    }
    if (!slash) {
        c->mask.s_addr = htonl(classful_mask(ntohl(c->net.s_addr)));
        return true;
    }
    /* An empty length reads as 0, which the range check refuses. */
    if (!parse_long(slash + 1, 10, &bits)) {
        if (!inet_aton(slash + 1, &c->mask)) {
            error_setg(errp, "Failed to parse netmask (trailing chars)");
            return false;
        }
        return true;
    }
    if (bits < 4 || bits > 32) {
        error_setg(errp, "Invalid netmask provided (must be in range 4-32)");
        return false;
    }
    c->mask.s_addr = htonl(0xffffffffu << (32 - bits));
    return true;
}

static bool in_net(struct in_addr a, const UserNetConfig *c)
{
    return (a.s_addr & c->mask.s_addr) == c->net.s_addr;
}

/* net, host, dns and dhcpstart, with QEMU's defaults and checks. */
static bool parse_ipv4(const QOpts *opts, UserNetConfig *c, GError **errp)
{
    const char *net = qopts_get(opts, "net"), *ip = qopts_get(opts, "ip");
    const char *host = qopts_get(opts, "host"), *dns = qopts_get(opts, "dns");
    const char *dhcp = qopts_get(opts, "dhcpstart");
    g_autofree char *legacy = NULL;

    c->net.s_addr = htonl(0x0a000200);
    c->mask.s_addr = htonl(0xffffff00);
    if (!net && ip) {
        net = legacy = g_strdup_printf("%s/24", ip);
    }
    if (net && !parse_vnetwork(net, c, errp)) {
        return false;
    }
    /* The well-known .2, .3 and .15 hosts, inside whatever net= says. */
    c->net.s_addr &= c->mask.s_addr;
    c->host.s_addr = c->net.s_addr | (htonl(0x0202) & ~c->mask.s_addr);
    c->dns.s_addr = c->net.s_addr | (htonl(0x0203) & ~c->mask.s_addr);
    c->dhcp.s_addr = c->net.s_addr | (htonl(0x020f) & ~c->mask.s_addr);

    if (host && !inet_aton(host, &c->host)) {
        error_setg(errp, "Failed to parse host");
        return false;
    }
    if (!in_net(c->host, c)) {
        error_setg(errp, "Host doesn't belong to network");
        return false;
    }
    if (dns && !inet_aton(dns, &c->dns)) {
        error_setg(errp, "Failed to parse DNS");
        return false;
    }
    if (c->restricted && !in_net(c->dns, c)) {
        error_setg(errp, "DNS doesn't belong to network");
        return false;
    }
    if (c->dns.s_addr == c->host.s_addr) {
        error_setg(errp, "DNS must be different from host");
        return false;
    }
    if (dhcp && !inet_aton(dhcp, &c->dhcp)) {
        error_setg(errp, "Failed to parse DHCP start address");
        return false;
    }
    if (!in_net(c->dhcp, c)) {
        error_setg(errp, "DHCP doesn't belong to network");
        return false;
    }
    if (c->dhcp.s_addr == c->host.s_addr || c->dhcp.s_addr == c->dns.s_addr) {
        error_setg(errp, "DHCP must be different from host and DNS");
        return false;
    }
    return true;
}

static bool in6_same_net(const struct in6_addr *a, const struct in6_addr *b,
                         int bits)
{
    int bytes = bits / 8, rest = bits % 8;
    uint8_t m = 0xff << (8 - rest);

    if (memcmp(a->s6_addr, b->s6_addr, bytes)) {
        return false;
    }
    return !rest || (a->s6_addr[bytes] & m) == (b->s6_addr[bytes] & m);
}

/* An address given as @str, or the prefix with @low as last byte. */
static bool parse_ipv6_member(const char *str, uint8_t low,
                              struct in6_addr *out, const UserNetConfig *c)
{
    if (!str) {
        *out = c->prefix6;
        out->s6_addr[15] |= low;
        return true;
    }
    return inet_pton(AF_INET6, str, out) == 1;
}

/* Addresses for a family that is off, or both off. */
static bool check_families(const QOpts *opts, const char *prefix,
                           const UserNetConfig *c, GError **errp)
{
    if (!c->ipv4 && (qopts_has(opts, "net") || qopts_has(opts, "ip") ||
                     qopts_has(opts, "host") || qopts_has(opts, "dns"))) {
        error_setg(errp, "IPv4 disabled but netmask/host/dns provided");
        return false;
    }
    if (!c->ipv6 && (prefix || qopts_has(opts, "ipv6-host") ||
                     qopts_has(opts, "ipv6-dns"))) {
        error_setg(errp, "IPv6 disabled but prefix/host6/dns6 provided");
        return false;
    }
    if (!c->ipv4 && !c->ipv6) {
        error_setg(errp, "IPv4 and IPv6 disabled");
        return false;
    }
    return true;
}

/* The IPv6 addresses, checked after the IPv4 ones as QEMU does. */
static bool parse_ipv6_addrs(const QOpts *opts, const char *prefix,
                             UserNetConfig *c, GError **errp)
{
    const char *host = qopts_get(opts, "ipv6-host");
    const char *dns = qopts_get(opts, "ipv6-dns");

    if (inet_pton(AF_INET6, prefix ? prefix : "fec0::", &c->prefix6) != 1) {
        error_setg(errp, "Failed to parse IPv6 prefix");
        return false;
    }
    if (!c->prefix6_len) {
        c->prefix6_len = 64;       /* 0 means the default, as in QEMU */
    }
    if (c->prefix6_len < 0 || c->prefix6_len > 126) {
        error_setg(errp, "Invalid IPv6 prefix provided (IPv6 prefix length "
                   "must be between 0 and 126)");
        return false;
    }
    if (!parse_ipv6_member(host, 2, &c->host6, c)) {
        error_setg(errp, "Failed to parse IPv6 host");
        return false;
    }
    if (host && !in6_same_net(&c->prefix6, &c->host6, c->prefix6_len)) {
        error_setg(errp, "IPv6 Host doesn't belong to network");
        return false;
    }
    if (!parse_ipv6_member(dns, 3, &c->dns6, c)) {
        error_setg(errp, "Failed to parse IPv6 DNS");
        return false;
    }
    if (dns && c->restricted &&
        !in6_same_net(&c->prefix6, &c->dns6, c->prefix6_len)) {
        error_setg(errp, "IPv6 DNS doesn't belong to network");
        return false;
    }
    return true;
}

/* DHCP strings, with QEMU's length limits. */
static bool parse_names(const QOpts *opts, UserNetConfig *c, GError **errp)
{
    c->hostname = qopts_get(opts, "hostname");
    c->tftp = qopts_get(opts, "tftp");
    c->bootfile = qopts_get(opts, "bootfile");
    c->domainname = qopts_get(opts, "domainname");
    c->tftp_server_name = qopts_get(opts, "tftp-server-name");

    if (c->domainname && !*c->domainname) {
        error_setg(errp, "'domainname' parameter cannot be empty");
        return false;
    }
    if (c->domainname && strlen(c->domainname) > 255) {
        error_setg(errp, "'domainname' parameter cannot exceed 255 bytes");
        return false;
    }
    if (c->hostname && strlen(c->hostname) > 255) {
        error_setg(errp, "'vhostname' parameter cannot exceed 255 bytes");
        return false;
    }
    if (c->tftp_server_name && strlen(c->tftp_server_name) > 255) {
        error_setg(errp,
                   "'tftp-server-name' parameter cannot exceed 255 bytes");
        return false;
    }
    return true;
}

/*
 * QEMU runs smbd for smb=DIR.  qvmm starts no SMB server, so it refuses
 * smb=; smbserver= alone does nothing in QEMU either, but its address is
 * still checked.
 */
static bool parse_smb(const QOpts *opts, GError **errp)
{
    const char *server = qopts_get(opts, "smbserver");
    struct in_addr addr;

    if (server && !inet_aton(server, &addr)) {
        error_setg(errp, "Failed to parse SMB address");
        return false;
    }
    if (qopts_has(opts, "smb")) {
        error_setg(errp, "'smb' is not supported by qvmm (it starts no SMB "
                   "server for user networking)");
        return false;
    }
    return true;
}

/* Every value of a repeatable key, in command-line order. */
static GPtrArray *opts_all(const QOpts *opts, const char *key)
{
    GPtrArray *vals = g_ptr_array_new();

    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *opt = g_ptr_array_index(opts->items, i);

        if (!strcmp(opt->key, key)) {
            g_ptr_array_add(vals, opt->value);
        }
    }
    return vals;
}

/*
 * Parse and check everything but the forwarding rules, in the order
 * QEMU 7.2 reports errors: ipv6-net, typed values, unknown keys, then
 * the addresses.  Strings in @c point into @opts, except prefix_str,
 * which the caller frees.
 */
static bool user_config_parse(const QOpts *opts, UserNetConfig *c,
                              GError **errp)
{
    const char *prefix = qopts_get(opts, "ipv6-prefix");
    int64_t len6 = 0;
    bool has_len6 = false;

    memset(c, 0, sizeof(*c));
    if (!parse_ipv6_net(opts, &prefix, &c->prefix_str, &len6, &has_len6,
                        errp) ||
        !parse_typed(opts, &c->restricted, &c->ipv4, &c->ipv6, errp) ||
        (!has_len6 && !parse_prefixlen(opts, &c->prefix6_len, errp)) ||
        !qopts_check_keys(opts, user_keys, errp)) {
        return false;
    }
    if (has_len6) {
        c->prefix6_len = len6;
    }
    if (!check_families(opts, prefix, c, errp) ||
        !parse_ipv4(opts, c, errp) || !parse_smb(opts, errp)) {
        return false;
    }
    return parse_ipv6_addrs(opts, prefix, c, errp) &&
           parse_names(opts, c, errp);
}

/* ------------------------------------------------------------------ */
/* Forwarding rules                                                    */
/* ------------------------------------------------------------------ */

/* Cut @*p at the first @sep: the piece before it, or NULL if none. */
static char *next_field(const char **p, char sep)
{
    const char *at = strchr(*p, sep);
    char *field;

    if (!at) {
        return NULL;
    }
    field = g_strndup(*p, at - *p);
    *p = at + 1;
    return field;
}

/* An empty address field means "any" (host) or "default" (guest). */
static bool parse_fwd_addr(const char *field, struct in_addr *addr)
{
    addr->s_addr = INADDR_ANY;
    return !*field || inet_aton(field, addr);
}

/*
 * "[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT".  On a syntax error returns
 * false with QEMU's reason in *@why.  A guest address of 0 stays 0:
 * libslirp puts in the first DHCP address, as QEMU documents.
 */
static bool hostfwd_parse(const char *rule, HostFwd *fwd, const char **why)
{
    const char *p = rule;
    g_autofree char *proto = NULL, *haddr = NULL, *hport = NULL;
    g_autofree char *gaddr = NULL;
    long port;

    memset(fwd, 0, sizeof(*fwd));
    fwd->host.sin_family = fwd->guest.sin_family = AF_INET;
    if (!(proto = next_field(&p, ':'))) {
        *why = "No : separators";
        return false;
    }
    if (strcmp(proto, "") && strcmp(proto, "tcp") && strcmp(proto, "udp")) {
        *why = "Bad protocol name";
        return false;
    }
    fwd->udp = !strcmp(proto, "udp");
    if (!(haddr = next_field(&p, ':'))) {
        *why = "Missing : separator";
        return false;
    }
    if (!parse_fwd_addr(haddr, &fwd->host.sin_addr)) {
        *why = "Bad host address";
        return false;
    }
    if (!(hport = next_field(&p, '-'))) {
        *why = "Bad host port separator";
        return false;
    }
    if (!parse_long(hport, 0, &port) || port < 0 || port > 65535) {
        *why = "Bad host port";
        return false;
    }
    fwd->host.sin_port = htons(port);
    if (!(gaddr = next_field(&p, ':'))) {
        *why = "Missing guest address";
        return false;
    }
    if (!parse_fwd_addr(gaddr, &fwd->guest.sin_addr)) {
        *why = "Bad guest address";
        return false;
    }
    if (!parse_long(p, 0, &port) || port < 1 || port > 65535) {
        *why = "Bad guest port";
        return false;
    }
    fwd->guest.sin_port = htons(port);
    return true;
}

static bool slirp_hostfwd(SlirpState *s, const char *rule, GError **errp)
{
    const char *why;
    HostFwd fwd;

    if (!hostfwd_parse(rule, &fwd, &why)) {
        error_setg(errp, "Invalid host forwarding rule '%s' (%s)", rule, why);
        return false;
    }
    if (slirp_add_hostxfwd(s->slirp, (struct sockaddr *)&fwd.host,
                           sizeof(fwd.host), (struct sockaddr *)&fwd.guest,
                           sizeof(fwd.guest),
                           fwd.udp ? SLIRP_HOSTFWD_UDP : 0) < 0) {
        error_setg(errp, "Could not set up host forwarding rule '%s'", rule);
        return false;
    }
    g_array_append_val(s->hostfwds, fwd);
    return true;
}

/* Bytes from the guest's connection to a guestfwd chardev. */
static ssize_t guestfwd_write(const void *buf, size_t len, void *opaque)
{
    GuestFwd *fwd = opaque;

    len = MIN(len, (size_t)INT_MAX);
    return qemu_chr_write(fwd->chr, buf, len);
}

static int guestfwd_can_read(void *opaque)
{
    GuestFwd *fwd = opaque;

    return MIN(slirp_socket_can_recv(fwd->s->slirp, fwd->addr, fwd->port),
               (size_t)INT_MAX);
}

static void guestfwd_read(void *opaque, const uint8_t *buf, int len)
{
    GuestFwd *fwd = opaque;

    slirp_socket_recv(fwd->s->slirp, fwd->addr, fwd->port, buf, len);
}

static void guestfwd_free(gpointer data)
{
    GuestFwd *fwd = data;

    if (fwd->attached) {
        qemu_chr_detach(fwd->chr, fwd);
    }
    if (fwd->chr_owned) {
        qemu_chr_delete(qemu_chr_id(fwd->chr), NULL);
    }
    g_free(fwd);
}

/* The target of a "tcp:ADDR:PORT-TARGET" rule: "cmd:..." or a chardev. */
static bool guestfwd_target(SlirpState *s, GuestFwd *fwd, const char *rule,
                            const char *target, GError **errp)
{
    g_autofree char *label = g_strdup_printf("guestfwd.tcp.%d", fwd->port);
    GError *err = NULL;

    if (g_str_has_prefix(target, "cmd:")) {
        if (slirp_add_exec(s->slirp, target + 4, &fwd->addr, fwd->port) < 0) {
            goto conflict;
        }
        return true;
    }
    /* "none" means "no device" to -serial only; QEMU refuses it here. */
    if (strcmp(target, "none")) {
        fwd->chr = qemu_chr_new_legacy(label, target, &err);
    }
    if (!fwd->chr) {
        /* QEMU explains a bad spec, but not a missing "chardev:ID". */
        if (!err) {
            error_report("'%s' is not a valid char driver", target);
        } else if (*err->message &&
                   !g_error_matches(err, QEMU_CHR_ERROR,
                                    QEMU_CHR_ERROR_NOT_FOUND)) {
            error_report("%s", err->message);
        }
        g_clear_error(&err);
        error_setg(errp, "Could not open guest forwarding device '%s'", label);
        return false;
    }
    /* One named by "chardev:ID" belongs to -chardev until we attach. */
    fwd->chr_owned = !g_str_has_prefix(target, "chardev:");
    if (slirp_add_guestfwd(s->slirp, guestfwd_write, fwd, &fwd->addr,
                           fwd->port) < 0) {
        goto conflict;
    }
    fwd->attached = qemu_chr_attach(fwd->chr, guestfwd_can_read,
                                    guestfwd_read, NULL, fwd, errp);
    /* QEMU deletes a guestfwd's chardev with the netdev, even a -chardev. */
    fwd->chr_owned |= fwd->attached;
    return fwd->attached;

conflict:
    error_setg(errp, "Conflicting/invalid host:port in guest forwarding "
               "rule '%s'", rule);
    return false;
}

/* "[tcp]:[ADDR]:PORT-cmd:COMMAND" or "...-CHARDEV" (legacy syntax). */
static bool slirp_guestfwd(SlirpState *s, const char *rule, GError **errp)
{
    const char *p = rule;
    g_autofree char *proto = next_field(&p, ':');
    g_autofree char *addr = proto ? next_field(&p, ':') : NULL;
    g_autofree char *port = addr ? next_field(&p, '-') : NULL;
    GuestFwd *fwd = g_new0(GuestFwd, 1);
    long n;

    fwd->s = s;
    if (!port || (*proto && strcmp(proto, "tcp")) ||
        !parse_fwd_addr(addr, &fwd->addr) || !parse_long(port, 10, &n) ||
        n < 1 || n > 65535) {
        g_free(fwd);
        error_setg(errp, "Invalid guest forwarding rule '%s'", rule);
        return false;
    }
    fwd->port = n;
    /* Kept even on failure: cleanup releases whatever was opened. */
    g_ptr_array_add(s->guestfwds, fwd);
    return guestfwd_target(s, fwd, rule, p, errp);
}

/*
 * QEMU collects the rules into a list by prepending, guestfwd after
 * hostfwd, so it sets them up in reverse: guest rules last-first, then
 * host rules last-first.  Doing the same gives the same error when two
 * rules collide.
 */
static bool slirp_add_rules(SlirpState *s, const QOpts *opts,
                            GError **errp)
{
    g_autoptr(GPtrArray) guest = opts_all(opts, "guestfwd");
    g_autoptr(GPtrArray) host = opts_all(opts, "hostfwd");

    for (guint i = guest->len; i > 0; i--) {
        if (!slirp_guestfwd(s, g_ptr_array_index(guest, i - 1), errp)) {
            return false;
        }
    }
    for (guint i = host->len; i > 0; i--) {
        if (!slirp_hostfwd(s, g_ptr_array_index(host, i - 1), errp)) {
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Main-loop integration                                               */
/* ------------------------------------------------------------------ */

/*
 * Before each poll the source asks slirp which sockets it wants watched
 * and how long it may sleep; after the poll it lets slirp act on them.
 * A frame from the guest may leave output waiting (for an ARP answer,
 * say), so receive_iov marks the source ready to run slirp once more.
 */
struct SlirpSource {
    GSource source;
    SlirpState *s;
    GArray *fds;                   /* of GPollFD, registered with source */
    GArray *next;                  /* what slirp wants watched now */
    gint64 deadline;               /* g_source_get_time() µs, or -1 */
    bool kicked;
};

static int slirp_to_gio(int ev)
{
    return (ev & SLIRP_POLL_IN ? G_IO_IN : 0) |
           (ev & SLIRP_POLL_OUT ? G_IO_OUT : 0) |
           (ev & SLIRP_POLL_PRI ? G_IO_PRI : 0) |
           (ev & SLIRP_POLL_ERR ? G_IO_ERR : 0) |
           (ev & SLIRP_POLL_HUP ? G_IO_HUP : 0);
}

static int gio_to_slirp(int ev)
{
    return (ev & G_IO_IN ? SLIRP_POLL_IN : 0) |
           (ev & G_IO_OUT ? SLIRP_POLL_OUT : 0) |
           (ev & G_IO_PRI ? SLIRP_POLL_PRI : 0) |
           (ev & (G_IO_ERR | G_IO_NVAL) ? SLIRP_POLL_ERR : 0) |
           (ev & G_IO_HUP ? SLIRP_POLL_HUP : 0);
}

static int slirp_add_poll(int fd, int events, void *opaque)
{
    GArray *fds = opaque;
    GPollFD pfd = { .fd = fd, .events = slirp_to_gio(events) };

    g_array_append_val(fds, pfd);
    return fds->len - 1;
}

static int slirp_get_revents(int idx, void *opaque)
{
    GArray *fds = opaque;

    if (idx < 0 || (guint)idx >= fds->len) {
        return 0;
    }
    return gio_to_slirp(g_array_index(fds, GPollFD, idx).revents);
}

static bool same_fds(GArray *a, GArray *b)
{
    if (a->len != b->len) {
        return false;
    }
    for (guint i = 0; i < a->len; i++) {
        GPollFD *x = &g_array_index(a, GPollFD, i);
        GPollFD *y = &g_array_index(b, GPollFD, i);

        if (x->fd != y->fd || x->events != y->events) {
            return false;
        }
    }
    return true;
}

/*
 * Register what slirp now wants watched.  GLib inserts each poll record
 * into a sorted list, so re-registering every socket on every iteration
 * would cost n^2; usually the set is the one registered already.
 */
static void slirp_source_update_fds(SlirpSource *ss)
{
    GSource *source = &ss->source;
    GArray *old = ss->fds;

    if (!same_fds(old, ss->next)) {
        for (guint i = 0; i < old->len; i++) {
            g_source_remove_poll(source, &g_array_index(old, GPollFD, i));
        }
        ss->fds = ss->next;
        ss->next = old;
        for (guint i = 0; i < ss->fds->len; i++) {
            g_source_add_poll(source, &g_array_index(ss->fds, GPollFD, i));
        }
    }
    for (guint i = 0; i < ss->fds->len; i++) {
        g_array_index(ss->fds, GPollFD, i).revents = 0;
    }
    g_array_set_size(ss->next, 0);
}

static gboolean slirp_source_prepare(GSource *source, gint *timeout)
{
    SlirpSource *ss = (SlirpSource *)source;
    uint32_t ms = UINT32_MAX;

    slirp_pollfds_fill(ss->s->slirp, &ms, slirp_add_poll, ss->next);
    slirp_source_update_fds(ss);
    if (ss->kicked) {
        ms = 0;
    }
    if (ms == UINT32_MAX) {
        *timeout = -1;
        ss->deadline = -1;
    } else {
        *timeout = MIN(ms, (uint32_t)G_MAXINT);
        ss->deadline = g_source_get_time(source) + (gint64)ms * 1000;
    }
    return FALSE;
}

static gboolean slirp_source_check(GSource *source)
{
    SlirpSource *ss = (SlirpSource *)source;

    if (ss->kicked ||
        (ss->deadline >= 0 && g_source_get_time(source) >= ss->deadline)) {
        return TRUE;
    }
    for (guint i = 0; i < ss->fds->len; i++) {
        if (g_array_index(ss->fds, GPollFD, i).revents) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean slirp_source_dispatch(GSource *source, GSourceFunc cb,
                                      gpointer data)
{
    SlirpSource *ss = (SlirpSource *)source;

    (void)cb;
    (void)data;
    ss->kicked = false;
    /* GLib does not report a failed poll to sources: never an error. */
    slirp_pollfds_poll(ss->s->slirp, 0, slirp_get_revents, ss->fds);
    return G_SOURCE_CONTINUE;
}

static void slirp_source_finalize(GSource *source)
{
    g_array_free(((SlirpSource *)source)->fds, TRUE);
    g_array_free(((SlirpSource *)source)->next, TRUE);
}

static GSourceFuncs slirp_source_funcs = {
    .prepare = slirp_source_prepare,
    .check = slirp_source_check,
    .dispatch = slirp_source_dispatch,
    .finalize = slirp_source_finalize,
};

static void slirp_source_kick(SlirpState *s)
{
    if (s->source && !s->source->kicked) {
        s->source->kicked = true;
        g_main_context_wakeup(g_source_get_context(&s->source->source));
    }
}

/* ------------------------------------------------------------------ */
/* Slirp's callbacks                                                   */
/* ------------------------------------------------------------------ */

static ssize_t slirp_cb_send_packet(const void *buf, size_t len,
                                    void *opaque)
{
    SlirpState *s = opaque;

    /*
     * No vnet header: a user netdev never offers one, so frames are
     * plain Ethernet both ways.  A full NIC costs the frame (see top).
     */
    if (!qemu_can_send_packet(&s->nc) ||
        qemu_send_packet(&s->nc, buf, len) == 0) {
        s->dropped++;
    }
    return len;
}

/*
 * Slirp's complaints about malformed guest packets.  QEMU logs them only
 * with "-d guest_errors", which qvmm does not offer; printing them
 * unconditionally would let a guest flood stderr.
 */
static void slirp_cb_guest_error(const char *msg, void *opaque)
{
    (void)msg;
    (void)opaque;
}

static int64_t slirp_cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
}

typedef struct SlirpTimer {
    QEMUTimer *timer;
    SlirpState *s;
    SlirpTimerId id;
    void *cb_opaque;
} SlirpTimer;

static void slirp_timer_fire(void *opaque)
{
    SlirpTimer *t = opaque;

    slirp_handle_timer(t->s->slirp, t->id, t->cb_opaque);
}

static void *slirp_cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
                                       void *opaque)
{
    SlirpTimer *t = g_new0(SlirpTimer, 1);

    t->s = opaque;
    t->id = id;
    t->cb_opaque = cb_opaque;
    t->timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, slirp_timer_fire, t);
    return t;
}

static void slirp_cb_timer_free(void *timer, void *opaque)
{
    SlirpTimer *t = timer;

    (void)opaque;
    timer_free(t->timer);
    g_free(t);
}

/* @expire_ms is on the clock_get_ns clock, in milliseconds. */
static void slirp_cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    SlirpTimer *t = timer;

    (void)opaque;
    expire_ms = CLAMP(expire_ms, 0, INT64_MAX / 1000000);
    timer_mod(t->timer, expire_ms * 1000000);
}

/*
 * The GSource asks slirp for its sockets before every poll, so a new
 * socket needs no registration of its own (libslirp wants these for
 * Windows event objects).
 */
static void slirp_cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void slirp_cb_unregister_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

/* A guestfwd socket can take data again: poll the chardev once more. */
static void slirp_cb_notify(void *opaque)
{
    SlirpState *s = opaque;

    for (guint i = 0; i < s->guestfwds->len; i++) {
        GuestFwd *fwd = g_ptr_array_index(s->guestfwds, i);

        if (fwd->chr) {
            qemu_chr_accept_input(fwd->chr);
        }
    }
    qemu_notify_event();
}

/* Slirp creates its timers inside slirp_new(), before it returns. */
static void slirp_cb_init_completed(Slirp *slirp, void *opaque)
{
    SlirpState *s = opaque;

    s->slirp = slirp;
}

static const SlirpCb slirp_callbacks = {
    .send_packet = slirp_cb_send_packet,
    .guest_error = slirp_cb_guest_error,
    .clock_get_ns = slirp_cb_clock_get_ns,
    .timer_free = slirp_cb_timer_free,
    .timer_mod = slirp_cb_timer_mod,
    .register_poll_fd = slirp_cb_register_poll_fd,
    .unregister_poll_fd = slirp_cb_unregister_poll_fd,
    .notify = slirp_cb_notify,
    .init_completed = slirp_cb_init_completed,
    .timer_new_opaque = slirp_cb_timer_new_opaque,
};

/* ------------------------------------------------------------------ */
/* The net client                                                      */
/* ------------------------------------------------------------------ */

static ssize_t slirp_receive_iov(NetClientState *nc, const struct iovec *iov,
                                 int iovcnt)
{
    SlirpState *s = nc_to_slirp(nc);
    size_t size = iov_size(iov, iovcnt);

    if (size > USER_MAX_FRAME) {
        return size;               /* no real link carries it either */
    }
    if (iovcnt == 1) {
        slirp_input(s->slirp, iov[0].iov_base, size);
    } else {
        if (!s->frame) {
            s->frame = g_malloc(USER_MAX_FRAME);
        }
        iov_to_buf(iov, iovcnt, 0, s->frame, size);
        slirp_input(s->slirp, s->frame, size);
    }
    slirp_source_kick(s);
    return size;
}

static void slirp_cleanup_client(NetClientState *nc)
{
    SlirpState *s = nc_to_slirp(nc);

    if (s->source) {
        g_source_destroy(&s->source->source);
        g_source_unref(&s->source->source);
    }
    for (guint i = 0; s->slirp && i < s->hostfwds->len; i++) {
        HostFwd *fwd = &g_array_index(s->hostfwds, HostFwd, i);

        slirp_remove_hostxfwd(s->slirp, (struct sockaddr *)&fwd->host,
                              sizeof(fwd->host),
                              fwd->udp ? SLIRP_HOSTFWD_UDP : 0);
    }
    g_array_free(s->hostfwds, TRUE);
    /* Detach the chardevs first: no input may reach a freed slirp. */
    g_ptr_array_free(s->guestfwds, TRUE);
    if (s->slirp) {
        slirp_cleanup(s->slirp);
    }
    g_free(s->frame);
}

static const NetClientInfo net_slirp_info = {
    .type = NET_CLIENT_DRIVER_USER,
    .size = sizeof(SlirpState),
    .receive_iov = slirp_receive_iov,
    .cleanup = slirp_cleanup_client,
};

static Slirp *slirp_start(SlirpState *s, const UserNetConfig *c)
{
    SlirpConfig cfg = {
        .version = 4,
        .restricted = c->restricted,
        .in_enabled = c->ipv4,
        .vnetwork = c->net,
        .vnetmask = c->mask,
        .vhost = c->host,
        .in6_enabled = c->ipv6,
        .vprefix_addr6 = c->prefix6,
        .vprefix_len = c->prefix6_len,
        .vhost6 = c->host6,
        .vhostname = c->hostname,
        .tftp_server_name = c->tftp_server_name,
        .tftp_path = c->tftp,
        .bootfile = c->bootfile,
        .vdhcp_start = c->dhcp,
        .vnameserver = c->dns,
        .vnameserver6 = c->dns6,
        .vdnssearch = c->dnssearch,
        .vdomainname = c->domainname,
    };

    return slirp_new(&cfg, &slirp_callbacks, s);
}

static void slirp_attach_source(SlirpState *s)
{
    GSource *src = g_source_new(&slirp_source_funcs, sizeof(SlirpSource));

    s->source = (SlirpSource *)src;
    s->source->s = s;
    s->source->fds = g_array_new(FALSE, TRUE, sizeof(GPollFD));
    s->source->next = g_array_new(FALSE, TRUE, sizeof(GPollFD));
    s->source->deadline = -1;
    g_source_set_name(src, "slirp");
    /* Dispatching it must not take its fds out of the poll set and put
     * them back: that wakes the main loop twice each time. */
    g_source_set_can_recurse(src, TRUE);
    g_source_attach(src, NULL);
}

static bool net_init_user(const QOpts *opts, const char *id, GError **errp)
{
    g_autoptr(GPtrArray) search = opts_all(opts, "dnssearch");
    UserNetConfig c;
    SlirpState *s;

    if (!user_config_parse(opts, &c, errp)) {
        g_free(c.prefix_str);
        return false;
    }
    if (search->len) {
        g_ptr_array_add(search, NULL);
        c.dnssearch = (const char **)search->pdata;
    }
    s = nc_to_slirp(qemu_new_net_client(&net_slirp_info, NULL, "user", id));
    s->nc.is_netdev = true;
    snprintf(s->nc.info_str, sizeof(s->nc.info_str), "net=%s,restrict=%s",
             inet_ntoa(c.net), c.restricted ? "on" : "off");
    s->hostfwds = g_array_new(FALSE, FALSE, sizeof(HostFwd));
    s->guestfwds = g_ptr_array_new_with_free_func(guestfwd_free);
    s->slirp = slirp_start(s, &c);
    g_free(c.prefix_str);
    if (!s->slirp) {
        error_setg(errp, "Could not start user networking");
        qemu_del_net_client(&s->nc);
        return false;
    }
    if (!slirp_add_rules(s, opts, errp)) {
        qemu_del_net_client(&s->nc);
        return false;
    }
    slirp_attach_source(s);
    return true;
}

uint64_t net_slirp_dropped_frames(NetClientState *nc)
{
    g_assert(nc->info == &net_slirp_info);
    return nc_to_slirp(nc)->dropped;
}

static void info_usernet_one(NetClientState *nc, void *opaque)
{
    g_autofree char *conns = NULL;

    if (nc->info != &net_slirp_info) {
        return;
    }
    conns = slirp_connection_info(nc_to_slirp(nc)->slirp);
    /* QEMU names the hub too; a -netdev is on none (-1), as here. */
    g_string_append_printf(opaque, "Hub -1 (%s):\n%s", nc->name, conns);
}

void hmp_info_usernet(GString *out, int cpu)
{
    (void)cpu;
    qemu_foreach_net_client(info_usernet_one, out);
}

static void __attribute__((constructor)) net_slirp_register(void)
{
    netdev_register_type("user", net_init_user);
}
