/*
 * instr_count.h - exact instruction counts per call, by ptrace, without
 * hardware performance counters.
 *
 * The program forks; the child runs a replay body and the parent, its tracer,
 * puts an int3 at the entry of each target function. Since the child is a fork
 * of the same process, every function is at the same address in both. At each
 * hit the parent counts the instructions the child executes until the call
 * returns (the stack pointer rises above its value at entry, i.e. past the
 * `ret`), callees included, then puts the breakpoint back.
 *
 * Two ways to count, giving the same numbers:
 *   - single-step: PTRACE_SINGLESTEP per instruction (the textbook method);
 *   - blocks (default): the code of the objects holding the targets is decoded
 *     once into basic blocks with objdump (disasm.h), and the child is stopped
 *     once per block, by int3s at the block's possible successors, adding the
 *     block's instruction count; whatever the decoder does not understand is
 *     single-stepped.
 * Blocks exist because single-stepping is slow in a VM: on the 2-core VM this
 * was written on, a trap-flag (#DB) step cost ~22 us (~25 us through ptrace),
 * a breakpoint stop through ptrace ~7 us. A call of ~130 instructions in ~20
 * blocks is thus counted ~20x faster. Both ways give identical counts (main.c
 * checks it with --verify-ops).
 *
 * The child tells which part of its work it is in by calling instr_mark(n)
 * (n < INSTR_PHASES_MAX); counts are kept per phase and per target.
 * Linux x86-64 only.
 */
#ifndef BENCH_ALLOC_INSTR_COUNT_H
#define BENCH_ALLOC_INSTR_COUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

#define INSTR_TARGETS_MAX 8
#define INSTR_PHASES_MAX  8
#define INSTR_PATH_MAX    512

typedef struct instr_target {
    const char *symbol; /* its name in the file it was loaded from */
    const void *entry;  /* its address in this process */
} instr_target;

/* The call with the most instructions, for one phase and target. */
typedef struct instr_worst {
    uint64_t instructions;
    uint64_t call;         /* 0-based index among the target's calls in this phase */
    uint64_t arguments[2]; /* rdi and rsi at entry */
} instr_worst;

typedef struct instr_result {
    hist per_call[INSTR_PHASES_MAX][INSTR_TARGETS_MAX]; /* instructions per call */
    instr_worst worst[INSTR_PHASES_MAX][INSTR_TARGETS_MAX];
    uint64_t total[INSTR_TARGETS_MAX]; /* sum over all calls, every phase */
    /* Block starts (or, single-stepping, instruction addresses) of each
     * target's worst call over all phases, as offsets from its entry. */
    uint32_t worst_path[INSTR_TARGETS_MAX][INSTR_PATH_MAX];
    size_t worst_path_length[INSTR_TARGETS_MAX];
    uint16_t *sequence; /* if asked: every call's count, in call order */
    size_t sequence_length;
    size_t sequence_cap;
    bool blocks;    /* counted by blocks (else by single steps) */
    char how[256];  /* blocks, or why single-stepping */
    uint64_t stops; /* times the child stopped for the tracer */
    double seconds;
} instr_result;

typedef struct instr_options {
    bool single_step;    /* count by single-stepping only */
    size_t sequence_cap; /* keep up to this many per-call counts in order (0: none) */
    int cpu;             /* run tracer and child on this CPU (-1: leave as is) */
} instr_options;

/*
 * instr_count: runs body(arg) in a traced child and counts the instructions of
 * every call to each of the targets (at most INSTR_TARGETS_MAX).
 * Returns 0, or -1 with a reason in err: ptrace refused, the child crashed or
 * exited with a non-zero status (body's way of reporting a failed replay).
 * out must be released with instr_result_release, success or not.
 */
int instr_count(const instr_target targets[], size_t target_count, void (*body)(void *), void *arg,
                const instr_options *options, instr_result *out, char *err, size_t errlen);

/* instr_result_release: frees what instr_count allocated in *r. */
void instr_result_release(instr_result *r);

/* instr_mark: called by the child: what follows belongs to `phase`. A no-op
 * when not traced. */
void instr_mark(unsigned phase);

#endif /* BENCH_ALLOC_INSTR_COUNT_H */
