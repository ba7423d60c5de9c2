/*
 * pg_conn.c - the connection, error mapping, transactions and the schema
 * of the PostgreSQL outbox (hookline/pgbox.h, docs/postgres.md).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, gethostname */

#include "pg_internal.h"

#include <openssl/rand.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

hl_code hlp_fail(hl_error *err, hl_code code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

static hl_code code_of_state(const char *st)
{
    if (st == NULL)
        return HL_E_STORE_UNAVAILABLE;
    if (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
        strcmp(st, "57P03") == 0)
        return HL_E_STORE_UNAVAILABLE; /* connection exceptions, server shutting down */
    if (strcmp(st, "53100") == 0)
        return HL_E_STORE_NO_SPACE; /* disk_full */
    if (strcmp(st, "53200") == 0)
        return HL_E_NOMEM;
    if (strcmp(st, "25006") == 0)
        return HL_E_STORE_READONLY; /* read_only_sql_transaction (a standby, or read-only) */
    if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0)
        return HL_E_STORE_BUSY; /* serialization failure, deadlock, lock not available */
    if (strcmp(st, "42P01") == 0 || strcmp(st, "3F000") == 0 || strcmp(st, "42703") == 0)
        return HL_E_STORE_SCHEMA; /* undefined table / schema / column */
    return HL_E_STORE_IO;
}

/* PostgreSQL's message, first line, without the "ERROR:  " prefix. */
static void server_text(char *out, size_t cap, const char *msg)
{
    size_t n;
    if (msg == NULL || *msg == '\0')
        msg = "no message";
    if (strncmp(msg, "ERROR:  ", 8) == 0)
        msg += 8;
    n = strcspn(msg, "\n");
    snprintf(out, cap, "%.*s", (int)(n > 300 ? 300 : n), msg);
}

hl_code hlp_fail_res(hl_error *err, hl_pg *pg, const PGresult *res, const char *what)
{
    char text[320];
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    hl_code code;
    if (res != NULL && state != NULL) {
        code = code_of_state(state);
        server_text(text, sizeof text, PQresultErrorMessage(res));
    } else {
        /* no server answer: the connection is the problem */
        code = HL_E_STORE_UNAVAILABLE;
        server_text(text, sizeof text, pg && pg->conn ? PQerrorMessage(pg->conn) : NULL);
    }
    return hlp_fail(err, code, "postgres: %s: %s", what, text);
}

int hlp_retryable(const PGresult *res)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return st && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0);
}

/* Bound on prepared texts per session: past it, statements run unprepared
 * (the driver has about thirty fixed texts; this only guards misuse). */
#define PREPARED_MAX 128

void hlp_forget_prepared(hl_pg *pg)
{
    size_t i;
    for (i = 0; i < pg->n_prepared; i++)
        free(pg->prepared[i]);
    free(pg->prepared);
    pg->prepared = NULL;
    pg->n_prepared = pg->cap_prepared = 0;
}

/*
 * The name `sql` is prepared under on this session, preparing it first
 * when new: parse and plan once per session instead of once per call.
 * 0 with `name` empty: run it unprepared (table full, out of memory).
 * -1: preparing failed, `err` filled.
 */
static int prepared_name(hl_pg *pg, const char *sql, int n, char name[24], const char *what,
                         hl_error *err)
{
    size_t i;
    PGresult *r;
    char *copy;
    name[0] = '\0';
    for (i = 0; i < pg->n_prepared; i++)
        if (strcmp(pg->prepared[i], sql) == 0) {
            snprintf(name, 24, "hl%zu", i);
            return 0;
        }
    if (pg->n_prepared >= PREPARED_MAX)
        return 0;
    if (pg->n_prepared == pg->cap_prepared) {
        size_t cap = pg->cap_prepared ? pg->cap_prepared * 2 : 32;
        char **p = realloc(pg->prepared, cap * sizeof *p);
        if (p == NULL)
            return 0;
        pg->prepared = p;
        pg->cap_prepared = cap;
    }
    if ((copy = strdup(sql)) == NULL)
        return 0;
    snprintf(name, 24, "hl%zu", pg->n_prepared);
    r = PQprepare(pg->conn, name, sql, n, NULL);
    if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
        hlp_fail_res(err, pg, r, what);
        PQclear(r);
        free(copy);
        return -1;
    }
    PQclear(r);
    pg->prepared[pg->n_prepared++] = copy;
    return 0;
}

PGresult *hlp_exec(hl_pg *pg, const char *sql, int n, const char *const *vals, const int *lens,
                   const int *binary, const char *what, hl_error *err)
{
    char name[24];
    PGresult *r;
    ExecStatusType s;
    if (prepared_name(pg, sql, n, name, what, err) < 0)
        return NULL;
    if (name[0] != '\0')
        r = PQexecPrepared(pg->conn, name, n, vals, lens, binary, 0);
    else
        r = PQexecParams(pg->conn, sql, n, NULL, vals, lens, binary, 0);
    s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return r;
    hlp_fail_res(err, pg, r, what);
    PQclear(r);
    return NULL;
}

/* Run fixed SQL without parameters (several statements allowed: the
 * migrations) whose result is not needed. */
static hl_code exec0(hl_pg *pg, const char *sql, const char *what, hl_error *err)
{
    PGresult *r = PQexec(pg->conn, sql);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    hl_code code = HL_OK;
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
        code = hlp_fail_res(err, pg, r, what);
    PQclear(r);
    return code;
}

hl_code hlp_ensure(hl_pg *pg, hl_error *err)
{
    if (PQstatus(pg->conn) == CONNECTION_OK)
        return HL_OK;
    if (pg->depth > 0)
        return hlp_fail(err, HL_E_STORE_UNAVAILABLE, "postgres: the connection was lost");
    PQreset(pg->conn);
    hlp_forget_prepared(pg); /* a new session knows none of them */
    if (PQstatus(pg->conn) != CONNECTION_OK)
        return hlp_fail_res(err, pg, NULL, "reconnecting");
    return HL_OK;
}

void hlp_u64(char buf[24], uint64_t v)
{
    if (v > (uint64_t)INT64_MAX)
        v = (uint64_t)INT64_MAX;
    snprintf(buf, 24, "%llu", (unsigned long long)v);
}

uint64_t hlp_get_u64(const PGresult *r, int row, int col)
{
    long long v;
    if (PQgetisnull(r, row, col))
        return 0;
    v = strtoll(PQgetvalue(r, row, col), NULL, 10);
    return v < 0 ? 0 : (uint64_t)v;
}

int hlp_get_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : atoi(PQgetvalue(r, row, col));
}

char *hlp_get_bytea(const PGresult *r, int row, int col, size_t *len)
{
    size_t n = 0;
    unsigned char *raw;
    char *out;
    *len = 0;
    if (PQgetisnull(r, row, col))
        return NULL;
    raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (raw == NULL)
        return NULL;
    /* a copy from malloc, NUL-terminated, so callers free() it */
    if ((out = malloc(n + 1)) != NULL) {
        memcpy(out, raw, n);
        out[n] = '\0';
        *len = n;
    }
    PQfreemem(raw);
    return out;
}

/* ---------------------------------------------------------------- schema */

/* MIGRATIONS[v] takes a database from version v to v + 1. */
static const char *const MIGRATIONS[HL_PG_SCHEMA_VERSION] = {
    "CREATE SCHEMA IF NOT EXISTS hookline;"
    "CREATE TABLE hookline.meta (key text PRIMARY KEY, value bigint NOT NULL);"
    "INSERT INTO hookline.meta (key, value) VALUES ('schema_version', 0);"
    "CREATE TABLE hookline.workers (worker_id text PRIMARY KEY, host text NOT NULL,"
    " pid integer NOT NULL, started_at timestamptz NOT NULL DEFAULT now(),"
    " lease_until timestamptz NOT NULL);"
    "CREATE TABLE hookline.endpoints (seq bigserial UNIQUE, id text PRIMARY KEY,"
    " config text NOT NULL, disabled integer NOT NULL DEFAULT 0,"
    " created_ms bigint NOT NULL, updated_ms bigint NOT NULL, version bigint NOT NULL DEFAULT 1,"
    " removed boolean NOT NULL DEFAULT false, owner text);"
    "CREATE INDEX endpoints_by_owner ON hookline.endpoints (owner);"
    /* the application's transactional inbox */
    "CREATE TABLE hookline.events (id bigserial PRIMARY KEY, type text NOT NULL, data text,"
    " event_id text, ordering_key text, endpoint_id text,"
    " created_at timestamptz NOT NULL DEFAULT clock_timestamp());"
    "CREATE FUNCTION hookline.enqueue(p_type text, p_data text, p_event_id text DEFAULT NULL,"
    " p_ordering_key text DEFAULT NULL, p_endpoint_id text DEFAULT NULL) RETURNS bigint"
    " LANGUAGE sql AS $$ INSERT INTO hookline.events (type, data, event_id, ordering_key,"
    " endpoint_id) VALUES (p_type, p_data, p_event_id, p_ordering_key, p_endpoint_id)"
    " RETURNING id $$;"
    "CREATE FUNCTION hookline.notify_events() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN PERFORM pg_notify('hookline_events', ''); RETURN NULL; END $$;"
    "CREATE TRIGGER events_notify AFTER INSERT ON hookline.events"
    " FOR EACH STATEMENT EXECUTE FUNCTION hookline.notify_events();"
    /* routed, waiting for the endpoint's owner */
    "CREATE TABLE hookline.pending (seq bigserial PRIMARY KEY, endpoint_id text NOT NULL,"
    " event_id text NOT NULL, type text NOT NULL, created_ms bigint NOT NULL, data text,"
    " ordering_key text);"
    "CREATE INDEX pending_by_endpoint ON hookline.pending (endpoint_id, seq);"
    "CREATE TABLE hookline.rejected (seq bigserial PRIMARY KEY, event_id text, type text,"
    " data text, ordering_key text, endpoint_id text, code text NOT NULL, reason text NOT NULL,"
    " rejected_at timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE hookline.batches (seq bigserial UNIQUE, id text PRIMARY KEY,"
    " endpoint_id text NOT NULL, state integer NOT NULL, ordering_key text,"
    " n_events bigint NOT NULL, body_len bigint NOT NULL, created_ms bigint NOT NULL,"
    " deadline_ms bigint NOT NULL, close_at_ms bigint NOT NULL, next_attempt_ms bigint NOT NULL,"
    " attempts bigint NOT NULL, total_attempts bigint NOT NULL, redrives bigint NOT NULL,"
    " last_status integer NOT NULL, last_failure integer NOT NULL, dead_reason text,"
    " settled_ms bigint NOT NULL, body bytea);"
    "CREATE INDEX batches_by_endpoint ON hookline.batches (endpoint_id, state);"
    "CREATE INDEX batches_by_state ON hookline.batches (state, settled_ms);"
    "CREATE TABLE hookline.batch_events (seq bigserial PRIMARY KEY, batch_id text NOT NULL,"
    " json bytea NOT NULL);"
    "CREATE INDEX batch_events_by_batch ON hookline.batch_events (batch_id, seq);"
    "CREATE TABLE hookline.attempts (seq bigserial PRIMARY KEY, batch_id text NOT NULL,"
    " endpoint_id text NOT NULL, attempt bigint NOT NULL, at_ms bigint NOT NULL,"
    " sent_ms bigint NOT NULL, status integer NOT NULL, failure integer NOT NULL,"
    " delivered integer NOT NULL, latency_ms bigint NOT NULL, excerpt bytea, worker_id text);"
    "CREATE INDEX attempts_by_time ON hookline.attempts (at_ms);"
    "CREATE INDEX attempts_by_batch ON hookline.attempts (batch_id);"
    "CREATE INDEX attempts_by_endpoint ON hookline.attempts (endpoint_id, at_ms);"
    "CREATE TABLE hookline.commands (seq bigserial PRIMARY KEY, kind integer NOT NULL,"
    " endpoint_id text NOT NULL, target text, submitted_ms bigint NOT NULL);"
    "CREATE VIEW hookline.dead_letters AS SELECT id, endpoint_id, ordering_key, n_events,"
    " created_ms, attempts, total_attempts, redrives, last_status, dead_reason, settled_ms"
    " FROM hookline.batches WHERE state = 6;",
};

static hl_code read_version(hl_pg *pg, int *version, hl_error *err)
{
    PGresult *r = hlp_exec(pg, "SELECT to_regclass('hookline.meta') IS NOT NULL", 0, NULL, NULL,
                           NULL, "reading the schema version", err);
    int exists;
    *version = 0;
    if (r == NULL)
        return err ? err->code : HL_E_STORE_IO;
    exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!exists)
        return HL_OK; /* a database without our schema */
    r = hlp_exec(pg, "SELECT value FROM hookline.meta WHERE key = 'schema_version'", 0, NULL, NULL,
                 NULL, "reading the schema version", err);
    if (r == NULL)
        return err ? err->code : HL_E_STORE_IO;
    if (PQntuples(r) == 1)
        *version = hlp_get_int(r, 0, 0);
    PQclear(r);
    return HL_OK;
}

static hl_code connect_to(PGconn **out, const char *url, hl_error *err)
{
    char text[320];
    PGconn *c = PQconnectdb(url);
    if (c == NULL)
        return hlp_fail(err, HL_E_NOMEM, "postgres: out of memory connecting");
    if (PQstatus(c) != CONNECTION_OK) {
        server_text(text, sizeof text, PQerrorMessage(c));
        PQfinish(c);
        return hlp_fail(err, HL_E_STORE_UNAVAILABLE, "postgres: cannot connect: %s", text);
    }
    *out = c;
    return HL_OK;
}

int hl_pg_is_url(const char *url)
{
    return url && (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0);
}

hl_code hl_pg_migrate(const char *url, int *from, int *to, hl_error *err)
{
    hl_pg tmp;
    int version = 0;
    hl_code code;
    if (url == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: migrate: NULL url");
    memset(&tmp, 0, sizeof tmp);
    if ((code = connect_to(&tmp.conn, url, err)) != HL_OK)
        return code;
    if ((code = exec0(&tmp, "SET client_min_messages = warning", "configuring", err)) != HL_OK ||
        (code = exec0(&tmp, "BEGIN", "beginning the migration", err)) != HL_OK ||
        (code = exec0(&tmp, "SELECT pg_advisory_xact_lock(7175001)", "locking the migration",
                      err)) != HL_OK ||
        (code = read_version(&tmp, &version, err)) != HL_OK)
        goto out;
    if (from)
        *from = version;
    if (version > HL_PG_SCHEMA_VERSION || version < 0) {
        code = hlp_fail(err, HL_E_STORE_SCHEMA,
                        "postgres: schema version %d is newer than this library's (%d)", version,
                        HL_PG_SCHEMA_VERSION);
        goto out;
    }
    for (; version < HL_PG_SCHEMA_VERSION; version++) {
        char v[24];
        const char *vals[1] = {v};
        PGresult *r;
        if ((code = exec0(&tmp, MIGRATIONS[version], "migrating the schema", err)) != HL_OK)
            goto out;
        hlp_u64(v, (uint64_t)version + 1);
        r = hlp_exec(&tmp, "UPDATE hookline.meta SET value = $1 WHERE key = 'schema_version'", 1,
                     vals, NULL, NULL, "recording the schema version", err);
        if (r == NULL) {
            code = err ? err->code : HL_E_STORE_IO;
            goto out;
        }
        PQclear(r);
    }
    code = exec0(&tmp, "COMMIT", "committing the schema", err);
    if (code == HL_OK && to)
        *to = version;
out:
    if (code != HL_OK)
        PQclear(PQexec(tmp.conn, "ROLLBACK"));
    PQfinish(tmp.conn);
    hlp_forget_prepared(&tmp);
    return code;
}

/* ------------------------------------------------------------------ open */

static uint64_t mono_clock(void *user)
{
    struct timespec ts;
    (void)user;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

hl_code hl_pg_open(hl_pg **out, const char *url, const hl_pg_options *opts, hl_error *err)
{
    static const hl_pg_options defaults = HL_PG_OPTIONS_INIT;
    hl_pg *pg;
    hl_code code;
    int version = 0;

    if (out == NULL || url == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: open: NULL argument");
    if (opts == NULL)
        opts = &defaults;
    if (opts->version != HL_PG_OPTIONS_VERSION)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "hl_pg_options version %u (expected %d)",
                        opts->version, HL_PG_OPTIONS_VERSION);
    if ((pg = calloc(1, sizeof *pg)) == NULL)
        return hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
    pg->opts = *opts;
    if (pg->opts.lease_ms == 0)
        pg->opts.lease_ms = HL_PG_LEASE_DEFAULT_MS;
    if (pg->opts.mono_ms == NULL)
        pg->opts.mono_ms = mono_clock;
    if (opts->worker_id && opts->worker_id[0]) {
        snprintf(pg->worker_id, sizeof pg->worker_id, "%s", opts->worker_id);
    } else {
        char host[64] = "host";
        unsigned char rnd[4] = {0};
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        (void)RAND_bytes(rnd, sizeof rnd);
        snprintf(pg->worker_id, sizeof pg->worker_id, "%s:%ld:%02x%02x%02x%02x", host,
                 (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3]);
    }
    pg->opts.worker_id = pg->worker_id;
    if ((pg->conninfo = malloc(strlen(url) + 1)) == NULL) {
        free(pg);
        return hlp_fail(err, HL_E_NOMEM, "postgres: out of memory");
    }
    strcpy(pg->conninfo, url);
    if ((code = connect_to(&pg->conn, url, err)) != HL_OK ||
        (code = exec0(pg, "SET client_min_messages = warning", "configuring", err)) != HL_OK ||
        (code = read_version(pg, &version, err)) != HL_OK ||
        (code = hl_engine_new(&pg->checker, NULL, err)) != HL_OK) {
        hl_pg_close(pg);
        return code;
    }
    if (version != HL_PG_SCHEMA_VERSION) {
        hl_pg_close(pg);
        return hlp_fail(err, HL_E_STORE_SCHEMA,
                        version > HL_PG_SCHEMA_VERSION
                            ? "postgres: schema version %d is newer than this library's (%d)"
                            : "postgres: schema version %d, this library needs %d: run `hookline "
                              "migrate --store ...` (hl_pg_migrate)",
                        version, HL_PG_SCHEMA_VERSION);
    }
    *out = pg;
    return HL_OK;
}

void hl_pg_close(hl_pg *pg)
{
    if (pg == NULL)
        return;
    if (pg->conn)
        PQfinish(pg->conn);
    if (pg->conninfo) {
        memset(pg->conninfo, 0, strlen(pg->conninfo)); /* may hold a password */
        free(pg->conninfo);
    }
    hl_engine_free(pg->checker);
    free(pg->loaded);
    hlp_forget_prepared(pg);
    free(pg);
}

const char *hl_pg_worker_id(const hl_pg *pg)
{
    return pg ? pg->worker_id : NULL;
}

/* ---------------------------------------------------------- transactions */

static int hook_failed_code(hl_pg *pg, hl_code code, const char *msg)
{
    if (pg->last.code == HL_OK || code != HL_OK) {
        pg->last.code = code;
        snprintf(pg->last.message, sizeof pg->last.message, "%s", msg);
    }
    if (PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    pg->broken = 1;
    return -1;
}

/* A hook failed with `e`: remember why, undo, refuse until rollback. */
static int hook_failed(hl_pg *pg, const hl_error *e)
{
    return hook_failed_code(pg, e->code, e->message);
}

static int st_begin(void *user)
{
    hl_pg *pg = user;
    hl_error e = HL_ERROR_INIT;
    if (pg->broken)
        return -1;
    if (pg->depth++ > 0)
        return 0;
    pg->depth = 0;
    if (hlp_ensure(pg, &e) != HL_OK || exec0(pg, "BEGIN", "beginning a transaction", &e) != HL_OK)
        return hook_failed(pg, &e);
    pg->depth = 1;
    return 0;
}

static int st_commit(void *user)
{
    hl_pg *pg = user;
    hl_error e = HL_ERROR_INIT;
    if (pg->broken || pg->depth == 0)
        return -1;
    if (--pg->depth > 0)
        return 0;
    if (exec0(pg, "COMMIT", "committing", &e) != HL_OK)
        return hook_failed(pg, &e);
    return 0;
}

hl_code hl_pg_begin(hl_pg *pg, hl_error *err)
{
    if (pg == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: NULL argument");
    if (st_begin(pg) != 0)
        return hlp_fail(err, pg->last.code ? pg->last.code : HL_E_STORE, "%s",
                        pg->last.code ? pg->last.message
                                      : "postgres: an earlier failure: roll back first");
    return HL_OK;
}

hl_code hl_pg_commit(hl_pg *pg, hl_error *err)
{
    if (pg == NULL)
        return hlp_fail(err, HL_E_INVALID_ARGUMENT, "postgres: NULL argument");
    if (st_commit(pg) != 0)
        return hlp_fail(err, pg->last.code ? pg->last.code : HL_E_STORE, "%s",
                        pg->last.code ? pg->last.message : "postgres: commit without begin");
    return HL_OK;
}

void hl_pg_rollback(hl_pg *pg)
{
    if (pg == NULL)
        return;
    if (pg->conn && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
    pg->depth = 0;
    pg->broken = 0;
}

const hl_error *hl_pg_last_error(const hl_pg *pg)
{
    return pg ? &pg->last : NULL;
}

/* ----------------------------------------------------------- store hooks */

/*
 * A batch row, fenced: an existing row is only overwritten while its
 * endpoint is not owned by another worker (an old owner whose lease ran
 * out must not clobber the new owner's rows).
 */
static const char BATCH_UPSERT[] =
    "INSERT INTO hookline.batches (id, endpoint_id, state, ordering_key, n_events, body_len,"
    " created_ms, deadline_ms, close_at_ms, next_attempt_ms, attempts, total_attempts, redrives,"
    " last_status, last_failure, dead_reason, settled_ms, body) VALUES ($1, $2, $3, $4, $5, $6,"
    " $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
    " ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
    " ordering_key = excluded.ordering_key, n_events = excluded.n_events,"
    " body_len = excluded.body_len, created_ms = excluded.created_ms,"
    " deadline_ms = excluded.deadline_ms, close_at_ms = excluded.close_at_ms,"
    " next_attempt_ms = excluded.next_attempt_ms, attempts = excluded.attempts,"
    " total_attempts = excluded.total_attempts, redrives = excluded.redrives,"
    " last_status = excluded.last_status, last_failure = excluded.last_failure,"
    " dead_reason = excluded.dead_reason, settled_ms = excluded.settled_ms,"
    " body = coalesce(excluded.body, hookline.batches.body)"
    " WHERE coalesce((SELECT owner FROM hookline.endpoints e WHERE e.id = excluded.endpoint_id),"
    " $19) = $19";

static int st_batch_changed(void *user, const hl_batch_info *b)
{
    hl_pg *pg = user;
    hl_error e = HL_ERROR_INIT;
    char num[13][24];
    const char *vals[19];
    int lens[19] = {0}, bin[19] = {0};
    PGresult *r;
    int changed;
    if (pg->broken)
        return -1;
    hlp_u64(num[0], (uint64_t)b->state);
    hlp_u64(num[1], b->n_events);
    hlp_u64(num[2], b->body_len);
    hlp_u64(num[3], b->created_ms);
    hlp_u64(num[4], b->deadline_ms);
    hlp_u64(num[5], b->close_at_ms);
    hlp_u64(num[6], b->next_attempt_ms);
    hlp_u64(num[7], b->attempts);
    hlp_u64(num[8], b->total_attempts);
    hlp_u64(num[9], b->redrives);
    snprintf(num[10], 24, "%d", b->last_status);
    hlp_u64(num[11], (uint64_t)b->last_failure);
    hlp_u64(num[12], b->settled_ms);
    vals[0] = b->batch_id;
    vals[1] = b->endpoint_id;
    vals[2] = num[0];
    vals[3] = b->ordering_key;
    for (int i = 1; i <= 11; i++)
        vals[3 + i] = num[i];
    vals[15] = b->dead_reason;
    vals[16] = num[12];
    /* an OPEN batch's events live in batch_events; a closed one's body here, once */
    vals[17] = b->state == HL_BATCH_OPEN ? NULL : (b->body ? b->body : "");
    lens[17] = (int)b->body_len;
    bin[17] = 1;
    vals[18] = pg->worker_id;
    r = hlp_exec(pg, BATCH_UPSERT, 19, vals, lens, bin, "writing a batch", &e);
    if (r == NULL)
        return hook_failed(pg, &e);
    changed = atoi(PQcmdTuples(r));
    PQclear(r);
    if (changed != 1) {
        hlp_fail(&e, HL_E_STORE_BUSY,
                 "postgres: endpoint \"%.64s\" is owned by another worker (this worker's lease ran "
                 "out)",
                 b->endpoint_id);
        return hook_failed(pg, &e);
    }
    if (b->state != HL_BATCH_OPEN) {
        const char *v1[1] = {b->batch_id};
        r = hlp_exec(pg, "DELETE FROM hookline.batch_events WHERE batch_id = $1", 1, v1, NULL, NULL,
                     "dropping a closed batch's events", &e);
        if (r == NULL)
            return hook_failed(pg, &e);
        PQclear(r);
    }
    return 0;
}

static int st_event_added(void *user, const char *batch_id, const char *json, size_t len)
{
    hl_pg *pg = user;
    hl_error e = HL_ERROR_INIT;
    const char *vals[2] = {batch_id, json};
    int lens[2] = {0, (int)len}, bin[2] = {0, 1};
    PGresult *r;
    if (pg->broken)
        return -1;
    r = hlp_exec(pg, "INSERT INTO hookline.batch_events (batch_id, json) VALUES ($1, $2)", 2, vals,
                 lens, bin, "writing an event", &e);
    if (r == NULL)
        return hook_failed(pg, &e);
    PQclear(r);
    return 0;
}

static int st_attempt(void *user, const hl_attempt_record *a)
{
    hl_pg *pg = user;
    hl_error e = HL_ERROR_INIT;
    char num[8][24];
    const char *vals[11];
    int lens[11] = {0}, bin[11] = {0};
    PGresult *r;
    if (pg->broken)
        return -1;
    hlp_u64(num[0], a->attempt);
    hlp_u64(num[1], a->at_ms);
    hlp_u64(num[2], a->sent_ms);
    snprintf(num[3], 24, "%d", a->status);
    hlp_u64(num[4], (uint64_t)a->failure);
    snprintf(num[5], 24, "%d", a->delivered ? 1 : 0);
    hlp_u64(num[6], a->latency_ms);
    vals[0] = a->batch_id;
    vals[1] = a->endpoint_id;
    for (int i = 0; i < 7; i++)
        vals[2 + i] = num[i];
    vals[9] = a->excerpt_len ? a->excerpt : NULL;
    lens[9] = (int)a->excerpt_len;
    bin[9] = 1;
    vals[10] = pg->worker_id;
    r = hlp_exec(pg,
                 "INSERT INTO hookline.attempts (batch_id, endpoint_id, attempt, at_ms, sent_ms,"
                 " status, failure, delivered, latency_ms, excerpt, worker_id) VALUES ($1, $2, $3,"
                 " $4, $5, $6, $7, $8, $9, $10, $11)",
                 11, vals, lens, bin, "writing an attempt", &e);
    if (r == NULL)
        return hook_failed(pg, &e);
    PQclear(r);
    return 0;
}

static int st_batch_removed(void *user, const char *batch_id)
{
    hl_pg *pg = user;
    hl_error e = HL_ERROR_INIT;
    const char *vals[1] = {batch_id};
    PGresult *r;
    if (pg->broken)
        return -1;
    /* a delivered batch keeps its status row (pruned later) without its body */
    r = hlp_exec(pg,
                 "WITH gone AS (DELETE FROM hookline.batches WHERE id = $1 AND state <> 5"
                 " RETURNING id) UPDATE hookline.batches SET body = NULL WHERE id = $1 AND state = 5",
                 1, vals, NULL, NULL, "removing a batch", &e);
    if (r == NULL)
        return hook_failed(pg, &e);
    PQclear(r);
    r = hlp_exec(pg, "DELETE FROM hookline.batch_events WHERE batch_id = $1", 1, vals, NULL, NULL,
                 "removing a batch's events", &e);
    if (r == NULL)
        return hook_failed(pg, &e);
    PQclear(r);
    return 0;
}

static int st_endpoint_changed(void *user, const char *endpoint_id, hl_disabled_reason why)
{
    hl_pg *pg = user;
    hl_error e = HL_ERROR_INIT;
    char num[24];
    const char *vals[2] = {endpoint_id, num};
    PGresult *r;
    if (pg->broken)
        return -1;
    hlp_u64(num, (uint64_t)why);
    r = hlp_exec(pg, "UPDATE hookline.endpoints SET disabled = $2 WHERE id = $1", 2, vals, NULL,
                 NULL, "writing an endpoint's state", &e);
    if (r == NULL)
        return hook_failed(pg, &e);
    PQclear(r);
    return 0;
}

hl_store hl_pg_store(hl_pg *pg)
{
    hl_store s = {pg,           st_begin,   st_commit,        st_batch_changed,
                  st_event_added, st_attempt, st_batch_removed, st_endpoint_changed};
    return s;
}
