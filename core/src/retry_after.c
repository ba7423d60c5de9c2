/* retry_after.c - Retry-After (RFC 9110 10.2.3): delay-seconds or an
 * HTTP-date in the three formats a recipient must accept. Pure: `now` is an
 * argument, so the same header gives the same delay in tests and retries. */
#include "internal.h"

#include <string.h>

static const char *const MONTHS[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const DAYS[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const LONG_DAYS[7] = {"Monday", "Tuesday", "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};

/* A little cursor over (ptr, len): every read is bounds-checked. */
struct cur {
    const char *p, *end;
};

static int lit(struct cur *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

static int digits(struct cur *c, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return 0;
        v = v * 10 + (*c->p++ - '0');
    }
    *out = v;
    return 1;
}

static int month(struct cur *c, int *out)
{
    for (int i = 0; i < 12; i++)
        if (lit(c, MONTHS[i])) {
            *out = i + 1;
            return 1;
        }
    return 0;
}

static int clock_time(struct cur *c, int *h, int *m, int *s)
{
    return digits(c, 2, h) && lit(c, ":") && digits(c, 2, m) && lit(c, ":") && digits(c, 2, s) &&
           *h < 24 && *m < 60 && *s < 61; /* 60: leap second */
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int DIM[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : DIM[m - 1];
}

static int parse_date(struct cur *c, uint64_t now_ms, int64_t *epoch_s)
{
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, day;
    struct cur save = *c;
    for (day = 0; day < 7; day++)
        if (lit(c, LONG_DAYS[day]))
            break;
    if (day < 7) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
        int yy;
        if (!(lit(c, ", ") && digits(c, 2, &d) && lit(c, "-") && month(c, &mo) && lit(c, "-") &&
              digits(c, 2, &yy) && lit(c, " ") && clock_time(c, &h, &mi, &s) && lit(c, " GMT")))
            return 0;
        /* Two-digit year: the most recent year with those digits that is not
         * more than 50 years in the future. */
        int now_year = 1970 + (int)(now_ms / 1000 / 86400 / 365.2425);
        y = now_year / 100 * 100 + yy;
        if (y > now_year + 50)
            y -= 100;
    } else {
        *c = save;
        for (day = 0; day < 7; day++)
            if (lit(c, DAYS[day]))
                break;
        if (day == 7)
            return 0;
        if (lit(c, ", ")) {
            /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
            if (!(digits(c, 2, &d) && lit(c, " ") && month(c, &mo) && lit(c, " ") &&
                  digits(c, 4, &y) && lit(c, " ") && clock_time(c, &h, &mi, &s) &&
                  lit(c, " GMT")))
                return 0;
        } else {
            /* asctime: Sun Nov  6 08:49:37 1994 */
            if (!(lit(c, " ") && month(c, &mo) && lit(c, " ")))
                return 0;
            if (c->p < c->end && *c->p == ' ') {
                c->p++;
                if (!digits(c, 1, &d))
                    return 0;
            } else if (!digits(c, 2, &d)) {
                return 0;
            }
            if (!(lit(c, " ") && clock_time(c, &h, &mi, &s) && lit(c, " ") && digits(c, 4, &y)))
                return 0;
        }
    }
    if (c->p != c->end || d < 1 || d > days_in_month(y, mo))
        return 0;
    *epoch_s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 1;
}

hl_code hl_retry_after_parse(const char *value, size_t len, uint64_t now_ms, uint64_t *delay_ms,
                             hl_error *err)
{
    if (!delay_ms || (!value && len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "retry_after_parse: NULL argument");
    if (!len)
        return hli_fail(err, HL_E_RETRY_AFTER, "Retry-After is empty");
    struct cur c = {value, value + len};
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
        c.p++;
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    if (c.p == c.end)
        return hli_fail(err, HL_E_RETRY_AFTER, "Retry-After is empty");

    if (*c.p >= '0' && *c.p <= '9') {
        uint64_t secs = 0;
        for (const char *p = c.p; p < c.end; p++) {
            if (*p < '0' || *p > '9')
                return hli_fail(err, HL_E_RETRY_AFTER,
                                "Retry-After is neither delay-seconds nor an HTTP-date");
            /* Saturate: a silly large delay is just "very long" (bounded later). */
            if (secs < UINT64_MAX / 10000)
                secs = secs * 10 + (uint64_t)(*p - '0');
        }
        *delay_ms = secs < UINT64_MAX / 10000 ? secs * 1000 : UINT64_MAX / 10;
        return HL_OK;
    }

    int64_t when;
    if (!parse_date(&c, now_ms, &when))
        return hli_fail(err, HL_E_RETRY_AFTER,
                        "Retry-After is neither delay-seconds nor an HTTP-date");
    int64_t now_s = (int64_t)(now_ms / 1000);
    /* Dates are whole seconds: compare against the whole second of now. */
    *delay_ms = when > now_s ? (uint64_t)(when - now_s) * 1000 - (now_ms % 1000) : 0;
    return HL_OK;
}
