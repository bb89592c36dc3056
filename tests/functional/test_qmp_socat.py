#!/usr/bin/env python3
"""One scripted QMP session through socat, as a shell script would run it.

    test_qmp_socat.py QVMM [--qemu QEMU]

qmp-session.txt is sent in one go to a VMM started with -S; the replies
are matched to the requests by "id".  Against qvmm alone the script
checks that every request is answered, ids starting "err-" with an error
and the rest with a return, and that the expected events arrive.  With
--qemu the same session also runs against qemu-system-x86_64 (-accel
tcg -M pc) and qvmm's replies and events must have QEMU's shape, member
by member (values such as versions, thread ids and list lengths aside;
error classes and texts, run states and event names compared exactly).
The differences qvmm is allowed are listed in ALLOWED and documented in
docs/qmp.md.  Exit 77 (skip) without socat.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SESSION = os.path.join(HERE, "qmp-session.txt")
ARGS = ["-S", "-display", "none", "-nodefaults", "-smp", "2",
        "-name", "guest=session", "-uuid",
        "0b3e5f2a-1c4d-4e6f-8a9b-0c1d2e3f4a5b"]

# Values (not shapes) compared exactly, by member name.
EXACT = {"class", "desc", "status", "running", "event", "reason", "guest",
         "arch", "name", "UUID", "singlestep"}
# ... and in the block replies (ids starting "block", "named-block-nodes"
# or "iothreads"), where these names mean the same in both VMMs.
BLOCK_EXACT = {"device", "qdev", "drv", "ro", "io-status", "removable",
               "locked", "file", "filename", "format", "writeback", "direct",
               "no-flush", "detect_zeroes", "virtual-size", "id"}
BLOCK_IDS = ("block", "named-block-nodes", "iothreads")
# Members whose values differ by design (docs/qmp.md).
ALLOWED_VALUE = {"package", "capabilities", "default-cpu-type",
                 "hotpluggable-cpus", "enabled", "qom-path", "type"}
# query-commands lists what each VMM has; qvmm's list is a subset.
SKIP_IDS = {"commands"}


def block_args(tmp):
    """Fresh images for a run: a -drive with a device, one without, a
    read-only one, and a -blockdev file/raw pair, one device in an I/O
    thread (relative file names, so both VMMs report the same ones)."""
    for name, size in (("a.img", 1 << 20), ("b.img", 2 << 20),
                       ("r.img", 1 << 20), ("u.img", 1 << 20)):
        with open(os.path.join(tmp, name), "wb") as f:
            f.truncate(size)
    return ["-object", "iothread,id=io0",
            "-drive", "file=a.img,format=raw,if=none,id=d0,werror=stop",
            "-device", "virtio-blk-pci,drive=d0,id=vb0,iothread=io0",
            "-drive", "file=r.img,format=raw,if=none,id=rd,readonly=on",
            "-device", "virtio-blk-pci,drive=rd",
            "-drive", "file=u.img,format=raw,if=none,id=u0,cache=none",
            "-blockdev", "driver=file,filename=b.img,node-name=f1",
            "-blockdev", "driver=raw,file=f1,node-name=n1",
            "-device", "virtio-blk-pci,drive=n1,id=vb1"]


def run_session(argv, sock):
    argv = argv + block_args(os.path.dirname(sock))
    proc = subprocess.Popen(argv + ["-qmp",
                                    "unix:%s,server=on,wait=off" % sock],
                            cwd=os.path.dirname(sock),
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    for _ in range(500):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    with open(SESSION, "rb") as f:
        out = subprocess.run(["socat", "-t", "5", "STDIO",
                              "UNIX-CONNECT:" + sock],
                             stdin=f, capture_output=True, timeout=60).stdout
    try:
        status = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise SystemExit("%s did not exit after quit" % argv[0])
    if status != 0:
        raise SystemExit("%s exited with %d" % (argv[0], status))
    return parse(out, argv[0])


def parse(out, who):
    if not out.endswith(b"\r\n"):
        raise SystemExit("%s: output does not end in CRLF" % who)
    lines = out[:-2].split(b"\r\n")
    msgs = [json.loads(line) for line in lines]
    greeting, replies, events = msgs[0], {}, []
    for m in msgs[1:]:
        if "event" in m:
            events.append(m)
        else:
            replies[m.get("id", "(none)")] = m
    return greeting, replies, events


def check_alone(replies, events):
    with open(SESSION) as f:
        ids = [json.loads(line)["id"] for line in f if line.strip()]
    errors = []
    for i in ids:
        r = replies.get(i)
        if r is None:
            errors.append("no reply to %s" % i)
        elif i.startswith("err-") != ("error" in r):
            errors.append("%s: unexpected %s" % (i, json.dumps(r)))
    names = [e["event"] for e in events]
    if names != ["RESUME", "STOP", "RESET", "POWERDOWN", "SHUTDOWN"]:
        errors.append("events: %s" % names)
    return errors


def key_of(d):
    # block entries: node names may be generated ("#block..."), files not
    if "inserted" in d:
        return ("device", d["device"], d["inserted"]["file"])
    if "drv" in d and "file" in d:
        return ("node", d["drv"], d["file"])
    for k in ("name", "label", "cpu-index", "bar"):
        if k in d:
            return (k, d[k])
    if "slot" in d and "function" in d:
        return ("devfn", d["slot"], d["function"])
    return None


def compare(path, a, b, errors):
    """qvmm's @a against QEMU's @b."""
    name = path.rsplit(".", 1)[-1]
    if type(a) != type(b) and not (isinstance(a, (int, float)) and
                                   isinstance(b, (int, float))):
        errors.append("%s: %s vs QEMU's %s" % (path, json.dumps(a),
                                               json.dumps(b)))
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                errors.append("%s: member '%s' only in %s" %
                              (path, k, "qvmm" if k in a else "QEMU"))
            else:
                compare(path + "." + k, a[k], b[k], errors)
    elif isinstance(a, list):
        if name in ALLOWED_VALUE:
            return
        theirs = {key_of(x): x for x in b if isinstance(x, dict)}
        for i, x in enumerate(a):
            other = theirs.get(key_of(x)) if isinstance(x, dict) else None
            if other is None and b:
                other = b[0] if not isinstance(x, dict) else None
            if other is not None:
                compare("%s[%d]" % (path, i), x, other, errors)
    elif (name in EXACT or (name in BLOCK_EXACT and
                            path.startswith(BLOCK_IDS))) and \
            name not in ALLOWED_VALUE and a != b:
        errors.append("%s: %s vs QEMU's %s" % (path, json.dumps(a),
                                               json.dumps(b)))


def main():
    argv = sys.argv[1:]
    qemu = None
    if "--qemu" in argv:
        i = argv.index("--qemu")
        qemu = argv[i + 1]
        del argv[i:i + 2]
    if not shutil.which("socat"):
        print("SKIP: socat is not installed")
        return 77
    accel = ["-accel", "kvm"] if os.access("/dev/kvm", os.R_OK | os.W_OK) \
        else ["-accel", "qtest"]
    with tempfile.TemporaryDirectory() as tmp:
        # the VMMs run in the images' directory: make the path absolute
        g1, r1, e1 = run_session([os.path.abspath(argv[0])] + accel + ARGS,
                                 os.path.join(tmp, "qvmm.sock"))
        errors = check_alone(r1, e1)
        if qemu:
            g2, r2, e2 = run_session([qemu, "-accel", "tcg", "-M", "pc"] +
                                     ARGS, os.path.join(tmp, "qemu.sock"))
            compare("greeting", g1, g2, errors)
            for i in r1:
                if i not in SKIP_IDS:
                    compare(i, r1[i], r2.get(i), errors)
            # HMP info block: the same text, generated node names aside
            texts = [re.sub(r"#block\d+", "#block", r["hmp-block"]["return"])
                     for r in (r1, r2)]
            if texts[0] != texts[1]:
                errors.append("hmp-block: %r vs QEMU's %r" % tuple(texts))
            # SeaBIOS reboots after a reset under QEMU: one more RESET.
            e2 = [e for e in e2 if e.get("data", {}).get("reason") !=
                  "guest-reset"]
            if len(e1) != len(e2):
                errors.append("events: %s vs QEMU's %s" %
                              ([e["event"] for e in e1],
                               [e["event"] for e in e2]))
            for n, (x, y) in enumerate(zip(e1, e2)):
                compare("event%d" % n, x, y, errors)
    for e in errors:
        print("FAIL:", e)
    print("%d replies, %d events, %d differences" %
          (len(r1), len(e1), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
