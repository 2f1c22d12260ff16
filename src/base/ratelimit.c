/* src/base/ratelimit.c: token buckets per key. */
#include "ratelimit.h"

#include "mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS  16
#define BUCKETS 256 /* hash chains per shard */

struct entry {
    struct entry *next;
    uint64_t last_ms; /* when tokens was last brought up to date */
    double tokens;
    unsigned char keylen;
    char key[RATELIMIT_MAX_KEY];
};

struct shard {
    pthread_mutex_t lock;
    struct entry *chains[BUCKETS];
    size_t count;
};

struct ratelimit {
    double burst;
    double per_ms; /* tokens added per millisecond */
    size_t max_per_shard;
    struct shard shards[SHARDS];
};

struct ratelimit *ratelimit_new(unsigned burst, unsigned period_secs, size_t max_keys)
{
    struct ratelimit *rl = xcalloc(1, sizeof(*rl));
    rl->burst = burst;
    rl->per_ms = (double)burst / ((double)period_secs * 1000.0);
    rl->max_per_shard = max_keys / SHARDS ? max_keys / SHARDS : 1;
    for (int i = 0; i < SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].lock, NULL);
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < SHARDS; i++) {
        for (int b = 0; b < BUCKETS; b++) {
            struct entry *e = rl->shards[i].chains[b];
            while (e) {
                struct entry *n = e->next;
                free(e);
                e = n;
            }
        }
        pthread_mutex_destroy(&rl->shards[i].lock);
    }
    free(rl);
}

static double refill(const struct ratelimit *rl, const struct entry *e, uint64_t now)
{
    double t = e->tokens;
    if (now > e->last_ms)
        t += (double)(now - e->last_ms) * rl->per_ms;
    return t > rl->burst ? rl->burst : t;
}

/* Frees buckets that have refilled completely (they carry no information);
 * if none has, frees the least recently touched one. */
static void sweep(struct ratelimit *rl, struct shard *s, uint64_t now)
{
    struct entry **oldest = NULL;
    for (int b = 0; b < BUCKETS; b++) {
        struct entry **pp = &s->chains[b];
        while (*pp) {
            struct entry *e = *pp;
            if (refill(rl, e, now) >= rl->burst) {
                *pp = e->next;
                free(e);
                s->count--;
                continue;
            }
            if (!oldest || e->last_ms < (*oldest)->last_ms)
                oldest = pp;
            pp = &e->next;
        }
    }
    if (s->count >= rl->max_per_shard && oldest) {
        struct entry *e = *oldest;
        *oldest = e->next;
        free(e);
        s->count--;
    }
}

bool ratelimit_take(struct ratelimit *rl, struct str key, uint64_t now_ms, unsigned *retry_after)
{
    return ratelimit_take_left(rl, key, now_ms, retry_after, NULL, NULL);
}

bool ratelimit_take_left(struct ratelimit *rl, struct str key, uint64_t now_ms,
                         unsigned *retry_after, unsigned *left, unsigned *full_in)
{
    struct entry *e;
    bool ok;

    if (key.len > RATELIMIT_MAX_KEY)
        key.len = RATELIMIT_MAX_KEY;
    uint64_t h = str_hash(key);
    struct shard *s = &rl->shards[h % SHARDS];
    pthread_mutex_lock(&s->lock);
    struct entry **chain = &s->chains[(h / SHARDS) % BUCKETS];
    for (e = *chain; e; e = e->next)
        if (e->keylen == key.len && memcmp(e->key, key.ptr, key.len) == 0)
            break;
    if (!e) {
        if (s->count >= rl->max_per_shard)
            sweep(rl, s, now_ms);
        e = xcalloc(1, sizeof(*e));
        e->keylen = (unsigned char)key.len;
        memcpy(e->key, key.ptr, key.len);
        e->tokens = rl->burst;
        e->last_ms = now_ms;
        e->next = *chain;
        *chain = e;
        s->count++;
    }
    e->tokens = refill(rl, e, now_ms);
    if (now_ms > e->last_ms)
        e->last_ms = now_ms;
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
        ok = true;
    } else {
        double wait_ms = (1.0 - e->tokens) / rl->per_ms;
        unsigned secs = (unsigned)((wait_ms + 999.0) / 1000.0);
        *retry_after = secs ? secs : 1;
        ok = false;
    }
    if (left)
        *left = (unsigned)e->tokens;
    if (full_in) /* seconds until the bucket is full again */
        *full_in = (unsigned)(((double)rl->burst - e->tokens) / rl->per_ms / 1000.0 + 0.999);
    pthread_mutex_unlock(&s->lock);
    return ok;
}

size_t ratelimit_size(struct ratelimit *rl)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&rl->shards[i].lock);
        n += rl->shards[i].count;
        pthread_mutex_unlock(&rl->shards[i].lock);
    }
    return n;
}
