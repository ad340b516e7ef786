/*
 * keel_wcet.h - keel-wcet: static worst-case execution bounds (executed
 * instructions) and stack bounds for x86-64 ELF binaries.
 *
 *     keel_wcet *w = keel_wcet_open("prog", &options, err, sizeof err);
 *     keel_wcet_result *r = keel_wcet_analyze(w, "function", err, sizeof err);
 *     keel_wcet_report_text(w, r, stdout);
 *     keel_wcet_close(w);
 *
 * A result belongs to its keel_wcet and lives until keel_wcet_close.
 * This library never links libkeel; libkeel never links it.
 *
 * Failures: a function that can fail returns NULL (or a count) and writes a
 * reason into err[0, errlen) (snprintf: truncated to fit; err may be NULL only
 * with errlen 0). Running out of memory is not a failure: the library prints
 * "keel-wcet: out of memory" and aborts. Pointer arguments must not be NULL
 * unless a comment says so.
 *
 * Thread safety: none. Each keel_wcet has its own capstone decoder, Z3
 * context and memo tables, but the CFG builder keeps a process-wide table of
 * the functions under construction (and GLPK's environment, with its terminal
 * hook, is process-wide unless GLPK was built thread-local), so calls into keel-wcet, even on distinct keel_wcet objects, must not run
 * concurrently: serialise them (one analysing thread at a time). A keel_wcet
 * and its results must never be shared between threads without that lock.
 */
#ifndef KEEL_WCET_H
#define KEEL_WCET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEEL_WCET_JSON_SCHEMA 1

typedef enum keel_wcet_status {
    KEEL_WCET_BOUNDED = 0,   /* a bound was proved (under the listed assumptions) */
    KEEL_WCET_UNBOUNDED = 1, /* some loop or recursion has no bound */
    KEEL_WCET_UNKNOWN = 2,   /* some code could not be analysed (indirect call, external) */
    KEEL_WCET_ERROR = 3      /* the analysis failed (decode error, solver failure) */
} keel_wcet_status;

#define KEEL_WCET_MAX_ASSUME 16

typedef struct keel_wcet_assume {
    char name[64];  /* parameter name, argN or register name (rdi, esi, ...) */
    int64_t lo, hi; /* inclusive */
} keel_wcet_assume;

typedef struct keel_wcet_options {
    const char *facts_path; /* flow-facts file or NULL */
    const char
        *optional_facts_path; /* facts that may match nothing (one file for several builds) */
    keel_wcet_assume assume[KEEL_WCET_MAX_ASSUME];
    int nassume;
    bool assume_lenient; /* an --assume that names no parameter of a function is skipped for it */
    const char *libs[4]; /* shared objects whose code gives the cost of external calls */
    int nlibs;
    bool no_smt;             /* skip the Z3 checks */
    int infeasible_rounds;   /* limit of the infeasible-path loop (default 16) */
    uint64_t smt_loop_limit; /* largest loop bound searched by Z3 (0: 256) */
    FILE *progress;          /* progress lines, or NULL */
} keel_wcet_options;

typedef struct keel_wcet keel_wcet;
typedef struct wc_fres keel_wcet_result;

/*
 * keel_wcet_open: reads the ELF file at `path` and prepares an analyzer for it
 * (options is copied; NULL means all defaults). The --lib shared objects are
 * opened later, at the first external call that needs them; one that cannot
 * be opened is skipped (said on `progress`). Returns NULL with a reason in err
 * if the file cannot be opened or read or is not a regular file, is not a
 * 64-bit x86-64 ELF executable or shared object, is corrupt, has no
 * executable code, if capstone cannot open a decoder, or if a facts file
 * cannot be read or holds a line it cannot parse. Time: about linear in the
 * binary's size (plus sorting its symbol and debug line tables, and a search
 * of the source-file names per debug line entry) and in the facts files. Not
 * thread-safe (see the top of this header).
 */
keel_wcet *keel_wcet_open(const char *path, const keel_wcet_options *options, char *err,
                          size_t errlen);
/* keel_wcet_open_mem: as keel_wcet_open, from an ELF image in memory (copied:
 * data may be freed on return), named "<memory>" in messages. Fails as
 * keel_wcet_open less the file errors. Same time bound, not thread-safe. */
keel_wcet *keel_wcet_open_mem(const void *data, size_t size, const keel_wcet_options *options,
                              char *err, size_t errlen);
/* keel_wcet_close: frees the analyzer, every result it gave, the --lib
 * analyzers it opened, and its Z3 context. Nothing for NULL. Linear in what
 * was analysed. Not thread-safe; no result may be used afterwards. */
void keel_wcet_close(keel_wcet *w);

/*
 * keel_wcet_analyze: analyses the function named `function`, or at address
 * "0x..." (stripped binaries), with the options' --assume ranges on its
 * parameters. Results are memoised per function and argument context: the
 * same request returns the same result. A result is returned whatever its
 * status (an unbounded or unknown bound is a result, not a failure). Returns
 * NULL with a reason in err if:
 *   - the function does not exist: no such symbol (or the binary is stripped
 *     and a name was given), or "0x..." that is not an address of executable
 *     code;
 *   - an --assume is bad: it names no parameter of the function (unless
 *     assume_lenient, which skips it for this function), its range is empty
 *     (lo > hi), or it does not fit a 32-bit parameter;
 *   - the function's code cannot be decoded into a CFG.
 * Time: not bounded by a formula in the binary's size; dominated by the ILP
 * and SMT solves, each bounded: one GLPK ILP per infeasible-path round (at
 * most infeasible_rounds, default 16, per function) limited to 60 s of wall
 * time, and each Z3 check by Z3's deterministic rlimit (4,000,000) with a
 * 20 s wall-time guard per question (no_smt skips Z3). Every callee reached in
 * a new argument context is analysed the same way, and so are functions of
 * the --lib objects. Not thread-safe (see the top of this header).
 */
keel_wcet_result *keel_wcet_analyze(keel_wcet *w, const char *function, char *err, size_t errlen);
/* keel_wcet_analyze_all: analyses every function symbol of the binary in
 * executable code, without --assume (for benchmarks), calling each(w, result,
 * arg) for each if `each` is not NULL; returns how many. Never fails: a
 * function that cannot be analysed gives a result of status KEEL_WCET_ERROR.
 * Time: keel_wcet_analyze's per function. Not thread-safe. */
int keel_wcet_analyze_all(keel_wcet *w, void (*each)(keel_wcet *, keel_wcet_result *, void *),
                          void *arg);
/* keel_wcet_unused_assumptions: after the analyses, the --assume ranges that
 * matched no parameter of any analysed function (each is an error with
 * assume_lenient); returns their count and, if `out` is not NULL, prints them
 * to it (write errors are ignored: check ferror(out)). O(assumptions). Not
 * thread-safe. */
int keel_wcet_unused_assumptions(keel_wcet *w, FILE *out);
/* keel_wcet_unused_facts: after the analyses, the annotations of the facts
 * file that matched nothing (each is an error; those of optional_facts_path
 * are not counted); returns their count and, if `out` is not NULL, prints them
 * to it (write errors are ignored: check ferror(out)). O(facts). Not
 * thread-safe. */
int keel_wcet_unused_facts(keel_wcet *w, FILE *out);

/* Accessors of a result (r must not be NULL). They cannot fail. O(1). They
 * only read r: safe from any thread while no keel-wcet call runs.
 *   keel_wcet_result_status: the status of the time bound.
 *   keel_wcet_result_name: the function's symbol name ("0x..." when it has
 *     none),
 *     owned by the result.
 *   keel_wcet_result_bound: the bound in executed instructions; meaningful
 *     only when the status is KEEL_WCET_BOUNDED.
 *   keel_wcet_result_stack: true if the stack bound was proved (its own
 *     status is KEEL_WCET_BOUNDED, independently of the time bound's), with
 *     the bound in bytes, return address included, in *stack; false if the
 *     stack is unbounded, unknown or its analysis failed, and *stack is then
 *     written but meaningless.
 * keel_wcet_status_name: "bounded", "unbounded", "unknown", or "error" (also
 * for a value that is no status); a static string. O(1). Thread-safe. */
keel_wcet_status keel_wcet_result_status(const keel_wcet_result *r);
const char *keel_wcet_result_name(const keel_wcet_result *r);
uint64_t keel_wcet_result_bound(const keel_wcet_result *r);
bool keel_wcet_result_stack(const keel_wcet_result *r, uint64_t *stack);
const char *keel_wcet_status_name(keel_wcet_status s);

/* Reports of results of w: text for people, JSON of several results (one
 * document with "schema": KEEL_WCET_JSON_SCHEMA), and DOT of a function's CFG
 * with its loop bounds and worst-case path. They return nothing: write errors
 * are not detected or reported (check ferror(out) afterwards), and a partial
 * report may be left in `out`. Time: linear in the size of the result(s)
 * (blocks, edges, loops, notes), with a debug-line lookup per location shown.
 * Not thread-safe (they read w's tables; see the top of this header). */
void keel_wcet_report_text(keel_wcet *w, const keel_wcet_result *r, FILE *out);
void keel_wcet_report_json(keel_wcet *w, keel_wcet_result *const *r, int n, FILE *out);
void keel_wcet_report_dot(keel_wcet *w, const keel_wcet_result *r, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* KEEL_WCET_H */
