/* store.c - the secure data store of store.h, and its seeded bugs. */
#include "store.h"

#include <string.h>

const char *const store_bug_names[STORE_BUG_COUNT] = {
    "correct",           "get-no-check",   "check-wrong-item", "cache-any-client",
    "delete-keeps-data", "len-reads-data", "status-from-data", "debug-log",
    "sanitize",          "notify-watcher", "raw-cache",        "result-inline",
    "key-alias",
};

typedef struct item {
    bool used;
    bool restricted;
    uint32_t key;
    keel_box box;
} item;

typedef struct store {
    store_config config;
    item items[STORE_ITEMS];
    unsigned next; /* insertion order, for duplicates */
    keel_box cache;
    uint32_t cache_key;
    bool watching;
    keel_rref watcher;
    /* STORE_BUG_RAW_CACHE: the bytes of the last item put, and its key. */
    unsigned char raw[STORE_ITEM_SIZE];
    uint32_t raw_key;
    bool raw_valid;
} store;

static bool cleared(const store *s, uint32_t caller) {
    for (unsigned i = 0; i < s->config.cleared_count; i++) {
        if (s->config.cleared[i] == caller) {
            return true;
        }
    }
    return caller == KEEL_HOST_DOMAIN;
}

static bool bug(const store *s, store_bug b) {
    return s->config.bug == b;
}

/* The item with `key`: the newest if `newest`, else the oldest. */
static item *find(store *s, uint32_t key, bool newest) {
    item *found = NULL;
    for (unsigned i = 0; i < STORE_ITEMS; i++) {
        if (s->items[i].used && s->items[i].key == key) {
            found = &s->items[i];
            if (!newest) {
                return found;
            }
        }
    }
    return found;
}

static item *find_alias(store *s, uint32_t key) {
    for (unsigned i = 0; i < STORE_ITEMS; i++) {
        if (s->items[i].used && s->items[i].key % 4 == key % 4) {
            return &s->items[i];
        }
    }
    return NULL;
}

static bool may_read(const store *s, const item *it, uint32_t caller) {
    return !it->restricted || cleared(s, caller);
}

static keel_status put(store *s, keel_call *call) {
    const store_arg *a = call->arg;
    if (a->restricted && !cleared(s, call->caller)) {
        return KEEL_EACCESS;
    }
    item *it = bug(s, STORE_BUG_CHECK_WRONG_ITEM) ? NULL : find(s, a->key, true);
    if (it != NULL) {
        if (it->restricted && !cleared(s, call->caller)) {
            return KEEL_EACCESS; /* only a cleared client overwrites a restricted item */
        }
        keel_box_free(it->box);
    } else {
        for (unsigned i = 0; i < STORE_ITEMS && it == NULL; i++) {
            if (!s->items[(s->next + i) % STORE_ITEMS].used) {
                it = &s->items[(s->next + i) % STORE_ITEMS];
            }
        }
        if (it == NULL) {
            return KEEL_EFULL;
        }
        s->next++;
    }
    it->used = true;
    it->restricted = a->restricted;
    it->key = a->key;
    it->box = call->box;
    if (s->cache.index != 0 && s->cache_key == a->key) {
        keel_box_free(s->cache);
        s->cache = KEEL_BOX_NONE;
    }
    keel_status status = KEEL_OK;
    if (bug(s, STORE_BUG_DEBUG_LOG)) {
        status = keel_sink_write_box(s->config.debug, it->box, 0, STORE_ITEM_SIZE);
    }
    if (bug(s, STORE_BUG_NOTIFY_WATCHER) && s->watching) {
        status = keel_rref_call_lend(s->watcher, 0, it->box, NULL, NULL);
    }
    if (bug(s, STORE_BUG_RAW_CACHE)) {
        void *data;
        status = keel_box_data(it->box, &data, NULL);
        if (status == KEEL_OK) {
            memcpy(s->raw, data, STORE_ITEM_SIZE);
            s->raw_key = a->key;
            s->raw_valid = true;
        }
    }
    return status;
}

static keel_status give_copy(keel_box source, store_result *r) {
    keel_box copy;
    keel_status status = keel_box_copy(source, &copy);
    if (status == KEEL_OK) {
        status = keel_box_give(&copy);
        if (status == KEEL_OK) {
            r->box = copy;
        } else {
            keel_box_free(copy);
        }
    }
    return status;
}

static keel_status give_raw(store *s, store_result *r) {
    keel_box fresh;
    void *data;
    keel_status status = keel_box_alloc(STORE_ITEM_SIZE, &fresh);
    if (status != KEEL_OK) {
        return status;
    }
    status = keel_box_data(fresh, &data, NULL);
    if (status == KEEL_OK) {
        memcpy(data, s->raw, STORE_ITEM_SIZE);
        status = keel_box_give(&fresh);
    }
    if (status == KEEL_OK) {
        r->box = fresh;
    } else {
        keel_box_free(fresh);
    }
    return status;
}

static keel_status get(store *s, keel_call *call) {
    uint32_t key = *(const uint32_t *)call->arg;
    store_result *r = call->result;
    if (bug(s, STORE_BUG_CACHE_ANY_CLIENT) && s->cache.index != 0 && s->cache_key == key) {
        return give_copy(s->cache, r);
    }
    if (bug(s, STORE_BUG_RAW_CACHE) && s->raw_valid && s->raw_key == key) {
        return give_raw(s, r); /* the fast path skips the access check */
    }
    item *it = bug(s, STORE_BUG_CHECK_WRONG_ITEM) ? find(s, key, false)
               : bug(s, STORE_BUG_KEY_ALIAS)      ? find_alias(s, key)
                                                  : find(s, key, true);
    const item *checked = it;
    if (bug(s, STORE_BUG_CHECK_WRONG_ITEM)) {
        checked = find(s, key, true);
    } else if (bug(s, STORE_BUG_KEY_ALIAS)) {
        checked = find(s, key, true);
    }
    if (it == NULL) {
        return STORE_ENOTFOUND;
    }
    if (bug(s, STORE_BUG_STATUS_FROM_DATA)) {
        const unsigned char *data;
        keel_status status = keel_box_data(it->box, (void **)&data, NULL);
        if (status != KEEL_OK) {
            return status;
        }
        if (data[0] & 1) {
            return KEEL_ECHECKSUM; /* "corrupt" */
        }
    }
    if (bug(s, STORE_BUG_RESULT_INLINE)) { /* inline answers skip the check */
        void *data;
        keel_status status = keel_box_data(it->box, &data, NULL);
        if (status == KEEL_OK) {
            memcpy(r->data, data, STORE_ITEM_SIZE);
            r->inline_data = true;
        }
        return status;
    }
    bool allowed = checked == NULL || may_read(s, checked, call->caller);
    if (bug(s, STORE_BUG_GET_NO_CHECK)) {
        allowed = true;
    }
    if (bug(s, STORE_BUG_SANITIZE) && !allowed) {
        keel_box copy;
        keel_status status = keel_box_copy(it->box, &copy);
        if (status == KEEL_OK) {
            status = keel_box_relabel(copy, KEEL_LABEL_PUBLIC);
        }
        if (status == KEEL_OK) {
            status = keel_box_give(&copy);
        }
        if (status == KEEL_OK) {
            r->box = copy;
        } else {
            keel_box_free(copy);
        }
        return status;
    }
    if (!allowed) {
        return KEEL_EACCESS;
    }
    keel_status status = give_copy(it->box, r);
    if (status == KEEL_OK && bug(s, STORE_BUG_CACHE_ANY_CLIENT)) {
        if (s->cache.index != 0) {
            keel_box_free(s->cache);
        }
        s->cache = KEEL_BOX_NONE;
        if (keel_box_copy(it->box, &s->cache) == KEEL_OK) {
            s->cache_key = key;
        }
    }
    return status;
}

static keel_status del(store *s, keel_call *call) {
    uint32_t key = *(const uint32_t *)call->arg;
    item *it = find(s, key, true);
    if (it == NULL) {
        return STORE_ENOTFOUND;
    }
    if (!may_read(s, it, call->caller)) {
        return KEEL_EACCESS;
    }
    if (bug(s, STORE_BUG_DELETE_KEEPS_DATA)) {
        it->restricted = false; /* "deleted": the data stays, findable */
        return KEEL_OK;
    }
    keel_box_free(it->box);
    it->used = false;
    if (s->cache.index != 0 && s->cache_key == key) {
        keel_box_free(s->cache);
        s->cache = KEEL_BOX_NONE;
    }
    return KEEL_OK;
}

static keel_status len(store *s, keel_call *call) {
    uint32_t key = *(const uint32_t *)call->arg;
    store_result *r = call->result;
    item *it = find(s, key, true);
    if (it == NULL) {
        return STORE_ENOTFOUND;
    }
    if (bug(s, STORE_BUG_LEN_READS_DATA)) {
        const unsigned char *data;
        keel_status status = keel_box_data(it->box, (void **)&data, NULL);
        if (status == KEEL_OK) {
            r->length = strnlen((const char *)data, STORE_ITEM_SIZE);
        }
        return status;
    }
    if (!may_read(s, it, call->caller)) {
        return KEEL_EACCESS;
    }
    r->length = STORE_ITEM_SIZE;
    return KEEL_OK;
}

static keel_status watch(store *s, keel_call *call) {
    s->watcher = ((const store_arg *)call->arg)->watcher;
    s->watching = true;
    return KEEL_OK;
}

static keel_status m_put(void *o, keel_call *c) {
    return put(o, c);
}
static keel_status m_get(void *o, keel_call *c) {
    return get(o, c);
}
static keel_status m_del(void *o, keel_call *c) {
    return del(o, c);
}
static keel_status m_len(void *o, keel_call *c) {
    return len(o, c);
}
static keel_status m_watch(void *o, keel_call *c) {
    return watch(o, c);
}

static const keel_method store_methods[S_COUNT] = {m_put, m_get, m_del, m_len, m_watch};
static const keel_interface store_interface = {"store", S_COUNT, store_methods};

typedef struct store_boot {
    const store_config *config;
    keel_rref rref;
} store_boot;

static keel_status store_init(keel_domain *domain, void *context) {
    store_boot *boot = context;
    store *s;
    keel_status status = keel_domain_alloc(sizeof *s, (void **)&s);
    if (status != KEEL_OK) {
        return status;
    }
    memset(s, 0, sizeof *s);
    s->config = *boot->config;
    return keel_domain_export(domain, s, &store_interface, &boot->rref);
}

keel_status store_create(const store_config *config, keel_domain **domain, keel_rref *rref) {
    store_boot boot = {.config = config};
    keel_domain_config dc = {
        .name = "store",
        .heap_size = 64 * 1024,
        .table_capacity = 2,
        .init = store_init,
        .context = &boot,
        .clearance = KEEL_LABEL_TOP,
    };
    keel_status status = keel_domain_create(&dc, domain);
    if (status == KEEL_OK) {
        *rref = boot.rref;
    }
    return status;
}
