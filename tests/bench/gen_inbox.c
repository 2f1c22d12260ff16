/* tests/bench/gen_inbox.c: pre-signed inbox requests for `make bench`.
 *
 * usage: gen_inbox OUT N HOST PATH ACTOR KEY.pem BAD_EVERY
 * Writes N raw HTTP/1.1 POSTs of distinct activities by ACTOR, each signed
 * with draft-cavage by KEY (kith's own signer, checked against independent
 * implementations in the tests), as records "LENGTH\nBYTES" for
 * inbox.lua. Every BAD_EVERY-th request carries a broken signature and must
 * get 401. Signing happens here, before the timed run: no signer on two
 * cores produces 10,000 RSA-2048 signatures a second.
 */
#include "../../federation/httpsig.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: gen_inbox OUT N HOST PATH ACTOR KEY.pem BAD_EVERY\n");
        return 2;
    }
    const char *out = argv[1], *host = argv[3], *path = argv[4], *actor = argv[5];
    long n = atol(argv[2]), bad_every = atol(argv[7]);
    FILE *kf = fopen(argv[6], "r");
    EVP_PKEY *key = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
    if (kf)
        fclose(kf);
    FILE *f = fopen(out, "wb");
    if (!key || !f) {
        fprintf(stderr, "gen_inbox: cannot read the key or write %s\n", out);
        return 1;
    }
    char date[64], key_id[512], body[1024], digest[64];
    time_t now = time(NULL);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&now));
    snprintf(key_id, sizeof(key_id), "%s#main-key", actor);
    for (long i = 0; i < n; i++) {
        struct buf sig, req;
        int len = snprintf(body, sizeof(body),
                           "{\"@context\":\"https://www.w3.org/ns/activitystreams\","
                           "\"id\":\"%s/likes/%ld-%ld\",\"type\":\"Like\",\"actor\":\"%s\","
                           "\"object\":\"https://remote.example/post/%ld\"}",
                           actor, (long)now, i, actor, i);
        httpsig_digest(str_make(body, (size_t)len), digest);
        buf_init(&sig, 4096);
        buf_init(&req, 8192);
        if (httpsig_sign_cavage(key, str_from(key_id), STR_LIT("POST"), str_from(path),
                                str_from(host), str_from(date), str_from(digest), &sig)) {
            fprintf(stderr, "gen_inbox: signing failed\n");
            return 1;
        }
        if (bad_every > 0 && i % bad_every == bad_every - 1) {
            char *s = strstr(sig.data, "signature=\"") + 11; /* a broken signature */
            s[0] = s[0] == 'A' ? 'B' : 'A';
        }
        buf_printf(&req,
                   "POST %s HTTP/1.1\r\nHost: %s\r\nDate: %s\r\nDigest: %s\r\n"
                   "Content-Type: application/activity+json\r\nContent-Length: %d\r\n"
                   "Signature: %s\r\n\r\n%s",
                   path, host, date, digest, len, sig.data, body);
        fprintf(f, "%zu\n", req.len);
        fwrite(req.data, 1, req.len, f);
        buf_free(&sig);
        buf_free(&req);
    }
    fclose(f);
    EVP_PKEY_free(key);
    return 0;
}
