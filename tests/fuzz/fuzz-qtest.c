/*
 * libFuzzer target: arbitrary bytes on the qtest socket.
 *
 * The input goes through the same line splitter and executor as a
 * client's bytes, against a small pc-like machine: guest RAM in two
 * blocks, the real legacy devices (UART, RTC, i8042, ACPI PM, port 0x80,
 * reset control, debug exit) and a scratch MMIO device that drives an
 * interrupt line, so requests reach device code, timers and IRQ
 * intercepts.  Whatever the bytes, nothing may crash, leak or hang.
 *
 *   CC=clang meson setup /work/build-fuzz -Dfuzzing=true
 *   ninja -C /work/build-fuzz tests/fuzz/fuzz-qtest
 *   /work/build-fuzz/tests/fuzz/fuzz-qtest -max_total_time=30 \
 *       -dict=tests/fuzz/qtest.dict tests/fuzz/corpus
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "chardev/char.h"
#include "exec/memory.h"
#include "hw/irq.h"
#include "hw/qdev.h"
#include "hw/char/serial.h"
#include "hw/rtc/mc146818rtc.h"
#include "hw/input/i8042.h"
#include "hw/acpi/pm.h"
#include "hw/misc/debugexit.h"
#include "hw/misc/ioport80.h"
#include "hw/misc/reset-control.h"
#include "sysemu/qtest.h"
#include "sysemu/reset.h"
#include "sysemu/runstate.h"

#define LOW_RAM_SIZE    (1 * MiB)
#define HIGH_RAM_BASE   (4 * GiB)
#define HIGH_RAM_SIZE   (64 * KiB)
#define SCRATCH_BASE    0xfed00000ULL
#define SCRATCH_SIZE    0x100
#define SCRATCH_IRQ     10

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *low_ram, *high_ram;
static uint64_t scratch_regs[SCRATCH_SIZE / 8];
static RTCState *rtc;
static uint8_t rtc_cmos_initial[128];   /* battery-backed: reset keeps it */

/* Register file; a write to the first register sets the IRQ line. */
static uint64_t scratch_read(void *opaque, uint64_t offset, unsigned size)
{
    uint64_t v = 0;

    (void)opaque;
    memcpy(&v, (uint8_t *)scratch_regs + offset, size);
    return v;
}

static void scratch_write(void *opaque, uint64_t offset, uint64_t value,
                          unsigned size)
{
    (void)opaque;
    memcpy((uint8_t *)scratch_regs + offset, &value, size);
    if (offset == 0) {
        pc_set_irq(SCRATCH_IRQ, value & 1);
    }
}

static const IORegionOps scratch_ops = {
    .read = scratch_read,
    .write = scratch_write,
};

static void machine_reset(void)
{
    qemu_devices_reset();
    qdev_reset_all();
    memset(scratch_regs, 0, sizeof(scratch_regs));
}

static void check(bool ok, GError *err)
{
    if (!ok) {
        fprintf(stderr, "fuzz-qtest: setup failed: %s\n",
                err ? err->message : "?");
        abort();
    }
}

static void create_devices(void)
{
    GError *err = NULL;
    Chardev *null;

    qdev_register_bus("isa.0", "isa");
    null = qemu_chr_new_legacy("serial0", "null", &err);
    check(null != NULL, err);
    check(serial_isa_create(0, serial_isa_iobase(0), serial_isa_irq(0),
                            null, &err) != NULL, err);
    rtc = mc146818_rtc_create(RTC_ISA_BASE, RTC_ISA_IRQ, &err);
    check(rtc != NULL, err);
    for (unsigned i = 0; i < sizeof(rtc_cmos_initial); i++) {
        rtc_cmos_initial[i] = rtc_get_memory(rtc, i);
    }
    check(i8042_create(&err) != NULL, err);
    check(ioport80_create(&err) != NULL, err);
    check(reset_control_create(true, &err) != NULL, err);
    check(acpi_pm_create(0x600, 9, &err) != NULL, err);
    check(isa_debug_exit_create(0x501, 2, &err) != NULL, err);
    check(io_region_add(AS_MMIO, SCRATCH_BASE, SCRATCH_SIZE, &scratch_ops,
                        NULL, "scratch", &err) != NULL, err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const RunstateHooks hooks = { .reset = machine_reset };

    (void)argc; (void)argv;
    qtest_accel_init();
    low_ram = g_malloc0(LOW_RAM_SIZE);
    high_ram = g_malloc0(HIGH_RAM_SIZE);
    guest_ram_add_block(0, LOW_RAM_SIZE, low_ram, "pc.ram");
    guest_ram_add_block(HIGH_RAM_BASE, HIGH_RAM_SIZE, high_ram, "pc.ram.high");
    create_devices();
    runstate_set_hooks(&hooks);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GString) out = g_string_new(NULL);
    int status;

    /* Each input starts from the same machine, for reproducible crashes. */
    qemu_clock_set_manual(true);
    for (unsigned i = 0; i < sizeof(rtc_cmos_initial); i++) {
        rtc_set_memory(rtc, i, rtc_cmos_initial[i]);
    }
    machine_reset();
    memset(low_ram, 0, LOW_RAM_SIZE);
    memset(high_ram, 0, HIGH_RAM_SIZE);
    qtest_server_reset();

    qtest_server_feed(data, size, out);

    /* Requests the devices made (reset, shutdown, exit) are only flags. */
    while (main_loop_should_exit(&status)) {
        /* drop them */
    }
    return 0;
}
