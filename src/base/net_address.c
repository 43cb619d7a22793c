/* HOST:PORT parsing and formatting (see net_address.h). */
#include "net_address.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_address_parse(const char *flag, const char *text, int default_port, int min_port,
                      struct net_address *out, char err[NET_ADDRESS_ERR_LEN])
{
    const char *host = text, *host_end, *port_text = NULL;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || (close[1] && close[1] != ':')) goto bad;
        host = text + 1;
        host_end = close;
        if (close[1] == ':') port_text = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && strchr(text, ':') == colon) {
            host_end = colon;
            port_text = colon + 1;
        } else {
            host_end = text + strlen(text); /* no port, or a bare IPv6 address */
        }
    }
    size_t n = (size_t)(host_end - host);
    if (n == 0 || n >= NET_HOST_MAX) goto bad;
    int port = default_port;
    if (port_text) {
        char *end;
        errno = 0;
        long v = strtol(port_text, &end, 10);
        if (errno || end == port_text || *end || v < min_port || v > 65535) goto bad;
        port = (int)v;
    }
    memcpy(out->host, host, n);
    out->host[n] = '\0';
    out->port = port;
    return 0;
bad:
    snprintf(err, NET_ADDRESS_ERR_LEN, "%s '%.100s': expected HOST:PORT", flag, text);
    return -1;
}

char *net_address_format(const struct net_address *a, char *buf, unsigned long cap)
{
    if (strchr(a->host, ':'))
        snprintf(buf, cap, "[%s]:%d", a->host, a->port);
    else
        snprintf(buf, cap, "%s:%d", a->host, a->port);
    return buf;
}
