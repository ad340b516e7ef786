/*
 * pkru.S - keel-wcet's model of the protection-key instructions (test_cli.sh,
 * the pkru-* checks; scripts/test-pku-qemu.sh runs them on a CPU with keys).
 *
 * Each function is built so that a wrong model changes its bound: not decoded
 * (an error), a register clobbered that the instruction keeps (a loop without
 * a bound), a register kept that the instruction writes (a loop bounded by the
 * stale value). The model (Intel SDM): RDPKRU reads ecx (0) and writes eax =
 * PKRU and edx = 0; WRPKRU reads eax, ecx and edx (0) and writes no register;
 * each counts as one instruction. pkru_keep, pkru_clears_edx and pkru_write
 * leave PKRU as it was, so on a CPU with keys they run (pkru_steps.c counts
 * them) exactly as counted below; the other two are for the analysis only.
 */
    .text

/* Neither instruction touches esi: 8 passes. 1 + 8 * 5 + 1 = 42 instructions. */
    .globl pkru_keep
    .type pkru_keep, @function
pkru_keep:
    mov $8, %esi
1:  xor %ecx, %ecx
    rdpkru
    wrpkru
    sub $1, %esi
    jne 1b
    ret
    .size pkru_keep, .-pkru_keep

/* RDPKRU clears edx: the loop on edx is never entered. 6 instructions (with
 * edx kept at 1000 it would be 2006; with edx unknown, 2^32 passes). */
    .globl pkru_clears_edx
    .type pkru_clears_edx, @function
pkru_clears_edx:
    mov $1000, %edx
    xor %ecx, %ecx
    rdpkru
    test %edx, %edx
    je 2f
1:  sub $1, %edx
    jne 1b
2:  ret
    .size pkru_clears_edx, .-pkru_clears_edx

/* WRPKRU writes no register: r8 counts 3 passes and edx stays 0 (the loop on
 * it is never entered). 3 + 3 * 3 + 3 = 15 instructions. */
    .globl pkru_write
    .type pkru_write, @function
pkru_write:
    xor %ecx, %ecx
    rdpkru
    mov $3, %r8d
1:  wrpkru
    sub $1, %r8d
    jne 1b
    test %edx, %edx
    je 3f
2:  sub $1, %edx
    jne 2b
3:  ret
    .size pkru_write, .-pkru_write

/* WRPKRU keeps eax: a loop while rsi < rax runs 5 passes. 6 + 5 * 1 + 6 * 2
 * + 1 = 24 instructions (unbounded if eax were lost). Not executed: PKRU = 5
 * would deny access to key 0, all ordinary memory. */
    .globl pkru_write_keeps_eax
    .type pkru_write_keeps_eax, @function
pkru_write_keeps_eax:
    xor %ecx, %ecx
    xor %edx, %edx
    mov $5, %eax
    wrpkru
    xor %esi, %esi
    jmp 2f
1:  add $1, %rsi
2:  cmp %rax, %rsi
    jb 1b
    ret
    .size pkru_write_keeps_eax, .-pkru_write_keeps_eax

/* eax is PKRU, any 32-bit value, zero-extended: a loop while rsi < rax (a
 * 64-bit compare) has at most 2^32 - 1 back edges (5 if eax were kept, none
 * if rax were unknown). Not executed: it would run PKRU times. */
    .globl pkru_eax
    .type pkru_eax, @function
pkru_eax:
    mov $5, %eax
    xor %ecx, %ecx
    rdpkru
    xor %esi, %esi
    jmp 2f
1:  add $1, %rsi
2:  cmp %rax, %rsi
    jb 1b
    ret
    .size pkru_eax, .-pkru_eax

    .section .note.GNU-stack, "", @progbits
