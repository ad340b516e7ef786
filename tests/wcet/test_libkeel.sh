#!/usr/bin/env bash
# test_libkeel.sh - keel-wcet on libkeel's own memory operations, against the
# worst cases bench/alloc measures exactly (ptrace, every call of its traces):
# the -O2 module bench/alloc builds and the libkeel linked into bench_alloc.
# Asserts bound >= the measured worst case and bound <= 1.10 x it.
#
#   test_libkeel.sh KEEL_WCET BENCH_ALLOC O2_MODULE
set -u
wcet=$1 bench=$2 module=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bench" --quick --csv "$tmp/alloc.csv" >"$tmp/out.txt" 2>&1 || {
    echo "bench_alloc failed:"
    tail -20 "$tmp/out.txt"
    exit 1
}
pass=0 fail=0
for subject in "keel -O2" "keel libkeel"; do
    binary=$module
    [ "$subject" = "keel libkeel" ] && binary=$bench
    for op in keel_heap_alloc keel_heap_free keel_pool_alloc keel_pool_free; do
        measured=$(awk -F, -v s="$subject" -v o="$op" '$1 == "instructions" && $2 == s && $3 == "all" && $4 == o {print $9}' "$tmp/alloc.csv")
        read -r _ status bound _ < <("$wcet" --format bound "$binary" "$op")
        if [ -z "$measured" ] || [ "$status" != bounded ]; then
            echo "FAIL $subject $op: measured '${measured}', keel-wcet $status"
            fail=$((fail + 1))
            continue
        fi
        ratio=$(awk -v b="$bound" -v m="$measured" 'BEGIN{printf "%.3f", b/m}')
        if [ "$bound" -lt "$measured" ] || ! awk -v r="$ratio" 'BEGIN{exit !(r <= 1.10)}'; then
            echo "FAIL $subject $op: bound $bound, measured worst $measured (ratio $ratio)"
            fail=$((fail + 1))
        else
            printf 'ok   %-13s %-16s bound %4s  measured worst %4s  ratio %s\n' "$subject" "$op" "$bound" "$measured" "$ratio"
            pass=$((pass + 1))
        fi
    done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
