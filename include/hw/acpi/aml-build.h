/*
 * A small AML and ACPI table builder.
 *
 * AML terms are built bottom-up: each constructor returns a node that owns
 * its encoded bytes, and aml_append() encodes a child into its parent (and
 * frees the child).  Nodes that open a block (Scope, Device, Method,
 * Package, Buffer, ResourceTemplate) get their PkgLength when they are
 * appended, once their contents are known.  The root of a definition
 * block is made with aml_new(); aml_free() releases it.
 *
 * Encodings follow the ACPI specification, section 20 (AML) and 6.4
 * (resource descriptors).
 */
#ifndef HW_ACPI_AML_BUILD_H
#define HW_ACPI_AML_BUILD_H

#include "qemu/osdep.h"

typedef struct Aml Aml;

/* A node holding no bytes yet: the body of a table. */
Aml *aml_new(void);
void aml_free(Aml *aml);
/* Encode @child into @parent's contents and free @child. */
void aml_append(Aml *parent, Aml *child);
/* The encoded bytes of a plain node (a table body). */
const uint8_t *aml_data(const Aml *aml);
size_t aml_len(const Aml *aml);

/* ---- data objects ---- */
Aml *aml_int(uint64_t val);                /* Zero/One/Ones or shortest prefix */
Aml *aml_string(const char *str);
Aml *aml_eisaid(const char *id);           /* "PNP0501" -> compressed DWord */
/* Package () { ... }: NumElements counts the terms appended to it. */
Aml *aml_package(void);
Aml *aml_buffer(const uint8_t *data, size_t len);

/* ---- named objects and control ---- */
/* @name is a NameString: "\\_SB", "_S5", "^FOO", "\\_SB.COM1" ... */
Aml *aml_name(const char *name);           /* a reference to a name */
Aml *aml_name_decl(const char *name, Aml *value);     /* Name (X, value) */
Aml *aml_scope(const char *name);
Aml *aml_device(const char *name);
Aml *aml_method(const char *name, unsigned nargs, bool serialized);
Aml *aml_return(Aml *value);

/* ---- resource templates ---- */
Aml *aml_resource_template(void);          /* closed with an EndTag */
/* IO (Decode16, min, max, align, len) */
Aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t len);
Aml *aml_irq_no_flags(uint8_t irq);        /* IRQNoFlags () {irq} */

typedef enum AmlInterruptFlags {
    AML_INTR_LEVEL = 0,
    AML_INTR_EDGE = 1 << 1,
    AML_INTR_ACTIVE_HIGH = 0,
    AML_INTR_ACTIVE_LOW = 1 << 2,
    AML_INTR_EXCLUSIVE = 0,
    AML_INTR_SHARED = 1 << 3,
} AmlInterruptFlags;
/* Interrupt (ResourceConsumer, ...) {gsi}: the extended descriptor. */
Aml *aml_interrupt(AmlInterruptFlags flags, uint32_t gsi);
Aml *aml_memory32_fixed(uint32_t base, uint32_t size, bool read_write);
/*
 * Bridge windows (address space descriptors): ResourceProducer,
 * PosDecode, MinFixed, MaxFixed, granularity 0, no translation, length
 * max - min + 1.  I/O is EntireRange; memory is ReadWrite.
 */
Aml *aml_word_bus_number(uint16_t min, uint16_t max);
Aml *aml_word_io(uint16_t min, uint16_t max);
Aml *aml_dword_memory(uint32_t min, uint32_t max, bool cacheable);
Aml *aml_qword_memory(uint64_t min, uint64_t max, bool cacheable);

/* ---- table helpers ---- */
/* Little-endian integer of @size bytes (1, 2, 4 or 8). */
void acpi_append_int(GByteArray *tbl, uint64_t val, unsigned size);
void acpi_append_bytes(GByteArray *tbl, const void *data, size_t len);
/* Zero-fill @tbl up to a multiple of @align bytes. */
void acpi_align(GByteArray *tbl, unsigned align);

/* 36-byte System Description Table Header; returns the table's offset. */
size_t acpi_table_begin(GByteArray *tbl, const char *sig, uint8_t rev);
/* Fill in length and checksum of the table that starts at @start. */
void acpi_table_end(GByteArray *tbl, size_t start);

/* Byte that makes data[0..len) sum to zero modulo 256. */
uint8_t acpi_checksum(const uint8_t *data, size_t len);

/* QEMU's identifiers, so guests see the same OEM strings as under QEMU. */
#define ACPI_OEM_ID          "BOCHS "
#define ACPI_OEM_TABLE_ID    "BXPC    "
#define ACPI_CREATOR_ID      "BXPC"

#endif
