#!/usr/bin/env python3
"""Boot the linux-tier kernel under a VMM and check its printk lines.

    boot-test.py [--kernel VMLINUX] [--qemu] [--boot pvh|linux64] [--deep]
                 [options] VMM

VMM is qvmm (or, with --qemu, qemu-system-x86_64 for checking the kernel
itself).  Without --kernel the kernel comes from build-kernel.sh next to this
file.  The guest is stopped once every check has been decided, or when the
timeout runs out.

The vmlinux carries a PVH note, so a VMM enters it through PVH.  With
--boot linux64 the test boots a copy whose note is disabled, which qvmm
enters at e_entry in long mode with boot_params (the 64-bit boot protocol).

By default only what the kernel prints in its first seconds is checked:
banner, command line, e820 map, ACPI table list, CPUs from the MADT.  --deep
adds a virtio-blk disk and a virtio-net NIC and follows the boot through the
ACPI interpreter, PCI enumeration and the drivers to the point where the
kernel, having no root file system, panics and (panic=-1, -no-reboot) resets
the machine, which must end the VMM.  The NIC is on -netdev user, and the
kernel configures it itself (ip=dhcp): its IP-Config lines name the
interface virtio_net registered, with the MAC the NIC must have (QEMU's
first default, 52:54:00:12:34:56), and the address the user network's DHCP
server gave it (10.0.2.15 from 10.0.2.2, QEMU's defaults).  Where guest ring 0 is emulated (see
HOST-NOTES.md) that takes minutes; the kernel has no user space to reach.

Prints one line per check, then "N passed, N failed", and the serial log
when something failed.
Exit status: 0 when all checks passed, 1 otherwise, 2 on a usage error,
77 (skipped, for meson) without a usable /dev/kvm.
"""

import argparse
import os
import re
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

MiB = 1 << 20

# Instructions that KVM's emulator on the CI hosts cannot run are switched off
# (see HOST-NOTES.md).  The TSC-deadline LAPIC timer works there but its ticks
# come so late that the deep boot took 596 s instead of 39 s, so the kernel
# uses the LAPIC's own one-shot mode (QEMU's default CPU model has no
# TSC-deadline at all).  The marker proves the command line arrived unchanged.
HOST_PARAMS = ("noxsave nopti nokaslr clearcpuid=cx16,smap,smep,pku,umip,popcnt,"
               "bmi1,bmi2,erms,fsrm,avx,avx2,movbe,rdrand,rdseed,adx,sha_ni,aes,"
               "pclmulqdq lapic=notscdeadline")
MARKER = "qvmm.test=linux-boot"

BANNER = r"^Linux version (6\.1\.\S+)"
# Firmware output may precede the first timestamp on the same line.
PRINTK_TIME = re.compile(r"^.*?\[\s*\d+\.\d+\] ")
E820_LINE = re.compile(r"BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] (.+)$")
ACPI_COMPLAINT = re.compile(r"ACPI (BIOS )?(Error|Warning)|ACPI Exception")
KERNEL_TROUBLE = re.compile(r"^(BUG:|WARNING:|Oops|general protection fault|"
                            r"Kernel panic(?!.*VFS: Unable to mount root)|"
                            r".*: probe of \S+ failed with error)")
PANIC_NO_ROOT = r"^Kernel panic - not syncing: VFS: Unable to mount root fs"
# -netdev user's defaults, as QEMU's slirp has them, and the first NIC's MAC.
NIC_MAC = "52:54:00:12:34:56"
DHCP_SERVER, DHCP_ADDRESS = "10.0.2.2", "10.0.2.15"
ALLOWING_CPUS = re.compile(r"^smpboot: Allowing (\d+) CPUs, (\d+) hotplug CPUs")


class Log:
    """Serial output as printk lines, with the time each one arrived."""

    def __init__(self):
        self.raw = bytearray()
        self.partial = ""
        self.lines = []     # (seconds since start, text without timestamp)
        self.exit_status = None     # the VMM's, when it exited by itself
        self.exit_time = None

    def feed(self, data, when):
        self.raw += data
        text = self.partial + data.decode("utf-8", "replace")
        *complete, self.partial = re.split(r"\r?\n", text)
        for line in complete:
            line = line.replace("\r", "")
            self.lines.append((when, PRINTK_TIME.sub("", line)))

    def find(self, pattern):
        """First line matching the regex: (time, match), or None."""
        rx = re.compile(pattern)
        for when, line in self.lines:
            m = rx.search(line)
            if m:
                return when, m
        return None

    def index(self, prefix):
        for i, (_, line) in enumerate(self.lines):
            if line.startswith(prefix):
                return i
        return None


class Check:
    """A named check.  decide(log) returns None while it cannot tell yet,
    else (ok, detail, seconds into the run when the deciding line came)."""

    def __init__(self, name, decide, final=False, missing="not printed"):
        self.name = name
        self.decide = decide
        self.final = final      # only decided when the boot is over
        self.missing = missing  # the failure when never decided
        self.result = None      # (ok, detail)
        self.when = None

    def update(self, log, over):
        if self.result is not None or (self.final and not over):
            return
        verdict = self.decide(log)
        if verdict is not None:
            ok, detail, self.when = verdict
            self.result = (ok, detail)
        elif over:
            self.result = (False, self.missing)


def check_line(pattern, describe):
    def decide(log):
        hit = log.find(pattern)
        if hit is None:
            return None
        return True, describe(hit[1]), hit[0]
    return decide


def check_cmdline(expected):
    def decide(log):
        hit = log.find(r"^Command line: (.*)$")
        if hit is None:
            return None
        got = hit[1].group(1)
        if got != expected:
            return False, "got %r, want %r" % (got, expected), hit[0]
        return True, "exact", hit[0]
    return decide


def parse_e820(log):
    """The map the kernel printed and when, once a following line shows
    that it is complete; None before that."""
    start = log.index("BIOS-provided physical RAM map:")
    if start is None:
        return None
    entries = []
    for when, line in log.lines[start + 1:]:
        m = E820_LINE.search(line)
        if not m:
            return entries, when
        entries.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3)))
    return None


def fmt_e820(entries):
    return "; ".join("%#x-%#x %s" % e for e in entries)


def check_e820_size(mem_mib):
    def decide(log):
        parsed = parse_e820(log)
        if parsed is None:
            return None
        entries, when = parsed
        usable = sum(end - start + 1 for start, end, kind in entries
                     if kind == "usable")
        want = mem_mib * MiB
        ok = want - MiB <= usable <= want
        return ok, "usable %d KiB of %d KiB (-m %d)" % (
            usable >> 10, want >> 10, mem_mib), when
    return decide


def qvmm_e820(mem_mib, boot):
    """The map the kernel prints for qvmm's (include/hw/i386/pc.h, RAM below
    3.5 GiB): as given through boot_params, but through PVH the kernel adds
    the ISA hole 0xa0000-0xfffff as reserved itself and merges it with its
    neighbours (init_pvh_bootparams(), then e820__update_table())."""
    given = [(0x0, 0x9fbff, "usable"),
             (0x9fc00, 0x9ffff, "reserved"),
             (0xe0000, 0xfffff, "reserved"),
             (0x100000, mem_mib * MiB - 1, "usable"),
             (0xfeffc000, 0xfeffffff, "reserved")]
    if boot != "pvh":
        return given
    merged = []
    for start, end, kind in sorted(given + [(0xa0000, 0xfffff, "reserved")]):
        if merged and merged[-1][2] == kind and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end), kind)
        else:
            merged.append((start, end, kind))
    return merged


def check_e820_layout(expected):
    def decide(log):
        parsed = parse_e820(log)
        if parsed is None:
            return None
        entries, when = parsed
        if entries != expected:
            return False, "got [%s], want [%s]" % (
                fmt_e820(entries), fmt_e820(expected)), when
        return True, fmt_e820(entries), when
    return decide


def check_acpi_table(sig, lo=None, hi=None):
    def decide(log):
        hit = log.find(r"^ACPI: %s 0x([0-9A-F]{16}) " % sig)
        if hit is None:
            return None
        addr = int(hit[1].group(1), 16)
        if lo is not None and not lo <= addr <= hi:
            return False, "at %#x, want %#x-%#x" % (addr, lo, hi), hit[0]
        return True, "at %#x" % addr, hit[0]
    return decide


def check_any_acpi_table(sigs):
    def decide(log):
        for sig in sigs:
            hit = log.find(r"^ACPI: %s 0x" % sig)
            if hit:
                return True, sig, hit[0]
        return None
    return decide


def check_cpus(ncpus):
    def decide(log):
        hit = log.find(ALLOWING_CPUS.pattern)
        if hit is None:
            return None
        allowed, hotplug = int(hit[1].group(1)), int(hit[1].group(2))
        ok = allowed == ncpus and hotplug == 0
        return ok, "%d CPUs, %d hotplug (-smp %d)" % (allowed, hotplug,
                                                      ncpus), hit[0]
    return decide


def check_cpus_up(ncpus):
    def decide(log):
        hit = log.find(r"^smp: Brought up \d+ nodes?, (\d+) CPUs?$")
        if hit is None:
            return None
        up = int(hit[1].group(1))
        return up == ncpus, "%d of %d" % (up, ncpus), hit[0]
    return decide


def check_no_acpi_complaints(tolerate_loop_timeouts):
    # QEMU's _PRT walks a 128-entry loop in AML; with ring 0 emulated it
    # outlasts the interpreter's 30 s loop limit.  That is slowness, not a
    # table bug, so it is tolerated in QEMU runs only.
    def decide(log):
        if log.find(BANNER) is None:
            return False, "no kernel output to look at", None
        bad = [(when, line) for when, line in log.lines
               if ACPI_COMPLAINT.search(line)]
        tolerated = [b for b in bad if tolerate_loop_timeouts and
                     "AE_AML_LOOP_TIMEOUT" in b[1]]
        bad = [b for b in bad if b not in tolerated]
        if bad:
            return False, "; ".join(line for _, line in bad[:3]), bad[0][0]
        detail = "none in %d lines" % len(log.lines)
        if tolerated:
            detail += " (%d AML loop timeouts tolerated)" % len(tolerated)
        return True, detail, None
    return decide


def check_no_kernel_trouble(log):
    if log.find(BANNER) is None:
        return False, "no kernel output to look at", None
    bad = [(when, line) for when, line in log.lines
           if KERNEL_TROUBLE.search(line)]
    if bad:
        return False, "; ".join(line for _, line in bad[:3]), bad[0][0]
    return True, "none", None


def check_virtio_pci(kind, device_ids, pci_class):
    # Transitional (0x1000 + n) or modern (0x1040 + virtio id) device ids.
    pattern = r"^pci (\S+): \[1af4:(%s)\] type 00 class 0x%s" % (
        "|".join(device_ids), pci_class)
    return check_line(pattern, lambda m: "%s %s at %s" % (
        kind, "1af4:" + m.group(2), m.group(1)))


def check_disk(blocks):
    def decide(log):
        hit = log.find(r"^virtio_blk (\S+): \[vda\] (\d+) 512-byte logical")
        if hit is None:
            return None
        got = int(hit[1].group(2))
        return got == blocks, "%s: %d sectors, want %d" % (
            hit[1].group(1), got, blocks), hit[0]
    return decide


def check_netdev(mac):
    """The interface IP-Config opened: virtio_net's, so the only one."""
    def decide(log):
        hit = log.find(r"\bdevice=(\w+), hwaddr=([0-9a-f:]+)")
        if hit is None:
            return None
        name, got = hit[1].group(1), hit[1].group(2)
        ok = got == mac and re.fullmatch(r"eth\d+|enp\d+s\d+", name)
        return bool(ok), "%s, MAC %s (want %s)" % (name, got, mac), hit[0]
    return decide


def check_dhcp(server, address):
    def decide(log):
        hit = log.find(r"^IP-Config: Got DHCP answer from (\S+), "
                       r"my address is (\S+)$")
        if hit is None:
            return None
        got = (hit[1].group(1), hit[1].group(2))
        return got == (server, address), "%s from %s (want %s from %s)" % (
            got[1], got[0], address, server), hit[0]
    return decide


def check_reset_exit(log):
    if log.exit_status is None:
        return None
    if log.find(PANIC_NO_ROOT) is None:
        return False, "VMM exited (status %d) before the kernel panicked" % \
            log.exit_status, log.exit_time
    return log.exit_status == 0, "exit status %d" % log.exit_status, \
        log.exit_time


def build_checks(args, cmdline):
    qemu = args.qemu
    checks = [
        Check("banner 'Linux version 6.1'",
              check_line(BANNER, lambda m: m.group(1))),
        Check("command line echoed exactly", check_cmdline(cmdline)),
        Check("e820 usable RAM matches -m", check_e820_size(args.mem)),
    ]
    if not qemu:
        checks.append(Check("e820 entries are qvmm's layout",
                            check_e820_layout(qvmm_e820(args.mem,
                                                        args.boot))))
    # QEMU's firmware puts the RSDP in the BIOS area too, but points at an
    # RSDT (ACPI 1.0); qvmm writes an XSDT.
    checks.append(Check("ACPI: RSDP in 0xe0000-0xfffff",
                        check_acpi_table("RSDP", 0xe0000, 0xfffff)))
    if qemu:
        checks.append(Check("ACPI: RSDT or XSDT",
                            check_any_acpi_table(("XSDT", "RSDT"))))
    else:
        checks.append(Check("ACPI: XSDT", check_acpi_table("XSDT")))
    for sig in ("FACP", "DSDT", "FACS", "APIC"):
        checks.append(Check("ACPI: " + sig, check_acpi_table(sig)))
    checks += [
        Check("MADT used for SMP configuration",
              check_line(r"^ACPI: Using ACPI \(MADT\) for SMP configuration",
                         lambda m: "yes")),
        Check("smpboot: Allowing %d CPUs" % args.smp, check_cpus(args.smp)),
    ]
    if args.deep:
        checks += [
            Check("secondary CPUs up", check_cpus_up(args.smp)),
            Check("DSDT loaded by the ACPI interpreter",
                  check_line(r"^ACPI: (\d+) ACPI AML tables? successfully "
                             r"acquired and loaded",
                             lambda m: m.group(1) + " table(s)")),
            Check("ACPI interpreter enabled",
                  check_line(r"^ACPI: Interpreter enabled", lambda m: "yes")),
            Check("PCI host bridge to bus 0000:00",
                  check_line(r"^PCI host bridge to bus 0000:00",
                             lambda m: "yes")),
        ]
        if not args.no_disk:
            checks.append(Check("virtio-blk on PCI",
                                check_virtio_pci("virtio-blk",
                                                 ("1001", "1042"), "010000")))
        if not args.no_net:
            checks += [
                Check("virtio-net on PCI",
                      check_virtio_pci("virtio-net", ("1000", "1041"),
                                       "020000")),
                Check("virtio_net's interface, with the NIC's MAC",
                      check_netdev(NIC_MAC),
                      missing="no IP-Config line: virtio_net registered "
                      "no interface"),
                Check("DHCP answer through -netdev user",
                      check_dhcp(DHCP_SERVER, DHCP_ADDRESS)),
            ]
        checks += [
            Check("8250 driver finds COM1",
                  check_line(r"ttyS0 at I/O 0x3f8 \(irq = 4, .*\) is a (\S+)",
                             lambda m: m.group(1))),
        ]
        if not args.no_disk:
            checks.append(Check("virtio-blk disk size",
                                check_disk(args.disk_mib * MiB // 512)))
        checks += [
            Check("kernel reaches the root mount",
                  check_line(PANIC_NO_ROOT,
                             lambda m: "panics as expected (no root fs)")),
            Check("reset on panic ends the VMM (-no-reboot)",
                  check_reset_exit, missing="VMM still running, killed"),
        ]
    checks += [
        Check("no ACPI errors or warnings", check_no_acpi_complaints(qemu),
              final=True),
        Check("no oops, BUG, WARNING or failed probe",
              check_no_kernel_trouble, final=True),
    ]
    return checks


def vmm_command(args, kernel, cmdline, disk):
    cmd = [args.vmm]
    if args.qemu:
        cmd += ["-M", "pc"]
    cmd += ["-enable-kvm", "-m", str(args.mem), "-smp", str(args.smp),
            "-nographic", "-no-user-config", "-nodefaults",
            "-serial", "stdio", "-kernel", kernel, "-append", cmdline,
            "-no-reboot"]
    if disk:
        cmd += ["-drive", "file=%s,if=virtio,format=raw" % disk]
    if args.deep and not args.no_net:
        cmd += ["-netdev", "user,id=net0",
                "-device", "virtio-net-pci,netdev=net0"]
    return cmd + args.vmm_arg


XEN_ELFNOTE_PHYS32_ENTRY = 18


def disable_pvh_note(src, dst):
    """Copy an ELF64 vmlinux, turning its Xen PHYS32_ENTRY note into an
    unused note type, so that a VMM has to take the 64-bit entry."""
    with open(src, "rb") as f:
        elf = bytearray(f.read())
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("%s: not a little-endian ELF64 file" % src)
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    patched = 0
    for i in range(phnum):
        ph = phoff + i * phentsize
        p_type, = struct.unpack_from("<I", elf, ph)
        if p_type != 4:     # PT_NOTE
            continue
        offset, = struct.unpack_from("<Q", elf, ph + 8)
        filesz, = struct.unpack_from("<Q", elf, ph + 32)
        pos, end = offset, offset + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = bytes(elf[pos + 12:pos + 12 + namesz]).rstrip(b"\0")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                struct.pack_into("<I", elf, pos + 8, 0)
                patched += 1
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    if not patched:
        raise ValueError("%s: no PVH entry note found" % src)
    with open(dst, "wb") as f:
        f.write(elf)


def get_kernel(args):
    if args.kernel:
        return args.kernel
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "build-kernel.sh")
    t0 = time.monotonic()
    out = subprocess.run([script], stdout=subprocess.PIPE, check=True,
                         text=True).stdout.strip().splitlines()
    print("kernel: %s (build-kernel.sh took %.1f s)" %
          (out[-1], time.monotonic() - t0), flush=True)
    return out[-1]


def run(args, cmd, checks):
    """Run the VMM until every check is decided.

    Returns (log, VMM stderr, why it stopped early or None, seconds)."""
    log = Log()
    stderr = bytearray()
    t0 = time.monotonic()
    # stdin is a pipe nobody writes to: an idle terminal, not an EOF.
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")

    def pending():
        return [c for c in checks if c.result is None and not c.final]

    note = None
    try:
        while pending():
            left = args.timeout - (time.monotonic() - t0)
            if left <= 0:
                note = "timed out after %d s" % args.timeout
                break
            for key, _ in sel.select(min(left, 0.5)):
                data = os.read(key.fileobj.fileno(), 65536)
                if not data:
                    sel.unregister(key.fileobj)
                elif key.data == "out":
                    log.feed(data, time.monotonic() - t0)
                    if args.verbose:
                        sys.stdout.buffer.write(data)
                        sys.stdout.flush()
                else:
                    stderr += data
            if log.exit_status is None and proc.poll() is not None:
                log.exit_status = proc.returncode
                log.exit_time = time.monotonic() - t0
            if log.exit_status is not None and not sel.get_map():
                # Output is complete: flush a last unterminated line.
                log.feed(b"\n" if log.partial else b"", log.exit_time)
            for c in checks:
                c.update(log, over=False)
            if log.exit_status is not None and not sel.get_map():
                if pending():
                    note = "VMM exited with status %d" % log.exit_status
                break
    finally:
        if proc.poll() is None:
            # Stop it as a user would; a VMM that ignores SIGTERM is noted.
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                note = (note + "; " if note else "") + \
                    "VMM ignored SIGTERM for 5 s, killed"
        proc.wait()
        for key in list(sel.get_map().values()):
            rest = key.fileobj.read()
            if key.data == "out":
                log.feed(rest, time.monotonic() - t0)
            else:
                stderr += rest
        sel.close()
    log.feed(b"\n" if log.partial else b"", time.monotonic() - t0)
    for c in checks:
        c.update(log, over=True)
    return log, bytes(stderr), note, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(
        description="Boot the linux-tier kernel and check its output.")
    ap.add_argument("vmm", help="qvmm binary, or qemu-system-x86_64 with --qemu")
    ap.add_argument("--kernel", help="vmlinux (default: run build-kernel.sh)")
    ap.add_argument("--qemu", action="store_true",
                    help="the VMM is QEMU: add -M pc, accept its firmware's "
                    "e820 map and RSDT (default when the name contains 'qemu')")
    ap.add_argument("--boot", choices=("pvh", "linux64"), default="pvh",
                    help="entry the VMM takes: the PVH note (default) or, "
                    "on a copy without it, the 64-bit boot protocol")
    ap.add_argument("--deep", action="store_true",
                    help="add virtio devices and follow the boot to the "
                    "root-mount panic and the reset (minutes here)")
    ap.add_argument("--no-net", action="store_true",
                    help="with --deep: no virtio-net NIC (-netdev user)")
    ap.add_argument("--no-disk", action="store_true",
                    help="with --deep: no virtio-blk disk (-drive if=virtio)")
    ap.add_argument("--mem", type=int, default=256, help="-m, in MiB")
    ap.add_argument("--smp", type=int, default=2, help="-smp")
    ap.add_argument("--disk-mib", type=int, default=8,
                    help="with --deep: size of the virtio-blk disk")
    ap.add_argument("--timeout", type=int,
                    help="seconds to wait for all checks "
                    "(default 240, 900 with --deep)")
    ap.add_argument("--append", action="append", default=[],
                    help="extra kernel parameter, for experiments "
                    "(repeatable)")
    ap.add_argument("--vmm-arg", action="append", default=[],
                    help="extra VMM argument (repeatable)")
    ap.add_argument("--log", help="also write the serial output to this file")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="copy the serial output to stdout as it arrives")
    args = ap.parse_args()
    # meson passes a target in the build root by its bare name ("qvmm").
    if os.path.isfile(args.vmm):
        args.vmm = os.path.abspath(args.vmm)
    elif shutil.which(args.vmm):
        args.vmm = shutil.which(args.vmm)
    else:
        ap.error("%s: no such VMM binary" % args.vmm)
    if not args.qemu and "qemu" in os.path.basename(args.vmm):
        args.qemu = True
    if not 16 <= args.mem < 3584:
        ap.error("--mem must be 16-3583 MiB (one RAM range below 4 GiB)")
    if args.timeout is None:
        args.timeout = 900 if args.deep else 240

    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm is not usable here")
        return 77
    try:
        kernel = get_kernel(args)
    except (OSError, subprocess.CalledProcessError, IndexError) as e:
        print("FAIL: build-kernel.sh: %s" % e)
        print("0 passed, 1 failed")
        return 1

    params = [HOST_PARAMS]
    if args.deep:
        params.append("panic=-1")
    if args.deep and not args.no_net:
        params.append("ip=dhcp")
    params += args.append
    cmdline = "console=ttyS0 earlyprintk=serial,ttyS0 %s %s" % (
        " ".join(params), MARKER)
    checks = build_checks(args, cmdline)
    with tempfile.TemporaryDirectory(prefix="qvmm-linux-") as tmp:
        if args.boot == "linux64":
            copy = os.path.join(tmp, "vmlinux-no-pvh")
            disable_pvh_note(kernel, copy)
            kernel = copy
        disk = None
        if args.deep and not args.no_disk:
            disk = os.path.join(tmp, "disk.raw")
            with open(disk, "wb") as f:
                f.truncate(args.disk_mib * MiB)
        cmd = vmm_command(args, kernel, cmdline, disk)
        print("running: %s" % " ".join(
            "'%s'" % a if (" " in a or not a) else a for a in cmd), flush=True)
        log, stderr, note, elapsed = run(args, cmd, checks)

    if args.log:
        with open(args.log, "wb") as f:
            f.write(log.raw)
    passed = failed = 0
    for c in checks:
        ok, detail = c.result
        when = "" if c.when is None or not ok else " [%.1f s]" % c.when
        print("%s: %s: %s%s" % ("PASS" if ok else "FAIL", c.name, detail, when))
        passed += ok
        failed += not ok
    print("stopped after %.1f s%s" % (elapsed, ": " + note if note else ""))
    if failed:
        print("---- serial output ----")
        sys.stdout.write(log.raw.decode("utf-8", "replace"))
        print("\n---- VMM stderr ----")
        sys.stdout.write(stderr.decode("utf-8", "replace"))
        print("---- end ----")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
