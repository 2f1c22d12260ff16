/* federation/deliver.c: the delivery engine. */
#include "deliver.h"

#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "../src/core/mediagc.h"
#include "../src/core/posts.h"
#include "../src/core/webpush.h"
#include "federation.h"
#include "fetch.h"
#include "hosttab.h"
#include "httpsig.h"
#include "keys.h"
#include "outbox.h"

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS          200
#define MAX_STARTS       512 /* jobs started per tick */
#define WINDOW_START     4   /* requests in flight per host, at first */
#define WINDOW_MAX       64
#define DEAD_PROBE_MS    (6ull * 3600 * 1000) /* how often a dead host is tried */
#define MAX_BACKOFF_MS   (6ull * 3600 * 1000)
#define SENDER_KEYS      256
#define SIGNERS          8    /* signing threads, at most: one per core but one */
#define SIGN_BATCH       8    /* jobs a signer takes at once */
#define FLUSH_MS         20   /* outcomes wait at most this long for their batch */
#define FLUSH_MAX        512  /* or until this many are waiting */
#define INFLIGHT_BUCKETS 4096 /* the in-flight set, by job id */

struct sender_key {
    uint64_t sender;
    EVP_PKEY *key;
    char key_id[600];
};

struct job;

struct deliverer {
    struct core *core;
    void *fed;               /* struct federation: publishes scheduled statuses */
    int64_t media_next;      /* uploads are swept at most once a minute */
    bool media_sweep;        /* this sweep removes unneeded uploads */
    struct media_gone *gone; /* their files, unlinked once it committed */
    const struct kith_config *cfg;
    pthread_t thread;
    struct event_base *base;
    struct fetcher *fetch;
    struct event *tick, *kick, *stop, *mail_ev;
    /* Ended polls are told (core's polls_close_due) from this loop's timer. */
    struct event *sweep;
    _Atomic bool sweeping;
    struct writer_req sweep_req;
    pthread_mutex_t mail_lock;              /* guards mail */
    struct job *mail;                       /* outcomes made durable, to finish on the loop */
    struct job *active;                     /* requests in flight (loop thread only) */
    struct job *finishing;                  /* outcomes being written (loop thread only) */
    struct job *inflight[INFLIGHT_BUCKETS]; /* both of them, by job id (loop thread only) */
    struct job *outcomes; /* outcomes not yet handed to the writer (loop thread only) */
    unsigned noutcomes;
    struct event *flush_ev;     /* hands them over, once per loop iteration */
    struct event *report_ev;    /* deliverer_hosts' question to the loop */
    struct host_report *report; /* guarded by mail_lock */
    /* Signing happens on these threads, never on the loop: RSA-2048 costs
     * ~260 us a signature, the time of ten inbox requests. */
    pthread_t signers[SIGNERS];
    unsigned nsigners;
    pthread_mutex_t sign_lock; /* guards sign_head, sign_tail, sign_stop */
    pthread_cond_t sign_wake;
    struct job *sign_head, *sign_tail;
    bool sign_stop;
    struct job *signed_jobs; /* signed, to send from the loop (guarded by mail_lock) */
    struct event *signed_ev;
    struct hosttab hosts;
    struct sender_key keys[SENDER_KEYS];
    atomic_ulong delivered, retried, dropped, in_flight;
    bool stopping;
};

/* A thread asking the loop for its per-host figures (deliverer_hosts). */
struct host_report {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    bool done;
    struct buf *out;
};

struct job {
    struct job *next, *prev; /* in active, then in finishing */
    struct job *hnext;       /* in d->inflight */
    bool hashed;
    struct job *mail_next; /* in mail (guarded by mail_lock) */
    struct deliverer *d;
    struct key16 sched; /* its key in table deliveries */
    struct arena a;
    struct delivery rec;
    struct str body;
    struct sender_key *sk;
    EVP_PKEY *key; /* its own reference: the cache may drop sk->key */
    char key_id[600];
    char date[64];       /* the Date the request is signed with and sent with */
    char authority[272]; /* the Host header */
    char target[2048];   /* path?query */
    char digest[64];
    struct buf sig; /* the Signature header's value */
    int sign_rc;
    struct job *sign_next; /* in the signing queue or the signed list */
    struct hoststate *host;
    struct job *out_next; /* in d->outcomes, then in its batch */
    int outcome;          /* enum below */
    int64_t next_due_ms;
    char error[200];
};

enum { OUT_DELIVERED, OUT_RETRY, OUT_DROP };

/* ---- helpers ---- */

static uint64_t now_ms(void)
{
    return clock_now_ms(clock_system());
}

static struct sender_key *sender(struct deliverer *d, struct kv_txn *txn, uint64_t id,
                                 struct arena *a)
{
    struct sender_key *free_slot = NULL;
    for (int i = 0; i < SENDER_KEYS; i++) {
        if (d->keys[i].key && d->keys[i].sender == id)
            return &d->keys[i];
        if (!d->keys[i].key && !free_slot)
            free_slot = &d->keys[i];
    }
    if (!free_slot) { /* full: forget one (cheap to reload) */
        free_slot = &d->keys[id % SENDER_KEYS];
        EVP_PKEY_free(free_slot->key);
        free_slot->key = NULL;
    }
    const char *base = d->cfg->public_url;
    struct str pem = STR_NULL;
    if (id == 0) {
        if (kv_get(txn, T_META, STR_LIT("instance_private_key"), &pem))
            return NULL;
        snprintf(free_slot->key_id, sizeof(free_slot->key_id), "%s/actor#main-key", base);
    } else if (SENDER_IS_COMMUNITY(id)) {
        struct community c;
        if (community_get(txn, id & ~(1ull << 63), a, &c))
            return NULL;
        pem = c.private_key;
        snprintf(free_slot->key_id, sizeof(free_slot->key_id), "%s/c/%.*s#main-key", base,
                 (int)c.name.len, c.name.ptr);
    } else {
        struct account acct;
        if (account_get(txn, id, a, &acct))
            return NULL;
        pem = acct.private_key;
        snprintf(free_slot->key_id, sizeof(free_slot->key_id), "%s/u/%.*s#main-key", base,
                 (int)acct.name.len, acct.name.ptr);
    }
    BIO *b = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    free_slot->key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!free_slot->key)
        return NULL;
    free_slot->sender = id;
    return free_slot;
}

/* The fetcher asks for the signature when it builds the request: hand over
 * the one made in advance, if it signs exactly what is sent. */
static int presigned(void *arg, const char *method, const char *host, const char *target,
                     const char *date, struct str digest, struct buf *out)
{
    struct job *j = arg;
    if (strcmp(method, "POST") != 0 || strcmp(host, j->authority) != 0 ||
        strcmp(target, j->target) != 0 || strcmp(date, j->date) != 0 ||
        !str_eq(digest, str_from(j->digest)))
        return KITH_EINVAL;
    return buf_add_str(out, buf_str(&j->sig));
}

/* A signer's own signing contexts, by key id (see httpsig_sign_ctx_new). */
#define SIGNER_CTXS 32
struct signer_ctx {
    char key_id[600];
    EVP_PKEY_CTX *ctx;
};

static EVP_PKEY_CTX *signer_ctx(struct signer_ctx *cache, unsigned *next, struct job *j)
{
    for (unsigned i = 0; i < SIGNER_CTXS; i++)
        if (cache[i].ctx && strcmp(cache[i].key_id, j->key_id) == 0)
            return cache[i].ctx;
    struct signer_ctx *slot = &cache[*next];
    *next = (*next + 1) % SIGNER_CTXS;
    EVP_PKEY_CTX_free(slot->ctx);
    slot->ctx = httpsig_sign_ctx_new(j->key);
    snprintf(slot->key_id, sizeof(slot->key_id), "%s", j->key_id);
    return slot->ctx;
}

static void *signer_main(void *arg)
{
    pthread_setname_np(pthread_self(), "kith-sign"); /* for top -H and perf */
    struct deliverer *d = arg;
    struct signer_ctx cache[SIGNER_CTXS] = {{{0}, NULL}};
    unsigned next = 0;
    for (;;) {
        pthread_mutex_lock(&d->sign_lock);
        while (!d->sign_head && !d->sign_stop)
            pthread_cond_wait(&d->sign_wake, &d->sign_lock);
        if (d->sign_stop) {
            pthread_mutex_unlock(&d->sign_lock);
            break;
        }
        /* A few at a time: fewer locks and wake-ups, and the loop sends
         * them together. */
        struct job *batch = d->sign_head, *last = batch;
        for (int n = 1; n < SIGN_BATCH && last->sign_next; n++)
            last = last->sign_next;
        d->sign_head = last->sign_next;
        if (!d->sign_head)
            d->sign_tail = NULL;
        last->sign_next = NULL;
        pthread_mutex_unlock(&d->sign_lock);

        for (struct job *j = batch; j; j = j->sign_next) {
            EVP_PKEY_CTX *ctx = signer_ctx(cache, &next, j);
            j->sign_rc =
                ctx ? httpsig_sign_cavage_ctx(ctx, str_from(j->key_id), STR_LIT("POST"),
                                              str_from(j->target), str_from(j->authority),
                                              str_from(j->date), str_from(j->digest), &j->sig)
                    : KITH_EINVAL;
        }
        pthread_mutex_lock(&d->mail_lock);
        bool wake = d->signed_jobs == NULL; /* else the loop has been woken already */
        last->sign_next = d->signed_jobs;
        d->signed_jobs = batch;
        pthread_mutex_unlock(&d->mail_lock);
        if (wake)
            event_active(d->signed_ev, EV_READ, 0);
    }
    for (unsigned i = 0; i < SIGNER_CTXS; i++)
        EVP_PKEY_CTX_free(cache[i].ctx);
    return NULL;
}

static uint64_t backoff_ms(const struct kith_config *cfg, uint32_t attempts)
{
    uint64_t delay = cfg->delivery_retry_base_ms;
    for (uint32_t i = 1; i < attempts && delay < MAX_BACKOFF_MS; i++)
        delay *= 2;
    if (delay > MAX_BACKOFF_MS)
        delay = MAX_BACKOFF_MS;
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = (uint32_t)now_ms();
    /* +-25% jitter, so retries to one host do not arrive together. */
    return delay * 3 / 4 + (delay / 2) * (r % 1000) / 1000;
}

/* ---- outcomes: written durably, then finished on the loop ---- */

/* The outcomes of many jobs, written in one request: each host's record
 * is read and written once per batch. */
#define BATCH_HOSTS 256
struct outcome_batch {
    struct writer_req req;
    struct deliverer *d;
    struct job *jobs; /* by out_next */
    struct arena a;
    struct {
        struct str name;
        struct host h;
    } hosts[BATCH_HOSTS];
    size_t nhosts;
};

static struct host *batch_host(struct kv_txn *txn, struct outcome_batch *b, struct str name,
                               int *rc)
{
    for (size_t i = 0; i < b->nhosts; i++)
        if (str_eq(b->hosts[i].name, name))
            return &b->hosts[i].h;
    if (b->nhosts == BATCH_HOSTS) { /* full: write them out and start again */
        for (size_t i = 0; i < b->nhosts && *rc == KITH_OK; i++)
            *rc = rec_put(txn, T_HOSTS, b->hosts[i].name, &host_desc, &b->hosts[i].h, 0);
        b->nhosts = 0;
        if (*rc)
            return NULL;
    }
    size_t i = b->nhosts++;
    b->hosts[i].name = name;
    if (rec_get(txn, T_HOSTS, name, &host_desc, &b->a, &b->hosts[i].h) != KITH_OK)
        memset(&b->hosts[i].h, 0, sizeof(b->hosts[i].h));
    return &b->hosts[i].h;
}

static int apply_outcome(struct kv_txn *txn, struct outcome_batch *b, struct job *j)
{
    struct deliverer *d = j->d;
    struct host none = {0}, *h = &none;
    int64_t now = (int64_t)(now_ms() / 1000);
    int rc = kv_del(txn, T_DELIVERIES, KEY16(j->sched));
    if (rc == KITH_ENOTFOUND)
        rc = KITH_OK; /* already rescheduled by an earlier run */
    if (rc)
        return rc;
    if (j->rec.host.len) {
        if (!(h = batch_host(txn, b, j->rec.host, &rc)))
            return rc;
        if (j->outcome == OUT_DELIVERED) {
            h->failures = 0;
            h->first_failure_at = 0;
            h->dead_since = 0;
            h->last_success_at = now;
            h->delivered++;
        } else if (j->outcome == OUT_RETRY) {
            if (h->failures++ == 0)
                h->first_failure_at = now;
            h->last_failure_at = now;
            h->last_error = str_from(j->error);
            if (!h->dead_since &&
                (uint64_t)(now - h->first_failure_at) * 1000 >= d->cfg->delivery_dead_after_ms)
                h->dead_since = now;
        }
    }
    if (j->outcome == OUT_RETRY) {
        j->rec.attempts++;
        j->rec.last_error = str_from(j->error);
        uint64_t delay = backoff_ms(d->cfg, j->rec.attempts);
        if (h->dead_since && delay < DEAD_PROBE_MS)
            delay = d->cfg->delivery_dead_after_ms < DEAD_PROBE_MS ? d->cfg->delivery_dead_after_ms
                                                                   : DEAD_PROBE_MS;
        j->next_due_ms = (int64_t)(now_ms() + delay);
        struct key16 k = key_pair((uint64_t)j->next_due_ms, j->rec.id);
        rc = rec_put(txn, T_DELIVERIES, KEY16(k), &delivery_desc, &j->rec, 0);
    }
    return rc;
}

static int apply_outcomes(struct kv_txn *txn, void *arg)
{
    struct outcome_batch *b = arg;
    int rc = KITH_OK;
    b->nhosts = 0; /* a retried apply starts afresh */
    arena_release(&b->a);
    for (struct job *j = b->jobs; j && rc == KITH_OK; j = j->out_next)
        rc = apply_outcome(txn, b, j);
    for (size_t i = 0; i < b->nhosts && rc == KITH_OK; i++)
        rc = rec_put(txn, T_HOSTS, b->hosts[i].name, &host_desc, &b->hosts[i].h, 0);
    return rc;
}

static void outcomes_durable(void *arg, int rc)
{
    struct outcome_batch *b = arg;
    struct deliverer *d = b->d;
    if (rc)
        log_error("delivery: cannot record a batch of outcomes: %s", kith_strerror(rc));
    struct job *last = b->jobs;
    while (last && last->out_next) {
        last->mail_next = last->out_next;
        last = last->out_next;
    }
    if (last) {
        pthread_mutex_lock(&d->mail_lock);
        bool wake = d->mail == NULL; /* else the loop has been woken already */
        last->mail_next = d->mail;
        d->mail = b->jobs;
        pthread_mutex_unlock(&d->mail_lock);
        if (wake)
            event_active(d->mail_ev, EV_READ, 0);
    }
    arena_release(&b->a);
    free(b);
}

static void list_push(struct job **list, struct job *j)
{
    j->prev = NULL;
    j->next = *list;
    if (*list)
        (*list)->prev = j;
    *list = j;
}

static void unlink_from(struct job **list, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else if (*list == j)
        *list = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->next = j->prev = NULL;
}

static void unlink_active(struct deliverer *d, struct job *j)
{
    unlink_from(&d->active, j);
}

/* The in-flight set: a job is in it from the moment pump takes it until it
 * is freed, so pump never takes one job twice. */
static void inflight_add(struct deliverer *d, struct job *j)
{
    struct job **b = &d->inflight[j->rec.id % INFLIGHT_BUCKETS];
    j->hnext = *b;
    *b = j;
    j->hashed = true;
}

static bool in_flight(struct deliverer *d, uint64_t job_id)
{
    for (struct job *j = d->inflight[job_id % INFLIGHT_BUCKETS]; j; j = j->hnext)
        if (j->rec.id == job_id)
            return true;
    return false;
}

static void free_job(struct job *j)
{
    if (j->hashed) {
        for (struct job **pp = &j->d->inflight[j->rec.id % INFLIGHT_BUCKETS]; *pp;
             pp = &(*pp)->hnext)
            if (*pp == j) {
                *pp = j->hnext;
                break;
            }
    }
    EVP_PKEY_free(j->key);
    buf_free(&j->sig);
    arena_release(&j->a);
    free(j);
}

static void on_mail(evutil_socket_t fd, short what, void *arg)
{
    struct deliverer *d = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&d->mail_lock);
    struct job *list = d->mail;
    d->mail = NULL;
    pthread_mutex_unlock(&d->mail_lock);
    while (list) {
        struct job *next = list->mail_next;
        /* Its outcome is on disk: now it may leave the in-flight set. */
        unlink_from(&d->finishing, list);
        free_job(list);
        atomic_fetch_sub(&d->in_flight, 1);
        list = next;
    }
}

/* ---- sending ---- */

static void record(struct job *j, int outcome, const char *why)
{
    struct deliverer *d = j->d;
    int64_t age_ms = (int64_t)now_ms() - j->rec.first_at * 1000;
    if (outcome == OUT_RETRY && (uint64_t)age_ms >= d->cfg->delivery_give_up_after_ms) {
        outcome = OUT_DROP;
        log_warn("delivery: giving up on %.*s after %u attempts: %s", (int)j->rec.inbox.len,
                 j->rec.inbox.ptr, j->rec.attempts + 1, why);
    }
    j->outcome = outcome;
    snprintf(j->error, sizeof(j->error), "%s", why);
    if (outcome == OUT_DELIVERED)
        atomic_fetch_add(&d->delivered, 1);
    else if (outcome == OUT_RETRY)
        atomic_fetch_add(&d->retried, 1);
    else
        atomic_fetch_add(&d->dropped, 1);
    /* Adaptive window: grow on success, halve on failure. */
    if (j->host) {
        j->host->in_flight--;
        if (outcome == OUT_DELIVERED && j->host->window < WINDOW_MAX)
            j->host->window++;
        else if (outcome == OUT_RETRY && j->host->window > 1)
            j->host->window /= 2;
    }
    /* Still counted in flight until its outcome is durable (on_mail). */
    unlink_active(d, j);
    list_push(&d->finishing, j);
    /* Outcomes go to the writer together: a batch every FLUSH_MS, or at
     * FLUSH_MAX. The job stays in flight until then, so a delivered one is
     * never sent again meanwhile; a crash before the write only means a
     * duplicate delivery, never a lost one. */
    j->out_next = d->outcomes;
    if (!d->outcomes) {
        struct timeval later = {0, FLUSH_MS * 1000};
        event_add(d->flush_ev, &later);
    }
    d->outcomes = j;
    if (++d->noutcomes >= FLUSH_MAX)
        event_active(d->flush_ev, EV_TIMEOUT, 0);
}

/* Loop: the outcomes recorded in this round go to the writer together. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    struct deliverer *d = arg;
    (void)fd;
    (void)what;
    if (!d->outcomes)
        return;
    struct outcome_batch *b = xcalloc(1, sizeof(*b));
    b->d = d;
    b->jobs = d->outcomes;
    d->outcomes = NULL;
    d->noutcomes = 0;
    event_del(d->flush_ev);
    b->req = (struct writer_req){.apply = apply_outcomes, .done = outcomes_durable, .arg = b};
    if (writer_submit(d->core->w, &b->req) != KITH_OK) {
        /* Stopping: the jobs stay scheduled as they were. */
        for (struct job *j = b->jobs, *next; j; j = next) {
            next = j->out_next;
            unlink_from(&d->finishing, j);
            free_job(j);
            atomic_fetch_sub(&d->in_flight, 1);
        }
        free(b);
    }
}

static void on_response(const struct fetch_result *r, void *arg)
{
    struct job *j = arg;
    char why[200];
    if (r->err == KITH_ESTOPPED) { /* stopping: the job stays scheduled as it was */
        struct deliverer *d = j->d;
        unlink_active(d, j);
        if (j->host)
            j->host->in_flight--;
        free_job(j);
        atomic_fetch_sub(&d->in_flight, 1);
        return;
    }
    if (r->err) {
        snprintf(why, sizeof(why), "%s", r->why ? r->why : kith_strerror(r->err));
        /* A refused address or a bad URL will not get better. */
        record(j, r->err == KITH_EDENIED || r->err == KITH_EINVAL ? OUT_DROP : OUT_RETRY, why);
        return;
    }
    snprintf(why, sizeof(why), "HTTP %d", r->status);
    if (r->status >= 200 && r->status < 300)
        record(j, OUT_DELIVERED, "");
    else if (r->status == 408 || r->status == 429 || r->status >= 500)
        record(j, OUT_RETRY, why);
    else /* 4xx: the receiver refuses this activity; resending will not help */
        record(j, OUT_DROP, why);
}

/* A Web Push message: encrypted when it was made; signed here (VAPID,
 * ES256: fast enough for the loop) and sent as is. */
static void send_push(struct deliverer *d, struct kv_txn *txn, struct job *j, const char *url)
{
    const struct kith_config *cfg = d->cfg;
    const char *subject = cfg->contact_email && *cfg->contact_email
                              ? arena_printf(&j->a, "mailto:%s", cfg->contact_email)
                              : cfg->public_url;
    struct buf auth;
    buf_init(&auth, 4096);
    if (webpush_vapid(txn, url, subject, wall_seconds(), &auth)) {
        buf_free(&auth);
        record(j, OUT_DROP, "cannot sign the push message (VAPID)");
        return;
    }
    const char *headers = arena_printf(&j->a,
                                       "TTL: 86400\r\nUrgency: normal\r\nContent-Encoding: "
                                       "aes128gcm\r\nAuthorization: %s\r\n",
                                       auth.data);
    buf_free(&auth);
    struct fetch_opts o = {.method = "POST",
                           .content_type = "application/octet-stream",
                           .body = j->body,
                           .headers = headers,
                           .max_body = 64 << 10,
                           .timeout_secs = 30};
    if (fetch_start(d->fetch, url, &o, on_response, j) != KITH_OK)
        record(j, OUT_DROP, "cannot start the request");
}

static void pump(struct deliverer *d)
{
    struct kv_txn *txn;
    struct kv_cursor *c;
    struct str key, val;
    struct key8 ak;
    struct arena scratch = ARENA_INIT; /* peeks at jobs not taken */
    struct job *to_sign = NULL, *to_sign_tail = NULL;
    unsigned started = 0;
    uint64_t now = now_ms();

    if (d->stopping || store_read_begin(d->core->st, &txn))
        return;
    if (kv_cursor_open(txn, T_DELIVERIES, &c)) {
        kv_txn_abort(txn);
        return;
    }
    for (int rc = kv_cursor_first(c, &key, &val); rc == KITH_OK && started < MAX_STARTS;
         rc = kv_cursor_next(c, &key, &val)) {
        if (key.len != 16)
            continue;
        if (be64_get((const unsigned char *)key.ptr) > now)
            break; /* the schedule is in due order */
        uint64_t job_id = be64_get((const unsigned char *)key.ptr + 8);
        if (in_flight(d, job_id))
            continue;
        /* A host at its window waits: look before building the job. */
        struct delivery peek;
        bool readable = record_decode(&delivery_desc, val, &scratch, &peek) == KITH_OK;
        struct hoststate *host = readable ? hosttab_get(&d->hosts, peek.host, WINDOW_START) : NULL;
        if (readable && (!host || host->in_flight >= host->window))
            continue;
        struct job *j = xcalloc(1, sizeof(*j));
        j->d = d;
        memcpy(j->sched.b, key.ptr, 16);
        struct str body;
        if (!readable || record_decode(&delivery_desc, val, &j->a, &j->rec) ||
            (ak = key_id(j->rec.activity_id), kv_get(txn, T_OUTGOING, KEY8(ak), &body)) ||
            (!SENDER_IS_PUSH(j->rec.sender_id) &&
             !(j->sk = sender(d, txn, j->rec.sender_id, &j->a)))) {
            log_error("delivery: job %llu is unreadable; dropping it", (unsigned long long)job_id);
            j->rec.id = job_id;
            j->outcome = OUT_DROP;
            snprintf(j->error, sizeof(j->error), "unreadable job");
            atomic_fetch_add(&d->in_flight, 1);
            inflight_add(d, j);
            list_push(&d->active, j);
            record(j, OUT_DROP, "unreadable job");
            continue;
        }
        j->host = host;
        j->body = arena_str(&j->a, body);
        j->host->in_flight++;
        inflight_add(d, j);
        list_push(&d->active, j);
        atomic_fetch_add(&d->in_flight, 1);
        started++;
        char *url = arena_strndup(&j->a, j->rec.inbox.ptr, j->rec.inbox.len);
        if (SENDER_IS_PUSH(j->rec.sender_id)) {
            send_push(d, txn, j, url);
            continue;
        }
        /* Sign on a signer thread; send from the loop once signed (on_signed). */
        if (fetch_url_parts(url, j->authority, sizeof(j->authority), j->target,
                            sizeof(j->target))) {
            record(j, OUT_DROP, "the inbox URL is not one kith can send to");
            continue;
        }
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(j->date, sizeof(j->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        httpsig_digest(j->body, j->digest);
        j->key = j->sk->key;
        EVP_PKEY_up_ref(j->key);
        snprintf(j->key_id, sizeof(j->key_id), "%s", j->sk->key_id);
        buf_init(&j->sig, 4096);
        if (to_sign_tail)
            to_sign_tail->sign_next = j;
        else
            to_sign = j;
        to_sign_tail = j;
    }
    kv_cursor_close(c);
    if (to_sign) { /* to the signers, at once */
        pthread_mutex_lock(&d->sign_lock);
        if (d->sign_tail)
            d->sign_tail->sign_next = to_sign;
        else
            d->sign_head = to_sign;
        d->sign_tail = to_sign_tail;
        pthread_cond_broadcast(&d->sign_wake);
        pthread_mutex_unlock(&d->sign_lock);
    }
    kv_txn_abort(txn);
    arena_release(&scratch);
}

/* Loop: jobs the signers have signed; send them. */
static void on_signed(evutil_socket_t fd, short what, void *arg)
{
    struct deliverer *d = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&d->mail_lock);
    struct job *list = d->signed_jobs;
    d->signed_jobs = NULL;
    pthread_mutex_unlock(&d->mail_lock);
    while (list) {
        struct job *j = list;
        list = j->sign_next;
        if (d->stopping) /* deliverer_stop frees what is still active */
            continue;
        if (j->sign_rc) {
            record(j, OUT_DROP, "cannot sign with the sender's key");
            continue;
        }
        char *url = arena_strndup(&j->a, j->rec.inbox.ptr, j->rec.inbox.len);
        struct fetch_opts o = {.method = "POST",
                               .content_type = "application/activity+json",
                               .body = j->body,
                               .sign = presigned,
                               .sign_arg = j,
                               .date = j->date,
                               .max_body = 64 << 10,
                               .timeout_secs = 30};
        if (fetch_start(d->fetch, url, &o, on_response, j) != KITH_OK)
            record(j, OUT_DROP, "cannot start the request");
    }
}

/* Loop: writes the hosts with requests in flight for deliverer_hosts. */
static void on_report(evutil_socket_t fd, short what, void *arg)
{
    struct deliverer *d = arg;
    (void)fd;
    (void)what;
    pthread_mutex_lock(&d->mail_lock);
    struct host_report *r = d->report;
    d->report = NULL;
    pthread_mutex_unlock(&d->mail_lock);
    if (!r)
        return;
    unsigned shown = 0;
    for (size_t i = 0; i < HOSTTAB_SLOTS; i++) {
        const struct hoststate *h = &d->hosts.slots[i];
        if (!h->in_flight)
            continue;
        if (shown++ < 50)
            buf_printf(r->out, "  %-40s %4u in flight, window %u\n", h->name, h->in_flight,
                       h->window);
    }
    if (shown > 50)
        buf_printf(r->out, "  ... and %u more hosts\n", shown - 50);
    pthread_mutex_lock(&r->lock);
    r->done = true;
    pthread_cond_signal(&r->done_cond);
    pthread_mutex_unlock(&r->lock);
}

void deliverer_hosts(struct deliverer *d, struct buf *out)
{
    struct host_report r = {.out = out};
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.done_cond, NULL);
    pthread_mutex_lock(&d->mail_lock);
    bool busy = d->report != NULL; /* one question at a time is plenty */
    if (!busy)
        d->report = &r;
    pthread_mutex_unlock(&d->mail_lock);
    if (!busy) {
        /* The loop runs as long as admin commands can (kithd stops the admin
         * socket first), so it answers. */
        event_active(d->report_ev, EV_READ, 0);
        pthread_mutex_lock(&r.lock);
        while (!r.done)
            pthread_cond_wait(&r.done_cond, &r.lock);
        pthread_mutex_unlock(&r.lock);
    }
    pthread_cond_destroy(&r.done_cond);
    pthread_mutex_destroy(&r.lock);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

static int poll_told(struct kv_txn *txn, const struct post *p, void *arg)
{
    int rc = outbox_poll_update(txn, arg, p);
    if (rc == KITH_EINVAL || rc == KITH_ENOTFOUND) { /* nowhere to send it: the rest goes on */
        log_warn("deliver: the Update of poll %llu cannot be addressed: %s",
                 (unsigned long long)p->id, kith_strerror(rc));
        rc = KITH_OK;
    }
    return rc;
}

static int apply_sweep(struct kv_txn *txn, void *arg)
{
    struct deliverer *d = arg;
    int64_t now = wall_seconds();
    int rc = polls_close_due(txn, d->core, now, poll_told, d->core);
    if (rc == KITH_OK)
        rc = federation_scheduled_publish(txn, d->fed, now);
    d->gone->n = 0;
    if (rc == KITH_OK && d->media_sweep)
        rc = media_sweep(txn, now, (int64_t)(d->cfg->media_keep_ms / 1000), d->gone);
    return rc;
}

static void sweep_done(void *arg, int rc)
{
    struct deliverer *d = arg;
    if (rc == KITH_OK && d->gone->n) { /* committed: the files can go */
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/media", store_data_dir(d->core->st));
        media_unlink(dir, d->gone);
    }
    if (rc)
        log_error("deliver: the sweep (ended polls, scheduled statuses) failed: %s",
                  kith_strerror(rc));
    atomic_store(&d->sweeping, false);
}

/* Every few seconds: any poll ended? Then its end is told, in one write. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct deliverer *d = arg;
    struct kv_txn *txn;
    (void)fd;
    (void)what;
    if (d->stopping || atomic_load(&d->sweeping) || store_read_begin(d->core->st, &txn))
        return;
    int64_t now = wall_seconds();
    int64_t keep = (int64_t)(d->cfg->media_keep_ms / 1000);
    d->media_sweep = now >= d->media_next && media_sweep_due(txn, now, keep);
    if (d->media_sweep)
        d->media_next = now + (keep < 60 ? 1 : 60);
    bool due = polls_due(txn, now) || federation_scheduled_due(txn, now) || d->media_sweep;
    kv_txn_abort(txn);
    if (!due)
        return;
    atomic_store(&d->sweeping, true);
    d->sweep_req = (struct writer_req){.apply = apply_sweep, .done = sweep_done, .arg = d};
    if (writer_submit(d->core->w, &d->sweep_req) != KITH_OK)
        atomic_store(&d->sweeping, false);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    struct deliverer *d = arg;
    (void)fd;
    (void)what;
    d->stopping = true;
    event_base_loopexit(d->base, NULL);
}

static void *deliver_main(void *arg)
{
    pthread_setname_np(pthread_self(), "kith-deliver"); /* for top -H and perf */
    struct deliverer *d = arg;
    event_base_dispatch(d->base);
    return NULL;
}

int deliverer_start(struct core *core, void *fed, struct deliverer **out, char *err, size_t errlen)
{
    struct deliverer *d = xcalloc(1, sizeof(*d));
    struct timeval tick = {0, TICK_MS * 1000};
    d->core = core;
    d->fed = fed;
    d->gone = xcalloc(1, sizeof(*d->gone));
    d->cfg = core->cfg;
    pthread_mutex_init(&d->mail_lock, NULL);
    d->base = event_base_new();
    if (!d->base || fetcher_new(d->base, core->cfg, &d->fetch, err, errlen)) {
        if (d->base)
            event_base_free(d->base);
        free(d->gone);
        free(d);
        return KITH_EIO;
    }
    /* Keep-alive to every host in its window: reconnecting (and, over
     * https, a TLS handshake) per delivery would cost more than signing. */
    fetcher_set_max_idle(d->fetch, 4096);
    d->tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
    d->kick = event_new(d->base, -1, 0, on_tick, d);
    d->stop = event_new(d->base, -1, 0, on_stop, d);
    d->mail_ev = event_new(d->base, -1, 0, on_mail, d);
    d->flush_ev = event_new(d->base, -1, 0, on_flush, d);
    d->report_ev = event_new(d->base, -1, 0, on_report, d);
    d->signed_ev = event_new(d->base, -1, 0, on_signed, d);
    d->sweep = event_new(d->base, -1, EV_PERSIST, on_sweep, d);
    struct timeval every = {2, 0};
    event_add(d->sweep, &every);
    pthread_mutex_init(&d->sign_lock, NULL);
    pthread_cond_init(&d->sign_wake, NULL);
    /* One core stays for the event loops (kithd's, the writer, the peers'
     * connections): two signers on a 2-core machine were slower per
     * signature than one, and no faster. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned want = cores > 1 ? (unsigned)(cores - 1) : 1;
    if (want > SIGNERS)
        want = SIGNERS;
    for (; d->nsigners < want; d->nsigners++)
        if (pthread_create(&d->signers[d->nsigners], NULL, signer_main, d) != 0)
            break;
    event_add(d->tick, &tick);
    if (pthread_create(&d->thread, NULL, deliver_main, d) != 0) {
        snprintf(err, errlen, "cannot start the delivery thread");
        return KITH_EIO;
    }
    *out = d;
    return KITH_OK;
}

void deliverer_kick(struct deliverer *d)
{
    if (d)
        event_active(d->kick, EV_READ, 0);
}

void deliverer_stop(struct deliverer *d)
{
    if (!d)
        return;
    event_active(d->stop, EV_READ, 0);
    pthread_join(d->thread, NULL);
    pthread_mutex_lock(&d->sign_lock);
    d->sign_stop = true;
    pthread_cond_broadcast(&d->sign_wake);
    pthread_mutex_unlock(&d->sign_lock);
    for (unsigned i = 0; i < d->nsigners; i++)
        pthread_join(d->signers[i], NULL);
    /* Responses still owed: the fetcher cancels them (done with KITH_ESTOPPED). */
    fetcher_free(d->fetch);
    event_base_loop(d->base, EVLOOP_NONBLOCK); /* lets the resolver finish freeing */
    /* Jobs still being signed or waiting to be sent stay scheduled as they were. */
    while (d->active) {
        struct job *j = d->active;
        unlink_from(&d->active, j);
        free_job(j);
        atomic_fetch_sub(&d->in_flight, 1);
    }
    /* Wait for the outcomes being written (the writer outlives us). */
    on_flush(-1, 0, d);
    while (d->finishing) {
        on_mail(-1, 0, d);
        if (d->finishing) {
            struct timespec pause = {0, 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    while (atomic_load(&d->sweeping)) { /* the writer still holds sweep_req */
        struct timespec pause = {0, 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    event_free(d->sweep);
    event_free(d->tick);
    event_free(d->kick);
    event_free(d->stop);
    event_free(d->mail_ev);
    event_free(d->flush_ev);
    event_free(d->report_ev);
    event_free(d->signed_ev);
    pthread_cond_destroy(&d->sign_wake);
    pthread_mutex_destroy(&d->sign_lock);
    event_base_free(d->base);
    for (int i = 0; i < SENDER_KEYS; i++)
        EVP_PKEY_free(d->keys[i].key);
    pthread_mutex_destroy(&d->mail_lock);
    free(d->gone);
    free(d);
}

void deliverer_stats(struct deliverer *d, struct deliver_stats *out)
{
    out->delivered = atomic_load(&d->delivered);
    out->retried = atomic_load(&d->retried);
    out->dropped = atomic_load(&d->dropped);
    out->in_flight = atomic_load(&d->in_flight);
    fetcher_counts(d->fetch, &out->connections, &out->reused);
}

int delivery_schedule_more(struct kv_txn *txn, struct core *core, uint64_t activity_id,
                           uint64_t sender_id, struct str inbox)
{
    /* host[:port] of the inbox URL, for per-host state. */
    struct str host = STR_NULL;
    for (size_t i = 0; i + 3 <= inbox.len; i++)
        if (memcmp(inbox.ptr + i, "://", 3) == 0) {
            size_t start = i + 3, end = start;
            while (end < inbox.len && inbox.ptr[end] != '/' && inbox.ptr[end] != '?' &&
                   inbox.ptr[end] != '#')
                end++;
            host = str_make(inbox.ptr + start, end - start);
            break;
        }
    struct delivery d = {.id = idgen_next(store_ids(core->st)),
                         .activity_id = activity_id,
                         .inbox = inbox,
                         .host = host,
                         .sender_id = sender_id,
                         .first_at = wall_seconds()};
    struct key16 dk = key_pair((uint64_t)wall_seconds() * 1000, d.id);
    return rec_put(txn, T_DELIVERIES, KEY16(dk), &delivery_desc, &d, KV_NOOVERWRITE);
}

int delivery_schedule(struct kv_txn *txn, struct core *core, cJSON *activity, uint64_t activity_id,
                      uint64_t sender_id, struct str inbox)
{
    char *text = cJSON_PrintUnformatted(activity);
    if (!text)
        return KITH_ENOMEM;
    struct key8 k = key_id(activity_id);
    int rc = kv_put(txn, T_OUTGOING, KEY8(k), str_from(text), KV_NOOVERWRITE);
    free(text);
    return rc ? rc : delivery_schedule_more(txn, core, activity_id, sender_id, inbox);
}
