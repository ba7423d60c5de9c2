/*
 * hookline_py.h - what the source files of the CPython extension
 * (hookline._hookline) share. The glue is thin: it converts Python objects
 * to the C API's (ptr, len) inputs, calls the core and turns hl_code
 * failures into the one exception tree rooted at hookline.Error. Policy
 * (defaults, clocks, header-container quirks) lives in the Python package.
 *
 * Adding an area (ssrf.c, engine.c): write `int hlpy_<area>_init(PyObject *m)`,
 * declare it here and list it in module.c's AREAS table. New error codes get
 * a class with hlpy_add_error() and are routed to it with hlpy_map_code().
 */
#ifndef HOOKLINE_PY_H
#define HOOKLINE_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "hookline.h"

/* Bodies at least this long are hashed with the GIL released: below it the
 * release/reacquire costs more than the HMAC. */
#define HLPY_NOGIL_MIN ((size_t)64 * 1024)

/* ---------------------------------------------------------- area inits */

int hlpy_errors_init(PyObject *module);
int hlpy_secret_init(PyObject *module);
int hlpy_signature_init(PyObject *module);
int hlpy_ssrf_init(PyObject *module);
int hlpy_dedupe_init(PyObject *module);
int hlpy_engine_init(PyObject *module);
int hlpy_worker_init(PyObject *module);

/* ------------------------------------------------------------- errors */

/*
 * hlpy_add_error - create the exception class `hookline.<name>` with the
 * given bases (a class or a tuple of classes), a class-level default `code`
 * and docstring, and add it to `module`. Returns a borrowed reference kept
 * alive by the module state of errors.c (never freed), or NULL with an
 * exception set.
 */
PyObject *hlpy_add_error(PyObject *module, const char *name, PyObject *bases,
                         const char *default_code, const char *doc);

/* hlpy_map_code - raise `cls` (borrowed, must outlive the module) for `code`. */
int hlpy_map_code(int code, PyObject *cls);

/* The root class, hookline.Error (borrowed). */
PyObject *hlpy_error_root(void);

/*
 * hlpy_raise - set the Python exception for a failed call and return NULL.
 * The class comes from the code (hookline.Error for codes without a class
 * of their own, MemoryError for HL_E_NOMEM); the message is err->message
 * when `err` carries this code, else hl_strerror(code). The instance gets
 * `.code` = hl_code_name(code).
 */
PyObject *hlpy_raise(hl_code code, const hl_error *err);

/* hlpy_raise_msg - like hlpy_raise with a message of the glue's own. */
PyObject *hlpy_raise_msg(hl_code code, const char *message);

/* ------------------------------------------------------------ secrets */

/* PyArg "O&" converters: a scheme name ("standard"...) and a secret
 * encoding name ("default", "hex", "base64", "raw"). */
int hlpy_scheme_converter(PyObject *obj, void *out);
int hlpy_encoding_converter(PyObject *obj, void *out);

/*
 * A list of parsed secrets. hlpy_secrets_parse accepts one secret (str or
 * bytes) or an iterable of them. str is text read with `encoding`; bytes are
 * the raw key when encoding is default or raw, else text in that encoding.
 * Returns 0, or -1 with an exception set (nothing to free then).
 * hlpy_secrets_free wipes and frees them all.
 */
typedef struct hlpy_secrets {
    hl_secret **items;
    size_t count;
} hlpy_secrets;

int hlpy_secrets_parse(PyObject *obj, hl_scheme scheme, hl_secret_encoding encoding,
                       hlpy_secrets *out);
void hlpy_secrets_free(hlpy_secrets *secrets);

/* ------------------------------------------------------------- bytes */

/*
 * hlpy_text_view - the bytes of a str (UTF-8; lone surrogates are passed
 * through as "surrogatepass" bytes so garbage reaches the core, which
 * rejects it, instead of failing here) or a bytes object. `keep` is a list
 * that receives any temporary object the view points into; the view is
 * valid while `obj` and `keep` live. `what` names the argument for a
 * TypeError. Returns 0 or -1 with an exception set.
 */
int hlpy_text_view(PyObject *obj, PyObject *keep, const char *what, const char **ptr,
                   size_t *len);

/*
 * hlpy_body_get - a read-only contiguous view of a bytes-like body (str is
 * refused: a signature covers the raw bytes as received). Release with
 * PyBuffer_Release.
 */
int hlpy_body_get(PyObject *obj, Py_buffer *view);

#endif /* HOOKLINE_PY_H */
