/*
 * secret.c - secrets in and out: scheme and encoding names, parsing the
 * secrets a user passes, and generating fresh secrets and key pairs.
 */
#include "hookline_py.h"

#include <openssl/crypto.h>
#include <string.h>

/* ------------------------------------------------------- byte views */

int hlpy_text_view(PyObject *obj, PyObject *keep, const char *what, const char **ptr,
                   size_t *len)
{
    if (PyBytes_Check(obj)) {
        *ptr = PyBytes_AS_STRING(obj);
        *len = (size_t)PyBytes_GET_SIZE(obj);
        return 0;
    }
    if (PyUnicode_Check(obj)) {
        Py_ssize_t n;
        PyObject *encoded;
        const char *s = PyUnicode_AsUTF8AndSize(obj, &n); /* cached in obj */
        if (s != NULL) {
            *ptr = s;
            *len = (size_t)n;
            return 0;
        }
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return -1;
        PyErr_Clear();
        encoded = PyUnicode_AsEncodedString(obj, "utf-8", "surrogatepass");
        if (encoded == NULL)
            return -1;
        if (PyList_Append(keep, encoded) < 0) {
            Py_DECREF(encoded);
            return -1;
        }
        Py_DECREF(encoded); /* `keep` holds it */
        *ptr = PyBytes_AS_STRING(encoded);
        *len = (size_t)PyBytes_GET_SIZE(encoded);
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s must be str or bytes, not %.100s", what,
                 Py_TYPE(obj)->tp_name);
    return -1;
}

int hlpy_body_get(PyObject *obj, Py_buffer *view)
{
    if (PyUnicode_Check(obj)) {
        PyErr_SetString(PyExc_TypeError,
                        "body must be bytes (the raw body exactly as sent or received), not str");
        return -1;
    }
    return PyObject_GetBuffer(obj, view, PyBUF_SIMPLE);
}

/* ------------------------------------------------------- converters */

int hlpy_scheme_converter(PyObject *obj, void *out)
{
    Py_ssize_t n;
    const char *name;
    hl_code rc;

    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "scheme must be str, not %.100s", Py_TYPE(obj)->tp_name);
        return 0;
    }
    if ((name = PyUnicode_AsUTF8AndSize(obj, &n)) == NULL) {
        PyErr_Clear();
        name = "";
        n = 0;
    }
    rc = hl_scheme_from_name((hl_scheme *)out, name, (size_t)n);
    if (rc != HL_OK) {
        hlpy_raise_msg(rc, "unknown signature scheme (expected 'standard', 'hookline', "
                           "'stripe' or 'github')");
        return 0;
    }
    return 1;
}

static const struct {
    const char *name;
    hl_secret_encoding encoding;
} ENCODINGS[] = {
    {"default", HL_SECRET_DEFAULT},
    {"hex", HL_SECRET_HEX},
    {"base64", HL_SECRET_BASE64},
    {"raw", HL_SECRET_RAW},
};

int hlpy_encoding_converter(PyObject *obj, void *out)
{
    if (PyUnicode_Check(obj)) {
        for (size_t i = 0; i < sizeof ENCODINGS / sizeof ENCODINGS[0]; i++) {
            if (PyUnicode_CompareWithASCIIString(obj, ENCODINGS[i].name) == 0) {
                *(hl_secret_encoding *)out = ENCODINGS[i].encoding;
                return 1;
            }
        }
    } else {
        PyErr_Format(PyExc_TypeError, "secret_encoding must be str, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return 0;
    }
    hlpy_raise_msg(HL_E_INVALID_ARGUMENT,
                   "secret_encoding must be 'default', 'hex', 'base64' or 'raw'");
    return 0;
}

/* ---------------------------------------------------------- secrets */

static int parse_one(PyObject *obj, hl_scheme scheme, hl_secret_encoding encoding,
                     hl_secret **out)
{
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    if (PyBytes_Check(obj) &&
        (encoding == HL_SECRET_DEFAULT || encoding == HL_SECRET_RAW)) {
        /* bytes are key material as is, as in other webhook libraries */
        rc = hl_secret_from_bytes(out, PyBytes_AS_STRING(obj), (size_t)PyBytes_GET_SIZE(obj),
                                  &err);
    } else if (PyBytes_Check(obj) || PyUnicode_Check(obj)) {
        const char *text;
        size_t len;
        PyObject *keep = PyList_New(0);
        if (keep == NULL)
            return -1;
        if (hlpy_text_view(obj, keep, "secret", &text, &len) < 0) {
            Py_DECREF(keep);
            return -1;
        }
        rc = hl_secret_parse(out, scheme, encoding, text, len, &err);
        Py_DECREF(keep);
    } else {
        PyErr_Format(PyExc_TypeError, "a secret must be str or bytes, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (rc != HL_OK) {
        hlpy_raise(rc, &err);
        return -1;
    }
    return 0;
}

void hlpy_secrets_free(hlpy_secrets *secrets)
{
    if (secrets->items != NULL) {
        for (size_t i = 0; i < secrets->count; i++)
            hl_secret_free(secrets->items[i]);
        PyMem_Free(secrets->items);
    }
    secrets->items = NULL;
    secrets->count = 0;
}

int hlpy_secrets_parse(PyObject *obj, hl_scheme scheme, hl_secret_encoding encoding,
                       hlpy_secrets *out)
{
    PyObject *seq;
    Py_ssize_t n;

    out->items = NULL;
    out->count = 0;
    if (PyUnicode_Check(obj) || PyBytes_Check(obj)) {
        if ((out->items = PyMem_Calloc(1, sizeof *out->items)) == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (parse_one(obj, scheme, encoding, &out->items[0]) < 0) {
            hlpy_secrets_free(out);
            return -1;
        }
        out->count = 1;
        return 0;
    }
    seq = PySequence_Fast(obj, "secrets must be str, bytes or a list of them");
    if (seq == NULL)
        return -1;
    n = PySequence_Fast_GET_SIZE(seq);
    /* An empty list reaches the core, which says what is wrong with it. */
    if ((out->items = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof *out->items)) == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (parse_one(PySequence_Fast_GET_ITEM(seq, i), scheme, encoding, &out->items[i]) < 0) {
            hlpy_secrets_free(out);
            Py_DECREF(seq);
            return -1;
        }
        out->count = (size_t)i + 1;
    }
    Py_DECREF(seq);
    return 0;
}

/* ------------------------------------------------------- generation */

/* The text form of a secret as a str; the C buffer is wiped. */
static PyObject *format_secret(const hl_secret *secret, hl_scheme scheme)
{
    char buf[2 * HL_SECRET_TEXT_MAX + 8];
    size_t len = 0;
    hl_error err = HL_ERROR_INIT;
    PyObject *text;
    hl_code rc = hl_secret_format(secret, scheme, buf, sizeof buf, &len, &err);

    if (rc != HL_OK) {
        OPENSSL_cleanse(buf, sizeof buf);
        return hlpy_raise(rc, &err);
    }
    text = PyUnicode_DecodeASCII(buf, (Py_ssize_t)len, "strict");
    OPENSSL_cleanse(buf, sizeof buf);
    return text;
}

PyDoc_STRVAR(generate_secret_doc,
             "generate_secret(scheme)\n--\n\n"
             "A fresh HMAC secret from the OS CSPRNG, in the scheme's text form.");

static PyObject *py_generate_secret(PyObject *self, PyObject *arg)
{
    hl_scheme scheme;
    hl_secret *secret = NULL;
    hl_error err = HL_ERROR_INIT;
    hl_code rc;
    PyObject *text;

    (void)self;
    if (!hlpy_scheme_converter(arg, &scheme))
        return NULL;
    if ((rc = hl_secret_generate(&secret, scheme, &err)) != HL_OK)
        return hlpy_raise(rc, &err);
    text = format_secret(secret, scheme);
    hl_secret_free(secret);
    return text;
}

PyDoc_STRVAR(generate_keypair_doc,
             "generate_keypair()\n--\n\n"
             "A fresh Ed25519 key pair for the standard scheme: (whsk_..., whpk_...).");

static PyObject *py_generate_keypair(PyObject *self, PyObject *unused)
{
    hl_secret *priv = NULL, *pub = NULL;
    hl_error err = HL_ERROR_INIT;
    PyObject *priv_text = NULL, *pub_text = NULL, *pair = NULL;
    hl_code rc;

    (void)self;
    (void)unused;
    if ((rc = hl_keypair_generate(&priv, &pub, &err)) != HL_OK)
        return hlpy_raise(rc, &err);
    if ((priv_text = format_secret(priv, HL_SCHEME_STANDARD)) != NULL &&
        (pub_text = format_secret(pub, HL_SCHEME_STANDARD)) != NULL)
        pair = PyTuple_Pack(2, priv_text, pub_text);
    Py_XDECREF(priv_text);
    Py_XDECREF(pub_text);
    hl_secret_free(priv);
    hl_secret_free(pub);
    return pair;
}

PyDoc_STRVAR(generate_id_doc,
             "generate_id(prefix=None)\n--\n\n"
             "A random message id, '<prefix><26 base32 chars>' ('msg_' by default).");

static PyObject *py_generate_id(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"prefix", NULL};
    const char *prefix = NULL;
    Py_ssize_t prefix_len = 0;
    char buf[HL_ID_MAX];
    hl_error err = HL_ERROR_INIT;
    hl_code rc;

    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|z#:generate_id", kwlist, &prefix,
                                     &prefix_len))
        return NULL;
    if (prefix != NULL && strlen(prefix) != (size_t)prefix_len)
        return hlpy_raise_msg(HL_E_INVALID_ARGUMENT, "prefix contains a NUL byte");
    if ((rc = hl_generate_id(buf, sizeof buf, prefix, &err)) != HL_OK)
        return hlpy_raise(rc, &err);
    return PyUnicode_FromString(buf);
}

static PyMethodDef SECRET_METHODS[] = {
    {"generate_secret", py_generate_secret, METH_O, generate_secret_doc},
    {"generate_keypair", py_generate_keypair, METH_NOARGS, generate_keypair_doc},
    {"generate_id", (PyCFunction)(void (*)(void))py_generate_id, METH_VARARGS | METH_KEYWORDS,
     generate_id_doc},
    {NULL, NULL, 0, NULL},
};

int hlpy_secret_init(PyObject *module)
{
    if (PyModule_AddFunctions(module, SECRET_METHODS) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "MAX_SECRETS", HL_MAX_SECRETS) < 0)
        return -1;
    return 0;
}
