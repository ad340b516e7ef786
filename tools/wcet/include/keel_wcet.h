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
    uint64_t smt_loop_limit; /* largest loop bound searched by Z3 (default 4096) */
    FILE *progress;          /* progress lines, or NULL */
} keel_wcet_options;

typedef struct keel_wcet keel_wcet;
typedef struct wc_fres keel_wcet_result;

keel_wcet *keel_wcet_open(const char *path, const keel_wcet_options *options, char *err,
                          size_t errlen);
/* As keel_wcet_open, from an ELF image in memory (copied). */
keel_wcet *keel_wcet_open_mem(const void *data, size_t size, const keel_wcet_options *options,
                              char *err, size_t errlen);
void keel_wcet_close(keel_wcet *w);

/* Analyse a function named `function`, or at address "0x..." (stripped
 * binaries). NULL with a reason in err when it does not exist. */
keel_wcet_result *keel_wcet_analyze(keel_wcet *w, const char *function, char *err, size_t errlen);
/* Every function symbol of the binary (for benchmarks); returns how many. */
int keel_wcet_analyze_all(keel_wcet *w, void (*each)(keel_wcet *, keel_wcet_result *, void *),
                          void *arg);
/* After the analyses: --assume ranges that matched no analysed function
 * (each is an error with assume_lenient); returns their count. */
int keel_wcet_unused_assumptions(keel_wcet *w, FILE *out);
/* After the analyses: annotations of the facts file that matched nothing
 * (each is an error); returns their count and prints them to `out`. */
int keel_wcet_unused_facts(keel_wcet *w, FILE *out);

keel_wcet_status keel_wcet_result_status(const keel_wcet_result *r);
const char *keel_wcet_result_name(const keel_wcet_result *r);
uint64_t keel_wcet_result_bound(const keel_wcet_result *r);
bool keel_wcet_result_stack(const keel_wcet_result *r, uint64_t *stack);
const char *keel_wcet_status_name(keel_wcet_status s);

void keel_wcet_report_text(keel_wcet *w, const keel_wcet_result *r, FILE *out);
/* JSON of several results: one document with "schema": KEEL_WCET_JSON_SCHEMA. */
void keel_wcet_report_json(keel_wcet *w, keel_wcet_result *const *r, int n, FILE *out);
void keel_wcet_report_dot(keel_wcet *w, const keel_wcet_result *r, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* KEEL_WCET_H */
