/* dedupe.c - the hl_seen handle: argument checks and dispatch to a backend,
 * so every backend sees the same validated inputs. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct hl_seen {
    const hl_seen_store_ops *ops;
    void *self;
    uint64_t default_ttl_ms;
    uint64_t added;
    uint64_t duplicates;
};

hl_code hl_seen_wrap(hl_seen **out, const hl_seen_store_ops *ops, void *self,
                     uint64_t default_ttl_ms, hl_error *err)
{
    hl_seen *seen;

    if (ops == NULL || ops->version != HL_SEEN_STORE_OPS_VERSION || ops->check_and_add == NULL ||
        ops->contains == NULL || ops->remove == NULL || ops->prune == NULL ||
        ops->close == NULL) {
        /* We cannot know how to free `self` without a close: leak rather
         * than guess. With a close, honour the ownership promise. */
        if (ops != NULL && ops->close != NULL && self != NULL)
            ops->close(self);
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "seen store ops incomplete or wrong version");
    }
    if (out == NULL || default_ttl_ms == 0) {
        ops->close(self);
        return hli_fail(err, HL_E_INVALID_ARGUMENT,
                        out == NULL ? "out is NULL" : "default ttl must be > 0 ms");
    }
    if ((seen = calloc(1, sizeof *seen)) == NULL) {
        ops->close(self);
        return hli_fail(err, HL_E_NOMEM, "out of memory for the seen store handle");
    }
    seen->ops = ops;
    seen->self = self;
    seen->default_ttl_ms = default_ttl_ms;
    *out = seen;
    return HL_OK;
}

static hl_code check_id(const hl_seen *seen, const void *id, size_t id_len, hl_error *err)
{
    if (seen == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "seen store is NULL");
    if (id == NULL || id_len == 0)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "id is empty");
    if (id_len > HL_SEEN_ID_MAX)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "id is %zu bytes, longer than %d", id_len,
                        HL_SEEN_ID_MAX);
    return HL_OK;
}

hl_code hl_seen_check_and_add(hl_seen *seen, const void *id, size_t id_len, uint64_t now_ms,
                              uint64_t ttl_ms, int *was_new, hl_error *err)
{
    int fresh = 0;
    hl_code rc = check_id(seen, id, id_len, err);

    if (rc != HL_OK)
        return rc;
    if (was_new == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "was_new is NULL");
    rc = seen->ops->check_and_add(seen->self, id, id_len, now_ms,
                                  ttl_ms ? ttl_ms : seen->default_ttl_ms, &fresh, err);
    if (rc != HL_OK)
        return rc;
    if (fresh)
        seen->added++;
    else
        seen->duplicates++;
    *was_new = fresh;
    return HL_OK;
}

hl_code hl_seen_contains(hl_seen *seen, const void *id, size_t id_len, uint64_t now_ms,
                         int *present, hl_error *err)
{
    int found = 0;
    hl_code rc = check_id(seen, id, id_len, err);

    if (rc != HL_OK)
        return rc;
    if (present == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "present is NULL");
    if ((rc = seen->ops->contains(seen->self, id, id_len, now_ms, &found, err)) != HL_OK)
        return rc;
    *present = found;
    return HL_OK;
}

hl_code hl_seen_remove(hl_seen *seen, const void *id, size_t id_len, int *removed,
                       hl_error *err)
{
    int gone = 0;
    hl_code rc = check_id(seen, id, id_len, err);

    if (rc != HL_OK)
        return rc;
    if ((rc = seen->ops->remove(seen->self, id, id_len, &gone, err)) != HL_OK)
        return rc;
    if (removed != NULL)
        *removed = gone;
    return HL_OK;
}

hl_code hl_seen_prune(hl_seen *seen, uint64_t now_ms, size_t max, size_t *pruned, hl_error *err)
{
    size_t n = 0;
    hl_code rc;

    if (seen == NULL)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "seen store is NULL");
    if ((rc = seen->ops->prune(seen->self, now_ms, max, &n, err)) != HL_OK)
        return rc;
    if (pruned != NULL)
        *pruned = n;
    return HL_OK;
}

void hl_seen_stats_get(const hl_seen *seen, hl_seen_stats *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof *out);
    if (seen == NULL)
        return;
    if (seen->ops->stats != NULL)
        seen->ops->stats(seen->self, out);
    out->added = seen->added;
    out->duplicates = seen->duplicates;
}

const char *hl_seen_backend_name(const hl_seen *seen)
{
    if (seen == NULL || seen->ops->name == NULL)
        return "unknown";
    return seen->ops->name;
}

void hl_seen_free(hl_seen *seen)
{
    if (seen == NULL)
        return;
    seen->ops->close(seen->self);
    free(seen);
}
