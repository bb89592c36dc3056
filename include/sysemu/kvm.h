/*
 * The KVM accelerator: one VM, its memory slots, in-kernel irqchip and
 * PIT, and one thread per vCPU in KVM_RUN.
 */
#ifndef SYSEMU_KVM_H
#define SYSEMU_KVM_H

#include "qemu/osdep.h"
#include "hw/boards.h"
#include "hw/i386/pc.h"
#include "exec/memory.h"

struct X86CPUDef;

/* Open /dev/kvm (or $QVMM_KVM_DEVICE... no: always /dev/kvm), check the
 * API version and capabilities, create the VM with irqchip and PIT. */
bool kvm_init(GError **errp);
bool kvm_enabled(void);

/* Map [gpa, gpa+size) of guest RAM to @hva. */
bool kvm_set_user_memory(uint64_t gpa, uint64_t size, void *hva,
                         GError **errp);

/* Create the vCPUs (not yet running) with CPUID from @cpu. */
bool kvm_create_vcpus(const CpuTopology *topo, const struct X86CPUDef *cpu,
                      GError **errp);

/* Put every vCPU in its reset state, the BSP at @boot's entry. */
bool kvm_reset_vcpus(const BootInfo *boot, GError **errp);
/* Restore the irqchip and PIT to their power-on state (system reset). */
void kvm_reset_irqchip(void);

/* Start the vCPU threads; they wait until kvm_vcpus_resume(). */
void kvm_start_vcpu_threads(void);
/* Pause every vCPU and wait (BQL held) until all are out of KVM_RUN. */
void kvm_vcpus_pause(void);
void kvm_vcpus_resume(void);

/* PIT channel 2's output and gate, for port 0x61. */
bool kvm_pit_out2(void);
void kvm_pit_set_gate2(bool gate);
/* For query-cpus-fast: how many vCPUs there are, and one's host thread
 * id (0 before its thread started) and APIC id. */
unsigned kvm_vcpu_count(void);
bool kvm_vcpu_info(unsigned index, int *thread_id, uint32_t *apic_id);

/* Drive a GSI through KVM_IRQ_LINE. */
void kvm_set_irq(unsigned gsi, int level);

/*
 * Interrupt routing (BQL held).  An MSI route takes a free GSI above the
 * IOAPIC's 24, up to the kernel's KVM_CAP_IRQ_ROUTING limit; the return
 * is the GSI or -errno (-ENOSPC when all are taken).  Every change hands
 * the whole table, the irqchip routes included, to KVM_SET_GSI_ROUTING.
 */
int kvm_irqchip_add_msi_route(uint64_t addr, uint32_t data);
int kvm_irqchip_update_msi_route(int gsi, uint64_t addr, uint32_t data);
void kvm_irqchip_release_msi_route(int gsi);
/* KVM_IRQFD: @fd raises @gsi; @resample_fd >= 0 makes it level-triggered
 * with that fd signalled at the guest's EOI.  0 or -errno. */
int kvm_irqfd_assign(int fd, int gsi, int resample_fd);
int kvm_irqfd_deassign(int fd, int gsi);
/* KVM_IOEVENTFD for writes of any length at @addr; 0 or -errno. */
int kvm_set_ioeventfd(AddressSpaceId as, uint64_t addr, int fd, bool assign);

/* The raw supported CPUID table (for -cpu help and tests). */
struct kvm_cpuid2 *kvm_get_supported_cpuid(GError **errp);

#endif
