/*
 * callgrind.c - running callgrind on a replay and reading its output
 * (callgrind.h).
 *
 * The output file is read per function: "fn=(id) name" starts a function (the
 * id alone refers back to it later), and every cost line ("<position> <Ir>")
 * that follows is its own (self) cost, except the line after "calls=", which
 * is the inclusive cost of a call it made. A function's inclusive cost is its
 * self cost plus those. Calls include tail jumps into another function: at -O2
 * keel_heap_free ends with `jmp release_block`, which callgrind files as a call.
 * The self costs of all functions must add up to the file's "totals:" line,
 * which is checked.
 */
#include "callgrind.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FUNCTIONS_MAX 8
#define NAMES_MAX     4096

static int run(char *const argv[], const char *log, char *err, size_t errlen) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork failed");
        return -1;
    }
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_TRUNC);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        snprintf(err, errlen,
                 code == 127 ? "valgrind not found" : "valgrind run failed (status %d, see %s)",
                 code, log);
        return -1;
    }
    return 0;
}

/* Which of the functions `name` is, or -1. */
static int which(const char *name, const char *const functions[], size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(name, functions[i]) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int parse(FILE *f, const char *const functions[], size_t n, uint64_t totals[], char *err,
                 size_t errlen) {
    static int id_to_function[NAMES_MAX];
    for (size_t i = 0; i < NAMES_MAX; i++) {
        id_to_function[i] = -1;
    }
    char line[4096];
    int current = -1;       /* the function costs go to (-1: none of ours) */
    bool call_cost = false; /* the next cost line is a call's inclusive cost */
    uint64_t all = 0, file_total = 0;
    bool have_total = false;
    while (fgets(line, sizeof line, f) != NULL) {
        bool is_fn = strncmp(line, "fn=", 3) == 0, is_cfn = strncmp(line, "cfn=", 4) == 0;
        if (is_fn || is_cfn) { /* cfn= may be the first to name an id */
            char *p = line + (is_fn ? 3 : 4), *name = p;
            long id = -1;
            if (*p == '(') {
                id = strtol(p + 1, &name, 10);
                name = strchr(name, ')');
                name = name != NULL ? name + 1 : p;
                while (*name == ' ') {
                    name++;
                }
            }
            name[strcspn(name, "\n")] = '\0';
            int function = -1;
            if (*name != '\0') {
                function = which(name, functions, n);
                if (id >= 0 && id < NAMES_MAX) {
                    id_to_function[id] = function;
                }
            } else if (id >= 0 && id < NAMES_MAX) {
                function = id_to_function[id];
            }
            if (is_fn) {
                current = function;
            }
            continue;
        }
        if (strncmp(line, "calls=", 6) == 0) {
            call_cost = true;
            continue;
        }
        if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0) {
            file_total = strtoull(strchr(line, ':') + 1, NULL, 10);
            have_total = true;
            continue;
        }
        bool cost =
            isdigit((unsigned char)line[0]) || line[0] == '+' || line[0] == '-' || line[0] == '*';
        if (!cost) {
            continue;
        }
        /* "<position> <Ir>": the last number on the line */
        char *last = strrchr(line, ' ');
        uint64_t ir = last != NULL ? strtoull(last + 1, NULL, 10) : 0;
        if (!call_cost) {
            all += ir;
        }
        call_cost = false;
        if (current >= 0) {
            totals[current] += ir;
        }
    }
    if (!have_total || all != file_total) {
        snprintf(err, errlen, "callgrind output not understood (costs %llu, totals %llu)",
                 (unsigned long long)all, (unsigned long long)file_total);
        return -1;
    }
    return 0;
}

int callgrind_count(char *const command[], const char *const functions[], size_t n,
                    uint64_t totals[], char *err, size_t errlen) {
    char out[] = "/tmp/bench_alloc_callgrind_XXXXXX";
    char log[] = "/tmp/bench_alloc_valgrind_log_XXXXXX";
    int out_fd = mkstemp(out), log_fd = mkstemp(log);
    if (out_fd < 0 || log_fd < 0 || n > FUNCTIONS_MAX) {
        snprintf(err, errlen, "cannot create temporary files");
        return -1;
    }
    close(out_fd);
    close(log_fd);
    char out_option[64];
    snprintf(out_option, sizeof out_option, "--callgrind-out-file=%s", out);
    char toggles[FUNCTIONS_MAX][128];
    char *argv[64];
    size_t argc = 0;
    argv[argc++] = "valgrind";
    argv[argc++] = "--tool=callgrind";
    argv[argc++] = out_option;
    argv[argc++] = "--collect-atstart=no";
    for (size_t i = 0; i < n; i++) {
        snprintf(toggles[i], sizeof toggles[i], "--toggle-collect=%s", functions[i]);
        argv[argc++] = toggles[i];
        totals[i] = 0;
    }
    for (size_t i = 0; command[i] != NULL && argc < 63; i++) {
        argv[argc++] = command[i];
    }
    argv[argc] = NULL;
    int result = run(argv, log, err, errlen);
    if (result == 0) {
        FILE *f = fopen(out, "r");
        result = f != NULL ? parse(f, functions, n, totals, err, errlen) : -1;
        if (f == NULL) {
            snprintf(err, errlen, "callgrind wrote no output");
        } else {
            fclose(f);
        }
    }
    unlink(out);
    if (result == 0 || strstr(err, "not found") != NULL) {
        unlink(log); /* kept only when it can tell what went wrong */
    }
    return result;
}
