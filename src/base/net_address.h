/* "HOST:PORT" addresses as every command's flags spell them (--mqtt,
 * --http): HOST may be a name, an IPv4 address or a bracketed IPv6 address
 * ("[::1]:1883"); a bare IPv6 address or a HOST without a port takes the
 * default port. */
#ifndef STRATUS_BASE_NET_ADDRESS_H
#define STRATUS_BASE_NET_ADDRESS_H

#define NET_HOST_MAX 256
#define NET_ADDRESS_ERR_LEN 160

struct net_address {
    char host[NET_HOST_MAX];
    int port;
};

/* Parse text; a missing port is default_port. min_port is 0 or 1 (0 lets
 * "port 0" mean "any free port"). Returns 0, or -1 with err naming flag. */
int net_address_parse(const char *flag, const char *text, int default_port, int min_port,
                      struct net_address *out, char err[NET_ADDRESS_ERR_LEN]);

/* "HOST:PORT" (IPv6 in brackets) into buf; returns buf. */
char *net_address_format(const struct net_address *a, char *buf, unsigned long cap);

#endif
