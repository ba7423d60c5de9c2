/*
 * pg_internal.h - what the PostgreSQL driver's files share: the handle,
 * running parameterised statements, error mapping (SQLSTATE -> hl_code).
 */
#ifndef HOOKLINE_PG_INTERNAL_H
#define HOOKLINE_PG_INTERNAL_H

#include "hookline/pgbox.h"

#include <libpq-fe.h>

#include <stdint.h>

/* An endpoint this worker has in its engine, with the row version it loaded. */
typedef struct hlp_loaded {
    char id[HL_ENGINE_ID_MAX];
    uint64_t updated_ms;
} hlp_loaded;

struct hl_pg {
    PGconn *conn;
    char *conninfo; /* never printed: it may hold a password */
    char worker_id[128];
    hl_pg_options opts;
    hl_engine *checker; /* no endpoints: validates and names routed events */
    int depth;          /* nesting of begin/commit */
    int broken;         /* a hook failed: rolled back; refuse until hl_pg_rollback */
    hl_error last;
    uint64_t lease_start;  /* mono ms read before the last successful renewal */
    uint64_t lease_until;  /* mono ms; 0: no lease */
    hlp_loaded *loaded;
    size_t n_loaded, cap_loaded;
    /* Statement texts prepared on this session by hlp_exec, named "hl<i>"
     * (copies; a server session forgets them, so a reconnect drops them). */
    char **prepared;
    size_t n_prepared, cap_prepared;
};

/* Fill `err` and return `code`. */
hl_code hlp_fail(hl_error *err, hl_code code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Map a failed result (or a NULL one: the connection) to a code and message. */
hl_code hlp_fail_res(hl_error *err, hl_pg *pg, const PGresult *res, const char *what);

/* 1 when the failure is worth retrying (serialization failure, deadlock). */
int hlp_retryable(const PGresult *res);

/*
 * Run `sql` with `n` text parameters (NULL = SQL NULL). `lens`/`binary`
 * may be NULL (all text); a binary parameter is `lens[i]` bytes (bytea).
 * Returns the result (PQclear it) or NULL after filling `err`: a result
 * that is neither COMMAND_OK nor TUPLES_OK is mapped and cleared.
 * The statement is prepared (named) on first use on a session and
 * executed prepared after: `sql` must be a fixed text, never one built
 * from values (those are parameters).
 */
PGresult *hlp_exec(hl_pg *pg, const char *sql, int n, const char *const *vals, const int *lens,
                   const int *binary, const char *what, hl_error *err);

/* Forget the statements prepared on the session (after a reconnect, at close). */
void hlp_forget_prepared(hl_pg *pg);

/* Reconnect when the connection was lost and no transaction is open. */
hl_code hlp_ensure(hl_pg *pg, hl_error *err);

/* Numbers to and from text. */
void hlp_u64(char buf[24], uint64_t v);
uint64_t hlp_get_u64(const PGresult *r, int row, int col);
int hlp_get_int(const PGresult *r, int row, int col);

/* A bytea column (text format, hex) into a new buffer (free()); NULL for SQL NULL. */
char *hlp_get_bytea(const PGresult *r, int row, int col, size_t *len);

/* Loaded-endpoint bookkeeping (pg_share.c). */
hlp_loaded *hlp_loaded_find(hl_pg *pg, const char *id);
void hlp_loaded_drop(hl_pg *pg, const char *id);

#endif
