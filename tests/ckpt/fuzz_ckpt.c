/*
 * fuzz_ckpt.c - libFuzzer target for the checkpoint loader: whatever the bytes,
 * keel_ckpt_decode either refuses them, loading nothing, or accepts a
 * checkpoint that restores (into an arena and into a heap) to a graph every
 * pointer of which can be followed safely (AddressSanitizer watches).
 *
 * The first input byte chooses how the rest is used:
 *   0  as a file, as it is;
 *   1  as a file, with its CRCs recomputed, so damage reaches the structure
 *      checks behind them;
 *   2  as edits (position, value pairs) to a valid file of a small random
 *      graph, CRCs recomputed: deep coverage from the first input.
 *
 * Built as `fuzz_ckpt` with -fsanitize=fuzzer (clang). With
 * KEEL_FUZZ_REPLAY_MAIN it gets a main() instead: file arguments are replayed;
 * without any, REPLAY_INPUTS deterministic random inputs of each mode run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/ckpt.h"
#include "random_graph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FILE = 1 << 16, HEADER = KEEL_CKPT_FILE_HEADER };

static _Alignas(16) unsigned char input[MAX_FILE];
static _Alignas(16) unsigned char valid[MAX_FILE];
static size_t valid_size;
static _Alignas(16) unsigned char graph_region[1 << 20];
static _Alignas(16) unsigned char restore_region[1 << 20];
static keel_ckpt_schema schema;

static void setup(void) {
    if (valid_size != 0) {
        return;
    }
    if (keel_ckpt_schema_init(&schema, &vertex_ckpt_type) != KEEL_OK) {
        abort();
    }
    keel_heap *heap;
    keel_heap_init(&heap, graph_region, sizeof graph_region);
    uint64_t seed = 99;
    random_graph g;
    static _Alignas(16) unsigned char buffer[MAX_FILE];
    keel_ckpt ckpt;
    if (!random_graph_build(&g, heap, 40, 12, &seed) ||
        keel_ckpt_take(&ckpt, &schema, g.root, buffer, sizeof buffer, NULL) != KEEL_OK ||
        keel_ckpt_encode(&ckpt, valid, sizeof valid) != KEEL_OK) {
        abort();
    }
    valid_size = keel_ckpt_file_size(&ckpt);
}

static uint64_t get64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The CRCs the header's own section table calls for, where it is in range. */
static void fix_crcs(unsigned char *p, size_t size) {
    if (size < HEADER) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        uint64_t offset = get64(p + 56 + 24 * i), length = get64(p + 64 + 24 * i);
        if (offset <= size && length <= size - offset) {
            uint32_t crc = keel_ckpt_crc32c(0, p + offset, length);
            memcpy(p + 72 + 24 * i, &crc, 4);
        }
    }
    uint32_t crc = keel_ckpt_crc32c(0, p, HEADER - 4);
    memcpy(p + HEADER - 4, &crc, 4);
}

/* Follows every owned edge of a restored graph and checks every shared one. */
static volatile uint8_t sink;

static void walk(const vertex *root, uint64_t objects) {
    static const vertex *stack[MAX_FILE];
    size_t depth = 0;
    uint64_t seen = 0;
    stack[depth++] = root;
    while (depth > 0) {
        const vertex *v = stack[--depth];
        if (++seen > objects) {
            abort(); /* more vertices than records: an owned cycle got through */
        }
        for (unsigned b = 0; b < v->blob_length; b++) {
            sink ^= v->blob[b];
        }
        for (int j = 0; j < 2; j++) {
            if (v->links[j] != NULL && keel_ckpt_refs(v->links[j]) == 0) {
                abort();
            }
        }
        for (uint32_t i = 0; i < v->child_count; i++) {
            if (v->children[i] == NULL || depth == MAX_FILE) {
                abort();
            }
            stack[depth++] = v->children[i];
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    if (size == 0) {
        return 0;
    }
    unsigned mode = data[0] % 3;
    data++;
    size--;
    size_t n;
    if (mode == 2) {
        n = valid_size;
        memcpy(input, valid, n);
        for (size_t i = 0; i + 2 < size; i += 3) {
            size_t at = ((size_t)data[i] << 8 | data[i + 1]) % n;
            input[at] = data[i + 2];
        }
        fix_crcs(input, n);
    } else {
        n = size < sizeof input ? size : sizeof input;
        memcpy(input, data, n);
        if (mode == 1) {
            fix_crcs(input, n);
        }
    }
    keel_ckpt ckpt;
    keel_ckpt_diag diag;
    keel_status status = keel_ckpt_decode(&ckpt, &schema, input, n, &diag);
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&ckpt, &stats);
    if (status != KEEL_OK) {
        if (stats.objects != 0 || keel_ckpt_file_size(&ckpt) != 0 || diag.message[0] == '\0') {
            abort(); /* refused, but something was loaded or nothing said why */
        }
        return 0;
    }
    keel_arena arena;
    keel_arena_init(&arena, restore_region, sizeof restore_region);
    void *root;
    if (keel_ckpt_restore_arena(&ckpt, &schema, &arena, NULL, &root) == KEEL_OK) {
        walk(root, stats.objects);
    }
    keel_heap *heap;
    keel_heap_init(&heap, restore_region, sizeof restore_region);
    if (keel_ckpt_restore_heap(&ckpt, &schema, heap, NULL, &root) == KEEL_OK) {
        walk(root, stats.objects);
        if (keel_heap_check(heap, NULL) != KEEL_OK) {
            abort();
        }
    }
    return 0;
}

#ifdef KEEL_FUZZ_REPLAY_MAIN
enum { REPLAY_INPUTS = 3000, REPLAY_MAX_LENGTH = 600 };

int main(int argc, char **argv) {
    static uint8_t bytes[MAX_FILE];
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (f == NULL) {
                perror(argv[i]);
                return 2;
            }
            size_t n = fread(bytes, 1, sizeof bytes, f);
            fclose(f);
            LLVMFuzzerTestOneInput(bytes, n);
            printf("%s: ok\n", argv[i]);
        }
        return 0;
    }
    setup();
    uint64_t state = 1;
    for (int i = 0; i < REPLAY_INPUTS; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        unsigned mode = (unsigned)i % 3;
        size_t n = 1 + (size_t)(state >> 33) % REPLAY_MAX_LENGTH;
        bytes[0] = (uint8_t)mode;
        if (mode == 2) {
            n = 1 + 3 * (1 + (size_t)(state >> 40) % 3); /* a few edits */
        }
        for (size_t j = 1; j < n; j++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            bytes[j] = (uint8_t)(state >> 56);
        }
        if (mode == 1 && i % 2 == 1) { /* a valid file with a few random bytes */
            n = valid_size + 1;
            memcpy(bytes + 1, valid, valid_size);
            for (int k = 0; k < 2; k++) {
                state = state * 6364136223846793005ull + 1442695040888963407ull;
                bytes[1 + (state >> 33) % valid_size] = (uint8_t)(state >> 20);
            }
        }
        LLVMFuzzerTestOneInput(bytes, n);
    }
    printf("fuzz_ckpt_replay: %d inputs ok\n", REPLAY_INPUTS);
    return 0;
}
#endif
