#!/usr/bin/env python3
"""
Functional tests of the network options: -netdev/-nic/-net error paths
(each one line on stderr, exit 1, QEMU 7.2's text where QEMU has one)
and tap networking inside a network namespace the test creates and
removes: a tap created by name, an existing tap attached, the if-up and
if-down scripts, and a tap fd passed in.

    test_net_cli.py QVMM
    test_net_cli.py --qemu [QEMU]    # the error texts against QEMU 7.2

"{P}" stands for the program-name prefix.  Cases marked deliberate are
where qvmm differs on purpose; --qemu skips them.  Standard library only.
"""

import argparse
import ctypes
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


class Tester:
    def __init__(self, binary, qemu):
        self.binary = binary
        self.qemu = qemu
        self.prefix = os.path.basename(binary) + ": "
        self.tmp = tempfile.mkdtemp(prefix="qvmm-net-")
        # Under qemu there is no qtest accelerator: -S keeps TCG idle.
        self.base = ["-nodefaults", "-display", "none"] + \
            (["-accel", "tcg", "-S"] if qemu else ["-accel", "qtest"])

    def run(self, args, timeout=10, **kw):
        return subprocess.run([self.binary] + self.base + args,
                              capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **kw)


# ---------------------------------------------------------------- errors

NO_PEER = "{P}warning: netdev n0 has no peer\n"
DELIBERATE = "deliberate"

# (name, args, expected stderr, flags)
ERRORS = [
    ("bad-fd", ["-netdev", "tap,id=n0,fd=99"],
     "{P}-netdev tap,id=n0,fd=99: n0: Can't use file descriptor 99: "
     "Bad file descriptor\n", ""),
    ("fd-not-a-number", ["-netdev", "tap,id=n0,fd=abc"],
     "{P}-netdev tap,id=n0,fd=abc: Invalid file descriptor number 'abc'\n",
     ""),
    ("fd-not-a-tap", ["-netdev", "tap,id=n0,fd=0"],
     "{P}-netdev tap,id=n0,fd=0: Unable to query TUNGETIFF on FD 0: "
     "Inappropriate ioctl for device\n", ""),
    ("fd-with-ifname", ["-netdev", "tap,id=n0,fd=3,ifname=x"],
     "{P}-netdev tap,id=n0,fd=3,ifname=x: ifname=, script=, downscript=, "
     "vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid with "
     "fd=\n", ""),
    ("fds-with-queues", ["-netdev", "tap,id=n0,fds=3:4,queues=2"],
     "{P}-netdev tap,id=n0,fds=3:4,queues=2: ifname=, script=, "
     "downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid "
     "with fds=\n", ""),
    ("fds-vhostfds-count", ["-netdev", "tap,id=n0,fds=0:1,vhostfds=5"],
     "{P}-netdev tap,id=n0,fds=0:1,vhostfds=5: The number of fds passed "
     "does not match the number of vhostfds passed\n", ""),
    ("vhostfds-without-fds",
     ["-netdev", "tap,id=n0,vhostfds=3,script=no,downscript=no"],
     "{P}-netdev tap,id=n0,vhostfds=3,script=no,downscript=no: vhostfds= "
     "is invalid if fds= wasn't specified\n", ""),
    ("missing-id", ["-netdev", "tap"],
     "{P}-netdev tap: Parameter 'id' is missing\n", ""),
    ("missing-type", ["-netdev", "id=n0"],
     "{P}-netdev id=n0: Parameter 'type' is missing\n", ""),
    ("unknown-type", ["-netdev", "foo,id=n0"],
     "{P}-netdev foo,id=n0: Parameter 'type' does not accept value "
     "'foo'\n", ""),
    ("bad-id", ["-netdev", "tap,id=1n"],
     "{P}-netdev tap,id=1n: Parameter 'id' expects an identifier\n"
     "Identifiers consist of letters, digits, '-', '.', '_', starting with "
     "a letter.\n", ""),
    ("invalid-parameter",
     ["-netdev", "tap,id=n0,script=no,downscript=no,bogus=1"],
     "{P}-netdev tap,id=n0,script=no,downscript=no,bogus=1: Invalid "
     "parameter 'bogus'\n", ""),
    ("vnet-hdr-value", ["-netdev", "tap,id=n0,vnet_hdr=maybe"],
     "{P}-netdev tap,id=n0,vnet_hdr=maybe: Parameter 'vnet_hdr' expects "
     "'on' or 'off'\n", ""),
    ("sndbuf-value", ["-netdev", "tap,id=n0,sndbuf=abc"],
     "{P}-netdev tap,id=n0,sndbuf=abc: Parameter 'sndbuf' expects a size "
     "value\n", ""),
    ("queues-value", ["-netdev", "tap,id=n0,queues=abc"],
     "{P}-netdev tap,id=n0,queues=abc: Parameter 'queues' expects a uint64 "
     "value\n", ""),
    ("script-fails",
     ["-netdev", "tap,id=n0,ifname=qvf%(pid)s,script=/bin/false,"
      "downscript=no"],
     "{P}-netdev tap,id=n0,ifname=qvf%(pid)s,script=/bin/false,"
     "downscript=no: network script /bin/false failed with status 256\n",
     "netns"),
    ("duplicate-id",
     ["-netdev", "tap,id=n0,ifname=qva%(pid)s,script=no,downscript=no",
      "-netdev", "tap,id=n0,ifname=qvb%(pid)s,script=no,downscript=no"],
     "{P}-netdev tap,id=n0,ifname=qvb%(pid)s,script=no,downscript=no: "
     "Duplicate ID 'n0' for netdev\n", "netns"),
    ("json-fd", ["-netdev", '{"type":"tap","id":"n0","fd":"abc"}'],
     "{P}-netdev {\"type\":\"tap\",\"id\":\"n0\",\"fd\":\"abc\"}: Invalid "
     "file descriptor number 'abc'\n", ""),
    ("json-missing-id", ["-netdev", '{"type":"tap"}'],
     "{P}-netdev {\"type\":\"tap\"}: Parameter 'id' is missing\n", ""),
    ("json-syntax", ["-netdev", '{"type":"tap","id":"n0",'],
     None, "json-syntax"),
    ("nic-unknown-type", ["-nic", "foo"],
     "{P}-nic foo: Parameter 'type' does not accept value 'foo'\n", ""),
    ("vhost-without-device",
     ["-netdev", "tap,id=n0,vhost=on,ifname=qvv%(pid)s,script=no,"
      "downscript=no"],
     "{P}-netdev tap,id=n0,vhost=on,ifname=qvv%(pid)s,script=no,"
     "downscript=no: tap: open vhost char device failed: No such file or "
     "directory\n",
     # QEMU 7.2 warns with this text, then fails an assertion.
     "netns,no-vhost,deliberate"),
    ("vhostfd-not-vhost",
     ["-netdev", "tap,id=n0,ifname=qvw%(pid)s,script=no,downscript=no,"
      "vhostfd=0"],
     "{P}-netdev tap,id=n0,ifname=qvw%(pid)s,script=no,downscript=no,"
     "vhostfd=0: vhost-net requested but could not be initialized\n",
     # QEMU 7.2 prints "vhost_set_owner failed: ...", this as a warning,
     # then fails an assertion.
     "netns,deliberate"),
    ("ifname-too-long",
     ["-netdev", "tap,id=n0,ifname=qvmmaveryveryverylongname,script=no,"
      "downscript=no"],
     "{P}-netdev tap,id=n0,ifname=qvmmaveryveryverylongname,script=no,"
     "downscript=no: could not configure /dev/net/tun "
     "(qvmmaveryveryverylongname): File name too long\n",
     # QEMU 7.2 silently cuts the name to 15 characters.
     "netns,deliberate"),
    ("unsupported-type", ["-netdev", "socket,id=n0"],
     "{P}-netdev socket,id=n0: netdev type 'socket' is not supported by "
     "qvmm\n", "deliberate"),
    ("nic-model", ["-nic", "tap,ifname=qvn%(pid)s,script=no,downscript=no,"
                   "model=e1000"],
     "{P}Unsupported NIC model: e1000\n", "netns,deliberate"),
    ("legacy-net-nic-alone", ["-net", "nic"],
     "{P}-net nic: qvmm maps -net only as one 'nic' plus one backend (it "
     "has no hubs): use -nic, or -netdev with -device\n", "deliberate"),
    ("unknown-netdev-in-device",
     ["-device", "virtio-net-pci,netdev=x"],
     "{P}-device virtio-net-pci,netdev=x: Property "
     "'virtio-net-device.netdev' can't find value 'x'\n", "device"),
    # The MAC is checked before the netdev is made.
    ("nic-mac-syntax", ["-nic", "user,mac=zz"],
     "{P}-nic user,mac=zz: invalid syntax for ethernet address\n", ""),
    ("nic-mac-multicast", ["-nic", "user,mac=01:00:00:00:00:01"],
     "{P}-nic user,mac=01:00:00:00:00:01: NIC cannot have multicast MAC "
     "address\n", ""),
    ("net-mac-syntax", ["-net", "nic,macaddr=zz", "-net", "user"],
     "{P}-net nic,macaddr=zz: invalid syntax for ethernet address\n", ""),
    ("net-mac-multicast",
     ["-net", "nic,macaddr=01:00:00:00:00:01", "-net", "user"],
     "{P}-net nic,macaddr=01:00:00:00:00:01: NIC cannot have multicast MAC "
     "address (odd 1st byte)\n", ""),
]


def error_case(t, name, args, expected, flags):
    pid = str(os.getpid() % 10000)
    args = [a % {"pid": pid} for a in args]
    if "deliberate" in flags and t.qemu:
        raise Skip("qvmm differs from QEMU on purpose")
    if "no-vhost" in flags and os.path.exists("/dev/vhost-net"):
        raise Skip("this host has /dev/vhost-net")
    if "device" in flags and not t.qemu and not has_device(t,
                                                          "virtio-net-pci"):
        raise Skip("this build has no virtio-net-pci device yet")
    r = t.run(args)
    check(r.returncode == 1, "exit %d, stderr %r" % (r.returncode, r.stderr))
    if "json-syntax" in flags:
        check(r.stderr.count("\n") == 1 and "JSON parse error" in r.stderr,
              "stderr %r" % r.stderr)
        return
    want = expected.replace("{P}", t.prefix) % {"pid": pid} \
        if "%(pid)" in expected else expected.replace("{P}", t.prefix)
    check(r.stderr == want, "stderr %r, expected %r" % (r.stderr, want))


def has_device(t, name):
    r = subprocess.run([t.binary, "-device", "help"], capture_output=True,
                       text=True)
    return ('"%s"' % name) in r.stdout


def no_permission(t):
    """An unprivileged user cannot open /dev/net/tun."""
    if not shutil.which("setpriv") or os.geteuid() != 0:
        raise Skip("needs root and setpriv")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534",
                        "--clear-groups", t.binary] + t.base +
                       ["-netdev", "tap,id=n0,ifname=qvp0,script=no,"
                        "downscript=no"],
                       capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    want = t.prefix + "-netdev tap,id=n0,ifname=qvp0,script=no," \
        "downscript=no: could not open /dev/net/tun: Permission denied\n"
    check(r.returncode == 1 and r.stderr == want,
          "exit %d, stderr %r" % (r.returncode, r.stderr))


def help_lists(t):
    r = subprocess.run([t.binary, "-netdev", "help"], capture_output=True,
                       text=True, timeout=10)
    check(r.returncode == 0, "exit %d" % r.returncode)
    lines = r.stdout.splitlines()
    check(lines[0] == "Available netdev backend types:" and "tap" in lines,
          "stdout %r" % r.stdout)
    if t.qemu:
        return
    r = subprocess.run([t.binary, "-nic", "tap,model=help"],
                       capture_output=True, text=True, timeout=10)
    check(r.returncode == 0 and r.stdout ==
          "Supported NIC models:\nvirtio-net-pci\n", "stdout %r" % r.stdout)


# ---------------------------------------------------------------- netns

libc = ctypes.CDLL(None, use_errno=True)


class Netns:
    """A namespace of our own; this process moves in while it lives."""

    def __init__(self):
        self.name = "qvmm-netcli-%d" % os.getpid()
        self.orig = None

    def __enter__(self):
        if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
            raise Skip("needs root and /dev/net/tun")
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.orig = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/var/run/netns/" + self.name, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise Fail("setns: %s" % os.strerror(ctypes.get_errno()))
        finally:
            os.close(fd)
        return self

    def __exit__(self, *exc):
        if self.orig is not None:
            libc.setns(self.orig, CLONE_NEWNET)
            os.close(self.orig)
        subprocess.run(["ip", "netns", "del", self.name])
        return False


def link_exists(name):
    return subprocess.run(["ip", "link", "show", name],
                          capture_output=True).returncode == 0


class Vmm:
    """qvmm (or QEMU) with a QMP socket; started means set up."""

    def __init__(self, t, args, **kw):
        self.sock = os.path.join(t.tmp, "qmp-%d.sock" % time.monotonic_ns())
        self.p = subprocess.Popen(
            [t.binary] + t.base + args +
            ["-qmp", "unix:%s,server=on,wait=off" % self.sock],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, **kw)
        end = time.time() + 10
        while not os.path.exists(self.sock):
            if self.p.poll() is not None or time.time() > end:
                raise Fail("did not start: %r" % self.p.communicate()[1])
            time.sleep(0.02)
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(self.sock)
        self.f = self.s.makefile("rw")
        self.f.readline()
        self.cmd("qmp_capabilities")

    def cmd(self, command, **args):
        msg = {"execute": command}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "event" not in r:
                return r

    def stop(self):
        self.s.close()
        self.p.send_signal(signal.SIGTERM)
        out, err = self.p.communicate(timeout=10)
        return self.p.returncode, err


def tap_created_and_removed(t):
    with Netns():
        name = "qvc%d" % (os.getpid() % 10000)
        vm = Vmm(t, ["-netdev", "tap,id=n0,ifname=%s,script=no,"
                     "downscript=no" % name])
        check(link_exists(name), "%s was not created" % name)
        r = vm.cmd("human-monitor-command", **{"command-line":
                                               "info network"})
        if not t.qemu:
            check(r["return"] == "n0: index=0,type=tap,ifname=%s,script=no,"
                  "downscript=no\r\n" % name, "info network: %r" % r)
        r = vm.cmd("set_link", name="nope", up=False)
        check(r.get("error") == {"class": "DeviceNotFound",
                                 "desc": "Device 'nope' not found"},
              "set_link: %r" % r)
        check(vm.cmd("set_link", name="n0", up=False) == {"return": {}},
              "set_link n0")
        code, err = vm.stop()
        check(code == 0, "exit %d: %r" % (code, err))
        check(not link_exists(name), "%s still exists after exit" % name)


def tap_existing_attached(t):
    with Netns():
        name = "qve%d" % (os.getpid() % 10000)
        subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap",
                        "vnet_hdr"], check=True)
        vm = Vmm(t, ["-netdev", "tap,id=n0,ifname=%s,script=no,"
                     "downscript=no" % name])
        code, err = vm.stop()
        check(code == 0, "exit %d: %r" % (code, err))
        # Persistent: it was attached, not created, so it stays.
        check(link_exists(name), "%s is gone" % name)


def tap_scripts(t):
    with Netns():
        name = "qvs%d" % (os.getpid() % 10000)
        log = os.path.join(t.tmp, "scripts.log")
        for which in ("up", "down"):
            path = os.path.join(t.tmp, "if" + which)
            with open(path, "w") as f:
                f.write("#!/bin/sh\necho %s \"$@\" >> %s\n" % (which, log))
            os.chmod(path, 0o755)
        vm = Vmm(t, ["-netdev", "tap,id=n0,ifname=%s,script=%s,"
                     "downscript=%s" % (name, os.path.join(t.tmp, "ifup"),
                                        os.path.join(t.tmp, "ifdown"))])
        with open(log) as f:
            check(f.read() == "up %s\n" % name, "if-up did not run")
        code, err = vm.stop()
        check(code == 0, "exit %d: %r" % (code, err))
        with open(log) as f:
            got = f.read()
        check(got == "up %s\ndown %s\n" % (name, name),
              "scripts ran as %r" % got)


def tap_fd_passed(t):
    with Netns():
        name = "qvd%d" % (os.getpid() % 10000)
        fd = os.open("/dev/net/tun", os.O_RDWR)
        ifr = struct.pack("16sH", name.encode(),
                          IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
        fcntl.ioctl(fd, TUNSETIFF, ifr)
        vm = Vmm(t, ["-netdev", "tap,id=n0,fd=%d" % fd], pass_fds=(fd,))
        os.close(fd)
        r = vm.cmd("human-monitor-command", **{"command-line":
                                               "info network"})
        if not t.qemu:
            check(r["return"] == "n0: index=0,type=tap,fd=%d\r\n" % fd,
                  "info network: %r" % r)
        check(link_exists(name), "%s is gone while in use" % name)
        code, err = vm.stop()
        check(code == 0, "exit %d: %r" % (code, err))
        # The last fd closed: a non-persistent tap goes away.
        check(not link_exists(name), "%s still exists" % name)


def tap_json_libvirt(t):
    """libvirt's JSON form with an inherited fd."""
    with Netns():
        name = "qvj%d" % (os.getpid() % 10000)
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(),
                                               IFF_TAP | IFF_NO_PI))
        arg = json.dumps({"type": "tap", "id": "hostnet0", "fd": str(fd)})
        vm = Vmm(t, ["-netdev", arg], pass_fds=(fd,))
        os.close(fd)
        code, err = vm.stop()
        check(code == 0, "exit %d: %r" % (code, err))
        check("hostnet0 has no peer" in err, "stderr %r" % err)


def info_network(vm):
    r = vm.cmd("human-monitor-command", **{"command-line": "info network"})
    return r["return"].replace("\r\n", "\n")


def nic_and_net(t):
    """-nic makes a netdev and a NIC on it, the MAC series included."""
    with Netns():
        a, b = ["qvn%s%d" % (c, os.getpid() % 10000) for c in "ab"]
        vm = Vmm(t, ["-nic", "tap,ifname=%s,script=no,downscript=no,"
                     "model=virtio-net-pci" % a,
                     "-nic", "tap,id=n1,ifname=%s,script=no,downscript=no,"
                     "model=virtio-net-pci,mac=52:54:00:aa:bb:cc" % b])
        got = info_network(vm)
        want = ("virtio-net-pci.0: index=0,type=nic,model=virtio-net-pci,"
                "macaddr=52:54:00:12:34:56\n"
                " \\ __org.qemu.nic0: index=0,type=tap,ifname=%s,script=no,"
                "downscript=no\n"
                "virtio-net-pci.1: index=0,type=nic,model=virtio-net-pci,"
                "macaddr=52:54:00:aa:bb:cc\n"
                " \\ n1: index=0,type=tap,ifname=%s,script=no,"
                "downscript=no\n" % (a, b))
        # QEMU 7.2 names the generated netdev "#netNNN" (a random tail).
        got = re.sub(r"#net[0-9]+:", "__org.qemu.nic0:", got)
        check(got == want, "info network %r, expected %r" % (got, want))
        code, err = vm.stop()
        check(code == 0, "exit %d: %r" % (code, err))


def legacy_net_pair(t):
    """-net nic -net tap: joined directly (QEMU puts a hub between)."""
    if t.qemu:
        raise Skip("qvmm differs from QEMU on purpose (no hub)")
    with Netns():
        name = "qvl%d" % (os.getpid() % 10000)
        vm = Vmm(t, ["-net", "nic,model=virtio",
                     "-net", "tap,ifname=%s,script=no,downscript=no" % name])
        got = info_network(vm)
        check(got.startswith("virtio-net-pci.0: index=0,type=nic,") and
              (" \\ __org.qemu.net0: index=0,type=tap,ifname=%s," % name)
              in got, "info network %r" % got)
        code, err = vm.stop()
        check(code == 0 and err.count("\n") == 1, "exit %d: %r" % (code, err))


def nic_no_peer(t):
    """QEMU's start-up warning for each NIC left without a netdev."""
    vm = Vmm(t, ["-device", "virtio-net-pci", "-device",
                 "virtio-net-pci,id=foo", "-device", "virtio-net-pci"])
    code, err = vm.stop()
    want = "".join(t.prefix + "warning: nic %s has no peer\n" % n
                   for n in ("virtio-net-pci.0", "foo", "virtio-net-pci.2"))
    check(code == 0 and err.startswith(want), "exit %d: %r" % (code, err))


CASES = [("error:" + e[0], (lambda e: lambda t: error_case(t, *e))(e))
         for e in ERRORS] + [
    ("no-permission", no_permission),
    ("help", help_lists),
    ("tap-created-and-removed", tap_created_and_removed),
    ("tap-existing-attached", tap_existing_attached),
    ("tap-scripts", tap_scripts),
    ("tap-fd-passed", tap_fd_passed),
    ("tap-json-libvirt", tap_json_libvirt),
    ("nic-and-net", nic_and_net),
    ("legacy-net-pair", legacy_net_pair),
    ("nic-no-peer", nic_no_peer),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--qemu", action="store_true")
    ap.add_argument("-k", action="append", default=[])
    a = ap.parse_args()
    binary = a.binary or (shutil.which("qemu-system-x86_64") if a.qemu
                          else None)
    if not binary:
        ap.error("no binary given")
    t = Tester(os.path.abspath(binary), a.qemu)
    passed = failed = skipped = 0
    try:
        for name, fn in CASES:
            if a.k and not any(k in name for k in a.k):
                continue
            try:
                needs_netns = any(name == "error:" + e[0] and "netns" in e[3]
                                  for e in ERRORS)
                if needs_netns:
                    with Netns():
                        fn(t)
                else:
                    fn(t)
            except Skip as e:
                skipped += 1
                print("SKIP %s: %s" % (name, e), flush=True)
                continue
            except Exception as e:
                failed += 1
                print("FAIL %s: %s" % (name, e), flush=True)
                continue
            passed += 1
            print("PASS %s" % name, flush=True)
    finally:
        shutil.rmtree(t.tmp, ignore_errors=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
