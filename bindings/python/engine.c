/*
 * engine.c - hookline._hookline.Engine: the delivery engine of
 * hookline/engine.h, plus the engine's exception classes (codes 300-399).
 *
 * Thin, like the rest of the glue: times are integer milliseconds, options
 * and results are dicts of the C struct's fields. hookline/engine.py turns
 * them into seconds, keyword arguments and small result classes.
 *
 * Callbacks (route, transform, decide) are Python callables the core calls
 * from inside an engine call. An exception raised in one is kept here, the
 * core is told the callback failed (it then keeps every batch, as
 * engine.h promises), and once the core returns the exception becomes the
 * __cause__ of the CallbackError raised to the caller. KeyboardInterrupt and
 * other non-Exception exceptions are re-raised as they are.
 *
 * An hl_engine is one-thread-at-a-time: each object carries a lock and the
 * id of the thread holding it. The holder may call back in from a callback
 * for read-only calls (as engine.h allows); a changing call from there gets
 * EngineReentered rather than a deadlock or a corrupted engine. Engine calls
 * are short and run with the GIL held, so Python callbacks need no
 * re-acquisition.
 */
#include "hookline_py.h"

#include <stddef.h>
#include <string.h>

typedef struct {
    PyObject_HEAD
    hl_engine *engine;
    PyThread_type_lock lock;
    unsigned long owner; /* thread holding `lock` (valid while `held`) */
    int held;
    PyObject *route, *transform, *decide; /* NULL or callables */
    PyObject *cb_exc;        /* first exception a callback raised in this call */
    PyObject *transform_out; /* bytes handed to the core by the last transform */
    uint64_t now_ms;         /* `now` of the call in progress */
} EngineObject;

/* ------------------------------------------------------------ locking */

/* Returns 1 when the lock was taken (release with engine_leave), 0 for a
 * read-only call made by the holder from inside a callback, -1 on error. */
static int engine_enter(EngineObject *self, int changes)
{
    unsigned long me = PyThread_get_thread_ident();
    if (self->held && self->owner == me) {
        if (!changes)
            return 0;
        hlpy_raise_msg(HL_E_ENGINE_REENTERED,
                       "an engine callback called a method that changes the same engine; "
                       "only read-only calls (batch, stats, attempts, endpoint_info, "
                       "endpoints, dead_letters) are allowed there");
        return -1;
    }
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        /* Another thread is inside (perhaps in a callback): wait without the GIL. */
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    self->owner = me;
    self->held = 1;
    return 1;
}

static void engine_leave(EngineObject *self, int taken)
{
    if (taken == 1) {
        self->held = 0;
        self->owner = 0;
        PyThread_release_lock(self->lock);
    }
}

/* ------------------------------------------------------------ errors */

/* Keep the exception a callback raised (the first one) and clear it. */
static void callback_raised(EngineObject *self)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    if (self->cb_exc == NULL)
        self->cb_exc = value;
    else
        Py_XDECREF(value);
}

/*
 * Turn the result of a core call into a Python result: NULL with the
 * exception set for a failure (a callback's exception chained as __cause__),
 * or 0 for success. Always consumes self->cb_exc.
 */
static int engine_check(EngineObject *self, hl_code rc, const hl_error *err)
{
    PyObject *cause = self->cb_exc;
    self->cb_exc = NULL;
    Py_CLEAR(self->transform_out);
    if (cause != NULL && !PyObject_IsInstance(cause, PyExc_Exception)) {
        /* KeyboardInterrupt, SystemExit: not a policy failure, pass it on. */
        PyErr_SetObject((PyObject *)Py_TYPE(cause), cause);
        Py_DECREF(cause);
        return -1;
    }
    if (rc == HL_OK) {
        if (cause != NULL) {
            /* The call succeeded although a callback failed: a decide run by
             * next_action for an expired in-flight lease (the default policy
             * applied). Raising would lose the action just taken, so the
             * error goes to sys.unraisablehook, like an error in __del__. */
            PyErr_SetObject((PyObject *)Py_TYPE(cause), cause);
            Py_DECREF(cause);
            PyErr_WriteUnraisable(self->decide ? self->decide : Py_None);
        }
        return 0;
    }
    if (cause != NULL && rc == HL_E_CALLBACK) {
        /* Name the Python error in the message too: logs often show only that. */
        char message[HL_ERROR_MESSAGE_MAX + 200];
        PyObject *text = PyObject_Str(cause), *type, *value, *tb;
        const char *t = text ? PyUnicode_AsUTF8(text) : NULL;
        if (t == NULL)
            PyErr_Clear();
        PyOS_snprintf(message, sizeof message, "%s: %s%s%.150s",
                      err->message[0] ? err->message : hl_strerror(rc),
                      Py_TYPE(cause)->tp_name, t && t[0] ? ": " : "", t ? t : "");
        Py_XDECREF(text);
        hlpy_raise_msg(rc, message);
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (value != NULL) {
            Py_INCREF(cause);
            PyException_SetContext(value, cause); /* steals */
            PyException_SetCause(value, cause);   /* steals */
        } else {
            Py_DECREF(cause);
        }
        PyErr_Restore(type, value, tb);
        return -1;
    }
    Py_XDECREF(cause);
    hlpy_raise(rc, err);
    return -1;
}

/* --------------------------------------------------------- converters */

/* "O&" converter: a non-negative int of milliseconds. */
static int ms_converter(PyObject *obj, void *out)
{
    unsigned long long v;
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "milliseconds must be an int, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return 0;
    }
    v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "milliseconds out of range (0 to 2**64-1)");
        return 0;
    }
    *(uint64_t *)out = (uint64_t)v;
    return 1;
}

/* A str as NUL-free UTF-8 (borrowed from the str), or NULL for None when
 * `optional`. */
static int cstr(PyObject *obj, const char *what, int optional, const char **out)
{
    Py_ssize_t n;
    if (obj == Py_None && optional) {
        *out = NULL;
        return 0;
    }
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str%s, not %.100s", what,
                     optional ? " or None" : "", Py_TYPE(obj)->tp_name);
        return -1;
    }
    if ((*out = PyUnicode_AsUTF8AndSize(obj, &n)) == NULL)
        return -1;
    if (strlen(*out) != (size_t)n) {
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "a string argument contains a NUL character");
        return -1;
    }
    return 0;
}

static PyObject *str_or_none(const char *s)
{
    if (s == NULL)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

static PyObject *bytes_of(const char *p, size_t n)
{
    return PyBytes_FromStringAndSize(n ? p : "", (Py_ssize_t)n);
}

/* ---------------------------------------------------------- callbacks */

static int route_cb(void *user, const hl_event *ev, const char *endpoint_id, int filter_match)
{
    EngineObject *self = (EngineObject *)user;
    PyObject *data, *event, *res;
    int r;

    if (self->cb_exc != NULL)
        return -1;
    data = ev->data && ev->data_len ? bytes_of(ev->data, ev->data_len) : Py_NewRef(Py_None);
    if (data == NULL)
        goto fail;
    event = Py_BuildValue("(ssKNz)", ev->id, ev->type,
                          (unsigned long long)(ev->created_at_ms ? ev->created_at_ms
                                                                 : self->now_ms),
                          data, ev->ordering_key);
    if (event == NULL)
        goto fail;
    res = PyObject_CallFunction(self->route, "NsO", event, endpoint_id,
                                filter_match ? Py_True : Py_False);
    if (res == NULL)
        goto fail;
    r = PyObject_IsTrue(res);
    Py_DECREF(res);
    if (r < 0)
        goto fail;
    return r;
fail:
    callback_raised(self);
    return -1;
}

static int transform_cb(void *user, const char *endpoint_id, const char *event_json,
                        size_t event_len, const char **out_json, size_t *out_len)
{
    EngineObject *self = (EngineObject *)user;
    PyObject *res;

    if (self->cb_exc != NULL)
        return -1;
    res = PyObject_CallFunction(self->transform, "ss#", endpoint_id, event_json,
                                (Py_ssize_t)event_len);
    if (res == NULL)
        goto fail;
    if (res == Py_None) {
        Py_DECREF(res);
        return 0;
    }
    if (PyUnicode_Check(res)) {
        PyObject *b = PyUnicode_AsUTF8String(res);
        Py_DECREF(res);
        if ((res = b) == NULL)
            goto fail;
    } else if (!PyBytes_Check(res)) {
        PyErr_Format(PyExc_TypeError, "transform must return str, bytes or None, not %.100s",
                     Py_TYPE(res)->tp_name);
        Py_DECREF(res);
        goto fail;
    }
    /* The core copies it before calling again or returning; keep it till then. */
    Py_XSETREF(self->transform_out, res);
    *out_json = PyBytes_AS_STRING(res);
    *out_len = (size_t)PyBytes_GET_SIZE(res);
    return 0;
fail:
    callback_raised(self);
    return -1;
}

static int decide_cb(void *user, const hl_retry_input *in, hl_decision *out)
{
    EngineObject *self = (EngineObject *)user;
    const hl_outcome *o = in->outcome;
    PyObject *arg, *res, *ra, *body;
    int kind;
    unsigned long long at;

    if (self->cb_exc != NULL)
        return -1;
    ra = o->retry_after ? bytes_of(o->retry_after, o->retry_after_len) : Py_NewRef(Py_None);
    body = ra ? bytes_of(o->body_excerpt, o->body_excerpt ? o->body_excerpt_len : 0) : NULL;
    if (body == NULL) {
        Py_XDECREF(ra);
        goto fail;
    }
    arg = Py_BuildValue("{sssssIsisisNsKsNsKsKsKsisK}", "batch_id", in->batch_id, "endpoint_id",
                        in->endpoint_id, "attempt", in->attempt, "status", o->status, "failure",
                        (int)o->failure, "retry_after", ra, "latency_ms",
                        (unsigned long long)o->latency_ms, "body", body, "now_ms",
                        (unsigned long long)in->now_ms, "first_enqueue_ms",
                        (unsigned long long)in->first_enqueue_ms, "deadline_ms",
                        (unsigned long long)in->deadline_ms, "default_kind",
                        (int)in->default_decision.kind, "default_retry_at_ms",
                        (unsigned long long)in->default_decision.retry_at_ms);
    if (arg == NULL)
        goto fail;
    res = PyObject_CallOneArg(self->decide, arg);
    Py_DECREF(arg);
    if (res == NULL)
        goto fail;
    if (res == Py_None) {
        Py_DECREF(res);
        return 0;
    }
    if (!PyTuple_Check(res) || !PyArg_ParseTuple(res, "iK", &kind, &at)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "decide must return None or (kind, retry_at_ms)");
        Py_DECREF(res);
        goto fail;
    }
    Py_DECREF(res);
    if (kind < HL_DECIDE_DELIVERED || kind > HL_DECIDE_GIVE_UP) {
        PyErr_Format(PyExc_ValueError, "decision kind %d is not 0, 1 or 2", kind);
        goto fail;
    }
    out->kind = (hl_decision_kind)kind;
    out->retry_at_ms = (uint64_t)at;
    return 0;
fail:
    callback_raised(self);
    return -1;
}

/* ------------------------------------------------------ construction */

static PyObject *Engine_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"seed",  "max_in_flight", "attempt_retention_ms",
                             "max_attempt_records", "in_flight_lease_ms", "route",
                             "transform", "decide", NULL};
    hl_engine_options o = HL_ENGINE_OPTIONS_INIT;
    unsigned long long seed = 0;
    unsigned int max_in_flight = 0;
    Py_ssize_t max_records = 0;
    uint64_t retention = o.attempt_retention_ms, lease = 0;
    PyObject *route = Py_None, *transform = Py_None, *decide = Py_None;
    hl_error err = HL_ERROR_INIT;
    EngineObject *self;
    hl_code rc;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$KIO&nO&OOO:Engine", kwlist, &seed,
                                     &max_in_flight, ms_converter, &retention, &max_records,
                                     ms_converter, &lease, &route, &transform, &decide))
        return NULL;
    if (max_records < 0)
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "max_attempt_records must be >= 0");
    if ((route != Py_None && !PyCallable_Check(route)) ||
        (transform != Py_None && !PyCallable_Check(transform)) ||
        (decide != Py_None && !PyCallable_Check(decide))) {
        PyErr_SetString(PyExc_TypeError, "route, transform and decide must be callables or None");
        return NULL;
    }
    if ((self = (EngineObject *)type->tp_alloc(type, 0)) == NULL)
        return NULL;
    if ((self->lock = PyThread_allocate_lock()) == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    o.seed = seed;
    o.max_in_flight = max_in_flight;
    o.attempt_retention_ms = retention;
    o.max_attempt_records = (size_t)max_records;
    o.in_flight_lease_ms = lease;
    o.callback_user = self;
    if (route != Py_None) {
        self->route = Py_NewRef(route);
        o.route = route_cb;
    }
    if (transform != Py_None) {
        self->transform = Py_NewRef(transform);
        o.transform = transform_cb;
    }
    if (decide != Py_None) {
        self->decide = Py_NewRef(decide);
        o.decide = decide_cb;
    }
    if ((rc = hl_engine_new(&self->engine, &o, &err)) != HL_OK) {
        Py_DECREF(self);
        return hlpy_raise(rc, &err);
    }
    return (PyObject *)self;
}

static int Engine_traverse(EngineObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->route);
    Py_VISIT(self->transform);
    Py_VISIT(self->decide);
    Py_VISIT(self->cb_exc);
    return 0;
}

static int Engine_clear(EngineObject *self)
{
    Py_CLEAR(self->route);
    Py_CLEAR(self->transform);
    Py_CLEAR(self->decide);
    Py_CLEAR(self->cb_exc);
    Py_CLEAR(self->transform_out);
    return 0;
}

static void Engine_dealloc(EngineObject *self)
{
    PyObject_GC_UnTrack(self);
    Engine_clear(self);
    /* The callbacks are gone: the engine must not call them any more. */
    hl_engine_free(self->engine);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ------------------------------------------------------ endpoint options */

enum opt_type { O_U32, O_UINT, O_SIZE, O_U64, O_BOOL, O_DOUBLE };

struct opt_field {
    const char *name;
    enum opt_type type;
    size_t offset;
};

#define F(name, type) {#name, type, offsetof(hl_endpoint_options, name)}
static const struct opt_field OPT_FIELDS[] = {
    F(active, O_BOOL),
    F(max_events, O_U32),
    F(max_bytes, O_SIZE),
    F(linger_ms, O_U64),
    F(unbatched, O_BOOL),
    F(sparkpost_compat, O_BOOL),
    F(jitter_pct, O_UINT),
    F(deadline_ms, O_U64),
    F(max_attempts, O_UINT),
    F(concurrency, O_UINT),
    F(rate_per_s, O_DOUBLE),
    F(burst, O_DOUBLE),
    F(throttle_start_rate, O_DOUBLE),
    F(throttle_min_rate, O_DOUBLE),
    F(throttle_recover_ms, O_U64),
    F(breaker_window_ms, O_U64),
    F(breaker_min_attempts, O_UINT),
    F(breaker_failure_pct, O_UINT),
    F(breaker_half_open_ms, O_U64),
    F(breaker_disable_after_ms, O_U64),
    F(breaker_max_trips, O_UINT),
    F(blocked_disable_after, O_UINT),
};
#undef F

static int set_number(hl_endpoint_options *o, const struct opt_field *f, PyObject *v)
{
    char *p = (char *)o + f->offset;
    unsigned long long u;
    if (f->type == O_BOOL) {
        int b = PyObject_IsTrue(v);
        if (b < 0)
            return -1;
        *(int *)p = b;
        return 0;
    }
    if (f->type == O_DOUBLE) {
        double d = PyFloat_AsDouble(v);
        if (d == -1.0 && PyErr_Occurred())
            return -1;
        *(double *)p = d;
        return 0;
    }
    if (!PyLong_Check(v) || PyBool_Check(v)) {
        PyErr_Format(PyExc_TypeError, "endpoint option %s must be an int, not %.100s", f->name,
                     Py_TYPE(v)->tp_name);
        return -1;
    }
    u = PyLong_AsUnsignedLongLong(v);
    if ((u == (unsigned long long)-1 && PyErr_Occurred()) ||
        (f->type == O_U32 && u > UINT32_MAX) || (f->type == O_UINT && u > UINT_MAX) ||
        (f->type == O_SIZE && u > SIZE_MAX)) {
        PyErr_Clear();
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "an endpoint option is out of range");
        return -1;
    }
    switch (f->type) {
    case O_U32: *(uint32_t *)p = (uint32_t)u; break;
    case O_UINT: *(unsigned int *)p = (unsigned int)u; break;
    case O_SIZE: *(size_t *)p = (size_t)u; break;
    default: *(uint64_t *)p = (uint64_t)u; break;
    }
    return 0;
}

/* Fill `o` (already at the defaults) from a dict of option names (the C
 * struct's fields, plus url, filters, schedule_ms, ordering). `*filters`
 * is malloc'd (free it); the strings are borrowed from `opts`. */
static int endpoint_options(PyObject *opts, hl_endpoint_options *o, const char ***filters)
{
    PyObject *key, *value;
    Py_ssize_t pos = 0;

    *filters = NULL;
    if (!PyDict_Check(opts)) {
        PyErr_SetString(PyExc_TypeError, "endpoint options must be a dict");
        return -1;
    }
    while (PyDict_Next(opts, &pos, &key, &value)) {
        const char *name;
        size_t i;
        if (cstr(key, "an option name", 0, &name) < 0)
            return -1;
        if (strcmp(name, "url") == 0) {
            if (cstr(value, "url", 0, &o->url) < 0)
                return -1;
        } else if (strcmp(name, "ordering") == 0) {
            const char *s;
            if (cstr(value, "ordering", 0, &s) < 0)
                return -1;
            if (strcmp(s, "none") == 0)
                o->ordering = HL_ORDERING_NONE;
            else if (strcmp(s, "key") == 0)
                o->ordering = HL_ORDERING_KEY;
            else {
                hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "ordering must be \"none\" or \"key\"");
                return -1;
            }
        } else if (strcmp(name, "filters") == 0 || strcmp(name, "schedule_ms") == 0) {
            /* A list or tuple held by the dict: its items outlive the call. */
            int is_filters = name[0] == 'f';
            Py_ssize_t n, j;
            if (!PyList_Check(value) && !PyTuple_Check(value)) {
                PyErr_Format(PyExc_TypeError, "%s must be a list or tuple", name);
                return -1;
            }
            n = PySequence_Fast_GET_SIZE(value);
            if (n > (is_filters ? HL_FILTERS_MAX : HL_SCHEDULE_MAX)) {
                hlpy_raise_msg(HL_E_INVALID_ARGUMENT,
                               is_filters ? "too many event filters (at most 64)"
                                          : "too many schedule entries (at most 32)");
                return -1;
            }
            if (is_filters) {
                PyMem_Free((void *)*filters);
                if ((*filters = PyMem_Calloc((size_t)n + 1, sizeof(char *))) == NULL) {
                    PyErr_NoMemory();
                    return -1;
                }
            }
            for (j = 0; j < n; j++) {
                PyObject *item = PySequence_Fast_GET_ITEM(value, j);
                if (is_filters ? cstr(item, "an event filter", 0, &(*filters)[j]) < 0
                               : !ms_converter(item, &o->schedule_ms[j]))
                    return -1;
            }
            if (is_filters) {
                o->filters = *filters;
                o->n_filters = (size_t)n;
            } else {
                o->n_schedule = (size_t)n;
            }
        } else {
            for (i = 0; i < sizeof OPT_FIELDS / sizeof OPT_FIELDS[0]; i++)
                if (strcmp(name, OPT_FIELDS[i].name) == 0)
                    break;
            if (i == sizeof OPT_FIELDS / sizeof OPT_FIELDS[0]) {
                PyErr_Format(PyExc_TypeError, "unknown endpoint option %R", key);
                return -1;
            }
            if (set_number(o, &OPT_FIELDS[i], value) < 0)
                return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ methods */

enum ep_op { EP_ADD, EP_UPDATE };

static PyObject *endpoint_set(EngineObject *self, PyObject *args, enum ep_op op)
{
    PyObject *opts;
    const char *id;
    const char **filters = NULL;
    uint64_t now;
    hl_endpoint_options o = HL_ENDPOINT_OPTIONS_INIT;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    int taken;

    if (!PyArg_ParseTuple(args, op == EP_ADD ? "sO!O&:add_endpoint" : "sO!O&:update_endpoint",
                          &id, &PyDict_Type, &opts, ms_converter, &now))
        return NULL;
    Py_INCREF(opts); /* the option strings point into it */
    if (endpoint_options(opts, &o, &filters) < 0) {
        PyMem_Free((void *)filters);
        Py_DECREF(opts);
        return NULL;
    }
    if ((taken = engine_enter(self, 1)) < 0) {
        PyMem_Free((void *)filters);
        Py_DECREF(opts);
        return NULL;
    }
    self->now_ms = now;
    rc = op == EP_ADD ? hl_endpoint_add(self->engine, id, &o, now, &err)
                      : hl_endpoint_update(self->engine, id, &o, now, &err);
    engine_leave(self, taken);
    PyMem_Free((void *)filters);
    Py_DECREF(opts);
    if (engine_check(self, rc, &err) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Engine_add_endpoint(EngineObject *self, PyObject *args)
{
    return endpoint_set(self, args, EP_ADD);
}

static PyObject *Engine_update_endpoint(EngineObject *self, PyObject *args)
{
    return endpoint_set(self, args, EP_UPDATE);
}

enum id_op { ID_REMOVE, ID_ENABLE, ID_DISABLE, ID_REDRIVE };

static PyObject *id_now_call(EngineObject *self, PyObject *args, enum id_op op, const char *fmt)
{
    const char *id;
    uint64_t now;
    hl_error err = HL_ERROR_INIT;
    hl_code rc = HL_OK;
    int taken;

    if (!PyArg_ParseTuple(args, fmt, &id, ms_converter, &now))
        return NULL;
    if ((taken = engine_enter(self, 1)) < 0)
        return NULL;
    self->now_ms = now;
    switch (op) {
    case ID_REMOVE: rc = hl_endpoint_remove(self->engine, id, now, &err); break;
    case ID_ENABLE: rc = hl_endpoint_enable(self->engine, id, now, &err); break;
    case ID_DISABLE: rc = hl_endpoint_disable(self->engine, id, now, &err); break;
    case ID_REDRIVE: rc = hl_engine_redrive(self->engine, id, now, &err); break;
    }
    engine_leave(self, taken);
    if (engine_check(self, rc, &err) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Engine_remove_endpoint(EngineObject *self, PyObject *args)
{
    return id_now_call(self, args, ID_REMOVE, "sO&:remove_endpoint");
}

static PyObject *Engine_enable_endpoint(EngineObject *self, PyObject *args)
{
    return id_now_call(self, args, ID_ENABLE, "sO&:enable_endpoint");
}

static PyObject *Engine_disable_endpoint(EngineObject *self, PyObject *args)
{
    return id_now_call(self, args, ID_DISABLE, "sO&:disable_endpoint");
}

static PyObject *Engine_redrive(EngineObject *self, PyObject *args)
{
    return id_now_call(self, args, ID_REDRIVE, "sO&:redrive");
}

static int name_to_enum(const char *name, const char *(*namer)(int), int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(namer(i), name) == 0)
            return i;
    return -1;
}

static PyObject *Engine_set_endpoint_disabled(EngineObject *self, PyObject *args)
{
    const char *id, *reason;
    uint64_t now;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    int why, taken;

    if (!PyArg_ParseTuple(args, "ssO&:set_endpoint_disabled", &id, &reason, ms_converter, &now))
        return NULL;
    if ((why = name_to_enum(reason, hl_disabled_reason_name, HL_DISABLED__SENTINEL)) < 0)
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT,
                              "reason must be none, user, gone, failing or blocked");
    if ((taken = engine_enter(self, 1)) < 0)
        return NULL;
    rc = hl_endpoint_set_disabled(self->engine, id, (hl_disabled_reason)why, now, &err);
    engine_leave(self, taken);
    if (engine_check(self, rc, &err) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Engine_endpoint_info(EngineObject *self, PyObject *args)
{
    const char *id;
    hl_endpoint_info info;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    PyObject *res = NULL;
    int taken;

    if (!PyArg_ParseTuple(args, "s:endpoint_info", &id))
        return NULL;
    if ((taken = engine_enter(self, 0)) < 0)
        return NULL;
    rc = hl_endpoint_info_get(self->engine, id, &info, &err);
    if (rc == HL_OK)
        res = Py_BuildValue("{sssssssssIsIsnsnsdsK}", "endpoint_id", info.endpoint_id, "url",
                            info.url, "disabled", hl_disabled_reason_name(info.disabled),
                            "breaker", hl_breaker_state_name(info.breaker), "breaker_trips",
                            info.breaker_trips, "in_flight", info.in_flight, "queued",
                            (Py_ssize_t)info.queued, "pending_batches",
                            (Py_ssize_t)info.pending_batches, "effective_rate",
                            info.effective_rate, "failing_since_ms",
                            (unsigned long long)info.failing_since_ms);
    engine_leave(self, taken);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return res;
}

/* A list of ids from one of the engine's (offset, ids, cap, n_out) listers. */
typedef void (*id_lister)(hl_engine *, size_t, const char **, size_t, size_t *);

static PyObject *list_ids(EngineObject *self, id_lister lister)
{
    const char *ids[64];
    size_t n, offset = 0;
    PyObject *list;
    int taken;

    if ((list = PyList_New(0)) == NULL)
        return NULL;
    if ((taken = engine_enter(self, 0)) < 0) {
        Py_DECREF(list);
        return NULL;
    }
    do {
        lister(self->engine, offset, ids, 64, &n);
        for (size_t i = 0; i < n; i++) {
            PyObject *s = str_or_none(ids[i]);
            if (s == NULL || PyList_Append(list, s) < 0) {
                Py_XDECREF(s);
                Py_CLEAR(list);
                goto out;
            }
            Py_DECREF(s);
        }
        offset += n;
    } while (n == 64);
out:
    engine_leave(self, taken);
    return list;
}

static PyObject *Engine_endpoints(EngineObject *self, PyObject *unused)
{
    (void)unused;
    return list_ids(self, hl_endpoint_list);
}

static PyObject *Engine_dead_letters(EngineObject *self, PyObject *unused)
{
    (void)unused;
    return list_ids(self, hl_engine_dead_letter_list);
}

static PyObject *Engine_enqueue(EngineObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"type", "data", "id", "created_at_ms", "ordering_key", "now_ms",
                             "endpoint_id", NULL};
    PyObject *type_obj, *data_obj, *id_obj, *key_obj, *ep_obj = Py_None;
    uint64_t created = 0, now;
    hl_event ev = HL_EVENT_INIT;
    const char *endpoint_id = NULL;
    char id_out[HL_ENGINE_ID_MAX];
    size_t routed = 0;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    int taken;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO&OO&|O:enqueue", kwlist, &type_obj,
                                     &data_obj, &id_obj, ms_converter, &created, &key_obj,
                                     ms_converter, &now, &ep_obj))
        return NULL;
    if (cstr(type_obj, "type", 0, &ev.type) < 0 || cstr(id_obj, "id", 1, &ev.id) < 0 ||
        cstr(key_obj, "ordering_key", 1, &ev.ordering_key) < 0 ||
        cstr(ep_obj, "endpoint_id", 1, &endpoint_id) < 0)
        return NULL;
    if (data_obj != Py_None) {
        if (!PyBytes_Check(data_obj)) {
            PyErr_SetString(PyExc_TypeError, "data must be JSON bytes or None");
            return NULL;
        }
        ev.data = PyBytes_AS_STRING(data_obj);
        ev.data_len = (size_t)PyBytes_GET_SIZE(data_obj);
    }
    ev.created_at_ms = created;
    if ((taken = engine_enter(self, 1)) < 0)
        return NULL;
    self->now_ms = now;
    if (endpoint_id != NULL) {
        rc = hl_engine_enqueue_to(self->engine, endpoint_id, &ev, now, id_out, sizeof id_out,
                                  &err);
        routed = 1;
    } else {
        rc = hl_engine_enqueue(self->engine, &ev, now, &routed, id_out, sizeof id_out, &err);
    }
    engine_leave(self, taken);
    if (engine_check(self, rc, &err) < 0)
        return NULL;
    return Py_BuildValue("(sn)", id_out, (Py_ssize_t)routed);
}

static PyObject *Engine_flush(EngineObject *self, PyObject *args)
{
    uint64_t now;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    int taken;

    if (!PyArg_ParseTuple(args, "O&:flush", ms_converter, &now))
        return NULL;
    if ((taken = engine_enter(self, 1)) < 0)
        return NULL;
    self->now_ms = now;
    rc = hl_engine_flush(self->engine, now, &err);
    engine_leave(self, taken);
    if (engine_check(self, rc, &err) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Engine_next_action(EngineObject *self, PyObject *args)
{
    uint64_t now;
    hl_action a;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    PyObject *res = NULL;
    int taken;

    if (!PyArg_ParseTuple(args, "O&:next_action", ms_converter, &now))
        return NULL;
    if ((taken = engine_enter(self, 1)) < 0)
        return NULL;
    self->now_ms = now;
    rc = hl_engine_next_action(self->engine, now, &a, &err);
    if (rc == HL_OK) {
        /* Copy out while the borrowed pointers are still ours. */
        if (a.kind == HL_ACTION_SEND)
            res = Py_BuildValue("{sssKsssssssNsIsIsKsO}", "kind", "send", "due_ms",
                                (unsigned long long)a.at_ms, "batch_id", a.batch_id,
                                "endpoint_id", a.endpoint_id, "url", a.url, "body",
                                bytes_of(a.body, a.body_len), "n_events", a.n_events,
                                "attempt", a.attempt, "deadline_ms",
                                (unsigned long long)a.deadline_ms, "sparkpost_compat",
                                a.sparkpost_compat ? Py_True : Py_False);
        else if (a.kind == HL_ACTION_WAIT)
            res = Py_BuildValue("{sssK}", "kind", "wait", "at_ms", (unsigned long long)a.at_ms);
        else
            res = Py_BuildValue("{ss}", "kind", "idle");
    }
    engine_leave(self, taken);
    if (engine_check(self, rc, &err) < 0) {
        Py_XDECREF(res);
        return NULL;
    }
    return res;
}

static PyObject *Engine_report_outcome(EngineObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"batch_id", "status", "failure", "retry_after", "latency_ms",
                             "body", "now_ms", NULL};
    const char *batch_id;
    int status, failure;
    PyObject *ra_obj;
    uint64_t latency, now;
    Py_buffer body;
    hl_outcome o = HL_OUTCOME_INIT;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    int taken;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "siiOO&y*O&:report_outcome", kwlist,
                                     &batch_id, &status, &failure, &ra_obj, ms_converter,
                                     &latency, &body, ms_converter, &now))
        return NULL;
    if (failure < 0 || failure >= HL_FAILURE__SENTINEL) {
        PyBuffer_Release(&body);
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "failure kind out of range");
    }
    if (ra_obj != Py_None) {
        if (!PyBytes_Check(ra_obj)) {
            PyBuffer_Release(&body);
            PyErr_SetString(PyExc_TypeError, "retry_after must be bytes or None");
            return NULL;
        }
        o.retry_after = PyBytes_AS_STRING(ra_obj);
        o.retry_after_len = (size_t)PyBytes_GET_SIZE(ra_obj);
    }
    o.status = status;
    o.failure = (hl_failure)failure;
    o.latency_ms = latency;
    o.body_excerpt = body.buf;
    o.body_excerpt_len = (size_t)body.len;
    if ((taken = engine_enter(self, 1)) < 0) {
        PyBuffer_Release(&body);
        return NULL;
    }
    self->now_ms = now;
    rc = hl_engine_report_outcome(self->engine, batch_id, &o, now, &err);
    engine_leave(self, taken);
    PyBuffer_Release(&body);
    if (engine_check(self, rc, &err) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *batch_dict(const hl_batch_info *b)
{
    return Py_BuildValue(
        "{sssssssNsNsIsKsKsKsKsIsIsIsisisNsK}", "batch_id", b->batch_id, "endpoint_id",
        b->endpoint_id, "state", hl_batch_state_name(b->state), "ordering_key",
        str_or_none(b->ordering_key), "body", bytes_of(b->body, b->body_len), "n_events",
        b->n_events, "created_ms", (unsigned long long)b->created_ms, "deadline_ms",
        (unsigned long long)b->deadline_ms, "close_at_ms", (unsigned long long)b->close_at_ms,
        "next_attempt_ms", (unsigned long long)b->next_attempt_ms, "attempts", b->attempts,
        "total_attempts", b->total_attempts, "redrives", b->redrives, "last_status",
        b->last_status, "last_failure", (int)b->last_failure, "dead_reason",
        str_or_none(b->dead_reason), "settled_ms", (unsigned long long)b->settled_ms);
}

static PyObject *Engine_batch(EngineObject *self, PyObject *args)
{
    const char *id;
    hl_batch_info b;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    PyObject *res = NULL;
    int taken;

    if (!PyArg_ParseTuple(args, "s:batch", &id))
        return NULL;
    if ((taken = engine_enter(self, 0)) < 0)
        return NULL;
    rc = hl_engine_batch_get(self->engine, id, &b, &err);
    if (rc == HL_OK)
        res = batch_dict(&b);
    engine_leave(self, taken);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return res;
}

static PyObject *Engine_stats(EngineObject *self, PyObject *unused)
{
    hl_engine_stats st;
    PyObject *states, *res;
    int taken;

    (void)unused;
    if ((taken = engine_enter(self, 0)) < 0)
        return NULL;
    hl_engine_stats_get(self->engine, &st);
    engine_leave(self, taken);
    if ((states = PyDict_New()) == NULL)
        return NULL;
    for (int i = 0; i < HL_BATCH__SENTINEL; i++) {
        PyObject *n = PyLong_FromSize_t(st.batches[i]);
        if (n == NULL || PyDict_SetItemString(states, hl_batch_state_name(i), n) < 0) {
            Py_XDECREF(n);
            Py_DECREF(states);
            return NULL;
        }
        Py_DECREF(n);
    }
    res = Py_BuildValue("{sNsnsnsnsKsKsKsKsn}", "batches", states, "endpoints",
                        (Py_ssize_t)st.endpoints, "pending_events", (Py_ssize_t)st.pending_events,
                        "pending_body_bytes", (Py_ssize_t)st.pending_body_bytes,
                        "events_enqueued", (unsigned long long)st.events_enqueued,
                        "batches_delivered", (unsigned long long)st.batches_delivered,
                        "batches_dead_lettered", (unsigned long long)st.batches_dead_lettered,
                        "attempts", (unsigned long long)st.attempts, "attempt_records",
                        (Py_ssize_t)st.attempt_records);
    return res;
}

static PyObject *Engine_attempts(EngineObject *self, PyObject *unused)
{
    hl_attempt_record r;
    PyObject *list, *item;
    size_t n;
    int taken;

    (void)unused;
    if ((list = PyList_New(0)) == NULL)
        return NULL;
    if ((taken = engine_enter(self, 0)) < 0) {
        Py_DECREF(list);
        return NULL;
    }
    n = hl_engine_attempt_count(self->engine);
    for (size_t i = 0; i < n; i++) {
        if (hl_engine_attempt_at(self->engine, i, &r, NULL) != HL_OK)
            break;
        item = Py_BuildValue("{sssssIsKsKsisisOsKsN}", "batch_id", r.batch_id, "endpoint_id",
                             r.endpoint_id, "attempt", r.attempt, "at_ms",
                             (unsigned long long)r.at_ms, "sent_ms",
                             (unsigned long long)r.sent_ms, "status", r.status, "failure",
                             (int)r.failure, "delivered", r.delivered ? Py_True : Py_False,
                             "latency_ms", (unsigned long long)r.latency_ms, "excerpt",
                             bytes_of(r.excerpt, r.excerpt_len));
        if (item == NULL || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(item);
    }
    engine_leave(self, taken);
    return list;
}

static PyObject *Engine_purge(EngineObject *self, PyObject *args)
{
    PyObject *id_obj;
    const char *id;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    int taken;

    if (!PyArg_ParseTuple(args, "O:purge", &id_obj) || cstr(id_obj, "batch_id", 1, &id) < 0)
        return NULL;
    if ((taken = engine_enter(self, 1)) < 0)
        return NULL;
    rc = hl_engine_purge(self->engine, id, &err);
    engine_leave(self, taken);
    if (engine_check(self, rc, &err) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* Read one field of a batch dict (a borrowed value, NULL with KeyError). */
static PyObject *field(PyObject *d, const char *name)
{
    PyObject *v = PyDict_GetItemString(d, name);
    if (v == NULL)
        PyErr_Format(PyExc_KeyError, "batch is missing '%s'", name);
    return v;
}

static int field_u64(PyObject *d, const char *name, uint64_t *out)
{
    PyObject *v = field(d, name);
    return v == NULL || !ms_converter(v, out) ? -1 : 0;
}

static PyObject *Engine_restore_batch(EngineObject *self, PyObject *args)
{
    PyObject *d, *v;
    uint64_t now, u;
    const char *state;
    hl_batch_info b;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    int s, taken;

    if (!PyArg_ParseTuple(args, "O!O&:restore_batch", &PyDict_Type, &d, ms_converter, &now))
        return NULL;
    memset(&b, 0, sizeof b);
    if ((v = field(d, "batch_id")) == NULL || cstr(v, "batch_id", 0, &b.batch_id) < 0 ||
        (v = field(d, "endpoint_id")) == NULL || cstr(v, "endpoint_id", 0, &b.endpoint_id) < 0 ||
        (v = field(d, "state")) == NULL || cstr(v, "state", 0, &state) < 0 ||
        (v = field(d, "ordering_key")) == NULL ||
        cstr(v, "ordering_key", 1, &b.ordering_key) < 0 ||
        (v = field(d, "dead_reason")) == NULL || cstr(v, "dead_reason", 1, &b.dead_reason) < 0)
        return NULL;
    if ((s = name_to_enum(state, hl_batch_state_name, HL_BATCH__SENTINEL)) < 0)
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "unknown batch state");
    b.state = (hl_batch_state)s;
    if ((v = field(d, "body")) == NULL)
        return NULL;
    if (!PyBytes_Check(v)) {
        PyErr_SetString(PyExc_TypeError, "batch body must be bytes");
        return NULL;
    }
    b.body = PyBytes_AS_STRING(v);
    b.body_len = (size_t)PyBytes_GET_SIZE(v);
    if (field_u64(d, "n_events", &u) < 0)
        return NULL;
    b.n_events = (uint32_t)u;
    if (field_u64(d, "created_ms", &b.created_ms) < 0 ||
        field_u64(d, "deadline_ms", &b.deadline_ms) < 0 ||
        field_u64(d, "close_at_ms", &b.close_at_ms) < 0 ||
        field_u64(d, "next_attempt_ms", &b.next_attempt_ms) < 0 ||
        field_u64(d, "settled_ms", &b.settled_ms) < 0)
        return NULL;
    if (field_u64(d, "attempts", &u) < 0)
        return NULL;
    b.attempts = (unsigned int)u;
    if (field_u64(d, "total_attempts", &u) < 0)
        return NULL;
    b.total_attempts = (unsigned int)u;
    if (field_u64(d, "redrives", &u) < 0)
        return NULL;
    b.redrives = (unsigned int)u;
    if (field_u64(d, "last_status", &u) < 0)
        return NULL;
    b.last_status = (int)u;
    if (field_u64(d, "last_failure", &u) < 0)
        return NULL;
    if (u >= HL_FAILURE__SENTINEL)
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "last_failure out of range");
    b.last_failure = (hl_failure)u;
    if ((taken = engine_enter(self, 1)) < 0)
        return NULL;
    rc = hl_engine_restore_batch(self->engine, &b, now, &err);
    engine_leave(self, taken);
    if (engine_check(self, rc, &err) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------ module level */

static PyObject *event_types(PyObject *module, PyObject *unused)
{
    size_t n = hl_event_type_count();
    PyObject *t = PyTuple_New((Py_ssize_t)n);
    (void)module;
    (void)unused;
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *s = PyUnicode_FromString(hl_event_type_at(i));
        if (s == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, s);
    }
    return t;
}

static PyObject *event_filter_match(PyObject *module, PyObject *args)
{
    PyObject *p, *t;
    const char *pattern, *type;
    (void)module;
    if (!PyArg_ParseTuple(args, "OO:event_filter_match", &p, &t) ||
        cstr(p, "pattern", 0, &pattern) < 0 || cstr(t, "type", 0, &type) < 0)
        return NULL;
    return PyBool_FromLong(hl_event_filter_match(pattern, type));
}

static PyMethodDef Engine_methods[] = {
    {"add_endpoint", (PyCFunction)Engine_add_endpoint, METH_VARARGS,
     "add_endpoint(id, options, now_ms)\n--\n\nRegister an endpoint (options: C field names)."},
    {"update_endpoint", (PyCFunction)Engine_update_endpoint, METH_VARARGS,
     "update_endpoint(id, options, now_ms)\n--\n\nReplace an endpoint's options."},
    {"remove_endpoint", (PyCFunction)Engine_remove_endpoint, METH_VARARGS,
     "remove_endpoint(id, now_ms)\n--\n\nForget an endpoint (its batches are dead-lettered)."},
    {"enable_endpoint", (PyCFunction)Engine_enable_endpoint, METH_VARARGS,
     "enable_endpoint(id, now_ms)\n--\n\nClear any disabled reason."},
    {"disable_endpoint", (PyCFunction)Engine_disable_endpoint, METH_VARARGS,
     "disable_endpoint(id, now_ms)\n--\n\nDisable by hand (reason 'user')."},
    {"set_endpoint_disabled", (PyCFunction)Engine_set_endpoint_disabled, METH_VARARGS,
     "set_endpoint_disabled(id, reason, now_ms)\n--\n\nRestore a persisted disabled reason."},
    {"endpoint_info", (PyCFunction)Engine_endpoint_info, METH_VARARGS,
     "endpoint_info(id)\n--\n\nAn endpoint's live state as a dict."},
    {"endpoints", (PyCFunction)Engine_endpoints, METH_NOARGS,
     "endpoints()\n--\n\nEndpoint ids in the order they were added."},
    {"enqueue", (PyCFunction)(void (*)(void))Engine_enqueue, METH_VARARGS | METH_KEYWORDS,
     "enqueue(type, data, id, created_at_ms, ordering_key, now_ms, endpoint_id=None)\n--\n\n"
     "Route an event (to one endpoint when endpoint_id is given); returns (id, routed)."},
    {"flush", (PyCFunction)Engine_flush, METH_VARARGS,
     "flush(now_ms)\n--\n\nClose every open batch now."},
    {"next_action", (PyCFunction)Engine_next_action, METH_VARARGS,
     "next_action(now_ms)\n--\n\nThe next action as a dict (kind send, wait or idle)."},
    {"report_outcome", (PyCFunction)(void (*)(void))Engine_report_outcome,
     METH_VARARGS | METH_KEYWORDS,
     "report_outcome(batch_id, status, failure, retry_after, latency_ms, body, now_ms)\n--\n\n"
     "Tell the engine how an attempt ended."},
    {"batch", (PyCFunction)Engine_batch, METH_VARARGS,
     "batch(batch_id)\n--\n\nA known batch as a dict."},
    {"stats", (PyCFunction)Engine_stats, METH_NOARGS, "stats()\n--\n\nCounters as a dict."},
    {"attempts", (PyCFunction)Engine_attempts, METH_NOARGS,
     "attempts()\n--\n\nThe attempt log, oldest first, as dicts."},
    {"dead_letters", (PyCFunction)Engine_dead_letters, METH_NOARGS,
     "dead_letters()\n--\n\nDead-lettered batch ids, in the order they died."},
    {"redrive", (PyCFunction)Engine_redrive, METH_VARARGS,
     "redrive(batch_id, now_ms)\n--\n\nBack to queued, same id, fresh budget."},
    {"purge", (PyCFunction)Engine_purge, METH_VARARGS,
     "purge(batch_id)\n--\n\nForget one dead letter, or all for None."},
    {"restore_batch", (PyCFunction)Engine_restore_batch, METH_VARARGS,
     "restore_batch(batch, now_ms)\n--\n\nRe-insert a batch dict (as batch() returns it)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject EngineType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hookline._hookline.Engine",
    .tp_basicsize = sizeof(EngineObject),
    .tp_dealloc = (destructor)Engine_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Engine(*, seed=0, max_in_flight=0, attempt_retention_ms=86400000, "
              "max_attempt_records=0, in_flight_lease_ms=0, route=None, transform=None, "
              "decide=None)\n--\n\n"
              "The sans-IO delivery engine in milliseconds (use hookline.Engine).",
    .tp_traverse = (traverseproc)Engine_traverse,
    .tp_clear = (inquiry)Engine_clear,
    .tp_methods = Engine_methods,
    .tp_new = Engine_new,
};

static PyMethodDef module_functions[] = {
    {"event_types", event_types, METH_NOARGS,
     "event_types()\n--\n\nThe catalogue of well-known event types."},
    {"event_filter_match", event_filter_match, METH_VARARGS,
     "event_filter_match(pattern, type)\n--\n\nTrue when type matches pattern (the router's rule)."},
    {NULL, NULL, 0, NULL},
};

struct engine_class {
    const char *name;
    int builtin; /* 0 none, 1 ValueError, 2 LookupError, 3 RuntimeError */
    const char *code;
    int codes[3];
    const char *doc;
};

static const struct engine_class ENGINE_CLASSES[] = {
    {"EventError", 1, "event_invalid", {HL_E_EVENT_INVALID, HL_E_EVENT_TOO_LARGE, 0},
     "An event is refused at enqueue: malformed (code 'event_invalid') or larger than an "
     "endpoint's batch byte limit ('event_too_large'). Nothing was enqueued."},
    {"EndpointError", 2, "endpoint_unknown", {HL_E_ENDPOINT_UNKNOWN, HL_E_ENDPOINT_EXISTS, 0},
     "No endpoint with that id ('endpoint_unknown'), or one already exists ('endpoint_exists')."},
    {"BatchError", 2, "batch_unknown",
     {HL_E_BATCH_UNKNOWN, HL_E_BATCH_STATE, HL_E_BATCH_EXISTS},
     "No batch with that id ('batch_unknown'), not in a state that allows the call "
     "('batch_state'), or restored twice ('batch_exists')."},
    {"CallbackError", 0, "callback", {HL_E_CALLBACK, 0, 0},
     "A route, transform or decide callback raised or returned something unusable; the "
     "Python exception is the __cause__. The batch is kept: an enqueue enqueued nothing, a "
     "report_outcome applied the default policy."},
    {"EngineFailed", 0, "engine_failed", {HL_E_STORE, HL_E_ENGINE_FAILED, 0},
     "The engine stopped after a store failure; rebuild it from the store."},
    {"EngineReentered", 3, "engine_reentered", {HL_E_ENGINE_REENTERED, 0, 0},
     "A callback called a method that changes the same engine (only read-only calls are "
     "allowed from callbacks)."},
};

int hlpy_engine_init(PyObject *module)
{
    PyObject *engine_error, *cls, *bases;

    engine_error = hlpy_add_error(module, "EngineError", hlpy_error_root(), "unknown",
                                  "Base class of the delivery engine's errors; `.code` says why.");
    if (engine_error == NULL)
        return -1;
    for (size_t i = 0; i < sizeof ENGINE_CLASSES / sizeof ENGINE_CLASSES[0]; i++) {
        const struct engine_class *c = &ENGINE_CLASSES[i];
        PyObject *builtin = c->builtin == 1   ? PyExc_ValueError
                            : c->builtin == 2 ? PyExc_LookupError
                            : c->builtin == 3 ? PyExc_RuntimeError
                                              : NULL;
        bases = builtin ? PyTuple_Pack(2, engine_error, builtin) : Py_NewRef(engine_error);
        if (bases == NULL)
            return -1;
        cls = hlpy_add_error(module, c->name, bases, c->code, c->doc);
        Py_DECREF(bases);
        if (cls == NULL)
            return -1;
        for (size_t j = 0; j < 3; j++)
            if (c->codes[j] != 0 && hlpy_map_code(c->codes[j], cls) < 0)
                return -1;
    }
    /* A malformed Retry-After given to a parse call is a bad argument. */
    if (hlpy_map_code(HL_E_RETRY_AFTER, PyDict_GetItemString(PyModule_GetDict(module),
                                                             "InvalidArgument")) < 0)
        return -1;

    if (PyType_Ready(&EngineType) < 0 ||
        PyModule_AddObjectRef(module, "Engine", (PyObject *)&EngineType) < 0 ||
        PyModule_AddFunctions(module, module_functions) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "ENGINE_ID_MAX", HL_ENGINE_ID_MAX) < 0 ||
        PyModule_AddIntConstant(module, "EXCERPT_MAX", HL_EXCERPT_MAX) < 0)
        return -1;
    return 0;
}
