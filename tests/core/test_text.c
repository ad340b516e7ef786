/*
 * The failure-message formatter (src/core/text.h) against glibc's vsnprintf:
 * for every format it takes, the same bytes at every buffer size, and for
 * every other format it declines, so that keel_panic hands it to vsnprintf.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <wchar.h>

#include "core/text.h"
#include "keel_test.h"

enum { BUFFER = 80, LARGEST_CAP = 64 };

/* The first buffer size (1..LARGEST_CAP) at which keel's formatter and
 * vsnprintf leave different bytes in a '#'-filled buffer, or at which keel's
 * declined; 0 if none. */
static size_t differs(const char *format, ...) __attribute__((format(printf, 1, 2)));
static size_t differs(const char *format, ...) {
    for (size_t cap = 1; cap <= LARGEST_CAP; cap++) {
        char ours[BUFFER], theirs[BUFFER];
        memset(ours, '#', sizeof ours);
        memset(theirs, '#', sizeof theirs);
        va_list args;
        va_start(args, format);
        bool plain = keel_text_format_(ours, cap, format, args);
        /* args is left as it was: vsnprintf reads the same arguments. */
        vsnprintf(theirs, cap, format, args);
        va_end(args);
        if (!plain || memcmp(ours, theirs, sizeof ours) != 0) {
            return cap;
        }
    }
    return 0;
}

/* True if keel's formatter declines the format (a roomy buffer). */
static bool declines(const char *format, ...) __attribute__((format(printf, 1, 2)));
static bool declines(const char *format, ...) {
    char out[BUFFER];
    va_list args;
    va_start(args, format);
    bool plain = keel_text_format_(out, sizeof out, format, args);
    va_end(args);
    return !plain;
}

KEEL_TEST(plain_text_and_characters_match_vsnprintf_at_every_size) {
    CHECK_EQ(differs("%s", ""), 0);
    CHECK_EQ(differs("no conversion at all, and longer than the smaller buffers"), 0);
    CHECK_EQ(differs("100%% sure, %%%% twice"), 0);
    CHECK_EQ(differs("%c|%c|%c", 'a', 'Z', '%'), 0);
    CHECK_EQ(differs("a%cb", 0), 0); /* a NUL inside: both write it and go on */
    CHECK_EQ(differs("%s and %s, then %s", "this", "", "that, which is long enough to cut"), 0);
    const char *volatile nothing = NULL;
    CHECK_EQ(differs("[%s]", nothing), 0);
}

KEEL_TEST(integers_of_every_length_match_vsnprintf_at_every_size) {
    CHECK_EQ(differs("%d %i %d %d", INT_MIN, INT_MAX, 0, -1), 0);
    CHECK_EQ(differs("%u %x %X", UINT_MAX, 0xdeadbeefu, 0xabcdefu), 0);
    CHECK_EQ(differs("%hhd %hhu %hd %hu %hhx", (signed char)-5, (unsigned char)200, (short)-30000,
                     (unsigned short)60000, (unsigned char)255),
             0);
    CHECK_EQ(differs("%ld %lu %lx %li", LONG_MIN, ULONG_MAX, 0x123456789abcdefUL, LONG_MAX), 0);
    CHECK_EQ(differs("%lld %llu %llX", LLONG_MIN, ULLONG_MAX, 0xfedcba9876543210ULL), 0);
    CHECK_EQ(differs("%zu %zx %zd", SIZE_MAX, (size_t)4096, (ssize_t)-5), 0);
    CHECK_EQ(differs("%td %jd %ju %jx", PTRDIFF_MIN, INTMAX_MIN, UINTMAX_MAX, (uintmax_t)255), 0);
    CHECK_EQ(differs("injected panic at packet %zu of %u", (size_t)123456789, 100000u), 0);
}

KEEL_TEST(pointers_match_vsnprintf_at_every_size) {
    int here;
    CHECK_EQ(differs("%p %p", (void *)&here, (void *)NULL), 0);
    CHECK_EQ(differs("%p", (void *)UINTPTR_MAX), 0);
    CHECK_EQ(differs("%p", (void *)0x10), 0);
}

KEEL_TEST(flags_widths_precisions_and_other_conversions_are_declined) {
    CHECK(declines("%5d", 1));
    CHECK(declines("%-3s", "a"));
    CHECK(declines("%.2s", "abc"));
    CHECK(declines("%*d", 3, 1));
    CHECK(declines("%+d", 1));
    CHECK(declines("% d", 1));
    CHECK(declines("%#x", 1u));
    CHECK(declines("%08x", 1u));
    CHECK(declines("%o", 8u));
    CHECK(declines("%f", 1.0));
    CHECK(declines("%e %g %a", 1.0, 1.0, 1.0));
    CHECK(declines("%Lf", 1.0L));
    CHECK(declines("%lc", (wint_t)'a'));
    CHECK(declines("%ls", L"wide"));
    CHECK(declines("plain first, then %d and %5u", 1, 2u));
}

KEEL_TEST(append_and_hex_cut_off_like_snprintf) {
    char out[8];
    memset(out, '#', sizeof out);
    size_t at = keel_text_append_(out, 0, sizeof out, "abc");
    CHECK_EQ(at, 3);
    at = keel_text_append_(out, at, sizeof out, "defghij");
    CHECK_EQ(at, 7);
    CHECK(strcmp(out, "abcdefg") == 0);
    char hex[24];
    CHECK_EQ(keel_text_append_hex_(hex, 0, sizeof hex, 0), 3);
    CHECK(strcmp(hex, "0x0") == 0);
    keel_text_append_hex_(hex, 0, sizeof hex, (uintptr_t)0xdeadbeef);
    CHECK(strcmp(hex, "0xdeadbeef") == 0);
    keel_text_append_hex_(hex, 0, 6, (uintptr_t)0xdeadbeef);
    CHECK(strcmp(hex, "0xdea") == 0);
}

KEEL_TEST_MAIN()
