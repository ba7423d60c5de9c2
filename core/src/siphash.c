/* siphash.c - SipHash-2-4 (Aumasson and Bernstein), written from the paper's
 * description: 2 compression rounds per 8-byte word, 4 finalisation rounds. */
#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                                 \
    do {                                                                                         \
        v0 += v1;                                                                                \
        v1 = ROTL(v1, 13);                                                                       \
        v1 ^= v0;                                                                                \
        v0 = ROTL(v0, 32);                                                                       \
        v2 += v3;                                                                                \
        v3 = ROTL(v3, 16);                                                                       \
        v3 ^= v2;                                                                                \
        v0 += v3;                                                                                \
        v3 = ROTL(v3, 21);                                                                       \
        v3 ^= v0;                                                                                \
        v2 += v1;                                                                                \
        v1 = ROTL(v1, 17);                                                                       \
        v1 ^= v2;                                                                                \
        v2 = ROTL(v2, 32);                                                                       \
    } while (0)

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t hli_siphash24(const uint64_t key[2], const void *in, size_t len)
{
    const unsigned char *p = in;
    uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ key[0];
    uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ key[1];
    uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ key[0];
    uint64_t v3 = UINT64_C(0x7465646279746573) ^ key[1];
    uint64_t last = (uint64_t)len << 56;
    size_t whole = len - len % 8, i;

    for (i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(p + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    /* The tail bytes, low byte first, under the length byte. */
    for (size_t j = 0; j < len % 8; j++)
        last |= (uint64_t)p[i + j] << (8 * j);
    v3 ^= last;
    SIPROUND;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
