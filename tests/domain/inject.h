/*
 * inject.h - faults the domain tests inject on purpose.
 *
 * A division by zero in C is undefined behaviour, which the sanitizers report
 * before the CPU can fault; this one is an idiv instruction, a real SIGFPE in
 * every build.
 */
#ifndef KEEL_TEST_INJECT_H
#define KEEL_TEST_INJECT_H

static inline int divide_by_zero(void) {
    int quotient;
    __asm__ volatile("xorl %%ecx, %%ecx\n\tmovl $7, %%eax\n\tcltd\n\tidivl %%ecx"
                     : "=a"(quotient)
                     :
                     : "ecx", "edx");
    return quotient;
}

#endif /* KEEL_TEST_INJECT_H */
