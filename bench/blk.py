#!/usr/bin/env python3
"""virtio-blk throughput: fio on the host file against the polled guest
driver (tests/guest/virtio-blk.elf) under qvmm and under QEMU.

    bench/blk.py [--build DIR] [--image PATH] [--secs N] [--rounds N]

Four workloads, each at queue depth 32 on the same raw image: 4 KiB
random reads and writes (IOPS) and 1 MiB sequential reads and writes
(MiB/s).  fio (libaio, O_DIRECT) gives the physical limit, once alone
and once beside a process that keeps one CPU busy as the polled guest's
vCPU does ("fio-busy"); both VMMs get the same -drive (cache=none,
aio=native) and the same guest, which times itself with its TSC.  Host
CPU per request is counted for all CPUs, less the guest's own time.  A VMM that cannot run the guest shows "n/a" and
the reason below the table.  Figures are medians over --rounds runs.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

WORKLOADS = [  # name, fio --rw, block size, what is reported
    ("randread", "randread", 4096, "iops"),
    ("randwrite", "randwrite", 4096, "iops"),
    ("read", "read", 1 << 20, "MiB/s"),
    ("write", "write", 1 << 20, "MiB/s"),
]
QD = 32
BLK_EXIT_STATUS = (0x30 << 1) | 1      # tests/guest/virtio-blk.c
MIB = 1 << 20
USER_HZ = os.sysconf("SC_CLK_TCK")


def host_cpu() -> float:
    """Seconds of CPU the whole host has spent, less idle, steal and the
    time guests ran: what fio or a VMM costs the host, kernel included
    (softirqs run on any CPU).  The polled guest spins all the time, so
    its vCPU time says nothing about the VMM."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:11]]
    user, nice, system, _, _, irq, softirq, _, guest, guest_nice = v
    return (user - guest + nice - guest_nice + system + irq + softirq) \
        / USER_HZ


def fs_type(path: str) -> str:
    """The file system type of the mount holding @path."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    with open("/proc/self/mounts") as f:
        for line in f:
            fields = line.split()
            mnt = fields[1].replace("\\040", " ")
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) \
                    and len(mnt) >= len(best):
                best, kind = mnt, fields[2]
    return kind


def make_image(path: str, size: int) -> None:
    """A fully written (not sparse) image: reads of holes or unwritten
    extents never reach the disk and would flatter everyone."""
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    print("writing a %d MiB image at %s ..." % (size // MIB, path), flush=True)
    chunk = os.urandom(4 * MIB)
    with open(path + ".tmp", "wb") as f:
        for _ in range(size // len(chunk)):
            f.write(chunk)
        f.write(chunk[:size % len(chunk)])
        f.flush()
        os.fsync(f.fileno())
    os.rename(path + ".tmp", path)


def run_fio(image: str, rw: str, bs: int,
            secs: int) -> Tuple[Optional[float], Optional[float], str]:
    cmd = ["fio", "--name=bench", "--filename=" + image,
           "--ioengine=libaio", "--direct=1", "--iodepth=%d" % QD,
           "--bs=%d" % bs, "--rw=" + rw, "--norandommap",
           "--runtime=%d" % secs, "--time_based", "--output-format=json"]
    cpu = host_cpu()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=secs * 3 + 60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, None, "fio: %s" % e
    cpu = host_cpu() - cpu
    if p.returncode != 0:
        return None, None, \
            "fio: " + (p.stderr.strip().splitlines() or ["failed"])[-1]
    job = json.loads(p.stdout)["jobs"][0]
    side = job["write" if "write" in rw else "read"]
    per_io = cpu * 1e6 / side["total_ios"] if side["total_ios"] else None
    if bs == 4096:
        return side["iops"], per_io, ""
    return side["bw_bytes"] / MIB, per_io, ""


class Spinner:
    """One process that keeps a CPU busy, as the polled guest's vCPU does
    during every VMM run: fio beside it ("fio-busy") has the CPUs a VMM
    has.  Not pinned: the scheduler places it as it places a vCPU."""

    def __enter__(self):
        self.p = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        return self

    def __exit__(self, *exc):
        self.p.kill()
        self.p.wait()


def vmm_command(vmm: str, guest: str, image: str, secs: int,
                names: List[str]) -> List[str]:
    return [vmm, "-enable-kvm", "-M", "pc", "-m", "256", "-nographic",
            "-no-user-config", "-nodefaults", "-serial", "stdio",
            "-device", "isa-debug-exit,iobase=0x501,iosize=2",
            "-kernel", guest,
            "-append", "bench=%s secs=%d qd=%d" % (",".join(names), secs, QD),
            "-drive", "file=%s,format=raw,if=none,id=d0,cache=none,aio=native"
            % image,
            "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"]


def read_lines(stream, lines: List[Tuple[float, float, str]]) -> None:
    """Collect serial lines with the host time and host CPU (host_cpu())
    at which each arrived."""
    for raw in iter(stream.readline, b""):
        lines.append((time.monotonic(), host_cpu(),
                      raw.decode("utf-8", "replace").replace("\r", "").rstrip()))


def run_guest(vmm: str, guest: str, image: str,
              secs: int) -> Tuple[Dict[str, object], str]:
    """One boot running every workload: {name: figure}, or {} and why not."""
    names = [w[0] for w in WORKLOADS]
    cmd = vmm_command(vmm, guest, image, secs, names)
    lines: List[Tuple[float, float, str]] = []
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        return {}, "%s: %s" % (vmm, e)
    errs: List[Tuple[float, float, str]] = []
    readers = [threading.Thread(target=read_lines, args=(p.stdout, lines)),
               threading.Thread(target=read_lines, args=(p.stderr, errs))]
    for r in readers:
        r.start()
    try:
        p.wait(timeout=len(names) * (secs + 30) + 60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return {}, "%s: timed out" % os.path.basename(vmm)
    finally:
        for r in readers:
            r.join()
    return parse_guest(lines, p.returncode, "\n".join(l for _, _, l in errs),
                       os.path.basename(vmm))


def parse_guest(lines: List[Tuple[float, float, str]], rc: int, err: str,
                who: str) -> Tuple[Dict[str, object], str]:
    text = "\n".join(l for _, _, l in lines)
    fail = re.search(r"FAIL: .*", text)
    if fail or rc != BLK_EXIT_STATUS:
        why = fail.group(0) if fail else \
            (err.strip().splitlines() or ["exit status %d" % rc])[-1]
        return {}, "%s: %s" % (who, why)
    figures: Dict[str, object] = {}
    notes: List[str] = []
    spans = {}  # workload -> host start (time, CPU), then their differences
    for t, cpu, line in lines:
        m = re.match(r"bench: (start|end) (\w+)$", line)
        if m and m.group(1) == "start":
            spans[m.group(2)] = (t, cpu)
        elif m:
            t0, cpu0 = spans.get(m.group(2), (t, cpu))
            spans[m.group(2)] = (t - t0, cpu - cpu0)
        m = re.match(r"bench: (\w+) bs=(\d+) qd=\d+ ios=(\d+) usecs=(\d+) "
                     r"iops=(\d+) kib_per_s=(\d+) kicks=(\d+) kick_ns=(\d+)",
                     line)
        if not m:
            continue
        name, usecs = m.group(1), int(m.group(4))
        figures[name] = float(m.group(5)) if int(m.group(2)) == 4096 \
            else int(m.group(6)) / 1024.0
        # How the guest's notifies went: requests per kick, µs per kick.
        kicks = int(m.group(7))
        figures[name + ":kick"] = (int(m.group(3)) / kicks if kicks else 0,
                                   int(m.group(8)) / 1000.0)
        host, cpu = spans.get(name, (0, 0))
        if int(m.group(3)):
            figures[name + ":cpu"] = cpu * 1e6 / int(m.group(3))
        # The guest's clock against ours: a bad TSC calibration shows here.
        if host and abs(host * 1e6 - usecs) > 0.05 * usecs + 50000:
            notes.append("%s: %s took %.2f s by the host's clock, %.2f s by "
                         "the guest's" % (who, name, host, usecs / 1e6))
    return figures, "; ".join(notes)


def ratio(a: Optional[float], b: Optional[float]) -> str:
    return "%.2f" % (a / b) if a is not None and b else "n/a"


def cell(v: Optional[float]) -> str:
    if v is None:
        return "n/a"
    return "%.0f" % v if v >= 100 else "%.1f" % v


def print_table(res: Dict[str, Dict[str, Optional[float]]],
                suffix: str = "", unit: Optional[str] = None) -> None:
    head = ("workload", "unit", "fio", "fio-busy", "qemu", "qvmm",
            "qemu/fio", "qvmm/fio", "qvmm/fio-busy", "qvmm/qemu")
    rows = [head]
    for name, _, bs, wunit in WORKLOADS:
        f, fb, q, v = (res[k].get(name + suffix)
                       for k in ("fio", "fio-busy", "qemu", "qvmm"))
        rows.append((name, unit or wunit, cell(f), cell(fb), cell(q),
                     cell(v), ratio(q, f), ratio(v, f), ratio(v, fb),
                     ratio(v, q)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for r in rows:
        print("  ".join(c.rjust(w) if i > 1 else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip())


def median(values: List[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="qvmm build directory")
    ap.add_argument("--qvmm", help="qvmm binary (default: BUILD/qvmm)")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--guest",
                    help="default: BUILD/tests/guest/virtio-blk.elf")
    ap.add_argument("--image", default="/var/tmp/qvmm-bench.img",
                    help="raw image on a disk file system (default: %(default)s)")
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--secs", type=int, default=10,
                    help="seconds per workload (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    qvmm = args.qvmm or os.path.join(args.build, "qvmm")
    guest = args.guest or os.path.join(args.build, "tests/guest/virtio-blk.elf")

    for need, hint in ((guest, "build it: ninja -C BUILD"),):
        if not os.path.exists(need):
            print("bench: %s is missing (%s)" % (need, hint), file=sys.stderr)
            return 1
    if not shutil.which("fio"):
        print("bench: fio is not installed (make bench installs it)",
              file=sys.stderr)
        return 1
    kind = fs_type(os.path.dirname(os.path.abspath(args.image)))
    if kind in ("tmpfs", "ramfs"):
        print("bench: %s is on %s, which has no O_DIRECT; use --image on a "
              "disk" % (args.image, kind), file=sys.stderr)
        return 1
    make_image(args.image, args.size_mib * MIB)

    samples: Dict[str, Dict[str, List[float]]] = \
        {k: {n + x: [] for n, _, _, _ in WORKLOADS for x in ("", ":cpu")}
         for k in ("fio", "fio-busy", "qemu", "qvmm")}
    problems: List[str] = []
    kicks: Dict[str, Dict[str, List[Tuple[float, float]]]] = \
        {"qemu": {}, "qvmm": {}}
    for rnd in range(args.rounds):
        print("round %d/%d: fio ..." % (rnd + 1, args.rounds), flush=True)
        for key in ("fio", "fio-busy"):
            for name, rw, bs, _ in WORKLOADS:
                if key == "fio":
                    v, cpu, why = run_fio(args.image, rw, bs, args.secs)
                else:
                    with Spinner():
                        v, cpu, why = run_fio(args.image, rw, bs, args.secs)
                        cpu = None  # the spinner's time is in it
                if v is not None:
                    samples[key][name].append(v)
                if cpu is not None:
                    samples[key][name + ":cpu"].append(cpu)
                if why:
                    problems.append(why)
        for key, vmm in (("qemu", args.qemu), ("qvmm", qvmm)):
            print("round %d/%d: %s ..." % (rnd + 1, args.rounds, key), flush=True)
            figures, why = run_guest(vmm, guest, args.image, args.secs)
            for name, v in figures.items():
                if name.endswith(":kick"):
                    kicks[key].setdefault(name[:-5], []).append(v)
                else:
                    samples[key][name].append(v)
            if why:
                problems.append(why)

    res = {k: {n: median(v) for n, v in d.items()} for k, d in samples.items()}
    print("\nvirtio-blk, queue depth %d, %d s per workload, %d round(s), "
          "image %s (%s)" % (QD, args.secs, args.rounds, args.image, kind))
    print_table(res)
    print("host CPU per request, µs (all CPUs, kernel included, less the "
          "guest's own time):")
    print_table(res, ":cpu", "us/req")
    if args.rounds > 1:
        print("spread (min-max over rounds):")
        for key in ("fio", "fio-busy", "qemu", "qvmm"):
            spread = ["%s %.0f-%.0f" % (n, min(v), max(v))
                      for n, v in samples[key].items()
                      if v and not n.endswith(":cpu")]
            if spread:
                print("  %-4s  %s" % (key, ", ".join(spread)))
    print("guest notifies (median requests per kick, µs per kick):")
    for key, d in kicks.items():
        if d:
            print("  %-4s  %s" % (key, ", ".join(
                "%s %.1f/%.0f" % (n, median([r for r, _ in v]),
                                  median([u for _, u in v]))
                for n, v in d.items())))
    for p in dict.fromkeys(problems):
        print("note: " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
