/*
 * examples/nfv: keel's flagship demonstration. A network-function pipeline
 * (nfv.h) runs as a periodic HI task of the real-time executive, one batch per
 * period, through five protection domains, while
 *   - faults are injected into the firewall at random (panics, and wild
 *     writes into the load balancer's strict heap): each is contained, the
 *     firewall rolls back to its last snapshot, the batch lent to it comes
 *     back and is classified again, so no packet is lost;
 *   - the payloads carry their tenant's secrecy label, and a seeded bug in tx
 *     sends one kind of flow to another tenant's sink: IFC refuses every such
 *     write at the sink and reports it;
 *   - a LO telemetry task, the most urgent, asks for ten times its budget and
 *     is throttled, and a LO control-plane task updates the firewall's rules
 *     under an SRP resource the pipeline shares.
 * Every packet is checked against a reference pipeline built differently
 * (host code: a table per prefix length, not a trie). At the end: one summary,
 * CSV files and a PNG of the response times.
 *
 *   nfv [--seconds N] [--out DIR] [--fault-every N] [--no-leak] [--quiet]
 *
 * Exit status: 0 if every packet is accounted for and checked right, every
 * fault recovered and every leak refused; 1 otherwise. Deadline misses are
 * reported, not judged: they depend on the machine (SCHED_FIFO, its load).
 * examples/nfv/demo.sh runs it, then bounds the pipeline with keel-wcet.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "maglev.h"
#include "nfv.h"

#define US 1000ull
#define MS 1000000ull

/* The task set: periods, deadlines and budgets (ns). */
#define PIPE_PERIOD     (2 * MS)
#define PIPE_BUDGET     (500 * US)
#define PIPE_BUDGET_HI  (1000 * US)
#define PIPE_SECTION    (100 * US) /* classify, under the rules resource */
#define TELE_PERIOD     (10 * MS)
#define TELE_BUDGET     (100 * US)
#define TELE_ASKS       (1 * MS) /* what the overloaded telemetry job tries to use */
#define CTRL_PERIOD     (20 * MS)
#define CTRL_BUDGET     (1 * MS)
#define CTRL_SECTION    (200 * US) /* one rule update and its snapshot */
#define INITIAL_RULES   1024u
#define CALLS_PER_BATCH 8u /* gen, parser, firewall, lb, tx plan, tx deliver x 3 */

static const char *const tenant_name[TENANTS] = {"acme", "globex", "initech"};

static struct {
    unsigned seconds;
    const char *out;
    unsigned fault_every; /* one batch in N gets a fault, on average */
    int leak;
    int quiet;
} opt = {20, ".", 50, 1, 0};

/* ---- the tenants: categories, labels, sinks ---- */

static keel_label tenant_label[TENANTS];
static keel_sink sinks[TENANTS];

/* What each tenant's sink received: written only by tx, on the pipeline's
 * thread; read after the executive stops. */
static struct tenant_rx { uint64_t packets, numbers, wrong_tenant, corrupt; } rx[TENANTS];

static keel_status tenant_write(void *context, const void *data, size_t size) {
    struct tenant_rx *r = context;
    unsigned t = (unsigned)(r - rx);
    const nfv_payload *p = data;
    if (size != sizeof *p) {
        return KEEL_EINVAL;
    }
    if (p->tenant != t) {
        r->wrong_tenant++; /* what IFC is there to prevent */
    }
    if (p->check != nfv_payload_check(p)) {
        r->corrupt++;
    }
    r->packets++;
    r->numbers += p->number;
    return KEEL_OK;
}

/* IFC refusals: counted; the first one's report kept for the summary. */
static atomic_ulong refusals_reported;
static char first_refusal[384];

static void on_refusal(const keel_flow_refusal *r, void *context) {
    (void)context;
    if (atomic_fetch_add(&refusals_reported, 1) == 0) {
        snprintf(first_refusal, sizeof first_refusal, "%s", r->text);
    }
}

/* ---- the reference pipeline: plain host code, built differently ---- */

/* A table per prefix length 10..20, indexed by the prefix: the action, or 0. */
static uint8_t *ref_table[21];
static maglev ref_maglev;

static void ref_insert(uint32_t prefix, unsigned length, enum verdict action) {
    ref_table[length][prefix >> (32u - length)] = (uint8_t)action;
}

static uint8_t ref_classify(uint32_t address) {
    for (unsigned length = 20; length >= 10; length--) {
        uint8_t a = ref_table[length][address >> (32u - length)];
        if (a != VERDICT_NONE) {
            return a;
        }
    }
    return VERDICT_ACCEPT;
}

/* ---- counters (pipeline thread; read after stop) ---- */

static struct {
    uint64_t packets_in, delivered, fw_dropped, malformed, refused, tx_failed;
    uint64_t expected_delivered[TENANTS], expected_numbers[TENANTS], expected_refused;
    uint64_t wrong_verdicts, wrong_backends, wrong_valid;
    uint64_t faults_panic, faults_wild, recovered, not_contained;
    uint64_t stage_failures;
    keel_status last_stage_failure;
    uint64_t rules_added;
} count;

static keel_hist recovery_ns, job_ns;

/* Each recovery, for nfv-recoveries.csv (written after the run). */
#define RECOVERY_LOG 65536u
static struct recovery {
    uint64_t job;
    const char *fault;
    uint64_t ns;
} recovery_log[RECOVERY_LOG];
static unsigned recoveries;

/* ---- the tasks ---- */

static keel_rt *rt;
static unsigned rules_resource;
static uint64_t next_packet;
static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static bool stage_ok(keel_status st) {
    if (st != KEEL_OK) {
        count.stage_failures++;
        count.last_stage_failure = st;
        return false;
    }
    return true;
}

/* The firewall, with a fault injected at random: the failed call rolls the
 * firewall back (on this thread, the last one out), the lent batch is back
 * with us, and the retry classifies it again. */
static inline __attribute__((always_inline)) keel_status classify(keel_box box, uint64_t job) {
    fw_arg a = {FW_FAULT_NONE, 0};
    uint64_t r = next_random();
    if (opt.fault_every > 0 && r % opt.fault_every == 0) {
        a.fault = (r >> 20) & 1 ? FW_FAULT_WILD_WRITE : FW_FAULT_PANIC;
        a.seed = (uint32_t)(r >> 32);
    }
    uint64_t t0 = now_ns();
    keel_status st = keel_rref_call_lend(fw_rref, FW_CLASSIFY, box, &a, NULL);
    if (a.fault == FW_FAULT_NONE) {
        return st;
    }
    uint64_t took = now_ns() - t0;
    a.fault == FW_FAULT_PANIC ? count.faults_panic++ : count.faults_wild++;
    bool contained = (a.fault == FW_FAULT_PANIC && st == KEEL_EPANIC) ||
                     (a.fault == FW_FAULT_WILD_WRITE && st == KEEL_EFAULT);
    if (!contained) {
        count.not_contained++;
    }
    /* This thread was the last out of the failed firewall, so it has rolled it
     * back already: one retry is enough (and the bound counts two calls). */
    a.fault = FW_FAULT_NONE;
    st = keel_rref_call_lend(fw_rref, FW_CLASSIFY, box, &a, NULL);
    if (contained && st == KEEL_OK) {
        count.recovered++;
        keel_hist_record(&recovery_ns, took);
        if (recoveries < RECOVERY_LOG) {
            recovery_log[recoveries++] =
                (struct recovery){job, (r >> 20 & 1) ? "wild-write" : "panic", took};
        }
    }
    return st;
}

/* What the reference says of one batch, compared with what the stages did.
 * verdicts: the reference's, taken under the rules resource. */
static __attribute__((noinline)) void check_packet(const nfv_batch *b, unsigned i,
                                                   uint8_t verdict) {
    const nfv_meta *m = &b->meta[i];
    packet frame;
    nfv_payload payload;
    unsigned tenant;
    nfv_make_packet(b->first + i, &frame, &payload, &tenant);
    bool valid = frame.bytes[14] == 0x45;
    count.wrong_valid += valid != (m->valid != 0);
    if (!valid) {
        count.malformed++;
        return;
    }
    count.wrong_verdicts += verdict != m->verdict;
    if (verdict != VERDICT_ACCEPT) {
        count.fw_dropped++;
        return;
    }
    unsigned backend = ref_maglev.table[maglev_flow_hash(&frame) % ref_maglev.size];
    count.wrong_backends += backend != m->backend;
    if (opt.leak && m->dport == LEAK_PORT) {
        count.expected_refused++;
    } else {
        count.expected_delivered[tenant]++;
        count.expected_numbers[tenant] += b->first + i;
    }
}

/* One tenant's payloads to tx, if all went well so far. */
static inline __attribute__((always_inline)) keel_status deliver(keel_status st, keel_box box,
                                                                 unsigned tenant) {
    if (st != KEEL_OK) {
        return st;
    }
    tx_arg a = {tenant};
    tx_result r = {0};
    st = keel_rref_call_lend(tx_rref, TX_DELIVER, box, &a, &r);
    count.delivered += r.delivered;
    count.refused += r.refused;
    count.tx_failed += r.failed;
    return st;
}

static_assert(TENANTS == 3, "pipeline_job delivers to three tenants, one call each");

/* The pipeline's job: one batch through the five domains, then checked. The
 * executive calls it every PIPE_PERIOD; demo.sh bounds it with keel-wcet. */
__attribute__((noinline)) keel_status pipeline_job(const keel_rt_job *job);
keel_status pipeline_job(const keel_rt_job *job) {
    uint64_t t0 = now_ns();
    gen_arg ga = {.first = next_packet, .sequence = (uint32_t)job->index, .count = BATCH};
    memcpy(ga.tenant_label, tenant_label, sizeof tenant_label);
    gen_out boxes;
    if (!stage_ok(keel_rref_call(gen_rref, GEN_FILL, &ga, &boxes))) {
        return KEEL_EINVAL;
    }
    next_packet += BATCH;
    count.packets_in += BATCH;
    keel_status st = keel_rref_call_lend(parser_rref, PARSE_BATCH, boxes.batch, NULL, NULL);
    uint8_t verdicts[BATCH];
    if (st == KEEL_OK && (st = keel_rt_lock(job->rt, rules_resource)) == KEEL_OK) {
        st = classify(boxes.batch, job->index);
        nfv_batch *b;
        if (st == KEEL_OK && keel_box_data(boxes.batch, (void **)&b, NULL) == KEEL_OK) {
            for (unsigned i = 0; i < BATCH && i < b->count; i++) {
                verdicts[i] = b->meta[i].valid ? ref_classify(b->meta[i].src) : VERDICT_DROP;
            }
        }
        keel_rt_unlock(job->rt, rules_resource);
    }
    if (st == KEEL_OK) {
        st = keel_rref_call_lend(lb_rref, LB_BALANCE, boxes.batch, NULL, NULL);
    }
    if (st == KEEL_OK) {
        st = keel_rref_call_lend(tx_rref, TX_PLAN, boxes.batch, NULL, NULL);
    }
    /* Written out, not looped: every keel call of the job is its own call site,
     * executed at most once per job, which is how demo.sh counts them. */
    st = deliver(st, boxes.payloads[0], 0);
    st = deliver(st, boxes.payloads[1], 1);
    st = deliver(st, boxes.payloads[2], 2);
    nfv_batch *b;
    if (stage_ok(st) && keel_box_data(boxes.batch, (void **)&b, NULL) == KEEL_OK) {
        for (unsigned i = 0; i < BATCH && i < b->count; i++) {
            check_packet(b, i, verdicts[i]);
        }
    }
    keel_box_free(boxes.batch);
    keel_box_free(boxes.payloads[0]);
    keel_box_free(boxes.payloads[1]);
    keel_box_free(boxes.payloads[2]);
    keel_hist_record(&job_ns, now_ns() - t0);
    return st;
}

/* Burns CPU time, as a telemetry job whose compression went wrong. */
static void burn(uint64_t ns) {
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    do {
        for (volatile int i = 0; i < 1000; i++) {
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)b.tv_nsec -
                 (uint64_t)a.tv_nsec <
             ns);
}

static keel_status telemetry_job(const keel_rt_job *job) {
    (void)job;
    burn(TELE_ASKS);
    return KEEL_OK;
}

/* One new rule per period, into the firewall (which snapshots) and the
 * reference, under the resource the pipeline's classify holds. */
static keel_status control_job(const keel_rt_job *job) {
    fw_rule r;
    nfv_rule(INITIAL_RULES + count.rules_added, &r.prefix, &r.length, &r.action);
    keel_status st = keel_rt_lock(job->rt, rules_resource);
    if (st != KEEL_OK) {
        return st;
    }
    st = keel_rref_call(fw_rref, FW_UPDATE, &r, NULL);
    if (st == KEEL_OK) {
        ref_insert(r.prefix, r.length, r.action);
        count.rules_added++;
    }
    keel_rt_unlock(job->rt, rules_resource);
    return st;
}

/* ---- set-up ---- */

static void check(keel_status st, const char *what) {
    if (st != KEEL_OK) {
        fprintf(stderr, "nfv: %s: %s\n", what, keel_strerror(st));
        exit(1);
    }
}

static keel_domain *make_domain(const char *name, size_t heap,
                                keel_status (*init)(keel_domain *, void *),
                                keel_recovery_policy policy, bool strict, keel_label clearance) {
    keel_domain_config c = {.name = name,
                            .heap_size = heap,
                            .table_capacity = 4,
                            .init = init,
                            .policy = policy,
                            .strict = strict,
                            .clearance = clearance};
    keel_domain *d;
    check(keel_domain_create(&c, &d), name);
    return d;
}

/* The protected call's cost over a plain indirect call, null method, in TSC
 * cycles: the median of 51 rounds of 1000 calls each way, alternating. */
static keel_status plain_nop(void *object, keel_call *call) {
    (void)object;
    (void)call;
    __asm__ volatile("" ::: "memory");
    return KEEL_OK;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void call_overhead(double *plain_cycles, double *protected_cycles) {
    enum { ROUNDS = 51, CALLS = 1000 };
    uint64_t p[ROUNDS], q[ROUNDS];
    keel_method volatile method = plain_nop;
    keel_call call = {0};
    for (unsigned r = 0; r < ROUNDS; r++) {
        uint64_t t0 = __rdtsc();
        for (unsigned i = 0; i < CALLS; i++) {
            method(NULL, &call);
        }
        uint64_t t1 = __rdtsc();
        for (unsigned i = 0; i < CALLS; i++) {
            keel_rref_call(parser_rref, 1 /* nop */, NULL, NULL);
        }
        uint64_t t2 = __rdtsc();
        p[r] = t1 - t0;
        q[r] = t2 - t1;
    }
    qsort(p, ROUNDS, sizeof p[0], cmp_u64);
    qsort(q, ROUNDS, sizeof q[0], cmp_u64);
    *plain_cycles = (double)p[ROUNDS / 2] / CALLS;
    *protected_cycles = (double)q[ROUNDS / 2] / CALLS;
}

static double tsc_ghz(void) {
    uint64_t n0 = now_ns(), c0 = __rdtsc();
    struct timespec ts = {0, 20 * 1000000};
    nanosleep(&ts, NULL);
    return (double)(__rdtsc() - c0) / (double)(now_ns() - n0);
}

/* Time the hypervisor took from `cpu` (the steal column of /proc/stat, in
 * USER_HZ ticks converted to ms); -1 where the kernel does not say. A VM's
 * stalls are invisible to the executive: this is how the report tells them
 * from the pipeline's own lateness. */
static long steal_ms(int cpu) {
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return -1;
    char want[16], line[512];
    snprintf(want, sizeof want, "cpu%d ", cpu);
    long ms = -1, hz = sysconf(_SC_CLK_TCK);
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long v[8];
        if (strncmp(line, want, strlen(want)) == 0 &&
            sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8 &&
            hz > 0) {
            ms = (long)(v[7] * 1000ull / (unsigned long long)hz);
            break;
        }
    }
    fclose(f);
    return ms;
}

/* ---- the report ---- */

static const char *commas(char *buf, uint64_t v) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v), o = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0) {
            buf[o++] = ',';
        }
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static void print_histogram(const keel_hist *h, uint64_t deadline) {
    uint64_t peak = 0;
    for (unsigned b = 0; b < KEEL_HIST_BUCKETS; b++) {
        peak = h->bucket[b] > peak ? h->bucket[b] : peak;
    }
    /* Merge the log-linear buckets into rows of at least 1/24 of the range. */
    unsigned first = keel_hist_bucket_of(h->min), last = keel_hist_bucket_of(h->max);
    unsigned step = (last - first) / 24u + 1u;
    peak *= step;
    for (unsigned b = first; b <= last; b += step) {
        uint64_t n = 0;
        for (unsigned k = b; k < b + step && k <= last; k++) {
            n += h->bucket[k];
        }
        uint64_t hi = keel_hist_bucket_high(b + step - 1 < last ? b + step - 1 : last);
        int bar = (int)((50 * n + peak - 1) / (peak ? peak : 1));
        printf("    %7.1f - %7.1f us %9" PRIu64 " %.*s\n", (double)keel_hist_bucket_low(b) / 1e3,
               (double)(hi < h->max ? hi : h->max) / 1e3, n, bar,
               "##################################################");
    }
    printf("    deadline %.1f us: %s\n", (double)deadline / 1e3,
           h->max <= deadline ? "every job finished before it" : "EXCEEDED");
}

static FILE *open_out(const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", opt.out, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "nfv: cannot write %s\n", path);
    }
    return f;
}

static void usage(FILE *f) {
    fprintf(f, "usage: nfv [--seconds N] [--out DIR] [--fault-every N] [--no-leak] [--quiet]\n"
               "  --seconds N      how long the pipeline runs (default 20)\n"
               "  --out DIR        where the CSV and PNG files go (default .)\n"
               "  --fault-every N  a fault in one batch in N on average (default 50; 0: none)\n"
               "  --no-leak        without the seeded cross-tenant bug in tx\n"
               "  --quiet          no progress lines\n");
}

static _Alignas(KEEL_RT_REGION_ALIGN) unsigned char region[1 << 18];

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            opt.seconds = (unsigned)strtoul(argv[++i], &end, 10);
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            opt.out = argv[++i];
        } else if (strcmp(argv[i], "--fault-every") == 0 && i + 1 < argc) {
            opt.fault_every = (unsigned)strtoul(argv[++i], &end, 10);
        } else if (strcmp(argv[i], "--no-leak") == 0) {
            opt.leak = 0;
        } else if (strcmp(argv[i], "--quiet") == 0) {
            opt.quiet = 1;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "nfv: unknown argument %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
        if (end != NULL && (*end != '\0' || end == argv[i])) {
            fprintf(stderr, "nfv: %s needs a number, not '%s'\n", argv[i - 1], argv[i]);
            return 2;
        }
    }
    if (opt.seconds == 0) {
        fprintf(stderr, "nfv: --seconds must be at least 1\n");
        return 2;
    }
    mkdir(opt.out, 0777);

    /* Domains, tenants and sinks. */
    check(keel_domain_system_init(16u << 20, 4096), "system init");
    keel_label all_tenants = KEEL_LABEL_PUBLIC;
    for (unsigned t = 0; t < TENANTS; t++) {
        unsigned c;
        check(keel_ifc_category_create(tenant_name[t], &c), "category");
        tenant_label[t] = (keel_label){KEEL_CATEGORY(c), 0};
        all_tenants = keel_label_join(all_tenants, tenant_label[t]);
        char name[32];
        snprintf(name, sizeof name, "sink of %s", tenant_name[t]);
        keel_sink_config sc = {name, tenant_label[t], tenant_write, &rx[t]};
        check(keel_sink_init(&sinks[t], &sc), "sink");
    }
    tx_sinks = sinks;
    tx_seeded_leak = opt.leak;
    keel_ifc_set_reporter(on_refusal, NULL);

    keel_domain *gen =
        make_domain("gen", 1u << 20, gen_init, KEEL_RECOVER_RESTART, false, all_tenants);
    keel_domain *parser = make_domain("parser", 1u << 20, parser_init, KEEL_RECOVER_RESTART, false,
                                      KEEL_LABEL_PUBLIC);
    keel_domain *fw =
        make_domain("firewall", 2u << 20, fw_init, KEEL_RECOVER_ROLLBACK, false, KEEL_LABEL_PUBLIC);
    keel_domain *lb =
        make_domain("lb", 1u << 20, lb_init, KEEL_RECOVER_RESTART, true, KEEL_LABEL_PUBLIC);
    keel_domain *tx =
        make_domain("tx", 1u << 20, tx_init, KEEL_RECOVER_RESTART, false, all_tenants);
    check(keel_domain_snapshot_enable(fw, true), "firewall snapshots");

    /* The rules, in the firewall and in the reference. */
    for (unsigned length = 10; length <= 20; length++) {
        ref_table[length] = calloc((size_t)1 << length, 1);
        if (ref_table[length] == NULL) {
            fprintf(stderr, "nfv: out of memory\n");
            return 1;
        }
    }
    for (unsigned i = 0; i < INITIAL_RULES; i++) {
        fw_rule r;
        nfv_rule(i, &r.prefix, &r.length, &r.action);
        check(keel_rref_call(fw_rref, FW_UPDATE, &r, NULL), "rule");
        ref_insert(r.prefix, r.length, r.action);
    }
    if (maglev_build(&ref_maglev, BACKENDS, MAGLEV_SIZE) != 0) {
        fprintf(stderr, "nfv: maglev_build failed\n");
        return 1;
    }

    double plain, protected_call, ghz = tsc_ghz();
    call_overhead(&plain, &protected_call);

    /* The executive: telemetry (LO, most urgent), the pipeline (HI), the
     * control plane (LO); the pipeline and the control plane share "rules". */
    keel_rt_config config = {.clock = KEEL_RT_REAL,
                             .max_tasks = 3,
                             .max_resources = 1,
                             .cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1,
                             .flags = KEEL_RT_QUIET | KEEL_RT_NO_MLOCK};
    check(keel_rt_create(&config, region, sizeof region, &rt), "executive");
    check(keel_rt_resource_add(rt, "rules", &rules_resource), "resource");
    keel_rt_section pipe_section = {.resource = rules_resource, .length = PIPE_SECTION};
    keel_rt_section ctrl_section = {.resource = rules_resource, .length = CTRL_SECTION};
    keel_rt_task_config tasks[3] = {
        {.name = "telemetry",
         .priority = 3,
         .period = TELE_PERIOD,
         .wcet = TELE_BUDGET,
         .criticality = KEEL_CRIT_LO,
         .job = telemetry_job},
        {.name = "pipeline",
         .priority = 2,
         .period = PIPE_PERIOD,
         .wcet = PIPE_BUDGET,
         .wcet_hi = PIPE_BUDGET_HI,
         .criticality = KEEL_CRIT_HI,
         .job = pipeline_job,
         .sections = &pipe_section,
         .section_count = 1},
        {.name = "control-plane",
         .priority = 1,
         .period = CTRL_PERIOD,
         .wcet = CTRL_BUDGET,
         .criticality = KEEL_CRIT_LO,
         .job = control_job,
         .sections = &ctrl_section,
         .section_count = 1},
    };
    unsigned ids[3];
    for (unsigned i = 0; i < 3; i++) {
        check(keel_rt_task_add(rt, &tasks[i], &ids[i]), tasks[i].name);
    }
    keel_hist_clear(&recovery_ns);
    keel_hist_clear(&job_ns);

    char b1[32], b2[32], b3[32], b4[32], b5[32];
    printf("keel nfv: %u s of batches of %u packets every %.0f us through 5 domains "
           "(gen, parser, firewall, lb, tx)\n",
           opt.seconds, BATCH, (double)PIPE_PERIOD / 1e3);
    printf("  firewall: %u rules to start, one more every %.0f ms, snapshotted after each; "
           "a fault in 1 batch in %u\n",
           INITIAL_RULES, (double)CTRL_PERIOD / 1e6, opt.fault_every);
    fflush(stdout);
    long steal_before = steal_ms(config.cpu);
    check(keel_rt_start(rt), "start");
    keel_rt_system_stats sys;
    keel_rt_system_stats_get(rt, &sys);
    for (unsigned s = 1; s <= opt.seconds; s++) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        if (!opt.quiet && (s % 5 == 0 || s == opt.seconds)) {
            printf("  %3u s: %s packets, %" PRIu64 " faults recovered\n", s,
                   commas(b1, count.packets_in), count.recovered);
            fflush(stdout);
        }
    }
    keel_rt_stop(rt);
    long steal_after = steal_ms(config.cpu);
    long stolen =
        steal_before >= 0 && steal_after >= steal_before ? steal_after - steal_before : -1;
    FILE *rc = open_out("nfv-recoveries.csv");
    if (rc != NULL) {
        fprintf(rc, "job,fault,recovery_ns\n");
        for (unsigned i = 0; i < recoveries; i++) {
            fprintf(rc, "%" PRIu64 ",%s,%" PRIu64 "\n", recovery_log[i].job, recovery_log[i].fault,
                    recovery_log[i].ns);
        }
        fclose(rc);
    }

    /* ---- the summary ---- */
    static keel_rt_task_stats st[3];
    for (unsigned i = 0; i < 3; i++) {
        keel_rt_task_stats_get(rt, ids[i], &st[i]);
    }
    keel_domain_snapshot_stats snap;
    keel_domain_snapshot_get_stats(fw, &snap);
    keel_domain_stats fws;
    keel_domain_get_stats(fw, &fws);
    keel_ifc_stats ifc;
    keel_ifc_get_stats(&ifc);
    uint64_t received = 0, bad_rx = 0, sink_refused = 0;
    bool tenants_match = true;
    for (unsigned t = 0; t < TENANTS; t++) {
        keel_sink_stats ss;
        keel_sink_get_stats(&sinks[t], &ss);
        received += rx[t].packets;
        bad_rx += rx[t].wrong_tenant + rx[t].corrupt;
        sink_refused += ss.refused;
        tenants_match = tenants_match && rx[t].packets == count.expected_delivered[t] &&
                        rx[t].numbers == count.expected_numbers[t];
    }
    uint64_t out = received + count.fw_dropped + count.malformed + count.refused;
    uint64_t faults = count.faults_panic + count.faults_wild;
    double batch_us = (double)keel_hist_percentile(&job_ns, 0.5) / 1e3;
    double per_call = protected_call - plain;
    double overhead_pct = 100.0 * CALLS_PER_BATCH * per_call / ghz / 1e3 / batch_us;

    printf("\n==== keel nfv: summary ====\n");
    printf("  packets in           %s\n", commas(b1, count.packets_in));
    printf("  packets out          %s = delivered %s + firewall drops %s + malformed %s + "
           "withheld by IFC %s   %s\n",
           commas(b2, out), commas(b3, received), commas(b4, count.fw_dropped),
           commas(b5, count.malformed), commas(b1, count.refused),
           out == count.packets_in ? "(equal)" : "(NOT EQUAL)");
    printf("  checked              every packet against a reference pipeline: %" PRIu64
           " wrong verdicts, %" PRIu64 " wrong backends, %" PRIu64 " wrong parses; "
           "tenants received exactly their packets: %s\n",
           count.wrong_verdicts, count.wrong_backends, count.wrong_valid,
           tenants_match && bad_rx == 0 ? "yes" : "NO");
    printf("  faults injected      %" PRIu64 " into the firewall: %" PRIu64 " panics, %" PRIu64
           " wild writes into lb's strict heap\n",
           faults, count.faults_panic, count.faults_wild);
    printf("  faults recovered     %" PRIu64 ": contained, rolled back to the last snapshot "
           "(%" PRIu64 " rollbacks), batch classified again\n",
           count.recovered, snap.rollbacks);
    if (recovery_ns.count > 0) {
        printf("  recovery time        mean %.1f us, p99 %.1f us, max %.1f us "
               "(fault to status, rollback included)\n",
               (double)recovery_ns.sum / (double)recovery_ns.count / 1e3,
               (double)keel_hist_percentile(&recovery_ns, 0.99) / 1e3,
               (double)recovery_ns.max / 1e3);
    }
    printf("  protected calls      %u per batch, %.0f cycles each over a plain call "
           "(%.0f vs %.0f): %.2f%% of a batch's %.1f us\n",
           CALLS_PER_BATCH, per_call, protected_call, plain, overhead_pct, batch_us);
    printf("  flows refused (IFC)  %s: the seeded tx bug's cross-tenant writes (expected %s), "
           "%s\n",
           commas(b1, count.refused), commas(b2, count.expected_refused),
           count.refused == count.expected_refused ? "all refused at the sink" : "NOT ALL REFUSED");
    if (first_refusal[0] != '\0') {
        printf("                       first report: %s\n", first_refusal);
    }
    printf("  deadline misses      pipeline (HI) %" PRIu64 " of %" PRIu64 " jobs; "
           "telemetry (LO, budget %.0f us, asks %.0f us) throttled %" PRIu64 " times\n",
           st[1].deadline_misses, st[1].completed, (double)TELE_BUDGET / 1e3,
           (double)TELE_ASKS / 1e3, st[0].throttles);
    printf("  executive            %s; control plane added %" PRIu64 " rules under SRP\n",
           sys.fifo ? "SCHED_FIFO, pinned to one CPU"
                    : "DEGRADED (no SCHED_FIFO): priorities not enforced by the kernel",
           count.rules_added);
    if (stolen >= 0) {
        printf("  host                 %ld ms of CPU %d's time taken by the hypervisor during the "
               "run (steal, /proc/stat)%s\n",
               stolen, config.cpu,
               stolen > 0 ? ": the executive cannot run then, and jobs it delays may miss" : "");
    }
    printf("  pipeline response    median %.1f us, p99 %.1f us, max %.1f us; job execution "
           "median %.1f us, max %.1f us\n",
           (double)keel_hist_percentile(&st[1].response, 0.5) / 1e3,
           (double)keel_hist_percentile(&st[1].response, 0.99) / 1e3,
           (double)st[1].response.max / 1e3, batch_us, (double)job_ns.max / 1e3);
    print_histogram(&st[1].response, PIPE_PERIOD);
    if (count.stage_failures > 0) {
        printf("  stage failures       %" PRIu64 " (last: %s)\n", count.stage_failures,
               keel_strerror(count.last_stage_failure));
    }

    keel_analysis_result res[3];
    if (keel_rt_analyse(rt, res) == KEEL_OK) {
        printf("  analysis (budgets)   ");
        for (unsigned i = 0; i < 3; i++) {
            printf("%s R = %.0f us%s%s", tasks[i].name, (double)res[i].response / 1e3,
                   res[i].schedulable ? "" : " (MISSES)", i < 2 ? ", " : "\n");
        }
    }

    /* Files: the task statistics, and the response times' picture. */
    FILE *f = open_out("nfv-tasks.csv");
    if (f != NULL) {
        keel_rt_report_csv(rt, f);
        fclose(f);
    }
    if ((f = open_out("nfv-summary.csv")) != NULL) {
        fprintf(f,
                "metric,value\npackets_in,%" PRIu64 "\npackets_out,%" PRIu64 "\ndelivered,%" PRIu64
                "\nfirewall_dropped,%" PRIu64 "\nmalformed,%" PRIu64 "\nifc_refused,%" PRIu64
                "\nfaults,%" PRIu64 "\nrecovered,%" PRIu64
                "\nrecovery_mean_ns,%.0f\nrecovery_p99_ns,%" PRIu64
                "\nprotected_call_cycles,%.1f\nplain_call_cycles,%.1f\ndeadline_misses,%" PRIu64
                "\ntelemetry_throttles,%" PRIu64 "\nresponse_p99_ns,%" PRIu64
                "\njob_median_ns,%" PRIu64 "\njob_p99_ns,%" PRIu64 "\njob_max_ns,%" PRIu64
                "\nrecovery_max_ns,%" PRIu64 "\ntsc_ghz,%.3f\npipe_period_ns,%llu"
                "\ntele_period_ns,%llu\ntele_budget_ns,%llu\nctrl_period_ns,%llu"
                "\nctrl_budget_ns,%llu\nctrl_section_ns,%llu\nsteal_ms,%ld\n",
                count.packets_in, out, received, count.fw_dropped, count.malformed, count.refused,
                faults, count.recovered,
                recovery_ns.count ? (double)recovery_ns.sum / (double)recovery_ns.count : 0.0,
                keel_hist_percentile(&recovery_ns, 0.99), protected_call, plain,
                st[1].deadline_misses, st[0].throttles, keel_hist_percentile(&st[1].response, 0.99),
                keel_hist_percentile(&job_ns, 0.5), keel_hist_percentile(&job_ns, 0.99), job_ns.max,
                recovery_ns.count ? recovery_ns.max : 0, ghz, PIPE_PERIOD, TELE_PERIOD, TELE_BUDGET,
                CTRL_PERIOD, CTRL_BUDGET, CTRL_SECTION, stolen);
        fclose(f);
    }
    char png[4096];
    snprintf(png, sizeof png, "%s/nfv-response.png", opt.out);
    FILE *g = popen("gnuplot 2>/dev/null", "w");
    if (g == NULL || keel_rt_report_plot(rt, g, png, "keel nfv: response times") != KEEL_OK ||
        pclose(g) != 0) {
        printf("  (no PNG: gnuplot is missing or failed)\n");
    }
    printf("  files                %s/nfv-summary.csv, nfv-tasks.csv, nfv-recoveries.csv, "
           "nfv-response.png\n",
           opt.out);

    bool ok = count.packets_in > 0 && out == count.packets_in && count.wrong_verdicts == 0 &&
              count.wrong_backends == 0 && count.wrong_valid == 0 && tenants_match && bad_rx == 0 &&
              count.not_contained == 0 && count.recovered == faults && snap.rollbacks == faults &&
              fws.failures == faults && count.refused == count.expected_refused &&
              ifc.refused == count.refused && sink_refused == count.refused &&
              count.tx_failed == 0 && count.stage_failures == 0 &&
              (!opt.leak || count.expected_refused > 0) && (opt.fault_every == 0 || faults > 0);
    /* Timing is reported, not judged: the exit status says what keel
     * guarantees on any machine (the deadlines hold where SCHED_FIFO does). */
    printf("  verdict              %s; deadlines %s\n",
           ok ? "ok: every packet accounted for and checked, every fault recovered, every "
                "leak refused"
              : "FAILED (see above)",
           st[1].deadline_misses == 0 ? "all held" : "MISSED (see above)");
    keel_domain_destroy(tx);
    keel_domain_destroy(lb);
    keel_domain_destroy(fw);
    keel_domain_destroy(parser);
    keel_domain_destroy(gen);
    return ok ? 0 : 1;
}
