/*
 * verify_request.c - verify a received webhook from C with hookline.
 *
 *   HOOKLINE_SECRET=whsec_... verify_request BODY_FILE HEADERS_FILE [NOW]
 *
 * BODY_FILE     the raw request body, byte for byte as received.
 * HEADERS_FILE  the request's headers, one "Name: value" per line, as an
 *               HTTP server or `curl -D` writes them (CRLF or LF; a request
 *               or status line and blank lines are skipped).
 * NOW           the receiver's clock, unix seconds (default: time(NULL)).
 *
 * The secret comes from the environment, not the command line (which other
 * users can read); several secrets during a rotation are separated by
 * spaces. HOOKLINE_SCHEME picks the scheme: standard (default), hookline,
 * stripe or github.
 *
 * Prints "verified ..." and exits 0, or prints the error's code and message
 * and exits 1; 2 for usage errors. Build:
 *   cc verify_request.c $(pkg-config --cflags --libs hookline)
 * or with CMake: find_package(hookline) and link hookline::hookline
 * (examples/CMakeLists.txt).
 */
#include <hookline.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HEADERS 100
#define MAX_HEADER_BYTES (64 * 1024)

/* Read a whole file (at most `max` bytes; more is an error). */
static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    if (f == NULL)
        return NULL;
    buf = malloc(max + 1);
    n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > max) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Split "Name: value" lines in place into hl_header ranges (no copies:
 * the ranges point into `text`). Returns the count, or -1 when a line is
 * not a header or there are too many. */
static int parse_headers(char *text, size_t len, hl_header *out, int cap)
{
    int n = 0;
    size_t pos = 0;
    while (pos < len) {
        char *line = text + pos, *end = memchr(line, '\n', len - pos), *colon;
        size_t line_len = end ? (size_t)(end - line) : len - pos;
        pos += line_len + (end ? 1 : 0);
        if (line_len > 0 && line[line_len - 1] == '\r')
            line_len--;
        if (line_len == 0 || (line_len >= 5 && memcmp(line, "HTTP/", 5) == 0))
            continue;
        colon = memchr(line, ':', line_len);
        if (colon == NULL || colon == line) {
            /* "POST /hooks HTTP/1.1": a request line, not a header. */
            if (n == 0 && memchr(line, ' ', line_len) != NULL)
                continue;
            return -1;
        }
        if (n == cap)
            return -1;
        out[n].name = line;
        out[n].name_len = (size_t)(colon - line);
        out[n].value = colon + 1;
        out[n].value_len = line_len - out[n].name_len - 1;
        while (out[n].value_len > 0 && (out[n].value[0] == ' ' || out[n].value[0] == '\t')) {
            out[n].value++;
            out[n].value_len--;
        }
        while (out[n].value_len > 0 && (out[n].value[out[n].value_len - 1] == ' ' ||
                                        out[n].value[out[n].value_len - 1] == '\t'))
            out[n].value_len--;
        n++;
    }
    return n;
}

/* Parse the space-separated secrets of `text` for `scheme`. */
static hl_code parse_secrets(const char *text, hl_scheme scheme, hl_secret **secrets,
                             size_t *count, hl_error *err)
{
    *count = 0;
    while (*text != '\0') {
        size_t len = strcspn(text, " ");
        if (len > 0) {
            hl_code rc;
            if (*count == HL_MAX_SECRETS) {
                err->code = HL_E_TOO_MANY;
                snprintf(err->message, sizeof err->message, "more than %d secrets",
                         HL_MAX_SECRETS);
                return HL_E_TOO_MANY;
            }
            rc = hl_secret_parse(&secrets[*count], scheme, HL_SECRET_DEFAULT, text, len, err);
            if (rc != HL_OK)
                return rc;
            (*count)++;
        }
        text += len;
        while (*text == ' ')
            text++;
    }
    return HL_OK;
}

int main(int argc, char **argv)
{
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    hl_verify_result result;
    hl_error err = HL_ERROR_INIT;
    hl_header headers[MAX_HEADERS];
    hl_secret *secrets[HL_MAX_SECRETS];
    size_t n_secrets = 0, body_len = 0, header_len = 0, i;
    const char *secret_text = getenv("HOOKLINE_SECRET"), *scheme = getenv("HOOKLINE_SCHEME");
    char *body = NULL, *header_text = NULL;
    int n_headers, status = 1;
    int64_t now = (int64_t)time(NULL);
    hl_code rc;

    if (argc < 3 || argc > 4 || secret_text == NULL) {
        fprintf(stderr, "usage: HOOKLINE_SECRET=... [HOOKLINE_SCHEME=standard] "
                        "verify_request BODY_FILE HEADERS_FILE [NOW]\n");
        return 2;
    }
    if (argc == 4) {
        char *end;
        now = (int64_t)strtoll(argv[3], &end, 10);
        if (*argv[3] == '\0' || *end != '\0') {
            fprintf(stderr, "verify_request: NOW must be unix seconds\n");
            return 2;
        }
    }
    if (scheme != NULL && hl_scheme_from_name(&opts.scheme, scheme, strlen(scheme)) != HL_OK) {
        fprintf(stderr, "verify_request: unknown scheme %s\n", scheme);
        return 2;
    }

    /* One byte over the limit is enough for hl_verify to say "too large". */
    body = read_file(argv[1], opts.max_body + 1, &body_len);
    header_text = read_file(argv[2], MAX_HEADER_BYTES, &header_len);
    if (body == NULL || header_text == NULL) {
        fprintf(stderr, "verify_request: cannot read %s\n", body == NULL ? argv[1] : argv[2]);
        status = 2;
        goto done;
    }
    n_headers = parse_headers(header_text, header_len, headers, MAX_HEADERS);
    if (n_headers < 0) {
        fprintf(stderr, "verify_request: %s: not 'Name: value' lines (or too many)\n", argv[2]);
        status = 2;
        goto done;
    }

    rc = parse_secrets(secret_text, opts.scheme, secrets, &n_secrets, &err);
    if (rc == HL_OK && n_secrets == 0) {
        fprintf(stderr, "verify_request: HOOKLINE_SECRET is empty\n");
        status = 2;
        goto done;
    }
    if (rc == HL_OK)
        rc = hl_verify(&opts, (const hl_secret *const *)secrets, n_secrets, now, headers,
                       (size_t)n_headers, body, body_len, &result, &err);
    if (rc != HL_OK) {
        /* The code name says what to answer: 401 for signature_mismatch,
         * timestamp_*, header_missing; 400 for header_malformed. */
        printf("rejected: %s: %s\n", hl_code_name(rc), err.message);
        goto done;
    }
    printf("verified: msg_id=%s timestamp=%" PRId64 " secret=%d event_id=%s event_type=%s\n",
           result.msg_id[0] ? result.msg_id : "-", result.timestamp, result.secret_index + 1,
           result.has_event && result.event_id[0] ? result.event_id : "-",
           result.has_event && result.event_type[0] ? result.event_type : "-");
    status = 0;

done:
    for (i = 0; i < n_secrets; i++)
        hl_secret_free(secrets[i]);
    free(body);
    free(header_text);
    return status;
}
