/*
 * host.c - runs the untrusted parser plugin (parser.c) in a keel protection
 * domain and feeds it good and crashing input. Each crash is contained: the
 * host gets a status and the cause, the plugin is recovered behind the same
 * rref, and the next request is served. The model is in docs/domains.md.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "parser.h"

static const char *const requests[] = {
    "name=pump;count=4;total=100",
    "name=lamp;colour=red", /* unknown key: an ordinary error, not a failure */
    "name=fan;count=3;total=30",
    "name=valve;count;total=9", /* a field without '=': NULL dereference */
    "name=well;count=2;total=64",
    "name=tank;count=0;total=9", /* division by zero */
    "name=gate;count=2;total=7",
    "name=probe;debug=16", /* wild write to address 16 */
    "name=mill;count=3;total=12",
    "name=boom;count=4x;total=1", /* not a number: the plugin panics */
    "name=last;count=5;total=50",
};
enum { REQUESTS = sizeof requests / sizeof requests[0] };

/* Lends the input to the parser in a box: zero copies across the boundary, and
 * the box is ours again however the call ends, so we always free it. */
static keel_status submit(keel_rref parser, const char *input, parsed_record *out) {
    size_t size = strlen(input);
    keel_box box;
    void *data;
    keel_status status = keel_box_alloc(size, &box);
    if (status != KEEL_OK) {
        return status;
    }
    keel_box_data(box, &data, NULL); /* cannot fail: we own the box */
    memcpy(data, input, size);
    status = keel_rref_call_lend(parser, PARSER_PARSE, box, NULL, out);
    keel_status freed = keel_box_free(box);
    return status != KEEL_OK ? status : freed;
}

int main(void) {
    keel_rref parser; /* written by parser_init, re-used by parser_recover */
    keel_domain_config config = {
        .name = "parser",
        .heap_size = 16 * 1024,
        .table_capacity = 1,
        .init = parser_init,
        .recover = parser_recover,
        .context = &parser,
        .policy = KEEL_RECOVER_RESTART,
        /* 8 failures within a second stop the plugin for good (KEEL_ESTOPPED). */
        .failure_budget = 8,
        .failure_window_ns = 1000000000u,
    };
    keel_domain *plugin;
    keel_exchange_stats exchange_start;
    /* 64 KiB for boxes, at most 32 of them; installs keel's fault handlers. */
    keel_status status = keel_domain_system_init(64 * 1024, 32);
    keel_exchange_get_stats(&exchange_start);
    if (status == KEEL_OK) {
        status = keel_domain_create(&config, &plugin);
    }
    if (status != KEEL_OK) {
        fprintf(stderr, "plugin: %s\n", keel_strerror(status));
        return 1;
    }

    unsigned served = 0, errors = 0, panics = 0, segv = 0, fpe = 0, other = 0;
    for (unsigned i = 0; i < REQUESTS; i++) {
        parsed_record record;
        printf("request %u: \"%s\"\n", i + 1, requests[i]);
        status = submit(parser, requests[i], &record); /* the same rref every time */
        if (status == KEEL_OK) {
            served++;
            printf("  served: %s count=%ld total=%ld average=%ld (record %lu of this "
                   "incarnation)\n",
                   record.name, record.count, record.total, record.average, record.parsed);
            continue;
        }
        if (status != KEEL_EPANIC && status != KEEL_EFAULT) {
            errors++;
            printf("  error: %s (the plugin did not fail: nothing to recover)\n",
                   keel_status_name(status));
            continue;
        }
        const keel_failure *failure = keel_last_failure(); /* this thread's last failure */
        if (failure->kind == KEEL_FAILURE_PANIC) {
            panics++;
        } else if (failure->signal == SIGSEGV) {
            segv++;
        } else if (failure->signal == SIGFPE) {
            fpe++;
        } else {
            other++; /* SIGBUS or SIGILL */
        }
        /* By the time the call returns, the plugin has been recovered: this
         * thread was the last one out, so it ran parser_recover itself. */
        keel_domain_stats stats;
        keel_domain_get_stats(plugin, &stats);
        printf("  contained: %s: %s\n", keel_status_name(status), failure->message);
        printf("  recovered: %s, recoveries %llu\n",
               keel_domain_get_state(plugin) == KEEL_DOMAIN_RUNNING ? "running" : "NOT running",
               (unsigned long long)stats.recoveries);
    }

    keel_domain_stats stats;
    keel_domain_get_stats(plugin, &stats);
    keel_exchange_stats exchange_end;
    keel_exchange_get_stats(&exchange_end);
    bool leaked = exchange_end.heap.in_use != exchange_start.heap.in_use ||
                  exchange_end.boxes_live + exchange_end.boxes_dead != 0;
    printf("summary: %u requests, %u served, %u errors, %u failures contained (panic %u, "
           "SIGSEGV %u, SIGFPE %u, other %u), %llu recoveries\n",
           REQUESTS, served, errors, panics + segv + fpe + other, panics, segv, fpe, other,
           (unsigned long long)stats.recoveries);
    printf("exchange heap: %zu bytes in use at start, %zu at end: %s\n", exchange_start.heap.in_use,
           exchange_end.heap.in_use, leaked ? "LEAKED" : "nothing leaked");

    if (keel_domain_destroy(plugin) != KEEL_OK || keel_domain_system_shutdown() != KEEL_OK) {
        return 1;
    }
    return leaked ? 1 : 0;
}
