/*
 * qvmm: main().  Parse a qemu-system-x86_64 command line, build the pc
 * machine on KVM, and run the main loop until the guest or the host ends
 * it.  Option names, defaults, error texts and exit codes follow QEMU 7.2.
 */
#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/option.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "chardev/char.h"
#include "hw/qdev.h"
#include "hw/boards.h"
#include "hw/i386/machine.h"
#include "block/block.h"
#include "net/net.h"
#include "sysemu/hostmem.h"
#include "sysemu/iothread.h"
#include "sysemu/kvm.h"
#include "sysemu/qtest.h"
#include "sysemu/runstate.h"
#include "monitor/monitor.h"
#include "target/i386/cpu.h"
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>

/* pc-i440fx-7.2's limit, which -smp checks against. */
#define PC_MAX_CPUS 288

typedef enum OptionId {
    OPT_UNSUPPORTED = 0,
    OPT_ENABLE_KVM, OPT_ACCEL, OPT_MACHINE, OPT_CPU, OPT_M, OPT_SMP,
    OPT_KERNEL, OPT_INITRD, OPT_APPEND, OPT_NAME, OPT_NOGRAPHIC,
    OPT_DISPLAY, OPT_VGA, OPT_NODEFAULTS, OPT_NO_USER_CONFIG, OPT_SERIAL,
    OPT_CHARDEV, OPT_NO_REBOOT, OPT_NO_SHUTDOWN, OPT_DAEMONIZE, OPT_PIDFILE,
    OPT_MEM_PATH, OPT_MEM_PREALLOC, OPT_DEVICE, OPT_VERSION, OPT_HELP,
    OPT_S, OPT_OBJECT, OPT_QTEST, OPT_QTEST_LOG, OPT_DRIVE, OPT_BLOCKDEV,
    OPT_QMP, OPT_QMP_PRETTY, OPT_MON, OPT_UUID, OPT_NETDEV, OPT_NIC, OPT_NET,
} OptionId;

typedef struct QemuOption {
    const char *name;
    bool has_arg;
    OptionId id;
} QemuOption;

/*
 * What qvmm accepts, then QEMU options it knows but does not implement:
 * those are refused by name instead of "invalid option", and their
 * argument is consumed so the error names the right thing.
 */
static const QemuOption options[] = {
    { "enable-kvm", false, OPT_ENABLE_KVM },
    { "accel", true, OPT_ACCEL },
    { "machine", true, OPT_MACHINE },
    { "M", true, OPT_MACHINE },
    { "cpu", true, OPT_CPU },
    { "m", true, OPT_M },
    { "smp", true, OPT_SMP },
    { "kernel", true, OPT_KERNEL },
    { "initrd", true, OPT_INITRD },
    { "append", true, OPT_APPEND },
    { "name", true, OPT_NAME },
    { "nographic", false, OPT_NOGRAPHIC },
    { "display", true, OPT_DISPLAY },
    { "vga", true, OPT_VGA },
    { "nodefaults", false, OPT_NODEFAULTS },
    { "no-user-config", false, OPT_NO_USER_CONFIG },
    { "serial", true, OPT_SERIAL },
    { "chardev", true, OPT_CHARDEV },
    { "no-reboot", false, OPT_NO_REBOOT },
    { "no-shutdown", false, OPT_NO_SHUTDOWN },
    { "daemonize", false, OPT_DAEMONIZE },
    { "pidfile", true, OPT_PIDFILE },
    { "mem-path", true, OPT_MEM_PATH },
    { "mem-prealloc", false, OPT_MEM_PREALLOC },
    { "device", true, OPT_DEVICE },
    { "version", false, OPT_VERSION },
    { "help", false, OPT_HELP },
    { "h", false, OPT_HELP },
    { "S", false, OPT_S },
    { "object", true, OPT_OBJECT },
    { "qtest", true, OPT_QTEST },
    { "qtest-log", true, OPT_QTEST_LOG },
    { "drive", true, OPT_DRIVE },
    { "blockdev", true, OPT_BLOCKDEV },
    { "qmp", true, OPT_QMP },
    { "qmp-pretty", true, OPT_QMP_PRETTY },
    { "mon", true, OPT_MON },
    { "uuid", true, OPT_UUID },
    { "netdev", true, OPT_NETDEV },
    { "nic", true, OPT_NIC },
    { "net", true, OPT_NET },
    /* known to QEMU, not (yet) to qvmm */
    { "monitor", true, OPT_UNSUPPORTED },
    { "hda", true, OPT_UNSUPPORTED }, { "hdb", true, OPT_UNSUPPORTED },
    { "cdrom", true, OPT_UNSUPPORTED }, { "boot", true, OPT_UNSUPPORTED },
    { "bios", true, OPT_UNSUPPORTED }, { "global", true, OPT_UNSUPPORTED },
    { "rtc", true, OPT_UNSUPPORTED },
    { "snapshot", false, OPT_UNSUPPORTED }, { "usb", false, OPT_UNSUPPORTED },
    { "parallel", true, OPT_UNSUPPORTED }, { "vnc", true, OPT_UNSUPPORTED },
    { "audiodev", true, OPT_UNSUPPORTED }, { "numa", true, OPT_UNSUPPORTED },
    { "smbios", true, OPT_UNSUPPORTED }, { "fw_cfg", true, OPT_UNSUPPORTED },
    { "action", true, OPT_UNSUPPORTED }, { "incoming", true, OPT_UNSUPPORTED },
    { "loadvm", true, OPT_UNSUPPORTED }, { "add-fd", true, OPT_UNSUPPORTED },
    { "sandbox", true, OPT_UNSUPPORTED }, { "msg", true, OPT_UNSUPPORTED },
    { "overcommit", true, OPT_UNSUPPORTED }, { "trace", true, OPT_UNSUPPORTED },
    { "D", true, OPT_UNSUPPORTED }, { "d", true, OPT_UNSUPPORTED },
    { "L", true, OPT_UNSUPPORTED }, { "readconfig", true, OPT_UNSUPPORTED },
    { "no-acpi", false, OPT_UNSUPPORTED }, { "no-hpet", false, OPT_UNSUPPORTED },
    { "watchdog", true, OPT_UNSUPPORTED }, { "k", true, OPT_UNSUPPORTED },
    { "gdb", true, OPT_UNSUPPORTED }, { "s", false, OPT_UNSUPPORTED },
    { "icount", true, OPT_UNSUPPORTED }, { "preconfig", false, OPT_UNSUPPORTED },
};

/* Everything the command line asked for. */
typedef struct VMConfig {
    GPtrArray *accel;          /* -accel / -enable-kvm strings */
    const char *machine_accel; /* -machine accel= */
    GString *machine;          /* merged -machine options */
    const char *machine_arg, *mem_arg, *name_arg;  /* the last of each,
                                                    * for error locations */
    const char *cpu;
    GString *mem;              /* merged -m options */
    QOpts *smp;                /* merged -smp options */
    const char *kernel, *initrd, *append;
    GString *name;
    bool nographic, nodefaults, daemonize, start_paused;
    const char *pidfile;
    const char *mem_path;
    bool mem_prealloc;
    GPtrArray *serial;         /* -serial specs */
    GPtrArray *chardev;        /* -chardev strings */
    GPtrArray *device;         /* -device strings */
    GPtrArray *object;         /* -object strings */
    GPtrArray *drive;          /* -drive strings */
    GPtrArray *blockdev;       /* -blockdev strings */
    GPtrArray *iothread;       /* -object iothread strings, checked */
    const char *memory_backend; /* -machine memory-backend= */
    bool display_none;
    char *process_name;        /* -name process= */
    GPtrArray *accel_names;    /* accelerators to try, in order */
    GPtrArray *accel_specs;    /* the -accel argument each came from, or
                                * NULL for -machine accel= */
    const char *qtest_chardev, *qtest_log;
    GPtrArray *qmp;            /* -qmp / -qmp-pretty specs (pretty: '+') */
    GPtrArray *mon;            /* -mon option strings */
    char *guest_name;          /* -name guest= */
    uint8_t uuid[16];          /* -uuid */
    GPtrArray *netdev;         /* -netdev strings */
    GPtrArray *nic;            /* -nic strings */
    GPtrArray *net;            /* legacy -net strings */
} VMConfig;

static VMConfig conf;
static char *pidfile_written;
static int daemon_pipe = -1;

static G_NORETURN void fatal(GError *err)
{
    error_report_err(err);
    exit(1);
}

static void print_version(void)
{
    printf("QEMU emulator version %d.%d.%d (qvmm %s)\n"
           "qvmm is a KVM virtual machine monitor that follows the command "
           "line and QMP of QEMU %d.%d;\nit shares no code with QEMU.\n",
           QVMM_QEMU_MAJOR, QVMM_QEMU_MINOR, QVMM_QEMU_MICRO, QVMM_VERSION,
           QVMM_QEMU_MAJOR, QVMM_QEMU_MINOR);
}

static void print_help(void)
{
    print_version();
    printf("usage: qvmm [options]\n\n"
"Standard options:\n"
"-h or -help     display this help and exit\n"
"-version        display version information and exit\n"
"-machine [type=]pc[,accel=kvm][,kernel-irqchip=on]\n"
"                select the machine (only 'pc', an i440FX-like PC)\n"
"-accel kvm[,kernel-irqchip=on]   -enable-kvm\n"
"                use KVM (the only accelerator)\n"
"-cpu host|max[,+feature|-feature|feature=on|off...]\n"
"-m [size=]megs[,slots=n,maxmem=size]\n"
"                guest RAM; a suffix k, M, G or T gives the unit (default M)\n"
"-smp [[cpus=]n][,maxcpus=cpus][,sockets=sockets][,dies=dies]\n"
"     [,cores=cores][,threads=threads]\n"
"-name [guest=]name[,process=name][,debug-threads=on|off]\n"
"-uuid %%08x-%%04x-%%04x-%%04x-%%012x\n"
"                the VM's UUID (query-uuid)\n"
"-mem-path FILE  back guest RAM with a file (or a new file in a directory)\n"
"-mem-prealloc   touch all guest RAM before starting\n"
"\nBoot (no firmware: qvmm loads the kernel itself):\n"
"-kernel bzImage|vmlinux|PVH ELF\n"
"-append cmdline\n"
"-initrd file\n"
"\nDevices and I/O:\n"
"-device isa-debug-exit[,iobase=0x501][,iosize=2]   -device help\n"
"-serial dev     stdio, mon:stdio, null, none, file:PATH, pty,\n"
"                unix:PATH[,server=on,wait=off], tcp:[HOST]:PORT[,...],\n"
"                chardev:ID (up to 4 ports)\n"
"-chardev null|stdio|file|pty|socket,id=id[,...]\n"
"-drive file=f,if=virtio|none[,format=raw][,id=][,cache=][,aio=threads|native]\n"
"       [,readonly=on|off][,discard=ignore|unmap][,werror=][,rerror=]\n"
"                a raw disk image (if=none: for -device ...,drive=ID)\n"
"-blockdev driver=file|raw,node-name=N,...   (keyval or JSON)\n"
"-object iothread,id=id   an I/O thread for a device's queues\n"
"-netdev tap,id=str[,ifname=name][,script=file][,downscript=file]\n"
"       [,vnet_hdr=on|off][,queues=n][,sndbuf=size][,fd=h][,fds=x:y]\n"
"       [,vhost=on|off][,vhostfd=h][,vhostfds=x:y]   (keyval or JSON)\n"
"                a tap backend for -device virtio-net-pci,netdev=id\n"
"-nic TYPE[,id=][,model=virtio-net-pci][,mac=][,backend options]\n"
"                a netdev and a virtio-net NIC on it; -nic none: no NIC\n"
"-net nic[,model=][,macaddr=] -net tap,...\n"
"                legacy: one NIC and one backend, joined directly\n"
"-nographic      serial port on the terminal (Ctrl-a h for help)\n"
"-display none   -vga none   -nodefaults   -no-user-config\n"
"\nMonitor (QMP):\n"
"-qmp dev        QMP on dev: unix:PATH[,server=on,wait=off],\n"
"                tcp:[HOST]:PORT[,server=on,wait=off], stdio, chardev:ID\n"
"-qmp-pretty dev the same, pretty-printed\n"
"-mon [chardev=]ID,mode=control[,pretty=on|off]\n"
"\nRunning:\n"
"-S              do not start the vCPUs\n"
"-no-reboot      exit instead of rebooting\n"
"-no-shutdown    stop instead of exiting when the guest powers off\n"
"-daemonize      detach once the VM is set up\n"
"-pidfile file   write (and lock) the process id\n");
}

static const QemuOption *lookup_option(const char *arg)
{
    const char *name = arg + 1;

    if (name[0] == '-') {
        name++;        /* QEMU also accepts --option */
    }
    for (unsigned i = 0; i < ARRAY_SIZE(options); i++) {
        if (!strcmp(options[i].name, name)) {
            return &options[i];
        }
    }
    return NULL;
}

/*
 * Repeated -m/-machine/-name merge as QEMU's merge_lists options do, later
 * keys winning.  An implied first key ("-m 256") is spelled out so that it
 * stays valid in the middle of the merged list.
 */
static void merge_opts(GString **s, const char *arg, const char *implied)
{
    size_t first = strcspn(arg, ",");
    g_autofree char *item = g_strndup(arg, first);
    bool spell_out = !strchr(item, '=') && strcmp(item, "help") &&
                     strcmp(item, "?");

    if (!*s) {
        *s = g_string_new(NULL);
    } else {
        g_string_append_c(*s, ',');
    }
    g_string_append_printf(*s, "%s%s%s", spell_out ? implied : "",
                           spell_out ? "=" : "", arg);
}

/* -smp syntax errors carry the option's location; topology errors (later,
 * in configure_cpu) do not, as in QEMU. */
static void parse_smp_option(const char *arg)
{
    g_autoptr(GError) err = NULL;
    bool help = false;

    if (!smp_parse_opts(&conf.smp, arg, &help, &err)) {
        fatal(g_steal_pointer(&err));
    }
    if (help) {
        smp_print_help();
        exit(0);
    }
}

/*
 * Parse one repeated option's argument with the option as the error
 * location, which stays set for the caller's own checks.
 */
static QOpts *parse_opts_or_exit(const char *opt, const char *spec,
                                 const char *implied_key)
{
    g_autoptr(GError) err = NULL;
    QOpts *opts;

    loc_set_cmdline(opt, spec);
    opts = qopts_parse(spec, implied_key, &err);
    if (!opts) {
        fatal(g_steal_pointer(&err));
    }
    return opts;
}

static void handle_display(const char *arg)
{
    g_auto(GStrv) parts = g_strsplit(arg, ",", 2);

    static const char *const graphical[] = {
        "gtk", "sdl", "vnc", "curses", "egl-headless", "spice-app", "dbus",
        "cocoa", "default", NULL
    };

    if (g_strv_contains(graphical, parts[0])) {
        error_report("display '%s' is not supported: qvmm has no graphical "
                     "display (use -display none or -nographic)", parts[0]);
        exit(1);
    }
    if (strcmp(parts[0], "none") != 0) {
        error_report("Parameter 'type' does not accept value '%s'", parts[0]);
        exit(1);
    }
    conf.display_none = true;
}

static void handle_option(const QemuOption *o, const char *arg)
{
    switch (o->id) {
    case OPT_UNSUPPORTED:
        error_report("option not supported by qvmm");
        exit(1);
    case OPT_ENABLE_KVM: merge_opts(&conf.machine, "accel=kvm", "type"); break;
    case OPT_ACCEL: g_ptr_array_add(conf.accel, (char *)arg); break;
    case OPT_MACHINE:
        merge_opts(&conf.machine, arg, "type");
        conf.machine_arg = arg;
        break;
    case OPT_CPU: conf.cpu = arg; break;
    case OPT_M: merge_opts(&conf.mem, arg, "size"); conf.mem_arg = arg; break;
    case OPT_SMP: parse_smp_option(arg); break;
    case OPT_KERNEL: conf.kernel = arg; break;
    case OPT_INITRD: conf.initrd = arg; break;
    case OPT_APPEND: conf.append = arg; break;
    case OPT_NAME: merge_opts(&conf.name, arg, "guest"); conf.name_arg = arg; break;
    case OPT_NOGRAPHIC: conf.nographic = true; break;
    case OPT_DISPLAY: handle_display(arg); break;
    case OPT_VGA:
        if (strcmp(arg, "none") != 0) {
            error_report("VGA '%s' is not supported: qvmm has no display "
                         "(only -vga none)", arg);
            exit(1);
        }
        break;
    case OPT_NODEFAULTS: conf.nodefaults = true; break;
    case OPT_NO_USER_CONFIG: break;     /* qvmm reads no config files */
    case OPT_SERIAL: g_ptr_array_add(conf.serial, (char *)arg); break;
    case OPT_CHARDEV: g_ptr_array_add(conf.chardev, (char *)arg); break;
    case OPT_NO_REBOOT: no_reboot = true; break;
    case OPT_NO_SHUTDOWN: no_shutdown = true; break;
    case OPT_DAEMONIZE: conf.daemonize = true; break;
    case OPT_PIDFILE: conf.pidfile = arg; break;
    case OPT_MEM_PATH: conf.mem_path = arg; break;
    case OPT_MEM_PREALLOC: conf.mem_prealloc = true; break;
    case OPT_DEVICE: g_ptr_array_add(conf.device, (char *)arg); break;
    case OPT_VERSION: print_version(); exit(0);
    case OPT_HELP: print_help(); exit(0);
    case OPT_S: conf.start_paused = true; break;
    case OPT_OBJECT: g_ptr_array_add(conf.object, (char *)arg); break;
    case OPT_QTEST: conf.qtest_chardev = arg; break;
    case OPT_QTEST_LOG: conf.qtest_log = arg; break;
    case OPT_DRIVE: g_ptr_array_add(conf.drive, (char *)arg); break;
    case OPT_BLOCKDEV: g_ptr_array_add(conf.blockdev, (char *)arg); break;
    case OPT_QMP:
    case OPT_QMP_PRETTY:
        g_ptr_array_add(conf.qmp, g_strdup_printf("%c%s",
                        o->id == OPT_QMP_PRETTY ? '+' : '-', arg));
        break;
    case OPT_MON: g_ptr_array_add(conf.mon, (char *)arg); break;
    case OPT_NETDEV: g_ptr_array_add(conf.netdev, (char *)arg); break;
    case OPT_NIC: g_ptr_array_add(conf.nic, (char *)arg); break;
    case OPT_NET: g_ptr_array_add(conf.net, (char *)arg); break;
    case OPT_UUID:
        if (!qemu_uuid_parse(arg, conf.uuid)) {
            error_report("failed to parse UUID string: wrong format");
            exit(1);
        }
        break;
    }
}

static void parse_command_line(int argc, char **argv)
{
    conf.accel = g_ptr_array_new();
    conf.serial = g_ptr_array_new();
    conf.chardev = g_ptr_array_new();
    conf.device = g_ptr_array_new();
    conf.object = g_ptr_array_new();
    conf.drive = g_ptr_array_new();
    conf.blockdev = g_ptr_array_new();
    conf.iothread = g_ptr_array_new();
    conf.qmp = g_ptr_array_new();
    conf.mon = g_ptr_array_new();
    conf.netdev = g_ptr_array_new();
    conf.nic = g_ptr_array_new();
    conf.net = g_ptr_array_new();

    for (int i = 1; i < argc; i++) {
        const QemuOption *o;
        const char *arg = NULL;

        if (argv[i][0] != '-' || argv[i][1] == '\0') {
            /* QEMU takes a bare argument as -hda, which qvmm lacks. */
            loc_set_cmdline(argv[i], NULL);
            error_report("disk image arguments (-hda) are not supported "
                         "by qvmm");
            exit(1);
        }
        o = lookup_option(argv[i]);
        if (!o) {
            loc_set_cmdline(argv[i], NULL);
            error_report("invalid option");
            exit(1);
        }
        if (o->has_arg) {
            if (i + 1 >= argc) {
                loc_set_cmdline(argv[i], NULL);
                error_report("requires an argument");
                exit(1);
            }
            arg = argv[++i];
        }
        loc_set_cmdline(argv[i - (o->has_arg ? 1 : 0)], arg);
        handle_option(o, arg);
        loc_clear();
    }
}

/* ---- accelerator and machine ---- */

static const char *const known_accels[] = {
    "kvm", "tcg", "qtest", "xen", "hax", "hvf", "whpx", "nvmm", NULL
};

/*
 * Check one accelerator entry, "kvm[,kernel-irqchip=on]", and add its name
 * to the list tried at start-up.  Names QEMU knows but qvmm lacks (tcg)
 * may stand in a fallback list; they are refused only if reached.
 */
static void check_accel(const char *spec, const char *from_option)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(QOpts) opts = qopts_parse(spec, "accel", &err);
    const char *name, *irqchip;

    if (!opts) {
        fatal(g_steal_pointer(&err));
    }
    name = qopts_get(opts, "accel");
    if (!name || !g_strv_contains(known_accels, name)) {
        error_report("invalid accelerator %s", name ? name : "");
        exit(1);
    }
    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *o = g_ptr_array_index(opts->items, i);
        if (strcmp(o->key, "accel") && strcmp(o->key, "kernel-irqchip")) {
            error_report("Property '%s-accel.%s' not found", name, o->key);
            exit(1);
        }
    }
    irqchip = qopts_get(opts, "kernel-irqchip");
    if (irqchip && strcmp(irqchip, "on") != 0) {
        error_report("kernel-irqchip=%s is not supported by qvmm (only on)",
                     irqchip);
        exit(1);
    }
    g_ptr_array_add(conf.accel_names, g_strdup(name));
    g_ptr_array_add(conf.accel_specs, (char *)from_option);
}

static void configure_accelerator(void)
{
    conf.accel_names = g_ptr_array_new_with_free_func(g_free);
    conf.accel_specs = g_ptr_array_new();
    if (conf.machine_accel && conf.accel->len) {
        error_report("The -accel and \"-machine accel=\" options are "
                     "incompatible");
        exit(1);
    }
    if (conf.machine_accel) {
        g_auto(GStrv) list = g_strsplit(conf.machine_accel, ":", -1);
        for (unsigned i = 0; list[i]; i++) {
            check_accel(list[i], NULL);
        }
    }
    for (guint i = 0; i < conf.accel->len; i++) {
        const char *spec = g_ptr_array_index(conf.accel, i);
        loc_set_cmdline("-accel", spec);
        check_accel(spec, spec);
        loc_clear();
    }
    if (!conf.accel_names->len) {
        /* QEMU would default to tcg; KVM is qvmm's only CPU. */
        g_ptr_array_add(conf.accel_names, g_strdup("kvm"));
        g_ptr_array_add(conf.accel_specs, NULL);
    }
}

static bool accel_listed(const char *name)
{
    for (guint i = 0; i < conf.accel_names->len; i++) {
        if (!strcmp(g_ptr_array_index(conf.accel_names, i), name)) {
            return true;
        }
    }
    return false;
}

/* Try the accelerators in order; the first that starts is used. */
static void init_accelerator(void)
{
    g_autoptr(GError) kvm_err = NULL;

    for (guint i = 0; i < conf.accel_names->len; i++) {
        const char *name = g_ptr_array_index(conf.accel_names, i);

        if (!strcmp(name, "kvm")) {
            if (kvm_init(&kvm_err)) {
                return;
            }
            continue;
        }
        if (!strcmp(name, "qtest")) {
            qtest_accel_init();
            return;
        }
        if (!kvm_err) {
            if (g_ptr_array_index(conf.accel_specs, i)) {
                loc_set_cmdline("-accel",
                                g_ptr_array_index(conf.accel_specs, i));
            }
            error_report("accelerator '%s' is not supported by qvmm (only "
                         "kvm and qtest)", name);
            exit(1);
        }
        break;
    }
    fatal(g_steal_pointer(&kvm_err));
}

static void configure_machine(void)
{
    static const char *const keys[] = {
        "type", "accel", "kernel-irqchip", "usb", "memory-backend", NULL
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(QOpts) opts = NULL;
    const char *type, *irqchip;
    bool usb;

    if (!conf.machine) {
        return;
    }
    loc_set_cmdline("-machine", conf.machine_arg ? conf.machine_arg
                                                 : conf.machine->str);
    opts = qopts_parse_keyval(conf.machine->str, "type", &err);
    if (!opts) {
        fatal(g_steal_pointer(&err));
    }
    type = qopts_get(opts, "type");
    if (opts->help || (type && !strcmp(type, "help"))) {
        printf("Supported machines are:\n"
               "pc                   Standard PC (i440FX + PIIX, 1996) "
               "(alias of pc-i440fx-7.2)\n"
               "pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) "
               "(default)\n");
        exit(0);
    }
    if (type && strcmp(type, "pc") && strcmp(type, "pc-i440fx-7.2")) {
        loc_clear();
        error_report("unsupported machine type");
        error_printf("Use -machine help to list supported machines\n");
        exit(1);
    }
    loc_clear();     /* QEMU reports property errors without a location */
    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *o = g_ptr_array_index(opts->items, i);
        if (!g_strv_contains(keys, o->key)) {
            error_report("Property 'pc-i440fx-7.2-machine.%s' not found",
                         o->key);
            exit(1);
        }
    }
    conf.machine_accel = qopts_get(opts, "accel");
    irqchip = qopts_get(opts, "kernel-irqchip");
    if (irqchip && strcmp(irqchip, "on") != 0) {
        error_report("kernel-irqchip=%s is not supported by qvmm (only on)",
                     irqchip);
        exit(1);
    }
    if (!qopts_get_bool(opts, "usb", false, &usb, &err)) {
        fatal(g_steal_pointer(&err));
    }
    if (usb) {
        error_report("USB is not supported by qvmm");
        exit(1);
    }
    conf.machine_accel = g_strdup(conf.machine_accel);
    conf.memory_backend = g_strdup(qopts_get(opts, "memory-backend"));
    loc_clear();
}

/* ---- -object ---- */

/* QEMU object types qvmm knows of but does not implement. */
static const char *const unsupported_objects[] = {
    "rng-random", "rng-builtin", "secret", "tls-creds-x509",
    "memory-backend-epc", "filter-dump", "throttle-group", "cryptodev-backend",
    NULL
};

/*
 * -object iothread,id=ID.  QEMU's polling knobs are refused: qvmm's I/O
 * threads block in poll() and have nothing for them to tune.  Checked
 * here; the threads start after -daemonize has forked.
 */
static void check_iothread(const QOpts *opts, const char *arg)
{
    static const char *const polling[] = {
        "poll-max-ns", "poll-grow", "poll-shrink", "aio-max-batch",
        "thread-pool-min", "thread-pool-max", NULL
    };
    const char *id = qopts_get(opts, "id");

    for (guint i = 0; i < opts->items->len; i++) {
        QOpt *o = g_ptr_array_index(opts->items, i);

        if (!strcmp(o->key, "qom-type") || !strcmp(o->key, "id")) {
            continue;
        }
        if (g_strv_contains(polling, o->key)) {
            error_report("iothread property '%s' is not supported by qvmm",
                         o->key);
        } else {
            error_report("Invalid parameter '%s'", o->key);
        }
        exit(1);
    }
    if (!id) {
        error_report("Parameter 'id' is missing");
        exit(1);
    }
    if (!id_wellformed(id)) {
        error_report("Parameter 'id' expects an identifier");
        error_printf("Identifiers consist of letters, digits, '-', '.', "
                     "'_', starting with a letter.\n");
        exit(1);
    }
    for (guint i = 0; i < conf.iothread->len; i++) {
        g_autoptr(QOpts) other = qopts_parse(
            g_ptr_array_index(conf.iothread, i), "qom-type", NULL);

        if (!g_strcmp0(qopts_get(other, "id"), id)) {
            error_report("Duplicate ID '%s' for object", id);
            exit(1);
        }
    }
    g_ptr_array_add(conf.iothread, (char *)arg);
}

static void create_iothreads(void)
{
    for (guint i = 0; i < conf.iothread->len; i++) {
        const char *arg = g_ptr_array_index(conf.iothread, i);
        g_autoptr(QOpts) opts = parse_opts_or_exit("-object", arg,
                                                   "qom-type");
        g_autoptr(GError) err = NULL;

        if (!iothread_create(qopts_get(opts, "id"), &err)) {
            fatal(g_steal_pointer(&err));
        }
        loc_clear();
    }
}

/* QEMU opens -blockdev nodes first, then -drive images. */
static void create_block_backends(void)
{
    for (guint i = 0; i < conf.blockdev->len; i++) {
        const char *arg = g_ptr_array_index(conf.blockdev, i);
        g_autoptr(GError) err = NULL;

        loc_set_cmdline("-blockdev", arg);
        if (!blockdev_new(arg, &err)) {
            fatal(g_steal_pointer(&err));
        }
        loc_clear();
    }
    for (guint i = 0; i < conf.drive->len; i++) {
        const char *arg = g_ptr_array_index(conf.drive, i);
        g_autoptr(GError) err = NULL;

        loc_set_cmdline("-drive", arg);
        if (!drive_add(arg, &err)) {
            fatal(g_steal_pointer(&err));
        }
        loc_clear();
    }
}

static void create_objects(void)
{
    for (guint i = 0; i < conf.object->len; i++) {
        g_autoptr(QOpts) opts = parse_opts_or_exit("-object",
            g_ptr_array_index(conf.object, i), "qom-type");
        const char *type = qopts_get(opts, "qom-type");
        g_autoptr(GError) err = NULL;

        if (!type) {
            error_report("Parameter 'qom-type' is missing");
            exit(1);
        }
        if (g_strv_contains(unsupported_objects, type)) {
            error_report("object type '%s' is not supported by qvmm", type);
            exit(1);
        }
        if (!strcmp(type, "iothread")) {
            check_iothread(opts, g_ptr_array_index(conf.object, i));
            loc_clear();
            continue;
        }
        if (!hostmem_is_backend_type(type)) {
            error_report("Parameter 'qom-type' does not accept value '%s'",
                         type);
            exit(1);
        }
        if (!hostmem_create(opts, &err)) {
            fatal(g_steal_pointer(&err));
        }
        loc_clear();
    }
}

/* ---- memory ---- */

static uint64_t parse_memory(uint64_t *maxmem_out)
{
    static const QOptDesc desc[] = {
        { "size", QOPT_SIZE }, { "slots", QOPT_NUMBER },
        { "maxmem", QOPT_SIZE }, { NULL, 0 },
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(QOpts) opts = NULL;
    uint64_t size = 128 * MiB, slots, maxmem;
    const char *s;

    if (!conf.mem) {
        *maxmem_out = size;
        return size;
    }
    loc_set_cmdline("-m", conf.mem_arg);
    /* QEMU first checks every value as a plain size in bytes... */
    opts = qopts_parse(conf.mem->str, "size", &err);
    if (!opts || !qopts_validate(opts, desc, &err)) {
        error_report_opts_err(g_steal_pointer(&err));
        exit(1);
    }
    s = qopts_get(opts, "size");
    if (s) {
        /* ...then reads a bare number as MiB. */
        if (qemu_strtosz(s, 'M', &size) < 0) {
            error_report("Value '%s' is out of range for parameter 'size'",
                         s);
            exit(1);
        }
        if (size == 0) {
            size = 128 * MiB;     /* QEMU: -m 0 means the default */
        }
    }
    if (!qopts_get_number(opts, "slots", 0, &slots, &err) ||
        !qopts_get_size(opts, "maxmem", size, &maxmem, &err)) {
        fatal(g_steal_pointer(&err));
    }
    /* QEMU checks these when the machine is built: no location. */
    loc_clear();
    if (maxmem < size) {
        error_report("invalid value of maxmem: maximum memory size "
                     "(0x%" PRIx64 ") must be at least the initial memory "
                     "size (0x%" PRIx64 ")", maxmem, size);
        exit(1);
    }
    if (qopts_has(opts, "slots") && slots && !qopts_has(opts, "maxmem")) {
        error_report("slots specified but no max-size");
        exit(1);
    }
    if (slots > 256) {
        error_report("unsupported amount of memory slots: %" PRIu64, slots);
        exit(1);
    }
    if (size < 2 * MiB) {
        error_report("ram size too small: qvmm needs at least 2 MiB");
        exit(1);
    }
    loc_clear();
    *maxmem_out = maxmem;
    return size;
}

/* -machine memory-backend=ID: its size is the RAM size. */
static void configure_ram_backend(PCMachineConfig *mc)
{
    HostMemoryBackend *b;

    if (!conf.memory_backend) {
        return;
    }
    b = hostmem_find(conf.memory_backend);
    if (!b) {
        error_report("Memory backend '%s' not found", conf.memory_backend);
        exit(1);
    }
    if (conf.mem && b->size != mc->ram_size) {
        error_report("Machine memory size does not match the size of the "
                     "memory backend");
        exit(1);
    }
    if (conf.mem_path) {
        error_report("'-mem-path' can't be used together with"
                     "'-machine memory-backend'");
        exit(1);
    }
    if (b->size < 2 * MiB) {
        error_report("ram size too small: qvmm needs at least 2 MiB");
        exit(1);
    }
    mc->ram_size = b->size;
    mc->ram_backend = b;
}

/* ---- serial ports and chardevs ---- */

static void create_chardevs(void)
{
    for (guint i = 0; i < conf.chardev->len; i++) {
        g_autoptr(QOpts) opts = parse_opts_or_exit("-chardev",
            g_ptr_array_index(conf.chardev, i), "backend");
        g_autoptr(GError) err = NULL;

        if (!qemu_chr_new_from_opts(opts, &err)) {
            if (!err) {
                exit(0);        /* -chardev help printed its listing */
            }
            fatal(g_steal_pointer(&err));
        }
        loc_clear();
    }
}

static void create_serial_ports(PCMachineConfig *mc)
{
    GPtrArray *specs = conf.serial;
    g_autoptr(GPtrArray) defaults = g_ptr_array_new();

    if (!specs->len && !conf.nodefaults) {
        /* -nographic puts the serial port (with the mux) on the terminal;
         * without a display, QEMU's default "vc" port becomes null. */
        g_ptr_array_add(defaults, conf.nographic ? "mon:stdio" : "null");
        specs = defaults;
    }
    for (guint i = 0; i < specs->len; i++) {
        const char *spec = g_ptr_array_index(specs, i);
        g_autofree char *label = g_strdup_printf("serial%u", mc->nserial);
        g_autoptr(GError) err = NULL;
        Chardev *chr;

        if (specs == conf.serial) {
            loc_set_cmdline("-serial", spec);
        }
        if (!strcmp(spec, "none")) {
            continue;
        }
        if (mc->nserial == PC_MAX_SERIAL) {
            error_report("too many serial ports");
            exit(1);
        }
        chr = qemu_chr_new_legacy(label, spec, &err);
        if (!chr) {
            /* An empty message means the chardev layer already said why. */
            if (err && err->message[0] &&
                !g_error_matches(err, QEMU_CHR_ERROR,
                                 QEMU_CHR_ERROR_NOT_FOUND)) {
                error_report("%s", err->message);
            }
            error_report("could not connect serial device to character "
                         "backend '%s'", spec);
            exit(1);
        }
        mc->serial[mc->nserial++] = chr;
        loc_clear();
    }
}

static bool uses_stdio(const char *spec)
{
    return !strcmp(spec, "stdio") || !strcmp(spec, "mon:stdio") ||
           g_str_has_prefix(spec, "stdio,") || g_str_has_prefix(spec, "mon:stdio,");
}

static void check_daemonize_stdio(void)
{
    if (!conf.daemonize) {
        return;
    }
    /* The daemon's stdio is /dev/null: a terminal port would be lost. */
    for (guint i = 0; i < conf.serial->len; i++) {
        const char *spec = g_ptr_array_index(conf.serial, i);
        if (uses_stdio(spec)) {
            loc_set_cmdline("-serial", spec);
            error_report("cannot use stdio with -daemonize");
            exit(1);
        }
    }
    for (guint i = 0; i < conf.chardev->len; i++) {
        const char *spec = g_ptr_array_index(conf.chardev, i);
        if (uses_stdio(spec)) {
            loc_set_cmdline("-chardev", spec);
            error_report("cannot use stdio with -daemonize");
            exit(1);
        }
    }
    for (guint i = 0; i < conf.qmp->len; i++) {
        const char *spec = (const char *)g_ptr_array_index(conf.qmp, i) + 1;
        if (uses_stdio(spec)) {
            loc_set_cmdline("-qmp", spec);
            error_report("cannot use stdio with -daemonize");
            exit(1);
        }
    }
    if (!conf.nographic) {
        return;
    }
    /* QEMU allows -nographic with -daemonize only when nothing is left
     * on the terminal, i.e. every port was redirected explicitly. */
    /* The default monitor and parallel port would stay on the terminal;
     * qvmm has no -monitor/-parallel to move them, so -nodefaults it is. */
    if (!conf.nodefaults) {
        error_report("-nographic cannot be used with -daemonize");
        exit(1);
    }
}

/* ---- -name ---- */

static void configure_name(void)
{
    static const char *const keys[] = {
        "guest", "process", "debug-threads", NULL
    };
    g_autoptr(GError) err = NULL;
    g_autoptr(QOpts) opts = NULL;
    const char *process;
    bool debug_threads;

    if (!conf.name) {
        return;
    }
    loc_set_cmdline("-name", conf.name_arg);
    opts = qopts_parse(conf.name->str, "guest", &err);
    if (!opts || !qopts_check_keys(opts, keys, &err) ||
        !qopts_get_bool(opts, "debug-threads", false, &debug_threads, &err)) {
        fatal(g_steal_pointer(&err));
    }
    process = qopts_get(opts, "process");
    conf.process_name = process ? g_strdup(process) : NULL;
    conf.guest_name = g_strdup(qopts_get(opts, "guest"));
    loc_clear();
}

/* ---- daemonize and pidfile ---- */

/*
 * Fork now; the parent waits until the child reports that the VM is set
 * up (one byte 0), or exits 1 if the child dies first: the child's error
 * message has gone to the inherited stderr by then.
 */
static void daemonize_start(void)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        error_report("pipe: %s", g_strerror(errno));
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        error_report("fork: %s", g_strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        char status = 1;
        ssize_t n;

        close(fds[1]);
        do {
            n = read(fds[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        _exit(n == 1 && status == 0 ? 0 : 1);
    }
    close(fds[0]);
    daemon_pipe = fds[1];
    setsid();
    pid = fork();
    if (pid < 0) {
        error_report("fork: %s", g_strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        _exit(0);      /* the grandchild is the daemon, free of the tty */
    }
    umask(027);
}

static void daemonize_done(void)
{
    char ok = 0;
    int null;

    if (daemon_pipe < 0) {
        return;
    }
    null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    }
    if (write(daemon_pipe, &ok, 1) != 1) {
        exit(1);
    }
    close(daemon_pipe);
    daemon_pipe = -1;
    if (chdir("/") < 0) {
        /* nothing relative is opened after this point */
    }
}

static void write_pidfile(void)
{
    g_autofree char *pid = g_strdup_printf("%d\n", getpid());
    int fd;

    fd = open(conf.pidfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        error_report("cannot create PID file: Could not create '%s': %s",
                     conf.pidfile, g_strerror(errno));
        exit(1);
    }
    /* The fd stays open for the life of the process to hold the lock. */
    if (lockf(fd, F_TLOCK, 0) < 0) {
        error_report("cannot create PID file: Cannot lock pid file: %s",
                     g_strerror(errno));
        exit(1);
    }
    if (ftruncate(fd, 0) < 0 || write(fd, pid, strlen(pid)) !=
        (ssize_t)strlen(pid)) {
        error_report("cannot create PID file: Failed to write pid file");
        exit(1);
    }
    pidfile_written = realpath(conf.pidfile, NULL);
}

static void cleanup_at_exit(void)
{
    qemu_chr_restore_terminal();
    if (pidfile_written) {
        unlink(pidfile_written);
        free(pidfile_written);
        pidfile_written = NULL;
    }
}

/* ---- devices ---- */

static void create_devices(void)
{
    for (guint i = 0; i < conf.device->len; i++) {
        g_autoptr(QOpts) opts = parse_opts_or_exit("-device",
            g_ptr_array_index(conf.device, i), "driver");
        g_autoptr(GError) err = NULL;

        if (!qdev_new_from_opts(opts, &err)) {
            fatal(g_steal_pointer(&err));
        }
        loc_clear();
    }
}

/* "-device help" and "-device TYPE,help" print and exit before any setup. */
static void handle_device_help(void)
{
    for (guint i = 0; i < conf.device->len; i++) {
        g_autoptr(QOpts) opts = parse_opts_or_exit("-device",
            g_ptr_array_index(conf.device, i), "driver");

        if (qdev_device_help(opts)) {
            exit(0);
        }
        loc_clear();
    }
}

/* ---- networking ---- */

/* A NIC asked for by -nic or -net nic, made when the machine is built. */
typedef struct NicSpec {
    char *netdev, *model, *mac;
} NicSpec;

static GPtrArray *nic_specs;

static void add_nic_spec(const char *netdev, const char *model,
                         const char *mac)
{
    NicSpec *n = g_new0(NicSpec, 1);

    n->netdev = g_strdup(netdev);
    n->model = g_strdup(model);
    n->mac = g_strdup(mac);
    g_ptr_array_add(nic_specs, n);
}

static bool is_help(const char *s)
{
    return s && (!strcmp(s, "help") || !strcmp(s, "?"));
}

/* -nic mac= and -net nic,macaddr= are checked as QEMU checks them, before
 * the netdev is made (a tap's script must not run for a bad MAC). */
static void check_nic_mac(const char *mac, bool legacy)
{
    uint8_t addr[6];

    if (!mac) {
        return;
    }
    if (!net_parse_macaddr(addr, mac)) {
        error_report("invalid syntax for ethernet address");
        exit(1);
    }
    if (addr[0] & 1) {
        error_report("NIC cannot have multicast MAC address%s",
                     legacy ? " (odd 1st byte)" : "");
        exit(1);
    }
}

static G_NORETURN void fatal_netdev(GError *err)
{
    bool hint = !strcmp(err->message,
                        "Parameter 'id' expects an identifier");

    error_report_err(err);
    if (hint) {
        error_printf("Identifiers consist of letters, digits, '-', '.', "
                     "'_', starting with a letter.\n");
    }
    exit(1);
}

static void add_netdev(QOpts *opts, bool json, bool generated_id)
{
    g_autoptr(GError) err = NULL;

    if (netdev_help(opts)) {
        exit(0);
    }
    if (!(generated_id ? netdev_add_generated_id(opts, &err)
                       : netdev_add(opts, json, &err))) {
        fatal_netdev(g_steal_pointer(&err));
    }
}

/* -nic TYPE[,id=][,model=][,mac=][,backend options]: a netdev and a NIC. */
static void create_nic_netdev(const char *arg)
{
    g_autoptr(QOpts) opts = parse_opts_or_exit("-nic", arg, "type");
    const char *type = qopts_get(opts, "type");
    const char *model = qopts_get(opts, "model");
    g_autofree char *id = g_strdup(qopts_get(opts, "id"));
    bool generated = !id;

    if (is_help(model)) {
        /* qvmm has one NIC model; QEMU's pc default would be e1000. */
        printf("Supported NIC models:\nvirtio-net-pci\n");
        exit(0);
    }
    if (!g_strcmp0(type, "none")) {
        loc_clear();
        return;
    }
    if (!id) {
        id = g_strdup_printf("__org.qemu.nic%u", nic_specs->len);
        qopts_set(opts, "id", id);
    }
    check_nic_mac(qopts_get(opts, "mac"), false);
    add_nic_spec(id, model, qopts_get(opts, "mac"));
    qopts_del(opts, "model");
    qopts_del(opts, "mac");
    add_netdev(opts, false, generated);
    loc_clear();
}

static G_NORETURN void refuse_legacy_net(void)
{
    error_report("qvmm maps -net only as one 'nic' plus one backend (it "
                 "has no hubs): use -nic, or -netdev with -device");
    exit(1);
}

/*
 * Legacy -net: QEMU joins its items through a hub.  qvmm has none, so
 * it takes exactly one nic and one backend (or a nic with netdev=) and
 * joins them directly, which is what that common pair amounts to.
 */
static void create_legacy_net(void)
{
    g_autoptr(QOpts) nic = NULL, backend = NULL;
    const char *nic_arg = NULL, *backend_arg = NULL;
    static const char *const nic_keys[] = {
        "type", "model", "macaddr", "netdev", "name", "id", NULL
    };
    g_autoptr(GError) err = NULL;
    g_autofree char *id = NULL;
    bool generated = false;

    for (guint i = 0; i < conf.net->len; i++) {
        const char *arg = g_ptr_array_index(conf.net, i);
        QOpts *opts = parse_opts_or_exit("-net", arg, "type");
        const char *type = qopts_get(opts, "type");

        if (!g_strcmp0(type, "none")) {
            qopts_free(opts);
        } else if (!g_strcmp0(type, "nic") && !nic) {
            nic = opts;
            nic_arg = arg;
        } else if (g_strcmp0(type, "nic") && !backend) {
            backend = opts;
            backend_arg = arg;
        } else {
            qopts_free(opts);
            refuse_legacy_net();
        }
        loc_clear();
    }
    if (!nic && !backend) {
        return;
    }
    if (!nic || (!backend == !qopts_has(nic, "netdev"))) {
        loc_set_cmdline("-net", nic_arg ? nic_arg : backend_arg);
        refuse_legacy_net();
    }
    loc_set_cmdline("-net", nic_arg);
    if (!qopts_check_keys(nic, nic_keys, &err)) {
        fatal(g_steal_pointer(&err));
    }
    check_nic_mac(qopts_get(nic, "macaddr"), true);
    loc_clear();
    if (backend) {
        loc_set_cmdline("-net", backend_arg);
        id = g_strdup(qopts_get(backend, "id"));
        if (!id) {
            generated = !qopts_has(backend, "name");
            id = g_strdup(generated ? "__org.qemu.net0"
                                    : qopts_get(backend, "name"));
            qopts_set(backend, "id", id);
        }
        qopts_del(backend, "name");
        add_netdev(backend, false, generated);
        loc_clear();
    }
    add_nic_spec(id ? id : qopts_get(nic, "netdev"), qopts_get(nic, "model"),
                 qopts_get(nic, "macaddr"));
}

/* QEMU makes the netdevs (-netdev, then -nic's, then -net's) before any
 * device, so a device's netdev= finds them. */
static void create_netdevs(void)
{
    nic_specs = g_ptr_array_new();
    /* At exit (a start-up failure too) the down scripts run. */
    atexit(net_cleanup);
    for (guint i = 0; i < conf.netdev->len; i++) {
        const char *arg = g_ptr_array_index(conf.netdev, i);
        g_autoptr(GError) err = NULL;
        g_autoptr(QOpts) opts = NULL;
        bool json;

        loc_set_cmdline("-netdev", arg);
        opts = netdev_parse_opts(arg, &json, &err);
        if (!opts) {
            fatal(g_steal_pointer(&err));
        }
        add_netdev(opts, json, false);
        loc_clear();
    }
    for (guint i = 0; i < conf.nic->len; i++) {
        create_nic_netdev(g_ptr_array_index(conf.nic, i));
    }
    create_legacy_net();
}

/* The NICs of -nic/-net, on the PCI bus before any -device. */
static void create_nics(void)
{
    for (guint i = 0; i < nic_specs->len; i++) {
        NicSpec *n = g_ptr_array_index(nic_specs, i);
        g_autoptr(GError) err = NULL;
        DeviceState *dev;

        if (n->model && strcmp(n->model, "virtio") &&
            strcmp(n->model, "virtio-net-pci")) {
            error_report("Unsupported NIC model: %s", n->model);
            exit(1);
        }
        dev = qdev_new("virtio-net-pci");
        if (!dev) {
            error_report("Unsupported NIC model: virtio-net-pci");
            exit(1);
        }
        if (!qdev_set_prop(dev, "netdev", n->netdev, &err) ||
            (n->mac && !qdev_set_prop(dev, "mac", n->mac, &err)) ||
            !qdev_realize(dev, &err)) {
            qdev_destroy(dev);
            fatal(g_steal_pointer(&err));
        }
    }
}

/* QEMU's start-up check: a NIC or a netdev left unconnected. */
static void warn_no_peer(NetClientState *nc, void *opaque)
{
    (void)opaque;
    if (nc->peer) {
        return;
    }
    if (nc->info->type == NET_CLIENT_DRIVER_NIC) {
        warn_report("nic %s has no peer", nc->name);
    } else if (nc->is_netdev) {
        warn_report("netdev %s has no peer", nc->name);
    }
}

/* "-netdev help" and "-nic ...,model=help" print and exit before any
 * setup, as -device help does. */
static void handle_net_help(void)
{
    for (guint i = 0; i < conf.netdev->len; i++) {
        const char *arg = g_ptr_array_index(conf.netdev, i);
        g_autoptr(QOpts) opts = NULL;
        bool json;

        opts = netdev_parse_opts(arg, &json, NULL);
        if (opts && netdev_help(opts)) {
            exit(0);
        }
    }
    for (guint i = 0; i < conf.nic->len; i++) {
        g_autoptr(QOpts) opts = qopts_parse(g_ptr_array_index(conf.nic, i),
                                            "type", NULL);

        if (netdev_help(opts)) {
            exit(0);
        }
        if (is_help(qopts_get(opts, "model"))) {
            printf("Supported NIC models:\nvirtio-net-pci\n");
            exit(0);
        }
    }
}

/* ---- the rest of the machine ---- */

static void configure_cpu(PCMachineConfig *mc)
{
    const MachineSMPProps pc = {
        .name = PC_MACHINE_NAME,
        .max_cpus = PC_MACHINE_MAX_CPUS,
        .dies_supported = true,
    };
    g_autoptr(GError) err = NULL;

    if (conf.cpu && !strcmp(conf.cpu, "help")) {
        x86_cpu_list();
        exit(0);
    }
    /* QEMU checks the topology first, and reports neither with a location. */
    if (!machine_smp_apply(conf.smp, &pc, &mc->topo, &err) ||
        !x86_cpu_parse(conf.cpu ? conf.cpu : "host", &mc->cpu, &err)) {
        fatal(g_steal_pointer(&err));
    }
}

static void check_kernel_options(void)
{
    if (!conf.kernel) {
        if (conf.append) {
            error_report("-append only allowed with -kernel option");
            exit(1);
        }
        if (conf.initrd) {
            error_report("-initrd only allowed with -kernel option");
            exit(1);
        }
        if (!conf.start_paused && !accel_listed("qtest")) {
            error_report("no -kernel given: qvmm has no firmware and boots "
                         "only a kernel it loads itself");
            exit(1);
        }
    }
}

static void vcpus_start(void)
{
    if (kvm_enabled()) {
        kvm_vcpus_resume();
    }
}

static void vcpus_stop(void)
{
    if (kvm_enabled()) {
        kvm_vcpus_pause();
    }
}

/* ---- monitors ---- */

/* -qmp DEV: the legacy chardev syntax, chardev "compat_monitorN". */
static void create_qmp_monitor(const char *spec, bool pretty, unsigned n)
{
    g_autofree char *label = g_strdup_printf("compat_monitor%u", n);
    g_autoptr(GError) err = NULL;
    Chardev *chr;

    chr = qemu_chr_new_legacy(label, spec, &err);
    if (!chr) {
        if (g_error_matches(err, QEMU_CHR_ERROR, QEMU_CHR_ERROR_NOT_FOUND)) {
            error_report("chardev \"%s\" not found", spec + strlen("chardev:"));
        } else if (err && err->domain == QEMU_CHR_ERROR) {
            if (err->message[0]) {
                error_report("%s", err->message);
            }
            error_report("parse error: %s", spec);
        } else if (err) {
            error_report("%s", err->message);
        }
        exit(1);
    }
    if (!monitor_new_qmp(chr, pretty, &err)) {
        fatal(g_steal_pointer(&err));
    }
}

/* -mon [chardev=]ID[,mode=control][,pretty=on|off] */
static void create_mon(const char *spec)
{
    static const char *const keys[] = { "chardev", "mode", "pretty", NULL };
    g_autoptr(QOpts) opts = parse_opts_or_exit("-mon", spec, "chardev");
    g_autoptr(GError) err = NULL;
    const char *id = qopts_get(opts, "chardev");
    const char *mode = qopts_get(opts, "mode");
    bool pretty;
    Chardev *chr;

    if (!qopts_check_keys(opts, keys, &err) ||
        !qopts_get_bool(opts, "pretty", false, &pretty, &err)) {
        fatal(g_steal_pointer(&err));
    }
    if (mode && strcmp(mode, "control") && strcmp(mode, "readline")) {
        error_report("Parameter 'mode' does not accept value '%s'", mode);
        exit(1);
    }
    if (!mode || !strcmp(mode, "readline")) {
        /* QEMU's default mode is the human monitor, which qvmm lacks. */
        error_report("the human monitor (mode=readline) is not supported "
                     "by qvmm: use mode=control");
        exit(1);
    }
    if (!id) {
        error_report("Parameter 'chardev' is missing");
        exit(1);
    }
    chr = qemu_chr_find(id);
    if (!chr) {
        error_report("chardev \"%s\" not found", id);
        exit(1);
    }
    if (!monitor_new_qmp(chr, pretty, &err)) {
        fatal(g_steal_pointer(&err));
    }
    loc_clear();
}

static void create_monitors(const PCMachineConfig *mc)
{
    MonitorVMInfo info = {
        .name = conf.guest_name,
        .topo = mc->topo,
        .cpu_type = "host-x86_64-cpu",
    };

    memcpy(info.uuid, conf.uuid, sizeof(info.uuid));
    monitor_init_globals(&info);
    for (guint i = 0; i < conf.qmp->len; i++) {
        const char *arg = g_ptr_array_index(conf.qmp, i);

        loc_set_cmdline(arg[0] == '+' ? "-qmp-pretty" : "-qmp", arg + 1);
        create_qmp_monitor(arg + 1, arg[0] == '+', i);
        loc_clear();
    }
    for (guint i = 0; i < conf.mon->len; i++) {
        create_mon(g_ptr_array_index(conf.mon, i));
    }
}

int main(int argc, char **argv)
{
    PCMachineConfig mc = { 0 };
    g_autoptr(GError) err = NULL;
    uint64_t maxmem;
    int status = 0;

    error_set_progname(argv[0]);
    parse_command_line(argc, argv);
    handle_device_help();
    handle_net_help();
    configure_machine();
    configure_accelerator();
    configure_cpu(&mc);
    create_objects();
    create_block_backends();
    mc.ram_size = parse_memory(&maxmem);
    configure_ram_backend(&mc);
    check_daemonize_stdio();
    configure_name();
    check_kernel_options();     /* qvmm's own check comes after QEMU's */
    mc.kernel = conf.kernel;
    mc.initrd = conf.initrd;
    mc.cmdline = conf.append ? conf.append : "";
    mc.mem_path = conf.mem_path;
    mc.mem_prealloc = conf.mem_prealloc;

    if (conf.daemonize) {
        daemonize_start();
    }
    atexit(cleanup_at_exit);
    qemu_init_main_loop();
    if (conf.process_name) {
        prctl(PR_SET_NAME, conf.process_name);
    }
    if (conf.pidfile) {
        write_pidfile();
    }
    /* Frontends attach later; QEMU sends the mux's open event only then. */
    qemu_chr_suspend_mux_open();
    create_chardevs();
    create_serial_ports(&mc);
    create_monitors(&mc);
    /* After the chardevs: Ctrl-C must still kill a wait=on server wait.
     * Before any thread: the signals must be blocked in all of them. */
    qemu_init_signals();
    create_iothreads();

    init_accelerator();
    create_netdevs();
    if (!pc_machine_init(&mc, &err)) {
        fatal(g_steal_pointer(&err));
    }
    create_nics();
    create_devices();
    /* if=virtio devices come after the -device ones, as in QEMU. */
    if (!drive_create_devices(&err)) {
        fatal(g_steal_pointer(&err));
    }
    if (!pc_machine_done(&err)) {
        fatal(g_steal_pointer(&err));
    }
    qemu_foreach_net_client(warn_no_peer, NULL);
    qemu_chr_resume_mux_open();
    if (conf.qtest_chardev &&
        !qtest_server_init(conf.qtest_chardev, conf.qtest_log, &err)) {
        fatal(g_steal_pointer(&err));
    }
    runstate_set_hooks(&(RunstateHooks) {
        .reset = pc_machine_reset,
        .powerdown = pc_machine_powerdown,
        .vm_stop = vcpus_stop,
        .vm_start = vcpus_start,
    });
    if (kvm_enabled()) {
        kvm_start_vcpu_threads();
    }
    if (!conf.start_paused) {
        vm_start();
    }
    daemonize_done();

    while (!main_loop_should_exit(&status)) {
        g_main_context_iteration(NULL, TRUE);
    }
    /* Drain first: completions still run in the I/O threads. */
    blk_close_all();
    iothread_stop_all();
    monitor_cleanup();
    qemu_chr_cleanup_all();
    exit(status);
}
