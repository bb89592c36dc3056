/*
 * A small AML and ACPI table builder (see include/hw/acpi/aml-build.h).
 */
#include "qemu/osdep.h"
#include "hw/acpi/aml-build.h"

/* AML opcodes (ACPI 6.x, section 20.3) */
#define AML_ZERO_OP          0x00
#define AML_ONE_OP           0x01
#define AML_NAME_OP          0x08
#define AML_BYTE_PREFIX      0x0a
#define AML_WORD_PREFIX      0x0b
#define AML_DWORD_PREFIX     0x0c
#define AML_STRING_PREFIX    0x0d
#define AML_QWORD_PREFIX     0x0e
#define AML_SCOPE_OP         0x10
#define AML_BUFFER_OP        0x11
#define AML_PACKAGE_OP       0x12
#define AML_METHOD_OP        0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX    0x5b
#define AML_DEVICE_OP        0x82   /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR        '\\'
#define AML_PARENT_CHAR      '^'
#define AML_RETURN_OP        0xa4
#define AML_ONES_OP          0xff

/* Resource descriptor tags (section 6.4) */
#define RES_IRQ_NO_FLAGS     0x22   /* small, type 4, 2 bytes */
#define RES_IO               0x47   /* small, type 8, 7 bytes */
#define RES_END_TAG          0x79   /* small, type 0xf, 1 byte */
#define RES_MEMORY32_FIXED   0x86   /* large, type 6 */
#define RES_DWORD_ADDRESS    0x87   /* large, type 7 */
#define RES_WORD_ADDRESS     0x88   /* large, type 8 */
#define RES_EXT_INTERRUPT    0x89   /* large, type 9 */
#define RES_QWORD_ADDRESS    0x8a   /* large, type 0xa */

/* Address space descriptors: resource type and general flags (6.4.3.5) */
#define ADDR_SPACE_MEMORY    0
#define ADDR_SPACE_IO        1
#define ADDR_SPACE_BUS       2
/* ResourceProducer, PosDecode, MinFixed, MaxFixed */
#define ADDR_GFLAGS_WINDOW   ((1 << 2) | (1 << 3))
#define ADDR_IO_ENTIRE_RANGE 3
#define ADDR_MEM_RW          1
#define ADDR_MEM_CACHEABLE   (1 << 1)

typedef enum AmlKind {
    AML_PLAIN,          /* bytes are final */
    AML_BLOCK,          /* op PkgLength head body */
    AML_BUFFER,         /* BufferOp PkgLength BufferSize body */
    AML_RES_TEMPLATE,   /* a Buffer of descriptors, EndTag added on close */
} AmlKind;

struct Aml {
    AmlKind kind;
    uint8_t op[2];
    unsigned op_len;
    GByteArray *head;   /* fixed part after PkgLength: name, flags, count */
    GByteArray *body;
    bool counts_elements;   /* Package: head[last] counts appended terms */
};

static Aml *aml_alloc(AmlKind kind)
{
    Aml *aml = g_new0(Aml, 1);

    aml->kind = kind;
    aml->head = g_byte_array_new();
    aml->body = g_byte_array_new();
    return aml;
}

Aml *aml_new(void)
{
    return aml_alloc(AML_PLAIN);
}

void aml_free(Aml *aml)
{
    if (aml) {
        g_byte_array_unref(aml->head);
        g_byte_array_unref(aml->body);
        g_free(aml);
    }
}

const uint8_t *aml_data(const Aml *aml)
{
    g_assert(aml->kind == AML_PLAIN);
    return aml->body->data;
}

size_t aml_len(const Aml *aml)
{
    g_assert(aml->kind == AML_PLAIN);
    return aml->body->len;
}

static void put_byte(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void put_le(GByteArray *b, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++) {
        put_byte(b, v >> (8 * i));
    }
}

/*
 * PkgLength counts its own bytes too.  One byte holds up to 63; longer
 * forms put the byte count in bits 7:6 of the lead byte, the low nibble
 * of the length in bits 3:0, and the rest in following bytes.
 */
static void put_pkg_length(GByteArray *b, size_t payload)
{
    size_t total;
    unsigned extra;

    if (payload + 1 <= 0x3f) {
        put_byte(b, payload + 1);
        return;
    }
    for (extra = 1; extra <= 3; extra++) {
        total = payload + 1 + extra;
        if (total < (1u << (4 + 8 * extra))) {
            break;
        }
    }
    g_assert(extra <= 3);
    put_byte(b, (extra << 6) | (total & 0xf));
    for (unsigned i = 0; i < extra; i++) {
        put_byte(b, total >> (4 + 8 * i));
    }
}

static void put_int(GByteArray *b, uint64_t v)
{
    if (v == 0) {
        put_byte(b, AML_ZERO_OP);
    } else if (v == 1) {
        put_byte(b, AML_ONE_OP);
    } else if (v == UINT64_MAX) {
        put_byte(b, AML_ONES_OP);
    } else if (v <= UINT8_MAX) {
        put_byte(b, AML_BYTE_PREFIX);
        put_le(b, v, 1);
    } else if (v <= UINT16_MAX) {
        put_byte(b, AML_WORD_PREFIX);
        put_le(b, v, 2);
    } else if (v <= UINT32_MAX) {
        put_byte(b, AML_DWORD_PREFIX);
        put_le(b, v, 4);
    } else {
        put_byte(b, AML_QWORD_PREFIX);
        put_le(b, v, 8);
    }
}

static bool name_char_ok(char c, bool lead)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (!lead && c >= '0' && c <= '9');
}

/* NameSeg: 1-4 characters, padded with '_' as ASL does. */
static void put_name_seg(GByteArray *b, const char *seg, size_t len)
{
    g_assert(len >= 1 && len <= 4);
    for (size_t i = 0; i < 4; i++) {
        char c = i < len ? seg[i] : '_';
        g_assert(name_char_ok(c, i == 0));
        put_byte(b, c);
    }
}

static void put_name_string(GByteArray *b, const char *name)
{
    g_auto(GStrv) segs = NULL;
    unsigned n;

    if (*name == AML_ROOT_CHAR) {
        put_byte(b, *name++);
    } else {
        while (*name == AML_PARENT_CHAR) {
            put_byte(b, *name++);
        }
    }
    if (*name == '\0') {
        put_byte(b, 0);      /* NullName: "\" alone names the root */
        return;
    }
    segs = g_strsplit(name, ".", -1);
    n = g_strv_length(segs);
    if (n == 2) {
        put_byte(b, AML_DUAL_NAME_PREFIX);
    } else if (n > 2) {
        g_assert(n <= 255);
        put_byte(b, AML_MULTI_NAME_PREFIX);
        put_byte(b, n);
    }
    for (unsigned i = 0; i < n; i++) {
        put_name_seg(b, segs[i], strlen(segs[i]));
    }
}

/* Encode @aml (a finished node) at the end of @out. */
static void aml_encode(const Aml *aml, GByteArray *out)
{
    GByteArray *size;

    switch (aml->kind) {
    case AML_PLAIN:
        g_byte_array_append(out, aml->body->data, aml->body->len);
        break;
    case AML_BLOCK:
        g_byte_array_append(out, aml->op, aml->op_len);
        put_pkg_length(out, aml->head->len + aml->body->len);
        g_byte_array_append(out, aml->head->data, aml->head->len);
        g_byte_array_append(out, aml->body->data, aml->body->len);
        break;
    case AML_BUFFER:
    case AML_RES_TEMPLATE:
        /* The EndTag was added to the body when the template closed. */
        size = g_byte_array_new();
        put_int(size, aml->body->len);
        put_byte(out, AML_BUFFER_OP);
        put_pkg_length(out, size->len + aml->body->len);
        g_byte_array_append(out, size->data, size->len);
        g_byte_array_append(out, aml->body->data, aml->body->len);
        g_byte_array_unref(size);
        break;
    }
}

void aml_append(Aml *parent, Aml *child)
{
    g_assert(parent->kind != AML_BUFFER);
    if (child->kind == AML_RES_TEMPLATE) {
        /* Checksum 0 tells the OS not to verify the template. */
        put_byte(child->body, RES_END_TAG);
        put_byte(child->body, 0);
    }
    aml_encode(child, parent->body);
    if (parent->counts_elements) {
        uint8_t *count = &parent->head->data[parent->head->len - 1];

        g_assert(*count < UINT8_MAX);
        (*count)++;
    }
    aml_free(child);
}

static Aml *aml_plain(void)
{
    return aml_alloc(AML_PLAIN);
}

static Aml *aml_block(uint8_t op)
{
    Aml *aml = aml_alloc(AML_BLOCK);

    aml->op[0] = op;
    aml->op_len = 1;
    return aml;
}

Aml *aml_int(uint64_t val)
{
    Aml *aml = aml_plain();

    put_int(aml->body, val);
    return aml;
}

Aml *aml_string(const char *str)
{
    Aml *aml = aml_plain();

    put_byte(aml->body, AML_STRING_PREFIX);
    g_byte_array_append(aml->body, (const uint8_t *)str, strlen(str) + 1);
    return aml;
}

static unsigned hex_digit(char c)
{
    g_assert(g_ascii_isxdigit(c));
    return g_ascii_xdigit_value(c);
}

/*
 * EISA ids pack three letters in 5 bits each ('A' = 1) and four hex
 * digits into 32 bits, stored most significant byte first.
 */
Aml *aml_eisaid(const char *id)
{
    uint32_t v = 0;

    g_assert(strlen(id) == 7);
    for (int i = 0; i < 3; i++) {
        g_assert(id[i] >= 'A' && id[i] <= 'Z');
        v |= (uint32_t)(id[i] - 'A' + 1) << (26 - 5 * i);
    }
    for (int i = 3; i < 7; i++) {
        v |= hex_digit(id[i]) << (4 * (6 - i));
    }
    return aml_int(GUINT32_SWAP_LE_BE(v));
}

Aml *aml_package(void)
{
    Aml *aml = aml_block(AML_PACKAGE_OP);

    put_byte(aml->head, 0);     /* NumElements, counted by aml_append() */
    aml->counts_elements = true;
    return aml;
}

Aml *aml_buffer(const uint8_t *data, size_t len)
{
    Aml *aml = aml_alloc(AML_BUFFER);

    g_byte_array_append(aml->body, data, len);
    return aml;
}

Aml *aml_name(const char *name)
{
    Aml *aml = aml_plain();

    put_name_string(aml->body, name);
    return aml;
}

Aml *aml_name_decl(const char *name, Aml *value)
{
    Aml *aml = aml_plain();

    put_byte(aml->body, AML_NAME_OP);
    put_name_string(aml->body, name);
    aml_append(aml, value);
    return aml;
}

Aml *aml_scope(const char *name)
{
    Aml *aml = aml_block(AML_SCOPE_OP);

    put_name_string(aml->head, name);
    return aml;
}

Aml *aml_device(const char *name)
{
    Aml *aml = aml_block(AML_EXT_OP_PREFIX);

    aml->op[1] = AML_DEVICE_OP;
    aml->op_len = 2;
    put_name_string(aml->head, name);
    return aml;
}

Aml *aml_method(const char *name, unsigned nargs, bool serialized)
{
    Aml *aml = aml_block(AML_METHOD_OP);

    g_assert(nargs <= 7);
    put_name_string(aml->head, name);
    /* MethodFlags: ArgCount in bits 2:0, SerializeFlag in bit 3. */
    put_byte(aml->head, nargs | (serialized ? 1 << 3 : 0));
    return aml;
}

Aml *aml_return(Aml *value)
{
    Aml *aml = aml_plain();

    put_byte(aml->body, AML_RETURN_OP);
    aml_append(aml, value);
    return aml;
}

Aml *aml_resource_template(void)
{
    return aml_alloc(AML_RES_TEMPLATE);
}

Aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    Aml *aml = aml_plain();

    put_byte(aml->body, RES_IO);
    put_byte(aml->body, 1);         /* decodes 16 address bits */
    put_le(aml->body, min, 2);
    put_le(aml->body, max, 2);
    put_byte(aml->body, align);
    put_byte(aml->body, len);
    return aml;
}

Aml *aml_irq_no_flags(uint8_t irq)
{
    Aml *aml = aml_plain();

    g_assert(irq < 16);
    put_byte(aml->body, RES_IRQ_NO_FLAGS);
    put_le(aml->body, 1u << irq, 2);
    return aml;
}

Aml *aml_interrupt(AmlInterruptFlags flags, uint32_t gsi)
{
    Aml *aml = aml_plain();

    put_byte(aml->body, RES_EXT_INTERRUPT);
    put_le(aml->body, 6, 2);        /* flags, count, one DWord */
    put_byte(aml->body, flags | 1); /* bit 0: ResourceConsumer */
    put_byte(aml->body, 1);
    put_le(aml->body, gsi, 4);
    return aml;
}

Aml *aml_memory32_fixed(uint32_t base, uint32_t size, bool read_write)
{
    Aml *aml = aml_plain();

    put_byte(aml->body, RES_MEMORY32_FIXED);
    put_le(aml->body, 9, 2);
    put_byte(aml->body, read_write ? 1 : 0);
    put_le(aml->body, base, 4);
    put_le(aml->body, size, 4);
    return aml;
}

/*
 * A Word/DWord/QWord Address Space Descriptor for a bridge window:
 * granularity 0, [min, max], no translation, length max - min + 1.
 */
static Aml *aml_address_space(uint8_t tag, unsigned width, uint8_t type,
                              uint8_t type_flags, uint64_t min, uint64_t max)
{
    Aml *aml = aml_plain();

    g_assert(min <= max);
    put_byte(aml->body, tag);
    put_le(aml->body, 3 + 5 * width, 2);
    put_byte(aml->body, type);
    put_byte(aml->body, ADDR_GFLAGS_WINDOW);
    put_byte(aml->body, type_flags);
    put_le(aml->body, 0, width);            /* _GRA */
    put_le(aml->body, min, width);          /* _MIN */
    put_le(aml->body, max, width);          /* _MAX */
    put_le(aml->body, 0, width);            /* _TRA */
    put_le(aml->body, max - min + 1, width); /* _LEN */
    return aml;
}

Aml *aml_word_bus_number(uint16_t min, uint16_t max)
{
    return aml_address_space(RES_WORD_ADDRESS, 2, ADDR_SPACE_BUS, 0,
                             min, max);
}

Aml *aml_word_io(uint16_t min, uint16_t max)
{
    return aml_address_space(RES_WORD_ADDRESS, 2, ADDR_SPACE_IO,
                             ADDR_IO_ENTIRE_RANGE, min, max);
}

Aml *aml_dword_memory(uint32_t min, uint32_t max, bool cacheable)
{
    return aml_address_space(RES_DWORD_ADDRESS, 4, ADDR_SPACE_MEMORY,
                             ADDR_MEM_RW |
                             (cacheable ? ADDR_MEM_CACHEABLE : 0),
                             min, max);
}

Aml *aml_qword_memory(uint64_t min, uint64_t max, bool cacheable)
{
    return aml_address_space(RES_QWORD_ADDRESS, 8, ADDR_SPACE_MEMORY,
                             ADDR_MEM_RW |
                             (cacheable ? ADDR_MEM_CACHEABLE : 0),
                             min, max);
}

/* ---- table helpers ---- */

void acpi_append_int(GByteArray *tbl, uint64_t val, unsigned size)
{
    g_assert(size == 1 || size == 2 || size == 4 || size == 8);
    put_le(tbl, val, size);
}

void acpi_append_bytes(GByteArray *tbl, const void *data, size_t len)
{
    g_byte_array_append(tbl, data, len);
}

void acpi_align(GByteArray *tbl, unsigned align)
{
    while (tbl->len % align) {
        put_byte(tbl, 0);
    }
}

size_t acpi_table_begin(GByteArray *tbl, const char *sig, uint8_t rev)
{
    size_t start = tbl->len;

    g_assert(strlen(sig) == 4);
    acpi_append_bytes(tbl, sig, 4);
    acpi_append_int(tbl, 0, 4);                 /* Length, set at the end */
    acpi_append_int(tbl, rev, 1);
    acpi_append_int(tbl, 0, 1);                 /* Checksum, likewise */
    acpi_append_bytes(tbl, ACPI_OEM_ID, 6);
    acpi_append_bytes(tbl, ACPI_OEM_TABLE_ID, 8);
    acpi_append_int(tbl, 1, 4);                 /* OEM Revision */
    acpi_append_bytes(tbl, ACPI_CREATOR_ID, 4);
    acpi_append_int(tbl, 1, 4);                 /* Creator Revision */
    return start;
}

void acpi_table_end(GByteArray *tbl, size_t start)
{
    uint8_t *t = tbl->data + start;
    uint32_t len = tbl->len - start;

    for (int i = 0; i < 4; i++) {
        t[4 + i] = len >> (8 * i);
    }
    t[9] = 0;
    t[9] = acpi_checksum(t, len);
}

uint8_t acpi_checksum(const uint8_t *data, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++) {
        sum += data[i];
    }
    return -sum;
}
