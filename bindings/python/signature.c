/*
 * signature.c - sign and verify: the one-shot functions and the reusable
 * Signer / Verifier handles.
 *
 * Arguments arrive already defaulted by the Python layer (clock, header
 * container quirks): here they are only converted. Bodies of HLPY_NOGIL_MIN
 * bytes or more are hashed with the GIL released; everything the C call
 * reads is then owned by this call (a buffer export pins the body, `keep`
 * holds every header string), so other threads cannot pull it away.
 * A C signer or verifier is one-thread-at-a-time, so each Python handle
 * carries a lock taken around every use.
 */
#include "hookline_py.h"

#include <string.h>
#include <time.h>

/* ---------------------------------------------------------- helpers */

/* max_body: a non-negative int, or None for no limit. */
static int max_body_converter(PyObject *obj, void *out)
{
    size_t v;

    if (obj == Py_None) {
        *(size_t *)out = SIZE_MAX;
        return 1;
    }
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "max_body must be int or None, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return 0;
    }
    v = PyLong_AsSize_t(obj);
    if (v == (size_t)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return 0;
        PyErr_Clear();
        {
            PyObject *zero = PyLong_FromLong(0);
            int negative = zero != NULL ? PyObject_RichCompareBool(obj, zero, Py_LT) : -1;
            Py_XDECREF(zero);
            if (negative < 0)
                return 0;
            if (negative) {
                hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "max_body must not be negative");
                return 0;
            }
        }
        v = SIZE_MAX; /* larger than any body this process can hold */
    }
    *(size_t *)out = v;
    return 1;
}

/* The request headers as hl_header (name, value) ranges. */
typedef struct header_list {
    hl_header *items;
    size_t count;
    PyObject *keep; /* owns every object an item points into */
} header_list;

static void headers_release(header_list *h)
{
    PyMem_Free(h->items);
    Py_CLEAR(h->keep);
    h->items = NULL;
    h->count = 0;
}

/* `obj`: an iterable of (name, value) pairs of str or bytes. Repeats are
 * kept, in order: the core must see them to refuse them. */
static int headers_get(PyObject *obj, header_list *out)
{
    PyObject *seq;
    Py_ssize_t n;

    out->items = NULL;
    out->count = 0;
    if ((out->keep = PyList_New(0)) == NULL)
        return -1;
    if (PyDict_Check(obj)) /* a dict: its (name, value) items */
        seq = PyDict_Items(obj);
    else
        seq = PySequence_Fast(obj, "headers must be an iterable of (name, value) pairs");
    if (seq == NULL)
        goto fail;
    n = PySequence_Fast_GET_SIZE(seq);
    out->items = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof *out->items);
    if (out->items == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *name, *value;
        hl_header *h = &out->items[i];

        if (!(PyTuple_Check(pair) || PyList_Check(pair)) || PySequence_Fast_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "each header must be a (name, value) pair");
            Py_DECREF(seq);
            goto fail;
        }
        name = PySequence_Fast_GET_ITEM(pair, 0);
        value = PySequence_Fast_GET_ITEM(pair, 1);
        /* Hold both: a list pair (or the list itself) may be changed by
         * another thread while the GIL is released. */
        if (PyList_Append(out->keep, name) < 0 || PyList_Append(out->keep, value) < 0 ||
            hlpy_text_view(name, out->keep, "a header name", &h->name, &h->name_len) < 0 ||
            hlpy_text_view(value, out->keep, "a header value", &h->value, &h->value_len) < 0) {
            Py_DECREF(seq);
            goto fail;
        }
        out->count = (size_t)i + 1;
    }
    Py_DECREF(seq);
    return 0;
fail:
    headers_release(out);
    return -1;
}

/* msg_id: None (then a fresh id is generated) or str without NUL. */
static int msg_id_get(PyObject *obj, char *buf, size_t cap, const char **out)
{
    Py_ssize_t n;
    const char *s;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    if (obj == Py_None) {
        if ((rc = hl_generate_id(buf, cap, NULL, &err)) != HL_OK) {
            hlpy_raise(rc, &err);
            return -1;
        }
        *out = buf;
        return 0;
    }
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "msg_id must be str or None, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    if ((s = PyUnicode_AsUTF8AndSize(obj, &n)) == NULL) {
        PyErr_Clear();
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "msg_id is not valid Unicode");
        return -1;
    }
    if (strlen(s) != (size_t)n) {
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "msg_id contains a NUL byte");
        return -1;
    }
    *out = s; /* lives as long as `obj` */
    return 0;
}

static PyObject *signed_to_dict(const hl_signed *s)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < s->count && i < HL_SIGNED_MAX_HEADERS; i++) {
        PyObject *v = PyUnicode_FromString(s->headers[i].value);
        if (v == NULL || PyDict_SetItemString(d, s->headers[i].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

/* An empty result string is "absent": None. Received ids are decoded
 * losslessly so they still dedupe exactly. */
static PyObject *field(const char *s)
{
    if (s[0] == '\0')
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strnlen(s, HL_ID_MAX), "surrogateescape");
}

/* (msg_id, timestamp, secret_index, event_id, event_type, created_at) */
static PyObject *result_to_tuple(const hl_verify_result *r)
{
    PyObject *ts;
    if (r->timestamp < 0) {
        ts = Py_None;
        Py_INCREF(ts);
    } else if ((ts = PyLong_FromLongLong((long long)r->timestamp)) == NULL) {
        return NULL;
    }
    return Py_BuildValue("(NNiNNN)", field(r->msg_id), ts, r->secret_index,
                         field(r->has_event ? r->event_id : ""),
                         field(r->has_event ? r->event_type : ""),
                         field(r->has_event ? r->created_at : ""));
}

/* ------------------------------------------------------- fast path */

/* Most headers the fast path takes (an HTTP request rarely has more). */
#define FAST_HEADERS 32

/* The bytes of an exact str that is compact ASCII (its data is the bytes),
 * or of an exact bytes object; 0 for anything else. */
static int fast_view(PyObject *o, const char **ptr, size_t *len)
{
    if (PyUnicode_CheckExact(o) && PyUnicode_IS_COMPACT_ASCII(o)) {
        *ptr = (const char *)PyUnicode_1BYTE_DATA(o);
        *len = (size_t)PyUnicode_GET_LENGTH(o);
        return 1;
    }
    if (PyBytes_CheckExact(o)) {
        *ptr = PyBytes_AS_STRING(o);
        *len = (size_t)PyBytes_GET_SIZE(o);
        return 1;
    }
    return 0;
}

/*
 * headers_fast - the headers of an exact dict of ASCII str / bytes (at most
 * FAST_HEADERS) as views straight into its objects: no list, no copies.
 * Only for calls that keep the GIL and run no Python code until the core
 * returns, so the dict cannot change meanwhile. Returns 1 when filled, 0
 * when the general path (headers_get) must handle `obj`; sets no error.
 */
static int headers_fast(PyObject *obj, hl_header *items, size_t *count)
{
    Py_ssize_t pos = 0;
    PyObject *name, *value;
    size_t n = 0;
    if (!PyDict_CheckExact(obj) || PyDict_GET_SIZE(obj) > FAST_HEADERS)
        return 0;
    while (PyDict_Next(obj, &pos, &name, &value)) {
        if (!fast_view(name, &items[n].name, &items[n].name_len) ||
            !fast_view(value, &items[n].value, &items[n].value_len))
            return 0;
        n++;
    }
    *count = n;
    return 1;
}

/* hookline.VerifyResult (set by signature.py through _set_result_type) and
 * its field names, interned once. */
static PyObject *result_type;
static PyObject *result_fields[6];
/* A dict holding the six fields (values None): each result's __dict__ is a
 * copy of it (a clone of its key table, no resize), then filled. */
static PyObject *result_template;
static PyObject *empty_tuple;
/* hookline.signature's _seconds and header_pairs, for the arguments the
 * C fast path does not take itself (see Verifier_verify_fast). */
static PyObject *seconds_fn, *header_pairs_fn;
static const char *const RESULT_FIELDS[6] = {"msg_id",   "timestamp",  "secret_index",
                                             "event_id", "event_type", "created_at"};

PyDoc_STRVAR(set_result_type_doc, "_set_result_type(cls)\n--\n\n"
                                  "The class Verifier.verify_result returns (VerifyResult).");

PyDoc_STRVAR(set_verify_helpers_doc,
             "_set_verify_helpers(seconds, header_pairs)\n--\n\n"
             "The functions Verifier._verify calls for a `now` that is not an int and\n"
             "headers that are not a dict (hookline.signature's _seconds, header_pairs).");

static PyObject *py_set_verify_helpers(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2 || !PyCallable_Check(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "two callables are needed");
        return NULL;
    }
    Py_INCREF(args[0]);
    Py_XSETREF(seconds_fn, args[0]);
    Py_INCREF(args[1]);
    Py_XSETREF(header_pairs_fn, args[1]);
    Py_RETURN_NONE;
}

static PyObject *py_set_result_type(PyObject *self, PyObject *cls)
{
    (void)self;
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "a class is needed");
        return NULL;
    }
    for (int i = 0; i < 6; i++)
        if (result_fields[i] == NULL &&
            (result_fields[i] = PyUnicode_InternFromString(RESULT_FIELDS[i])) == NULL)
            return NULL;
    if (empty_tuple == NULL && (empty_tuple = PyTuple_New(0)) == NULL)
        return NULL;
    if (result_template == NULL) {
        PyObject *t = PyDict_New();
        if (t == NULL)
            return NULL;
        for (int i = 0; i < 6; i++)
            if (PyDict_SetItem(t, result_fields[i], Py_None) < 0) {
                Py_DECREF(t);
                return NULL;
            }
        result_template = t;
    }
    Py_INCREF(cls);
    Py_XSETREF(result_type, cls);
    Py_RETURN_NONE;
}

/*
 * A VerifyResult without running its (frozen dataclass) __init__: a bare
 * instance whose __dict__ is filled here, which is all that __init__ would
 * have done (frozen dataclasses store fields with object.__setattr__).
 */
static PyObject *result_to_object(const hl_verify_result *r)
{
    PyObject *values[6], *dict = NULL, *obj = NULL;
    int i;
    values[0] = field(r->msg_id);
    values[1] = r->timestamp < 0 ? (Py_INCREF(Py_None), Py_None)
                                 : PyLong_FromLongLong((long long)r->timestamp);
    values[2] = PyLong_FromLong(r->secret_index);
    values[3] = field(r->has_event ? r->event_id : "");
    values[4] = field(r->has_event ? r->event_type : "");
    values[5] = field(r->has_event ? r->created_at : "");
    for (i = 0; i < 6; i++)
        if (values[i] == NULL)
            goto done;
    if ((dict = PyDict_Copy(result_template)) == NULL)
        goto done;
    for (i = 0; i < 6; i++)
        if (values[i] != Py_None && PyDict_SetItem(dict, result_fields[i], values[i]) < 0)
            goto done;
    if ((obj = PyBaseObject_Type.tp_new((PyTypeObject *)result_type, empty_tuple, NULL)) == NULL)
        goto done;
    if (PyObject_GenericSetDict(obj, dict, NULL) < 0)
        Py_CLEAR(obj);
done:
    for (i = 0; i < 6; i++)
        Py_XDECREF(values[i]);
    Py_XDECREF(dict);
    return obj;
}

/* Take a handle's lock, waiting (if need be) without the GIL so the holder,
 * which may be waiting for the GIL itself, can finish. */
static void handle_lock(PyThread_type_lock lock)
{
    if (!PyThread_acquire_lock(lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

/* --------------------------------------------------------- one-shot */

PyDoc_STRVAR(sign_doc, "sign(body, secrets, scheme, msg_id, timestamp, secret_encoding)\n--\n\n"
                       "Sign body; returns {header name: value}. See hookline.sign.");

static PyObject *py_sign(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"body", "secrets", "scheme", "msg_id", "timestamp",
                             "secret_encoding", NULL};
    PyObject *body_obj, *secrets_obj, *msg_id_obj;
    hl_scheme scheme;
    hl_secret_encoding encoding;
    long long timestamp;
    Py_buffer body;
    hlpy_secrets secrets;
    char id_buf[HL_ID_MAX];
    const char *msg_id;
    hl_signed out;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO&OLO&:sign", kwlist, &body_obj,
                                     &secrets_obj, hlpy_scheme_converter, &scheme, &msg_id_obj,
                                     &timestamp, hlpy_encoding_converter, &encoding))
        return NULL;
    if (msg_id_get(msg_id_obj, id_buf, sizeof id_buf, &msg_id) < 0)
        return NULL;
    if (hlpy_body_get(body_obj, &body) < 0)
        return NULL;
    if (hlpy_secrets_parse(secrets_obj, scheme, encoding, &secrets) < 0) {
        PyBuffer_Release(&body);
        return NULL;
    }
    memset(&out, 0, sizeof out);
    if ((size_t)body.len >= HLPY_NOGIL_MIN) {
        Py_BEGIN_ALLOW_THREADS
        rc = hl_sign(scheme, (const hl_secret *const *)secrets.items, secrets.count, msg_id,
                     (int64_t)timestamp, body.buf, (size_t)body.len, &out, &err);
        Py_END_ALLOW_THREADS
    } else {
        rc = hl_sign(scheme, (const hl_secret *const *)secrets.items, secrets.count, msg_id,
                     (int64_t)timestamp, body.buf, (size_t)body.len, &out, &err);
    }
    hlpy_secrets_free(&secrets);
    PyBuffer_Release(&body);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return signed_to_dict(&out);
}

PyDoc_STRVAR(verify_doc,
             "verify(body, headers, secrets, scheme, tolerance, now, max_body, secret_encoding)\n"
             "--\n\n"
             "Verify a request; returns (msg_id, timestamp, secret_index, event_id, event_type,\n"
             "created_at) or raises a VerificationError. headers: (name, value) pairs.");

static PyObject *py_verify(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"body",     "headers",         "secrets", "scheme", "tolerance",
                             "now",      "max_body",        "secret_encoding", NULL};
    PyObject *body_obj, *headers_obj, *secrets_obj;
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    hl_secret_encoding encoding;
    long long tolerance, now;
    Py_buffer body;
    hlpy_secrets secrets;
    header_list headers;
    hl_verify_result result;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO&LLO&O&:verify", kwlist, &body_obj,
                                     &headers_obj, &secrets_obj, hlpy_scheme_converter,
                                     &opts.scheme, &tolerance, &now, max_body_converter,
                                     &opts.max_body, hlpy_encoding_converter, &encoding))
        return NULL;
    opts.tolerance = (int64_t)tolerance;
    if (hlpy_body_get(body_obj, &body) < 0)
        return NULL;
    if (headers_get(headers_obj, &headers) < 0) {
        PyBuffer_Release(&body);
        return NULL;
    }
    if (hlpy_secrets_parse(secrets_obj, opts.scheme, encoding, &secrets) < 0) {
        headers_release(&headers);
        PyBuffer_Release(&body);
        return NULL;
    }
    memset(&result, 0, sizeof result);
    if ((size_t)body.len >= HLPY_NOGIL_MIN) {
        Py_BEGIN_ALLOW_THREADS
        rc = hl_verify(&opts, (const hl_secret *const *)secrets.items, secrets.count,
                       (int64_t)now, headers.items, headers.count, body.buf, (size_t)body.len,
                       &result, &err);
        Py_END_ALLOW_THREADS
    } else {
        rc = hl_verify(&opts, (const hl_secret *const *)secrets.items, secrets.count,
                       (int64_t)now, headers.items, headers.count, body.buf, (size_t)body.len,
                       &result, &err);
    }
    hlpy_secrets_free(&secrets);
    headers_release(&headers);
    PyBuffer_Release(&body);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return result_to_tuple(&result);
}

/* ----------------------------------------------------------- Signer */

typedef struct {
    PyObject_HEAD
    hl_signer *signer;
    PyThread_type_lock lock;
} SignerObject;

static PyObject *Signer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"secrets", "scheme", "secret_encoding", NULL};
    PyObject *secrets_obj;
    hl_scheme scheme;
    hl_secret_encoding encoding;
    hlpy_secrets secrets;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    SignerObject *self;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO&O&:Signer", kwlist, &secrets_obj,
                                     hlpy_scheme_converter, &scheme, hlpy_encoding_converter,
                                     &encoding))
        return NULL;
    if ((self = (SignerObject *)type->tp_alloc(type, 0)) == NULL)
        return NULL;
    if ((self->lock = PyThread_allocate_lock()) == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    if (hlpy_secrets_parse(secrets_obj, scheme, encoding, &secrets) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    rc = hl_signer_new(&self->signer, scheme, (const hl_secret *const *)secrets.items,
                       secrets.count, &err);
    hlpy_secrets_free(&secrets);
    if (rc != HL_OK) {
        Py_DECREF(self);
        return hlpy_raise(rc, &err);
    }
    return (PyObject *)self;
}

static void Signer_dealloc(SignerObject *self)
{
    hl_signer_free(self->signer);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Signer_sign(SignerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"body", "msg_id", "timestamp", NULL};
    PyObject *body_obj, *msg_id_obj;
    long long timestamp;
    Py_buffer body;
    char id_buf[HL_ID_MAX];
    const char *msg_id;
    hl_signed out;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOL:sign", kwlist, &body_obj, &msg_id_obj,
                                     &timestamp))
        return NULL;
    if (msg_id_get(msg_id_obj, id_buf, sizeof id_buf, &msg_id) < 0)
        return NULL;
    if (hlpy_body_get(body_obj, &body) < 0)
        return NULL;
    memset(&out, 0, sizeof out);
    handle_lock(self->lock);
    if ((size_t)body.len >= HLPY_NOGIL_MIN) {
        Py_BEGIN_ALLOW_THREADS
        rc = hl_signer_sign(self->signer, msg_id, (int64_t)timestamp, body.buf, (size_t)body.len,
                            &out, &err);
        Py_END_ALLOW_THREADS
    } else {
        rc = hl_signer_sign(self->signer, msg_id, (int64_t)timestamp, body.buf, (size_t)body.len,
                            &out, &err);
    }
    PyThread_release_lock(self->lock);
    PyBuffer_Release(&body);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return signed_to_dict(&out);
}

static PyMethodDef Signer_methods[] = {
    {"sign", (PyCFunction)(void (*)(void))Signer_sign, METH_VARARGS | METH_KEYWORDS,
     "sign(body, msg_id, timestamp)\n--\n\nSign body; returns {header name: value}."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject SignerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hookline._hookline.Signer",
    .tp_basicsize = sizeof(SignerObject),
    .tp_dealloc = (destructor)Signer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Signer(secrets, scheme, secret_encoding)\n--\n\n"
              "Keyed signing state, reusable across messages (see hookline.Signer).",
    .tp_methods = Signer_methods,
    .tp_new = Signer_new,
};

/* --------------------------------------------------------- Verifier */

typedef struct {
    PyObject_HEAD
    hl_verifier *verifier;
    PyThread_type_lock lock;
} VerifierObject;

/* Allocation only (arguments ignored): hookline.Verifier, a subclass,
 * takes its own keyword arguments and hands them to Verifier_init. */
static PyObject *Verifier_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    VerifierObject *self;
    (void)args, (void)kwargs;
    if ((self = (VerifierObject *)type->tp_alloc(type, 0)) == NULL)
        return NULL;
    if ((self->lock = PyThread_allocate_lock()) == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static int Verifier_init(VerifierObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"secrets", "scheme", "tolerance", "max_body", "secret_encoding",
                             NULL};
    PyObject *secrets_obj;
    hl_verify_options opts = HL_VERIFY_OPTIONS_INIT;
    hl_secret_encoding encoding;
    long long tolerance;
    hlpy_secrets secrets;
    hl_error err = HL_ERROR_INIT;
    hl_verifier *verifier = NULL, *old;
    hl_code rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO&LO&O&:Verifier", kwlist, &secrets_obj,
                                     hlpy_scheme_converter, &opts.scheme, &tolerance,
                                     max_body_converter, &opts.max_body, hlpy_encoding_converter,
                                     &encoding))
        return -1;
    opts.tolerance = (int64_t)tolerance;
    if (hlpy_secrets_parse(secrets_obj, opts.scheme, encoding, &secrets) < 0)
        return -1;
    rc = hl_verifier_new(&verifier, &opts, (const hl_secret *const *)secrets.items,
                         secrets.count, &err);
    hlpy_secrets_free(&secrets);
    if (rc != HL_OK) {
        hlpy_raise(rc, &err);
        return -1;
    }
    /* __init__ called again: swap under the lock, free the old one. */
    handle_lock(self->lock);
    old = self->verifier;
    self->verifier = verifier;
    PyThread_release_lock(self->lock);
    hl_verifier_free(old);
    return 0;
}

static void Verifier_dealloc(VerifierObject *self)
{
    hl_verifier_free(self->verifier);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Verifier_verify(VerifierObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"body", "headers", "now", NULL};
    PyObject *body_obj, *headers_obj;
    long long now;
    Py_buffer body;
    header_list headers;
    hl_verify_result result;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOL:verify", kwlist, &body_obj, &headers_obj,
                                     &now))
        return NULL;
    if (hlpy_body_get(body_obj, &body) < 0)
        return NULL;
    if (headers_get(headers_obj, &headers) < 0) {
        PyBuffer_Release(&body);
        return NULL;
    }
    memset(&result, 0, sizeof result);
    handle_lock(self->lock);
    if ((size_t)body.len >= HLPY_NOGIL_MIN) {
        Py_BEGIN_ALLOW_THREADS
        rc = hl_verifier_verify(self->verifier, (int64_t)now, headers.items, headers.count,
                                body.buf, (size_t)body.len, &result, &err);
        Py_END_ALLOW_THREADS
    } else {
        rc = hl_verifier_verify(self->verifier, (int64_t)now, headers.items, headers.count,
                                body.buf, (size_t)body.len, &result, &err);
    }
    PyThread_release_lock(self->lock);
    headers_release(&headers);
    PyBuffer_Release(&body);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return result_to_tuple(&result);
}

/*
 * The checks of hookline.Verifier.verify once its arguments are converted:
 * headers as an exact dict (read in place, see headers_fast) or (name,
 * value) pairs, and the VerifyResult built here.
 */
static PyObject *verify_to_object(VerifierObject *self, PyObject *body_obj, PyObject *headers_obj,
                                  long long now)
{
    Py_buffer body;
    hl_header fast[FAST_HEADERS];
    size_t n_fast = 0;
    header_list headers = {NULL, 0, NULL};
    hl_verify_result result;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    if (result_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "hookline: _set_result_type was not called");
        return NULL;
    }
    if (hlpy_body_get(body_obj, &body) < 0)
        return NULL;
    /* Nothing below runs Python code until the core returns: the fast
     * views into the dict stay valid. Big bodies release the GIL, so they
     * take the general path, which holds references. */
    if ((size_t)body.len >= HLPY_NOGIL_MIN || !headers_fast(headers_obj, fast, &n_fast)) {
        if (headers_get(headers_obj, &headers) < 0) {
            PyBuffer_Release(&body);
            return NULL;
        }
    }
    handle_lock(self->lock);
    if (headers.keep == NULL) {
        rc = hl_verifier_verify(self->verifier, (int64_t)now, fast, n_fast, body.buf,
                                (size_t)body.len, &result, &err);
    } else if ((size_t)body.len >= HLPY_NOGIL_MIN) {
        Py_BEGIN_ALLOW_THREADS
        rc = hl_verifier_verify(self->verifier, (int64_t)now, headers.items, headers.count,
                                body.buf, (size_t)body.len, &result, &err);
        Py_END_ALLOW_THREADS
    } else {
        rc = hl_verifier_verify(self->verifier, (int64_t)now, headers.items, headers.count,
                                body.buf, (size_t)body.len, &result, &err);
    }
    PyThread_release_lock(self->lock);
    headers_release(&headers);
    PyBuffer_Release(&body);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return result_to_object(&result);
}

/*
 * Verifier.verify_result(body, headers, now) - positional arguments only,
 * headers as a dict or (name, value) pairs, now an int.
 */
static PyObject *Verifier_verify_result(VerifierObject *self, PyObject *const *args,
                                        Py_ssize_t nargs)
{
    long long now;

    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "verify_result() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    now = PyLong_AsLongLong(args[2]);
    if (now == -1 && PyErr_Occurred())
        return NULL;
    return verify_to_object(self, args[0], args[1], now);
}

/*
 * Verifier._verify(body, headers, *, now=None) - hookline.Verifier.verify
 * itself (the Python class takes this method as its own): no Python frame
 * per request. An int `now` and an exact dict of headers are taken here;
 * any other `now` goes through signature._seconds and any other header
 * container through signature.header_pairs, as the Python method did.
 */
static PyObject *Verifier_verify_fast(VerifierObject *self, PyObject *const *args,
                                      size_t nargsf, PyObject *kwnames)
{
    static const char *const NAMES[3] = {"body", "headers", "now"};
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *vals[3] = {NULL, NULL, NULL};
    PyObject *headers_obj, *pairs = NULL, *res;
    long long now;

    if (nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "verify() takes 2 positional arguments but %zd were given", nargs);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        vals[i] = args[i];
    if (kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t k = 0; k < nkw; k++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, k);
            int j = 0;
            while (j < 3 && PyUnicode_CompareWithASCIIString(name, NAMES[j]) != 0)
                j++;
            if (j == 3) {
                PyErr_Format(PyExc_TypeError, "verify() got an unexpected keyword argument '%U'",
                             name);
                return NULL;
            }
            if (vals[j] != NULL) {
                PyErr_Format(PyExc_TypeError, "verify() got multiple values for argument '%s'",
                             NAMES[j]);
                return NULL;
            }
            vals[j] = args[nargs + k];
        }
    }
    for (int j = 0; j < 2; j++)
        if (vals[j] == NULL) {
            PyErr_Format(PyExc_TypeError, "verify() missing required argument: '%s'", NAMES[j]);
            return NULL;
        }
    if (seconds_fn == NULL || header_pairs_fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "hookline: _set_verify_helpers was not called");
        return NULL;
    }

    if (vals[2] == NULL || vals[2] == Py_None) {
        now = (long long)time(NULL); /* int(time.time()) */
    } else if (PyLong_CheckExact(vals[2])) {
        now = PyLong_AsLongLong(vals[2]);
    } else {
        PyObject *sec = PyObject_CallOneArg(seconds_fn, vals[2]);
        if (sec == NULL)
            return NULL;
        now = PyLong_AsLongLong(sec);
        Py_DECREF(sec);
    }
    if (now == -1 && PyErr_Occurred())
        return NULL;

    headers_obj = vals[1];
    if (!PyDict_CheckExact(headers_obj)) {
        if ((pairs = PyObject_CallOneArg(header_pairs_fn, headers_obj)) == NULL)
            return NULL;
        headers_obj = pairs;
    }
    res = verify_to_object(self, vals[0], headers_obj, now);
    Py_XDECREF(pairs);
    return res;
}

static PyMethodDef Verifier_methods[] = {
    {"verify_result", (PyCFunction)(void (*)(void))Verifier_verify_result, METH_FASTCALL,
     "verify_result(body, headers, now)\n--\n\n"
     "Verify a request; returns a hookline.VerifyResult (see hookline.Verifier.verify)."},
    {"verify", (PyCFunction)(void (*)(void))Verifier_verify, METH_VARARGS | METH_KEYWORDS,
     "verify(body, headers, now)\n--\n\nVerify a request; see the module's verify()."},
    {"_verify", (PyCFunction)(void (*)(void))Verifier_verify_fast, METH_FASTCALL | METH_KEYWORDS,
     "_verify($self, body, headers, *, now=None)\n--\n\n"
     "Like :func:`hookline.verify` with this verifier's secrets and\n"
     "options: check ``body`` (the raw bytes) against ``headers`` at\n"
     "``now`` (Unix seconds, default the clock).\n\n"
     "Returns a :class:`VerifyResult`. Raises the\n"
     ":class:`VerificationError` subclasses listed under :func:`verify`\n"
     "(``.code`` \"signature_mismatch\", \"timestamp_too_old\", ...)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject VerifierType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hookline._hookline.Verifier",
    .tp_basicsize = sizeof(VerifierObject),
    .tp_dealloc = (destructor)Verifier_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Verifier(secrets, scheme, tolerance, max_body, secret_encoding)\n--\n\n"
              "Keyed verification state, reusable across requests (see hookline.Verifier).",
    .tp_methods = Verifier_methods,
    .tp_init = (initproc)Verifier_init,
    .tp_new = Verifier_new,
};

/* ------------------------------------------------------------- init */

static PyMethodDef SIGNATURE_METHODS[] = {
    {"sign", (PyCFunction)(void (*)(void))py_sign, METH_VARARGS | METH_KEYWORDS, sign_doc},
    {"verify", (PyCFunction)(void (*)(void))py_verify, METH_VARARGS | METH_KEYWORDS, verify_doc},
    {"_set_result_type", py_set_result_type, METH_O, set_result_type_doc},
    {"_set_verify_helpers", (PyCFunction)(void (*)(void))py_set_verify_helpers, METH_FASTCALL,
     set_verify_helpers_doc},
    {NULL, NULL, 0, NULL},
};

int hlpy_signature_init(PyObject *module)
{
    if (PyModule_AddFunctions(module, SIGNATURE_METHODS) < 0)
        return -1;
    if (PyType_Ready(&SignerType) < 0 || PyType_Ready(&VerifierType) < 0)
        return -1;
    if (PyModule_AddObjectRef(module, "Signer", (PyObject *)&SignerType) < 0 ||
        PyModule_AddObjectRef(module, "Verifier", (PyObject *)&VerifierType) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "DEFAULT_TOLERANCE", HL_DEFAULT_TOLERANCE) < 0 ||
        PyModule_AddIntConstant(module, "DEFAULT_MAX_BODY", (long)HL_DEFAULT_MAX_BODY) < 0 ||
        PyModule_AddIntConstant(module, "NOGIL_MIN", (long)HLPY_NOGIL_MIN) < 0)
        return -1;
    return 0;
}
