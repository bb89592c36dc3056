/*
 * Building the pc machine from the parsed command line (hw/i386/pc.c).
 */
#ifndef HW_I386_MACHINE_H
#define HW_I386_MACHINE_H

#include "qemu/osdep.h"
#include "hw/boards.h"
#include "target/i386/cpu.h"
#include "chardev/char.h"

#define PC_MAX_SERIAL 4

typedef struct PCMachineConfig {
    uint64_t ram_size;
    struct HostMemoryBackend *ram_backend; /* -machine memory-backend= */
    const char *mem_path;          /* -mem-path, or NULL for anonymous */
    bool mem_prealloc;
    CpuTopology topo;
    X86CPUDef cpu;
    const char *kernel;            /* -kernel */
    const char *initrd;            /* -initrd */
    const char *cmdline;           /* -append, "" when absent */
    Chardev *serial[PC_MAX_SERIAL];
    unsigned nserial;              /* ports present: 0..4 */
} PCMachineConfig;

/* Create RAM, vCPUs and built-in devices; load the kernel. */
bool pc_machine_init(PCMachineConfig *cfg, GError **errp);
/* After -device processing: write ACPI tables and boot info, reset CPUs. */
bool pc_machine_done(GError **errp);
/* System reset: devices, irqchip, kernel and tables reloaded, CPUs reset. */
void pc_machine_reset(void);
/* Press the ACPI power button. */
void pc_machine_powerdown(void);

#endif
