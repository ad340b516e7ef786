/*
 * keel-wcet: the command line.
 *
 *   keel-wcet [options] BINARY FUNCTION...      (or --all)
 *
 * Exit status: 0 analysed (whatever the status of each function, unless
 * --fail-above), 1 bad usage or input, 2 a flow fact matched nothing,
 * 3 --fail-above: a bound above N, or a function not bounded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel_wcet.h"

static void usage(FILE *out) {
    fputs(
        "usage: keel-wcet [options] BINARY FUNCTION...\n"
        "  FUNCTION             a symbol name, or an address 0x... for stripped binaries\n"
        "  --all                every function symbol of the binary\n"
        "  --assume NAME=LO..HI the range of an input: a parameter name, argN or a register "
        "(repeatable)\n"
        "  --facts FILE         flow facts (loop bounds, recursion depth, external costs; "
        "docs/wcet.md)\n"
        "  --facts-optional FILE  flow facts that may match nothing (one file for several builds)\n"
        "  --lib SO             a shared object whose code bounds the external calls into it (up "
        "to 4)\n"
        "  --format FMT         text (default), json, dot, or bound (one line: name status bound "
        "stack)\n"
        "  -o FILE              write the report to FILE\n"
        "  --fail-above N       exit 3 if a bound exceeds N instructions or a function is not "
        "bounded\n"
        "  --no-smt             skip the Z3 checks (loop iterations, infeasible paths)\n"
        "  --progress           progress lines on stderr\n"
        "  -h, --help\n",
        out);
}

static bool parse_range(const char *s, int64_t *lo, int64_t *hi) {
    char *end;
    errno = 0;
    *lo = strtoll(s, &end, 0);
    if (errno || strncmp(end, "..", 2) != 0)
        return false;
    const char *h = end + 2;
    *hi = strtoll(h, &end, 0);
    return !errno && *end == 0 && end != h;
}

typedef struct all_ctx {
    keel_wcet_result **v;
    int n, cap;
} all_ctx;

static void collect(keel_wcet *w, keel_wcet_result *r, void *arg) {
    (void)w;
    all_ctx *a = arg;
    if (a->n >= a->cap) {
        a->cap = a->cap ? a->cap * 2 : 64;
        a->v = realloc(a->v, sizeof *a->v * (size_t)a->cap);
        if (!a->v) {
            fputs("keel-wcet: out of memory\n", stderr);
            exit(1);
        }
    }
    a->v[a->n++] = r;
}

int main(int argc, char **argv) {
    keel_wcet_options opt;
    memset(&opt, 0, sizeof opt);
    const char *format = "text", *outpath = NULL;
    bool all = false, fail_set = false;
    unsigned long long fail_above = 0;
    static const struct option longopts[] = {{"all", no_argument, 0, 'a'},
                                             {"assume", required_argument, 0, 'A'},
                                             {"facts", required_argument, 0, 'F'},
                                             {"format", required_argument, 0, 'f'},
                                             {"facts-optional", required_argument, 0, 'O'},
                                             {"lib", required_argument, 0, 'L'},
                                             {"fail-above", required_argument, 0, 'x'},
                                             {"no-smt", no_argument, 0, 'n'},
                                             {"progress", no_argument, 0, 'p'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = true;
            break;
        case 'A': {
            const char *eq = strchr(optarg, '=');
            if (!eq || opt.nassume >= KEEL_WCET_MAX_ASSUME ||
                (size_t)(eq - optarg) >= sizeof opt.assume[0].name) {
                fprintf(stderr, "keel-wcet: --assume %s: expected NAME=LO..HI\n", optarg);
                return 1;
            }
            keel_wcet_assume *a = &opt.assume[opt.nassume];
            memcpy(a->name, optarg, (size_t)(eq - optarg));
            a->name[eq - optarg] = 0;
            if (!parse_range(eq + 1, &a->lo, &a->hi)) {
                fprintf(stderr, "keel-wcet: --assume %s: expected NAME=LO..HI\n", optarg);
                return 1;
            }
            opt.nassume++;
            break;
        }
        case 'F':
            opt.facts_path = optarg;
            break;
        case 'O':
            opt.optional_facts_path = optarg;
            break;
        case 'L':
            if (opt.nlibs >= 4) {
                fprintf(stderr, "keel-wcet: at most 4 --lib\n");
                return 1;
            }
            opt.libs[opt.nlibs++] = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            outpath = optarg;
            break;
        case 'x': {
            char *end;
            fail_above = strtoull(optarg, &end, 0);
            if (*end) {
                fprintf(stderr, "keel-wcet: --fail-above %s: not a number\n", optarg);
                return 1;
            }
            fail_set = true;
            break;
        }
        case 'n':
            opt.no_smt = true;
            break;
        case 'p':
            opt.progress = stderr;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "dot") &&
        strcmp(format, "bound")) {
        fprintf(stderr, "keel-wcet: --format %s: expected text, json, dot or bound\n", format);
        return 1;
    }
    if (optind >= argc || (!all && optind + 1 >= argc)) {
        usage(stderr);
        return 1;
    }
    const char *bin = argv[optind];
    opt.assume_lenient = all || argc - optind > 2;
    char err[512];
    keel_wcet *w = keel_wcet_open(bin, &opt, err, sizeof err);
    if (!w) {
        fprintf(stderr, "keel-wcet: %s\n", err);
        return 1;
    }
    all_ctx rs = {0};
    if (all)
        keel_wcet_analyze_all(w, collect, &rs);
    for (int i = optind + 1; i < argc; i++) {
        keel_wcet_result *r = keel_wcet_analyze(w, argv[i], err, sizeof err);
        if (!r) {
            fprintf(stderr, "keel-wcet: %s\n", err);
            keel_wcet_close(w);
            free(rs.v);
            return 1;
        }
        collect(w, r, &rs);
    }
    FILE *out = stdout;
    if (outpath && !(out = fopen(outpath, "w"))) {
        fprintf(stderr, "keel-wcet: %s: %s\n", outpath, strerror(errno));
        keel_wcet_close(w);
        free(rs.v);
        return 1;
    }
    if (strcmp(format, "json") == 0)
        keel_wcet_report_json(w, rs.v, rs.n, out);
    else
        for (int i = 0; i < rs.n; i++) {
            if (strcmp(format, "text") == 0) {
                keel_wcet_report_text(w, rs.v[i], out);
                if (i + 1 < rs.n)
                    fputc('\n', out);
            } else if (strcmp(format, "dot") == 0)
                keel_wcet_report_dot(w, rs.v[i], out);
            else {
                uint64_t st;
                bool sb = keel_wcet_result_stack(rs.v[i], &st);
                keel_wcet_status s = keel_wcet_result_status(rs.v[i]);
                char b[32], sbuf[32];
                snprintf(b, sizeof b, "%llu", (unsigned long long)keel_wcet_result_bound(rs.v[i]));
                snprintf(sbuf, sizeof sbuf, "%llu", (unsigned long long)st);
                fprintf(out, "%s %s %s %s\n", keel_wcet_result_name(rs.v[i]),
                        keel_wcet_status_name(s), s == KEEL_WCET_BOUNDED ? b : "-",
                        sb ? sbuf : "-");
            }
        }
    if (out != stdout)
        fclose(out);
    int rc = 0;
    if (keel_wcet_unused_facts(w, stderr))
        rc = 2;
    if (opt.assume_lenient && keel_wcet_unused_assumptions(w, stderr))
        rc = 1;
    if (fail_set && rc == 0)
        for (int i = 0; i < rs.n; i++)
            if (keel_wcet_result_status(rs.v[i]) != KEEL_WCET_BOUNDED ||
                keel_wcet_result_bound(rs.v[i]) > fail_above) {
                fprintf(stderr, "keel-wcet: --fail-above %llu: %s is %s\n", fail_above,
                        keel_wcet_result_name(rs.v[i]),
                        keel_wcet_result_status(rs.v[i]) == KEEL_WCET_BOUNDED ? "above the limit"
                                                                              : "not bounded");
                rc = 3;
            }
    keel_wcet_close(w);
    free(rs.v);
    return rc;
}
