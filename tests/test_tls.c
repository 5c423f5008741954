/*
 * test_tls.c - the TLS transport (port/mbedtls) over the POSIX transport,
 * against `openssl s_server -rev` processes on 127.0.0.1 with certificates
 * made by the openssl CLI for this run (valid, wrong host, unknown CA,
 * expired, not yet valid), plus a listener that never answers.
 *
 *   test_tls            run every test
 *   test_tls NAME...    run only the named tests (e.g. for massif)
 *
 * Last line: "N passed, N failed".  Exit 0 only when nothing failed.
 * Needs the openssl CLI in PATH.
 */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
#undef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wisp_posix.h"
#include "wisp_tls.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && \
    (defined(MBEDTLS_USE_PSA_CRYPTO) || defined(MBEDTLS_SSL_PROTO_TLS1_3))
#include <psa/crypto.h>
#define FREE_PSA() mbedtls_psa_crypto_free()
#else
#define FREE_PSA() ((void)0)
#endif

#define TIMEOUT_MS 5000u

static char g_dir[] = "/tmp/wisp_tls_test_XXXXXX";
static int g_ok; /* the current test has not failed yet */

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            printf("    FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
            g_ok = 0;                                                         \
        }                                                                     \
    } while (0)

#define CHECK_STATUS(got, want)                                               \
    do {                                                                      \
        wisp_status got_ = (got), want_ = (want);                             \
        if (got_ != want_) {                                                  \
            printf("    FAIL %s:%d: %s is %s, want %s\n", __FILE__, __LINE__, \
                   #got, wisp_strerror(got_), wisp_strerror(want_));          \
            g_ok = 0;                                                         \
        }                                                                     \
    } while (0)

/* ---- helpers: files, processes -------------------------------------------- */

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static int run_shell(const char *script)
{
    char path[256], cmd[320];
    FILE *f;
    path_of(path, sizeof path, "gen.sh");
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd '%s' && sh ./gen.sh >gen.log 2>&1", g_dir);
    return system(cmd);
}

/* Reads a whole file; for PEM adds the NUL mbedTLS wants counted. */
static uint8_t *read_file(const char *name, size_t *len, int add_nul)
{
    char path[256];
    FILE *f;
    long n;
    uint8_t *buf;
    path_of(path, sizeof path, name);
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf == NULL)
        return NULL;
    buf[n] = 0;
    *len = (size_t)n + (add_nul ? 1u : 0u);
    return buf;
}

static uint16_t free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

typedef struct server {
    pid_t pid;
    uint16_t port;
} server;

#define MAX_SERVERS 12
static server g_servers[MAX_SERVERS];
static int g_server_count;

/* Starts `openssl s_server -rev` (-www when asked) with cert/key from the temp dir and waits
 * until it accepts.  extra: more s_server options (NULL-terminated). */
static uint16_t start_server(const char *cert, const char *key,
                             const char *const *extra)
{
    char cert_path[256], key_path[256], accept[32], log_path[256];
    const char *argv[32];
    int argc = 0, i, www = 0;
    uint16_t port = free_port();
    pid_t pid;

    if (port == 0 || g_server_count == MAX_SERVERS)
        return 0;
    path_of(cert_path, sizeof cert_path, cert);
    path_of(key_path, sizeof key_path, key);
    snprintf(accept, sizeof accept, "127.0.0.1:%u", (unsigned)port);
    snprintf(log_path, sizeof log_path, "%s/server-%u.log", g_dir, (unsigned)port);
    argv[argc++] = "openssl";
    argv[argc++] = "s_server";
    argv[argc++] = "-accept";
    argv[argc++] = accept;
    argv[argc++] = "-cert";
    argv[argc++] = cert_path;
    argv[argc++] = "-key";
    argv[argc++] = key_path;
    for (i = 0; extra != NULL && extra[i] != NULL && argc < 30; i++) {
        www |= strcmp(extra[i], "-www") == 0;
        argv[argc++] = extra[i];
    }
    if (!www)
        argv[argc++] = "-rev";
    argv[argc] = NULL;

    fflush(stdout);
    pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int nul = open("/dev/null", O_RDONLY);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        execvp("openssl", (char *const *)argv);
        _exit(127);
    }
    g_servers[g_server_count].pid = pid;
    g_servers[g_server_count].port = port;
    g_server_count++;

    /* s_server prints ACCEPT once it listens. */
    for (i = 0; i < 500; i++) {
        char line[256];
        int ready = 0;
        FILE *f = fopen(log_path, "r");
        if (f != NULL) {
            while (fgets(line, sizeof line, f) != NULL)
                if (strncmp(line, "ACCEPT", 6) == 0)
                    ready = 1;
            fclose(f);
        }
        if (ready)
            return port;
        {
            struct timespec pause = { 0, 10 * 1000 * 1000 };
            nanosleep(&pause, NULL);
        }
    }
    printf("    s_server on port %u did not start (see %s)\n", (unsigned)port, log_path);
    return 0;
}

static void stop_servers(void)
{
    int i;
    for (i = 0; i < g_server_count; i++) {
        kill(g_servers[i].pid, SIGTERM);
        waitpid(g_servers[i].pid, NULL, 0);
    }
    g_server_count = 0;
}

static uint32_t ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (uint32_t)((t1.tv_sec - t0->tv_sec) * 1000 +
                      (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* ---- the fixture ------------------------------------------------------------ */

typedef struct conn {
    wisp_posix posix;
    wisp_transport plain;
    wisp_tls tls;
    wisp_transport t;
} conn;

static wisp_tls_config base_config(void)
{
    wisp_tls_config c;
    static char ca[256];
    memset(&c, 0, sizeof c);
    path_of(ca, sizeof ca, "ca.pem");
    c.ca_file = ca;
    c.now_ms = wisp_posix_now_ms;
    return c;
}

static wisp_status conn_init(conn *c, const wisp_tls_config *cfg)
{
    wisp_posix_init(&c->posix, &c->plain);
    return wisp_tls_init(&c->tls, cfg, &c->plain, &c->t);
}

static wisp_status conn_connect(conn *c, const char *host, uint16_t port,
                                char *detail, size_t cap, int *code)
{
    wisp_status st = c->t.connect(c->t.ctx, host, port, TIMEOUT_MS);
    int e = c->t.last_error(c->t.ctx, detail, cap);
    if (code != NULL)
        *code = e;
    return st;
}

/* Sends a line and expects it back reversed, as s_server -rev does. */
static int echo(conn *c, const char *line)
{
    char want[128], got[128];
    size_t len = strlen(line), i, have = 0, sent = 0;
    wisp_status st;

    for (i = 0; i < len; i++)
        want[i] = line[len - 1 - i];
    want[len] = '\n';
    want[len + 1] = '\0';
    while (sent < len + 1) {
        char out[128];
        size_t n = 0;
        memcpy(out, line, len);
        out[len] = '\n';
        st = c->t.send(c->t.ctx, (const uint8_t *)out + sent, len + 1 - sent, &n, TIMEOUT_MS);
        if (st != WISP_OK) {
            printf("    send: %s\n", wisp_strerror(st));
            return 0;
        }
        sent += n;
    }
    while (have < len + 1) {
        size_t n = 0;
        st = c->t.recv(c->t.ctx, (uint8_t *)got + have, sizeof got - 1 - have, &n, TIMEOUT_MS);
        if (st != WISP_OK || n == 0) {
            printf("    recv: %s (got %zu)\n", wisp_strerror(st), n);
            return 0;
        }
        have += n;
    }
    got[have] = '\0';
    if (strcmp(got, want) != 0) {
        printf("    echo: got '%s'\n", got);
        return 0;
    }
    return 1;
}

/* ---- a wrapping transport that misbehaves on request ------------------------ */

typedef struct shaky {
    wisp_transport inner;
    size_t max_chunk;        /* 0: no limit; else at most this many bytes per call */
    int timeout_next_send;   /* the next send reports WISP_ERR_TIMEOUT */
    int fail_next_recv;      /* the next recv reports WISP_ERR_IO */
    unsigned sends, recvs;
} shaky;

static wisp_status shaky_connect(void *ctx, const char *host, uint16_t port, uint32_t t)
{
    shaky *s = ctx;
    return s->inner.connect(s->inner.ctx, host, port, t);
}

static wisp_status shaky_send(void *ctx, const uint8_t *buf, size_t len, size_t *sent,
                              uint32_t t)
{
    shaky *s = ctx;
    s->sends++;
    if (s->timeout_next_send) {
        s->timeout_next_send = 0;
        *sent = 0;
        return WISP_ERR_TIMEOUT;
    }
    if (s->max_chunk != 0 && len > s->max_chunk)
        len = s->max_chunk;
    return s->inner.send(s->inner.ctx, buf, len, sent, t);
}

static wisp_status shaky_recv(void *ctx, uint8_t *buf, size_t cap, size_t *got, uint32_t t)
{
    shaky *s = ctx;
    s->recvs++;
    if (s->fail_next_recv) {
        s->fail_next_recv = 0;
        *got = 0;
        return WISP_ERR_IO;
    }
    if (s->max_chunk != 0 && cap > s->max_chunk)
        cap = s->max_chunk;
    return s->inner.recv(s->inner.ctx, buf, cap, got, t);
}

static void shaky_close(void *ctx)
{
    shaky *s = ctx;
    s->inner.close(s->inner.ctx);
}

/* Puts a shaky transport between TLS and the socket. */
static wisp_status shaky_conn_init(conn *c, shaky *s, const wisp_tls_config *cfg)
{
    wisp_transport t;
    memset(s, 0, sizeof *s);
    wisp_posix_init(&c->posix, &s->inner);
    memset(&t, 0, sizeof t);
    t.ctx = s;
    t.connect = shaky_connect;
    t.send = shaky_send;
    t.recv = shaky_recv;
    t.close = shaky_close;
    c->plain = t;
    return wisp_tls_init(&c->tls, cfg, &c->plain, &c->t);
}

/* ---- tests ---------------------------------------------------------------- */

static int make_stall_listener(uint16_t *port);
static uint16_t g_rsa12; /* TLS 1.2 only, RSA certificate */
static uint16_t g_good, g_wrong, g_unknown, g_expired, g_future, g_good12, g_stall;
static uint16_t g_sni_strict; /* a fatal alert for any SNI but "localhost" */
static uint16_t g_www, g_www12, g_www_nocache;
static int g_stall_fd = -1;

static void test_good_chain_echo(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "hello wisp"));
    CHECK(c.tls.handshakes_full == 1);
    c.t.close(c.t.ctx);
    wisp_tls_free(&c.tls);
}

static void test_server_name_override(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    cfg.server_name = "localhost";
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "127.0.0.1", g_good, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "override"));
    wisp_tls_free(&c.tls);
}

/* One connection with cfg to host:port: its status (the detail in
 * detail), and when it is up, an echo through it. */
static wisp_status connect_once(const wisp_tls_config *cfg, const char *host, uint16_t port,
                                char detail[WISP_TLS_DETAIL_CAP])
{
    conn c;
    wisp_status st;
    CHECK_STATUS(conn_init(&c, cfg), WISP_OK);
    st = conn_connect(&c, host, port, detail, WISP_TLS_DETAIL_CAP, NULL);
    if (st == WISP_OK)
        CHECK(echo(&c, host));
    wisp_tls_free(&c.tls);
    return st;
}

/* The good certificate has DNS:localhost and IP:127.0.0.1 (and three IPv6
 * entries).  An IP literal as the host matches the iPAddress entry with
 * either mbedTLS (the port compares it: 2.28 matches DNS names only). */
static void test_ip_literal_host(void)
{
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(connect_once(&cfg, "127.0.0.1", g_good, detail), WISP_OK);
    /* A certificate without the address: the detail says so, not "host
     * name", and names the way out. */
    CHECK_STATUS(connect_once(&cfg, "127.0.0.1", g_wrong, detail), WISP_ERR_CERT);
    printf("    detail: %s\n", detail);
    CHECK(strstr(detail, "does not hold the IP address") != NULL);
    CHECK(strstr(detail, "server_name") != NULL);
    CHECK(strstr(detail, "127.0.0.1") != NULL);
}

/* RFC 6066: no address in SNI.  The server answers any SNI but
 * "localhost" with a fatal alert (as rustls servers answer an address):
 * by name it is sent and matches, by address none is sent. */
static void test_no_sni_for_an_address(void)
{
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(connect_once(&cfg, "localhost", g_sni_strict, detail), WISP_OK);
    CHECK_STATUS(connect_once(&cfg, "127.0.0.1", g_sni_strict, detail), WISP_OK);
    /* the check that it would refuse one: another name is refused */
    cfg.server_name = "other.example";
    CHECK(connect_once(&cfg, "127.0.0.1", g_sni_strict, detail) != WISP_OK);
}

/* The verified name (server_name) spelled as IP addresses in the forms RFC
 * 4291 allows, against the good certificate reached at 127.0.0.1: equal
 * bytes match, anything else (another address, another family, a spelling
 * that is not an address) is a mismatch, never a match. */
static void test_ip_literal_spellings(void)
{
    static const struct {
        const char *name;
        wisp_status want;
        const char *detail; /* in the detail when refused */
    } cases[] = {
        { "127.0.0.1", WISP_OK, NULL },
        { "2001:db8::8:800:200c:417a", WISP_OK, NULL },
        { "2001:DB8:0:0:8:800:200C:417A", WISP_OK, NULL },
        { "2001:0db8:0000:0000:0008:0800:200c:417a", WISP_OK, NULL },
        { "::ffff:192.0.2.1", WISP_OK, NULL },
        { "::FFFF:c000:0201", WISP_OK, NULL },
        { "0:0:0:0:0:ffff:192.0.2.1", WISP_OK, NULL },
        { "fe80::1:0:0:0", WISP_OK, NULL },
        { "fe80:0:0:0:1::", WISP_OK, NULL },
        { "127.0.0.2", WISP_ERR_CERT, "does not hold the IP address" },
        { "2001:db8::8:800:200c:417b", WISP_ERR_CERT, "does not hold the IP address" },
        { "::ffff:127.0.0.1", WISP_ERR_CERT, "does not hold the IP address" },
        { "::127.0.0.1", WISP_ERR_CERT, "does not hold the IP address" },
        { "fe80::1", WISP_ERR_CERT, "does not hold the IP address" },
        { "::", WISP_ERR_CERT, "does not hold the IP address" },
        /* not addresses: compared as DNS names, and they are not in it */
        { "127.0.0.01", WISP_ERR_CERT, "host name does not match" },
        { "127.0.0", WISP_ERR_CERT, "host name does not match" },
        { "127.0.0.1.", WISP_ERR_CERT, "host name does not match" },
        { "256.0.0.1", WISP_ERR_CERT, "host name does not match" },
        { "2001:db8::8::200c:417a", WISP_ERR_CERT, "host name does not match" },
        { "2001:db8:0:0:8:800:200c:417a:1", WISP_ERR_CERT, "host name does not match" },
        { "2001:db8:0:0:8:800:200c:", WISP_ERR_CERT, "host name does not match" },
        { ":2001:db8::1", WISP_ERR_CERT, "host name does not match" },
        { "2001:db8::12345", WISP_ERR_CERT, "host name does not match" },
        { "fe80::1%eth0", WISP_ERR_CERT, "host name does not match" },
        { "::ffff:192.0.2", WISP_ERR_CERT, "host name does not match" },
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char detail[WISP_TLS_DETAIL_CAP];
        wisp_tls_config cfg = base_config();
        wisp_status st;
        cfg.server_name = cases[i].name;
        st = connect_once(&cfg, "127.0.0.1", g_good, detail);
        if (st != cases[i].want)
            printf("    server_name %s: %s (%s)\n", cases[i].name, wisp_strerror(st), detail);
        CHECK_STATUS(st, cases[i].want);
        if (cases[i].detail != NULL && strstr(detail, cases[i].detail) == NULL) {
            printf("    server_name %s: detail %s\n", cases[i].name, detail);
            CHECK(strstr(detail, cases[i].detail) != NULL);
        }
    }
}

static void test_wrong_host(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    int code = 0;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_wrong, detail, sizeof detail, &code),
                 WISP_ERR_CERT);
    printf("    detail: %s (code %d)\n", detail, code);
    CHECK(strstr(detail, "host name does not match the certificate") != NULL);
    CHECK(strstr(detail, "localhost") != NULL);
    CHECK(code != 0);
    CHECK(c.tls.last_verify_flags & MBEDTLS_X509_BADCERT_CN_MISMATCH);
    wisp_tls_free(&c.tls);
}

static void test_unknown_ca(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_unknown, detail, sizeof detail, NULL),
                 WISP_ERR_CERT);
    printf("    detail: %s\n", detail);
    CHECK(strstr(detail, "issuer") != NULL);
    wisp_tls_free(&c.tls);
}

static void test_expired(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_expired, detail, sizeof detail, NULL),
                 WISP_ERR_CERT);
    printf("    detail: %s\n", detail);
    CHECK(strstr(detail, "expired") != NULL);
    wisp_tls_free(&c.tls);
}

static void test_not_yet_valid(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_future, detail, sizeof detail, NULL),
                 WISP_ERR_CERT);
    printf("    detail: %s\n", detail);
    CHECK(strstr(detail, "not yet valid") != NULL);
    wisp_tls_free(&c.tls);
}

static void test_insecure_accepts_unknown_ca(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.skip_verification_insecure = true;
    cfg.ca_file = "/nonexistent/ignored-when-insecure.pem";
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_unknown, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "insecure"));
    wisp_tls_free(&c.tls);
}

static void test_stall_times_out(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    struct timespec t0;
    uint32_t took;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_STATUS(c.t.connect(c.t.ctx, "127.0.0.1", g_stall, 600), WISP_ERR_TIMEOUT);
    took = ms_since(&t0);
    c.t.last_error(c.t.ctx, detail, sizeof detail);
    printf("    timed out after %u ms: %s\n", (unsigned)took, detail);
    CHECK(took >= 550 && took < 1500);
    wisp_tls_free(&c.tls);
}

/* A peer that floods warning alerts during the handshake (records mbedTLS
 * reads and drops) must not hold connect past its timeout. */
static void test_alert_flood_times_out(void)
{
    static const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x5a};
    conn c;
    struct timespec t0;
    uint32_t took;
    uint16_t port = 0;
    int lfd = make_stall_listener(&port);
    pid_t child;
    wisp_tls_config cfg = base_config();

    CHECK(lfd >= 0);
    child = fork();
    if (child == 0) { /* the flooding server: 4 s at most */
        unsigned char hello[4096];
        unsigned char burst[sizeof alert * 256];
        size_t i;
        time_t until = time(NULL) + 4;
        int s2 = accept(lfd, NULL, NULL);
        for (i = 0; i < 256; i++)
            memcpy(burst + i * sizeof alert, alert, sizeof alert);
        if (s2 >= 0 && read(s2, hello, sizeof hello) > 0)
            while (time(NULL) < until && write(s2, burst, sizeof burst) > 0) {
            }
        _exit(0);
    }
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_STATUS(c.t.connect(c.t.ctx, "localhost", port, 1000), WISP_ERR_TIMEOUT);
    took = ms_since(&t0);
    printf("    alert flood: timed out after %u ms\n", (unsigned)took);
    CHECK(took < 2000);
    wisp_tls_free(&c.tls);
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    close(lfd);
}

/* A TLS-1.2-only server with an RSA certificate (many older gateways):
 * mbedTLS 3.6.6 offers RSA-PSS and then refuses it in TLS 1.2, unless the
 * client lists PKCS#1 first, as wisp does. */
static void test_rsa_tls12_server(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_rsa12, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "rsa"));
    wisp_tls_free(&c.tls);
}

/* A read that times out leaves the connection usable. */
static void test_read_timeout_then_echo(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    uint8_t buf[64];
    size_t got = 99;
    struct timespec t0;
    uint32_t took;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "first")); /* also takes in any TLS 1.3 tickets */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_STATUS(c.t.recv(c.t.ctx, buf, sizeof buf, &got, 300), WISP_ERR_TIMEOUT);
    took = ms_since(&t0);
    CHECK(got == 0);
    CHECK(took >= 250 && took < 1000);
    CHECK_STATUS(c.t.recv(c.t.ctx, buf, sizeof buf, &got, 0), WISP_ERR_TIMEOUT);
    CHECK(echo(&c, "still alive"));
    wisp_tls_free(&c.tls);
}

static void resumption_against(uint16_t port, const char *label)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", port, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "one"));
    c.t.close(c.t.ctx);
    CHECK(c.tls.have_saved);
    CHECK_STATUS(conn_connect(&c, "localhost", port, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "two"));
    c.t.close(c.t.ctx);
    CHECK_STATUS(conn_connect(&c, "localhost", port, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "three"));
    printf("    %s: full %u, resumed %u\n", label, (unsigned)c.tls.handshakes_full,
           (unsigned)c.tls.handshakes_resumed);
    CHECK(c.tls.handshakes_full == 1);
    CHECK(c.tls.handshakes_resumed == 2);

    /* Another server: the saved session is dropped, a full handshake. */
    c.t.close(c.t.ctx);
    CHECK_STATUS(conn_connect(&c, "localhost", port == g_good ? g_good12 : g_good,
                              detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "elsewhere"));
    CHECK(c.tls.handshakes_full == 2);
    CHECK(c.tls.handshakes_resumed == 2);
    wisp_tls_free(&c.tls);
}

/* A session verified for one name is not offered when the name changes:
 * the new name must be checked against a certificate again. */
static void test_no_resumption_for_another_name(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    char name[32];
    wisp_tls_config cfg = base_config();
    strcpy(name, "localhost");
    cfg.server_name = name; /* borrowed: the caller may change it */
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "127.0.0.1", g_good12, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "one"));
    c.t.close(c.t.ctx);
    strcpy(name, "wrong.example");
    CHECK_STATUS(conn_connect(&c, "127.0.0.1", g_good12, detail, sizeof detail, NULL),
                 WISP_ERR_CERT);
    CHECK(c.tls.handshakes_resumed == 0);
    wisp_tls_free(&c.tls);
}

static void test_resumption_default(void)
{
    resumption_against(g_good, "server default (TLS 1.3 where offered)");
}

static void test_resumption_tls12(void)
{
    resumption_against(g_good12, "server TLS 1.2 only");
}

/* The server's own view: s_server -www answers "GET /" with a status page
 * that says "Reused, ..." for a resumed session and "New, ..." otherwise. */
static int www_page_says(conn *c, uint16_t port, const char *word)
{
    static const char get[] = "GET / HTTP/1.0\r\n\r\n";
    char page[16384], detail[WISP_TLS_DETAIL_CAP];
    size_t have = 0, sent = 0, n;
    wisp_status st = conn_connect(c, "localhost", port, detail, sizeof detail, NULL);
    if (st != WISP_OK) {
        printf("    connect: %s %s\n", wisp_strerror(st), detail);
        return 0;
    }
    while (sent < sizeof get - 1) {
        if (c->t.send(c->t.ctx, (const uint8_t *)get + sent, sizeof get - 1 - sent, &n,
                      TIMEOUT_MS) != WISP_OK)
            return 0;
        sent += n;
    }
    /* Read until the server closes: also checks end of stream is got == 0. */
    for (;;) {
        st = c->t.recv(c->t.ctx, (uint8_t *)page + have, sizeof page - 1 - have, &n, TIMEOUT_MS);
        if (st != WISP_OK) {
            printf("    recv: %s\n", wisp_strerror(st));
            return 0;
        }
        if (n == 0 || have + n == sizeof page - 1)
            break;
        have += n;
    }
    page[have] = '\0';
    c->t.close(c->t.ctx);
    if (strstr(page, word) == NULL) {
        const char *p = strstr(page, "New,");
        if (p == NULL)
            p = strstr(page, "Reused,");
        printf("    page lacks '%s' (%.40s)\n", word, p != NULL ? p : "?");
        return 0;
    }
    return 1;
}

static void www_resumption(uint16_t port, const char *label)
{
    conn c;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK(www_page_says(&c, port, "New, "));
    printf("    %s: first %s", label, mbedtls_ssl_get_version(&c.tls.ssl));
    CHECK(www_page_says(&c, port, "Reused, "));
    printf(", then %s\n", mbedtls_ssl_get_version(&c.tls.ssl));
    CHECK(c.tls.handshakes_full == 1);
    CHECK(c.tls.handshakes_resumed == 1);
    wisp_tls_free(&c.tls);
}

static void test_resumption_server_view(void)
{
    www_resumption(g_www, "server default");
    www_resumption(g_www12, "TLS 1.2 only");
}

/* A server that keeps no sessions: every handshake is full, and counted so. */
static void test_no_resumption_when_refused(void)
{
    conn c;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK(www_page_says(&c, g_www_nocache, "New, "));
    CHECK(www_page_says(&c, g_www_nocache, "New, "));
    CHECK(c.tls.handshakes_full == 2);
    CHECK(c.tls.handshakes_resumed == 0);
    wisp_tls_free(&c.tls);
}

/* The handshake and the records survive a transport that moves one byte
 * per call. */
static void test_one_byte_at_a_time(void)
{
    conn c;
    shaky s;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(shaky_conn_init(&c, &s, &cfg), WISP_OK);
    s.max_chunk = 1;
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "drip"));
    CHECK(s.recvs > 500);
    wisp_tls_free(&c.tls);
}

/* A send that times out is repeated with the same bytes: mbedTLS holds the
 * encrypted record and the stream stays intact. */
static void test_send_timeout_then_retry(void)
{
    conn c;
    shaky s;
    char detail[WISP_TLS_DETAIL_CAP];
    static const uint8_t line[] = "retry me\n";
    size_t sent = 99;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(shaky_conn_init(&c, &s, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "before"));
    s.timeout_next_send = 1;
    CHECK_STATUS(c.t.send(c.t.ctx, line, sizeof line - 1, &sent, 100), WISP_ERR_TIMEOUT);
    CHECK(sent == 0);
    /* Fewer bytes than the pending record: refused, nothing lost. */
    CHECK_STATUS(c.t.send(c.t.ctx, line, 3, &sent, 100), WISP_ERR_ARG);
    CHECK_STATUS(c.t.send(c.t.ctx, line, sizeof line - 1, &sent, TIMEOUT_MS), WISP_OK);
    CHECK(sent == sizeof line - 1);
    {
        char got[32];
        size_t have = 0, n;
        while (have < sizeof line - 1 &&
               c.t.recv(c.t.ctx, (uint8_t *)got + have, sizeof got - 1 - have, &n,
                        TIMEOUT_MS) == WISP_OK && n > 0)
            have += n;
        got[have] = '\0';
        CHECK(strcmp(got, "em yrter\n") == 0);
    }
    CHECK(echo(&c, "after"));
    wisp_tls_free(&c.tls);
}

/* An I/O failure below TLS is passed through and ends the connection. */
static void test_inner_io_error_passes_through(void)
{
    conn c;
    shaky s;
    char detail[WISP_TLS_DETAIL_CAP];
    uint8_t buf[16];
    size_t n = 0;
    int code = 1;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(shaky_conn_init(&c, &s, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    s.fail_next_recv = 1;
    CHECK_STATUS(c.t.recv(c.t.ctx, buf, sizeof buf, &n, 200), WISP_ERR_IO);
    code = c.t.last_error(c.t.ctx, detail, sizeof detail);
    CHECK(code == 0);
    CHECK_STATUS(c.t.recv(c.t.ctx, buf, sizeof buf, &n, 200), WISP_ERR_CLOSED);
    /* The session survives for the next connect. */
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "reconnected"));
    wisp_tls_free(&c.tls);
}

/* Without a caller clock the deadline uses mbedTLS's timer. */
static void test_stall_times_out_builtin_clock(void)
{
    conn c;
    struct timespec t0;
    uint32_t took;
    wisp_tls_config cfg = base_config();
    cfg.now_ms = NULL;
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_STATUS(c.t.connect(c.t.ctx, "127.0.0.1", g_stall, 400), WISP_ERR_TIMEOUT);
    took = ms_since(&t0);
    CHECK(took >= 350 && took < 1200);
    wisp_tls_free(&c.tls);
}

static void test_ca_pem_blob(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    size_t len = 0;
    uint8_t *pem = read_file("ca.pem", &len, 1);
    wisp_tls_config cfg = base_config();
    CHECK(pem != NULL);
    cfg.ca_file = NULL;
    cfg.ca_blob = pem;
    cfg.ca_blob_len = len;
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "pem blob"));
    wisp_tls_free(&c.tls);
    free(pem);
}

static void test_ca_der_blob(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    size_t len = 0;
    uint8_t *der = read_file("ca.der", &len, 0);
    wisp_tls_config cfg = base_config();
    CHECK(der != NULL);
    cfg.ca_file = NULL;
    cfg.ca_blob = der;
    cfg.ca_blob_len = len;
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    CHECK(echo(&c, "der blob"));
    wisp_tls_free(&c.tls);
    free(der);
}

static void test_missing_ca_file(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    wisp_tls_config cfg = base_config();
    cfg.ca_file = "/nonexistent/wisp-ca.pem";
    CHECK_STATUS(conn_init(&c, &cfg), WISP_ERR_CERT);
    c.t.last_error(c.t.ctx, detail, sizeof detail);
    printf("    detail: %s\n", detail);
    CHECK(strcmp(detail, "cannot read CA bundle /nonexistent/wisp-ca.pem") == 0);
    wisp_tls_free(&c.tls);
}

static void test_garbage_ca_blob(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    static const uint8_t junk[] = "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
    wisp_tls_config cfg = base_config();
    cfg.ca_file = NULL;
    cfg.ca_blob = junk;
    cfg.ca_blob_len = sizeof junk;
    CHECK_STATUS(conn_init(&c, &cfg), WISP_ERR_CERT);
    c.t.last_error(c.t.ctx, detail, sizeof detail);
    printf("    detail: %s\n", detail);
    CHECK(strstr(detail, "cannot parse") != NULL);
    wisp_tls_free(&c.tls);
}

static void test_connect_refused_passes_through(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    int code = 1;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "127.0.0.1", free_port(), detail, sizeof detail, &code),
                 WISP_ERR_CONNECT);
    CHECK(code == 0);
    wisp_tls_free(&c.tls);
}

static void test_recv_after_close(void)
{
    conn c;
    char detail[WISP_TLS_DETAIL_CAP];
    uint8_t buf[8];
    size_t n = 0;
    wisp_tls_config cfg = base_config();
    CHECK_STATUS(conn_init(&c, &cfg), WISP_OK);
    CHECK_STATUS(conn_connect(&c, "localhost", g_good, detail, sizeof detail, NULL), WISP_OK);
    c.t.close(c.t.ctx);
    c.t.close(c.t.ctx); /* twice is fine */
    CHECK_STATUS(c.t.recv(c.t.ctx, buf, sizeof buf, &n, 100), WISP_ERR_CLOSED);
    CHECK_STATUS(c.t.send(c.t.ctx, buf, 1, &n, 100), WISP_ERR_CLOSED);
    wisp_tls_free(&c.tls);
    wisp_tls_free(&c.tls); /* twice is fine */
}

/* ---- setup and main --------------------------------------------------------- */

static const char gen_script[] =
    "set -e\n"
    "cat > c.cnf <<'EOF'\n"
    "[req]\n"
    "distinguished_name = dn\n"
    "prompt = no\n"
    "[dn]\n"
    "CN = unused\n"
    "[v3_ca]\n"
    "basicConstraints = critical,CA:TRUE\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\n"
    "[srv_good]\n"
    "basicConstraints = CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:localhost,IP:127.0.0.1,IP:2001:db8::8:800:200c:417a,"
    "IP:::ffff:192.0.2.1,IP:fe80::1:0:0:0\n"
    "[srv_wrong]\n"
    "basicConstraints = CA:FALSE\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = DNS:wrong.example\n"
    "[ca]\n"
    "default_ca = tca\n"
    "[tca]\n"
    "database = index.txt\n"
    "new_certs_dir = .\n"
    "serial = serial\n"
    "default_md = sha256\n"
    "policy = pol\n"
    "unique_subject = no\n"
    "[pol]\n"
    "commonName = supplied\n"
    "EOF\n"
    "EC='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
    "openssl req -x509 -config c.cnf -extensions v3_ca $EC -keyout ca.key -out ca.pem -days 30 -subj /CN=wisp-test-ca\n"
    "openssl req -x509 -config c.cnf -extensions v3_ca $EC -keyout ca2.key -out ca2.pem -days 30 -subj /CN=wisp-other-ca\n"
    "openssl x509 -in ca.pem -outform DER -out ca.der\n"
    "for n in good wrong unknown expired future; do\n"
    "  openssl req -new -config c.cnf $EC -keyout $n.key -out $n.csr -subj /CN=$n\n"
    "done\n"
    "openssl x509 -req -in good.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out good.pem -days 30 -extfile c.cnf -extensions srv_good\n"
    "openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out wrong.pem -days 30 -extfile c.cnf -extensions srv_wrong\n"
    "openssl x509 -req -in unknown.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial -out unknown.pem -days 30 -extfile c.cnf -extensions srv_good\n"
    ": > index.txt\n"
    "echo 1000 > serial\n"
    "openssl ca -batch -notext -config c.cnf -cert ca.pem -keyfile ca.key -in expired.csr -out expired.pem"
    " -startdate 20200101000000Z -enddate 20200201000000Z -extfile c.cnf -extensions srv_good\n"
    "openssl ca -batch -notext -config c.cnf -cert ca.pem -keyfile ca.key -in future.csr -out future.pem"
    " -startdate 20990101000000Z -enddate 20991231000000Z -extfile c.cnf -extensions srv_good\n"
    /* An RSA server certificate, for the TLS-1.2-only RSA server. */
    "openssl req -new -config c.cnf -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr -subj /CN=rsa\n"
    "openssl x509 -req -in rsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out rsa.pem -days 30 -extfile c.cnf -extensions srv_good\n";

static int make_stall_listener(uint16_t *port)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd; /* never accepted: the kernel completes TCP, nobody speaks TLS */
}

static int setup(void)
{
    static const char *const tls12_only[] = { "-tls1_2", NULL };
    static const char *const www[] = { "-www", NULL };
    static const char *const www12[] = { "-www", "-tls1_2", NULL };
    static const char *const www_nocache[] = { "-www", "-no_ticket", "-no_cache",
                                               "-num_tickets", "0", NULL };
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 0;
    }
    if (run_shell(gen_script) != 0) {
        printf("certificate generation failed, see %s/gen.log\n", g_dir);
        return 0;
    }
    g_good = start_server("good.pem", "good.key", NULL);
    {
        static char cert2[256], key2[256];
        static const char *sni_strict[] = { "-servername", "localhost", "-servername_fatal",
                                            "-cert2", cert2, "-key2", key2, NULL };
        path_of(cert2, sizeof cert2, "good.pem");
        path_of(key2, sizeof key2, "good.key");
        g_sni_strict = start_server("good.pem", "good.key", sni_strict);
    }
    g_good12 = start_server("good.pem", "good.key", tls12_only);
    g_rsa12 = start_server("rsa.pem", "rsa.key", tls12_only);
    g_wrong = start_server("wrong.pem", "wrong.key", NULL);
    g_unknown = start_server("unknown.pem", "unknown.key", NULL);
    g_expired = start_server("expired.pem", "expired.key", NULL);
    g_future = start_server("future.pem", "future.key", NULL);
    g_www = start_server("good.pem", "good.key", www);
    g_www12 = start_server("good.pem", "good.key", www12);
    g_www_nocache = start_server("good.pem", "good.key", www_nocache);
    g_stall_fd = make_stall_listener(&g_stall);
    return g_good && g_good12 && g_rsa12 && g_www && g_www12 && g_www_nocache && g_wrong && g_unknown && g_expired && g_future &&
           g_stall_fd >= 0;
}

static void teardown(void)
{
    char cmd[300];
    stop_servers();
    if (g_stall_fd >= 0)
        close(g_stall_fd);
    if (getenv("WISP_KEEP_TMP") == NULL) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            printf("could not remove %s\n", g_dir);
    }
}

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

static const test_case tests[] = {
    { "good_chain_echo", test_good_chain_echo },
    { "server_name_override", test_server_name_override },
    { "ip_literal_host", test_ip_literal_host },
    { "ip_literal_spellings", test_ip_literal_spellings },
    { "no_sni_for_an_address", test_no_sni_for_an_address },
    { "wrong_host", test_wrong_host },
    { "unknown_ca", test_unknown_ca },
    { "expired", test_expired },
    { "not_yet_valid", test_not_yet_valid },
    { "insecure_accepts_unknown_ca", test_insecure_accepts_unknown_ca },
    { "stall_times_out", test_stall_times_out },
    { "alert_flood_times_out", test_alert_flood_times_out },
    { "rsa_tls12_server", test_rsa_tls12_server },
    { "stall_times_out_builtin_clock", test_stall_times_out_builtin_clock },
    { "read_timeout_then_echo", test_read_timeout_then_echo },
    { "one_byte_at_a_time", test_one_byte_at_a_time },
    { "send_timeout_then_retry", test_send_timeout_then_retry },
    { "inner_io_error_passes_through", test_inner_io_error_passes_through },
    { "resumption_default", test_resumption_default },
    { "resumption_tls12", test_resumption_tls12 },
    { "no_resumption_for_another_name", test_no_resumption_for_another_name },
    { "resumption_server_view", test_resumption_server_view },
    { "no_resumption_when_refused", test_no_resumption_when_refused },
    { "ca_pem_blob", test_ca_pem_blob },
    { "ca_der_blob", test_ca_der_blob },
    { "missing_ca_file", test_missing_ca_file },
    { "garbage_ca_blob", test_garbage_ca_blob },
    { "connect_refused_passes_through", test_connect_refused_passes_through },
    { "recv_after_close", test_recv_after_close },
};

static int selected(int argc, char **argv, const char *name)
{
    int i;
    if (argc < 2)
        return 1;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    size_t i;

    signal(SIGPIPE, SIG_IGN);
    printf("test_tls: mbedTLS %s\n", MBEDTLS_VERSION_STRING);
    if (!setup()) {
        teardown();
        printf("[  FAILED  ] 1 test(s), setup.\n0 passed, 1 failed\n");
        return 1;
    }
    for (i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!selected(argc, argv, tests[i].name))
            continue;
        g_ok = 1;
        printf("  %s\n", tests[i].name);
        fflush(stdout);
        tests[i].fn();
        if (g_ok)
            passed++;
        else {
            failed++;
            printf("  FAILED %s\n", tests[i].name);
        }
    }
    teardown();
    FREE_PSA();
    /* The cmocka summary lines tests/run_units.sh adds up, then ours. */
    printf("[  PASSED  ] %d test(s).\n", passed);
    if (failed > 0)
        printf("[  FAILED  ] %d test(s), listed above.\n", failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
