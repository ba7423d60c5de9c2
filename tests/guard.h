/*
 * guard.h - place test input right before an unreadable page, so a parser
 * that reads one byte too far crashes instead of passing by luck
 * (the technique of picohttpparser's tests).
 */
#ifndef HOOKLINE_TESTS_GUARD_H
#define HOOKLINE_TESTS_GUARD_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct guarded {
    void *map;
    size_t map_len;
    char *data; /* the copy; data[len] is the first byte of the guard page */
} guarded;

static inline char *guard_copy(guarded *g, const void *src, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t body = (len + page - 1) / page * page;
    if (body == 0)
        body = page;
    g->map_len = body + page;
    g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED)
        abort();
    mprotect((char *)g->map + body, page, PROT_NONE);
    g->data = (char *)g->map + body - len;
    if (len)
        memcpy(g->data, src, len);
    return g->data;
}

static inline void guard_free(guarded *g)
{
    munmap(g->map, g->map_len);
}

#endif
