#!/usr/bin/env bash
# Runs the strict-mode and domain tests on an emulated CPU with memory
# protection keys (QEMU TCG, -cpu max), so the protection-key mode of strict
# domains is exercised on machines whose CPU lacks `pku`.
#
# Usage: scripts/test-pku-qemu.sh [BUILD_DIR [TEST...]]
#   BUILD_DIR defaults to build/release (configured and built as needed); TEST
#   names a subset of the tests below (default: all of them).
#
# It boots the Debian kernel installed by `scripts/deps.sh pku` (or the newest
# /boot/vmlinuz-*) with a throwaway initramfs: busybox, the test executables and
# the shared libraries they load. Its /init prints the CPU's pku flags, runs each
# test (the strict one twice: with keys, then with KEEL_NO_PKEYS=1),
# bench_strict_instructions (instructions per strict call in each mode: counts,
# not cycles) and keel-wcet's pkru case (tests/wcet/cases/pkru.S), prints every
# result line to the serial console and powers off. The console output is kept
# in BUILD_DIR/pku-qemu.log; the script fails if any test failed, if the guest
# had no protection keys, if the guest never reported, or if an instruction
# count of the pkru case differs from keel-wcet's bound of it.
# Timings inside the guest are meaningless (an emulator): only results count.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
tests=(test_domain_strict test_domain test_domain_races test_domain_snapshot test_domain_soak)
if [ $# -gt 1 ]; then
    shift
    tests=("$@")
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null
fi
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target "${tests[@]}" >/dev/null

kernel=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$kernel" ] || [ ! -r "$kernel" ]; then
    echo "test-pku: no readable kernel in /boot (scripts/deps.sh pku installs one)" >&2
    exit 1
fi
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "test-pku: no busybox (scripts/deps.sh pku installs it)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fs=$work/fs
mkdir -p "$fs"/{bin,tests,proc,sys,dev,tmp}

# Copies an executable, and the shared libraries it loads at the paths the
# loader looks for them (none for a static one).
copy_with_libs() {
    cp "$1" "$2"
    { ldd "$1" 2>/dev/null || true; } | awk '/=>/ {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
        [ -f "$lib" ] || continue
        mkdir -p "$fs$(dirname "$lib")"
        cp -L "$lib" "$fs$lib"
    done
}

copy_with_libs "$busybox" "$fs/bin/busybox"
counter=$build/bench/domain/bench_strict_instructions
if [ -f "$build/CMakeCache.txt" ] && grep -q '^KEEL_BUILD_BENCH:BOOL=ON' "$build/CMakeCache.txt"; then
    cmake --build "$build" --target bench_strict_instructions >/dev/null
    copy_with_libs "$counter" "$fs/bin/bench_strict_instructions"
fi
# keel-wcet's protection-key cases (tests/wcet/cases/pkru.S): single-stepped in
# the guest, each count compared below with keel-wcet's bound on the host.
pkru_case=$build/tests/wcet/cases/pkru
wcet=$build/tools/wcet/keel-wcet
if cmake --build "$build" --target wcet_cases keel-wcet >/dev/null 2>&1 && [ -x "$pkru_case" ]; then
    copy_with_libs "$pkru_case" "$fs/bin/pkru"
fi
for t in "${tests[@]}"; do
    exe=$(find "$build/tests" -type f -name "$t" -perm -u+x | head -n 1)
    [ -n "$exe" ] || { echo "test-pku: $t not built" >&2; exit 1; }
    copy_with_libs "$exe" "$fs/tests/$t"
done

cat >"$fs/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "pku-guest: kernel $(uname -r), cpu flags: $(grep -o -w -e pku -e ospke /proc/cpuinfo | sort -u | tr '\n' ' ')"
cd /tmp
run() {
    name=$1; shift
    echo "pku-guest: begin $name"
    "$@" 2>&1
    echo "pku-guest: end $name status $?"
}
for t in /tests/*; do
    t=${t#/tests/}
    run $t /tests/$t
    if [ $t = test_domain_strict ]; then
        run test_domain_strict_without_pkeys env KEEL_NO_PKEYS=1 /tests/$t
    fi
done
if [ -x /bin/pkru ]; then
    run pkru_steps /bin/pkru --step
fi
if [ -x /bin/bench_strict_instructions ]; then
    run bench_strict_instructions /bin/bench_strict_instructions
fi
echo "pku-guest: all done"
sync
poweroff -f
EOF
chmod +x "$fs/init"
(cd "$fs" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

log=$build/pku-qemu.log
echo "test-pku: booting $kernel under QEMU TCG (-cpu max); console in $log"
timeout 1500 qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 1024 \
    -nographic -no-reboot -kernel "$kernel" -initrd "$work/initramfs.gz" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3" </dev/null >"$log" 2>&1 || true
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

grep -E '^(pku-guest|strict mode here|Instructions|the last|  |ok |FAIL|[0-9]+ passed|pkru-steps)' "$log" || true
if ! grep -q '^pku-guest: all done' "$log"; then
    echo "test-pku: the guest did not finish (see $log)" >&2
    exit 1
fi
if ! grep -q 'strict mode here: protection keys supported' "$log"; then
    echo "test-pku: the guest had no usable protection keys (see $log)" >&2
    exit 1
fi
failed=$(grep -E '^pku-guest: end .* status [1-9]' "$log" || true)
if [ -n "$failed" ]; then
    echo "test-pku: failed:" >&2
    echo "$failed" >&2
    exit 1
fi
if [ -x "$pkru_case" ]; then
    # keel-wcet's model of RDPKRU and WRPKRU against the emulated CPU: the
    # bound of each function must equal the instructions it executed.
    while read -r _ name steps; do
        bound=$("$wcet" --format bound "$pkru_case" "$name" | awk '{print $3}')
        if [ "$bound" != "$steps" ]; then
            echo "test-pku: keel-wcet bounds $name at '$bound' instructions; it executed $steps" >&2
            exit 1
        fi
        echo "test-pku: keel-wcet's bound of $name equals its executed count, $steps"
    done < <(grep '^pkru-steps: pkru_' "$log")
    [ "$(grep -c '^pkru-steps: pkru_' "$log")" -eq 3 ] || { echo "test-pku: pkru --step did not count 3 functions" >&2; exit 1; }
fi
echo "test-pku: every test passed under QEMU with protection keys"
