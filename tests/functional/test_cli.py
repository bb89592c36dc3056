#!/usr/bin/env python3
"""
Functional tests: the qvmm binary as shell scripts and management tools
use it.  Command lines, the exact error texts QEMU prints, exit codes,
-daemonize/-pidfile, signals, serial backends and the Ctrl-a mux on a
terminal.

    test_cli.py [--guest-dir DIR] [-k SUBSTRING] [-v] QVMM
    test_cli.py --qemu [QEMU]     # the same cases against qemu-system-x86_64

The expected texts are QEMU 7.2's (checked with --qemu against the
installed qemu-system-x86_64), with "{P}" standing for the program-name
prefix ("qvmm: ", "qemu-system-x86_64: ").  Where qvmm refuses or reports
something differently on purpose, the case says so ("deliberate") and is
skipped under --qemu.

Standard library only.  Small PVH guests are generated here (a few bytes
of 32-bit code that print a line on COM1, then exit, halt, spin or reset),
so the tests do not depend on a cross toolchain; the guests built in
tests/guest are used too when --guest-dir points at them.

One line per case, then "N passed, N failed[, N skipped]"; exit status 1
if anything failed.
"""

import argparse
import errno
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
import traceback
import uuid

QEMU_NAME = "qemu-system-x86_64"
DEBUG_EXIT = "isa-debug-exit,iobase=0x501,iosize=2"
HELLO_LINE = "hello from the qvmm functional test guest"


class Fail(Exception):
    pass


class Skip(Exception):
    pass


# ---------------------------------------------------------------- guests

LOAD_ADDR = 0x100000
CODE_OFF = 0x100
MSG_OFF = 0x180
NOTE_OFF = 0xB0


def pvh_elf(tail, message):
    """
    A PVH ELF64 image: one PT_LOAD at 1 MiB (headers included), a PT_NOTE
    with XEN_ELFNOTE_PHYS32_ENTRY, and 32-bit code that writes `message`
    to COM1 (polling LSR.THRE) and then runs `tail`.
    """
    code = bytearray()
    code += b"\xBE" + struct.pack("<I", LOAD_ADDR + MSG_OFF)  # mov esi, msg
    next_char = len(code)
    code += b"\x66\xBA\xFD\x03"      # mov dx, 0x3fd (LSR)
    code += b"\xEC\xA8\x20\x74\xFB"  # in al, dx; test al, 0x20; jz -5
    code += b"\xAC\x84\xC0\x74\x07"  # lodsb; test al, al; jz done
    code += b"\x66\xBA\xF8\x03\xEE"  # mov dx, 0x3f8; out dx, al
    code += b"\xEB" + struct.pack("<b", next_char - (len(code) + 2))
    code += tail                     # done:
    assert len(code) <= MSG_OFF - CODE_OFF

    image = bytearray(MSG_OFF) + message + b"\0"
    image[CODE_OFF:CODE_OFF + len(code)] = code
    note = struct.pack("<III4sI", 4, 4, 18, b"Xen\0", LOAD_ADDR + CODE_OFF)
    image[NOTE_OFF:NOTE_OFF + len(note)] = note
    ehdr = struct.pack("<16sHHIQQQIHHHHHH",
                       b"\x7fELF\x02\x01\x01" + bytes(9),
                       2, 62, 1,                 # ET_EXEC, EM_X86_64
                       LOAD_ADDR + CODE_OFF,     # e_entry
                       64, 0, 0,                 # phoff, shoff, flags
                       64, 56, 2, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, LOAD_ADDR, LOAD_ADDR,
                       len(image), len(image), 0x1000)
    pnote = struct.pack("<IIQQQQQQ", 4, 4, NOTE_OFF, LOAD_ADDR + NOTE_OFF,
                        LOAD_ADDR + NOTE_OFF, len(note), len(note), 4)
    image[0:64] = ehdr
    image[64:120] = load
    image[120:176] = pnote
    return bytes(image)


HLT_FOREVER = b"\xFA\xF4\xEB\xFC"                 # cli; hlt; jmp cli
GUESTS = {
    # 0x10 to isa-debug-exit: exit status 33
    "hello.elf": (b"\x66\xBA\x01\x05\xB0\x10\xEE" + HLT_FOREVER,
                  HELLO_LINE.encode() + b"\n"),
    # stays in the VM, vCPU halted, until the host ends it
    "halt.elf": (HLT_FOREVER, b"halting\n"),
    # a vCPU that never leaves KVM_RUN on its own
    "spin.elf": (b"\xEB\xFE", b"spinning\n"),
    # 0xfe to the i8042 command port: system reset
    "reset.elf": (b"\xB0\xFE\xE6\x64" + HLT_FOREVER, b"resetting\n"),
    # fwait in ring 0: KVM's instruction emulator here cannot run it
    "emulfail.elf": (b"\x9B" + HLT_FOREVER, b"about to fail\n"),
}


def make_guests(d):
    paths = {}
    for name, (tail, msg) in GUESTS.items():
        paths[name] = os.path.join(d, name)
        with open(paths[name], "wb") as f:
            f.write(pvh_elf(tail, msg))
    hello = pvh_elf(*GUESTS["hello.elf"])
    bad = {
        "garbage.bin": bytes((i * 151 + 7) & 0xff for i in range(8192)),
        "empty.bin": b"",
        # ELF header intact, program headers cut off
        "truncated-phdrs.elf": hello[:100],
        # headers intact, the segment runs past the end of the file
        "truncated-segment.elf": hello[:0x140],
    }
    for name, data in bad.items():
        paths[name] = os.path.join(d, name)
        with open(paths[name], "wb") as f:
            f.write(data)
    # raw images for the -drive/-blockdev cases (sparse)
    for name in ("disk.img", "disk2.img"):
        paths[name] = os.path.join(d, name)
        with open(paths[name], "wb") as f:
            f.truncate(1 << 20)
    return paths


# ---------------------------------------------------------------- harness

def lines_of(text):
    return text.splitlines()


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err
        self.err_lines = lines_of(err)

    def describe(self):
        return "exit %s, stdout %r, stderr %r" % (self.rc, self.out[-400:],
                                                   self.err[-800:])


class Tester:
    def __init__(self, binary, qemu, guest_dir, verbose):
        self.binary = binary
        self.qemu = qemu
        self.guest_dir = guest_dir
        self.verbose = verbose
        self.P = os.path.basename(binary) + ": "
        self.root = tempfile.mkdtemp(prefix="qvmm-functional-")
        self.guests = make_guests(self.root)
        self.ndirs = 0
        # QEMU names the sender by its argv[0] (/proc/PID/cmdline).
        with open("/proc/self/cmdline", "rb") as f:
            self.sender = f.read().split(b"\0")[0].decode()
        self.kvm_reason = self._check_kvm()
        # QEMU's default CPU model asks for features this host lacks and
        # says so once per start; that line is noise for these tests.
        self.noise = re.compile(
            r"^%s: warning: host doesn't support requested feature" %
            re.escape(QEMU_NAME)) if qemu else None

    @staticmethod
    def _check_kvm():
        try:
            fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        except OSError as e:
            return "/dev/kvm: %s" % os.strerror(e.errno)
        os.close(fd)
        return None

    def need_kvm(self):
        if self.kvm_reason:
            raise Skip("needs KVM (%s)" % self.kvm_reason)

    def newdir(self, name):
        self.ndirs += 1
        d = os.path.join(self.root, "%03d-%s" % (self.ndirs, name))
        os.mkdir(d)
        return d

    def subst(self, s, d):
        return (s.replace("{P}", self.P).replace("{D}", d)
                 .replace("{G}", self.root))

    def expand(self, args, d):
        return [self.subst(a, d) for a in args]

    def env(self, marker):
        env = dict(os.environ)
        env["LC_ALL"] = "C"
        env.pop("LANG", None)
        env.pop("LANGUAGE", None)
        env["QVMM_FT_MARKER"] = marker
        return env

    def filter_err(self, text):
        if not self.noise:
            return text
        kept = [l for l in text.splitlines(True) if not self.noise.match(l)]
        return "".join(kept)

    # -- leftover processes: every process we start carries a marker in
    #    its environment, which daemons and grandchildren inherit.
    @staticmethod
    def marked_pids(marker):
        want = ("QVMM_FT_MARKER=" + marker).encode()
        pids = []
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % p, "rb") as f:
                    if want in f.read().split(b"\0"):
                        pids.append(int(p))
            except OSError:
                pass
        return pids

    def check_no_leftovers(self, marker, grace=3.0):
        deadline = time.time() + grace
        while True:
            pids = self.marked_pids(marker)
            if not pids:
                return
            if time.time() > deadline:
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                raise Fail("processes left behind: %s" % pids)
            time.sleep(0.05)

    def run(self, args, d, timeout=30, stdin_data=None, wrapper=(),
            leftovers=True):
        """Run to completion; stdout/stderr captured."""
        marker = uuid.uuid4().hex
        cmd = list(wrapper) + [self.binary] + args
        if self.verbose:
            print("  $ " + " ".join(cmd), flush=True)
        try:
            p = subprocess.run(
                cmd, cwd=d, env=self.env(marker), timeout=timeout,
                input=stdin_data,
                stdin=None if stdin_data is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True)
        except subprocess.TimeoutExpired as e:
            for pid in self.marked_pids(marker):
                os.kill(pid, signal.SIGKILL)
            err = (e.stderr or b"").decode("utf-8", "replace")
            raise Fail("timed out after %ss (stderr so far: %r)" %
                       (timeout, err[-500:]))
        r = Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                   self.filter_err(p.stderr.decode("utf-8", "replace")))
        r.marker = marker
        if leftovers:
            self.check_no_leftovers(marker)
        return r

    def spawn(self, args, d, **kw):
        return Proc(self, args, d, **kw)

    # -- assertions
    def expect_lines(self, what, actual, expected, d=""):
        exp = [e if isinstance(e, re.Pattern) else self.subst(e, d)
               for e in expected]
        ok = len(actual) == len(exp) and all(
            (e.fullmatch(a) if isinstance(e, re.Pattern) else e == a)
            for e, a in zip(exp, actual))
        if not ok:
            raise Fail("%s:\n      expected %r\n      got      %r" %
                       (what, [e.pattern if isinstance(e, re.Pattern) else e
                               for e in exp], actual))

    def expect_rc(self, r, rc):
        if r.rc != rc:
            raise Fail("expected exit status %d, %s" % (rc, r.describe()))

    def signal_line(self, sig):
        """The exact line: QEMU names the sender by its argv[0]."""
        return "%sterminating on signal %d from pid %d (%s)" % (
            self.P, sig, os.getpid(), self.sender)

    def signal_re(self, sig):
        """The line with any sender name (signal_sender_name checks it)."""
        return re.compile(r"%sterminating on signal %d from pid %d( \(.*\))?"
                          % (re.escape(self.P), sig, os.getpid()))

    def boot_timeout(self):
        # QEMU runs SeaBIOS in KVM's emulator here: seconds per boot.
        return 90 if self.qemu else 30


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None


def wait_until(cond, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def pid_alive(pid):
    """True unless the process is gone or a zombie (it may not be ours)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def signals_ready(pid):
    """Whether the process blocks or catches SIGTERM yet: before that, a
    signal would kill it outright instead of being reported."""
    try:
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
    except OSError:
        return False
    mask = 0
    for key in ("SigBlk", "SigCgt"):
        m = re.search(r"^%s:\s*([0-9a-f]+)$" % key, status, re.M)
        if m:
            mask |= int(m.group(1), 16)
    return all(mask & (1 << (s - 1))
               for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))


class Proc:
    """A qvmm that keeps running; stdout and stderr go to files."""

    def __init__(self, t, args, d, stdin=subprocess.DEVNULL, stdout=None,
                 stderr=None, wrapper=(), preexec_fn=None):
        self.t = t
        self.d = d
        self.marker = uuid.uuid4().hex
        self.out_path = os.path.join(t.root, "%s.%s.out" %
                                     (os.path.basename(d), self.marker[:6]))
        self.err_path = self.out_path[:-4] + ".err"
        self.outf = open(self.out_path, "wb")
        self.errf = open(self.err_path, "wb")
        cmd = list(wrapper) + [t.binary] + args
        if t.verbose:
            print("  $ " + " ".join(cmd), flush=True)
        self.p = subprocess.Popen(
            cmd, cwd=d, env=t.env(self.marker), stdin=stdin,
            stdout=stdout if stdout is not None else self.outf,
            stderr=stderr if stderr is not None else self.errf,
            start_new_session=True, preexec_fn=preexec_fn)
        self.pid = self.p.pid

    def out(self):
        return read_file(self.out_path)

    def err(self):
        return self.t.filter_err(read_file(self.err_path))

    def alive(self):
        return self.p.poll() is None

    def wait_ready(self, timeout=15):
        """Until signals are handled (set up early in qvmm, later in QEMU)."""
        if not wait_until(lambda: signals_ready(self.pid) or
                          not self.alive(), timeout):
            raise Fail("signal handling not set up after %ss" % timeout)

    def terminate(self, sig=signal.SIGTERM):
        wait_until(lambda: signals_ready(self.pid) or not self.alive(), 15)
        if self.alive():
            self.p.send_signal(sig)

    def wait_for(self, what, text_fn, timeout):
        if not wait_until(lambda: what in (text_fn() or "") or
                          not self.alive(), timeout) or what not in (
                              text_fn() or ""):
            state = ("still running" if self.alive()
                     else "exited with %s" % self.p.returncode)
            raise Fail("%r did not appear within %ss (%s; stdout %r, "
                       "stderr %r)" % (what, timeout, state,
                                       (self.out() or "")[-300:],
                                       (self.err() or "")[-500:]))

    def wait_stdout(self, what, timeout):
        self.wait_for(what, self.out, timeout)

    def wait(self, timeout=20):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise Fail("did not exit within %ss (stderr %r)" %
                       (timeout, (self.err() or "")[-500:]))
        self.outf.close()
        self.errf.close()
        self.t.check_no_leftovers(self.marker)
        return Result(rc, self.out(), self.err())

    def kill(self):
        for pid in self.t.marked_pids(self.marker) + [self.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------- cases

CASES = []


def case(fn):
    CASES.append((fn.__name__, fn))
    return fn


class Deliberate:
    """qvmm differs from QEMU here on purpose; skipped under --qemu."""

    def __init__(self, why):
        self.why = why


def R(pattern):
    """A line matched as a regex; {P} is the escaped program prefix."""
    return ("re", pattern)


SIZE_HINT = ["Optional suffix k, M, G, T, P or E means kilo-, mega-, "
             "giga-, tera-, peta-",
             "and exabytes, respectively."]

# Arguments that get past the checks on -kernel and stop before the guest
# runs; -pidfile in the case directory checks that an error exit removes it.
LATE = ["-display", "none", "-S", "-kernel", "{G}/hello.elf",
        "-pidfile", "{D}/qvmm.pid"]

# (name, args, expected stderr lines, options)
#   kvm: qvmm reaches KVM set-up before this error
#   qemu: QEMU's own lines where only its prefix differs, or Deliberate
#   rc: expected exit status (1)
ERROR_CASES = [
    ("invalid-option", ["-foo"], ["{P}-foo: invalid option"], {}),
    ("object-invalid-type", ["-object", "foo,id=x"],
     ["{P}-object foo,id=x: Parameter 'qom-type' does not accept value "
      "'foo'"], {}),
    ("memory-backend-not-found", ["-machine", "memory-backend=nope"] + LATE,
     ["{P}Memory backend 'nope' not found"], {}),
    ("memory-backend-size-mismatch",
     ["-object", "memory-backend-ram,id=m0,size=64M",
      "-machine", "memory-backend=m0", "-m", "32"] + LATE,
     ["{P}Machine memory size does not match the size of the memory "
      "backend"], {}),

    ("invalid-option-dashdash", ["--foo"], ["{P}--foo: invalid option"], {}),
    ("m-requires-argument", ["-m"], ["{P}-m: requires an argument"], {}),
    ("kernel-requires-argument", ["-kernel"],
     ["{P}-kernel: requires an argument"], {}),
    ("m-not-a-size", ["-m", "foo"],
     ["{P}-m foo: Parameter 'size' expects a non-negative number below 2^64"]
     + SIZE_HINT, {}),
    ("m-negative", ["-m", "-1"],
     ["{P}-m -1: Parameter 'size' expects a non-negative number below 2^64"]
     + SIZE_HINT, {}),
    ("m-out-of-range", ["-m", "20E"],
     ["{P}-m 20E: Value '20E' is out of range for parameter 'size'"], {}),
    ("m-invalid-parameter", ["-m", "size=1G,foo=1"],
     ["{P}-m size=1G,foo=1: Invalid parameter 'foo'"], {}),
    ("m-maxmem-below-size", ["-m", "1T,maxmem=512M"],
     ["{P}invalid value of maxmem: maximum memory size (0x20000000) must be "
      "at least the initial memory size (0x10000000000)"], {}),
    ("m-slots-without-maxmem", ["-m", "512M,slots=2"],
     ["{P}slots specified but no max-size"], {}),
    ("m-too-many-slots", ["-m", "1G,maxmem=2G,slots=300"] + LATE,
     ["{P}unsupported amount of memory slots: 300"], {"kvm": True}),
    ("smp-product-mismatch", ["-smp", "4,sockets=2,cores=1,threads=1"],
     ["{P}Invalid CPU topology: product of the hierarchy must match maxcpus: "
      "sockets (2) * dies (1) * cores (1) * threads (1) != maxcpus (4)"], {}),
    ("smp-maxcpus-below-cpus", ["-smp", "4,maxcpus=2"],
     ["{P}Invalid CPU topology: maxcpus must be equal to or greater than "
      "smp: sockets (1) * dies (1) * cores (2) * threads (1) == maxcpus (2) "
      "< smp_cpus (4)"], {}),
    ("smp-above-machine-max", ["-smp", "256"],
     ["{P}Invalid SMP CPUs 256. The max CPUs supported by machine "
      "'pc-i440fx-7.2' is 255"], {}),
    ("smp-maxcpus-above-machine-max", ["-smp", "1,maxcpus=300"],
     ["{P}Invalid SMP CPUs 300. The max CPUs supported by machine "
      "'pc-i440fx-7.2' is 255"], {}),
    ("smp-not-a-number", ["-smp", "foo"],
     ["{P}Parameter 'smp.cpus' expects integer"], {}),
    ("smp-unknown-key", ["-smp", "2,foo=1"],
     ["{P}Parameter 'smp.foo' is unexpected"], {}),
    ("append-without-kernel", ["-append", "x"],
     ["{P}-append only allowed with -kernel option"], {}),
    ("initrd-without-kernel", ["-initrd", "x"],
     ["{P}-initrd only allowed with -kernel option"], {}),
    ("machine-unknown-type", ["-machine", "foo"],
     ["{P}unsupported machine type",
      "Use -machine help to list supported machines"], {}),
    ("machine-q35-refused", ["-machine", "q35"] + LATE,
     ["{P}unsupported machine type",
      "Use -machine help to list supported machines"],
     {"qemu": Deliberate("qvmm has only the pc machine; QEMU starts q35")}),
    ("machine-unknown-property", ["-machine", "foo=bar"],
     ["{P}Property 'pc-i440fx-7.2-machine.foo' not found"], {}),
    ("machine-usb-not-bool", ["-machine", "pc,usb=foo"],
     ["{P}Parameter 'usb' expects 'on' or 'off'"], {}),
    ("machine-invalid-accel", ["-machine", "accel=foo"],
     ["{P}invalid accelerator foo"], {}),
    ("accel-invalid", ["-accel", "foo"],
     ["{P}-accel foo: invalid accelerator foo"], {}),
    ("accel-unknown-property", ["-accel", "kvm,foo=1"],
     ["{P}-accel kvm,foo=1: Property 'kvm-accel.foo' not found"], {}),
    ("accel-tcg-refused", ["-accel", "tcg"] + LATE,
     [R(r"{P}-accel tcg: .*\btcg\b.*")],
     {"qemu": Deliberate("qvmm runs on KVM only; QEMU starts TCG")}),
    ("machine-accel-tcg-refused", ["-machine", "accel=tcg"] + LATE,
     [R(r"{P}(-machine accel=tcg: )?.*\btcg\b.*")],
     {"qemu": Deliberate("qvmm runs on KVM only; QEMU starts TCG")}),
    ("accel-and-machine-accel", ["-accel", "kvm", "-machine", "accel=kvm"],
     ["{P}The -accel and \"-machine accel=\" options are incompatible"], {}),
    ("enable-kvm-and-accel", ["-enable-kvm", "-accel", "kvm"],
     ["{P}The -accel and \"-machine accel=\" options are incompatible"], {}),
    ("cpu-unknown-model", ["-cpu", "foo"] + LATE,
     ["{P}unable to find CPU model 'foo'"], {"kvm": True}),
    ("name-invalid-parameter", ["-name", "foo,bar=1"],
     ["{P}-name foo,bar=1: Invalid parameter 'bar'"], {}),
    ("display-unknown", ["-display", "foo"],
     ["{P}-display foo: Parameter 'type' does not accept value 'foo'"], {}),
    ("display-gtk-refused", ["-display", "gtk"],
     [R(r"{P}-display gtk: .*")],
     {"qemu": Deliberate("qvmm has no graphical display")}),
    ("vga-std-refused", ["-vga", "std"] + LATE,
     [R(r"{P}-vga std: .*")],
     {"qemu": Deliberate("qvmm has no display adapter")}),
    ("drive-missing-file", ["-drive", "file={D}/missing,if=none,format=raw"],
     ["{P}-drive file={D}/missing,if=none,format=raw: Could not open "
      "'{D}/missing': No such file or directory"], {}),
    ("drive-directory", ["-drive", "file={D},if=none,format=raw,readonly=on"],
     ["{P}-drive file={D},if=none,format=raw,readonly=on: 'file' driver "
      "requires '{D}' to be a regular file"], {}),
    ("drive-unknown-format", ["-drive", "file={G}/disk.img,if=none,format=foo"],
     ["{P}-drive file={G}/disk.img,if=none,format=foo: Unknown driver 'foo'"],
     {}),
    ("drive-qcow2-refused",
     ["-drive", "file={G}/disk.img,if=none,format=qcow2"] + LATE,
     [R(r"{P}-drive file={G}/disk\.img,if=none,format=qcow2: .*'qcow2'.*"
        r"not supported by qvmm.*")],
     {"qemu": Deliberate("qvmm has only raw images; QEMU opens qcow2")}),
    ("drive-unknown-option",
     ["-drive", "file={G}/disk.img,if=none,format=raw,foo=bar"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,foo=bar: Block format "
      "'raw' does not support the option 'foo'"], {}),
    ("drive-bad-cache", ["-drive", "file={G}/disk.img,if=none,format=raw,"
                                   "cache=foo"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,cache=foo: invalid "
      "cache option"], {}),
    ("drive-bad-aio", ["-drive", "file={G}/disk.img,if=none,format=raw,"
                                 "aio=foo"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,aio=foo: invalid aio "
      "option"], {}),
    ("drive-aio-native-needs-direct",
     ["-drive", "file={G}/disk.img,if=none,format=raw,aio=native"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,aio=native: aio=native "
      "was specified, but it requires cache.direct=on, which was not "
      "specified."], {}),
    ("drive-bad-werror", ["-drive", "file={G}/disk.img,if=none,format=raw,"
                                    "werror=foo"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,werror=foo: 'foo' "
      "invalid write error action"], {}),
    ("drive-rerror-enospc", ["-drive", "file={G}/disk.img,if=none,"
                                       "format=raw,rerror=enospc"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,rerror=enospc: "
      "'enospc' invalid read error action"], {}),
    ("drive-bad-discard", ["-drive", "file={G}/disk.img,if=none,format=raw,"
                                     "discard=foo"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,discard=foo: Invalid "
      "discard option"], {}),
    ("drive-readonly-not-bool", ["-drive", "file={G}/disk.img,if=none,"
                                           "format=raw,readonly=foo"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,readonly=foo: "
      "Parameter 'read-only' expects 'on' or 'off'"], {}),
    ("drive-bad-locking", ["-drive", "file={G}/disk.img,if=none,format=raw,"
                                     "file.locking=foo"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,file.locking=foo: "
      "invalid parameter value: foo"], {}),
    ("drive-id-not-identifier", ["-drive", "file={G}/disk.img,if=none,"
                                           "format=raw,id=1a"],
     ["{P}-drive file={G}/disk.img,if=none,format=raw,id=1a: Parameter 'id' "
      "expects an identifier",
      "Identifiers consist of letters, digits, '-', '.', '_', starting with "
      "a letter."], {}),
    ("drive-duplicate-id",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=a",
      "-drive", "file={G}/disk2.img,if=none,format=raw,id=a"],
     ["{P}-drive file={G}/disk2.img,if=none,format=raw,id=a: Duplicate ID "
      "'a' for drive"], {}),
    ("drive-no-file", ["-drive", "if=none,format=raw"],
     ["{P}-drive if=none,format=raw: A block device must be specified for "
      "\"file\""], {}),
    ("drive-if-scsi", ["-drive", "file={G}/disk.img,if=scsi,format=raw"],
     ["{P}-drive file={G}/disk.img,if=scsi,format=raw: machine type does "
      "not support if=scsi,bus=0,unit=0"], {}),
    ("drive-if-unknown", ["-drive", "file={G}/disk.img,if=foo,format=raw"],
     ["{P}-drive file={G}/disk.img,if=foo,format=raw: unsupported bus type "
      "'foo'"], {}),
    ("drive-if-ide-refused",
     ["-drive", "file={G}/disk.img,if=ide,format=raw"] + LATE,
     [R(r"{P}-drive file={G}/disk\.img,if=ide,format=raw: if=ide is not "
        r"supported by qvmm.*")],
     {"qemu": Deliberate("qvmm has no IDE controller")}),
    ("drive-no-if-refused", ["-drive", "file={G}/disk.img,format=raw"] + LATE,
     [R(r"{P}-drive file={G}/disk\.img,format=raw: .*IDE.*if=virtio.*")],
     {"qemu": Deliberate("QEMU's default interface is IDE, which qvmm "
                         "lacks")}),
    # The probing warning, then a later error ends the run.
    ("drive-probed-raw-warning",
     ["-drive", "file={G}/disk.img,if=none", "-device", "foo"] + LATE,
     ["WARNING: Image format was not specified for '{G}/disk.img' and "
      "probing guessed raw.",
      "         Automatically detecting the format is dangerous for raw "
      "images, write operations on block 0 will be restricted.",
      "         Specify the 'raw' format explicitly to remove the "
      "restrictions.",
      "{P}-device foo: 'foo' is not a valid device model name"],
     {"kvm": True}),
    ("blockdev-bad-driver", ["-blockdev", "driver=foo,node-name=d"],
     ["{P}-blockdev driver=foo,node-name=d: Parameter 'driver' does not "
      "accept value 'foo'"], {}),
    ("blockdev-no-filename", ["-blockdev", "driver=file,node-name=f0"],
     ["{P}-blockdev driver=file,node-name=f0: Parameter 'filename' is "
      "missing"], {}),
    ("blockdev-no-node-name", ["-blockdev", "driver=file,"
                                            "filename={G}/disk.img"],
     ["{P}-blockdev driver=file,filename={G}/disk.img: 'node-name' must be "
      "specified for the root node"], {}),
    ("blockdev-unexpected", ["-blockdev", "driver=file,node-name=f0,"
                                          "filename={G}/disk.img,foo=1"],
     ["{P}-blockdev driver=file,node-name=f0,filename={G}/disk.img,foo=1: "
      "Parameter 'foo' is unexpected"], {}),
    ("blockdev-aio-native-needs-direct",
     ["-blockdev", "driver=file,node-name=f0,filename={G}/disk.img,"
                   "aio=native"],
     ["{P}-blockdev driver=file,node-name=f0,filename={G}/disk.img,"
      "aio=native: aio=native was specified, but it requires "
      "cache.direct=on, which was not specified."], {}),
    ("blockdev-bad-bool", ["-blockdev", "driver=file,node-name=f0,"
                                        "filename={G}/disk.img,"
                                        "cache.direct=foo"],
     ["{P}-blockdev driver=file,node-name=f0,filename={G}/disk.img,"
      "cache.direct=foo: Parameter 'cache.direct' expects 'on' or 'off'"],
     {}),
    ("blockdev-duplicate-node",
     ["-blockdev", "driver=file,node-name=f0,filename={G}/disk.img",
      "-blockdev", "driver=file,node-name=f0,filename={G}/disk2.img"],
     ["{P}-blockdev driver=file,node-name=f0,filename={G}/disk2.img: "
      "Duplicate nodes with node-name='f0'"], {}),
    ("blockdev-missing-ref",
     ["-blockdev", "driver=raw,node-name=r0,file=nope"],
     ["{P}-blockdev driver=raw,node-name=r0,file=nope: Cannot find "
      "device='nope' nor node-name='nope'"], {}),
    ("blockdev-json-unexpected",
     ["-blockdev", '{"driver":"raw","node-name":"d","file":{"driver":'
                   '"file","filename":"{G}/disk.img","bogus":1}}'],
     ['{P}-blockdev {"driver":"raw","node-name":"d","file":{"driver":'
      '"file","filename":"{G}/disk.img","bogus":1}}: Parameter '
      "'file.bogus' is unexpected"], {}),
    ("blockdev-json-bad-type",
     ["-blockdev", '{"driver":"raw","node-name":"d","read-only":"yes",'
                   '"file":{"driver":"file","filename":"{G}/disk.img"}}'],
     ['{P}-blockdev {"driver":"raw","node-name":"d","read-only":"yes",'
      '"file":{"driver":"file","filename":"{G}/disk.img"}}: Invalid '
      "parameter type for 'read-only', expected: boolean"], {}),
    ("blockdev-bad-node-name", ["-blockdev", "driver=file,node-name=1f,"
                                             "filename={G}/disk.img"],
     ["{P}-blockdev driver=file,node-name=1f,filename={G}/disk.img: Invalid "
      "node-name: '1f'"], {}),
    ("drive-id-conflicts-with-node",
     ["-blockdev", "driver=file,node-name=f0,filename={G}/disk.img",
      "-drive", "file={G}/disk2.img,if=none,format=raw,id=f0"],
     ["{P}-drive file={G}/disk2.img,if=none,format=raw,id=f0: Device name "
      "'f0' conflicts with an existing node name"], {}),
    ("iothread-duplicate-id",
     ["-object", "iothread,id=io0", "-object", "iothread,id=io0"],
     ["{P}-object iothread,id=io0: Duplicate ID 'io0' for object"], {}),
    ("iothread-no-id", ["-object", "iothread"],
     ["{P}-object iothread: Parameter 'id' is missing"], {}),
    ("iothread-invalid-parameter", ["-object", "iothread,id=io0,foo=1"],
     ["{P}-object iothread,id=io0,foo=1: Invalid parameter 'foo'"], {}),
    ("iothread-polling-refused",
     ["-object", "iothread,id=io0,poll-max-ns=0"] + LATE,
     [R(r"{P}-object iothread,id=io0,poll-max-ns=0: .*poll-max-ns.*")],
     {"qemu": Deliberate("qvmm's I/O threads do not poll")}),
    ("disk-image-argument-refused", ["disk.img"] + LATE,
     [R(r"{P}disk\.img: .*")],
     {"qemu": Deliberate("qvmm has no -hda")}),
    ("no-kernel-refused", ["-display", "none"],
     [R(r"{P}.*-kernel.*")],
     {"qemu": Deliberate("qvmm has no firmware; QEMU runs SeaBIOS")}),
    ("nographic-daemonize", ["-nographic", "-daemonize"],
     ["{P}-nographic cannot be used with -daemonize"], {}),
    # QEMU refuses while the default monitor or parallel port would still
    # be on the terminal, even if the serial port is redirected.
    ("nographic-daemonize-serial-redirected",
     ["-nographic", "-daemonize", "-serial", "null"],
     ["{P}-nographic cannot be used with -daemonize"], {}),
    ("device-unknown", ["-device", "foo"] + LATE,
     ["{P}-device foo: 'foo' is not a valid device model name"],
     {"kvm": True}),
    ("device-unknown-property", ["-device", "isa-debug-exit,bar=1"] + LATE,
     ["{P}-device isa-debug-exit,bar=1: Property 'isa-debug-exit.bar' "
      "not found"], {"kvm": True}),
    ("device-bad-integer", ["-device", "isa-debug-exit,iobase=foo"] + LATE,
     ["{P}-device isa-debug-exit,iobase=foo: Parameter 'iobase' expects "
      "integer"], {"kvm": True}),
    ("device-bad-uint32", ["-device", "isa-debug-exit,iosize=-1"] + LATE,
     ["{P}-device isa-debug-exit,iosize=-1: Parameter 'iosize' expects "
      "uint32_t"], {"kvm": True}),
    ("virtio-blk-no-drive", ["-device", "virtio-blk-pci"] + LATE,
     ["{P}-device virtio-blk-pci: drive property not set"], {"kvm": True}),
    ("virtio-blk-unknown-drive", ["-device", "virtio-blk-pci,drive=d9"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d9: Property "
      "'virtio-blk-device.drive' can't find value 'd9'"], {"kvm": True}),
    ("virtio-blk-drive-in-use",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0",
      "-device", "virtio-blk-pci,drive=d0"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0: Drive 'd0' is already in use by "
      "another device"], {"kvm": True}),
    ("virtio-blk-queue-size-small",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,queue-size=2"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,queue-size=2: invalid queue-size "
      "property (2), must be > 2"], {"kvm": True}),
    ("virtio-blk-queue-size-pow2",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,queue-size=3"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,queue-size=3: invalid queue-size "
      "property (3), must be a power of 2 (max 1024)"], {"kvm": True}),
    ("virtio-blk-num-queues-zero",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,num-queues=0"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,num-queues=0: num-queues property "
      "must be larger than 0"], {"kvm": True}),
    ("virtio-blk-block-size",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,logical_block_size=1000"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,logical_block_size=1000: Property "
      ".logical_block_size doesn't take value '1000', it's not a power of 2"],
     {"kvm": True}),
    ("virtio-blk-logical-over-physical",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,logical_block_size=4096"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,logical_block_size=4096: "
      "logical_block_size > physical_block_size not supported"],
     {"kvm": True}),
    ("virtio-blk-bad-werror",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,werror=foo"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,werror=foo: Parameter 'werror' "
      "does not accept value 'foo'"], {"kvm": True}),
    ("virtio-blk-bad-write-cache",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,write-cache=maybe"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,write-cache=maybe: Parameter "
      "'write-cache' does not accept value 'maybe'"], {"kvm": True}),
    ("virtio-blk-bad-bootindex",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,bootindex=x"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,bootindex=x: Parameter "
      "'bootindex' expects integer"], {"kvm": True}),
    ("virtio-blk-unknown-iothread",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,iothread=io9"] + LATE,
     ["{P}-device virtio-blk-pci,drive=d0,iothread=io9: Device 'io9' not "
      "found"], {"kvm": True}),
    ("virtio-blk-legacy-refused",
     ["-drive", "file={G}/disk.img,if=none,format=raw,id=d0",
      "-device", "virtio-blk-pci,drive=d0,disable-legacy=off"] + LATE,
     [R(r"{P}-device virtio-blk-pci,drive=d0,disable-legacy=off: .*legacy.*")],
     {"kvm": True,
      "qemu": Deliberate("qvmm offers only modern virtio; QEMU's device is "
                         "transitional")}),
    ("chardev-unknown-backend", ["-chardev", "foo,id=x"] + LATE,
     ["{P}-chardev foo,id=x: 'foo' is not a valid char driver name"],
     {"kvm": True}),
    ("chardev-no-id", ["-chardev", "null"] + LATE,
     ["{P}-chardev null: chardev: no id specified"], {"kvm": True}),
    ("chardev-duplicate-id",
     ["-chardev", "null,id=a", "-chardev", "null,id=a"] + LATE,
     ["{P}-chardev null,id=a: Duplicate ID 'a' for chardev"], {"kvm": True}),
    ("chardev-file-no-path", ["-chardev", "file,id=c"] + LATE,
     ["{P}-chardev file,id=c: chardev: file: no filename given"],
     {"kvm": True}),
    ("serial-unknown-backend", ["-serial", "foo:bar"] + LATE,
     ["{P}-serial foo:bar: 'foo:bar' is not a valid char driver",
      "{P}-serial foo:bar: could not connect serial device to character "
      "backend 'foo:bar'"], {"kvm": True}),
    ("serial-unknown-chardev", ["-serial", "chardev:nope"] + LATE,
     ["{P}-serial chardev:nope: could not connect serial device to "
      "character backend 'chardev:nope'"], {"kvm": True}),
    ("serial-file-bad-dir", ["-serial", "file:{D}/nodir/out"] + LATE,
     ["{P}-serial file:{D}/nodir/out: Could not open '{D}/nodir/out': "
      "No such file or directory",
      "{P}-serial file:{D}/nodir/out: could not connect serial device to "
      "character backend 'file:{D}/nodir/out'"], {"kvm": True}),
    ("serial-stdio-twice", ["-serial", "stdio", "-serial", "stdio"] + LATE,
     ["{P}-serial stdio: cannot use stdio by multiple character devices",
      "{P}-serial stdio: could not connect serial device to character "
      "backend 'stdio'"], {"kvm": True}),
    ("chardev-stdio-twice",
     ["-chardev", "stdio,id=a", "-chardev", "stdio,id=b"] + LATE,
     ["{P}-chardev stdio,id=b: cannot use stdio by multiple character "
      "devices"], {"kvm": True}),
    ("chardev-socket-bind-fails",
     ["-chardev", "socket,id=s,path={D}/nodir/s,server=on,wait=off"] + LATE,
     ["{P}-chardev socket,id=s,path={D}/nodir/s,server=on,wait=off: Failed "
      "to bind socket to {D}/nodir/s: No such file or directory"],
     {"kvm": True}),
    ("serial-unix-bind-fails",
     ["-serial", "unix:{D}/nodir/s,server=on,wait=off"] + LATE,
     ["{P}-serial unix:{D}/nodir/s,server=on,wait=off: Failed to bind "
      "socket to {D}/nodir/s: No such file or directory",
      "{P}-serial unix:{D}/nodir/s,server=on,wait=off: could not connect "
      "serial device to character backend "
      "'unix:{D}/nodir/s,server=on,wait=off'"], {"kvm": True}),
    ("serial-tcp-connect-refused", ["-serial", "tcp:127.0.0.1:1"] + LATE,
     ["{P}-serial tcp:127.0.0.1:1: Failed to connect to '127.0.0.1:1': "
      "Connection refused",
      "{P}-serial tcp:127.0.0.1:1: could not connect serial device to "
      "character backend 'tcp:127.0.0.1:1'"], {"kvm": True}),
    ("serial-five-ports", ["-serial", "null"] * 5 + LATE,
     [R(r"{P}(-serial null: )?too many serial ports")],
     {"kvm": True, "qemu": Deliberate(
         "QEMU 7.2 accepts a fifth -serial and leaves it unconnected")}),
    ("pidfile-bad-dir",
     ["-display", "none", "-S", "-kernel", "{G}/hello.elf",
      "-pidfile", "{D}/nodir/pid"],
     ["{P}cannot create PID file: Could not create '{D}/nodir/pid': "
      "No such file or directory"], {}),
    ("kernel-missing", ["-display", "none", "-S", "-kernel", "{D}/missing"],
     ["{P}could not open kernel file '{D}/missing': No such file or "
      "directory"],
     {"kvm": True, "qemu": ["qemu: could not open kernel file '{D}/missing': "
                            "No such file or directory"]}),
    ("kernel-directory", ["-display", "none", "-S", "-kernel", "{D}"],
     ["{P}could not load kernel '{D}': Is a directory"],
     {"kvm": True, "qemu": ["qemu: could not load kernel '{D}': "
                            "Is a directory"]}),
    ("kernel-empty", ["-display", "none", "-S", "-kernel", "{G}/empty.bin"],
     [R(r"{P}.*'{G}/empty\.bin'.*")],
     {"kvm": True, "qemu": Deliberate(
         "QEMU prints a stale errno: could not load kernel '...': No such "
         "file or directory")}),
    ("kernel-garbage", ["-display", "none", "-S", "-kernel",
                        "{G}/garbage.bin"],
     [R(r"{P}.*'{G}/garbage\.bin'.*")],
     {"kvm": True, "qemu": Deliberate(
         "QEMU: 'qemu: invalid kernel header', without the file name")}),
    ("kernel-truncated-phdrs", ["-display", "none", "-S", "-kernel",
                                "{G}/truncated-phdrs.elf"],
     [R(r"{P}.*'{G}/truncated-phdrs\.elf'.*")],
     {"kvm": True, "qemu": Deliberate(
         "QEMU: 'Error while loading elf kernel', without the file name")}),
    ("kernel-truncated-segment", ["-display", "none", "-S", "-kernel",
                                  "{G}/truncated-segment.elf"],
     [R(r"{P}.*'{G}/truncated-segment\.elf'.*")],
     {"kvm": True, "qemu": Deliberate(
         "QEMU: 'Error while loading elf kernel', without the file name")}),
    ("initrd-missing", ["-display", "none", "-S", "-kernel", "{G}/hello.elf",
                        "-initrd", "{D}/missing"],
     ["{P}error reading initrd {D}/missing: Failed to open file "
      "\u201c{D}/missing\u201d: open() failed: No such file or directory"],
     {"kvm": True, "qemu": [
         "qemu: error reading initrd {D}/missing: Failed to open file "
         "\u201c{D}/missing\u201d: open() failed: No such file or "
         "directory"]}),
]


def make_error_case(name, args, expected, opts):
    def fn(t):
        qemu_exp = opts.get("qemu")
        if t.qemu and isinstance(qemu_exp, Deliberate):
            raise Skip("deliberate difference: " + qemu_exp.why)
        if opts.get("kvm"):
            t.need_kvm()
        exp = qemu_exp if (t.qemu and qemu_exp) else expected
        d = t.newdir(name)
        before = sorted(os.listdir(d))
        r = t.run(t.expand(args, d), d, timeout=30 if t.qemu else 15)
        t.expect_rc(r, opts.get("rc", 1))
        t.expect_lines("stderr", r.err_lines, [
            re.compile(t.subst(e[1].replace("{P}", re.escape(t.P))
                               .replace("{G}", re.escape(t.root)), d))
            if isinstance(e, tuple) else e for e in exp], d)
        if r.out:
            raise Fail("unexpected stdout %r" % r.out[:300])
        after = sorted(os.listdir(d))
        if after != before:
            raise Fail("files left behind: %s" % sorted(set(after) -
                                                        set(before)))
    fn.__name__ = name
    return fn


for _name, _args, _exp, _opts in ERROR_CASES:
    CASES.append(("error:" + _name, make_error_case(_name, _args, _exp,
                                                    _opts)))


# -- information options

@case
def version(t):
    for opt in ("-version", "--version"):
        r = t.run([opt], t.root)
        t.expect_rc(r, 0)
        if r.err:
            raise Fail("stderr %r" % r.err)
        first = lines_of(r.out)[0] if r.out else ""
        pat = (r"QEMU emulator version 7\.2\.\d+ \(.*\)" if t.qemu else
               r"QEMU emulator version 7\.2\.\d+ \(qvmm [^)]+\)")
        if not re.fullmatch(pat, first):
            raise Fail("%s: first line %r does not match %r" %
                       (opt, first, pat))


@case
def help(t):
    for opt in ("-help", "-h", "--help"):
        r = t.run([opt], t.root)
        t.expect_rc(r, 0)
        if r.err:
            raise Fail("stderr %r" % r.err)
        lines = lines_of(r.out)
        if not lines or not lines[0].startswith("QEMU emulator version 7.2."):
            raise Fail("%s: does not start with the version line: %r" %
                       (opt, r.out[:200]))
        if not any(re.match(r"usage: \S+ \[options\]", l) for l in lines):
            raise Fail("%s: no 'usage:' line" % opt)
        for o in ("-kernel", "-append", "-serial", "-daemonize"):
            if not any(l.startswith(o + " ") for l in lines):
                raise Fail("%s: %s is not described" % (opt, o))


@case
def machine_help(t):
    r = t.run(["-machine", "help"], t.root)
    t.expect_rc(r, 0)
    lines = lines_of(r.out)
    if not lines or lines[0] != "Supported machines are:":
        raise Fail("first line %r" % (lines[:1],))
    for want in (r"pc\s+Standard PC \(i440FX \+ PIIX, 1996\) "
                 r"\(alias of pc-i440fx-7\.2\)",
                 r"pc-i440fx-7\.2\s+Standard PC \(i440FX \+ PIIX, 1996\) "
                 r"\(default\)"):
        if not any(re.fullmatch(want, l) for l in lines):
            raise Fail("no line matching %r in %r" % (want, lines[:10]))


@case
def device_help(t):
    r = t.run(["-device", "help"], t.root)
    t.expect_rc(r, 0)
    if 'name "isa-debug-exit", bus ISA' not in lines_of(r.out):
        raise Fail('no line \'name "isa-debug-exit", bus ISA\' in %r' %
                   r.out[:600])
    r = t.run(["-device", "isa-debug-exit,help"], t.root)
    t.expect_rc(r, 0)
    t.expect_lines("stdout", lines_of(r.out), [
        "isa-debug-exit options:",
        "  iobase=<uint32>        -  (default: 1281)",
        "  iosize=<uint32>        -  (default: 2)"])


@case
def cpu_help(t):
    r = t.run(["-cpu", "help"], t.root)
    t.expect_rc(r, 0)
    lines = lines_of(r.out)
    if not lines or lines[0] != "Available CPUs:":
        raise Fail("first line %r" % (lines[:1],))
    for model in ("host", "max"):
        if not any(re.match(r"x86 %s\s" % model, l) for l in lines):
            raise Fail("model %s not listed: %r" % (model, lines[:10]))


# -- KVM hidden

def unshare_wrapper(t, script):
    if os.geteuid() != 0:
        raise Skip("needs root to unshare a mount namespace")
    if not shutil.which("unshare"):
        raise Skip("unshare(1) is not installed")
    probe = subprocess.run(["unshare", "-m", "--propagation", "private",
                            "true"], stderr=subprocess.PIPE)
    if probe.returncode != 0:
        raise Skip("unshare -m fails here: %s" %
                   probe.stderr.decode(errors="replace").strip())
    return ["unshare", "-m", "--propagation", "private",
            "sh", "-c", script + ' && exec "$@"', "sh"]


@case
def kvm_device_missing(t):
    wrapper = unshare_wrapper(t, "mount -t tmpfs none /dev")
    d = t.newdir("kvm-missing")
    r = t.run(["-enable-kvm", "-display", "none", "-kernel",
               t.guests["hello.elf"]], d, wrapper=wrapper)
    t.expect_rc(r, 1)
    if t.qemu:
        t.expect_lines("stderr", r.err_lines, [
            "Could not access KVM kernel module: No such file or directory",
            "{P}failed to initialize kvm: No such file or directory"])
    else:
        t.expect_lines("stderr", r.err_lines, [
            "{P}Could not access KVM kernel module: No such file or "
            "directory"])


@case
def kvm_device_not_kvm(t):
    wrapper = unshare_wrapper(t, "mount --bind /dev/null /dev/kvm")
    d = t.newdir("kvm-is-null")
    r = t.run(["-enable-kvm", "-display", "none", "-kernel",
               t.guests["hello.elf"]], d, wrapper=wrapper)
    t.expect_rc(r, 1)
    if t.qemu:
        t.expect_lines("stderr", r.err_lines, [
            "kvm version too old",
            "{P}failed to initialize kvm: Inappropriate ioctl for device"])
    else:
        t.expect_lines("stderr", r.err_lines, [
            re.compile(re.escape(t.P) + r".*\b(kvm|KVM)\b.*")])


# -- booting

def hello_args(t, *extra, kernel=None):
    return ["-enable-kvm", "-kernel", kernel or t.guests["hello.elf"],
            "-device", DEBUG_EXIT] + list(extra)


def expect_hello(t, r, text, line=HELLO_LINE):
    t.expect_rc(r, 33)
    # (under QEMU, SeaBIOS output precedes it on the same line)
    if line + "\n" not in (text or "").replace("\r", ""):
        raise Fail("guest line %r missing from %r" % (line, text))
    if r.err:
        raise Fail("unexpected stderr %r" % r.err)


@case
def boot_nographic_pipe(t):
    """-nographic with stdin a pipe: guest output on stdout, status 33."""
    t.need_kvm()
    d = t.newdir("nographic")
    r = t.run(hello_args(t, "-nographic"), d, stdin_data=b"",
              timeout=t.boot_timeout())
    expect_hello(t, r, r.out)


@case
def boot_serial_stdio(t):
    t.need_kvm()
    d = t.newdir("serial-stdio")
    r = t.run(hello_args(t, "-display", "none", "-serial", "stdio"), d,
              timeout=t.boot_timeout())
    expect_hello(t, r, r.out)


@case
def boot_serial_file(t):
    t.need_kvm()
    d = t.newdir("serial-file")
    out = os.path.join(d, "serial.log")
    r = t.run(hello_args(t, "-display", "none", "-serial", "file:" + out), d,
              timeout=t.boot_timeout())
    expect_hello(t, r, read_file(out))
    if read_file(out) != HELLO_LINE + "\n":
        raise Fail("serial file holds %r" % read_file(out))
    if r.out:
        raise Fail("unexpected stdout %r" % r.out)


@case
def boot_serial_null(t):
    t.need_kvm()
    d = t.newdir("serial-null")
    r = t.run(hello_args(t, "-display", "none", "-serial", "null"), d,
              timeout=t.boot_timeout())
    t.expect_rc(r, 33)
    if r.out or r.err:
        raise Fail("unexpected output: %s" % r.describe())


@case
def boot_chardev_file(t):
    t.need_kvm()
    d = t.newdir("chardev-file")
    out = os.path.join(d, "c.log")
    with open(out, "w") as f:
        f.write("stale contents, truncated at start\n")
    r = t.run(hello_args(t, "-display", "none", "-chardev",
                         "file,id=c0,path=" + out, "-serial", "chardev:c0"),
              d, timeout=t.boot_timeout())
    expect_hello(t, r, read_file(out))
    if read_file(out) != HELLO_LINE + "\n":
        raise Fail("chardev file holds %r" % read_file(out))


@case
def boot_chardev_stdio(t):
    t.need_kvm()
    d = t.newdir("chardev-stdio")
    r = t.run(hello_args(t, "-display", "none", "-chardev", "stdio,id=c0",
                         "-serial", "chardev:c0"), d,
              timeout=t.boot_timeout())
    expect_hello(t, r, r.out)


def kvm_check_extension(cap):
    import fcntl
    fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    try:
        return fcntl.ioctl(fd, 0xAE03, cap)      # KVM_CHECK_EXTENSION
    finally:
        os.close(fd)


@case
def boot_smp2(t):
    t.need_kvm()
    d = t.newdir("smp2")
    r = t.run(hello_args(t, "-display", "none", "-serial", "stdio",
                         "-smp", "2", "-m", "256"), d,
              timeout=t.boot_timeout())
    expect_hello(t, r, r.out)


@case
def boot_smp_above_recommended(t):
    """More vCPUs than KVM_CAP_NR_VCPUS: QEMU warns, twice, and boots."""
    t.need_kvm()
    rec = kvm_check_extension(9)                 # KVM_CAP_NR_VCPUS
    if rec + 2 > 255:
        raise Skip("KVM recommends %d vCPUs, above the machine's limit" % rec)
    n = rec + 2
    d = t.newdir("smp-above-recommended")
    r = t.run(hello_args(t, "-display", "none", "-serial", "stdio",
                         "-smp", str(n)), d, timeout=t.boot_timeout())
    t.expect_rc(r, 33)
    t.expect_lines("stderr", r.err_lines, [
        "{P}warning: Number of SMP cpus requested (%d) exceeds the "
        "recommended cpus supported by KVM (%d)" % (n, rec),
        "{P}warning: Number of hotpluggable cpus requested (%d) exceeds the "
        "recommended cpus supported by KVM (%d)" % (n, rec)])


@case
def boot_smp0_warns(t):
    """-smp 0 is deprecated, not an error: a warning, then it boots."""
    t.need_kvm()
    d = t.newdir("smp0")
    r = t.run(hello_args(t, "-display", "none", "-serial", "stdio",
                         "-smp", "0"), d, timeout=t.boot_timeout())
    t.expect_rc(r, 33)
    t.expect_lines("stderr", r.err_lines, [
        "{P}warning: Deprecated CPU topology (considered invalid): CPU "
        "topology parameters must be greater than zero"])


@case
def boot_maxmem_without_slots(t):
    """QEMU 7.2 accepts maxmem above size with no slots (no hotplug)."""
    t.need_kvm()
    d = t.newdir("maxmem")
    r = t.run(hello_args(t, "-display", "none", "-serial", "stdio",
                         "-m", "512M,maxmem=1G"), d,
              timeout=t.boot_timeout())
    expect_hello(t, r, r.out)


@case
def boot_memory_backends(t):
    """Guest RAM from each -object memory-backend-* and from -mem-path."""
    t.need_kvm()
    variants = [
        ("memfd", ["-object", "memory-backend-memfd,id=m0,size=64M",
                   "-machine", "memory-backend=m0"]),
        ("ram", ["-object", "memory-backend-ram,id=m0,size=64M",
                 "-M", "pc,memory-backend=m0", "-m", "64M"]),
        ("file-dir", ["-object",
                      "memory-backend-file,id=m0,size=64M,mem-path={D}",
                      "-machine", "memory-backend=m0"]),
        ("mem-path", ["-m", "64", "-mem-path", "{D}", "-mem-prealloc"]),
    ]
    for name, extra in variants:
        d = t.newdir("hostmem-" + name)
        extra = [a.replace("{D}", d) for a in extra]
        r = t.run(hello_args(t, "-display", "none", "-serial", "stdio",
                             *extra), d, timeout=t.boot_timeout())
        expect_hello(t, r, r.out)
        # A backing file in a directory is unlinked: nothing is left.
        left = [f for f in os.listdir(d) if f.startswith("qvmm_back_mem")]
        if left:
            raise Fail("%s: backing file left behind: %s" % (name, left))


@case
def boot_built_hello(t):
    """tests/guest's hello.elf (ELF32 PVH, C runtime)."""
    t.need_kvm()
    path = t.guest_dir and os.path.join(t.guest_dir, "hello.elf")
    if not path or not os.path.exists(path):
        raise Skip("tests/guest hello.elf not built (--guest-dir)")
    d = t.newdir("built-hello")
    r = t.run(hello_args(t, "-nographic", kernel=path), d, stdin_data=b"",
              timeout=t.boot_timeout())
    expect_hello(t, r, r.out, "hello from the qvmm test guest")


@case
def boot_built_poweroff(t):
    """ACPI soft-off from tests/guest's poweroff.elf: exit status 0."""
    t.need_kvm()
    path = t.guest_dir and os.path.join(t.guest_dir, "poweroff.elf")
    if not path or not os.path.exists(path):
        raise Skip("tests/guest poweroff.elf not built (--guest-dir)")
    d = t.newdir("built-poweroff")
    r = t.run(hello_args(t, "-nographic", kernel=path), d, stdin_data=b"",
              timeout=t.boot_timeout())
    t.expect_rc(r, 0)
    if "poweroff: entering S5" not in r.out:
        raise Fail("no 'poweroff: entering S5' in %r" % r.out)
    if r.err:
        raise Fail("unexpected stderr %r" % r.err)


@case
def no_shutdown_keeps_process(t):
    """-no-shutdown: a guest power-off stops the VM instead of exiting."""
    t.need_kvm()
    path = t.guest_dir and os.path.join(t.guest_dir, "poweroff.elf")
    if not path or not os.path.exists(path):
        raise Skip("tests/guest poweroff.elf not built (--guest-dir)")
    d = t.newdir("no-shutdown")
    p = t.spawn(["-enable-kvm", "-display", "none", "-serial", "stdio",
                 "-no-shutdown", "-kernel", path], d)
    try:
        p.wait_stdout("poweroff: entering S5", t.boot_timeout())
        time.sleep(1)
        if not p.alive():
            raise Fail("qvmm exited (%s) despite -no-shutdown"
                       % p.p.returncode)
    finally:
        p.terminate(signal.SIGTERM)
    r = p.wait(timeout=15)
    t.expect_rc(r, 0)
    t.expect_lines("stderr", r.err_lines, [t.signal_re(signal.SIGTERM)])


@case
def no_reboot(t):
    """-no-reboot: a guest reset ends qvmm with status 0."""
    t.need_kvm()
    d = t.newdir("no-reboot")
    out = os.path.join(d, "serial.log")
    r = t.run(["-enable-kvm", "-display", "none", "-no-reboot",
               "-serial", "file:" + out, "-kernel", t.guests["reset.elf"]],
              d, timeout=t.boot_timeout())
    t.expect_rc(r, 0)
    if read_file(out) != "resetting\n":
        raise Fail("serial output %r, expected one 'resetting'" %
                   read_file(out))
    if r.err:
        raise Fail("unexpected stderr %r" % r.err)


@case
def reboot(t):
    """Without -no-reboot the guest is reset and boots again."""
    t.need_kvm()
    d = t.newdir("reboot")
    out = os.path.join(d, "serial.log")
    p = t.spawn(["-enable-kvm", "-display", "none", "-serial", "file:" + out,
                 "-kernel", t.guests["reset.elf"]], d)
    try:
        p.wait_for("resetting\nresetting\n", lambda: read_file(out),
                   t.boot_timeout() * 2)
    finally:
        p.terminate(signal.SIGTERM)
    r = p.wait()
    t.expect_rc(r, 0)
    t.expect_lines("stderr", r.err_lines, [t.signal_re(signal.SIGTERM)])


@case
def start_paused(t):
    """-S: the guest never runs; SIGTERM ends qvmm with status 0."""
    t.need_kvm()
    d = t.newdir("paused")
    out = os.path.join(d, "serial.log")
    p = t.spawn(hello_args(t, "-S", "-display", "none", "-serial",
                           "file:" + out), d)
    try:
        time.sleep(3)
        if not p.alive():
            raise Fail("exited under -S: %s" % p.wait().describe())
        if read_file(out):
            raise Fail("the guest ran under -S: %r" % read_file(out))
    finally:
        p.terminate(signal.SIGTERM)
    r = p.wait()
    t.expect_rc(r, 0)
    t.expect_lines("stderr", r.err_lines, [t.signal_re(signal.SIGTERM)])
    if read_file(out):
        raise Fail("the guest ran under -S: %r" % read_file(out))


@case
def signal_sender_name(t):
    """QEMU names the sender by argv[0] (/proc/PID/cmdline), not comm."""
    t.need_kvm()
    d = t.newdir("signal-sender")
    p = t.spawn(hello_args(t, "-S", "-display", "none"), d)
    p.terminate(signal.SIGTERM)
    r = p.wait()
    t.expect_rc(r, 0)
    t.expect_lines("stderr", r.err_lines, [t.signal_line(signal.SIGTERM)])


def signal_case(guest, sig, banner):
    def fn(t):
        t.need_kvm()
        d = t.newdir("signal")
        p = t.spawn(["-enable-kvm", "-display", "none", "-serial", "stdio",
                     "-kernel", t.guests[guest]], d)
        try:
            p.wait_stdout(banner, t.boot_timeout())
            time.sleep(0.2)
        finally:
            p.terminate(sig)
        r = p.wait(timeout=15)
        t.expect_rc(r, 0)
        t.expect_lines("stderr", r.err_lines, [t.signal_re(sig)])
    return fn


@case
def emulation_failure_stops_vm(t):
    """
    KVM_EXIT_INTERNAL_ERROR: the suberror, the registers and the code
    bytes at RIP are printed and the VM stops; as in QEMU the process stays
    (a manager can still inspect it) until it is told to go.
    """
    t.need_kvm()
    with open("/proc/cpuinfo") as f:
        flags = f.read()
    if re.search(r"\b(vmx|svm)\b", flags):
        raise Skip("this host has hardware virtualisation, so ring 0 runs "
                   "natively and fwait cannot provoke an emulation failure")
    d = t.newdir("emulfail")
    p = t.spawn(["-enable-kvm", "-display", "none", "-serial", "stdio",
                 "-kernel", t.guests["emulfail.elf"]], d)
    try:
        p.wait_stdout("about to fail\n", t.boot_timeout())
        p.wait_for("Code=", p.err, 15)
        time.sleep(0.5)
        if not p.alive():
            raise Fail("qvmm exited (%s) instead of stopping the VM"
                       % p.p.returncode)
    finally:
        p.terminate(signal.SIGTERM)
    r = p.wait(timeout=15)
    t.expect_rc(r, 0)
    err = "\n".join(r.err_lines)
    for needle in ("KVM internal error. Suberror: 1", "emulation failure",
                   "RIP=", "EFER=", "<9b>"):
        if needle not in err:
            raise Fail("stderr lacks %r:\n%s" % (needle, err))


for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    CASES.append(("signal-%s-halted-vcpu" % _sig.name,
                  signal_case("halt.elf", _sig, "halting\n")))
CASES.append(("signal-SIGTERM-busy-vcpu",
              signal_case("spin.elf", signal.SIGTERM, "spinning\n")))


@case
def pidfile(t):
    """-pidfile without -daemonize: our pid, locked, removed at exit."""
    t.need_kvm()
    d = t.newdir("pidfile")
    pf = os.path.join(d, "vm.pid")
    p = t.spawn(["-enable-kvm", "-display", "none", "-S", "-pidfile", pf,
                 "-kernel", t.guests["halt.elf"]], d)
    try:
        if not wait_until(lambda: read_file(pf), 10):
            raise Fail("no pid file")
        if read_file(pf) != "%d\n" % p.pid:
            raise Fail("pid file holds %r, pid is %d" % (read_file(pf),
                                                          p.pid))
    finally:
        p.terminate(signal.SIGTERM)
    r = p.wait()
    t.expect_rc(r, 0)
    if os.path.exists(pf):
        raise Fail("pid file left behind")


@case
def name_process(t):
    """-name guest,process=NAME sets the process name."""
    t.need_kvm()
    d = t.newdir("name")
    p = t.spawn(["-enable-kvm", "-display", "none", "-S", "-name",
                 "vm1,process=qvmm-ft-vm1", "-kernel",
                 t.guests["halt.elf"]], d)
    try:
        comm = wait_until(lambda: read_file("/proc/%d/comm" % p.pid) ==
                          "qvmm-ft-vm1\n", 10)
        if not comm:
            raise Fail("comm is %r" % read_file("/proc/%d/comm" % p.pid))
    finally:
        p.terminate(signal.SIGTERM)
    t.expect_rc(p.wait(), 0)


@case
def serial_pty(t):
    """-serial pty names the pty on stdout (as QEMU's qemu_printf does);
    the guest writes to it.  Output is dropped while nobody has the pty
    open, so the guest used is one that resets and prints on every boot."""
    t.need_kvm()
    d = t.newdir("serial-pty")
    p = t.spawn(["-enable-kvm", "-display", "none", "-serial", "pty",
                 "-kernel", t.guests["reset.elf"]], d)
    announce = re.compile(r"char device redirected to (/dev/pts/\d+) "
                          r"\(label serial0\)")
    try:
        p.wait_stdout("(label serial0)\n", 15)
        m = announce.search(p.out())
        fd = os.open(m.group(1), os.O_RDWR | os.O_NOCTTY)
        try:
            attrs = termios.tcgetattr(fd)
            attrs[3] &= ~(termios.ECHO | termios.ICANON)
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
            got = read_until(fd, b"resetting", t.boot_timeout())
        finally:
            os.close(fd)
        if b"resetting" not in got:
            raise Fail("read %r from %s" % (got, m.group(1)))
    finally:
        p.terminate(signal.SIGTERM)
    r = p.wait()
    t.expect_rc(r, 0)
    t.expect_lines("stdout", lines_of(r.out), [announce])
    t.expect_lines("stderr", r.err_lines, [t.signal_re(signal.SIGTERM)])


def read_until(fd, want, timeout, sock=None):
    got = b""
    deadline = time.time() + timeout
    while want not in got and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            data = sock.recv(4096) if sock else os.read(fd, 4096)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not data:
            break
        got += data
    return got


def socket_serial_case(kind):
    def fn(t):
        t.need_kvm()
        d = t.newdir("serial-" + kind)
        if kind == "unix":
            path = os.path.join(d, "serial.sock")
            spec = "unix:%s,server=on" % path
            addr, family = path, socket.AF_UNIX
        else:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            spec = "tcp:127.0.0.1:%d,server=on" % port
            addr, family = ("127.0.0.1", port), socket.AF_INET
        p = t.spawn(["-enable-kvm", "-display", "none", "-serial", spec,
                     "-kernel", t.guests["halt.elf"]], d)
        try:
            # wait=on (the default): nothing runs until a client connects.
            # QEMU names itself in this line; qvmm does too (deliberate).
            product = "QEMU" if t.qemu else "qvmm"
            waiting = ("{P}-serial %s: info: %s waiting for connection on: "
                       "disconnected:%s" % (spec, product, spec)
                       ).replace("{P}", t.P)
            p.wait_for(" waiting for connection on: ", p.err, 15)
            with socket.socket(family) as s:
                s.connect(addr)
                got = read_until(s.fileno(), b"halting\n", t.boot_timeout(),
                                 sock=s)
            if b"halting\n" not in got:
                raise Fail("read %r from the socket" % got)
        finally:
            p.terminate(signal.SIGTERM)
        r = p.wait()
        t.expect_rc(r, 0)
        t.expect_lines("stderr", r.err_lines,
                       [waiting, t.signal_re(signal.SIGTERM)])
    return fn


CASES.append(("serial-unix-server", socket_serial_case("unix")))
CASES.append(("serial-tcp-server", socket_serial_case("tcp")))


@case
def ctrl_a_x_pipe(t):
    """The -nographic mux reads Ctrl-a x from a pipe as well."""
    t.need_kvm()
    d = t.newdir("ctrl-a-pipe")
    p = t.spawn(hello_args(t, "-nographic", "-S"), d, stdin=subprocess.PIPE)
    try:
        p.wait_ready()
        try:
            p.p.stdin.write(b"\x01x")
            p.p.stdin.flush()
        except BrokenPipeError:
            pass
        r = p.wait(15)
    finally:
        p.kill()
    t.expect_rc(r, 0)
    if "QEMU: Terminated" not in r.out:
        raise Fail("no 'QEMU: Terminated' on stdout: %r" % r.out)


# -- daemonize

def daemon_args(t, pf, out, *extra):
    return ["-enable-kvm", "-daemonize", "-pidfile", pf, "-display", "none",
            "-serial", "file:" + out] + list(extra)


@case
def daemonize(t):
    t.need_kvm()
    d = t.newdir("daemonize")
    pf = os.path.join(d, "vm.pid")
    out = os.path.join(d, "serial.log")
    r = t.run(daemon_args(t, pf, out, "-kernel", t.guests["halt.elf"]), d,
              timeout=t.boot_timeout(), leftovers=False)
    pid = None
    try:
        t.expect_rc(r, 0)
        if r.out or r.err:
            raise Fail("the parent printed: %s" % r.describe())
        # The parent returns only once set-up is done.
        if not os.path.exists(pf):
            raise Fail("no pid file when the parent returned")
        if not os.path.exists(out):
            raise Fail("serial file not created when the parent returned")
        content = read_file(pf)
        if not re.fullmatch(r"\d+\n", content or ""):
            raise Fail("pid file holds %r" % content)
        pid = int(content)
        if not pid_alive(pid):
            raise Fail("daemon %d is not running" % pid)
        if os.getsid(pid) == os.getsid(0):
            raise Fail("the daemon did not leave our session")
        for fd in (0, 1, 2):
            target = os.readlink("/proc/%d/fd/%d" % (pid, fd))
            if target != "/dev/null":
                raise Fail("daemon fd %d is %s, not /dev/null" % (fd, target))
        if not wait_until(lambda: read_file(out) == "halting\n",
                          t.boot_timeout()):
            raise Fail("serial output %r" % read_file(out))

        # The pid file is locked: a second instance fails.
        out2 = os.path.join(d, "serial2.log")
        r2 = t.run(["-enable-kvm", "-pidfile", pf, "-display", "none",
                    "-serial", "file:" + out2, "-kernel",
                    t.guests["halt.elf"]], d)
        t.expect_rc(r2, 1)
        lock_err = ["{P}cannot create PID file: Cannot lock pid file: "
                    "Resource temporarily unavailable"]
        t.expect_lines("second instance's stderr", r2.err_lines, lock_err)
        # ... also when it daemonizes: the child's error reaches the
        # parent's stderr and the parent exits 1.
        r3 = t.run(daemon_args(t, pf, out2, "-kernel",
                               t.guests["halt.elf"]), d)
        t.expect_rc(r3, 1)
        t.expect_lines("second daemon's stderr", r3.err_lines, lock_err)
        if read_file(pf) != content:
            raise Fail("the pid file changed to %r" % read_file(pf))

        os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not pid_alive(pid), 15):
            raise Fail("daemon still running 15s after SIGTERM")
        pid = None
        if not wait_until(lambda: not os.path.exists(pf), 5):
            raise Fail("pid file not removed at exit")
    finally:
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def thread_names(pid):
    names = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            names.append(read_file("/proc/%d/task/%s/comm" % (pid, tid))
                         .strip())
        except (OSError, AttributeError):
            pass
    return names


@case
def iothread_survives_daemonize(t):
    """-object iothread's thread runs in the daemon (started after the
    fork), named as QEMU names it with debug-threads=on; a drive opened
    at start-up holds QEMU's "consistent read" lock byte."""
    t.need_kvm()
    d = t.newdir("iothread")
    pf = os.path.join(d, "vm.pid")
    out = os.path.join(d, "serial.log")
    img = os.path.join(d, "disk.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    r = t.run(daemon_args(t, pf, out, "-name", "debug-threads=on",
                          "-object", "iothread,id=io0",
                          "-drive", "file=%s,if=none,format=raw,id=d0" % img,
                          "-S", "-kernel", t.guests["halt.elf"]),
              d, timeout=t.boot_timeout(), leftovers=False)
    pid = None
    try:
        t.expect_rc(r, 0)
        pid = int(read_file(pf))
        if not wait_until(lambda: "IO io0" in thread_names(pid), 10):
            raise Fail("no 'IO io0' thread in %s" % thread_names(pid))
        ino = os.stat(img).st_ino
        locks = [l for l in read_file("/proc/locks").splitlines()
                 if re.search(r":%d 100 100$" % ino, l)]
        if not locks or "OFDLCK" not in locks[0]:
            raise Fail("no OFD lock on byte 100 of the image")
        os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not pid_alive(pid), 15):
            raise Fail("daemon still running 15s after SIGTERM")
        pid = None
    finally:
        if pid and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@case
def daemonize_nographic_nodefaults(t):
    """-nographic -daemonize is fine with -nodefaults and every port
    redirected; the daemon runs the guest to its end and removes F."""
    t.need_kvm()
    d = t.newdir("daemonize-nodefaults")
    pf = os.path.join(d, "vm.pid")
    out = os.path.join(d, "serial.log")
    r = t.run(["-enable-kvm", "-nographic", "-daemonize", "-nodefaults",
               "-pidfile", pf, "-serial", "file:" + out] +
              hello_args(t)[1:], d, timeout=t.boot_timeout(),
              leftovers=False)
    try:
        t.expect_rc(r, 0)
        if r.out or r.err:
            raise Fail("the parent printed: %s" % r.describe())
        # The guest may be done (and the pid file gone) already.
        if not wait_until(lambda: HELLO_LINE + "\n" in (read_file(out) or ""),
                          t.boot_timeout()):
            raise Fail("serial output %r" % read_file(out))
        t.check_no_leftovers(r.marker, grace=15)
        if os.path.exists(pf):
            raise Fail("pid file not removed at exit")
    finally:
        for pid in t.marked_pids(r.marker):
            os.kill(pid, signal.SIGKILL)


@case
def daemonize_late_error(t):
    """An error after the fork: the parent exits 1 with the message."""
    t.need_kvm()
    d = t.newdir("daemonize-error")
    pf = os.path.join(d, "vm.pid")
    out = os.path.join(d, "serial.log")
    missing = os.path.join(d, "missing")
    r = t.run(daemon_args(t, pf, out, "-kernel", t.guests["halt.elf"],
                          "-initrd", missing), d, timeout=t.boot_timeout())
    t.expect_rc(r, 1)
    prefix = "qemu: " if t.qemu else "{P}"
    t.expect_lines("stderr", r.err_lines, [
        prefix + "error reading initrd %s: Failed to open file "
        "\u201c%s\u201d: open() failed: No such file or directory" %
        (missing, missing)])
    if os.path.exists(pf):
        raise Fail("pid file left behind")


@case
def daemonize_device_error(t):
    t.need_kvm()
    d = t.newdir("daemonize-device-error")
    pf = os.path.join(d, "vm.pid")
    out = os.path.join(d, "serial.log")
    r = t.run(daemon_args(t, pf, out, "-kernel", t.guests["halt.elf"],
                          "-device", "foo"), d, timeout=t.boot_timeout())
    t.expect_rc(r, 1)
    t.expect_lines("stderr", r.err_lines, [
        "{P}-device foo: 'foo' is not a valid device model name"])
    if os.path.exists(pf):
        raise Fail("pid file left behind")


# -- the terminal: -nographic on a pty

def make_ctty():
    """In the child (a new session): make stdin the controlling tty."""
    import fcntl
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class PtyRun:
    def __init__(self, t, args, d, ctty=False):
        self.master, self.slave = os.openpty()
        self.saved = termios.tcgetattr(self.slave)
        self.buf = b""
        self.proc = t.spawn(args, d, stdin=self.slave, stdout=self.slave,
                            stderr=self.slave,
                            preexec_fn=make_ctty if ctty else None)

    def lflag(self):
        return termios.tcgetattr(self.slave)[3]

    def wait_raw(self, timeout=15):
        if not wait_until(lambda: not self.lflag() & termios.ECHO, timeout):
            raise Fail("qvmm did not put the terminal in raw mode")

    def send(self, data):
        os.write(self.master, data)

    def read(self, want, timeout):
        self.buf += read_until(self.master, want, timeout)
        return want in self.buf

    def check_restored(self):
        now = termios.tcgetattr(self.slave)
        for flag, name in ((termios.ECHO, "ECHO"), (termios.ICANON, "ICANON"),
                           (termios.ISIG, "ISIG")):
            if (self.saved[3] & flag) and not (now[3] & flag):
                raise Fail("terminal left without %s" % name)
        if now[1] & termios.OPOST != self.saved[1] & termios.OPOST:
            raise Fail("terminal OPOST not restored")

    def close(self):
        self.proc.kill()
        os.close(self.master)
        os.close(self.slave)


# QEMU 7.2's text (it lists C-a s even without -snapshot).
MUX_HELP = ["C-a h    print this help",
            "C-a x    exit emulator",
            "C-a s    save disk data back to file (if -snapshot)",
            "C-a t    toggle console timestamps",
            "C-a b    send break (magic sysrq)",
            "C-a c    switch between console and monitor",
            "C-a C-a  sends C-a"]


@case
def pty_ctrl_a(t):
    """Ctrl-a h prints the mux help, Ctrl-a x exits 0, the tty is restored."""
    t.need_kvm()
    d = t.newdir("pty-ctrl-a")
    pr = PtyRun(t, hello_args(t, "-nographic", "-S"), d)
    try:
        pr.wait_raw()
        pr.send(b"\x01h")
        if not pr.read(b"sends C-a", 10):
            raise Fail("no help text after C-a h: %r" % pr.buf)
        shown = [l.strip("\r") for l in
                 pr.buf.decode("utf-8", "replace").split("\n")]
        first = shown.index(MUX_HELP[0]) if MUX_HELP[0] in shown else -1
        if first < 0 or shown[first:first + len(MUX_HELP)] != MUX_HELP:
            raise Fail("help text:\n      expected %r\n      got      %r" %
                       (MUX_HELP, shown))
        pr.send(b"\x01x")
        r = pr.proc.wait(15)
        t.expect_rc(r, 0)
        pr.read(b"Terminated", 2)
        if b"QEMU: Terminated" not in pr.buf:
            raise Fail("no 'QEMU: Terminated' after C-a x: %r" % pr.buf)
        pr.check_restored()
    finally:
        pr.close()


@case
def pty_guest_exit_restores(t):
    """A guest that exits on its own leaves the terminal as it was."""
    t.need_kvm()
    d = t.newdir("pty-exit")
    pr = PtyRun(t, hello_args(t, "-nographic"), d)
    try:
        r = pr.proc.wait(t.boot_timeout())
        t.expect_rc(r, 33)
        pr.read(HELLO_LINE.encode(), 2)
        if HELLO_LINE.encode() not in pr.buf:
            raise Fail("guest line missing: %r" % pr.buf)
        pr.check_restored()
    finally:
        pr.close()


@case
def pty_signal_restores(t):
    """SIGTERM with -nographic on a terminal: message, status 0, tty back."""
    t.need_kvm()
    d = t.newdir("pty-signal")
    pr = PtyRun(t, hello_args(t, "-nographic", "-S"), d)
    try:
        pr.wait_raw()
        pr.proc.terminate(signal.SIGTERM)
        r = pr.proc.wait(15)
        t.expect_rc(r, 0)
        pr.read(b"\n", 2)
        text = pr.buf.decode("utf-8", "replace").replace("\r", "")
        if not any(t.signal_re(signal.SIGTERM).fullmatch(l)
                   for l in text.split("\n")):
            raise Fail("no signal line in %r" % text)
        pr.check_restored()
    finally:
        pr.close()


@case
def pty_ctrl_c_nographic(t):
    """-nographic: Ctrl-C on the controlling terminal goes to the guest,
    not to qvmm as SIGINT."""
    t.need_kvm()
    d = t.newdir("pty-ctrl-c-nographic")
    pr = PtyRun(t, hello_args(t, "-nographic", "-S"), d, ctty=True)
    try:
        pr.wait_raw()
        pr.proc.wait_ready()
        pr.send(b"\x03")
        time.sleep(1.5)
        if not pr.proc.alive():
            raise Fail("Ctrl-C ended it: %s" % pr.proc.wait().describe())
        pr.send(b"\x01x")
        t.expect_rc(pr.proc.wait(15), 0)
        pr.check_restored()
    finally:
        pr.close()


@case
def pty_ctrl_c_serial_stdio(t):
    """-serial stdio keeps ISIG (signal=on): Ctrl-C is a SIGINT from the
    terminal (no sender pid), reported as QEMU does."""
    t.need_kvm()
    d = t.newdir("pty-ctrl-c-stdio")
    pr = PtyRun(t, hello_args(t, "-display", "none", "-serial", "stdio",
                              "-S"), d, ctty=True)
    try:
        pr.wait_raw()
        pr.proc.wait_ready()
        if not pr.lflag() & termios.ISIG:
            raise Fail("ISIG cleared on the terminal")
        pr.send(b"\x03")
        r = pr.proc.wait(15)
        t.expect_rc(r, 0)
        pr.read(b"signal 2\r\n", 2)
        text = pr.buf.decode("utf-8", "replace").replace("\r", "")
        want = "%sterminating on signal 2\n" % t.P
        if want not in text:
            raise Fail("%r not in %r" % (want, text))
        pr.check_restored()
    finally:
        pr.close()


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary", nargs="?", help="qvmm (or QEMU with --qemu)")
    ap.add_argument("--qemu", action="store_true",
                    help="run against qemu-system-x86_64 (the reference)")
    ap.add_argument("--guest-dir", help="build directory of tests/guest")
    ap.add_argument("-k", action="append", default=[],
                    help="run only cases whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()

    if a.list:
        for name, _ in CASES:
            print(name)
        return 0
    binary = a.binary or (shutil.which(QEMU_NAME) if a.qemu else None)
    if not binary:
        ap.error("no binary given")
    binary = os.path.abspath(binary) if os.sep in binary else \
        shutil.which(binary)
    if not binary or not os.access(binary, os.X_OK):
        print("cannot execute %s" % (a.binary or QEMU_NAME))
        return 1

    t = Tester(binary, a.qemu, a.guest_dir, a.verbose)
    passed = failed = 0
    skipped = []
    try:
        for name, fn in CASES:
            if a.k and not any(k in name for k in a.k):
                continue
            start = time.time()
            try:
                fn(t)
            except Skip as e:
                skipped.append((name, str(e)))
                print("SKIP %s: %s" % (name, e), flush=True)
                continue
            except Fail as e:
                failed += 1
                print("FAIL %s: %s" % (name, e), flush=True)
                continue
            except Exception:
                failed += 1
                print("FAIL %s: %s" % (name, traceback.format_exc().strip()),
                      flush=True)
                continue
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.time() - start), flush=True)
    finally:
        shutil.rmtree(t.root, ignore_errors=True)

    summary = "%d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % len(skipped)
    print(summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
