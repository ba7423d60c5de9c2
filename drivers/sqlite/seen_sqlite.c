/*
 * seen_sqlite.c - the seen-id store in an SQLite file (see
 * hookline/seen_sqlite.h for the guarantees). Every call is one prepared
 * statement in its own implicit transaction: the atomicity the dedupe
 * contract needs comes from SQLite's write lock, not from anything here.
 */
#include "sqlite_errors.h"
#include "hookline/seen_sqlite.h"

#include <sqlite3.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sqlite_store {
    sqlite3 *db;
    sqlite3_stmt *upsert;
    sqlite3_stmt *lookup;
    sqlite3_stmt *erase;
    sqlite3_stmt *prune;
    sqlite3_stmt *count;
    unsigned adds_since_prune;
    uint64_t expired;
} sqlite_store;

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS hl_seen ("
    " id BLOB PRIMARY KEY NOT NULL,"
    " expires_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS hl_seen_by_expiry ON hl_seen (expires_at);";

/* One statement decides and marks: a conflict on a live id changes nothing
 * (changes() == 0: a duplicate); an absent or expired id is written
 * (changes() == 1: new). */
static const char UPSERT[] =
    "INSERT INTO hl_seen (id, expires_at) VALUES (?1, ?2)"
    " ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at"
    " WHERE hl_seen.expires_at <= ?3";
static const char LOOKUP[] = "SELECT expires_at > ?2 FROM hl_seen WHERE id = ?1";
static const char ERASE[] = "DELETE FROM hl_seen WHERE id = ?1";
static const char PRUNE[] =
    "DELETE FROM hl_seen WHERE id IN"
    " (SELECT id FROM hl_seen WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)";
static const char COUNT[] = "SELECT count(*) FROM hl_seen";

/* The driver's shared error helpers under this file's short names. */
#define fail hls_fail
#define code_of hls_code_of
#define fail_db(err, db, rc, what) hls_fail_db((err), (db), (rc), "seen store", (what))

static sqlite3_int64 as_db_time(uint64_t ms)
{
    return ms > (uint64_t)INT64_MAX ? (sqlite3_int64)INT64_MAX : (sqlite3_int64)ms;
}

/* Run a prepared statement that returns no rows (or whose rows we ignore)
 * and reset it, so the implicit transaction ends and locks are released. */
static int run(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static hl_code prune_rows(sqlite_store *s, uint64_t now_ms, size_t max, size_t *pruned,
                          hl_error *err)
{
    int rc;
    sqlite3_bind_int64(s->prune, 1, as_db_time(now_ms));
    sqlite3_bind_int64(s->prune, 2, max == 0 || max > (size_t)INT64_MAX ? -1 : (sqlite3_int64)max);
    if ((rc = run(s->prune)) != SQLITE_OK)
        return fail_db(err, s->db, rc, "pruning expired ids");
    *pruned = (size_t)sqlite3_changes(s->db);
    s->expired += *pruned;
    return HL_OK;
}

static hl_code sql_check_and_add(void *self, const void *id, size_t id_len, uint64_t now_ms,
                                 uint64_t ttl_ms, int *was_new, hl_error *err)
{
    sqlite_store *s = self;
    uint64_t expires = ttl_ms > UINT64_MAX - now_ms ? UINT64_MAX : now_ms + ttl_ms;
    int rc;

    sqlite3_bind_blob(s->upsert, 1, id, (int)id_len, SQLITE_STATIC);
    sqlite3_bind_int64(s->upsert, 2, as_db_time(expires));
    sqlite3_bind_int64(s->upsert, 3, as_db_time(now_ms));
    if ((rc = run(s->upsert)) != SQLITE_OK)
        return fail_db(err, s->db, rc, "marking an id");
    *was_new = sqlite3_changes(s->db) > 0;
    if (*was_new && ++s->adds_since_prune >= HL_SEEN_SQLITE_PRUNE_EVERY) {
        size_t n;
        s->adds_since_prune = 0;
        /* Housekeeping only: the mark above is committed, so a failure here
         * (say, another process holds the lock) must not turn it into one. */
        (void)prune_rows(s, now_ms, HL_SEEN_SQLITE_PRUNE_BATCH, &n, NULL);
    }
    return HL_OK;
}

static hl_code sql_contains(void *self, const void *id, size_t id_len, uint64_t now_ms,
                            int *present, hl_error *err)
{
    sqlite_store *s = self;
    int rc;

    sqlite3_bind_blob(s->lookup, 1, id, (int)id_len, SQLITE_STATIC);
    sqlite3_bind_int64(s->lookup, 2, as_db_time(now_ms));
    rc = sqlite3_step(s->lookup);
    *present = rc == SQLITE_ROW && sqlite3_column_int(s->lookup, 0) != 0;
    sqlite3_reset(s->lookup);
    sqlite3_clear_bindings(s->lookup);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_db(err, s->db, rc, "looking up an id");
    return HL_OK;
}

static hl_code sql_remove(void *self, const void *id, size_t id_len, int *removed, hl_error *err)
{
    sqlite_store *s = self;
    int rc;

    sqlite3_bind_blob(s->erase, 1, id, (int)id_len, SQLITE_STATIC);
    if ((rc = run(s->erase)) != SQLITE_OK)
        return fail_db(err, s->db, rc, "removing an id");
    *removed = sqlite3_changes(s->db) > 0;
    return HL_OK;
}

static hl_code sql_prune(void *self, uint64_t now_ms, size_t max, size_t *pruned, hl_error *err)
{
    return prune_rows(self, now_ms, max, pruned, err);
}

static void sql_stats(const void *self, hl_seen_stats *out)
{
    const sqlite_store *s = self;
    if (sqlite3_step(s->count) == SQLITE_ROW)
        out->live = (uint64_t)sqlite3_column_int64(s->count, 0);
    sqlite3_reset(s->count);
    out->expired = s->expired;
}

static void sql_close(void *self)
{
    sqlite_store *s = self;
    if (s == NULL)
        return;
    sqlite3_finalize(s->upsert);
    sqlite3_finalize(s->lookup);
    sqlite3_finalize(s->erase);
    sqlite3_finalize(s->prune);
    sqlite3_finalize(s->count);
    /* The last connection to close checkpoints the WAL into the file. */
    sqlite3_close_v2(s->db);
    free(s);
}

static const hl_seen_store_ops SQLITE_OPS = {
    HL_SEEN_STORE_OPS_VERSION, "sqlite", sql_check_and_add, sql_contains, sql_remove,
    sql_prune,                 sql_stats, sql_close,
};

/* Journal mode, sync level, size limit, table. */
static hl_code configure(sqlite_store *s, const hl_seen_sqlite_options *o, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    char sql[96];
    int rc;

    sqlite3_busy_timeout(s->db, o->busy_timeout_ms);
    if (sqlite3_db_readonly(s->db, "main") == 1)
        return fail(err, HL_E_STORE_READONLY, "seen store: the file is not writable");
    /* The first statement is the first read of the file: a foreign or
     * damaged file shows up here as "file is not a database". */
    if ((rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) != SQLITE_OK)
        return fail_db(err, s->db, rc, "opening the journal");
    if ((rc = sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL)) != SQLITE_OK)
        return fail_db(err, s->db, rc, "setting synchronous");
    if (o->max_bytes > 0) {
        sqlite3_int64 page = 4096, pages;
        if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            page = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        pages = (sqlite3_int64)(o->max_bytes / (uint64_t)(page > 0 ? page : 4096));
        snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)(pages > 0 ? pages : 1));
        if ((rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
            return fail_db(err, s->db, rc, "setting the size limit");
    }
    if ((rc = sqlite3_exec(s->db, SCHEMA, NULL, NULL, NULL)) != SQLITE_OK) {
        if ((rc & 0xff) == SQLITE_ERROR) /* "no such column": someone else's hl_seen */
            return fail(err, HL_E_STORE_SCHEMA,
                        "seen store: the file has an hl_seen table of another shape: %s",
                        sqlite3_errmsg(s->db));
        return fail_db(err, s->db, rc, "creating the table");
    }

    /* A table named hl_seen of another shape fails to prepare here. */
    if ((rc = sqlite3_prepare_v2(s->db, UPSERT, -1, &s->upsert, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(s->db, LOOKUP, -1, &s->lookup, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(s->db, ERASE, -1, &s->erase, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(s->db, PRUNE, -1, &s->prune, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(s->db, COUNT, -1, &s->count, NULL)) != SQLITE_OK) {
        if ((rc & 0xff) == SQLITE_ERROR)
            return fail(err, HL_E_STORE_SCHEMA,
                        "seen store: the file has an hl_seen table of another shape: %s",
                        sqlite3_errmsg(s->db));
        return fail_db(err, s->db, rc, "preparing statements");
    }
    return HL_OK;
}

hl_code hl_seen_sqlite_open(hl_seen **out, const char *path, const hl_seen_sqlite_options *opts,
                            hl_error *err)
{
    static const hl_seen_sqlite_options defaults = HL_SEEN_SQLITE_OPTIONS_INIT;
    sqlite_store *s;
    hl_code code;
    int rc;

    if (out == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "out is NULL");
    if (path == NULL || path[0] == '\0')
        /* SQLite would open a private temporary file for "": never what a
         * caller asking for durability meant. */
        return fail(err, HL_E_INVALID_ARGUMENT, "seen store: the path is empty");
    if (opts == NULL)
        opts = &defaults;
    if (opts->version != HL_SEEN_SQLITE_OPTIONS_VERSION)
        return fail(err, HL_E_INVALID_ARGUMENT, "hl_seen_sqlite_options version %u (expected %d)",
                    opts->version, HL_SEEN_SQLITE_OPTIONS_VERSION);
    if (opts->default_ttl_ms == 0 || opts->busy_timeout_ms < 0)
        return fail(err, HL_E_INVALID_ARGUMENT,
                    "seen store: default ttl must be > 0 and busy timeout >= 0");

    if ((s = calloc(1, sizeof *s)) == NULL)
        return fail(err, HL_E_NOMEM, "out of memory for the seen store");
    rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        code = fail_db(err, s->db, rc, "cannot open the file");
        /* "unable to open database file" is SQLite's word for a missing
         * directory or a directory given as the file: an I/O problem. */
        if (code == HL_E_STORE_CORRUPT)
            code = HL_E_STORE_IO;
        if (err != NULL)
            err->code = code;
        sql_close(s);
        return code;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if ((code = configure(s, opts, err)) != HL_OK) {
        sql_close(s);
        return code;
    }
    return hl_seen_wrap(out, &SQLITE_OPS, s, opts->default_ttl_ms, err);
}
