/*
 * ssrf.c - the URL check (hookline/ssrf.h) for Python.
 *
 * _check_url(url, allow_http, allow_ports, allow_cidrs, allow_hosts,
 *            deny_names, resolve) -> normalised URL, or hookline.URLRejected
 * whose .code names the reason. Defaults and argument shapes are settled in
 * hookline/ssrf.py; here lists become C arrays and codes become exceptions.
 * With resolve=True the system resolver runs with the GIL released (DNS can
 * take seconds).
 */
#include "hookline_py.h"

#include "hookline/net.h"

#include <string.h>

static PyObject *url_rejected;

/* A list of str into a C array of NUL-terminated strings kept alive by `keep`. */
static int str_list(PyObject *seq_obj, PyObject *keep, const char ***out, size_t *n)
{
    PyObject *seq = PySequence_Fast(seq_obj, "expected a sequence of str");
    Py_ssize_t count;
    if (seq == NULL)
        return -1;
    count = PySequence_Fast_GET_SIZE(seq);
    *n = (size_t)count;
    *out = count ? PyMem_Calloc((size_t)count, sizeof **out) : NULL;
    if (count && *out == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        Py_ssize_t len;
        const char *s;
        if (!PyUnicode_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "expected a sequence of str");
            goto fail;
        }
        if ((s = PyUnicode_AsUTF8AndSize(item, &len)) == NULL)
            goto fail;
        if (strlen(s) != (size_t)len) {
            hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "option entries must not contain NUL");
            goto fail;
        }
        (*out)[i] = s;
    }
    /* The UTF-8 buffers belong to the str objects, which `seq` holds. */
    if (PyList_Append(keep, seq) < 0)
        goto fail;
    Py_DECREF(seq);
    return 0;
fail:
    PyMem_Free(*out);
    *out = NULL;
    Py_DECREF(seq);
    return -1;
}

static PyObject *py_check_url(PyObject *self, PyObject *args)
{
    PyObject *url, *ports_obj, *cidrs_obj, *hosts_obj, *deny_obj, *keep, *result = NULL;
    int allow_http, resolve;
    hl_url_options opts = HL_URL_OPTIONS_INIT;
    uint16_t *ports = NULL;
    const char **cidrs = NULL, **hosts = NULL, **deny = NULL;
    hl_url_policy *policy = NULL;
    char normalized[HL_URL_NORMALIZED_MAX];
    const char *text;
    size_t len;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    (void)self;
    if (!PyArg_ParseTuple(args, "OpOOOOp", &url, &allow_http, &ports_obj, &cidrs_obj, &hosts_obj,
                          &deny_obj, &resolve))
        return NULL;
    if ((keep = PyList_New(0)) == NULL)
        return NULL;
    if (hlpy_text_view(url, keep, "url", &text, &len) < 0)
        goto done;
    opts.allow_http = allow_http;
    if (ports_obj != Py_None) {
        PyObject *seq = PySequence_Fast(ports_obj, "allow_ports must be a sequence of int");
        Py_ssize_t count;
        if (seq == NULL)
            goto done;
        count = PySequence_Fast_GET_SIZE(seq);
        ports = PyMem_Calloc(count ? (size_t)count : 1, sizeof *ports);
        for (Py_ssize_t i = 0; ports && i < count; i++) {
            long p = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
            if (p == -1 && PyErr_Occurred())
                break;
            if (p < 1 || p > 65535) {
                hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "ports must be between 1 and 65535");
                break;
            }
            ports[i] = (uint16_t)p;
        }
        Py_DECREF(seq);
        if (!ports) {
            PyErr_NoMemory();
            goto done;
        }
        if (PyErr_Occurred())
            goto done;
        opts.allow_ports = ports;
        opts.n_allow_ports = (size_t)count;
    }
    if (str_list(cidrs_obj, keep, &cidrs, &opts.n_allow_cidrs) < 0 ||
        str_list(hosts_obj, keep, &hosts, &opts.n_allow_hosts) < 0 ||
        str_list(deny_obj, keep, &deny, &opts.n_deny_names) < 0)
        goto done;
    opts.allow_cidrs = cidrs;
    opts.allow_hosts = hosts;
    opts.deny_names = deny;

    if ((rc = hl_url_policy_new(&policy, &opts, &err)) != HL_OK) {
        hlpy_raise(rc, &err);
        goto done;
    }
    if (resolve) {
        hl_resolver resolver = hl_resolver_getaddrinfo();
        Py_BEGIN_ALLOW_THREADS
        rc = hl_url_check_resolve(policy, &resolver, text, len, normalized, sizeof normalized,
                                  NULL, &err);
        Py_END_ALLOW_THREADS
    } else {
        rc = hl_url_check(policy, text, len, normalized, sizeof normalized, NULL, &err);
    }
    if (rc != HL_OK)
        hlpy_raise(rc, &err);
    else
        result = PyUnicode_FromString(normalized);
done:
    hl_url_policy_free(policy);
    PyMem_Free(ports);
    PyMem_Free(cidrs);
    PyMem_Free(hosts);
    PyMem_Free(deny);
    Py_DECREF(keep);
    return result;
}

static PyMethodDef SSRF_METHODS[] = {
    {"_check_url", py_check_url, METH_VARARGS,
     "_check_url(url, allow_http, allow_ports, allow_cidrs, allow_hosts, deny_names, resolve)"},
    {NULL, NULL, 0, NULL},
};

int hlpy_ssrf_init(PyObject *module)
{
    PyObject *bases = PyTuple_Pack(2, hlpy_error_root(), PyExc_ValueError);
    if (bases == NULL)
        return -1;
    url_rejected = hlpy_add_error(
        module, "URLRejected", bases, "url_malformed",
        "A webhook URL (or an address it resolves to) is refused by the SSRF policy; `.code` "
        "names the reason and the message is fit to show the customer. Also a ValueError.");
    Py_DECREF(bases);
    if (url_rejected == NULL)
        return -1;
    for (int code = HL_E_URL_MALFORMED; code <= HL_E_ADDRESS_UNPINNED; code++)
        if (hlpy_map_code(code, url_rejected) < 0)
            return -1;
    return PyModule_AddFunctions(module, SSRF_METHODS);
}
