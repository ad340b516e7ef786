/*
 * unwind_x86_64.S - the unwind point of a call into a domain (internal.h).
 *
 * keel_unwind_save_(env) records the callee-saved registers of the System V
 * AMD64 ABI (rbx, rbp, r12-r15), the stack pointer its caller will have after
 * it returns, and its return address, then returns 0. keel_unwind_jump_(env)
 * restores them and resumes at that return address with 1 in eax: the save
 * returns a second time. Callers declare the save returns_twice, so the
 * compiler keeps across it only what setjmp would let it keep.
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

    .text
    .globl keel_unwind_save_
    .hidden keel_unwind_save_
    .type keel_unwind_save_, @function
    .p2align 4
keel_unwind_save_:
    .cfi_startproc
    BRANCH_TARGET
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    leaq 8(%rsp), %rdx      /* the caller's stack pointer after the return */
    movq %rdx, 48(%rdi)
    movq (%rsp), %rdx       /* the return address */
    movq %rdx, 56(%rdi)
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
    movl $1, %eax
    jmpq *56(%rdi)
    .cfi_endproc
    .size keel_unwind_jump_, .-keel_unwind_jump_

#endif

    .section .note.GNU-stack, "", @progbits
