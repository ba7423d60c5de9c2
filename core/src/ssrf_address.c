/*
 * ssrf_address.c - IP addresses, CIDRs and the deny table built from the
 * IANA IPv4 and IPv6 special-purpose address registries.
 */
#include "ssrf_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* One deny-table row: a prefix and what the registry calls it. */
struct deny_entry {
    uint8_t net[16];
    unsigned int prefix;
    const char *range; /* as text, for the message */
    const char *what;
};

/* Specific rows come before the ranges that contain them, so the message
 * names the most precise reason (the metadata service, not "link-local"). */
static const struct deny_entry DENY4[] = {
    {{0, 0, 0, 0}, 8, "0.0.0.0/8", "'this network' (unspecified)"},
    {{10, 0, 0, 0}, 8, "10.0.0.0/8", "private-use"},
    {{100, 64, 0, 0}, 10, "100.64.0.0/10", "shared address space (carrier-grade NAT)"},
    {{127, 0, 0, 0}, 8, "127.0.0.0/8", "loopback"},
    {{169, 254, 169, 254}, 32, "169.254.169.254/32", "cloud metadata service"},
    {{169, 254, 0, 0}, 16, "169.254.0.0/16", "link-local"},
    {{172, 16, 0, 0}, 12, "172.16.0.0/12", "private-use"},
    {{192, 0, 0, 0}, 24, "192.0.0.0/24", "IETF protocol assignments"},
    {{192, 0, 2, 0}, 24, "192.0.2.0/24", "documentation (TEST-NET-1)"},
    {{192, 88, 99, 0}, 24, "192.88.99.0/24", "6to4 relay anycast (deprecated)"},
    {{192, 168, 0, 0}, 16, "192.168.0.0/16", "private-use"},
    {{198, 18, 0, 0}, 15, "198.18.0.0/15", "benchmarking"},
    {{198, 51, 100, 0}, 24, "198.51.100.0/24", "documentation (TEST-NET-2)"},
    {{203, 0, 113, 0}, 24, "203.0.113.0/24", "documentation (TEST-NET-3)"},
    {{224, 0, 0, 0}, 4, "224.0.0.0/4", "multicast"},
    {{255, 255, 255, 255}, 32, "255.255.255.255/32", "limited broadcast"},
    {{240, 0, 0, 0}, 4, "240.0.0.0/4", "reserved"},
};

#define V6(a, b) (uint8_t)((a) >> 8), (uint8_t)(a), (uint8_t)((b) >> 8), (uint8_t)(b)

static const struct deny_entry DENY6[] = {
    {{0}, 128, "::/128", "unspecified"},
    {{[15] = 1}, 128, "::1/128", "loopback"},
    {{[10] = 0xff, [11] = 0xff}, 96, "::ffff:0:0/96", "IPv4-mapped"},
    {{0}, 96, "::/96", "IPv4-compatible (deprecated)"},
    {{V6(0x64, 0xff9b)}, 96, "64:ff9b::/96", "NAT64 well-known prefix"},
    {{V6(0x64, 0xff9b), V6(1, 0)}, 48, "64:ff9b:1::/48", "local-use NAT64"},
    {{V6(0x100, 0)}, 64, "100::/64", "discard-only"},
    {{V6(0x2001, 0)}, 32, "2001::/32", "Teredo"},
    {{V6(0x2001, 0x2)}, 48, "2001:2::/48", "benchmarking"},
    {{V6(0x2001, 0x10)}, 28, "2001:10::/28", "ORCHID (deprecated)"},
    {{V6(0x2001, 0x20)}, 28, "2001:20::/28", "ORCHIDv2"},
    {{V6(0x2001, 0)}, 23, "2001::/23", "IETF protocol assignments"},
    {{V6(0x2001, 0xdb8)}, 32, "2001:db8::/32", "documentation"},
    {{V6(0x2002, 0)}, 16, "2002::/16", "6to4"},
    {{V6(0x3fff, 0)}, 20, "3fff::/20", "documentation"},
    {{V6(0x5f00, 0)}, 16, "5f00::/16", "segment routing (SRv6) SIDs"},
    {{V6(0xfd00, 0xec2), [14] = 0x02, [15] = 0x54}, 128, "fd00:ec2::254/128",
     "cloud metadata service"},
    {{V6(0xfc00, 0)}, 7, "fc00::/7", "unique-local"},
    {{V6(0xfe80, 0)}, 10, "fe80::/10", "link-local"},
    {{V6(0xfec0, 0)}, 10, "fec0::/10", "site-local (deprecated)"},
    {{V6(0xff00, 0)}, 8, "ff00::/8", "multicast"},
};

static int prefix_match(const uint8_t *net, const uint8_t *addr, unsigned int prefix)
{
    unsigned int full = prefix / 8, rest = prefix % 8;
    if (memcmp(net, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (net[full] & mask) == (addr[full] & mask);
}

int hli_cidr_contains(const hli_cidr *cidr, const hl_address *addr)
{
    return cidr->net.family == addr->family &&
           prefix_match(cidr->net.bytes, addr->bytes, cidr->prefix);
}

hl_code hl_address_parse(hl_address *out, const char *text, size_t len, hl_error *err)
{
    char buf[64];
    if (!out || (!text && len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "address: NULL argument");
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof buf || memchr(text, '\0', len))
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "not an IP address");
    memcpy(buf, text, len);
    buf[len] = '\0';
    hl_address a;
    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, buf, a.bytes) == 1) {
        a.family = HL_FAMILY_IPV4;
    } else if (inet_pton(AF_INET6, buf, a.bytes) == 1) {
        a.family = HL_FAMILY_IPV6;
    } else {
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "not an IP address");
    }
    *out = a;
    return HL_OK;
}

hl_code hl_address_from_sockaddr(hl_address *out, const void *sa, size_t sa_len, hl_error *err)
{
    sa_family_t family;
    if (!out || !sa || sa_len < sizeof family)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "sockaddr: NULL or too short");
    memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof family);
    memset(out, 0, sizeof *out);
    if (family == AF_INET && sa_len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        out->family = HL_FAMILY_IPV4;
        memcpy(out->bytes, &in.sin_addr, 4);
        return HL_OK;
    }
    if (family == AF_INET6 && sa_len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        out->family = HL_FAMILY_IPV6;
        memcpy(out->bytes, &in6.sin6_addr, 16);
        return HL_OK;
    }
    return hli_fail(err, HL_E_INVALID_ARGUMENT, "sockaddr: not an IPv4 or IPv6 address");
}

hl_code hl_address_format(const hl_address *addr, char *buf, size_t cap, hl_error *err)
{
    char text[HL_ADDRESS_TEXT_MAX];
    if (!addr || !buf)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "address: NULL argument");
    if (addr->family == HL_FAMILY_IPV4) {
        snprintf(text, sizeof text, "%u.%u.%u.%u", addr->bytes[0], addr->bytes[1],
                 addr->bytes[2], addr->bytes[3]);
    } else if (addr->family == HL_FAMILY_IPV6) {
        if (!inet_ntop(AF_INET6, addr->bytes, text, sizeof text))
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "address: cannot format");
    } else {
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "address: unknown family");
    }
    size_t n = strlen(text);
    if (n + 1 > cap)
        return hli_fail(err, HL_E_BUFFER_TOO_SMALL, "address: buffer too small");
    memcpy(buf, text, n + 1);
    return HL_OK;
}

hl_code hli_cidr_parse(hli_cidr *out, const char *text, size_t len, hl_error *err)
{
    const char *slash = memchr(text, '/', len);
    size_t addr_len = slash ? (size_t)(slash - text) : len;
    hli_cidr c;
    if (hl_address_parse(&c.net, text, addr_len, NULL) != HL_OK)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "allow_cidrs: '%.*s' is not an address",
                        (int)(addr_len > 64 ? 64 : addr_len), text);
    unsigned int max = c.net.family == HL_FAMILY_IPV4 ? 32 : 128;
    c.prefix = max;
    if (slash) {
        const char *p = slash + 1, *end = text + len;
        unsigned int v = 0;
        if (p == end || end - p > 3)
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "allow_cidrs: bad prefix length");
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return hli_fail(err, HL_E_INVALID_ARGUMENT, "allow_cidrs: bad prefix length");
            v = v * 10 + (unsigned int)(*p - '0');
        }
        if (v > max)
            return hli_fail(err, HL_E_INVALID_ARGUMENT, "allow_cidrs: prefix longer than %u", max);
        c.prefix = v;
    }
    /* Clear host bits so "10.1.2.3/8" means 10.0.0.0/8, as routers read it. */
    for (unsigned int bit = c.prefix; bit < max; bit++)
        c.net.bytes[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
    *out = c;
    return HL_OK;
}

/* ---------------------------------------------------------------- verdict */

struct verdict {
    const struct deny_entry *entry; /* NULL: allowed */
    int embedded;                   /* the denial is of the embedded IPv4 */
    uint8_t v4[4];                  /* that embedded address */
};

static int allowed_by_cidr(const hl_url_policy *policy, const hl_address *addr)
{
    for (size_t i = 0; i < policy->n_allow_cidrs; i++)
        if (hli_cidr_contains(&policy->allow_cidrs[i], addr))
            return 1;
    return 0;
}

static const struct deny_entry *judge4(const hl_url_policy *policy, const uint8_t b[4])
{
    hl_address a;
    memset(&a, 0, sizeof a);
    a.family = HL_FAMILY_IPV4;
    memcpy(a.bytes, b, 4);
    if (allowed_by_cidr(policy, &a))
        return NULL;
    for (size_t i = 0; i < sizeof DENY4 / sizeof DENY4[0]; i++)
        if (prefix_match(DENY4[i].net, b, DENY4[i].prefix))
            return &DENY4[i];
    return NULL;
}

static const struct deny_entry NOT_GLOBAL = {{0}, 0, "outside 2000::/3", "not global unicast"};

/*
 * IPv6 forms that carry an IPv4 address. `follows` = 1 when the IPv6
 * address reaches exactly the embedded IPv4 host (mapped / translated), so
 * its verdict is the IPv4 verdict; otherwise the IPv6 range is judged too.
 */
static int embedded_ipv4(const uint8_t *b, uint8_t v4[2][4], int *n, int *follows)
{
    static const uint8_t zero[12] = {0};
    *n = 0;
    *follows = 0;
    if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff) {
        *follows = 1; /* ::ffff:a.b.c.d, IPv4-mapped */
        memcpy(v4[(*n)++], b + 12, 4);
    } else if (memcmp(b, zero, 8) == 0 && b[8] == 0xff && b[9] == 0xff && b[10] == 0 &&
               b[11] == 0) {
        *follows = 1; /* ::ffff:0:a.b.c.d, IPv4-translated (SIIT) */
        memcpy(v4[(*n)++], b + 12, 4);
    } else if (memcmp(b, zero, 12) == 0) {
        /* ::a.b.c.d, IPv4-compatible; :: and ::1 are judged as IPv6 */
        if (b[12] || b[13] || b[14] || b[15] > 1)
            memcpy(v4[(*n)++], b + 12, 4);
    } else if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
               memcmp(b + 4, zero, 8) == 0) {
        memcpy(v4[(*n)++], b + 12, 4); /* 64:ff9b::a.b.c.d, NAT64 */
    } else if (b[0] == 0x20 && b[1] == 0x02) {
        memcpy(v4[(*n)++], b + 2, 4); /* 2002:aabb:ccdd::/48, 6to4 */
    } else if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
        /* Teredo: server address in bits 32-63, client address inverted in
         * the last 32 bits; either may point inside. */
        memcpy(v4[(*n)++], b + 4, 4);
        for (int i = 0; i < 4; i++)
            v4[*n][i] = (uint8_t)~b[12 + i];
        (*n)++;
    }
    return *n;
}

static void judge(const hl_url_policy *policy, const hl_address *addr, struct verdict *v)
{
    memset(v, 0, sizeof *v);
    if (addr->family == HL_FAMILY_IPV4) {
        v->entry = judge4(policy, addr->bytes);
        return;
    }
    uint8_t v4[2][4];
    int n, follows;
    if (embedded_ipv4(addr->bytes, v4, &n, &follows)) {
        for (int i = 0; i < n; i++) {
            const struct deny_entry *e = judge4(policy, v4[i]);
            if (e) {
                v->entry = e;
                v->embedded = 1;
                memcpy(v->v4, v4[i], 4);
                return;
            }
        }
        if (follows)
            return;
    }
    if (allowed_by_cidr(policy, addr))
        return;
    for (size_t i = 0; i < sizeof DENY6 / sizeof DENY6[0]; i++) {
        if (prefix_match(DENY6[i].net, addr->bytes, DENY6[i].prefix)) {
            v->entry = &DENY6[i];
            return;
        }
    }
    if ((addr->bytes[0] & 0xe0) != 0x20)
        v->entry = &NOT_GLOBAL;
}

hl_code hl_address_check(const hl_url_policy *policy, const hl_address *addr, hl_error *err)
{
    char text[HL_ADDRESS_TEXT_MAX];
    struct verdict v;
    if (!addr)
        return hli_fail(err, HL_E_INVALID_ARGUMENT, "address: NULL argument");
    if (hl_address_format(addr, text, sizeof text, err) != HL_OK)
        return HL_E_INVALID_ARGUMENT;
    judge(policy ? policy : hli_url_policy_default(), addr, &v);
    if (!v.entry)
        return HL_OK;
    if (v.embedded)
        return hli_fail(err, HL_E_ADDRESS_DENIED,
                        "address %s is not allowed: it embeds the IPv4 address %u.%u.%u.%u, "
                        "%s (%s)",
                        text, v.v4[0], v.v4[1], v.v4[2], v.v4[3], v.entry->what, v.entry->range);
    return hli_fail(err, HL_E_ADDRESS_DENIED, "address %s is not allowed: %s (%s)", text,
                    v.entry->what, v.entry->range);
}

/* ------------------------------------------------------ numeric IPv4 hosts */

static int digit_value(char c, unsigned int base)
{
    unsigned int d;
    if (c >= '0' && c <= '9')
        d = (unsigned int)(c - '0');
    else if (c >= 'a' && c <= 'f')
        d = (unsigned int)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
        d = (unsigned int)(c - 'A' + 10);
    else
        return -1;
    return d < base ? (int)d : -1;
}

/* One part: decimal, 0-prefixed octal or 0x hex ("0x" alone is 0). */
static int parse_part(const char *s, size_t len, uint64_t *out)
{
    unsigned int base = 10;
    uint64_t v = 0;
    if (len == 0)
        return 0;
    if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        len -= 2;
    } else if (len >= 2 && s[0] == '0') {
        base = 8;
        s++;
        len--;
    }
    for (size_t i = 0; i < len; i++) {
        int d = digit_value(s[i], base);
        if (d < 0)
            return 0;
        v = v * base + (unsigned int)d;
        if (v > 0xffffffffu)
            return 0;
    }
    *out = v;
    return 1;
}

int hli_ipv4_parse_loose(const char *s, size_t len, uint8_t out[4])
{
    uint64_t parts[4];
    size_t n = 0, start = 0;
    if (len && s[len - 1] == '.')
        len--;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (n == 4 || !parse_part(s + start, i - start, &parts[n]))
                return 0;
            n++;
            start = i + 1;
        }
    }
    if (n == 0)
        return 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (parts[i] > 255)
            return 0;
    uint64_t last = parts[n - 1];
    if (last >= ((uint64_t)1 << (8 * (5 - n))))
        return 0;
    uint32_t v = (uint32_t)last;
    for (size_t i = 0; i + 1 < n; i++)
        v |= (uint32_t)parts[i] << (8 * (3 - i));
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
    return 1;
}

int hli_host_ends_in_number(const char *s, size_t len)
{
    if (len && s[len - 1] == '.')
        len--;
    size_t start = len;
    while (start > 0 && s[start - 1] != '.')
        start--;
    const char *last = s + start;
    size_t n = len - start;
    if (n == 0)
        return 0;
    size_t i = 0;
    int hex = 0;
    if (n >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
        hex = 1;
        i = 2;
    }
    for (; i < n; i++)
        if (digit_value(last[i], hex ? 16 : 10) < 0)
            return 0;
    return 1;
}
