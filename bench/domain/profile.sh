#!/bin/sh
# profile.sh - where the instructions of a protected call go: bench_domain's
# --loop mode under valgrind --tool=callgrind, collecting only inside
# keel_rref_call_lend (the pipeline's protected call; lends are not nested
# there, so callgrind's toggle sees each call once), shown per call; then
# the same for a panic and its recovery (--panics).
#
#   bench/domain/profile.sh [BUILD_DIR] [BATCHES]      (from the repository root)
#
# BUILD_DIR (default build/profile) is configured as a Release build with debug
# information: -g does not change the generated code, it only lets callgrind
# name source lines (DWARF 4: valgrind 3.19 cannot read clang 14's DWARF 5).
# Counts are instructions, not cycles: a locked RMW counts 1 and costs ~13
# cycles; bench_domain's "parts" table has the cycles.
set -eu
build=${1:-build/profile}
batches=${2:-20000}
stages=5 # STAGES in stages.h: one lend per stage per batch

command -v valgrind >/dev/null || { echo "profile.sh: valgrind not found" >&2; exit 1; }
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS=-g -gdwarf-4" \
    -DKEEL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target bench_domain -j 2 >/dev/null
out="$build/bench/domain/callgrind.out"
valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
    --toggle-collect=keel_rref_call_lend \
    "$build/bench/domain/bench_domain" --loop "$batches" >/dev/null 2>&1
calls=$((batches * stages))

# Cost lines of callgrind_annotate ("12,345 (6.7%)  file:function [object]"),
# from the function table up to the first blank line, divided by the calls;
# paths relative to the repository, each function once.
root="$(pwd)/"
per_call() {
    awk -v n="$calls" -v root="$root" '
        /file:function/ { table = 1; next }
        table && /^-+$/ { next }
        table && NF == 0 { exit }
        table {
            count = $1; gsub(",", "", count)
            name = $0
            sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", name)
            sub(/ \[.*\]$/, "", name)
            if (index(name, root) == 1) name = substr(name, length(root) + 1)
            if (name ~ /^\?\?\?|libc-start|libc_start_call_main|main\.c:main|pipeline_run_lend/) next
            if (seen[name]++) next
            if (count / n >= 0.5) printf "  %7.1f  %s\n", count / n, name
        }'
}

echo "instructions per keel_rref_call_lend, $calls calls (batch of 32 packets, 5 stages):"
echo "inclusive (the function and all it calls):"
callgrind_annotate --auto=no --inclusive=yes "$out" 2>/dev/null | per_call
echo "self:"
callgrind_annotate --auto=no "$out" 2>/dev/null | per_call

# call.c line by line, per call; "=>" lines are the inclusive cost of a call
# made there (their call counts, which include uncollected calls, left out).
echo "src/domain/call.c, per call (lines that cost nothing left out):"
callgrind_annotate --auto=yes --show-percs=no "$out" 2>/dev/null | awk -v n="$calls" '
    /^-- Auto-annotated source:/ { show = ($0 ~ /src\/domain\/call\.c$/); next }
    show && /^ *[0-9][0-9,]* / {
        count = $1; gsub(",", "", count)
        line = $0; sub(/^ *[0-9][0-9,]* +/, "", line); sub(/ \([0-9,]+x\)$/, "", line)
        sub(/^=> \/.*\/src\//, "=> src/", line)
        printf "  %7.1f  %s\n", count / n, line
    }'

# A panic and its recovery (bench_domain --panics): everything from the call
# into the victim to its return with KEEL_EPANIC, the domain recovered, the
# recovery function (an allocation and a re-export) included.
panics=2000
pout="$build/bench/domain/callgrind-panic.out"
valgrind --tool=callgrind --callgrind-out-file="$pout" --collect-atstart=no \
    --toggle-collect=panic_once \
    "$build/bench/domain/bench_domain" --panics "$panics" >/dev/null 2>&1
calls=$panics
echo "instructions per panic, keel_panic() to KEEL_EPANIC and the domain recovered, $calls panics:"
echo "inclusive:"
callgrind_annotate --auto=no --inclusive=yes "$pout" 2>/dev/null | per_call
