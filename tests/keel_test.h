/*
 * keel_test.h - the test suite's small harness.
 *
 * A test file is a list of behaviours:
 *
 *     KEEL_TEST(pool_refuses_a_double_free) {
 *         ...
 *         CHECK_STATUS(keel_pool_free(&pool, p), KEEL_EDOUBLEFREE);
 *     }
 *     KEEL_TEST_MAIN()
 *
 * Each behaviour runs in turn; a failed check prints the file, line and the
 * expression, marks the behaviour failed and returns from it. The executable's
 * exit status is the number of failed behaviours (capped), so CTest sees it.
 * Pass a behaviour's name as argument to run only that one.
 */
#ifndef KEEL_TEST_H
#define KEEL_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/status.h"

typedef struct keel_test_case {
    const char *name;
    void (*run)(void);
    struct keel_test_case *next;
} keel_test_case;

extern keel_test_case *keel_test_list_;
extern int keel_test_failed_;

#define KEEL_TEST(name)                                               \
    static void name(void);                                           \
    static keel_test_case name##_case_ = {#name, name, NULL};         \
    __attribute__((constructor)) static void name##_register_(void) { \
        name##_case_.next = keel_test_list_;                          \
        keel_test_list_ = &name##_case_;                              \
    }                                                                 \
    static void name(void)

#define KEEL_TEST_FAIL_(...)                              \
    do {                                                  \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                     \
        fputc('\n', stderr);                              \
        keel_test_failed_ = 1;                            \
        return;                                           \
    } while (0)

#define CHECK(cond)                                     \
    do {                                                \
        if (!(cond))                                    \
            KEEL_TEST_FAIL_("CHECK(%s) failed", #cond); \
    } while (0)

#define CHECK_EQ(a, b)                                                                      \
    do {                                                                                    \
        uintmax_t a_ = (uintmax_t)(a), b_ = (uintmax_t)(b);                                 \
        if (a_ != b_)                                                                       \
            KEEL_TEST_FAIL_("CHECK_EQ(%s, %s): %" PRIuMAX " != %" PRIuMAX, #a, #b, a_, b_); \
    } while (0)

#define CHECK_STATUS(expr, expected)                                                      \
    do {                                                                                  \
        keel_status got_ = (expr);                                                        \
        if (got_ != (expected))                                                           \
            KEEL_TEST_FAIL_("%s returned %s, expected %s", #expr, keel_status_name(got_), \
                            keel_status_name(expected));                                  \
    } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, KEEL_OK)

#define KEEL_TEST_MAIN()                                                     \
    keel_test_case *keel_test_list_;                                         \
    int keel_test_failed_;                                                   \
    int main(int argc, char **argv) {                                        \
        /* Registration prepends; reverse to run in source order. */         \
        keel_test_case *ordered = NULL;                                      \
        while (keel_test_list_ != NULL) {                                    \
            keel_test_case *c = keel_test_list_;                             \
            keel_test_list_ = c->next;                                       \
            c->next = ordered;                                               \
            ordered = c;                                                     \
        }                                                                    \
        int failures = 0, ran = 0;                                           \
        for (keel_test_case *c = ordered; c != NULL; c = c->next) {          \
            if (argc > 1 && strcmp(argv[1], c->name) != 0)                   \
                continue;                                                    \
            keel_test_failed_ = 0;                                           \
            c->run();                                                        \
            ran++;                                                           \
            printf("%s %s\n", keel_test_failed_ ? "FAIL" : "ok  ", c->name); \
            failures += keel_test_failed_;                                   \
        }                                                                    \
        printf("%d passed, %d failed\n", ran - failures, failures);          \
        if (ran == 0) {                                                      \
            fprintf(stderr, "no behaviour matched\n");                       \
            return 2;                                                        \
        }                                                                    \
        return failures > 100 ? 100 : failures;                              \
    }

#endif /* KEEL_TEST_H */
