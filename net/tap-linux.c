/*
 * -netdev tap: opening the device, the if-up/if-down scripts, inherited
 * fds and the options, with QEMU 7.2's rules and error texts.
 */
#include "net/net.h"
#include "net/tap-int.h"
#include "qemu/error-report.h"
#include <limits.h>
#include <signal.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/if_tun.h>

int tap_open(char *ifname, size_t ifname_size, bool *vnet_hdr,
             bool vnet_hdr_required, bool mq_required, GError **errp)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    unsigned int features = 0;
    int fd = open(PATH_NET_TUN, O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        error_setg_errno(errp, errno, "could not open %s", PATH_NET_TUN);
        return -1;
    }
    if (ioctl(fd, TUNGETFEATURES, &features) < 0) {
        features = 0;
    }
    if (*vnet_hdr) {
        *vnet_hdr = features & IFF_VNET_HDR;
        ifr.ifr_flags |= *vnet_hdr ? IFF_VNET_HDR : 0;
        if (vnet_hdr_required && !*vnet_hdr) {
            error_setg(errp, "vnet_hdr=1 requested, but no kernel support "
                       "for IFF_VNET_HDR available");
            goto fail;
        }
    }
    if (mq_required) {
        if (!(features & IFF_MULTI_QUEUE)) {
            error_setg(errp, "multiqueue required, but no kernel support "
                       "for IFF_MULTI_QUEUE available");
            goto fail;
        }
        ifr.ifr_flags |= IFF_MULTI_QUEUE;
    }
    /* QEMU would cut a long name short and use another interface. */
    if (strlen(ifname) >= IFNAMSIZ) {
        error_setg_errno(errp, ENAMETOOLONG, "could not configure %s (%s)",
                         PATH_NET_TUN, ifname);
        goto fail;
    }
    g_strlcpy(ifr.ifr_name, ifname[0] ? ifname : "tap%d", IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        if (ifname[0]) {
            error_setg_errno(errp, errno, "could not configure %s (%s)",
                             PATH_NET_TUN, ifr.ifr_name);
        } else {
            error_setg_errno(errp, errno, "could not configure %s",
                             PATH_NET_TUN);
        }
        goto fail;
    }
    g_strlcpy(ifname, ifr.ifr_name, ifname_size);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;

fail:
    close(fd);
    return -1;
}

bool tap_run_script(const char *script, const char *ifname, GError **errp)
{
    int status;
    pid_t pid = fork();

    if (pid < 0) {
        error_setg_errno(errp, errno, "could not launch network script %s",
                         script);
        return false;
    }
    if (pid == 0) {
        char *argv[] = { (char *)script, (char *)ifname, NULL };
        sigset_t none;

        /* The main thread blocks signals for its signalfd. */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close_range(3, ~0U, 0);
        execv(script, argv);
        _exit(1);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            error_setg_errno(errp, errno, "waiting for network script %s",
                             script);
            return false;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return true;
    }
    error_setg(errp, "network script %s failed with status %d", script,
               status);
    return false;
}

/* ---- options ---- */

typedef struct TapOptions {
    const char *id, *ifname, *fd, *fds, *script, *downscript, *helper;
    const char *vhostfd, *vhostfds;
    bool has_vnet_hdr, vnet_hdr;
    bool has_vhost, vhost, vhostforce;
    bool has_sndbuf;
    uint64_t sndbuf;
    bool has_queues;
    uint64_t queues;
    uint64_t poll_us;              /* vhost's busy polling; else unused */
} TapOptions;

static bool parse_u64(const char *key, const char *v, uint64_t *out,
                      GError **errp)
{
    char *end;

    errno = 0;
    *out = g_ascii_strtoull(v, &end, 0);
    if (!g_ascii_isdigit(v[0]) || *end || errno) {
        error_setg(errp, "Parameter '%s' expects a uint64 value", key);
        return false;
    }
    return true;
}

/* QAPI's uint32 members: a uint64 first, then the narrower range. */
static bool parse_u32(const char *key, const char *v, uint64_t *out,
                      GError **errp)
{
    if (!parse_u64(key, v, out, errp)) {
        return false;
    }
    if (*out > UINT32_MAX) {
        error_setg(errp, "Parameter '%s' expects uint32_t", key);
        return false;
    }
    return true;
}

static bool tap_parse_one(TapOptions *t, const QOpt *o, GError **errp)
{
    static const char *const strings[] = {
        "id", "ifname", "fd", "fds", "script", "downscript", "helper",
        "br", "vhostfd", "vhostfds", NULL
    };
    const char *k = o->key, *v = o->value;

    /* Taken by qopts_get below; br= belongs to the bridge helper, which
     * qvmm refuses, and QEMU ignores it without one. */
    if (g_strv_contains(strings, k)) {
        return true;
    }
    if (!strcmp(k, "vnet_hdr")) {
        t->has_vnet_hdr = true;
        return parse_option_bool(k, v, &t->vnet_hdr, errp);
    }
    if (!strcmp(k, "vhost")) {
        t->has_vhost = true;
        return parse_option_bool(k, v, &t->vhost, errp);
    }
    if (!strcmp(k, "vhostforce")) {
        return parse_option_bool(k, v, &t->vhostforce, errp);
    }
    if (!strcmp(k, "sndbuf")) {
        t->has_sndbuf = true;
        if (qemu_strtosz(v, 'B', &t->sndbuf) < 0) {
            error_setg(errp, "Parameter '%s' expects a size value", k);
            return false;
        }
        return true;
    }
    if (!strcmp(k, "queues")) {
        t->has_queues = true;
        return parse_u32(k, v, &t->queues, errp);
    }
    if (!strcmp(k, "poll-us")) {
        return parse_u32(k, v, &t->poll_us, errp);
    }
    error_setg(errp, "Invalid parameter '%s'", k);
    return false;
}

static bool tap_parse(const QOpts *opts, TapOptions *t, GError **errp)
{
    for (guint i = 0; i < opts->items->len; i++) {
        if (!tap_parse_one(t, g_ptr_array_index(opts->items, i), errp)) {
            return false;
        }
    }
    t->ifname = qopts_get(opts, "ifname");
    t->fd = qopts_get(opts, "fd");
    t->fds = qopts_get(opts, "fds");
    t->script = qopts_get(opts, "script");
    t->downscript = qopts_get(opts, "downscript");
    t->helper = qopts_get(opts, "helper");
    t->vhostfd = qopts_get(opts, "vhostfd");
    t->vhostfds = qopts_get(opts, "vhostfds");
    return true;
}

/* An inherited descriptor, "N"; QEMU's monitor_fd_param at start-up. */
static int tap_fd_param(const char *id, const char *str, GError **errp)
{
    uint64_t v;
    int flags;

    if (!g_ascii_isdigit(str[0]) || qemu_strtou64(str, &v) < 0 ||
        v > INT_MAX || strspn(str, "0123456789") != strlen(str)) {
        error_setg(errp, "Invalid file descriptor number '%s'", str);
        return -1;
    }
    flags = fcntl(v, F_GETFL);
    if (flags < 0 || fcntl(v, F_SETFL, flags | O_NONBLOCK) < 0) {
        error_setg_errno(errp, errno, "%s: Can't use file descriptor %d", id,
                         (int)v);
        return -1;
    }
    return v;
}

/* TUNGETIFF: is the vnet header on (and multiqueue)? */
static bool tap_probe_flags(int fd, bool *vnet_hdr, GError **errp)
{
    struct ifreq ifr = { 0 };

    if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
        error_setg_errno(errp, errno, "Unable to query TUNGETIFF on FD %d",
                         fd);
        return false;
    }
    *vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
    return true;
}


static bool tap_set_sndbuf(int fd, const TapOptions *t, GError **errp)
{
    int sndbuf = !t->has_sndbuf || t->sndbuf >= INT_MAX ? INT_MAX
                                                        : (int)t->sndbuf;

    if (ioctl(fd, TUNSETSNDBUF, &sndbuf) < 0 && t->has_sndbuf) {
        error_setg_errno(errp, errno, "TUNSETSNDBUF ioctl failed");
        return false;
    }
    return true;
}

/* vhost=on, or a vhostfd given: the fd to hand to vhost-net, -1 if none
 * is wanted, -2 on error. */
static int tap_vhost_fd(const TapOptions *t, const char *id,
                        const char *vhostfd, GError **errp)
{
    bool want = t->has_vhost ? t->vhost : (vhostfd || t->vhostforce);
    int fd;

    if (!want) {
        return -1;
    }
    if (vhostfd) {
        fd = tap_fd_param(id, vhostfd, errp);
        return fd < 0 ? -2 : fd;
    }
    fd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        /* QEMU 7.2 only warns here, then trips an assertion. */
        error_setg_errno(errp, errno, "tap: open vhost char device failed");
        return -2;
    }
    return fd;
}

/* Queue @i of netdev @id on @fd (taken over). */
static NetClientState *tap_init_one(const TapOptions *t, const char *id,
                                    unsigned i, unsigned queues, int fd,
                                    bool vnet_hdr, const char *vhostfd,
                                    const char *info, NetClientState *prev,
                                    GError **errp)
{
    NetClientState *nc;
    int vfd;

    if (!tap_set_sndbuf(fd, t, errp)) {
        close(fd);
        return NULL;
    }
    vfd = tap_vhost_fd(t, id, vhostfd, errp);
    if (vfd == -2) {
        close(fd);
        return NULL;
    }
    nc = tap_client_new(id, i, queues, fd, vnet_hdr);
    g_strlcpy(nc->info_str, info, sizeof(nc->info_str));
    if (vfd >= 0 &&
        !tap_client_enable_vhost(nc, vfd, prev, t->poll_us, errp)) {
        qemu_del_net_client(nc);
        return NULL;
    }
    return nc;
}

/* Undo the queues made so far when a later one fails. */
static void tap_del_queues(const char *id)
{
    NetClientState *ncs[MAX_QUEUE_NUM];
    unsigned n = qemu_find_netdev_queues(id, ncs, MAX_QUEUE_NUM);

    for (unsigned i = 0; i < n && i < MAX_QUEUE_NUM; i++) {
        qemu_del_net_client(ncs[i]);
    }
}

/* fd=N: one queue on a descriptor the caller (libvirt) opened. */
static bool tap_init_fd(const TapOptions *t, const char *id, GError **errp)
{
    char info[32];
    bool vnet_hdr;
    int fd;

    if (t->ifname || t->script || t->downscript || t->has_vnet_hdr ||
        t->helper || t->has_queues || t->fds || t->vhostfds) {
        error_setg(errp, "ifname=, script=, downscript=, vnet_hdr=, "
                   "helper=, queues=, fds=, and vhostfds= are invalid with "
                   "fd=");
        return false;
    }
    fd = tap_fd_param(id, t->fd, errp);
    if (fd < 0) {
        return false;
    }
    if (!tap_probe_flags(fd, &vnet_hdr, errp)) {
        close(fd);
        return false;
    }
    snprintf(info, sizeof(info), "fd=%d", fd);
    return tap_init_one(t, id, 0, 1, fd, vnet_hdr, t->vhostfd, info, NULL,
                        errp) != NULL;
}

/* fds=a:b:...: one queue per descriptor, vhostfds= likewise. */
static bool tap_init_fds(const TapOptions *t, const char *id, GError **errp)
{
    g_auto(GStrv) fds = g_strsplit(t->fds, ":", -1);
    g_auto(GStrv) vfds = t->vhostfds ? g_strsplit(t->vhostfds, ":", -1)
                                     : NULL;
    unsigned n = g_strv_length(fds);
    NetClientState *prev = NULL;
    bool vnet_hdr0 = false;

    if (t->ifname || t->script || t->downscript || t->has_vnet_hdr ||
        t->helper || t->has_queues || t->vhostfd) {
        error_setg(errp, "ifname=, script=, downscript=, vnet_hdr=, "
                   "helper=, queues=, and vhostfd= are invalid with fds=");
        return false;
    }
    if (vfds && g_strv_length(vfds) != n) {
        error_setg(errp, "The number of fds passed does not match the "
                   "number of vhostfds passed");
        return false;
    }
    if (n > MAX_QUEUE_NUM) {
        error_setg(errp, "fds= lists %u descriptors, at most %u queues are "
                   "supported", n, MAX_QUEUE_NUM);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        char info[32];
        bool vnet_hdr;
        int fd = tap_fd_param(id, fds[i], errp);

        if (fd < 0) {
            return false;
        }
        if (!tap_probe_flags(fd, &vnet_hdr, errp)) {
            close(fd);
            return false;
        }
        if (i == 0) {
            vnet_hdr0 = vnet_hdr;
        } else if (vnet_hdr != vnet_hdr0) {
            error_setg(errp, "vnet_hdr not consistent across given tap fds");
            close(fd);
            return false;
        }
        snprintf(info, sizeof(info), "fd=%d", fd);
        prev = tap_init_one(t, id, i, n, fd, vnet_hdr,
                            vfds ? vfds[i] : NULL, info, prev, errp);
        if (!prev) {
            return false;
        }
    }
    return true;
}

static bool script_wanted(const char *script)
{
    return script[0] && strcmp(script, "no") != 0;
}

/* Queue @i of a tap qvmm opens itself (ifname=, queues=). */
static NetClientState *tap_create_queue(const TapOptions *t, const char *id,
                                        unsigned i, unsigned queues,
                                        char *ifname, size_t ifname_size,
                                        NetClientState *prev, GError **errp)
{
    const char *script = t->script ? t->script : DEFAULT_NETWORK_SCRIPT;
    const char *down = t->downscript ? t->downscript
                                     : DEFAULT_NETWORK_DOWN_SCRIPT;
    bool vnet_hdr = t->has_vnet_hdr ? t->vnet_hdr : true;
    g_autofree char *info = NULL;
    NetClientState *nc;
    int fd;

    if (i > 0) {
        script = down = "no";      /* the interface is up already */
    }
    fd = tap_open(ifname, ifname_size, &vnet_hdr,
                  t->has_vnet_hdr && t->vnet_hdr, queues > 1, errp);
    if (fd < 0) {
        return NULL;
    }
    if (script_wanted(script) && !tap_run_script(script, ifname, errp)) {
        close(fd);
        return NULL;
    }
    info = g_strdup_printf("ifname=%s,script=%s,downscript=%s", ifname,
                           script, down);
    nc = tap_init_one(t, id, i, queues, fd, vnet_hdr, t->vhostfd, info,
                      prev, errp);
    if (nc && script_wanted(down)) {
        tap_client_set_down_script(nc, down, ifname);
    }
    return nc;
}

static bool tap_init_create(const TapOptions *t, const char *id,
                            GError **errp)
{
    uint64_t queues = t->has_queues ? t->queues : 1;
    size_t size = MAX(IFNAMSIZ, t->ifname ? strlen(t->ifname) + 1 : 0);
    g_autofree char *ifname = g_malloc0(size);
    NetClientState *prev = NULL;

    if (t->helper) {
        if (t->ifname || t->script || t->downscript || t->has_vnet_hdr ||
            t->has_queues || t->vhostfds) {
            error_setg(errp, "ifname=, script=, downscript=, vnet_hdr=, "
                       "queues=, and vhostfds= are invalid with helper=");
        } else {
            error_setg(errp, "tap: helper= (the bridge helper) is not "
                       "supported by qvmm");
        }
        return false;
    }
    if (t->vhostfds) {
        error_setg(errp, "vhostfds= is invalid if fds= wasn't specified");
        return false;
    }
    if (queues < 1 || queues > MAX_QUEUE_NUM) {
        error_setg(errp, "Parameter 'queues' expects a number of queues "
                   "from 1 to %u", MAX_QUEUE_NUM);
        return false;
    }
    if (t->vhostfd && queues > 1) {
        error_setg(errp, "vhostfd= is invalid with queues=%" PRIu64
                   " (use fds= and vhostfds=)", queues);
        return false;
    }
    if (t->ifname) {
        g_strlcpy(ifname, t->ifname, size);
    }
    for (unsigned i = 0; i < queues; i++) {
        prev = tap_create_queue(t, id, i, queues, ifname, size, prev, errp);
        if (!prev) {
            return false;
        }
    }
    return true;
}

bool net_init_tap(const QOpts *opts, const char *id, GError **errp)
{
    TapOptions t = { .id = id };
    bool ok;

    if (!tap_parse(opts, &t, errp)) {
        return false;
    }
    if (t.fd) {
        ok = tap_init_fd(&t, id, errp);
    } else if (t.fds) {
        ok = tap_init_fds(&t, id, errp);
    } else {
        ok = tap_init_create(&t, id, errp);
    }
    if (!ok) {
        tap_del_queues(id);
    }
    return ok;
}
