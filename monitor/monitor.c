/*
 * Monitor set-up: the built-in commands, the run-state events, -uuid.
 */
#include "qemu/osdep.h"
#include "monitor-internal.h"
#include "sysemu/runstate.h"

/* system/runstate.c's events, with QEMU's data members. */
static void runstate_event(const char *event, gboolean has_data,
                           gboolean guest, ShutdownCause cause)
{
    JsonObject *data = NULL;

    if (has_data) {
        data = json_object_new();
        json_object_set_boolean_member(data, "guest", guest);
        json_object_set_string_member(data, "reason",
                                      shutdown_cause_name(cause));
    }
    qapi_event_send(event, data);
}

void monitor_init_globals(const MonitorVMInfo *info)
{
    monitor_vm_info = *info;
    monitor_vm_info.name = g_strdup(info->name);
    monitor_vm_info.cpu_type = g_strdup(info->cpu_type);
    qmp_register_builtin_commands();
    qmp_register_block_commands();
    qmp_register_net_commands();
    hmp_register_command();
    runstate_set_event_hook(runstate_event);
}

bool qemu_uuid_parse(const char *str, uint8_t uuid[16])
{
    static const int dash_at[] = { 8, 13, 18, 23 };
    unsigned n = 0;

    if (strlen(str) != 36) {
        return false;
    }
    for (int i = 0; i < 36; i++) {
        bool dash = i == dash_at[0] || i == dash_at[1] || i == dash_at[2] ||
                    i == dash_at[3];
        if (dash ? str[i] != '-' : !g_ascii_isxdigit(str[i])) {
            return false;
        }
    }
    for (int i = 0; i < 36; i += 2) {
        if (str[i] == '-') {
            i--;
            continue;
        }
        uuid[n++] = g_ascii_xdigit_value(str[i]) << 4 |
                    g_ascii_xdigit_value(str[i + 1]);
    }
    return n == 16;
}
