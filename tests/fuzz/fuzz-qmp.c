/*
 * libFuzzer target: arbitrary bytes on a QMP monitor.
 *
 * Each input goes through the monitor's real input path (JSON streamer,
 * parser, request checks, dispatcher, the commands and HMP) on a fresh
 * monitor with no chardev; most inputs first need qmp_capabilities,
 * which the dictionary and the seeds supply.  There is no machine, so
 * the commands that act on one find nothing to act on.  Whatever the
 * bytes, nothing may crash, leak or hang, and every reply must be ASCII
 * lines ending in CRLF.
 *
 *   CC=clang meson setup /work/build-fuzz -Dfuzzing=true
 *   ninja -C /work/build-fuzz tests/fuzz/fuzz-qmp
 *   /work/build-fuzz/tests/fuzz/fuzz-qmp -max_total_time=30 \
 *       -dict=tests/fuzz/qmp.dict tests/fuzz/corpus-qmp
 */
#include "qemu/osdep.h"
#include "monitor/monitor.h"
#include "sysemu/runstate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    MonitorVMInfo info = {
        .name = "fuzz",
        .topo = { .cpus = 2, .sockets = 1, .dies = 1, .cores = 2,
                  .threads = 1, .max_cpus = 4 },
        .cpu_type = "host-x86_64-cpu",
    };

    (void)argc; (void)argv;
    /* GSlice's magazines keep freed nodes, so every run would look like
     * a leak to libFuzzer and cost a full leak scan. */
    setenv("G_SLICE", "always-malloc", 1);
    monitor_init_globals(&info);
    return 0;
}

static void check_output(const GString *out)
{
    for (gsize i = 0; i < out->len; i++) {
        uint8_t c = out->str[i];

        if (c >= 0x80 || (c == '\n' && (i == 0 || out->str[i - 1] != '\r'))) {
            abort();
        }
    }
    if (out->len && !g_str_has_suffix(out->str, "\r\n")) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GString) out = g_string_new(NULL);
    Monitor *mon = monitor_new_detached(out);

    monitor_feed(mon, data, size);
    monitor_free_detached(mon);
    check_output(out);
    /* Requests a command left (quit, reset) would pile up otherwise. */
    if (runstate_get() != RUN_STATE_RUNNING) {
        runstate_set(RUN_STATE_RUNNING);
    }
    return 0;
}
