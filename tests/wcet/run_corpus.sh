#!/usr/bin/env bash
# run_corpus.sh - keel-wcet's bounds against valgrind's exact counts.
#
#   run_corpus.sh KEEL_WCET CORPUS_BIN_DIR SOURCE_DIR CSV_OUT "VARIANTS" PROGRAM...
#
# For each program and variant (e.g. gcc-O2), reads the program's header:
#   // wcet-function: NAME        the analysed function
#   // wcet-assume: N=LO..HI      input ranges (any number, space separated)
#   // wcet-args: ARGS            the worst-case input (by construction)
#   // wcet-tight: F | exact      bound <= F x measured (exact: bound == measured)
#   // wcet-fact: LINE            a flow-facts line (repeatable); {line:TEXT} is replaced
#                                 by the number of the first code line containing TEXT
#   // wcet-fact-optional: LINE   a flow fact that some builds need and others not (--facts-optional)
#   // wcet-loose: VARIANT...     variants where only soundness is asserted (each with a reason in the source)
#   // wcet-unbounded: VARIANT... variants where keel-wcet gives no bound (each with a reason in the source);
#                                 a bound found there is still checked, and reported as better than stated
# then runs keel-wcet and `valgrind --tool=callgrind` with collection toggled
# on NAME (its inclusive instruction count) and asserts:
#   soundness, always: the bound is >= the measured count;
#   the program's tightness (or exactness) unless the variant is listed loose;
#   a bound exists (a program in the corpus is never unbounded).
# Prints one line per variant and "N passed, N failed".
#
# Nothing is done twice for the same input: a variant whose binary is
# byte-identical to an earlier one of the same program (gcc and clang often
# emit the same code at -O2 and -O3) reuses that one's analysis and count,
# and is still judged by its own header lines; and valgrind's counts are kept
# in $WCET_MEASURE_CACHE (if set) under the hash of the binary's code and data
# (debug information and build id left out, so the release and sanitizer
# builds share them), the function, the input and valgrind's version.
# WCET_CORPUS_NO_REUSE=1 turns both off (to measure what they save).
set -u
wcet=$1 bindir=$2 srcdir=$3 csv=$4 variants=$5
shift 5
pass=0 fail=0
declare -A r_out r_rc r_meas
: >"$csv"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
header() { sed -n "s|^// wcet-$1: *||p" "$2"; }
# Flow facts name source lines; {line:TEXT} stands for the line of the first
# code line (not a // comment) containing TEXT, so that facts survive edits.
resolve_lines() {
    local src=$1 line out text n
    while IFS= read -r line; do
        out=$line
        while [[ "$out" =~ \{line:([^}]*)\} ]]; do
            text=${BASH_REMATCH[1]}
            n=$(grep -nF -- "$text" "$src" | grep -v '^[0-9]*:[[:space:]]*//' | head -1 | cut -d: -f1)
            out=${out/"{line:$text}"/${n:-0}}
        done
        printf '%s\n' "$out"
    done
}
reuse=1
[ -n "${WCET_CORPUS_NO_REUSE:-}" ] && reuse=0
cache=${WCET_MEASURE_CACHE:-}
[ $reuse = 1 ] && [ -n "$cache" ] && mkdir -p "$cache"
vgversion=$(valgrind --version 2>/dev/null)
# valgrind's inclusive count of function $2 in binary $1 with arguments $3
measure() {
    local bin=$1 fn=$2 args=$3 key= n
    if [ $reuse = 1 ] && [ -n "$cache" ] &&
        objcopy --strip-debug -R .note.gnu.build-id "$bin" "$tmp/code" 2>/dev/null; then
        key=$({ sha1sum <"$tmp/code"; printf '%s\n%s\n%s\n' "$fn" "$args" "$vgversion"; } | sha1sum | cut -c1-40)
        if [ -s "$cache/$key" ]; then
            cat "$cache/$key"
            return
        fi
    fi
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" --collect-atstart=no \
        --toggle-collect="$fn" "$bin" $args >/dev/null 2>"$tmp/vg"
    n=$(sed -n 's/^totals: *//p' "$tmp/cg" | awk '{print $1}')
    rm -f "$tmp/cg"
    if [ -n "$key" ] && [ -n "$n" ] && [ "$n" != 0 ]; then
        echo "$n" >"$tmp/put" && mv "$tmp/put" "$cache/$key" # atomic: tests run in parallel
    fi
    echo "$n"
}
for prog in "$@"; do
    src=$srcdir/$prog.c
    fn=$(header function "$src")
    args=$(header args "$src")
    tight=$(header tight "$src")
    loose=" $(header loose "$src") "
    unb=" $(header unbounded "$src") "
    assume=()
    for a in $(header assume "$src"); do assume+=(--assume "$a"); done
    facts=()
    if grep -q '^// wcet-fact:' "$src"; then
        header fact "$src" | resolve_lines "$src" >"$tmp/$prog.facts"
        facts=(--facts "$tmp/$prog.facts")
    fi
    if grep -q '^// wcet-fact-optional:' "$src"; then
        header fact-optional "$src" | resolve_lines "$src" >"$tmp/$prog.ofacts"
        facts+=(--facts-optional "$tmp/$prog.ofacts")
    fi
    seen=()
    for v in $variants; do
        bin=$bindir/$prog-$v
        if [ ! -x "$bin" ]; then
            echo "FAIL $prog $v: $bin missing"
            fail=$((fail + 1))
            continue
        fi
        same=
        for u in "${seen[@]}"; do
            if [ $reuse = 1 ] && cmp -s "$bin" "$bindir/$prog-$u"; then
                same=$u
                break
            fi
        done
        seen+=("$v")
        if [ -n "$same" ]; then
            # the same binary as variant $same: the same analysis and count
            out=${r_out[$same]} rc=${r_rc[$same]} measured=${r_meas[$same]} secs=0.000
            cp "$tmp/err.$same" "$tmp/err"
        else
            t0=$(date +%s.%N)
            out=$("$wcet" "${assume[@]}" "${facts[@]}" --format bound "$bin" "$fn" 2>"$tmp/err")
            rc=$?
            t1=$(date +%s.%N)
            secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
            measured=$(measure "$bin" "$fn" "$args")
            r_out[$v]=$out r_rc[$v]=$rc r_meas[$v]=$measured
            cp "$tmp/err" "$tmp/err.$v"
        fi
        read -r _ status bound stack <<<"$out"
        if [ -z "$measured" ] || [ "$measured" = 0 ]; then
            echo "FAIL $prog $v: valgrind measured nothing for $fn"
            fail=$((fail + 1))
            continue
        fi
        ratio=-
        verdict=ok
        why=
        if [ $rc -ne 0 ]; then
            verdict=FAIL
            why="keel-wcet exit $rc: $(head -c 300 "$tmp/err")"
        elif [ "$status" != bounded ] && [[ "$unb" == *" $v "* ]]; then
            verdict=ok
            why="$status (declared in the source)"
        elif [ "$status" != bounded ]; then
            verdict=FAIL
            why="$status"
        else
            ratio=$(awk -v b="$bound" -v m="$measured" 'BEGIN{printf "%.4f", b/m}')
            if [ "$bound" -lt "$measured" ]; then
                verdict=FAIL
                why="UNSOUND: bound $bound < measured $measured"
            elif [[ "$loose" == *" $v "* ]]; then
                :
            elif [ "$tight" = exact ] && [ "$bound" -ne "$measured" ]; then
                verdict=FAIL
                why="single path: bound $bound != measured $measured"
            elif [ "$tight" != exact ] && ! awk -v r="$ratio" -v f="$tight" 'BEGIN{exit !(r <= f + 1e-9)}'; then
                verdict=FAIL
                why="bound/measured $ratio above the stated $tight"
            fi
        fi
        [ -n "$same" ] && why="$why${why:+; }the same binary as $same"
        printf '%-5s %-22s %-10s bound %-10s measured %-10s ratio %-7s stack %-5s %ss %s\n' "$verdict" "$prog" "$v" \
            "${bound:--}" "$measured" "$ratio" "${stack:--}" "$secs" "$why"
        echo "$prog,$v,$fn,${status:-error},${bound:-},$measured,$ratio,${stack:-},$secs,$verdict" >>"$csv"
        if [ "$verdict" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    done
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
