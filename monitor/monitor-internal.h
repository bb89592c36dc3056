/* Shared by the files of monitor/. */
#ifndef MONITOR_INTERNAL_H
#define MONITOR_INTERNAL_H

#include "monitor/monitor.h"

/*
 * The request's shape (qmp-spec.rst): "execute" a string, "arguments"
 * an object, "id" anything, nothing else.  *@args is NULL without one.
 */
bool qmp_check_request(JsonObject *req, const char **name,
                       JsonObject **args, GError **errp);
/* @args (may be NULL) against the command's declared list. */
bool qmp_check_args(const QmpArg *spec, JsonObject *args, GError **errp);

/*
 * Nodes that take over the caller's reference (json_node_init_object()
 * and _array() add one of their own).
 */
JsonNode *qmp_object_node(JsonObject *o);
JsonNode *qmp_array_node(JsonArray *a);

/* [{"name": ...}, ...] of every registered command. */
JsonNode *qmp_command_list(void);
/* query-version's value. */
JsonNode *qmp_version_node(void);
/* qmp_capabilities: leave negotiation mode (the monitor running it). */
void qmp_set_negotiated(void);
bool qmp_cur_negotiated(void);

/* The built-in commands (qmp-cmds.c) and the HMP command (hmp.c). */
void qmp_register_builtin_commands(void);
void hmp_register_command(void);
/* query-block & co. and the BLOCK_IO_ERROR hook (qmp-cmds-block.c). */
void qmp_register_block_commands(void);
JsonNode *qmp_query_block(JsonObject *args, GError **errp);
void hmp_info_block(GString *out, int cpu);
/* set_link and info network (qmp-cmds-net.c). */
void qmp_register_net_commands(void);
void hmp_info_network(GString *out, int cpu);

/* What monitor_init_globals() was given. */
extern MonitorVMInfo monitor_vm_info;

/* Results shared by QMP commands and their HMP forms. */
JsonNode *qmp_query_status(JsonObject *args, GError **errp);
JsonNode *qmp_query_cpus_fast(JsonObject *args, GError **errp);
JsonNode *qmp_query_pci(JsonObject *args, GError **errp);
JsonNode *qmp_query_kvm(JsonObject *args, GError **errp);
JsonNode *qmp_stop(JsonObject *args, GError **errp);
JsonNode *qmp_cont(JsonObject *args, GError **errp);
JsonNode *qmp_system_reset(JsonObject *args, GError **errp);
JsonNode *qmp_system_powerdown(JsonObject *args, GError **errp);
JsonNode *qmp_quit(JsonObject *args, GError **errp);

#endif
