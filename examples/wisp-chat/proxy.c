/*
 * proxy.c - which HTTP proxy wisp-chat goes through: --proxy, the
 * environment, the no-proxy list, curl's way (see proxy.h).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output.h"
#include "proxy.h"
#include "wisp_exit.h"
#include "wisp_posix.h"

#define DEFAULT_PROXY_PORT 1080u /* curl's, for an http:// proxy */

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* ---- the proxy URL ------------------------------------------------------------ */

/* The URL is never echoed: it may hold the password. */
static int bad_proxy(const char *from, const char *why)
{
    fprintf(stderr, PROG ": %s: %s (want http://[USER:PASSWORD@]HOST[:PORT])\n", from, why);
    return EXIT_USAGE;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* src[0..n) percent-decoded into dst[0..cap), NUL-terminated. */
static bool percent_decode(const char *src, size_t n, char *dst, size_t cap)
{
    size_t i, len = 0;
    for (i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 2 < n ? hex_value(src[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(src[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return false;
            c = hi * 16 + lo;
            i += 2;
        }
        if (len + 1 >= cap)
            return false;
        dst[len++] = (char)c;
    }
    dst[len] = '\0';
    return true;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

static bool ipv6_char(char c)
{
    return hex_value(c) >= 0 || c == ':' || c == '.';
}

/* HOST[:PORT] or [IPV6][:PORT] of s[0..n) into p. */
static bool parse_host_port(proxy_setting *p, const char *s, size_t n)
{
    const char *host = s, *end = s + n, *colon;
    size_t host_len, i;
    bool v6 = n > 0 && s[0] == '[';
    unsigned long port = DEFAULT_PROXY_PORT;

    if (v6) {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return false;
        host = s + 1;
        host_len = (size_t)(close - host);
        colon = close + 1 < end ? close + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return false;
    } else {
        colon = memchr(s, ':', n);
        host_len = colon != NULL ? (size_t)(colon - s) : n;
    }
    if (host_len == 0 || host_len >= sizeof p->host)
        return false;
    for (i = 0; i < host_len; i++)
        if (v6 ? !ipv6_char(host[i]) : !name_char(host[i]))
            return false;
    if (colon != NULL) {
        const char *d;
        if (colon + 1 == end || end - (colon + 1) > 5)
            return false;
        port = 0;
        for (d = colon + 1; d < end; d++) {
            if (*d < '0' || *d > '9')
                return false;
            port = port * 10u + (unsigned long)(*d - '0');
        }
        if (port == 0 || port > 65535u)
            return false;
    }
    memcpy(p->host, host, host_len);
    p->host[host_len] = '\0';
    p->port = (uint16_t)port;
    snprintf(p->shown, sizeof p->shown, v6 ? "[%s]:%u" : "%s:%u", p->host, (unsigned)p->port);
    return true;
}

/* The scheme, when it is not http: only its name is shown. */
static int bad_scheme(const char *from, const char *url, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        if (!name_char(url[i]) && url[i] != '+')
            return bad_proxy(from, "only http:// proxies are supported");
    fprintf(stderr, PROG ": %s: only http:// proxies are supported, not %.*s://\n", from,
            (int)(len > 16 ? 16 : len), url);
    return EXIT_USAGE;
}

/* http://[USER[:PASSWORD]@]HOST[:PORT][/] into p. */
static int parse_proxy_url(proxy_setting *p, const char *url, const char *from)
{
    const char *s = strstr(url, "://"), *at, *end, *c;

    if (s != NULL) {
        if ((size_t)(s - url) != 4 || strncasecmp(url, "http", 4) != 0)
            return bad_scheme(from, url, (size_t)(s - url));
        s += 3;
    } else {
        s = url;
    }
    end = s + strcspn(s, "/?#");
    if (*end != '\0' && strcmp(end, "/") != 0)
        return bad_proxy(from, "a proxy URL has no path");
    at = NULL;
    for (c = s; c < end; c++)
        if (*c == '@')
            at = c;
    if (at != NULL) {
        const char *colon = memchr(s, ':', (size_t)(at - s));
        size_t user_len = colon != NULL ? (size_t)(colon - s) : (size_t)(at - s);
        if (!percent_decode(s, user_len, p->user, sizeof p->user))
            return bad_proxy(from, "bad or over-long user name");
        if (colon != NULL &&
            !percent_decode(colon + 1, (size_t)(at - colon - 1), p->password, sizeof p->password))
            return bad_proxy(from, "bad or over-long password");
        if (wisp_proxy_basic(p->user, p->password, p->basic, sizeof p->basic) != WISP_OK)
            return bad_proxy(from, "the user name may not hold ':', nor the user name or "
                                   "password a control character");
        p->has_user = true;
        s = at + 1;
    }
    if (!parse_host_port(p, s, (size_t)(end - s)))
        return bad_proxy(from, "bad host or port");
    return -1;
}

/* ---- the no-proxy list ---------------------------------------------------------- */

static bool is_ipv4_literal(const char *h)
{
    size_t dots = 0;
    for (; *h != '\0'; h++) {
        if (*h == '.')
            dots++;
        else if (*h < '0' || *h > '9')
            return false;
    }
    return dots == 3;
}

static bool separator(char c)
{
    return c == ',' || c == ' ' || c == '\t';
}

/* Does one entry, e[0..n), name host (hlen bytes, no trailing dot)? */
static bool entry_matches(const char *e, size_t n, const char *host, size_t hlen, bool ip)
{
    if (n >= 2 && e[0] == '[' && e[n - 1] == ']') {
        e++;
        n -= 2;
    }
    if (!ip && n > 0 && e[0] == '.') {
        e++;
        n--;
    }
    if (n > 0 && e[n - 1] == '.')
        n--;
    if (n == 0 || n > hlen)
        return false;
    if (n == hlen)
        return strncasecmp(e, host, n) == 0;
    /* A name under the entry's domain: "example.com" takes "api.example.com". */
    return !ip && host[hlen - n - 1] == '.' && strncasecmp(e, host + hlen - n, n) == 0;
}

static bool list_matches(const char *list, const wisp_url *url, bool *cidr_seen)
{
    const char *host = url->host;
    size_t hlen = strlen(host);
    bool ip = url->host_is_ipv6 || is_ipv4_literal(host);

    if (hlen > 0 && host[hlen - 1] == '.')
        hlen--;
    while (*list != '\0') {
        size_t n;
        while (separator(*list))
            list++;
        n = strcspn(list, ", \t");
        if (n == 1 && list[0] == '*')
            return true;
        if (memchr(list, '/', n) != NULL)
            *cidr_seen = true; /* no CIDR: the entry matches nothing */
        else if (n > 0 && entry_matches(list, n, host, hlen, ip))
            return true;
        list += n;
    }
    return false;
}

/* ---- choice ------------------------------------------------------------------------ */

/* The proxy URL for this base URL, and where it came from. */
static const char *proxy_url(const options *o, bool https, const char **from)
{
    static const char *const for_https[] = {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    /* http_proxy in lower case only: see proxy.h. */
    static const char *const for_http[] = {"http_proxy", "all_proxy", "ALL_PROXY"};
    const char *const *names = https ? for_https : for_http;
    size_t count = https ? 4 : 3, i;

    if (o->proxy != NULL) {
        *from = "--proxy";
        return o->proxy;
    }
    for (i = 0; i < count; i++) {
        const char *v = env_nonempty(names[i]);
        if (v != NULL) {
            *from = names[i];
            return v;
        }
    }
    return NULL;
}

int proxy_choose(proxy_setting *p, const options *o, const wisp_url *url)
{
    const char *from = NULL, *list, *list_from;
    const char *spec = proxy_url(o, url->https, &from);
    int rc;

    memset(p, 0, sizeof *p);
    if (spec == NULL || spec[0] == '\0')
        return -1; /* none, or --proxy '' */
    p->from = from;

    /* A host on the list goes direct, whatever the proxy URL holds. */
    if (o->noproxy != NULL) {
        list = o->noproxy;
        list_from = "--noproxy";
    } else if ((list = env_nonempty("no_proxy")) != NULL) {
        list_from = "no_proxy";
    } else {
        list = env_nonempty("NO_PROXY");
        list_from = "NO_PROXY";
    }
    if (list != NULL && list_matches(list, url, &p->cidr_ignored)) {
        p->bypass_from = list_from;
        return -1;
    }
    rc = parse_proxy_url(p, spec, from);
    if (rc >= 0)
        return rc;
    p->on = true;
    p->forward = !url->https;
    return -1;
}

wisp_status proxy_wrap(proxy_setting *p, const wisp_transport *plain)
{
    wisp_proxy_config c;
    wisp_status st;

    memset(&c, 0, sizeof c);
    c.host = p->host;
    c.port = p->port;
    c.mode = p->forward ? WISP_PROXY_FORWARD : WISP_PROXY_TUNNEL;
    c.now_ms = wisp_posix_now_ms;
    if (p->has_user) {
        /* Whatever comes back, the credentials are not shown. */
        output_mask_secret(p->user, "[proxy user]");
        output_mask_secret(p->password, "[proxy password]");
        output_mask_secret(p->basic + 6, "[proxy credentials]");
        if (p->forward) {
            p->header.name = "Proxy-Authorization";
            p->header.value = p->basic;
        } else {
            c.user = p->user;
            c.password = p->password;
        }
    }
    st = wisp_proxy_init(&p->proxy, &c, plain, &p->transport);
    if (st != WISP_OK)
        fprintf(stderr, PROG ": cannot use the proxy %s: %s\n", p->shown, wisp_strerror(st));
    return st;
}

void proxy_print(const proxy_setting *p)
{
    if (p->cidr_ignored)
        fputs(PROG ": note: no-proxy entries with '/' (CIDR) are not supported and match "
                   "nothing\n",
              stderr);
    if (p->bypass_from != NULL) {
        fprintf(stderr, PROG ": proxy: not used, the host matches %s%s\n",
                p->bypass_from[0] == '-' ? "" : "$", p->bypass_from);
        return;
    }
    if (!p->on)
        return;
    fputs(PROG ": proxy: ", stderr);
    put_clean_str(p->shown);
    fprintf(stderr, " (from %s%s), %s, credentials: %s\n", p->from[0] == '-' ? "" : "$",
            p->from, p->forward ? "forwarding (absolute-form requests)" : "CONNECT tunnel",
            p->has_user ? "set" : "none");
}
