/* engine_heap.c - the engine's timer heap: every timed thing (linger close,
 * retry time, deadline, endpoint wake-up) is one node, so the next deadline is
 * the top and nothing is ever found by scanning. */
#include "engine_util.h"

#include <stdlib.h>

void hli_timer_init(hli_timer *t, int kind)
{
    t->at = 0;
    t->seq = 0;
    t->idx = HLI_TIMER_IDLE;
    t->kind = kind;
}

static int before(const hli_timer *a, const hli_timer *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void place(hli_heap *h, size_t i, hli_timer *t)
{
    h->items[i] = t;
    t->idx = i;
}

static void sift_up(hli_heap *h, size_t i)
{
    hli_timer *t = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(t, h->items[parent]))
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(hli_heap *h, size_t i)
{
    hli_timer *t = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && before(h->items[child + 1], h->items[child]))
            child++;
        if (!before(h->items[child], t))
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, t);
}

int hli_heap_arm(hli_heap *h, hli_timer *t, uint64_t at)
{
    if (t->idx != HLI_TIMER_IDLE)
        hli_heap_disarm(h, t);
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        hli_timer **items = realloc(h->items, cap * sizeof *items);
        if (!items)
            return -1;
        h->items = items;
        h->cap = cap;
    }
    t->at = at;
    t->seq = h->next_seq++;
    place(h, h->len++, t);
    sift_up(h, t->idx);
    return 0;
}

void hli_heap_disarm(hli_heap *h, hli_timer *t)
{
    size_t i = t->idx;
    if (i == HLI_TIMER_IDLE)
        return;
    t->idx = HLI_TIMER_IDLE;
    h->len--;
    if (i == h->len)
        return;
    place(h, i, h->items[h->len]);
    /* The moved node may belong above or below its new place. */
    if (i > 0 && before(h->items[i], h->items[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

hli_timer *hli_heap_top(const hli_heap *h)
{
    return h->len ? h->items[0] : NULL;
}

void hli_heap_free(hli_heap *h)
{
    free(h->items);
    h->items = NULL;
    h->len = h->cap = 0;
}
