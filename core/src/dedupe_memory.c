/*
 * dedupe_memory.c - the in-memory seen-id store.
 *
 * A chained hash table (SipHash under a random key) finds an id in O(1);
 * a binary min-heap on expires_at finds the entry that expires soonest, which
 * is both the next one to reclaim and the one to evict when the store is
 * full. Each entry knows its heap slot so removal from the middle is
 * O(log n). Tables grow by doubling, so memory follows use, not capacity.
 */
#include "internal.h"
#include "siphash.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* Expired entries reclaimed per check_and_add: enough to outpace inserts
 * (each insert adds one) without making one call slow. */
#define RECLAIM_PER_CALL 4
#define INITIAL_SLOTS 64

typedef struct entry {
    struct entry *next; /* bucket chain */
    uint64_t hash;
    uint64_t expires_at;
    size_t heap_pos;
    size_t id_len;
    unsigned char id[];
} entry;

typedef struct memory_store {
    uint64_t key[2];
    size_t capacity;
    hl_seen_full_policy full;
    entry **buckets;
    size_t n_buckets; /* power of two */
    entry **heap;
    size_t heap_cap;
    size_t count;
    uint64_t expired;
    uint64_t evicted;
} memory_store;

/* ------------------------------------------------------------- heap */

static void heap_set(memory_store *m, size_t pos, entry *e)
{
    m->heap[pos] = e;
    e->heap_pos = pos;
}

static void sift_up(memory_store *m, size_t pos)
{
    entry *e = m->heap[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (m->heap[parent]->expires_at <= e->expires_at)
            break;
        heap_set(m, pos, m->heap[parent]);
        pos = parent;
    }
    heap_set(m, pos, e);
}

static void sift_down(memory_store *m, size_t pos)
{
    entry *e = m->heap[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= m->count)
            break;
        if (child + 1 < m->count && m->heap[child + 1]->expires_at < m->heap[child]->expires_at)
            child++;
        if (e->expires_at <= m->heap[child]->expires_at)
            break;
        heap_set(m, pos, m->heap[child]);
        pos = child;
    }
    heap_set(m, pos, e);
}

/* After an entry's expires_at changed in place. */
static void heap_fix(memory_store *m, size_t pos)
{
    if (pos > 0 && m->heap[(pos - 1) / 2]->expires_at > m->heap[pos]->expires_at)
        sift_up(m, pos);
    else
        sift_down(m, pos);
}

/* ------------------------------------------------------------- table */

static entry **bucket_of(memory_store *m, uint64_t hash)
{
    return &m->buckets[hash & (m->n_buckets - 1)];
}

static entry *find(memory_store *m, const void *id, size_t id_len, uint64_t hash)
{
    entry *e;
    for (e = *bucket_of(m, hash); e != NULL; e = e->next)
        if (e->hash == hash && e->id_len == id_len && memcmp(e->id, id, id_len) == 0)
            return e;
    return NULL;
}

/* Unlink from its bucket and the heap, and free. */
static void drop(memory_store *m, entry *e)
{
    entry **link = bucket_of(m, e->hash);
    size_t pos = e->heap_pos;

    while (*link != e)
        link = &(*link)->next;
    *link = e->next;

    m->count--;
    if (pos != m->count) {
        heap_set(m, pos, m->heap[m->count]);
        heap_fix(m, pos);
    }
    free(e);
}

/* Double the bucket array (load factor <= 1). Failure is not an error: the
 * chains just get longer. */
static void maybe_grow_buckets(memory_store *m)
{
    size_t n = m->n_buckets * 2, i;
    entry **b;

    if (m->count < m->n_buckets || n > m->capacity * 2 || n < m->n_buckets)
        return;
    if ((b = calloc(n, sizeof *b)) == NULL)
        return;
    for (i = 0; i < m->n_buckets; i++) {
        entry *e = m->buckets[i], *next;
        for (; e != NULL; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = n;
}

static hl_code reserve_heap(memory_store *m, hl_error *err)
{
    size_t cap;
    entry **h;

    if (m->count < m->heap_cap)
        return HL_OK;
    cap = m->heap_cap * 2;
    if (cap > m->capacity)
        cap = m->capacity;
    if ((h = realloc(m->heap, cap * sizeof *h)) == NULL)
        return hli_fail(err, HL_E_NOMEM, "out of memory growing the seen store");
    m->heap = h;
    m->heap_cap = cap;
    return HL_OK;
}

/* Reclaim up to `max` expired entries (0: all). */
static size_t reclaim(memory_store *m, uint64_t now_ms, size_t max)
{
    size_t n = 0;
    while (m->count > 0 && m->heap[0]->expires_at <= now_ms && (max == 0 || n < max)) {
        drop(m, m->heap[0]);
        m->expired++;
        n++;
    }
    return n;
}

static uint64_t expiry(uint64_t now_ms, uint64_t ttl_ms)
{
    return ttl_ms > UINT64_MAX - now_ms ? UINT64_MAX : now_ms + ttl_ms;
}

/* ------------------------------------------------------------- ops */

static hl_code mem_check_and_add(void *self, const void *id, size_t id_len, uint64_t now_ms,
                                 uint64_t ttl_ms, int *was_new, hl_error *err)
{
    memory_store *m = self;
    uint64_t hash = hli_siphash24(m->key, id, id_len);
    entry *e = find(m, id, id_len, hash);
    hl_code rc;

    if (e != NULL) {
        if (e->expires_at > now_ms) {
            *was_new = 0;
            return HL_OK;
        }
        /* Seen once but out of its window: a new delivery. */
        e->expires_at = expiry(now_ms, ttl_ms);
        heap_fix(m, e->heap_pos);
        m->expired++;
        reclaim(m, now_ms, RECLAIM_PER_CALL);
        *was_new = 1;
        return HL_OK;
    }

    reclaim(m, now_ms, RECLAIM_PER_CALL);
    if (m->count >= m->capacity) {
        if (m->full == HL_SEEN_FULL_REFUSE)
            return hli_fail(err, HL_E_STORE_FULL,
                            "seen store holds %zu live ids (its capacity); nothing was marked",
                            m->capacity);
        drop(m, m->heap[0]);
        m->evicted++;
    }
    if ((rc = reserve_heap(m, err)) != HL_OK)
        return rc;
    if ((e = malloc(sizeof *e + id_len)) == NULL)
        return hli_fail(err, HL_E_NOMEM, "out of memory adding to the seen store");
    e->hash = hash;
    e->expires_at = expiry(now_ms, ttl_ms);
    e->id_len = id_len;
    memcpy(e->id, id, id_len);
    e->next = *bucket_of(m, hash);
    *bucket_of(m, hash) = e;
    heap_set(m, m->count, e);
    m->count++;
    sift_up(m, e->heap_pos);
    maybe_grow_buckets(m);
    *was_new = 1;
    return HL_OK;
}

static hl_code mem_contains(void *self, const void *id, size_t id_len, uint64_t now_ms,
                            int *present, hl_error *err)
{
    memory_store *m = self;
    entry *e = find(m, id, id_len, hli_siphash24(m->key, id, id_len));
    (void)err;
    *present = e != NULL && e->expires_at > now_ms;
    return HL_OK;
}

static hl_code mem_remove(void *self, const void *id, size_t id_len, int *removed, hl_error *err)
{
    memory_store *m = self;
    entry *e = find(m, id, id_len, hli_siphash24(m->key, id, id_len));
    (void)err;
    *removed = e != NULL;
    if (e != NULL)
        drop(m, e);
    return HL_OK;
}

static hl_code mem_prune(void *self, uint64_t now_ms, size_t max, size_t *pruned, hl_error *err)
{
    (void)err;
    *pruned = reclaim(self, now_ms, max);
    return HL_OK;
}

static void mem_stats(const void *self, hl_seen_stats *out)
{
    const memory_store *m = self;
    out->live = m->count;
    out->expired = m->expired;
    out->evicted = m->evicted;
}

static void mem_close(void *self)
{
    memory_store *m = self;
    if (m == NULL)
        return;
    while (m->count > 0)
        drop(m, m->heap[m->count - 1]);
    free(m->buckets);
    free(m->heap);
    OPENSSL_cleanse(m->key, sizeof m->key);
    free(m);
}

static const hl_seen_store_ops MEMORY_OPS = {
    HL_SEEN_STORE_OPS_VERSION, "memory", mem_check_and_add, mem_contains, mem_remove,
    mem_prune,                 mem_stats, mem_close,
};

hl_code hl_seen_new(hl_seen **out, const hl_seen_options *opts, hl_error *err)
{
    static const hl_seen_options defaults = HL_SEEN_OPTIONS_INIT;
    memory_store *m;
    size_t first;

    if (out == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "out is NULL");
    if (opts == NULL)
        opts = &defaults;
    if (opts->version != HL_SEEN_OPTIONS_VERSION)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "hl_seen_options version %u (expected %d)",
                        opts->version, HL_SEEN_OPTIONS_VERSION);
    if (opts->capacity == 0 || opts->capacity > HL_SEEN_CAPACITY_MAX)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "capacity must be 1 to %zu",
                        HL_SEEN_CAPACITY_MAX);
    if (opts->default_ttl_ms == 0)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "default ttl must be > 0 ms");
    if ((unsigned)opts->full >= HL_SEEN_FULL__SENTINEL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "unknown full policy %d", (int)opts->full);

    if ((m = calloc(1, sizeof *m)) == NULL)
        return hli_fail(err, HL_E_NOMEM, "out of memory for the seen store");
    if (RAND_bytes((unsigned char *)m->key, sizeof m->key) != 1) {
        free(m);
        return hli_fail(err, HL_E_RANDOM, "no random bytes for the seen store's hash key");
    }
    m->capacity = opts->capacity;
    m->full = opts->full;
    first = opts->capacity < INITIAL_SLOTS ? opts->capacity : INITIAL_SLOTS;
    m->n_buckets = INITIAL_SLOTS;
    m->heap_cap = first;
    m->buckets = calloc(m->n_buckets, sizeof *m->buckets);
    m->heap = malloc(first * sizeof *m->heap);
    if (m->buckets == NULL || m->heap == NULL) {
        mem_close(m);
        return hli_fail(err, HL_E_NOMEM, "out of memory for the seen store");
    }
    return hl_seen_wrap(out, &MEMORY_OPS, m, opts->default_ttl_ms, err);
}
