#!/usr/bin/env bash
# Installs the Debian packages keel's build, tests and benchmarks need.
# Silent when everything is present. Runs `apt-get update` at most once.
# Usage: scripts/deps.sh [test|bench|all|pku]   (default: all; pku only on request)
set -euo pipefail

# Every package the project uses, grouped by what needs it.
base=(build-essential cmake pkg-config clang libclang-rt-14-dev valgrind)
# keel-sched reads task sets with json-c; bench/rt runs cyclictest (rt-tests) beside keel-latency
base+=(libjson-c-dev rt-tests)
bench=(libjemalloc-dev libmimalloc-dev gnuplot-nox)
# keel-wcet (tools/wcet): decoding, ELF and DWARF, the IPET solver, the SMT solver;
# jq reads its JSON in the tests
tools=(libcapstone-dev libelf-dev libdw-dev libglpk-dev libz3-dev jq)
# make test-pku (not part of make test): the strict-mode tests on an emulated
# CPU with protection keys, booted from a Debian kernel and a busybox initramfs
pku=(qemu-system-x86 linux-image-amd64 busybox-static cpio)

case "${1:-all}" in
test) want=("${base[@]}" "${bench[@]}" "${tools[@]}") ;;
bench) want=("${base[@]}" "${bench[@]}" "${tools[@]}") ;;
all) want=("${base[@]}" "${bench[@]}" "${tools[@]}") ;;
pku) want=("${base[@]}" "${pku[@]}") ;;
*) echo "usage: $0 [test|bench|all|pku]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "keel needs these Debian packages, which are not installed:" >&2
    echo "  ${missing[*]}" >&2
    echo "Install them as root, then run make again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; one update is enough for the install.
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
