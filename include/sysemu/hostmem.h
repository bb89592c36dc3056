/*
 * Host memory backends (-object memory-backend-{ram,memfd,file}) that back
 * guest RAM, selected with -machine memory-backend=ID; without one, the
 * machine builds a default from -m, -mem-path and -mem-prealloc.
 */
#ifndef SYSEMU_HOSTMEM_H
#define SYSEMU_HOSTMEM_H

#include "qemu/osdep.h"
#include "qemu/option.h"

typedef enum HostMemKind {
    HOSTMEM_RAM,        /* anonymous memory */
    HOSTMEM_MEMFD,      /* memfd_create(): shareable with other processes */
    HOSTMEM_FILE,       /* a file, or a new file in a directory (hugetlbfs) */
} HostMemKind;

typedef struct HostMemoryBackend {
    char *id;
    HostMemKind kind;
    uint64_t size;
    char *mem_path;     /* HOSTMEM_FILE */
    bool share;         /* MAP_SHARED rather than MAP_PRIVATE */
    bool prealloc;      /* fault every page in before the guest starts */
    bool used;          /* a machine took it */
    void *hva;
    uint64_t map_size;  /* size rounded up to the backing page size */
} HostMemoryBackend;

/* True if @qom_type names a memory backend type. */
bool hostmem_is_backend_type(const char *qom_type);
/* -object memory-backend-*,id=,size=,...: create (not map) a backend. */
HostMemoryBackend *hostmem_create(const QOpts *opts, GError **errp);
HostMemoryBackend *hostmem_new(HostMemKind kind, const char *id,
                               uint64_t size, const char *mem_path,
                               bool share, bool prealloc);
HostMemoryBackend *hostmem_find(const char *id);
/* mmap the backend (once); false with @errp set in QEMU's words. */
bool hostmem_map(HostMemoryBackend *b, GError **errp);

#endif
