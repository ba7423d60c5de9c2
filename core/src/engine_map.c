/* engine_map.c - open-addressing string map (batch ids, endpoint ids,
 * ordering keys, filter patterns). Linear probing, tombstones, power-of-two
 * capacity; keys live inside the values so the map stores pointers only. */
#include "engine_util.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY 0
#define TOMBSTONE 1

static uint64_t hash_key(const char *key)
{
    /* FNV-1a, then a splitmix finaliser so the low bits (the slot) are good. */
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h < 2 ? h + 2 : h; /* 0 and 1 are reserved */
}

static hli_map_slot *find(const hli_map *m, const char *key, uint64_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
        hli_map_slot *s = &m->slots[i];
        if (s->hash == EMPTY)
            return NULL;
        if (s->hash == h && strcmp(s->key, key) == 0)
            return s;
    }
    return NULL;
}

void *hli_map_get(const hli_map *m, const char *key)
{
    hli_map_slot *s = find(m, key, hash_key(key));
    return s ? s->value : NULL;
}

static void insert_slot(hli_map *m, uint64_t h, const char *key, void *value)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    while (m->slots[i].hash > TOMBSTONE)
        i = (i + 1) & mask;
    if (m->slots[i].hash == EMPTY)
        m->used++;
    m->slots[i].hash = h;
    m->slots[i].key = key;
    m->slots[i].value = value;
    m->len++;
}

static int grow(hli_map *m)
{
    size_t cap = m->cap ? m->cap : 16;
    /* Double only when live entries need it; otherwise rehash in place size
     * to clear tombstones. */
    while ((m->len + 1) * 2 > cap)
        cap *= 2;
    hli_map_slot *old = m->slots;
    size_t old_cap = m->cap;
    hli_map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    m->slots = slots;
    m->cap = cap;
    m->len = m->used = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].hash > TOMBSTONE)
            insert_slot(m, old[i].hash, old[i].key, old[i].value);
    free(old);
    return 0;
}

int hli_map_put(hli_map *m, const char *key, void *value)
{
    if ((m->used + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    insert_slot(m, hash_key(key), key, value);
    return 0;
}

void *hli_map_del(hli_map *m, const char *key)
{
    hli_map_slot *s = find(m, key, hash_key(key));
    if (!s)
        return NULL;
    void *v = s->value;
    s->hash = TOMBSTONE;
    s->key = NULL;
    s->value = NULL;
    m->len--;
    return v;
}

void hli_map_free(hli_map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

/* ---- list */

void hli_list_init(hli_link *head)
{
    head->prev = head->next = head;
}

int hli_list_empty(const hli_link *head)
{
    return head->next == head;
}

int hli_link_linked(const hli_link *l)
{
    return l->next != NULL;
}

void hli_list_push_back(hli_link *head, hli_link *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

void hli_list_remove(hli_link *l)
{
    if (!l->next)
        return;
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = NULL;
}

hli_link *hli_list_first(const hli_link *head)
{
    return head->next == head ? NULL : head->next;
}

/* ---- RNG */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void hli_rng_seed(hli_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t hli_rng_next(hli_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t hli_rng_below(hli_rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = hli_rng_next(r);
    while (x >= limit);
    return x % n;
}

void hli_rng_id(hli_rng *r, const char *prefix, char *buf)
{
    static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";
    size_t n = strlen(prefix);
    memcpy(buf, prefix, n);
    uint64_t a = hli_rng_next(r), b = hli_rng_next(r);
    for (int i = 0; i < 26; i++) {
        uint64_t *w = i < 13 ? &a : &b;
        buf[n + (size_t)i] = B32[*w & 31];
        *w >>= 5;
    }
    buf[n + 26] = '\0';
}
