/*
 * hookline/common.h - export macros, versions and attributes shared by every
 * public hookline header.
 *
 * Every public symbol starts with `hl_` (macros with `HL_`). The library is
 * built with hidden visibility; only what is marked HL_API is exported.
 */
#ifndef HOOKLINE_COMMON_H
#define HOOKLINE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define HL_VERSION_MAJOR 0
#define HL_VERSION_MINOR 1
#define HL_VERSION_PATCH 0
#define HL_VERSION_STRING "0.1.0"

#if defined(_WIN32)
#define HL_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define HL_API __attribute__((visibility("default")))
#else
#define HL_API
#endif

/* Results of verify-like calls must be looked at: ignoring them is how a
 * receiver ends up accepting forged requests. */
#if defined(__GNUC__) || defined(__clang__)
#define HL_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define HL_WARN_UNUSED
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * hl_version - the library's version string, e.g. "0.1.0".
 * Returns a static string (never NULL, never freed).
 */
HL_API const char *hl_version(void);

#ifdef __cplusplus
}
#endif

#endif /* HOOKLINE_COMMON_H */
