/*
 * text.c - string building without stdio (text.h).
 */
#include "core/text.h"

#include <string.h>

size_t keel_text_append_(char *out, size_t at, size_t cap, const char *text) {
    while (*text != '\0' && at + 1 < cap) {
        out[at++] = *text++;
    }
    out[at] = '\0';
    return at;
}

/* Decimal and hex digits of `value`, most significant first, ending at `end`;
 * returns where they start. Bases are constants: no division instruction. */
static char *decimal(char *end, uint64_t value) {
    do {
        *--end = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    return end;
}

static char *hex(char *end, uint64_t value, const char *set) {
    do {
        *--end = set[value & 0xF];
        value >>= 4;
    } while (value != 0);
    return end;
}

size_t keel_text_append_hex_(char *out, size_t at, size_t cap, uintptr_t value) {
    char buffer[2 + 2 * sizeof value + 1];
    char *end = buffer + sizeof buffer - 1;
    *end = '\0';
    char *start = hex(end, value, "0123456789abcdef");
    *--start = 'x';
    *--start = '0';
    return keel_text_append_(out, at, cap, start);
}

/* The length modifiers accepted (text.h). */
typedef enum length { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_T, L_J } length;

/* Reads a length modifier at *p, advancing past it. */
static length length_at(const char **p) {
    switch (**p) {
    case 'h':
        if ((*p)[1] == 'h') {
            *p += 2;
            return L_HH;
        }
        *p += 1;
        return L_H;
    case 'l':
        if ((*p)[1] == 'l') {
            *p += 2;
            return L_LL;
        }
        *p += 1;
        return L_L;
    case 'z':
        *p += 1;
        return L_Z;
    case 't':
        *p += 1;
        return L_T;
    case 'j':
        *p += 1;
        return L_J;
    default:
        return L_NONE;
    }
}

/* The next argument of a signed conversion, as vsnprintf converts it. */
static int64_t signed_arg(va_list *ap, length len) {
    switch (len) {
    case L_HH:
        return (signed char)va_arg(*ap, int);
    case L_H:
        return (short)va_arg(*ap, int);
    case L_L:
        return va_arg(*ap, long);
    case L_LL:
        return va_arg(*ap, long long);
    case L_Z:
        return (int64_t)va_arg(*ap, size_t); /* %zd: size_t's signed type */
    case L_T:
        return va_arg(*ap, ptrdiff_t);
    case L_J:
        return va_arg(*ap, intmax_t);
    case L_NONE:
    default:
        return va_arg(*ap, int);
    }
}

/* ... and of an unsigned one. */
static uint64_t unsigned_arg(va_list *ap, length len) {
    switch (len) {
    case L_HH:
        return (unsigned char)va_arg(*ap, unsigned);
    case L_H:
        return (unsigned short)va_arg(*ap, unsigned);
    case L_L:
        return va_arg(*ap, unsigned long);
    case L_LL:
        return va_arg(*ap, unsigned long long);
    case L_Z:
        return va_arg(*ap, size_t);
    case L_T:
        return (uint64_t)va_arg(*ap, ptrdiff_t); /* %tu: ptrdiff_t's unsigned type */
    case L_J:
        return va_arg(*ap, uintmax_t);
    case L_NONE:
    default:
        return va_arg(*ap, unsigned);
    }
}

/* One conversion at *p (just past its '%'), written at out[at]; false if it
 * is not one text.h accepts. */
static bool convert(char *out, size_t *at, size_t cap, const char **p, va_list *ap) {
    char buffer[2 + 20 + 1]; /* "0x" or '-', then up to 20 digits */
    char *end = buffer + sizeof buffer - 1;
    *end = '\0';
    const char *text;
    length len = length_at(p);
    char c = **p;
    *p += 1;
    switch (c) {
    case '%':
    case 'c':
        if (len != L_NONE) {
            return false;
        }
        /* One character, a NUL included, as vsnprintf writes it. */
        if (*at + 1 < cap) {
            out[(*at)++] = c == '%' ? '%' : (char)(unsigned char)va_arg(*ap, int);
        }
        return true;
    case 's':
        if (len != L_NONE) {
            return false;
        }
        text = va_arg(*ap, const char *);
        if (text == NULL) {
            text = "(null)"; /* glibc's */
        }
        break;
    case 'p': {
        if (len != L_NONE) {
            return false;
        }
        uintptr_t value = (uintptr_t)va_arg(*ap, void *);
        if (value == 0) {
            text = "(nil)"; /* glibc's */
        } else {
            char *start = hex(end, value, "0123456789abcdef");
            *--start = 'x';
            *--start = '0';
            text = start;
        }
        break;
    }
    case 'd':
    case 'i': {
        int64_t value = signed_arg(ap, len);
        uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
        char *start = decimal(end, magnitude);
        if (value < 0) {
            *--start = '-';
        }
        text = start;
        break;
    }
    case 'u':
        text = decimal(end, unsigned_arg(ap, len));
        break;
    case 'x':
        text = hex(end, unsigned_arg(ap, len), "0123456789abcdef");
        break;
    case 'X':
        text = hex(end, unsigned_arg(ap, len), "0123456789ABCDEF");
        break;
    default:
        return false; /* flags, width, precision, floats, %n, %m, ... */
    }
    *at = keel_text_append_(out, *at, cap, text);
    return true;
}

bool keel_text_format_(char *out, size_t cap, const char *format, va_list args) {
    va_list ap;
    va_copy(ap, args);
    size_t at = 0;
    bool plain = true;
    const char *p = format;
    while (*p != '\0' && at + 1 < cap) { /* once full, the rest is cut off */
        if (*p != '%') { /* a run of text, up to the next conversion */
            const char *stop = strchr(p, '%');
            size_t run = stop != NULL ? (size_t)(stop - p) : strlen(p);
            size_t room = cap - 1 - at;
            memcpy(out + at, p, run < room ? run : room);
            at += run < room ? run : room;
            p += run;
        } else {
            p++;
            if (!convert(out, &at, cap, &p, &ap)) {
                plain = false;
                break;
            }
        }
    }
    out[at] = '\0';
    va_end(ap);
    return plain;
}
