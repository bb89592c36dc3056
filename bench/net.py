#!/usr/bin/env python3
"""virtio-net over tap: the polled guest driver (tests/guest/virtio-net.elf)
under QEMU and under qvmm, side by side.

    bench/net.py [--build DIR] [--secs N] [--rounds N] [--window N]

Both VMMs get the same guest and the same -netdev tap/-device
virtio-net-pci, one boot each for every phase, in a network namespace
this script creates and deletes (no frame leaves it):

  txN     the guest floods N-byte UDP frames to the tap for --secs
          seconds; the host counts what reaches the tap with an AF_PACKET
          socket (its PACKET_STATISTICS, so the counting costs no copies).
  echoN   the host sends N-byte frames into the tap through AF_PACKET,
          keeping --window of them in flight, and the guest sends each
          back: round trips through the VMM in both directions.

For each phase: frames per second and Mbit/s (Ethernet frame bytes, no
FCS) counted on the host between the guest's start and end lines, and the
VMM's host CPU per frame, from utime+stime in /proc/PID/stat, with and
without the time its vCPU spent running guest code (guest_time, which the
kernel also counts in utime): the guest polls, so its vCPU is busy all
the time and only the rest is the VMM's own cost.  Figures are medians
over --rounds; a VMM that cannot run the guest shows n/a and why.
"""

import argparse
import ctypes
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

NET_EXIT_STATUS = (0x31 << 1) | 1          # tests/guest/virtio-net.c
HOST_IP, GUEST_IP = "10.9.0.1", "10.9.0.2"
GUEST_MAC = "52:54:00:12:34:56"
HOST_MAC = bytes.fromhex("027176 6d6d02".replace(" ", ""))
BENCH_PORT = 9                             # the guest's, UDP discard
TAP = "qvbench0"
SIZES = (64, 1514)

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_IGNORE_OUTGOING = 23
SO_ATTACH_FILTER = 26
CLONE_NEWNET = 0x40000000


# ---- the host side, inside the namespace ----

def enter_netns(path: str) -> int:
    """Move this thread into the network namespace at @path; returns an
    fd for the namespace it was in, to come back with."""
    libc = ctypes.CDLL(None, use_errno=True)
    old = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), "setns %s" % path)
    finally:
        os.close(fd)
    return old


def leave_netns(old: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.setns(old, CLONE_NEWNET)
    os.close(old)


def bench_filter(src_mac: bytes) -> List[Tuple[int, int, int, int]]:
    """Classic BPF: IPv4/UDP from @src_mac, ports 9 -> 9 (options-free IP
    header, which is what the guest and this script send); keep 64 bytes."""
    mac_hi, = struct.unpack("!I", src_mac[:4])
    mac_lo, = struct.unpack("!H", src_mac[4:])
    ldh, ldb, ldw, jeq, ret = 0x28, 0x30, 0x20, 0x15, 0x06
    prog = [(ldw, 0, 0, 6), (jeq, 0, 11, mac_hi),
            (ldh, 0, 0, 10), (jeq, 0, 9, mac_lo),
            (ldh, 0, 0, 12), (jeq, 0, 7, 0x0800),
            (ldb, 0, 0, 23), (jeq, 0, 5, 17),
            (ldh, 0, 0, 34), (jeq, 0, 3, BENCH_PORT),
            (ldh, 0, 0, 36), (jeq, 0, 1, BENCH_PORT),
            (ret, 0, 0, 64), (ret, 0, 0, 0)]
    return prog


def packet_socket(ifname: str, src_mac: bytes) -> socket.socket:
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    prog = bench_filter(src_mac)
    insns = b"".join(struct.pack("HBBI", *i) for i in prog)
    buf = ctypes.create_string_buffer(insns)
    fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
    s.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    s.bind((ifname, 0))
    # Whatever arrived before the filter was attached: drop it.
    s.setblocking(False)
    try:
        while True:
            s.recv(2048)
    except BlockingIOError:
        pass
    s.setblocking(True)
    packet_stats(s)
    return s


def packet_stats(s: socket.socket) -> int:
    """Frames the socket saw since the last call, queued or dropped."""
    raw = s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
    seen, _ = struct.unpack("II", raw)
    return seen        # the kernel reports received + dropped here


def ip_checksum(hdr: bytes) -> int:
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def udp_frame(size: int, src_port: int = BENCH_PORT) -> bytes:
    """An Ethernet/IPv4/UDP frame of @size bytes from the host to the guest."""
    dst = bytes.fromhex(GUEST_MAC.replace(":", ""))
    ip_len = size - 14
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0, 64, 17, 0,
                      socket.inet_aton(HOST_IP), socket.inet_aton(GUEST_IP))
    iph = iph[:10] + struct.pack("!H", ip_checksum(iph)) + iph[12:]
    udp = struct.pack("!HHHH", src_port, BENCH_PORT, ip_len - 20, 0)
    return dst + HOST_MAC + b"\x08\x00" + iph + udp + bytes(size - 42)


class Echoer(threading.Thread):
    """Keeps @window frames in flight through the guest until stopped;
    a frame not back in 50 ms is replaced, so losses cannot stall it."""

    def __init__(self, sock: socket.socket, size: int, window: int):
        super().__init__()
        self.sock, self.frame, self.window = sock, udp_frame(size), window
        self.received = 0
        self.busy = 0.0         # share of its time the thread was on a CPU
        self.stop = threading.Event()

    def run(self) -> None:
        t0, c0 = time.monotonic(), time.thread_time()
        self.sock.settimeout(0.05)
        try:
            for _ in range(self.window):
                self.sock.send(self.frame)
            while not self.stop.is_set():
                try:
                    self.sock.recv(64)
                    self.received += 1
                except socket.timeout:
                    pass
                self.sock.send(self.frame)
        except OSError:
            pass        # the VMM ended and took the tap with it
        self.busy = (time.thread_time() - c0) / max(time.monotonic() - t0, 1e-9)


# ---- one VMM run ----

def cpu_times(pid: int) -> Tuple[float, float]:
    """(utime + stime, guest_time) of process @pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    # fields[0] is field 3 (state): utime 14, stime 15, guest_time 43.
    return (int(fields[11]) + int(fields[12])) / tick, int(fields[40]) / tick


def vmm_command(vmm: str, guest: str, secs: int, phases: List[str]) -> List[str]:
    return [vmm, "-enable-kvm", "-M", "pc", "-m", "64", "-nographic",
            "-no-user-config", "-nodefaults", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0x501,iosize=2",
            "-kernel", guest,
            "-append", "ip=%s peer=%s bench=%s secs=%d" % (
                GUEST_IP, HOST_IP, ",".join(phases), secs),
            "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % TAP,
            "-device", "virtio-net-pci,netdev=n0,mac=%s" % GUEST_MAC]


def run(cmd: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=30)


def wait_tap(ns: str, proc: subprocess.Popen) -> bool:
    for _ in range(400):
        if proc.poll() is not None:
            return False
        if run(["ip", "-n", ns, "link", "show", TAP]).returncode == 0:
            return True
        time.sleep(0.05)
    return False


class Phase:
    def __init__(self, name: str):
        self.name, self.t0, self.cpu0 = name, 0.0, (0.0, 0.0)
        self.frames = 0
        self.guest_frames = 0   # what the guest counted: sent, or echoed
        self.kicks = 0          # its TX notifies
        self.host_busy = 0.0
        self.seconds = 0.0
        self.cpu = (0.0, 0.0)
        self.echoer: Optional[Echoer] = None


def drive(ns: str, proc: subprocess.Popen, window: int,
          lines: List[str]) -> Tuple[Dict[str, Phase], str]:
    """Follow the guest's serial lines, counting each phase on the host."""
    guest_mac = bytes.fromhex(GUEST_MAC.replace(":", ""))
    counter = packet_socket(TAP, guest_mac)
    phases: Dict[str, Phase] = {}
    cur: Optional[Phase] = None
    started = False
    for raw in iter(proc.stdout.readline, b""):
        line = raw.decode("utf-8", "replace").replace("\r", "").rstrip()
        lines.append(line)
        if line.startswith("bench: waiting for the host's start frame"):
            counter.send(udp_frame(64, src_port=BENCH_PORT + 1))
            started = True
        m = re.match(r"bench: (tx|echo) size=(\d+) frames=(\d+) .*kicks=(\d+)$",
                     line)
        if m and m.group(1) + m.group(2) in phases:
            ph = phases[m.group(1) + m.group(2)]
            ph.guest_frames, ph.kicks = int(m.group(3)), int(m.group(4))
        m = re.match(r"bench: (start|end) ((tx|echo)(\d+))$", line)
        if not m:
            continue
        now, cpu = time.monotonic(), cpu_times(proc.pid)
        if m.group(1) == "start":
            cur = phases[m.group(2)] = Phase(m.group(2))
            cur.t0, cur.cpu0 = now, cpu
            packet_stats(counter)
            if m.group(3) == "echo":
                # A socket of its own: the counter's queue is full of
                # flood frames.
                cur.echoer = Echoer(packet_socket(TAP, guest_mac),
                                    int(m.group(4)), window)
                cur.echoer.start()
        elif cur and cur.name == m.group(2):
            if cur.echoer:
                cur.echoer.stop.set()
                cur.echoer.join()
                cur.echoer.sock.close()
                cur.frames = cur.echoer.received
                cur.host_busy = cur.echoer.busy
            else:
                cur.frames = packet_stats(counter)
            cur.seconds = now - cur.t0
            cur.cpu = (cpu[0] - cur.cpu0[0], cpu[1] - cur.cpu0[1])
            cur = None
    counter.close()
    return phases, "" if started else "the guest never asked for its start frame"


def run_vmm(ns: str, vmm: str, guest: str, secs: int, window: int,
            phases: List[str]) -> Tuple[Dict[str, Phase], str]:
    cmd = ["ip", "netns", "exec", ns] + vmm_command(vmm, guest, secs, phases)
    who = os.path.basename(vmm)
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        return {}, "%s: %s" % (who, e)
    lines: List[str] = []
    result: Dict[str, Phase] = {}
    why = ""
    try:
        if not wait_tap(ns, proc):
            proc.wait(timeout=10)
            err = proc.stderr.read().decode("utf-8", "replace").strip()
            return {}, "%s: %s" % (who, (err.splitlines() or
                                         ["no tap %s appeared" % TAP])[-1])
        for c in (["ip", "-n", ns, "addr", "add", HOST_IP + "/24", "dev", TAP],
                  ["ip", "-n", ns, "link", "set", TAP, "up"]):
            run(c)
        result, why = drive(ns, proc, window, lines)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    fail = next((l for l in lines if "FAIL: " in l), None)
    if fail or proc.returncode != NET_EXIT_STATUS:
        err = proc.stderr.read().decode("utf-8", "replace").strip()
        why = fail or (err.splitlines() or ["exit status %d" % proc.returncode])[-1]
        return {}, "%s: %s" % (who, why)
    return result, "%s: %s" % (who, why) if why else ""


# ---- the report ----

def median(v: List[float]) -> Optional[float]:
    return statistics.median(v) if v else None


def fmt(v: Optional[float], digits: int = 0) -> str:
    return "n/a" if v is None else "%.*f" % (digits, v)


def ratio(a: Optional[float], b: Optional[float]) -> str:
    return "%.2f" % (a / b) if a is not None and b else "n/a"


def metrics(p: Phase, size: int) -> Dict[str, float]:
    if not p.frames or not p.seconds:
        return {}
    return {"kpps": p.frames / p.seconds / 1000,
            "Mbit/s": p.frames * size * 8 / p.seconds / 1e6,
            "CPU us/frame": p.cpu[0] / p.frames * 1e6,
            "less guest": (p.cpu[0] - p.cpu[1]) / p.frames * 1e6}


UNITS = (("kpps", 1), ("Mbit/s", 0), ("CPU us/frame", 2), ("less guest", 2))


def print_table(res: Dict[str, Dict[str, Dict[str, List[float]]]],
                phases: List[str]) -> None:
    head = ("phase", "figure", "qemu", "qvmm", "qvmm/qemu")
    rows = [head]
    for ph in phases:
        for unit, digits in UNITS:
            q = median(res["qemu"].get(ph, {}).get(unit, []))
            v = median(res["qvmm"].get(ph, {}).get(unit, []))
            rows.append((ph, unit, fmt(q, digits), fmt(v, digits), ratio(v, q)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        print("  ".join(c.rjust(w) if i > 1 else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip())


class Results:
    """Every round's figures, per VMM ("qemu", "qvmm") and phase."""

    def __init__(self):
        keys = ("qemu", "qvmm")
        self.figures: Dict[str, Dict[str, Dict[str, List[float]]]] = \
            {k: {} for k in keys}
        self.busy: Dict[str, Dict[str, List[float]]] = {k: {} for k in keys}
        self.counts: Dict[str, Dict[str, List[Tuple[float, float]]]] = \
            {k: {} for k in keys}
        self.problems: List[str] = []

    def add(self, key: str, got: Dict[str, Phase], why: str) -> None:
        for name, ph in got.items():
            size = int(re.sub(r"\D", "", name))
            if ph.echoer:
                self.busy[key].setdefault(name, []).append(ph.host_busy)
            if ph.guest_frames:
                self.counts[key].setdefault(name, []).append(
                    (ph.frames / ph.guest_frames,
                     ph.guest_frames / max(ph.kicks, 1)))
            for unit, v in metrics(ph, size).items():
                self.figures[key].setdefault(name, {}).setdefault(
                    unit, []).append(v)
        if why:
            self.problems.append(why)


def print_details(r: Results, rounds: int) -> None:
    # The host is often shared: the spread says how far to trust a ratio.
    if rounds > 1:
        print("spread of kpps (min-max over rounds):")
        for key, d in r.figures.items():
            spread = ["%s %.0f-%.0f" % (n, min(f["kpps"]), max(f["kpps"]))
                      for n, f in d.items() if f.get("kpps")]
            if spread:
                print("  %-4s  %s" % (key, ", ".join(spread)))
    # Frames the host saw against those the guest counted (its window is
    # a little wider), and how many frames the guest sent per notify.
    print("host/guest frame count, guest frames per TX notify (medians):")
    for key, d in r.counts.items():
        if d:
            print("  %-4s  %s" % (key, ", ".join(
                "%s %.2f/%.1f" % (n, median([a for a, _ in v]),
                                  median([b for _, b in v]))
                for n, v in d.items())))
    # Near 100 %, the echo figures are the host script's limit, not the VMM's.
    print("host echo thread on a CPU (median share of the phase):")
    for key, d in r.busy.items():
        if d:
            print("  %-4s  %s" % (key, ", ".join(
                "%s %.0f%%" % (n, median(v) * 100) for n, v in d.items())))
    for p in dict.fromkeys(r.problems):
        print("note: " + p)


def run_rounds(args, ns: str, vmms: List[Tuple[str, str]], guest: str,
               phases: List[str]) -> Results:
    r = Results()
    # The tap's IPv6 chatter would only be noise for the guest.
    run(["ip", "netns", "exec", ns, "sysctl", "-qw",
         "net.ipv6.conf.default.disable_ipv6=1"])
    old = enter_netns("/run/netns/" + ns)
    try:
        for rnd in range(args.rounds):
            for key, vmm in vmms:
                print("round %d/%d: %s ..." % (rnd + 1, args.rounds, key),
                      flush=True)
                r.add(key, *run_vmm(ns, vmm, guest, args.secs, args.window,
                                    phases))
    finally:
        leave_netns(old)
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="qvmm build directory")
    ap.add_argument("--qvmm", help="qvmm binary (default: BUILD/qvmm)")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--guest", help="default: BUILD/tests/guest/virtio-net.elf")
    ap.add_argument("--secs", type=int, default=5,
                    help="seconds per phase (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--window", type=int, default=64,
                    help="echo frames in flight (default: %(default)s)")
    ap.add_argument("--phases", help="a comma-separated subset of "
                    "tx64,tx1514,echo64,echo1514 (default: all)")
    args = ap.parse_args()
    qvmm = os.path.abspath(args.qvmm or os.path.join(args.build, "qvmm"))
    guest = os.path.abspath(args.guest or os.path.join(
        args.build, "tests/guest/virtio-net.elf"))
    if not os.path.exists(guest):
        print("bench: %s is missing (build it: ninja -C BUILD)" % guest,
              file=sys.stderr)
        return 1
    phases = ["tx%d" % s for s in SIZES] + ["echo%d" % s for s in SIZES]
    if args.phases:
        unknown = set(args.phases.split(",")) - set(phases)
        if unknown:
            print("bench: unknown phase %s" % ", ".join(sorted(unknown)),
                  file=sys.stderr)
            return 1
        phases = [p for p in phases if p in args.phases.split(",")]
    ns = "qvmm-bench-net-%d" % os.getpid()
    p = run(["ip", "netns", "add", ns])
    if p.returncode:
        print("bench: ip netns add: %s (run as root)" % p.stderr.strip(),
              file=sys.stderr)
        return 1
    try:
        r = run_rounds(args, ns, [("qemu", args.qemu), ("qvmm", qvmm)],
                       guest, phases)
    finally:
        run(["ip", "netns", "del", ns])
    print("\nvirtio-net over tap, %d s per phase, %d round(s), echo window %d"
          % (args.secs, args.rounds, args.window))
    print_table(r.figures, phases)
    print_details(r, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
