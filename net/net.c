/*
 * The network client core: peers, delivery with flow control, link
 * state, vnet-header forwarding and the default MAC series.  The rules
 * are described in include/net/net.h.
 */
#include "net/net.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "net/tap-int.h"
#include <json-glib/json-glib.h>

static GList *net_clients;         /* of NetClientState*, creation order */

NetClientState *qemu_new_net_client(const NetClientInfo *info,
                                    NetClientState *peer, const char *model,
                                    const char *name)
{
    NetClientState *nc;

    g_assert(info->size >= sizeof(NetClientState) && info->receive_iov);
    nc = g_malloc0(info->size);
    nc->info = info;
    nc->model = g_strdup(model);
    nc->name = g_strdup(name);
    nc->queues = 1;
    if (peer) {
        g_assert(!peer->peer);
        nc->peer = peer;
        peer->peer = nc;
    }
    net_clients = g_list_append(net_clients, nc);
    return nc;
}

void qemu_del_net_client(NetClientState *nc)
{
    if (nc->peer) {
        nc->peer->peer = NULL;
        nc->peer = NULL;
    }
    if (nc->info->cleanup) {
        nc->info->cleanup(nc);
    }
    net_clients = g_list_remove(net_clients, nc);
    g_free(nc->model);
    g_free(nc->name);
    g_free(nc);
}

void net_cleanup(void)
{
    /* NICs belong to their devices; backends go here. */
    GList *l = net_clients;

    while (l) {
        NetClientState *nc = l->data;

        l = l->next;
        if (nc->info->type != NET_CLIENT_DRIVER_NIC) {
            qemu_del_net_client(nc);
        }
    }
}

void qemu_foreach_net_client(void (*fn)(NetClientState *nc, void *opaque),
                             void *opaque)
{
    for (GList *l = net_clients; l; l = l->next) {
        fn(l->data, opaque);
    }
}

unsigned qemu_find_netdev_queues(const char *id, NetClientState **ncs,
                                 unsigned max)
{
    unsigned n = 0;

    for (GList *l = net_clients; l; l = l->next) {
        NetClientState *nc = l->data;

        if (nc->is_netdev && !strcmp(nc->name, id)) {
            if (nc->queue_index < max) {
                ncs[nc->queue_index] = nc;
            }
            n++;
        }
    }
    return n;
}

bool qemu_net_claim_netdev(const char *id, const char *dev_type,
                           NetClientState **peers, unsigned *nqueues,
                           GError **errp)
{
    unsigned n = qemu_find_netdev_queues(id, peers, MAX_QUEUE_NUM);

    if (!n) {
        error_setg(errp, "Property '%s.netdev' can't find value '%s'",
                   dev_type, id);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        if (peers[i]->peer) {
            error_setg(errp, "Property '%s.netdev' can't take value '%s', "
                       "it's in use", dev_type, id);
            return false;
        }
    }
    *nqueues = n;
    return true;
}

/* ---- delivery ---- */

bool qemu_can_send_packet(NetClientState *sender)
{
    NetClientState *peer = sender->peer;

    if (!peer || sender->link_down || peer->link_down) {
        return true;               /* the frame will be dropped */
    }
    return !peer->info->can_receive || peer->info->can_receive(peer);
}

ssize_t qemu_sendv_packet(NetClientState *sender, const struct iovec *iov,
                          int iovcnt)
{
    NetClientState *peer = sender->peer;
    size_t size = iov_size(iov, iovcnt);

    /* No peer or no link: the frame is lost, as on a pulled cable. */
    if (!peer || sender->link_down || peer->link_down) {
        return size;
    }
    return peer->info->receive_iov(peer, iov, iovcnt);
}

ssize_t qemu_send_packet(NetClientState *sender, const void *buf,
                         size_t size)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = size };

    return qemu_sendv_packet(sender, &iov, 1);
}

void qemu_flush_queued_packets(NetClientState *receiver)
{
    NetClientState *peer = receiver->peer;

    if (peer && peer->info->peer_ready) {
        peer->info->peer_ready(peer);
    }
}

/* ---- vnet header ---- */

bool qemu_has_vnet_hdr(NetClientState *nc)
{
    return nc && nc->info->has_vnet_hdr && nc->info->has_vnet_hdr(nc);
}

bool qemu_has_vnet_hdr_len(NetClientState *nc, int len)
{
    return nc && nc->info->has_vnet_hdr_len &&
           nc->info->has_vnet_hdr_len(nc, len);
}

void qemu_set_vnet_hdr_len(NetClientState *nc, int len)
{
    if (nc && nc->info->set_vnet_hdr_len) {
        nc->info->set_vnet_hdr_len(nc, len);
    }
}

bool qemu_has_ufo(NetClientState *nc)
{
    return nc && nc->info->has_ufo && nc->info->has_ufo(nc);
}

void qemu_set_offload(NetClientState *nc, int csum, int tso4, int tso6,
                      int ecn, int ufo)
{
    if (nc && nc->info->set_offload) {
        nc->info->set_offload(nc, csum, tso4, tso6, ecn, ufo);
    }
}

VhostNet *qemu_get_vhost_net(NetClientState *nc)
{
    return nc && nc->info->get_vhost_net ? nc->info->get_vhost_net(nc)
                                         : NULL;
}

/* ---- link state ---- */

bool qemu_set_link(const char *name, bool up, GError **errp)
{
    GPtrArray *hit = g_ptr_array_new();

    for (GList *l = net_clients; l; l = l->next) {
        NetClientState *nc = l->data;

        if (!strcmp(nc->name, name)) {
            g_ptr_array_add(hit, nc);
        }
    }
    if (!hit->len) {
        g_ptr_array_free(hit, TRUE);
        g_set_error(errp, QVMM_ERROR, QVMM_ERROR_DEVICE_NOT_FOUND,
                    "Device '%s' not found", name);
        return false;
    }
    for (guint i = 0; i < hit->len; i++) {
        NetClientState *nc = g_ptr_array_index(hit, i);

        nc->link_down = !up;
        if (nc->info->link_status_changed) {
            nc->info->link_status_changed(nc);
        }
        /*
         * As in QEMU: a backend taken down takes its NIC with it, so the
         * guest sees the link go; a NIC taken down leaves the backend's
         * own state alone (delivery checks both ends, so nothing flows
         * either way), but the backend is told.
         */
        if (nc->peer) {
            if (nc->peer->info->type == NET_CLIENT_DRIVER_NIC) {
                nc->peer->link_down = !up;
            }
            if (nc->peer->info->link_status_changed) {
                nc->peer->info->link_status_changed(nc->peer);
            }
        }
    }
    g_ptr_array_free(hit, TRUE);
    return true;
}

/* ---- MAC addresses ---- */

bool net_parse_macaddr(uint8_t mac[6], const char *str)
{
    for (int i = 0; i < 6; i++) {
        char *end;
        unsigned long v;

        if (!g_ascii_isxdigit(str[0])) {
            return false;
        }
        v = strtoul(str, &end, 16);
        if (v > 0xff || end - str > 2 ||
            (i < 5 ? (*end != ':' && *end != '-') : *end != '\0')) {
            return false;
        }
        mac[i] = v;
        str = end + (i < 5);
    }
    return true;
}

/* Which of the 256 default addresses (last byte 0x56 + i) are taken. */
static uint8_t mac_table[256];

static int mac_table_index(const uint8_t mac[6])
{
    static const uint8_t base[5] = { 0x52, 0x54, 0x00, 0x12, 0x34 };

    if (memcmp(mac, base, sizeof(base))) {
        return -1;
    }
    return (uint8_t)(mac[5] - 0x56);
}

void qemu_macaddr_default_if_unset(uint8_t mac[6], bool given)
{
    int index;

    if (given) {
        index = mac_table_index(mac);
        if (index >= 0) {
            mac_table[index]++;
        }
        return;
    }
    for (index = 0; index < 256 && mac_table[index]; index++) {
    }
    if (index == 256) {
        index = 0;                 /* QEMU wraps around too */
    }
    mac_table[index]++;
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = 0x12;
    mac[4] = 0x34;
    mac[5] = 0x56 + index;
}

/* ---- backend types ---- */

static GHashTable *netdev_types;   /* type name -> NetdevInitFunc */

void netdev_register_type(const char *type, NetdevInitFunc init)
{
    if (!netdev_types) {
        netdev_types = g_hash_table_new(g_str_hash, g_str_equal);
    }
    g_hash_table_insert(netdev_types, (gpointer)type, (gpointer)init);
}

static void netdev_register_builtin(void);

NetdevInitFunc netdev_find_type(const char *type)
{
    netdev_register_builtin();
    return netdev_types ? g_hash_table_lookup(netdev_types, type) : NULL;
}

/* ---- -netdev and -nic ---- */

/* QEMU's backends that qvmm does not have: refused by name. */
static const char *const netdev_types_absent[] = {
    "socket", "stream", "dgram", "hubport", "l2tpv3", "vde", "bridge",
    "vhost-user", "vhost-vdpa", "netmap", "vmnet-host", "vmnet-shared",
    "vmnet-bridged", NULL
};

static void netdev_register_builtin(void)
{
    static bool done;

    if (!done) {
        done = true;
        netdev_register_type("tap", net_init_tap);
    }
}

static QOpts *net_qopts_new(void)
{
    QOpts *opts = qopts_parse("", NULL, NULL);

    qopts_del(opts, "");
    return opts;
}

static QOpts *net_qopts_copy(const QOpts *from)
{
    QOpts *opts = net_qopts_new();

    for (guint i = 0; i < from->items->len; i++) {
        const QOpt *o = g_ptr_array_index(from->items, i);

        qopts_set(opts, o->key, o->value);
    }
    opts->help = from->help;
    return opts;
}

/* The members of -netdev's JSON form that are not strings (QAPI types,
 * QEMU 7.2); every other member must be a string. */
typedef enum { JT_STRING, JT_BOOL, JT_UINT, JT_INT, JT_STRLIST } JsonType;

static JsonType netdev_json_type(const char *key)
{
    static const struct {
        const char *key;
        JsonType type;
    } types[] = {
        { "vnet_hdr", JT_BOOL }, { "vhost", JT_BOOL },
        { "vhostforce", JT_BOOL }, { "restrict", JT_BOOL },
        { "ipv4", JT_BOOL }, { "ipv6", JT_BOOL },
        { "queues", JT_UINT }, { "sndbuf", JT_UINT }, { "poll-us", JT_UINT },
        { "ipv6-prefixlen", JT_INT },
        { "hostfwd", JT_STRLIST }, { "guestfwd", JT_STRLIST },
        { "dnssearch", JT_STRLIST },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        if (!strcmp(types[i].key, key)) {
            return types[i].type;
        }
    }
    return JT_STRING;
}

static bool json_is(JsonNode *n, GType type)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == type;
}

/* A QAPI String list, [{"str": "..."}, ...]: the key once per entry. */
static bool json_strlist_to_opts(QOpts *opts, const char *key, JsonNode *n,
                                 GError **errp)
{
    JsonArray *a;

    if (!JSON_NODE_HOLDS_ARRAY(n)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: array",
                   key);
        return false;
    }
    a = json_node_get_array(n);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);
        JsonObject *o;

        if (!JSON_NODE_HOLDS_OBJECT(e)) {
            error_setg(errp, "Invalid parameter type for '%s[%u]', "
                       "expected: object", key, i);
            return false;
        }
        o = json_node_get_object(e);
        if (!json_object_has_member(o, "str")) {
            error_setg(errp, "Parameter '%s[%u].str' is missing", key, i);
            return false;
        }
        e = json_object_get_member(o, "str");
        if (!json_is(e, G_TYPE_STRING)) {
            error_setg(errp, "Invalid parameter type for '%s[%u].str', "
                       "expected: string", key, i);
            return false;
        }
        qopts_set(opts, key, json_node_get_string(e));
    }
    return true;
}

/* One JSON member as option text, type-checked as QEMU checks it. */
static bool json_member_to_opts(QOpts *opts, const char *key, JsonNode *n,
                                GError **errp)
{
    g_autofree char *num = NULL;
    JsonType type = netdev_json_type(key);

    switch (type) {
    case JT_STRLIST:
        return json_strlist_to_opts(opts, key, n, errp);
    case JT_BOOL:
        if (!json_is(n, G_TYPE_BOOLEAN)) {
            error_setg(errp, "Invalid parameter type for '%s', expected: "
                       "boolean", key);
            return false;
        }
        qopts_set(opts, key, json_node_get_boolean(n) ? "on" : "off");
        return true;
    case JT_UINT:
    case JT_INT:
        if (!json_is(n, G_TYPE_INT64)) {
            if (type == JT_UINT) {
                error_setg(errp, "Parameter '%s' expects uint64", key);
            } else {
                error_setg(errp, "Invalid parameter type for '%s', "
                           "expected: integer", key);
            }
            return false;
        }
        num = g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(n));
        qopts_set(opts, key, num);
        return true;
    case JT_STRING:
        break;
    }
    if (!json_is(n, G_TYPE_STRING)) {
        error_setg(errp, "Invalid parameter type for '%s', expected: string",
                   key);
        return false;
    }
    qopts_set(opts, key, json_node_get_string(n));
    return true;
}

static QOpts *netdev_parse_json(const char *arg, GError **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) err = NULL;
    g_autoptr(QOpts) opts = net_qopts_new();
    g_autoptr(GList) members = NULL;
    JsonNode *root;
    JsonObject *obj;

    if (!json_parser_load_from_data(parser, arg, -1, &err)) {
        error_setg(errp, "JSON parse error, %s", err->message);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        /* QEMU finds no "id" in what is not an object. */
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    obj = json_node_get_object(root);
    members = json_object_get_members(obj);
    for (GList *m = members; m; m = m->next) {
        if (!json_member_to_opts(opts, m->data,
                                 json_object_get_member(obj, m->data),
                                 errp)) {
            return NULL;
        }
    }
    return g_steal_pointer(&opts);
}

QOpts *netdev_parse_opts(const char *arg, bool *json, GError **errp)
{
    *json = arg[0] == '{';
    return *json ? netdev_parse_json(arg, errp)
                 : qopts_parse(arg, "type", errp);
}

bool netdev_help(const QOpts *opts)
{
    const char *type = qopts_get(opts, "type");
    g_autoptr(GList) names = NULL;

    if (g_strcmp0(type, "help") && (type || !opts->help)) {
        return false;
    }
    netdev_register_builtin();
    names = g_hash_table_get_keys(netdev_types);
    names = g_list_sort(names, (GCompareFunc)strcmp);
    printf("Available netdev backend types:\n");
    for (GList *l = names; l; l = l->next) {
        printf("%s\n", (const char *)l->data);
    }
    return true;
}

static bool netdev_id_taken(const char *id)
{
    NetClientState *nc;

    return qemu_find_netdev_queues(id, &nc, 1) != 0;
}

static bool netdev_add_checked(const QOpts *opts, bool json,
                               bool generated_id, GError **errp)
{
    const char *id = qopts_get(opts, "id");
    const char *type = qopts_get(opts, "type");
    g_autoptr(QOpts) rest = NULL;
    NetdevInitFunc init;

    if (id && !generated_id && !id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (id && netdev_id_taken(id)) {
        error_setg(errp, json ? "Duplicate ID '%s'"
                              : "Duplicate ID '%s' for netdev", id);
        return false;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    if (!type) {
        error_setg(errp, "Parameter 'type' is missing");
        return false;
    }
    init = netdev_find_type(type);
    if (!init) {
        if (g_strv_contains(netdev_types_absent, type)) {
            error_setg(errp, "netdev type '%s' is not supported by qvmm",
                       type);
        } else {
            error_setg(errp, "Parameter 'type' does not accept value '%s'",
                       type);
        }
        return false;
    }
    if (opts->help) {
        error_setg(errp, "Invalid parameter 'help'");
        return false;
    }
    rest = net_qopts_copy(opts);
    qopts_del(rest, "type");
    return init(rest, id, errp);
}

bool netdev_add(const QOpts *opts, bool json, GError **errp)
{
    return netdev_add_checked(opts, json, false, errp);
}

bool netdev_add_generated_id(const QOpts *opts, GError **errp)
{
    return netdev_add_checked(opts, false, true, errp);
}
