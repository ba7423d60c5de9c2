/*
 * hookline/error.h - error codes and the optional error report.
 *
 * Every fallible hookline function returns an `hl_code` (HL_OK == 0 on
 * success) and takes an optional `hl_error *err` as its last argument. When
 * `err` is not NULL and the call fails, it is filled with the code and a
 * human-readable message. Messages never contain secrets or signature bytes.
 *
 * The numeric values are stable: codes are only ever appended, never
 * renumbered. Codes are grouped by hundreds so each module owns a range:
 *    1- 99  general          100-199 signatures and secrets
 *  200-299  URL / SSRF       300-399 delivery engine
 *  400-499  storage          500-599 transport (drivers)
 * Each code also has a stable lowercase name (hl_code_name), which is what
 * the Python `.code` attribute and the third Lua return value carry.
 */
#ifndef HOOKLINE_ERROR_H
#define HOOKLINE_ERROR_H

#include "hookline/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hl_code {
    HL_OK = 0,

    /* general */
    HL_E_INVALID_ARGUMENT = 1, /* NULL where a value is needed, bad option */
    HL_E_NOMEM = 2,            /* allocation failed */
    HL_E_CRYPTO = 3,           /* OpenSSL reported a failure */
    HL_E_BUFFER_TOO_SMALL = 4, /* caller buffer cannot hold the result */
    HL_E_TOO_MANY = 5,         /* a count limit (secrets, headers) exceeded */
    HL_E_JSON = 6,             /* a JSON document is malformed */
    HL_E_RANDOM = 7,           /* the OS random generator failed */

    /* signatures and secrets */
    HL_E_HEADER_MISSING = 100,      /* a required signature header is absent */
    HL_E_HEADER_MALFORMED = 101,    /* header present but unparseable, or repeated */
    HL_E_SECRET_MALFORMED = 102,    /* a secret cannot be decoded */
    HL_E_SIGNATURE_MISMATCH = 103,  /* no signature matches any secret */
    HL_E_TIMESTAMP_TOO_OLD = 104,   /* older than now - tolerance */
    HL_E_TIMESTAMP_IN_FUTURE = 105, /* newer than now + tolerance */
    HL_E_BODY_TOO_LARGE = 106,      /* body longer than the configured maximum */
    HL_E_SCHEME_UNKNOWN = 107,      /* no such signature scheme */
    HL_E_KEY_KIND = 108,            /* secret of the wrong kind for the call */

    /* URL / SSRF (hookline/ssrf.h); messages are written for the customer */
    HL_E_URL_MALFORMED = 200,     /* unparseable URL, no "scheme://", backslash */
    HL_E_URL_TOO_LONG = 201,      /* longer than HL_URL_MAX */
    HL_E_URL_CONTROL_CHAR = 202,  /* NUL, control character, space, DEL */
    HL_E_URL_NOT_ASCII = 203,     /* raw non-ASCII byte (IDN hosts: use punycode) */
    HL_E_URL_SCHEME_DENIED = 204, /* not https (or http when allowed) */
    HL_E_URL_USERINFO = 205,      /* user[:password]@ before the host */
    HL_E_URL_HOST_EMPTY = 206,    /* no host */
    HL_E_URL_HOST_TOO_LONG = 207, /* host > 253 chars or a label > 63 */
    HL_E_URL_HOST_INVALID = 208,  /* bad characters or an invalid numeric host */
    HL_E_URL_ZONE_ID = 209,       /* IPv6 zone id */
    HL_E_URL_PORT_DENIED = 210,   /* port not in the allowed list */
    HL_E_URL_NAME_DENIED = 211,   /* localhost, metadata names, single label, configured */
    HL_E_ADDRESS_DENIED = 212,    /* address in the deny table (literal or resolved) */
    HL_E_RESOLVE_FAILED = 213,    /* name did not resolve (or too many answers) */
    HL_E_ADDRESS_UNPINNED = 214,  /* dispatch: connecting to an address never checked */
    /* delivery engine */
    HL_E_EVENT_INVALID = 300,    /* event type/id malformed or data not JSON */
    HL_E_EVENT_TOO_LARGE = 301,  /* one event exceeds an endpoint's batch byte limit */
    HL_E_ENDPOINT_UNKNOWN = 302, /* no endpoint with that id */
    HL_E_ENDPOINT_EXISTS = 303,  /* an endpoint with that id already exists */
    HL_E_BATCH_UNKNOWN = 304,    /* no batch with that id */
    HL_E_BATCH_STATE = 305,      /* the batch is not in a state that allows the call */
    HL_E_BATCH_EXISTS = 306,     /* restoring a batch id the engine already has */
    HL_E_CALLBACK = 307,         /* a route/transform/decide callback failed */
    HL_E_STORE = 308,            /* the store interface reported a failure */
    HL_E_ENGINE_FAILED = 309,    /* an earlier store failure: rebuild the engine */
    HL_E_RETRY_AFTER = 310,      /* a Retry-After value is malformed */
    HL_E_ENGINE_REENTERED = 311, /* a binding refused a changing call from inside a callback */
    /* storage (seen-id stores; durable stores) */
    HL_E_STORE_FULL = 400,     /* the store holds its capacity of live entries */
    HL_E_STORE_IO = 401,       /* cannot open or use the storage (bad path, I/O error) */
    HL_E_STORE_CORRUPT = 402,  /* the storage is not a valid store (corrupt, foreign file) */
    HL_E_STORE_READONLY = 403, /* the storage cannot be written */
    HL_E_STORE_NO_SPACE = 404, /* the disk (or the configured size limit) is full */
    HL_E_STORE_BUSY = 405,     /* locked by another handle for longer than the timeout */
    HL_E_STORE_SCHEMA = 406,   /* a store of another version or kind */
    /* endpoint configuration documents (hookline/endpoint_config.h) */
    HL_E_CONFIG_UNKNOWN_FIELD = 407, /* a field the configuration format does not have */
    HL_E_CONFIG_TYPE = 408,          /* a configuration value of the wrong JSON type */
    HL_E_CONFIG_RANGE = 409,         /* a configuration value out of range or not an allowed name */
    HL_E_CONFIG_MISSING = 410,       /* a required configuration field is absent */
    HL_E_ENDPOINT_TEST_FAILED = 411, /* the registration webhook.test request got no 2xx */
    /* database servers (the PostgreSQL outbox, hookline/pgbox.h) */
    HL_E_STORE_UNAVAILABLE = 412, /* cannot reach the database server, or the connection was lost */
    /* transport (drivers: the libcurl dispatcher; hookline/delivery.h) */
    HL_E_DELIVERY_INVALID = 500, /* endpoint delivery options rejected (header, auth, TLS, timeout) */
    HL_E_TRANSPORT = 501,        /* libcurl could not set up or run a transfer */
    HL_E_OAUTH2 = 502,           /* the OAuth2 token endpoint failed or gave no usable token */
    HL_E_DRAINING = 503,         /* the dispatcher is draining and takes no new work */

    HL_CODE__SENTINEL /* not a code: one past the last one */
} hl_code;

/* Longest message stored in an hl_error, including the terminating NUL. */
#define HL_ERROR_MESSAGE_MAX 256

/*
 * hl_error - caller-owned error report. Zero-initialise it (or use
 * HL_ERROR_INIT); hookline writes it only when a call fails.
 */
typedef struct hl_error {
    hl_code code;
    char message[HL_ERROR_MESSAGE_MAX];
} hl_error;

#define HL_ERROR_INIT {HL_OK, {0}}

/*
 * hl_code_name - the stable lowercase name of a code, e.g.
 * "signature_mismatch". Returns a static string; "unknown" for values that
 * are not codes.
 */
HL_API const char *hl_code_name(int code);

/*
 * hl_strerror - a short generic description of a code, e.g. "no signature
 * matches". Returns a static string; never NULL.
 */
HL_API const char *hl_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_ERROR_H */
