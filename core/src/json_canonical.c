/* json_canonical.c - is a JSON text already what jansson's compact dump
 * would write for it? Then enqueue can take the event data as it is instead
 * of parsing it into a tree and printing it back (that round trip was ~90 %
 * of an enqueue). Anything this scanner is not sure about - whitespace,
 * escapes, reals, -0, huge integers, control bytes, duplicate keys, deep or
 * wide objects - answers 0 and the caller takes the jansson path, which
 * stays the reference (tests/fuzz/fuzz_json_canonical.c compares both). */
#include "internal.h"

#include <string.h>

#define MAX_DEPTH 32     /* deeper: let jansson decide */
#define MAX_KEYS 64      /* keys per object checked for duplicates */

typedef struct span {
    const char *p;
    size_t n;
} span;

typedef struct scanner {
    const unsigned char *p, *end;
    int depth;
} scanner;

/* One UTF-8 sequence starting at s->p (a byte >= 0x80), as jansson checks
 * it: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_seq(scanner *s)
{
    const unsigned char *p = s->p;
    unsigned c = p[0], n, cp;
    if (c >= 0xC2 && c <= 0xDF)
        n = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 3, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(s->end - p) <= n)
        return 0;
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    s->p += n + 1;
    return 1;
}

/* A string with nothing jansson would write differently: no escapes, no
 * control bytes, valid UTF-8. `out` receives its contents. */
static int string(scanner *s, span *out)
{
    const unsigned char *start;
    if (s->p >= s->end || *s->p != '"')
        return 0;
    start = ++s->p;
    while (s->p < s->end) {
        unsigned c = *s->p;
        if (c == '"') {
            out->p = (const char *)start;
            out->n = (size_t)(s->p - start);
            s->p++;
            return 1;
        }
        if (c < 0x20 || c == '\\')
            return 0;
        if (c < 0x80)
            s->p++;
        else if (!utf8_seq(s))
            return 0;
    }
    return 0;
}

/* An integer as jansson prints one: 0 or -?[1-9][0-9]*, at most 18 digits
 * (always within json_int_t); a fraction or exponent (a real) answers 0. */
static int number(scanner *s)
{
    int negative = 0;
    const unsigned char *digits;
    if (s->p < s->end && *s->p == '-') {
        negative = 1;
        s->p++;
    }
    digits = s->p;
    if (s->p >= s->end || *s->p < '0' || *s->p > '9')
        return 0;
    if (*s->p == '0') {
        if (negative)
            return 0; /* "-0" prints as 0 */
        s->p++;
    } else {
        while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
            s->p++;
    }
    if (s->p - digits > 18)
        return 0;
    /* a real (fraction, exponent) or a digit after a leading zero */
    return s->p == s->end ||
           (*s->p != '.' && *s->p != 'e' && *s->p != 'E' && (*s->p < '0' || *s->p > '9'));
}

static int literal(scanner *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int value(scanner *s);

static int object(scanner *s)
{
    span keys[MAX_KEYS];
    size_t n = 0;
    s->p++; /* '{' */
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 1;
    }
    for (;;) {
        span k;
        if (n == MAX_KEYS || !string(s, &k))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (keys[i].n == k.n && memcmp(keys[i].p, k.p, k.n) == 0)
                return 0; /* a duplicate: jansson rejects it, with its message */
        keys[n++] = k;
        if (s->p >= s->end || *s->p++ != ':' || !value(s) || s->p >= s->end)
            return 0;
        if (*s->p == '}') {
            s->p++;
            return 1;
        }
        if (*s->p++ != ',')
            return 0;
    }
}

static int array(scanner *s)
{
    s->p++; /* '[' */
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 1;
    }
    for (;;) {
        if (!value(s) || s->p >= s->end)
            return 0;
        if (*s->p == ']') {
            s->p++;
            return 1;
        }
        if (*s->p++ != ',')
            return 0;
    }
}

static int value(scanner *s)
{
    span ignored;
    int ok;
    if (s->p >= s->end)
        return 0;
    switch (*s->p) {
    case '{':
    case '[':
        if (++s->depth > MAX_DEPTH)
            return 0;
        ok = *s->p == '{' ? object(s) : array(s);
        s->depth--;
        return ok;
    case '"':
        return string(s, &ignored);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        return number(s);
    }
}

int hli_json_is_compact_canonical(const char *json, size_t len)
{
    scanner s;
    if (json == NULL || len == 0)
        return 0;
    s.p = (const unsigned char *)json;
    s.end = s.p + len;
    s.depth = 0;
    return value(&s) && s.p == s.end;
}
