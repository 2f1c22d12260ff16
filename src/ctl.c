/* src/ctl.c: kithctl, the admin command line.
 *
 * While kithd runs, commands go over its admin socket so every write takes
 * kithd's writer; with no kithd running, kithctl takes the data directory's
 * lock and runs the very same admin_exec on its own writer. init, restore
 * and migrate need kithd stopped.
 */
#include "../storage/store.h"
#include "../storage/writer.h"
#include "base/config.h"
#include "base/err.h"
#include "base/lockfile.h"
#include "base/mem.h"
#include "base/version.h"
#include "core/admin.h"
#include "core/core.h"
#include "http/adminsock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void print_buf(FILE *f, const struct buf *b)
{
    if (b->len)
        fwrite(b->data, 1, b->len, f);
    fflush(f);
}

/* Reads standard input up to the admin socket's limit. */
static int read_stdin(struct buf *b)
{
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if (buf_add(b, chunk, n))
            return KITH_ETOOBIG;
    return ferror(stdin) ? KITH_EIO : KITH_OK;
}

static bool wants_stdin(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--password-stdin") == 0)
            return true;
    return false;
}

/* Takes the data directory's lock, or explains who holds it. */
static int lock_data_dir(const char *dir, const char *cmd, int *lock)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "kithctl: no data directory '%s' (run 'kithctl init' or start kithd once)\n", dir);
        return KITH_ENOTFOUND;
    }
    int rc = lockfile_acquire(dir, lock);
    if (rc == KITH_EAGAIN)
        fprintf(stderr, "kithctl: kithd is running with '%s' (or is starting up)%s\n", dir,
                cmd ? "; stop it first" : "; try again in a moment");
    else if (rc)
        fprintf(stderr, "kithctl: cannot lock data directory '%s'\n", dir);
    return rc;
}

static int cmd_init(const struct kith_config *cfg)
{
    char err[512], password[32];
    struct store *st = NULL;
    struct writer *w = NULL;
    struct kv_txn *txn;
    uint64_t users = 0;
    int lock = -1, status = 1;

    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "kithctl: cannot create data directory '%s': %s\n", cfg->data_dir,
                strerror(errno));
        return 1;
    }
    if (lock_data_dir(cfg->data_dir, "init", &lock))
        return 1;
    if (store_open(cfg->data_dir, cfg->map_size, STORE_CREATE, clock_system(), &st, err,
                   sizeof(err))) {
        fprintf(stderr, "kithctl: %s\n", err);
        goto out;
    }
    if (store_read_begin(st, &txn) == KITH_OK) {
        counter_get(txn, "local_users", &users);
        kv_txn_abort(txn);
    }
    if (users > 0) {
        fprintf(stderr, "kithctl: the instance in '%s' is already initialised\n", cfg->data_dir);
        goto out;
    }
    if (writer_start(st, &w)) {
        fprintf(stderr, "kithctl: cannot start the writer\n");
        goto out;
    }
    struct core core = {.st = st, .w = w, .cfg = cfg};
    struct core_result res = {{0}};
    if (core_instance_init(&core, password, sizeof(password), &res)) {
        fprintf(stderr, "kithctl: %s\n", res.msg);
        goto out;
    }
    printf("initialised %s\nadmin account: admin\npassword: %s\n", cfg->data_dir, password);
    status = 0;
out:
    writer_stop(w);
    store_close(st);
    lockfile_release(lock);
    return status;
}

static int cmd_restore(const struct kith_config *cfg, int argc, char **argv)
{
    char err[512], moved[4096];
    int lock = -1;
    if (argc != 2) {
        fprintf(stderr, "kithctl: restore takes one SRC directory\n%s", admin_usage);
        return 1;
    }
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "kithctl: cannot create data directory '%s': %s\n", cfg->data_dir,
                strerror(errno));
        return 1;
    }
    if (lock_data_dir(cfg->data_dir, "restore", &lock))
        return 1;
    int rc = store_restore(cfg->data_dir, argv[1], moved, sizeof(moved), err, sizeof(err));
    lockfile_release(lock);
    if (rc) {
        fprintf(stderr, "kithctl: %s\n", err);
        return 1;
    }
    printf("restored '%s' into '%s'\n", argv[1], cfg->data_dir);
    if (moved[0])
        printf("the database it replaced is kept in '%s'\n", moved);
    return 0;
}

static void report_step(const char *what, uint32_t from, void *arg)
{
    (void)arg;
    printf("migrating schema %u -> %u: %s\n", from, from + 1, what);
}

static int cmd_migrate(const struct kith_config *cfg)
{
    char err[512];
    struct store *st = NULL;
    uint32_t before = 0, after = 0;
    int lock = -1, status = 1;

    if (lock_data_dir(cfg->data_dir, "migrate", &lock))
        return 1;
    if (store_open(cfg->data_dir, cfg->map_size, STORE_MIGRATING, clock_system(), &st, err,
                   sizeof(err))) {
        fprintf(stderr, "kithctl: %s\n", err);
        goto out;
    }
    store_schema_version(st, &before);
    int rc = store_migrate(st, store_migrations, store_nmigrations, STORE_SCHEMA_VERSION,
                           report_step, NULL);
    store_schema_version(st, &after);
    if (rc) {
        fprintf(stderr, "kithctl: migration stopped at schema version %u: %s\n", after,
                kith_strerror(rc));
        goto out;
    }
    if (before == after)
        printf("schema is at version %u: nothing to do\n", after);
    else
        printf("schema upgraded from version %u to %u\n", before, after);
    status = 0;
out:
    store_close(st);
    lockfile_release(lock);
    return status;
}

/* Runs an admin command in this process, on the database itself. */
static int run_offline(const struct kith_config *cfg, int argc, char **argv, struct str input)
{
    char err[512];
    struct store *st = NULL;
    struct writer *w = NULL;
    struct buf out, errb;
    int lock = -1, status = 1;

    buf_init(&out, ADMINSOCK_MAX_OUT);
    buf_init(&errb, 1 << 20);
    if (lock_data_dir(cfg->data_dir, NULL, &lock))
        goto done;
    if (store_open(cfg->data_dir, cfg->map_size, 0, clock_system(), &st, err, sizeof(err))) {
        fprintf(stderr, "kithctl: %s\n", err);
        goto done;
    }
    if (writer_start(st, &w)) {
        fprintf(stderr, "kithctl: cannot start the writer\n");
        goto done;
    }
    struct core core = {.st = st, .w = w, .cfg = cfg};
    struct admin_env env = {
        .core = &core, .server = false, .input = input, .out = &out, .err = &errb};
    status = admin_exec(&env, argc, argv);
    print_buf(stdout, &out);
    print_buf(stderr, &errb);
done:
    writer_stop(w);
    store_close(st);
    lockfile_release(lock);
    buf_free(&out);
    buf_free(&errb);
    return status;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    struct kith_config cfg;
    char err[512];
    int i = 1, status = 1;

    umask(0077); /* databases, backups and sockets hold secrets */
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("kithctl %s\n", KITH_VERSION);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(admin_usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "kithctl: unknown option '%s'\n%s", argv[i], admin_usage);
            return 1;
        }
    }
    if (config_path) {
        if (config_load(&cfg, config_path, err, sizeof(err))) {
            fprintf(stderr, "kithctl: %s\n", err);
            config_free(&cfg);
            return 2;
        }
    } else if (config_parse(&cfg, "(defaults)", "", 0, err, sizeof(err))) {
        fprintf(stderr, "kithctl: %s\n", err);
        return 2;
    }
    int cargc = argc - i;
    char **cargv = argv + i;
    if (cargc == 0) {
        fprintf(stderr, "kithctl: no command given\n%s", admin_usage);
        goto out;
    }
    if (strcmp(cargv[0], "init") == 0) {
        status = cargc == 1 ? cmd_init(&cfg) : 1;
        if (cargc != 1)
            fprintf(stderr, "kithctl: init takes no arguments\n");
        goto out;
    }
    if (strcmp(cargv[0], "restore") == 0) {
        status = cmd_restore(&cfg, cargc, cargv);
        goto out;
    }
    if (strcmp(cargv[0], "migrate") == 0) {
        status = cargc == 1 ? cmd_migrate(&cfg) : 1;
        if (cargc != 1)
            fprintf(stderr, "kithctl: migrate takes no arguments\n");
        goto out;
    }

    /* backup DEST: kithd resolves paths from its own directory, so send an absolute one. */
    char absdest[PATH_MAX + 2];
    if (strcmp(cargv[0], "backup") == 0 && cargc == 2 && cargv[1][0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)) ||
            snprintf(absdest, sizeof(absdest), "%s/%s", cwd, cargv[1]) >= (int)sizeof(absdest)) {
            fprintf(stderr, "kithctl: backup path is too long\n");
            goto out;
        }
        cargv[1] = absdest;
    }

    struct buf input;
    buf_init(&input, ADMINSOCK_MAX_INPUT);
    if (wants_stdin(cargc, cargv) && read_stdin(&input)) {
        fprintf(stderr, "kithctl: cannot read standard input (at most 64 KiB)\n");
        buf_free(&input);
        goto out;
    }
    int fd;
    int rc = adminsock_connect(cfg.data_dir, &fd);
    if (rc == KITH_OK) {
        struct buf out, errb;
        buf_init(&out, ADMINSOCK_MAX_OUT);
        buf_init(&errb, 1 << 20);
        rc = adminsock_call(fd, cargc, cargv, buf_str(&input), &status, &out, &errb);
        close(fd);
        print_buf(stdout, &out);
        print_buf(stderr, &errb);
        buf_free(&out);
        buf_free(&errb);
        if (rc) {
            fprintf(stderr, "kithctl: lost the connection to kithd: %s\n", kith_strerror(rc));
            status = 1;
        }
    } else if (rc == KITH_EDENIED) {
        fprintf(stderr,
                "kithctl: no permission to use kithd's admin socket in '%s' (run as the user "
                "kithd runs as, or root)\n",
                cfg.data_dir);
        status = 1;
    } else {
        status = run_offline(&cfg, cargc, cargv, buf_str(&input));
    }
    buf_free(&input);
out:
    config_free(&cfg);
    return status;
}
