/*
 * report.c - the three outputs: a readable text report, JSON (versioned
 * schema, read by the schedulability analysis; see docs/wcet.md), and DOT of a
 * function's CFG with loop bounds and the worst-case path.
 */
#include <stdio.h>
#include <string.h>

#include "wcet_internal.h"

wc_analyzer *wc_keel_analyzer(keel_wcet *w);

static const char *const global_assumptions[] = {
    "cost model: one unit per executed x86-64 instruction, a rep-prefixed string instruction once "
    "per iteration "
    "plus once for its final test (valgrind's count); not cycles",
    "the program is memory safe: a store through a pointer or an indexed stack address never "
    "writes a stack slot "
    "whose address was not taken",
    "callees follow the SysV x86-64 ABI (callee-saved registers and the stack pointer are "
    "preserved)",
    NULL};

static void where(wc_analyzer *an, uint64_t addr, char *buf, size_t n) {
    const char *f;
    int l = wc_image_line(an->img, addr, &f);
    if (f) {
        const char *b = strrchr(f, '/');
        snprintf(buf, n, "%s:%d", b ? b + 1 : f, l);
    } else
        snprintf(buf, n, "?");
}

void keel_wcet_report_text(keel_wcet *w, const keel_wcet_result *r, FILE *out) {
    wc_analyzer *an = wc_keel_analyzer(w);
    char wb[256];
    where(an, r->addr, wb, sizeof wb);
    fprintf(out, "function %s at 0x%llx (%s)\n", r->name, (unsigned long long)r->addr, wb);
    fprintf(out, "  status:  %s\n", keel_wcet_status_name((keel_wcet_status)r->status));
    if (r->status == KEEL_WCET_BOUNDED)
        fprintf(out, "  bound:   %llu instructions\n", (unsigned long long)r->bound);
    else
        fprintf(out, "  bound:   %s\n", keel_wcet_status_name((keel_wcet_status)r->status));
    if (r->stack_status == KEEL_WCET_BOUNDED)
        fprintf(out, "  stack:   %llu bytes (own frame %llu, return address included)\n",
                (unsigned long long)r->stack, (unsigned long long)r->frame);
    else
        fprintf(out, "  stack:   %s\n", keel_wcet_status_name((keel_wcet_status)r->stack_status));
    const wc_cfg *cfg = r->cfg;
    if (cfg) {
        fprintf(out, "  blocks:  %d, loops: %d%s\n", cfg->nblocks, cfg->nloops,
                cfg->irreducible ? " (irreducible control flow present)" : "");
        for (int l = 0; l < cfg->nloops; l++) {
            const wc_lbound *lb = &r->lb[l];
            char w2[96];
            where(an, cfg->blocks[cfg->loops[l].header].start, w2, sizeof w2);
            fprintf(out, "  loop %d at 0x%llx (%s), depth %d: ", l + 1,
                    (unsigned long long)cfg->blocks[cfg->loops[l].header].start, w2,
                    cfg->loops[l].depth + 1);
            if (lb->bounded)
                fprintf(out, "at most %llu back edges per entry", (unsigned long long)lb->max);
            else
                fprintf(out, "unbounded");
            fprintf(out, "\n      %s\n", lb->how ? lb->how : "");
        }
    }
    if (r->assumptions.n) {
        fprintf(out, "  assumptions:\n");
        for (int i = 0; i < r->assumptions.n; i++)
            fprintf(out, "    - %s\n", r->assumptions.v[i]);
    }
    if (r->reasons.n) {
        fprintf(out, "  %s:\n", r->status == KEEL_WCET_BOUNDED ? "remarks" : "why not bounded");
        for (int i = 0; i < r->reasons.n; i++)
            fprintf(out, "    - %s\n", r->reasons.v[i]);
    }
    for (int i = 0; i < r->notes.n; i++)
        fprintf(out, "  note: %s\n", r->notes.v[i]);
    if (cfg && r->counts) {
        fprintf(out, "  worst-case path (block, source, count x cost):\n");
        for (int b = 0; b < cfg->nblocks; b++) {
            if (r->counts[b] < 0.5)
                continue;
            char w2[96];
            where(an, cfg->blocks[b].start, w2, sizeof w2);
            fprintf(out, "    0x%llx  %-24s %10.0f x %.0f\n",
                    (unsigned long long)cfg->blocks[b].start, w2, r->counts[b], r->bcost[b]);
        }
    }
}

static void json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void json_strs(FILE *out, const wc_strs *s) {
    fputc('[', out);
    for (int i = 0; i < s->n; i++) {
        if (i)
            fputs(", ", out);
        json_str(out, s->v[i]);
    }
    fputc(']', out);
}

void keel_wcet_report_json(keel_wcet *w, keel_wcet_result *const *rs, int n, FILE *out) {
    wc_analyzer *an = wc_keel_analyzer(w);
    fprintf(out, "{\n  \"schema\": %d,\n  \"tool\": \"keel-wcet\",\n  \"binary\": ",
            KEEL_WCET_JSON_SCHEMA);
    json_str(out, an->img->path);
    fprintf(out, ",\n  \"cost_model\": \"instructions\",\n  \"global_assumptions\": [");
    for (int i = 0; global_assumptions[i]; i++) {
        fputs(i ? ", " : "", out);
        json_str(out, global_assumptions[i]);
    }
    fprintf(out, "],\n  \"functions\": [");
    for (int k = 0; k < n; k++) {
        const wc_fres *r = rs[k];
        const wc_cfg *cfg = r->cfg;
        const char *file;
        int line = wc_image_line(an->img, r->addr, &file);
        fprintf(out, "%s\n    {\"name\": ", k ? "," : "");
        json_str(out, r->name);
        fprintf(out, ", \"address\": \"0x%llx\", \"file\": ", (unsigned long long)r->addr);
        if (file)
            json_str(out, file);
        else
            fputs("null", out);
        fprintf(out, ", \"line\": %d,\n     \"status\": \"%s\", \"instructions\": ", line,
                keel_wcet_status_name((keel_wcet_status)r->status));
        if (r->status == KEEL_WCET_BOUNDED)
            fprintf(out, "%llu", (unsigned long long)r->bound);
        else
            fputs("null", out);
        fprintf(out, ", \"stack_status\": \"%s\", \"stack\": ",
                keel_wcet_status_name((keel_wcet_status)r->stack_status));
        if (r->stack_status == KEEL_WCET_BOUNDED)
            fprintf(out, "%llu", (unsigned long long)r->stack);
        else
            fputs("null", out);
        fprintf(out, ", \"frame\": %llu,\n     \"assumptions\": ", (unsigned long long)r->frame);
        json_strs(out, &r->assumptions);
        fprintf(out, ",\n     \"reasons\": ");
        json_strs(out, &r->reasons);
        fprintf(out, ",\n     \"notes\": ");
        json_strs(out, &r->notes);
        fprintf(out, ",\n     \"infeasible_paths_excluded\": %d, \"infeasible_drop\": %llu",
                r->infeasible_excluded, (unsigned long long)r->infeasible_drop);
        fprintf(out, ",\n     \"analysis_seconds\": %.6f", r->seconds);
        fprintf(out, ",\n     \"loops\": [");
        for (int l = 0; cfg && l < cfg->nloops; l++) {
            const wc_lbound *lb = &r->lb[l];
            fprintf(out, "%s\n       {\"header\": \"0x%llx\", \"file\": ", l ? "," : "",
                    (unsigned long long)cfg->blocks[cfg->loops[l].header].start);
            if (lb->file)
                json_str(out, lb->file);
            else
                fputs("null", out);
            fprintf(out, ", \"line\": %d, \"depth\": %d, \"bound\": ", lb->line,
                    cfg->loops[l].depth + 1);
            if (lb->bounded)
                fprintf(out, "%llu", (unsigned long long)lb->max);
            else
                fputs("null", out);
            fprintf(out, ", \"total\": ");
            if (lb->has_total)
                fprintf(out, "%llu", (unsigned long long)lb->total);
            else
                fputs("null", out);
            fprintf(out, ", \"annotated\": %s, \"how\": ", lb->annotated ? "true" : "false");
            json_str(out, lb->how);
            fputc('}', out);
        }
        fprintf(out, "],\n     \"worst_case_path\": [");
        int first = 1;
        for (int b = 0; cfg && r->counts && b < cfg->nblocks; b++) {
            if (r->counts[b] < 0.5)
                continue;
            const char *f2;
            int l2 = wc_image_line(an->img, cfg->blocks[b].start, &f2);
            fprintf(
                out,
                "%s\n       {\"block\": \"0x%llx\", \"line\": %d, \"count\": %.0f, \"cost\": %.0f}",
                first ? "" : ",", (unsigned long long)cfg->blocks[b].start, l2, r->counts[b],
                r->bcost[b]);
            first = 0;
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n  ]\n}\n");
}

void keel_wcet_report_dot(keel_wcet *w, const keel_wcet_result *r, FILE *out) {
    wc_analyzer *an = wc_keel_analyzer(w);
    const wc_cfg *cfg = r->cfg;
    fprintf(out, "digraph \"%s\" {\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n",
            r->name);
    fprintf(out, "  label=\"%s: %s %llu instructions, stack %llu bytes\";\n", r->name,
            keel_wcet_status_name((keel_wcet_status)r->status), (unsigned long long)r->bound,
            (unsigned long long)r->stack);
    if (!cfg) {
        fprintf(out, "}\n");
        return;
    }
    for (int b = 0; b < cfg->nblocks; b++) {
        const wc_block *bb = &cfg->blocks[b];
        char wb[96];
        where(an, bb->start, wb, sizeof wb);
        double cnt = r->counts ? r->counts[b] : 0;
        fprintf(out, "  b%d [label=\"0x%llx %s\\n%d instr, cost %.0f\\nworst count %.0f", b,
                (unsigned long long)bb->start, wb, bb->n, r->bcost ? r->bcost[b] : 0, cnt);
        for (int l = 0; l < cfg->nloops; l++)
            if (cfg->loops[l].header == b) {
                if (r->lb[l].bounded)
                    fprintf(out, "\\nloop header: <= %llu back edges",
                            (unsigned long long)r->lb[l].max);
                else
                    fprintf(out, "\\nloop header: UNBOUNDED");
            }
        if (bb->term == WC_T_CALL || bb->term == WC_T_TAILCALL) {
            const wc_symbol *s = wc_image_symbol_at(an->img, bb->callee);
            fprintf(out, "\\ncall %s", bb->extname ? bb->extname : s ? s->name : "?");
        }
        fprintf(out, "\"%s];\n", cnt > 0.5 ? ", color=red, penwidth=2" : "");
        for (int k = 0; k < bb->nsucc; k++) {
            int s = bb->succ[k];
            bool hot = r->counts && cnt > 0.5 && r->counts[s] > 0.5;
            fprintf(out, "  b%d -> b%d%s;\n", b, s, hot ? " [color=red, penwidth=2]" : "");
        }
    }
    fprintf(out, "}\n");
}
