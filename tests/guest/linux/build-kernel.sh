#!/bin/bash
# Build the minimal Linux 6.1 kernel of the "linux" test tier and print the
# path of its vmlinux on stdout (progress goes to stderr).
#
# The tree is unpacked from Debian's linux-source-6.1 into a cache directory
# outside the checkout, ${QVMM_CACHE:-/var/cache/qvmm}/linux-6.1-<hash>,
# where <hash> covers this script (and so the source edits below), the config
# fragment and the package version: any change builds a fresh tree, an
# unchanged one returns at once.  Concurrent runs serialise on a lock file.
# Once vmlinux is there the source tree is deleted (QVMM_KEEP_TREE=1 keeps
# it); old directories are left for other checkouts and never pruned.
#
# The two source edits and the kernel parameters boot-test.sh uses come from
# /work/shared/HOST-NOTES.md: on the CI hosts guest ring 0 runs in KVM's
# instruction emulator, which lacks int3 and fwait among others.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/linux-test-kernel.config
tarball=/usr/src/linux-source-6.1.tar.xz
packages=(linux-source-6.1 bc flex bison libelf-dev)

log() { printf 'build-kernel: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

have_tools() {
    local t
    [[ -f $tarball && -f /usr/include/gelf.h ]] || return 1
    for t in bc flex bison make gcc perl tar xz; do
        command -v "$t" >/dev/null || return 1
    done
}

ensure_packages() {
    have_tools && return 0
    [[ $(id -u) == 0 ]] ||
        die "missing build tools or $tarball; run as root or: apt-get install -y ${packages[*]} build-essential"
    log "installing ${packages[*]}"
    local extra=()
    command -v gcc >/dev/null && command -v make >/dev/null || extra=(build-essential)
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}" "${extra[@]}" >&2 ||
        { apt-get update >&2 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y "${packages[@]}" "${extra[@]}" >&2; } ||
        die "apt-get install failed"
    have_tools || die "still missing build tools after apt-get install"
}

pick_cache_root() {
    local root
    for root in "${QVMM_CACHE:-/var/cache/qvmm}" "${XDG_CACHE_HOME:-$HOME/.cache}/qvmm"; do
        if mkdir -p "$root" 2>/dev/null && [[ -w $root ]]; then
            printf '%s\n' "$root"
            return 0
        fi
    done
    die "no writable cache directory (set QVMM_CACHE)"
}

# Replace the single line matching $2 in file $1 by $3 (sed syntax), failing
# unless the pattern matched exactly once and the result is there.
edit_once() {
    local file=$1 pattern=$2 replacement=$3 check=$4 n
    n=$(grep -c -- "$pattern" "$file" || true)
    [[ $n == 1 ]] || die "$file: expected one line matching '$pattern', found $n"
    sed -i "s|$pattern|$replacement|" "$file"
    grep -q -- "$pattern" "$file" && die "$file: '$pattern' still present after the edit"
    grep -qF -- "$check" "$file" || die "$file: edit did not produce '$check'"
    log "patched ${file#"$src"/}"
}

patch_tree() {
    # int3 in 64-bit ring 0 is not emulated: skip the boot-time self-test
    # (kept referenced so the compiler sees no unused function).
    edit_once "$src/arch/x86/kernel/alternative.c" \
        '^	int3_selftest();$' \
        '	if (0) int3_selftest(); /* qvmm test hosts: no int3 */' \
        'if (0) int3_selftest();'
    # fwait is not emulated either; at this point it only flushes pending
    # x87 exceptions from user space, which a test boot never has.
    edit_once "$src/arch/x86/kernel/fpu/core.c" \
        '"1: fwait\\n"' \
        '"1: nop\\n"' \
        '"1: nop\n"'
}

configure_tree() {
    make -C "$src" ARCH=x86_64 tinyconfig
    "$src/scripts/kconfig/merge_config.sh" -m -O "$src" "$src/.config" "$fragment"
    make -C "$src" ARCH=x86_64 olddefconfig
    # merge_config.sh only warns when Kconfig drops a requested value.
    local line sym bad=0
    while IFS= read -r line; do
        if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
            grep -qxF -- "$line" "$src/.config" ||
                { log "config: $line not in the final .config"; bad=1; }
        elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
            sym=${BASH_REMATCH[1]}
            grep -q -- "^$sym=" "$src/.config" &&
                { log "config: $sym is set, the fragment wants it off"; bad=1; }
        fi
    done <"$fragment"
    [[ $bad == 0 ]] || die "config fragment not honoured (see above)"
}

ensure_packages
[[ -f $fragment ]] || die "missing $fragment"

version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s.%Y "$tarball")
hash=$({ cat "${BASH_SOURCE[0]}" "$fragment"; echo "$version"; } | sha256sum | cut -c1-12)
cache=$(pick_cache_root)
dir=$cache/linux-6.1-$hash
src=$dir/src
out=$dir/vmlinux

# A finished build is published by rename, so its presence needs no lock.
if [[ -f $out ]]; then
    printf '%s\n' "$out"
    exit 0
fi

mkdir -p "$dir"
exec 9>"$dir.lock"
if ! flock -n 9; then
    log "another build of $dir is running; waiting for it"
    flock -w 3600 9 || die "timed out waiting for the lock on $dir.lock"
fi
if [[ -f $out ]]; then
    printf '%s\n' "$out"
    exit 0
fi

buildlog=$dir/build.log
: >"$buildlog"
show_log_on_failure() {
    local rc=$?
    [[ $rc == 0 ]] && return
    log "failed; last lines of $buildlog:"
    tail -n 40 "$buildlog" >&2
}
trap show_log_on_failure EXIT
start=$SECONDS

# Stamps record finished steps, so an interrupted build resumes.
if [[ ! -f $dir/.unpacked ]]; then
    log "unpacking $tarball into $src"
    rm -rf "$src" "$dir"/.patched "$dir"/.configured
    mkdir -p "$src"
    tar -xJf "$tarball" -C "$src" --strip-components=1
    touch "$dir/.unpacked"
fi
if [[ ! -f $dir/.patched ]]; then
    patch_tree
    touch "$dir/.patched"
fi
if [[ ! -f $dir/.configured ]]; then
    log "configuring (tinyconfig + ${fragment##*/})"
    configure_tree >>"$buildlog" 2>&1
    touch "$dir/.configured"
fi

jobs=$(nproc)
log "make -j$jobs vmlinux (log: $buildlog)"
KBUILD_BUILD_USER=qvmm KBUILD_BUILD_HOST=qvmm-test \
    make -C "$src" ARCH=x86_64 -j"$jobs" vmlinux >>"$buildlog" 2>&1
cp "$src/.config" "$dir/config"
cp "$src/vmlinux" "$out.tmp"
mv "$out.tmp" "$out"
log "built in $((SECONDS - start)) s"
# Any change to the inputs makes a new directory, so the 1.5 GB tree is
# never built again; keep only vmlinux, its config and the log.
if [[ ${QVMM_KEEP_TREE:-0} == 0 ]]; then
    rm -rf "$src" "$dir"/.unpacked "$dir"/.patched "$dir"/.configured
fi
printf '%s\n' "$out"
