/*
 * text.h - string building without stdio, for failure messages. Not installed.
 *
 * Everything here is async-signal-safe (no locks, no allocation, no locale)
 * and writes like snprintf: at most `cap` - 1 characters and a terminating
 * NUL, the rest cut off. Two users: the fault handler (domain/fault.c), which
 * must not call stdio, and keel_panic, where glibc's vsnprintf cost about
 * 650 of the ~2,750 instructions from a panic to its recovered domain (most
 * of them setting up a string FILE), against about 155 here for a typical
 * message (bench/domain/profile.sh).
 */
#ifndef KEEL_CORE_TEXT_H
#define KEEL_CORE_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Appends `text` at out[at] (at < cap); returns the new end. out[end] is NUL. */
size_t keel_text_append_(char *out, size_t at, size_t cap, const char *text);

/* Appends `value` as 0x and lowercase hex digits, no leading zeros ("0x0"). */
size_t keel_text_append_hex_(char *out, size_t at, size_t cap, uintptr_t value);

/*
 * Formats into out[0..cap) (cap >= 1) what vsnprintf(out, cap, format, args)
 * would write, for formats whose conversions are all plain: %%, %c, %s, %p,
 * and %d %i %u %x %X with no length modifier or hh, h, l, ll, z, t or j. Any
 * flag, width, precision or other conversion makes it return false, having
 * written part of `out`: the caller then formats with vsnprintf. `args` is
 * left as it was (the arguments are read from a copy).
 */
bool keel_text_format_(char *out, size_t cap, const char *format, va_list args);

#endif
