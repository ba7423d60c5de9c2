/*
 * hookline/seen_sqlite.h - a durable seen-id store in one SQLite file
 * (driver library hookline_sqlite; link -lhookline_sqlite -lsqlite3).
 *
 * The same hl_seen calls as the in-memory store (hookline/dedupe.h), backed
 * by one table that survives restarts and is shared safely by every process
 * that opens the same file:
 *
 *     CREATE TABLE hl_seen (id BLOB PRIMARY KEY, expires_at INTEGER NOT NULL)
 *
 * - check_and_add is one `INSERT ... ON CONFLICT(id) DO UPDATE ... WHERE
 *   expired` statement: SQLite's write lock makes it atomic across handles
 *   and processes, so of two receivers racing on one id exactly one hears
 *   "new".
 * - WAL journal (readers never block the writer), synchronous=NORMAL: a
 *   mark survives a crash of the process; a power cut may lose the last
 *   marks, which can only let a duplicate through (at-least-once), never
 *   lose an event.
 * - Expired rows are pruned a batch at a time every HL_SEEN_SQLITE_PRUNE_EVERY
 *   additions, and on hl_seen_prune().
 * - A writer waits up to busy_timeout_ms for another handle's lock, then
 *   fails with HL_E_STORE_BUSY.
 *
 * Errors of every call: HL_E_STORE_IO (cannot open: missing directory, a
 * directory given as the file, I/O error), HL_E_STORE_CORRUPT (not an SQLite
 * file, or damaged), HL_E_STORE_READONLY (file or directory not writable),
 * HL_E_STORE_NO_SPACE (disk full or max_bytes reached), HL_E_STORE_BUSY,
 * HL_E_STORE_SCHEMA (an hl_seen table of another shape), HL_E_NOMEM. The
 * message carries SQLite's own explanation and never an id.
 */
#ifndef HOOKLINE_SEEN_SQLITE_H
#define HOOKLINE_SEEN_SQLITE_H

#include "hookline/dedupe.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Prune expired rows after this many additions through one handle. */
#define HL_SEEN_SQLITE_PRUNE_EVERY 256
/* Rows deleted per automatic prune (bounds how long one call can take). */
#define HL_SEEN_SQLITE_PRUNE_BATCH 1024

#define HL_SEEN_SQLITE_OPTIONS_VERSION 1

typedef struct hl_seen_sqlite_options {
    unsigned int version;    /* HL_SEEN_SQLITE_OPTIONS_VERSION */
    uint64_t default_ttl_ms; /* > 0; used when a call passes ttl_ms == 0 */
    int busy_timeout_ms;     /* >= 0: wait this long for another handle's lock */
    uint64_t max_bytes;      /* 0: no limit; else the file may not grow beyond about this
                              * (SQLite's max_page_count), HL_E_STORE_NO_SPACE after */
} hl_seen_sqlite_options;

#define HL_SEEN_SQLITE_OPTIONS_INIT                                                              \
    {HL_SEEN_SQLITE_OPTIONS_VERSION, HL_SEEN_DEFAULT_TTL_MS, 5000, 0}

/*
 * hl_seen_sqlite_open - open (creating if needed) the store in the file at
 * `path` (NUL-terminated, not empty; ":memory:" gives a private, non-durable
 * database). The directory must exist. `opts` may be NULL for the defaults.
 * `out` is caller-owned (hl_seen_free closes the file).
 */
HL_API hl_code hl_seen_sqlite_open(hl_seen **out, const char *path,
                                   const hl_seen_sqlite_options *opts, hl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_SEEN_SQLITE_H */
