/*
 * store.h - a secure data store as a keel domain, with seedable bugs.
 *
 * The store keeps items (a key and a box) on behalf of clients, some cleared
 * for the `secret` category and some not. It never opens an item: it moves,
 * copies and gives boxes, so its own label stays public and it can serve
 * every client. Its access check (restricted items only to cleared clients)
 * is its own business; keel's labels are what make a wrong check harmless.
 * Each STORE_BUG_* variant is a realistic mistake that would leak secret data
 * to an uncleared client; tests/ifc/test_store.c shows keel refuses each and
 * that the noninterference test detects each when keel only audits.
 */
#ifndef KEEL_TEST_IFC_STORE_H
#define KEEL_TEST_IFC_STORE_H

#include "keel/ifc.h"

typedef enum store_bug {
    STORE_CORRECT = 0,
    STORE_BUG_GET_NO_CHECK,      /* GET forgets the access check */
    STORE_BUG_CHECK_WRONG_ITEM,  /* duplicate keys: checks the newest, returns the oldest */
    STORE_BUG_CACHE_ANY_CLIENT,  /* the last GET's copy is served to whoever asks next */
    STORE_BUG_DELETE_KEEPS_DATA, /* DELETE drops the restriction but keeps the data */
    STORE_BUG_LEN_READS_DATA,    /* LEN counts the bytes up to the first zero */
    STORE_BUG_STATUS_FROM_DATA,  /* GET "validates" the item before the access check */
    STORE_BUG_DEBUG_LOG,         /* PUT logs every item to a public debug sink */
    STORE_BUG_SANITIZE,          /* GET "sanitises" a restricted copy by relabelling it */
    STORE_BUG_NOTIFY_WATCHER,    /* PUT lends each new item to a registered watcher */
    STORE_BUG_RAW_CACHE,         /* PUT caches the last item's bytes; GET serves them unchecked */
    STORE_BUG_RESULT_INLINE,     /* GET answers inline, in the result, unchecked */
    STORE_BUG_KEY_ALIAS,         /* lookup by hash without comparing keys; check by key */
    STORE_BUG_COUNT
} store_bug;

extern const char *const store_bug_names[STORE_BUG_COUNT];

enum {
    S_PUT,    /* box moved in; arg: store_arg (key, restricted) */
    S_GET,    /* result: store_result (a copy given to the caller, or inline bytes) */
    S_DELETE, /* arg: key */
    S_LEN,    /* result: store_result.length */
    S_WATCH,  /* arg: store_arg.watcher: an rref whose method 0 is lent each PUT */
    S_COUNT
};

enum { STORE_ITEMS = 16, STORE_ITEM_SIZE = 16 };

/* The store's answer for a key it does not hold. */
#define STORE_ENOTFOUND KEEL_ERANGE

typedef struct store_arg {
    uint32_t key;
    bool restricted;
    keel_rref watcher;
} store_arg;

typedef struct store_result {
    keel_box box;  /* S_GET: the caller's copy */
    size_t length; /* S_LEN */
    bool inline_data;
    unsigned char data[STORE_ITEM_SIZE];
} store_result;

typedef struct store_config {
    store_bug bug;
    uint32_t cleared[4]; /* domain ids of the clients cleared for secrets */
    unsigned cleared_count;
    keel_sink *debug; /* public debug sink (for STORE_BUG_DEBUG_LOG) */
} store_config;

/* Creates the store domain (clearance: every category) and its rref. */
keel_status store_create(const store_config *config, keel_domain **domain, keel_rref *rref);

#endif /* KEEL_TEST_IFC_STORE_H */
