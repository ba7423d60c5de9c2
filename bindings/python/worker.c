/*
 * worker.c - hookline._hookline.Worker: the sending side (hookline/worker.h:
 * durable SQLite outbox + engine + libcurl dispatcher) as one object, and
 * outbox_submit() for processes that hand events to a running worker.
 *
 * The raw type takes and returns plain values (JSON text, dicts, ms);
 * hookline.worker.Worker (Python) is the documented interface over it.
 *
 * Threads: one lock per object serialises the calls (an hl_worker is
 * one-thread-at-a-time). Calls that wait on the network (endpoint add /
 * update / test, run_once, drain) release the GIL; the on_attempt callback
 * retakes it. A callback calling back into its own worker raises
 * RuntimeError instead of deadlocking. An exception raised by on_attempt
 * goes to sys.unraisablehook: the attempt's outcome is already recorded in
 * the outbox, so nothing is lost.
 */
#include "hookline_py.h"

#include "hookline/worker.h"

#include <string.h>

typedef struct {
    PyObject_HEAD
    hl_worker *w;
    PyThread_type_lock lock;
    unsigned long owner; /* thread holding `lock` (valid while `held`) */
    int held;
    PyObject *on_attempt; /* callable or NULL */
    hl_metrics metrics;   /* attempts recorded from the dispatcher's reports */
} WorkerObject;

static PyObject *worker_test_failed; /* hookline.EndpointTestFailed */

/* ------------------------------------------------------------ locking */

static int worker_enter(WorkerObject *self)
{
    unsigned long me = PyThread_get_thread_ident();
    if (self->held && self->owner == me) {
        PyErr_SetString(PyExc_RuntimeError,
                        "hookline.Worker called from its own on_attempt callback");
        return 0;
    }
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    self->owner = me;
    self->held = 1;
    if (self->w == NULL) {
        self->held = 0;
        PyThread_release_lock(self->lock);
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "the worker is closed");
        return 0;
    }
    return 1;
}

static void worker_leave(WorkerObject *self)
{
    self->held = 0;
    PyThread_release_lock(self->lock);
}

#define ENTER(self)                                                                              \
    do {                                                                                         \
        if (!worker_enter(self))                                                                 \
            return NULL;                                                                         \
    } while (0)

/* ------------------------------------------------------------ values */

static PyObject *str_or_none(const char *s)
{
    if (s == NULL)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

static int set_item(PyObject *d, const char *key, PyObject *value)
{
    if (value == NULL)
        return -1;
    int rc = PyDict_SetItemString(d, key, value);
    Py_DECREF(value);
    return rc;
}

#define SET(d, k, v)                                                                             \
    do {                                                                                         \
        if (set_item((d), (k), (v)) < 0)                                                         \
            goto fail;                                                                           \
    } while (0)

static PyObject *report_dict(const hl_attempt_report *r)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    int ok = r->failure == HL_FAILURE_NONE && r->status >= 200 && r->status < 300;
    SET(d, "batch_id", str_or_none(r->batch_id));
    SET(d, "endpoint", str_or_none(r->endpoint_id));
    SET(d, "host", str_or_none(r->host));
    SET(d, "attempt", PyLong_FromUnsignedLong(r->attempt));
    SET(d, "events", PyLong_FromUnsignedLong(r->n_events));
    SET(d, "status", PyLong_FromLong(r->status));
    SET(d, "delivered", PyBool_FromLong(ok));
    SET(d, "failure_class", str_or_none(ok ? "none" : r->failure_class));
    SET(d, "error_code", str_or_none(r->error_code ? hl_code_name(r->error_code) : NULL));
    SET(d, "error", str_or_none(r->error_message && *r->error_message ? r->error_message : NULL));
    SET(d, "latency", PyFloat_FromDouble((double)r->latency_ms / 1000.0));
    SET(d, "bytes_sent", PyLong_FromUnsignedLongLong(r->bytes_sent));
    SET(d, "bytes_received", PyLong_FromUnsignedLongLong(r->bytes_received));
    SET(d, "http_version", PyLong_FromLong(r->http_version));
    SET(d, "connection_reused", PyBool_FromLong(r->connection_reused));
    SET(d, "test", PyBool_FromLong(r->test));
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

/* Called by the dispatcher, usually with the GIL released. The report
 * carries no secrets by construction, so it is handed over whole. */
static void on_attempt(void *user, const hl_attempt_report *r)
{
    WorkerObject *self = user;
    int ok = r->failure == HL_FAILURE_NONE && r->status >= 200 && r->status < 300;
    if (!r->test)
        hl_metrics_record_attempt(&self->metrics, ok, r->failure, r->latency_ms);
    if (self->on_attempt == NULL)
        return;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb); /* keep an exception being raised */
    PyObject *d = report_dict(r), *res = NULL;
    if (d != NULL)
        res = PyObject_CallOneArg(self->on_attempt, d);
    if (res == NULL)
        PyErr_WriteUnraisable(self->on_attempt);
    Py_XDECREF(res);
    Py_XDECREF(d);
    PyErr_Restore(exc_type, exc_value, exc_tb);
    PyGILState_Release(g);
}

/* "name: value\n" lines -> tuple of (name, value) str pairs (Latin-1, as HTTP has it) */
static PyObject *header_pairs_tuple(const char *text, size_t len)
{
    PyObject *list = PyList_New(0), *out;
    const char *p = text, *end = text + len;
    if (list == NULL)
        return NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *sep;
        if (nl == NULL)
            nl = end;
        sep = memchr(p, ':', (size_t)(nl - p));
        if (sep != NULL) {
            const char *v = sep + 1 < nl && sep[1] == ' ' ? sep + 2 : sep + 1;
            PyObject *pair = Py_BuildValue("(NN)",
                                           PyUnicode_DecodeLatin1(p, sep - p, NULL),
                                           PyUnicode_DecodeLatin1(v, nl - v, NULL));
            if (pair == NULL || PyList_Append(list, pair) < 0) {
                Py_XDECREF(pair);
                Py_DECREF(list);
                return NULL;
            }
            Py_DECREF(pair);
        }
        p = nl + 1;
    }
    out = PyList_AsTuple(list);
    Py_DECREF(list);
    return out;
}

static PyObject *test_dict(const hl_test_response *t)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    SET(d, "status", PyLong_FromLong(t->status));
    SET(d, "ok", PyBool_FromLong(t->failure == HL_FAILURE_NONE && t->status >= 200 &&
                                 t->status < 300));
    SET(d, "failure_class", str_or_none(hl_failure_class_name(t->failure)));
    SET(d, "error_code", str_or_none(t->error_code ? hl_code_name(t->error_code) : NULL));
    SET(d, "message", str_or_none(t->message[0] ? t->message : NULL));
    SET(d, "latency", PyFloat_FromDouble((double)t->latency_ms / 1000.0));
    SET(d, "http_version", PyLong_FromLong(t->http_version));
    SET(d, "timestamp", PyLong_FromLongLong(t->timestamp));
    SET(d, "msg_id", str_or_none(t->msg_id));
    SET(d, "content_type", str_or_none(t->content_type[0] ? t->content_type : NULL));
    SET(d, "retry_after", str_or_none(t->retry_after[0] ? t->retry_after : NULL));
    SET(d, "location", str_or_none(t->location[0] ? t->location : NULL));
    SET(d, "body_excerpt", PyBytes_FromStringAndSize(t->body_excerpt,
                                                     (Py_ssize_t)t->body_excerpt_len));
    SET(d, "body_bytes", PyLong_FromUnsignedLongLong(t->body_bytes));
    SET(d, "headers", header_pairs_tuple(t->headers, t->headers_len));
    SET(d, "headers_truncated", PyBool_FromLong(t->headers_truncated));
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *batch_dict(const hl_outbox_batch *b)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    SET(d, "batch_id", str_or_none(b->batch_id));
    SET(d, "endpoint", str_or_none(b->endpoint_id));
    SET(d, "ordering_key", str_or_none(b->ordering_key[0] ? b->ordering_key : NULL));
    SET(d, "state", str_or_none(hl_batch_state_name(b->state)));
    SET(d, "events", PyLong_FromUnsignedLong(b->n_events));
    SET(d, "body_bytes", PyLong_FromSize_t(b->body_len));
    SET(d, "created_at", PyFloat_FromDouble((double)b->created_ms / 1000.0));
    SET(d, "deadline", PyFloat_FromDouble((double)b->deadline_ms / 1000.0));
    SET(d, "next_attempt_at", b->next_attempt_ms
                                  ? PyFloat_FromDouble((double)b->next_attempt_ms / 1000.0)
                                  : Py_NewRef(Py_None));
    SET(d, "attempts", PyLong_FromUnsignedLong(b->attempts));
    SET(d, "total_attempts", PyLong_FromUnsignedLong(b->total_attempts));
    SET(d, "redrives", PyLong_FromUnsignedLong(b->redrives));
    SET(d, "last_status", PyLong_FromLong(b->last_status));
    SET(d, "last_failure_class", str_or_none(hl_failure_class_name(b->last_failure)));
    SET(d, "dead_reason", str_or_none(b->dead_reason[0] ? b->dead_reason : NULL));
    SET(d, "settled_at", b->settled_ms ? PyFloat_FromDouble((double)b->settled_ms / 1000.0)
                                       : Py_NewRef(Py_None));
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *attempt_dict(const hl_attempt_record *a)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    SET(d, "batch_id", str_or_none(a->batch_id));
    SET(d, "endpoint", str_or_none(a->endpoint_id));
    SET(d, "attempt", PyLong_FromUnsignedLong(a->attempt));
    SET(d, "at", PyFloat_FromDouble((double)a->at_ms / 1000.0));
    SET(d, "sent_at", PyFloat_FromDouble((double)a->sent_ms / 1000.0));
    SET(d, "status", PyLong_FromLong(a->status));
    SET(d, "failure_class", str_or_none(hl_failure_class_name(a->failure)));
    SET(d, "delivered", PyBool_FromLong(a->delivered));
    SET(d, "latency", PyFloat_FromDouble((double)a->latency_ms / 1000.0));
    SET(d, "excerpt", PyBytes_FromStringAndSize(a->excerpt ? a->excerpt : "",
                                                (Py_ssize_t)a->excerpt_len));
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

/* -------------------------------------------------------- life cycle */

static int cidrs_convert(PyObject *seq, const char ***out, size_t *n, PyObject *keep)
{
    PyObject *fast = PySequence_Fast(seq, "allow_cidrs must be a sequence of str");
    if (fast == NULL)
        return -1;
    if (PyList_Append(keep, fast) < 0) {
        Py_DECREF(fast);
        return -1;
    }
    Py_DECREF(fast);
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    *out = PyMem_Calloc((size_t)len + 1, sizeof **out);
    if (*out == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        if (!PyUnicode_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "allow_cidrs must be a sequence of str");
            return -1;
        }
        if (((*out)[i] = PyUnicode_AsUTF8(item)) == NULL)
            return -1;
    }
    *n = (size_t)len;
    return 0;
}

static int ports_convert(PyObject *seq, uint16_t **out, size_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "allow_ports must be a sequence of int");
    if (fast == NULL)
        return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    *out = PyMem_Calloc((size_t)len + 1, sizeof **out);
    if (*out == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        long p = PyLong_AsLong(PySequence_Fast_GET_ITEM(fast, i));
        if (p == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        if (p < 1 || p > 65535) {
            Py_DECREF(fast);
            hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "allow_ports: each port must be in 1..65535");
            return -1;
        }
        (*out)[i] = (uint16_t)p;
    }
    Py_DECREF(fast);
    *n = (size_t)len;
    return 0;
}

static int Worker_init(WorkerObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"path",  "allow_http", "allow_cidrs", "allow_ports", "ca_file",
                             "seed",  "on_attempt", "drain_timeout_ms", NULL};
    const char *path, *ca_file = NULL;
    int allow_http = 0;
    PyObject *cidrs = NULL, *ports = Py_None, *cb = Py_None, *keep;
    long long seed = 0, drain_ms = 30000;
    const char **cidr_v = NULL;
    uint16_t *port_v = NULL;
    int rc = -1;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "s|pOOzLOL", kwlist, &path, &allow_http,
                                     &cidrs, &ports, &ca_file, &seed, &cb, &drain_ms))
        return -1;
    if (self->w != NULL) {
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "the worker is already open");
        return -1;
    }
    if (seed < 0 || drain_ms < 0) {
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "seed and drain_timeout_ms must be >= 0");
        return -1;
    }
    if (cb != Py_None && !PyCallable_Check(cb)) {
        PyErr_SetString(PyExc_TypeError, "on_attempt must be callable or None");
        return -1;
    }
    if ((keep = PyList_New(0)) == NULL)
        return -1;
    hl_worker_options o = HL_WORKER_OPTIONS_INIT;
    o.db_path = path;
    o.url.allow_http = allow_http;
    if (cidrs != NULL && cidrs != Py_None) {
        if (cidrs_convert(cidrs, &cidr_v, &o.url.n_allow_cidrs, keep) < 0)
            goto out;
        o.url.allow_cidrs = cidr_v;
    }
    if (ports != Py_None) {
        if (ports_convert(ports, &port_v, &o.url.n_allow_ports) < 0)
            goto out;
        o.url.allow_ports = port_v;
    }
    o.ca_file = ca_file;
    o.seed = (uint64_t)seed;
    o.drain_timeout_ms = (uint64_t)drain_ms;
    o.on_attempt = on_attempt;
    o.attempt_user = self;
    if (self->lock == NULL && (self->lock = PyThread_allocate_lock()) == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    Py_XSETREF(self->on_attempt, cb == Py_None ? NULL : Py_NewRef(cb));
    hl_metrics_init(&self->metrics);
    {
        hl_error err = HL_ERROR_INIT;
        hl_code c;
        hl_worker *w = NULL;
        Py_BEGIN_ALLOW_THREADS
        c = hl_worker_open(&w, &o, NULL, &err);
        Py_END_ALLOW_THREADS
        if (c != HL_OK) {
            hlpy_raise(c, &err);
            goto out;
        }
        self->w = w;
    }
    rc = 0;
out:
    PyMem_Free(cidr_v);
    PyMem_Free(port_v);
    Py_DECREF(keep);
    return rc;
}

static void worker_close_now(WorkerObject *self)
{
    hl_worker *w = self->w;
    self->w = NULL;
    if (w != NULL) {
        Py_BEGIN_ALLOW_THREADS
        hl_worker_close(w);
        Py_END_ALLOW_THREADS
    }
}

/* on_attempt may hold the Worker (a bound method, a closure): let the
 * cycle collector see it. */
static int Worker_traverse(WorkerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->on_attempt);
    return 0;
}

static int Worker_clear(WorkerObject *self)
{
    if (!self->held) /* never while a call may be running the callback */
        Py_CLEAR(self->on_attempt);
    return 0;
}

static void Worker_dealloc(WorkerObject *self)
{
    PyObject_GC_UnTrack(self);
    worker_close_now(self);
    Py_CLEAR(self->on_attempt);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Worker_close(WorkerObject *self, PyObject *unused)
{
    if (self->lock == NULL || self->w == NULL)
        Py_RETURN_NONE;
    ENTER(self);
    worker_close_now(self);
    worker_leave(self);
    Py_RETURN_NONE;
}

static PyObject *Worker_closed(WorkerObject *self, void *unused)
{
    return PyBool_FromLong(self->w == NULL);
}

/* ------------------------------------------------------------ endpoints */

/* add / update: (id, json, skip_test) -> (stored json with secrets, test dict | None) */
static PyObject *endpoint_put(WorkerObject *self, PyObject *args, int update)
{
    const char *id, *json;
    Py_ssize_t len;
    int skip = 0;
    hl_test_response test;
    hl_error err = HL_ERROR_INIT;
    hl_code c;
    char *stored = NULL;
    PyObject *res = NULL, *tdict;

    if (!PyArg_ParseTuple(args, "ss#|p", &id, &json, &len, &skip))
        return NULL;
    ENTER(self);
    memset(&test, 0, sizeof test);
    Py_BEGIN_ALLOW_THREADS
    c = update ? hl_worker_endpoint_update(self->w, id, json, (size_t)len,
                                           skip ? HL_WORKER_SKIP_TEST : 0, &test, &err)
               : hl_worker_endpoint_add(self->w, id, json, (size_t)len,
                                        skip ? HL_WORKER_SKIP_TEST : 0, &test, &err);
    Py_END_ALLOW_THREADS
    if (c == HL_OK)
        c = hl_worker_endpoint_get(self->w, id, 0, &stored, NULL, &err);
    worker_leave(self);
    tdict = skip || (test.status == 0 && test.failure == HL_FAILURE_NONE) ? Py_NewRef(Py_None)
                                                                          : test_dict(&test);
    if (tdict == NULL)
        goto out;
    if (c != HL_OK) {
        hlpy_raise(c, &err);
        if (c == HL_E_ENDPOINT_TEST_FAILED && tdict != Py_None) {
            /* attach what the receiver answered to the exception */
            PyObject *t, *v, *tb;
            PyErr_Fetch(&t, &v, &tb);
            PyErr_NormalizeException(&t, &v, &tb);
            if (v != NULL)
                PyObject_SetAttrString(v, "response", tdict);
            PyErr_Restore(t, v, tb);
        }
        Py_DECREF(tdict);
        goto out;
    }
    res = Py_BuildValue("(s N)", stored, tdict);
out:
    hl_endpoint_config_json_free(stored);
    return res;
}

static PyObject *Worker_add_endpoint(WorkerObject *self, PyObject *args)
{
    return endpoint_put(self, args, 0);
}

static PyObject *Worker_update_endpoint(WorkerObject *self, PyObject *args)
{
    return endpoint_put(self, args, 1);
}

typedef hl_code (*id_fn)(hl_worker *, const char *, hl_error *);

static PyObject *endpoint_simple(WorkerObject *self, PyObject *arg, id_fn fn)
{
    const char *id = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    hl_error err = HL_ERROR_INIT;
    if (id == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "endpoint id must be a str");
        return NULL;
    }
    ENTER(self);
    hl_code c = fn(self->w, id, &err);
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    Py_RETURN_NONE;
}

static PyObject *Worker_remove_endpoint(WorkerObject *self, PyObject *arg)
{
    return endpoint_simple(self, arg, hl_worker_endpoint_remove);
}
static PyObject *Worker_enable_endpoint(WorkerObject *self, PyObject *arg)
{
    return endpoint_simple(self, arg, hl_worker_endpoint_enable);
}
static PyObject *Worker_disable_endpoint(WorkerObject *self, PyObject *arg)
{
    return endpoint_simple(self, arg, hl_worker_endpoint_disable);
}

static PyObject *info_dict(const hl_endpoint_info *i)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    SET(d, "disabled", str_or_none(i->disabled ? hl_disabled_reason_name(i->disabled) : NULL));
    SET(d, "breaker", str_or_none(hl_breaker_state_name(i->breaker)));
    SET(d, "breaker_trips", PyLong_FromUnsignedLong(i->breaker_trips));
    SET(d, "in_flight", PyLong_FromUnsignedLong(i->in_flight));
    SET(d, "queued", PyLong_FromSize_t(i->queued));
    SET(d, "pending_batches", PyLong_FromSize_t(i->pending_batches));
    SET(d, "effective_rate", PyFloat_FromDouble(i->effective_rate));
    SET(d, "failing_since", i->failing_since_ms
                                ? PyFloat_FromDouble((double)i->failing_since_ms / 1000.0)
                                : Py_NewRef(Py_None));
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

/* endpoint(id, reveal) -> (json, info dict) */
static PyObject *Worker_endpoint(WorkerObject *self, PyObject *args)
{
    const char *id;
    int reveal = 0;
    char *json = NULL;
    hl_endpoint_info info;
    hl_error err = HL_ERROR_INIT;
    PyObject *res = NULL, *d;
    if (!PyArg_ParseTuple(args, "s|p", &id, &reveal))
        return NULL;
    ENTER(self);
    hl_code c = hl_worker_endpoint_get(self->w, id, reveal ? 0 : HL_CONFIG_REDACT, &json, &info,
                                       &err);
    if (c != HL_OK) {
        worker_leave(self);
        return hlpy_raise(c, &err);
    }
    d = info_dict(&info); /* info's strings live until the engine changes: under the lock */
    worker_leave(self);
    if (d != NULL)
        res = Py_BuildValue("(s N)", json, d);
    hl_endpoint_config_json_free(json);
    return res;
}

static int list_one(void *user, const char *id, const char *json, hl_disabled_reason disabled)
{
    PyObject *t = Py_BuildValue("(s s s)", id, json,
                                disabled ? hl_disabled_reason_name(disabled) : "");
    if (t == NULL)
        return 1;
    int rc = PyList_Append((PyObject *)user, t);
    Py_DECREF(t);
    return rc < 0;
}

static PyObject *Worker_endpoints(WorkerObject *self, PyObject *unused)
{
    hl_error err = HL_ERROR_INIT;
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    if (!worker_enter(self)) {
        Py_DECREF(list);
        return NULL;
    }
    hl_code c = hl_worker_endpoint_list(self->w, list_one, list, &err);
    worker_leave(self);
    if (c != HL_OK) {
        Py_DECREF(list);
        return PyErr_Occurred() ? NULL : hlpy_raise(c, &err);
    }
    return list;
}

static PyObject *Worker_test_endpoint(WorkerObject *self, PyObject *args)
{
    const char *id;
    int stale = 0;
    hl_test_response t;
    hl_error err = HL_ERROR_INIT;
    hl_code c;
    if (!PyArg_ParseTuple(args, "s|p", &id, &stale))
        return NULL;
    ENTER(self);
    memset(&t, 0, sizeof t);
    Py_BEGIN_ALLOW_THREADS
    c = hl_worker_endpoint_test(self->w, id, stale ? HL_TEST_STALE : 0, &t, &err);
    Py_END_ALLOW_THREADS
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    return test_dict(&t);
}

static PyObject *Worker_rotate_secret(WorkerObject *self, PyObject *args)
{
    const char *id, *secret = NULL;
    unsigned long long grace_ms;
    char *out = NULL;
    hl_error err = HL_ERROR_INIT;
    if (!PyArg_ParseTuple(args, "szK", &id, &secret, &grace_ms))
        return NULL;
    ENTER(self);
    hl_code c = hl_worker_rotate_secret(self->w, id, secret, (uint64_t)grace_ms, &out, &err);
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    PyObject *res = PyUnicode_FromString(out);
    hl_endpoint_config_json_free(out);
    return res;
}

/* ------------------------------------------------------------ events */

/* One event from a tuple (type, data_json|None, id|None, created_ms, ordering_key|None). */
static int event_from_tuple(PyObject *t, hl_event *ev)
{
    Py_ssize_t dlen = 0;
    unsigned long long created = 0;
    *ev = (hl_event)HL_EVENT_INIT;
    if (!PyArg_ParseTuple(t, "sz#zKz", &ev->type, &ev->data, &dlen, &ev->id, &created,
                          &ev->ordering_key))
        return -1;
    ev->data_len = (size_t)dlen;
    ev->created_at_ms = (uint64_t)created;
    return 0;
}

static PyObject *Worker_enqueue(WorkerObject *self, PyObject *args)
{
    hl_event ev;
    char id[HL_ENGINE_ID_MAX];
    size_t routed = 0;
    hl_error err = HL_ERROR_INIT;
    if (event_from_tuple(args, &ev) < 0)
        return NULL;
    ENTER(self);
    hl_code c = hl_worker_enqueue(self->w, &ev, &routed, id, sizeof id, &err);
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    return Py_BuildValue("(s n)", id, (Py_ssize_t)routed);
}

static PyObject *events_convert(PyObject *seq, hl_event **out, Py_ssize_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "events must be a sequence of tuples");
    if (fast == NULL)
        return NULL;
    *n = PySequence_Fast_GET_SIZE(fast);
    *out = PyMem_Calloc((size_t)*n + 1, sizeof **out);
    if (*out == NULL) {
        Py_DECREF(fast);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < *n; i++)
        if (event_from_tuple(PySequence_Fast_GET_ITEM(fast, i), &(*out)[i]) < 0) {
            PyMem_Free(*out);
            *out = NULL;
            Py_DECREF(fast);
            return NULL;
        }
    return fast; /* keeps the strings alive */
}

/* The count enqueued, or the error raised with `.enqueued` = done (the
 * events before a refused one are kept). */
static PyObject *enqueue_result(hl_code c, const hl_error *err, size_t done)
{
    PyObject *t, *v, *tb;
    if (c == HL_OK)
        return PyLong_FromSize_t(done);
    hlpy_raise(c, err);
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    if (v != NULL) {
        PyObject *num = PyLong_FromSize_t(done);
        if (num != NULL)
            PyObject_SetAttrString(v, "enqueued", num);
        Py_XDECREF(num);
    }
    PyErr_Restore(t, v, tb);
    return NULL;
}

static PyObject *Worker_enqueue_many(WorkerObject *self, PyObject *arg)
{
    hl_event *evs;
    Py_ssize_t n;
    size_t done = 0;
    hl_error err = HL_ERROR_INIT;
    PyObject *keep = events_convert(arg, &evs, &n);
    if (keep == NULL)
        return NULL;
    if (!worker_enter(self)) {
        PyMem_Free(evs);
        Py_DECREF(keep);
        return NULL;
    }
    hl_code c = hl_worker_enqueue_many(self->w, evs, (size_t)n, &done, &err);
    worker_leave(self);
    PyMem_Free(evs);
    Py_DECREF(keep);
    return enqueue_result(c, &err, done);
}

/* enqueue_to([event tuples], [endpoint id | None]) -> count (one transaction) */
static PyObject *Worker_enqueue_to(WorkerObject *self, PyObject *args)
{
    PyObject *events, *targets, *fast_targets, *keep;
    hl_event *evs;
    const char **to;
    Py_ssize_t n;
    size_t done = 0;
    hl_error err = HL_ERROR_INIT;
    if (!PyArg_ParseTuple(args, "OO", &events, &targets))
        return NULL;
    fast_targets = PySequence_Fast(targets, "endpoint ids must be a sequence");
    if (fast_targets == NULL)
        return NULL;
    keep = events_convert(events, &evs, &n);
    if (keep == NULL) {
        Py_DECREF(fast_targets);
        return NULL;
    }
    to = PyMem_Calloc((size_t)n + 1, sizeof *to);
    if (to == NULL || PySequence_Fast_GET_SIZE(fast_targets) != n) {
        if (to != NULL)
            PyErr_SetString(PyExc_ValueError, "one endpoint id (or None) per event");
        else
            PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(fast_targets, i);
        if (t == Py_None)
            continue;
        if ((to[i] = PyUnicode_AsUTF8(t)) == NULL)
            goto fail;
    }
    if (!worker_enter(self))
        goto fail;
    hl_code c = hl_worker_enqueue_to(self->w, evs, to, (size_t)n, &done, &err);
    worker_leave(self);
    PyMem_Free(to);
    PyMem_Free(evs);
    Py_DECREF(keep);
    Py_DECREF(fast_targets);
    return enqueue_result(c, &err, done);
fail:
    PyMem_Free(to);
    PyMem_Free(evs);
    Py_DECREF(keep);
    Py_DECREF(fast_targets);
    return NULL;
}

/* ------------------------------------------------------------ delivery */

static PyObject *progress_dict(const hl_dispatch_progress *p)
{
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    SET(d, "started", PyLong_FromSize_t(p->started));
    SET(d, "finished", PyLong_FromSize_t(p->finished));
    SET(d, "succeeded", PyLong_FromSize_t(p->succeeded));
    SET(d, "failed", PyLong_FromSize_t(p->failed));
    SET(d, "blocked", PyLong_FromSize_t(p->blocked));
    SET(d, "in_flight", PyLong_FromSize_t(p->in_flight));
    /* idle: the engine had nothing timed and this step changed nothing (an
     * outcome reported in this step may have scheduled a retry) */
    SET(d, "idle", PyBool_FromLong(p->engine_action == HL_ACTION_IDLE && p->in_flight == 0 &&
                                   p->started == 0 && p->finished == 0));
    SET(d, "wake_at", p->wake_ms ? PyFloat_FromDouble((double)p->wake_ms / 1000.0)
                                 : Py_NewRef(Py_None));
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *Worker_run_once(WorkerObject *self, PyObject *args)
{
    unsigned long long wait_ms = 200;
    hl_dispatch_progress p;
    hl_error err = HL_ERROR_INIT;
    hl_code c;
    if (!PyArg_ParseTuple(args, "|K", &wait_ms))
        return NULL;
    ENTER(self);
    memset(&p, 0, sizeof p);
    Py_BEGIN_ALLOW_THREADS
    c = hl_worker_run_once(self->w, (uint64_t)wait_ms, &p, &err);
    Py_END_ALLOW_THREADS
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    return progress_dict(&p);
}

static PyObject *Worker_drain(WorkerObject *self, PyObject *args)
{
    unsigned long long timeout_ms = 30000;
    hl_error err = HL_ERROR_INIT;
    hl_code c;
    if (!PyArg_ParseTuple(args, "|K", &timeout_ms))
        return NULL;
    ENTER(self);
    Py_BEGIN_ALLOW_THREADS
    c = hl_worker_drain(self->w, (uint64_t)timeout_ms, &err);
    Py_END_ALLOW_THREADS
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    Py_RETURN_NONE;
}

/* ---------------------------------------------------- dead letters, status */

static PyObject *Worker_batch(WorkerObject *self, PyObject *args)
{
    const char *id;
    hl_outbox_batch b;
    hl_error err = HL_ERROR_INIT;
    if (!PyArg_ParseTuple(args, "s", &id))
        return NULL;
    ENTER(self);
    hl_code c = hl_worker_batch_get(self->w, id, &b, &err);
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    return batch_dict(&b);
}

static int attempt_one(void *user, const hl_attempt_record *a)
{
    PyObject *d = attempt_dict(a);
    if (d == NULL)
        return 1;
    int rc = PyList_Append((PyObject *)user, d);
    Py_DECREF(d);
    return rc < 0;
}

static int batch_one(void *user, const hl_outbox_batch *b)
{
    PyObject *d = batch_dict(b);
    if (d == NULL)
        return 1;
    int rc = PyList_Append((PyObject *)user, d);
    Py_DECREF(d);
    return rc < 0;
}

/* attempts(endpoint|None, batch|None, since_ms, limit) */
static PyObject *Worker_attempts(WorkerObject *self, PyObject *args)
{
    hl_outbox_attempt_query q = {HL_OUTBOX_QUERY_VERSION, NULL, NULL, 0, 0, 0};
    unsigned long long since = 0;
    Py_ssize_t limit = 0;
    hl_error err = HL_ERROR_INIT;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "zzKn|p", &q.endpoint_id, &q.batch_id, &since, &limit,
                          &q.newest_first))
        return NULL;
    if (limit < 0)
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "limit must be >= 0");
    q.since_ms = (uint64_t)since;
    q.limit = (size_t)limit;
    if ((list = PyList_New(0)) == NULL)
        return NULL;
    if (!worker_enter(self)) {
        Py_DECREF(list);
        return NULL;
    }
    hl_code c = hl_worker_attempts(self->w, &q, attempt_one, list, &err);
    worker_leave(self);
    if (c != HL_OK) {
        Py_DECREF(list);
        return PyErr_Occurred() ? NULL : hlpy_raise(c, &err);
    }
    return list;
}

static PyObject *Worker_dead_letters(WorkerObject *self, PyObject *args)
{
    const char *ep = NULL;
    Py_ssize_t limit = 0;
    hl_error err = HL_ERROR_INIT;
    PyObject *list;
    if (!PyArg_ParseTuple(args, "zn", &ep, &limit))
        return NULL;
    if (limit < 0)
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "limit must be >= 0");
    if ((list = PyList_New(0)) == NULL)
        return NULL;
    if (!worker_enter(self)) {
        Py_DECREF(list);
        return NULL;
    }
    hl_code c = hl_worker_dead_letters(self->w, ep, 0, (size_t)limit,
                                       batch_one, list, NULL, &err);
    worker_leave(self);
    if (c != HL_OK) {
        Py_DECREF(list);
        return PyErr_Occurred() ? NULL : hlpy_raise(c, &err);
    }
    return list;
}

static PyObject *Worker_redrive(WorkerObject *self, PyObject *args)
{
    const char *id = NULL;
    size_t n = 0;
    hl_error err = HL_ERROR_INIT;
    if (!PyArg_ParseTuple(args, "|z", &id))
        return NULL;
    ENTER(self);
    hl_code c = hl_worker_redrive(self->w, id, &n, &err);
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    return PyLong_FromSize_t(n);
}

static PyObject *Worker_purge(WorkerObject *self, PyObject *args)
{
    const char *id = NULL;
    hl_error err = HL_ERROR_INIT;
    if (!PyArg_ParseTuple(args, "|z", &id))
        return NULL;
    ENTER(self);
    hl_code c = hl_worker_purge(self->w, id, &err);
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    Py_RETURN_NONE;
}

static PyObject *counts_dict(const hl_outbox_counts *k)
{
    PyObject *d = PyDict_New(), *by = NULL;
    if (d == NULL)
        return NULL;
    if ((by = PyDict_New()) == NULL)
        goto fail;
    for (int s = 0; s < HL_BATCH__SENTINEL; s++) {
        PyObject *v = PyLong_FromSize_t(k->batches[s]);
        if (v == NULL || PyDict_SetItemString(by, hl_batch_state_name(s), v) < 0) {
            Py_XDECREF(v);
            goto fail;
        }
        Py_DECREF(v);
    }
    SET(d, "batches", by);
    by = NULL;
    SET(d, "open_events", PyLong_FromSize_t(k->open_events));
    SET(d, "attempts", PyLong_FromSize_t(k->attempts));
    SET(d, "endpoints", PyLong_FromSize_t(k->endpoints));
    SET(d, "inbox", PyLong_FromSize_t(k->inbox));
    SET(d, "inbox_rejected", PyLong_FromSize_t(k->inbox_rejected));
    return d;
fail:
    Py_XDECREF(by);
    Py_DECREF(d);
    return NULL;
}

static PyObject *Worker_counts(WorkerObject *self, PyObject *unused)
{
    hl_outbox_counts k;
    hl_error err = HL_ERROR_INIT;
    ENTER(self);
    hl_code c = hl_worker_counts_get(self->w, &k, &err);
    worker_leave(self);
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    return counts_dict(&k);
}

/* metrics: name -> value, or name -> {label_value: value} for labelled samples
 * (histograms: name_bucket -> {"5": n, ..., "+Inf": n}). */
static int metric_one(void *user, const hl_metric_sample *s)
{
    PyObject *d = user, *v = PyFloat_FromDouble(s->value);
    int rc;
    if (v == NULL)
        return 1;
    if (s->label_name == NULL || s->label_name[0] == '\0') {
        rc = PyDict_SetItemString(d, s->name, v);
    } else {
        PyObject *sub = PyDict_GetItemString(d, s->name); /* borrowed */
        if (sub == NULL) {
            if ((sub = PyDict_New()) == NULL || PyDict_SetItemString(d, s->name, sub) < 0) {
                Py_XDECREF(sub);
                Py_DECREF(v);
                return 1;
            }
            Py_DECREF(sub);
        }
        rc = PyDict_SetItemString(sub, s->label_value, v);
    }
    Py_DECREF(v);
    return rc < 0;
}

static PyObject *Worker_metrics(WorkerObject *self, PyObject *unused)
{
    hl_metrics m;
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (!worker_enter(self)) {
        Py_DECREF(d);
        return NULL;
    }
    hl_metrics_update_from_engine(&self->metrics, hl_worker_engine(self->w));
    m = self->metrics;
    worker_leave(self);
    if (hl_metrics_each(&m, metric_one, d) != 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *Worker_now(WorkerObject *self, PyObject *unused)
{
    ENTER(self);
    uint64_t now = hl_worker_now(self->w);
    worker_leave(self);
    return PyLong_FromUnsignedLongLong(now);
}

static PyMethodDef Worker_methods[] = {
    {"close", (PyCFunction)Worker_close, METH_NOARGS, "Close the worker (idempotent)."},
    {"add_endpoint", (PyCFunction)Worker_add_endpoint, METH_VARARGS,
     "add_endpoint(id, json, skip_test) -> (stored_json, test_dict | None)"},
    {"update_endpoint", (PyCFunction)Worker_update_endpoint, METH_VARARGS,
     "update_endpoint(id, json, skip_test) -> (stored_json, test_dict | None)"},
    {"remove_endpoint", (PyCFunction)Worker_remove_endpoint, METH_O, "remove_endpoint(id)"},
    {"enable_endpoint", (PyCFunction)Worker_enable_endpoint, METH_O, "enable_endpoint(id)"},
    {"disable_endpoint", (PyCFunction)Worker_disable_endpoint, METH_O, "disable_endpoint(id)"},
    {"endpoint", (PyCFunction)Worker_endpoint, METH_VARARGS,
     "endpoint(id, reveal) -> (json, info)"},
    {"endpoints", (PyCFunction)Worker_endpoints, METH_NOARGS,
     "endpoints() -> [(id, redacted_json, disabled_reason)]"},
    {"test_endpoint", (PyCFunction)Worker_test_endpoint, METH_VARARGS,
     "test_endpoint(id, stale) -> dict"},
    {"rotate_secret", (PyCFunction)Worker_rotate_secret, METH_VARARGS,
     "rotate_secret(id, secret | None, grace_ms) -> new secret"},
    {"enqueue", (PyCFunction)Worker_enqueue, METH_VARARGS,
     "enqueue(type, data_json | None, id | None, created_ms, ordering_key | None) -> (id, routed)"},
    {"enqueue_many", (PyCFunction)Worker_enqueue_many, METH_O,
     "enqueue_many([event tuples]) -> count (one transaction)"},
    {"enqueue_to", (PyCFunction)Worker_enqueue_to, METH_VARARGS,
     "enqueue_to([event tuples], [endpoint id | None]) -> count (one transaction)"},
    {"run_once", (PyCFunction)Worker_run_once, METH_VARARGS, "run_once(max_wait_ms) -> dict"},
    {"drain", (PyCFunction)Worker_drain, METH_VARARGS, "drain(timeout_ms)"},
    {"batch", (PyCFunction)Worker_batch, METH_VARARGS, "batch(id) -> dict"},
    {"attempts", (PyCFunction)Worker_attempts, METH_VARARGS,
     "attempts(endpoint, batch, since_ms, limit, newest_first=False) -> [dict]"},
    {"dead_letters", (PyCFunction)Worker_dead_letters, METH_VARARGS,
     "dead_letters(endpoint, limit) -> [dict]"},
    {"redrive", (PyCFunction)Worker_redrive, METH_VARARGS, "redrive(batch_id=None) -> count"},
    {"purge", (PyCFunction)Worker_purge, METH_VARARGS, "purge(batch_id=None)"},
    {"counts", (PyCFunction)Worker_counts, METH_NOARGS, "counts() -> dict"},
    {"metrics", (PyCFunction)Worker_metrics, METH_NOARGS, "metrics() -> dict"},
    {"now", (PyCFunction)Worker_now, METH_NOARGS, "now() -> unix ms (the worker's clock)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Worker_getset[] = {
    {"closed", (getter)Worker_closed, NULL, "True once closed", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject WorkerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "hookline._hookline.Worker",
    .tp_basicsize = sizeof(WorkerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Worker_traverse,
    .tp_clear = (inquiry)Worker_clear,
    .tp_doc = "The sending worker over a SQLite outbox (use hookline.Worker).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Worker_init,
    .tp_dealloc = (destructor)Worker_dealloc,
    .tp_methods = Worker_methods,
    .tp_getset = Worker_getset,
};

/* ------------------------------------------------------------ inbox */

/* pg_migrate(url) -> (from, to): create or upgrade the PostgreSQL schema. */
static PyObject *pg_migrate(PyObject *mod, PyObject *args)
{
    const char *url;
    int from = 0, to = 0;
    hl_error err = HL_ERROR_INIT;
    hl_code c;
    (void)mod;
    if (!PyArg_ParseTuple(args, "s", &url))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    c = hl_worker_migrate(url, &from, &to, &err);
    Py_END_ALLOW_THREADS
    if (c != HL_OK)
        return hlpy_raise(c, &err);
    return Py_BuildValue("(ii)", from, to);
}

/* outbox_submit(path, [event tuples]) -> [ids]: hand events to the worker
 * that owns the file (another process), durable when this returns. */
static PyObject *outbox_submit(PyObject *mod, PyObject *args)
{
    const char *path;
    PyObject *seq, *keep, *ids_list = NULL;
    hl_event *evs;
    Py_ssize_t n;
    hl_outbox *ob = NULL;
    hl_error err = HL_ERROR_INIT;
    char(*ids)[HL_ENGINE_ID_MAX] = NULL;
    size_t failed = 0;
    hl_code c;
    struct timespec ts;

    if (!PyArg_ParseTuple(args, "sO", &path, &seq))
        return NULL;
    if ((keep = events_convert(seq, &evs, &n)) == NULL)
        return NULL;
    ids = PyMem_Calloc((size_t)n + 1, sizeof *ids);
    if (ids == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    Py_BEGIN_ALLOW_THREADS
    if (strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0) {
        /* PostgreSQL: into hookline.events, through a worker handle that
         * only connects (it claims nothing) */
        hl_worker_options o = HL_WORKER_OPTIONS_INIT;
        hl_worker *w = NULL;
        o.db_path = path;
        c = hl_worker_open(&w, &o, NULL, &err);
        if (c == HL_OK)
            c = hl_worker_submit(w, evs, (size_t)n, ids, &failed, &err);
        hl_worker_close(w);
    } else {
        c = hl_outbox_open(&ob, path, NULL, &err);
        if (c == HL_OK)
            c = hl_outbox_submit(ob, evs, (size_t)n,
                                 (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u,
                                 ids, &failed, &err);
        hl_outbox_close(ob);
    }
    Py_END_ALLOW_THREADS
    if (c != HL_OK) {
        hlpy_raise(c, &err);
        if (c == HL_E_EVENT_INVALID) {
            PyObject *t, *v, *tb, *num = PyLong_FromSize_t(failed);
            PyErr_Fetch(&t, &v, &tb);
            PyErr_NormalizeException(&t, &v, &tb);
            if (v != NULL && num != NULL)
                PyObject_SetAttrString(v, "index", num);
            Py_XDECREF(num);
            PyErr_Restore(t, v, tb);
        }
        goto out;
    }
    if ((ids_list = PyList_New(n)) == NULL)
        goto out;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyUnicode_FromString(ids[i]);
        if (s == NULL) {
            Py_CLEAR(ids_list);
            goto out;
        }
        PyList_SET_ITEM(ids_list, i, s);
    }
out:
    PyMem_Free(ids);
    PyMem_Free(evs);
    Py_DECREF(keep);
    return ids_list;
}

static PyMethodDef module_functions[] = {
    {"outbox_submit", outbox_submit, METH_VARARGS,
     "outbox_submit(path, [event tuples]) -> [ids]"},
    {"pg_migrate", pg_migrate, METH_VARARGS,
     "pg_migrate(url) -> (from_version, to_version)"},
    {NULL, NULL, 0, NULL},
};

int hlpy_worker_init(PyObject *module)
{
    PyObject *bases, *cls;
    PyObject *dict = PyModule_GetDict(module);
    PyObject *endpoint_error = PyDict_GetItemString(dict, "EndpointError");
    PyObject *invalid = PyDict_GetItemString(dict, "InvalidArgument");
    if (endpoint_error == NULL || invalid == NULL) {
        PyErr_SetString(PyExc_ImportError, "worker area initialised before engine/errors");
        return -1;
    }
    worker_test_failed = hlpy_add_error(
        module, "EndpointTestFailed", endpoint_error, "endpoint_test_failed",
        "Registration's webhook.test request did not get a 2xx; nothing was saved. "
        "`.response` (a dict) holds what the receiver answered when it answered.");
    if (worker_test_failed == NULL ||
        hlpy_map_code(HL_E_ENDPOINT_TEST_FAILED, worker_test_failed) < 0)
        return -1;
    bases = PyTuple_Pack(2, hlpy_error_root(), PyExc_ValueError);
    if (bases == NULL)
        return -1;
    cls = hlpy_add_error(module, "ConfigError", bases, "config_unknown_field",
                         "An endpoint configuration document is invalid: an unknown field "
                         "('config_unknown_field'), a wrong type ('config_type'), a value out "
                         "of range ('config_range') or a missing field ('config_missing'); "
                         "the message names the field.");
    Py_DECREF(bases);
    if (cls == NULL || hlpy_map_code(HL_E_CONFIG_UNKNOWN_FIELD, cls) < 0 ||
        hlpy_map_code(HL_E_CONFIG_TYPE, cls) < 0 || hlpy_map_code(HL_E_CONFIG_RANGE, cls) < 0 ||
        hlpy_map_code(HL_E_CONFIG_MISSING, cls) < 0)
        return -1;
    cls = hlpy_add_error(module, "TransportError", hlpy_error_root(), "transport",
                         "The HTTP layer failed: libcurl ('transport'), an OAuth2 token "
                         "request ('oauth2'), invalid delivery options ('delivery_invalid') or "
                         "a worker that was drained ('draining').");
    if (cls == NULL || hlpy_map_code(HL_E_TRANSPORT, cls) < 0 ||
        hlpy_map_code(HL_E_OAUTH2, cls) < 0 || hlpy_map_code(HL_E_DELIVERY_INVALID, cls) < 0 ||
        hlpy_map_code(HL_E_DRAINING, cls) < 0)
        return -1;
    (void)invalid;
    if (PyType_Ready(&WorkerType) < 0 ||
        PyModule_AddObjectRef(module, "Worker", (PyObject *)&WorkerType) < 0 ||
        PyModule_AddFunctions(module, module_functions) < 0)
        return -1;
    return 0;
}
