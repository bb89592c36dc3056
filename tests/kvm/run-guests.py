#!/usr/bin/env python3
"""Run the kvm tier's test guests (tests/guest) under a VMM and check them.

    run-guests.py [options] VMM GUESTDIR

VMM is qvmm, or qemu-system-x86_64 with --qemu: the same guests and the
same command lines under QEMU show that the expectations below are QEMU's
behaviour.  GUESTDIR holds the built *.elf guests.  Each case boots one
guest with a QEMU command line, then checks the serial output and the
exit status.  One line per case, then "N passed, N failed" (", N skipped"
if any).  Exit status: 0 if nothing failed, 1 otherwise, 77 (meson's
"skipped") if every case was skipped, which happens only without
/dev/kvm.
"""

import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

# isa-debug-exit: a guest writing V makes the VMM exit with (V << 1) | 1.
def debug_exit_status(value: int) -> int:
    return ((value << 1) | 1) & 0xff


HELLO_EXIT = 0x10
MEMMAP_EXIT = 0x11
SMP_EXIT = 0x12
RESET_EXIT = 0x21
BLK_EXIT = 0x30
MIB = 1024  # in KiB

# tests/guest/virtio-blk.c: word i (8 bytes, little-endian) of the disk is
# ((i + 1) * golden ratio) ^ seed; the host writes HOST_SEED's pattern,
# the guest checks it and writes GUEST_SEED's.
HOST_SEED = 0x686f73745f736565
GUEST_SEED = 0x67756573745f7365


def disk_pattern(nbytes: int, seed: int) -> bytes:
    mask = (1 << 64) - 1
    n = nbytes // 8
    return struct.pack("<%dQ" % n, *[((i + 1) * 0x9E3779B97F4A7C15 & mask) ^ seed
                                      for i in range(n)])


@dataclass
class Disk:
    """A raw image for a virtio-blk-pci device, on disk (cache=none means
    O_DIRECT, which tmpfs refuses), filled with the host pattern."""
    sectors: int
    serial: str
    written: bool = True    # the guest leaves its pattern: check the file

    def args(self, path: str) -> List[str]:
        return ["-drive", "file=%s,format=raw,if=none,id=d0,cache=none,"
                "aio=native" % path,
                "-device", "virtio-blk-pci,drive=d0,disable-legacy=on,"
                "serial=%s" % self.serial]

    def check(self, path: str) -> Optional[str]:
        if not self.written:
            return None
        with open(path, "rb") as f:
            data = f.read()
        if len(data) != self.sectors * 512:
            return "image is %d bytes after the run, expected %d" % (
                len(data), self.sectors * 512)
        want = disk_pattern(len(data), GUEST_SEED)
        if data != want:
            first = next(i for i in range(len(data)) if data[i] != want[i])
            return "image differs from the guest's pattern at byte %d" % first
        return None


@dataclass
class Case:
    name: str
    guest: str
    status: int                       # expected exit status
    mem: str = "64"
    smp: int = 1
    append: Optional[str] = None
    no_reboot: bool = False
    expect: List[str] = field(default_factory=list)     # regexes that must match
    counts: Dict[str, int] = field(default_factory=dict)  # regex -> matches
    check: Optional[Callable[[str], Optional[str]]] = None
    qemu_skip: Optional[str] = None   # why QEMU cannot run this case
    disk: Optional[Disk] = None

    def command(self, vmm: str, guestdir: str) -> List[str]:
        cmd = [vmm, "-enable-kvm", "-m", self.mem, "-smp", str(self.smp),
               "-nographic", "-no-user-config", "-nodefaults",
               "-serial", "stdio",
               "-device", "isa-debug-exit,iobase=0x501,iosize=2",
               "-kernel", os.path.join(guestdir, self.guest + ".elf")]
        if self.append is not None:
            cmd += ["-append", self.append]
        if self.no_reboot:
            cmd.append("-no-reboot")
        return cmd


def value(output: str, key: str) -> Optional[int]:
    m = re.search(r"\b%s=(\d+)" % re.escape(key), output)
    return int(m.group(1)) if m else None


def ram_check(mem_mib: int, above_4g_mib: int) -> Callable[[str], Optional[str]]:
    """Usable RAM is -m less the holes (below 1 MiB and whatever the map
    reserves): more than m - 1 MiB and at most m."""
    def check(output: str) -> Optional[str]:
        total = value(output, "ram-total-kib")
        high = value(output, "ram-above-4g-mib")
        if total is None or high is None:
            return "no ram-total-kib= or ram-above-4g-mib= line"
        low_bound, high_bound = (mem_mib - 1) * MIB, mem_mib * MIB
        if not low_bound < total <= high_bound:
            return ("ram-total-kib=%d, expected more than %d and at most %d"
                    % (total, low_bound, high_bound))
        if high != above_4g_mib:
            return "ram-above-4g-mib=%d, expected %d" % (high, above_4g_mib)
        return None
    return check


def cases() -> List[Case]:
    c = [
        Case("hello", "hello", debug_exit_status(HELLO_EXIT),
             expect=[r"hello from the qvmm test guest"]),
        Case("memmap-64m", "memmap", debug_exit_status(MEMMAP_EXIT),
             append="memmap-test foo=bar",
             expect=[r'cmdline: "memmap-test foo=bar"',
                     r"memmap: 0x0000000000100000-0x[0-9a-f]+ type 1 \(ram\)"],
             check=ram_check(64, 0)),
        Case("memmap-no-append", "memmap", debug_exit_status(MEMMAP_EXIT),
             mem="128", expect=[r'cmdline: ""'], check=ram_check(128, 0)),
        # pc splits RAM of 3.5 GiB or more as 3 GiB below 4 GiB, rest above.
        Case("memmap-4g", "memmap", debug_exit_status(MEMMAP_EXIT), mem="4G",
             expect=[r"memmap: 0x0000000100000000-0x000000013fffffff type 1"],
             check=ram_check(4096, 1024)),
    ]
    for n in (1, 2, 4):
        c.append(Case("smp-%d" % n, "smp", debug_exit_status(SMP_EXIT), smp=n,
                      expect=[r"MADT lists %d cpus" % n, r"cpus-up=%d\b" % n],
                      counts={r"cpu \d+ up": n - 1}))
    c.append(Case("poweroff", "poweroff", 0,
                  expect=[r"poweroff: PM1a_CNT=0x[0-9a-f]+",
                          r"poweroff: entering S5"]))
    for method in ("kbd", "acpi", "cf9", "triple"):
        skip = None
        if method == "acpi":
            skip = "QEMU's pc machine has a revision 1 FADT without RESET_REG"
        c.append(Case("reset-" + method, "reset", debug_exit_status(RESET_EXIT),
                      append="reset=" + method,
                      counts={r"reset: boot 1, resetting through " + method: 1,
                              r"reset: boot 2": 1},
                      qemu_skip=skip))
        c.append(Case("reset-%s-no-reboot" % method, "reset", 0,
                      append="reset=" + method, no_reboot=True,
                      counts={r"reset: boot 1, resetting through " + method: 1,
                              r"reset: boot 2": 0},
                      qemu_skip=skip))
    for code in (0, 1, 5, 42, 127):
        c.append(Case("exitcode-%d" % code, "exitcode", debug_exit_status(code),
                      append="code=%d" % code,
                      expect=[r"exitcode: writing %d to the debug-exit port" % code]))
    c += blk_cases()
    c.append(Case("demo", "demo", 0, smp=2, append="console=ttyS0",
                  expect=[r"Processors +2 \(from the ACPI MADT\)",
                          r'Command line "console=ttyS0"',
                          r"Goodbye!"]))
    return c


def blk_cases() -> List[Case]:
    def case(name: str, sectors: int, serial: str, extra: str = "") -> Case:
        return Case(name, "virtio-blk", debug_exit_status(BLK_EXIT),
                    append=("sectors=%d serial=%s %s" % (sectors, serial, extra)).strip(),
                    disk=Disk(sectors, serial),
                    expect=[r"virtio-blk: 1af4:1042 at ",
                            r"virtio-blk: capacity %d sectors" % sectors,
                            r'virtio-blk: id "%s"' % serial,
                            r"read past the end: status 1\b",
                            r"write straddling the end: status 1\b",
                            r"unknown request type: status 2\b",
                            r"read the host's pattern: %d bytes" % (sectors * 512),
                            r"flush: status 0\b",
                            r"read back %d bytes in \d+ requests: match"
                            % (sectors * 512)])

    c = [case("virtio-blk", 8192, "qvmm-test-disk"),
         # A 20-byte serial fills GET_ID's buffer with no NUL after it.
         case("virtio-blk-serial20", 2048 + 7, "ABCDEFGHIJ0123456789"),
         # The BAR moved to 16 GiB: the guest maps MMIO above 4 GiB.
         case("virtio-blk-bar64", 4096, "high-bar", "bar64=16")]
    c[-1].expect.append(r"virtio-blk: common config at 0x4[0-9a-f]{8},")
    bench = Case("virtio-blk-bench", "virtio-blk", debug_exit_status(BLK_EXIT),
                 append="bench=randread,randwrite,read,write secs=1",
                 disk=Disk(16384, "bench", written=False),
                 expect=[r"bench: tsc_khz=[1-9]\d{5,} capacity=16384\b",
                         r"bench: done"])
    for name, bs in (("randread", 4096), ("randwrite", 4096),
                     ("read", 1 << 20), ("write", 1 << 20)):
        bench.expect.append(r"bench: %s bs=%d qd=32 ios=[1-9]\d* usecs=[1-9]\d* "
                            r"iops=[1-9]\d* kib_per_s=[1-9]\d*" % (name, bs))
    return c + [bench]


@dataclass
class Result:
    case: Case
    ok: bool
    skipped: bool = False
    reason: str = ""
    seconds: float = 0.0
    command: Optional[List[str]] = None
    output: str = ""
    stderr: str = ""


def describe_status(rc: int) -> str:
    return "killed by signal %d" % -rc if rc < 0 else "status %d" % rc


def run_case(case: Case, vmm: str, guestdir: str, timeout: float) -> Result:
    if not case.disk:
        return run_vm(case, case.command(vmm, guestdir), timeout)
    tmp = tempfile.mkdtemp(prefix="run-guests-", dir=guestdir)
    try:
        image = os.path.join(tmp, "disk.img")
        with open(image, "wb") as f:
            f.write(disk_pattern(case.disk.sectors * 512, HOST_SEED))
        res = run_vm(case, case.command(vmm, guestdir) + case.disk.args(image),
                     timeout)
        if res.ok:
            problem = case.disk.check(image)
            if problem:
                res.ok, res.reason = False, problem
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_vm(case: Case, cmd: List[str], timeout: float) -> Result:
    res = Result(case, False, command=cmd)
    guest = cmd[cmd.index("-kernel") + 1]
    if not os.path.exists(guest):
        res.reason = "guest %s is missing (not built?)" % guest
        return res
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        res.seconds = time.monotonic() - start
        res.output = (e.stdout or b"").decode("utf-8", "replace").replace("\r", "")
        res.stderr = (e.stderr or b"").decode("utf-8", "replace")
        res.reason = "timed out after %gs" % timeout
        return res
    except OSError as e:
        res.reason = "cannot run %s: %s" % (vmm, e)
        return res
    res.seconds = time.monotonic() - start
    res.output = out.decode("utf-8", "replace").replace("\r", "")
    res.stderr = err.decode("utf-8", "replace")

    problems = []
    failed = re.search(r"^.*FAIL: .*$", res.output, re.M)
    if failed:
        problems.append("guest reported %r" % failed.group(0).strip())
    if rc != case.status:
        problems.append("%s, expected %d" % (describe_status(rc), case.status))
    for pattern in case.expect:
        if not re.search(pattern, res.output):
            problems.append("no output matching %r" % pattern)
    for pattern, n in case.counts.items():
        got = len(re.findall(pattern, res.output))
        if got != n:
            problems.append("%d lines matching %r, expected %d" % (got, pattern, n))
    if case.check and not problems:
        problem = case.check(res.output)
        if problem:
            problems.append(problem)
    res.ok = not problems
    res.reason = "; ".join(problems)
    return res


def report(res: Result, verbose: bool) -> None:
    if res.skipped:
        print("SKIP %s: %s" % (res.case.name, res.reason))
        return
    print("%s %s (%.1fs)%s" % ("PASS" if res.ok else "FAIL", res.case.name,
                               res.seconds, "" if res.ok else ": " + res.reason))
    if (verbose or not res.ok) and res.command:
        print("  command: " + " ".join(shlex.quote(a) for a in res.command))
        lines = res.output.splitlines()
        if not verbose and len(lines) > 30:
            print("  ... (%d earlier lines of output)" % (len(lines) - 30))
            lines = lines[-30:]
        for line in lines:
            print("  | " + line)
        for line in res.stderr.splitlines()[-20:]:
            print("  stderr: " + line)
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("vmm", help="qvmm, or qemu-system-x86_64 with --qemu")
    ap.add_argument("guestdir", help="directory holding the built *.elf guests")
    ap.add_argument("--qemu", action="store_true",
                    help="the VMM is QEMU: skip the cases QEMU's pc cannot run")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds allowed per case (default: %(default)s)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="cases run at once (default: %(default)s)")
    ap.add_argument("-k", "--filter", action="append", default=[],
                    help="run only cases whose name contains this (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show every case's command line and output")
    args = ap.parse_args()

    selected = [c for c in cases()
                if not args.filter or any(f in c.name for f in args.filter)]
    results: List[Result] = []
    if not os.path.exists("/dev/kvm"):
        print("SKIP all %d cases: /dev/kvm is not present" % len(selected))
        results = [Result(c, False, skipped=True) for c in selected]
    else:
        todo = []
        for c in selected:
            if args.qemu and c.qemu_skip:
                results.append(Result(c, False, skipped=True, reason=c.qemu_skip))
            else:
                todo.append(c)
        for r in results:
            report(r, args.verbose)
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            futures = [pool.submit(run_case, c, args.vmm, args.guestdir,
                                   args.timeout) for c in todo]
            for f in futures:
                r = f.result()
                report(r, args.verbose)
                results.append(r)

    passed = sum(r.ok for r in results)
    skipped = sum(r.skipped for r in results)
    failed = len(results) - passed - skipped
    summary = "%d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print(summary)
    if failed:
        return 1
    return 77 if skipped and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
