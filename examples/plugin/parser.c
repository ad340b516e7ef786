/*
 * parser.c - the untrusted plugin: parses records such as
 * "name=pump;count=4;total=100" from a box lent to it. Everything here runs
 * inside the plugin's domain.
 *
 * It has four deliberate bugs, each triggered by one kind of input: a field
 * without '=' (NULL dereference), count=0 (division by zero), a debug=ADDRESS
 * field (wild write), and a value that is not a number (keel_panic).
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "parser.h"

/* The plugin's state lives in its domain's heap: a failure throws it away. */
typedef struct parser {
    unsigned long parsed;
} parser;

/* UBSan would report the NULL write below before the CPU could fault. The bug
 * is the point of the example, so let it fault as in a release build. */
#define DELIBERATE_BUG __attribute__((no_sanitize("undefined")))

/* Splits "key=value" in place (the lent box is ours during the call) and
 * returns the value. BUG: without '=', memchr returns NULL and we write to it. */
DELIBERATE_BUG static char *split(char *field, char *field_end) {
    char *equals = memchr(field, '=', (size_t)(field_end - field));
    *equals = '\0';
    return equals + 1;
}

/* The value as a number. Malformed input is refused with keel_panic: the call
 * fails and the domain is recovered, but the host carries on. */
static long number(const char *key, const char *value, const char *value_end) {
    long n = 0;
    for (const char *c = value; c < value_end; c++) {
        if (*c < '0' || *c > '9' || n > (LONG_MAX - 9) / 10) {
            keel_panic("malformed record: %s=%.*s is not a number", key, (int)(value_end - value),
                       value);
        }
        n = n * 10 + (*c - '0');
    }
    return n;
}

/* dividend / divisor with the CPU's idiv. BUG: nobody checks for 0. In C,
 * division by zero is undefined: the compiler may assume it away and UBSan
 * reports it; the idiv instruction always raises SIGFPE. */
static long divide(long dividend, long divisor) {
    long quotient;
    __asm__ volatile("cqto\n\tidivq %[divisor]"
                     : "=a"(quotient)
                     : "a"(dividend), [divisor] "r"(divisor)
                     : "rdx", "cc");
    return quotient;
}

static keel_status parse(void *object, keel_call *call) {
    parser *self = object;
    parsed_record *out = call->result;
    char *text;
    size_t size;
    keel_status status = keel_box_data(call->box, (void **)&text, &size);
    if (status != KEEL_OK) {
        return status;
    }
    memset(out, 0, sizeof *out);
    char *end = text + size;
    for (char *field = text; field < end;) {
        char *field_end = memchr(field, ';', (size_t)(end - field));
        if (field_end == NULL) {
            field_end = end;
        }
        char *value = split(field, field_end);
        if (strcmp(field, "name") == 0) {
            size_t length = (size_t)(field_end - value);
            length = length < sizeof out->name - 1 ? length : sizeof out->name - 1;
            memcpy(out->name, value, length);
        } else if (strcmp(field, "count") == 0) {
            out->count = number(field, value, field_end);
        } else if (strcmp(field, "total") == 0) {
            out->total = number(field, value, field_end);
        } else if (strcmp(field, "debug") == 0) {
            /* BUG: a leftover debugging hook writes through an address taken
             * from the input. Address 16 is never mapped, so this faults; a
             * mapped address would be corrupted silently (docs/domains.md). */
            *(long *)(uintptr_t)number(field, value, field_end) = 1;
        } else {
            return KEEL_EINVAL; /* an ordinary error: the plugin has not failed */
        }
        field = field_end + 1;
    }
    out->average = divide(out->total, out->count);
    out->parsed = ++self->parsed;
    return KEEL_OK;
}

static const keel_method parser_methods[PARSER_METHOD_COUNT] = {parse};
static const keel_interface parser_interface = {"parser", PARSER_METHOD_COUNT, parser_methods};

/* Makes a parser on the domain's heap (fresh at create and after a failure)
 * and exports it; after a failure, re-exports it behind the old rref, so that
 * every holder of that rref reaches it again (transparent recovery). */
static keel_status start(keel_domain *domain, keel_rref *rref, bool recovering) {
    parser *self;
    keel_status status = keel_domain_alloc(sizeof *self, (void **)&self);
    if (status != KEEL_OK) {
        return status;
    }
    self->parsed = 0;
    return recovering ? keel_domain_reexport(domain, *rref, self, &parser_interface)
                      : keel_domain_export(domain, self, &parser_interface, rref);
}

keel_status parser_init(keel_domain *domain, void *context) {
    return start(domain, context, false);
}

keel_status parser_recover(keel_domain *domain, void *context) {
    return start(domain, context, true);
}
