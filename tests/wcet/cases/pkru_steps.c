/*
 * pkru_steps.c - the main of the pkru case (pkru.S): with --step, counts the
 * instructions each executable function of pkru.S runs, by single-stepping a
 * child with ptrace, and prints "pkru-steps: NAME COUNT" per function.
 * scripts/test-pku-qemu.sh runs it on an emulated CPU with protection keys and
 * compares each count with keel-wcet's bound of the same function, which must
 * be equal. Without --step, or on a CPU without OSPKE, it runs nothing of
 * pkru.S (RDPKRU would raise SIGILL) and says so.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

void pkru_keep(void);
void pkru_clears_edx(void);
void pkru_write(void);

static const struct {
    const char *name;
    void (*fn)(void);
} functions[] = {
    {"pkru_keep", pkru_keep}, {"pkru_clears_edx", pkru_clears_edx}, {"pkru_write", pkru_write}};
enum { FUNCTIONS = sizeof functions / sizeof functions[0] };

static int has_ospke(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (c & (1u << 4)) != 0;
}

/* Counts the instructions from the entry of `fn` to its return, inclusive. */
static int step_one(pid_t pid, uint64_t entry, uint64_t *count) {
    int status;
    struct user_regs_struct regs;
    for (;;) { /* run to the entry */
        if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0 || waitpid(pid, &status, 0) != pid ||
            !WIFSTOPPED(status) || ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0) {
            return -1;
        }
        if (regs.rip == entry) {
            break;
        }
    }
    uint64_t back = (uint64_t)ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)regs.rsp, NULL);
    uint64_t n = 0;
    do {
        if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) != 0 || waitpid(pid, &status, 0) != pid ||
            !WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP ||
            ptrace(PTRACE_GETREGS, pid, NULL, &regs) != 0) {
            return -1;
        }
        n++;
    } while (regs.rip != back);
    *count = n;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--step") != 0) {
        printf("pkru: the functions of pkru.S are for keel-wcet; --step counts them (needs pku)\n");
        return 0;
    }
    if (!has_ospke()) {
        printf("pkru-steps: this CPU has no protection keys (OSPKE): nothing counted\n");
        return 2;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
            _exit(3);
        }
        raise(SIGSTOP);
        for (unsigned i = 0; i < FUNCTIONS; i++) {
            functions[i].fn();
        }
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
        fprintf(stderr, "pkru-steps: the child did not stop\n");
        return 1;
    }
    for (unsigned i = 0; i < FUNCTIONS; i++) {
        uint64_t n;
        if (step_one(pid, (uint64_t)(uintptr_t)functions[i].fn, &n) != 0) {
            fprintf(stderr, "pkru-steps: stepping %s failed\n", functions[i].name);
            kill(pid, SIGKILL);
            return 1;
        }
        printf("pkru-steps: %s %llu\n", functions[i].name, (unsigned long long)n);
    }
    ptrace(PTRACE_CONT, pid, NULL, NULL);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pkru-steps: the child failed (status %d)\n", status);
        return 1;
    }
    return 0;
}
