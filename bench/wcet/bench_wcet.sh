#!/usr/bin/env bash
# bench_wcet.sh - keel-wcet over its validation corpus and on a ~1 MB binary.
#
#   bench_wcet.sh KEEL_WCET CORPUS_BIN_DIR CORPUS_SRC_DIR OUT_DIR [--quick]
#
# For every program of tests/wcet/corpus and every build (gcc and clang at
# -O0, -O1, -O2, -O3, -Os):
#   - loops: how many, and how many keel-wcet bounds automatically (no flow
#     facts, only the program's stated input ranges);
#   - the bound with the program's flow facts, against valgrind's exact count
#     on the worst-case input: soundness violations (bound < measured) and the
#     distribution of bound / measured;
#   - the analysis time.
# Then the speed on a generated program with ~1 MB of code (gen_big.sh):
# every function analysed, with and without the Z3 checks.
# Writes wcet.csv (one row per build), wcet-summary.csv, wcet-speed.csv and
# wcet.png (gnuplot) into OUT_DIR and prints the tables.
set -u
wcet=$1 bindir=$2 srcdir=$3 out=$4
quick=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
variants="gcc-O0 gcc-O1 gcc-O2 gcc-O3 gcc-Os clang-O0 clang-O1 clang-O2 clang-O3 clang-Os"
header() { sed -n "s|^// wcet-$1: *||p" "$2"; }
source <(sed -n '/^resolve_lines()/,/^}/p' "$here/../../tests/wcet/run_corpus.sh")

one() { # program variant -> one CSV row
    local prog=$1 v=$2 src=$srcdir/$1.c bin=$bindir/$1-$2
    local fn args assume=() facts=()
    fn=$(header function "$src")
    args=$(header args "$src")
    for a in $(header assume "$src"); do assume+=(--assume "$a"); done
    if grep -q '^// wcet-fact:' "$src"; then
        header fact "$src" | resolve_lines "$src" >"$tmp/$prog-$v.facts"
        facts+=(--facts "$tmp/$prog-$v.facts")
    fi
    if grep -q '^// wcet-fact-optional:' "$src"; then
        header fact-optional "$src" | resolve_lines "$src" >"$tmp/$prog-$v.ofacts"
        facts+=(--facts-optional "$tmp/$prog-$v.ofacts")
    fi
    # loops bounded without any flow fact
    "$wcet" "${assume[@]}" --format json "$bin" "$fn" >"$tmp/$prog-$v.auto.json" 2>/dev/null
    local loops auto
    loops=$(jq '[.functions[0].loops[]] | length' "$tmp/$prog-$v.auto.json" 2>/dev/null || echo 0)
    auto=$(jq '[.functions[0].loops[] | select(.bound != null and .annotated == false)] | length' \
        "$tmp/$prog-$v.auto.json" 2>/dev/null || echo 0)
    # the bound with the flow facts, timed
    local t0 t1 status bound
    t0=$(date +%s.%N)
    "$wcet" "${assume[@]}" "${facts[@]}" --format json "$bin" "$fn" >"$tmp/$prog-$v.json" 2>/dev/null
    t1=$(date +%s.%N)
    status=$(jq -r '.functions[0].status' "$tmp/$prog-$v.json" 2>/dev/null || echo error)
    bound=$(jq -r '.functions[0].instructions // ""' "$tmp/$prog-$v.json" 2>/dev/null)
    valgrind --tool=callgrind --callgrind-out-file="$tmp/$prog-$v.cg" --collect-atstart=no \
        --toggle-collect="$fn" "$bin" $args >/dev/null 2>&1
    local measured ratio sound
    measured=$(sed -n 's/^totals: *//p' "$tmp/$prog-$v.cg" | awk '{print $1}')
    ratio= sound=
    if [ -n "$bound" ] && [ -n "$measured" ]; then
        ratio=$(awk -v b="$bound" -v m="$measured" 'BEGIN{printf "%.4f", b/m}')
        sound=$([ "$bound" -ge "$measured" ] && echo yes || echo NO)
    fi
    local cc=${v%%-*} opt=${v#*-}
    printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$prog" "$cc" "$opt" "$loops" "$auto" "$status" "$bound" \
        "${measured:-}" "$ratio" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b-a}')" "$sound"
}
export -f one header resolve_lines
export wcet bindir srcdir tmp

progs=$(cd "$srcdir" && ls *.c | sed 's/\.c$//')
for p in $progs; do for v in $variants; do echo "$p $v"; done; done >"$tmp/jobs"
echo "program,compiler,opt,loops,loops_bounded_automatically,status,bound,measured,bound_over_measured,analysis_seconds,sound" \
    >"$out/wcet.csv"
xargs -P "$(nproc 2>/dev/null || echo 2)" -L 1 bash -c 'one "$0" "$1"' <"$tmp/jobs" | sort >>"$out/wcet.csv"

# ---- summary per optimisation level ----
awk -F, 'NR > 1 {
    k = $3; loops[k] += $4; auto[k] += $5; builds[k]++
    if ($6 == "bounded") bounded[k]++
    if ($11 == "NO") unsound[k]++
    if ($9 != "") { n[k]++; r[k, n[k]] = $9 }
    t[k] += $10
} END {
    print "opt,builds,loops,loops_bounded_automatically,share,builds_bounded,soundness_violations,ratio_median,ratio_p90,ratio_max,mean_analysis_seconds"
    split("O0 O1 O2 O3 Os", order, " ")
    for (i = 1; i <= 5; i++) {
        k = order[i]
        m = n[k]
        for (a = 1; a <= m; a++) for (b = a + 1; b <= m; b++) if (r[k, b] + 0 < r[k, a] + 0) { x = r[k, a]; r[k, a] = r[k, b]; r[k, b] = x }
        med = m ? r[k, int((m + 1) / 2)] : 0
        p90 = m ? r[k, int(m * 0.9 + 0.999)] : 0
        printf "-%s,%d,%d,%d,%.1f%%,%d,%d,%s,%s,%s,%.3f\n", k, builds[k], loops[k], auto[k],
            loops[k] ? 100 * auto[k] / loops[k] : 100, bounded[k], unsound[k] + 0, med, p90, m ? r[k, m] : 0, t[k] / builds[k]
    }
}' "$out/wcet.csv" >"$out/wcet-summary.csv"

# ---- distribution of bound / measured ----
awk -F, 'NR > 1 && $9 != "" {
    r = $9 + 0
    if (r == 1) b = "1.00 (exact)"; else if (r <= 1.01) b = "1.00-1.01"; else if (r <= 1.05) b = "1.01-1.05";
    else if (r <= 1.10) b = "1.05-1.10"; else if (r <= 1.5) b = "1.10-1.50"; else if (r <= 3) b = "1.50-3.00"; else b = "> 3"
    c[b]++
} END {
    split("1.00 (exact)|1.00-1.01|1.01-1.05|1.05-1.10|1.10-1.50|1.50-3.00|> 3", o, "|")
    for (i = 1; i <= 7; i++) printf "%d \"%s\" %d\n", i, o[i], c[o[i]] + 0
}' "$out/wcet.csv" >"$tmp/hist.dat"

# ---- speed on ~1 MB of code ----
nfun=8500
[ "$quick" = --quick ] && nfun=1500
"$here/gen_big.sh" $nfun >"$tmp/big.c"
cc -O2 -o "$tmp/big" "$tmp/big.c"
text=$(size "$tmp/big" | awk 'NR == 2 {print $1}')
echo "configuration,functions,code_bytes,seconds,bounded,unbounded,unknown" >"$out/wcet-speed.csv"
for mode in default no-smt; do
    flags=()
    [ $mode = no-smt ] && flags=(--no-smt)
    t0=$(date +%s.%N)
    "$wcet" "${flags[@]}" --all --format bound "$tmp/big" >"$tmp/big.$mode" 2>/dev/null
    t1=$(date +%s.%N)
    awk -v m="$mode" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')" -v text="$text" \
        '{n++; s[$2]++} END {printf "%s,%d,%d,%s,%d,%d,%d\n", m, n, text, t, s["bounded"], s["unbounded"], s["unknown"]}' \
        "$tmp/big.$mode" >>"$out/wcet-speed.csv"
done

# ---- print ----
echo
echo "keel-wcet over its corpus: $(tail -n +2 "$out/wcet.csv" | wc -l) builds of $(echo "$progs" | wc -w) programs"
column -t -s, "$out/wcet-summary.csv"
echo
echo "bound / measured (valgrind's exact count on the worst-case input), all builds with a bound:"
awk '{ $1 = ""; print }' "$tmp/hist.dat" | sed 's/^ //'
echo
echo "every function of a generated binary ($text bytes of code, gcc -O2):"
column -t -s, "$out/wcet-speed.csv"
echo
echo "CSV: $out/wcet.csv, $out/wcet-summary.csv, $out/wcet-speed.csv"

# ---- plot ----
if command -v gnuplot >/dev/null; then
    awk -F, 'NR > 1 { gsub("%", "", $5); print NR - 1, "\"" $1 "\"", $5 }' "$out/wcet-summary.csv" >"$tmp/share.dat"
    gnuplot <<GP
set terminal pngcairo size 1400,560 font ',10'
set output '$out/wcet.png'
set multiplot layout 1,2 title 'keel-wcet over its corpus (gcc and clang, 5 optimisation levels)'
set style fill solid 0.6 border -1
set boxwidth 0.6
set yrange [0:*]
set title 'bound / measured (valgrind), builds per range'
set xtics rotate by -30
plot '$tmp/hist.dat' using 1:3:xtic(2) with boxes notitle, '' using 1:3:3 with labels offset 0,0.7 notitle
set title 'loops bounded automatically (no flow facts), %'
set yrange [0:105]
plot '$tmp/share.dat' using 1:3:xtic(2) with boxes notitle, '' using 1:3:3 with labels offset 0,0.7 notitle
unset multiplot
GP
    echo "PNG: $out/wcet.png"
fi
violations=$(awk -F, 'NR > 1 && $11 == "NO"' "$out/wcet.csv" | wc -l)
[ "$violations" -eq 0 ]
