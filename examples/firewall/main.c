/*
 * firewall - a packet classifier whose rule set lives in a protection domain,
 * is snapshotted after every good update, and is persisted to a file.
 *
 * A classifier thread classifies packets through the firewall's rref without
 * pause. The host applies rule updates through the same rref; after each good
 * update the firewall snapshots its domain (incrementally: only the pages the
 * update wrote are copied). The third update is faulty: one rule's label is a
 * wild pointer, and the update crashes half-way, with two of its rules already
 * in the trie. The domain fails and, under KEEL_RECOVER_ROLLBACK, comes back in
 * its last snapshot: the last good rule set, behind the same rref, while the
 * classifier carries on (its calls during the recovery get KEEL_ERECOVERING or
 * KEEL_EABORTED and are retried). Finally the rule set is checkpointed to a
 * file, loaded back in the host and restored into an arena: it classifies
 * exactly as the domain does.
 *
 * Run: ./firewall [checkpoint path]   (default: firewall.ckpt in the current directory)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/keel.h"
#include "rules.h"

enum { M_CLASSIFY, M_UPDATE, M_SAVE, M_COUNT };

/* The rule set's lock stays outside the domain's heap: a rollback restores the
 * heap as the snapshot saw it, and must not bring back a lock state with it. */
static pthread_rwlock_t rules_lock = PTHREAD_RWLOCK_INITIALIZER;

typedef struct update {
    const rule_spec *rules;
    unsigned count;
} update;

typedef struct save_request {
    const char *path;
    keel_ckpt_stats stats;
} save_request;

static void *domain_alloc(size_t size) {
    void *p;
    return keel_domain_alloc(size, &p) == KEEL_OK ? p : NULL;
}

/* Never waits for the lock: an update that crashed holding it would keep a
 * waiting classifier inside the domain, and the domain is recovered by the last
 * thread to leave it. The caller retries on KEEL_EBUSY. */
static keel_status classify(void *object, keel_call *call) {
    if (pthread_rwlock_tryrdlock(&rules_lock) != 0) {
        return KEEL_EBUSY;
    }
    *(enum action *)call->result = rule_set_classify(object, *(const uint32_t *)call->arg);
    pthread_rwlock_unlock(&rules_lock);
    return KEEL_OK;
}

/* Applies the rules one by one, then snapshots the domain: the new good state. */
static keel_status apply_update(void *object, keel_call *call) {
    rule_set *set = object;
    const update *u = call->arg;
    pthread_rwlock_wrlock(&rules_lock); /* a crash inside leaves it held: recover resets it */
    for (unsigned i = 0; i < u->count; i++) {
        if (rule_set_insert(set, &u->rules[i], domain_alloc) != 0) {
            pthread_rwlock_unlock(&rules_lock);
            keel_panic("out of memory inserting rule %u", u->rules[i].id);
        }
    }
    set->version++;
    pthread_rwlock_unlock(&rules_lock);
    return keel_domain_snapshot(keel_domain_current());
}

/* Checkpoints the rule set (not the whole heap) and writes it atomically. */
static keel_status save(void *object, keel_call *call) {
    save_request *request = call->arg;
    keel_ckpt_schema schema;
    keel_status status = keel_ckpt_schema_init(&schema, &rule_set_ckpt_type);
    size_t capacity = 1 << 20;
    void *buffer = NULL;
    if (status == KEEL_OK) {
        status = keel_domain_alloc(capacity, &buffer);
    }
    if (status == KEEL_OK) {
        keel_ckpt ckpt;
        keel_ckpt_options options = {.save_external = label_save};
        pthread_rwlock_rdlock(&rules_lock);
        status = keel_ckpt_take(&ckpt, &schema, object, buffer, capacity, &options);
        pthread_rwlock_unlock(&rules_lock);
        if (status == KEEL_OK) {
            keel_ckpt_get_stats(&ckpt, &request->stats);
            status = keel_ckpt_save(&ckpt, request->path);
        }
        keel_domain_free(buffer);
    }
    return status;
}

static const keel_method methods[M_COUNT] = {classify, apply_update, save};
static const keel_interface firewall_interface = {"firewall", M_COUNT, methods};

static keel_rref firewall_rref;

static keel_status firewall_init(keel_domain *d, void *context) {
    (void)context;
    rule_set *set;
    keel_status status = keel_domain_alloc(sizeof *set, (void **)&set);
    if (status != KEEL_OK) {
        return status;
    }
    memset(set, 0, sizeof *set);
    return keel_domain_export(d, set, &firewall_interface, &firewall_rref);
}

/* Runs after the rollback: the lock a crashed update held is reset. */
static keel_status firewall_recover(keel_domain *d, void *context) {
    (void)d;
    (void)context;
    pthread_rwlock_t fresh = PTHREAD_RWLOCK_INITIALIZER;
    rules_lock = fresh;
    return KEEL_OK;
}

/* ---- the classifier thread ---- */

static const uint32_t probes[] = {0x0A000001, 0x0A010203, 0xC0A80101, 0xC0A80A0A,
                                  0x08080808, 0xAC100001, 0x0A0A0A0A, 0xC0A8FF01};
enum { PROBES = sizeof probes / sizeof probes[0] };

static atomic_bool stop;
static atomic_ulong classified, retried;

static void *classifier(void *unused) {
    (void)unused;
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        enum action a;
        keel_status status =
            keel_rref_call(firewall_rref, M_CLASSIFY, (void *)&probes[i % PROBES], &a);
        if (status == KEEL_OK) {
            atomic_fetch_add(&classified, 1);
        } else if (status == KEEL_ERECOVERING || status == KEEL_EABORTED || status == KEEL_EBUSY) {
            atomic_fetch_add(&retried, 1); /* an update or a rollback: ask again */
        } else {
            fprintf(stderr, "classify: %s\n", keel_strerror(status));
            exit(1);
        }
    }
    return NULL;
}

static void answers(enum action out[PROBES]) {
    for (unsigned i = 0; i < PROBES; i++) {
        keel_status status;
        do {
            status = keel_rref_call(firewall_rref, M_CLASSIFY, (void *)&probes[i], &out[i]);
        } while (status == KEEL_ERECOVERING || status == KEEL_EBUSY);
        if (status != KEEL_OK) {
            fprintf(stderr, "classify: %s\n", keel_strerror(status));
            exit(1);
        }
    }
}

static void print_answers(const char *when, const enum action a[PROBES]) {
    printf("%-28s", when);
    for (unsigned i = 0; i < PROBES; i++) {
        printf(" %s", rule_labels[a[i]]);
    }
    printf("\n");
}

static void check(keel_status status, const char *what) {
    if (status != KEEL_OK) {
        fprintf(stderr, "%s: %s\n", what, keel_strerror(status));
        exit(1);
    }
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "firewall.ckpt";
    check(keel_domain_system_init(1 << 20, 64), "system init");
    keel_domain_config config = {.name = "firewall",
                                 .heap_size = 4 << 20,
                                 .table_capacity = 4,
                                 .init = firewall_init,
                                 .recover = firewall_recover,
                                 .policy = KEEL_RECOVER_ROLLBACK};
    keel_domain *firewall;
    check(keel_domain_create(&config, &firewall), "create");
    check(keel_domain_snapshot_enable(firewall, true), "snapshots");
    pthread_t thread;
    pthread_create(&thread, NULL, classifier, NULL);

    static const rule_spec first[] = {
        {0x0A000000, 8, 1, ACCEPT, NULL},  /* 10/8: accept */
        {0xC0A80000, 16, 2, LOG, NULL},    /* 192.168/16: log */
        {0xAC100000, 12, 1, ACCEPT, NULL}, /* 172.16/12: the same rule as 10/8 */
    };
    static const rule_spec second[] = {
        {0x0A010000, 16, 3, DROP, NULL},   /* 10.1/16: drop */
        {0xC0A80A00, 24, 1, ACCEPT, NULL}, /* 192.168.10/24: shares rule 1 */
    };
    static const rule_spec faulty[] = {
        {0x08000000, 8, 4, ACCEPT, NULL}, /* inserted before the crash */
        {0x0A0A0000, 16, 5, LOG, NULL},   /* inserted before the crash */
        {0xC0A8FF00, 24, 6, DROP, NULL},  /* its label is a wild pointer */
    };
    rule_spec a[3], b[2], c[3];
    memcpy(a, first, sizeof a);
    memcpy(b, second, sizeof b);
    memcpy(c, faulty, sizeof c);
    for (unsigned i = 0; i < 3; i++) {
        a[i].label = rule_labels[a[i].action];
        c[i].label = rule_labels[c[i].action];
    }
    for (unsigned i = 0; i < 2; i++) {
        b[i].label = rule_labels[b[i].action];
    }
    c[2].label = (const char *)(uintptr_t)24; /* a corrupted configuration */

    enum action before[PROBES], after_good[PROBES], after_fault[PROBES], restored[PROBES];
    answers(before);
    print_answers("no rules:", before);
    update u = {a, 3};
    check(keel_rref_call(firewall_rref, M_UPDATE, &u, NULL), "update 1");
    u = (update){b, 2};
    check(keel_rref_call(firewall_rref, M_UPDATE, &u, NULL), "update 2");
    answers(after_good);
    print_answers("after 2 good updates:", after_good);

    u = (update){c, 3};
    keel_status status = keel_rref_call(firewall_rref, M_UPDATE, &u, NULL);
    printf("faulty update: %s (%s)\n", keel_status_name(status), keel_last_failure()->message);
    answers(after_fault);
    print_answers("after the rollback:", after_fault);
    bool same = memcmp(after_good, after_fault, sizeof after_good) == 0;
    printf("rule set after the crash: %s\n",
           same ? "the last good one (partial update rolled back)" : "DIFFERENT");

    /* Persist the rule set, load it in the host, classify with the copy. */
    save_request request = {.path = path};
    check(keel_rref_call(firewall_rref, M_SAVE, &request, NULL), "save");
    keel_ckpt_schema schema;
    check(keel_ckpt_schema_init(&schema, &rule_set_ckpt_type), "schema");
    static _Alignas(16) unsigned char file[1 << 20], arena_region[1 << 20];
    keel_ckpt loaded;
    keel_ckpt_diag diag;
    check(keel_ckpt_load(&loaded, &schema, path, file, sizeof file, &diag), diag.message);
    keel_arena arena;
    keel_arena_init(&arena, arena_region, sizeof arena_region);
    rule_set *copy;
    keel_ckpt_options options = {.load_external = label_load};
    check(keel_ckpt_restore_arena(&loaded, &schema, &arena, &options, (void **)&copy), "restore");
    for (unsigned i = 0; i < PROBES; i++) {
        restored[i] = rule_set_classify(copy, probes[i]);
    }
    print_answers("restored from the file:", restored);
    printf("checkpoint: %llu objects, %llu shared rules, %zu bytes on disk\n",
           (unsigned long long)request.stats.objects, (unsigned long long)request.stats.shared,
           keel_ckpt_file_size(&loaded));
    bool file_same = memcmp(restored, after_good, sizeof restored) == 0;

    atomic_store(&stop, true);
    pthread_join(thread, NULL);
    keel_domain_snapshot_stats snap;
    keel_domain_snapshot_get_stats(firewall, &snap);
    printf("classifier: %lu packets classified during the run, %lu retried (update or rollback)\n",
           atomic_load(&classified), atomic_load(&retried));
    printf("snapshots: %llu (%llu incremental), rollbacks %llu\n",
           (unsigned long long)snap.snapshots, (unsigned long long)snap.incremental,
           (unsigned long long)snap.rollbacks);
    check(keel_domain_destroy(firewall), "destroy");
    check(keel_domain_system_shutdown(), "shutdown");
    remove(path);
    bool ok = same && file_same && snap.rollbacks == 1 && status == KEEL_EFAULT;
    printf("%s\n", ok ? "firewall: ok" : "firewall: FAILED");
    return ok ? 0 : 1;
}
