/*
 * stale_flags.S - a compare whose operand is overwritten before the flags are
 * used. The branch says nothing about the new value: a loop counting to it is
 * unbounded. Refining the overwritten location by the old compare would bound
 * each loop at 9 passes while f(5, 1000) runs 1000.
 */
    .text

/* edi < 10 is tested, then edi takes esi: the loop runs esi times. */
    .globl reg_overwritten
    .type reg_overwritten, @function
reg_overwritten:
    cmp $10, %edi
    mov %esi, %edi
    jae 2f
    xor %eax, %eax
1:  inc %eax
    cmp %edi, %eax
    jb 1b
2:  ret
    .size reg_overwritten, .-reg_overwritten

/* The same with a stack slot: the store replaces the compared value. */
    .globl slot_overwritten
    .type slot_overwritten, @function
slot_overwritten:
    mov %edi, -4(%rsp)
    cmpl $10, -4(%rsp)
    mov %esi, -4(%rsp)
    jae 2f
    xor %eax, %eax
1:  inc %eax
    cmp -4(%rsp), %eax
    jb 1b
2:  ret
    .size slot_overwritten, .-slot_overwritten

/* Another register is written between: edi < 10 still holds, so at most 9
 * passes (edi = 9): 3 + 1 + 9 x 3 + 1 = 32 instructions. */
    .globl other_register
    .type other_register, @function
other_register:
    cmp $10, %edi
    mov %esi, %edx
    jae 2f
    xor %eax, %eax
1:  inc %eax
    cmp %edi, %eax
    jb 1b
2:  ret
    .size other_register, .-other_register

    .globl main
    .type main, @function
main:
    mov $5, %edi
    mov $1000, %esi
    call reg_overwritten
    mov $5, %edi
    mov $1000, %esi
    call slot_overwritten
    mov $5, %edi
    mov $1000, %esi
    call other_register
    xor %eax, %eax
    ret
    .size main, .-main
    .section .note.GNU-stack, "", @progbits
