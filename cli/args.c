/* args.c - the command line: options, output helpers, opening the worker. */
#define _DEFAULT_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const cli_opt_spec GLOBAL[] = {
    {"db", 1},       {"store", 1},   {"json", 0},    {"allow-http", 0}, {"ca-file", 1},
    {"allow-cidr", 1}, {"allow-port", 1}, {NULL, 0},
};

static const cli_opt_spec *find_spec(const cli_opt_spec *spec, const char *name, size_t len)
{
    for (; spec && spec->name; spec++)
        if (strlen(spec->name) == len && strncmp(spec->name, name, len) == 0)
            return spec;
    return NULL;
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("hookline: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see --help)\n", stderr);
    return EXIT_USAGE;
}

static int global_option(cli *c, const char *name, const char *value)
{
    char *end;
    long port;
    if (!strcmp(name, "db") || !strcmp(name, "store"))
        c->db = value;
    else if (!strcmp(name, "json"))
        c->json = 1;
    else if (!strcmp(name, "allow-http"))
        c->allow_http = 1;
    else if (!strcmp(name, "ca-file"))
        c->ca_file = value;
    else if (!strcmp(name, "allow-cidr")) {
        if (c->n_allow_cidrs == sizeof c->allow_cidrs / sizeof c->allow_cidrs[0])
            return cli_usage("too many --allow-cidr");
        c->allow_cidrs[c->n_allow_cidrs++] = value;
    } else if (!strcmp(name, "allow-port")) {
        errno = 0;
        port = strtol(value, &end, 10);
        if (!*value || *end || errno || port < 1 || port > 65535)
            return cli_usage("--allow-port wants a port number, not '%s'", value);
        if (c->n_allow_ports == sizeof c->allow_ports / sizeof c->allow_ports[0])
            return cli_usage("too many --allow-port");
        c->allow_ports[c->n_allow_ports++] = (uint16_t)port;
    }
    return 0;
}

int cli_parse(cli *c, int argc, char **argv, const cli_opt_spec *spec)
{
    c->n_opts = 0;
    c->n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i], *name, *value = NULL, *eq;
        const cli_opt_spec *s;
        size_t len;
        int global = 0;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (!strcmp(arg, "--")) { /* everything after is positional */
                for (i++; i < argc; i++)
                    if (c->n_pos < CLI_MAX_POS)
                        c->pos[c->n_pos++] = argv[i];
                break;
            }
            if (c->n_pos == CLI_MAX_POS)
                return cli_usage("too many arguments");
            c->pos[c->n_pos++] = arg;
            continue;
        }
        name = arg + 2;
        eq = strchr(name, '=');
        len = eq ? (size_t)(eq - name) : strlen(name);
        s = find_spec(spec, name, len);
        if (!s && (s = find_spec(GLOBAL, name, len)) != NULL)
            global = 1;
        if (!s)
            return cli_usage("unknown option --%.*s", (int)len, name);
        if (s->takes_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_usage("--%s needs a value", s->name);
        } else if (eq) {
            return cli_usage("--%s takes no value", s->name);
        }
        if (global) {
            int rc = global_option(c, s->name, value);
            if (rc)
                return rc;
            continue;
        }
        if (c->n_opts == CLI_MAX_OPTS)
            return cli_usage("too many options");
        c->opts[c->n_opts].name = s->name;
        c->opts[c->n_opts].value = value;
        c->n_opts++;
    }
    return 0;
}

const char *cli_opt(const cli *c, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < c->n_opts; i++)
        if (!strcmp(c->opts[i].name, name))
            v = c->opts[i].value;
    return v;
}

size_t cli_opts(const cli *c, const char *name, const char **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_opts; i++)
        if (!strcmp(c->opts[i].name, name) && n < cap)
            out[n++] = c->opts[i].value;
    return n;
}

int cli_flag(const cli *c, const char *name)
{
    for (size_t i = 0; i < c->n_opts; i++)
        if (!strcmp(c->opts[i].name, name))
            return 1;
    return 0;
}

long long cli_opt_int(const cli *c, const char *name, long long dflt)
{
    const char *v = cli_opt(c, name);
    char *end;
    long long n;
    if (!v)
        return dflt;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < 0) {
        cli_usage("--%s wants a non-negative integer, not '%s'", name, v);
        return -1;
    }
    return n;
}

int cli_fail(const char *what, const hl_error *err)
{
    fprintf(stderr, "hookline: %s: %s (%s)\n", what,
            err->message[0] ? err->message : hl_strerror(err->code), hl_code_name(err->code));
    return 1;
}

void cli_print_json(json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text) {
        puts(text);
        free(text);
    }
    json_decref(value);
}

const char *cli_color(const cli *c, const char *code)
{
    return c->color ? code : "";
}

const char *cli_time(uint64_t ms, char *buf, size_t cap)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char base[24];
    if (ms == 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    gmtime_r(&secs, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03uZ", base, (unsigned)(ms % 1000));
    return buf;
}

const char *cli_db_path(const cli *c)
{
    const char *env = getenv("HOOKLINE_STORE");
    if (!(env && *env))
        env = getenv("HOOKLINE_DB");
    return c->db ? c->db : env && *env ? env : "hookline.db";
}

int cli_open_worker(const cli *c, hl_worker **w, hl_attempt_fn on_attempt, void *user)
{
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    o.db_path = cli_db_path(c);
    o.url.allow_http = c->allow_http;
    o.url.allow_cidrs = c->allow_cidrs;
    o.url.n_allow_cidrs = c->n_allow_cidrs;
    if (c->n_allow_ports) {
        o.url.allow_ports = c->allow_ports;
        o.url.n_allow_ports = c->n_allow_ports;
    }
    o.ca_file = c->ca_file;
    o.lease_ms = c->lease_ms;
    if (c->max_connections)
        o.max_connections = c->max_connections;
    o.on_attempt = on_attempt;
    o.attempt_user = user;
    if (hl_worker_open(w, &o, NULL, &err) != HL_OK) {
        char what[512];
        /* a PostgreSQL URL may hold a password: never print it */
        snprintf(what, sizeof what, "opening %s",
                 cli_is_postgres(o.db_path) ? "the PostgreSQL store" : o.db_path);
        if (err.code == HL_E_STORE_BUSY)
            fprintf(stderr, "hookline: a worker (hookline run) owns %s; stop it for this command "
                            "(hookline send works beside it)\n", o.db_path);
        return cli_fail(what, &err);
    }
    return 0;
}

int cli_is_postgres(const char *store)
{
    return store && (!strncmp(store, "postgres://", 11) || !strncmp(store, "postgresql://", 13));
}
