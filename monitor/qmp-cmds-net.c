/*
 * Network commands: QMP set_link and HMP info network, over the client
 * list of net/net.c.
 */
#include "qemu/osdep.h"
#include "monitor-internal.h"
#include "net/net.h"

static JsonNode *qmp_set_link(JsonObject *args, GError **errp)
{
    qemu_set_link(json_object_get_string_member(args, "name"),
                  json_object_get_boolean_member(args, "up"), errp);
    return NULL;
}

static const char *driver_name(NetClientDriver type)
{
    switch (type) {
    case NET_CLIENT_DRIVER_NIC:  return "nic";
    case NET_CLIENT_DRIVER_TAP:  return "tap";
    case NET_CLIENT_DRIVER_USER: return "user";
    }
    return "none";
}

static void print_client(GString *out, NetClientState *nc)
{
    g_string_append_printf(out, "%s: index=%u,type=%s,%s\n", nc->name,
                           nc->queue_index, driver_name(nc->info->type),
                           nc->info_str);
}

/* QEMU's layout: each NIC with its backend under it, then the
 * backends no NIC took. */
static void info_network_one(NetClientState *nc, void *opaque)
{
    GString *out = opaque;

    if (!nc->peer || nc->info->type == NET_CLIENT_DRIVER_NIC) {
        print_client(out, nc);
    }
    if (nc->peer && nc->info->type == NET_CLIENT_DRIVER_NIC) {
        g_string_append(out, " \\ ");
        print_client(out, nc->peer);
    }
}

void hmp_info_network(GString *out, int cpu)
{
    (void)cpu;
    qemu_foreach_net_client(info_network_one, out);
}

void qmp_register_net_commands(void)
{
    static const QmpArg set_link_args[] = {
        { "name", QMP_ARG_STR, false },
        { "up", QMP_ARG_BOOL, false },
        { NULL, 0, false },
    };

    qmp_register_command("set_link", qmp_set_link, set_link_args);
}
