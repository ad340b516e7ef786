/*
 * traces.c - deterministic generation of the five allocation traces (traces.h).
 *
 * A small builder keeps the set of live blocks (for random frees in O(1)), a
 * stack of free slots, and the live totals that bound every trace. Each
 * generator is a loop over the builder; all randomness comes from one
 * xoshiro256** stream seeded by splitmix64(seed, trace id).
 */
#include "traces.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG: splitmix64 to seed xoshiro256** ---- */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) {
        r->s[i] = splitmix64(&seed);
    }
}

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r) {
    uint64_t result = rotl(r->s[1] * 5, 7) * 9;
    uint64_t t = r->s[1] << 17;
    r->s[2] ^= r->s[0];
    r->s[3] ^= r->s[1];
    r->s[1] ^= r->s[2];
    r->s[0] ^= r->s[3];
    r->s[2] ^= t;
    r->s[3] = rotl(r->s[3], 45);
    return result;
}

/* Uniform in [0, n) by multiply-shift (bias below 2^-32 for these n). */
static uint32_t rng_below(rng *r, uint32_t n) {
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static uint32_t rng_range(rng *r, uint32_t lo, uint32_t hi) {
    return lo + rng_below(r, hi - lo + 1);
}

/* True with probability percent/100. */
static bool rng_percent(rng *r, uint32_t percent) {
    return rng_below(r, 100) < percent;
}

/* ---- pool classes ---- */

unsigned bench_pool_class(uint32_t size) {
    if (size <= BENCH_SIZE_MIN) {
        return 0;
    }
    unsigned bits = 32u - (unsigned)__builtin_clz(size - 1); /* ceil(log2(size)) */
    return bits - 4u;
}

uint32_t bench_pool_class_size(unsigned cls) {
    return BENCH_SIZE_MIN << cls;
}

/* ---- the builder ---- */

typedef struct builder {
    bench_trace *t;
    size_t cap;          /* operations allocated in t->ops */
    uint32_t *live;      /* live slots random frees may pick, in no particular order */
    uint32_t *live_pos;  /* live_pos[slot]: index of slot in live, or UINT32_MAX if held */
    uint32_t *size_of;   /* requested size per slot */
    uint32_t *free_slot; /* stack of slots not in use */
    uint32_t live_count; /* all live blocks */
    uint32_t pickable;   /* the first `pickable` entries of live */
    uint32_t free_count;
    uint32_t class_live[BENCH_POOL_CLASSES];
    size_t live_bytes;
    rng r;
    bool failed;
} builder;

static bool builder_init(builder *b, bench_trace *t, size_t ops, uint64_t seed) {
    memset(b, 0, sizeof *b);
    b->t = t;
    b->cap = ops + BENCH_LIVE_BLOCKS_MAX + 4096;
    t->ops = malloc(b->cap * sizeof *t->ops);
    t->pool_class = malloc(b->cap);
    b->live = malloc(BENCH_LIVE_BLOCKS_MAX * sizeof *b->live);
    b->live_pos = malloc(BENCH_LIVE_BLOCKS_MAX * sizeof *b->live_pos);
    b->size_of = calloc(BENCH_LIVE_BLOCKS_MAX, sizeof *b->size_of);
    b->free_slot = malloc(BENCH_LIVE_BLOCKS_MAX * sizeof *b->free_slot);
    if (t->ops == NULL || t->pool_class == NULL || b->live == NULL || b->live_pos == NULL ||
        b->size_of == NULL || b->free_slot == NULL) {
        return false;
    }
    /* Slot 0 is handed out first: the stack holds the highest slot at the bottom. */
    for (uint32_t i = 0; i < BENCH_LIVE_BLOCKS_MAX; i++) {
        b->free_slot[i] = BENCH_LIVE_BLOCKS_MAX - 1 - i;
    }
    b->free_count = BENCH_LIVE_BLOCKS_MAX;
    rng_seed(&b->r, seed ^ ((uint64_t)t->id * 0x2545f4914f6cdd1du));
    return true;
}

static void builder_done(builder *b) {
    free(b->live);
    free(b->live_pos);
    free(b->size_of);
    free(b->free_slot);
}

static bool append(builder *b, uint32_t size, uint32_t slot, unsigned cls) {
    bench_trace *t = b->t;
    if (t->count == b->cap) {
        size_t cap = b->cap * 2;
        bench_op *ops = realloc(t->ops, cap * sizeof *ops);
        if (ops == NULL) {
            b->failed = true;
            return false;
        }
        t->ops = ops;
        uint8_t *classes = realloc(t->pool_class, cap);
        if (classes == NULL) {
            b->failed = true;
            return false;
        }
        t->pool_class = classes;
        b->cap = cap;
    }
    t->ops[t->count] = (bench_op){.size = size, .slot = slot};
    t->pool_class[t->count] = (uint8_t)cls;
    t->count++;
    return true;
}

static bool can_alloc(const builder *b, uint32_t size) {
    return b->live_count < BENCH_LIVE_BLOCKS_MAX && b->live_bytes + size <= BENCH_LIVE_BYTES_MAX;
}

/* Allocates `size` bytes into a fresh slot; returns the slot, or UINT32_MAX if
 * the live bounds do not allow it (nothing is appended then). */
static uint32_t alloc_block(builder *b, uint32_t size) {
    if (!can_alloc(b, size) || b->failed) {
        return UINT32_MAX;
    }
    uint32_t slot = b->free_slot[--b->free_count];
    unsigned cls = bench_pool_class(size);
    if (!append(b, size, slot, cls)) {
        b->free_count++;
        return UINT32_MAX;
    }
    bench_trace *t = b->t;
    b->live_pos[slot] = b->pickable;
    b->live[b->pickable++] = slot;
    b->live_count++;
    b->size_of[slot] = size;
    b->live_bytes += size;
    t->allocs++;
    if (slot + 1 > t->slots) {
        t->slots = slot + 1;
    }
    if (b->live_bytes > t->peak_live_bytes) {
        t->peak_live_bytes = b->live_bytes;
    }
    if (b->live_count > t->peak_live_blocks) {
        t->peak_live_blocks = b->live_count;
    }
    if (++b->class_live[cls] > t->class_peak[cls]) {
        t->class_peak[cls] = b->class_live[cls];
    }
    return slot;
}

/* Takes slot out of the set random frees pick from (its owner frees it). */
static void unhand(builder *b, uint32_t slot) {
    uint32_t pos = b->live_pos[slot];
    if (pos == UINT32_MAX) {
        return;
    }
    uint32_t last = b->live[--b->pickable];
    b->live[pos] = last;
    b->live_pos[last] = pos;
    b->live_pos[slot] = UINT32_MAX;
}

/* Allocates a block that random frees never pick. */
static uint32_t alloc_held(builder *b, uint32_t size) {
    uint32_t slot = alloc_block(b, size);
    if (slot != UINT32_MAX) {
        unhand(b, slot);
    }
    return slot;
}

static void free_block(builder *b, uint32_t slot) {
    if (b->size_of[slot] == 0) { /* not live: a generator bug, never a silent one */
        b->failed = true;
        return;
    }
    unsigned cls = bench_pool_class(b->size_of[slot]);
    if (!append(b, 0, slot, cls)) {
        return;
    }
    unhand(b, slot);
    b->live_count--;
    b->live_bytes -= b->size_of[slot];
    b->size_of[slot] = 0;
    b->class_live[cls]--;
    b->free_slot[b->free_count++] = slot;
}

static void free_random(builder *b) {
    if (b->pickable > 0) {
        free_block(b, b->live[rng_below(&b->r, b->pickable)]);
    }
}

/* Frees every block random frees may pick (held blocks are their owner's). */
static void free_all(builder *b) {
    while (b->pickable > 0 && !b->failed) {
        free_random(b);
    }
}

/* One step of a steady-state trace: keeps the number of pickable blocks between
 * lo and hi and otherwise allocates `size` or frees a random one, with equal
 * probability. */
static void steady_step(builder *b, uint32_t size, uint32_t lo, uint32_t hi) {
    bool alloc = b->pickable < lo || (b->pickable < hi && rng_percent(&b->r, 50));
    if (!alloc || alloc_block(b, size) == UINT32_MAX) {
        free_random(b);
    }
}

/* ---- the traces ---- */

/* (1) Sizes uniform in 16 B .. 4 KiB, about 1000 blocks live (2 MiB). */
static void gen_random(builder *b, size_t ops) {
    while (b->t->count < ops && !b->failed) {
        steady_step(b, rng_range(&b->r, BENCH_SIZE_MIN, BENCH_SIZE_MAX), 512, 1536);
    }
}

/* (2) Phases of 2048 operations; each phase requests one size class only, so
 * the population turns over from class to class (frees are random, so mostly
 * hit blocks of earlier phases). */
static void gen_churn(builder *b, size_t ops) {
    static const uint32_t classes[] = {16,  32,  48,  64,   96,   128,  192,  256,
                                       384, 512, 768, 1024, 1536, 2048, 3072, 4096};
    const uint32_t n = (uint32_t)(sizeof classes / sizeof classes[0]);
    uint32_t size = classes[0];
    for (size_t i = 0; b->t->count < ops && !b->failed; i++) {
        if (i % 2048 == 0) {
            size = classes[rng_below(&b->r, n)];
        }
        steady_step(b, size, 768, 2048);
    }
}

/* (3) Producer/consumer: a batch of 1..1024 blocks is allocated, then 1..1024
 * of the oldest blocks are freed in allocation order (a FIFO queue). */
static void gen_fifo(builder *b, size_t ops) {
    uint32_t *queue = malloc(BENCH_LIVE_BLOCKS_MAX * sizeof *queue);
    if (queue == NULL) {
        b->failed = true;
        return;
    }
    uint32_t head = 0, length = 0;
    while (b->t->count < ops && !b->failed) {
        uint32_t produce = rng_range(&b->r, 1, 1024);
        for (uint32_t i = 0; i < produce; i++) {
            uint32_t slot = alloc_block(b, rng_range(&b->r, BENCH_SIZE_MIN, BENCH_SIZE_MAX));
            if (slot == UINT32_MAX) {
                break;
            }
            queue[(head + length++) % BENCH_LIVE_BLOCKS_MAX] = slot;
        }
        uint32_t consume = rng_range(&b->r, 1, 1024);
        for (uint32_t i = 0; i < consume && length > 0; i++) {
            free_block(b, queue[head]);
            head = (head + 1) % BENCH_LIVE_BLOCKS_MAX;
            length--;
        }
    }
    while (length > 0 && !b->failed) { /* oldest first to the end */
        free_block(b, queue[head]);
        head = (head + 1) % BENCH_LIVE_BLOCKS_MAX;
        length--;
    }
    free(queue);
}

/*
 * (4) Adversarial fragmentation, in rounds:
 *   a. 1024 pairs (small 16..64 B, medium 512..4096 B) allocated alternately;
 *   b. every small block freed: 1024 holes walled in by live mediums;
 *   c. 512 blocks of 96..256 B, each too large for any hole, so each one is
 *      split off the big free block behind the walls;
 *   d. the mediums freed in random order, each merging with free neighbours
 *      (often on both sides), except every 8th, kept as a "pin" for two more
 *      rounds so that free space never fully coalesces again;
 *   e. the blocks of (c) freed.
 */
static void gen_fragment(builder *b, size_t ops) {
    enum { PAIRS = 1024, PIN_ROUNDS = 2 };
    uint32_t *small = malloc(PAIRS * sizeof *small);
    uint32_t *medium = malloc(PAIRS * sizeof *medium);
    uint32_t *later = malloc(PAIRS * sizeof *later);
    uint32_t *pins = malloc((PIN_ROUNDS + 1) * PAIRS / 8 * sizeof *pins);
    if (small == NULL || medium == NULL || later == NULL || pins == NULL) {
        b->failed = true;
        goto out;
    }
    uint32_t pin_count[PIN_ROUNDS + 1] = {0};
    for (uint32_t round = 0; b->t->count < ops && !b->failed; round++) {
        uint32_t *old = pins + (round % (PIN_ROUNDS + 1)) * (PAIRS / 8);
        for (uint32_t i = 0; i < pin_count[round % (PIN_ROUNDS + 1)]; i++) {
            free_block(b, old[i]);
        }
        pin_count[round % (PIN_ROUNDS + 1)] = 0;
        uint32_t pairs = 0;
        while (pairs < PAIRS) {
            uint32_t s = alloc_block(b, rng_range(&b->r, 16, 64));
            uint32_t m =
                s == UINT32_MAX ? s : alloc_block(b, rng_range(&b->r, 512, BENCH_SIZE_MAX));
            if (m == UINT32_MAX) {
                if (s != UINT32_MAX) {
                    free_block(b, s);
                }
                break;
            }
            small[pairs] = s;
            medium[pairs++] = m;
        }
        for (uint32_t i = 0; i < pairs; i++) {
            free_block(b, small[i]);
        }
        uint32_t later_count = 0;
        for (; later_count < PAIRS / 2; later_count++) {
            later[later_count] = alloc_block(b, rng_range(&b->r, 96, 256));
            if (later[later_count] == UINT32_MAX) {
                break;
            }
        }
        for (uint32_t left = pairs; left > 0; left--) { /* random order */
            uint32_t pick = rng_below(&b->r, left);
            uint32_t slot = medium[pick];
            medium[pick] = medium[left - 1];
            if (left % 8 == 0 && pin_count[round % (PIN_ROUNDS + 1)] < PAIRS / 8) {
                old[pin_count[round % (PIN_ROUNDS + 1)]++] = slot;
            } else {
                free_block(b, slot);
            }
        }
        for (uint32_t i = 0; i < later_count; i++) {
            free_block(b, later[i]);
        }
    }
out:
    free(small);
    free(medium);
    free(later);
    free(pins);
}

/*
 * (5) Mixed real-time: 95% of the requests are one of five fixed sizes (48, 64,
 * 128, 256, 1024 B), 5% any size; about 256 blocks live. Every 4096 steps a
 * burst of 256 frames (256 B or 1536 B) is allocated and released 1024 steps
 * later, in allocation order.
 */
static void gen_realtime(builder *b, size_t ops) {
    static const uint32_t sizes[] = {48, 64, 128, 256, 1024};
    static const uint32_t weight[] = {35, 25, 15, 10, 10}; /* percent; 5% any size */
    uint32_t burst[256];
    uint32_t burst_count = 0;
    for (size_t step = 0; b->t->count < ops && !b->failed; step++) {
        if (step % 4096 == 0) {
            for (burst_count = 0; burst_count < 256; burst_count++) {
                uint32_t size = rng_percent(&b->r, 50) ? 256 : 1536;
                burst[burst_count] = alloc_held(b, size);
                if (burst[burst_count] == UINT32_MAX) {
                    break;
                }
            }
        }
        if (step % 4096 == 1024) {
            for (uint32_t i = 0; i < burst_count; i++) {
                free_block(b, burst[i]);
            }
            burst_count = 0;
        }
        uint32_t pick = rng_below(&b->r, 100), size = 0;
        for (uint32_t i = 0, sum = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            sum += weight[i];
            if (pick < sum) {
                size = sizes[i];
                break;
            }
        }
        if (size == 0) {
            size = rng_range(&b->r, BENCH_SIZE_MIN, BENCH_SIZE_MAX);
        }
        steady_step(b, size, 192, 320);
    }
    for (uint32_t i = 0; i < burst_count && !b->failed; i++) {
        free_block(b, burst[i]);
    }
}

/* ---- public ---- */

static const char *const names[TRACE_COUNT] = {"random", "churn", "fifo", "fragment", "realtime"};

static const char *const abouts[TRACE_COUNT] = {
    "sizes uniform 16 B..4 KiB, random frees, ~1000 live",
    "one size class per phase of 2048 ops, class changes by phase, random frees",
    "producer/consumer: batches of 1..1024 allocated, freed oldest first",
    "adversarial: walled-in holes too small for later requests, pinned blocks",
    "95% five fixed sizes, 5% any; bursts of 256 frames every 4096 steps",
};

const char *bench_trace_name(bench_trace_id id) {
    return id < TRACE_COUNT ? names[id] : "?";
}

const char *bench_trace_about(bench_trace_id id) {
    return id < TRACE_COUNT ? abouts[id] : "?";
}

int bench_trace_generate(bench_trace *t, bench_trace_id id, size_t ops, uint64_t seed) {
    memset(t, 0, sizeof *t);
    t->id = id;
    t->name = bench_trace_name(id);
    builder b;
    if (!builder_init(&b, t, ops, seed)) {
        goto err;
    }
    switch (id) {
    case TRACE_RANDOM:
        gen_random(&b, ops);
        break;
    case TRACE_CHURN:
        gen_churn(&b, ops);
        break;
    case TRACE_FIFO:
        gen_fifo(&b, ops);
        break;
    case TRACE_FRAGMENT:
        gen_fragment(&b, ops);
        break;
    case TRACE_REALTIME:
        gen_realtime(&b, ops);
        break;
    default:
        goto err;
    }
    free_all(&b);
    if (b.failed || b.live_count != 0) {
        goto err;
    }
    builder_done(&b);
    return 0;
err:
    builder_done(&b);
    bench_trace_release(t);
    return -1;
}

void bench_trace_release(bench_trace *t) {
    free(t->ops);
    free(t->pool_class);
    t->ops = NULL;
    t->pool_class = NULL;
    t->count = 0;
}
