/* event_peek.c - the identifying fields of a JSON event, via jansson. */
#include "internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* String or integer member `key` into `dst`; left empty otherwise. */
static int copy_member(json_t *obj, const char *key, char *dst, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v)) {
        size_t len = json_string_length(v);
        if (len >= cap || memchr(json_string_value(v), '\0', len))
            return 0;
        memcpy(dst, json_string_value(v), len);
        dst[len] = '\0';
        return 1;
    }
    if (json_is_integer(v)) {
        snprintf(dst, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return 1;
    }
    return 0;
}

hl_code hl_event_peek(const void *body, size_t body_len, hl_event_summary *out, hl_error *err)
{
    json_error_t jerr;
    json_t *root;
    if (!out || (!body && body_len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "argument is NULL");
    memset(out, 0, sizeof *out);
    root = json_loadb(body ? body : "", body_len, 0, &jerr);
    if (!root)
        return hli_fail(err, HL_E_JSON, "body is not JSON: %s at line %d column %d", jerr.text,
                        jerr.line, jerr.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return hli_fail(err, HL_E_JSON, "body is JSON but not an object");
    }
    copy_member(root, "id", out->id, sizeof out->id);
    if (!copy_member(root, "type", out->type, sizeof out->type))
        copy_member(root, "eventType", out->type, sizeof out->type);
    copy_member(root, "created_at", out->created_at, sizeof out->created_at);
    json_decref(root);
    return HL_OK;
}
