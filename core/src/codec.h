/*
 * codec.h - hex and base64 over caller buffers (internal).
 *
 * Decoders take (ptr, len), never read past it, and return the decoded
 * length or -1 on any malformed input (bad character, bad length, output
 * would exceed `cap`). Encoders NUL-terminate and return the length, or -1
 * when `cap` is too small.
 */
#ifndef HOOKLINE_CODEC_H
#define HOOKLINE_CODEC_H

#include <stddef.h>
#include <sys/types.h>

/* Characters needed (without NUL) to encode n bytes. */
#define HLI_HEX_LEN(n) ((n) * 2)
#define HLI_B64_LEN(n) ((((n) + 2) / 3) * 4)

ssize_t hli_hex_encode(char *out, size_t cap, const unsigned char *in, size_t len);
/* Either case; even length. */
ssize_t hli_hex_decode(unsigned char *out, size_t cap, const char *in, size_t len);
/* Standard alphabet with '=' padding. */
ssize_t hli_b64_encode(char *out, size_t cap, const unsigned char *in, size_t len);
/* Standard or URL-safe alphabet (not mixed), padding optional but correct
 * when present; no whitespace. */
ssize_t hli_b64_decode(unsigned char *out, size_t cap, const char *in, size_t len);

#endif
