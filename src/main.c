/* src/main.c: kithd, the server.
 *
 * Start-up in order: config, the data directory's lock, the database
 * (created with an admin account on first start), the writer, the admin
 * socket, the HTTP loops. Then the main thread waits for SIGTERM or SIGINT
 * and stops in reverse order: admin socket, HTTP (stop accepting, let
 * in-flight requests finish), writer (drains and commits), database.
 */
#include "../federation/federation.h"
#include "../storage/store.h"
#include "../storage/writer.h"
#include "../web/web.h"
#include "api/api.h"
#include "base/config.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/version.h"
#include "core/admin.h"
#include "core/core.h"
#include "core/media.h"
#include "http/adminsock.h"
#include "http/server.h"

#include <errno.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STOP_GRACE_SECS 10

static void usage(FILE *f)
{
    fprintf(f, "usage: kithd [-c FILE]\n"
               "       kithd --version\n"
               "\n"
               "Serves kith. Without -c, uses built-in defaults: a local instance with its\n"
               "data in ./data, on http://localhost:8080. See kith.conf.example.\n");
}

/* First start: an admin account with a generated password, shown once. */
static int first_start(struct core *core)
{
    struct kv_txn *txn;
    uint64_t users = 0;
    int rc = store_read_begin(core->st, &txn);
    if (rc == KITH_OK) {
        rc = counter_get(txn, "local_users", &users);
        kv_txn_abort(txn);
    }
    if (rc || users > 0)
        return rc;
    char password[32];
    struct core_result res = {{0}};
    if ((rc = core_instance_init(core, password, sizeof(password), &res))) {
        log_error("cannot create the admin account: %s", res.msg);
        return rc;
    }
    printf("\n"
           "  kith: created a new instance in %s\n"
           "  admin account: admin\n"
           "  password:      %s\n"
           "  (shown only this once; change it with: kithctl user password admin)\n"
           "\n",
           store_data_dir(core->st), password);
    fflush(stdout);
    return KITH_OK;
}

int main(int argc, char **argv)
{
    bool media_started = false;
    const char *config_path = NULL;
    struct kith_config cfg;
    char err[512];
    struct store *st = NULL;
    struct writer *w = NULL;
    struct adminsock *admin = NULL;
    struct http_server *http = NULL;
    struct route *routes = NULL;
    struct federation *fed = NULL;
    int lock = -1, status = 1, rc;
    sigset_t sigs;

    umask(0077); /* databases, backups and sockets hold secrets */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("kithd %s\n", KITH_VERSION);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "kithd: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (config_path) {
        if (config_load(&cfg, config_path, err, sizeof(err))) {
            fprintf(stderr, "kithd: %s\n", err);
            config_free(&cfg);
            return 2;
        }
    } else if (config_parse(&cfg, "(defaults)", "", 0, err, sizeof(err))) {
        fprintf(stderr, "kithd: %s\n", err);
        return 2;
    }

    /* Signals are taken by sigwait in this thread only. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP); /* no reload: a hang-up stops cleanly too */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (evthread_use_pthreads() != 0) {
        fprintf(stderr, "kithd: libevent has no thread support\n");
        goto out;
    }

    if (mkdir(cfg.data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "kithd: cannot create data directory '%s': %s\n", cfg.data_dir,
                strerror(errno));
        goto out;
    }
    if (media_init(argv[0])) {
        fprintf(stderr, "kithd: cannot start libvips (image decoding)\n");
        goto out;
    }
    media_started = true;
    if ((rc = lockfile_acquire(cfg.data_dir, &lock))) {
        fprintf(stderr, "kithd: %s\n",
                rc == KITH_EAGAIN ? "another kithd is running with this data directory"
                                  : "cannot lock the data directory");
        goto out;
    }
    if (store_open(cfg.data_dir, cfg.map_size, STORE_CREATE, clock_system(), &st, err,
                   sizeof(err))) {
        fprintf(stderr, "kithd: %s\n", err);
        goto out;
    }
    if (writer_start(st, &w)) {
        fprintf(stderr, "kithd: cannot start the writer thread\n");
        goto out;
    }
    struct core core = {.st = st, .w = w, .cfg = &cfg};
    if (first_start(&core))
        goto out;
    unsigned keys = 0;
    if (core_ensure_keys(&core, &keys)) {
        fprintf(stderr, "kithd: cannot generate actor keys\n");
        goto out;
    }
    if (keys)
        log_info("generated %u actor key pairs", keys);
    if (federation_new(&core, &cfg, &fed)) {
        fprintf(stderr, "kithd: cannot set up federation\n");
        goto out;
    }
    struct admin_hooks hooks = {.delivery_live = federation_delivery_live,
                                .act = federation_act,
                                .community_answer = federation_community_answer,
                                .arg = fed};
    if (adminsock_start_with(&core, cfg.data_dir, &hooks, &admin, err, sizeof(err))) {
        fprintf(stderr, "kithd: %s\n", err);
        goto out;
    }
    /* Every module's routes as one table: the HTTP core's, federation's,
     * then the client API's. */
    const struct {
        const struct route_table *t;
        size_t n;
    } mods[] = {{federation_tables, federation_ntables},
                {api_tables, api_ntables},
                {web_tables, web_ntables}};
    size_t nroutes = http_core_nroutes;
    for (size_t m = 0; m < sizeof(mods) / sizeof(mods[0]); m++)
        for (size_t i = 0; i < mods[m].n; i++)
            nroutes += mods[m].t[i].n;
    routes = xcalloc(nroutes, sizeof(*routes));
    memcpy(routes, http_core_routes, http_core_nroutes * sizeof(*routes));
    size_t at = http_core_nroutes;
    for (size_t m = 0; m < sizeof(mods) / sizeof(mods[0]); m++)
        for (size_t i = 0; i < mods[m].n; i++) {
            memcpy(routes + at, mods[m].t[i].routes, mods[m].t[i].n * sizeof(*routes));
            at += mods[m].t[i].n;
        }
    for (size_t i = 0; i < nroutes; i++)
        if (!routes[i].handler || !routes[i].pattern) { /* a table's declared size too big */
            fprintf(stderr, "kithd: route table entry %zu has no handler (a build error)\n", i);
            goto out;
        }
    struct http_server_opts opts = {.cfg = &cfg,
                                    .core = &core,
                                    .routes = routes,
                                    .nroutes = nroutes,
                                    .access_log = true,
                                    .app = fed,
                                    .thread_data_free = federation_thread_free};
    if (http_server_start(&opts, &http, err, sizeof(err))) {
        fprintf(stderr, "kithd: %s\n", err);
        goto out;
    }
    for (size_t i = 0; i < cfg.nlistens; i++)
        log_info("kithd %s listening on %s%s", KITH_VERSION, cfg.listens[i].text,
                 cfg.listens[i].tls ? " (tls)" : "");
    log_info("serving %s as %s with %u loop threads, data in %s", cfg.public_url, cfg.domain,
             config_threads(&cfg), cfg.data_dir);
    if (strchr(cfg.domain, ':'))
        log_warn("domain '%s' carries a port: fine for local testing, but other servers "
                 "expect handles without one",
                 cfg.domain);

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0)
        ;
    log_info("received %s: stopping", sig == SIGTERM  ? "SIGTERM"
                                      : sig == SIGINT ? "SIGINT"
                                                      : "SIGHUP");
    status = 0;
out:
    adminsock_stop(admin);
    http_server_stop(http, STOP_GRACE_SECS);
    federation_free(fed); /* its processor writes: before the writer stops */
    writer_stop(w);
    store_close(st);
    lockfile_release(lock);
    free(routes);
    if (status == 0)
        log_info("stopped cleanly");
    if (media_started)
        media_shutdown();
    config_free(&cfg);
    return status;
}
