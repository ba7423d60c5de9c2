/*
 * hookline.h - the whole public C API of hookline.
 *
 * Include this, link with -lhookline (pkg-config: hookline; CMake:
 * find_package(hookline) then hookline::hookline).
 */
#ifndef HOOKLINE_H
#define HOOKLINE_H

#include "hookline/common.h"
#include "hookline/abi.h"
#include "hookline/dedupe.h"
#include "hookline/error.h"
#include "hookline/secret.h"
#include "hookline/signature.h"
#include "hookline/ssrf.h"
#include "hookline/engine.h"
#include "hookline/metrics.h"
#include "hookline/delivery.h"
#include "hookline/endpoint_config.h"

#endif /* HOOKLINE_H */
