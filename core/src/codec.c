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

/* 0-63 for a character of the alphabet `url` selects, -1 otherwise. */
static int b64_value(unsigned char c, int url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

ssize_t hli_b64_decode(unsigned char *out, size_t cap, const char *in, size_t len)
{
    int url = 0;
    size_t data_len = len, o = 0;
    unsigned acc = 0;
    int bits = 0;

    /* The alphabet is decided by the first alphabet-specific character. */
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '-' || in[i] == '_') {
            url = 1;
            break;
        }
        if (in[i] == '+' || in[i] == '/')
            break;
    }
    if (len > 0 && in[len - 1] == '=') {
        /* Padding must complete the last quantum exactly. */
        if (len % 4 != 0)
            return -1;
        data_len = len - 1;
        if (data_len > 0 && in[data_len - 1] == '=')
            data_len--;
    }
    if (data_len % 4 == 1)
        return -1;
    for (size_t i = 0; i < data_len; i++) {
        int v = b64_value((unsigned char)in[i], url);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (ssize_t)o;
}
