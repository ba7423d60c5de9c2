/* engine_log.c - the attempt log: a ring buffer of records, oldest first,
 * pruned by age (and optionally count) so it stays bounded. */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>

static hli_attempt *slot(hl_engine *e, size_t i)
{
    return &e->log[(e->log_head + i) % e->log_cap];
}

static void drop_oldest(hl_engine *e)
{
    hli_attempt *a = slot(e, 0);
    free(a->endpoint_id);
    free(a->excerpt);
    e->log_head = (e->log_head + 1) % e->log_cap;
    e->log_len--;
}

int hli_log_append(hl_engine *e, const hli_attempt *rec)
{
    if (e->opts.max_attempt_records && e->log_len >= e->opts.max_attempt_records)
        drop_oldest(e);
    if (e->log_len == e->log_cap) {
        size_t cap = e->log_cap ? e->log_cap * 2 : 256;
        hli_attempt *log = malloc(cap * sizeof *log);
        if (!log)
            return -1;
        for (size_t i = 0; i < e->log_len; i++)
            log[i] = *slot(e, i);
        free(e->log);
        e->log = log;
        e->log_cap = cap;
        e->log_head = 0;
    }
    *slot(e, e->log_len) = *rec;
    e->log_len++;
    return 0;
}

void hli_log_prune(hl_engine *e, uint64_t now)
{
    uint64_t keep = e->opts.attempt_retention_ms;
    while (e->log_len && slot(e, 0)->at_ms + keep < now)
        drop_oldest(e);
}

void hli_log_free(hl_engine *e)
{
    while (e->log_len)
        drop_oldest(e);
    free(e->log);
    e->log = NULL;
    e->log_cap = 0;
}

void hli_attempt_public(const hli_attempt *a, hl_attempt_record *out)
{
    out->batch_id = a->batch_id;
    out->endpoint_id = a->endpoint_id;
    out->attempt = a->attempt;
    out->at_ms = a->at_ms;
    out->sent_ms = a->sent_ms;
    out->status = a->status;
    out->failure = a->failure;
    out->delivered = a->delivered;
    out->latency_ms = a->latency_ms;
    out->excerpt = a->excerpt ? a->excerpt : "";
    out->excerpt_len = a->excerpt_len;
}

size_t hl_engine_attempt_count(hl_engine *engine)
{
    return engine ? engine->log_len : 0;
}

hl_code hl_engine_attempt_at(hl_engine *engine, size_t index, hl_attempt_record *out,
                             hl_error *err)
{
    if (!engine || !out || index >= engine->log_len)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "attempt index out of range");
    hli_attempt_public(slot(engine, index), out);
    return HL_OK;
}
