/* util.c - allocation that cannot fail silently, and string lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

static void wc_oom(void) {
    fputs("keel-wcet: out of memory\n", stderr);
    abort();
}

void *wc_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        wc_oom();
    return p;
}

void *wc_xrealloc(void *p, size_t n, size_t size) {
    void *q = realloc(p, (n ? n : 1) * (size ? size : 1));
    if (!q)
        wc_oom();
    return q;
}

char *wc_xstrdup(const char *s) {
    char *d = strdup(s ? s : "");
    if (!d)
        wc_oom();
    return d;
}

char *wc_fmt(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        wc_oom();
    va_end(ap);
    return s;
}

void wc_strs_add(wc_strs *s, char *owned) {
    if (wc_strs_has(s, owned)) {
        free(owned);
        return;
    }
    WC_GROW(s->v, s->n, s->cap);
    s->v[s->n++] = owned;
}

void wc_strs_addf(wc_strs *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *str = NULL;
    if (vasprintf(&str, fmt, ap) < 0)
        wc_oom();
    va_end(ap);
    wc_strs_add(s, str);
}

bool wc_strs_has(const wc_strs *s, const char *str) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return true;
    return false;
}

void wc_strs_merge(wc_strs *dst, const wc_strs *src) {
    for (int i = 0; i < src->n; i++)
        wc_strs_add(dst, wc_xstrdup(src->v[i]));
}

void wc_strs_free(wc_strs *s) {
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}
