/* State shared by the KVM accelerator's files. */
#ifndef ACCEL_KVM_INTERNAL_H
#define ACCEL_KVM_INTERNAL_H

#include "qemu/osdep.h"
#include "sysemu/kvm.h"
#include <linux/kvm.h>
#include <pthread.h>

typedef struct KVMVCPU {
    unsigned index;
    uint32_t apic_id;
    int fd;
    struct kvm_run *run;
    size_t run_size;
    pthread_t thread;
    int tid;
    bool thread_started;
    bool stop;                 /* asked to pause (BQL) */
    bool stopped;              /* parked, out of KVM_RUN (BQL) */
    bool halted_on_error;      /* internal error: never re-enter */
    struct kvm_lapic_state initial_lapic;
    struct kvm_sregs initial_sregs;    /* power-on state, for reset */
} KVMVCPU;

typedef struct KVMState {
    int fd;                    /* /dev/kvm */
    int vmfd;
    int run_size;
    unsigned nr_slots;
    unsigned nvcpus;
    KVMVCPU *vcpus;
    bool vm_running;           /* vCPUs may run (BQL) */
    GCond pause_cond;          /* a vCPU parked */
    GCond resume_cond;         /* vCPUs may go on */
    struct kvm_irqchip initial_chips[3];
    struct kvm_pit_state2 initial_pit;
} KVMState;

extern KVMState kvm_state;

int kvm_ioctl(int fd, unsigned long req, void *arg);
int kvm_ioctl_run(int vcpu_fd);

/* kvm-irq.c: the pc's GSI routes, then the MSI/irqfd/ioeventfd hooks. */
bool kvm_irq_routing_init(GError **errp);
bool kvm_irq_hooks_init(GError **errp);

/* target/i386/kvm/kvm.c: architecture state of one vCPU. */
bool kvm_arch_init_vcpu(KVMVCPU *cpu, const CpuTopology *topo,
                        const struct X86CPUDef *def,
                        const struct kvm_cpuid2 *supported, GError **errp);
bool kvm_arch_reset_vcpu(KVMVCPU *cpu, const BootInfo *boot, GError **errp);
/* QEMU-style register dump and the code bytes at RIP, to stderr. */
void kvm_arch_dump_state(KVMVCPU *cpu);

#endif
