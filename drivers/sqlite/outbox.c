/*
 * outbox.c - the engine's store interface over one SQLite file (see
 * hookline/outbox.h for the guarantees and docs/outbox.md for the schema).
 *
 * Write pattern, chosen so an enqueue costs O(1) row writes whatever the
 * batch size: an OPEN batch is a small row in hl_batches plus one row per
 * event in hl_events; when it closes its body is written once to hl_bodies
 * and its event rows go. Later state changes rewrite only the small
 * hl_batches row (SQLite rewrites whole records, so bodies live apart).
 * Event rows are held in memory until the outermost commit and written
 * only for batches still open then: a batch that opens and closes within
 * one transaction (grouped enqueues) never writes them at all.
 */
#include "sqlite_errors.h"
#include "hookline/outbox.h"

#include <sqlite3.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_BATCH_UPSERT,
    S_BODY_PUT,
    S_EVENTS_DEL,
    S_EVENT_ADD,
    S_ATTEMPT_ADD,
    S_BODY_DEL,
    S_BATCH_DEL,
    S_ENDPOINT_DISABLED,
    S_INBOX_ANY,
    S_COMMAND_NEXT,
    S__COUNT
};

#define BATCH_COLS                                                                               \
    "id, endpoint_id, state, ordering_key, n_events, body_len, created_ms, deadline_ms, "       \
    "close_at_ms, next_attempt_ms, attempts, total_attempts, redrives, last_status, "          \
    "last_failure, dead_reason, settled_ms"

static const char *const STMT_SQL[S__COUNT] = {
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT INTO hl_batches (" BATCH_COLS ") VALUES"
    " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    " ON CONFLICT (id) DO UPDATE SET endpoint_id = excluded.endpoint_id,"
    " state = excluded.state, ordering_key = excluded.ordering_key,"
    " n_events = excluded.n_events, body_len = excluded.body_len,"
    " created_ms = excluded.created_ms, deadline_ms = excluded.deadline_ms,"
    " close_at_ms = excluded.close_at_ms, next_attempt_ms = excluded.next_attempt_ms,"
    " attempts = excluded.attempts, total_attempts = excluded.total_attempts,"
    " redrives = excluded.redrives, last_status = excluded.last_status,"
    " last_failure = excluded.last_failure, dead_reason = excluded.dead_reason,"
    " settled_ms = excluded.settled_ms",
    "INSERT OR IGNORE INTO hl_bodies (batch_id, body) VALUES (?1, ?2)",
    "DELETE FROM hl_events WHERE batch_id = ?1",
    "INSERT INTO hl_events (batch_id, json) VALUES (?1, ?2)",
    ("INSERT INTO hl_attempts (batch_id, endpoint_id, attempt, at_ms, sent_ms, status, failure,"
     " delivered, latency_ms, excerpt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
    "DELETE FROM hl_bodies WHERE batch_id = ?1",
    /* a delivered batch keeps its status row (pruned later); a purged one goes */
    "DELETE FROM hl_batches WHERE id = ?1 AND state <> 5",
    "UPDATE hl_endpoints SET disabled = ?2 WHERE id = ?1",
    /* the polls of every worker step: prepared once, usually find nothing */
    "SELECT 1 FROM hl_inbox LIMIT 1",
    "SELECT seq, kind, target FROM hl_commands ORDER BY seq LIMIT 1",
};

/* Schema steps: MIGRATIONS[v] takes a file from version v to v + 1. */
static const char *const MIGRATIONS[HL_OUTBOX_SCHEMA_VERSION] = {
    "CREATE TABLE hl_outbox_meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);"
    "CREATE TABLE hl_endpoints (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " config TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"
    " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE TABLE hl_batches (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " endpoint_id TEXT NOT NULL, state INTEGER NOT NULL, ordering_key TEXT,"
    " n_events INTEGER NOT NULL, body_len INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    " deadline_ms INTEGER NOT NULL, close_at_ms INTEGER NOT NULL,"
    " next_attempt_ms INTEGER NOT NULL, attempts INTEGER NOT NULL,"
    " total_attempts INTEGER NOT NULL, redrives INTEGER NOT NULL,"
    " last_status INTEGER NOT NULL, last_failure INTEGER NOT NULL, dead_reason TEXT,"
    " settled_ms INTEGER NOT NULL);"
    "CREATE INDEX hl_batches_by_state ON hl_batches (state, settled_ms);"
    "CREATE TABLE hl_bodies (batch_id TEXT PRIMARY KEY NOT NULL, body BLOB NOT NULL);"
    "CREATE TABLE hl_events (seq INTEGER PRIMARY KEY, batch_id TEXT NOT NULL,"
    " json BLOB NOT NULL);"
    "CREATE INDEX hl_events_by_batch ON hl_events (batch_id);"
    "CREATE TABLE hl_attempts (seq INTEGER PRIMARY KEY, batch_id TEXT NOT NULL,"
    " endpoint_id TEXT NOT NULL, attempt INTEGER NOT NULL, at_ms INTEGER NOT NULL,"
    " sent_ms INTEGER NOT NULL, status INTEGER NOT NULL, failure INTEGER NOT NULL,"
    " delivered INTEGER NOT NULL, latency_ms INTEGER NOT NULL, excerpt BLOB);"
    "CREATE INDEX hl_attempts_by_time ON hl_attempts (at_ms);"
    "CREATE INDEX hl_attempts_by_batch ON hl_attempts (batch_id);"
    "CREATE INDEX hl_attempts_by_endpoint ON hl_attempts (endpoint_id, at_ms);"
    "CREATE VIEW hl_dead_letters AS SELECT " BATCH_COLS
    " FROM hl_batches WHERE state = 6 ORDER BY settled_ms, seq;"
    "INSERT INTO hl_outbox_meta (key, value) VALUES ('schema_version', 0);",
    /* 1 -> 2: the inbox, where other processes hand events to the worker */
    "CREATE TABLE hl_inbox (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL,"
    " type TEXT NOT NULL, created_ms INTEGER NOT NULL, data BLOB, ordering_key TEXT);"
    "CREATE TABLE hl_inbox_rejected (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL,"
    " type TEXT NOT NULL, created_ms INTEGER NOT NULL, data BLOB, ordering_key TEXT,"
    " code TEXT NOT NULL, reason TEXT NOT NULL, rejected_ms INTEGER NOT NULL);",
    /* 2 -> 3: commands other processes queue for the worker */
    ("CREATE TABLE hl_commands (seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, target TEXT,"
     " submitted_ms INTEGER NOT NULL);"),
};

struct hl_outbox {
    sqlite3 *db;
    hl_engine *checker; /* an engine with no endpoint: validates submitted events */
    sqlite3_stmt *st[S__COUNT];
    hl_outbox_options opts;
    int depth;  /* nesting of begin/commit */
    int broken; /* a hook failed: rolled back; refuse until hl_outbox_rollback */
    int lazy;   /* synchronous is NORMAL for the open hl_outbox_begin_lazy transaction */
    hl_error last;
    /* event rows of this transaction not yet written (see the top) */
    struct pending_event {
        char batch_id[HL_BATCH_ID_MAX];
        size_t at, len; /* in pending_bytes */
        int live;       /* 0: its batch closed or went: never written */
    } *pending;
    size_t n_pending, cap_pending, n_live;
    char *pending_bytes;
    size_t pending_used, pending_cap;
};

/* The driver's shared error helpers under this file's short names. */
#define fail hls_fail
#define code_of hls_code_of
#define fail_db(err, db, rc, what) hls_fail_db((err), (db), (rc), "outbox", (what))

static sqlite3_int64 db_time(uint64_t ms)
{
    return ms > (uint64_t)INT64_MAX ? (sqlite3_int64)INT64_MAX : (sqlite3_int64)ms;
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);
    return v < 0 ? 0 : (uint64_t)v;
}

/* Step a statement that returns no rows we need, then reset it. */
static int run(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* ------------------------------------------------------------ transactions */

/* After a lazy transaction: back to FULL (outside any transaction, where
 * SQLite applies it). Kept pending if it fails: the next begin retries. */
static int restore_sync(hl_outbox *ob)
{
    if (!ob->lazy || !sqlite3_get_autocommit(ob->db))
        return ob->lazy ? -1 : 0;
    if (sqlite3_exec(ob->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    ob->lazy = 0;
    return 0;
}

static int hook_failed(hl_outbox *ob, int rc, const char *what);

static void pending_clear(hl_outbox *ob)
{
    ob->n_pending = ob->n_live = ob->pending_used = 0;
}

/* Hold an event row until the commit; 0, or -1 when out of memory (the
 * caller then writes it at once). */
static int pending_add(hl_outbox *ob, const char *batch_id, const char *json, size_t len)
{
    struct pending_event *p;
    if (strlen(batch_id) >= HL_BATCH_ID_MAX)
        return -1;
    if (ob->n_pending == ob->cap_pending) {
        size_t cap = ob->cap_pending ? ob->cap_pending * 2 : 256;
        p = realloc(ob->pending, cap * sizeof *p);
        if (p == NULL)
            return -1;
        ob->pending = p;
        ob->cap_pending = cap;
    }
    if (len > ob->pending_cap - ob->pending_used) {
        size_t cap = ob->pending_cap ? ob->pending_cap : 64 * 1024;
        char *b;
        while (cap - ob->pending_used < len)
            cap *= 2;
        if ((b = realloc(ob->pending_bytes, cap)) == NULL)
            return -1;
        ob->pending_bytes = b;
        ob->pending_cap = cap;
    }
    p = &ob->pending[ob->n_pending++];
    snprintf(p->batch_id, sizeof p->batch_id, "%s", batch_id);
    p->at = ob->pending_used;
    p->len = len;
    p->live = 1;
    memcpy(ob->pending_bytes + p->at, json, len);
    ob->pending_used += len;
    ob->n_live++;
    return 0;
}

/* A batch closed or went: its held event rows are not needed. */
static void pending_drop(hl_outbox *ob, const char *batch_id)
{
    for (size_t i = ob->n_pending; ob->n_live > 0 && i-- > 0;)
        if (ob->pending[i].live && strcmp(ob->pending[i].batch_id, batch_id) == 0) {
            ob->pending[i].live = 0;
            ob->n_live--;
        }
}

/* Write the held event rows, in order. SQLite's code, SQLITE_OK if none. */
static int pending_flush(hl_outbox *ob)
{
    sqlite3_stmt *st = ob->st[S_EVENT_ADD];
    int rc = SQLITE_OK;
    for (size_t i = 0; i < ob->n_pending && ob->n_live > 0; i++) {
        struct pending_event *p = &ob->pending[i];
        if (!p->live)
            continue;
        sqlite3_bind_text(st, 1, p->batch_id, -1, SQLITE_STATIC);
        sqlite3_bind_blob64(st, 2, ob->pending_bytes + p->at, p->len, SQLITE_STATIC);
        if ((rc = run(st)) != SQLITE_OK)
            break;
        p->live = 0;
        ob->n_live--;
    }
    if (rc == SQLITE_OK)
        pending_clear(ob);
    return rc;
}

/* Reads of hl_events inside a transaction must see the held rows. */
static hl_code pending_flush_for_read(hl_outbox *ob, hl_error *err)
{
    int rc;
    if (ob->n_live == 0)
        return HL_OK;
    if ((rc = pending_flush(ob)) != SQLITE_OK) {
        (void)hook_failed(ob, rc, "writing events");
        return fail(err, ob->last.code, "%s", ob->last.message);
    }
    return HL_OK;
}

/* A hook failed: remember why, undo the transaction, refuse until reset. */
static int hook_failed(hl_outbox *ob, int rc, const char *what)
{
    fail_db(&ob->last, ob->db, rc, what);
    pending_clear(ob);
    if (!sqlite3_get_autocommit(ob->db))
        run(ob->st[S_ROLLBACK]);
    (void)restore_sync(ob);
    ob->broken = 1;
    return -1;
}

static int st_begin(void *user)
{
    hl_outbox *ob = user;
    int rc;
    if (ob->broken)
        return -1;
    if (ob->depth++ > 0)
        return 0;
    if (ob->lazy && restore_sync(ob) != 0) { /* never commit an event unsynced */
        ob->depth--;
        return hook_failed(ob, SQLITE_ERROR, "restoring synchronous=FULL");
    }
    if ((rc = run(ob->st[S_BEGIN])) != SQLITE_OK) {
        ob->depth--;
        return hook_failed(ob, rc, "beginning a transaction");
    }
    return 0;
}

static int st_commit(void *user)
{
    hl_outbox *ob = user;
    int rc;
    if (ob->broken || ob->depth == 0)
        return -1;
    if (--ob->depth > 0)
        return 0;
    if ((rc = pending_flush(ob)) != SQLITE_OK)
        return hook_failed(ob, rc, "writing events");
    if ((rc = run(ob->st[S_COMMIT])) != SQLITE_OK)
        return hook_failed(ob, rc, "committing");
    (void)restore_sync(ob);
    return 0;
}

hl_code hl_outbox_begin(hl_outbox *ob, hl_error *err)
{
    if (ob == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: NULL argument");
    if (st_begin(ob) != 0)
        return fail(err, ob->last.code ? ob->last.code : HL_E_STORE,
                    "%s", ob->last.code ? ob->last.message : "outbox: an earlier failure: roll back first");
    return HL_OK;
}

hl_code hl_outbox_begin_lazy(hl_outbox *ob, hl_error *err)
{
    hl_code rc;
    if (ob == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: NULL argument");
    if (ob->depth == 0 && !ob->broken && !ob->lazy &&
        ob->opts.synchronous == HL_OUTBOX_SYNC_FULL &&
        sqlite3_exec(ob->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) == SQLITE_OK)
        ob->lazy = 1;
    rc = hl_outbox_begin(ob, err);
    if (rc != HL_OK)
        (void)restore_sync(ob);
    return rc;
}

hl_code hl_outbox_commit(hl_outbox *ob, hl_error *err)
{
    if (ob == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: NULL argument");
    if (st_commit(ob) != 0)
        return fail(err, ob->last.code ? ob->last.code : HL_E_STORE, "%s",
                    ob->last.code ? ob->last.message : "outbox: commit without begin");
    return HL_OK;
}

void hl_outbox_rollback(hl_outbox *ob)
{
    if (ob == NULL)
        return;
    if (!sqlite3_get_autocommit(ob->db))
        run(ob->st[S_ROLLBACK]);
    (void)restore_sync(ob);
    pending_clear(ob);
    ob->depth = 0;
    ob->broken = 0;
}

const hl_error *hl_outbox_last_error(const hl_outbox *ob)
{
    return ob ? &ob->last : NULL;
}

/* ------------------------------------------------------------- store hooks */

static int write_batch_row(hl_outbox *ob, const hl_batch_info *b)
{
    sqlite3_stmt *st = ob->st[S_BATCH_UPSERT];
    bind_text(st, 1, b->batch_id);
    bind_text(st, 2, b->endpoint_id);
    sqlite3_bind_int(st, 3, (int)b->state);
    bind_text(st, 4, b->ordering_key);
    sqlite3_bind_int64(st, 5, b->n_events);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)b->body_len);
    sqlite3_bind_int64(st, 7, db_time(b->created_ms));
    sqlite3_bind_int64(st, 8, db_time(b->deadline_ms));
    sqlite3_bind_int64(st, 9, db_time(b->close_at_ms));
    sqlite3_bind_int64(st, 10, db_time(b->next_attempt_ms));
    sqlite3_bind_int64(st, 11, b->attempts);
    sqlite3_bind_int64(st, 12, b->total_attempts);
    sqlite3_bind_int64(st, 13, b->redrives);
    sqlite3_bind_int(st, 14, b->last_status);
    sqlite3_bind_int(st, 15, (int)b->last_failure);
    bind_text(st, 16, b->dead_reason);
    sqlite3_bind_int64(st, 17, db_time(b->settled_ms));
    return run(st);
}

/* A closed batch: its event rows gone, its body once. In that order: the
 * pages the events free are reused for the body, so a batch can close (and
 * be delivered, freeing space) even when the file is at its size limit. */
static int write_body(hl_outbox *ob, const char *batch_id, const char *body, size_t len)
{
    int rc;
    pending_drop(ob, batch_id);
    sqlite3_bind_text(ob->st[S_EVENTS_DEL], 1, batch_id, -1, SQLITE_STATIC);
    if ((rc = run(ob->st[S_EVENTS_DEL])) != SQLITE_OK)
        return rc;
    sqlite3_bind_text(ob->st[S_BODY_PUT], 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(ob->st[S_BODY_PUT], 2, body, len, SQLITE_STATIC);
    return run(ob->st[S_BODY_PUT]);
}

static int st_batch_changed(void *user, const hl_batch_info *b)
{
    hl_outbox *ob = user;
    int rc;
    if (ob->broken)
        return -1;
    if ((rc = write_batch_row(ob, b)) != SQLITE_OK)
        return hook_failed(ob, rc, "writing a batch");
    /* A delivered batch is removed next (st_batch_removed, same
     * transaction: the engine forgets it at once), its body and events
     * with it: writing them first would be undone. */
    if (b->state != HL_BATCH_OPEN && b->state != HL_BATCH_DELIVERED &&
        (rc = write_body(ob, b->batch_id, b->body, b->body_len)) != SQLITE_OK)
        return hook_failed(ob, rc, "writing a batch body");
    return 0;
}

static int st_event_added(void *user, const char *batch_id, const char *json, size_t len)
{
    hl_outbox *ob = user;
    sqlite3_stmt *st = ob->st[S_EVENT_ADD];
    int rc;
    if (ob->broken)
        return -1;
    if (ob->depth > 0 && pending_add(ob, batch_id, json, len) == 0)
        return 0;
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 2, json, len, SQLITE_STATIC);
    if ((rc = run(st)) != SQLITE_OK)
        return hook_failed(ob, rc, "writing an event");
    return 0;
}

static int st_attempt(void *user, const hl_attempt_record *a)
{
    hl_outbox *ob = user;
    sqlite3_stmt *st = ob->st[S_ATTEMPT_ADD];
    int rc;
    if (ob->broken)
        return -1;
    bind_text(st, 1, a->batch_id);
    bind_text(st, 2, a->endpoint_id);
    sqlite3_bind_int64(st, 3, a->attempt);
    sqlite3_bind_int64(st, 4, db_time(a->at_ms));
    sqlite3_bind_int64(st, 5, db_time(a->sent_ms));
    sqlite3_bind_int(st, 6, a->status);
    sqlite3_bind_int(st, 7, (int)a->failure);
    sqlite3_bind_int(st, 8, a->delivered);
    sqlite3_bind_int64(st, 9, db_time(a->latency_ms));
    if (a->excerpt && a->excerpt_len)
        sqlite3_bind_blob64(st, 10, a->excerpt, a->excerpt_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 10);
    if ((rc = run(st)) != SQLITE_OK)
        return hook_failed(ob, rc, "writing an attempt record");
    return 0;
}

static int st_batch_removed(void *user, const char *batch_id)
{
    hl_outbox *ob = user;
    int rc;
    if (ob->broken)
        return -1;
    pending_drop(ob, batch_id);
    sqlite3_bind_text(ob->st[S_BODY_DEL], 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ob->st[S_EVENTS_DEL], 1, batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ob->st[S_BATCH_DEL], 1, batch_id, -1, SQLITE_STATIC);
    if ((rc = run(ob->st[S_BODY_DEL])) != SQLITE_OK ||
        (rc = run(ob->st[S_EVENTS_DEL])) != SQLITE_OK ||
        (rc = run(ob->st[S_BATCH_DEL])) != SQLITE_OK)
        return hook_failed(ob, rc, "removing a batch");
    return 0;
}

static int st_endpoint_changed(void *user, const char *endpoint_id, hl_disabled_reason why)
{
    hl_outbox *ob = user;
    sqlite3_stmt *st = ob->st[S_ENDPOINT_DISABLED];
    int rc;
    if (ob->broken)
        return -1;
    sqlite3_bind_text(st, 1, endpoint_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)why);
    if ((rc = run(st)) != SQLITE_OK)
        return hook_failed(ob, rc, "writing an endpoint's state");
    return 0;
}

hl_store hl_outbox_store(hl_outbox *ob)
{
    hl_store s = {ob,           st_begin,         st_commit,          st_batch_changed,
                  st_event_added, st_attempt,     st_batch_removed,   st_endpoint_changed};
    return s;
}

/* ------------------------------------------------------------------ open */

static hl_code schema_version(hl_outbox *ob, int *version, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        ob->db, "SELECT value FROM hl_outbox_meta WHERE key = 'schema_version'", -1, &st, NULL);
    *version = 0;
    if (rc != SQLITE_OK) {
        sqlite3_stmt *probe = NULL;
        int exists = 0;
        /* no meta table: a new file, unless our tables are there without it */
        if ((rc & 0xff) != SQLITE_ERROR)
            return fail_db(err, ob->db, rc, "reading the schema version");
        if (sqlite3_prepare_v2(ob->db,
                               "SELECT count(*) FROM sqlite_master WHERE name IN"
                               " ('hl_batches', 'hl_endpoints', 'hl_events', 'hl_attempts')",
                               -1, &probe, NULL) == SQLITE_OK &&
            sqlite3_step(probe) == SQLITE_ROW)
            exists = sqlite3_column_int(probe, 0);
        sqlite3_finalize(probe);
        if (exists)
            return fail(err, HL_E_STORE_SCHEMA,
                        "outbox: the file has outbox tables but no version table");
        return HL_OK;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_db(err, ob->db, rc, "reading the schema version");
    return HL_OK;
}

static hl_code migrate(hl_outbox *ob, hl_error *err)
{
    int version, rc;
    char sql[96];
    hl_code code;

    if ((rc = sqlite3_exec(ob->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
        return fail_db(err, ob->db, rc, "locking the file to check its schema");
    if ((code = schema_version(ob, &version, err)) != HL_OK)
        goto undo;
    if (version > HL_OUTBOX_SCHEMA_VERSION || version < 0) {
        code = fail(err, HL_E_STORE_SCHEMA,
                    "outbox: schema version %d is newer than this library's (%d)", version,
                    HL_OUTBOX_SCHEMA_VERSION);
        goto undo;
    }
    for (; version < HL_OUTBOX_SCHEMA_VERSION; version++) {
        if ((rc = sqlite3_exec(ob->db, MIGRATIONS[version], NULL, NULL, NULL)) != SQLITE_OK) {
            code = (rc & 0xff) == SQLITE_ERROR
                       ? fail(err, HL_E_STORE_SCHEMA, "outbox: migrating to version %d: %s",
                              version + 1, sqlite3_errmsg(ob->db))
                       : fail_db(err, ob->db, rc, "migrating the schema");
            goto undo;
        }
        snprintf(sql, sizeof sql,
                 "UPDATE hl_outbox_meta SET value = %d WHERE key = 'schema_version'", version + 1);
        if ((rc = sqlite3_exec(ob->db, sql, NULL, NULL, NULL)) != SQLITE_OK) {
            code = fail_db(err, ob->db, rc, "recording the schema version");
            goto undo;
        }
    }
    if ((rc = sqlite3_exec(ob->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
        code = fail_db(err, ob->db, rc, "committing the schema");
        goto undo;
    }
    return HL_OK;
undo:
    sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
    return code;
}

static hl_code configure(hl_outbox *ob, hl_error *err)
{
    const hl_outbox_options *o = &ob->opts;
    sqlite3_stmt *st = NULL;
    char sql[96];
    int rc;
    hl_code code;

    sqlite3_busy_timeout(ob->db, o->busy_timeout_ms);
    if (sqlite3_db_readonly(ob->db, "main") == 1)
        return fail(err, HL_E_STORE_READONLY, "outbox: the file is not writable");
    /* First read of the file: a foreign or damaged file fails here. */
    if ((rc = sqlite3_exec(ob->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL)) != SQLITE_OK)
        return fail_db(err, ob->db, rc, "opening the journal");
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s",
             o->synchronous == HL_OUTBOX_SYNC_NORMAL ? "NORMAL" : "FULL");
    if ((rc = sqlite3_exec(ob->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
        return fail_db(err, ob->db, rc, "setting synchronous");
    if (o->max_bytes > 0) {
        sqlite3_int64 page = 4096, pages;
        if (sqlite3_prepare_v2(ob->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            page = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        pages = (sqlite3_int64)(o->max_bytes / (uint64_t)(page > 0 ? page : 4096));
        snprintf(sql, sizeof sql, "PRAGMA max_page_count=%lld", (long long)(pages > 0 ? pages : 1));
        if ((rc = sqlite3_exec(ob->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
            return fail_db(err, ob->db, rc, "setting the size limit");
    }
    if ((code = migrate(ob, err)) != HL_OK)
        return code;
    for (int i = 0; i < S__COUNT; i++)
        if ((rc = sqlite3_prepare_v3(ob->db, STMT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &ob->st[i],
                                     NULL)) != SQLITE_OK) {
            if ((rc & 0xff) == SQLITE_ERROR)
                return fail(err, HL_E_STORE_SCHEMA, "outbox: tables of another shape: %s",
                            sqlite3_errmsg(ob->db));
            return fail_db(err, ob->db, rc, "preparing statements");
        }
    return HL_OK;
}

hl_code hl_outbox_open(hl_outbox **out, const char *path, const hl_outbox_options *opts,
                       hl_error *err)
{
    static const hl_outbox_options defaults = HL_OUTBOX_OPTIONS_INIT;
    hl_outbox *ob;
    hl_code code;
    int rc;

    if (out == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "out is NULL");
    if (path == NULL || path[0] == '\0')
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: the path is empty");
    if (opts == NULL)
        opts = &defaults;
    if (opts->version != HL_OUTBOX_OPTIONS_VERSION)
        return fail(err, HL_E_INVALID_ARGUMENT, "hl_outbox_options version %u (expected %d)",
                    opts->version, HL_OUTBOX_OPTIONS_VERSION);
    if (opts->busy_timeout_ms < 0 ||
        (opts->synchronous != HL_OUTBOX_SYNC_FULL && opts->synchronous != HL_OUTBOX_SYNC_NORMAL))
        return fail(err, HL_E_INVALID_ARGUMENT,
                    "outbox: busy timeout must be >= 0 and synchronous FULL or NORMAL");
    if ((ob = calloc(1, sizeof *ob)) == NULL)
        return fail(err, HL_E_NOMEM, "out of memory for the outbox");
    ob->opts = *opts;
    rc = sqlite3_open_v2(path, &ob->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        code = fail_db(err, ob->db, rc, "cannot open the file");
        if (code == HL_E_STORE_CORRUPT) /* SQLite's word for a missing directory */
            code = HL_E_STORE_IO;
        if (err != NULL)
            err->code = code;
        hl_outbox_close(ob);
        return code;
    }
    sqlite3_extended_result_codes(ob->db, 1);
    if ((code = configure(ob, err)) != HL_OK) {
        hl_outbox_close(ob);
        return code;
    }
    *out = ob;
    return HL_OK;
}

void hl_outbox_close(hl_outbox *ob)
{
    if (ob == NULL)
        return;
    if (ob->db && !sqlite3_get_autocommit(ob->db))
        sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(ob->st[i]);
    sqlite3_close_v2(ob->db);
    hl_engine_free(ob->checker);
    free(ob->pending);
    free(ob->pending_bytes);
    free(ob);
}

/* -------------------------------------------------------------- endpoints */

hl_code hl_outbox_endpoint_put(hl_outbox *ob, const char *endpoint_id,
                               const hl_endpoint_config *cfg, uint64_t now_ms, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    char *json = NULL;
    size_t len = 0;
    hl_code code;
    int rc;

    if (ob == NULL || endpoint_id == NULL || endpoint_id[0] == '\0' || cfg == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: endpoint_put: NULL argument");
    if ((code = hl_endpoint_config_to_json(cfg, 0, &json, &len, err)) != HL_OK)
        return code;
    rc = sqlite3_prepare_v2(ob->db,
                            "INSERT INTO hl_endpoints (id, config, disabled, created_ms, updated_ms)"
                            " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (id) DO UPDATE SET"
                            " config = excluded.config, updated_ms = excluded.updated_ms",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, endpoint_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, json, (int)len, SQLITE_STATIC);
        sqlite3_bind_int(st, 3,
                         hl_endpoint_config_engine(cfg)->active ? HL_DISABLED_NONE
                                                                : HL_DISABLED_USER);
        sqlite3_bind_int64(st, 4, db_time(now_ms));
        rc = run(st);
    }
    sqlite3_finalize(st);
    hl_endpoint_config_json_free(json);
    if (rc != SQLITE_OK)
        return fail_db(err, ob->db, rc, "writing an endpoint");
    return HL_OK;
}

hl_code hl_outbox_endpoint_delete(hl_outbox *ob, const char *endpoint_id, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc, changed = 0;
    if (ob == NULL || endpoint_id == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: endpoint_delete: NULL argument");
    rc = sqlite3_prepare_v2(ob->db, "DELETE FROM hl_endpoints WHERE id = ?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, endpoint_id, -1, SQLITE_STATIC);
        rc = run(st);
        changed = sqlite3_changes(ob->db);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return fail_db(err, ob->db, rc, "deleting an endpoint");
    if (!changed)
        return fail(err, HL_E_ENDPOINT_UNKNOWN, "outbox: no endpoint \"%.64s\"", endpoint_id);
    return HL_OK;
}

static void read_endpoint(sqlite3_stmt *st, hl_outbox_endpoint *ep)
{
    ep->endpoint_id = (const char *)sqlite3_column_text(st, 0);
    ep->config_json = (const char *)sqlite3_column_text(st, 1);
    ep->config_len = (size_t)sqlite3_column_bytes(st, 1);
    ep->disabled = (hl_disabled_reason)sqlite3_column_int(st, 2);
    ep->created_ms = col_u64(st, 3);
    ep->updated_ms = col_u64(st, 4);
}

#define ENDPOINT_SELECT "SELECT id, config, disabled, created_ms, updated_ms FROM hl_endpoints"

hl_code hl_outbox_endpoint_get(hl_outbox *ob, const char *endpoint_id, hl_endpoint_config **out,
                               hl_disabled_reason *disabled, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    hl_outbox_endpoint ep;
    hl_code code = HL_OK;
    int rc;
    if (ob == NULL || endpoint_id == NULL || out == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: endpoint_get: NULL argument");
    rc = sqlite3_prepare_v2(ob->db, ENDPOINT_SELECT " WHERE id = ?1", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_db(err, ob->db, rc, "reading an endpoint");
    sqlite3_bind_text(st, 1, endpoint_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_endpoint(st, &ep);
        code = hl_endpoint_config_parse(out, ep.config_json, ep.config_len, err);
        if (code == HL_OK && disabled)
            *disabled = ep.disabled;
    } else if (rc == SQLITE_DONE) {
        code = fail(err, HL_E_ENDPOINT_UNKNOWN, "outbox: no endpoint \"%.64s\"", endpoint_id);
    } else {
        code = fail_db(err, ob->db, rc, "reading an endpoint");
    }
    sqlite3_finalize(st);
    return code;
}

hl_code hl_outbox_endpoint_each(hl_outbox *ob, hl_outbox_endpoint_fn fn, void *user,
                                hl_error *err)
{
    sqlite3_stmt *st = NULL;
    hl_outbox_endpoint ep;
    hl_code code = HL_OK;
    int rc;
    if (ob == NULL || fn == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: endpoint_each: NULL argument");
    if ((rc = sqlite3_prepare_v2(ob->db, ENDPOINT_SELECT " ORDER BY seq", -1, &st, NULL)) !=
        SQLITE_OK)
        return fail_db(err, ob->db, rc, "listing endpoints");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_endpoint(st, &ep);
        if (fn(user, &ep) != 0) {
            code = fail(err, HL_E_CALLBACK, "outbox: the endpoint callback stopped the walk");
            break;
        }
    }
    if (code == HL_OK && rc != SQLITE_DONE)
        code = fail_db(err, ob->db, rc, "listing endpoints");
    sqlite3_finalize(st);
    return code;
}

/* ---------------------------------------------------------------- batches */

static void copy_str(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* Columns in BATCH_COLS order, from column `at`. */
static void read_batch(sqlite3_stmt *st, int at, hl_outbox_batch *b)
{
    memset(b, 0, sizeof *b);
    copy_str(b->batch_id, sizeof b->batch_id, sqlite3_column_text(st, at + 0));
    copy_str(b->endpoint_id, sizeof b->endpoint_id, sqlite3_column_text(st, at + 1));
    b->state = (hl_batch_state)sqlite3_column_int(st, at + 2);
    copy_str(b->ordering_key, sizeof b->ordering_key, sqlite3_column_text(st, at + 3));
    b->n_events = (uint32_t)sqlite3_column_int64(st, at + 4);
    b->body_len = (size_t)col_u64(st, at + 5);
    b->created_ms = col_u64(st, at + 6);
    b->deadline_ms = col_u64(st, at + 7);
    b->close_at_ms = col_u64(st, at + 8);
    b->next_attempt_ms = col_u64(st, at + 9);
    b->attempts = (unsigned int)sqlite3_column_int64(st, at + 10);
    b->total_attempts = (unsigned int)sqlite3_column_int64(st, at + 11);
    b->redrives = (unsigned int)sqlite3_column_int64(st, at + 12);
    b->last_status = sqlite3_column_int(st, at + 13);
    b->last_failure = (hl_failure)sqlite3_column_int(st, at + 14);
    copy_str(b->dead_reason, sizeof b->dead_reason, sqlite3_column_text(st, at + 15));
    b->settled_ms = col_u64(st, at + 16);
}

/* An OPEN batch's body: its events as a JSON array. `*n` receives the count. */
static hl_code open_body(hl_outbox *ob, const char *batch_id, char **out, size_t *len,
                         uint32_t *n, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    char *buf = NULL;
    size_t used = 1, cap = 0;
    uint32_t count = 0;
    int rc = sqlite3_prepare_v2(ob->db, "SELECT json FROM hl_events WHERE batch_id = ?1 ORDER BY seq",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_db(err, ob->db, rc, "reading events");
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    cap = 256;
    if ((buf = malloc(cap)) == NULL) {
        sqlite3_finalize(st);
        return fail(err, HL_E_NOMEM, "out of memory reading events");
    }
    buf[0] = '[';
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *ev = sqlite3_column_blob(st, 0);
        size_t evlen = (size_t)sqlite3_column_bytes(st, 0);
        if (used + evlen + 3 > cap) {
            size_t ncap = (used + evlen + 3) * 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                sqlite3_finalize(st);
                return fail(err, HL_E_NOMEM, "out of memory reading events");
            }
            buf = nb;
            cap = ncap;
        }
        if (count++)
            buf[used++] = ',';
        if (evlen)
            memcpy(buf + used, ev, evlen);
        used += evlen;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(buf);
        return fail_db(err, ob->db, rc, "reading events");
    }
    buf[used++] = ']';
    buf[used] = '\0';
    *out = buf;
    *len = used;
    *n = count;
    return HL_OK;
}

hl_code hl_outbox_batch_get(hl_outbox *ob, const char *batch_id, hl_outbox_batch *out,
                            hl_error *err)
{
    sqlite3_stmt *st = NULL;
    hl_code code = HL_OK;
    int rc;
    if (ob == NULL || batch_id == NULL || out == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: batch_get: NULL argument");
    if ((code = pending_flush_for_read(ob, err)) != HL_OK)
        return code;
    rc = sqlite3_prepare_v2(ob->db,
                            "SELECT " BATCH_COLS ", (SELECT count(*) FROM hl_events e WHERE"
                            " e.batch_id = b.id), (SELECT coalesce(sum(length(json)), 0) FROM"
                            " hl_events e WHERE e.batch_id = b.id) FROM hl_batches b WHERE id = ?1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_db(err, ob->db, rc, "reading a batch");
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_batch(st, 0, out);
        if (out->state == HL_BATCH_OPEN) {
            uint32_t n = (uint32_t)sqlite3_column_int64(st, 17);
            out->n_events = n;
            out->body_len = 2 + (size_t)col_u64(st, 18) + (n ? n - 1 : 0);
        }
    } else if (rc == SQLITE_DONE) {
        code = fail(err, HL_E_BATCH_UNKNOWN, "outbox: no batch \"%.40s\"", batch_id);
    } else {
        code = fail_db(err, ob->db, rc, "reading a batch");
    }
    sqlite3_finalize(st);
    return code;
}

hl_code hl_outbox_batch_body(hl_outbox *ob, const char *batch_id, char **out, size_t *len,
                             hl_error *err)
{
    sqlite3_stmt *st = NULL;
    hl_outbox_batch b;
    hl_code code;
    int rc;
    if (out == NULL || len == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: batch_body: NULL argument");
    if ((code = hl_outbox_batch_get(ob, batch_id, &b, err)) != HL_OK)
        return code;
    if (b.state == HL_BATCH_OPEN) {
        uint32_t n;
        return open_body(ob, batch_id, out, len, &n, err);
    }
    rc = sqlite3_prepare_v2(ob->db, "SELECT body FROM hl_bodies WHERE batch_id = ?1", -1, &st,
                            NULL);
    if (rc != SQLITE_OK)
        return fail_db(err, ob->db, rc, "reading a body");
    sqlite3_bind_text(st, 1, batch_id, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        char *buf = malloc(n + 1);
        if (buf == NULL) {
            code = fail(err, HL_E_NOMEM, "out of memory reading a body");
        } else {
            if (n)
                memcpy(buf, sqlite3_column_blob(st, 0), n);
            buf[n] = '\0';
            *out = buf;
            *len = n;
        }
    } else if (rc == SQLITE_DONE) {
        code = fail(err, HL_E_BATCH_UNKNOWN, "outbox: batch \"%.40s\" has no body (delivered)",
                    batch_id);
    } else {
        code = fail_db(err, ob->db, rc, "reading a body");
    }
    sqlite3_finalize(st);
    return code;
}

/* ---------------------------------------------------------------- restore */

/* Mark a live batch whose endpoint is gone as dead-lettered, in the file too. */
static hl_code restore_orphan(hl_outbox *ob, hl_engine *engine, hl_batch_info *bi, uint64_t now_ms,
                              hl_error *err)
{
    hl_code code;
    bi->state = HL_BATCH_DEAD_LETTERED;
    bi->dead_reason = "endpoint_removed";
    bi->settled_ms = now_ms;
    if ((code = hl_engine_restore_batch(engine, bi, now_ms, err)) != HL_OK)
        return code;
    if (st_batch_changed(ob, bi) != 0)
        return fail(err, ob->last.code, "%s", ob->last.message);
    return HL_OK;
}

static hl_code restore_endpoints(hl_outbox *ob, hl_engine *engine, uint64_t now_ms,
                                 hl_outbox_restore_fn fn, void *user, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    hl_code code = HL_OK;
    int rc;
    if ((rc = sqlite3_prepare_v2(ob->db, ENDPOINT_SELECT " ORDER BY seq", -1, &st, NULL)) !=
        SQLITE_OK)
        return fail_db(err, ob->db, rc, "listing endpoints");
    while (code == HL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        hl_outbox_endpoint ep;
        hl_endpoint_config *cfg = NULL;
        hl_error perr = HL_ERROR_INIT;
        read_endpoint(st, &ep);
        code = hl_endpoint_config_parse(&cfg, ep.config_json, ep.config_len, &perr);
        if (code != HL_OK) {
            fail(err, code, "outbox: endpoint \"%.64s\": %s", ep.endpoint_id, perr.message);
            break;
        }
        code = hl_endpoint_add(engine, ep.endpoint_id, hl_endpoint_config_engine(cfg), now_ms, err);
        if (code == HL_OK)
            code = hl_endpoint_set_disabled(engine, ep.endpoint_id, ep.disabled, now_ms, err);
        if (code == HL_OK && fn && fn(user, ep.endpoint_id, cfg) != 0)
            code = fail(err, HL_E_CALLBACK, "outbox: restore callback failed for \"%.64s\"",
                        ep.endpoint_id);
        hl_endpoint_config_free(cfg);
    }
    if (code == HL_OK && rc != SQLITE_DONE)
        code = fail_db(err, ob->db, rc, "listing endpoints");
    sqlite3_finalize(st);
    return code;
}

static hl_code restore_batches(hl_outbox *ob, hl_engine *engine, uint64_t now_ms, size_t *count,
                               hl_error *err)
{
    sqlite3_stmt *st = NULL;
    hl_code code = HL_OK;
    int rc = sqlite3_prepare_v2(ob->db,
                                "SELECT " BATCH_COLS ", (SELECT body FROM hl_bodies WHERE"
                                " batch_id = b.id) FROM hl_batches b WHERE state <> 5 ORDER BY seq",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_db(err, ob->db, rc, "listing batches");
    while (code == HL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        hl_outbox_batch row;
        hl_batch_info bi;
        char *events = NULL;
        read_batch(st, 0, &row);
        memset(&bi, 0, sizeof bi);
        bi.batch_id = row.batch_id;
        bi.endpoint_id = row.endpoint_id;
        bi.state = row.state;
        bi.ordering_key = row.ordering_key[0] ? row.ordering_key : NULL;
        bi.n_events = row.n_events;
        bi.created_ms = row.created_ms;
        bi.deadline_ms = row.deadline_ms;
        bi.close_at_ms = row.close_at_ms;
        bi.next_attempt_ms = row.next_attempt_ms;
        bi.attempts = row.attempts;
        bi.total_attempts = row.total_attempts;
        bi.redrives = row.redrives;
        bi.last_status = row.last_status;
        bi.last_failure = row.last_failure;
        bi.dead_reason = row.dead_reason[0] ? row.dead_reason : NULL;
        bi.settled_ms = row.settled_ms;
        if (row.state == HL_BATCH_OPEN) {
            size_t len;
            uint32_t n;
            if ((code = open_body(ob, row.batch_id, &events, &len, &n, err)) != HL_OK)
                break;
            bi.body = events;
            bi.body_len = len;
            bi.n_events = n;
            if (n == 0) { /* an open batch that never got its event: nothing to send */
                free(events);
                continue;
            }
        } else {
            bi.body = sqlite3_column_blob(st, 17);
            bi.body_len = (size_t)sqlite3_column_bytes(st, 17);
            if (bi.body == NULL) {
                code = fail(err, HL_E_STORE_CORRUPT, "outbox: batch \"%s\" has no body",
                            row.batch_id);
                break;
            }
        }
        code = hl_engine_restore_batch(engine, &bi, now_ms, err);
        if (code == HL_E_ENDPOINT_UNKNOWN) {
            code = restore_orphan(ob, engine, &bi, now_ms, err);
            /* its body is now in hl_bodies */
        }
        if (code == HL_OK)
            (*count)++;
        free(events);
    }
    if (code == HL_OK && rc != SQLITE_DONE)
        code = fail_db(err, ob->db, rc, "listing batches");
    sqlite3_finalize(st);
    return code;
}

hl_code hl_outbox_restore(hl_outbox *ob, hl_engine *engine, uint64_t now_ms,
                          hl_outbox_restore_fn on_endpoint, void *user, size_t *restored,
                          hl_error *err)
{
    size_t count = 0;
    hl_code code;
    if (ob == NULL || engine == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: restore: NULL argument");
    if ((code = pending_flush_for_read(ob, err)) != HL_OK)
        return code;
    /* One transaction: the engine's echoes (endpoint states) and orphan
     * fix-ups commit together, and the reads see one snapshot. */
    if ((code = hl_outbox_begin(ob, err)) != HL_OK)
        return code;
    if ((code = restore_endpoints(ob, engine, now_ms, on_endpoint, user, err)) == HL_OK)
        code = restore_batches(ob, engine, now_ms, &count, err);
    if (code != HL_OK) {
        hl_outbox_rollback(ob);
        return code;
    }
    if ((code = hl_outbox_commit(ob, err)) != HL_OK)
        return code;
    if (restored)
        *restored = count;
    return HL_OK;
}

/* ---------------------------------------------------------------- queries */

hl_code hl_outbox_attempts(hl_outbox *ob, const hl_outbox_attempt_query *q,
                           hl_outbox_attempt_fn fn, void *user, hl_error *err)
{
    static const hl_outbox_attempt_query all = HL_OUTBOX_ATTEMPT_QUERY_INIT;
    char sql[512];
    sqlite3_stmt *st = NULL;
    hl_code code = HL_OK;
    int rc;
    if (ob == NULL || fn == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: attempts: NULL argument");
    if (q == NULL)
        q = &all;
    if (q->version != HL_OUTBOX_QUERY_VERSION)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: attempt query version %u", q->version);
    snprintf(sql, sizeof sql,
             "SELECT batch_id, endpoint_id, attempt, at_ms, sent_ms, status, failure, delivered,"
             " latency_ms, excerpt FROM hl_attempts WHERE at_ms >= ?1%s%s ORDER BY at_ms %s, seq %s"
             " LIMIT ?4",
             q->endpoint_id ? " AND endpoint_id = ?2" : "", q->batch_id ? " AND batch_id = ?3" : "",
             q->newest_first ? "DESC" : "ASC", q->newest_first ? "DESC" : "ASC");
    if ((rc = sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL)) != SQLITE_OK)
        return fail_db(err, ob->db, rc, "listing attempts");
    sqlite3_bind_int64(st, 1, db_time(q->since_ms));
    if (q->endpoint_id)
        sqlite3_bind_text(st, 2, q->endpoint_id, -1, SQLITE_STATIC);
    if (q->batch_id)
        sqlite3_bind_text(st, 3, q->batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, q->limit == 0 || q->limit > (size_t)INT64_MAX ? -1
                                                                          : (sqlite3_int64)q->limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hl_attempt_record r;
        r.batch_id = (const char *)sqlite3_column_text(st, 0);
        r.endpoint_id = (const char *)sqlite3_column_text(st, 1);
        r.attempt = (unsigned int)sqlite3_column_int64(st, 2);
        r.at_ms = col_u64(st, 3);
        r.sent_ms = col_u64(st, 4);
        r.status = sqlite3_column_int(st, 5);
        r.failure = (hl_failure)sqlite3_column_int(st, 6);
        r.delivered = sqlite3_column_int(st, 7);
        r.latency_ms = col_u64(st, 8);
        r.excerpt = sqlite3_column_blob(st, 9);
        r.excerpt_len = (size_t)sqlite3_column_bytes(st, 9);
        if (fn(user, &r) != 0) {
            code = fail(err, HL_E_CALLBACK, "outbox: the attempt callback stopped the walk");
            break;
        }
    }
    if (code == HL_OK && rc != SQLITE_DONE)
        code = fail_db(err, ob->db, rc, "listing attempts");
    sqlite3_finalize(st);
    return code;
}

hl_code hl_outbox_dead_letters(hl_outbox *ob, const char *endpoint_id, size_t offset,
                               size_t limit, hl_outbox_batch_fn fn, void *user, size_t *total,
                               hl_error *err)
{
    char sql[512];
    sqlite3_stmt *st = NULL;
    hl_code code = HL_OK;
    int rc;
    if (ob == NULL || fn == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: dead_letters: NULL argument");
    if (total) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM hl_batches WHERE state = 6%s",
                 endpoint_id ? " AND endpoint_id = ?1" : "");
        if ((rc = sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL)) != SQLITE_OK)
            return fail_db(err, ob->db, rc, "counting dead letters");
        if (endpoint_id)
            sqlite3_bind_text(st, 1, endpoint_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        *total = rc == SQLITE_ROW ? (size_t)sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
            return fail_db(err, ob->db, rc, "counting dead letters");
    }
    snprintf(sql, sizeof sql,
             "SELECT " BATCH_COLS " FROM hl_batches WHERE state = 6%s ORDER BY settled_ms, seq"
             " LIMIT ?2 OFFSET ?3",
             endpoint_id ? " AND endpoint_id = ?1" : "");
    if ((rc = sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL)) != SQLITE_OK)
        return fail_db(err, ob->db, rc, "listing dead letters");
    if (endpoint_id)
        sqlite3_bind_text(st, 1, endpoint_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, limit == 0 || limit > (size_t)INT64_MAX ? -1 : (sqlite3_int64)limit);
    sqlite3_bind_int64(st, 3, offset > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)offset);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        hl_outbox_batch b;
        read_batch(st, 0, &b);
        if (fn(user, &b) != 0) {
            code = fail(err, HL_E_CALLBACK, "outbox: the dead-letter callback stopped the walk");
            break;
        }
    }
    if (code == HL_OK && rc != SQLITE_DONE)
        code = fail_db(err, ob->db, rc, "listing dead letters");
    sqlite3_finalize(st);
    return code;
}

static hl_code count_of(hl_outbox *ob, const char *sql, size_t *out, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(ob->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = (size_t)sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? HL_OK : fail_db(err, ob->db, rc, "counting");
}

hl_code hl_outbox_counts_get(hl_outbox *ob, hl_outbox_counts *out, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    hl_code code;
    int rc;
    if (ob == NULL || out == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: counts: NULL argument");
    if ((code = pending_flush_for_read(ob, err)) != HL_OK)
        return code;
    memset(out, 0, sizeof *out);
    if ((rc = sqlite3_prepare_v2(ob->db, "SELECT state, count(*) FROM hl_batches GROUP BY state",
                                 -1, &st, NULL)) != SQLITE_OK)
        return fail_db(err, ob->db, rc, "counting batches");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int s = sqlite3_column_int(st, 0);
        if (s >= 0 && s < HL_BATCH__SENTINEL)
            out->batches[s] = (size_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail_db(err, ob->db, rc, "counting batches");
    if ((code = count_of(ob, "SELECT count(*) FROM hl_inbox", &out->inbox, err)) != HL_OK ||
        (code = count_of(ob, "SELECT count(*) FROM hl_commands", &out->commands, err)) != HL_OK ||
        (code = count_of(ob, "SELECT count(*) FROM hl_inbox_rejected", &out->inbox_rejected,
                         err)) != HL_OK ||
        (code = count_of(ob, "SELECT count(*) FROM hl_events", &out->open_events, err)) != HL_OK ||
        (code = count_of(ob, "SELECT count(*) FROM hl_attempts", &out->attempts, err)) != HL_OK ||
        (code = count_of(ob, "SELECT count(*) FROM hl_endpoints", &out->endpoints, err)) != HL_OK)
        return code;
    return HL_OK;
}

/* ------------------------------------------------------------------ inbox */

hl_code hl_outbox_submit(hl_outbox *ob, const hl_event *events, size_t n, uint64_t now_ms,
                         char (*ids)[HL_ENGINE_ID_MAX], size_t *failed_index, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    char id[HL_ENGINE_ID_MAX];
    hl_code code = HL_OK;
    int rc;

    if (ob == NULL || (events == NULL && n > 0))
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: submit: NULL argument");
    if (ob->checker == NULL && (code = hl_engine_new(&ob->checker, NULL, err)) != HL_OK)
        return code;
    if ((code = hl_outbox_begin(ob, err)) != HL_OK)
        return code;
    rc = sqlite3_prepare_v2(ob->db,
                            "INSERT INTO hl_inbox (event_id, type, created_ms, data, ordering_key)"
                            " VALUES (?1, ?2, ?3, ?4, ?5)",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        code = fail_db(err, ob->db, rc, "preparing the inbox");
    for (size_t i = 0; code == HL_OK && i < n; i++) {
        const hl_event *ev = &events[i];
        /* The engine's own check, with no endpoint to route to: same rules
         * as hl_engine_enqueue, and the id it would generate. */
        code = hl_engine_enqueue(ob->checker, ev, now_ms, NULL, id, sizeof id, err);
        if (code != HL_OK) {
            if (failed_index)
                *failed_index = i;
            break;
        }
        if (ids)
            memcpy(ids[i], id, sizeof id);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, ev->type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, db_time(ev->created_at_ms ? ev->created_at_ms : now_ms));
        if (ev->data && ev->data_len)
            sqlite3_bind_blob64(st, 4, ev->data, ev->data_len, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 4);
        bind_text(st, 5, ev->ordering_key);
        if ((rc = run(st)) != SQLITE_OK)
            code = fail_db(err, ob->db, rc, "writing to the inbox");
    }
    sqlite3_finalize(st);
    if (code != HL_OK) {
        hl_outbox_rollback(ob);
        return code;
    }
    if ((code = hl_outbox_commit(ob, err)) != HL_OK)
        hl_outbox_rollback(ob);
    return code;
}

hl_code hl_outbox_ingest(hl_outbox *ob, hl_engine *engine, uint64_t now_ms, size_t max,
                         size_t *ingested, size_t *rejected, hl_error *err)
{
    sqlite3_stmt *sel = NULL, *del = NULL, *rej = NULL;
    size_t n_in = 0, n_rej = 0;
    hl_code code;
    int rc;

    if (ingested)
        *ingested = 0;
    if (rejected)
        *rejected = 0;
    if (ob == NULL || engine == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: ingest: NULL argument");
    /* An empty inbox (the usual case) costs one prepared read, no
     * transaction; what arrives after this look waits for the next call. */
    rc = sqlite3_step(ob->st[S_INBOX_ANY]);
    sqlite3_reset(ob->st[S_INBOX_ANY]);
    if (rc == SQLITE_DONE)
        return HL_OK;
    if (rc != SQLITE_ROW)
        return fail_db(err, ob->db, rc, "reading the inbox");
    if ((code = hl_outbox_begin(ob, err)) != HL_OK)
        return code;
    if ((rc = sqlite3_prepare_v2(ob->db,
                                 "SELECT seq, event_id, type, created_ms, data, ordering_key"
                                 " FROM hl_inbox ORDER BY seq LIMIT ?1",
                                 -1, &sel, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(ob->db, "DELETE FROM hl_inbox WHERE seq = ?1", -1, &del,
                                 NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(ob->db,
                                 "INSERT INTO hl_inbox_rejected (event_id, type, created_ms, data,"
                                 " ordering_key, code, reason, rejected_ms) SELECT event_id, type,"
                                 " created_ms, data, ordering_key, ?2, ?3, ?4 FROM hl_inbox"
                                 " WHERE seq = ?1",
                                 -1, &rej, NULL)) != SQLITE_OK) {
        code = fail_db(err, ob->db, rc, "preparing the ingestion");
        goto out;
    }
    sqlite3_bind_int64(sel, 1, max == 0 || max > 1000000 ? 1000 : (sqlite3_int64)max);
    while (code == HL_OK && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
        sqlite3_int64 seq = sqlite3_column_int64(sel, 0);
        hl_event ev = HL_EVENT_INIT;
        hl_error why = HL_ERROR_INIT;
        hl_code erc;
        ev.id = (const char *)sqlite3_column_text(sel, 1);
        ev.type = (const char *)sqlite3_column_text(sel, 2);
        ev.created_at_ms = col_u64(sel, 3);
        ev.data = sqlite3_column_blob(sel, 4);
        ev.data_len = (size_t)sqlite3_column_bytes(sel, 4);
        ev.ordering_key = (const char *)sqlite3_column_text(sel, 5);
        erc = hl_engine_enqueue(engine, &ev, now_ms, NULL, NULL, 0, &why);
        if (erc == HL_E_STORE || erc == HL_E_ENGINE_FAILED) {
            code = fail(err, erc, "%s", why.message);
            break;
        }
        if (erc != HL_OK) { /* kept, with the reason, for the operator */
            sqlite3_bind_int64(rej, 1, seq);
            sqlite3_bind_text(rej, 2, hl_code_name(erc), -1, SQLITE_STATIC);
            sqlite3_bind_text(rej, 3, why.message, -1, SQLITE_STATIC);
            sqlite3_bind_int64(rej, 4, db_time(now_ms));
            if ((rc = run(rej)) != SQLITE_OK) {
                code = fail_db(err, ob->db, rc, "recording a rejected event");
                break;
            }
            n_rej++;
        } else {
            n_in++;
        }
        sqlite3_bind_int64(del, 1, seq);
        if ((rc = run(del)) != SQLITE_OK) {
            code = fail_db(err, ob->db, rc, "emptying the inbox");
            break;
        }
    }
    if (code == HL_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        code = fail_db(err, ob->db, rc, "reading the inbox");
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(del);
    sqlite3_finalize(rej);
    if (code != HL_OK) {
        hl_outbox_rollback(ob);
        return code;
    }
    if ((code = hl_outbox_commit(ob, err)) != HL_OK) {
        hl_outbox_rollback(ob);
        return code;
    }
    if (ingested)
        *ingested = n_in;
    if (rejected)
        *rejected = n_rej;
    return HL_OK;
}

/* --------------------------------------------------------------- commands */

hl_code hl_outbox_command_submit(hl_outbox *ob, hl_outbox_command_kind kind, const char *target,
                                 uint64_t now_ms, hl_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (ob == NULL || (int)kind < 0 || kind >= HL_COMMAND__SENTINEL ||
        (kind == HL_COMMAND_ENDPOINT && target == NULL))
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: command: bad kind or missing target");
    rc = sqlite3_prepare_v2(ob->db,
                            "INSERT INTO hl_commands (kind, target, submitted_ms) VALUES (?1, ?2, ?3)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, (int)kind);
        bind_text(st, 2, target);
        sqlite3_bind_int64(st, 3, db_time(now_ms));
        rc = run(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? HL_OK : fail_db(err, ob->db, rc, "queueing a command");
}

static int stops_commands(hl_code rc)
{
    return rc == HL_E_STORE || rc == HL_E_ENGINE_FAILED ||
           (rc >= HL_E_STORE_FULL && rc <= HL_E_STORE_SCHEMA);
}

hl_code hl_outbox_commands_apply(hl_outbox *ob, hl_outbox_command_fn fn, void *user, size_t max,
                                 size_t *applied, size_t *failed, hl_error *err)
{
    size_t done = 0, bad = 0;
    hl_code code = HL_OK;
    if (applied)
        *applied = 0;
    if (failed)
        *failed = 0;
    if (ob == NULL || fn == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: commands: NULL argument");
    if (max == 0)
        max = 100;
    /* One at a time, no statement open while `fn` runs: it changes the
     * engine (and may rebuild it from this very file). */
    while (done < max) {
        sqlite3_stmt *st = NULL;
        sqlite3_int64 seq;
        hl_outbox_command_kind kind;
        char target[HL_ENGINE_ID_MAX];
        int has_target, rc;
        hl_error why = HL_ERROR_INIT;
        hl_code frc;
        st = ob->st[S_COMMAND_NEXT]; /* prepared once; reset before `fn` runs */
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            if (rc != SQLITE_DONE)
                code = fail_db(err, ob->db, rc, "reading commands");
            break;
        }
        seq = sqlite3_column_int64(st, 0);
        kind = (hl_outbox_command_kind)sqlite3_column_int(st, 1);
        has_target = sqlite3_column_type(st, 2) != SQLITE_NULL;
        copy_str(target, sizeof target, sqlite3_column_text(st, 2));
        sqlite3_reset(st);
        st = NULL;
        frc = (int)kind >= 0 && kind < HL_COMMAND__SENTINEL
                  ? fn(user, kind, has_target ? target : NULL, &why)
                  : HL_E_INVALID_ARGUMENT;
        if (stops_commands(frc)) {
            code = fail(err, frc, "%s", why.message);
            break;
        }
        bad += frc != HL_OK;
        rc = sqlite3_prepare_v2(ob->db, "DELETE FROM hl_commands WHERE seq = ?1", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, seq);
            rc = run(st);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK) {
            code = fail_db(err, ob->db, rc, "deleting a command");
            break;
        }
        done++;
    }
    if (applied)
        *applied = done;
    if (failed)
        *failed = bad;
    return code;
}

hl_code hl_outbox_prune(hl_outbox *ob, uint64_t now_ms, size_t *pruned, hl_error *err)
{
    static const char *const SQL[2] = {
        "DELETE FROM hl_attempts WHERE seq IN (SELECT seq FROM hl_attempts WHERE at_ms < ?1"
        " ORDER BY at_ms LIMIT ?2)",
        "DELETE FROM hl_batches WHERE seq IN (SELECT seq FROM hl_batches WHERE state = 5 AND"
        " settled_ms < ?1 ORDER BY settled_ms LIMIT ?2)",
    };
    const uint64_t keep[2] = {ob ? ob->opts.attempt_retention_ms : 0,
                              ob ? ob->opts.delivered_retention_ms : 0};
    size_t n = 0;
    hl_code code;
    if (ob == NULL)
        return fail(err, HL_E_INVALID_ARGUMENT, "outbox: prune: NULL argument");
    if ((code = hl_outbox_begin(ob, err)) != HL_OK)
        return code;
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *st = NULL;
        uint64_t cutoff = now_ms > keep[i] ? now_ms - keep[i] : 0;
        int rc = sqlite3_prepare_v2(ob->db, SQL[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, db_time(cutoff));
            sqlite3_bind_int64(st, 2, HL_OUTBOX_PRUNE_BATCH);
            rc = run(st);
            n += (size_t)sqlite3_changes(ob->db);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK) {
            code = fail_db(err, ob->db, rc, "pruning");
            hl_outbox_rollback(ob);
            return code;
        }
    }
    if ((code = hl_outbox_commit(ob, err)) != HL_OK) {
        hl_outbox_rollback(ob);
        return code;
    }
    if (pruned)
        *pruned = n;
    return HL_OK;
}
