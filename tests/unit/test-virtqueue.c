/*
 * Split virtqueue core (hw/virtio/virtio.c) over a fake guest memory:
 * well-formed chains, the used ring, notification decisions, and a corpus
 * of hostile rings that must break the queue cleanly.
 */
#include "qemu/osdep.h"
#include "exec/memory.h"
#include "hw/virtio/virtio.h"
#include "capture.h"
#include <check.h>

/*
 * Guest memory: A and B are contiguous, C sits after a hole, D holds a
 * large indirect table.
 */
#define A_GPA 0x0ULL
#define B_GPA 0x10000ULL
#define C_GPA 0x100000ULL
#define D_GPA 0x1000000ULL
#define BLK_SIZE 0x10000ULL
#define D_SIZE 0x80000ULL

#define DESC_GPA 0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA 0x3000ULL
#define DATA_GPA 0x4000ULL
#define ITAB_GPA 0x8000ULL

static uint8_t *ram_a, *ram_b, *ram_c, *ram_d;
static VirtQueue vq;
static uint16_t avail_idx;
static unsigned broken_calls;

static void on_broken(VirtQueue *q, void *opaque)
{
    (void)q;
    (void)opaque;
    broken_calls++;
}

static void *hva(uint64_t gpa)
{
    return guest_ram_ptr(gpa, 0);
}

static void setup_queue(unsigned size, uint64_t features)
{
    virtqueue_init(&vq, "test vq", on_broken, NULL);
    ck_assert(virtqueue_set_size(&vq, size));
    virtqueue_set_features(&vq, features);
    ck_assert(virtqueue_set_addresses(&vq, DESC_GPA, AVAIL_GPA, USED_GPA));
    avail_idx = 0;
}

static void setup(void)
{
    ram_a = g_malloc0(BLK_SIZE);
    ram_b = g_malloc0(BLK_SIZE);
    ram_c = g_malloc0(BLK_SIZE);
    ram_d = g_malloc0(D_SIZE);
    guest_ram_add_block(A_GPA, BLK_SIZE, ram_a, "a");
    guest_ram_add_block(B_GPA, BLK_SIZE, ram_b, "b");
    guest_ram_add_block(C_GPA, BLK_SIZE, ram_c, "c");
    guest_ram_add_block(D_GPA, D_SIZE, ram_d, "d");
    broken_calls = 0;
    setup_queue(16, 0);
}

static void teardown(void)
{
    virtqueue_cleanup(&vq);
    guest_ram_reset_blocks();
    g_free(ram_a);
    g_free(ram_b);
    g_free(ram_c);
    g_free(ram_d);
}

static void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    struct vring_desc d = {
        .addr = htole64(addr), .len = htole32(len),
        .flags = htole16(flags), .next = htole16(next),
    };
    ck_assert(guest_mem_write(table + i * sizeof(d), &d, sizeof(d)));
}

static void set_avail_idx(uint16_t idx)
{
    struct vring_avail *a = hva(AVAIL_GPA);
    a->idx = htole16(idx);
}

static void make_avail(uint16_t head)
{
    struct vring_avail *a = hva(AVAIL_GPA);
    a->ring[avail_idx % vq.size] = htole16(head);
    avail_idx++;
    set_avail_idx(avail_idx);
}

static struct vring_used *used_ring(void)
{
    return hva(USED_GPA);
}

static bool iov_in_ram(const struct iovec *iov)
{
    const uint8_t *p = iov->iov_base;
    for (unsigned i = 0; i < guest_ram_num_blocks(); i++) {
        const RAMBlock *b = guest_ram_block(i);
        if (p >= b->hva && iov->iov_len <= b->size &&
            (uint64_t)(p - b->hva) <= b->size - iov->iov_len) {
            return true;
        }
    }
    return false;
}

/* The queue must refuse the next chain, break, say why once, stay broken. */
static void expect_broken(size_t max_in, size_t max_out, const char *why)
{
    char *out;

    capture_start();
    ck_assert_ptr_null(virtqueue_pop(&vq, max_in, max_out));
    ck_assert_ptr_null(virtqueue_pop(&vq, max_in, max_out));
    out = capture_end();
    ck_assert(virtqueue_is_broken(&vq));
    ck_assert_msg(strstr(virtqueue_broken_reason(&vq), why),
                  "reason '%s' lacks '%s'", virtqueue_broken_reason(&vq),
                  why);
    ck_assert_msg(strstr(out, "test vq: ") && strstr(out, why), "%s", out);
    ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
    ck_assert_uint_eq(broken_calls, 1);
    ck_assert(!virtqueue_has_work(&vq));
    free(out);
}

/* ---- configuration ---- */

START_TEST(test_config_validation)
{
    VirtQueue q;

    virtqueue_init(&q, "q", NULL, NULL);
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, AVAIL_GPA, USED_GPA));
    ck_assert(!virtqueue_set_size(&q, 0));
    ck_assert(!virtqueue_set_size(&q, 3));
    ck_assert(!virtqueue_set_size(&q, 65536));
    ck_assert(!virtqueue_set_size(&q, 32768 * 2));
    ck_assert(virtqueue_set_size(&q, 32768));
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, AVAIL_GPA, USED_GPA));
    ck_assert(virtqueue_set_size(&q, 4096));
    /* 64 KiB of descriptors fit only in D */
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, C_GPA, C_GPA + 0x4000));
    ck_assert(virtqueue_set_addresses(&q, D_GPA, C_GPA, C_GPA + 0x4000));
    ck_assert(virtqueue_is_ready(&q));
    ck_assert(virtqueue_set_size(&q, 16));
    ck_assert(!virtqueue_is_ready(&q));
    /* alignment */
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA + 8, AVAIL_GPA, USED_GPA));
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, AVAIL_GPA + 1, USED_GPA));
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, AVAIL_GPA, USED_GPA + 2));
    ck_assert(!virtqueue_is_ready(&q));
    /* outside RAM, in the hole, wrapping, across a block boundary */
    ck_assert(!virtqueue_set_addresses(&q, 0x200000, AVAIL_GPA, USED_GPA));
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, 0x50000, USED_GPA));
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, AVAIL_GPA,
                                       0xfffffffffffffff0ULL));
    ck_assert(!virtqueue_set_addresses(&q, 0xfffffffffffffff0ULL,
                                       AVAIL_GPA, USED_GPA));
    ck_assert(!virtqueue_set_addresses(&q, B_GPA - 0x80, AVAIL_GPA,
                                       USED_GPA));
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, AVAIL_GPA,
                                       C_GPA + BLK_SIZE - 0x80));
    /* the used ring with avail_event is 6 + 8 * 16 = 134 bytes */
    ck_assert(!virtqueue_set_addresses(&q, DESC_GPA, AVAIL_GPA,
                                       C_GPA + BLK_SIZE - 132));
    ck_assert(virtqueue_set_addresses(&q, DESC_GPA, AVAIL_GPA,
                                      C_GPA + BLK_SIZE - 136));
    ck_assert_ptr_null(virtqueue_pop(&q, 8, 8));
    virtqueue_cleanup(&q);
    ck_assert(!virtqueue_is_ready(&q));
    ck_assert_ptr_null(virtqueue_pop(&q, 8, 8));
}
END_TEST

/* ---- well-formed chains ---- */

START_TEST(test_direct_chain)
{
    VirtQueueElement *e;
    struct vring_used *u = used_ring();

    ck_assert(!virtqueue_has_work(&vq));
    ck_assert_ptr_null(virtqueue_pop(&vq, 8, 8));
    put_desc(DESC_GPA, 3, DATA_GPA, 16, VRING_DESC_F_NEXT, 7);
    put_desc(DESC_GPA, 7, DATA_GPA + 0x100, 32, VRING_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, DATA_GPA + 0x1000, 512, VRING_DESC_F_WRITE, 0);
    make_avail(3);
    ck_assert(virtqueue_has_work(&vq));
    e = virtqueue_pop(&vq, 8, 8);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->index, 3);
    ck_assert_uint_eq(e->out_num, 2);
    ck_assert_uint_eq(e->in_num, 1);
    ck_assert_ptr_eq(e->out_sg[0].iov_base, ram_a + DATA_GPA);
    ck_assert_uint_eq(e->out_sg[0].iov_len, 16);
    ck_assert_ptr_eq(e->out_sg[1].iov_base, ram_a + DATA_GPA + 0x100);
    ck_assert_uint_eq(e->out_sg[1].iov_len, 32);
    ck_assert_ptr_eq(e->in_sg[0].iov_base, ram_a + DATA_GPA + 0x1000);
    ck_assert_uint_eq(e->in_len, 512);
    ck_assert_uint_eq(e->out_len, 48);
    ck_assert_ptr_null(virtqueue_pop(&vq, 8, 8));

    virtqueue_push(&vq, e, 100);
    ck_assert_uint_eq(le16toh(u->idx), 1);
    ck_assert_uint_eq(le32toh(u->ring[0].id), 3);
    ck_assert_uint_eq(le32toh(u->ring[0].len), 100);
    virtqueue_element_free(e);
    ck_assert(!virtqueue_is_broken(&vq));
}
END_TEST

START_TEST(test_chain_of_queue_size)
{
    VirtQueueElement *e;

    for (unsigned i = 0; i < 16; i++) {
        put_desc(DESC_GPA, i, DATA_GPA + i * 16, 16,
                 (i < 8 ? 0 : VRING_DESC_F_WRITE) |
                 (i < 15 ? VRING_DESC_F_NEXT : 0), i + 1);
    }
    make_avail(0);
    e = virtqueue_pop(&vq, 8, 8);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->out_num, 8);
    ck_assert_uint_eq(e->in_num, 8);
    virtqueue_element_free(e);
}
END_TEST

START_TEST(test_indirect_chain)
{
    VirtQueueElement *e;

    setup_queue(16, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    put_desc(ITAB_GPA, 0, DATA_GPA, 16, VRING_DESC_F_NEXT, 2);
    put_desc(ITAB_GPA, 2, DATA_GPA + 0x10, 0x2000,
             VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    put_desc(ITAB_GPA, 1, C_GPA, 1, VRING_DESC_F_WRITE, 0);
    /* the WRITE flag on the table descriptor is ignored */
    put_desc(DESC_GPA, 5, ITAB_GPA, 3 * 16,
             VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
    make_avail(5);
    e = virtqueue_pop(&vq, 8, 8);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->index, 5);
    ck_assert_uint_eq(e->out_num, 1);
    ck_assert_uint_eq(e->in_num, 2);
    ck_assert_ptr_eq(e->in_sg[1].iov_base, ram_c);
    ck_assert_uint_eq(e->in_len, 0x2001);
    virtqueue_push(&vq, e, 0x2001);
    ck_assert_uint_eq(le32toh(used_ring()->ring[0].id), 5);
    virtqueue_element_free(e);

    /* a table may be longer than the queue (Linux does this) */
    for (unsigned i = 0; i < 40; i++) {
        put_desc(ITAB_GPA, i, DATA_GPA, 8, i < 39 ? VRING_DESC_F_NEXT : 0,
                 i + 1);
    }
    put_desc(DESC_GPA, 6, ITAB_GPA, 40 * 16, VRING_DESC_F_INDIRECT, 0);
    make_avail(6);
    e = virtqueue_pop(&vq, 0, 64);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->out_num, 40);
    virtqueue_element_free(e);
}
END_TEST

START_TEST(test_cross_block_split)
{
    VirtQueueElement *e;

    put_desc(DESC_GPA, 0, B_GPA - 0x100, 0x300, VRING_DESC_F_WRITE, 0);
    make_avail(0);
    e = virtqueue_pop(&vq, 8, 8);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->in_num, 2);
    ck_assert_ptr_eq(e->in_sg[0].iov_base, ram_a + BLK_SIZE - 0x100);
    ck_assert_uint_eq(e->in_sg[0].iov_len, 0x100);
    ck_assert_ptr_eq(e->in_sg[1].iov_base, ram_b);
    ck_assert_uint_eq(e->in_sg[1].iov_len, 0x200);
    ck_assert_uint_eq(e->in_len, 0x300);
    virtqueue_element_free(e);
    /* the split counts against max_in */
    make_avail(0);
    expect_broken(1, 8, "too many buffers");
}
END_TEST

START_TEST(test_index_wrap)
{
    struct vring_used *u = used_ring();

    setup_queue(4, 0);
    vq.last_avail_idx = vq.shadow_avail_idx = 65530;
    vq.used_idx = 65530;
    avail_idx = 65530;
    put_desc(DESC_GPA, 2, DATA_GPA, 4, 0, 0);
    for (unsigned round = 0; round < 12; round++) {
        VirtQueueElement *e;
        make_avail(2);
        e = virtqueue_pop(&vq, 1, 1);
        ck_assert_ptr_nonnull(e);
        virtqueue_push(&vq, e, round);
        ck_assert_uint_eq(le16toh(u->idx), (uint16_t)(65531 + round));
        ck_assert_uint_eq(le32toh(u->ring[(65530 + round) % 4].len), round);
        virtqueue_element_free(e);
    }
    ck_assert_uint_eq(vq.last_avail_idx, (uint16_t)(65530 + 12));
    /* a full ring at once, across the wrap */
    for (unsigned i = 0; i < 4; i++) {
        make_avail(2);
    }
    for (unsigned i = 0; i < 4; i++) {
        VirtQueueElement *e = virtqueue_pop(&vq, 1, 1);
        ck_assert_ptr_nonnull(e);
        virtqueue_element_free(e);
    }
    ck_assert_ptr_null(virtqueue_pop(&vq, 1, 1));
    ck_assert(!virtqueue_is_broken(&vq));
}
END_TEST

/* ---- notifications ---- */

static void pop_push(void)
{
    VirtQueueElement *e = virtqueue_pop(&vq, 1, 1);
    ck_assert_ptr_nonnull(e);
    virtqueue_push(&vq, e, 0);
    virtqueue_element_free(e);
}

START_TEST(test_notify_flags)
{
    struct vring_avail *a = hva(AVAIL_GPA);
    struct vring_used *u = used_ring();

    put_desc(DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    make_avail(0);
    pop_push();
    ck_assert(virtqueue_should_notify(&vq));
    a->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
    ck_assert(!virtqueue_should_notify(&vq));
    a->flags = 0;
    ck_assert(virtqueue_should_notify(&vq));

    virtqueue_set_notification(&vq, false);
    ck_assert_uint_eq(le16toh(u->flags), VRING_USED_F_NO_NOTIFY);
    virtqueue_set_notification(&vq, true);
    ck_assert_uint_eq(le16toh(u->flags), 0);
}
END_TEST

START_TEST(test_notify_event_idx)
{
    struct vring_avail *a = hva(AVAIL_GPA);
    uint16_t *used_event = (uint16_t *)&a->ring[16];
    uint16_t *avail_event = (uint16_t *)&used_ring()->ring[16];

    setup_queue(16, 1ULL << VIRTIO_RING_F_EVENT_IDX);
    put_desc(DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    for (unsigned i = 0; i < 5; i++) {
        make_avail(0);
    }
    /* the flag is ignored with event-idx */
    a->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
    pop_push();                          /* used 1 */
    ck_assert_uint_eq(le16toh(*avail_event), 1);
    ck_assert(virtqueue_should_notify(&vq));   /* first time: always */
    *used_event = htole16(1);
    pop_push();                          /* used 2: crosses event 1 */
    ck_assert(virtqueue_should_notify(&vq));
    pop_push();                          /* used 3: 1 already passed */
    ck_assert(!virtqueue_should_notify(&vq));
    *used_event = htole16(4);
    pop_push();                          /* used 4: event 4 not reached */
    ck_assert(!virtqueue_should_notify(&vq));
    pop_push();                          /* used 5: crosses event 4 */
    ck_assert(virtqueue_should_notify(&vq));
    ck_assert(!virtqueue_should_notify(&vq));  /* nothing new */
    ck_assert_uint_eq(le16toh(*avail_event), 5);

    /* disabling leaves avail_event alone; pops no longer move it */
    virtqueue_set_notification(&vq, false);
    make_avail(0);
    pop_push();
    ck_assert_uint_eq(le16toh(*avail_event), 5);
    ck_assert_uint_eq(le16toh(used_ring()->flags), 0);
    virtqueue_set_notification(&vq, true);
    ck_assert_uint_eq(le16toh(*avail_event), 6);
}
END_TEST

/* ---- hostile rings ---- */

START_TEST(test_loop_two)
{
    put_desc(DESC_GPA, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, DATA_GPA, 4, VRING_DESC_F_NEXT, 0);
    make_avail(0);
    expect_broken(1000, 1000, "looped");
}
END_TEST

START_TEST(test_self_loop)
{
    put_desc(DESC_GPA, 9, DATA_GPA, 4, VRING_DESC_F_NEXT, 9);
    make_avail(9);
    expect_broken(1000, 1000, "looped");
}
END_TEST

START_TEST(test_indirect_loop)
{
    setup_queue(16, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    put_desc(ITAB_GPA, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 1);
    put_desc(ITAB_GPA, 1, DATA_GPA, 4, VRING_DESC_F_NEXT, 0);
    put_desc(DESC_GPA, 0, ITAB_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    expect_broken(1000, 1000, "looped");
}
END_TEST

START_TEST(test_next_out_of_range)
{
    put_desc(DESC_GPA, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 16);
    make_avail(0);
    expect_broken(8, 8, "next index 16 out of range");
}
END_TEST

START_TEST(test_indirect_next_out_of_range)
{
    setup_queue(16, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    put_desc(ITAB_GPA, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 2);
    put_desc(DESC_GPA, 0, ITAB_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    expect_broken(8, 8, "next index 2 out of range (2 descriptors)");
}
END_TEST

static const struct {
    uint64_t addr;
    uint32_t len;
    const char *why;
} bad_buffers[] = {
    { 0xfffffffffffffff0ULL, 0x100, "wraps" },
    { 0xffffffffffffff00ULL, 0x100, "outside guest RAM" },
    { 0xffffffffffffffffULL, 1, "outside guest RAM" },
    { 0x200000, 16, "outside guest RAM" },
    { DATA_GPA, 0, "zero-sized" },
    { DATA_GPA, 0xffffffff, "outside guest RAM" },
    { 0, 0xffffffff, "outside guest RAM" },
    { B_GPA + BLK_SIZE - 0x100, 0x200, "outside guest RAM" },
    { C_GPA + BLK_SIZE - 1, 2, "outside guest RAM" },
    { C_GPA - 1, 2, "outside guest RAM" },
};

START_TEST(test_bad_buffer)
{
    put_desc(DESC_GPA, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 4);
    put_desc(DESC_GPA, 4, bad_buffers[_i].addr, bad_buffers[_i].len,
             VRING_DESC_F_WRITE, 0);
    make_avail(0);
    expect_broken(8, 8, bad_buffers[_i].why);
}
END_TEST

START_TEST(test_indirect_in_indirect)
{
    setup_queue(16, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    put_desc(ITAB_GPA, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 1);
    put_desc(ITAB_GPA, 1, ITAB_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
    put_desc(DESC_GPA, 0, ITAB_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    expect_broken(8, 8, "indirect descriptor inside an indirect table");
}
END_TEST

static const struct {
    uint64_t addr;
    uint32_t len;
    const char *why;
} bad_tables[] = {
    { ITAB_GPA, 0, "invalid indirect table size 0" },
    { ITAB_GPA, 17, "invalid indirect table size 17" },
    { ITAB_GPA, 8, "invalid indirect table size 8" },
    { ITAB_GPA, 0xfffffff0, "invalid indirect table size" },
    { D_GPA, (VIRTQUEUE_MAX_SIZE + 1) * 16, "invalid indirect table size" },
    { 0x200000, 32, "outside RAM" },
    { B_GPA - 16, 32, "outside RAM" },
    { 0xfffffffffffffff0ULL, 32, "outside RAM" },
};

START_TEST(test_bad_indirect_table)
{
    setup_queue(16, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    put_desc(DESC_GPA, 0, bad_tables[_i].addr, bad_tables[_i].len,
             VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    expect_broken(8, 8, bad_tables[_i].why);
}
END_TEST

START_TEST(test_indirect_without_feature)
{
    put_desc(ITAB_GPA, 0, DATA_GPA, 4, 0, 0);
    put_desc(DESC_GPA, 0, ITAB_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    expect_broken(8, 8, "without the feature");
}
END_TEST

START_TEST(test_indirect_with_next)
{
    setup_queue(16, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    put_desc(ITAB_GPA, 0, DATA_GPA, 4, 0, 0);
    put_desc(DESC_GPA, 0, ITAB_GPA, 16,
             VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, DATA_GPA, 4, 0, 0);
    make_avail(0);
    expect_broken(8, 8, "indirect descriptor with NEXT");
}
END_TEST

START_TEST(test_indirect_not_head)
{
    setup_queue(16, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    put_desc(ITAB_GPA, 0, DATA_GPA, 4, 0, 0);
    put_desc(DESC_GPA, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, ITAB_GPA, 16, VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    expect_broken(8, 8, "not at the head");
}
END_TEST

START_TEST(test_avail_jump)
{
    put_desc(DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    set_avail_idx(16);      /* a full ring is fine */
    for (unsigned i = 0; i < 16; i++) {
        VirtQueueElement *e = virtqueue_pop(&vq, 1, 1);
        ck_assert_ptr_nonnull(e);
        virtqueue_element_free(e);
    }
    set_avail_idx(16 + 17);
    expect_broken(1, 1, "guest moved avail index from 16 to 33");
}
END_TEST

START_TEST(test_avail_backwards)
{
    set_avail_idx(0xffff);  /* "behind" by one: a jump of 65535 */
    expect_broken(1, 1, "guest moved avail index");
}
END_TEST

START_TEST(test_head_out_of_range)
{
    make_avail(16);
    expect_broken(8, 8, "head index 16 out of range");
}
END_TEST

START_TEST(test_head_huge)
{
    make_avail(0xffff);
    expect_broken(8, 8, "head index 65535 out of range");
}
END_TEST

START_TEST(test_write_then_read)
{
    put_desc(DESC_GPA, 0, DATA_GPA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
             1);
    put_desc(DESC_GPA, 1, DATA_GPA, 4, 0, 0);
    make_avail(0);
    expect_broken(8, 8, "device-readable descriptor after a device-writable");
}
END_TEST

START_TEST(test_too_many_out)
{
    put_desc(DESC_GPA, 0, DATA_GPA, 4, VRING_DESC_F_NEXT, 1);
    put_desc(DESC_GPA, 1, DATA_GPA, 4, VRING_DESC_F_NEXT, 2);
    put_desc(DESC_GPA, 2, DATA_GPA, 4, 0, 0);
    make_avail(0);
    expect_broken(8, 2, "too many buffers");
}
END_TEST

START_TEST(test_total_over_4g)
{
    /* 32768 entries of 128 KiB (A and B, two iovecs each) = 4 GiB */
    uint32_t n = VIRTQUEUE_MAX_SIZE;

    setup_queue(16, 1ULL << VIRTIO_RING_F_INDIRECT_DESC);
    for (uint32_t i = 0; i < n; i++) {
        put_desc(D_GPA, i, A_GPA, 2 * BLK_SIZE,
                 i + 1 < n ? VRING_DESC_F_NEXT : 0, i + 1);
    }
    put_desc(DESC_GPA, 0, D_GPA, n * 16, VRING_DESC_F_INDIRECT, 0);
    make_avail(0);
    expect_broken(0, 2 * n, "longer than 4 GiB");
}
END_TEST

START_TEST(test_broken_until_reset)
{
    VirtQueueElement *e;

    make_avail(16);
    expect_broken(8, 8, "head index");
    /* fixing the ring does not help: the driver must reset */
    put_desc(DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    make_avail(0);
    ck_assert_ptr_null(virtqueue_pop(&vq, 8, 8));
    ck_assert_uint_eq(broken_calls, 1);

    virtqueue_reset(&vq);
    ck_assert(!virtqueue_is_broken(&vq));
    ck_assert_ptr_null(virtqueue_broken_reason(&vq));
    ck_assert_ptr_null(virtqueue_pop(&vq, 8, 8));   /* not ready */
    ck_assert(virtqueue_set_addresses(&vq, DESC_GPA, AVAIL_GPA, USED_GPA));
    memset(ram_a + AVAIL_GPA, 0, 0x1000);
    avail_idx = 0;
    make_avail(0);
    e = virtqueue_pop(&vq, 8, 8);
    ck_assert_ptr_nonnull(e);
    virtqueue_element_free(e);
}
END_TEST

/* ---- randomized ---- */

static uint64_t random_addr(GRand *r)
{
    static const uint64_t bases[] = {
        A_GPA, B_GPA, C_GPA, D_GPA, B_GPA + BLK_SIZE, C_GPA + BLK_SIZE,
        D_GPA + D_SIZE, 0, UINT64_MAX,
    };
    switch (g_rand_int_range(r, 0, 4)) {
    case 0:
        return ((uint64_t)g_rand_int(r) << 32) | g_rand_int(r);
    case 1:
        return bases[g_rand_int_range(r, 0, ARRAY_SIZE(bases))] +
               (int64_t)g_rand_int_range(r, -64, 64);
    default:
        return bases[g_rand_int_range(r, 0, 4)] +
               g_rand_int_range(r, 0, BLK_SIZE);
    }
}

static uint32_t random_len(GRand *r)
{
    switch (g_rand_int_range(r, 0, 5)) {
    case 0:
        return g_rand_int(r);
    case 1:
        return g_rand_int_range(r, 0, 2) ? 0 : 0xffffffff;
    default:
        return g_rand_int_range(r, 0, 0x3000);
    }
}

static void random_table(GRand *r, uint64_t gpa, unsigned n, unsigned size)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t flags = g_rand_int_range(r, 0, 8);
        uint64_t addr = random_addr(r);
        uint32_t len = random_len(r);

        if (g_rand_int_range(r, 0, 4) == 0) {
            flags |= g_rand_int(r) & 0xfff8;
        }
        if ((flags & VRING_DESC_F_INDIRECT) && g_rand_int_range(r, 0, 2)) {
            addr = ITAB_GPA + 16 * g_rand_int_range(r, 0, 64);
            len = 16 * g_rand_int_range(r, 0, 64) +
                  (g_rand_int_range(r, 0, 4) ? 0 : g_rand_int_range(r, 0, 16));
        }
        put_desc(gpa, i, addr, len, flags,
                 g_rand_int_range(r, 0, 4)
                 ? (uint32_t)g_rand_int_range(r, 0, size + 2)
                 : g_rand_int(r) & 0xffff);
    }
}

START_TEST(test_random_rings)
{
    GRand *r = g_rand_new_with_seed(20240601);
    unsigned popped = 0, broke = 0;
    char *out;

    capture_start();
    for (unsigned iter = 0; iter < 5000; iter++) {
        unsigned size = 1u << g_rand_int_range(r, 0, 9);
        struct vring_avail *a = hva(AVAIL_GPA);
        uint16_t start = g_rand_int(r);
        uint16_t advance;

        virtqueue_cleanup(&vq);
        virtqueue_init(&vq, "test vq", NULL, NULL);
        ck_assert(virtqueue_set_size(&vq, size));
        virtqueue_set_features(&vq, g_rand_int(r) & 0x30000000);
        ck_assert(virtqueue_set_addresses(&vq, DESC_GPA, AVAIL_GPA,
                                          USED_GPA));
        vq.last_avail_idx = vq.shadow_avail_idx = vq.used_idx = start;
        random_table(r, DESC_GPA, size, size);
        random_table(r, ITAB_GPA, 64, size);
        for (unsigned i = 0; i < size; i++) {
            a->ring[i] = htole16(g_rand_int_range(r, 0, 8) ?
                                 (uint32_t)g_rand_int_range(r, 0, size) :
                                 g_rand_int(r) & 0xffff);
        }
        advance = g_rand_int_range(r, 0, 8)
                  ? (uint32_t)g_rand_int_range(r, 0, size + 1)
                  : g_rand_int(r) & 0xffff;
        a->idx = htole16(start + advance);
        for (unsigned n = 0; n <= size + 1; n++) {
            VirtQueueElement *e = virtqueue_pop(&vq, 64, 64);
            if (!e) {
                break;
            }
            popped++;
            ck_assert_uint_lt(e->index, size);
            for (unsigned k = 0; k < e->in_num; k++) {
                ck_assert(iov_in_ram(&e->in_sg[k]));
            }
            for (unsigned k = 0; k < e->out_num; k++) {
                ck_assert(iov_in_ram(&e->out_sg[k]));
            }
            ck_assert_uint_le((uint64_t)e->in_len + e->out_len, UINT32_MAX);
            virtqueue_push(&vq, e, e->in_len);
            virtqueue_should_notify(&vq);
            virtqueue_element_free(e);
        }
        broke += virtqueue_is_broken(&vq);
    }
    out = capture_end();
    free(out);
    g_rand_free(r);
    /* the generator must exercise both outcomes */
    ck_assert_uint_gt(popped, 100);
    ck_assert_uint_gt(broke, 100);
}
END_TEST

static Suite *virtqueue_suite(void)
{
    Suite *s = suite_create("virtqueue");
    TCase *tc = tcase_create("wellformed");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_config_validation);
    tcase_add_test(tc, test_direct_chain);
    tcase_add_test(tc, test_chain_of_queue_size);
    tcase_add_test(tc, test_indirect_chain);
    tcase_add_test(tc, test_cross_block_split);
    tcase_add_test(tc, test_index_wrap);
    tcase_add_test(tc, test_notify_flags);
    tcase_add_test(tc, test_notify_event_idx);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_loop_two);
    tcase_add_test(tc, test_self_loop);
    tcase_add_test(tc, test_indirect_loop);
    tcase_add_test(tc, test_next_out_of_range);
    tcase_add_test(tc, test_indirect_next_out_of_range);
    tcase_add_loop_test(tc, test_bad_buffer, 0, ARRAY_SIZE(bad_buffers));
    tcase_add_test(tc, test_indirect_in_indirect);
    tcase_add_loop_test(tc, test_bad_indirect_table, 0,
                        ARRAY_SIZE(bad_tables));
    tcase_add_test(tc, test_indirect_without_feature);
    tcase_add_test(tc, test_indirect_with_next);
    tcase_add_test(tc, test_indirect_not_head);
    tcase_add_test(tc, test_avail_jump);
    tcase_add_test(tc, test_avail_backwards);
    tcase_add_test(tc, test_head_out_of_range);
    tcase_add_test(tc, test_head_huge);
    tcase_add_test(tc, test_write_then_read);
    tcase_add_test(tc, test_too_many_out);
    tcase_add_test(tc, test_total_over_4g);
    tcase_add_test(tc, test_broken_until_reset);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_random_rings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(virtqueue_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
