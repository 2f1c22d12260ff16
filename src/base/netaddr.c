/* src/base/netaddr.c: IP addresses and CIDR ranges. */
#include "netaddr.h"

#include "err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int ipaddr_parse(struct str s, struct ipaddr *out)
{
    char tmp[64];

    if (s.len >= 2 && s.ptr[0] == '[' && s.ptr[s.len - 1] == ']') {
        s.ptr++;
        s.len -= 2;
    }
    if (s.len == 0 || s.len >= sizeof(tmp))
        return KITH_EINVAL;
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, tmp, out->bytes) == 1) {
        out->family = AF_INET;
        return KITH_OK;
    }
    if (inet_pton(AF_INET6, tmp, out->bytes) == 1) {
        out->family = AF_INET6;
        return KITH_OK;
    }
    return KITH_EINVAL;
}

int cidr_parse(struct str s, struct cidr *out)
{
    const char *slash = memchr(s.ptr, '/', s.len);
    struct str addr = s;
    unsigned long bits = 0;

    if (slash)
        addr.len = (size_t)(slash - s.ptr);
    if (ipaddr_parse(addr, &out->net))
        return KITH_EINVAL;
    unsigned max = out->net.family == AF_INET ? 32 : 128;
    if (!slash) {
        out->bits = max;
        return KITH_OK;
    }
    size_t n = s.len - addr.len - 1;
    if (n == 0 || n > 3)
        return KITH_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = slash[1 + i];
        if (c < '0' || c > '9')
            return KITH_EINVAL;
        bits = bits * 10 + (unsigned long)(c - '0');
    }
    if (bits > max)
        return KITH_EINVAL;
    out->bits = (unsigned)bits;
    return KITH_OK;
}

static bool prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

/* Maps ::ffff:a.b.c.d to a.b.c.d; other addresses unchanged. */
static struct ipaddr unmap(const struct ipaddr *a)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    struct ipaddr r = *a;
    if (a->family == AF_INET6 && memcmp(a->bytes, mapped, 12) == 0) {
        memset(&r, 0, sizeof(r));
        r.family = AF_INET;
        memcpy(r.bytes, a->bytes + 12, 4);
    }
    return r;
}

bool cidr_contains(const struct cidr *c, const struct ipaddr *a)
{
    struct ipaddr x = unmap(a);
    if (x.family != c->net.family)
        return false;
    return prefix_eq(c->net.bytes, x.bytes, c->bits);
}

int ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out)
{
    memset(out, 0, sizeof(*out));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        out->family = AF_INET;
        memcpy(out->bytes, &in->sin_addr, 4);
        return KITH_OK;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        out->family = AF_INET6;
        memcpy(out->bytes, &in6->sin6_addr, 16);
        *out = unmap(out);
        return KITH_OK;
    }
    return KITH_EINVAL;
}

void ipaddr_format(const struct ipaddr *a, char *out, size_t size)
{
    if (!inet_ntop(a->family, a->bytes, out, (socklen_t)size) && size)
        out[0] = '\0';
}

bool ipaddr_is_private(const struct ipaddr *a)
{
    static const char *const ranges[] = {
        "0.0.0.0/8",     "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4",   "240.0.0.0/4", "::/128",
        "::1/128",       "fc00::/7",       "fe80::/10",     "ff00::/8",
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        struct cidr c;
        if (cidr_parse(str_from(ranges[i]), &c) == KITH_OK && cidr_contains(&c, a))
            return true;
    }
    return false;
}
