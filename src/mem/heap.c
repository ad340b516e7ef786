/*
 * heap.c - keel's O(1) heap: two-level segregated fit (TLSF class).
 *
 * Layout and size classes are described in heap_layout.h. Every operation below
 * runs a constant number of steps: at most two bit scans to find a class, at
 * most two free-list unlinks and two links, and a constant amount of header
 * arithmetic. Nothing loops over blocks or classes, so the worst case does not
 * grow with the heap size or the number of blocks (README.md lists the measured
 * worst-case instruction counts).
 */
#include <stdbool.h>
#include <string.h>

#include "mem/heap_layout.h"

#define LIKELY(x)   __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- free lists ---- */

/* ~(1 << n) as a rotation of ~1: compilers emit one rol instead of shl and not. */
static inline uint32_t all_but_bit32(unsigned n) {
    return (0xFFFFFFFEu << n) | (0xFFFFFFFEu >> ((32u - n) & 31u));
}

static inline uint64_t all_but_bit64(unsigned n) {
    return (~(uint64_t)1 << n) | (~(uint64_t)1 >> ((64u - n) & 63u));
}

static inline void bits_clear(keel_heap *heap, unsigned fl, unsigned sl) {
    heap->sl_bitmap[fl] &= all_but_bit32(sl);
    if (heap->sl_bitmap[fl] == 0) {
        heap->fl_bitmap &= all_but_bit64(fl);
    }
}

/* The head of an empty class is stale (heap_layout.h): its bit, not its
 * pointer, says the list is empty. */
static inline void list_insert(keel_heap *heap, block *b, size_t size) {
    unsigned index = class_of(size);
    unsigned fl = index >> SL_LOG2;
    assert(fl < heap->fl_count);
    uint32_t row = heap->sl_bitmap[fl];
    uint32_t bit = (uint32_t)1 << (index & (SL_COUNT - 1));
    block *head = (row & bit) != 0 ? heap->heads[index] : &heap->null_block;
    b->next_free = head;
    head->pprev = &b->next_free;
    b->pprev = &heap->heads[index];
    heap->heads[index] = b;
    heap->fl_bitmap |= (uint64_t)1 << fl;
    heap->sl_bitmap[fl] = row | bit;
}

/* Unlinks b from whichever list holds it: two stores, no class computed unless
 * the list becomes empty (b was first, and its successor is the terminator). */
static inline void list_remove(keel_heap *heap, block *b) {
    block *next = b->next_free;
    block **pprev = b->pprev;
    *pprev = next;
    next->pprev = pprev;
    if (next == &heap->null_block) {
        uintptr_t slot = (uintptr_t)pprev - (uintptr_t)heap->heads;
        if (slot < heap->heads_bytes) {
            unsigned index = (unsigned)(slot / sizeof(block *));
            bits_clear(heap, index >> SL_LOG2, index & (SL_COUNT - 1));
        }
    }
}

/*
 * Takes a free block of at least `need` bytes off its list, or returns NULL.
 * Good fit: the request is rounded up to the next class boundary, so any block
 * of the first non-empty class at or above it is large enough; no list is
 * searched. Rounding adds the class width less one before shifting: if that
 * carries into the next power of two, the class number lands on the next row's
 * first class, which is exactly the next class. Two bit scans at most.
 */
static inline block *take_fitting(keel_heap *heap, size_t need) {
    unsigned m = msb64(need | SMALL_LIMIT);
    unsigned shift = m - SL_LOG2;
    size_t rounded = need + ((size_t)1 << shift) - 1;
    unsigned index = (unsigned)(rounded >> shift) + ((m - FL_SHIFT) << SL_LOG2);
    unsigned fl = index >> SL_LOG2;
    unsigned sl = index & (SL_COUNT - 1);
    uint32_t sl_map = heap->sl_bitmap[fl] & (~(uint32_t)0 << sl);
    if (sl_map == 0) {
        uint64_t fl_map = heap->fl_bitmap & (~(uint64_t)0 << (fl + 1));
        if (UNLIKELY(fl_map == 0)) {
            return NULL;
        }
        fl = (unsigned)__builtin_ctzll(fl_map);
        sl_map = heap->sl_bitmap[fl];
    }
    sl = (unsigned)__builtin_ctz(sl_map);
    index = (fl << SL_LOG2) | sl;
    block *b = heap->heads[index];
    block *next = b->next_free;
    heap->heads[index] = next;
    next->pprev = &heap->heads[index];
    if (next == &heap->null_block) {
        bits_clear(heap, fl, sl);
    }
    return b;
}

/* ---- block-start map and accounting ---- */

/* A split creates a block start; a merge erases the absorbed block's. A word of
 * an earlier epoch is all clear: setting a bit in it starts it afresh in this
 * epoch (a conditional move), while clearing a bit leaves it as clear as it was,
 * so start_clear needs no test. */
static inline void start_set(keel_heap *heap, const block *b) {
    size_t i = start_index(heap, b);
    uint64_t *word = &heap->start_map[i >> MAP_BITS_LOG2];
    uint64_t value = *word;
    value = ((value ^ heap->map_tag) >> MAP_BITS) == 0 ? value : heap->map_tag;
    *word = value | (uint64_t)1 << (i & (MAP_BITS - 1));
}

static inline void start_clear(keel_heap *heap, const block *b) {
    size_t i = start_index(heap, b);
    heap->start_map[i >> MAP_BITS_LOG2] &= ~((uint64_t)1 << (i & (MAP_BITS - 1)));
}

static inline void account_grow(keel_heap *heap, size_t bytes) {
    heap->in_use += bytes;
    if (heap->in_use > heap->peak_in_use) {
        heap->peak_in_use = heap->in_use;
    }
}

/*
 * Hands out the free block b (already off its list) for a block of `need` bytes:
 * the tail is split off as a new free block when it can stand alone, otherwise
 * the whole block is used. b's physical predecessor is allocated (free blocks
 * never touch), except after an aligned split, which passes its prev flag.
 */
static inline void *use_block(keel_heap *heap, block *b, size_t need, size_t prev_flag) {
    size_t size = block_size(b);
    size_t rest = size - need;
    if (rest >= MIN_BLOCK) {
        block *tail = block_at((unsigned char *)b + need);
        tail->size_flags = rest | FLAG_FREE;
        block_at((unsigned char *)tail + rest)->prev_phys = tail;
        start_set(heap, tail);
        list_insert(heap, tail, rest);
        size = need;
    } else {
        block_at((unsigned char *)b + size)->size_flags &= ~FLAG_PREV_FREE;
    }
    b->size_flags = size | prev_flag;
    account_grow(heap, size);
    heap->allocations++;
    return block_payload(b);
}

/* Block size for a request, header included; size <= capacity < 2^44, so no
 * overflow. */
static inline size_t block_size_for(size_t size) {
    size_t need = (size + ALLOC_OVERHEAD + GRANULE - 1) & ~(size_t)(GRANULE - 1);
    return need < MIN_BLOCK ? MIN_BLOCK : need;
}

/* A live block of this heap starts at payload p: exact, O(1), through the
 * block-start map. */
static keel_status check_live(const keel_heap *heap, const void *p) {
    /* Integer comparison: p may point anywhere, even outside any object. */
    uintptr_t c = (uintptr_t)p;
    if (c < (uintptr_t)heap->arena + PAYLOAD_OFFSET || c >= (uintptr_t)heap->arena_end ||
        (c & (GRANULE - 1)) != 0) {
        return KEEL_ENOTOWNED;
    }
    const block *b = block_from_payload(p);
    if (!start_test(heap, b)) {
        return KEEL_ENOTOWNED;
    }
    return block_is_free(b) ? KEEL_EDOUBLEFREE : KEEL_OK;
}

/* ---- init and reset ---- */

static void lay_out_free_arena(keel_heap *heap) {
    block *first = block_at(heap->arena);
    block *sentinel = block_at(heap->arena_end);
    first->size_flags = heap->capacity | FLAG_FREE;
    sentinel->prev_phys = first;
    sentinel->size_flags = FLAG_PREV_FREE; /* size 0, never free */
    start_set(heap, first);
    list_insert(heap, first, heap->capacity);
}

/* Where init puts the control block, the block-start map and the arena. */
typedef struct heap_layout {
    unsigned fl_count;
    size_t control;   /* struct keel_heap and its heads rows, rounded to 16 */
    size_t map_bytes; /* block-start map, rounded to 16 */
    size_t capacity;  /* arena bytes, a multiple of 16 */
} heap_layout;

/* Rows of free lists a block of `size` bytes needs. */
static unsigned rows_for(size_t size) {
    return (class_of(size) >> SL_LOG2) + 1;
}

/* The layout with `fl_count` rows; false if the region cannot hold one block. */
static bool layout_with_rows(size_t size, unsigned fl_count, heap_layout *layout) {
    size_t control = sizeof(keel_heap) + (size_t)fl_count * SL_COUNT * sizeof(block *);
    control = (control + GRANULE - 1) & ~(size_t)(GRANULE - 1);
    /* After the control block: the map, the arena and the 16-byte sentinel. */
    if (size < control + 2 * GRANULE + MIN_BLOCK) {
        return false;
    }
    size_t rest = size - control - GRANULE;
    size_t map_bytes = ((rest / GRANULE + MAP_BITS - 1) / MAP_BITS) * sizeof(uint64_t);
    map_bytes = (map_bytes + GRANULE - 1) & ~(size_t)(GRANULE - 1);
    if (rest < map_bytes + MIN_BLOCK) {
        return false;
    }
    layout->fl_count = fl_count;
    layout->control = control;
    layout->map_bytes = map_bytes;
    layout->capacity = (rest - map_bytes) & ~(size_t)(GRANULE - 1);
    return true;
}

/*
 * The layout of a region of `size` bytes; false if it cannot hold one block.
 * Each row of free lists costs 256 bytes, so use the fewest rows that still
 * cover the arena they leave (fewer rows, larger arena: at most 36 tries).
 */
static bool compute_layout(size_t size, heap_layout *layout) {
    if (size > ((size_t)1 << ARENA_LOG2_MAX)) {
        size = (size_t)1 << ARENA_LOG2_MAX;
    }
    bool found = false;
    for (unsigned rows = rows_for(size); rows >= 1; rows--) {
        heap_layout candidate;
        if (layout_with_rows(size, rows, &candidate) && rows_for(candidate.capacity) <= rows) {
            *layout = candidate;
            found = true;
        } else if (found) {
            break;
        }
    }
    return found;
}

/* The region's checks and layout, shared by init and renew. */
static keel_status check_region(keel_heap **out, void *region, size_t size, heap_layout *layout) {
    if (out == NULL) {
        return KEEL_EINVAL;
    }
    *out = NULL;
    if (region == NULL) {
        return KEEL_EINVAL;
    }
    if (((uintptr_t)region & (KEEL_HEAP_REGION_ALIGN - 1)) != 0) {
        return KEEL_EALIGN;
    }
    return compute_layout(size, layout) ? KEEL_OK : KEEL_ETOOSMALL;
}

/*
 * Writes the control block of a heap laid out as `layout`, all lists empty,
 * reading nothing in the region: a constant number of stores for every heap
 * size, since the heads of empty lists are left as they are (heap_layout.h).
 */
__attribute__((noinline)) static void init_control(keel_heap *heap, const heap_layout *layout,
                                                   uint64_t map_tag) {
    /* Regions are 16-aligned: told so, gcc clears the rows with a constant
     * count (a rep stos of 18 words) that keel-wcet can bound. */
    heap = __builtin_assume_aligned(heap, KEEL_HEAP_REGION_ALIGN);
    heap->fl_bitmap = 0;
    memset(heap->sl_bitmap, 0, sizeof heap->sl_bitmap);
    heap->null_block.prev_phys = NULL;
    heap->null_block.size_flags = 0;
    heap->null_block.next_free = &heap->null_block;
    heap->null_block.pprev = &heap->null_block.next_free;
    heap->start_map = (uint64_t *)((unsigned char *)heap + layout->control);
    heap->map_tag = map_tag;
    heap->arena = (unsigned char *)heap->start_map + layout->map_bytes;
    heap->capacity = layout->capacity;
    heap->arena_end = heap->arena + layout->capacity;
    heap->in_use = 0;
    heap->peak_in_use = 0;
    heap->allocations = 0;
    heap->frees = 0;
    heap->failed = 0;
    heap->fl_count = layout->fl_count;
    heap->heads_bytes = (size_t)layout->fl_count * SL_COUNT * sizeof(block *);
    /* The heads are not written: every bit is clear, so every head is stale. */
}

/*
 * After the epoch has advanced: rewrites the next map words of a sweep that
 * visits every word within 2^31 epochs (unless the epoch wraps in between), so
 * that no word is left holding an epoch the 32-bit counter could come round to
 * (heap_layout.h). The sweep's position is a function of the epoch alone,
 * which is all renew can trust: `step` words per epoch, step = 1 unless the
 * map has 2^31 words or more (an arena of 2^40 bytes); at most 17 for the
 * largest arena (2^44 bytes).
 */
__attribute__((noinline)) static void refresh_map(keel_heap *heap) {
    size_t words = map_words(heap);
    size_t step = (words >> 31) + 1;
    size_t at = (size_t)((uint64_t)(heap->map_tag >> MAP_BITS) * step % words);
    for (size_t k = 0; k < step; k++) {
        heap->start_map[at] = heap->map_tag;
        at = at + 1 == words ? 0 : at + 1;
    }
}

keel_status keel_heap_init(keel_heap **out, void *region, size_t size) {
    heap_layout layout;
    keel_status status = check_region(out, region, size, &layout);
    if (status != KEEL_OK) {
        return status;
    }
    keel_heap *heap = (keel_heap *)region;
    init_control(heap, &layout, 0);
    /* Epoch 0: the zeroed words are current and clear. */
    memset(heap->start_map, 0, layout.map_bytes);
    lay_out_free_arena(heap);
    *out = heap;
    return KEEL_OK;
}

/* The slow half of renew: the region's epoch is not the one the caller
 * recorded, so the map may hold words of any epoch. Clears it: O(size / 512). */
__attribute__((noinline, cold)) static void clear_map(keel_heap *heap) {
    memset(heap->start_map, 0, map_words(heap) * sizeof(uint64_t));
}

keel_status keel_heap_renew(keel_heap **out, void *region, size_t size, uint32_t *epoch) {
    if (epoch == NULL) {
        if (out != NULL) {
            *out = NULL;
        }
        return KEEL_EINVAL;
    }
    heap_layout layout;
    keel_status status = check_region(out, region, size, &layout);
    if (status != KEEL_OK) {
        return status;
    }
    keel_heap *heap = (keel_heap *)region;
    /* The one word read from the region: the heap's epoch, if still intact. */
    uint64_t found = heap->map_tag;
    uint64_t tag = (uint64_t)(*epoch + 1u) << MAP_BITS;
    init_control(heap, &layout, tag);
    if (found != (uint64_t)*epoch << MAP_BITS) {
        clear_map(heap);
    }
    refresh_map(heap);
    *epoch += 1u;
    lay_out_free_arena(heap);
    *out = heap;
    return KEEL_OK;
}

uint32_t keel_heap_epoch(const keel_heap *heap) {
    return heap == NULL ? 0 : (uint32_t)(heap->map_tag >> MAP_BITS);
}

void keel_heap_reset(keel_heap *heap) {
    if (heap == NULL) {
        return;
    }
    /* Clear bits leave every head stale: nothing else is written. */
    memset(heap->sl_bitmap, 0, sizeof heap->sl_bitmap);
    heap->fl_bitmap = 0;
    heap->map_tag += (uint64_t)1 << MAP_BITS; /* wraps to epoch 0 after 2^32 - 1 */
    refresh_map(heap);
    heap->in_use = 0;
    heap->peak_in_use = 0;
    heap->frees = heap->allocations; /* every live block is freed */
    lay_out_free_arena(heap);
}

/* ---- allocation ---- */

keel_status keel_heap_alloc(keel_heap *heap, size_t size, void **out) {
    if (UNLIKELY(heap == NULL || out == NULL)) {
        if (out != NULL) {
            *out = NULL;
        }
        return KEEL_EINVAL;
    }
    /* size - 1 wraps for 0, so one comparison refuses both 0 and oversize. */
    if (UNLIKELY(size - 1 >= heap->capacity)) {
        *out = NULL;
        heap->failed++;
        return KEEL_ERANGE;
    }
    size_t need = block_size_for(size);
    block *b = take_fitting(heap, need);
    if (UNLIKELY(b == NULL)) {
        *out = NULL;
        heap->failed++;
        return KEEL_ENOMEM;
    }
    *out = use_block(heap, b, need, 0);
    return KEEL_OK;
}

keel_status keel_heap_alloc_aligned(keel_heap *heap, size_t size, size_t align, void **out) {
    if (out != NULL) {
        *out = NULL;
    }
    if (heap == NULL || out == NULL) {
        return KEEL_EINVAL;
    }
    if (align == 0 || (align & (align - 1)) != 0) {
        return KEEL_EALIGN;
    }
    if (align <= KEEL_HEAP_ALIGN) {
        return keel_heap_alloc(heap, size, out);
    }
    if (size == 0 || size > heap->capacity || align > heap->capacity - size) {
        heap->failed++;
        return KEEL_ERANGE;
    }
    /* A block this large holds the request at an aligned payload whatever its
     * address, with the leading gap either 0 or a free block (>= MIN_BLOCK):
     * the gap is at most align + 16 (see below) and need <= size + 8 + 15. */
    size_t need = block_size_for(size);
    block *b = take_fitting(heap, need + align + MIN_BLOCK);
    if (b == NULL) {
        heap->failed++;
        return KEEL_ENOMEM;
    }
    uintptr_t payload = (uintptr_t)block_payload(b);
    size_t gap = (size_t)(((payload + align - 1) & ~(uintptr_t)(align - 1)) - payload);
    if (gap != 0 && gap < MIN_BLOCK) {
        gap += align; /* gap was 16: too small to be a block of its own */
    }
    if (gap == 0) {
        *out = use_block(heap, b, need, 0);
        return KEEL_OK;
    }
    size_t size_b = block_size(b);
    block *aligned = block_at((unsigned char *)b + gap);
    aligned->prev_phys = b;
    aligned->size_flags = size_b - gap; /* use_block sets the final flags */
    b->size_flags = gap | FLAG_FREE;
    block_next(aligned)->prev_phys = aligned;
    start_set(heap, aligned);
    list_insert(heap, b, gap);
    *out = use_block(heap, aligned, need, FLAG_PREV_FREE);
    return KEEL_OK;
}

/* ---- free ---- */

static inline void release_block(keel_heap *heap, block *b) {
    size_t size = block_size(b);
    heap->in_use -= size;
    heap->frees++;
    block *next = block_at((unsigned char *)b + size);
    if (b->size_flags & FLAG_PREV_FREE) {
        block *prev = b->prev_phys;
        list_remove(heap, prev);
        start_clear(heap, b);
        size += block_size(prev);
        b = prev;
    }
    if (next->size_flags & FLAG_FREE) {
        list_remove(heap, next);
        start_clear(heap, next);
        size += block_size(next);
        next = block_at((unsigned char *)b + size);
    }
    /* b's predecessor is allocated now: it was, or b merged into it. */
    b->size_flags = size | FLAG_FREE;
    next->size_flags |= FLAG_PREV_FREE;
    next->prev_phys = b;
    list_insert(heap, b, size);
}

void keel_heap_free(keel_heap *heap, void *ptr) {
    if (ptr == NULL) {
        return;
    }
    assert(check_live(heap, ptr) == KEEL_OK);
    release_block(heap, block_from_payload(ptr));
}

keel_status keel_heap_free_checked(keel_heap *heap, void *ptr) {
    if (heap == NULL || ptr == NULL) {
        return KEEL_EINVAL;
    }
    keel_status status = check_live(heap, ptr);
    if (status != KEEL_OK) {
        return status;
    }
    release_block(heap, block_from_payload(ptr));
    return KEEL_OK;
}

size_t keel_heap_usable_size(const keel_heap *heap, const void *ptr) {
    if (heap == NULL || ptr == NULL || check_live(heap, ptr) != KEEL_OK) {
        return 0;
    }
    return block_size(block_from_payload(ptr)) - ALLOC_OVERHEAD;
}

/* ---- realloc ---- */

/*
 * Shrinks or grows the allocated block b in place to `need` bytes, given that
 * `avail` bytes (b itself, plus its free successor if the caller unlinked it)
 * are at b's address. The tail beyond `need` becomes a free block, merged with
 * a free successor, or stays inside b when it is too small to stand alone.
 */
static void resize_in_place(keel_heap *heap, block *b, size_t avail, size_t need) {
    size_t old = block_size(b);
    size_t prev_flag = b->size_flags & FLAG_PREV_FREE;
    block *next = block_at((unsigned char *)b + avail);
    size_t rest = avail - need;
    if (next->size_flags & FLAG_FREE) {
        /* Only when shrinking next to a free block: merge the tail into it. */
        list_remove(heap, next);
        start_clear(heap, next);
        rest += block_size(next);
        next = block_at((unsigned char *)next + block_size(next));
    }
    size_t size = need;
    if (rest >= MIN_BLOCK) {
        block *tail = block_at((unsigned char *)b + need);
        tail->size_flags = rest | FLAG_FREE;
        next->size_flags |= FLAG_PREV_FREE;
        next->prev_phys = tail;
        start_set(heap, tail);
        list_insert(heap, tail, rest);
    } else {
        size = avail; /* rest < MIN_BLOCK, and next is allocated: keep it in b */
        next->size_flags &= ~FLAG_PREV_FREE;
    }
    b->size_flags = size | prev_flag;
    if (size >= old) {
        account_grow(heap, size - old);
    } else {
        heap->in_use -= old - size;
    }
}

keel_status keel_heap_realloc(keel_heap *heap, void *ptr, size_t size, void **out) {
    if (heap == NULL || out == NULL) {
        if (out != NULL) {
            *out = NULL;
        }
        return KEEL_EINVAL;
    }
    if (ptr == NULL) {
        return keel_heap_alloc(heap, size, out);
    }
    *out = NULL;
    keel_status status = check_live(heap, ptr);
    if (status != KEEL_OK) {
        return status;
    }
    if (size - 1 >= heap->capacity) {
        heap->failed++;
        return KEEL_ERANGE;
    }
    block *b = block_from_payload(ptr);
    size_t old = block_size(b);
    size_t need = block_size_for(size);
    if (need <= old) {
        resize_in_place(heap, b, old, need);
        *out = ptr;
        return KEEL_OK;
    }
    block *next = block_at((unsigned char *)b + old);
    if ((next->size_flags & FLAG_FREE) && old + block_size(next) >= need) {
        size_t avail = old + block_size(next);
        list_remove(heap, next);
        start_clear(heap, next);
        /* The successor is now part of b; what follows it was marked PREV_FREE. */
        resize_in_place(heap, b, avail, need);
        *out = ptr;
        return KEEL_OK;
    }
    void *moved;
    status = keel_heap_alloc(heap, size, &moved);
    if (status != KEEL_OK) {
        return status;
    }
    memcpy(moved, ptr, old - ALLOC_OVERHEAD);
    release_block(heap, b);
    *out = moved;
    return KEEL_OK;
}

/* ---- diagnostics and sizing ---- */

void keel_heap_get_stats(const keel_heap *heap, keel_heap_stats *out) {
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof *out);
    if (heap == NULL) {
        return;
    }
    out->capacity = heap->capacity;
    out->in_use = heap->in_use;
    out->peak_in_use = heap->peak_in_use;
    out->live_blocks = (size_t)(heap->allocations - heap->frees);
    out->allocations = heap->allocations;
    out->frees = heap->frees;
    out->failed = heap->failed;
    if (heap->fl_bitmap != 0) {
        unsigned fl = msb64(heap->fl_bitmap);
        unsigned sl = msb64(heap->sl_bitmap[fl]);
        /* The largest block: walk the top class's list (the only non-O(1) step). */
        size_t largest = 0;
        for (const block *b = heap->heads[fl * SL_COUNT + sl]; b != &heap->null_block;
             b = b->next_free) {
            if (block_size(b) > largest) {
                largest = block_size(b);
            }
        }
        out->largest_free_block = largest - ALLOC_OVERHEAD;
        /* Good fit rounds a request up to its class's upper boundary, so the
         * largest request that succeeds is the top class's smallest block. */
        out->largest_request = class_min_size(fl * SL_COUNT + sl) - ALLOC_OVERHEAD;
    }
}

/*
 * The sizing bound of docs/memory.md. An allocation of r <= n fails only if no
 * free block is >= S(n), the smallest block size the good-fit search accepts for
 * n; so each free block is at most S(n) - 16. Free blocks never touch, so there
 * are at most k + 1 of them for k live blocks, and k <= (M - m) / m since the
 * failing request (>= m) fits in M beside them. Each live block is at most
 * B(r) + 16 <= r + o(m) bytes, where o(m) = 48 - m for m < 9 (such requests take
 * a 32-byte block) and 39 otherwise. Hence when a request fails the arena is at
 * most (M - m) + o(m) k + (k + 1)(S(n) - 16) bytes; an arena larger than that
 * never sees a request fail.
 */
size_t keel_heap_region_size_for(size_t max_live, size_t max_request, size_t min_request) {
    if (min_request == 0 || min_request > max_request || max_request > max_live ||
        max_live >= ((size_t)1 << ARENA_LOG2_MAX)) {
        return 0;
    }
    size_t fit = block_size_for(max_request);
    if (fit >= SMALL_LIMIT) {
        fit = class_min_size(class_of(fit + ((size_t)1 << (msb64(fit) - SL_LOG2)) - 1)); /* S(n) */
    }
    size_t k = (max_live - min_request) / min_request;
    size_t overhead = min_request < 9 ? 48 - min_request : 39; /* o(m) */
    /* Every operand is below 2^44: 128-bit arithmetic cannot overflow. */
    unsigned __int128 bound = (unsigned __int128)(max_live - min_request) +
                              (unsigned __int128)overhead * k +
                              (unsigned __int128)(k + 1) * (fit - GRANULE);
    unsigned __int128 arena = (bound + GRANULE) & ~(unsigned __int128)(GRANULE - 1);
    if (arena >= ((unsigned __int128)1 << ARENA_LOG2_MAX) / 2) {
        return 0;
    }
    /* A larger region can leave a smaller arena: when its arena needs one more
     * row of list heads (256 bytes). So ask for one row more than the bound,
     * and every region at least as large as the one returned qualifies. Start
     * below the answer (the map is at least want / 64 bytes) and add each
     * shortfall: the layout grows by at most 1/64 of what is added, so this
     * converges in a few steps. */
    size_t want = (size_t)arena + SL_COUNT * sizeof(block *);
    size_t region = want + want / 64 + sizeof(keel_heap) + 2 * GRANULE;
    heap_layout layout;
    for (int step = 0; step < 16; step++) {
        size_t capacity = compute_layout(region, &layout) ? layout.capacity : 0;
        if (capacity >= want) {
            return region;
        }
        region += (want - capacity + GRANULE - 1) & ~(size_t)(GRANULE - 1);
    }
    return 0;
}
