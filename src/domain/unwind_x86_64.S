/*
 * unwind_x86_64.S - the unwind points of calls into domains (internal.h).
 *
 * keel_unwind_call_(object, call, fn, frame) records in the frame's env (its
 * first bytes) the callee-saved registers of the System V AMD64 ABI (rbx, rbp,
 * r12-r15), the stack pointer its caller will have after it returns, and its
 * return address, then calls fn(object, call) (its arguments come first, so
 * they are in place) and returns what fn returns. keel_unwind_jump_(env, status)
 * restores them and resumes at that return address with `status` in eax: to
 * its caller, keel_unwind_call_ has returned `status`, an ordinary return of
 * an ordinary call (the callee-saved registers hold what they held at the
 * call, the stack pointer is the caller's), so the caller needs no
 * returns_twice and keeps its values in registers across it.
 *
 * keel_unwind_save_(env) records the same and returns 0; a jump to it returns
 * a second time, with `status` (never 0). Callers declare it returns_twice,
 * so the compiler keeps across it only what setjmp would let it keep.
 *
 * Not done, unlike glibc's sigsetjmp: pointer mangling (the buffer sits in the
 * calling thread's stack frame, beside return addresses that are not mangled
 * either) and signal masks (keel's fault handler blocks nothing). Built only
 * where internal.h selects it: x86-64 without a CET shadow stack.
 */
#if defined(__x86_64__) && !defined(KEEL_PORTABLE_UNWIND) && !(defined(__CET__) && (__CET__ & 2))

#if defined(__CET__) && (__CET__ & 1)
#define BRANCH_TARGET endbr64
#else
#define BRANCH_TARGET
#endif

/* The unwind point, into the env at \env (keel_unwind_jump_ reads the same
 * layout): the callee-saved registers, then the stack pointer the caller of
 * the enclosing function will have after it returns, then its return address.
 * Must run first thing in a function (the return address at (%rsp)); \scratch
 * is a caller-saved register it may clobber. */
.macro SAVE_POINT env, scratch
    movq %rbx, 0(\env)
    movq %rbp, 8(\env)
    movq %r12, 16(\env)
    movq %r13, 24(\env)
    movq %r14, 32(\env)
    movq %r15, 40(\env)
    leaq 8(%rsp), \scratch
    movq \scratch, 48(\env)
    movq (%rsp), \scratch
    movq \scratch, 56(\env)
.endm

    .text
    .globl keel_unwind_call_
    .hidden keel_unwind_call_
    .type keel_unwind_call_, @function
    .p2align 4
keel_unwind_call_:
    .cfi_startproc
    BRANCH_TARGET
    SAVE_POINT %rcx, %rax   /* rdi and rsi are fn's arguments already */
    subq $8, %rsp           /* the callee's stack aligned as at any call */
    .cfi_adjust_cfa_offset 8
    callq *%rdx
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    ret
    .cfi_endproc
    .size keel_unwind_call_, .-keel_unwind_call_

    .globl keel_unwind_save_
    .hidden keel_unwind_save_
    .type keel_unwind_save_, @function
    .p2align 4
keel_unwind_save_:
    .cfi_startproc
    BRANCH_TARGET
    SAVE_POINT %rdi, %rdx
    xorl %eax, %eax
    ret
    .cfi_endproc
    .size keel_unwind_save_, .-keel_unwind_save_

    .globl keel_unwind_jump_
    .hidden keel_unwind_jump_
    .type keel_unwind_jump_, @function
    .p2align 4
keel_unwind_jump_:
    .cfi_startproc
    BRANCH_TARGET
    movq 0(%rdi), %rbx
    movq 8(%rdi), %rbp
    movq 16(%rdi), %r12
    movq 24(%rdi), %r13
    movq 32(%rdi), %r14
    movq 40(%rdi), %r15
    movq 48(%rdi), %rsp
    movl %esi, %eax
    jmpq *56(%rdi)
    .cfi_endproc
    .size keel_unwind_jump_, .-keel_unwind_jump_

#endif

    .section .note.GNU-stack, "", @progbits
