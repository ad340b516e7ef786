/*
 * graph.c - keel_ckpt_take: a breadth-first copy of an object graph into a
 * buffer, in the manner of Cheney's copying collector.
 *
 * Copying an object appends a record; the records not yet scanned are the work
 * queue, so there is no recursion and no stack. Scanning a record rewrites each
 * pointer in the copy: an owned pointer's target is appended (it is reached
 * exactly once, the descriptors say so); a shared pointer's target is appended
 * only if its header's mark is not this checkpoint's number, and the mark and
 * the record number are written into the header, so every later pointer to it
 * reads its record number there: one copy per shared object, found in O(1), no
 * hash set. Checkpoint numbers are never reused, so marks need no clearing, and
 * a checkpoint that fails half-way leaves marks no later checkpoint will read.
 */
#include <stdatomic.h>

#include "ckpt/internal.h"

static _Atomic uint64_t next_number = 1;

typedef struct taker {
    const keel_ckpt_schema *schema;
    const keel_ckpt_options *options;
    unsigned char *base;
    size_t capacity;
    size_t top;          /* bytes of records so far */
    uint64_t *table_end; /* offsets are written downward from here */
    uint64_t count;      /* records so far */
    uint64_t shared;
    uint64_t edges;
    uint64_t number;
} taker;

/* Appends a record of `count` elements of type `type` copied from src; its
 * number in *ordinal. KEEL_ENOMEM when records and table would meet. */
static keel_status append(taker *t, uint32_t type, uint64_t count, bool shared, const void *src,
                          uint64_t *ordinal) {
    if (count > UINT32_MAX) {
        return KEEL_ERANGE;
    }
    size_t bytes = (size_t)count * t->schema->types[type].size; /* < 2^63 */
    size_t padded = round16(bytes);
    size_t head = shared ? SHARED_HEADER : RECORD_HEADER;
    size_t table = (size_t)(t->count + 1) * sizeof(uint64_t);
    if (table > t->capacity || t->capacity - table < t->top ||
        t->capacity - table - t->top < head || t->capacity - table - t->top - head < padded) {
        return KEEL_ENOMEM;
    }
    unsigned char *record = t->base + t->top;
    if (shared) {
        memset(record, 0, RECORD_HEADER);
        uint32_t prefix = SHARED_PREFIX;
        memcpy(record, &prefix, sizeof prefix);
        t->shared++;
    }
    unsigned char *payload = record + head;
    *header_of(payload) = (record_header){
        .type = type | (shared ? RECORD_SHARED : 0), .count = (uint32_t)count, .refs = 1};
    if (padded != bytes) {
        memset(payload + padded - RECORD_ALIGN, 0, RECORD_ALIGN);
    }
    memcpy(payload, src, bytes);
    t->table_end[-1 - (int64_t)t->count] = t->top + head;
    t->top += head + padded;
    *ordinal = t->count++;
    return KEEL_OK;
}

/* One pointer slot of a record being scanned. */
static keel_status follow(taker *t, unsigned kind, uint32_t target, unsigned char *slot) {
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
        keel_status status = append(t, target, 1, false, object, &ordinal);
        if (status != KEEL_OK) {
            return status;
        }
    } else {
        keel_ckpt_shared *h = (keel_ckpt_shared *)((uintptr_t)object - sizeof *h);
        if (h->magic != KEEL_CKPT_SHARED_MAGIC || h->type != t->schema->types[target].type) {
            return KEEL_EDESCRIPTOR;
        }
        if (h->mark == t->number) {
            ordinal = h->copy;
            header_of(t->base + t->table_end[-1 - (int64_t)ordinal])->refs++;
        } else {
            keel_status status = append(t, target, 1, true, object, &ordinal);
            if (status != KEEL_OK) {
                return status;
            }
            h->mark = t->number;
            h->copy = ordinal;
        }
    }
    store64(slot, ordinal + 1);
    return KEEL_OK;
}

/* A counted array: the buffer becomes a record of its own. */
static keel_status follow_counted(taker *t, uint32_t target, unsigned count_size,
                                  const unsigned char *count_at, unsigned char *slot) {
    uint64_t value = load64(slot);
    uint64_t count = read_count(count_at, count_size);
    if (count == 0) {
        store64(slot, 0);
        return KEEL_OK;
    }
    if (value == 0) {
        return KEEL_EDESCRIPTOR;
    }
    t->edges++;
    uint64_t ordinal;
    keel_status status = append(t, target, count, false, (const void *)(uintptr_t)value, &ordinal);
    if (status == KEEL_OK) {
        store64(slot, ordinal + 1);
    }
    return status;
}

static keel_status scan(taker *t, uint64_t k) {
    unsigned char *payload = t->base + t->table_end[-1 - (int64_t)k];
    const record_header *h = header_of(payload);
    uint32_t type = h->type & ~RECORD_SHARED;
    const keel_ckpt_schema *s = t->schema;
    uint32_t first = s->types[type].first_edge, edge_count = s->types[type].edge_count;
    if (edge_count == 0) {
        return KEEL_OK;
    }
    size_t size = s->types[type].size;
    uint32_t count = h->count;
    for (uint32_t e = 0; e < count; e++) {
        unsigned char *element = payload + (size_t)e * size;
        for (uint32_t i = first; i < first + edge_count; i++) {
            unsigned char *slot = element + s->edges[i].offset;
            keel_status status = KEEL_OK;
            if (s->edges[i].counted) {
                status = follow_counted(t, s->edges[i].target, s->edges[i].count_size,
                                        element + s->edges[i].count_offset, slot);
            } else {
                for (uint32_t j = 0; j < s->edges[i].count && status == KEEL_OK; j++) {
                    status = follow(t, s->edges[i].kind, s->edges[i].target,
                                    slot + j * sizeof(uint64_t));
                }
            }
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
    taker t = {.schema = schema,
               .options = options,
               .base = buffer,
               .capacity = capacity,
               .table_end = (uint64_t *)((unsigned char *)buffer + capacity),
               .number = atomic_fetch_add(&next_number, 1)};
    uint64_t ordinal;
    keel_status status = append(&t, 0, 1, false, root, &ordinal);
    for (uint64_t k = 0; k < t.count && status == KEEL_OK; k++) {
        status = scan(&t, k);
    }
    if (status != KEEL_OK) {
        return status;
    }
    *ckpt = (keel_ckpt){.magic = KEEL_CKPT_MAGIC,
                        .fingerprint = schema->fingerprint,
                        .records = t.base,
                        .records_bytes = t.top,
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
