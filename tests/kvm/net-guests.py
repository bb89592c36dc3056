#!/usr/bin/env python3
"""Ping the virtio-net test guest over a tap device, under a VMM.

    net-guests.py [options] VMM GUESTDIR

VMM is qvmm, or qemu-system-x86_64 with --qemu: the same guest and the
same command lines under QEMU show that the expectations are QEMU's.
GUESTDIR holds the built virtio-net.elf (tests/guest/virtio-net.c).

Each case creates a network namespace of its own, runs the VMM inside it
(`ip netns exec`) with a tap backend, gives the tap 10.9.0.1/24 once it
exists, and pings the guest at 10.9.0.2 from inside the namespace; the
guest answers ARP and ICMP echo and ends itself through isa-debug-exit
once it has answered the pings.  The namespace is deleted afterwards,
whatever happened, so no frame leaves it.  One line per case, then
"N passed, N failed" (", N skipped").  Exit status: 0 if nothing failed,
1 otherwise, 77 (meson's "skipped") when the host lacks /dev/kvm,
/dev/net/tun, network namespaces or ping.
"""

import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional

NET_EXIT = 0x31                         # tests/guest/virtio-net.c
NET_EXIT_STATUS = (NET_EXIT << 1) | 1   # isa-debug-exit: (value << 1) | 1
FAIL_STATUS = (0x7f << 1) | 1           # guest_fail()
HOST_IP, GUEST_IP = "10.9.0.1", "10.9.0.2"
DEFAULT_MAC = "52:54:00:12:34:56"       # QEMU's first NIC without mac=


@dataclass
class Case:
    name: str
    net_args: List[str]                 # with {tap} for the tap's name
    mac: str                            # the MAC the guest must report
    ping: Optional[List[str]]           # ping options; None: nobody pings
    pings: int                          # echo requests the guest waits for
    secs: int = 60                      # the guest's time limit
    status: int = NET_EXIT_STATUS
    expect: List[str] = field(default_factory=list)

    def command(self, vmm: str, guestdir: str, tap: str) -> List[str]:
        return [vmm, "-enable-kvm", "-m", "64", "-nographic",
                "-no-user-config", "-nodefaults", "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0x501,iosize=2",
                "-kernel", os.path.join(guestdir, "virtio-net.elf"),
                "-append", "ip=%s pings=%d secs=%d" % (GUEST_IP, self.pings,
                                                      self.secs)] + \
            [a.format(tap=tap) for a in self.net_args]


def tap_netdev(extra: str = "") -> List[str]:
    return ["-netdev", "tap,id=n0,ifname={tap},script=no,downscript=no",
            "-device", "virtio-net-pci,netdev=n0" + extra]


def cases() -> List[Case]:
    answered = r"virtio-net: done: \d+ frames received, [1-9]\d* ARP replies, %d echo replies"
    return [
        Case("net-tap-ping", tap_netdev(",mac=52:54:00:0a:0b:0c"),
             "52:54:00:0a:0b:0c", ["-c", "3", "-i", "0.2"], 3,
             expect=[answered % 3]),
        # -nic: one option for backend and NIC; the MAC is the default.
        Case("net-nic-ping",
             ["-nic", "tap,ifname={tap},script=no,downscript=no,"
              "model=virtio-net-pci"],
             DEFAULT_MAC, ["-c", "3", "-i", "0.2"], 3,
             expect=[answered % 3]),
        # Full-size frames (1472 + 8 + 20 = 1500 bytes of IP) and more of
        # them than either ring holds, as fast as the replies come back.
        Case("net-ping-flood", tap_netdev(), DEFAULT_MAC,
             ["-f", "-c", "300", "-s", "1472"], 300,
             expect=[answered % 300,
                     r"echo reply to 10\.9\.0\.1 seq 300 \(1480 bytes\)"]),
        # Nobody pings: the guest must end by itself and say why.
        Case("net-no-ping", tap_netdev(), DEFAULT_MAC, None, 3, secs=3,
             status=FAIL_STATUS,
             expect=[r"virtio-net: time limit: .* 0 echo replies",
                     r"FAIL: virtio-net: 0 of 3 echo requests in 3 s"]),
    ]


def run(cmd: List[str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


class Vmm:
    """The VMM inside the namespace, its output collected as it comes."""

    def __init__(self, ns: str, cmd: List[str]):
        self.out: List[str] = []
        self.err: List[str] = []
        self.lock = threading.Lock()
        # ip netns exec execs the VMM, so this pid is the VMM's.
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns] + cmd,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.readers = [threading.Thread(target=self._read, args=(s, d))
                        for s, d in ((self.proc.stdout, self.out),
                                     (self.proc.stderr, self.err))]
        for r in self.readers:
            r.start()

    def _read(self, stream, dest: List[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self.lock:
                dest.append(raw.decode("utf-8", "replace").replace("\r", ""))

    def output(self) -> str:
        with self.lock:
            return "".join(self.out)

    def wait_for(self, pattern: str, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.output(), re.M):
                return True
            if self.proc.poll() is not None:
                for r in self.readers:
                    r.join()
                return bool(re.search(pattern, self.output(), re.M))
            time.sleep(0.05)
        return False

    def finish(self, timeout: float) -> Optional[int]:
        """The exit status, or None if it had to be killed."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return None
        finally:
            for r in self.readers:
                r.join()


def wait_tap(ns: str, tap: str, vmm: Vmm, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and vmm.proc.poll() is None:
        if run(["ip", "-n", ns, "link", "show", tap]).returncode == 0:
            return True
        time.sleep(0.05)
    return False


def configure_tap(ns: str, tap: str) -> Optional[str]:
    for cmd in (["ip", "-n", ns, "addr", "add", HOST_IP + "/24", "dev", tap],
                ["ip", "-n", ns, "link", "set", tap, "up"]):
        p = run(cmd)
        if p.returncode:
            return "%s: %s" % (" ".join(cmd), p.stderr.strip())
    return None


def ping_guest(case: Case, ns: str, problems: List[str]) -> str:
    cmd = ["ip", "netns", "exec", ns, "ping"] + case.ping + ["-W", "5", GUEST_IP]
    # The guest exits after its last reply and the tap (with its neighbour
    # entry) goes with qvmm, so watch the entry being made instead of
    # asking for it afterwards.
    monitor = subprocess.Popen(["ip", "-n", ns, "monitor", "neigh"],
                               stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        p = run(cmd, timeout=60)
    except subprocess.TimeoutExpired:
        problems.append("ping still running after 60 s")
        return " ".join(cmd)
    finally:
        time.sleep(0.1)
        monitor.terminate()
        seen = monitor.communicate()[0]
    want = r"\b%d packets transmitted, %d received" % (case.pings, case.pings)
    if p.returncode or not re.search(want, p.stdout):
        last = (p.stdout.strip().splitlines() or [p.stderr.strip()])[-2:]
        problems.append("ping exited %d: %s" % (p.returncode, " / ".join(last)))
    neigh = run(["ip", "-n", ns, "neigh", "show", GUEST_IP]).stdout.strip()
    neigh = "\n".join([neigh] + [l for l in seen.splitlines()
                                 if l.startswith(GUEST_IP + " ")]).strip()
    if "lladdr %s" % case.mac not in neigh:
        problems.append("host's neighbour entry for %s is %r, expected "
                        "lladdr %s" % (GUEST_IP, neigh, case.mac))
    return " ".join(cmd) + "\n" + p.stdout + p.stderr


def exercise(case: Case, vmm: Vmm, ns: str, tap: str, timeout: float,
             problems: List[str]) -> str:
    """Bring up the tap and ping; returns ping's output."""
    if not wait_tap(ns, tap, vmm, 20):
        problems.append("tap %s never appeared in the namespace" % tap)
        return ""
    problem = configure_tap(ns, tap)
    if problem:
        problems.append(problem)
        return ""
    if not vmm.wait_for(r"^virtio-net: ready", timeout):
        problems.append("the guest never printed its ready line")
        return ""
    return ping_guest(case, ns, problems) if case.ping else ""


def check_vmm(case: Case, vmm: Vmm, status: Optional[int],
              problems: List[str]) -> None:
    out = vmm.output()
    if status is None:
        problems.append("VMM still running, killed")
    elif status != case.status:
        problems.append("exit status %d, expected %d" % (status, case.status))
    failed = re.search(r"^.*FAIL: .*$", out, re.M)
    if failed and case.status != FAIL_STATUS:
        problems.append("guest reported %r" % failed.group(0).strip())
    mac = r"virtio-net: mac %s, link up" % case.mac
    for pattern in [mac] + case.expect:
        if not re.search(pattern, out, re.M):
            problems.append("no output matching %r" % pattern)


def run_case(case: Case, index: int, args) -> bool:
    ns = "qvmm-net-%d-%d" % (os.getpid(), index)
    tap = "qvtap%d" % index
    cmd = case.command(args.vmm, args.guestdir, tap)
    problems: List[str] = []
    ping_out = ""
    start = time.monotonic()
    p = run(["ip", "netns", "add", ns])
    if p.returncode:
        print("FAIL %s: ip netns add %s: %s" % (case.name, ns, p.stderr.strip()))
        return False
    vmm = None
    try:
        vmm = Vmm(ns, cmd)
        ping_out = exercise(case, vmm, ns, tap, args.timeout, problems)
        check_vmm(case, vmm, vmm.finish(case.secs + args.timeout), problems)
    finally:
        if vmm and vmm.proc.poll() is None:
            os.killpg(vmm.proc.pid, signal.SIGKILL)
            vmm.finish(5)
        run(["ip", "netns", "del", ns])
    ok = not problems
    print("%s %s (%.1fs)%s" % ("PASS" if ok else "FAIL", case.name,
                               time.monotonic() - start,
                               "" if ok else ": " + "; ".join(problems)))
    if not ok or args.verbose:
        print("  command: ip netns exec %s %s" % (ns, shlex.join(cmd)))
        for line in vmm.output().splitlines()[-40:]:
            print("  | " + line)
        for line in "".join(vmm.err).splitlines()[-20:]:
            print("  stderr: " + line)
        for line in ping_out.splitlines()[-8:]:
            print("  ping: " + line)
    sys.stdout.flush()
    return ok


def missing_facility(guestdir: str) -> Optional[str]:
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm is not present"
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is not present"
    if not shutil.which("ip"):
        return "ip (iproute2) is not installed"
    if not shutil.which("ping"):
        return "ping (iputils-ping) is not installed"
    probe = "qvmm-net-probe-%d" % os.getpid()
    p = run(["ip", "netns", "add", probe])
    if p.returncode:
        return "cannot create a network namespace: " + p.stderr.strip()
    run(["ip", "netns", "del", probe])
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("vmm", help="qvmm, or qemu-system-x86_64 with --qemu")
    ap.add_argument("guestdir", help="directory holding virtio-net.elf")
    ap.add_argument("--qemu", action="store_true",
                    help="the VMM is QEMU (the cases are the same)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds allowed for boot and for the exit "
                    "(default: %(default)s)")
    ap.add_argument("-k", "--filter", action="append", default=[],
                    help="run only cases whose name contains this (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    args.vmm = shutil.which(args.vmm) or os.path.abspath(args.vmm)

    selected = [c for c in cases()
                if not args.filter or any(f in c.name for f in args.filter)]
    why = missing_facility(args.guestdir)
    if why:
        for c in selected:
            print("SKIP %s: %s" % (c.name, why))
        print("0 passed, 0 failed, %d skipped" % len(selected))
        return 77
    passed = sum(run_case(c, i, args) for i, c in enumerate(selected))
    failed = len(selected) - passed
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
