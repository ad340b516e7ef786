#!/usr/bin/env bash
# gen-bounds.sh - docs/bounds.md from keel-wcet's analysis of the built libkeel.
#
#   scripts/gen-bounds.sh KEEL_WCET IMAGE [OPS] [OUT]
#     KEEL_WCET  build/release/tools/wcet/keel-wcet
#     IMAGE      build/release/tools/bounds/keel_bounds_image: libkeel's objects (the
#                very objects of libkeel.a and libkeel.so) linked into an executable
#     OPS        the operations and their annotations (default tools/bounds/ops.txt)
#     OUT        the table (default docs/bounds.md; "-" for stdout)
# `make bounds` runs it on build/release. Needs jq and binutils (objdump, readelf).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
wcet=$1 image=$2
ops=${3:-$here/tools/bounds/ops.txt}
out=${4:-$here/docs/bounds.md}
patch=$here/tools/bounds/patch.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- read the ops file ----
: >"$tmp/common.facts"
: >"$tmp/common.why"
declare -a names=() headers=() claims=()
declare -A zeros=() loops=() gaps=() externs=()
cur=
while IFS= read -r line || [ -n "$line" ]; do
    [[ "$line" =~ ^[[:space:]]*# ]] && continue
    [ -z "${line//[[:space:]]/}" ] && continue
    body=${line%% -- *}
    why=
    [[ "$line" == *" -- "* ]] && why=${line#* -- }
    read -r kw rest <<<"$body"
    case $kw in
    extern)
        if [ -n "$cur" ]; then # inside an op: that op's own figure (say, a size it states)
            externs[$cur]+="$rest"$'\t'"$why"$'\n'
        else
            echo "extern $rest" >>"$tmp/common.facts"
            read -r ename _ <<<"$rest"
            printf '%s\t%s\t%s\n' "$ename" "extern $rest" "$why" >>"$tmp/common.why"
        fi
        ;;
    op)
        IFS='|' read -r n h c <<<"$rest"
        cur=$(echo "$n" | xargs)
        names+=("$cur")
        headers+=("$(echo "$h" | xargs)")
        claims+=("$(echo "$c" | sed 's/^ *//; s/ *$//')")
        ;;
    zero) zeros[$cur]+="$rest"$'\t'"$why"$'\n' ;;
    loop) loops[$cur]+="$rest"$'\t'"$why"$'\n' ;;
    gap) gaps[$cur]=$why ;;
    *) echo "gen-bounds: cannot read: $line" >&2; exit 1 ;;
    esac
done <"$ops"

# ---- analyse each operation ----
rows=$tmp/rows
notes=$tmp/notes
: >"$rows"
: >"$notes"
anum=0
declare -A anames=()
annotation() { # text why: adds its label A<n> (one per distinct annotation) to labels
    local key="$1" l
    if [ -z "${anames[$key]:-}" ]; then
        anum=$((anum + 1))
        anames[$key]=A$anum
        printf -- '- **A%d** `%s`: %s\n' "$anum" "$1" "$2" >>"$notes"
    fi
    for l in "${labels[@]}"; do
        [ "$l" = "${anames[$key]}" ] && return 0
    done
    labels+=("${anames[$key]}")
}
failures=0
for idx in "${!names[@]}"; do
    op=${names[$idx]}
    img=$image
    labels=()
    specs=()
    if [ -n "${zeros[$op]:-}" ]; then
        while IFS=$'\t' read -r spec why; do
            [ -z "$spec" ] && continue
            read -r -a words <<<"$spec"
            specs+=("${words[@]}")
            annotation "zero $spec" "$why"
        done <<<"${zeros[$op]}"
        img=$tmp/image.$idx
        "$patch" "$image" "$img" "${specs[@]}" >"$tmp/patch.$idx.txt"
    fi
    facts=$tmp/facts.$idx
    : >"$facts"
    if [ -n "${externs[$op]:-}" ]; then
        while IFS=$'\t' read -r spec why; do
            [ -z "$spec" ] && continue
            echo "extern $spec" >>"$facts"
            annotation "extern $spec" "$why"
        done <<<"${externs[$op]}"
    fi
    declare -a eachs=()
    if [ -n "${loops[$op]:-}" ]; then
        while IFS=$'\t' read -r spec why; do
            [ -z "$spec" ] && continue
            read -r fn ref _ n flag <<<"$spec"
            k=${ref#\#}
            header=$("$wcet" --format json "$img" "$fn" | jq -r --argjson k "$k" '.functions[0].loops[$k - 1].header // empty')
            if [ -z "$header" ]; then
                echo "gen-bounds: $op: $fn has no loop $ref" >&2
                exit 1
            fi
            echo "loop $fn $header max $n" >>"$facts"
            # `each`: the pass beyond the annotated max is a separate term; its
            # cost is computed below, as the bound with max N+1 less the bound
            [ "${flag:-}" = each ] && eachs+=("$fn $header $n"$'\t'"loop $fn $ref max $n each"$'\t'"$why")
            [ "${flag:-}" = each ] || annotation "loop $fn $ref max $n" "$why"
        done <<<"${loops[$op]}"
    fi
    args=(--format json --facts-optional "$tmp/common.facts")
    [ -s "$facts" ] && args+=(--facts "$facts")
    "$wcet" "${args[@]}" "$img" "$op" >"$tmp/r.json"
    read -r status instr sstatus stack < <(jq -r '.functions[0] | "\(.status) \(.instructions // "-") \(.stack_status) \(.stack // "-")"' "$tmp/r.json")
    for e in "${eachs[@]}"; do
        IFS=$'\t' read -r loc text why <<<"$e"
        read -r fn header n <<<"$loc"
        sed "s/^loop $fn $header max $n\$/loop $fn $header max $((n + 1))/" "$facts" >"$facts.each"
        more=$("$wcet" --format json --facts-optional "$tmp/common.facts" --facts "$facts.each" "$img" "$op" |
            jq -r '.functions[0].instructions // "-"')
        if [ "$status" = bounded ] && [[ "$more" =~ ^[0-9]+$ ]]; then
            why="$why; each further pass adds $((more - instr)) instructions (keel-wcet, with max $((n + 1)))"
        fi
        annotation "$text" "$why"
    done
    unset eachs
    # the C library functions this bound counts
    while IFS= read -r ename; do
        [ -z "$ename" ] && continue
        line=$(awk -F'\t' -v n="$ename" '$1 == n' "$tmp/common.why")
        [ -z "$line" ] && continue
        annotation "$(cut -f2 <<<"$line")" "$(cut -f3 <<<"$line")"
    done < <(jq -r '.functions[0].assumptions[] | capture("cost of external (?<n>[^ @]+)") | .n' "$tmp/r.json" | sort -u)
    how="keel-wcet"
    [ ${#labels[@]} -gt 0 ] && how="keel-wcet + annotations"
    [ "$status" != bounded ] && instr=$status
    [ "$sstatus" != bounded ] && stack=$sstatus
    assume=$(IFS=' '; echo "${labels[*]:-none}")
    if [ -n "${gaps[$op]:-}" ]; then
        how="not bounded: see below"
        printf -- '- `%s`: %s\n' "$op" "${gaps[$op]}" >>"$tmp/gaps"
        jq -r '.functions[0].reasons[]' "$tmp/r.json" | sort -u | head -6 | sed 's/^/    - keel-wcet: /' >>"$tmp/gaps"
    elif [ "$status" != bounded ]; then
        failures=$((failures + 1))
        echo "gen-bounds: $op claims a bound and keel-wcet finds none:" >&2
        jq -r '.functions[0].reasons[]' "$tmp/r.json" >&2
    fi
    printf '| `%s` | %s | %s | %s | %s | %s | %s |\n' "$op" "${headers[$idx]}" "${claims[$idx]}" "$instr" "$stack" "$how" "$assume" >>"$rows"
done

# ---- the page ----
{
    cat <<'HEAD'
# Certified bounds of keel's runtime

Generated by `scripts/gen-bounds.sh` from keel-wcet's analysis of the built
libkeel (`make bounds`); do not edit by hand. The test `bounds_table`
regenerates it and fails when a bound rises above the figure here, or when an
operation without a `gap` line has no finite bound.

What is analysed: `build/release/tools/bounds/keel_bounds_image`, an executable
made of libkeel's compiled objects (gcc, Release: the objects of both
`libkeel.a` and `libkeel.so`) and an empty `main`. Not `libkeel.so` itself:
in the shared object every call from one exported function to another
(`keel_heap_locked_alloc` to `keel_heap_alloc`) goes through the PLT, because
an exported symbol may be interposed, and keel-wcet sees an external call of
unknown cost; `--lib libkeel.so` does not help, since the library's own
functions call libc. Linked into a program (as `keel::keel`, the static
library, is by default) those calls are direct, and that is the code analysed.
A program using `libkeel.so` executes 2 more instructions (the PLT stub) per
such internal call.

Columns: the worst-case number of executed x86-64 instructions (valgrind's
count; not a time, see docs/wcet.md) and the stack in bytes (from the caller's
stack pointer, return address included), callees included, under the
annotations listed. The annotations of the user's code (`zero ... indirect`)
charge the user's function 0: add its own bound, and its stack plus 8 bytes
for the return address, to the figures.

| operation | header | header's claim | instructions | stack | how derived | assumptions |
|---|---|---|---:|---:|---|---|
HEAD
    cat "$rows"
    cat <<'MID'

## Annotations

Each is an assumption of the rows that list it. `zero` annotations are applied
by `tools/bounds/patch.sh` to a copy of the image, because keel-wcet has no
annotation for an indirect call (it reports the function "unknown") nor for a
call charged elsewhere: each chosen call instruction is overwritten by one of
the same length that keel-wcet models as returning unknown values (`rdtsc`, or
`rdtscp` plus a `nop`: the call site is still counted, as one or two
instructions). `loop` annotations become keel-wcet flow facts on the loop
keel-wcet numbers K in that function; one marked `each` bounds the common
case, and every further pass is a separate term whose cost is given (keel-wcet's
bound with one more pass, less the row's). `extern` figures are the C
library's, measured by `tools/bounds/measure_externs` (test `bounds_externs`
re-measures them): an uncontended lock; waiting for a lock is blocking, which
the schedulability analysis charges separately, and a system call's kernel time
or a suspension (a sleep, a wait on a semaphore) is not an instruction count of
the caller. An `extern` listed under one operation (a size it states) holds for
that row only.

MID
    cat "$notes"
    if [ -s "$tmp/gaps" ]; then
        printf '\n## Operations without a finite bound, and why\n\n'
        cat "$tmp/gaps"
    fi
    printf '\nGlobal assumptions of keel-wcet (every row):\n\n'
    jq -r '.global_assumptions[] | "- " + .' "$tmp/r.json"
} >"$tmp/out.md"
if [ "$out" = - ]; then
    cat "$tmp/out.md"
else
    cp "$tmp/out.md" "$out"
fi
[ "$failures" -eq 0 ]
