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
set -u
wcet=$1 bindir=$2 srcdir=$3 csv=$4 variants=$5
shift 5
pass=0 fail=0
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
    for v in $variants; do
        bin=$bindir/$prog-$v
        if [ ! -x "$bin" ]; then
            echo "FAIL $prog $v: $bin missing"
            fail=$((fail + 1))
            continue
        fi
        t0=$(date +%s.%N)
        out=$("$wcet" "${assume[@]}" "${facts[@]}" --format bound "$bin" "$fn" 2>"$tmp/err")
        rc=$?
        t1=$(date +%s.%N)
        read -r _ status bound stack <<<"$out"
        valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" --collect-atstart=no \
            --toggle-collect="$fn" "$bin" $args >/dev/null 2>"$tmp/vg"
        measured=$(sed -n 's/^totals: *//p' "$tmp/cg" | awk '{print $1}')
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')
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
        printf '%-5s %-22s %-10s bound %-10s measured %-10s ratio %-7s stack %-5s %ss %s\n' "$verdict" "$prog" "$v" \
            "${bound:--}" "$measured" "$ratio" "${stack:--}" "$secs" "$why"
        echo "$prog,$v,$fn,${status:-error},${bound:-},$measured,$ratio,${stack:-},$secs,$verdict" >>"$csv"
        if [ "$verdict" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
    done
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
