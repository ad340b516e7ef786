#!/usr/bin/env bash
# keel-sched's behaviour on task sets with known answers and on broken files.
# Usage: run.sh KEEL_SCHED DIR
set -u
sched=$1
dir=$2
failures=0
passed=0

# expect NAME STATUS PATTERN ARGS...: exit status and a line matching PATTERN
# (grep -E) on stdout+stderr.
expect() {
    local name=$1 want=$2 pattern=$3
    shift 3
    local out rc
    out=$("$sched" "$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ] || ! grep -Eq -- "$pattern" <<<"$out"; then
        echo "FAIL $name: exit $rc (wanted $want), output:"
        sed 's/^/    /' <<<"$out"
        echo "    (wanted a line matching: $pattern)"
        failures=$((failures + 1))
    else
        echo "ok   $name"
        passed=$((passed + 1))
    fi
}

expect burns_wellings_table 0 '^c +1 +LO +20 +20 +5 +0 +0 +20 +- +ok' "$dir/burns_wellings.json"
expect burns_wellings_verdict 0 '^verdict: SCHEDULABLE' "$dir/burns_wellings.json"
expect burns_wellings_dm 0 'deadline-monotonic priorities, times in ms' "$dir/burns_wellings.json"
expect blocking_csv_H 0 '^H,3,LO,10,10,2,,0,3,5,,yes,us$' --csv "$dir/blocking.json"
expect blocking_csv_M 0 '^M,2,LO,20,20,4,,0,3,9,,yes,us$' --csv "$dir/blocking.json"
expect blocking_csv_L 0 '^L,1,LO,40,40,10,,0,0,18,,yes,us$' --csv "$dir/blocking.json"
expect blocking_names_the_blocker 0 "blocking: L's section on bus" "$dir/blocking.json"
expect amc_H1 0 '^H1,2,HI,20,20,4,8,0,0,6,10,yes,ms$' --csv "$dir/mixed.json"
expect amc_H2 0 '^H2,1,HI,50,50,5,10,0,0,13,30,yes,ms$' --csv "$dir/mixed.json"
expect overloaded_exit_1 1 '^verdict: NOT SCHEDULABLE' "$dir/overloaded.json"
expect overloaded_flagged 1 'OVERLOADED' "$dir/overloaded.json"
expect overloaded_task 1 '^slow .*MISSES ITS DEADLINE' "$dir/overloaded.json"
expect syntax_error_line_col 2 'syntax_error.json:5:[0-9]+: malformed JSON' "$dir/syntax_error.json"
expect unknown_key 2 'tasks\[0\]: unknown key "deadlne"' "$dir/unknown_key.json"
expect negative_period 2 'tasks\[0\].period: expected a positive number of ms' "$dir/negative.json"
expect missing_wcet 2 'tasks\[0\].wcet: missing' "$dir/missing_wcet.json"
expect unknown_resource 2 'sections\[0\].resource: "can" is not in "resources"' "$dir/unknown_resource.json"
expect missing_file 2 'cannot read' "$dir/does_not_exist.json"
expect no_arguments 2 'usage: keel-sched' 
expect wcet_reference_used 0 '^filter,2,LO,10,10,2.5,,0,0,2.5,,yes,us$' --csv "$dir/wcet_reference.json"
expect wcet_reference_named 0 'wcet from keel-wcet: .*filter.wcet.json:filter_step' "$dir/wcet_reference.json"
expect wcet_unbounded 2 'keel-wcet did not bound parse_packet \(status unbounded\)' "$dir/wcet_unbounded.json"
expect wcet_needs_scale 2 'give "ns_per_unit"' "$dir/wcet_no_scale.json"
expect wcet_missing_function 2 'no function "nope" in the report' "$dir/wcet_missing_function.json"

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
