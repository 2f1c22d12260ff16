/* src/base/netaddr.h: IP addresses and CIDR ranges.
 *
 * Layer: base (libc only). Used for listen addresses, trusted proxies and,
 * later, the private-address check on outbound requests. IPv4-mapped IPv6
 * addresses (::ffff:a.b.c.d) match IPv4 ranges.
 */
#ifndef KITH_BASE_NETADDR_H
#define KITH_BASE_NETADDR_H

#include "str.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct ipaddr {
    int family;              /* AF_INET or AF_INET6 */
    unsigned char bytes[16]; /* network order; 4 used for AF_INET */
};

struct cidr {
    struct ipaddr net;
    unsigned bits; /* prefix length */
};

/* Parses a numeric IPv4 or IPv6 address (IPv6 may be in brackets). */
int ipaddr_parse(struct str s, struct ipaddr *out);
/* Parses "ADDR/BITS" or a bare address (a host route). */
int cidr_parse(struct str s, struct cidr *out);
bool cidr_contains(const struct cidr *c, const struct ipaddr *a);
/* Converts a socket address; KITH_EINVAL for other families. */
int ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out);
/* Formats into out (>= 46 bytes), without brackets. */
void ipaddr_format(const struct ipaddr *a, char *out, size_t size);
/* Loopback, private (RFC 1918, ULA), link-local, unspecified, CGNAT or multicast. */
bool ipaddr_is_private(const struct ipaddr *a);

#endif
