#!/usr/bin/env bash
# patch.sh - charges chosen calls zero instructions in a copy of an x86-64 ELF
# file, for keel-wcet, which has no annotation for an indirect call (it reports
# any function that makes one as "unknown") nor for a call whose cost is stated
# elsewhere. Each call instruction chosen is overwritten, in place and with the
# same length, by an instruction that keel-wcet models as writing unknown
# values to the registers a call returns in, and costs one instruction as the
# call did:
#     2 bytes (call *%reg)          rdtsc           eax, edx unknown
#     3 bytes or more               rdtscp + nop    eax, edx, ecx unknown
# So the operation's bound counts the call instruction itself and not the
# callee; a site of 4 bytes or more counts 2 instructions for it (the nop):
# one more than the call, never less. The callee's stack is not counted either
# (nor the return address it would push: docs/bounds.md adds it back).
#
#   patch.sh IN OUT SPEC...     SPEC is "FUNC indirect" or "FUNC call CALLEE"
#     FUNC matches the symbol or its compiler clones (FUNC.constprop.0, ...);
#     CALLEE a direct call to it, its clones or its PLT stub (CALLEE@plt).
#   Prints one line per site; exit 2 if a SPEC matches no call (as keel-wcet
#   treats a flow fact that matches nothing).
set -euo pipefail
in=$1 out=$2
shift 2
cp "$in" "$out"
dis=$(mktemp)
trap 'rm -f "$dis"' EXIT
objdump -d -w "$in" >"$dis"
# file offset of a virtual address, from the PT_LOAD program headers
offset_of() {
    local a=$((16#$1)) off va fsz
    while read -r off va fsz; do
        if [ "$a" -ge $((va)) ] && [ "$a" -lt $((va + fsz)) ]; then
            echo $((a - va + off))
            return
        fi
    done < <(readelf -lW "$in" | awk '$1 == "LOAD" {print $2, $3, $5}')
    echo "patch.sh: 0x$1 is in no loaded segment" >&2
    exit 1
}
status=0
while [ $# -gt 0 ]; do
    func=$1 kind=$2
    callee=
    if [ "$kind" = call ]; then
        callee=$3
        shift 3
    elif [ "$kind" = indirect ]; then
        shift 2
    else
        echo "patch.sh: bad spec '$func $kind'" >&2
        exit 1
    fi
    # sites: address and length of each matching call instruction
    sites=$(awk -v f="$func" -v k="$kind" -v c="$callee" '
        /^[0-9a-f]+ <.*>:$/ {
            name = $2; gsub(/[<>:]/, "", name)
            infn = (name == f || index(name, f ".") == 1)
            next
        }
        infn && /^ *[0-9a-f]+:\t/ {
            split($0, part, "\t")
            addr = part[1]; gsub(/[ :]/, "", addr)
            n = split(part[2], bytes, " ")
            insn = part[3]
            if (insn !~ /^(notrack )?call/) next
            if (k == "indirect" && insn ~ /\*/) print addr, n
            if (k == "call" && insn !~ /\*/) {
                t = insn; sub(/.*</, "", t); sub(/>.*/, "", t)
                if (t == c || t == c "@plt" || index(t, c ".") == 1) print addr, n
            }
        }' "$dis")
    if [ -z "$sites" ]; then
        echo "patch.sh: '$func $kind $callee' matches no call in $in" >&2
        status=2
        continue
    fi
    while read -r addr len; do
        case $len in
        2) bytes='\x0f\x31' ;;
        3) bytes='\x0f\x01\xf9' ;;
        4) bytes='\x0f\x01\xf9\x90' ;;
        5) bytes='\x0f\x01\xf9\x66\x90' ;;
        6) bytes='\x0f\x01\xf9\x0f\x1f\x00' ;;
        7) bytes='\x0f\x01\xf9\x0f\x1f\x40\x00' ;;
        *) echo "patch.sh: call of $len bytes at 0x$addr" >&2; exit 1 ;;
        esac
        off=$(offset_of "$addr")
        printf "$bytes" | dd of="$out" bs=1 seek="$off" conv=notrunc status=none
        echo "0x$addr $len-byte call in $func ($kind${callee:+ $callee}) charged 0"
    done <<<"$sites"
done
exit $status
