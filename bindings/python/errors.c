/*
 * errors.c - the exception tree and the hl_code -> exception mapping.
 *
 *   Error(Exception)                          every hookline failure
 *   ├── InvalidArgument(Error, ValueError)    invalid_argument, too_many
 *   └── VerificationError(Error, ValueError)  a request or secret is refused
 *       ├── MissingHeader, MalformedHeader, SignatureMismatch,
 *       ├── TimestampTooOld, TimestampInFuture, BodyTooLarge,
 *       └── InvalidSecret (secret_malformed, key_kind), UnknownScheme
 *
 * VerificationError subclasses ValueError so code written against the
 * builtin still catches it, and InvalidSecret/UnknownScheme sit under it so
 * a receiver that catches VerificationError fails closed on bad
 * configuration too. Every instance carries `.code`, the stable
 * hl_code_name() string; each class has a default `code` for instances made
 * by hand.
 */
#include "hookline_py.h"

#include <string.h>

/* Codes are grouped by hundreds up to the transport range (500-599); leave
 * room for a few more ranges. */
#define CODE_SLOTS 1000

static PyObject *by_code[CODE_SLOTS]; /* borrowed from `classes` */
static PyObject *classes;             /* list owning every class made here */
static PyObject *error_root;
static PyObject *verification_error;

PyObject *hlpy_error_root(void)
{
    return error_root;
}

PyObject *hlpy_add_error(PyObject *module, const char *name, PyObject *bases,
                         const char *default_code, const char *doc)
{
    char qualified[128];
    PyObject *dict, *code, *cls;

    if (classes == NULL && (classes = PyList_New(0)) == NULL)
        return NULL;
    /* "hookline.X": the package re-exports the class, so pickling and
     * tracebacks name it where users import it from. */
    PyOS_snprintf(qualified, sizeof qualified, "hookline.%s", name);
    if ((dict = PyDict_New()) == NULL)
        return NULL;
    code = PyUnicode_FromString(default_code);
    if (code == NULL || PyDict_SetItemString(dict, "code", code) < 0) {
        Py_XDECREF(code);
        Py_DECREF(dict);
        return NULL;
    }
    Py_DECREF(code);
    cls = PyErr_NewExceptionWithDoc(qualified, doc, bases, dict);
    Py_DECREF(dict);
    if (cls == NULL)
        return NULL;
    if (PyList_Append(classes, cls) < 0 || PyModule_AddObjectRef(module, name, cls) < 0) {
        Py_DECREF(cls);
        return NULL;
    }
    Py_DECREF(cls); /* `classes` keeps it */
    return cls;
}

int hlpy_map_code(int code, PyObject *cls)
{
    if (code <= 0 || code >= CODE_SLOTS) {
        PyErr_Format(PyExc_SystemError, "hookline: error code %d out of range", code);
        return -1;
    }
    by_code[code] = cls;
    return 0;
}

static PyObject *class_for(hl_code code)
{
    if ((int)code > 0 && (int)code < CODE_SLOTS && by_code[code] != NULL)
        return by_code[code];
    /* An unmapped signature-range code is still a refusal, never a pass. */
    if ((int)code >= 100 && (int)code < 200)
        return verification_error;
    return error_root;
}

PyObject *hlpy_raise_msg(hl_code code, const char *message)
{
    PyObject *cls, *text, *exc, *name;

    if (code == HL_E_NOMEM)
        return PyErr_NoMemory();
    cls = class_for(code);
    /* Core messages are ASCII by contract; "replace" keeps a stray byte
     * from turning the error into a UnicodeDecodeError. */
    text = PyUnicode_DecodeUTF8(message, (Py_ssize_t)strlen(message), "replace");
    if (text == NULL)
        return NULL;
    exc = PyObject_CallOneArg(cls, text);
    Py_DECREF(text);
    if (exc == NULL)
        return NULL;
    name = PyUnicode_FromString(hl_code_name((int)code));
    if (name == NULL || PyObject_SetAttrString(exc, "code", name) < 0) {
        Py_XDECREF(name);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(name);
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject *hlpy_raise(hl_code code, const hl_error *err)
{
    if (err != NULL && err->code == code && err->message[0] != '\0') {
        /* The core guarantees NUL termination; be defensive anyway. */
        char message[HL_ERROR_MESSAGE_MAX];
        memcpy(message, err->message, sizeof message);
        message[sizeof message - 1] = '\0';
        return hlpy_raise_msg(code, message);
    }
    return hlpy_raise_msg(code, hl_strerror((int)code));
}

struct error_class {
    const char *name;
    const char *code; /* class default */
    int codes[2];     /* codes raised as this class (0 = none) */
    const char *doc;
};

/* Subclasses of VerificationError, in the order of the header's codes. */
static const struct error_class VERIFICATION_CLASSES[] = {
    {"MissingHeader", "header_missing", {HL_E_HEADER_MISSING, 0},
     "A signature header the scheme needs is absent."},
    {"MalformedHeader", "header_malformed", {HL_E_HEADER_MALFORMED, 0},
     "A signature header is present but unparseable, or given more than once."},
    {"InvalidSecret", "secret_malformed", {HL_E_SECRET_MALFORMED, HL_E_KEY_KIND},
     "A secret cannot be decoded (code 'secret_malformed') or is of the wrong kind for the call "
     "(code 'key_kind')."},
    {"SignatureMismatch", "signature_mismatch", {HL_E_SIGNATURE_MISMATCH, 0},
     "No signature in the request matches any of the secrets."},
    {"TimestampTooOld", "timestamp_too_old", {HL_E_TIMESTAMP_TOO_OLD, 0},
     "The signed timestamp is older than now - tolerance."},
    {"TimestampInFuture", "timestamp_in_future", {HL_E_TIMESTAMP_IN_FUTURE, 0},
     "The signed timestamp is newer than now + tolerance."},
    {"BodyTooLarge", "body_too_large", {HL_E_BODY_TOO_LARGE, 0},
     "The body is longer than the configured maximum."},
    {"UnknownScheme", "scheme_unknown", {HL_E_SCHEME_UNKNOWN, 0},
     "No signature scheme of that name."},
};

int hlpy_errors_init(PyObject *module)
{
    PyObject *bases, *cls;

    error_root = hlpy_add_error(module, "Error", PyExc_Exception, "unknown",
                                "Base class of every hookline error; `.code` is a stable name.");
    if (error_root == NULL)
        return -1;

    if ((bases = PyTuple_Pack(2, error_root, PyExc_ValueError)) == NULL)
        return -1;
    cls = hlpy_add_error(module, "InvalidArgument", bases, "invalid_argument",
                         "An argument or option is out of range (e.g. too many secrets).");
    if (cls == NULL || hlpy_map_code(HL_E_INVALID_ARGUMENT, cls) < 0 ||
        hlpy_map_code(HL_E_TOO_MANY, cls) < 0) {
        Py_DECREF(bases);
        return -1;
    }
    verification_error =
        hlpy_add_error(module, "VerificationError", bases, "unknown",
                       "A request failed verification (or the verifier is misconfigured); "
                       "`.code` says why. Also a ValueError.");
    Py_DECREF(bases);
    if (verification_error == NULL)
        return -1;

    for (size_t i = 0; i < sizeof VERIFICATION_CLASSES / sizeof VERIFICATION_CLASSES[0]; i++) {
        const struct error_class *c = &VERIFICATION_CLASSES[i];
        cls = hlpy_add_error(module, c->name, verification_error, c->code, c->doc);
        if (cls == NULL)
            return -1;
        for (size_t j = 0; j < 2; j++)
            if (c->codes[j] != 0 && hlpy_map_code(c->codes[j], cls) < 0)
                return -1;
    }
    return 0;
}
