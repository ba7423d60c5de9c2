/*
 * sqlite_errors.h - what the SQLite driver's stores share for errors
 * (internal to drivers/sqlite; names start with hls_).
 */
#ifndef HOOKLINE_SQLITE_ERRORS_H
#define HOOKLINE_SQLITE_ERRORS_H

#include "hookline/error.h"

#include <sqlite3.h>

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
/* Fill `err` (if not NULL) with `code` and a formatted message; return code. */
hl_code hls_fail(hl_error *err, hl_code code, const char *fmt, ...);

/* SQLite's (extended) result code to ours: corrupt, read-only, no space,
 * busy, out of memory, else store_io. */
hl_code hls_code_of(int rc);

/* hls_fail with hls_code_of(rc) and "<store>: <what>: <sqlite's message>".
 * Values are always bound parameters, so no stored data reaches the text. */
hl_code hls_fail_db(hl_error *err, sqlite3 *db, int rc, const char *store, const char *what);

#endif
