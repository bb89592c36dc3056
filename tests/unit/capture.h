/*
 * Unit-test helper: capture what util/error-report.c prints, so that a
 * test can compare the exact text a user would see on stderr.
 */
#ifndef TESTS_UNIT_CAPTURE_H
#define TESTS_UNIT_CAPTURE_H

#include "qemu/osdep.h"
#include "qemu/error-report.h"

static FILE *cap_stream;
static char *cap_buf;
static size_t cap_len;

static inline void capture_start(void)
{
    cap_stream = open_memstream(&cap_buf, &cap_len);
    error_set_output(cap_stream);
}

/* What was printed since capture_start(); the caller frees it. */
static inline char *capture_end(void)
{
    error_set_output(NULL);
    fclose(cap_stream);
    return cap_buf;
}

#endif
