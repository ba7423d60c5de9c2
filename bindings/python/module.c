/*
 * module.c - hookline._hookline: the CPython extension over the C core.
 *
 * The module is assembled from areas, each adding its own functions, types
 * and error classes; errors come first because the others raise them.
 */
#include "hookline_py.h"

typedef int (*area_init)(PyObject *module);

static const area_init AREAS[] = {
    hlpy_errors_init,
    hlpy_secret_init,
    hlpy_signature_init,
    hlpy_ssrf_init,
    hlpy_dedupe_init,
    hlpy_engine_init,
    hlpy_worker_init,
};

static struct PyModuleDef hookline_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hookline._hookline",
    .m_doc = "C core of hookline (use the hookline package, not this module).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__hookline(void);

PyMODINIT_FUNC PyInit__hookline(void)
{
    PyObject *m = PyModule_Create(&hookline_module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddStringConstant(m, "__version__", hl_version()) < 0)
        goto fail;
    for (size_t i = 0; i < sizeof AREAS / sizeof AREAS[0]; i++)
        if (AREAS[i](m) < 0)
            goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
