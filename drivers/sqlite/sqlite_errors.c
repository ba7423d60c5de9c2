/* sqlite_errors.c - SQLite result codes to hookline's storage codes. */
#include "sqlite_errors.h"

#include <stdarg.h>
#include <stdio.h>

hl_code hls_fail(hl_error *err, hl_code code, const char *fmt, ...)
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

hl_code hls_code_of(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return HL_E_STORE_CORRUPT;
    case SQLITE_READONLY:
        return HL_E_STORE_READONLY;
    case SQLITE_FULL:
        return HL_E_STORE_NO_SPACE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return HL_E_STORE_BUSY;
    case SQLITE_NOMEM:
        return HL_E_NOMEM;
    default:
        return HL_E_STORE_IO;
    }
}

hl_code hls_fail_db(hl_error *err, sqlite3 *db, int rc, const char *store, const char *what)
{
    /* sqlite3_errmsg names the problem ("database is locked", "disk I/O
     * error", "file is not a database"). */
    return hls_fail(err, hls_code_of(rc), "%s: %s: %s", store, what,
                    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}
