/* Persisted checkpoints: the atomic write, and a loader that refuses every
 * damaged file and loads nothing. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt/internal.h"
#include "keel_test.h"
#include "random_graph.h"

enum { REGION = 4 << 20 };
static _Alignas(16) unsigned char heap_region[REGION];
static _Alignas(16) unsigned char buffer[REGION];
static _Alignas(16) unsigned char file[REGION];
static _Alignas(16) unsigned char damaged[REGION];
static _Alignas(16) unsigned char arena_region[REGION];
static keel_ckpt_schema schema;
static char directory[64];

/* A small random graph's checkpoint, in `buffer`. */
static void small_checkpoint(keel_ckpt *ckpt, uint64_t seed, uint32_t owned) {
    keel_heap *heap;
    keel_heap_init(&heap, heap_region, sizeof heap_region);
    keel_ckpt_schema_init(&schema, &vertex_ckpt_type);
    random_graph g;
    random_graph_build(&g, heap, owned, owned / 3 + 1, &seed);
    keel_ckpt_take(ckpt, &schema, g.root, buffer, sizeof buffer, NULL);
}

static const char *path_of(const char *name) {
    static char path[128];
    if (directory[0] == '\0') {
        snprintf(directory, sizeof directory, "/tmp/keel-ckpt-test-%d", (int)getpid());
        mkdir(directory, 0700);
    }
    snprintf(path, sizeof path, "%s/%s", directory, name);
    return path;
}

static bool holds_nothing(const keel_ckpt *ckpt) {
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(ckpt, &stats);
    return stats.objects == 0 && keel_ckpt_file_size(ckpt) == 0;
}

KEEL_TEST(a_saved_checkpoint_loads_back_and_restores_the_same_graph) {
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, heap_region, sizeof heap_region));
    CHECK_OK(keel_ckpt_schema_init(&schema, &vertex_ckpt_type));
    uint64_t seed = 7;
    random_graph g;
    CHECK(random_graph_build(&g, heap, 500, 120, &seed));
    keel_ckpt ckpt, loaded;
    CHECK_OK(keel_ckpt_take(&ckpt, &schema, g.root, buffer, sizeof buffer, NULL));
    const char *path = path_of("graph.ckpt");
    CHECK_OK(keel_ckpt_save(&ckpt, path));
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK_EQ((size_t)st.st_size, keel_ckpt_file_size(&ckpt));
    keel_ckpt_diag diag;
    CHECK_OK(keel_ckpt_load(&loaded, &schema, path, file, sizeof file, &diag));
    keel_ckpt_stats a, b;
    keel_ckpt_get_stats(&ckpt, &a);
    keel_ckpt_get_stats(&loaded, &b);
    CHECK_EQ(a.objects, b.objects);
    CHECK_EQ(a.shared, b.shared);
    CHECK_EQ(a.edges_followed, b.edges_followed);
    keel_arena arena;
    keel_arena_init(&arena, arena_region, sizeof arena_region);
    vertex *copy;
    CHECK_OK(keel_ckpt_restore_arena(&loaded, &schema, &arena, NULL, (void **)&copy));
    reference_counts counts;
    const char *error = random_graph_compare(&g, copy, &counts);
    if (error != NULL) {
        KEEL_TEST_FAIL_("%s", error);
    }
    /* encode gives the file's bytes. */
    size_t size = keel_ckpt_file_size(&ckpt);
    CHECK_STATUS(keel_ckpt_encode(&ckpt, damaged, size - 1), KEEL_ENOMEM);
    CHECK_OK(keel_ckpt_encode(&ckpt, damaged, size));
    CHECK_EQ(memcmp(damaged, file, size), 0);
    unlink(path);
}

KEEL_TEST(a_file_truncated_at_any_length_is_refused) {
    keel_ckpt ckpt, loaded;
    small_checkpoint(&ckpt, 3, 30);
    size_t size = keel_ckpt_file_size(&ckpt);
    CHECK_OK(keel_ckpt_encode(&ckpt, file, sizeof file));
    for (size_t length = 0; length < size; length++) {
        memcpy(damaged, file, length);
        keel_ckpt_diag diag;
        keel_status status = keel_ckpt_decode(&loaded, &schema, damaged, length, &diag);
        CHECK(status == KEEL_ETRUNCATED || (length < 8 && status == KEEL_EFORMAT));
        CHECK(holds_nothing(&loaded));
        CHECK(diag.message[0] != '\0');
    }
    /* One byte too many is refused too. */
    memcpy(damaged, file, size);
    damaged[size] = 0;
    CHECK_STATUS(keel_ckpt_decode(&loaded, &schema, damaged, size + 1, NULL), KEEL_EFORMAT);
    memcpy(damaged, file, size);
    CHECK_OK(keel_ckpt_decode(&loaded, &schema, damaged, size, NULL));
}

KEEL_TEST(every_corrupted_byte_of_a_small_file_is_refused) {
    keel_ckpt ckpt, loaded;
    small_checkpoint(&ckpt, 5, 24);
    size_t size = keel_ckpt_file_size(&ckpt);
    CHECK_OK(keel_ckpt_encode(&ckpt, file, sizeof file));
    static const uint8_t flips[] = {0x01, 0x80, 0xFF, 0x5A};
    for (size_t at = 0; at < size; at++) {
        for (unsigned f = 0; f < sizeof flips; f++) {
            memcpy(damaged, file, size);
            damaged[at] ^= flips[f];
            keel_ckpt_diag diag;
            keel_status status = keel_ckpt_decode(&loaded, &schema, damaged, size, &diag);
            if (status == KEEL_OK) {
                KEEL_TEST_FAIL_("byte %zu ^ 0x%02x was accepted", at, flips[f]);
            }
            CHECK(status == KEEL_ECHECKSUM || status == KEEL_EFORMAT || status == KEEL_EVERSION);
            CHECK(holds_nothing(&loaded));
        }
    }
}

/* Recomputes the CRCs of a file in memory, so that damage reaches the
 * structural checks behind them. */
static void fix_crcs(unsigned char *bytes) {
    uint64_t records_length, records_count;
    memcpy(&records_length, bytes + 64, 8);
    memcpy(&records_count, bytes + 32, 8);
    uint32_t crc = keel_ckpt_crc32c(0, bytes + KEEL_CKPT_FILE_HEADER, records_length);
    memcpy(bytes + 72, &crc, 4);
    crc = keel_ckpt_crc32c(0, bytes + KEEL_CKPT_FILE_HEADER + records_length, records_count * 8);
    memcpy(bytes + 96, &crc, 4);
    crc = keel_ckpt_crc32c(0, bytes, KEEL_CKPT_FILE_HEADER - 4);
    memcpy(bytes + KEEL_CKPT_FILE_HEADER - 4, &crc, 4);
}

KEEL_TEST(damage_behind_valid_checksums_is_found_by_the_structure_check) {
    keel_ckpt ckpt, loaded;
    small_checkpoint(&ckpt, 11, 40);
    size_t size = keel_ckpt_file_size(&ckpt);
    CHECK_OK(keel_ckpt_encode(&ckpt, file, sizeof file));
    memcpy(damaged, file, size);
    fix_crcs(damaged);
    CHECK_OK(keel_ckpt_decode(&loaded, &schema, damaged, size, NULL)); /* fix_crcs is exact */
    size_t records = ckpt.records_bytes;
    unsigned accepted = 0, refused = 0;
    for (size_t at = KEEL_CKPT_FILE_HEADER; at < size; at++) {
        memcpy(damaged, file, size);
        damaged[at] ^= 0x01;
        fix_crcs(damaged);
        keel_status status = keel_ckpt_decode(&loaded, &schema, damaged, size, NULL);
        if (status == KEEL_OK) {
            accepted++; /* a value byte: any value is valid data */
            keel_arena arena;
            keel_arena_init(&arena, arena_region, sizeof arena_region);
            void *copy;
            CHECK_OK(keel_ckpt_restore_arena(&loaded, &schema, &arena, NULL, &copy));
        } else {
            refused++;
            CHECK_STATUS(status, KEEL_EFORMAT);
            CHECK(holds_nothing(&loaded));
        }
    }
    CHECK(accepted > 0 && refused > records / 16);
}

KEEL_TEST(wrong_version_wrong_schema_and_strangers_are_refused_with_their_reason) {
    keel_ckpt ckpt, loaded;
    small_checkpoint(&ckpt, 13, 20);
    size_t size = keel_ckpt_file_size(&ckpt);
    CHECK_OK(keel_ckpt_encode(&ckpt, file, sizeof file));
    keel_ckpt_diag diag;
    memcpy(damaged, file, size);
    damaged[8] = 2; /* version 2 */
    CHECK_STATUS(keel_ckpt_decode(&loaded, &schema, damaged, size, &diag), KEEL_EVERSION);
    CHECK(strstr(diag.message, "version 2") != NULL);
    keel_ckpt_schema other;
    CHECK_OK(keel_ckpt_schema_init(&other, &node_ckpt_type));
    memcpy(damaged, file, size);
    CHECK_STATUS(keel_ckpt_decode(&loaded, &other, damaged, size, &diag), KEEL_EDESCRIPTOR);
    CHECK(strstr(diag.message, "schema") != NULL);
    memcpy(damaged, "#!/bin/sh\nexit 0\n", 17);
    CHECK_STATUS(keel_ckpt_decode(&loaded, &schema, damaged, 17, &diag), KEEL_EFORMAT);
    char path[128];
    snprintf(path, sizeof path, "%s", path_of("small.ckpt"));
    CHECK_OK(keel_ckpt_save(&ckpt, path));
    CHECK_STATUS(keel_ckpt_load(&loaded, &schema, path, file, size - 1, &diag), KEEL_ENOMEM);
    CHECK_STATUS(keel_ckpt_load(&loaded, &schema, path_of("absent"), file, sizeof file, &diag),
                 KEEL_ESYSTEM);
    CHECK(strstr(diag.message, "absent") != NULL);
    CHECK_STATUS(keel_ckpt_load(&loaded, &schema, path, file + 8, sizeof file - 8, NULL),
                 KEEL_EINVAL);
    CHECK(holds_nothing(&loaded));
    CHECK_OK(keel_ckpt_load(&loaded, &schema, path, file, size, NULL));
    CHECK_STATUS(keel_ckpt_save(&ckpt, path_of("no/such/dir/x.ckpt")), KEEL_ESYSTEM);
    unlink(path);
}

/* ---- the fingerprint covers the layout, field by field ---- */

/* Pairs of types of one size and the same pointers, laid out differently. */
#define ACCT_V1(F) F(BYTES, uint32_t, id) F(BYTES, uint64_t, balance)
KEEL_CKPT_DEFINE(acct_v1, ACCT_V1);
#define ACCT_V2(F) F(BYTES, uint64_t, balance) F(BYTES, uint32_t, id)
KEEL_CKPT_DEFINE(acct_v2, ACCT_V2);
#define HALVES(F) F(BYTES, uint32_t, low) F(BYTES, uint32_t, high)
KEEL_CKPT_DEFINE(halves, HALVES);
#define WHOLE(F) F(BYTES, uint64_t, whole)
KEEL_CKPT_DEFINE(whole, WHOLE);
#define BYTES8(F) F(BYTES_ARRAY, uint8_t, b, 8)
KEEL_CKPT_DEFINE(bytes8, BYTES8);
#define WORDS4(F) F(BYTES_ARRAY, uint16_t, w, 4)
KEEL_CKPT_DEFINE(words4, WORDS4);
#define TO_V1_V2(F) F(SHARED, acct_v1, a) F(SHARED, acct_v2, b)
KEEL_CKPT_DEFINE(to_v1_v2, TO_V1_V2);
#define TO_V2_V1(F) F(SHARED, acct_v2, a) F(SHARED, acct_v1, b)
KEEL_CKPT_DEFINE(to_v2_v1, TO_V2_V1);
#define LEN32(F) F(BYTES, uint32_t, n) F(BYTES, uint32_t, pad) F(BYTES_COUNTED, uint8_t, p, n)
KEEL_CKPT_DEFINE(len32, LEN32);
#define LEN32B(F) F(BYTES, uint32_t, pad) F(BYTES, uint32_t, n) F(BYTES_COUNTED, uint8_t, p, n)
KEEL_CKPT_DEFINE(len32b, LEN32B);

static uint64_t fingerprint_of(const keel_ckpt_type *type) {
    static keel_ckpt_schema s;
    return keel_ckpt_schema_init(&s, type) == KEEL_OK ? s.fingerprint : 0;
}

KEEL_TEST(a_layout_change_changes_the_fingerprint_and_is_refused_on_load) {
    const keel_ckpt_type *pairs[][2] = {
        {&acct_v1_ckpt_type, &acct_v2_ckpt_type}, /* offsets swapped */
        {&halves_ckpt_type, &whole_ckpt_type},    /* sizes */
        {&bytes8_ckpt_type, &words4_ckpt_type},   /* a fixed array's count */
        {&to_v1_v2_ckpt_type, &to_v2_v1_ckpt_type}, /* the target types */
        {&len32_ckpt_type, &len32b_ckpt_type},    /* a count's offset */
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        CHECK_EQ(pairs[i][0]->size, pairs[i][1]->size);
        uint64_t a = fingerprint_of(pairs[i][0]), b = fingerprint_of(pairs[i][1]);
        CHECK(a != 0 && b != 0);
        if (a == b) {
            KEEL_TEST_FAIL_("pair %zu (%s, %s): one fingerprint", i, pairs[i][0]->name,
                            pairs[i][1]->name);
        }
    }
    /* The same descriptor gives the same fingerprint (it is not an address). */
    CHECK_EQ(fingerprint_of(&acct_v1_ckpt_type), fingerprint_of(&acct_v1_ckpt_type));

    /* A file written with one layout is refused by the other. */
    keel_ckpt_schema v1, v2;
    CHECK_OK(keel_ckpt_schema_init(&v1, &acct_v1_ckpt_type));
    CHECK_OK(keel_ckpt_schema_init(&v2, &acct_v2_ckpt_type));
    acct_v1 account = {.id = 7, .balance = 1000000};
    keel_ckpt ckpt, loaded;
    CHECK_OK(keel_ckpt_take(&ckpt, &v1, &account, buffer, sizeof buffer, NULL));
    CHECK_OK(keel_ckpt_encode(&ckpt, file, sizeof file));
    keel_ckpt_diag diag;
    CHECK_STATUS(keel_ckpt_decode(&loaded, &v2, file, keel_ckpt_file_size(&ckpt), &diag),
                 KEEL_EDESCRIPTOR);
    CHECK_OK(keel_ckpt_decode(&loaded, &v1, file, keel_ckpt_file_size(&ckpt), &diag));
}

/* ---- a crash at every step of the write ---- */

static int crash_at;
static int crash_hook(int step) {
    if (step == crash_at) {
        _exit(0); /* the process dies here: nothing is cleaned up */
    }
    return 0;
}

/* Saves `ckpt` to path in a child that dies before step `at`. */
static void save_and_die(const keel_ckpt *ckpt, const char *path, int at) {
    pid_t child = fork();
    if (child == 0) {
        crash_at = at;
        keel_ckpt_io_hook_ = crash_hook;
        keel_status status = keel_ckpt_save(ckpt, path);
        _exit(status == KEEL_OK ? 3 : 4); /* ran to the end */
    }
    int wstatus;
    waitpid(child, &wstatus, 0);
}

/* Which checkpoint `path` holds: its object count, 0 if none, -1 if damaged. */
static long holds(const char *path) {
    keel_ckpt loaded;
    keel_status status = keel_ckpt_load(&loaded, &schema, path, file, sizeof file, NULL);
    if (status == KEEL_ESYSTEM) {
        return 0;
    }
    if (status != KEEL_OK) {
        return -1;
    }
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&loaded, &stats);
    return (long)stats.objects;
}

KEEL_TEST(a_crash_at_any_step_of_a_save_leaves_the_old_file_or_the_new) {
    keel_ckpt old_ckpt, new_ckpt;
    static _Alignas(16) unsigned char old_buffer[1 << 16];
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, heap_region, sizeof heap_region));
    CHECK_OK(keel_ckpt_schema_init(&schema, &vertex_ckpt_type));
    uint64_t seed = 17;
    random_graph a, b;
    CHECK(random_graph_build(&a, heap, 10, 3, &seed));
    CHECK(random_graph_build(&b, heap, 300, 40, &seed));
    CHECK_OK(keel_ckpt_take(&old_ckpt, &schema, a.root, old_buffer, sizeof old_buffer, NULL));
    CHECK_OK(keel_ckpt_take(&new_ckpt, &schema, b.root, buffer, sizeof buffer, NULL));
    keel_ckpt_stats old_stats, new_stats;
    keel_ckpt_get_stats(&old_ckpt, &old_stats);
    keel_ckpt_get_stats(&new_ckpt, &new_stats);
    const char *name = path_of("crash.ckpt");
    char path[128];
    snprintf(path, sizeof path, "%s", name);
    for (int with_old = 0; with_old < 2; with_old++) {
        for (int at = 0; at <= 10; at++) {
            unlink(path);
            if (with_old) {
                CHECK_OK(keel_ckpt_save(&old_ckpt, path));
            }
            save_and_die(&new_ckpt, path, at);
            long found = holds(path);
            long before = with_old ? (long)old_stats.objects : 0;
            /* Up to the rename (step 6) the old file; from then on the new one. */
            long expected = at <= 6 ? before : (long)new_stats.objects;
            if (found != expected) {
                KEEL_TEST_FAIL_("crash before step %d (old file %d): holds %ld, expected %ld", at,
                                with_old, found, expected);
            }
        }
    }
    /* A temporary file left by a crash does not stop the next save. */
    save_and_die(&new_ckpt, path, 3);
    CHECK_OK(keel_ckpt_save(&old_ckpt, path));
    CHECK_EQ(holds(path), (long)old_stats.objects);
    unlink(path);
    char temporary[140];
    snprintf(temporary, sizeof temporary, "%s.tmp", path);
    unlink(temporary);
    rmdir(directory);
}

KEEL_TEST(crc32c_matches_the_standard_check_value_on_both_paths) {
    uint32_t keel_ckpt_crc32c_software_(uint32_t crc, const void *data, size_t size);
    CHECK_EQ(keel_ckpt_crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ(keel_ckpt_crc32c_software_(0, "123456789", 9), 0xE3069283u);
    unsigned char data[1000];
    for (unsigned i = 0; i < sizeof data; i++) {
        data[i] = (unsigned char)(i * 7);
    }
    for (size_t n = 0; n < sizeof data; n += 37) {
        CHECK_EQ(keel_ckpt_crc32c(0, data, n), keel_ckpt_crc32c_software_(0, data, n));
        /* In pieces, continuing from the previous value. */
        CHECK_EQ(keel_ckpt_crc32c(keel_ckpt_crc32c(0, data, n / 2), data + n / 2, n - n / 2),
                 keel_ckpt_crc32c(0, data, n));
    }
}

KEEL_TEST_MAIN()
