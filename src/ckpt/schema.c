/*
 * schema.c - validating type descriptors and compiling them into a schema.
 *
 * Compilation numbers the types reachable from the root (the root is 0) and
 * turns every pointer field into an edge: (kind, offset, how many consecutive
 * pointers, target type). A counted array becomes an edge to an element type:
 * the target struct for INLINE elements, otherwise a synthetic type of one
 * element (bytes of element_size, or one pointer of the field's kind). The
 * checkpoint and restore loops then only read these arrays.
 */
#include "ckpt/internal.h"

/* Synthetic element types wait here until compiled: kind and target. */
typedef struct pending {
    keel_ckpt_kind kind;
    const keel_ckpt_type *target;
} pending;

static const keel_ckpt_field *fields_of(const keel_ckpt_type *type, unsigned *count) {
    if (type->describe != NULL) {
        return type->describe(count);
    }
    *count = type->field_count;
    return type->fields;
}

/* The index of a real type, added to the schema if new; -1 if the table is full. */
static int type_index(keel_ckpt_schema *s, const keel_ckpt_type *type) {
    for (unsigned i = 0; i < s->type_count; i++) {
        if (s->types[i].type == type) {
            return (int)i;
        }
    }
    if (s->type_count == KEEL_CKPT_MAX_TYPES) {
        return -1;
    }
    unsigned i = s->type_count++;
    s->types[i].type = type;
    s->types[i].size = (uint32_t)type->size; /* checked when it is compiled */
    return (int)i;
}

static int synthetic_index(keel_ckpt_schema *s, pending *wait, keel_ckpt_kind kind,
                           const keel_ckpt_type *target, size_t element_size) {
    if (s->type_count == KEEL_CKPT_MAX_TYPES) {
        return -1;
    }
    unsigned i = s->type_count++;
    s->types[i].type = NULL;
    s->types[i].size = (uint32_t)element_size;
    wait[i] = (pending){kind, target};
    return (int)i;
}

static bool overlaps(size_t a, size_t a_size, size_t b, size_t b_size) {
    return a < b + b_size && b < a + a_size;
}

/* The checks a field must pass on its own. */
static bool field_is_sound(const keel_ckpt_type *type, const keel_ckpt_field *f) {
    size_t size = type->size;
    if (f->offset > size || f->size > size - f->offset || f->size == 0) {
        return false;
    }
    if (f->kind == KEEL_CKPT_INLINE && f->layout != KEEL_CKPT_COUNTED) {
        return false;
    }
    if ((f->kind == KEEL_CKPT_OWNED || f->kind == KEEL_CKPT_SHARED ||
         f->kind == KEEL_CKPT_INLINE) &&
        f->target == NULL) {
        return false;
    }
    switch (f->layout) {
    case KEEL_CKPT_ONE:
    case KEEL_CKPT_FIXED: {
        size_t count = f->layout == KEEL_CKPT_ONE ? 1 : f->count;
        if (count == 0 || count > UINT32_MAX) {
            return false;
        }
        if (f->kind == KEEL_CKPT_BYTES) {
            return true;
        }
        return f->kind != KEEL_CKPT_INLINE && f->size / sizeof(void *) == count &&
               f->size % sizeof(void *) == 0 && f->offset % sizeof(void *) == 0;
    }
    case KEEL_CKPT_COUNTED:
        if (f->size != sizeof(void *) || f->offset % sizeof(void *) != 0) {
            return false;
        }
        if (f->count_size != 1 && f->count_size != 2 && f->count_size != 4 && f->count_size != 8) {
            return false;
        }
        if (f->count_offset > size || f->count_size > size - f->count_offset ||
            overlaps(f->offset, f->size, f->count_offset, f->count_size)) {
            return false;
        }
        if (f->kind == KEEL_CKPT_BYTES) {
            return f->element_size != 0 && f->element_size <= INT32_MAX;
        }
        return true;
    }
    return false;
}

/* A counted array's count is a field of its own: exactly one value of plain
 * bytes (KEEL_CKPT_ONE) of the declared size at the declared offset. Since no
 * pointer field overlaps any other field, no pointer overlaps the count either:
 * the count is never read from a pointer's bits or from undescribed padding. */
static bool count_is_a_field(const keel_ckpt_field *fields, unsigned count,
                             const keel_ckpt_field *f) {
    for (unsigned j = 0; j < count; j++) {
        const keel_ckpt_field *c = &fields[j];
        if (c->kind == KEEL_CKPT_BYTES && c->layout == KEEL_CKPT_ONE &&
            c->offset == f->count_offset && c->size == f->count_size) {
            return true;
        }
    }
    return false;
}

/* A real type: its own checks, every field's, and no pointer overlapping anything. */
static keel_status compile_type(keel_ckpt_schema *s, pending *wait, unsigned index) {
    const keel_ckpt_type *type = s->types[index].type;
    if (type->size == 0 || type->size > INT32_MAX || type->align == 0 ||
        (type->align & (type->align - 1)) != 0 || type->align > 16 ||
        type->size % type->align != 0) {
        return KEEL_EDESCRIPTOR;
    }
    unsigned count;
    const keel_ckpt_field *fields = fields_of(type, &count);
    if (count != 0 && fields == NULL) {
        return KEEL_EDESCRIPTOR;
    }
    s->types[index].first_edge = s->edge_count;
    for (unsigned i = 0; i < count; i++) {
        const keel_ckpt_field *f = &fields[i];
        if ((unsigned)f->kind > KEEL_CKPT_INLINE || (unsigned)f->layout > KEEL_CKPT_COUNTED ||
            !field_is_sound(type, f) ||
            (f->layout == KEEL_CKPT_COUNTED && !count_is_a_field(fields, count, f))) {
            return KEEL_EDESCRIPTOR;
        }
        bool is_pointer = f->kind != KEEL_CKPT_BYTES || f->layout == KEEL_CKPT_COUNTED;
        for (unsigned j = 0; j < count && is_pointer; j++) {
            if (j != i && overlaps(f->offset, f->size, fields[j].offset, fields[j].size)) {
                return KEEL_EDESCRIPTOR;
            }
        }
        if (!is_pointer) {
            continue;
        }
        int target;
        if (f->layout == KEEL_CKPT_COUNTED) {
            if (f->kind == KEEL_CKPT_INLINE) {
                target = type_index(s, f->target);
            } else {
                size_t element = f->kind == KEEL_CKPT_BYTES ? f->element_size : sizeof(void *);
                target = synthetic_index(s, wait, f->kind, f->target, element);
            }
        } else {
            target = f->kind == KEEL_CKPT_EXTERNAL ? 0 : type_index(s, f->target);
        }
        if (target < 0) {
            return KEEL_EFULL;
        }
        /* One edge per pointer: a fixed array becomes `count` edges. */
        size_t pointers = f->layout == KEEL_CKPT_FIXED ? f->count : 1;
        if (pointers > KEEL_CKPT_MAX_EDGES - s->edge_count) {
            return KEEL_EFULL;
        }
        for (size_t j = 0; j < pointers; j++) {
            s->edges[s->edge_count++] = (typeof(s->edges[0])){
                .kind = (uint8_t)(f->layout == KEEL_CKPT_COUNTED ? KEEL_CKPT_BYTES : f->kind),
                .count_size = (uint8_t)f->count_size,
                .target = (uint16_t)target,
                .offset = (uint32_t)(f->offset + j * sizeof(void *)),
                .count = 1,
                .count_offset = (uint32_t)f->count_offset,
                .counted = f->layout == KEEL_CKPT_COUNTED,
            };
        }
    }
    s->types[index].edge_count = s->edge_count - s->types[index].first_edge;
    return KEEL_OK;
}

/* A counted array's element type: bytes (no edge) or one pointer at offset 0. */
static keel_status compile_synthetic(keel_ckpt_schema *s, const pending *wait, unsigned index) {
    s->types[index].first_edge = s->edge_count;
    s->types[index].edge_count = 0;
    if (wait[index].kind == KEEL_CKPT_BYTES) {
        return KEEL_OK;
    }
    if (s->edge_count == KEEL_CKPT_MAX_EDGES) {
        return KEEL_EFULL;
    }
    int target = wait[index].kind == KEEL_CKPT_EXTERNAL ? 0 : type_index(s, wait[index].target);
    if (target < 0) {
        return KEEL_EFULL;
    }
    s->edges[s->edge_count++] = (typeof(s->edges[0])){
        .kind = (uint8_t)wait[index].kind, .target = (uint16_t)target, .offset = 0, .count = 1};
    s->types[index].edge_count = 1;
    return KEEL_OK;
}

/* A compiled real type's index in the schema (every target is compiled). */
static uint64_t index_of(const keel_ckpt_schema *s, const keel_ckpt_type *type) {
    for (unsigned i = 0; i < s->type_count; i++) {
        if (s->types[i].type == type) {
            return i;
        }
    }
    return UINT64_MAX;
}

/*
 * FNV-1a over the whole layout, no addresses or names: every type's size and
 * alignment, every field of every real type (kind, layout, offset, size, and
 * what its layout and kind make meaningful: a fixed array's count, a counted
 * array's element size, count offset and count size, a pointer's target as its
 * index in the schema), and the compiled edges. Records keep the structs'
 * in-memory layout, so any change to it must change the fingerprint: a file
 * written with one layout is then refused by a schema of another.
 */
static uint64_t fingerprint(const keel_ckpt_schema *s) {
    uint64_t h = 0xcbf29ce484222325ull;
#define MIX_(value)                                   \
    do {                                              \
        uint64_t v_ = (uint64_t)(value);              \
        for (int b_ = 0; b_ < 8; b_++) {              \
            h = (h ^ (v_ & 0xFF)) * 0x100000001b3ull; \
            v_ >>= 8;                                 \
        }                                             \
    } while (0)
    MIX_(s->type_count);
    for (unsigned i = 0; i < s->type_count; i++) {
        MIX_(s->types[i].size);
        MIX_(s->types[i].type == NULL);
        MIX_(s->types[i].edge_count);
        const keel_ckpt_type *type = s->types[i].type;
        if (type == NULL) {
            continue; /* a counted array's element type: its size and edges say it all */
        }
        unsigned count;
        const keel_ckpt_field *fields = fields_of(type, &count);
        MIX_(type->align);
        MIX_(count);
        for (unsigned j = 0; j < count; j++) {
            const keel_ckpt_field *f = &fields[j];
            bool counted = f->layout == KEEL_CKPT_COUNTED;
            bool targeted = f->kind == KEEL_CKPT_OWNED || f->kind == KEEL_CKPT_SHARED ||
                            f->kind == KEEL_CKPT_INLINE;
            MIX_(f->kind);
            MIX_(f->layout);
            MIX_(f->offset);
            MIX_(f->size);
            MIX_(f->layout == KEEL_CKPT_FIXED ? f->count : 1);
            MIX_(counted && f->kind == KEEL_CKPT_BYTES ? f->element_size : 0);
            MIX_(counted ? f->count_offset : 0);
            MIX_(counted ? f->count_size : 0);
            MIX_(targeted ? index_of(s, f->target) : UINT64_MAX);
        }
    }
    for (unsigned i = 0; i < s->edge_count; i++) {
        MIX_(s->edges[i].kind);
        MIX_(s->edges[i].count_size);
        MIX_(s->edges[i].target);
        MIX_(s->edges[i].offset);
        MIX_(s->edges[i].count);
        MIX_(s->edges[i].count_offset);
        MIX_(s->edges[i].counted);
    }
#undef MIX_
    return h;
}

keel_status keel_ckpt_schema_init(keel_ckpt_schema *schema, const keel_ckpt_type *root) {
    if (schema == NULL) {
        return KEEL_EINVAL;
    }
    memset(schema, 0, sizeof *schema);
    if (root == NULL) {
        return KEEL_EINVAL;
    }
    pending wait[KEEL_CKPT_MAX_TYPES];
    type_index(schema, root);
    keel_status status = KEEL_OK;
    for (unsigned i = 0; i < schema->type_count && status == KEEL_OK; i++) {
        status = schema->types[i].type != NULL ? compile_type(schema, wait, i)
                                               : compile_synthetic(schema, wait, i);
    }
    if (status != KEEL_OK) {
        memset(schema, 0, sizeof *schema);
        return status;
    }
    schema->fingerprint = fingerprint(schema);
    schema->root = root;
    return KEEL_OK;
}

bool keel_ckpt_schema_valid_(const keel_ckpt_schema *schema) {
    return schema != NULL && schema->root != NULL && schema->type_count > 0;
}
