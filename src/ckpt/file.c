/*
 * file.c - persisted checkpoints: the file format, the atomic write and the
 * validating loader.
 *
 * Format, version 1, little-endian (docs/checkpoint.md):
 *
 *   header   KEEL_CKPT_FILE_HEADER (112) bytes, its last 4 a CRC32C of the rest
 *   records  the checkpoint's records, exactly as in memory (section 0)
 *   offsets  its offset table, exactly as in memory: last record first (section 1)
 *
 * Each section has its offset, length and CRC32C in the header. Records hold
 * record numbers, never addresses, so the bytes mean the same wherever they are
 * loaded. The loader trusts nothing: after the CRCs it checks the structure
 * completely (see keel_ckpt_decode in keel/ckpt.h), so a restore can follow
 * every pointer without a bounds check.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/internal.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the checkpoint format is little-endian; this build would need byte swapping"
#endif

enum { SECTION_RECORDS = 1, SECTION_OFFSETS = 2, SECTIONS = 2 };

typedef struct file_section {
    uint64_t offset;
    uint64_t length;
    uint32_t crc;
    uint32_t kind;
} file_section;

typedef struct file_header {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint32_t flags;
    uint32_t section_count;
    uint64_t fingerprint;
    uint64_t record_count;
    uint64_t shared_count;
    uint64_t edges;
    file_section sections[SECTIONS];
    uint32_t reserved;
    uint32_t header_crc;
} file_header;

_Static_assert(sizeof(file_header) == KEEL_CKPT_FILE_HEADER, "the header is 112 bytes");
_Static_assert(KEEL_CKPT_FILE_HEADER % RECORD_ALIGN == 0, "records start 16-aligned");

static const char file_magic[8] = {'K', 'E', 'E', 'L', 'C', 'K', 'P', 'T'};

int (*keel_ckpt_io_hook_)(int step);

static keel_status fail(keel_ckpt_diag *diag, keel_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static keel_status fail(keel_ckpt_diag *diag, keel_status status, const char *format, ...) {
    if (diag != NULL) {
        va_list args;
        va_start(args, format);
        vsnprintf(diag->message, sizeof diag->message, format, args);
        va_end(args);
    }
    return status;
}

size_t keel_ckpt_file_size(const keel_ckpt *ckpt) {
    if (ckpt == NULL || ckpt->magic != KEEL_CKPT_MAGIC) {
        return 0;
    }
    return KEEL_CKPT_FILE_HEADER + ckpt->records_bytes + ckpt->record_count * sizeof(uint64_t);
}

static void make_header(const keel_ckpt *ckpt, file_header *h) {
    memset(h, 0, sizeof *h);
    memcpy(h->magic, file_magic, sizeof file_magic);
    h->version = KEEL_CKPT_FILE_VERSION;
    h->header_size = KEEL_CKPT_FILE_HEADER;
    h->section_count = SECTIONS;
    h->fingerprint = ckpt->fingerprint;
    h->record_count = ckpt->record_count;
    h->shared_count = ckpt->shared_count;
    h->edges = ckpt->edges;
    size_t table = ckpt->record_count * sizeof(uint64_t);
    h->sections[0] =
        (file_section){KEEL_CKPT_FILE_HEADER, ckpt->records_bytes,
                       keel_ckpt_crc32c(0, ckpt->records, ckpt->records_bytes), SECTION_RECORDS};
    h->sections[1] = (file_section){
        KEEL_CKPT_FILE_HEADER + ckpt->records_bytes, table,
        keel_ckpt_crc32c(0, ckpt->offsets_end - ckpt->record_count, table), SECTION_OFFSETS};
    h->header_crc = keel_ckpt_crc32c(0, h, offsetof(file_header, header_crc));
}

keel_status keel_ckpt_encode(const keel_ckpt *ckpt, void *out, size_t capacity) {
    if (ckpt == NULL || out == NULL || ckpt->magic != KEEL_CKPT_MAGIC) {
        return KEEL_EINVAL;
    }
    if (capacity < keel_ckpt_file_size(ckpt)) {
        return KEEL_ENOMEM;
    }
    file_header header;
    make_header(ckpt, &header);
    unsigned char *p = out;
    memcpy(p, &header, sizeof header);
    memcpy(p + sizeof header, ckpt->records, ckpt->records_bytes);
    memcpy(p + sizeof header + ckpt->records_bytes, ckpt->offsets_end - ckpt->record_count,
           ckpt->record_count * sizeof(uint64_t));
    return KEEL_OK;
}

/* ---- the atomic write ---- */

/* Step `n` of a save is about to run: false if a test's hook stops it here. */
static bool step(int n) {
    return keel_ckpt_io_hook_ == NULL || keel_ckpt_io_hook_(n) == 0;
}

static bool write_all(int fd, const void *data, size_t size) {
    const unsigned char *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        size -= (size_t)n;
    }
    return true;
}

keel_status keel_ckpt_save(const keel_ckpt *ckpt, const char *path) {
    if (ckpt == NULL || path == NULL || ckpt->magic != KEEL_CKPT_MAGIC) {
        return KEEL_EINVAL;
    }
    char temporary[PATH_MAX], directory[PATH_MAX];
    size_t length = strlen(path);
    if (length == 0 || length + sizeof ".tmp" > sizeof temporary) {
        return KEEL_EINVAL;
    }
    memcpy(temporary, path, length);
    memcpy(temporary + length, ".tmp", sizeof ".tmp");
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        memcpy(directory, ".", 2);
    } else {
        size_t d = slash == path ? 1 : (size_t)(slash - path);
        memcpy(directory, path, d);
        directory[d] = '\0';
    }
    file_header header;
    make_header(ckpt, &header);
    size_t table = ckpt->record_count * sizeof(uint64_t);

    /* Steps 0-5 write the temporary file; 6 renames it; 7-9 sync the directory.
     * A crash before step 6 completes leaves the old file at `path`; after it,
     * the new one, complete, since its data was synced at step 4. */
    int saved_errno = 0;
    if (!step(0)) {
        return KEEL_ESYSTEM;
    }
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return KEEL_ESYSTEM;
    }
    if (!step(1)) {
        return KEEL_ESYSTEM;
    }
    bool ok = write_all(fd, &header, sizeof header);
    if (ok && !step(2)) {
        return KEEL_ESYSTEM;
    }
    ok = ok && write_all(fd, ckpt->records, ckpt->records_bytes);
    if (ok && !step(3)) {
        return KEEL_ESYSTEM;
    }
    ok = ok && write_all(fd, ckpt->offsets_end - ckpt->record_count, table);
    if (ok && !step(4)) {
        return KEEL_ESYSTEM;
    }
    ok = ok && fsync(fd) == 0;
    if (ok && !step(5)) {
        return KEEL_ESYSTEM;
    }
    saved_errno = errno;
    ok = close(fd) == 0 && ok;
    if (ok && !step(6)) {
        return KEEL_ESYSTEM;
    }
    ok = ok && rename(temporary, path) == 0;
    if (!ok) {
        saved_errno = errno;
        unlink(temporary);
        errno = saved_errno;
        return KEEL_ESYSTEM;
    }
    if (!step(7)) {
        return KEEL_ESYSTEM;
    }
    int dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        return KEEL_ESYSTEM;
    }
    if (!step(8)) {
        return KEEL_ESYSTEM;
    }
    ok = fsync(dir) == 0;
    saved_errno = errno;
    if (!step(9)) {
        return KEEL_ESYSTEM;
    }
    close(dir);
    errno = saved_errno;
    return ok ? KEEL_OK : KEEL_ESYSTEM;
}

/* ---- the loader ---- */

keel_status keel_ckpt_load(keel_ckpt *ckpt, const keel_ckpt_schema *schema, const char *path,
                           void *buffer, size_t capacity, keel_ckpt_diag *diag) {
    if (diag != NULL) {
        diag->message[0] = '\0';
    }
    if (ckpt == NULL) {
        return fail(diag, KEEL_EINVAL, "no checkpoint to load into");
    }
    memset(ckpt, 0, sizeof *ckpt);
    if (path == NULL || buffer == NULL || !keel_ckpt_schema_valid_(schema) ||
        ((uintptr_t)buffer & (RECORD_ALIGN - 1)) != 0) {
        return fail(diag, KEEL_EINVAL, "invalid argument");
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(diag, KEEL_ESYSTEM, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fail(diag, KEEL_ESYSTEM, "cannot stat %s: %s", path, strerror(e));
    }
    size_t size = (size_t)st.st_size;
    if (size > capacity) {
        close(fd);
        return fail(diag, KEEL_ENOMEM, "%s is %zu bytes, the buffer %zu", path, size, capacity);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, (unsigned char *)buffer + got, size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            close(fd);
            return fail(diag, KEEL_ESYSTEM, "cannot read %s: %s", path, strerror(e));
        }
        if (n == 0) {
            break; /* shrank under us: decode sees it short */
        }
        got += (size_t)n;
    }
    close(fd);
    return keel_ckpt_decode(ckpt, schema, buffer, got, diag);
}

/* The structure check: records tile the section; types, counts and pointers
 * agree with the schema; references are counted in the scratch words. */
typedef struct validator {
    const keel_ckpt_schema *schema;
    keel_ckpt *c; /* records, offsets_end, record_count set; not yet valid */
    keel_ckpt_diag *diag;
    uint64_t edges;
} validator;

static record_header *header_at(const validator *v, uint64_t k) {
    return header_of(v->c->records + record_offset(v->c, k));
}

static keel_status check_tiling(validator *v) {
    const keel_ckpt_schema *s = v->schema;
    size_t position = 0, total = v->c->records_bytes;
    for (uint64_t k = 0; k < v->c->record_count; k++) {
        uint64_t offset = record_offset(v->c, k);
        if (offset > total || offset < position + RECORD_HEADER || offset % RECORD_ALIGN != 0) {
            return fail(v->diag, KEEL_EFORMAT, "record %" PRIu64 " has a bad offset", k);
        }
        record_header *h = header_at(v, k);
        bool shared = (h->type & RECORD_SHARED) != 0;
        uint32_t type = h->type & ~RECORD_SHARED;
        size_t expected = position + (shared ? SHARED_HEADER : RECORD_HEADER);
        if (offset != expected) {
            return fail(v->diag, KEEL_EFORMAT, "record %" PRIu64 " does not follow the last", k);
        }
        if (type >= s->type_count || h->count == 0 || h->scratch != 0 || h->refs != 1 ||
            (shared && (s->types[type].type == NULL || h->count != 1 || k == 0))) {
            return fail(v->diag, KEEL_EFORMAT, "record %" PRIu64 " has a bad header", k);
        }
        if (shared) {
            const unsigned char *prefix = v->c->records + position;
            uint32_t mark;
            memcpy(&mark, prefix, sizeof mark);
            for (int i = 4; i < RECORD_HEADER; i++) {
                if (prefix[i] != 0) {
                    mark = 0;
                }
            }
            if (mark != SHARED_PREFIX) {
                return fail(v->diag, KEEL_EFORMAT, "shared record %" PRIu64 " lacks its prefix", k);
            }
        }
        size_t bytes = (size_t)h->count * s->types[type].size;
        if (bytes > total - offset || round16(bytes) > total - offset) {
            return fail(v->diag, KEEL_EFORMAT, "record %" PRIu64 " runs past the section", k);
        }
        for (size_t i = offset + bytes; i < offset + round16(bytes); i++) {
            if (v->c->records[i] != 0) {
                return fail(v->diag, KEEL_EFORMAT, "record %" PRIu64 " has non-zero padding", k);
            }
        }
        position = offset + round16(bytes);
    }
    if (position != total) {
        return fail(v->diag, KEEL_EFORMAT, "records do not fill their section");
    }
    record_header *root = header_at(v, 0);
    if (root->type != 0 || root->count != 1) {
        return fail(v->diag, KEEL_EFORMAT, "the first record is not one root object");
    }
    return KEEL_OK;
}

/* Counts one reference to record value - 1 from record `from`. */
static keel_status refer(validator *v, uint64_t from, uint64_t value, uint32_t type, bool shared,
                         uint64_t count) {
    if (value == 0) {
        return KEEL_OK;
    }
    uint64_t k = reference_ordinal(value);
    if ((value >> 32) == 0 || k >= v->c->record_count || k == 0 ||
        record_offset(v->c, k) != reference_offset(value)) {
        return fail(v->diag, KEEL_EFORMAT, "record %" PRIu64 " points at no record", from);
    }
    record_header *h = header_at(v, k);
    if ((h->type & ~RECORD_SHARED) != type || ((h->type & RECORD_SHARED) != 0) != shared ||
        (count != 0 && h->count != count)) {
        return fail(v->diag, KEEL_EFORMAT,
                    "record %" PRIu64 " points at record %" PRIu64 " of another type", from, k);
    }
    if (h->scratch == UINT32_MAX || (!shared && h->scratch != 0)) {
        return fail(v->diag, KEEL_EFORMAT, "owned record %" PRIu64 " has two owners", k);
    }
    h->scratch++;
    v->edges++;
    return KEEL_OK;
}

static keel_status check_pointers(validator *v) {
    const keel_ckpt_schema *s = v->schema;
    for (uint64_t k = 0; k < v->c->record_count; k++) {
        unsigned char *payload = v->c->records + record_offset(v->c, k);
        const record_header *h = header_of(payload);
        if (k != 0 && h->scratch == 0) {
            /* A record is appended while a record pointing at it is scanned:
             * each is pointed at by an earlier one, so all are reachable. */
            return fail(v->diag, KEEL_EFORMAT, "record %" PRIu64 " is not reachable", k);
        }
        uint32_t type = h->type & ~RECORD_SHARED;
        uint32_t first = s->types[type].first_edge, edge_count = s->types[type].edge_count;
        for (uint32_t e = 0; e < h->count && edge_count != 0; e++) {
            unsigned char *element = payload + (size_t)e * s->types[type].size;
            for (uint32_t i = first; i < first + edge_count; i++) {
                const unsigned char *slot = element + s->edges[i].offset;
                keel_status status = KEEL_OK;
                if (s->edges[i].counted) {
                    uint64_t n =
                        read_count(element + s->edges[i].count_offset, s->edges[i].count_size);
                    uint64_t value = load64(slot);
                    if ((value == 0) != (n == 0)) {
                        return fail(v->diag, KEEL_EFORMAT,
                                    "record %" PRIu64 " has a count that disagrees with its array",
                                    k);
                    }
                    status = refer(v, k, value, s->edges[i].target, false, n);
                } else if (s->edges[i].kind != KEEL_CKPT_EXTERNAL) {
                    status = refer(v, k, load64(slot), s->edges[i].target,
                                   s->edges[i].kind == KEEL_CKPT_SHARED, 1);
                }
                if (status != KEEL_OK) {
                    return status;
                }
            }
        }
    }
    return KEEL_OK;
}

static void clear_scratch(validator *v) {
    for (uint64_t k = 0; k < v->c->record_count; k++) {
        uint64_t offset = record_offset(v->c, k);
        if (offset >= RECORD_HEADER && offset <= v->c->records_bytes &&
            offset % RECORD_ALIGN == 0) {
            header_at(v, k)->scratch = 0;
        }
    }
}

keel_status keel_ckpt_decode(keel_ckpt *ckpt, const keel_ckpt_schema *schema, void *bytes,
                             size_t size, keel_ckpt_diag *diag) {
    if (diag != NULL) {
        diag->message[0] = '\0';
    }
    if (ckpt == NULL) {
        return fail(diag, KEEL_EINVAL, "no checkpoint to decode into");
    }
    memset(ckpt, 0, sizeof *ckpt);
    if (bytes == NULL || !keel_ckpt_schema_valid_(schema) ||
        ((uintptr_t)bytes & (RECORD_ALIGN - 1)) != 0) {
        return fail(diag, KEEL_EINVAL, "invalid argument");
    }
    unsigned char *p = bytes;
    if (memcmp(p, file_magic, size < sizeof file_magic ? size : sizeof file_magic) != 0) {
        return fail(diag, KEEL_EFORMAT, "not a keel checkpoint (bad magic)");
    }
    if (size < offsetof(file_header, header_size)) {
        return fail(diag, KEEL_ETRUNCATED, "%zu bytes: shorter than a header", size);
    }
    file_header h;
    memcpy(&h, p, size < sizeof h ? size : sizeof h);
    if (h.version != KEEL_CKPT_FILE_VERSION) {
        return fail(diag, KEEL_EVERSION, "format version %u; this build reads version %u",
                    h.version, KEEL_CKPT_FILE_VERSION);
    }
    if (size < sizeof h) {
        return fail(diag, KEEL_ETRUNCATED, "%zu bytes: shorter than a header", size);
    }
    uint32_t crc = keel_ckpt_crc32c(0, p, offsetof(file_header, header_crc));
    if (crc != h.header_crc) {
        return fail(diag, KEEL_ECHECKSUM, "header CRC32C is %08x, computed %08x", h.header_crc,
                    crc);
    }
    if (h.header_size != sizeof h || h.flags != 0 || h.section_count != SECTIONS ||
        h.reserved != 0 || h.sections[0].kind != SECTION_RECORDS ||
        h.sections[1].kind != SECTION_OFFSETS) {
        return fail(diag, KEEL_EFORMAT, "the header's layout is not version 1's");
    }
    if (h.fingerprint != schema->fingerprint) {
        return fail(diag, KEEL_EDESCRIPTOR,
                    "written with another schema (fingerprint %016" PRIx64 ", expected %016" PRIx64
                    ")",
                    h.fingerprint, schema->fingerprint);
    }
    const file_section *r = &h.sections[0], *o = &h.sections[1];
    if (h.record_count == 0 || h.record_count > SIZE_MAX / 64 || r->offset != sizeof h ||
        r->length % RECORD_ALIGN != 0 || r->length > SIZE_MAX / 2 ||
        o->offset != r->offset + r->length || o->length != h.record_count * sizeof(uint64_t)) {
        return fail(diag, KEEL_EFORMAT, "the sections' sizes are inconsistent");
    }
    uint64_t total = o->offset + o->length;
    if (size < total) {
        return fail(diag, KEEL_ETRUNCATED, "%zu bytes of the %" PRIu64 " the header declares", size,
                    total);
    }
    if (size > total) {
        return fail(diag, KEEL_EFORMAT, "%zu bytes after the end the header declares",
                    size - (size_t)total);
    }
    for (int i = 0; i < SECTIONS; i++) {
        crc = keel_ckpt_crc32c(0, p + h.sections[i].offset, h.sections[i].length);
        if (crc != h.sections[i].crc) {
            return fail(diag, KEEL_ECHECKSUM, "section %d CRC32C is %08x, computed %08x", i,
                        h.sections[i].crc, crc);
        }
    }
    keel_ckpt c = {.fingerprint = h.fingerprint,
                   .records = p + r->offset,
                   .records_bytes = r->length,
                   .offsets_end = (const uint64_t *)(p + total),
                   .record_count = h.record_count,
                   .shared_count = h.shared_count};
    validator v = {.schema = schema, .c = &c, .diag = diag};
    keel_status status = check_tiling(&v);
    if (status == KEEL_OK) {
        header_at(&v, 0)->scratch = 1; /* the root is reachable */
        status = check_pointers(&v);
    }
    if (status == KEEL_OK) {
        uint64_t shared = 0;
        for (uint64_t k = 0; k < c.record_count; k++) {
            shared += (header_at(&v, k)->type & RECORD_SHARED) != 0;
        }
        if (shared != h.shared_count || v.edges != h.edges) {
            status = fail(diag, KEEL_EFORMAT, "the header's counts disagree with the records");
        }
    }
    clear_scratch(&v);
    if (status != KEEL_OK) {
        return status;
    }
    c.edges = v.edges;
    c.number = 0;
    c.magic = KEEL_CKPT_MAGIC;
    *ckpt = c;
    return KEEL_OK;
}
