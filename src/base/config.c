/* src/base/config.c: the kith.conf parser. */
#include "config.h"

#include "err.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_MAX_FILE (1 << 20)

static void set_str(char **dst, struct str v)
{
    free(*dst);
    *dst = xstrndup(v.ptr, v.len);
}

void config_defaults(struct kith_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->domain = xstrdup("localhost:8080");
    cfg->data_dir = xstrdup("data");
    cfg->title = xstrdup("kith");
    cfg->description = xstrdup("");
    cfg->contact_email = xstrdup("");
    cfg->map_size = (uint64_t)64 << 30;
    cfg->max_body_bytes = 1 << 20;
    cfg->max_header_bytes = 16 << 10;
    cfg->timeout_secs = 30;
    cfg->rate_limit_burst = 3000;
    cfg->rate_limit_secs = 300;
    cfg->registrations = REG_APPROVAL;
    cfg->delivery_retry_base_ms = 30 * 1000;
    cfg->delivery_give_up_after_ms = 4ull * 24 * 3600 * 1000;
    cfg->delivery_dead_after_ms = 24ull * 3600 * 1000;
    cfg->actor_refresh_after_ms = 24ull * 3600 * 1000;
    cfg->scheduled_min_lead_ms = 5ull * 60 * 1000; /* Mastodon's five minutes */
    cfg->media_keep_ms = 24ull * 3600 * 1000;      /* Mastodon's day */
    cfg->media_max_image_bytes = 16ull << 20;      /* Mastodon's image_size_limit */
    cfg->media_max_video_bytes = 99ull << 20;      /* and its video_size_limit */
    cfg->media_max_image_pixels = 8294400ull * 4;  /* 7680 x 4320: 8K */
}

void config_free(struct kith_config *cfg)
{
    free(cfg->domain);
    free(cfg->public_url);
    free(cfg->data_dir);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->ca_file);
    free(cfg->title);
    free(cfg->description);
    free(cfg->contact_email);
    free(cfg->listens);
    for (size_t i = 0; i < cfg->nresolves; i++)
        free(cfg->resolves[i].host);
    free(cfg->resolves);
    free(cfg->trusted_proxies);
    free(cfg->source);
    memset(cfg, 0, sizeof(*cfg));
}

unsigned config_threads(const struct kith_config *cfg)
{
    if (cfg->threads)
        return cfg->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* ---- value parsers: each returns NULL on success or a message ---- */

static const char *parse_uint(struct str v, uint64_t max, uint64_t *out)
{
    uint64_t n = 0;
    if (v.len == 0)
        return "expected a number";
    for (size_t i = 0; i < v.len; i++) {
        if (!isdigit((unsigned char)v.ptr[i]))
            return "expected a number";
        if (n > (max - (uint64_t)(v.ptr[i] - '0')) / 10)
            return "number too large";
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    *out = n;
    return NULL;
}

int config_parse_size(struct str v, uint64_t *out)
{
    size_t i = 0;
    uint64_t n = 0, mult = 1;
    while (i < v.len && isdigit((unsigned char)v.ptr[i])) {
        if (n > UINT64_MAX / 10 - 9)
            return KITH_EINVAL;
        n = n * 10 + (uint64_t)(v.ptr[i++] - '0');
    }
    if (i == 0)
        return KITH_EINVAL;
    struct str unit = str_make(v.ptr + i, v.len - i);
    if (unit.len == 0 || str_eq_nocase(unit, STR_LIT("b")))
        mult = 1;
    else if (str_eq_nocase(unit, STR_LIT("k")) || str_eq_nocase(unit, STR_LIT("kib")))
        mult = 1ull << 10;
    else if (str_eq_nocase(unit, STR_LIT("m")) || str_eq_nocase(unit, STR_LIT("mib")))
        mult = 1ull << 20;
    else if (str_eq_nocase(unit, STR_LIT("g")) || str_eq_nocase(unit, STR_LIT("gib")))
        mult = 1ull << 30;
    else if (str_eq_nocase(unit, STR_LIT("t")) || str_eq_nocase(unit, STR_LIT("tib")))
        mult = 1ull << 40;
    else
        return KITH_EINVAL;
    if (n > UINT64_MAX / mult)
        return KITH_EINVAL;
    *out = n * mult;
    return KITH_OK;
}

int config_parse_duration(struct str v, uint64_t *out)
{
    size_t i = 0;
    uint64_t n = 0, mult;
    while (i < v.len && isdigit((unsigned char)v.ptr[i])) {
        if (n > UINT64_MAX / 10 - 9)
            return KITH_EINVAL;
        n = n * 10 + (uint64_t)(v.ptr[i++] - '0');
    }
    struct str unit = str_make(v.ptr + i, v.len - i);
    if (i == 0 || unit.len == 0)
        return KITH_EINVAL;
    if (str_eq(unit, STR_LIT("ms")))
        mult = 1;
    else if (str_eq(unit, STR_LIT("s")))
        mult = 1000;
    else if (str_eq(unit, STR_LIT("m")))
        mult = 60 * 1000;
    else if (str_eq(unit, STR_LIT("h")))
        mult = 3600 * 1000;
    else if (str_eq(unit, STR_LIT("d")))
        mult = 24ull * 3600 * 1000;
    else
        return KITH_EINVAL;
    if (n > UINT64_MAX / mult)
        return KITH_EINVAL;
    *out = n * mult;
    return KITH_OK;
}

static const char *parse_bool(struct str v, bool *out)
{
    if (str_eq_nocase(v, STR_LIT("true")) || str_eq_nocase(v, STR_LIT("yes")) ||
        str_eq_nocase(v, STR_LIT("on")) || str_eq(v, STR_LIT("1"))) {
        *out = true;
        return NULL;
    }
    if (str_eq_nocase(v, STR_LIT("false")) || str_eq_nocase(v, STR_LIT("no")) ||
        str_eq_nocase(v, STR_LIT("off")) || str_eq(v, STR_LIT("0"))) {
        *out = false;
        return NULL;
    }
    return "expected true or false";
}

/* Splits "HOST:PORT" (HOST may be [v6]) at the last colon. */
static const char *split_port(struct str v, struct str *host, uint16_t *port)
{
    const char *colon = NULL;
    for (size_t i = v.len; i > 0; i--)
        if (v.ptr[i - 1] == ':') {
            colon = v.ptr + i - 1;
            break;
        }
    if (!colon)
        return "expected HOST:PORT";
    *host = str_make(v.ptr, (size_t)(colon - v.ptr));
    uint64_t p;
    if (parse_uint(str_make(colon + 1, v.len - host->len - 1), 65535, &p) || p == 0)
        return "port must be 1-65535";
    *port = (uint16_t)p;
    if (host->len == 0)
        return "expected HOST:PORT";
    return NULL;
}

static bool valid_hostname(struct str h)
{
    if (h.len == 0 || h.len > 253)
        return false;
    for (size_t i = 0; i < h.len; i++) {
        char c = h.ptr[i];
        if (!(isalnum((unsigned char)c) || c == '-' || c == '.'))
            return false;
    }
    return h.ptr[0] != '.' && h.ptr[0] != '-' && h.ptr[h.len - 1] != '.';
}

static const char *parse_domain(struct str v, char **out)
{
    struct str host = v;
    const char *colon = memchr(v.ptr, ':', v.len);
    if (colon) {
        uint16_t port;
        const char *e = split_port(v, &host, &port);
        if (e)
            return e;
    }
    if (!valid_hostname(host))
        return "domain must be a host name, optionally with :port";
    set_str(out, v);
    for (char *p = *out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return NULL;
}

static const char *parse_url(struct str v, char **out)
{
    struct str rest;
    if (v.len > 8 && str_eq_nocase(str_make(v.ptr, 8), STR_LIT("https://")))
        rest = str_make(v.ptr + 8, v.len - 8);
    else if (v.len > 7 && str_eq_nocase(str_make(v.ptr, 7), STR_LIT("http://")))
        rest = str_make(v.ptr + 7, v.len - 7);
    else
        return "public_url must start with https:// (or http:// for local use)";
    while (rest.len && rest.ptr[rest.len - 1] == '/')
        rest.len--, v.len--;
    if (rest.len == 0 || memchr(rest.ptr, '/', rest.len) || memchr(rest.ptr, '?', rest.len) ||
        memchr(rest.ptr, '#', rest.len))
        return "public_url must be scheme://host[:port] with no path";
    char *d = NULL;
    const char *e = parse_domain(rest, &d);
    free(d);
    if (e)
        return "public_url has an invalid host";
    set_str(out, v);
    for (char *p = *out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return NULL;
}

static const char *parse_listen(struct kith_config *cfg, struct str v)
{
    struct config_listen l;
    struct str addr = v, flag = STR_NULL, host;
    const char *sp = memchr(v.ptr, ' ', v.len);
    if (!sp)
        sp = memchr(v.ptr, '\t', v.len);

    memset(&l, 0, sizeof(l));
    if (sp) {
        addr = str_make(v.ptr, (size_t)(sp - v.ptr));
        flag = str_trim(str_make(sp, v.len - addr.len));
        if (!str_eq_nocase(flag, STR_LIT("tls")))
            return "listen takes ADDR:PORT optionally followed by 'tls'";
        l.tls = true;
    }
    const char *e = split_port(addr, &host, &l.port);
    if (e)
        return e;
    if (str_eq_nocase(host, STR_LIT("localhost")))
        host = STR_LIT("127.0.0.1");
    else if (str_eq(host, STR_LIT("*")))
        host = STR_LIT("0.0.0.0");
    if (ipaddr_parse(host, &l.addr))
        return "listen address must be a numeric IP address, 'localhost' or '*'";
    snprintf(l.text, sizeof(l.text), "%.*s", (int)addr.len, addr.ptr);
    cfg->listens = xrealloc(cfg->listens, (cfg->nlistens + 1) * sizeof(l));
    cfg->listens[cfg->nlistens++] = l;
    return NULL;
}

static const char *parse_resolve(struct kith_config *cfg, struct str v)
{
    /* HOST:PORT:ADDR, where ADDR may be an IPv6 address in brackets. */
    const char *c1 = memchr(v.ptr, ':', v.len);
    if (!c1)
        return "resolve takes HOST:PORT:ADDR";
    const char *c2 = memchr(c1 + 1, ':', v.len - (size_t)(c1 + 1 - v.ptr));
    if (!c2)
        return "resolve takes HOST:PORT:ADDR";
    struct str host = str_make(v.ptr, (size_t)(c1 - v.ptr));
    struct str port = str_make(c1 + 1, (size_t)(c2 - c1 - 1));
    struct str addr = str_make(c2 + 1, v.len - (size_t)(c2 + 1 - v.ptr));
    struct config_resolve r;
    uint64_t p;

    if (!valid_hostname(host))
        return "resolve has an invalid host name";
    if (parse_uint(port, 65535, &p) || p == 0)
        return "resolve port must be 1-65535";
    if (ipaddr_parse(addr, &r.addr))
        return "resolve address must be a numeric IP address";
    r.port = (uint16_t)p;
    r.host = xstrndup(host.ptr, host.len);
    for (char *q = r.host; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    cfg->resolves = xrealloc(cfg->resolves, (cfg->nresolves + 1) * sizeof(r));
    cfg->resolves[cfg->nresolves++] = r;
    return NULL;
}

static const char *parse_proxies(struct kith_config *cfg, struct str v)
{
    /* One or more CIDRs separated by commas and/or spaces. */
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.ptr[i] == ',' || v.ptr[i] == ' ' || v.ptr[i] == '\t'))
            i++;
        size_t start = i;
        while (i < v.len && v.ptr[i] != ',' && v.ptr[i] != ' ' && v.ptr[i] != '\t')
            i++;
        if (i == start)
            break;
        struct cidr c;
        if (cidr_parse(str_make(v.ptr + start, i - start), &c))
            return "trusted_proxies takes CIDR ranges such as 127.0.0.1/32 or ::1";
        cfg->trusted_proxies =
            xrealloc(cfg->trusted_proxies, (cfg->ntrusted + 1) * sizeof(struct cidr));
        cfg->trusted_proxies[cfg->ntrusted++] = c;
    }
    return NULL;
}

static const char *parse_rate(struct kith_config *cfg, struct str v)
{
    /* "N/SECONDS" or "off". */
    if (str_eq_nocase(v, STR_LIT("off"))) {
        cfg->rate_limit_burst = 0;
        return NULL;
    }
    const char *slash = memchr(v.ptr, '/', v.len);
    uint64_t n, s;
    if (!slash || parse_uint(str_make(v.ptr, (size_t)(slash - v.ptr)), 1000000000, &n) ||
        parse_uint(str_make(slash + 1, v.len - (size_t)(slash + 1 - v.ptr)), 86400, &s) || n == 0 ||
        s == 0)
        return "rate_limit takes REQUESTS/SECONDS (e.g. 300/300) or 'off'";
    cfg->rate_limit_burst = (unsigned)n;
    cfg->rate_limit_secs = (unsigned)s;
    return NULL;
}

static const char *set_key(struct kith_config *cfg, struct str k, struct str v, bool *listens_seen)
{
    uint64_t n;
    const char *e;

    if (str_eq_cstr(k, "domain"))
        return parse_domain(v, &cfg->domain);
    if (str_eq_cstr(k, "public_url"))
        return parse_url(v, &cfg->public_url);
    if (str_eq_cstr(k, "listen")) {
        if (!*listens_seen) { /* the first listen line replaces the default */
            cfg->nlistens = 0;
            *listens_seen = true;
        }
        return parse_listen(cfg, v);
    }
    if (str_eq_cstr(k, "data_dir") || str_eq_cstr(k, "tls_cert") || str_eq_cstr(k, "tls_key") ||
        str_eq_cstr(k, "ca_file")) {
        if (v.len == 0)
            return "expected a path";
        char **dst = str_eq_cstr(k, "data_dir")   ? &cfg->data_dir
                     : str_eq_cstr(k, "tls_cert") ? &cfg->tls_cert
                     : str_eq_cstr(k, "tls_key")  ? &cfg->tls_key
                                                  : &cfg->ca_file;
        set_str(dst, v);
        return NULL;
    }
    if (str_eq_cstr(k, "map_size")) {
        if (config_parse_size(v, &n) || n < (1u << 20))
            return "map_size takes a size of at least 1M, such as 64G";
        cfg->map_size = n;
        return NULL;
    }
    if (str_eq_cstr(k, "max_body_bytes") || str_eq_cstr(k, "max_header_bytes")) {
        if (config_parse_size(v, &n) || n < 1024 || n > (1ull << 30))
            return "expected a size between 1K and 1G";
        if (str_eq_cstr(k, "max_body_bytes"))
            cfg->max_body_bytes = n;
        else
            cfg->max_header_bytes = n;
        return NULL;
    }
    if (str_eq_cstr(k, "media_max_image_bytes") || str_eq_cstr(k, "media_max_video_bytes")) {
        if (config_parse_size(v, &n) || n < 1024 || n > (4ull << 30))
            return "expected a size between 1K and 4G";
        if (str_eq_cstr(k, "media_max_image_bytes"))
            cfg->media_max_image_bytes = n;
        else
            cfg->media_max_video_bytes = n;
        return NULL;
    }
    if (str_eq_cstr(k, "media_max_image_pixels")) {
        if (parse_uint(v, 1ull << 30, &n) || n < 1)
            return "media_max_image_pixels takes a pixel count (width x height) up to 2^30";
        cfg->media_max_image_pixels = n;
        return NULL;
    }
    if (str_eq_cstr(k, "threads")) {
        if ((e = parse_uint(v, 256, &n)))
            return "threads takes a number from 0 (one per core) to 256";
        cfg->threads = (unsigned)n;
        return NULL;
    }
    if (str_eq_cstr(k, "timeout")) {
        if (parse_uint(v, 3600, &n) || n == 0)
            return "timeout takes seconds from 1 to 3600";
        cfg->timeout_secs = (unsigned)n;
        return NULL;
    }
    if (str_eq_cstr(k, "rate_limit"))
        return parse_rate(cfg, v);
    if (str_eq_cstr(k, "delivery_retry_base") || str_eq_cstr(k, "delivery_give_up_after") ||
        str_eq_cstr(k, "delivery_dead_after") || str_eq_cstr(k, "actor_refresh_after") ||
        str_eq_cstr(k, "scheduled_min_lead") || str_eq_cstr(k, "media_keep")) {
        if (config_parse_duration(v, &n) || n == 0)
            return "expected a duration such as 500ms, 30s, 5m, 2h or 3d";
        if (str_eq_cstr(k, "delivery_retry_base"))
            cfg->delivery_retry_base_ms = n;
        else if (str_eq_cstr(k, "delivery_give_up_after"))
            cfg->delivery_give_up_after_ms = n;
        else if (str_eq_cstr(k, "delivery_dead_after"))
            cfg->delivery_dead_after_ms = n;
        else if (str_eq_cstr(k, "scheduled_min_lead"))
            cfg->scheduled_min_lead_ms = n;
        else if (str_eq_cstr(k, "media_keep"))
            cfg->media_keep_ms = n;
        else
            cfg->actor_refresh_after_ms = n;
        return NULL;
    }
    if (str_eq_cstr(k, "resolve"))
        return parse_resolve(cfg, v);
    if (str_eq_cstr(k, "allow_private_addresses"))
        return parse_bool(v, &cfg->allow_private_addresses);
    if (str_eq_cstr(k, "trusted_proxies"))
        return parse_proxies(cfg, v);
    if (str_eq_cstr(k, "registrations")) {
        if (str_eq_cstr(v, "open"))
            cfg->registrations = REG_OPEN;
        else if (str_eq_cstr(v, "approval"))
            cfg->registrations = REG_APPROVAL;
        else if (str_eq_cstr(v, "closed"))
            cfg->registrations = REG_CLOSED;
        else
            return "registrations takes open, approval or closed";
        return NULL;
    }
    if (str_eq_cstr(k, "title")) {
        if (v.len == 0 || v.len > 200)
            return "title takes 1 to 200 characters";
        set_str(&cfg->title, v);
        return NULL;
    }
    if (str_eq_cstr(k, "description")) {
        if (v.len > 5000)
            return "description is longer than 5000 bytes";
        set_str(&cfg->description, v);
        return NULL;
    }
    if (str_eq_cstr(k, "contact_email")) {
        const char *at = memchr(v.ptr, '@', v.len);
        if (v.len && (!at || at == v.ptr || at == v.ptr + v.len - 1 || memchr(v.ptr, ' ', v.len)))
            return "contact_email must be an email address";
        set_str(&cfg->contact_email, v);
        return NULL;
    }
    return "unknown key";
}

static int fail(char *err, size_t errlen, const char *name, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *name, unsigned line, const char *fmt, ...)
{
    va_list ap;
    int n =
        line ? snprintf(err, errlen, "%s:%u: ", name, line) : snprintf(err, errlen, "%s: ", name);
    if (n < 0 || (size_t)n >= errlen)
        return KITH_EINVAL;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return KITH_EINVAL;
}

static bool host_is_local(const char *domain)
{
    size_t n = strcspn(domain, ":");
    struct str h = str_make(domain, n);
    return str_eq_cstr(h, "localhost") ||
           (n > 10 && strncmp(domain + n - 10, ".localhost", 10) == 0) ||
           (n >= 4 && strncmp(domain, "127.", 4) == 0);
}

/* Cross-key checks and derived defaults, after every line is read. */
static int finish(struct kith_config *cfg, const char *name, char *err, size_t errlen)
{
    if (cfg->nlistens == 0) {
        struct config_listen l;
        memset(&l, 0, sizeof(l));
        ipaddr_parse(STR_LIT("127.0.0.1"), &l.addr);
        l.port = 8080;
        snprintf(l.text, sizeof(l.text), "127.0.0.1:8080");
        cfg->listens = xmalloc(sizeof(l));
        cfg->listens[0] = l;
        cfg->nlistens = 1;
    }
    for (size_t i = 0; i < cfg->nlistens; i++)
        if (cfg->listens[i].tls && (!cfg->tls_cert || !cfg->tls_key))
            return fail(err, errlen, name, 0,
                        "listen %s is marked tls but tls_cert or tls_key is not set",
                        cfg->listens[i].text);
    if (!cfg->public_url) {
        /* https://DOMAIN, except for a local test domain where plain http is the only option. */
        size_t n = strlen(cfg->domain) + 9;
        cfg->public_url = xmalloc(n);
        snprintf(cfg->public_url, n, "%s://%s", host_is_local(cfg->domain) ? "http" : "https",
                 cfg->domain);
    }
    return KITH_OK;
}

int config_parse(struct kith_config *cfg, const char *name, const char *text, size_t len, char *err,
                 size_t errlen)
{
    bool listens_seen = false;
    unsigned lineno = 0;
    size_t i = 0;

    config_defaults(cfg);
    cfg->nlistens = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && text[i] != '\n')
            i++;
        struct str line = str_make(text + start, i - start);
        i++;
        lineno++;
        if (memchr(line.ptr, '\0', line.len))
            return fail(err, errlen, name, lineno, "NUL byte in line");
        /* A '#' at the start or after whitespace begins a comment. */
        for (size_t j = 0; j < line.len; j++)
            if (line.ptr[j] == '#' &&
                (j == 0 || line.ptr[j - 1] == ' ' || line.ptr[j - 1] == '\t')) {
                line.len = j;
                break;
            }
        line = str_trim(line);
        if (line.len == 0)
            continue;
        const char *eq = memchr(line.ptr, '=', line.len);
        if (!eq)
            return fail(err, errlen, name, lineno, "expected 'key = value'");
        struct str key = str_trim(str_make(line.ptr, (size_t)(eq - line.ptr)));
        struct str val = str_trim(str_make(eq + 1, line.len - (size_t)(eq + 1 - line.ptr)));
        if (key.len == 0)
            return fail(err, errlen, name, lineno, "expected 'key = value'");
        const char *e = set_key(cfg, key, val, &listens_seen);
        if (e) {
            if (strcmp(e, "unknown key") == 0)
                return fail(err, errlen, name, lineno, "unknown key '%.*s'", (int)key.len, key.ptr);
            return fail(err, errlen, name, lineno, "%.*s: %s", (int)key.len, key.ptr, e);
        }
    }
    return finish(cfg, name, err, errlen);
}

int config_load(struct kith_config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (!f) {
        config_defaults(cfg);
        return fail(err, errlen, path, 0, "cannot read config file: %s", strerror(errno));
    }
    text = xmalloc(CONFIG_MAX_FILE + 1);
    len = fread(text, 1, CONFIG_MAX_FILE + 1, f);
    if (ferror(f)) {
        rc = fail(err, errlen, path, 0, "cannot read config file: %s", strerror(errno));
        config_defaults(cfg);
    } else if (len > CONFIG_MAX_FILE) {
        rc = fail(err, errlen, path, 0, "config file is larger than 1 MiB");
        config_defaults(cfg);
    } else {
        rc = config_parse(cfg, path, text, len, err, errlen);
    }
    fclose(f);
    free(text);
    if (rc != KITH_OK)
        return rc;
    cfg->source = xstrdup(path);
    /* A relative data_dir is relative to the directory of the config file. */
    const char *slash = strrchr(path, '/');
    if (cfg->data_dir[0] != '/' && slash) {
        size_t dirlen = (size_t)(slash - path);
        size_t n = dirlen + 1 + strlen(cfg->data_dir) + 1;
        char *p = xmalloc(n);
        snprintf(p, n, "%.*s/%s", (int)dirlen, path, cfg->data_dir);
        free(cfg->data_dir);
        cfg->data_dir = p;
    }
    return KITH_OK;
}
