/*
 * proxy.h - which HTTP proxy wisp-chat goes through, curl's way.
 *
 * The proxy: --proxy URL, else for an https base URL $https_proxy, then
 * $HTTPS_PROXY, for http $http_proxy (lower case only: a CGI program's
 * HTTP_PROXY can be set by a request's "Proxy:" header), then $all_proxy,
 * then $ALL_PROXY.  "--proxy ''" uses none, whatever the environment says.
 * A proxy URL is http://[USER[:PASSWORD]@]HOST[:PORT][/] (the scheme may
 * be left out; port 1080 when none, as curl; an IPv6 HOST in brackets;
 * USER and PASSWORD percent-decoded).  Other schemes (https://, socks5://)
 * are refused.
 *
 * Not through the proxy: a host that --noproxy LIST (else $no_proxy, else
 * $NO_PROXY) names.  LIST is comma- (or space-) separated; an entry
 * matches the host itself or, for a name, any host under it ("example.com"
 * and ".example.com" both match example.com and api.example.com, not
 * notexample.com), case-insensitively, a trailing dot ignored; an IP
 * literal only matches itself (IPv6 with or without brackets); "*"
 * matches every host; "--noproxy ''" matches none.  No ports, no CIDR
 * ("10.0.0.0/8" matches nothing, -v says so).
 *
 * https goes through a CONNECT tunnel under TLS (port/proxy's tunnel
 * mode: the certificate is still checked against the server's name), with
 * the credentials in the CONNECT request only.  Plain http is forwarded:
 * absolute-form request lines, the credentials as a Proxy-Authorization
 * header of each request.
 *
 * The URL, the user and the password are never printed: the proxy shows
 * as HOST:PORT, and the credentials are masked in whatever the proxy or
 * server sends back.
 */
#ifndef WISP_CHAT_PROXY_H
#define WISP_CHAT_PROXY_H

#include <stdbool.h>

#include "options.h"
#include "wisp.h"
#include "wisp_proxy.h"

#define PROXY_CRED_CAP 256u /* a decoded user or password, with its NUL */

typedef struct proxy_setting {
    bool on;                 /* requests go through the proxy */
    bool forward;            /* plain http: forwarded, not tunnelled */
    const char *from;        /* "--proxy" or the variable it came from */
    const char *bypass_from; /* set when the host matched a no-proxy list:
                                "--noproxy", "no_proxy" or "NO_PROXY" */
    bool cidr_ignored;       /* the list had an entry with '/' */
    char host[WISP_HOST_CAP]; /* without brackets */
    char shown[WISP_HOST_CAP + 8]; /* HOST:PORT, IPv6 in brackets */
    uint16_t port;
    bool has_user;
    char user[PROXY_CRED_CAP];
    char password[PROXY_CRED_CAP];
    char basic[WISP_PROXY_BASIC_SIZE(PROXY_CRED_CAP - 1, PROXY_CRED_CAP - 1)];
    wisp_header header;      /* Proxy-Authorization, forward mode */
    wisp_proxy proxy;
    wisp_transport transport;
} proxy_setting;

/*
 * Decides the proxy for the base URL url (zeroes p first).  Returns -1 to
 * go on (p->on says whether a proxy is used), else the exit code after
 * one "wisp-chat: ..." line: a bad proxy URL or credentials (1).
 */
int proxy_choose(proxy_setting *p, const options *o, const wisp_url *url);

/*
 * Puts the proxy transport over plain (tunnel for https, forward for
 * http) into p->transport, and the credentials into the output's masks.
 * Returns WISP_OK or wisp_proxy_init's status after printing why.
 */
wisp_status proxy_wrap(proxy_setting *p, const wisp_transport *plain);

/* -v: the proxy used and where it came from, or the no-proxy match. */
void proxy_print(const proxy_setting *p);

#endif /* WISP_CHAT_PROXY_H */
