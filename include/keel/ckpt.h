/*
 * keel/ckpt.h - checkpoints of pointer-linked object graphs, and persisted
 * checkpoints.
 *
 * The model. A C struct is described by a type descriptor: its size and its
 * fields. A field is plain bytes (copied as they are), an owned pointer (a tree
 * edge: the object it points at belongs to this one and nobody else points at
 * it), a shared pointer (to a reference-counted object that several owners may
 * point at, cycles allowed), or an external pointer (not followed, not owned:
 * kept as it is or mapped through a callback). A pointer field may be a fixed
 * array of pointers, or a counted array: a pointer to a buffer of N elements
 * (bytes, pointers or structs) whose count N is another field of the struct.
 * KEEL_CKPT_DEFINE declares a struct and its descriptor from one field list, so
 * the two cannot drift apart.
 *
 * A schema is the set of descriptors reachable from a root type, validated and
 * compiled once (keel_ckpt_schema_init). keel_ckpt_take copies everything
 * reachable from a root object into a caller's buffer: the checkpoint. Shared
 * objects carry a header (keel_ckpt_shared) in front of them with their
 * reference count and a mark: the first visit of a checkpoint stamps the mark
 * with the checkpoint's number and the copy's place, every later visit reads
 * it, so each shared object is copied exactly once and cycles through shared
 * pointers terminate, with no hash table and no search. The checkpoint is
 * position independent (pointers are record numbers and offsets), so it can be restored
 * into an arena (one copy plus a relocation pass) or a heap (one block per
 * object) and persisted to a file (keel_ckpt_save / keel_ckpt_load).
 *
 * Invariants:
 *   - restore rebuilds the same shape: two pointers that were equal in the
 *     original graph are equal in the restored one, and no others are; every
 *     restored shared object's reference count is the number of pointers to it
 *     in the restored graph;
 *   - a call that fails leaves nothing behind: no half-built graph in the
 *     destination, no checkpoint in a half-filled buffer, and the file at a
 *     path either the old one or the new one, never a mix.
 *
 * The root is an object of the schema's root type, copied as an owned object
 * (to checkpoint from a shared object, give a small root struct pointing at it).
 *
 * What the caller promises: owned pointers form a tree (an object reached by two
 * owned pointers is copied twice; a cycle of owned pointers fills the buffer and
 * is reported as KEEL_ENOMEM); every shared pointer points just after a
 * keel_ckpt_shared header made by keel_ckpt_shared_new or _init; no thread
 * writes the graph during a checkpoint, and two checkpoints of graphs that share
 * objects do not run at once (the marks are written without atomics).
 *
 * Statuses are values (keel/status.h). Nothing here calls malloc.
 */
#ifndef KEEL_CKPT_H
#define KEEL_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/domain.h"
#include "keel/mem.h"
#include "keel/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* Type descriptors                                                           */
/* ------------------------------------------------------------------------- */

typedef enum keel_ckpt_kind {
    KEEL_CKPT_BYTES = 0, /* plain bytes, copied as they are */
    KEEL_CKPT_OWNED,     /* pointer to an object of `target` owned by this one (or NULL) */
    KEEL_CKPT_SHARED,    /* pointer to a shared object of `target` (or NULL) */
    KEEL_CKPT_EXTERNAL,  /* pointer not followed, kept or mapped */
    KEEL_CKPT_INLINE,    /* counted arrays only: elements are `target` structs */
} keel_ckpt_kind;

typedef enum keel_ckpt_layout {
    KEEL_CKPT_ONE = 0, /* one value of the kind at `offset` */
    KEEL_CKPT_FIXED,   /* `count` consecutive values at `offset` */
    KEEL_CKPT_COUNTED, /* a pointer at `offset` to a buffer of N elements, N read from
                          the unsigned integer of `count_size` bytes at `count_offset` */
} keel_ckpt_layout;

typedef struct keel_ckpt_type keel_ckpt_type;

typedef struct keel_ckpt_field {
    const char *name;
    keel_ckpt_kind kind;
    keel_ckpt_layout layout;
    size_t offset;                /* of the field in the struct */
    size_t size;                  /* of the field in the struct (all of a fixed array) */
    size_t count;                 /* KEEL_CKPT_FIXED: elements */
    size_t element_size;          /* KEEL_CKPT_COUNTED of bytes: bytes per element */
    size_t count_offset;          /* KEEL_CKPT_COUNTED: where N is */
    size_t count_size;            /* KEEL_CKPT_COUNTED: 1, 2, 4 or 8 */
    const keel_ckpt_type *target; /* OWNED, SHARED, INLINE: the pointee's type */
} keel_ckpt_field;

/* A type descriptor. Keep it in static storage; KEEL_CKPT_DEFINE makes one. */
struct keel_ckpt_type {
    const char *name;
    size_t size;  /* sizeof the struct */
    size_t align; /* alignof the struct: at most 16 */
    unsigned field_count;
    const keel_ckpt_field *fields;
    /* Instead of field_count and fields (KEEL_CKPT_DEFINE sets it): returns the
     * fields and stores their number. NULL for a hand-written descriptor. */
    const keel_ckpt_field *(*describe)(unsigned *count);
};

/*
 * KEEL_CKPT_DEFINE(name, FIELDS): declares `typedef struct name name;`, the struct
 * with the members FIELDS lists, and `const keel_ckpt_type name_ckpt_type`, its
 * descriptor. FIELDS is a macro taking one argument F and applying it to each
 * member, one of:
 *
 *   F(BYTES, ctype, member)                  ctype member;
 *   F(BYTES_ARRAY, ctype, member, n)         ctype member[n];
 *   F(OWNED, type, member)                   struct type *member;      (owned)
 *   F(SHARED, type, member)                  struct type *member;      (shared)
 *   F(EXTERNAL, ctype, member)               ctype member;             (a pointer type)
 *   F(OWNED_ARRAY, type, member, n)          struct type *member[n];
 *   F(SHARED_ARRAY, type, member, n)         struct type *member[n];
 *   F(EXTERNAL_ARRAY, ctype, member, n)      ctype member[n];
 *   F(BYTES_COUNTED, ctype, member, count)   ctype *member;            (count elements)
 *   F(OWNED_COUNTED, type, member, count)    struct type **member;
 *   F(SHARED_COUNTED, type, member, count)   struct type **member;
 *   F(INLINE_COUNTED, type, member, count)   struct type *member;      (count structs)
 *
 * `type` names another KEEL_CKPT_DEFINE'd type (its descriptor is
 * type_ckpt_type; declare it first with KEEL_CKPT_DECLARE if it comes later);
 * `count` names an unsigned integer member listed with F(BYTES, ...). Example:
 *
 *     KEEL_CKPT_DECLARE(rule);
 *     #define NODE_FIELDS(F)                   \
 *         F(BYTES, uint32_t, prefix)           \
 *         F(OWNED_ARRAY, node, child, 2)       \
 *         F(SHARED, rule, rule)
 *     KEEL_CKPT_DEFINE(node, NODE_FIELDS);
 *
 * KEEL_CKPT_STRUCT (in a header) and KEEL_CKPT_DESCRIPTOR (in one .c file)
 * are the two halves of KEEL_CKPT_DEFINE.
 */
#define KEEL_CKPT_DECLARE(name) \
    typedef struct name name;   \
    extern const keel_ckpt_type name##_ckpt_type

#define KEEL_CKPT_STRUCT(name, FIELDS) \
    KEEL_CKPT_DECLARE(name);           \
    struct name {                      \
        FIELDS(KEEL_CKPT_MEMBER_)      \
    }

#define KEEL_CKPT_DESCRIPTOR(name, FIELDS)                                                         \
    static const keel_ckpt_field *name##_ckpt_fields_(unsigned *count) {                           \
        typedef struct name keel_ckpt_self_;                                                       \
        static const keel_ckpt_field fields[] = {FIELDS(KEEL_CKPT_DESCRIBE_)};                     \
        *count = (unsigned)(sizeof fields / sizeof fields[0]);                                     \
        return fields;                                                                             \
    }                                                                                              \
    const keel_ckpt_type name##_ckpt_type = {#name, sizeof(struct name), _Alignof(struct name), 0, \
                                             NULL,  name##_ckpt_fields_}

#define KEEL_CKPT_DEFINE(name, FIELDS) \
    KEEL_CKPT_STRUCT(name, FIELDS);    \
    KEEL_CKPT_DESCRIPTOR(name, FIELDS)

/* The expansions (private). */
#define KEEL_CKPT_MEMBER_(kind, ...)   KEEL_CKPT_M_##kind(__VA_ARGS__)
#define KEEL_CKPT_DESCRIBE_(kind, ...) KEEL_CKPT_D_##kind(__VA_ARGS__),

#define KEEL_CKPT_M_BYTES(ctype, m)             ctype m;
#define KEEL_CKPT_M_BYTES_ARRAY(ctype, m, n)    ctype m[n];
#define KEEL_CKPT_M_OWNED(type, m)              struct type *m;
#define KEEL_CKPT_M_SHARED(type, m)             struct type *m;
#define KEEL_CKPT_M_EXTERNAL(ctype, m)          ctype m;
#define KEEL_CKPT_M_OWNED_ARRAY(type, m, n)     struct type *m[n];
#define KEEL_CKPT_M_SHARED_ARRAY(type, m, n)    struct type *m[n];
#define KEEL_CKPT_M_EXTERNAL_ARRAY(ctype, m, n) ctype m[n];
#define KEEL_CKPT_M_BYTES_COUNTED(ctype, m, c)  ctype *m;
#define KEEL_CKPT_M_OWNED_COUNTED(type, m, c)   struct type **m;
#define KEEL_CKPT_M_SHARED_COUNTED(type, m, c)  struct type **m;
#define KEEL_CKPT_M_INLINE_COUNTED(type, m, c)  struct type *m;

#define KEEL_CKPT_D_BYTES(ctype, m) \
    { #m, KEEL_CKPT_BYTES, KEEL_CKPT_ONE, KEEL_CKPT_OFF_(m), sizeof(ctype), 1, 0, 0, 0, NULL }
#define KEEL_CKPT_D_BYTES_ARRAY(ctype, m, n)                                                     \
    {                                                                                            \
#m, KEEL_CKPT_BYTES, KEEL_CKPT_FIXED, KEEL_CKPT_OFF_(m), sizeof(ctype) * (n), (n), 0, 0, \
            0, NULL                                                                              \
    }
#define KEEL_CKPT_D_OWNED(type, m)                                                         \
    {                                                                                      \
#m, KEEL_CKPT_OWNED, KEEL_CKPT_ONE, KEEL_CKPT_OFF_(m), sizeof(void *), 1, 0, 0, 0, \
            &type##_ckpt_type                                                              \
    }
#define KEEL_CKPT_D_SHARED(type, m)                                                         \
    {                                                                                       \
#m, KEEL_CKPT_SHARED, KEEL_CKPT_ONE, KEEL_CKPT_OFF_(m), sizeof(void *), 1, 0, 0, 0, \
            &type##_ckpt_type                                                               \
    }
#define KEEL_CKPT_D_EXTERNAL(ctype, m) \
    { #m, KEEL_CKPT_EXTERNAL, KEEL_CKPT_ONE, KEEL_CKPT_OFF_(m), sizeof(ctype), 1, 0, 0, 0, NULL }
#define KEEL_CKPT_D_OWNED_ARRAY(type, m, n)                                                       \
    {                                                                                             \
#m, KEEL_CKPT_OWNED, KEEL_CKPT_FIXED, KEEL_CKPT_OFF_(m), sizeof(void *) * (n), (n), 0, 0, \
            0, &type##_ckpt_type                                                                  \
    }
#define KEEL_CKPT_D_SHARED_ARRAY(type, m, n)                                                       \
    {                                                                                              \
#m, KEEL_CKPT_SHARED, KEEL_CKPT_FIXED, KEEL_CKPT_OFF_(m), sizeof(void *) * (n), (n), 0, 0, \
            0, &type##_ckpt_type                                                                   \
    }
#define KEEL_CKPT_D_EXTERNAL_ARRAY(ctype, m, n)                                                  \
    {                                                                                            \
#m, KEEL_CKPT_EXTERNAL, KEEL_CKPT_FIXED, KEEL_CKPT_OFF_(m), sizeof(ctype) * (n), (n), 0, \
            0, 0, NULL                                                                           \
    }
#define KEEL_CKPT_D_BYTES_COUNTED(ctype, m, c)                                        \
    {                                                                                 \
#m, KEEL_CKPT_BYTES, KEEL_CKPT_COUNTED, KEEL_CKPT_OFF_(m), sizeof(void *), 0, \
            sizeof(ctype), KEEL_CKPT_OFF_(c), KEEL_CKPT_SIZE_(c), NULL                \
    }
#define KEEL_CKPT_D_OWNED_COUNTED(type, m, c)                                         \
    {                                                                                 \
#m, KEEL_CKPT_OWNED, KEEL_CKPT_COUNTED, KEEL_CKPT_OFF_(m), sizeof(void *), 0, \
            sizeof(void *), KEEL_CKPT_OFF_(c), KEEL_CKPT_SIZE_(c), &type##_ckpt_type  \
    }
#define KEEL_CKPT_D_SHARED_COUNTED(type, m, c)                                         \
    {                                                                                  \
#m, KEEL_CKPT_SHARED, KEEL_CKPT_COUNTED, KEEL_CKPT_OFF_(m), sizeof(void *), 0, \
            sizeof(void *), KEEL_CKPT_OFF_(c), KEEL_CKPT_SIZE_(c), &type##_ckpt_type   \
    }
#define KEEL_CKPT_D_INLINE_COUNTED(type, m, c)                                            \
    {                                                                                     \
#m, KEEL_CKPT_INLINE, KEEL_CKPT_COUNTED, KEEL_CKPT_OFF_(m), sizeof(void *), 0, 0, \
            KEEL_CKPT_OFF_(c), KEEL_CKPT_SIZE_(c), &type##_ckpt_type                      \
    }

/* offsetof and sizeof of a member of the struct being described: the field
 * list is expanded inside a function where keel_ckpt_self_ is a block-scope
 * typedef of that struct, so the list itself never needs to name it. */
#define KEEL_CKPT_OFF_(m)  __builtin_offsetof(keel_ckpt_self_, m)
#define KEEL_CKPT_SIZE_(m) sizeof(((keel_ckpt_self_ *)0)->m)

/* ------------------------------------------------------------------------- */
/* Shared objects: the reference-count header                                 */
/* ------------------------------------------------------------------------- */

/* Sits immediately before every shared object (32 bytes, so the object stays
 * 16-aligned). The fields are private: use the functions below. */
typedef struct keel_ckpt_shared {
    uint32_t magic; /* KEEL_CKPT_SHARED_MAGIC while the header is valid */
    uint32_t refs;  /* reference count (atomic) */
    const keel_ckpt_type *type;
    uint64_t mark; /* the number of the last checkpoint that copied the object */
    uint64_t copy; /* that checkpoint's record number for it */
} keel_ckpt_shared;

#define KEEL_CKPT_SHARED_MAGIC      0x4b524331u /* "KRC1" */
/* Bytes a shared object of `type` needs: the header and the object. */
#define KEEL_CKPT_SHARED_SIZE(type) (sizeof(keel_ckpt_shared) + (type)->size)

/*
 * keel_ckpt_shared_new: allocates a shared object of `type` from `heap`, zeroed,
 * with a reference count of 1; the object (after its header) is in *object.
 * Fails with KEEL_EINVAL (NULL argument) or the heap's status; *object is then
 * NULL. O(size of the type). Not thread-safe for `heap`.
 */
KEEL_API keel_status keel_ckpt_shared_new(keel_heap *heap, const keel_ckpt_type *type,
                                          void **object);

/*
 * keel_ckpt_shared_init: makes `block` (16-aligned, KEEL_CKPT_SHARED_SIZE(type)
 * bytes, from any allocator) a shared object of `type` with a reference count of
 * 1 and returns the object, or NULL if block or type is NULL or block is
 * misaligned. The object's bytes are not touched. O(1). Thread-safe for
 * distinct blocks; nobody else may use `block` during the call.
 */
KEEL_API void *keel_ckpt_shared_init(void *block, const keel_ckpt_type *type);

/* keel_ckpt_shared_block: the block a shared object lives in (its header), to
 * free it with the allocator it came from; NULL for NULL. O(1). Thread-safe
 * (address arithmetic only, nothing is read). */
KEEL_API void *keel_ckpt_shared_block(void *object);

/* keel_ckpt_retain / keel_ckpt_release: add or drop a reference; return the new
 * count. When release returns 0 the object is the caller's to free (the objects
 * it points at are not released). Atomic: thread-safe. O(1). */
KEEL_API uint32_t keel_ckpt_retain(void *object);
KEEL_API uint32_t keel_ckpt_release(void *object);
/* keel_ckpt_refs: the current count (an atomic load: another thread may change
 * it at once). O(1). Thread-safe. */
KEEL_API uint32_t keel_ckpt_refs(const void *object);

/* ------------------------------------------------------------------------- */
/* Schemas                                                                    */
/* ------------------------------------------------------------------------- */

#define KEEL_CKPT_MAX_TYPES 64u   /* types and counted-array element types in a schema */
#define KEEL_CKPT_MAX_EDGES 1024u /* pointers in a schema's types (a fixed array of n: n) */

/* A compiled schema. The fields are private; the struct is public so that a
 * schema can live in static storage. */
typedef struct keel_ckpt_schema {
    const keel_ckpt_type *root;
    uint64_t fingerprint; /* of the whole layout: every type's size and every field */
    unsigned type_count;
    unsigned edge_count;
    struct {
        const keel_ckpt_type *type; /* NULL for a counted array's element type */
        uint32_t size;              /* bytes per element */
        uint32_t first_edge, edge_count;
    } types[KEEL_CKPT_MAX_TYPES];
    struct {
        uint8_t kind;       /* keel_ckpt_kind; KEEL_CKPT_BYTES marks a counted buffer */
        uint8_t count_size; /* counted: bytes of the count */
        uint16_t target;    /* type index of the pointee or of the buffer's elements */
        uint32_t offset;
        uint32_t count;        /* 1: a fixed array is one edge per element */
        uint32_t count_offset; /* counted: where the count is */
        uint8_t counted;
    } edges[KEEL_CKPT_MAX_EDGES];
} keel_ckpt_schema;

/*
 * keel_ckpt_schema_init: validates the descriptors reachable from `root` and
 * compiles them into *schema.
 * Fails with KEEL_EINVAL (NULL argument), KEEL_EDESCRIPTOR if a descriptor is
 * malformed:
 *   - a type: a size of 0 or of 2^31 or more, an alignment that is 0, not a
 *     power of two or above 16, a size that is not a multiple of the
 *     alignment, fields NULL with a non-zero field count;
 *   - a field: an unknown kind or layout, a size of 0, running past the
 *     struct, KEEL_CKPT_INLINE without KEEL_CKPT_COUNTED, a fixed array of 0
 *     or more than 2^32 - 1 elements, a missing target (OWNED, SHARED,
 *     INLINE), a pointer field that is misaligned or not pointer-sized (a
 *     fixed array: not count pointers), a counted array of bytes with an
 *     element_size of 0 or of 2^31 or more, a count_size other than 1, 2, 4
 *     or 8, a count that runs past the struct or overlaps its own pointer, a
 *     count that is not exactly one of the struct's fields (a single value,
 *     KEEL_CKPT_ONE, of plain bytes at count_offset with count_size);
 *   - an overlap: a pointer field (any kind but BYTES, or any counted array)
 *     that overlaps any other field. Only pointer fields are checked: plain
 *     bytes fields may overlap each other (a union, say), and no pointer
 *     overlaps a count, which is a field;
 * KEEL_EFULL if the schema needs more than KEEL_CKPT_MAX_TYPES types or
 * KEEL_CKPT_MAX_EDGES pointers. On failure *schema holds no usable schema (it
 * is zeroed), and any checkpoint call given it fails with KEEL_EINVAL.
 * O(total fields squared) (overlap check); it runs once. Thread-safe for
 * distinct schemas; a compiled schema is only read afterwards and may be
 * shared by any number of threads.
 */
KEEL_API keel_status keel_ckpt_schema_init(keel_ckpt_schema *schema, const keel_ckpt_type *root);

/* ------------------------------------------------------------------------- */
/* Checkpoint and restore                                                     */
/* ------------------------------------------------------------------------- */

/* External pointers: without a callback they are kept as they are (the
 * pointer's bits), which only makes sense within one process. */
typedef struct keel_ckpt_options {
    /* At checkpoint: the 64-bit value to store for an external pointer. */
    keel_status (*save_external)(void *context, const void *pointer, uint64_t *value);
    /* At restore: the pointer to put back for a stored value. */
    keel_status (*load_external)(void *context, uint64_t value, void **pointer);
    void *context;
} keel_ckpt_options;

/* A checkpoint: a view of a buffer holding one. The fields are private. */
typedef struct keel_ckpt {
    uint64_t magic;       /* KEEL_CKPT_MAGIC while it holds a checkpoint */
    uint64_t fingerprint; /* the schema's */
    unsigned char *records;
    size_t records_bytes;
    const uint64_t *offsets_end; /* record k's payload is at records + offsets_end[-1 - k] */
    uint64_t record_count;
    uint64_t shared_count;
    uint64_t edges;  /* non-NULL pointers followed */
    uint64_t number; /* this checkpoint's number (unique in the process) */
} keel_ckpt;

#define KEEL_CKPT_MAGIC 0x4b45454c434b5054ull /* "KEELCKPT" */

typedef struct keel_ckpt_stats {
    uint64_t objects;        /* records: objects and counted buffers */
    uint64_t shared;         /* shared objects among them (each copied once) */
    size_t bytes;            /* buffer bytes the checkpoint occupies */
    size_t restore_bytes;    /* what restoring into an arena takes (excluding alignment) */
    uint64_t edges_followed; /* non-NULL pointers followed (shared ones possibly many times) */
} keel_ckpt_stats;

/*
 * keel_ckpt_take: copies the graph reachable from `root` (an object of the
 * schema's root type) into buffer[0, capacity) (16-aligned) and makes *ckpt a
 * view of it. Records are laid out from the start of the buffer and a table of
 * their offsets from its end.
 * Fails with KEEL_EINVAL (NULL argument, misaligned buffer, a schema that is not
 * compiled or whose keel_ckpt_schema_init failed), KEEL_EDESCRIPTOR if
 * the data does not match the schema (a shared pointer to something that is not
 * a shared object of the field's type; a counted array with a NULL buffer and a
 * non-zero count), KEEL_ERANGE (a count above 2^32 - 1; 2^32 - 1 records or
 * 64 GiB of records or more: what a checkpoint's references can name),
 * KEEL_ENOMEM if the buffer is too small, or what save_external
 * returned. On failure *ckpt holds no checkpoint; the graph is unchanged except
 * for the marks of shared objects, which only a checkpoint reads.
 * O(objects + pointers + bytes copied); recursion at most 48 levels deep (the
 * buffer itself is the work queue beyond), nothing allocated. Not thread-safe
 * for the graph (see the top of this header); thread-safe for distinct graphs.
 */
KEEL_API keel_status keel_ckpt_take(keel_ckpt *ckpt, const keel_ckpt_schema *schema,
                                    const void *root, void *buffer, size_t capacity,
                                    const keel_ckpt_options *options);

/* keel_ckpt_get_stats: fills *out (zeros if ckpt is NULL or holds no
 * checkpoint; nothing if out is NULL). O(1). Thread-safe: it only reads ckpt. */
KEEL_API void keel_ckpt_get_stats(const keel_ckpt *ckpt, keel_ckpt_stats *out);

/*
 * keel_ckpt_restore_arena: rebuilds the graph in one allocation of
 * stats.restore_bytes from `arena` and stores the root in *root. Every pointer
 * points into that allocation (or is an external pointer); release the arena to
 * a mark taken before to drop the whole graph.
 * Fails with KEEL_EINVAL (NULL argument, ckpt holds no checkpoint, a schema that
 * is not compiled or whose keel_ckpt_schema_init failed), KEEL_EDESCRIPTOR
 * (schema differs from the checkpoint's), KEEL_ENOMEM (arena too small), or what load_external returned; on failure the arena is as it
 * was and *root is NULL. O(bytes + pointers): a copy and a relocation pass.
 * Not thread-safe for `arena`; any number of restores may read one checkpoint.
 */
KEEL_API keel_status keel_ckpt_restore_arena(const keel_ckpt *ckpt, const keel_ckpt_schema *schema,
                                             keel_arena *arena, const keel_ckpt_options *options,
                                             void **root);

/*
 * keel_ckpt_restore_heap: rebuilds the graph with one heap block per object
 * (shared objects with their header, as keel_ckpt_shared_new makes them), so
 * each can be freed on its own. A temporary table of 8 bytes per record is taken
 * from the same heap for the duration of the call.
 * Fails as keel_ckpt_restore_arena (KEEL_EINVAL also for an uncompiled or
 * invalid schema), with KEEL_ENOMEM or KEEL_ERANGE from the heap, or
 * KEEL_ERANGE if the table's size overflows size_t; on failure every block it allocated is freed again (the heap's failure
 * count records the refused request) and *root is NULL.
 * O(objects + bytes + pointers), each allocation O(1). Not thread-safe for `heap`.
 */
KEEL_API keel_status keel_ckpt_restore_heap(const keel_ckpt *ckpt, const keel_ckpt_schema *schema,
                                            keel_heap *heap, const keel_ckpt_options *options,
                                            void **root);

/* ------------------------------------------------------------------------- */
/* Persisted checkpoints                                                      */
/* ------------------------------------------------------------------------- */

/* The file format's version this build writes and reads. */
#define KEEL_CKPT_FILE_VERSION 1u
/* Bytes of the file header (the records follow it). */
#define KEEL_CKPT_FILE_HEADER  112u

/* Why a load was refused, in words (diagnostics only). */
typedef struct keel_ckpt_diag {
    char message[160];
} keel_ckpt_diag;

/* keel_ckpt_file_size: the bytes keel_ckpt_save writes for this checkpoint (0
 * if ckpt is NULL or holds none). O(1). Thread-safe: it only reads ckpt. */
KEEL_API size_t keel_ckpt_file_size(const keel_ckpt *ckpt);

/*
 * keel_ckpt_encode: writes the bytes keel_ckpt_save would write to a file into
 * out[0, capacity), to send or keep them elsewhere; keel_ckpt_decode reads them.
 * Fails with KEEL_EINVAL (NULL argument, no checkpoint) or KEEL_ENOMEM
 * (capacity below keel_ckpt_file_size). O(bytes). Thread-safe.
 */
KEEL_API keel_status keel_ckpt_encode(const keel_ckpt *ckpt, void *out, size_t capacity);

/*
 * keel_ckpt_save: writes the checkpoint to `path` atomically: to a temporary
 * file beside it (path + ".tmp"), fsync, rename over `path`, fsync of the
 * directory. A crash at any point leaves either the old file or the new one at
 * `path`, never a mix; a temporary file may be left behind and is overwritten
 * by the next save. Fails with KEEL_EINVAL (NULL argument, no checkpoint, an
 * empty path, a path too long for PATH_MAX with ".tmp" appended) or KEEL_ESYSTEM (a system call failed; errno tells which). A
 * KEEL_ESYSTEM from before the rename (creating, writing, syncing or closing
 * the temporary file, or the rename itself) removes the temporary file and
 * leaves `path` untouched. One from after it (opening or syncing the
 * directory) comes too late to undo: `path` already holds the new checkpoint,
 * complete (its data was synced before the rename), and only the rename's
 * durability is in doubt: a crash before the directory reaches the disk may
 * bring the old file back. Saving again makes it durable. The format (docs/
 * checkpoint.md) is position independent: a header with a CRC32C, the records
 * and the offset table, each with a CRC32C. O(bytes). Thread-safe for distinct
 * paths.
 */
KEEL_API keel_status keel_ckpt_save(const keel_ckpt *ckpt, const char *path);

/*
 * keel_ckpt_load: reads the file at `path` into buffer[0, capacity) (16-aligned)
 * and, if it is a valid checkpoint for `schema`, makes *ckpt a view of it.
 * Fails, loading nothing (*ckpt holds no checkpoint), with: KEEL_EINVAL (NULL
 * argument, misaligned buffer, a schema that is not compiled or whose
 * keel_ckpt_schema_init failed), KEEL_ESYSTEM (open, fstat or read failed), KEEL_ENOMEM
 * (the file is larger than the buffer), KEEL_ETRUNCATED (shorter than its header
 * says), KEEL_EFORMAT (not a keel checkpoint, or inconsistent inside),
 * KEEL_EVERSION (another format version), KEEL_ECHECKSUM (a CRC32C does not
 * match), KEEL_EDESCRIPTOR (written with another schema). `diag`, if not NULL,
 * says what was wrong. O(file bytes). Thread-safe for distinct buffers (and
 * distinct ckpt and diag); the schema is only read.
 */
KEEL_API keel_status keel_ckpt_load(keel_ckpt *ckpt, const keel_ckpt_schema *schema,
                                    const char *path, void *buffer, size_t capacity,
                                    keel_ckpt_diag *diag);

/*
 * keel_ckpt_decode: as keel_ckpt_load for a file's bytes already in memory:
 * bytes[0, size) (16-aligned, writable: validation uses a scratch word of each
 * record header and clears it again). Every check of the loader is here: the
 * header, the CRCs, the schema, and the structure (records tile the section,
 * every type and count matches the schema, every pointer names a record of the
 * right type and sharing, owned records are pointed at exactly once, every
 * record is reachable from the root). Fails, decoding nothing (*ckpt holds no
 * checkpoint), with KEEL_EINVAL (NULL argument, misaligned bytes, a schema
 * that is not compiled or whose keel_ckpt_schema_init failed), KEEL_EFORMAT,
 * KEEL_ETRUNCATED, KEEL_EVERSION, KEEL_ECHECKSUM or KEEL_EDESCRIPTOR as
 * keel_ckpt_load; never KEEL_ESYSTEM or KEEL_ENOMEM (the bytes are already in
 * memory and nothing is allocated). O(size). Thread-safe for distinct byte
 * buffers (and distinct ckpt and diag): it writes the scratch words of
 * `bytes`, so no other thread may read or decode the same bytes meanwhile; the
 * schema is only read.
 */
KEEL_API keel_status keel_ckpt_decode(keel_ckpt *ckpt, const keel_ckpt_schema *schema, void *bytes,
                                      size_t size, keel_ckpt_diag *diag);

/* keel_ckpt_crc32c: CRC32C (Castagnoli) of data[0, size), continuing from `crc`
 * (0 to start). SSE4.2 where the CPU has it. O(size). Thread-safe. */
KEEL_API uint32_t keel_ckpt_crc32c(uint32_t crc, const void *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* KEEL_CKPT_H */
