/*
 * changes.h - a count of changes to some shared state, for memos that answer
 * a check without redoing it. Not installed.
 *
 * Writers bracket every change with changes_begin and changes_end; `begun`
 * counts the changes begun, `ended` those finished. A reader that memoizes a
 * check reads changes_snapshot before the check's reads and changes_valid
 * after them; if both agree, the memo may be tagged with the snapshot, and it
 * stays good for as long as changes_epoch still reads that tag. Two users:
 * the label epoch (ifc/internal.h) and the rref epoch (domain/internal.h).
 *
 * Why a memo filled at epoch e is sound. If `ended` read e and then `begun`
 * read e, the e changes counted in `ended` are exactly the first e begun (a
 * writer's end follows its begin, and the acquire on `ended` makes the begin
 * of any writer it counts visible to the later read of `begun`), and their
 * writes are visible to this thread (the acquire synchronizes with each
 * writer's release end). The state read afterwards is those changes' result
 * unless a later writer's store was read, and then changes_valid's second
 * read of `begun` sees that writer's begin: its stores follow a release fence
 * after its begin, and the reader's loads are acquires or are followed by an
 * acquire fence before changes_valid. So the memo's verdict is the check's
 * verdict on the state exactly as the first e changes left it. Using it later
 * while `begun` still reads e is then the same as re-reading that state: no
 * change has begun that this thread has seen, and any value it has seen from
 * a later change (directly or through any synchronization) carries that
 * writer's begin with it.
 *
 * The counters start at 1 and are never reset, so an epoch never repeats and
 * a memo tagged 0 is empty.
 */
#ifndef KEEL_CORE_CHANGES_H
#define KEEL_CORE_CHANGES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct changes {
    _Atomic uint64_t begun; /* changes begun: the epoch */
    _Atomic uint64_t ended; /* ... and ended */
} changes;

#define CHANGES_INIT {.begun = 1, .ended = 1}

static inline void changes_begin(changes *c) {
    atomic_fetch_add_explicit(&c->begun, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release); /* before the change's stores */
}

static inline void changes_end(changes *c) {
    atomic_fetch_add_explicit(&c->ended, 1, memory_order_release);
}

/* Before the check's reads: `ended` first, then `begun`, both acquire. 0
 * (never an epoch) while a change is in flight. */
static inline uint64_t changes_snapshot(changes *c) {
    uint64_t ended = atomic_load_explicit(&c->ended, memory_order_acquire);
    uint64_t begun = atomic_load_explicit(&c->begun, memory_order_acquire);
    return ended == begun ? begun : 0;
}

/* After the check's reads (acquire loads, or an acquire fence, which keep
 * this load after them): may the memo be tagged with `epoch`? */
static inline bool changes_valid(changes *c, uint64_t epoch) {
    return epoch != 0 && atomic_load_explicit(&c->begun, memory_order_relaxed) == epoch;
}

/* The current epoch, for a memo's lookup (relaxed: coherence is enough). */
static inline uint64_t changes_epoch(changes *c) {
    return atomic_load_explicit(&c->begun, memory_order_relaxed);
}

#endif /* KEEL_CORE_CHANGES_H */
