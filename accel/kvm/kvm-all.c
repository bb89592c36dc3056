/*
 * The KVM VM: /dev/kvm, capabilities, memory slots, irqchip and PIT.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "hw/irq.h"
#include "kvm-internal.h"
#include <sys/ioctl.h>

KVMState kvm_state = { .fd = -1, .vmfd = -1 };

/* The VMX real-mode identity map and TSS, in pages the e820 map reserves. */
#define KVM_IDENTITY_MAP_ADDR PC_KVM_PRIVATE_ADDR
#define KVM_TSS_ADDR          (PC_KVM_PRIVATE_ADDR + 0x1000)

int kvm_ioctl(int fd, unsigned long req, void *arg)
{
    int r;

    do {
        r = ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

bool kvm_enabled(void)
{
    return kvm_state.vmfd >= 0;
}

static const struct {
    int cap;
    const char *name;
} required_caps[] = {
    { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
    { KVM_CAP_HLT, "KVM_CAP_HLT" },
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
    { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
    { KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
    { KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
    { KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
};

static bool kvm_open(GError **errp)
{
    int version;

    kvm_state.fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_state.fd < 0) {
        /* QEMU's wording, which scripts grep for. */
        error_setg(errp, "Could not access KVM kernel module: %s",
                   g_strerror(errno));
        return false;
    }
    version = kvm_ioctl(kvm_state.fd, KVM_GET_API_VERSION, NULL);
    if (version < 0) {
        error_setg(errp, "failed to initialize kvm: /dev/kvm: %s",
                   g_strerror(-version));
        return false;
    }
    if (version != KVM_API_VERSION) {
        error_setg(errp, "kvm version not supported (API version %d, "
                   "need %d)", version, KVM_API_VERSION);
        return false;
    }
    for (unsigned i = 0; i < ARRAY_SIZE(required_caps); i++) {
        if (kvm_ioctl(kvm_state.fd, KVM_CHECK_EXTENSION,
                      (void *)(long)required_caps[i].cap) <= 0) {
            error_setg(errp, "kvm does not support %s, which qvmm needs",
                       required_caps[i].name);
            return false;
        }
    }
    kvm_state.run_size = kvm_ioctl(kvm_state.fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
    if (kvm_state.run_size <= 0) {
        error_setg(errp, "KVM_GET_VCPU_MMAP_SIZE failed");
        return false;
    }
    return true;
}

static bool kvm_create_irqchip(GError **errp)
{
    struct kvm_pit_config pit = { .flags = 0 };
    int r;

    r = kvm_ioctl(kvm_state.vmfd, KVM_CREATE_IRQCHIP, NULL);
    if (r < 0) {
        error_setg(errp, "Could not create KVM in-kernel irqchip: %s",
                   g_strerror(-r));
        return false;
    }
    if (!kvm_irq_routing_init(errp)) {
        return false;
    }
    r = kvm_ioctl(kvm_state.vmfd, KVM_CREATE_PIT2, &pit);
    if (r < 0) {
        error_setg(errp, "Create kernel PIC irqchip failed: %s",
                   g_strerror(-r));
        return false;
    }
    /* Keep the power-on state so that a system reset can restore it. */
    for (unsigned i = 0; i < 3; i++) {
        kvm_state.initial_chips[i].chip_id = i;
        kvm_ioctl(kvm_state.vmfd, KVM_GET_IRQCHIP, &kvm_state.initial_chips[i]);
    }
    kvm_ioctl(kvm_state.vmfd, KVM_GET_PIT2, &kvm_state.initial_pit);
    return true;
}

bool kvm_init(GError **errp)
{
    uint64_t identity = KVM_IDENTITY_MAP_ADDR;
    int r;

    if (!kvm_open(errp)) {
        return false;
    }
    kvm_state.vmfd = kvm_ioctl(kvm_state.fd, KVM_CREATE_VM, 0);
    if (kvm_state.vmfd < 0) {
        error_setg(errp, "ioctl(KVM_CREATE_VM) failed: %s",
                   g_strerror(-kvm_state.vmfd));
        kvm_state.vmfd = -1;
        return false;
    }
    r = kvm_ioctl(kvm_state.vmfd, KVM_SET_TSS_ADDR, (void *)KVM_TSS_ADDR);
    if (r < 0) {
        error_setg(errp, "KVM_SET_TSS_ADDR failed: %s", g_strerror(-r));
        return false;
    }
    if (kvm_ioctl(kvm_state.fd, KVM_CHECK_EXTENSION,
                  (void *)(long)KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
        kvm_ioctl(kvm_state.vmfd, KVM_SET_IDENTITY_MAP_ADDR, &identity);
    }
    if (!kvm_create_irqchip(errp)) {
        return false;
    }
    g_cond_init(&kvm_state.pause_cond);
    g_cond_init(&kvm_state.resume_cond);
    if (!kvm_irq_hooks_init(errp)) {
        return false;
    }
    pc_irq_set_handler(kvm_set_irq);
    return true;
}

bool kvm_set_user_memory(uint64_t gpa, uint64_t size, void *hva,
                         GError **errp)
{
    struct kvm_userspace_memory_region region = {
        .slot = kvm_state.nr_slots,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uintptr_t)hva,
    };
    int r = kvm_ioctl(kvm_state.vmfd, KVM_SET_USER_MEMORY_REGION, &region);

    if (r < 0) {
        error_setg(errp, "KVM_SET_USER_MEMORY_REGION failed for 0x%" PRIx64
                   "+0x%" PRIx64 ": %s", gpa, size, g_strerror(-r));
        return false;
    }
    kvm_state.nr_slots++;
    return true;
}

void kvm_set_irq(unsigned gsi, int level)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level };

    if (kvm_ioctl(kvm_state.vmfd, KVM_IRQ_LINE, &irq) < 0) {
        warn_report("KVM_IRQ_LINE %u failed", gsi);
    }
}

void kvm_reset_irqchip(void)
{
    for (unsigned i = 0; i < 3; i++) {
        kvm_ioctl(kvm_state.vmfd, KVM_SET_IRQCHIP, &kvm_state.initial_chips[i]);
    }
    kvm_ioctl(kvm_state.vmfd, KVM_SET_PIT2, &kvm_state.initial_pit);
}

struct kvm_cpuid2 *kvm_get_supported_cpuid(GError **errp)
{
    /* Grow the buffer until the kernel stops saying E2BIG. */
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) +
                                         n * sizeof(struct kvm_cpuid_entry2));
        int r;

        c->nent = n;
        r = kvm_ioctl(kvm_state.fd, KVM_GET_SUPPORTED_CPUID, c);
        if (r == 0) {
            return c;
        }
        g_free(c);
        if (r != -E2BIG) {
            error_setg(errp, "KVM_GET_SUPPORTED_CPUID failed: %s",
                       g_strerror(-r));
            return NULL;
        }
    }
    error_setg(errp, "KVM_GET_SUPPORTED_CPUID: table too large");
    return NULL;
}

int kvm_ioctl_run(int vcpu_fd)
{
    /* No EINTR retry here: an interrupted KVM_RUN is how a pause arrives. */
    return ioctl(vcpu_fd, KVM_RUN, 0) < 0 ? -errno : 0;
}

/* ---- PIT channel 2, for port 0x61 ---- */

#define PIT_FREQ 1193182ULL

/*
 * Channel 2's output pin.  The kernel keeps the channel's count, mode and
 * when the count was loaded (CLOCK_MONOTONIC ns); the output follows
 * from the 8254 modes and the ticks elapsed since.
 */
bool kvm_pit_out2(void)
{
    struct kvm_pit_state2 ps;
    struct kvm_pit_channel_state *c = &ps.channels[2];
    struct timespec now;
    uint64_t ns, d, count;

    if (kvm_ioctl(kvm_state.vmfd, KVM_GET_PIT2, &ps) < 0) {
        return false;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec;
    ns = ns > (uint64_t)c->count_load_time ? ns - c->count_load_time : 0;
    d = (ns / 1000) * PIT_FREQ / 1000000 +
        (ns % 1000) * PIT_FREQ / 1000000000;
    count = c->count ? c->count : 0x10000;
    switch (c->mode) {
    case 0:                     /* interrupt on terminal count */
        return d >= count;
    case 1:                     /* one-shot: low while counting */
        return d >= count;
    case 2: case 6:             /* rate generator: one low tick */
        return (d % count) != count - 1;
    case 3: case 7:             /* square wave */
        return (d % count) < (count + 1) / 2;
    default:                    /* strobes: high but for one tick */
        return d != count;
    }
}

/* Gate channel 2 (the kernel restarts counting as a gate edge does). */
void kvm_pit_set_gate2(bool gate)
{
    struct kvm_pit_state2 ps;

    if (kvm_ioctl(kvm_state.vmfd, KVM_GET_PIT2, &ps) < 0) {
        return;
    }
    ps.channels[2].gate = gate;
    kvm_ioctl(kvm_state.vmfd, KVM_SET_PIT2, &ps);
}
