/* Common includes for every qvmm source file. */
#ifndef QEMU_OSDEP_H
#define QEMU_OSDEP_H

#define _GNU_SOURCE 1
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <inttypes.h>
#include <glib.h>

#define QEMU_ALIGN_DOWN(n, m) ((n) / (m) * (m))
#define QEMU_ALIGN_UP(n, m) QEMU_ALIGN_DOWN((n) + (m) - 1, (m))
#define ARRAY_SIZE(x) (sizeof(x) / sizeof((x)[0]))

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* The QEMU release whose external interface qvmm follows (QMP greeting,
 * query-version, -version). */
#define QVMM_QEMU_MAJOR 7
#define QVMM_QEMU_MINOR 2
#define QVMM_QEMU_MICRO 0
#define QVMM_VERSION "0.1.0"

#endif
