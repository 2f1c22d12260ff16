/* tests/bench/bench_commit.c: group-commit write throughput beside the
 * machine's raw synced-commit rate, measured in the same run.
 *
 * usage: bench_commit DIR SECONDS ROUNDS
 * Every write is the same: one ~400-byte post record under a new id, with
 * default (fully synced) durability. "raw" opens one transaction and commits
 * (fsync) per write; "group N" has N threads each submitting writes to the
 * writer and waiting until each is durable. Prints min / median / max over
 * ROUNDS for each mode. A figure, not a test: it never fails.
 */
#include "../../src/base/err.h"
#include "../../src/base/id.h"
#include "../../storage/records.h"
#include "../../storage/store.h"
#include "../../storage/writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct post sample_post(uint64_t id)
{
    struct post p = {0};
    p.id = id;
    p.community_id = 1;
    p.author_id = 2;
    p.title = STR_LIT("A post title of ordinary length for a benchmark");
    p.content = STR_LIT("<p>Some body text that is about the size of a short post on a "
                        "community server, with a <a href=\"https://example.com/\">link</a> "
                        "and a little more prose so that the record is a few hundred bytes, "
                        "which is what kith writes for posts and comments.</p>");
    p.source_type = STR_LIT("text/markdown");
    p.created_at = p.updated_at = 1764000000;
    return p;
}

static int apply_post(struct kv_txn *txn, void *arg)
{
    struct store *st = arg;
    struct post p = sample_post(idgen_next(store_ids(st)));
    struct key8 k = key_id(p.id);
    return rec_put(txn, T_POSTS, KEY8(k), &post_desc, &p, 0);
}

static double now_s(void)
{
    return (double)mono_ns() / 1e9;
}

static double run_raw(struct store *st, double secs)
{
    uint64_t n = 0;
    double start = now_s(), end = start + secs;
    while (now_s() < end) {
        struct kv_txn *txn;
        if (kv_txn_begin(store_env(st), NULL, true, &txn) || apply_post(txn, st) ||
            kv_txn_commit(txn)) {
            fprintf(stderr, "bench_commit: raw write failed\n");
            exit(1);
        }
        n++;
    }
    return (double)n / (now_s() - start);
}

struct group {
    struct store *st;
    struct writer *w;
    double end;
    atomic_ulong done;
};

static void *submitter(void *arg)
{
    struct group *g = arg;
    while (now_s() < g->end) {
        if (writer_run(g->w, apply_post, g->st)) {
            fprintf(stderr, "bench_commit: group write failed\n");
            exit(1);
        }
        atomic_fetch_add(&g->done, 1);
    }
    return NULL;
}

static double run_group(struct store *st, unsigned threads, double secs, double *avg_batch)
{
    struct group g = {.st = st};
    pthread_t *t = calloc(threads, sizeof(*t));
    struct writer_stats ws;
    atomic_init(&g.done, 0);
    if (writer_start(st, &g.w)) {
        fprintf(stderr, "bench_commit: no writer\n");
        exit(1);
    }
    double start = now_s();
    g.end = start + secs;
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, submitter, &g);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double elapsed = now_s() - start;
    writer_get_stats(g.w, &ws);
    writer_stop(g.w);
    free(t);
    *avg_batch = ws.batches ? (double)ws.requests / (double)ws.batches : 0;
    return (double)atomic_load(&g.done) / elapsed;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summary(const char *label, double *v, int n, const char *extra)
{
    double s[16];
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_d);
    printf("  %-28s %9.0f / %9.0f / %9.0f writes/s (min/median/max, n=%d)%s\n", label, s[0],
           s[n / 2], s[n - 1], n, extra);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_commit DIR SECONDS ROUNDS\n");
        return 2;
    }
    const char *dir = argv[1];
    double secs = atof(argv[2]);
    int rounds = atoi(argv[3]);
    if (rounds < 1 || rounds > 16)
        rounds = 3;
    static const unsigned levels[] = {1, 16, 256};
    double raw[16], grp[3][16], batch[3][16];
    char err[256];
    struct store *st;

    if (store_open(dir, (uint64_t)8 << 30, STORE_CREATE, clock_system(), &st, err, sizeof(err))) {
        fprintf(stderr, "bench_commit: %s\n", err);
        return 1;
    }
    /* Interleave the modes so drifts in machine load hit them alike. */
    for (int r = 0; r < rounds; r++) {
        raw[r] = run_raw(st, secs);
        for (int l = 0; l < 3; l++)
            grp[l][r] = run_group(st, levels[l], secs, &batch[l][r]);
    }
    printf("durable writes, %.0f s per measurement, ~400-byte records, default LMDB durability\n",
           secs);
    summary("raw: 1 txn + fsync per write", raw, rounds, "");
    double med_raw;
    {
        double s[16];
        memcpy(s, raw, sizeof(double) * (size_t)rounds);
        qsort(s, (size_t)rounds, sizeof(double), cmp_d);
        med_raw = s[rounds / 2];
    }
    for (int l = 0; l < 3; l++) {
        char label[64], extra[96];
        double s[16];
        memcpy(s, grp[l], sizeof(double) * (size_t)rounds);
        qsort(s, (size_t)rounds, sizeof(double), cmp_d);
        snprintf(label, sizeof(label), "group commit, %u submitters", levels[l]);
        snprintf(extra, sizeof(extra), "  = %.1fx raw, avg batch %.0f", s[rounds / 2] / med_raw,
                 batch[l][rounds / 2]);
        summary(label, grp[l], rounds, extra);
    }
    store_close(st);
    return 0;
}
