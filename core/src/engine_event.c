/* engine_event.c - the event model: the catalogue of known types, filter patterns,
 * validation and the one serialisation every endpoint's batch starts from. */
#include "engine_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CATALOGUE[] = {
    "email.inbound.received",
    "email.outbound.sent",
    "email.outbound.failed",
    "email.outbound.opened",
    "email.outbound.clicked",
    "email.outbound.scheduled",
    "email.outbound.cancelled",
    "email.outbound.delivered",
    "email.outbound.bounced",
    "email.outbound.complained",
    "domain.verified",
    "domain.failed",
    "webhook.test",
    /* SparkPost / Bird */
    "injection",
    "delivery",
    "delay",
    "bounce",
    "spam_complaint",
    "out_of_band",
    "policy_rejection",
    "generation_failure",
    "generation_rejection",
    "open",
    "initial_open",
    "click",
    "initial_click",
    "amp_click",
    "amp_open",
};

#define N_CATALOGUE (sizeof CATALOGUE / sizeof CATALOGUE[0])

size_t hl_event_type_count(void)
{
    return N_CATALOGUE;
}

const char *hl_event_type_at(size_t index)
{
    return index < N_CATALOGUE ? CATALOGUE[index] : NULL;
}

int hl_event_type_known(const char *type)
{
    if (!type)
        return 0;
    for (size_t i = 0; i < N_CATALOGUE; i++)
        if (strcmp(CATALOGUE[i], type) == 0)
            return 1;
    return 0;
}

int hl_event_filter_match(const char *pattern, const char *type)
{
    if (!pattern || !type)
        return 0;
    size_t n = strlen(pattern);
    if (n == 1 && pattern[0] == '*')
        return 1;
    if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '.')
        return strncmp(pattern, type, n - 1) == 0;
    return strcmp(pattern, type) == 0;
}

int hli_name_valid(const char *s, int allow_star)
{
    size_t n = 0;
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++, n++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '.' || ch == '_' || ch == '-' || ch == ':' || (allow_star && ch == '*');
        if (!ok || n + 1 >= HL_ENGINE_ID_MAX)
            return 0;
    }
    return 1;
}

void hli_format_rfc3339(uint64_t ms, char out[32])
{
    /* civil_from_days (Hinnant), so no gmtime and no locale. */
    int64_t days = (int64_t)(ms / 86400000u);
    uint64_t rem = ms % 86400000u;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d,
             (int)(rem / 3600000u), (int)(rem / 60000u % 60), (int)(rem / 1000u % 60),
             (int)(rem % 1000u));
}

hl_code hli_event_serialize(hl_engine *e, const hl_event *ev, uint64_t now_ms, char *id_buf,
                            char **out, size_t *out_len, hl_error *err)
{
    if (!ev || !ev->type)
        return hli_fail(err, HL_E_EVENT_INVALID, "event type is required");
    if (!hli_name_valid(ev->type, 0))
        return hli_fail(err, HL_E_EVENT_INVALID,
                        "event type must be 1-%d characters of [A-Za-z0-9._:-]",
                        HL_ENGINE_ID_MAX - 1);
    if (ev->id && *ev->id) {
        size_t n = strlen(ev->id);
        if (n >= HL_ENGINE_ID_MAX)
            return hli_fail(err, HL_E_EVENT_INVALID, "event id longer than %d bytes",
                            HL_ENGINE_ID_MAX - 1);
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)ev->id[i] < 0x21 || (unsigned char)ev->id[i] > 0x7e)
                return hli_fail(err, HL_E_EVENT_INVALID,
                                "event id must be printable ASCII without spaces");
        memcpy(id_buf, ev->id, n + 1);
    } else {
        hli_rng_id(&e->id_rng, "evt_", id_buf);
    }
    if (ev->ordering_key && strlen(ev->ordering_key) >= HL_ENGINE_ID_MAX)
        return hli_fail(err, HL_E_EVENT_INVALID, "ordering key longer than %d bytes",
                        HL_ENGINE_ID_MAX - 1);

    /* The data is parsed (that is the validation) and written back compact;
     * the envelope around it is plain text: its fields are known-safe
     * (type charset, generated timestamp) or escaped here (id). */
    char *data_txt = NULL;
    const char *data_src = NULL; /* the bytes that go after "data": (NULL: null) */
    size_t data_len = 4;
    if (ev->data && ev->data_len && hli_json_is_compact_canonical(ev->data, ev->data_len)) {
        /* already what the round trip below would print: take it as it is */
        data_src = ev->data;
        data_len = ev->data_len;
    } else if (ev->data && ev->data_len) {
        json_error_t jerr;
        json_t *data =
            json_loadb(ev->data, ev->data_len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        if (!data)
            return hli_fail(err, HL_E_EVENT_INVALID, "event data is not JSON: %s (line %d)",
                            jerr.text, jerr.line);
        data_len = json_dumpb(data, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
        data_txt = data_len ? malloc(data_len) : NULL;
        if (data_txt)
            json_dumpb(data, data_txt, data_len, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(data);
        if (!data_txt)
            return hli_fail(err, HL_E_NOMEM, "cannot serialise the event data");
        data_src = data_txt;
    }
    char created[32];
    hli_format_rfc3339(ev->created_at_ms ? ev->created_at_ms : now_ms, created);

    static const char K_ID[] = "{\"id\":\"", K_TYPE[] = "\",\"type\":\"",
                      K_CREATED[] = "\",\"created_at\":\"", K_DATA[] = "\",\"data\":";
    size_t id_len = strlen(id_buf), type_len = strlen(ev->type), created_len = strlen(created);
    size_t need = sizeof K_ID - 1 + 2 * id_len + sizeof K_TYPE - 1 + type_len +
                  sizeof K_CREATED - 1 + created_len + sizeof K_DATA - 1 + data_len + 1;
    char *buf = malloc(need);
    if (!buf) {
        free(data_txt);
        return hli_fail(err, HL_E_NOMEM, "cannot serialise the event");
    }
    size_t at = 0;
#define PUT(src, n)                                                                              \
    do {                                                                                         \
        memcpy(buf + at, (src), (n));                                                            \
        at += (n);                                                                               \
    } while (0)
    PUT(K_ID, sizeof K_ID - 1);
    for (size_t i = 0; i < id_len; i++) { /* printable ASCII: only these two need escaping */
        if (id_buf[i] == '"' || id_buf[i] == '\\')
            buf[at++] = '\\';
        buf[at++] = id_buf[i];
    }
    PUT(K_TYPE, sizeof K_TYPE - 1);
    PUT(ev->type, type_len);
    PUT(K_CREATED, sizeof K_CREATED - 1);
    PUT(created, created_len);
    PUT(K_DATA, sizeof K_DATA - 1);
    if (data_src)
        PUT(data_src, data_len);
    else
        PUT("null", 4);
    buf[at++] = '}';
#undef PUT
    free(data_txt);
    *out = buf;
    *out_len = at;
    return HL_OK;
}
