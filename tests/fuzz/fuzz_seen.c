/* fuzz_seen.c - the in-memory seen-id store driven by arbitrary operation
 * sequences and checked against a naive model after every step: the answer
 * of each call, the full policy (refuse only when every entry is live; evict
 * exactly the soonest-expiring live id) and the live count.
 *
 * Input: byte 0 picks the policy and capacity; then 3 bytes per operation:
 * op/id (op in the low 2 bits, id index above), clock advance, ttl. */
#include "hookline.h"

#include <stdio.h>
#include <string.h>

#define IDS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hl_seen_options o = HL_SEEN_OPTIONS_INIT;
    uint64_t expires[IDS] = {0}; /* model: 0 = absent */
    uint64_t now = 1;
    hl_seen *s = NULL;
    hl_seen_stats st;
    size_t i;

    if (size < 1)
        return 0;
    o.full = (data[0] & 1) ? HL_SEEN_FULL_EVICT_SOONEST : HL_SEEN_FULL_REFUSE;
    o.capacity = 1 + (data[0] >> 1) % 12;
    o.default_ttl_ms = 50;
    if (hl_seen_new(&s, &o, NULL) != HL_OK)
        return 0;

    for (i = 1; i + 3 <= size; i += 3) {
        unsigned op = data[i] & 3, k = (unsigned)(data[i] >> 2) % IDS;
        uint64_t ttl = data[i + 2]; /* 0 = the default */
        char id[8];
        int v = -1, live = 0;
        size_t n = (size_t)snprintf(id, sizeof id, "id%u", k), j;
        hl_code rc;

        now += data[i + 1];
        for (j = 0; j < IDS; j++)
            live += expires[j] > now;

        switch (op) {
        case 0:
        case 1:
            rc = hl_seen_check_and_add(s, id, n, now, ttl, &v, NULL);
            if (expires[k] > now) {
                check(rc == HL_OK && v == 0);
            } else if ((size_t)live < o.capacity) {
                check(rc == HL_OK && v == 1);
                expires[k] = now + (ttl ? ttl : o.default_ttl_ms);
            } else if (o.full == HL_SEEN_FULL_REFUSE) {
                check(rc == HL_E_STORE_FULL);
            } else {
                /* The victim is a live id with the smallest expiry. */
                uint64_t soonest = UINT64_MAX;
                int gone = 0;
                check(rc == HL_OK && v == 1);
                for (j = 0; j < IDS; j++)
                    if (expires[j] > now && expires[j] < soonest && j != k)
                        soonest = expires[j];
                for (j = 0; j < IDS; j++) {
                    char other[8];
                    size_t m = (size_t)snprintf(other, sizeof other, "id%u", (unsigned)j);
                    int present = -1;
                    if (j == k || expires[j] <= now)
                        continue;
                    check(hl_seen_contains(s, other, m, now, &present, NULL) == HL_OK);
                    if (!present) {
                        check(expires[j] == soonest);
                        expires[j] = 0;
                        gone++;
                    }
                }
                check(gone == 1);
                expires[k] = now + (ttl ? ttl : o.default_ttl_ms);
            }
            break;
        case 2:
            check(hl_seen_contains(s, id, n, now, &v, NULL) == HL_OK);
            check(v == (expires[k] > now));
            break;
        default:
            check(hl_seen_remove(s, id, n, &v, NULL) == HL_OK);
            expires[k] = 0;
            break;
        }
        hl_seen_stats_get(s, &st);
        check(st.live <= o.capacity);
    }
    hl_seen_free(s);
    return 0;
}
