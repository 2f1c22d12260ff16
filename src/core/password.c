/* src/core/password.c: password hashing (argon2id) and generation. */
#include "core.h"

#include "../base/err.h"

#include <argon2.h>
#include <string.h>
#include <sys/random.h>

/* OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
#define PW_T_COST   2
#define PW_M_COST   (19 * 1024)
#define PW_LANES    1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

static int random_bytes(void *p, size_t n)
{
    unsigned char *b = p;
    while (n) {
        ssize_t r = getrandom(b, n, 0);
        if (r < 0)
            return KITH_EIO;
        b += r;
        n -= (size_t)r;
    }
    return KITH_OK;
}

int core_random_password(char *out, size_t len)
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    const size_t n = sizeof(alphabet) - 1; /* 57: no 0/O, 1/l/I look-alikes */
    size_t i = 0;
    if (len < 2)
        return KITH_EINVAL;
    while (i < len - 1) {
        unsigned char r[32];
        if (random_bytes(r, sizeof(r)))
            return KITH_EIO;
        for (size_t j = 0; j < sizeof(r) && i < len - 1; j++)
            if (r[j] < 256 - 256 % n) /* no modulo bias */
                out[i++] = alphabet[r[j] % n];
    }
    out[len - 1] = '\0';
    return KITH_OK;
}

int core_password_hash(struct str password, char *out, size_t outlen)
{
    unsigned char salt[PW_SALT_LEN];
    if (random_bytes(salt, sizeof(salt)))
        return KITH_EIO;
    size_t need =
        argon2_encodedlen(PW_T_COST, PW_M_COST, PW_LANES, PW_SALT_LEN, PW_HASH_LEN, Argon2_id);
    if (need > outlen)
        return KITH_ETOOBIG;
    int rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_LANES, password.ptr, password.len, salt,
                                   sizeof(salt), PW_HASH_LEN, out, outlen);
    return rc == ARGON2_OK ? KITH_OK : KITH_EINVAL;
}

int core_password_verify(struct str password, struct str encoded)
{
    char enc[256];
    if (encoded.len == 0 || encoded.len >= sizeof(enc))
        return KITH_EDENIED;
    memcpy(enc, encoded.ptr, encoded.len);
    enc[encoded.len] = '\0';
    return argon2id_verify(enc, password.ptr, password.len) == ARGON2_OK ? KITH_OK : KITH_EDENIED;
}

/* A hash with kith's own argon2id parameters (of a password nobody has). */
#define DUMMY_HASH                                                                               \
 "$argon2id$v=19$m=19456,t=2,p=1$VIwNHeZ+CTkPtrLGql4LIg$Q7pdlvwiJBQWdGagrTEQv58Yc+r4O1nDirNwLw/" \
 "d5Ck"

int core_password_check(struct str password, struct str encoded)
{
    if (!encoded.len) {
        core_password_verify(password, STR_LIT(DUMMY_HASH));
        return KITH_EDENIED;
    }
    return core_password_verify(password, encoded);
}
