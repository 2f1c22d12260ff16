/* storage/store.c: opening, schema version, migrations, backup, restore. */
#include "store.h"

#include "../src/base/err.h"
#include "../src/base/log.h"
#include "../src/base/mem.h"
#include "records.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct store {
    struct kv_env *env;
    struct idgen ids;
    char *data_dir;
    bool created;
};

/* No migrations yet: schema version 1 is the first. */
const struct migration store_migrations[1] = {{0, NULL, NULL}};
const size_t store_nmigrations = 0;

static int errf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static char *path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return KITH_EIO;
    int rc = fsync(fd) == 0 ? KITH_OK : KITH_EIO;
    close(fd);
    return rc;
}

static int read_version(struct kv_env *env, uint32_t *out)
{
    struct kv_txn *txn;
    struct str v;
    int rc = kv_txn_begin(env, NULL, false, &txn);
    if (rc)
        return rc;
    rc = kv_get(txn, T_META, STR_LIT("schema_version"), &v);
    if (rc == KITH_OK) {
        if (v.len != 4) {
            rc = KITH_ECORRUPT;
        } else {
            const unsigned char *p = (const unsigned char *)v.ptr;
            *out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        }
    }
    kv_txn_abort(txn);
    return rc;
}

static int put_version(struct kv_txn *txn, uint32_t version)
{
    unsigned char b[4] = {(unsigned char)(version >> 24), (unsigned char)(version >> 16),
                          (unsigned char)(version >> 8), (unsigned char)version};
    return kv_put(txn, T_META, STR_LIT("schema_version"), str_make(b, 4), 0);
}

/* Writes the meta records of a new database in one durable transaction. */
static int initialise(struct kv_env *env)
{
    struct kv_txn *txn;
    int rc = kv_txn_begin(env, NULL, true, &txn);
    if (rc)
        return rc;
    rc = put_version(txn, STORE_SCHEMA_VERSION);
    if (!rc)
        rc = meta_put_u64(txn, "created_at", (uint64_t)wall_seconds());
    if (rc) {
        kv_txn_abort(txn);
        return rc;
    }
    return kv_txn_commit(txn);
}

int store_open(const char *data_dir, uint64_t map_size, unsigned flags,
               const struct kith_clock *clock, struct store **out, char *err, size_t errlen)
{
    char *dbdir = path_join(data_dir, "db");
    char *dbfile = path_join(dbdir, "data.mdb");
    struct kv_env *env = NULL;
    uint32_t version = 0;
    bool created = false;
    int rc;

    if (!file_exists(dbfile)) {
        if (!(flags & STORE_CREATE)) {
            rc =
                errf(err, errlen, KITH_ENOTFOUND,
                     "no kith database in '%s' (run 'kithctl init' or start kithd once)", data_dir);
            goto out;
        }
        if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
            rc = errf(err, errlen, KITH_EIO, "cannot create data directory '%s': %s", data_dir,
                      strerror(errno));
            goto out;
        }
        created = true;
    }
    rc = kv_open(dbdir, map_size, store_table_names, T_COUNT, created ? KV_CREATE : 0, &env);
    if (rc == KITH_ENOTFOUND && !created) {
        /* An older build's database lacks a table this build adds: create it under migrate. */
        if (flags & STORE_MIGRATING)
            rc = kv_open(dbdir, map_size, store_table_names, T_COUNT, KV_CREATE, &env);
        else
            rc = errf(err, errlen, KITH_EINVAL,
                      "database in '%s' needs an upgrade: run 'kithctl migrate'", dbdir);
        if (rc)
            goto out;
    } else if (rc) {
        rc = errf(err, errlen, rc, "cannot open database in '%s': %s", dbdir, kith_strerror(rc));
        goto out;
    }
    if (kv_durability_relaxed(env)) {
        rc = errf(err, errlen, KITH_ESTORE, "database opened without durable commits");
        goto out;
    }
    if (created && (rc = initialise(env))) {
        rc = errf(err, errlen, rc, "cannot initialise database: %s", kith_strerror(rc));
        goto out;
    }
    if ((rc = read_version(env, &version))) {
        rc = errf(err, errlen, rc, "database in '%s' has no readable schema version: %s", dbdir,
                  kith_strerror(rc));
        goto out;
    }
    if (version > STORE_SCHEMA_VERSION) {
        rc = errf(err, errlen, KITH_EINVAL,
                  "database schema version %u is newer than this build's %u: upgrade kith", version,
                  STORE_SCHEMA_VERSION);
        goto out;
    }
    if (version < STORE_SCHEMA_VERSION && !(flags & STORE_MIGRATING)) {
        rc = errf(err, errlen, KITH_EINVAL,
                  "database schema version %u is older than this build's %u: back up, then run "
                  "'kithctl migrate'",
                  version, STORE_SCHEMA_VERSION);
        goto out;
    }

    struct store *st = xcalloc(1, sizeof(*st));
    st->env = env;
    st->data_dir = xstrdup(data_dir);
    st->created = created;
    uint64_t hwm = 0;
    struct kv_txn *txn;
    if ((rc = kv_txn_begin(env, NULL, false, &txn)) == KITH_OK) {
        rc = meta_get_u64(txn, "id_hwm", &hwm);
        kv_txn_abort(txn);
    }
    if (rc) {
        free(st->data_dir);
        free(st);
        rc = errf(err, errlen, rc, "cannot read id high-water mark: %s", kith_strerror(rc));
        goto out;
    }
    idgen_init(&st->ids, clock, hwm);
    env = NULL;
    *out = st;
out:
    kv_close(env);
    free(dbdir);
    free(dbfile);
    return rc;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    kv_close(st->env);
    free(st->data_dir);
    free(st);
}

struct kv_env *store_env(struct store *st)
{
    return st->env;
}

struct idgen *store_ids(struct store *st)
{
    return &st->ids;
}

const char *store_data_dir(struct store *st)
{
    return st->data_dir;
}

bool store_created(struct store *st)
{
    return st->created;
}

int store_read_begin(struct store *st, struct kv_txn **out)
{
    return kv_txn_begin(st->env, NULL, false, out);
}

int store_schema_version(struct store *st, uint32_t *out)
{
    return read_version(st->env, out);
}

int store_migrate(struct store *st, const struct migration *steps, size_t nsteps, uint32_t target,
                  void (*report)(const char *what, uint32_t from, void *arg), void *arg)
{
    uint32_t version;
    int rc = read_version(st->env, &version);
    while (rc == KITH_OK && version < target) {
        const struct migration *m = NULL;
        for (size_t i = 0; i < nsteps; i++)
            if (steps[i].from == version)
                m = &steps[i];
        if (!m)
            return KITH_ENOTFOUND;
        if (report)
            report(m->what, version, arg);
        struct kv_txn *txn;
        if ((rc = kv_txn_begin(st->env, NULL, true, &txn)))
            break;
        rc = m->apply(txn);
        if (!rc)
            rc = put_version(txn, version + 1);
        if (rc) {
            kv_txn_abort(txn);
            break;
        }
        if ((rc = kv_txn_commit(txn)))
            break;
        version++;
    }
    return rc;
}

/* ---- backup and restore ---- */

/* Copies a regular file with fsync; dst must not exist. */
static int copy_file(const char *src, const char *dst)
{
    char buf[1 << 16];
    int in = open(src, O_RDONLY), out = -1, rc = KITH_EIO;
    if (in < 0)
        return KITH_EIO;
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (out < 0)
        goto done;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto done;
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                goto done;
            off += w;
        }
    }
    if (fsync(out) == 0)
        rc = KITH_OK;
done:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

/* Copies directory src into the new directory dst, recursively (media). */
static int copy_tree(const char *src, const char *dst)
{
    DIR *d = opendir(src);
    struct dirent *e;
    int rc = KITH_OK;
    if (!d)
        return KITH_EIO;
    if (mkdir(dst, 0700) != 0) {
        closedir(d);
        return KITH_EIO;
    }
    while (rc == KITH_OK && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *s = path_join(src, e->d_name), *t = path_join(dst, e->d_name);
        struct stat st;
        if (lstat(s, &st) != 0)
            rc = KITH_EIO;
        else if (S_ISDIR(st.st_mode))
            rc = copy_tree(s, t);
        else if (S_ISREG(st.st_mode))
            rc = copy_file(s, t);
        free(s);
        free(t);
    }
    closedir(d);
    if (rc == KITH_OK)
        rc = fsync_path(dst);
    return rc;
}

int store_backup(struct store *st, const char *dest, char *err, size_t errlen)
{
    char *dbdir = path_join(dest, "db");
    char *media = path_join(st->data_dir, "media");
    char *media_dst = path_join(dest, "media");
    char *manifest = path_join(dest, "kith-backup.txt");
    char *dbfile = path_join(dbdir, "data.mdb");
    uint32_t version = 0;
    int rc;

    if (mkdir(dest, 0700) != 0) {
        rc = errf(err, errlen, errno == EEXIST ? KITH_EEXIST : KITH_EIO,
                  "cannot create backup directory '%s': %s", dest, strerror(errno));
        goto out;
    }
    if (mkdir(dbdir, 0700) != 0) {
        rc = errf(err, errlen, KITH_EIO, "cannot create '%s': %s", dbdir, strerror(errno));
        goto out;
    }
    /* A read transaction's snapshot, written out with free pages dropped. */
    if ((rc = kv_copy(st->env, dbdir, true))) {
        rc = errf(err, errlen, rc, "cannot copy database to '%s': %s", dbdir, kith_strerror(rc));
        goto out;
    }
    if ((rc = fsync_path(dbfile)) || (rc = fsync_path(dbdir))) {
        rc = errf(err, errlen, rc, "cannot sync '%s'", dbfile);
        goto out;
    }
    if (file_exists(media) && (rc = copy_tree(media, media_dst))) {
        rc = errf(err, errlen, rc, "cannot copy media to '%s'", media_dst);
        goto out;
    }
    store_schema_version(st, &version);
    FILE *f = fopen(manifest, "wx");
    if (!f) {
        rc = errf(err, errlen, KITH_EIO, "cannot write '%s': %s", manifest, strerror(errno));
        goto out;
    }
    fprintf(f, "kith backup\nschema_version = %u\ncreated_at = %lld\n", version,
            (long long)wall_seconds());
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || fsync_path(dest)) {
        rc = errf(err, errlen, KITH_EIO, "cannot write '%s'", manifest);
        goto out;
    }
    rc = KITH_OK;
out:
    free(dbdir);
    free(media);
    free(media_dst);
    free(manifest);
    free(dbfile);
    return rc;
}

int store_restore(const char *data_dir, const char *src, char *moved_to, size_t movedlen, char *err,
                  size_t errlen)
{
    char *srcdb = path_join(src, "db/data.mdb");
    char *srcmedia = path_join(src, "media");
    char *dbdir = path_join(data_dir, "db");
    char *tmp = path_join(data_dir, "db.restoring");
    char *tmpfile = path_join(tmp, "data.mdb");
    char *tmplock = path_join(tmp, "lock.mdb");
    char *media = path_join(data_dir, "media");
    char stamp[32], *old = NULL, *oldmedia = NULL;
    struct kv_env *env = NULL;
    int rc;

    moved_to[0] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    /* DIR.before-restore-STAMP, or -STAMP-2, -3... when restores repeat within a second. */
    size_t n = strlen(dbdir) + strlen(media) + 64;
    old = xmalloc(n);
    oldmedia = xmalloc(n);
    for (unsigned i = 1;; i++) {
        char suffix[16] = "";
        if (i > 1)
            snprintf(suffix, sizeof(suffix), "-%u", i);
        snprintf(old, n, "%s.before-restore-%s%s", dbdir, stamp, suffix);
        snprintf(oldmedia, n, "%s.before-restore-%s%s", media, stamp, suffix);
        if (!file_exists(old) && !file_exists(oldmedia))
            break;
    }

    if (!file_exists(srcdb)) {
        rc = errf(err, errlen, KITH_ENOTFOUND, "'%s' is not a kith backup (no db/data.mdb)", src);
        goto out;
    }
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        rc = errf(err, errlen, KITH_EIO, "cannot create '%s': %s", data_dir, strerror(errno));
        goto out;
    }
    if (file_exists(tmp)) {
        rc = errf(err, errlen, KITH_EEXIST,
                  "'%s' exists (an interrupted restore?): remove it and try again", tmp);
        goto out;
    }
    if (mkdir(tmp, 0700) != 0 || copy_file(srcdb, tmpfile) != KITH_OK) {
        rc = errf(err, errlen, KITH_EIO, "cannot copy '%s' to '%s'", srcdb, tmp);
        goto out;
    }
    /* Check the copy is a kith database this build can open. */
    rc = kv_open(tmp, 1u << 20, store_table_names, T_COUNT, 0, &env);
    uint32_t version = 0;
    if (rc == KITH_OK)
        rc = read_version(env, &version);
    kv_close(env);
    unlink(tmplock);
    if (rc) {
        rc = errf(err, errlen, KITH_EINVAL, "'%s' is not a readable kith database", srcdb);
        goto out;
    }
    if (version > STORE_SCHEMA_VERSION) {
        rc =
            errf(err, errlen, KITH_EINVAL, "backup schema version %u is newer than this build's %u",
                 version, STORE_SCHEMA_VERSION);
        goto out;
    }
    if (file_exists(dbdir)) {
        if (rename(dbdir, old) != 0) {
            rc = errf(err, errlen, KITH_EIO, "cannot move '%s' aside: %s", dbdir, strerror(errno));
            goto out;
        }
        snprintf(moved_to, movedlen, "%s", old);
    }
    if (rename(tmp, dbdir) != 0) {
        rc = errf(err, errlen, KITH_EIO, "cannot move '%s' into place: %s", tmp, strerror(errno));
        goto out;
    }
    if (file_exists(srcmedia)) {
        if (file_exists(media) && rename(media, oldmedia) != 0) {
            rc = errf(err, errlen, KITH_EIO, "cannot move '%s' aside", media);
            goto out;
        }
        if ((rc = copy_tree(srcmedia, media))) {
            rc = errf(err, errlen, rc, "cannot copy media from '%s'", srcmedia);
            goto out;
        }
    }
    fsync_path(data_dir);
    rc = KITH_OK;
out:
    if (rc && file_exists(tmp)) {
        unlink(tmpfile);
        unlink(tmplock);
        rmdir(tmp);
    }
    free(srcdb);
    free(srcmedia);
    free(dbdir);
    free(tmp);
    free(tmpfile);
    free(tmplock);
    free(media);
    free(old);
    free(oldmedia);
    return rc;
}
