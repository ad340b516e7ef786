/*
 * facts.c - the flow-facts file: what cannot be inferred from the binary.
 *
 *   # comment
 *   loop      FUNCTION WHERE max N        at most N back edges per entry
 *   recursion FUNCTION depth N            at most N nested activations
 *   extern    NAME cost N [stack B]       an external function's bound
 *   exclusive FUNCTION WHERE WHERE        never both in one execution
 *   stack     FUNCTION WHERE max B        bytes of a variable-size frame
 *   icall     FUNCTION WHERE TARGET...    the functions an indirect call (or
 *                                         jump) at WHERE may reach
 *
 * WHERE is FILE:LINE, LINE, or 0xADDRESS. Every fact used is an assumption
 * of the report; a fact that matches nothing is an error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wcet_internal.h"

static bool parse_u64(const char *s, uint64_t *v) {
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || *end || *s == '-')
        return false;
    *v = x;
    return true;
}

int wc_facts_load(wc_facts *f, const char *path, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    f->path = wc_xstrdup(path);
    char line[1024];
    int ln = 0;
    while (fgets(line, sizeof line, fp)) {
        ln++;
        char *h = strchr(line, '#');
        if (h)
            *h = 0;
        char *tok[3 + WC_FACT_MAX_TARGETS + 1];
        int nt = 0, maxt = (int)(sizeof tok / sizeof tok[0]);
        for (char *s = strtok(line, " \t\r\n"); s && nt < maxt; s = strtok(NULL, " \t\r\n"))
            tok[nt++] = s;
        if (nt == 0)
            continue;
        wc_fact x;
        memset(&x, 0, sizeof x);
        x.srcline = ln;
        bool ok = false;
        if (strcmp(tok[0], "loop") == 0 && nt == 5 && strcmp(tok[3], "max") == 0 &&
            parse_u64(tok[4], &x.value)) {
            x.kind = WC_F_LOOP;
            ok = true;
        } else if (strcmp(tok[0], "stack") == 0 && nt == 5 && strcmp(tok[3], "max") == 0 &&
                   parse_u64(tok[4], &x.value)) {
            x.kind = WC_F_STACK;
            ok = true;
        } else if (strcmp(tok[0], "recursion") == 0 && nt == 4 && strcmp(tok[2], "depth") == 0 &&
                   parse_u64(tok[3], &x.value) && x.value >= 1) {
            x.kind = WC_F_RECURSION;
            ok = true;
        } else if (strcmp(tok[0], "extern") == 0 && (nt == 4 || nt == 6) &&
                   strcmp(tok[2], "cost") == 0 && parse_u64(tok[3], &x.value) &&
                   (nt == 4 || (strcmp(tok[4], "stack") == 0 && parse_u64(tok[5], &x.stack)))) {
            x.kind = WC_F_EXTERN;
            x.has_stack = nt == 6;
            ok = true;
        } else if (strcmp(tok[0], "exclusive") == 0 && nt == 4) {
            x.kind = WC_F_EXCLUSIVE;
            ok = true;
        } else if (strcmp(tok[0], "icall") == 0 && nt >= 4 && nt <= 3 + WC_FACT_MAX_TARGETS) {
            x.kind = WC_F_ICALL;
            ok = true;
        }
        if (!ok) {
            snprintf(err, errlen,
                     "%s:%d: cannot read this flow fact (expected `loop F WHERE max N`, `recursion "
                     "F depth N`, "
                     "`extern NAME cost N [stack B]`, `exclusive F WHERE WHERE`, `stack F WHERE "
                     "max B` or `icall F WHERE TARGET...` with at most %d targets)",
                     path, ln, WC_FACT_MAX_TARGETS);
            fclose(fp);
            wc_facts_free(f);
            return -1;
        }
        x.func = wc_xstrdup(tok[1]);
        if (x.kind == WC_F_LOOP || x.kind == WC_F_STACK || x.kind == WC_F_EXCLUSIVE ||
            x.kind == WC_F_ICALL)
            x.where[0] = wc_xstrdup(tok[2]);
        if (x.kind == WC_F_EXCLUSIVE)
            x.where[1] = wc_xstrdup(tok[3]);
        for (int i = 3; x.kind == WC_F_ICALL && i < nt; i++)
            x.targets[x.ntargets++] = wc_xstrdup(tok[i]);
        char buf[512] = "";
        for (int i = 0; i < nt; i++) {
            strncat(buf, tok[i], sizeof buf - strlen(buf) - 2);
            if (i + 1 < nt)
                strcat(buf, " ");
        }
        x.text = wc_fmt("%s:%d: %s", path, ln, buf);
        WC_GROW(f->v, f->n, f->cap);
        f->v[f->n++] = x;
    }
    fclose(fp);
    return 0;
}

void wc_facts_free(wc_facts *f) {
    for (int i = 0; i < f->n; i++) {
        free(f->v[i].func);
        free(f->v[i].where[0]);
        free(f->v[i].where[1]);
        for (int t = 0; t < f->v[i].ntargets; t++)
            free(f->v[i].targets[t]);
        free(f->v[i].text);
    }
    free(f->v);
    free(f->path);
    memset(f, 0, sizeof *f);
}

/* Does WHERE name one of these instruction addresses? */
bool wc_fact_matches(const wc_image *img, const char *where, uint64_t lo, uint64_t hi,
                     const uint64_t *addrs, int naddrs) {
    (void)lo;
    (void)hi;
    if (strncmp(where, "0x", 2) == 0) {
        uint64_t a = strtoull(where, NULL, 16);
        for (int i = 0; i < naddrs; i++)
            if (addrs[i] == a)
                return true;
        return false;
    }
    const char *colon = strrchr(where, ':');
    const char *file = NULL;
    size_t flen = 0;
    int line;
    if (colon) {
        file = where;
        flen = (size_t)(colon - where);
        line = atoi(colon + 1);
    } else
        line = atoi(where);
    if (line <= 0)
        return false;
    for (int i = 0; i < naddrs; i++) {
        const char *f;
        int l = wc_image_line(img, addrs[i], &f);
        if (l != line || !f)
            continue;
        if (file) {
            size_t n = strlen(f);
            /* match the whole path or its last components */
            if (n < flen || strncmp(f + n - flen, file, flen) != 0 ||
                (n > flen && f[n - flen - 1] != '/'))
                continue;
        }
        return true;
    }
    return false;
}
