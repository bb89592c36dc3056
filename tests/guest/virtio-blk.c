/*
 * A polled virtio-blk driver (modern virtio-pci, 1af4:1042, or the
 * transitional 1af4:1001 used in modern mode) running in ring 3.
 *
 * Default mode, the kvm-tier test: check the capacity against
 * "sectors=N" and GET_ID against "serial=S" from the command line, read
 * and verify the pattern the host wrote, write our own pattern with many
 * requests in flight, FLUSH, read it back and compare, check that
 * requests beyond the end and of unknown type fail as they must, then
 * exit through isa-debug-exit with BLK_EXIT.  The host checks the file.
 *
 * "bench=randread,randwrite,read,write": run each workload for "secs=N"
 * seconds (default 5) at queue depth "qd=N" (default 32), 4 KiB random
 * or 1 MiB sequential, and print IOPS and MiB/s timed with the TSC.
 */
#include "guest.h"
#include "virtio.h"
#include <linux/virtio_blk.h>

#define BLK_EXIT     0x30               /* VMM exit status 97 */
#define SECTOR       512u
#define QUEUE_SIZE   256
#define MAX_SLOTS    64                 /* 3 descriptors each */
#define POOL_SIZE    (32u << 20)
#define TEST_MAX     (POOL_SIZE / 2)
#define HOST_SEED    0x686f73745f736565ull  /* tests/kvm/run-guests.py */
#define GUEST_SEED   0x67756573745f7365ull
#define TIMEOUT_SECS 30

struct slot {
    struct virtio_blk_outhdr hdr;
    uint8_t status;
    bool busy;
    uint32_t len;
};

static struct virtio_dev dev;
static struct virtq vq;
static uint8_t ring_mem[VIRTQ_MEM_SIZE(QUEUE_SIZE)] __attribute__((aligned(4096)));
static struct slot slots[MAX_SLOTS];
static unsigned nslots;
static uint8_t pool[POOL_SIZE] __attribute__((aligned(4096)));
static uint64_t capacity;               /* in sectors */
static uint64_t tsc_rate_khz;

/* The pattern word at byte @off of the disk (8-byte aligned). */
static uint64_t pattern(uint64_t off, uint64_t seed)
{
    return (off / 8 + 1) * 0x9e3779b97f4a7c15ull ^ seed;
}

static void fill(uint8_t *buf, uint64_t disk_off, uint64_t len, uint64_t seed)
{
    uint64_t *w = (uint64_t *)buf;

    for (uint64_t i = 0; i < len / 8; i++) {
        w[i] = pattern(disk_off + i * 8, seed);
    }
}

/* The first mismatching byte offset, or UINT64_MAX if all match. */
static uint64_t verify(const uint8_t *buf, uint64_t disk_off, uint64_t len,
                       uint64_t seed)
{
    const uint64_t *w = (const uint64_t *)buf;

    for (uint64_t i = 0; i < len / 8; i++) {
        if (w[i] != pattern(disk_off + i * 8, seed)) {
            return disk_off + i * 8;
        }
    }
    return UINT64_MAX;
}

/* Build slot @s's chain: header, data (if any), status; then push it. */
static void submit(unsigned s, uint32_t type, uint64_t sector, void *buf,
                   uint32_t len)
{
    struct slot *sl = &slots[s];
    struct vring_desc *d = &vq.desc[s * 3];
    bool to_guest = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;

    sl->hdr.type = type;
    sl->hdr.ioprio = 0;
    sl->hdr.sector = sector;
    sl->status = 0xff;                  /* not a status the device writes */
    sl->busy = true;
    sl->len = len;
    d[0] = (struct vring_desc) { (uintptr_t)&sl->hdr, sizeof(sl->hdr),
                                 VRING_DESC_F_NEXT, s * 3 + 1 };
    if (len) {
        d[1] = (struct vring_desc) { (uintptr_t)buf, len,
            VRING_DESC_F_NEXT | (to_guest ? VRING_DESC_F_WRITE : 0),
            s * 3 + 2 };
    } else {
        d[0].next = s * 3 + 2;
    }
    d[2] = (struct vring_desc) { (uintptr_t)&sl->status, 1,
                                 VRING_DESC_F_WRITE, 0 };
    virtq_push(&vq, s * 3);
}

static uint64_t ticks_per_sec(void)
{
    /* Before calibration, assume 4 GHz: timeouts only get longer. */
    return (tsc_rate_khz ? tsc_rate_khz : 4000000) * 1000;
}

/* A completed slot, or -1 if none is ready.  A bad id ends the test. */
static int reap(void)
{
    uint32_t id, len;
    int r = virtq_pop(&vq, &id, &len);

    if (r < 0) {
        guest_fail("virtio-blk: used index ran %u entries ahead",
                   (uint16_t)(vq.used->idx - vq.last_used));
    }
    if (!r) {
        return -1;
    }
    if (id % 3 || id / 3 >= nslots || !slots[id / 3].busy) {
        guest_fail("virtio-blk: used ring returned descriptor %u, "
                   "which is not a request in flight", id);
    }
    slots[id / 3].busy = false;
    return id / 3;
}

/* Wait for a completion; give up (FAIL) after TIMEOUT_SECS. */
static unsigned wait_reap(void)
{
    uint64_t deadline = rdtsc() + TIMEOUT_SECS * ticks_per_sec();
    int s;

    while ((s = reap()) < 0) {
        if (rdtsc() > deadline) {
            guest_fail("virtio-blk: no completion in %u s (device status "
                       "%#x)", TIMEOUT_SECS, virtio_status(&dev));
        }
        cpu_relax();
    }
    return s;
}

/* One request on its own; returns the status the device wrote. */
static uint8_t request(uint32_t type, uint64_t sector, void *buf, uint32_t len)
{
    submit(0, type, sector, buf, len);
    virtq_kick(&vq);
    return slots[wait_reap()].status;
}

static const char *type_name(uint32_t type)
{
    return type == VIRTIO_BLK_T_IN ? "read" :
           type == VIRTIO_BLK_T_OUT ? "write" : "request";
}

static void check_ok(unsigned s, uint32_t type)
{
    if (slots[s].status != VIRTIO_BLK_S_OK) {
        guest_fail("virtio-blk: %s of %u bytes at sector %lu: status %u",
                   type_name(type), slots[s].len,
                   (unsigned long)slots[s].hdr.sector, slots[s].status);
    }
}

/*
 * Read or write @bytes at @sector from/to @buf, split into requests whose
 * sizes cycle through @sizes, with up to @qd in flight and one kick per
 * batch.  Returns the number of requests; any status but OK ends the test.
 */
static unsigned io_region(uint32_t type, uint64_t sector, uint8_t *buf,
                          uint64_t bytes, const uint32_t *sizes,
                          unsigned nsizes, unsigned qd)
{
    uint64_t off = 0;
    unsigned inflight = 0, n = 0, free_slots[MAX_SLOTS], nfree;

    nfree = qd = qd < nslots ? qd : nslots;
    for (unsigned i = 0; i < qd; i++) {
        free_slots[i] = i;
    }
    while (off < bytes || inflight) {
        unsigned before = n;

        while (off < bytes && nfree) {
            uint32_t len = sizes[n % nsizes];

            if (len > bytes - off) {
                len = bytes - off;
            }
            submit(free_slots[--nfree], type, sector + off / SECTOR,
                   buf + off, len);
            off += len;
            inflight++;
            n++;
        }
        if (n != before) {
            virtq_kick(&vq);
        }
        /* Wait for one, then take whatever else is done. */
        for (int s = wait_reap(); s >= 0; s = reap()) {
            check_ok(s, type);
            free_slots[nfree++] = s;
            inflight--;
        }
    }
    return n;
}

static void check_capacity(const struct hvm_start_info *si)
{
    uint32_t want;

    if (!cmdline_get_u32(si, "sectors", &want)) {
        guest_fail("virtio-blk: no sectors=N on the command line");
    }
    if (capacity != want) {
        guest_fail("virtio-blk: capacity %lu sectors, expected %u",
                   (unsigned long)capacity, want);
    }
    printf("virtio-blk: capacity %lu sectors\n", (unsigned long)capacity);
}

static void check_id(const struct hvm_start_info *si)
{
    static uint8_t id[VIRTIO_BLK_ID_BYTES + 1];
    char want[VIRTIO_BLK_ID_BYTES + 2];
    uint8_t st;

    if (!cmdline_get(si, "serial", want, sizeof(want))) {
        guest_fail("virtio-blk: no serial=S on the command line");
    }
    st = request(VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES);
    if (st != VIRTIO_BLK_S_OK) {
        guest_fail("virtio-blk: GET_ID status %u", st);
    }
    /* Shorter serials are NUL-padded; a 20-byte one has no NUL at all. */
    id[VIRTIO_BLK_ID_BYTES] = 0;
    if (strlen(want) > VIRTIO_BLK_ID_BYTES ||
        strncmp((const char *)id, want, VIRTIO_BLK_ID_BYTES)) {
        guest_fail("virtio-blk: GET_ID gave \"%s\", expected \"%s\"",
                   (const char *)id, want);
    }
    printf("virtio-blk: id \"%s\"\n", (const char *)id);
}

/* Requests the device must refuse, each with its own status. */
static void check_errors(void)
{
    /* @back: the first sector, counted back from the end of the disk. */
    static const struct { const char *what; uint32_t type; uint64_t back;
                          uint32_t len; uint8_t status; } bad[] = {
        { "read past the end", VIRTIO_BLK_T_IN, 0, SECTOR,
          VIRTIO_BLK_S_IOERR },
        { "write straddling the end", VIRTIO_BLK_T_OUT, 1, 2 * SECTOR,
          VIRTIO_BLK_S_IOERR },
        { "unknown request type", 0x70, 0, 0, VIRTIO_BLK_S_UNSUPP },
    };

    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        uint64_t sector = bad[i].len ? capacity - bad[i].back : 0;
        uint8_t st;

        st = request(bad[i].type, sector, pool, bad[i].len);
        if (st != bad[i].status) {
            guest_fail("virtio-blk: %s (sector %lu): status %u, expected %u",
                       bad[i].what, (unsigned long)sector, st, bad[i].status);
        }
        printf("virtio-blk: %s: status %u\n", bad[i].what, st);
    }
}

static void test_mode(const struct hvm_start_info *si)
{
    /* Odd sizes on purpose: requests end and start mid-page. */
    static const uint32_t wsizes[] = { 4096, 512, 65536, 3 * 512, 1 << 20,
                                       12288, 7 * 512 };
    static const uint32_t rsizes[] = { 65536 };
    static const uint32_t csizes[] = { 4096 };
    uint64_t bytes, bad;
    uint8_t *out = pool, *in = pool + TEST_MAX;
    unsigned n;
    uint8_t st;

    check_capacity(si);
    check_id(si);
    if (capacity > TEST_MAX / SECTOR) {
        guest_fail("virtio-blk: test disk of %lu sectors is over the %u "
                   "this test handles", (unsigned long)capacity,
                   TEST_MAX / SECTOR);
    }
    check_errors();
    bytes = capacity * SECTOR;

    n = io_region(VIRTIO_BLK_T_IN, 0, in, bytes, rsizes, 1, 8);
    bad = verify(in, 0, bytes, HOST_SEED);
    if (bad != UINT64_MAX) {
        guest_fail("virtio-blk: the host's pattern differs at byte %lu",
                   (unsigned long)bad);
    }
    printf("virtio-blk: read the host's pattern: %lu bytes in %u requests\n",
           (unsigned long)bytes, n);

    fill(out, 0, bytes, GUEST_SEED);
    n = io_region(VIRTIO_BLK_T_OUT, 0, out, bytes, wsizes,
                  ARRAY_SIZE(wsizes), 32);
    printf("virtio-blk: wrote %lu bytes in %u requests\n",
           (unsigned long)bytes, n);
    st = request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0);
    if (st != VIRTIO_BLK_S_OK) {
        guest_fail("virtio-blk: FLUSH status %u", st);
    }
    printf("virtio-blk: flush: status 0\n");

    memset(in, 0, bytes);
    n = io_region(VIRTIO_BLK_T_IN, 0, in, bytes, csizes, 1, 32);
    bad = verify(in, 0, bytes, GUEST_SEED);
    if (bad != UINT64_MAX) {
        guest_fail("virtio-blk: read back differs at byte %lu",
                   (unsigned long)bad);
    }
    printf("virtio-blk: read back %lu bytes in %u requests: match\n",
           (unsigned long)bytes, n);
    printf("virtio-blk: %lu kicks, %lu suppressed by the device\n",
           (unsigned long)vq.kicks, (unsigned long)vq.kicks_suppressed);
    debug_exit(BLK_EXIT);
}

struct workload {
    const char *name;
    bool random, write;
    uint32_t bs;
};

static const struct workload workloads[] = {
    { "randread", true, false, 4096 },
    { "randwrite", true, true, 4096 },
    { "read", false, false, 1 << 20 },
    { "write", false, true, 1 << 20 },
};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* The next offset, in units of the block size, within @span units. */
static uint64_t next_unit(const struct workload *w, uint64_t span,
                          uint64_t *seq)
{
    uint64_t u;

    if (w->random) {
        return rng() % span;
    }
    u = *seq;
    *seq = u + 1 == span ? 0 : u + 1;
    return u;
}

static void bench_report(const struct workload *w, unsigned qd, uint64_t ios,
                         uint64_t ticks)
{
    uint64_t us = ticks * 1000 / tsc_rate_khz;
    uint64_t kib = ios * (w->bs / 1024);

    if (!us) {
        us = 1;
    }
    uint64_t kick_ns = vq.kicks ? vq.kick_ticks * 1000000 / tsc_rate_khz /
                                  vq.kicks : 0;

    printf("bench: %s bs=%u qd=%u ios=%lu usecs=%lu iops=%lu "
           "kib_per_s=%lu kicks=%lu kick_ns=%lu\n", w->name, w->bs, qd,
           (unsigned long)ios, (unsigned long)us,
           (unsigned long)(ios * 1000000 / us),
           (unsigned long)(kib * 1000000 / us), (unsigned long)vq.kicks,
           (unsigned long)kick_ns);
}

/*
 * Keep @qd requests in flight for @secs seconds, resubmitting each slot
 * as it completes and kicking once per batch; then drain.
 */
static void bench_one(const struct workload *w, unsigned qd, uint32_t secs)
{
    uint32_t type = w->write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
    uint64_t span = capacity * SECTOR / w->bs, seq = 0, ios = 0;
    uint64_t start, end, last;
    unsigned inflight = 0;

    if (!span) {
        guest_fail("bench: the disk is smaller than one %u-byte block", w->bs);
    }
    if ((uint64_t)qd * w->bs > POOL_SIZE) {
        guest_fail("bench: qd=%u of %u bytes is over the %u-byte pool", qd,
                   w->bs, POOL_SIZE);
    }
    vq.kicks = vq.kicks_suppressed = vq.kick_ticks = 0;
    printf("bench: start %s\n", w->name);
    start = rdtsc();
    end = start + secs * ticks_per_sec();
    for (unsigned s = 0; s < qd; s++, inflight++) {
        submit(s, type, next_unit(w, span, &seq) * (w->bs / SECTOR),
               pool + (uint64_t)s * w->bs, w->bs);
    }
    virtq_kick(&vq);
    last = start;
    while (inflight) {
        bool resubmitted = false;

        for (int s = wait_reap(); s >= 0; s = reap()) {
            check_ok(s, type);
            ios++;
            inflight--;
            last = rdtsc();
            if (last < end) {
                submit(s, type, next_unit(w, span, &seq) * (w->bs / SECTOR),
                       pool + (uint64_t)s * w->bs, w->bs);
                inflight++;
                resubmitted = true;
            }
        }
        if (resubmitted) {
            virtq_kick(&vq);
        }
    }
    printf("bench: end %s\n", w->name);
    bench_report(w, qd, ios, last - start);
}

static void bench_mode(const struct hvm_start_info *si, const char *list)
{
    uint32_t secs = 5, qd = 32;
    const char *p = list;

    cmdline_get_u32(si, "secs", &secs);
    cmdline_get_u32(si, "qd", &qd);
    if (!secs || secs > 3600 || !qd || qd > nslots) {
        guest_fail("bench: secs=%u qd=%u: want 1-3600 s and 1-%u requests",
                   secs, qd, nslots);
    }
    tsc_rate_khz = tsc_khz();
    if (!tsc_rate_khz) {
        guest_fail("bench: PIT channel 2 never counted down: cannot time");
    }
    printf("bench: tsc_khz=%lu capacity=%lu\n", (unsigned long)tsc_rate_khz,
           (unsigned long)capacity);
    while (*p) {
        size_t len = 0;
        unsigned i;

        while (p[len] && p[len] != ',') {
            len++;
        }
        for (i = 0; i < ARRAY_SIZE(workloads); i++) {
            if (strlen(workloads[i].name) == len &&
                !strncmp(workloads[i].name, p, len)) {
                break;
            }
        }
        if (i == ARRAY_SIZE(workloads)) {
            guest_fail("bench: unknown workload in \"%s\"", list);
        }
        bench_one(&workloads[i], qd, secs);
        p += len + (p[len] == ',');
    }
    printf("bench: done\n");
    debug_exit(BLK_EXIT);
}

/*
 * "bar64=N": move the device's 64-bit BARs to N GiB and up, to exercise
 * mappings above 4 GiB where firmware put them below (SeaBIOS does).
 */
static void move_bars(const struct hvm_start_info *si, const struct pci_dev *d)
{
    uint32_t gib;
    uint64_t addr;

    if (!cmdline_get_u32(si, "bar64", &gib)) {
        return;
    }
    addr = (uint64_t)gib << 30;
    for (unsigned bar = 0; bar < 6; bar++) {
        uint32_t lo = pci_read32(d, 0x10 + bar * 4);

        if (!(lo & 1) && (lo & 6) == 4) {      /* 64-bit memory BAR */
            if (!pci_move_bar64(d, bar, addr)) {
                guest_fail("virtio-blk: cannot move BAR %u", bar);
            }
            printf("virtio-blk: moved BAR %u to %#lx\n", bar,
                   (unsigned long)addr);
            addr += 1ull << 30;
            bar++;                              /* its upper half */
        }
    }
}

static void blk_init(const struct hvm_start_info *si)
{
    static const uint16_t ids[] = { 0x1042, 0x1001, 0 };
    uint64_t want = 1ull << VIRTIO_BLK_F_FLUSH;
    struct pci_dev pci;

    if (!pci_find(PCI_VENDOR_ID_VIRTIO, ids, &pci)) {
        guest_fail("virtio-blk: no 1af4:1042 or 1af4:1001 on PCI bus 0");
    }
    printf("virtio-blk: %04x:%04x at %02x:%02x.%x\n", pci.vendor, pci.device,
           pci.bus, pci.slot, pci.func);
    move_bars(si, &pci);
    if (!virtio_pci_probe(&dev, &pci)) {
        guest_fail("virtio-blk: unusable device");
    }
    if (!virtio_negotiate(&dev, want, want)) {
        guest_fail("virtio-blk: feature negotiation failed");
    }
    if (!virtq_setup(&dev, &vq, 0, QUEUE_SIZE, ring_mem)) {
        virtio_set_failed(&dev);
        guest_fail("virtio-blk: queue set-up failed");
    }
    nslots = vq.size / 3 < MAX_SLOTS ? vq.size / 3 : MAX_SLOTS;
    if (!virtio_cfg_read64(&dev, offsetof(struct virtio_blk_config, capacity),
                           &capacity)) {
        guest_fail("virtio-blk: device configuration too small");
    }
    virtio_driver_ok(&dev);
    printf("virtio-blk: common config at %#lx, features %#lx, queue size %u, "
           "%u slots\n", (unsigned long)(uintptr_t)dev.common,
           (unsigned long)dev.features, vq.size, nslots);
}

void guest_main(const struct hvm_start_info *si)
{
    char list[64];

    check_start_info(si);
    blk_init(si);
    if (cmdline_get(si, "bench", list, sizeof(list))) {
        bench_mode(si, list);
    }
    test_mode(si);
}
