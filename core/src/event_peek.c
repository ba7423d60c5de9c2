/*
 * event_peek.c - the identifying fields of a JSON event.
 *
 * jansson builds a tree of the whole body and costs about 10 ns a byte
 * (10 µs for a 1 KiB event: ten times the HMAC, and on every verify), so a
 * single-pass scanner comes first: it checks the JSON syntax (RFC 8259) and
 * notes the top-level members it wants without building anything. It only
 * answers when it is sure jansson would give the same answer; anything
 * unusual (an escape in a wanted key or value, \u0000, surrogates, bytes
 * that are not UTF-8, exponents, long numbers, deep nesting, a syntax error)
 * is left to jansson, which stays the reference: fuzz_event_peek checks
 * that both agree on every input.
 */
#include "internal.h"

#include <inttypes.h>
#include <jansson.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
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

hl_code hli_event_peek_jansson(const void *body, size_t body_len, hl_event_summary *out,
                               hl_error *err)
{
    json_error_t jerr;
    json_t *root;
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

/* ------------------------------------------------------- the fast path */

/* Deeper documents go to jansson (its own limit is 2048). */
#define FAST_MAX_DEPTH 64

typedef struct scan {
    const unsigned char *p, *end;
} scan;

/* A wanted member's last value, as jansson would keep it (last one wins). */
enum { M_ABSENT, M_STRING, M_INTEGER, M_OTHER };
typedef struct member {
    int kind;
    const unsigned char *text; /* string contents (no escapes) or integer digits */
    size_t len;
} member;

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

#define ONES UINT64_C(0x0101010101010101)

/* High bit set in each byte of x that is zero (and possibly in bytes above
 * a zero byte: only "any" is used). */
static uint64_t has_zero(uint64_t x)
{
    return (x - ONES) & ~x & ONES * 0x80;
}

/* A string at s->p (the opening quote). Sets *escaped when it holds any
 * escape. Returns 0 when unsure. */
static int scan_string(scan *s, const unsigned char **text, size_t *len, int *escaped)
{
    const unsigned char *p = s->p + 1, *end = s->end;
    *escaped = 0;
    *text = p;
    while (p < end) {
        unsigned c;
        /* Skip runs of plain bytes (none below 0x20, none at or above
         * 0x80, no quote, no backslash): bodies are mostly such runs. */
#ifdef __SSE2__
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            /* signed compare: bytes >= 0x80 are negative, so "below 0x20" too */
            __m128i odd = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
            int mask = _mm_movemask_epi8(odd);
            if (mask) {
                p += __builtin_ctz((unsigned)mask);
                break;
            }
            p += 16;
        }
#endif
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (((x - ONES * 0x20) | has_zero(x ^ (ONES * '"')) | has_zero(x ^ (ONES * '\\')) | x) &
                ONES * 0x80)
                break;
            p += 8;
        }
        if (p >= end)
            break;
        c = *p;
        if (c == '"') {
            *len = (size_t)(p - *text);
            s->p = p + 1;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            *escaped = 1;
            if (end - p < 2)
                return 0;
            c = p[1];
            if (c == 'u') {
                unsigned v;
                if (end - p < 6 || !hex4(p + 2, &v) || v == 0 || (v >= 0xD800 && v <= 0xDFFF))
                    return 0;
                p += 6;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                       c == 'r' || c == 't') {
                p += 2;
            } else {
                return 0;
            }
        } else if (c < 0x80) {
            p++;
        } else {
            size_t n = utf8_len(p, end);
            if (!n)
                return 0;
            p += n;
        }
    }
    return 0;
}

/* A number at s->p. Sets *integer when it has no fraction or exponent.
 * Exponents and long numbers (possible overflow) are left to jansson. */
static int scan_number(scan *s, int *integer)
{
    const unsigned char *p = s->p, *end = s->end, *start = s->p;
    size_t digits = 0;
    *integer = 1;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
        digits = 1;
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++, digits++;
    }
    if (digits == 0)
        return 0;
    if (p < end && *p == '.') {
        size_t frac = 0;
        *integer = 0;
        p++;
        while (p < end && *p >= '0' && *p <= '9')
            p++, frac++;
        if (frac == 0)
            return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E'))
        return 0;
    if (*integer ? digits > 18 : (size_t)(p - start) > 300)
        return 0;
    /* jansson reads a number up to the next byte that cannot continue it */
    if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '+'))
        return 0;
    s->p = p;
    return 1;
}

static int scan_literal(scan *s, const char *word, size_t len)
{
    if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len) != 0)
        return 0;
    s->p += len;
    return 1;
}

static int scan_value(scan *s, int depth, int *kind);

/* An object or array at s->p; `close` is '}' or ']'. */
static int scan_container(scan *s, int depth, unsigned char close)
{
    int kind;
    if (depth >= FAST_MAX_DEPTH)
        return 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 1;
    }
    for (;;) {
        if (close == '}') {
            const unsigned char *key;
            size_t key_len;
            int escaped;
            if (s->p >= s->end || *s->p != '"' || !scan_string(s, &key, &key_len, &escaped))
                return 0;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return 0;
            s->p++;
            skip_ws(s);
        }
        if (!scan_value(s, depth + 1, &kind))
            return 0;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        if (*s->p == close) {
            s->p++;
            return 1;
        }
        if (*s->p != ',')
            return 0;
        s->p++;
        skip_ws(s);
    }
}

/* Any value at s->p; *kind tells a plain string from an integer and the rest. */
static int scan_value(scan *s, int depth, int *kind)
{
    const unsigned char *text;
    size_t len;
    int escaped, integer;
    if (s->p >= s->end)
        return 0;
    *kind = M_OTHER;
    switch (*s->p) {
    case '"':
        if (!scan_string(s, &text, &len, &escaped))
            return 0;
        *kind = escaped ? -1 : M_STRING;
        return 1;
    case '{':
        return scan_container(s, depth, '}');
    case '[':
        return scan_container(s, depth, ']');
    case 't':
        return scan_literal(s, "true", 4);
    case 'f':
        return scan_literal(s, "false", 5);
    case 'n':
        return scan_literal(s, "null", 4);
    default:
        if (!scan_number(s, &integer))
            return 0;
        *kind = integer ? M_INTEGER : M_OTHER;
        return 1;
    }
}

/* The top-level object: like scan_container, but records the wanted members. */
static int scan_event(scan *s, member *id, member *type, member *event_type, member *created)
{
    skip_ws(s);
    if (s->p >= s->end || *s->p != '{')
        return 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
    } else {
        for (;;) {
            const unsigned char *key, *start;
            size_t key_len;
            int escaped, kind;
            member *m = NULL;
            if (s->p >= s->end || *s->p != '"' || !scan_string(s, &key, &key_len, &escaped) ||
                escaped)
                return 0; /* an escaped key might spell a wanted name */
            if (key_len == 2 && !memcmp(key, "id", 2))
                m = id;
            else if (key_len == 4 && !memcmp(key, "type", 4))
                m = type;
            else if (key_len == 9 && !memcmp(key, "eventType", 9))
                m = event_type;
            else if (key_len == 10 && !memcmp(key, "created_at", 10))
                m = created;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return 0;
            s->p++;
            skip_ws(s);
            start = s->p;
            if (!scan_value(s, 1, &kind))
                return 0;
            if (m) {
                if (kind < 0)
                    return 0; /* a wanted string with escapes: jansson decodes it */
                m->kind = kind;
                m->text = kind == M_STRING ? start + 1 : start;
                m->len = kind == M_STRING ? (size_t)(s->p - start) - 2 : (size_t)(s->p - start);
            }
            skip_ws(s);
            if (s->p >= s->end)
                return 0;
            if (*s->p == '}') {
                s->p++;
                break;
            }
            if (*s->p != ',')
                return 0;
            s->p++;
            skip_ws(s);
        }
    }
    skip_ws(s);
    return s->p == s->end;
}

/* copy_member's rules for a scanned member. */
static int copy_scanned(const member *m, char *dst, size_t cap)
{
    if (m->kind == M_STRING) {
        if (m->len >= cap)
            return 0;
        memcpy(dst, m->text, m->len);
        dst[m->len] = '\0';
        return 1;
    }
    if (m->kind == M_INTEGER) {
        /* at most 18 digits: fits in int64 */
        const unsigned char *p = m->text;
        int negative = *p == '-';
        int64_t v = 0;
        for (p += negative; p < m->text + m->len; p++)
            v = v * 10 + (*p - '0');
        snprintf(dst, cap, "%" PRId64, negative ? -v : v);
        return 1;
    }
    return 0;
}

hl_code hl_event_peek(const void *body, size_t body_len, hl_event_summary *out, hl_error *err)
{
    scan s;
    member id = {M_ABSENT, NULL, 0}, type = id, event_type = id, created = id;
    if (!out || (!body && body_len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "argument is NULL");
    s.p = body;
    s.end = s.p + body_len;
    if (!body || !scan_event(&s, &id, &type, &event_type, &created))
        return hli_event_peek_jansson(body, body_len, out, err);
    memset(out, 0, sizeof *out);
    copy_scanned(&id, out->id, sizeof out->id);
    if (!copy_scanned(&type, out->type, sizeof out->type))
        copy_scanned(&event_type, out->type, sizeof out->type);
    copy_scanned(&created, out->created_at, sizeof out->created_at);
    return HL_OK;
}
