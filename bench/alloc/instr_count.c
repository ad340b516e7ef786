/*
 * instr_count.c - the ptrace instruction counter (instr_count.h).
 *
 * Breakpoint bytes are written through /proc/<pid>/mem, one byte at a time, and
 * the original byte of every address ever patched is kept in a small table, so
 * two breakpoints in the same word never clobber each other. While a call is
 * being counted the entry breakpoints are all lifted: a nested call to another
 * target is counted as part of the outer call (inclusive, like callgrind's
 * inclusive cost) and not on its own.
 *
 * Threads. Only the child's first thread is measured, but every thread of it
 * is traced (PTRACE_O_TRACECLONE): the breakpoints are in code all threads
 * share, and an untraced thread that ran into one would die of SIGTRAP. A
 * helper thread stopped at an entry breakpoint is stepped over it, uncounted:
 * the first thread is stopped first (SIGSTOP, suppressed when it is reported),
 * the entry's byte restored, the helper single-stepped once, the breakpoint
 * put back, and both resumed, so the first thread can never run through an
 * entry unseen. A helper stopped at a block breakpoint while a call is
 * counted is stepped over it the same way, so a counted call that waits for a
 * helper finishes; one stopped at a breakpoint that is gone by the time its
 * stop is handled re-executes the original instruction. So every run counts
 * the same calls of the first thread, whatever the threads' timing.
 */
#include "instr_count.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "disasm.h"

/* A call longer than this is taken for a runaway (the targets are O(1)). */
#define CALL_LIMIT  1000000u
#define PATCH_SLOTS 4096u /* addresses ever patched; a power of two */
#define INT3        0xCC

__attribute__((noinline)) void instr_mark(unsigned phase) {
    __asm__ volatile("" : : "r"(phase) : "memory"); /* keep the call and the argument */
}

typedef struct patch {
    uintptr_t address; /* 0: slot unused */
    uint8_t original;
} patch;

typedef struct tracer {
    pid_t pid; /* the child, and its first thread: the one measured */
    int mem;
    patch patches[PATCH_SLOTS];
    disasm_code code;
    bool blocks;
    struct user_regs_struct regs;
    bool regs_dirty;                          /* regs changed here, not yet written to the child */
    uintptr_t entries[INSTR_TARGETS_MAX + 1]; /* the targets, then instr_mark */
    size_t entry_count;
    uint64_t stops;
    uint64_t worst_overall[INSTR_TARGETS_MAX];
    uint32_t path[INSTR_PATH_MAX];
    size_t path_length;
    char *err;
    size_t errlen;
} tracer;

/* ---- memory and registers of the child ---- */

static int original_byte(tracer *t, uintptr_t address, uint8_t *out) {
    size_t i = (address * 0x9e3779b97f4a7c15u) >> 52 & (PATCH_SLOTS - 1);
    for (size_t probe = 0; probe < PATCH_SLOTS; probe++, i = (i + 1) & (PATCH_SLOTS - 1)) {
        if (t->patches[i].address == address) {
            *out = t->patches[i].original;
            return 0;
        }
        if (t->patches[i].address == 0) { /* first time: the byte is not patched yet */
            if (pread(t->mem, out, 1, (off_t)address) != 1) {
                return -1;
            }
            t->patches[i] = (patch){.address = address, .original = *out};
            return 0;
        }
    }
    return -1;
}

static int write_byte(tracer *t, uintptr_t address, uint8_t byte) {
    if (pwrite(t->mem, &byte, 1, (off_t)address) != 1) {
        snprintf(t->err, t->errlen, "cannot patch the child at %#lx: %s", (unsigned long)address,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int set_breakpoint(tracer *t, uintptr_t address) {
    uint8_t original;
    if (original_byte(t, address, &original) != 0) {
        snprintf(t->err, t->errlen, "cannot read the child at %#lx", (unsigned long)address);
        return -1;
    }
    return write_byte(t, address, INT3);
}

static int clear_breakpoint(tracer *t, uintptr_t address) {
    uint8_t original;
    if (original_byte(t, address, &original) != 0) {
        return -1;
    }
    return write_byte(t, address, original);
}

static int set_entries(tracer *t, bool on) {
    for (size_t i = 0; i < t->entry_count; i++) {
        if ((on ? set_breakpoint(t, t->entries[i]) : clear_breakpoint(t, t->entries[i])) != 0) {
            return -1;
        }
    }
    return 0;
}

static int load_regs(tracer *t) {
    if (ptrace(PTRACE_GETREGS, t->pid, NULL, &t->regs) != 0) {
        snprintf(t->err, t->errlen, "PTRACE_GETREGS: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- running the child ---- */

static bool is_entry(const tracer *t, uintptr_t address) {
    for (size_t i = 0; i < t->entry_count; i++) {
        if (t->entries[i] == address) {
            return true;
        }
    }
    return false;
}

static bool fatal_signal(int sig) {
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT;
}

/* A breakpoint stop without a ptrace event (a clone event is SIGTRAP too). */
static bool breakpoint_stop(int status) {
    return WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP && (status >> 16) == 0;
}

/* Whether `address` holds a breakpoint now (a patched byte that is INT3). */
static bool breakpoint_at(tracer *t, uintptr_t address) {
    uint8_t byte;
    return pread(t->mem, &byte, 1, (off_t)address) == 1 && byte == INT3;
}

static int wait_for(tracer *t, pid_t tid, int *status) {
    for (;;) {
        pid_t got = waitpid(tid, status, __WALL);
        if (got >= 0) {
            t->stops++;
            return (int)got;
        }
        if (errno != EINTR) {
            snprintf(t->err, t->errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
}

/* Stops the first thread (SIGSTOP) and waits for it: *status is the stop
 * reported, which may be another one that came first (the SIGSTOP is then
 * still pending, and suppressed when it is reported). */
static int hold_first(tracer *t, int *status) {
    if (tgkill(t->pid, t->pid, SIGSTOP) != 0) {
        snprintf(t->err, t->errlen, "tgkill: %s", strerror(errno));
        return -1;
    }
    return wait_for(t, t->pid, status) < 0 ? -1 : 0;
}

/* Runs a helper thread's original instruction at the breakpoint at `hit` (the
 * first thread held, so it cannot pass the lifted breakpoint unseen), puts
 * the breakpoint back and resumes the helper. */
static int step_over(tracer *t, pid_t helper, uintptr_t hit) {
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, helper, NULL, &regs) != 0) {
        snprintf(t->err, t->errlen, "PTRACE_GETREGS (helper thread): %s", strerror(errno));
        return -1;
    }
    regs.rip = hit;
    if (ptrace(PTRACE_SETREGS, helper, NULL, &regs) != 0 || clear_breakpoint(t, hit) != 0) {
        snprintf(t->err, t->errlen, "cannot step a helper thread over %#lx", (unsigned long)hit);
        return -1;
    }
    for (;;) { /* one instruction (a signal stop first is suppressed) */
        int status;
        if (ptrace(PTRACE_SINGLESTEP, helper, NULL, NULL) != 0 ||
            wait_for(t, helper, &status) < 0) {
            snprintf(t->err, t->errlen, "cannot single-step a helper thread");
            return -1;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            return set_breakpoint(t, hit);
        }
        if (WSTOPSIG(status) == SIGTRAP) {
            break;
        }
        if (fatal_signal(WSTOPSIG(status))) {
            snprintf(t->err, t->errlen, "a helper thread died of signal %d", WSTOPSIG(status));
            return -1;
        }
    }
    if (set_breakpoint(t, hit) != 0 || ptrace(PTRACE_CONT, helper, NULL, NULL) != 0) {
        return -1;
    }
    return 0;
}

/* A helper thread's stop, the first thread running (counting a call, or on
 * its way to an entry). At a breakpoint still there (an entry, or a block
 * breakpoint of a counted call) the helper is stepped over it with the first
 * thread held: that thread's stop is then left in *first_status and
 * *first_held set, for the caller to handle as if it had just been reported.
 * A helper is never left stopped, so a counted call that waits for a helper (a
 * lock, a semaphore) finishes. At a breakpoint gone by now (lifted before its
 * stop was handled) it re-executes what was there. Anything else (its first
 * stop, a clone event, a signal, suppressed) is resumed; its exit is ignored. */
static int helper_stop(tracer *t, pid_t helper, int status, bool *first_held, int *first_status) {
    if (WIFEXITED(status)) {
        return 0;
    }
    if (WIFSIGNALED(status)) {
        /* killed with the process (the first thread's exit), or crashed */
        return fatal_signal(WTERMSIG(status)) || WTERMSIG(status) == SIGTRAP ? -1 : 0;
    }
    if (fatal_signal(WSTOPSIG(status))) {
        snprintf(t->err, t->errlen, "a helper thread of the replay died of signal %d",
                 WSTOPSIG(status));
        return -1;
    }
    if (breakpoint_stop(status)) {
        struct user_regs_struct regs;
        if (ptrace(PTRACE_GETREGS, helper, NULL, &regs) != 0) {
            snprintf(t->err, t->errlen, "PTRACE_GETREGS (helper thread): %s", strerror(errno));
            return -1;
        }
        uintptr_t hit = (uintptr_t)regs.rip - 1;
        if (breakpoint_at(t, hit)) {
            if (hold_first(t, first_status) != 0) {
                return -1;
            }
            *first_held = true;
            if (WIFEXITED(*first_status) || WIFSIGNALED(*first_status)) {
                return 0; /* the whole process is going: nothing to step over */
            }
            return step_over(t, helper, hit);
        }
        uint8_t original;
        if (original_byte(t, hit, &original) == 0 && original != INT3) {
            regs.rip = hit; /* a breakpoint since removed: run what was there */
            if (ptrace(PTRACE_SETREGS, helper, NULL, &regs) != 0) {
                return -1;
            }
        }
    }
    return ptrace(PTRACE_CONT, helper, NULL, NULL) == 0 ? 0 : -1;
}

/* Resumes the child (PTRACE_CONT or PTRACE_SINGLESTEP) until it traps again.
 * Returns 0 at a SIGTRAP stop (registers loaded), 1 if it exited, -1 on error.
 * Other non-fatal signals are swallowed: the replay does not use any. */
static int resume(tracer *t, enum __ptrace_request how, int *exit_status) {
    if (t->regs_dirty) {
        if (ptrace(PTRACE_SETREGS, t->pid, NULL, &t->regs) != 0) {
            snprintf(t->err, t->errlen, "PTRACE_SETREGS: %s", strerror(errno));
            return -1;
        }
        t->regs_dirty = false;
    }
    for (;;) {
        if (ptrace(how, t->pid, NULL, NULL) != 0) {
            snprintf(t->err, t->errlen, "ptrace resume: %s", strerror(errno));
            return -1;
        }
        int status, first_status = 0;
        bool first_held = false;
        for (;;) { /* helper threads run on meanwhile (the first may wait for them) */
            pid_t tid = (pid_t)wait_for(t, -1, &status);
            if (tid < 0) {
                return -1;
            }
            if (tid == t->pid) {
                break;
            }
            if (helper_stop(t, tid, status, &first_held, &first_status) != 0) {
                return -1;
            }
            if (first_held) { /* held to step a helper over: its stop, as reported */
                status = first_status;
                break;
            }
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return 1;
        }
        int sig = WSTOPSIG(status);
        if (breakpoint_stop(status)) {
            return load_regs(t);
        }
        if (fatal_signal(sig)) {
            load_regs(t);
            snprintf(t->err, t->errlen, "the traced replay died of signal %d at %#llx", sig,
                     t->regs.rip);
            return -1;
        }
    }
}

/* Runs the child until it reaches one of the n addresses (breakpoints there),
 * leaving it stopped at that address. */
static int run_to(tracer *t, const uintptr_t *addresses, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (set_breakpoint(t, addresses[i]) != 0) {
            return -1;
        }
    }
    int exit_status;
    int r = resume(t, PTRACE_CONT, &exit_status);
    if (r != 0) {
        if (r == 1) {
            snprintf(t->err, t->errlen, "the child exited inside a counted call");
        }
        return -1;
    }
    uintptr_t hit = (uintptr_t)t->regs.rip - 1;
    bool expected = false;
    for (size_t i = 0; i < n; i++) {
        expected = expected || addresses[i] == hit;
        if (clear_breakpoint(t, addresses[i]) != 0) {
            return -1;
        }
    }
    if (!expected) {
        snprintf(t->err, t->errlen, "unexpected trap at %#lx while counting", (unsigned long)hit);
        return -1;
    }
    t->regs.rip = hit;
    t->regs_dirty = true;
    return 0;
}

static int single_step(tracer *t) {
    int exit_status;
    int r = resume(t, PTRACE_SINGLESTEP, &exit_status);
    if (r == 1) {
        snprintf(t->err, t->errlen, "the child exited inside a counted call");
    }
    return r == 0 ? 0 : -1;
}

/* Emulates the `ret` the child is stopped at. */
static int emulate_ret(tracer *t) {
    errno = 0;
    long to = ptrace(PTRACE_PEEKDATA, t->pid, (void *)(uintptr_t)t->regs.rsp, NULL);
    if (errno != 0) {
        snprintf(t->err, t->errlen, "cannot read the return address: %s", strerror(errno));
        return -1;
    }
    t->regs.rip = (unsigned long long)to;
    t->regs.rsp += 8;
    t->regs_dirty = true;
    return 0;
}

/* Counts the call the child is stopped at the entry of (t->regs.rip), until it
 * returns. On success the child is stopped at the return address. */
static int count_call(tracer *t, uintptr_t entry, uint64_t *instructions) {
    const unsigned long long entry_sp = t->regs.rsp;
    uint64_t count = 0;
    t->path_length = 0;
    while (t->regs.rsp <= entry_sp) {
        if (count > CALL_LIMIT) {
            snprintf(t->err, t->errlen, "a call ran more than %u instructions", CALL_LIMIT);
            return -1;
        }
        uintptr_t pc = (uintptr_t)t->regs.rip;
        const disasm_block *b = t->blocks ? disasm_lookup(&t->code, pc) : NULL;
        if (t->path_length < INSTR_PATH_MAX && (b != NULL || !t->blocks)) {
            t->path[t->path_length++] = (uint32_t)(pc - entry);
        }
        int r = 0;
        if (b == NULL) {
            r = single_step(t);
            count++;
        } else if (b->kind == DISASM_FALL || b->kind == DISASM_JUMP) {
            uintptr_t to = b->kind == DISASM_FALL ? b->next : b->target;
            if (to == pc) {
                r = single_step(t);
                count++;
            } else {
                r = run_to(t, &to, 1);
                count += b->instructions;
            }
        } else if (b->kind == DISASM_BRANCH) {
            uintptr_t to[2] = {b->target, b->next};
            if (b->target == pc) { /* a one-block loop: step its first instruction */
                r = single_step(t);
                count++;
            } else {
                r = run_to(t, to, b->target == b->next ? 1 : 2);
                count += b->instructions;
            }
        } else { /* DISASM_RET or DISASM_STEP: run to the last instruction */
            if (b->instructions > 1) {
                r = run_to(t, &b->last, 1);
                count += b->instructions - 1;
            }
            if (r == 0 && b->kind == DISASM_RET) {
                r = emulate_ret(t);
            } else if (r == 0) {
                r = single_step(t);
            }
            count++;
        }
        if (r != 0) {
            return -1;
        }
    }
    *instructions = count;
    return 0;
}

/* ---- the tracing session ---- */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void record(instr_result *r, tracer *t, size_t target, unsigned phase, uint64_t call,
                   uint64_t n, const unsigned long long arguments[2]) {
    hist_add(&r->per_call[phase][target], n);
    r->total[target] += n;
    instr_worst *w = &r->worst[phase][target];
    if (n > w->instructions) {
        *w = (instr_worst){
            .instructions = n, .call = call, .arguments = {arguments[0], arguments[1]}};
    }
    if (n > t->worst_overall[target]) {
        t->worst_overall[target] = n;
        memcpy(r->worst_path[target], t->path, t->path_length * sizeof t->path[0]);
        r->worst_path_length[target] = t->path_length;
    }
    if (r->sequence != NULL && r->sequence_length < r->sequence_cap) {
        r->sequence[r->sequence_length++] = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
    }
}

/* The first thread's stop (status), where it is not running: 1 it exited
 * (exit status in *exit_status), 2 it is at an entry breakpoint (registers
 * loaded, rip still past the int3), 0 anything else to resume it from (a
 * clone event, a signal, which is suppressed), -1 an error. */
static int first_thread_stop(tracer *t, int status, int *exit_status) {
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return 1;
    }
    if (fatal_signal(WSTOPSIG(status))) {
        load_regs(t);
        snprintf(t->err, t->errlen, "the traced replay died of signal %d at %#llx",
                 WSTOPSIG(status), t->regs.rip);
        return -1;
    }
    if (!breakpoint_stop(status)) {
        return 0;
    }
    if (load_regs(t) != 0) {
        return -1;
    }
    uintptr_t hit = (uintptr_t)t->regs.rip - 1;
    if (!is_entry(t, hit)) {
        snprintf(t->err, t->errlen, "unexpected trap at %#lx", (unsigned long)hit);
        return -1;
    }
    return 2;
}

/* Runs the child until its first thread stops at an entry breakpoint (0,
 * registers loaded) or exits (1), handling every helper thread's stops on the
 * way; -1 on an error. */
static int run_to_entry(tracer *t, int *exit_status) {
    char first = 's';
    int first_status = 0;
    for (;;) {
        if (first == 'h' || first == 'x') {
            if (first == 'x') {
                *exit_status = first_status;
                return 1;
            }
            return 0;
        }
        if (first == 's') {
            if (t->regs_dirty) {
                if (ptrace(PTRACE_SETREGS, t->pid, NULL, &t->regs) != 0) {
                    snprintf(t->err, t->errlen, "PTRACE_SETREGS: %s", strerror(errno));
                    return -1;
                }
                t->regs_dirty = false;
            }
            if (ptrace(PTRACE_CONT, t->pid, NULL, NULL) != 0) {
                snprintf(t->err, t->errlen, "ptrace resume: %s", strerror(errno));
                return -1;
            }
            first = 'r';
        }
        int status;
        pid_t tid = (pid_t)wait_for(t, -1, &status);
        if (tid < 0) {
            return -1;
        }
        if (tid != t->pid) {
            bool held = false;
            int held_status = 0;
            if (helper_stop(t, tid, status, &held, &held_status) != 0) {
                if (t->err[0] == '\0') {
                    snprintf(t->err, t->errlen, "a helper thread of the replay failed");
                }
                return -1;
            }
            if (!held) {
                continue;
            }
            status = held_status; /* held to step the helper over: its stop, as reported */
        }
        int what = first_thread_stop(t, status, exit_status);
        if (what < 0) {
            return -1;
        }
        first = what == 2 ? 'h' : what == 1 ? 'x' : 's';
        first_status = what == 1 ? *exit_status : status;
    }
}

static int trace_child(tracer *t, size_t target_count, instr_result *r) {
    uint64_t calls[INSTR_PHASES_MAX][INSTR_TARGETS_MAX] = {{0}};
    unsigned phase = 0;
    if (set_entries(t, true) != 0) {
        return -1;
    }
    for (;;) {
        int exit_status = 0;
        int s = run_to_entry(t, &exit_status);
        if (s == 1) {
            if (exit_status != 0) {
                snprintf(t->err, t->errlen, "the traced replay failed (exit status %d)",
                         exit_status);
                return -1;
            }
            return 0;
        }
        if (s != 0) {
            return -1;
        }
        uintptr_t hit = (uintptr_t)t->regs.rip - 1;
        size_t k = 0;
        while (k < t->entry_count && t->entries[k] != hit) {
            k++;
        }
        if (k == t->entry_count) {
            snprintf(t->err, t->errlen, "unexpected trap at %#lx", (unsigned long)hit);
            return -1;
        }
        t->regs.rip = hit;
        t->regs_dirty = true;
        unsigned long long arguments[2] = {t->regs.rdi, t->regs.rsi};
        uint64_t n;
        if (set_entries(t, false) != 0 || count_call(t, hit, &n) != 0 ||
            set_entries(t, true) != 0) {
            return -1;
        }
        if (k == target_count) { /* instr_mark(phase) */
            phase = arguments[0] < INSTR_PHASES_MAX ? (unsigned)arguments[0] : INSTR_PHASES_MAX - 1;
            continue;
        }
        record(r, t, k, phase, calls[phase][k]++, n, arguments);
    }
}

int instr_count(const instr_target targets[], size_t target_count, void (*body)(void *), void *arg,
                const instr_options *options, instr_result *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    int status;
    tracer *t = calloc(1, sizeof *t);
    if (t == NULL || target_count > INSTR_TARGETS_MAX) {
        snprintf(err, errlen, "out of memory or too many targets");
        free(t);
        return -1;
    }
    t->err = err;
    t->errlen = errlen;
    if (errlen > 0) {
        err[0] = '\0';
    }
    t->mem = -1;
    int result = -1;
    for (unsigned p = 0; p < INSTR_PHASES_MAX; p++) {
        for (size_t k = 0; k < target_count; k++) {
            if (hist_init(&out->per_call[p][k], 0) != 0) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
        }
    }
    if (options->sequence_cap > 0) {
        out->sequence = malloc(options->sequence_cap * sizeof *out->sequence);
        out->sequence_cap = out->sequence != NULL ? options->sequence_cap : 0;
    }
    for (size_t k = 0; k < target_count; k++) {
        t->entries[k] = (uintptr_t)targets[k].entry;
    }
    t->entries[target_count] = (uintptr_t)instr_mark;
    t->entry_count = target_count + 1;

    /* Decode the targets, unless asked to single-step. */
    t->blocks = !options->single_step;
    snprintf(out->how, sizeof out->how, "%s",
             t->blocks ? "basic blocks (objdump), int3 per block" : "single-step (asked)");
    for (size_t k = 0; k <= target_count && t->blocks; k++) {
        const char *symbol = k < target_count ? targets[k].symbol : "instr_mark";
        char why[512];
        if (disasm_add_object(&t->code, (const void *)t->entries[k], why, sizeof why) != 0) {
            t->blocks = false;
            snprintf(out->how, sizeof out->how, "single-step (no blocks: %.200s)", why);
        } else if (disasm_lookup(&t->code, t->entries[k]) == NULL) {
            t->blocks = false;
            snprintf(out->how, sizeof out->how,
                     "single-step (objdump shows no function start at %s's entry)", symbol);
        }
    }
    out->blocks = t->blocks;

    if (options->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET((size_t)options->cpu, &set);
        sched_setaffinity(0, sizeof set, &set); /* the child inherits it */
    }
    fflush(NULL);
    double start = now_seconds();
    t->pid = fork();
    if (t->pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto out;
    }
    if (t->pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
            _exit(99);
        }
        raise(SIGSTOP);
        body(arg);
        _exit(0);
    }
    if (waitpid(t->pid, &status, __WALL) < 0 || !WIFSTOPPED(status)) {
        snprintf(err, errlen, "the child did not stop for tracing (ptrace not allowed here?)");
        goto out;
    }
    ptrace(PTRACE_SETOPTIONS, t->pid, NULL,
           (void *)(uintptr_t)(PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE));
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)t->pid);
    t->mem = open(path, O_RDWR);
    if (t->mem < 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        goto out;
    }
    result = trace_child(t, target_count, out);
    out->stops = t->stops;
    out->seconds = now_seconds() - start;
out:
    if (t->pid > 0 && result != 0) {
        kill(t->pid, SIGKILL);
        /* every traced thread is reaped before the first thread is reported */
        pid_t got;
        while ((got = waitpid(-1, &status, __WALL)) > 0 &&
               !(got == t->pid && (WIFEXITED(status) || WIFSIGNALED(status)))) {
        }
    }
    if (t->mem >= 0) {
        close(t->mem);
    }
    disasm_release(&t->code);
    free(t);
    return result;
}

void instr_result_release(instr_result *r) {
    for (unsigned p = 0; p < INSTR_PHASES_MAX; p++) {
        for (size_t k = 0; k < INSTR_TARGETS_MAX; k++) {
            if (r->per_call[p][k].bins != NULL) {
                hist_release(&r->per_call[p][k]);
            }
        }
    }
    free(r->sequence);
    r->sequence = NULL;
}
