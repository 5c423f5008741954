/*
 * wisp_url.c - base URL parsing: http[s]://host[:port][/base/path].
 */
#include "wisp.h"
#include "wisp_text.h"

#include <string.h>

static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Host names: letters, digits, '-', '.', '_' (some internal gateways use it). */
static bool is_host_char(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'; }

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Path bytes that may go into the request line as they are: RFC 3986
 * pchar plus '/', and '%' (already percent-encoded).  No spaces, no
 * controls, no '?' or '#' (a base URL has neither). */
static bool is_path_char(char c)
{
    static const char extra[] = "-._~!$&'()*+,;=:@/%";
    size_t i;
    if (is_alpha(c) || is_digit(c)) {
        return true;
    }
    for (i = 0; i < sizeof extra - 1; i++) {
        if (c == extra[i]) {
            return true;
        }
    }
    return false;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    return wisp_ascii_imatch(s, strlen(prefix), prefix) == 2;
}

wisp_status wisp_url_parse(const char *url, wisp_url *out)
{
    const char *p;
    const char *host;
    const char *path;
    size_t host_len;
    size_t i;

    if (url == NULL || out == NULL) {
        return WISP_ERR_ARG;
    }
    out->https = false;
    out->host[0] = '\0';
    out->host_is_ipv6 = false;
    out->port = 0;
    out->path[0] = '\0';
    out->path_len = 0;

    if (starts_with_ci(url, "https://")) {
        out->https = true;
        p = url + 8;
    } else if (starts_with_ci(url, "http://")) {
        p = url + 7;
    } else {
        return WISP_ERR_URL;
    }

    if (*p == '[') { /* IPv6 literal */
        host = ++p;
        while (*p != ']') {
            if (!(is_hex(*p) || *p == ':' || *p == '.')) {
                return WISP_ERR_URL; /* zone ids and junk are not taken */
            }
            p++;
        }
        host_len = (size_t)(p - host);
        p++; /* ']' */
        if (host_len < 2) {
            return WISP_ERR_URL;
        }
        out->host_is_ipv6 = true;
    } else {
        host = p;
        while (is_host_char(*p)) {
            p++;
        }
        host_len = (size_t)(p - host);
        if (host_len == 0 || host[0] == '-' || host[0] == '.') {
            return WISP_ERR_URL;
        }
    }
    if (host_len >= sizeof out->host) {
        return WISP_ERR_URL;
    }
    for (i = 0; i < host_len; i++) {
        out->host[i] = host[i];
    }
    out->host[host_len] = '\0';

    if (*p == ':') {
        uint32_t port = 0;
        int digits = 0;
        p++;
        while (is_digit(*p)) {
            port = port * 10u + (uint32_t)(*p - '0');
            if (++digits > 5 || port > 65535u) {
                return WISP_ERR_URL;
            }
            p++;
        }
        if (digits == 0 || port == 0) {
            return WISP_ERR_URL;
        }
        out->port = (uint16_t)port;
    } else {
        out->port = out->https ? 443 : 80;
    }

    if (*p != '\0' && *p != '/') {
        return WISP_ERR_URL; /* userinfo, query, fragment, junk */
    }
    path = p;
    while (*p != '\0') {
        if (!is_path_char(*p)) {
            return WISP_ERR_URL;
        }
        if (*p == '%' && !(is_hex(p[1]) && is_hex(p[2]))) {
            return WISP_ERR_URL;
        }
        p++;
    }
    while (p > path && p[-1] == '/') {
        p--; /* "/v1/" and "/v1" name the same base */
    }
    if ((size_t)(p - path) >= sizeof out->path) {
        return WISP_ERR_URL;
    }
    for (i = 0; path + i < p; i++) {
        out->path[i] = path[i];
    }
    out->path[i] = '\0';
    out->path_len = i;
    return WISP_OK;
}
