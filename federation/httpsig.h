/* federation/httpsig.h: HTTP Signatures, incoming and outgoing.
 *
 * Layer: federation. Verifies draft-cavage-http-signatures-12 (`Signature`
 * header, rsa-sha256 and hs2019) and RFC 9421 HTTP Message Signatures
 * (`Signature-Input` / `Signature`; rsa-v1_5-sha256, rsa-pss-sha512 and
 * ed25519), and signs outgoing requests with draft-cavage. Knows nothing
 * of libevent: the HTTP layer hands it a struct httpsig_msg.
 *
 * Verification is two steps, so the caller can fetch the key in between:
 * httpsig_prepare() parses, checks what must be covered (the method and
 * target, the host, a fresh date or created time, and for requests with a
 * body the digest, which it checks against the body) and builds the
 * signature base; httpsig_verify() checks the signature with the key of
 * key_id. Both fail with KITH_EDENIED and a lowercase reason: the caller
 * answers 401, never 500.
 * Owned: everything a prepared signature points to lives in the arena.
 */
#ifndef KITH_FEDERATION_HTTPSIG_H
#define KITH_FEDERATION_HTTPSIG_H

#include "../src/base/arena.h"
#include "../src/base/buf.h"
#include "../src/base/str.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#define HTTPSIG_MAX_SKEW   (12 * 3600) /* seconds a date or created may be off */
#define HTTPSIG_MAX_SIG    1024        /* decoded signature bytes */
#define HTTPSIG_MAX_HEADER 8192        /* a Signature or Signature-Input value */

/* Checks httpsig_prepare makes unless told to skip them: kith itself never
 * skips any; the published test vectors need to (they predate kith's rules). */
enum httpsig_skip {
    HTTPSIG_SKIP_COVERAGE = 1 << 0, /* method, target, host/authority, date covered */
    HTTPSIG_SKIP_DIGEST = 1 << 1,   /* a body digest covered and matching */
    HTTPSIG_SKIP_FRESHNESS = 1 << 2 /* Date / created within 12 hours */
};

/* A request as the verifier sees it. */
struct httpsig_msg {
    struct str method;    /* "POST" */
    struct str target;    /* path and query as sent: "/inbox?x=1" */
    struct str scheme;    /* "https" or "http": as public_url names it */
    struct str authority; /* host[:port] as public_url names it, lowercase */
    /* The value of header name (lowercase), repeated fields joined with ", ";
     * STR_NULL when absent. */
    struct str (*header)(void *ctx, const char *name);
    void *ctx;
    struct str body; /* empty for requests without one */
    int64_t now;     /* Unix seconds */
    unsigned skip;   /* enum httpsig_skip; 0 in kith */
};

enum httpsig_scheme { HTTPSIG_CAVAGE = 1, HTTPSIG_RFC9421 = 2 };

enum httpsig_alg {
    SIGALG_FROM_KEY = 0,   /* hs2019, or no alg: the key's type decides */
    SIGALG_RSA_SHA256,     /* rsa-sha256 (cavage), rsa-v1_5-sha256 (RFC 9421) */
    SIGALG_RSA_PSS_SHA512, /* rsa-pss-sha512 */
    SIGALG_ED25519,        /* ed25519 */
};

struct httpsig {
    enum httpsig_scheme scheme;
    enum httpsig_alg alg;
    struct str key_id; /* the keyId / keyid, in the arena */
    struct str label;  /* RFC 9421 signature label */
    struct str base;   /* the signing string / signature base */
    unsigned char sig[HTTPSIG_MAX_SIG];
    size_t siglen;
    int64_t created; /* 0 when not given */
};

/* Parses and checks the request's signature (RFC 9421 when it carries
 * Signature-Input, else draft-cavage). why receives the reason on failure. */
int httpsig_prepare(const struct httpsig_msg *m, struct arena *a, struct httpsig *out, char *why,
                    size_t whylen);
/* Checks the signature with key (borrowed). KITH_EDENIED if it does not match
 * or the algorithm does not fit the key. */
int httpsig_verify(const struct httpsig *s, EVP_PKEY *key, char *why, size_t whylen);

/* `SHA-256=<base64>` of body, for the Digest header. */
void httpsig_digest(struct str body, char out[64]);

/* Signs an outgoing request with draft-cavage rsa-sha256. Covers
 * (request-target), host and date, plus digest when digest is not empty
 * (POST). Appends the Signature header's value to out. */
int httpsig_sign_cavage(EVP_PKEY *key, struct str key_id, struct str method, struct str target,
                        struct str host, struct str date, struct str digest, struct buf *out);

/* A signing context for one RSA key, with the thread's own copy of it:
 * reusable for many signatures by one thread at a time. Two threads
 * sharing one key contend in RSA blinding; each signer keeps its own.
 * Owned: EVP_PKEY_CTX_free. NULL when the key cannot sign rsa-sha256. */
EVP_PKEY_CTX *httpsig_sign_ctx_new(EVP_PKEY *key);
/* httpsig_sign_cavage with such a context: the same header, less set-up. */
int httpsig_sign_cavage_ctx(EVP_PKEY_CTX *pctx, struct str key_id, struct str method,
                            struct str target, struct str host, struct str date, struct str digest,
                            struct buf *out);

/* Base64 helpers (standard alphabet, padded). decode returns the length or -1. */
long b64_decode(struct str in, unsigned char *out, size_t outlen);
void b64_encode(const unsigned char *in, size_t n, struct buf *out);

#endif
