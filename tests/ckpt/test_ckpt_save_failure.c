/*
 * keel_ckpt_save when a system call fails for real (not a crash): before the
 * rename, `path` is untouched and the temporary file removed; after it (the
 * directory cannot be opened or synced), `path` already holds the new
 * checkpoint, complete, and the status is still KEEL_ESYSTEM, as ckpt.h says.
 * The failures are injected by wrapping open and fsync at link time
 * (-Wl,--wrap, see CMakeLists.txt), so the library's own calls fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/ckpt.h"
#include "keel_test.h"
#include "random_graph.h"

int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

/* Which call fails next, with which errno (0: none). */
static int fail_directory_open, fail_file_open, fail_directory_fsync;

int __wrap_open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list args;
        va_start(args, flags);
        mode = (mode_t)va_arg(args, int);
        va_end(args);
    }
    int *fail = (flags & O_DIRECTORY) ? &fail_directory_open
                : (flags & O_CREAT)   ? &fail_file_open
                                      : NULL;
    if (fail != NULL && *fail != 0) {
        errno = *fail;
        *fail = 0;
        return -1;
    }
    return __real_open(path, flags, mode);
}

int __wrap_fsync(int fd) {
    struct stat st;
    if (fail_directory_fsync != 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        errno = fail_directory_fsync;
        fail_directory_fsync = 0;
        return -1;
    }
    return __real_fsync(fd);
}

enum { REGION = 1 << 20 };
static _Alignas(16) unsigned char heap_region[REGION];
static _Alignas(16) unsigned char old_buffer[REGION / 4], new_buffer[REGION / 4];
static _Alignas(16) unsigned char file[REGION];
static keel_ckpt_schema schema;

/* The object count of the checkpoint at `path`; 0 if there is none. */
static long holds(const char *path) {
    keel_ckpt loaded;
    if (keel_ckpt_load(&loaded, &schema, path, file, sizeof file, NULL) != KEEL_OK) {
        return 0;
    }
    keel_ckpt_stats stats;
    keel_ckpt_get_stats(&loaded, &stats);
    return (long)stats.objects;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

KEEL_TEST(a_failure_before_the_rename_leaves_path_a_failure_after_it_has_replaced_it) {
    keel_heap *heap;
    CHECK_OK(keel_heap_init(&heap, heap_region, sizeof heap_region));
    CHECK_OK(keel_ckpt_schema_init(&schema, &vertex_ckpt_type));
    uint64_t seed = 5;
    random_graph a, b;
    CHECK(random_graph_build(&a, heap, 10, 3, &seed));
    CHECK(random_graph_build(&b, heap, 200, 20, &seed));
    keel_ckpt old_ckpt, new_ckpt;
    CHECK_OK(keel_ckpt_take(&old_ckpt, &schema, a.root, old_buffer, sizeof old_buffer, NULL));
    CHECK_OK(keel_ckpt_take(&new_ckpt, &schema, b.root, new_buffer, sizeof new_buffer, NULL));
    keel_ckpt_stats old_stats, new_stats;
    keel_ckpt_get_stats(&old_ckpt, &old_stats);
    keel_ckpt_get_stats(&new_ckpt, &new_stats);
    CHECK(old_stats.objects != new_stats.objects);

    char directory[64], path[96], temporary[104];
    snprintf(directory, sizeof directory, "/tmp/keel-ckpt-save-%d", (int)getpid());
    mkdir(directory, 0700);
    snprintf(path, sizeof path, "%s/state.ckpt", directory);
    snprintf(temporary, sizeof temporary, "%s.tmp", path);

    /* Before the rename: the temporary file cannot be created. */
    CHECK_OK(keel_ckpt_save(&old_ckpt, path));
    fail_file_open = ENOSPC;
    CHECK_STATUS(keel_ckpt_save(&new_ckpt, path), KEEL_ESYSTEM);
    CHECK_EQ(errno, ENOSPC);
    CHECK_EQ(holds(path), (long)old_stats.objects); /* untouched */
    CHECK(!exists(temporary));

    /* After the rename: the directory cannot be opened (the fd table is full). */
    fail_directory_open = EMFILE;
    CHECK_STATUS(keel_ckpt_save(&new_ckpt, path), KEEL_ESYSTEM);
    CHECK_EQ(errno, EMFILE);
    CHECK_EQ(holds(path), (long)new_stats.objects); /* replaced, complete */
    CHECK(!exists(temporary));

    /* After the rename: the directory's fsync fails. */
    CHECK_OK(keel_ckpt_save(&old_ckpt, path));
    fail_directory_fsync = EIO;
    CHECK_STATUS(keel_ckpt_save(&new_ckpt, path), KEEL_ESYSTEM);
    CHECK_EQ(errno, EIO);
    CHECK_EQ(holds(path), (long)new_stats.objects);
    CHECK(!exists(temporary));

    /* Saving again succeeds and makes the replacement durable. */
    CHECK_OK(keel_ckpt_save(&new_ckpt, path));
    CHECK_EQ(holds(path), (long)new_stats.objects);
    unlink(path);
    rmdir(directory);
}

KEEL_TEST_MAIN()
