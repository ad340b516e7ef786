/*
 * traces.h - the allocation traces bench_alloc replays, generated before any
 * timing from a fixed seed so that every allocator sees exactly the same
 * sequence of requests.
 *
 * A trace is an array of operations on numbered slots: "allocate `size` bytes
 * into slot s" or "free the block in slot s". Every trace ends with all its
 * blocks freed, keeps at most BENCH_LIVE_BYTES_MAX requested bytes and
 * BENCH_LIVE_BLOCKS_MAX blocks live, and requests between BENCH_SIZE_MIN and
 * BENCH_SIZE_MAX bytes. The same (id, ops, seed) always gives the same trace,
 * on any machine: the generator uses its own PRNG (xoshiro256**, seeded by
 * splitmix64) and no floating point.
 */
#ifndef BENCH_ALLOC_TRACES_H
#define BENCH_ALLOC_TRACES_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_SIZE_MIN        16u
#define BENCH_SIZE_MAX        4096u
#define BENCH_LIVE_BYTES_MAX  (4u << 20)
#define BENCH_LIVE_BLOCKS_MAX 8192u

/* keel_pool serves a request from the pool of the next power of two at or
 * above it: 16, 32, ..., 4096 bytes. */
#define BENCH_POOL_CLASSES 9u

typedef enum bench_trace_id {
    TRACE_RANDOM,   /* uniform random sizes, random frees */
    TRACE_CHURN,    /* one size class at a time, the class changing by phases */
    TRACE_FIFO,     /* producer/consumer: batches allocated, freed oldest first */
    TRACE_FRAGMENT, /* adversarial: holes that later requests cannot use */
    TRACE_REALTIME, /* a few fixed sizes, periodic bursts */
    TRACE_COUNT
} bench_trace_id;

typedef struct bench_op {
    uint32_t size; /* bytes to allocate; 0 means free the block in `slot` */
    uint32_t slot; /* index into the replay's pointer table */
} bench_op;

typedef struct bench_trace {
    bench_trace_id id;
    const char *name;    /* one word, for tables and CSV */
    bench_op *ops;       /* count operations */
    uint8_t *pool_class; /* per operation: pool class of the block it allocates or frees */
    size_t count;
    size_t allocs;                           /* operations that allocate (as many free) */
    uint32_t slots;                          /* pointer-table entries the replay needs */
    size_t peak_live_bytes;                  /* highest sum of live requested bytes */
    uint32_t peak_live_blocks;               /* highest number of live blocks */
    uint32_t class_peak[BENCH_POOL_CLASSES]; /* highest live blocks per pool class */
} bench_trace;

/*
 * bench_trace_generate: builds trace `id` with about `ops` operations (at least
 * `ops`, plus the frees that empty it at the end) from `seed`.
 * Returns 0, or -1 if memory for the trace cannot be allocated (*t is then empty).
 */
int bench_trace_generate(bench_trace *t, bench_trace_id id, size_t ops, uint64_t seed);

/* bench_trace_release: frees the arrays of a generated trace. */
void bench_trace_release(bench_trace *t);

/* bench_trace_name: the name of trace `id` ("random", "churn", ...). */
const char *bench_trace_name(bench_trace_id id);

/* bench_trace_about: one line describing trace `id`. */
const char *bench_trace_about(bench_trace_id id);

/* bench_pool_class: the pool class for a request of `size` bytes (16..4096). */
unsigned bench_pool_class(uint32_t size);

/* bench_pool_class_size: the block size of pool class `cls`. */
uint32_t bench_pool_class_size(unsigned cls);

#endif /* BENCH_ALLOC_TRACES_H */
