/*
 * graph.c - keel_ckpt_take: a breadth-first copy of an object graph into a
 * buffer, in the manner of Cheney's copying collector.
 *
 * Copying an object appends a record; the records not yet scanned are the work
 * queue, so no stack is needed. To copy in depth-first order where it can (the
 * order structures are usually built and read in, so reads of the originals
 * stream and each copy is scanned while it is still in cache), scanning a
 * record scans each record it appends at once, up to EAGER_DEPTH levels; the
 * rest wait in the queue, marked unscanned in their header's scratch word. Scanning a record
 * rewrites each pointer in the copy: an owned pointer's target is appended (it is reached exactly
 * once, the descriptors say so); a shared pointer's target is appended only if its header's mark is
 * not this checkpoint's number, and the mark and the record number are written into the header, so
 * every later pointer to it reads its record number there: one copy per shared object, found in
 * O(1), no hash set. Checkpoint numbers are never reused, so marks need no clearing, and a
 * checkpoint that fails half-way leaves marks no later checkpoint will read.
 */
#include <stdatomic.h>

#include "ckpt/internal.h"

static _Atomic uint64_t next_number = 1;

#define INLINE static inline __attribute__((always_inline))

/* Depth-first scanning recurses at most this deep (a few KiB of stack). */
enum { EAGER_DEPTH = 48, PENDING = 1 };

typedef struct taker {
    const keel_ckpt_schema *schema;
    const keel_ckpt_options *options;
    unsigned char *base;
    unsigned char *top;  /* the end of the records so far */
    uint64_t *table_low; /* the lowest offset written: the table grows down to here */
    uint64_t *table_end; /* offsets are written downward from here */
    uint64_t count;      /* records so far */
    uint64_t pending;    /* records appended and left for the queue */
    uint64_t shared;
    uint64_t edges;
    uint64_t number;
    keel_status error; /* why append failed */
} taker;

/* Copies n bytes to a record payload, which has room up to round16(n); the
 * source may have exactly n. Small objects are the common case: inline moves
 * instead of a call. */
INLINE void copy_payload(unsigned char *to, const unsigned char *from, size_t n) {
    /* Two overlapping moves cover any length between a size and its double. */
    if (n >= 16 && n <= 32) {
        memcpy(to, from, 16);
        memcpy(to + n - 16, from + n - 16, 16);
    } else if (n > 32 && n <= 64) {
        memcpy(to, from, 32);
        memcpy(to + n - 32, from + n - 32, 32);
    } else if (n >= 8 && n < 16) {
        memcpy(to, from, 8);
        memcpy(to + n - 8, from + n - 8, 8);
    } else {
        memcpy(to, from, n);
    }
}

/* Appends a record of `count` elements of `type` copied from src and returns
 * its payload (NULL when records and table would meet: KEEL_ENOMEM). `pending`
 * records wait in the queue; the others the caller scans at once. */
INLINE unsigned char *append(taker *t, uint32_t type, uint32_t count, bool shared, const void *src,
                             bool pending) {
    size_t bytes = (size_t)count * t->schema->types[type].size; /* < 2^63 */
    size_t padded = round16(bytes);
    size_t head = shared ? SHARED_HEADER : RECORD_HEADER;
    if (t->count >= REFERENCE_RECORDS_MAX ||
        (size_t)(t->top - t->base) + head + padded > REFERENCE_BYTES_MAX) {
        t->error = KEEL_ERANGE; /* beyond what a reference can name */
        return NULL;
    }
    /* The table needs one more word; records and table never cross. */
    size_t room = (size_t)((unsigned char *)t->table_low - t->top) - sizeof(uint64_t);
    if ((unsigned char *)t->table_low - t->top < (ptrdiff_t)sizeof(uint64_t) ||
        room < head + padded) {
        t->error = KEEL_ENOMEM;
        return NULL;
    }
    unsigned char *record = t->top;
    if (shared) {
        uint64_t prefix[2] = {SHARED_PREFIX, 0};
        memcpy(record, prefix, sizeof prefix);
        t->shared++;
    }
    unsigned char *payload = record + head;
    record_header h = {.type = type | (shared ? RECORD_SHARED : 0),
                       .count = count,
                       .refs = 1,
                       .scratch = pending ? PENDING : 0};
    memcpy(payload - RECORD_HEADER, &h, sizeof h);
    if (padded != bytes) {
        memset(payload + padded - RECORD_ALIGN, 0, RECORD_ALIGN);
    }
    copy_payload(payload, src, bytes);
    *--t->table_low = (uint64_t)(payload - t->base);
    t->top = payload + padded;
    t->pending += pending;
    t->count++;
    return payload;
}

static keel_status scan(taker *t, unsigned char *payload, uint32_t type, uint32_t count,
                        unsigned depth);

/* The reference the next record appended will have. */
INLINE uint64_t next_reference(const taker *t, bool shared) {
    size_t head = shared ? SHARED_HEADER : RECORD_HEADER;
    return reference(t->count, (uint64_t)(t->top - t->base) + head);
}

/* Copies the object at `object` (count elements of `type`) as a new record,
 * scanned at once while depth allows; its record number in *ordinal. */
INLINE keel_status copy(taker *t, uint32_t type, uint32_t count, bool shared, const void *object,
                        unsigned depth, uint64_t *ordinal) {
    bool eager = depth < EAGER_DEPTH;
    *ordinal = t->count;
    unsigned char *payload = append(t, type, count, shared, object, !eager);
    if (payload == NULL) {
        return t->error;
    }
    return eager ? scan(t, payload, type, count, depth + 1) : KEEL_OK;
}

/* One pointer slot of a record being scanned. */
INLINE keel_status follow(taker *t, unsigned kind, uint32_t target, unsigned char *slot,
                          unsigned depth) {
    uint64_t value = load64(slot);
    if (kind == KEEL_CKPT_EXTERNAL) {
        if (t->options != NULL && t->options->save_external != NULL) {
            keel_status status = t->options->save_external(t->options->context,
                                                           (const void *)(uintptr_t)value, &value);
            if (status != KEEL_OK) {
                return status;
            }
            store64(slot, value);
        }
        return KEEL_OK;
    }
    if (value == 0) {
        return KEEL_OK;
    }
    t->edges++;
    const void *object = (const void *)(uintptr_t)value;
    uint64_t ordinal;
    if (kind == KEEL_CKPT_OWNED) {
        store64(slot, next_reference(t, false));
        return copy(t, target, 1, false, object, depth, &ordinal);
    }
    keel_ckpt_shared *h = (keel_ckpt_shared *)((uintptr_t)object - sizeof *h);
    /* At every visit, not only the first: a field of another type that reaches
     * an object already copied must not take its reference (the loader would
     * refuse the checkpoint, a restore would hand out an object of the wrong
     * type). The header's line is read for the mark anyway. */
    if (h->magic != KEEL_CKPT_SHARED_MAGIC || h->type != t->schema->types[target].type) {
        return KEEL_EDESCRIPTOR;
    }
    if (h->mark == t->number) {
        store64(slot, h->copy); /* copied already: its reference, no search */
        return KEEL_OK;
    }
    /* Marked before it is scanned, so a cycle back to it finds the mark. */
    h->mark = t->number;
    h->copy = next_reference(t, true);
    store64(slot, h->copy);
    return copy(t, target, 1, true, object, depth, &ordinal);
}

/* A counted array: the buffer becomes a record of its own. */
static keel_status follow_counted(taker *t, uint32_t target, unsigned count_size,
                                  const unsigned char *count_at, unsigned char *slot,
                                  unsigned depth) {
    uint64_t value = load64(slot);
    uint64_t count = read_count(count_at, count_size);
    if (count == 0) {
        store64(slot, 0);
        return KEEL_OK;
    }
    if (value == 0) {
        return KEEL_EDESCRIPTOR;
    }
    if (count > UINT32_MAX) {
        return KEEL_ERANGE;
    }
    t->edges++;
    uint64_t ordinal;
    store64(slot, next_reference(t, false));
    return copy(t, target, (uint32_t)count, false, (const void *)(uintptr_t)value, depth, &ordinal);
}

/* Rewrites the pointers of the record at `payload`, copying what they lead to. */
static keel_status scan(taker *t, unsigned char *payload, uint32_t type, uint32_t count,
                        unsigned depth) {
    const keel_ckpt_schema *s = t->schema;
    const typeof(s->edges[0]) *first = &s->edges[s->types[type].first_edge];
    const typeof(s->edges[0]) *last = first + s->types[type].edge_count;
    if (first == last) {
        return KEEL_OK;
    }
    size_t size = s->types[type].size;
    unsigned char *element = payload, *end = payload + (size_t)count * size;
    do {
        for (const typeof(s->edges[0]) *edge = first; edge != last; edge++) {
            unsigned char *slot = element + edge->offset;
            keel_status status = edge->counted
                                     ? follow_counted(t, edge->target, edge->count_size,
                                                      element + edge->count_offset, slot, depth)
                                     : follow(t, edge->kind, edge->target, slot, depth);
            if (status != KEEL_OK) {
                return status;
            }
        }
        element += size;
    } while (element != end);
    return KEEL_OK;
}

/* Scans the records the depth limit left in the queue, in order. */
static keel_status drain(taker *t) {
    for (uint64_t k = 0; t->pending > 0; k++) {
        unsigned char *payload = t->base + t->table_end[-1 - (int64_t)k];
        record_header *h = (record_header *)(payload - RECORD_HEADER);
        if (h->scratch == PENDING) {
            h->scratch = 0;
            t->pending--;
            keel_status status = scan(t, payload, h->type & ~RECORD_SHARED, h->count, 0);
            if (status != KEEL_OK) {
                return status;
            }
        }
    }
    return KEEL_OK;
}

keel_status keel_ckpt_take(keel_ckpt *ckpt, const keel_ckpt_schema *schema, const void *root,
                           void *buffer, size_t capacity, const keel_ckpt_options *options) {
    if (ckpt == NULL) {
        return KEEL_EINVAL;
    }
    memset(ckpt, 0, sizeof *ckpt);
    if (!keel_ckpt_schema_valid_(schema) || root == NULL || buffer == NULL ||
        ((uintptr_t)buffer & (RECORD_ALIGN - 1)) != 0) {
        return KEEL_EINVAL;
    }
    capacity &= ~(size_t)(sizeof(uint64_t) - 1);
    uint64_t *table_end = (uint64_t *)((unsigned char *)buffer + capacity);
    taker t = {.schema = schema,
               .options = options,
               .base = buffer,
               .top = buffer,
               .table_low = table_end,
               .table_end = table_end,
               .number = atomic_fetch_add(&next_number, 1)};
    uint64_t ordinal;
    keel_status status = copy(&t, 0, 1, false, root, 0, &ordinal);
    if (status == KEEL_OK) {
        status = drain(&t);
    }
    if (status != KEEL_OK) {
        return status;
    }
    *ckpt = (keel_ckpt){.magic = KEEL_CKPT_MAGIC,
                        .fingerprint = schema->fingerprint,
                        .records = t.base,
                        .records_bytes = (size_t)(t.top - t.base),
                        .offsets_end = t.table_end,
                        .record_count = t.count,
                        .shared_count = t.shared,
                        .edges = t.edges,
                        .number = t.number};
    return KEEL_OK;
}

void keel_ckpt_get_stats(const keel_ckpt *ckpt, keel_ckpt_stats *out) {
    if (out == NULL) {
        return;
    }
    memset(out, 0, sizeof *out);
    if (ckpt == NULL || ckpt->magic != KEEL_CKPT_MAGIC) {
        return;
    }
    out->objects = ckpt->record_count;
    out->shared = ckpt->shared_count;
    out->bytes = ckpt->records_bytes + ckpt->record_count * sizeof(uint64_t);
    out->restore_bytes = ckpt->records_bytes;
    out->edges_followed = ckpt->edges;
}
