/* src/base/config.h: the kith.conf parser.
 *
 * Layer: base. The file is "key = value" lines; '#' starts a comment (at the
 * start of a line or after whitespace); blank lines are ignored; a few keys
 * may repeat (listen, resolve, trusted_proxies). Every key is documented in
 * kith.conf.example. Any problem (unknown key, bad value, unreadable file)
 * is reported as one line "FILE:LINE: problem" in err and the call fails;
 * kithd and kithctl print it and exit with status 2.
 * Owned: config_free() releases everything config_load/config_parse set.
 */
#ifndef KITH_BASE_CONFIG_H
#define KITH_BASE_CONFIG_H

#include "netaddr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum registrations { REG_OPEN, REG_APPROVAL, REG_CLOSED };

struct config_listen {
    struct ipaddr addr;
    uint16_t port;
    bool tls;
    char text[80]; /* as written, for messages */
};

struct config_resolve {
    char *host; /* lowercase */
    uint16_t port;
    struct ipaddr addr;
};

struct kith_config {
    char *domain;                    /* host name in handles; may carry :port for local testing */
    char *public_url;                /* scheme://host[:port], no trailing slash */
    char *data_dir;                  /* absolute or relative to the config file's directory */
    char *tls_cert;                  /* PEM chain for listeners marked tls */
    char *tls_key;                   /* PEM private key */
    char *ca_file;                   /* extra CA for outbound TLS, or NULL */
    char *title;                     /* instance name shown to apps and peers */
    char *description;               /* instance description */
    char *contact_email;             /* admin contact */
    uint64_t map_size;               /* LMDB map size in bytes (sparse) */
    uint64_t max_body_bytes;         /* request body ceiling for every route */
    uint64_t max_header_bytes;       /* request header ceiling */
    unsigned threads;                /* event-loop threads; 0 = number of cores */
    unsigned timeout_secs;           /* idle / read / write timeout of a connection */
    unsigned rate_limit_burst;       /* requests per client address... */
    unsigned rate_limit_secs;        /* ...per this many seconds; 0 burst = off */
    uint64_t delivery_retry_base_ms; /* first retry delay; doubles each attempt */
    uint64_t delivery_give_up_after_ms; /* a delivery older than this is dropped */
    uint64_t delivery_dead_after_ms;    /* a host failing this long is marked dead */
    uint64_t actor_refresh_after_ms;    /* a stored remote actor this old is fetched again */
    uint64_t scheduled_min_lead_ms;     /* a scheduled status is at least this far ahead */
    uint64_t media_keep_ms; /* an unattached upload, a deleted status's media, kept this long */
    uint64_t media_max_image_bytes;  /* an uploaded image's ceiling */
    uint64_t media_max_video_bytes;  /* an uploaded video's or audio file's ceiling */
    uint64_t media_max_image_pixels; /* width x height of an image, at most */
    bool allow_private_addresses;
    enum registrations registrations;
    struct config_listen *listens;
    size_t nlistens;
    struct config_resolve *resolves;
    size_t nresolves;
    struct cidr *trusted_proxies;
    size_t ntrusted;
    char *source; /* file the config came from, or NULL for built-in defaults */
};

/* Sets every key to its default (a local instance on http://localhost:8080). */
void config_defaults(struct kith_config *cfg);
/* Reads and parses path over the defaults, then validates. */
int config_load(struct kith_config *cfg, const char *path, char *err, size_t errlen);
/* Parses text (name is used in messages) over the defaults, then validates. */
int config_parse(struct kith_config *cfg, const char *name, const char *text, size_t len, char *err,
                 size_t errlen);
void config_free(struct kith_config *cfg);
/* Effective thread count: cfg->threads, or the number of online cores. */
unsigned config_threads(const struct kith_config *cfg);
/* Parses "64G", "512MiB", "1048576" into bytes. */
int config_parse_size(struct str s, uint64_t *out);
/* Parses "250ms", "30s", "5m", "2h", "3d" into milliseconds. */
int config_parse_duration(struct str s, uint64_t *out);

#endif
