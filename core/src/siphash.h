/* siphash.h - SipHash-2-4, the keyed hash of the in-memory seen-id table:
 * with a random key, ids chosen by a sender cannot pile into one bucket. */
#ifndef HOOKLINE_SIPHASH_H
#define HOOKLINE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of `len` bytes under the 128-bit key k[0] (bytes 0-7, little
 * endian) and k[1] (bytes 8-15). */
uint64_t hli_siphash24(const uint64_t key[2], const void *in, size_t len);

#endif
