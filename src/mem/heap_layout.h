/*
 * heap_layout.h - the keel heap's private layout, shared by heap.c (the
 * operations) and heap_check.c (the invariant checker). Not installed.
 *
 * Region layout, from its start:
 *
 *   [struct keel_heap + heads[fl_count * 32]] [block-start map] [blocks ...] [sentinel]
 *
 * The block-start map has one bit per 16-byte granule of the arena, 32 to a
 * 64-bit word: bits 0-31 are the granules', bits 32-63 the epoch the word was
 * written in. A word written in an earlier epoch reads as all clear, so a reset
 * (keel_heap_reset, keel_heap_renew) retires the whole map by advancing the
 * epoch instead of clearing it. The epoch is 32 bits and wraps: so that no word
 * can keep an old epoch until the counter comes round to it again, each reset
 * also rewrites the next words of a sweep through the map (refresh_map in
 * heap.c). The sweep covers the map in at most 2^31 epochs that do not wrap,
 * and of any 2^32 - 1 consecutive epochs at least 2^31 do not, so every word is
 * rewritten before its epoch can come round.
 *
 * A block at address A (16-aligned) is laid out as
 *
 *   A+0   prev_phys   address of the physically previous block; meaningful only
 *                     while that block is free (PREV_FREE set here). While the
 *                     previous block is allocated these 8 bytes are the tail of
 *                     its payload, so an allocated block costs 8 bytes of header.
 *   A+8   size_flags  block size (a multiple of 16, >= 32) | FREE | PREV_FREE
 *   A+16  payload     (allocated) or next_free, pprev (free)
 *
 * The block's size is the distance to the next block, so the usable payload of an
 * allocated block is size - 8. The arena ends with a 16-byte sentinel header of
 * size 0 that is never free, so every walk stops there without a bounds test.
 *
 * Size classes: sizes below 512 map to first-level row 0, one class per 16 bytes
 * (exact). A size s >= 512 with most significant bit m maps to row m - 8 and to
 * second-level class given by the 5 bits below m, so a class spans 1/32 of its
 * row: good fit may pass over a block up to 1/32 (about 3%) larger than a
 * request, but never hands out more than the request's own block plus 16.
 * Classes are numbered row * 32 + class; class_of() computes that number without
 * a branch, since msb(s | 512) is 9 for every small size.
 *
 * Free lists are singly linked forward (next_free) and end at null_block; each
 * free block also holds pprev, the address of the pointer that points at it:
 * its list's slot in heads[] if it is first, else its predecessor's next_free
 * (the Linux hlist layout). Unlinking any block is then two stores through
 * pointers of the type they point to, with no need to know its class; the
 * class is recovered from the slot's address only when a list becomes empty
 * (pprev points into heads[] and next_free is the terminator), to clear its
 * bitmap bits.
 *
 * A class's bit, not its head, says whether its list is empty: the head of an
 * empty class is stale (whatever was last stored there, or anything at all in a
 * renewed region) and is neither read nor written through until an insert sets
 * the bit. So init, reset and renew write no heads, and renew's cost does not
 * grow with the number of rows.
 */
#ifndef KEEL_HEAP_LAYOUT_H
#define KEEL_HEAP_LAYOUT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/mem.h"

enum {
    ALIGN_LOG2 = 4,
    GRANULE = 1 << ALIGN_LOG2, /* 16: block sizes and addresses are multiples */
    SL_LOG2 = 5,               /* 32 second-level classes per row */
    SL_COUNT = 1 << SL_LOG2,
    FL_SHIFT = SL_LOG2 + ALIGN_LOG2, /* 9: sizes below 2^9 are exact classes */
    SMALL_LIMIT = 1 << FL_SHIFT,
    ARENA_LOG2_MAX = 44, /* arenas are kept below 2^44 bytes */
    /* Rows that can hold a block (< 2^44), plus one for a rounded request. */
    FL_ROWS_MAX = ARENA_LOG2_MAX - FL_SHIFT + 2,
    MIN_BLOCK = 32, /* a free block must hold its links and the next prev_phys */
    PAYLOAD_OFFSET = 16,
    ALLOC_OVERHEAD = 8, /* the size word */
};

#define FLAG_FREE      ((size_t)1)
#define FLAG_PREV_FREE ((size_t)2)
#define FLAG_MASK      ((size_t)(GRANULE - 1))

typedef struct block {
    struct block *prev_phys;
    size_t size_flags;
    struct block *next_free;
    struct block **pprev; /* the pointer that points at this block */
} block;

struct keel_heap {
    uint64_t fl_bitmap;              /* bit f set iff sl_bitmap[f] != 0 */
    uint32_t sl_bitmap[FL_ROWS_MAX]; /* bit s of row f set iff list f * 32 + s is non-empty */
    block null_block;                /* list terminator: no NULL tests on the lists */
    unsigned char *arena;            /* first block */
    unsigned char *arena_end;        /* the sentinel */
    uint64_t *start_map; /* bit i % 32 of word i / 32 set iff a block starts at arena + 16 i */
    uint64_t map_tag;    /* the current epoch << 32: words whose top half differs read as 0 */
    size_t capacity;     /* arena_end - arena */
    size_t in_use;
    size_t peak_in_use;
    uint64_t allocations;
    uint64_t frees;
    uint64_t failed;
    size_t heads_bytes; /* fl_count * 32 * sizeof(block *) */
    unsigned fl_count;  /* rows of heads that can hold a block */
    block *heads[];     /* free lists by class number; stale while its bit is clear */
};

static_assert(sizeof(block) == MIN_BLOCK, "a free block's header is exactly the minimum block");
static_assert(offsetof(block, size_flags) + sizeof(size_t) == PAYLOAD_OFFSET,
              "the payload starts right after the size word");
static_assert(PAYLOAD_OFFSET % KEEL_HEAP_ALIGN == 0, "payloads are aligned");
static_assert(sizeof(struct keel_heap) % GRANULE == 0, "the heads rows start 16-aligned");
static_assert(FL_ROWS_MAX <= 64, "the first-level bitmap is one 64-bit word");

static inline size_t block_size(const block *b) {
    return b->size_flags & ~FLAG_MASK;
}

static inline int block_is_free(const block *b) {
    return (b->size_flags & FLAG_FREE) != 0;
}

static inline block *block_at(void *address) {
    return (block *)address;
}

static inline block *block_next(const block *b) {
    return block_at((unsigned char *)b + block_size(b));
}

static inline block *block_from_payload(const void *payload) {
    return block_at((unsigned char *)payload - PAYLOAD_OFFSET);
}

static inline void *block_payload(block *b) {
    return (unsigned char *)b + PAYLOAD_OFFSET;
}

/* The index of the most significant set bit; x != 0. (clz ^ 63 is one bsr.) */
static inline unsigned msb64(uint64_t x) {
    return (unsigned)__builtin_clzll(x) ^ 63u;
}

/* The class number a block of `size` bytes is filed under (size >= MIN_BLOCK). */
static inline unsigned class_of(size_t size) {
    unsigned m = msb64(size | SMALL_LIMIT);
    return (unsigned)(size >> (m - SL_LOG2)) + ((m - FL_SHIFT) << SL_LOG2);
}

/* The same, split into row and class within the row. */
static inline void size_class(size_t size, unsigned *fl, unsigned *sl) {
    unsigned index = class_of(size);
    *fl = index >> SL_LOG2;
    *sl = index & (SL_COUNT - 1);
}

/* The smallest block size filed under class number `index`. */
static inline size_t class_min_size(unsigned index) {
    unsigned fl = index >> SL_LOG2;
    size_t sl = index & (SL_COUNT - 1);
    if (fl == 0) {
        return sl << ALIGN_LOG2;
    }
    unsigned m = fl + FL_SHIFT - 1;
    return ((size_t)1 << m) | (sl << (m - SL_LOG2));
}

/* Block-start map: one bit per 16-byte granule of the arena, set exactly where a
 * block begins. Only the allocator writes it, so where a bit is set the header
 * is genuine; where it is clear, whatever bytes lie there are no header. */
enum {
    MAP_BITS_LOG2 = 5, /* 32 granule bits per map word; the top half is its epoch */
    MAP_BITS = 1 << MAP_BITS_LOG2,
};

static inline size_t start_index(const struct keel_heap *heap, const block *b) {
    return (size_t)((const unsigned char *)b - heap->arena) >> ALIGN_LOG2;
}

/* 64-bit words in the block-start map, which ends where the arena begins. */
static inline size_t map_words(const struct keel_heap *heap) {
    return (size_t)(heap->arena - (const unsigned char *)heap->start_map) / sizeof(uint64_t);
}

/* The granule bits of map word w, as of the current epoch. */
static inline uint32_t map_bits(const struct keel_heap *heap, size_t w) {
    uint64_t word = heap->start_map[w];
    return (word >> MAP_BITS) == (heap->map_tag >> MAP_BITS) ? (uint32_t)word : 0;
}

static inline int start_test(const struct keel_heap *heap, const block *b) {
    size_t i = start_index(heap, b);
    /* The tag's low half is 0: the word's bits pass, and its epoch must cancel. */
    uint64_t x = heap->start_map[i >> MAP_BITS_LOG2] ^ heap->map_tag;
    return (int)(((x >> (i & (MAP_BITS - 1))) & 1u) & ((x >> MAP_BITS) == 0));
}

#endif /* KEEL_HEAP_LAYOUT_H */
