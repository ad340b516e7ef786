/*
 * internal.h - the checkpoint module's private layout, shared by schema.c (the
 * compiled descriptors), graph.c (take), restore.c, file.c (the persisted
 * format) and shared.c. Not installed.
 *
 * A checkpoint is a sequence of records laid out from the start of a buffer,
 * and a table of their payload offsets laid out from its end, downward:
 *
 *   [record 0][record 1] ... [record N-1]   ...free...   [off N-1] ... [off 1][off 0]
 *
 * A record is `count` elements of one schema type (count is 1 for an object,
 * N for a counted array's buffer), preceded by a 16-byte header:
 *
 *   u32 type    schema type index; RECORD_SHARED is set for a shared object
 *   u32 count   elements
 *   u32 refs    1 (reserved; restore counts the pointers to a shared object)
 *   u32 scratch 0; the loader's validation counts references in it, then clears it
 *
 * A shared record has 16 more bytes before its header (SHARED_PREFIX, then
 * zeros), so that the 32 bytes before its payload can become a keel_ckpt_shared
 * header when the records are restored in place into an arena (the zeros
 * where its count will be let the relocation count pointers before the header
 * is laid out). Payloads are
 * padded with zeros to a multiple of 16; records are 16-aligned. Pointer fields
 * in payloads hold references (below: record number and offset; 0 is NULL),
 * external pointers the value stored for them: nothing in a checkpoint depends
 * on where it is.
 */
#ifndef KEEL_CKPT_INTERNAL_H
#define KEEL_CKPT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "keel/ckpt.h"

enum {
    RECORD_HEADER = 16,
    SHARED_HEADER = 32, /* sizeof(keel_ckpt_shared) */
    RECORD_ALIGN = 16,
};

#define RECORD_SHARED 0x80000000u
#define SHARED_PREFIX 0x53485244u /* "SHRD" */
#define EDGE_EXTERNAL KEEL_CKPT_EXTERNAL
#define EDGE_OWNED    KEEL_CKPT_OWNED
#define EDGE_SHARED   KEEL_CKPT_SHARED

_Static_assert(sizeof(keel_ckpt_shared) == SHARED_HEADER, "the shared header is 32 bytes");

typedef struct record_header {
    uint32_t type;
    uint32_t count;
    uint32_t refs;
    uint32_t scratch;
} record_header;

_Static_assert(sizeof(record_header) == RECORD_HEADER, "record headers are 16 bytes");

static inline size_t round16(size_t n) {
    return (n + RECORD_ALIGN - 1) & ~(size_t)(RECORD_ALIGN - 1);
}

/* Record k's payload offset from the start of the records. */
static inline uint64_t record_offset(const keel_ckpt *c, uint64_t k) {
    return c->offsets_end[-1 - (int64_t)k];
}

static inline record_header *header_of(unsigned char *payload) {
    return (record_header *)(payload - RECORD_HEADER);
}

/* Reads the unsigned count of `size` bytes at p. */
static inline uint64_t read_count(const unsigned char *p, unsigned size) {
    switch (size) {
    case 1:
        return *p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static inline uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store64(unsigned char *p, uint64_t v) {
    memcpy(p, &v, sizeof v);
}

/*
 * A pointer in a record: the target's record number plus one in the high 32
 * bits, its payload offset / 16 in the low 32 (0 is NULL). The offset lets an
 * arena restore relocate with one addition; the number lets a heap restore and
 * the loader find the record in O(1). So a checkpoint holds fewer than 2^32
 * records and less than 64 GiB of them.
 */
static inline uint64_t reference(uint64_t ordinal, uint64_t payload_offset) {
    return (ordinal + 1) << 32 | payload_offset / RECORD_ALIGN;
}
static inline uint64_t reference_ordinal(uint64_t value) {
    return (value >> 32) - 1;
}
static inline uint64_t reference_offset(uint64_t value) {
    return (value & 0xFFFFFFFFu) * RECORD_ALIGN;
}
#define REFERENCE_RECORDS_MAX 0xFFFFFFFEull
#define REFERENCE_BYTES_MAX   (0xFFFFFFFFull * RECORD_ALIGN)

/* schema.c */
bool keel_ckpt_schema_valid_(const keel_ckpt_schema *schema);

/* file.c: the write path's system calls go through here. A test installs a hook
 * that is told the number of each step before it runs; a hook returning
 * non-zero makes the save stop there, as a crash would (nothing cleaned up). */
extern int (*keel_ckpt_io_hook_)(int step);

#endif /* KEEL_CKPT_INTERNAL_H */
