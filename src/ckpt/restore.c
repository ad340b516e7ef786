/*
 * restore.c - rebuilding a graph from a checkpoint, into an arena or a heap.
 *
 * Arena: the records are copied in one piece, exactly as they lie in the
 * checkpoint, and a relocation pass turns each record number back into the
 * address of that record's payload in the copy (shared records get their
 * keel_ckpt_shared header in the 32 bytes in front of the payload). Heap: one
 * block per record, with a temporary table from record number to block.
 */
#include "ckpt/internal.h"

static keel_status check(const keel_ckpt *ckpt, const keel_ckpt_schema *schema,
                         const void *destination, void **root) {
    if (root == NULL) {
        return KEEL_EINVAL;
    }
    *root = NULL;
    if (ckpt == NULL || destination == NULL || ckpt->magic != KEEL_CKPT_MAGIC ||
        !keel_ckpt_schema_valid_(schema)) {
        return KEEL_EINVAL;
    }
    return ckpt->fingerprint == schema->fingerprint ? KEEL_OK : KEEL_EDESCRIPTOR;
}

/* Where record numbers (plus one) lead: `table` if given, else base + offset. */
typedef struct relocation {
    const keel_ckpt *ckpt;
    unsigned char *base; /* the arena copy of the records */
    void **table;        /* heap: record k's object */
    const keel_ckpt_options *options;
} relocation;

static inline uint64_t address_of(const relocation *r, uint64_t value) {
    if (value == 0) {
        return 0;
    }
    if (r->table != NULL) {
        return (uint64_t)(uintptr_t)r->table[reference_ordinal(value)];
    }
    return (uint64_t)(uintptr_t)(r->base + reference_offset(value));
}

/* One more pointer to the shared object at `object`: its count is the number
 * of pointers to it in the restored graph. In an arena copy the header may not
 * be laid out yet; its count word is already where it will be (zero so far). */
static inline void count_reference(uint64_t object) {
    keel_ckpt_shared *h = (keel_ckpt_shared *)(uintptr_t)(object - sizeof *h);
    h->refs++;
}

/* Rewrites the pointers of one restored record (payload at `object`). */
static keel_status relocate(const relocation *r, const keel_ckpt_schema *s, uint32_t type,
                            uint32_t count, unsigned char *object) {
    uint32_t first = s->types[type].first_edge, last = first + s->types[type].edge_count;
    size_t size = s->types[type].size;
    for (uint32_t e = 0; e < count && first != last; e++) {
        unsigned char *element = object + (size_t)e * size;
        for (uint32_t i = first; i < last; i++) {
            unsigned char *slot = element + s->edges[i].offset;
            uint64_t value = load64(slot);
            unsigned kind = s->edges[i].kind;
            if (kind != KEEL_CKPT_EXTERNAL) {
                uint64_t address = address_of(r, value);
                if (address != 0 && kind == KEEL_CKPT_SHARED) {
                    count_reference(address);
                }
                store64(slot, address);
            } else if (r->options != NULL && r->options->load_external != NULL) {
                void *pointer;
                keel_status status =
                    r->options->load_external(r->options->context, value, &pointer);
                if (status != KEEL_OK) {
                    return status;
                }
                store64(slot, (uint64_t)(uintptr_t)pointer);
            }
        }
    }
    return KEEL_OK;
}

keel_status keel_ckpt_restore_arena(const keel_ckpt *ckpt, const keel_ckpt_schema *schema,
                                    keel_arena *arena, const keel_ckpt_options *options,
                                    void **root) {
    keel_status status = check(ckpt, schema, arena, root);
    if (status != KEEL_OK) {
        return status;
    }
    keel_arena_mark mark = keel_arena_get_mark(arena);
    void *copy;
    status = keel_arena_alloc(arena, ckpt->records_bytes, RECORD_ALIGN, &copy);
    if (status != KEEL_OK) {
        return status;
    }
    memcpy(copy, ckpt->records, ckpt->records_bytes);
    relocation r = {.ckpt = ckpt, .base = copy, .options = options};
    for (uint64_t k = 0; k < ckpt->record_count; k++) {
        unsigned char *payload = r.base + record_offset(ckpt, k);
        record_header h = *header_of(payload);
        uint32_t type = h.type & ~RECORD_SHARED;
        if (h.type & RECORD_SHARED) {
            /* The 32 bytes before the payload become its header; the count
             * word (zero in the prefix) has counted the pointers seen so far. */
            keel_ckpt_shared *sh = (keel_ckpt_shared *)(payload - SHARED_HEADER);
            sh->magic = KEEL_CKPT_SHARED_MAGIC;
            sh->type = schema->types[type].type;
            sh->mark = 0;
            sh->copy = 0;
        }
        status = relocate(&r, schema, type, h.count, payload);
        if (status != KEEL_OK) {
            keel_arena_release(arena, mark);
            return status;
        }
    }
    *root = r.base + record_offset(ckpt, 0);
    return KEEL_OK;
}

/* Frees the first `count` objects of the table, last first, then the table. */
static void unwind(keel_heap *heap, const keel_ckpt *ckpt, void **table, uint64_t count) {
    while (count-- > 0) {
        const record_header *h = header_of(ckpt->records + record_offset(ckpt, count));
        void *object = table[count];
        keel_heap_free(heap, (h->type & RECORD_SHARED) ? keel_ckpt_shared_block(object) : object);
    }
    keel_heap_free(heap, table);
}

keel_status keel_ckpt_restore_heap(const keel_ckpt *ckpt, const keel_ckpt_schema *schema,
                                   keel_heap *heap, const keel_ckpt_options *options, void **root) {
    keel_status status = check(ckpt, schema, heap, root);
    if (status != KEEL_OK) {
        return status;
    }
    if (ckpt->record_count > SIZE_MAX / sizeof(void *)) {
        return KEEL_ERANGE;
    }
    void **table;
    status = keel_heap_alloc(heap, (size_t)ckpt->record_count * sizeof(void *), (void **)&table);
    if (status != KEEL_OK) {
        return status;
    }
    for (uint64_t k = 0; k < ckpt->record_count; k++) {
        const unsigned char *payload = ckpt->records + record_offset(ckpt, k);
        const record_header *h = header_of((unsigned char *)payload);
        uint32_t type = h->type & ~RECORD_SHARED;
        size_t bytes = (size_t)h->count * schema->types[type].size;
        void *object;
        if (h->type & RECORD_SHARED) {
            void *block;
            status = keel_heap_alloc(heap, SHARED_HEADER + bytes, &block);
            object = block;
            if (status == KEEL_OK) {
                keel_ckpt_shared *sh = block;
                *sh = (keel_ckpt_shared){.magic = KEEL_CKPT_SHARED_MAGIC,
                                         .refs = 0, /* counted by the relocation */
                                         .type = schema->types[type].type};
                object = sh + 1;
            }
        } else {
            status = keel_heap_alloc(heap, bytes, &object);
        }
        if (status != KEEL_OK) {
            unwind(heap, ckpt, table, k);
            return status;
        }
        memcpy(object, payload, bytes);
        table[k] = object;
    }
    relocation r = {.ckpt = ckpt, .table = table, .options = options};
    for (uint64_t k = 0; k < ckpt->record_count; k++) {
        const record_header *h = header_of(ckpt->records + record_offset(ckpt, k));
        status = relocate(&r, schema, h->type & ~RECORD_SHARED, h->count, table[k]);
        if (status != KEEL_OK) {
            unwind(heap, ckpt, table, ckpt->record_count);
            return status;
        }
    }
    *root = table[0];
    keel_heap_free(heap, table);
    return KEEL_OK;
}
