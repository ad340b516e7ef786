#!/bin/sh
# instructions.sh BENCH_IFC [CSV] - executed instructions per operation of
# bench_ifc, labels off and on, counted by valgrind's lackey (exact, unlike
# the cycles of a shared machine).
#
# Each operation runs under lackey twice in each mode, after the same warm-up,
# at two counts; the difference of the two totals over the difference of the
# counts is the cost of one operation, without the setup; the loop's own
# instructions (operation "none") are subtracted. A store operation is a
# batch of 32 PUT+GET pairs and is reported per pair. "call after a label
# change" is a relabel and a call less a relabel alone. A move includes the
# allocation of the box it moves (not timed by bench_ifc).
set -eu
bench=$1
csv=${2:-}
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind not found" >&2; exit 1; }

# count OP MODE N: lackey's guest instructions for N operations.
count() {
    valgrind --tool=lackey "$bench" --instructions "$1" --labels "$2" --count "$3" 2>&1 |
        sed -n 's/.*guest instrs: *\([0-9,]*\).*/\1/p' | tr -d ,
}

# per OP MODE LOW HIGH DIVISOR: instructions per operation (two decimals).
per() {
    low=$(count "$1" "$2" "$4")
    high=$(count "$1" "$2" "$5")
    [ -n "$low" ] && [ -n "$high" ] || { echo "instructions.sh: lackey run failed" >&2; exit 1; }
    echo "$low $high $4 $5 $3" | awk '{ printf "%.2f", ($2 - $1) / ($4 - $3) / $5 }'
}

echo "bench_ifc: instructions per operation (valgrind lackey), labels off and on"
printf '%-30s %10s %10s %10s\n' operation off on on-off
[ -z "$csv" ] || echo "operation,off,on,on_minus_off" >"$csv"
row() {
    printf '%-30s %10s %10s %10s\n' "$1" "$2" "$3" "$(echo "$2 $3" | awk '{ printf "%+.0f", $2 - $1 }')"
    [ -z "$csv" ] || echo "$1,$2,$3,$(echo "$2 $3" | awk '{ printf "%.2f", $2 - $1 }')" >>"$csv"
}
loop=$(per none off 1 1000 2000)
less_loop() { echo "$1 $loop $2" | awk '{ printf "%.2f", $1 - $2 / $3 }'; }
for mode in off on; do
    eval "call_$mode=\$(less_loop \$(per call $mode 1 1000 2000) 1)"
    eval "relabel_$mode=\$(per relabel $mode 1 1000 2000)"
    eval "both_$mode=\$(per call-after-relabel $mode 1 1000 2000)"
    eval "lend_$mode=\$(less_loop \$(per lend $mode 1 1000 2000) 1)"
    eval "move_$mode=\$(less_loop \$(per move $mode 1 1000 2000) 1)"
    eval "store_$mode=\$(less_loop \$(per store $mode 32 50 100) 32)"
done
miss_off=$(echo "$both_off $relabel_off" | awk '{ printf "%.2f", $1 - $2 }')
miss_on=$(echo "$both_on $relabel_on" | awk '{ printf "%.2f", $1 - $2 }')
row "rref call, null method" "$call_off" "$call_on"
row "call after a label change" "$miss_off" "$miss_on"
row "call lending a box, opened" "$lend_off" "$lend_on"
row "call moving a box in (+alloc)" "$move_off" "$move_on"
row "store PUT+GET pair" "$store_off" "$store_on"
echo "$store_off $store_on" |
    awk '{ printf "store: %.1f%% more instructions per pair with labels\n", 100 * ($2 / $1 - 1) }'
