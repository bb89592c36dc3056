/*
 * Host memory backends: anonymous, memfd and file memory for guest RAM.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "sysemu/hostmem.h"
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define HUGETLBFS_MAGIC 0x958458f6
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static GPtrArray *backends;

static const struct {
    const char *type;
    HostMemKind kind;
} backend_types[] = {
    { "memory-backend-ram", HOSTMEM_RAM },
    { "memory-backend-memfd", HOSTMEM_MEMFD },
    { "memory-backend-file", HOSTMEM_FILE },
};

bool hostmem_is_backend_type(const char *qom_type)
{
    for (unsigned i = 0; i < ARRAY_SIZE(backend_types); i++) {
        if (!strcmp(backend_types[i].type, qom_type)) {
            return true;
        }
    }
    return false;
}

HostMemoryBackend *hostmem_find(const char *id)
{
    for (guint i = 0; backends && i < backends->len; i++) {
        HostMemoryBackend *b = g_ptr_array_index(backends, i);
        if (!strcmp(b->id, id)) {
            return b;
        }
    }
    return NULL;
}

HostMemoryBackend *hostmem_new(HostMemKind kind, const char *id,
                               uint64_t size, const char *mem_path,
                               bool share, bool prealloc)
{
    HostMemoryBackend *b = g_new0(HostMemoryBackend, 1);

    b->kind = kind;
    b->id = g_strdup(id);
    b->size = size;
    b->mem_path = g_strdup(mem_path);
    b->share = share;
    b->prealloc = prealloc;
    if (!backends) {
        backends = g_ptr_array_new();
    }
    g_ptr_array_add(backends, b);
    return b;
}

HostMemoryBackend *hostmem_create(const QOpts *opts, GError **errp)
{
    static const QOptDesc desc[] = {
        { "qom-type", QOPT_STRING }, { "id", QOPT_STRING },
        { "size", QOPT_SIZE }, { "share", QOPT_BOOL },
        { "prealloc", QOPT_BOOL }, { "mem-path", QOPT_STRING },
        { NULL, 0 },
    };
    const char *type = qopts_get(opts, "qom-type");
    const char *id = qopts_get(opts, "id");
    const char *path = qopts_get(opts, "mem-path");
    HostMemKind kind = HOSTMEM_RAM;
    uint64_t size;
    bool share, prealloc;

    for (unsigned i = 0; i < ARRAY_SIZE(backend_types); i++) {
        if (!strcmp(backend_types[i].type, type)) {
            kind = backend_types[i].kind;
        }
    }
    if (!qopts_validate(opts, desc, errp)) {
        return NULL;
    }
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
        return NULL;
    }
    if (hostmem_find(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return NULL;
    }
    if (!qopts_get_size(opts, "size", 0, &size, errp) ||
        !qopts_get_bool(opts, "share", kind == HOSTMEM_MEMFD, &share, errp) ||
        !qopts_get_bool(opts, "prealloc", false, &prealloc, errp)) {
        return NULL;
    }
    if (!size) {
        error_setg(errp, "can't create backend with size 0");
        return NULL;
    }
    if (kind == HOSTMEM_FILE && !path) {
        error_setg(errp, "mem-path property not set");
        return NULL;
    }
    if (kind != HOSTMEM_FILE && path) {
        error_setg(errp, "Property '%s.mem-path' not found", type);
        return NULL;
    }
    return hostmem_new(kind, id, size, path, share, prealloc);
}

/* Open the file, or create an unlinked one inside a directory. */
static int open_backing_file(HostMemoryBackend *b, uint64_t *page,
                             GError **errp)
{
    struct statfs fs;
    struct stat st;
    int fd;

    if (stat(b->mem_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        g_autofree char *tmpl = g_build_filename(b->mem_path,
                                                 "qvmm_back_mem.XXXXXX", NULL);
        fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0) {
            unlink(tmpl);     /* the mapping keeps it alive */
        }
    } else {
        fd = open(b->mem_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        error_setg_errno(errp, errno, "can't open backing store %s for guest "
                         "RAM", b->mem_path);
        return -1;
    }
    if (fstatfs(fd, &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC) {
        *page = fs.f_bsize;
    }
    return fd;
}

static int open_backing(HostMemoryBackend *b, uint64_t *page, GError **errp)
{
    int fd;

    *page = getpagesize();
    switch (b->kind) {
    case HOSTMEM_RAM:
        return -1;
    case HOSTMEM_MEMFD:
        fd = memfd_create(b->id, MFD_CLOEXEC);
        if (fd < 0) {
            error_setg_errno(errp, errno, "failed to create memfd");
        }
        return fd;
    case HOSTMEM_FILE:
        return open_backing_file(b, page, errp);
    }
    return -1;
}

static void prealloc_pages(void *p, uint64_t size, uint64_t page)
{
    /* Fault every page in now, so the guest never waits for one. */
    if (madvise(p, size, MADV_POPULATE_WRITE) < 0) {
        for (uint64_t off = 0; off < size; off += page) {
            ((volatile uint8_t *)p)[off] = ((volatile uint8_t *)p)[off];
        }
    }
}

#define HUGE_ALIGN (2 * MiB)

/* Anonymous RAM at a 2 MiB boundary, so huge pages can back all of it. */
static void *map_anon_aligned(uint64_t size, int flags)
{
    uint8_t *p = mmap(NULL, size + HUGE_ALIGN, PROT_READ | PROT_WRITE, flags,
                      -1, 0);
    uint8_t *start;

    if (p == MAP_FAILED) {
        return p;
    }
    start = (uint8_t *)QEMU_ALIGN_UP((uintptr_t)p, HUGE_ALIGN);
    if (start > p) {
        munmap(p, start - p);
    }
    munmap(start + size, (p + size + HUGE_ALIGN) - (start + size));
    return start;
}

bool hostmem_map(HostMemoryBackend *b, GError **errp)
{
    int flags = (b->share ? MAP_SHARED : MAP_PRIVATE) | MAP_NORESERVE;
    uint64_t page;
    int fd;

    if (b->hva) {
        return true;
    }
    fd = open_backing(b, &page, errp);
    if (fd < 0 && b->kind != HOSTMEM_RAM) {
        return false;
    }
    b->map_size = QEMU_ALIGN_UP(b->size, page);
    if (fd >= 0 && ftruncate(fd, b->map_size) < 0) {
        error_setg_errno(errp, errno, "unable to map backing store for guest "
                         "RAM");
        close(fd);
        return false;
    }
    if (fd < 0) {
        flags |= MAP_ANONYMOUS;
    }
    b->hva = fd < 0 ? map_anon_aligned(b->map_size, flags)
                    : mmap(NULL, b->map_size, PROT_READ | PROT_WRITE, flags,
                           fd, 0);
    if (fd >= 0) {
        close(fd);
    }
    if (b->hva == MAP_FAILED) {
        b->hva = NULL;
        error_setg_errno(errp, errno, "cannot set up guest memory '%s'",
                         b->id);
        return false;
    }
    /*
     * Transparent huge pages where the host allows them (as QEMU asks):
     * fewer TLB misses for the guest, and far fewer pages for the kernel
     * to pin when a disk reads straight into guest RAM (O_DIRECT).
     */
    madvise(b->hva, b->map_size, MADV_HUGEPAGE);
    if (b->prealloc) {
        prealloc_pages(b->hva, b->map_size, page);
    }
    return true;
}
