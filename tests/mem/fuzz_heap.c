/*
 * fuzz_heap.c - libFuzzer target: the input bytes are a sequence of heap
 * operations on a small heap, checked against a model after every one; any
 * disagreement aborts (so the fuzzer keeps the input).
 *
 * Input: two bytes choose the region size (a few hundred bytes to 16 KiB, not
 * always a multiple of 16), then each operation takes an opcode byte and its
 * arguments from the bytes that follow. Operations: alloc, alloc_aligned (any
 * alignment, valid or not), realloc (live, NULL or bogus pointer), free,
 * free_checked (live or bogus: freed, interior, outside, metadata), usable_size,
 * reset. After each: keel_heap_check, the statistics against the model (live
 * blocks, bytes in use as usable + 8 per block, exact peak, counters), every live
 * payload's pattern, and no two live blocks overlapping.
 *
 * Built as `fuzz_heap` with -fsanitize=fuzzer (clang). With KEEL_FUZZ_REPLAY_MAIN
 * it gets a main() instead: with file arguments it replays them (to debug a crash
 * the fuzzer saved), without it runs REPLAY_INPUTS deterministic random inputs.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    REGION_MAX = 16 * 1024,
    MAX_BLOCKS = REGION_MAX / 32,
    UNITS = REGION_MAX / 8 + 2,
    FREED_RING = 16,
    BLOCK_OVERHEAD = 8,
};

typedef struct live_block {
    unsigned char *payload;
    size_t requested, usable, filled;
    uint64_t seed;
} live_block;

static _Alignas(16) unsigned char region[REGION_MAX];
static unsigned char snapshot[REGION_MAX];
static struct {
    keel_heap *heap;
    size_t region_size, capacity;
    uintptr_t arena, arena_end;
    live_block blocks[MAX_BLOCKS];
    size_t count;
    uint32_t slot_of[REGION_MAX / 16 + 1];
    uint64_t claimed[(UNITS + 63) / 64];
    size_t in_use, peak;
    uint64_t allocations, frees, failed;
    keel_heap_stats base;
    unsigned char *freed[FREED_RING];
    unsigned freed_next;
    uint64_t seeds;
    /* the input */
    const uint8_t *data;
    size_t size, at;
    unsigned op;
} m;

static int outside_object;

static void violation(const char *what, const void *ptr) {
    fprintf(stderr, "fuzz_heap: %s (op %u, pointer at arena%+" PRIdPTR ", region %zu bytes)\n",
            what, m.op, ptr ? (intptr_t)((uintptr_t)ptr - m.arena) : 0, m.region_size);
    abort();
}

#define REQUIRE(cond, ptr)         \
    do {                           \
        if (!(cond))               \
            violation(#cond, ptr); \
    } while (0)

/* ---- input ---- */

static unsigned next_byte(void) {
    return m.at < m.size ? m.data[m.at++] : 0u;
}

static size_t next_u16(void) {
    size_t lo = next_byte();
    return lo | (size_t)next_byte() << 8;
}

/* ---- patterns and bits ---- */

/* xorshift64 words; a shorter pattern is a prefix of a longer one. */
static uint64_t pattern_step(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void pattern_fill(unsigned char *p, size_t len, uint64_t seed) {
    uint64_t x = seed | 1u;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = pattern_step(&x);
        memcpy(p + i, &w, len - i < 8 ? len - i : 8);
    }
}

static bool pattern_ok(const unsigned char *p, size_t len, uint64_t seed) {
    uint64_t x = seed | 1u;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = pattern_step(&x);
        if (memcmp(p + i, &w, len - i < 8 ? len - i : 8) != 0) {
            return false;
        }
    }
    return true;
}

static bool bit(size_t i) {
    return ((m.claimed[i >> 6] >> (i & 63)) & 1u) != 0;
}

static bool bits_any(size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; i++) {
        if (bit(i)) {
            return true;
        }
    }
    return false;
}

static void bits_set(size_t lo, size_t hi, bool value) {
    for (size_t i = lo; i < hi; i++) {
        if (value) {
            m.claimed[i >> 6] |= (uint64_t)1 << (i & 63);
        } else {
            m.claimed[i >> 6] &= ~((uint64_t)1 << (i & 63));
        }
    }
}

static size_t unit(uintptr_t address) {
    return (size_t)(address - m.arena) / 8;
}

static size_t granule(const void *payload) {
    return (size_t)((uintptr_t)payload - 16 - m.arena) / 16;
}

/* ---- the model ---- */

static void model_clear(void) {
    m.count = 0;
    memset(m.slot_of, 0, sizeof m.slot_of);
    memset(m.claimed, 0, sizeof m.claimed);
    m.in_use = m.peak = 0;
    m.allocations = m.frees = m.failed = 0;
    keel_heap_get_stats(m.heap, &m.base);
}

static void grow(size_t bytes) {
    m.in_use += bytes;
    if (m.in_use > m.peak) {
        m.peak = m.in_use;
    }
}

/* Records a new block (no overlap, inside the arena) and writes its pattern;
 * returns its size in the accounting (usable + 8). */
static size_t model_add(unsigned char *p, size_t requested, size_t align) {
    REQUIRE(p != NULL, p);
    REQUIRE((uintptr_t)p % (align > KEEL_HEAP_ALIGN ? align : KEEL_HEAP_ALIGN) == 0, p);
    size_t usable = keel_heap_usable_size(m.heap, p);
    REQUIRE(usable >= requested, p);
    REQUIRE((usable + BLOCK_OVERHEAD) % 16 == 0 && usable + BLOCK_OVERHEAD >= 32, p);
    REQUIRE((uintptr_t)p - 16 >= m.arena && (uintptr_t)p + usable - 8 <= m.arena_end, p);
    size_t lo = unit((uintptr_t)p - 8), hi = unit((uintptr_t)p + usable);
    REQUIRE(!bits_any(lo, hi), p);
    REQUIRE(m.count < MAX_BLOCKS, p);
    bits_set(lo, hi, true);
    live_block *b = &m.blocks[m.count];
    b->payload = p;
    b->requested = requested;
    b->usable = usable;
    b->filled = (m.seeds & 1) ? usable : requested;
    b->seed = (m.seeds++ + 1) * UINT64_C(0x9E3779B97F4A7C15);
    m.slot_of[granule(p)] = (uint32_t)++m.count;
    pattern_fill(p, b->filled, b->seed);
    return usable + BLOCK_OVERHEAD;
}

/* Forgets block i (the heap has just freed or moved it). */
static void model_remove(size_t i) {
    live_block *b = &m.blocks[i];
    bits_set(unit((uintptr_t)b->payload - 8), unit((uintptr_t)b->payload + b->usable), false);
    m.slot_of[granule(b->payload)] = 0;
    m.freed[m.freed_next++ % FREED_RING] = b->payload;
    m.in_use -= b->usable + BLOCK_OVERHEAD;
    if (i != --m.count) {
        *b = m.blocks[m.count];
        m.slot_of[granule(b->payload)] = (uint32_t)(i + 1);
    }
}

static bool in_arena_aligned(const void *p) {
    uintptr_t c = (uintptr_t)p;
    return c % 16 == 0 && c >= m.arena + 16 && c < m.arena_end;
}

static bool is_live(const void *p) {
    return in_arena_aligned(p) && m.slot_of[granule(p)] != 0;
}

/* The status a refused pointer must get: see classify() in test_heap_model.c. */
static keel_status expected_refusal(const void *p) {
    if (!in_arena_aligned(p)) {
        return KEEL_ENOTOWNED;
    }
    uintptr_t g = (uintptr_t)p - 16;
    if (bit(unit(g + 8))) {
        return KEEL_ENOTOWNED;
    }
    return g == m.arena || bit(unit(g)) ? KEEL_EDOUBLEFREE : KEEL_ENOTOWNED;
}

static void require_refusal(const void *p, keel_status got) {
    keel_status want = expected_refusal(p);
    if (got == want) {
        return;
    }
    fprintf(stderr, "fuzz_heap: got %s, the model says %s\n", keel_status_name(got),
            keel_status_name(want));
    violation("refusal status", p);
}

/* ---- a refused call changes nothing but (maybe) the failure counter ---- */

static uint64_t snapshot_failed;

static void snapshot_take(void) {
    keel_heap_stats s;
    keel_heap_get_stats(m.heap, &s);
    snapshot_failed = s.failed;
    memcpy(snapshot, region, m.region_size);
}

/* The region equals the snapshot, but for the failure counter (a 64-bit word)
 * having gone up by one when the refusal counts. */
static void snapshot_compare(bool counted) {
    size_t changed = 0;
    for (size_t w = 0; w < m.region_size / 8; w++) {
        uint64_t before, after;
        memcpy(&before, snapshot + 8 * w, 8);
        memcpy(&after, region + 8 * w, 8);
        if (before != after) {
            changed++;
            REQUIRE(counted && before == snapshot_failed && after == before + 1, region + 8 * w);
        }
    }
    REQUIRE(changed == (counted ? 1u : 0u), NULL);
    size_t tail = m.region_size / 8 * 8;
    REQUIRE(memcmp(snapshot + tail, region + tail, m.region_size - tail) == 0, NULL);
}

/* ---- after every operation ---- */

static void check_all(void) {
    keel_heap_fault fault;
    if (keel_heap_check(m.heap, &fault) != KEEL_OK) {
        violation(fault.invariant, fault.address);
    }
    keel_heap_stats s;
    keel_heap_get_stats(m.heap, &s);
    REQUIRE(s.live_blocks == m.count, NULL);
    REQUIRE(s.in_use == m.in_use, NULL);
    REQUIRE(s.peak_in_use == m.peak, NULL);
    REQUIRE(s.allocations - m.base.allocations == m.allocations, NULL);
    REQUIRE(s.frees - m.base.frees == m.frees, NULL);
    REQUIRE(s.failed - m.base.failed == m.failed, NULL);
    REQUIRE(s.largest_request <= s.largest_free_block, NULL);
    for (size_t i = 0; i < m.count; i++) {
        const live_block *b = &m.blocks[i];
        REQUIRE(keel_heap_usable_size(m.heap, b->payload) == b->usable, b->payload);
        REQUIRE(pattern_ok(b->payload, b->filled, b->seed), b->payload);
    }
}

/* ---- operations ---- */

static size_t next_request(const keel_heap_stats *pre) {
    unsigned b = next_byte();
    if (b < 160) {
        return b + 1;
    }
    if (b < 240) {
        return 160 + next_u16() % (m.capacity + 1);
    }
    switch (b % 8) {
    case 0:
        return 0;
    case 1:
        return m.capacity;
    case 2:
        return m.capacity + 1;
    case 3:
        return pre->largest_request;
    case 4:
        return pre->largest_request + 1;
    case 5:
        return SIZE_MAX;
    default:
        return m.capacity - next_byte();
    }
}

static bool out_of_range(size_t size) {
    return size == 0 || size > m.capacity;
}

static void *pick_bogus(void) {
    unsigned kind = next_byte() % 8;
    unsigned arg = next_byte();
    uintptr_t c;
    switch (kind) {
    case 0:
    case 1:
        c = (uintptr_t)m.freed[arg % FREED_RING];
        break;
    case 2:
        c = m.count ? (uintptr_t)m.blocks[arg % m.count].payload + 16 * (1 + next_byte() % 8)
                    : m.arena + 16;
        break;
    case 3:
        c = m.count ? (uintptr_t)m.blocks[arg % m.count].payload + 1 + arg % 15 : m.arena;
        break;
    case 4:
        c = m.arena + 16 * (next_u16() % (m.capacity / 16 + 2));
        break;
    case 5:
        c = (uintptr_t)region + 16 * (arg % ((m.arena - (uintptr_t)region) / 16 + 1));
        break;
    case 6:
        c = arg % 2 ? (uintptr_t)&outside_object : m.arena_end + 16 * (arg % 4);
        break;
    default:
        c = (uintptr_t)m.freed[arg % FREED_RING] + 16;
        break;
    }
    if (c == 0 || is_live((const void *)c)) {
        c = (uintptr_t)&outside_object;
    }
    return (void *)c;
}

static void op_alloc(bool aligned) {
    keel_heap_stats pre;
    keel_heap_get_stats(m.heap, &pre);
    size_t size = next_request(&pre);
    size_t align = KEEL_HEAP_ALIGN;
    if (aligned) {
        unsigned a = next_byte();
        align = a < 224 ? (size_t)1 << (a % 16) : (size_t)a * 3; /* some not powers of two */
    }
    bool valid_align = align != 0 && (align & (align - 1)) == 0;
    void *p = &outside_object;
    snapshot_take();
    keel_status status = aligned ? keel_heap_alloc_aligned(m.heap, size, align, &p)
                                 : keel_heap_alloc(m.heap, size, &p);
    if (!valid_align) {
        REQUIRE(status == KEEL_EALIGN && p == NULL, NULL);
        snapshot_compare(false);
        return;
    }
    bool range = out_of_range(size) || (align > KEEL_HEAP_ALIGN && align > m.capacity - size);
    if (range) {
        REQUIRE(status == KEEL_ERANGE && p == NULL, NULL);
        snapshot_compare(true);
        m.failed++;
        return;
    }
    if (status != KEEL_OK) {
        REQUIRE(status == KEEL_ENOMEM && p == NULL, NULL);
        size_t demand = align <= KEEL_HEAP_ALIGN ? size : (size < 9 ? 9 : size) + align + 32;
        REQUIRE(pre.largest_request < demand, NULL);
        snapshot_compare(true);
        m.failed++;
        return;
    }
    m.allocations++;
    grow(model_add(p, size, align));
}

static void op_realloc(void) {
    keel_heap_stats pre;
    keel_heap_get_stats(m.heap, &pre);
    unsigned kind = next_byte();
    if (kind < 32 || m.count == 0) { /* NULL: an alloc */
        size_t size = next_request(&pre);
        void *p = &outside_object;
        snapshot_take();
        keel_status status = keel_heap_realloc(m.heap, NULL, size, &p);
        if (status != KEEL_OK) {
            REQUIRE(status == (out_of_range(size) ? KEEL_ERANGE : KEEL_ENOMEM) && p == NULL, NULL);
            REQUIRE(out_of_range(size) || size > pre.largest_request, NULL);
            snapshot_compare(true);
            m.failed++;
            return;
        }
        m.allocations++;
        grow(model_add(p, size, 0));
        return;
    }
    if (kind < 48) { /* a pointer it must refuse */
        void *c = pick_bogus();
        void *out = &outside_object;
        snapshot_take();
        keel_status status = keel_heap_realloc(m.heap, c, next_byte() + 1u, &out);
        require_refusal(c, status);
        REQUIRE(out == NULL, c);
        snapshot_compare(false);
        return;
    }
    size_t i = next_byte() % m.count;
    live_block old = m.blocks[i];
    size_t size = kind < 128 ? 1 + next_byte() % (old.requested + 16) : next_request(&pre);
    void *q = &outside_object;
    snapshot_take();
    keel_status status = keel_heap_realloc(m.heap, old.payload, size, &q);
    if (status != KEEL_OK) {
        REQUIRE(q == NULL, old.payload);
        snapshot_compare(true);
        if (out_of_range(size)) {
            REQUIRE(status == KEEL_ERANGE, old.payload);
        } else {
            REQUIRE(status == KEEL_ENOMEM, old.payload);
            REQUIRE(size > old.usable && size > pre.largest_request, old.payload);
        }
        m.failed++;
        REQUIRE(keel_heap_usable_size(m.heap, old.payload) == old.usable, old.payload);
        return;
    }
    REQUIRE(!out_of_range(size), q);
    size_t before = m.in_use;
    model_remove(i);
    size_t usable = keel_heap_usable_size(m.heap, q);
    size_t keep = old.filled < usable ? old.filled : usable;
    REQUIRE(pattern_ok(q, keep, old.seed), q);
    if (q != old.payload) {
        REQUIRE((uintptr_t)q + usable <= (uintptr_t)old.payload - 8 ||
                    (uintptr_t)old.payload + old.usable <= (uintptr_t)q - 8,
                q);
        m.allocations++;
        m.frees++;
        size_t bytes = model_add(q, size, 0);
        grow(before + bytes - m.in_use); /* both blocks live for a moment */
        m.in_use = before - old.usable - BLOCK_OVERHEAD + bytes;
    } else {
        m.freed_next--; /* not freed after all */
        grow(model_add(q, size, 0));
    }
}

static void op_free(bool checked) {
    if (m.count == 0) {
        keel_heap_free(m.heap, NULL);
        return;
    }
    size_t i = next_byte() % m.count;
    unsigned char *p = m.blocks[i].payload;
    REQUIRE(pattern_ok(p, m.blocks[i].filled, m.blocks[i].seed), p);
    if (checked) {
        REQUIRE(keel_heap_free_checked(m.heap, p) == KEEL_OK, p);
    } else {
        keel_heap_free(m.heap, p);
    }
    m.frees++;
    model_remove(i);
}

static void op_bogus(void) {
    void *c = pick_bogus();
    snapshot_take();
    if (next_byte() % 4 == 0) {
        REQUIRE(keel_heap_usable_size(m.heap, c) == 0, c);
    } else {
        require_refusal(c, keel_heap_free_checked(m.heap, c));
    }
    snapshot_compare(false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    memset(&m, 0, sizeof m);
    m.data = data;
    m.size = size;
    m.region_size = 400 + next_u16() % (REGION_MAX - 400 + 1);
    keel_status status = keel_heap_init(&m.heap, region, m.region_size);
    if (status != KEEL_OK) {
        REQUIRE(status == KEEL_ETOOSMALL, NULL);
        return 0;
    }
    keel_heap_stats s;
    keel_heap_get_stats(m.heap, &s);
    m.capacity = s.capacity;
    m.arena_end = ((uintptr_t)region + m.region_size - 16) & ~(uintptr_t)15;
    m.arena = m.arena_end - m.capacity;
    model_clear();
    while (m.at < m.size) {
        m.op++;
        switch (next_byte() % 12) {
        case 0:
        case 1:
        case 2:
            op_alloc(false);
            break;
        case 3:
            op_alloc(true);
            break;
        case 4:
        case 5:
            op_realloc();
            break;
        case 6:
            op_free(false);
            break;
        case 7:
        case 8:
            op_free(true);
            break;
        case 9:
        case 10:
            op_bogus();
            break;
        default:
            if (next_byte() < 8) {
                keel_heap_reset(m.heap);
                model_clear();
                REQUIRE(keel_heap_usable_size(m.heap, NULL) == 0, NULL);
            } else if (m.count != 0) {
                const live_block *b = &m.blocks[next_byte() % m.count];
                REQUIRE(keel_heap_usable_size(m.heap, b->payload) == b->usable, b->payload);
            }
            break;
        }
        check_all();
    }
    /* Free everything: the heap is one free block again. */
    while (m.count > 0) {
        REQUIRE(keel_heap_free_checked(m.heap, m.blocks[m.count - 1].payload) == KEEL_OK, NULL);
        m.frees++;
        model_remove(m.count - 1);
    }
    check_all();
    keel_heap_get_stats(m.heap, &s);
    REQUIRE(s.in_use == 0 && s.largest_free_block == m.capacity - BLOCK_OVERHEAD, NULL);
    return 0;
}

#ifdef KEEL_FUZZ_REPLAY_MAIN
/* Without libFuzzer: replay the files given, or deterministic random inputs. */
enum { REPLAY_INPUTS = 3000, REPLAY_MAX_LENGTH = 2048 };

int main(int argc, char **argv) {
    static uint8_t input[1 << 20]; /* >= REPLAY_MAX_LENGTH */
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            FILE *f = fopen(argv[i], "rb");
            if (f == NULL) {
                perror(argv[i]);
                return 2;
            }
            size_t n = fread(input, 1, sizeof input, f);
            fclose(f);
            LLVMFuzzerTestOneInput(input, n);
            printf("%s: ok\n", argv[i]);
        }
        return 0;
    }
    uint64_t state = 1;
    size_t bytes = 0;
    for (int i = 0; i < REPLAY_INPUTS; i++) {
        state = state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        size_t n = (size_t)(state >> 33) % REPLAY_MAX_LENGTH;
        for (size_t j = 0; j < n; j++) {
            state = state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
            input[j] = (uint8_t)(state >> 56);
        }
        LLVMFuzzerTestOneInput(input, n);
        bytes += n;
    }
    printf("fuzz_heap_replay: %d inputs (%zu bytes) ok\n", REPLAY_INPUTS, bytes);
    return 0;
}
#endif
