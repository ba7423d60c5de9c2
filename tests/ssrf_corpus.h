/*
 * ssrf_corpus.h - read tests/vectors/ssrf_urls.tsv (format in its header)
 * for the C tests and the fuzz seed generator. Test-only, header-only.
 */
#ifndef HOOKLINE_TESTS_SSRF_CORPUS_H
#define HOOKLINE_TESTS_SSRF_CORPUS_H

#include "hookline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORPUS_LIST_MAX 16
#define CORPUS_LINE_MAX 8192

/* One row, with the options decoded into storage the row owns. */
typedef struct corpus_row {
    int line;
    char url[CORPUS_LINE_MAX];
    size_t url_len;
    char options_text[512];
    int expect_accept;
    char code[64];
    char normalized[CORPUS_LINE_MAX];
    char note[256];

    hl_url_options opts;
    uint16_t ports[CORPUS_LIST_MAX];
    const char *cidrs[CORPUS_LIST_MAX];
    const char *allow_hosts[CORPUS_LIST_MAX];
    const char *deny_names[CORPUS_LIST_MAX];
    char strings[512]; /* what the pointers above point into */
} corpus_row;

/* "\\" -> '\', "\xHH" -> byte; returns the decoded length. */
static size_t corpus_unescape(char *out, const char *in)
{
    size_t n = 0;
    for (const char *p = in; *p;) {
        if (p[0] == '\\' && p[1] == '\\') {
            out[n++] = '\\';
            p += 2;
        } else if (p[0] == '\\' && p[1] == 'x' && p[2] && p[3]) {
            char hex[3] = {p[2], p[3], 0};
            out[n++] = (char)strtol(hex, NULL, 16);
            p += 4;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
    return n;
}

/* Split "a,b,c" in place into list; returns the count. */
static size_t corpus_split(char *s, const char **list)
{
    size_t n = 0;
    for (char *tok = strtok(s, ","); tok && n < CORPUS_LIST_MAX; tok = strtok(NULL, ","))
        list[n++] = tok;
    return n;
}

static int corpus_parse_options(corpus_row *r)
{
    hl_url_options init = HL_URL_OPTIONS_INIT;
    r->opts = init;
    if (strcmp(r->options_text, "-") == 0)
        return 0;
    snprintf(r->strings, sizeof r->strings, "%s", r->options_text);
    char *save = NULL;
    for (char *kv = strtok_r(r->strings, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        char *v = eq + 1;
        if (strcmp(kv, "allow_http") == 0) {
            r->opts.allow_http = atoi(v);
        } else if (strcmp(kv, "allow_ports") == 0) {
            const char *items[CORPUS_LIST_MAX];
            size_t n = corpus_split(v, items);
            for (size_t i = 0; i < n; i++)
                r->ports[i] = (uint16_t)atoi(items[i]);
            r->opts.allow_ports = r->ports;
            r->opts.n_allow_ports = n;
        } else if (strcmp(kv, "allow_cidrs") == 0) {
            r->opts.n_allow_cidrs = corpus_split(v, r->cidrs);
            r->opts.allow_cidrs = r->cidrs;
        } else if (strcmp(kv, "allow_hosts") == 0) {
            r->opts.n_allow_hosts = corpus_split(v, r->allow_hosts);
            r->opts.allow_hosts = r->allow_hosts;
        } else if (strcmp(kv, "deny_names") == 0) {
            r->opts.n_deny_names = corpus_split(v, r->deny_names);
            r->opts.deny_names = r->deny_names;
        } else {
            return -1;
        }
    }
    return 0;
}

/*
 * Read the next row from `f` into `r`. Returns 1 for a row, 0 at the end,
 * -1 for a malformed line (r->line says which).
 */
static int corpus_next(FILE *f, corpus_row *r, int *line_no)
{
    static char line[CORPUS_LINE_MAX * 2];
    while (fgets(line, sizeof line, f)) {
        (*line_no)++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        memset(r, 0, sizeof *r);
        r->line = *line_no;
        char *cols[6] = {0};
        size_t n = 0;
        char *p = line;
        while (n < 6) {
            cols[n++] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        if (n < 5)
            return -1;
        r->url_len = corpus_unescape(r->url, cols[0]);
        snprintf(r->options_text, sizeof r->options_text, "%s", cols[1]);
        r->expect_accept = strcmp(cols[2], "accept") == 0;
        if (!r->expect_accept && strcmp(cols[2], "reject") != 0)
            return -1;
        snprintf(r->code, sizeof r->code, "%s", cols[3]);
        snprintf(r->normalized, sizeof r->normalized, "%s", cols[4]);
        snprintf(r->note, sizeof r->note, "%s", n > 5 ? cols[5] : "");
        if (corpus_parse_options(r) != 0)
            return -1;
        return 1;
    }
    return 0;
}

#endif /* HOOKLINE_TESTS_SSRF_CORPUS_H */
