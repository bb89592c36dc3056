/*
 * SMP bring-up: the BSP finds the processors in the MADT and starts each
 * AP with INIT-SIPI-SIPI through its local APIC.  Each AP says
 * "cpu <apic id> up" and checks in; the BSP waits (bounded) for every
 * one, then prints "cpus-up=N" and exits through isa-debug-exit with
 * 0x12 (status 37).
 */
#include "guest.h"

#define SMP_EXIT        0x12
#define MAX_CPUS        64
/* Free in both qvmm's low-memory layout (include/hw/i386/pc.h) and QEMU's. */
#define SMP_TRAMPOLINE  0x8000

#define ICR_INIT        0x00000500
#define ICR_STARTUP     0x00000600
#define ICR_ASSERT      0x00004000
#define ICR_BUSY        0x00001000
#define SVR_ENABLE      0x00000100

extern const char ap_trampoline[], ap_trampoline_end[];

static volatile uint32_t cpus_up = 1;   /* the BSP */

void ap_main(void);
void ap_main(void)
{
    cpu_load_idt();
    printf("cpu %u up\n", lapic_id());
    atomic_fetch_add(&cpus_up, 1);
}

static void send_ipi(uint32_t apic_id, uint32_t icr)
{
    lapic_write(LAPIC_ICR_HI, apic_id << 24);
    lapic_write(LAPIC_ICR_LO, icr);
    for (int i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++) {
        udelay(10);
    }
}

static bool wait_for_cpus(uint32_t n, uint32_t ms)
{
    for (uint32_t t = 0; t < ms * 10; t++) {
        if (cpus_up >= n) {
            return true;
        }
        udelay(100);
    }
    return cpus_up >= n;
}

void guest_main(const struct hvm_start_info *si)
{
    uint32_t ids[MAX_CPUS], self;
    unsigned n;

    check_start_info(si);
    n = acpi_cpus(si, ids, MAX_CPUS);
    if (!n || n > MAX_CPUS) {
        guest_fail("MADT lists %u processors", n);
    }
    self = lapic_id();
    printf("smp: MADT lists %u cpus, bsp apic id %u\n", n, self);

    memcpy((void *)phys_ptr(SMP_TRAMPOLINE), ap_trampoline,
           ap_trampoline_end - ap_trampoline);
    lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | SVR_ENABLE | 0xff);

    /* One at a time, so that the lines come out in MADT order. */
    for (unsigned i = 0; i < n; i++) {
        uint32_t expect = cpus_up + 1;

        if (ids[i] == self) {
            continue;
        }
        send_ipi(ids[i], ICR_INIT | ICR_ASSERT);
        udelay(10000);
        for (int sipi = 0; sipi < 2 && cpus_up < expect; sipi++) {
            send_ipi(ids[i], ICR_STARTUP | ICR_ASSERT | SMP_TRAMPOLINE >> 12);
            udelay(200);
        }
        if (!wait_for_cpus(expect, 5000)) {
            guest_fail("apic id %u did not start", ids[i]);
        }
    }
    printf("cpus-up=%u\n", cpus_up);
    debug_exit(SMP_EXIT);
}
