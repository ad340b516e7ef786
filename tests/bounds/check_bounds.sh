#!/usr/bin/env bash
# check_bounds.sh - regenerates docs/bounds.md's table and compares it with the
# committed one: FAILS if a bound (instructions or stack) rose above the
# committed figure, if an operation lost its finite bound or disappeared, if an
# operation is new and not committed, or if the generator reports an operation
# that claims a bound (no `gap` line in the ops file) without a finite one.
# Before that it proves the comparison can fail: against a copy of the
# committed table with one bound lowered by 1, and against a regenerated table
# with one bound replaced by "unbounded", it must report a failure.
#
#   check_bounds.sh GEN_BOUNDS KEEL_WCET IMAGE OPS COMMITTED_MD
set -u
gen=$1 wcet=$2 image=$3 ops=$4 committed=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# rows as "op instructions stack"
rows() { awk -F'|' '/^\| `/ { op = $2; gsub(/[ `]/, "", op); i = $5; s = $6; gsub(/ /, "", i); gsub(/ /, "", s); print op, i, s }' "$1"; }
number() { [[ "$1" =~ ^[0-9]+$ ]]; }

# compare OLD NEW: prints each failure, returns 1 if any
compare() {
    local bad=0 op old_i old_s new_i new_s
    rows "$1" >"$tmp/old.rows"
    rows "$2" >"$tmp/new.rows"
    while read -r op old_i old_s; do
        read -r _ new_i new_s < <(awk -v o="$op" '$1 == o' "$tmp/new.rows")
        if [ -z "${new_i:-}" ]; then
            echo "FAIL $op: no longer in the table"
            bad=1
            continue
        fi
        for pair in "instructions $old_i $new_i" "stack $old_s $new_s"; do
            read -r what o n <<<"$pair"
            if number "$o" && ! number "$n"; then
                echo "FAIL $op: $what was $o, now $n"
                bad=1
            elif number "$o" && [ "$n" -gt "$o" ]; then
                echo "FAIL $op: $what rose from $o to $n"
                bad=1
            elif number "$o" && [ "$n" -lt "$o" ]; then
                echo "note $op: $what fell from $o to $n (commit the regenerated table)"
            fi
        done
        new_i= new_s=
    done <"$tmp/old.rows"
    while read -r op _; do
        if ! awk -v o="$op" '$1 == o {f = 1} END {exit !f}' "$tmp/old.rows"; then
            echo "FAIL $op: new in the table, not committed (run make bounds)"
            bad=1
        fi
    done <"$tmp/new.rows"
    return $bad
}

if ! "$gen" "$wcet" "$image" "$ops" "$tmp/new.md" 2>"$tmp/gen.err"; then
    cat "$tmp/gen.err"
    echo "FAIL: the generator found an operation claiming a bound without a finite one"
    exit 1
fi
[ "$(rows "$tmp/new.md" | wc -l)" -gt 0 ] || { echo "FAIL: no rows generated"; exit 1; }

# ---- the comparison must be able to fail ----
first=$(rows "$committed" | awk '$2 ~ /^[0-9]+$/ && $2 > 0 {print $1, $2; exit}')
read -r fop fval <<<"$first"
awk -F'|' -v o="\`$fop\`" -v v="$fval" 'BEGIN{OFS="|"} { x = $2; gsub(/ /, "", x); if (x == o) $5 = " " (v - 1) " "; print }' \
    "$committed" >"$tmp/lowered.md"
if compare "$tmp/lowered.md" "$tmp/new.md" >"$tmp/self1.txt"; then
    echo "FAIL: self-check: a committed bound lowered by 1 ($fop: $((fval - 1))) was not reported"
    exit 1
fi
grep -q "FAIL $fop: instructions rose" "$tmp/self1.txt" || { echo "FAIL: self-check 1 reported:"; cat "$tmp/self1.txt"; exit 1; }
awk -F'|' -v o="\`$fop\`" 'BEGIN{OFS="|"} { x = $2; gsub(/ /, "", x); if (x == o) $5 = " unbounded "; print }' \
    "$tmp/new.md" >"$tmp/unbounded.md"
if compare "$committed" "$tmp/unbounded.md" >"$tmp/self2.txt"; then
    echo "FAIL: self-check: $fop regenerated as unbounded was not reported"
    exit 1
fi
echo "self-check: a lowered committed bound and a lost bound are both reported"

# ---- the real comparison ----
if compare "$committed" "$tmp/new.md"; then
    echo "ok: $(rows "$tmp/new.md" | wc -l) operations, none above its committed bound"
else
    echo "regenerate with: make bounds (and commit docs/bounds.md if the rise is intended)"
    exit 1
fi
