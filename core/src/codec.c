/* codec.c - hex and base64, strict about what they accept. */
#include "codec.h"

static const char HEX[] = "0123456789abcdef";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

ssize_t hli_hex_encode(char *out, size_t cap, const unsigned char *in, size_t len)
{
    if (len > (cap - 1) / 2 || cap == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
    out[2 * len] = '\0';
    return (ssize_t)(2 * len);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ssize_t hli_hex_decode(unsigned char *out, size_t cap, const char *in, size_t len)
{
    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_value((unsigned char)in[i]), lo = hex_value((unsigned char)in[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (ssize_t)(len / 2);
}

ssize_t hli_b64_encode(char *out, size_t cap, const unsigned char *in, size_t len)
{
    size_t need = HLI_B64_LEN(len), o = 0, i = 0;
    if (len > (((size_t)-1) / 4) || cap < need + 1)
        return -1;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = B64[v >> 18];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];
        out[o++] = B64[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < len ? (unsigned)in[i + 1] << 8 : 0u);
        out[o++] = B64[v >> 18];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? B64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return (ssize_t)o;
}

/*
 * Decoding table for both alphabets: the 6-bit value, plus 0x40 on the
 * characters only the standard alphabet has ('+', '/') and 0x80 on those
 * only the URL-safe one has ('-', '_'); 0xff for anything else. Mixing the
 * two alphabets in one string is refused.
 */
static const unsigned char B64_DECODE[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7e, 0xff, 0xbe, 0xff, 0x7f,
    0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
    0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0xbf,
    0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

ssize_t hli_b64_decode(unsigned char *out, size_t cap, const char *in, size_t len)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t data_len = len, full, o = 0, rest;
    unsigned flags = 0, v;

    if (len > 0 && p[len - 1] == '=') {
        /* Padding must complete the last quantum exactly. */
        if (len % 4 != 0)
            return -1;
        data_len = len - 1;
        if (data_len > 0 && p[data_len - 1] == '=')
            data_len--;
    }
    rest = data_len % 4;
    if (rest == 1)
        return -1;
    full = data_len - rest;
    if (full / 4 * 3 + (rest ? rest - 1 : 0) > cap)
        return -1;
    for (size_t i = 0; i < full; i += 4) {
        unsigned a = B64_DECODE[p[i]], b = B64_DECODE[p[i + 1]], c = B64_DECODE[p[i + 2]],
                 d = B64_DECODE[p[i + 3]];
        if (a == 0xff || b == 0xff || c == 0xff || d == 0xff)
            return -1;
        flags |= a | b | c | d;
        v = (a & 63) << 18 | (b & 63) << 12 | (c & 63) << 6 | (d & 63);
        out[o++] = (unsigned char)(v >> 16);
        out[o++] = (unsigned char)(v >> 8);
        out[o++] = (unsigned char)v;
    }
    if (rest) {
        unsigned a = B64_DECODE[p[full]], b = B64_DECODE[p[full + 1]];
        unsigned c = rest == 3 ? B64_DECODE[p[full + 2]] : 0;
        if (a == 0xff || b == 0xff || c == 0xff)
            return -1;
        flags |= a | b | c;
        v = (a & 63) << 18 | (b & 63) << 12 | (c & 63) << 6;
        out[o++] = (unsigned char)(v >> 16);
        if (rest == 3)
            out[o++] = (unsigned char)(v >> 8);
    }
    if ((flags & 0xc0) == 0xc0)
        return -1; /* both alphabets */
    return (ssize_t)o;
}
