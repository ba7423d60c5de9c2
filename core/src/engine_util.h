/*
 * engine_util.h - the engine's small data structures: a timer heap, a
 * string-keyed hash map, an intrusive doubly linked list and a seedable RNG.
 * Internal (hli_ prefix), not exported.
 */
#ifndef HOOKLINE_ENGINE_UTIL_H
#define HOOKLINE_ENGINE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define HLI_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* ---- timer heap: binary min-heap on (at, seq), O(log n) push/pop/remove. */

typedef struct hli_timer {
    uint64_t at;  /* when it fires (ms) */
    uint64_t seq; /* tie-break: equal times fire in the order they were armed */
    size_t idx;   /* position in the heap, HLI_TIMER_IDLE when not armed */
    int kind;     /* owner's tag: which struct embeds it */
} hli_timer;

#define HLI_TIMER_IDLE ((size_t)-1)

typedef struct hli_heap {
    hli_timer **items;
    size_t len, cap;
    uint64_t next_seq;
} hli_heap;

void hli_timer_init(hli_timer *t, int kind);
/* Arm (or re-arm) `t` to fire at `at`. Returns 0, or -1 on allocation failure. */
int hli_heap_arm(hli_heap *h, hli_timer *t, uint64_t at);
void hli_heap_disarm(hli_heap *h, hli_timer *t);
/* The earliest timer, or NULL. */
hli_timer *hli_heap_top(const hli_heap *h);
void hli_heap_free(hli_heap *h);

/* ---- hash map: string key -> pointer; keys are owned by the values. */

typedef struct hli_map_slot {
    uint64_t hash; /* 0 = empty, 1 = tombstone */
    const char *key;
    void *value;
} hli_map_slot;

typedef struct hli_map {
    hli_map_slot *slots;
    size_t cap, len, used; /* used = len + tombstones */
} hli_map;

void *hli_map_get(const hli_map *m, const char *key);
/* Insert (key must not be present). Returns 0, or -1 on allocation failure. */
int hli_map_put(hli_map *m, const char *key, void *value);
void *hli_map_del(hli_map *m, const char *key);
void hli_map_free(hli_map *m);

/* ---- intrusive doubly linked list (circular, with a head node). */

typedef struct hli_link {
    struct hli_link *prev, *next;
} hli_link;

void hli_list_init(hli_link *head);
int hli_list_empty(const hli_link *head);
int hli_link_linked(const hli_link *l); /* 1 when in a list */
void hli_list_push_back(hli_link *head, hli_link *l);
void hli_list_remove(hli_link *l); /* no-op when not linked */
hli_link *hli_list_first(const hli_link *head); /* NULL when empty */

/* ---- RNG: xoshiro256** seeded through splitmix64; deterministic. */

typedef struct hli_rng {
    uint64_t s[4];
} hli_rng;

void hli_rng_seed(hli_rng *r, uint64_t seed);
uint64_t hli_rng_next(hli_rng *r);
/* Uniform in [0, n) for n >= 1 (rejection sampling, no modulo bias). */
uint64_t hli_rng_below(hli_rng *r, uint64_t n);
/* Write "<prefix><26 base32 chars>" (130 bits) NUL-terminated into buf
 * (needs strlen(prefix) + 27 bytes). */
void hli_rng_id(hli_rng *r, const char *prefix, char *buf);

#endif /* HOOKLINE_ENGINE_UTIL_H */
