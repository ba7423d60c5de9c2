/*
 * hookline/dedupe.h - the receiver's seen-id store: "have I processed this
 * event id / batch id / webhook-id already?", with expiry.
 *
 * Senders retry (SparkPost/Bird for 8 hours, hookline's engine likewise), so
 * a receiver sees the same batch or event more than once. It drops the
 * repeats by asking, atomically, "was this id new? then mark it seen":
 *
 *     int was_new;
 *     if (hl_seen_check_and_add(seen, id, id_len, now_ms, 0, &was_new, &err) != HL_OK)
 *         answer 503;                     // could not decide: let the sender retry
 *     else if (!was_new)
 *         answer 200 and skip the work;   // a duplicate
 *     else if (handle(event) fails) {
 *         hl_seen_remove(seen, id, id_len, NULL, NULL);  // let the retry through
 *         answer 500;
 *     }
 *
 * An hl_seen is one handle over a backend. hl_seen_new() makes the in-memory
 * one (this file's core implementation, sans-IO: time is always an argument,
 * milliseconds since the Unix epoch); drivers add durable ones behind the
 * same calls (drivers/sqlite: hookline/seen_sqlite.h). A backend of your own
 * plugs in through hl_seen_store_ops and hl_seen_wrap().
 *
 * Ids are byte ranges (not NUL-terminated; any bytes) of 1 to HL_SEEN_ID_MAX
 * bytes. An id is "seen" from the call that added it until its expiry
 * (now + ttl at that call); a check after expiry treats it as new again.
 * Expiry is not extended by later sightings: the dedupe window runs from the
 * first delivery, the way a sender's retry window does.
 *
 * Threads: an hl_seen may be used by one thread at a time.
 */
#ifndef HOOKLINE_DEDUPE_H
#define HOOKLINE_DEDUPE_H

#include "hookline/common.h"
#include "hookline/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest id, in bytes. Matches HL_ID_MAX - 1 of signature.h so any id the
 * verifier reports fits. Longer ids are refused (HL_E_INVALID_ARGUMENT). */
#define HL_SEEN_ID_MAX 255
/* Defaults: 24 h window (SparkPost/Bird retry for 8 h, batch status lives
 * 24 h) and room for one million ids in memory. */
#define HL_SEEN_DEFAULT_TTL_MS (24u * 3600u * 1000u)
#define HL_SEEN_DEFAULT_CAPACITY ((size_t)1000000)
/* Largest capacity the in-memory store accepts. */
#define HL_SEEN_CAPACITY_MAX ((size_t)1 << 30)

/*
 * What to do when the in-memory store holds `capacity` live ids and a new
 * one arrives (expired ids are always reclaimed first, so this only happens
 * when every entry is still inside its window).
 *
 * HL_SEEN_FULL_REFUSE        (default) fail with HL_E_STORE_FULL and keep
 *                            every live id. The receiver answers 503, the
 *                            sender retries later, and no duplicate can slip
 *                            through: the store fails closed.
 * HL_SEEN_FULL_EVICT_SOONEST forget the live id closest to its expiry (the
 *                            one least likely to be retried again) and
 *                            accept the new one. Never silent: each eviction
 *                            is counted (hl_seen_stats.evicted). Choose it
 *                            when availability matters more than exactly-once.
 */
typedef enum hl_seen_full_policy {
    HL_SEEN_FULL_REFUSE = 0,
    HL_SEEN_FULL_EVICT_SOONEST = 1,
    HL_SEEN_FULL__SENTINEL
} hl_seen_full_policy;

#define HL_SEEN_OPTIONS_VERSION 1

typedef struct hl_seen_options {
    unsigned int version;        /* HL_SEEN_OPTIONS_VERSION */
    size_t capacity;             /* most live ids held (memory store); 1..HL_SEEN_CAPACITY_MAX */
    uint64_t default_ttl_ms;     /* window used when a call passes ttl_ms == 0; > 0 */
    hl_seen_full_policy full;    /* see hl_seen_full_policy */
} hl_seen_options;

#define HL_SEEN_OPTIONS_INIT                                                                     \
    {HL_SEEN_OPTIONS_VERSION, HL_SEEN_DEFAULT_CAPACITY, HL_SEEN_DEFAULT_TTL_MS,                \
     HL_SEEN_FULL_REFUSE}

/* Counters since the store was opened (per handle). */
typedef struct hl_seen_stats {
    uint64_t live;      /* ids currently held (memory: exact; other backends: 0 if unknown) */
    uint64_t added;     /* check_and_add calls that answered "new" */
    uint64_t duplicates;/* check_and_add calls that answered "seen" */
    uint64_t expired;   /* entries reclaimed after their expiry */
    uint64_t evicted;   /* live entries dropped under HL_SEEN_FULL_EVICT_SOONEST */
} hl_seen_stats;

typedef struct hl_seen hl_seen;

/*
 * hl_seen_new - a new, empty in-memory seen-id store.
 *
 * out   receives the store (caller-owned: hl_seen_free); untouched on failure.
 * opts  NULL for HL_SEEN_OPTIONS_INIT. Memory grows with use up to about
 *       capacity * (64 + average id length) bytes.
 * Errors: HL_E_INVALID_ARGUMENT (bad version, capacity 0 or too large,
 * default_ttl_ms 0, unknown policy), HL_E_NOMEM, HL_E_RANDOM (the hash key
 * comes from the OS CSPRNG so that chosen ids cannot degrade the table).
 */
HL_API hl_code hl_seen_new(hl_seen **out, const hl_seen_options *opts, hl_error *err);

/*
 * hl_seen_check_and_add - atomically: was `id` unseen (or expired)? If so,
 * mark it seen until now_ms + ttl_ms.
 *
 * id, id_len  1..HL_SEEN_ID_MAX bytes, not retained.
 * now_ms      the caller's clock, milliseconds.
 * ttl_ms      the window for this id; 0 means the store's default.
 * was_new     set to 1 when the id was added (process the event), 0 when
 *             it was already seen and live (drop the duplicate). Written
 *             only on HL_OK.
 * Expired entries are reclaimed a few at a time on each call (O(1)
 * amortised; no call does unbounded work).
 * Errors: HL_E_INVALID_ARGUMENT, HL_E_STORE_FULL (memory store, refuse
 * policy), HL_E_NOMEM, and the backend's storage errors (400-499). On any
 * error nothing was marked: answer so that the sender retries.
 */
HL_API HL_WARN_UNUSED hl_code hl_seen_check_and_add(hl_seen *seen, const void *id, size_t id_len,
                                                    uint64_t now_ms, uint64_t ttl_ms,
                                                    int *was_new, hl_error *err);

/*
 * hl_seen_contains - is `id` seen and not expired at now_ms? Sets *present
 * to 1 or 0 (only on HL_OK). Does not add anything.
 */
HL_API HL_WARN_UNUSED hl_code hl_seen_contains(hl_seen *seen, const void *id, size_t id_len,
                                               uint64_t now_ms, int *present, hl_error *err);

/*
 * hl_seen_remove - forget `id`, so that the next delivery of it is treated as
 * new: what a receiver does when its handler failed after check_and_add and
 * the sender's retry must be processed. `removed` (may be NULL) is set to 1
 * when the id was held (live or expired), else 0. Removing an absent id is
 * not an error.
 */
HL_API hl_code hl_seen_remove(hl_seen *seen, const void *id, size_t id_len, int *removed,
                              hl_error *err);

/*
 * hl_seen_prune - reclaim up to `max` expired entries now (0: all of them).
 * `pruned` (may be NULL) receives how many. Stores also prune on their own;
 * this is for a quiet moment or a test.
 */
HL_API hl_code hl_seen_prune(hl_seen *seen, uint64_t now_ms, size_t max, size_t *pruned,
                             hl_error *err);

/* hl_seen_stats_get - copy the handle's counters into *out. */
HL_API void hl_seen_stats_get(const hl_seen *seen, hl_seen_stats *out);

/* hl_seen_free - close the backend and free. NULL does nothing. */
HL_API void hl_seen_free(hl_seen *seen);

/* --------------------------------------------------- backend interface */

/*
 * A backend implements these over its own state (`self`). hl_seen_* check
 * every argument (id length, NULL pointers) and fill the ttl default before
 * calling, so a backend sees 1..HL_SEEN_ID_MAX byte ids, ttl_ms > 0 and
 * non-NULL out pointers. Each returns HL_OK or fills `err` via its message.
 * `check_and_add` must be atomic with respect to every other handle that
 * shares the backend's storage (a database transaction, a lock).
 * `stats` may be NULL (then the handle's own counters are reported).
 */
#define HL_SEEN_STORE_OPS_VERSION 1

typedef struct hl_seen_store_ops {
    unsigned int version; /* HL_SEEN_STORE_OPS_VERSION */
    const char *name;     /* "memory", "sqlite", ... */
    hl_code (*check_and_add)(void *self, const void *id, size_t id_len, uint64_t now_ms,
                             uint64_t ttl_ms, int *was_new, hl_error *err);
    hl_code (*contains)(void *self, const void *id, size_t id_len, uint64_t now_ms,
                        int *present, hl_error *err);
    hl_code (*remove)(void *self, const void *id, size_t id_len, int *removed, hl_error *err);
    hl_code (*prune)(void *self, uint64_t now_ms, size_t max, size_t *pruned, hl_error *err);
    void (*stats)(const void *self, hl_seen_stats *out);
    void (*close)(void *self); /* frees `self` */
} hl_seen_store_ops;

/*
 * hl_seen_wrap - make an hl_seen over a backend. `ops` is borrowed (static
 * in practice) and must outlive the handle; `self` is owned by the handle
 * from now on, even on failure (ops->close(self) is then called).
 * default_ttl_ms: the window used when a call passes 0 (must be > 0).
 * Errors: HL_E_INVALID_ARGUMENT, HL_E_NOMEM.
 */
HL_API hl_code hl_seen_wrap(hl_seen **out, const hl_seen_store_ops *ops, void *self,
                            uint64_t default_ttl_ms, hl_error *err);

/* hl_seen_backend_name - the backend's name ("memory", "sqlite", ...). */
HL_API const char *hl_seen_backend_name(const hl_seen *seen);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_DEDUPE_H */
