/*
 * vCPU threads.  Each runs KVM_RUN without the BQL and takes it to handle
 * an exit.  Pausing sets cpu->stop and immediate_exit, then kicks the
 * thread with SIG_IPI; the thread parks on resume_cond, releasing the BQL,
 * so the main thread can wait for it without deadlock.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "exec/memory.h"
#include "sysemu/runstate.h"
#include "target/i386/cpu.h"
#include "kvm-internal.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define SIG_IPI SIGUSR1

static void sig_ipi_handler(int sig)
{
    (void)sig;  /* its only job is to interrupt KVM_RUN */
}

static bool kvm_create_one(KVMVCPU *cpu, const CpuTopology *topo,
                           const X86CPUDef *def,
                           const struct kvm_cpuid2 *supported, GError **errp)
{
    cpu->apic_id = x86_apicid_from_cpu_idx(topo, cpu->index);
    cpu->fd = kvm_ioctl(kvm_state.vmfd, KVM_CREATE_VCPU,
                        (void *)(long)cpu->apic_id);
    if (cpu->fd < 0) {
        error_setg(errp, "kvm_init_vcpu: kvm_get_vcpu failed (%u): %s",
                   cpu->index, g_strerror(-cpu->fd));
        return false;
    }
    cpu->run_size = kvm_state.run_size;
    cpu->run = mmap(NULL, cpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
                    cpu->fd, 0);
    if (cpu->run == MAP_FAILED) {
        error_setg_errno(errp, errno, "mmap of vCPU %u failed", cpu->index);
        return false;
    }
    return kvm_arch_init_vcpu(cpu, topo, def, supported, errp);
}

/* KVM's soft limit only earns a warning, its hard limit is an error. */
static bool kvm_check_vcpu_limits(const CpuTopology *topo, GError **errp)
{
    int soft = kvm_ioctl(kvm_state.fd, KVM_CHECK_EXTENSION,
                         (void *)(long)KVM_CAP_NR_VCPUS);
    int hard = kvm_ioctl(kvm_state.fd, KVM_CHECK_EXTENSION,
                         (void *)(long)KVM_CAP_MAX_VCPUS);
    const struct { const char *what; unsigned n; } asked[] = {
        { "SMP", topo->cpus }, { "hotpluggable", topo->max_cpus },
    };

    soft = soft > 0 ? soft : 4;        /* KVM's documented default */
    hard = hard > 0 ? hard : soft;
    for (unsigned i = 0; i < ARRAY_SIZE(asked); i++) {
        if (asked[i].n > (unsigned)hard) {
            error_setg(errp, "Number of %s cpus requested (%u) exceeds the "
                       "maximum cpus supported by KVM (%d)", asked[i].what,
                       asked[i].n, hard);
            return false;
        }
        if (asked[i].n > (unsigned)soft) {
            warn_report("Number of %s cpus requested (%u) exceeds the "
                        "recommended cpus supported by KVM (%d)",
                        asked[i].what, asked[i].n, soft);
        }
    }
    return true;
}

bool kvm_create_vcpus(const CpuTopology *topo, const X86CPUDef *def,
                      GError **errp)
{
    g_autofree struct kvm_cpuid2 *supported = kvm_get_supported_cpuid(errp);

    if (!supported || !kvm_check_vcpu_limits(topo, errp)) {
        return false;
    }
    kvm_state.nvcpus = topo->cpus;
    kvm_state.vcpus = g_new0(KVMVCPU, topo->cpus);
    for (unsigned i = 0; i < topo->cpus; i++) {
        kvm_state.vcpus[i].index = i;
        kvm_state.vcpus[i].fd = -1;
        if (!kvm_create_one(&kvm_state.vcpus[i], topo, def, supported, errp)) {
            return false;
        }
    }
    return true;
}

bool kvm_reset_vcpus(const BootInfo *boot, GError **errp)
{
    for (unsigned i = 0; i < kvm_state.nvcpus; i++) {
        KVMVCPU *cpu = &kvm_state.vcpus[i];
        cpu->halted_on_error = false;
        if (!kvm_arch_reset_vcpu(cpu, boot, errp)) {
            return false;
        }
    }
    return true;
}

/* ---- exits ---- */

static void handle_io(KVMVCPU *cpu)
{
    struct kvm_run *run = cpu->run;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;
    unsigned size = run->io.size;

    /* The kernel fills these, but a bad value must not send us outside
     * the run page: check size and that count items fit after the offset. */
    if ((size != 1 && size != 2 && size != 4) ||
        run->io.data_offset > cpu->run_size ||
        run->io.count > (cpu->run_size - run->io.data_offset) / size) {
        error_report("KVM: malformed port I/O exit (size %u, count %u)",
                     size, run->io.count);
        return;
    }

    /* A rep string instruction hands us 'count' consecutive items. */
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        uint64_t val = 0;
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&val, data, size);
            io_dispatch_write(AS_PIO, run->io.port, size, val);
        } else {
            io_dispatch_read(AS_PIO, run->io.port, size, &val);
            memcpy(data, &val, size);
        }
    }
}

static void handle_mmio(KVMVCPU *cpu)
{
    struct kvm_run *run = cpu->run;
    unsigned len = run->mmio.len;
    uint64_t val = 0;

    if (len == 0 || len > 8) {
        return;
    }
    if (run->mmio.is_write) {
        memcpy(&val, run->mmio.data, len);
        io_dispatch_write(AS_MMIO, run->mmio.phys_addr, len, val);
    } else {
        io_dispatch_read(AS_MMIO, run->mmio.phys_addr, len, &val);
        memcpy(run->mmio.data, &val, len);
    }
}

static void report_internal_error(KVMVCPU *cpu)
{
    struct kvm_run *run = cpu->run;

    error_printf("KVM internal error. Suberror: %u\n",
                 run->internal.suberror);
    for (uint32_t i = 0; i < run->internal.ndata &&
                         i < ARRAY_SIZE(run->internal.data); i++) {
        error_printf("extra data[%u]: 0x%016" PRIx64 "\n", i,
                     (uint64_t)run->internal.data[i]);
    }
    if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
        error_printf("emulation failure\n");
    }
    kvm_arch_dump_state(cpu);
    cpu->halted_on_error = true;
    qemu_system_guest_error_request();
}

static void handle_system_event(KVMVCPU *cpu)
{
    switch (cpu->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    case KVM_SYSTEM_EVENT_CRASH:
        qemu_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_PANIC);
        break;
    default:
        error_report("KVM: unknown system event %u",
                     cpu->run->system_event.type);
        break;
    }
}

/* Act on one exit, BQL held. */
static void handle_exit(KVMVCPU *cpu)
{
    switch (cpu->run->exit_reason) {
    case KVM_EXIT_IO:
        handle_io(cpu);
        break;
    case KVM_EXIT_MMIO:
        handle_mmio(cpu);
        break;
    case KVM_EXIT_SHUTDOWN:
        /* Triple fault: the machine resets, as a real PC does. */
        qemu_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        handle_system_event(cpu);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        report_internal_error(cpu);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        error_printf("KVM: entry failed, hardware error 0x%" PRIx64 "\n",
                     (uint64_t)cpu->run->fail_entry.hardware_entry_failure_reason);
        kvm_arch_dump_state(cpu);
        cpu->halted_on_error = true;
        qemu_system_guest_error_request();
        break;
    case KVM_EXIT_INTR:
    case KVM_EXIT_HLT:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        break;
    default:
        error_printf("KVM: unhandled exit reason %u\n", cpu->run->exit_reason);
        kvm_arch_dump_state(cpu);
        cpu->halted_on_error = true;
        qemu_system_guest_error_request();
        break;
    }
}

static bool vcpu_must_wait(KVMVCPU *cpu)
{
    return cpu->stop || !kvm_state.vm_running || cpu->halted_on_error ||
           qemu_vcpus_must_park();
}

static void *vcpu_thread(void *opaque)
{
    KVMVCPU *cpu = opaque;
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIG_IPI);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    bql_lock();
    cpu->tid = syscall(SYS_gettid);
    for (;;) {
        int r;

        while (vcpu_must_wait(cpu)) {
            cpu->stopped = true;
            g_cond_broadcast(&kvm_state.pause_cond);
            bql_cond_wait(&kvm_state.resume_cond);
        }
        cpu->stopped = false;
        bql_unlock();
        r = kvm_ioctl_run(cpu->fd);
        bql_lock();
        cpu->run->immediate_exit = 0;
        if (r == -EINTR || r == -EAGAIN) {
            continue;
        }
        if (r < 0) {
            error_report("KVM_RUN failed on vCPU %u: %s", cpu->index,
                         g_strerror(-r));
            cpu->halted_on_error = true;
            qemu_system_guest_error_request();
            continue;
        }
        handle_exit(cpu);
    }
    return NULL;
}

void kvm_start_vcpu_threads(void)
{
    struct sigaction sa = { .sa_handler = sig_ipi_handler };
    sigset_t set;

    sigaction(SIG_IPI, &sa, NULL);
    /* Only vCPU threads take SIG_IPI. */
    sigemptyset(&set);
    sigaddset(&set, SIG_IPI);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    for (unsigned i = 0; i < kvm_state.nvcpus; i++) {
        KVMVCPU *cpu = &kvm_state.vcpus[i];
        g_autofree char *name = g_strdup_printf("CPU %u/KVM", i);

        cpu->stopped = true;
        if (pthread_create(&cpu->thread, NULL, vcpu_thread, cpu) != 0) {
            error_report("could not create vCPU thread: %s",
                         g_strerror(errno));
            exit(1);
        }
        pthread_setname_np(cpu->thread, name);
        cpu->thread_started = true;
    }
    /* Wait for every thread to report its tid (query-cpus-fast). */
    for (unsigned i = 0; i < kvm_state.nvcpus; i++) {
        while (!kvm_state.vcpus[i].tid) {
            bql_cond_wait(&kvm_state.pause_cond);
        }
    }
}

void kvm_vcpus_pause(void)
{
    kvm_state.vm_running = false;
    for (unsigned i = 0; i < kvm_state.nvcpus; i++) {
        KVMVCPU *cpu = &kvm_state.vcpus[i];
        cpu->stop = true;
        cpu->run->immediate_exit = 1;
        if (cpu->thread_started) {
            pthread_kill(cpu->thread, SIG_IPI);
        }
    }
    for (unsigned i = 0; i < kvm_state.nvcpus; i++) {
        while (kvm_state.vcpus[i].thread_started &&
               !kvm_state.vcpus[i].stopped) {
            bql_cond_wait(&kvm_state.pause_cond);
        }
    }
}

void kvm_vcpus_resume(void)
{
    for (unsigned i = 0; i < kvm_state.nvcpus; i++) {
        kvm_state.vcpus[i].stop = false;
    }
    kvm_state.vm_running = true;
    g_cond_broadcast(&kvm_state.resume_cond);
}

unsigned kvm_vcpu_count(void)
{
    return kvm_state.nvcpus;
}

bool kvm_vcpu_info(unsigned index, int *thread_id, uint32_t *apic_id)
{
    if (index >= kvm_state.nvcpus) {
        return false;
    }
    *thread_id = kvm_state.vcpus[index].tid;
    *apic_id = kvm_state.vcpus[index].apic_id;
    return true;
}
