/*
 * strict_instructions.c - instructions per protected call into a plain domain
 * and into a strict domain in each of its modes (mprotect, protection key),
 * counted by single-stepping with ptrace: no performance counters needed, and
 * meaningful under an emulator (QEMU TCG), where cycle timings are not. That is
 * what it is for: the protection-key mode can only run there on machines whose
 * CPU lacks `pku` (scripts/test-pku-qemu.sh runs it).
 *
 * The child sets everything up, stops itself, then makes each call between two
 * marker calls; the parent single-steps it and counts the instructions between
 * the markers. Only user-space instructions are seen: a system call counts as
 * one (the mprotect mode makes two per call, whose kernel work is not counted),
 * WRPKRU as one.
 *
 * Usage: bench_strict_instructions   (prints a table; exit 1 on an error)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keel/domain.h"

#define NOINLINE __attribute__((noinline))

enum { KIND_PLAIN, KIND_MPROTECT, KIND_PKEY, KINDS, KIND_EMPTY = KINDS, ROUNDS = 4 };
static const char *const kind_names[KINDS] = {"plain domain", "strict, mprotect",
                                              "strict, protection key"};

/* The markers the parent watches for; their argument is the kind. */
NOINLINE void strict_instr_begin(int kind);
NOINLINE void strict_instr_end(int kind);
NOINLINE void strict_instr_begin(int kind) {
    __asm__ volatile("" : : "r"(kind) : "memory");
}
NOINLINE void strict_instr_end(int kind) {
    __asm__ volatile("" : : "r"(kind) : "memory");
}

static keel_status null_method(void *object, keel_call *call) {
    (void)object;
    (void)call;
    return KEEL_OK;
}
static const keel_method methods[1] = {null_method};
static const keel_interface interface = {"null", 1, methods};

static keel_status init(keel_domain *d, void *context) {
    static char object;
    return keel_domain_export(d, &object, &interface, context);
}

static keel_domain *make(bool strict, keel_rref *rref) {
    keel_domain_config config = {.name = "null",
                                 .heap_size = 16 * 1024,
                                 .table_capacity = 1,
                                 .init = init,
                                 .context = rref,
                                 .strict = strict};
    keel_domain *d = NULL;
    return keel_domain_create(&config, &d) == KEEL_OK ? d : NULL;
}

/* The child: one rref per kind (none where the machine cannot give it). */
static void child(void) {
    if (keel_domain_system_init(1 << 16, 16) != KEEL_OK) {
        _exit(2);
    }
    keel_rref rrefs[KINDS];
    bool have[KINDS] = {false};
    have[KIND_PLAIN] = make(false, &rrefs[KIND_PLAIN]) != NULL;
    /* Strict domains take keys while there are some: the first is keyed if the
     * machine has keys, and the rest (up to 16) use them up. */
    for (int i = 0; i < 17 && !have[KIND_MPROTECT]; i++) {
        keel_rref r;
        keel_domain *d = make(true, &r);
        if (d == NULL) {
            _exit(3);
        }
        keel_strict_mode mode = keel_domain_strict_mode(d);
        int kind = mode == KEEL_STRICT_PKEY ? KIND_PKEY : KIND_MPROTECT;
        if (!have[kind]) {
            have[kind] = true;
            rrefs[kind] = r;
        }
    }
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
        _exit(4);
    }
    raise(SIGSTOP);
    for (int round = 0; round < ROUNDS; round++) {
        /* The markers alone, subtracted from the others. */
        strict_instr_begin(KIND_EMPTY);
        strict_instr_end(KIND_EMPTY);
        for (int k = 0; k < KINDS; k++) {
            if (!have[k]) {
                continue;
            }
            strict_instr_begin(k);
            keel_status status = keel_rref_call(rrefs[k], 0, NULL, NULL);
            strict_instr_end(k);
            if (status != KEEL_OK) {
                _exit(5);
            }
        }
    }
    _exit(0);
}

int main(void) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        child();
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
        fprintf(stderr, "strict_instructions: the child did not stop (status %d)\n", status);
        return 1;
    }
    uint64_t begin = (uint64_t)(uintptr_t)strict_instr_begin;
    uint64_t end = (uint64_t)(uintptr_t)strict_instr_end;
    uint64_t counts[KINDS + 1][ROUNDS];
    unsigned rounds[KINDS + 1] = {0};
    int counting = -1;
    uint64_t n = 0;
    for (;;) {
        if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0) {
            perror("ptrace");
            return 1;
        }
        if (waitpid(pid, &status, 0) != pid) {
            perror("waitpid");
            return 1;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            break;
        }
        struct user_regs_struct regs;
        if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0) {
            perror("ptrace");
            return 1;
        }
        if (regs.rip == begin) {
            counting = (int)regs.rdi;
            n = 0;
        } else if (regs.rip == end && counting >= 0 && counting <= KIND_EMPTY) {
            /* From the instruction after begin's `ret` to the call of end. */
            if (rounds[counting] < ROUNDS) {
                counts[counting][rounds[counting]++] = n;
            }
            counting = -1;
        } else if (counting >= 0) {
            n++;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "strict_instructions: the child failed (status %d)\n", status);
        return 1;
    }
    if (rounds[KIND_EMPTY] == 0) {
        fprintf(stderr, "strict_instructions: no marker seen\n");
        return 1;
    }
    uint64_t markers = counts[KIND_EMPTY][rounds[KIND_EMPTY] - 1];
    printf("Instructions per keel_rref_call of a null method (user space, single-stepped; a system "
           "call counts as 1;\nthe last of %d calls, the first being cold; the markers' own %llu "
           "subtracted):\n",
           ROUNDS, (unsigned long long)markers);
    for (int k = 0; k < KINDS; k++) {
        if (rounds[k] == 0) {
            printf("  %-24s %8s   (this machine has no protection keys)\n", kind_names[k], "n/a");
            continue;
        }
        printf("  %-24s %8llu", kind_names[k],
               (unsigned long long)(counts[k][rounds[k] - 1] - markers));
        if (k == KIND_MPROTECT) {
            printf("   plus the kernel's work in 2 mprotect calls");
        } else if (k == KIND_PKEY) {
            printf("   2 WRPKRU, no system call");
        }
        printf("\n");
    }
    return 0;
}
