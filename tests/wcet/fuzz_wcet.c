/*
 * fuzz_wcet.c - libFuzzer target for keel-wcet's front end: the input is an
 * ELF file; it is opened (ELF reader, symbols, PLT, DWARF lines) and every
 * function symbol is analysed (decoder, CFG, loops, value analysis, IPET),
 * with the reports written to /dev/null. Nothing may crash, whatever the bytes.
 *
 * Built as `fuzz_wcet` with -fsanitize=fuzzer (clang). With
 * KEEL_FUZZ_REPLAY_MAIN it gets a main() instead: `fuzz_wcet_replay SEED [N]`
 * runs N (default 300) deterministic mutations of the ELF file SEED (bytes
 * flipped, overwritten, the file cut), or replays files given after `--`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel_wcet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void each(keel_wcet *w, keel_wcet_result *r, void *arg) {
    FILE *out = arg;
    keel_wcet_report_text(w, r, out);
    keel_wcet_report_dot(w, r, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    keel_wcet_options opt;
    memset(&opt, 0, sizeof opt);
    opt.no_smt = true; /* Z3 is not what is fuzzed, and it is slow */
    char err[256];
    keel_wcet *w = keel_wcet_open_mem(data, size, &opt, err, sizeof err);
    if (!w)
        return 0;
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        keel_wcet_analyze_all(w, each, out);
        keel_wcet_result *r = keel_wcet_analyze(w, "main", err, sizeof err);
        if (r)
            keel_wcet_report_json(w, &r, 1, out);
        fclose(out);
    }
    keel_wcet_close(w);
    return 0;
}

#ifdef KEEL_FUZZ_REPLAY_MAIN
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    size_t got = buf && n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    *size = got;
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SEED_ELF [N] | -- FILE...\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "--") == 0) {
        for (int i = 2; i < argc; i++) {
            size_t n;
            unsigned char *b = slurp(argv[i], &n);
            if (b)
                LLVMFuzzerTestOneInput(b, n);
            free(b);
        }
        printf("%d passed, 0 failed\n", argc - 2);
        return 0;
    }
    size_t size;
    unsigned char *seed = slurp(argv[1], &size);
    if (!seed || size == 0) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    int rounds = argc > 2 ? atoi(argv[2]) : 300;
    unsigned char *buf = malloc(size);
    if (!buf)
        return 2;
    for (int r = 0; r < rounds; r++) {
        memcpy(buf, seed, size);
        size_t n = size;
        int edits = 1 + (int)(next() % 12);
        for (int e = 0; e < edits; e++) {
            /* half of the edits hit the headers, where the structure is */
            size_t at = next() % 2 ? next() % (n < 4096 ? n : 4096) : next() % n;
            switch (next() % 4) {
            case 0:
                buf[at] ^= (unsigned char)(1u << (next() % 8));
                break;
            case 1:
                buf[at] = (unsigned char)next();
                break;
            case 2:
                buf[at] = (unsigned char)(next() % 2 ? 0xff : 0);
                break;
            default:
                if (r % 7 == 0)
                    n = at + 1;
                break; /* truncate */
            }
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    LLVMFuzzerTestOneInput(seed, size);
    printf("%d passed, 0 failed\n", rounds + 1);
    free(buf);
    free(seed);
    return 0;
}
#endif
