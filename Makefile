# Thin wrapper around meson.  `make run` and `make check` work on a fresh
# Debian 12 machine: they install the Debian packages that are missing.

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# To build qvmm.
BUILD_DEPS := gcc make meson ninja-build pkg-config libglib2.0-dev \
              libjson-glib-dev libaio-dev libslirp-dev check python3
# To run every test tier: QEMU for side-by-side runs, the kernel source and
# its build tools for the linux tier, gcc's sanitizer runtimes for the
# ASan/UBSan pass, clang and its libFuzzer for the fuzzing run.
TEST_DEPS  := qemu-system-x86 socat util-linux iproute2 iputils-ping valgrind \
              linux-source-6.1 bc flex bison libelf-dev libssl-dev xz-utils \
              cpio libasan8 libubsan1 clang libclang-rt-14-dev

.PHONY: all deps test-deps build run check check-unit check-asan asan-build \
        fuzz-build check-fuzz check-qtest-qemu bench clean

all: build

# Install whatever is missing, in one apt-get call.
define apt_install
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	        grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "Installing:" $$missing; \
	    $(SUDO) apt-get update -q && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_DEPS))

test-deps: deps
	$(call apt_install,$(TEST_DEPS))

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Boot the demo guest: it prints what it sees and powers off.
run: build
	$(BUILD)/qvmm -enable-kvm -m 256 -smp 2 -nographic \
	    -kernel $(BUILD)/tests/guest/demo.elf \
	    -append "console=ttyS0 hello from make run"

# Every tier, the unit and qtest tiers again under ASan and UBSan (a
# sanitizer report in qvmm fails the qtest teardown), and a short fuzzing
# run; one closing "N passed, N failed" line counts all three.
check: test-deps build asan-build fuzz-build
	@s1=0; s2=0; s3=0; \
	meson test -C $(BUILD) --no-rebuild --print-errorlogs \
	    --suite unit --suite qtest --suite qtest-qemu --suite kvm \
	    --suite kvm-qemu --suite functional --suite linux || s1=$$?; \
	$(ASAN_ENV) meson test -C $(BUILD_ASAN) --no-rebuild --print-errorlogs \
	    --suite unit --suite qtest || s2=$$?; \
	meson test -C $(BUILD_FUZZ) --no-rebuild --print-errorlogs \
	    --suite fuzz || s3=$$?; \
	python3 tests/summary.py $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ); \
	[ $$s1 = 0 ] && [ $$s2 = 0 ] && [ $$s3 = 0 ]

# The qtest tests that QEMU's pc machine shares, against qemu-system-x86_64.
check-qtest-qemu: test-deps build
	meson test -C $(BUILD) --no-rebuild --print-errorlogs --suite qtest-qemu

# The fuzzers (libFuzzer needs clang): qtest protocol input, a hostile
# virtio-blk driver, a hostile virtio-net driver and wire, and QMP
# input; only their targets are built.
fuzz-build: test-deps
	[ -f $(BUILD_FUZZ)/build.ninja ] || \
	    CC=clang meson setup $(BUILD_FUZZ) -Dfuzzing=true
	ninja -C $(BUILD_FUZZ) tests/fuzz/fuzz-qtest tests/fuzz/fuzz-virtio-blk \
	    tests/fuzz/fuzz-virtio-net tests/fuzz/fuzz-qmp

check-fuzz: fuzz-build
	meson test -C $(BUILD_FUZZ) --no-rebuild --print-errorlogs --suite fuzz

check-unit: build
	meson test -C $(BUILD) --no-rebuild --print-errorlogs --suite unit

ASAN_ENV := ASAN_OPTIONS=detect_leaks=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

asan-build: test-deps
	[ -f $(BUILD_ASAN)/build.ninja ] || \
	    meson setup $(BUILD_ASAN) -Dsanitize=address,undefined
	ninja -C $(BUILD_ASAN)

# The unit and qtest tiers under AddressSanitizer and UBSan alone.
check-asan: asan-build
	$(ASAN_ENV) meson test -C $(BUILD_ASAN) --no-rebuild --print-errorlogs \
	    --suite unit --suite qtest; s=$$?; \
	python3 tests/summary.py $(BUILD_ASAN); exit $$s

# virtio-blk IOPS and MiB/s: fio on the host file against the polled guest
# driver under QEMU and qvmm, as ratios (bench/README.md).  Not a test.
# BENCH_ARGS passes options through, e.g. BENCH_ARGS="--secs 5 --rounds 1".
# Then virtio-net over tap (frames/s, Mbit/s, host CPU per frame), in a
# network namespace of its own; BENCH_NET_ARGS for its options.
BENCH_ARGS ?= --rounds 3
BENCH_NET_ARGS ?= --rounds 3
bench: build
	$(call apt_install,fio qemu-system-x86 iproute2)
	python3 bench/blk.py --build $(BUILD) $(BENCH_ARGS)
	python3 bench/net.py --build $(BUILD) $(BENCH_NET_ARGS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
