/*
 * dedupe.c - hookline._hookline.SeenStore: the seen-id store of
 * hookline/dedupe.h, in memory or in an SQLite file (hookline/seen_sqlite.h),
 * plus the StoreError / StoreFull exception classes for codes 400-499.
 *
 * Times arrive as integer milliseconds (the Python layer reads the clock and
 * converts seconds). SQLite calls run with the GIL released: they may wait on
 * another process's lock for up to the busy timeout. Each handle carries a
 * lock, since an hl_seen is one-thread-at-a-time.
 */
#include "hookline_py.h"

#include "hookline/seen_sqlite.h"

#include <string.h>

typedef struct {
    PyObject_HEAD
    hl_seen *seen; /* NULL once closed */
    int blocking;  /* the backend does I/O: release the GIL around calls */
    PyThread_type_lock lock;
} SeenStoreObject;

/* Wait for the handle's lock without the GIL, so a holder that is itself
 * waiting for the GIL can finish. */
static void store_lock(PyThread_type_lock lock)
{
    if (!PyThread_acquire_lock(lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

static PyObject *SeenStore_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"path", "ttl_ms", "capacity", "evict", "busy_timeout_ms", NULL};
    PyObject *path_obj, *path_bytes = NULL;
    unsigned long long ttl_ms;
    Py_ssize_t capacity;
    int evict, busy_ms;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    SeenStoreObject *self;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OKnpi:SeenStore", kwlist, &path_obj, &ttl_ms,
                                     &capacity, &evict, &busy_ms))
        return NULL;
    if (ttl_ms == 0 || capacity <= 0 || busy_ms < 0)
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT,
                              "ttl and capacity must be > 0, busy_timeout_ms >= 0");
    if (path_obj != Py_None && !PyUnicode_FSConverter(path_obj, &path_bytes))
        return NULL;
    if ((self = (SeenStoreObject *)type->tp_alloc(type, 0)) == NULL) {
        Py_XDECREF(path_bytes);
        return NULL;
    }
    if ((self->lock = PyThread_allocate_lock()) == NULL) {
        Py_XDECREF(path_bytes);
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    if (path_bytes == NULL) {
        hl_seen_options o = HL_SEEN_OPTIONS_INIT;
        o.capacity = (size_t)capacity;
        o.default_ttl_ms = (uint64_t)ttl_ms;
        o.full = evict ? HL_SEEN_FULL_EVICT_SOONEST : HL_SEEN_FULL_REFUSE;
        rc = hl_seen_new(&self->seen, &o, &err);
    } else {
        hl_seen_sqlite_options o = HL_SEEN_SQLITE_OPTIONS_INIT;
        const char *path = PyBytes_AS_STRING(path_bytes);
        o.default_ttl_ms = (uint64_t)ttl_ms;
        o.busy_timeout_ms = busy_ms;
        self->blocking = 1;
        Py_BEGIN_ALLOW_THREADS
        rc = hl_seen_sqlite_open(&self->seen, path, &o, &err);
        Py_END_ALLOW_THREADS
        Py_DECREF(path_bytes);
    }
    if (rc != HL_OK) {
        Py_DECREF(self);
        return hlpy_raise(rc, &err);
    }
    return (PyObject *)self;
}

static void SeenStore_dealloc(SeenStoreObject *self)
{
    hl_seen_free(self->seen);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The id's bytes (str as UTF-8, or bytes), kept alive by `keep`. */
static int id_get(PyObject *obj, PyObject *keep, const char **id, size_t *len)
{
    if (!PyUnicode_Check(obj) && !PyBytes_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "id must be str or bytes, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    return hlpy_text_view(obj, keep, "id", id, len);
}

static int check_open(SeenStoreObject *self)
{
    if (self->seen == NULL) {
        hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "the seen store is closed");
        return -1;
    }
    return 0;
}

/* One store call with the handle's lock held (and the GIL released when the
 * backend blocks). `op` selects the call. */
enum op { OP_ADD, OP_CONTAINS, OP_REMOVE, OP_PRUNE };

static hl_code call(SeenStoreObject *self, enum op op, const char *id, size_t len, uint64_t now,
                    uint64_t ttl, int *flag, size_t *count, hl_error *err)
{
    hl_code rc = HL_E_INVALID_ARGUMENT;
    store_lock(self->lock);
    if (self->blocking) {
        Py_BEGIN_ALLOW_THREADS
        switch (op) {
        case OP_ADD: rc = hl_seen_check_and_add(self->seen, id, len, now, ttl, flag, err); break;
        case OP_CONTAINS: rc = hl_seen_contains(self->seen, id, len, now, flag, err); break;
        case OP_REMOVE: rc = hl_seen_remove(self->seen, id, len, flag, err); break;
        case OP_PRUNE: rc = hl_seen_prune(self->seen, now, 0, count, err); break;
        }
        Py_END_ALLOW_THREADS
    } else {
        switch (op) {
        case OP_ADD: rc = hl_seen_check_and_add(self->seen, id, len, now, ttl, flag, err); break;
        case OP_CONTAINS: rc = hl_seen_contains(self->seen, id, len, now, flag, err); break;
        case OP_REMOVE: rc = hl_seen_remove(self->seen, id, len, flag, err); break;
        case OP_PRUNE: rc = hl_seen_prune(self->seen, now, 0, count, err); break;
        }
    }
    PyThread_release_lock(self->lock);
    return rc;
}

static PyObject *id_call(SeenStoreObject *self, enum op op, PyObject *id_obj,
                         unsigned long long now, unsigned long long ttl)
{
    PyObject *keep;
    const char *id;
    size_t len;
    int flag = 0;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    if (check_open(self) < 0 || (keep = PyList_New(0)) == NULL)
        return NULL;
    /* Hold the id: another thread cannot free it while the GIL is out. */
    if (PyList_Append(keep, id_obj) < 0 || id_get(id_obj, keep, &id, &len) < 0) {
        Py_DECREF(keep);
        return NULL;
    }
    rc = call(self, op, id, len, (uint64_t)now, (uint64_t)ttl, &flag, NULL, &err);
    Py_DECREF(keep);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return PyBool_FromLong(flag);
}

static PyObject *SeenStore_check_and_add(SeenStoreObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"id", "now_ms", "ttl_ms", NULL};
    PyObject *id;
    unsigned long long now, ttl;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OKK:check_and_add", kwlist, &id, &now, &ttl))
        return NULL;
    return id_call(self, OP_ADD, id, now, ttl);
}

static PyObject *SeenStore_contains(SeenStoreObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"id", "now_ms", NULL};
    PyObject *id;
    unsigned long long now;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OK:contains", kwlist, &id, &now))
        return NULL;
    return id_call(self, OP_CONTAINS, id, now, 0);
}

static PyObject *SeenStore_remove(SeenStoreObject *self, PyObject *id)
{
    return id_call(self, OP_REMOVE, id, 0, 0);
}

static PyObject *SeenStore_prune(SeenStoreObject *self, PyObject *args)
{
    unsigned long long now;
    size_t pruned = 0;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    if (!PyArg_ParseTuple(args, "K:prune", &now) || check_open(self) < 0)
        return NULL;
    rc = call(self, OP_PRUNE, NULL, 0, (uint64_t)now, 0, NULL, &pruned, &err);
    if (rc != HL_OK)
        return hlpy_raise(rc, &err);
    return PyLong_FromSize_t(pruned);
}

static PyObject *SeenStore_stats(SeenStoreObject *self, PyObject *unused)
{
    hl_seen_stats st;
    (void)unused;
    if (check_open(self) < 0)
        return NULL;
    store_lock(self->lock);
    hl_seen_stats_get(self->seen, &st);
    PyThread_release_lock(self->lock);
    return Py_BuildValue("{sKsKsKsKsK}", "live", (unsigned long long)st.live, "added",
                         (unsigned long long)st.added, "duplicates",
                         (unsigned long long)st.duplicates, "expired",
                         (unsigned long long)st.expired, "evicted",
                         (unsigned long long)st.evicted);
}

static PyObject *SeenStore_close(SeenStoreObject *self, PyObject *unused)
{
    (void)unused;
    store_lock(self->lock);
    hl_seen_free(self->seen);
    self->seen = NULL;
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

static PyObject *SeenStore_get_backend(SeenStoreObject *self, void *closure)
{
    (void)closure;
    if (self->seen == NULL)
        return PyUnicode_FromString("closed");
    return PyUnicode_FromString(hl_seen_backend_name(self->seen));
}

static PyMethodDef SeenStore_methods[] = {
    {"check_and_add", (PyCFunction)(void (*)(void))SeenStore_check_and_add,
     METH_VARARGS | METH_KEYWORDS,
     "check_and_add(id, now_ms, ttl_ms)\n--\n\nTrue when id was new (and is now marked)."},
    {"contains", (PyCFunction)(void (*)(void))SeenStore_contains, METH_VARARGS | METH_KEYWORDS,
     "contains(id, now_ms)\n--\n\nTrue when id is marked and not expired."},
    {"remove", (PyCFunction)SeenStore_remove, METH_O,
     "remove(id)\n--\n\nForget id; True when it was held."},
    {"prune", (PyCFunction)SeenStore_prune, METH_VARARGS,
     "prune(now_ms)\n--\n\nReclaim every expired id; returns how many."},
    {"stats", (PyCFunction)SeenStore_stats, METH_NOARGS,
     "stats()\n--\n\nCounters: live, added, duplicates, expired, evicted."},
    {"close", (PyCFunction)SeenStore_close, METH_NOARGS,
     "close()\n--\n\nClose the store (idempotent)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef SeenStore_getset[] = {
    {"backend", (getter)SeenStore_get_backend, NULL, "\"memory\", \"sqlite\" or \"closed\".",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject SeenStoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hookline._hookline.SeenStore",
    .tp_basicsize = sizeof(SeenStoreObject),
    .tp_dealloc = (destructor)SeenStore_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "SeenStore(path, ttl_ms, capacity, evict, busy_timeout_ms)\n--\n\n"
              "Seen-id store in memory (path None) or an SQLite file (see hookline.SeenStore).",
    .tp_methods = SeenStore_methods,
    .tp_getset = SeenStore_getset,
    .tp_new = SeenStore_new,
};

int hlpy_dedupe_init(PyObject *module)
{
    static const int STORE_CODES[] = {HL_E_STORE_IO,       HL_E_STORE_CORRUPT,
                                      HL_E_STORE_READONLY, HL_E_STORE_NO_SPACE,
                                      HL_E_STORE_BUSY,     HL_E_STORE_SCHEMA,
                                      HL_E_STORE_UNAVAILABLE};
    PyObject *store_error, *store_full;

    store_error = hlpy_add_error(
        module, "StoreError", hlpy_error_root(), "store_io",
        "A seen-id store (or another durable store) failed: `.code` is store_io, "
        "store_corrupt, store_readonly, store_no_space, store_busy, store_schema, store_unavailable (the database "
        "server) or store_full. "
        "Nothing was marked: answer so that the sender retries (503).");
    if (store_error == NULL)
        return -1;
    for (size_t i = 0; i < sizeof STORE_CODES / sizeof STORE_CODES[0]; i++)
        if (hlpy_map_code(STORE_CODES[i], store_error) < 0)
            return -1;
    store_full = hlpy_add_error(module, "StoreFull", store_error, "store_full",
                                "The in-memory store holds its capacity of live ids.");
    if (store_full == NULL || hlpy_map_code(HL_E_STORE_FULL, store_full) < 0)
        return -1;

    if (PyType_Ready(&SeenStoreType) < 0 ||
        PyModule_AddObjectRef(module, "SeenStore", (PyObject *)&SeenStoreType) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "SEEN_ID_MAX", HL_SEEN_ID_MAX) < 0 ||
        PyModule_AddIntConstant(module, "SEEN_DEFAULT_CAPACITY", (long)HL_SEEN_DEFAULT_CAPACITY) <
            0)
        return -1;
    return 0;
}
