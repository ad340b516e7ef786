/*
 * Reading task-set files with json-c. Strict: unknown keys, wrong types,
 * missing fields and out-of-range numbers are errors with their JSON path, so
 * a typo never silently changes an analysis.
 */
#include "taskset.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctx {
    const char *path;
    char *err;
    size_t errlen;
} ctx;

static int fail(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ctx *c, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
    return -1;
}

/* Reads a whole file; NULL with errno set on failure. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int saved = errno;
    bool bad = ferror(f);
    fclose(f);
    if (buf == NULL || bad) {
        free(buf);
        errno = bad ? saved : ENOMEM;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Parses JSON text, reporting a syntax error with its line and column. */
static json_object *parse(ctx *c, const char *path, const char *text, size_t len) {
    json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        fail(c, "out of memory");
        return NULL;
    }
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t offset = json_tokener_get_parse_end(tok);
    if (root == NULL || jerr != json_tokener_success || offset < len) {
        /* trailing whitespace after the document is fine */
        size_t at = offset;
        while (root != NULL && jerr == json_tokener_success && at < len &&
               (text[at] == ' ' || text[at] == '\n' || text[at] == '\r' || text[at] == '\t'))
            at++;
        if (root == NULL || jerr != json_tokener_success || at < len) {
            unsigned line = 1, col = 1;
            for (size_t i = 0; i < offset && i < len; i++) {
                if (text[i] == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            const char *why = jerr == json_tokener_continue  ? "unexpected end of file"
                              : jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                             : "text after the JSON document";
            snprintf(c->err, c->errlen, "%s:%u:%u: malformed JSON: %s", path, line, col, why);
            json_object_put(root);
            json_tokener_free(tok);
            return NULL;
        }
    }
    json_tokener_free(tok);
    return root;
}

static bool is_number(json_object *o) {
    return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double);
}

/* Only the listed keys may appear in an object. */
static int check_keys(ctx *c, json_object *obj, const char *where, const char *const *allowed) {
    json_object_object_foreach(obj, key, value) {
        (void)value;
        bool ok = false;
        for (unsigned i = 0; allowed[i] != NULL; i++)
            ok |= strcmp(key, allowed[i]) == 0;
        if (!ok)
            return fail(c, "%s: unknown key \"%s\"", where, key);
    }
    return 0;
}

/* A time in the file's unit -> ns. round_up for costs, down for periods. */
static int time_of(ctx *c, const taskset *ts, json_object *o, const char *where, bool round_up,
                   bool positive, uint64_t *out) {
    if (!is_number(o))
        return fail(c, "%s: expected a number of %s", where, ts->unit);
    double v = json_object_get_double(o);
    if (!isfinite(v) || v < 0 || (positive && v <= 0))
        return fail(c, "%s: expected a %s number of %s", where,
                    positive ? "positive" : "non-negative", ts->unit);
    double ns = v * ts->ns_per_unit;
    if (ns >= 1.8e19)
        return fail(c, "%s: %g %s is too large", where, v, ts->unit);
    double r = round_up ? ceil(ns - 1e-6) : floor(ns + 1e-6);
    if (r < 0)
        r = 0;
    *out = (uint64_t)r;
    if (positive && *out == 0)
        return fail(c, "%s: %g %s is less than a nanosecond", where, v, ts->unit);
    return 0;
}

/* Joins the task-set file's directory with a relative path. */
static char *relative_to(const char *base, const char *file) {
    if (file[0] == '/')
        return strdup(file);
    const char *slash = strrchr(base, '/');
    size_t dir = slash == NULL ? 0 : (size_t)(slash - base) + 1;
    char *out = malloc(dir + strlen(file) + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, base, dir);
    strcpy(out + dir, file);
    return out;
}

/* An execution time that references keel-wcet output. */
static int wcet_reference(ctx *c, json_object *ref, const char *where, uint64_t *out,
                          char **source) {
    static const char *const keys[] = {"file", "function", "ns_per_unit", NULL};
    if (check_keys(c, ref, where, keys) != 0)
        return -1;
    json_object *jf, *jfn, *jscale;
    if (!json_object_object_get_ex(ref, "file", &jf) || !json_object_is_type(jf, json_type_string))
        return fail(c, "%s.file: expected the path of a keel-wcet JSON report", where);
    if (!json_object_object_get_ex(ref, "function", &jfn) ||
        !json_object_is_type(jfn, json_type_string))
        return fail(c, "%s.function: expected a function name", where);
    const char *fname = json_object_get_string(jfn);
    char *path = relative_to(c->path, json_object_get_string(jf));
    if (path == NULL)
        return fail(c, "out of memory");
    size_t len;
    char *text = slurp(path, &len);
    if (text == NULL) {
        int e = errno;
        fail(c, "%s.file: cannot read %s: %s", where, path, strerror(e));
        free(path);
        return -1;
    }
    ctx inner = {c->path, c->err, c->errlen};
    json_object *doc = parse(&inner, path, text, len);
    free(text);
    if (doc == NULL) {
        free(path);
        return -1;
    }
    int rc = -1;
    json_object *jcost, *jfuncs, *jschema;
    const char *cost = "instructions";
    if (json_object_object_get_ex(doc, "cost_model", &jcost)) {
        if (!json_object_is_type(jcost, json_type_string)) {
            fail(c, "%s: \"cost_model\" is not a string", path);
            goto out;
        }
        cost = json_object_get_string(jcost);
    }
    if (json_object_object_get_ex(doc, "schema", &jschema) &&
        (!json_object_is_type(jschema, json_type_int) || json_object_get_int(jschema) != 1)) {
        fail(c, "%s: keel-wcet schema %s is not supported (keel-sched reads schema 1)", path,
             json_object_to_json_string(jschema));
        goto out;
    }
    if (!json_object_object_get_ex(doc, "functions", &jfuncs) ||
        !json_object_is_type(jfuncs, json_type_array)) {
        fail(c, "%s: no \"functions\" array: not a keel-wcet JSON report", path);
        goto out;
    }
    json_object *entry = NULL;
    for (size_t i = 0; i < json_object_array_length(jfuncs); i++) {
        json_object *e = json_object_array_get_idx(jfuncs, i), *jn;
        if (json_object_is_type(e, json_type_object) && json_object_object_get_ex(e, "name", &jn) &&
            json_object_is_type(jn, json_type_string) &&
            strcmp(json_object_get_string(jn), fname) == 0) {
            entry = e;
            break;
        }
    }
    if (entry == NULL) {
        fail(c, "%s: %s: no function \"%s\" in the report", where, path, fname);
        goto out;
    }
    json_object *jstatus, *jbound;
    const char *status = json_object_object_get_ex(entry, "status", &jstatus)
                             ? json_object_get_string(jstatus)
                             : "(missing)";
    if (strcmp(status, "bounded") != 0) {
        fail(c, "%s: keel-wcet did not bound %s (status %s): no execution time to analyse", where,
             fname, status);
        goto out;
    }
    if (!json_object_object_get_ex(entry, cost, &jbound) || !is_number(jbound) ||
        json_object_get_double(jbound) < 0) {
        fail(c, "%s: %s: function %s has no numeric \"%s\" bound", where, path, fname, cost);
        goto out;
    }
    double scale = 1.0;
    if (json_object_object_get_ex(ref, "ns_per_unit", &jscale)) {
        if (!is_number(jscale) || json_object_get_double(jscale) <= 0) {
            fail(c, "%s.ns_per_unit: expected a positive number", where);
            goto out;
        }
        scale = json_object_get_double(jscale);
    } else if (strcmp(cost, "ns") != 0) {
        fail(c, "%s: the bound of %s is in %s; give \"ns_per_unit\" to convert it to time", where,
             fname, cost);
        goto out;
    }
    double ns = ceil(json_object_get_double(jbound) * scale - 1e-6);
    if (ns >= 1.8e19) {
        fail(c, "%s: bound too large", where);
        goto out;
    }
    *out = ns < 0 ? 0 : (uint64_t)ns;
    size_t n = strlen(path) + strlen(fname) + 2;
    *source = malloc(n);
    if (*source != NULL)
        snprintf(*source, n, "%s:%s", path, fname);
    rc = 0;
out:
    json_object_put(doc);
    free(path);
    return rc;
}

static int cost_of(ctx *c, taskset *ts, json_object *o, const char *where, uint64_t *out,
                   char **source) {
    if (json_object_is_type(o, json_type_object))
        return wcet_reference(c, o, where, out, source);
    if (!is_number(o))
        return fail(c,
                    "%s: expected a number of %s or a keel-wcet reference {\"file\", "
                    "\"function\", \"ns_per_unit\"}",
                    where, ts->unit);
    return time_of(c, ts, o, where, true, false, out);
}

static int load_task(ctx *c, taskset *ts, json_object *jt, unsigned i, bool *has_priority) {
    static const char *const keys[] = {"name",     "kind",        "period",   "min_interarrival",
                                       "deadline", "wcet",        "wcet_hi",  "jitter",
                                       "priority", "criticality", "sections", NULL};
    char where[64];
    snprintf(where, sizeof where, "tasks[%u]", i);
    if (!json_object_is_type(jt, json_type_object))
        return fail(c, "%s: expected an object", where);
    if (check_keys(c, jt, where, keys) != 0)
        return -1;
    keel_analysis_task *t = &ts->tasks[i];
    json_object *v;
    char w[96];

    if (!json_object_object_get_ex(jt, "name", &v) || !json_object_is_type(v, json_type_string) ||
        json_object_get_string_len(v) == 0)
        return fail(c, "%s.name: expected a non-empty string", where);
    ts->names[i] = strdup(json_object_get_string(v));
    t->name = ts->names[i];
    for (unsigned k = 0; k < i; k++)
        if (strcmp(ts->names[k], ts->names[i]) == 0)
            return fail(c, "%s.name: \"%s\" is already the name of tasks[%u]", where, ts->names[i],
                        k);

    if (json_object_object_get_ex(jt, "kind", &v)) {
        const char *kind = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            (strcmp(kind, "periodic") != 0 && strcmp(kind, "sporadic") != 0))
            return fail(c, "%s.kind: expected \"periodic\" or \"sporadic\"", where);
        ts->sporadic[i] = strcmp(kind, "sporadic") == 0;
    }
    json_object *jp = NULL, *jm = NULL;
    json_object_object_get_ex(jt, "period", &jp);
    json_object_object_get_ex(jt, "min_interarrival", &jm);
    if ((jp == NULL) == (jm == NULL))
        return fail(c, "%s: give exactly one of \"period\" and \"min_interarrival\"", where);
    snprintf(w, sizeof w, "%s.%s", where, jp ? "period" : "min_interarrival");
    if (time_of(c, ts, jp ? jp : jm, w, false, true, &t->period) != 0)
        return -1;
    if (jm != NULL)
        ts->sporadic[i] = true;
    if (json_object_object_get_ex(jt, "deadline", &v)) {
        snprintf(w, sizeof w, "%s.deadline", where);
        if (time_of(c, ts, v, w, false, true, &t->deadline) != 0)
            return -1;
        if (t->deadline > t->period)
            return fail(c, "%s: deadline exceeds the period (keel-sched analyses D <= T)", where);
    }
    if (!json_object_object_get_ex(jt, "wcet", &v))
        return fail(c, "%s.wcet: missing", where);
    snprintf(w, sizeof w, "%s.wcet", where);
    if (cost_of(c, ts, v, w, &t->wcet, &ts->wcet_source[i]) != 0)
        return -1;
    if (json_object_object_get_ex(jt, "jitter", &v)) {
        snprintf(w, sizeof w, "%s.jitter", where);
        if (time_of(c, ts, v, w, true, false, &t->jitter) != 0)
            return -1;
        uint64_t d = t->deadline ? t->deadline : t->period;
        if (t->jitter >= d)
            return fail(c, "%s.jitter: must be below the deadline", where);
    }
    t->criticality = KEEL_CRIT_LO;
    if (json_object_object_get_ex(jt, "criticality", &v)) {
        const char *crit = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            (strcmp(crit, "LO") != 0 && strcmp(crit, "HI") != 0))
            return fail(c, "%s.criticality: expected \"LO\" or \"HI\"", where);
        t->criticality = strcmp(crit, "HI") == 0 ? KEEL_CRIT_HI : KEEL_CRIT_LO;
    }
    if (json_object_object_get_ex(jt, "wcet_hi", &v)) {
        if (t->criticality != KEEL_CRIT_HI)
            return fail(c, "%s.wcet_hi: only a HI task has a HI execution time", where);
        snprintf(w, sizeof w, "%s.wcet_hi", where);
        char *src = NULL;
        if (cost_of(c, ts, v, w, &t->wcet_hi, &src) != 0)
            return -1;
        free(src);
        if (t->wcet_hi < t->wcet)
            return fail(c, "%s.wcet_hi: below wcet", where);
    }
    if (json_object_object_get_ex(jt, "priority", &v)) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
            json_object_get_int64(v) > 1000000)
            return fail(c, "%s.priority: expected an integer from 1 (least urgent) up", where);
        t->priority = (unsigned)json_object_get_int64(v);
        *has_priority = true;
        for (unsigned k = 0; k < i; k++)
            if (ts->tasks[k].priority == t->priority)
                return fail(c, "%s.priority: %u is already the priority of %s", where, t->priority,
                            ts->names[k]);
    }
    if (json_object_object_get_ex(jt, "sections", &v)) {
        if (!json_object_is_type(v, json_type_array))
            return fail(c, "%s.sections: expected an array", where);
        for (size_t s = 0; s < json_object_array_length(v); s++) {
            static const char *const skeys[] = {"resource", "length", NULL};
            json_object *js = json_object_array_get_idx(v, s), *jr, *jl;
            snprintf(w, sizeof w, "%s.sections[%zu]", where, s);
            if (!json_object_is_type(js, json_type_object))
                return fail(c, "%s: expected {\"resource\", \"length\"}", w);
            if (check_keys(c, js, w, skeys) != 0)
                return -1;
            if (ts->section_count == KEEL_ANALYSIS_MAX_SECTIONS)
                return fail(c, "%s: more than %u sections", w, KEEL_ANALYSIS_MAX_SECTIONS);
            keel_analysis_section *sec = &ts->sections[ts->section_count];
            sec->task = i;
            if (!json_object_object_get_ex(js, "resource", &jr) ||
                !json_object_is_type(jr, json_type_string))
                return fail(c, "%s.resource: expected a resource name", w);
            unsigned r = 0;
            while (r < ts->resource_count && strcmp(ts->resources[r], json_object_get_string(jr)))
                r++;
            if (r == ts->resource_count)
                return fail(c, "%s.resource: \"%s\" is not in \"resources\"", w,
                            json_object_get_string(jr));
            sec->resource = r;
            if (!json_object_object_get_ex(js, "length", &jl))
                return fail(c, "%s.length: missing", w);
            char wl[112];
            snprintf(wl, sizeof wl, "%s.length", w);
            if (time_of(c, ts, jl, wl, true, true, &sec->length) != 0)
                return -1;
            if (sec->length > t->wcet)
                return fail(c, "%s.length: longer than the task's wcet", w);
            ts->section_count++;
        }
    }
    return 0;
}

int taskset_load(const char *path, taskset *ts, char *err, size_t errlen) {
    memset(ts, 0, sizeof *ts);
    ctx c = {path, err, errlen};
    size_t len;
    char *text = slurp(path, &len);
    if (text == NULL)
        return fail(&c, "cannot read: %s", strerror(errno));
    json_object *root = parse(&c, path, text, len);
    free(text);
    if (root == NULL)
        return -1;
    int rc = -1;
    static const char *const keys[] = {"unit", "priorities", "resources", "tasks", "comment", NULL};
    json_object *v;
    if (!json_object_is_type(root, json_type_object)) {
        fail(&c, "expected a JSON object with a \"tasks\" array");
        goto out;
    }
    if (check_keys(&c, root, "(top level)", keys) != 0)
        goto out;
    strcpy(ts->unit, "ns");
    ts->ns_per_unit = 1;
    if (json_object_object_get_ex(root, "unit", &v)) {
        static const struct {
            const char *name;
            double ns;
        } units[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}};
        const char *u = json_object_get_string(v);
        unsigned k = 0;
        while (k < 4 && (!json_object_is_type(v, json_type_string) || strcmp(u, units[k].name)))
            k++;
        if (k == 4) {
            fail(&c, "unit: expected \"ns\", \"us\", \"ms\" or \"s\"");
            goto out;
        }
        strcpy(ts->unit, units[k].name);
        ts->ns_per_unit = units[k].ns;
    }
    if (json_object_object_get_ex(root, "resources", &v)) {
        if (!json_object_is_type(v, json_type_array) ||
            json_object_array_length(v) > KEEL_ANALYSIS_MAX_RESOURCES) {
            fail(&c, "resources: expected an array of at most %u names",
                 KEEL_ANALYSIS_MAX_RESOURCES);
            goto out;
        }
        for (size_t r = 0; r < json_object_array_length(v); r++) {
            json_object *jr = json_object_array_get_idx(v, r);
            if (!json_object_is_type(jr, json_type_string)) {
                fail(&c, "resources[%zu]: expected a name", r);
                goto out;
            }
            ts->resources[r] = strdup(json_object_get_string(jr));
            ts->resource_count++;
            for (size_t k = 0; k < r; k++)
                if (strcmp(ts->resources[k], ts->resources[r]) == 0) {
                    fail(&c, "resources[%zu]: \"%s\" appears twice", r, ts->resources[r]);
                    goto out;
                }
        }
    }
    json_object *tasks;
    if (!json_object_object_get_ex(root, "tasks", &tasks) ||
        !json_object_is_type(tasks, json_type_array) || json_object_array_length(tasks) == 0) {
        fail(&c, "tasks: expected a non-empty array of tasks");
        goto out;
    }
    if (json_object_array_length(tasks) > KEEL_ANALYSIS_MAX_TASKS) {
        fail(&c, "tasks: more than %u tasks", KEEL_ANALYSIS_MAX_TASKS);
        goto out;
    }
    unsigned with_priority = 0;
    for (size_t i = 0; i < json_object_array_length(tasks); i++) {
        bool has = false;
        ts->task_count = (unsigned)i + 1;
        if (load_task(&c, ts, json_object_array_get_idx(tasks, i), (unsigned)i, &has) != 0)
            goto out;
        with_priority += has;
    }
    const char *policy = "auto";
    if (json_object_object_get_ex(root, "priorities", &v)) {
        policy = json_object_get_string(v);
        if (!json_object_is_type(v, json_type_string) ||
            (strcmp(policy, "given") != 0 && strcmp(policy, "deadline-monotonic") != 0)) {
            fail(&c, "priorities: expected \"given\" or \"deadline-monotonic\"");
            goto out;
        }
    }
    bool dm = strcmp(policy, "deadline-monotonic") == 0 ||
              (strcmp(policy, "auto") == 0 && with_priority == 0);
    if (dm) {
        keel_analysis_assign_dm(ts->tasks, ts->task_count);
        ts->priorities_assigned = true;
    } else if (with_priority != ts->task_count) {
        fail(&c,
             "priorities: %u of %u tasks have a \"priority\"; give every task one, or none "
             "(or \"priorities\": \"deadline-monotonic\")",
             with_priority, ts->task_count);
        goto out;
    }
    keel_analysis_set set = {ts->tasks, ts->task_count, ts->sections, ts->section_count,
                             ts->resource_count};
    if (keel_analysis_check(&set) != KEEL_OK) {
        fail(&c, "the task set is not valid for the analysis");
        goto out;
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

void taskset_free(taskset *ts) {
    for (unsigned i = 0; i < KEEL_ANALYSIS_MAX_TASKS; i++) {
        free(ts->names[i]);
        free(ts->wcet_source[i]);
        ts->names[i] = ts->wcet_source[i] = NULL;
    }
    for (unsigned r = 0; r < KEEL_ANALYSIS_MAX_RESOURCES; r++) {
        free(ts->resources[r]);
        ts->resources[r] = NULL;
    }
}
