/* src/http/adminsock.c: the admin Unix socket. */
#include "adminsock.h"

#include "../base/err.h"
#include "../base/log.h"
#include "../base/mem.h"
#include "../core/admin.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ADMIN_WORKERS 8
#define MAGIC         "KITHADM1"

struct adminsock {
    struct core *core;
    const struct admin_hooks *hooks;
    atomic_bool stopping;
    int fd;
    char *path;
    pthread_t workers[ADMIN_WORKERS];
    unsigned nworkers;
};

static int read_full(int fd, void *p, size_t n)
{
    unsigned char *b = p;
    while (n) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return KITH_EIO;
        b += r;
        n -= (size_t)r;
    }
    return KITH_OK;
}

static int write_full(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return KITH_EIO;
        b += w;
        n -= (size_t)w;
    }
    return KITH_OK;
}

static int read_u32(int fd, uint32_t *v)
{
    unsigned char b[4];
    int rc = read_full(fd, b, 4);
    if (!rc)
        *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return rc;
}

static int put_u32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    return buf_add(b, x, 4);
}

static int read_blob(int fd, uint32_t max, struct arena *a, char **out, uint32_t *len)
{
    uint32_t n;
    int rc = read_u32(fd, &n);
    if (rc)
        return rc;
    if (n > max)
        return KITH_ETOOBIG;
    *out = arena_alloc(a, n + 1);
    if ((rc = read_full(fd, *out, n)))
        return rc;
    (*out)[n] = '\0';
    *len = n;
    return KITH_OK;
}

static void serve(struct adminsock *as, int fd)
{
    struct arena a = ARENA_INIT;
    struct buf out, err, reply;
    char magic[8];
    uint32_t argc, ilen = 0;
    char **argv;
    char *input = NULL;
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    struct timeval tmo = {10, 0};
    int status;

    buf_init(&out, ADMINSOCK_MAX_OUT);
    buf_init(&err, 1 << 20);
    buf_init(&reply, ADMINSOCK_MAX_OUT + (2 << 20));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 ||
        (cred.uid != 0 && cred.uid != getuid())) {
        log_warn("admin: refused a connection from uid %u", (unsigned)cred.uid);
        goto out;
    }
    if (read_full(fd, magic, 8) || memcmp(magic, MAGIC, 8) != 0 || read_u32(fd, &argc) ||
        argc == 0 || argc > ADMINSOCK_MAX_ARGS)
        goto out;
    argv = arena_zalloc(&a, (argc + 1) * sizeof(char *));
    for (uint32_t i = 0; i < argc; i++) {
        uint32_t n;
        if (read_blob(fd, ADMINSOCK_MAX_ARG, &a, &argv[i], &n) || strlen(argv[i]) != n)
            goto out;
    }
    if (read_blob(fd, ADMINSOCK_MAX_INPUT, &a, &input, &ilen))
        goto out;
    struct admin_env env = {.core = as->core,
                            .server = true,
                            .input = str_make(input, ilen),
                            .out = &out,
                            .err = &err,
                            .hooks = as->hooks};
    status = admin_exec(&env, (int)argc, argv);
    if (out.len >= ADMINSOCK_MAX_OUT)
        buf_add_cstr(&err, "kithctl: output truncated\n");
    put_u32(&reply, (uint32_t)status);
    put_u32(&reply, (uint32_t)out.len);
    buf_add_str(&reply, buf_str(&out));
    put_u32(&reply, (uint32_t)err.len);
    buf_add_str(&reply, buf_str(&err));
    write_full(fd, reply.data, reply.len);
out:
    close(fd);
    buf_free(&out);
    buf_free(&err);
    buf_free(&reply);
    arena_release(&a);
}

static void *worker(void *arg)
{
    pthread_setname_np(pthread_self(), "kith-admin"); /* for top -H and perf */
    struct adminsock *as = arg;
    for (;;) {
        int fd = accept4(as->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (atomic_load(&as->stopping))
                break; /* EINVAL after shutdown() */
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: the connection waits in the backlog. */
                log_warn("admin: accept failed: %s; retrying in 100 ms", strerror(errno));
                struct timespec pause = {0, 100 * 1000 * 1000};
                nanosleep(&pause, NULL);
            }
            continue;
        }
        serve(as, fd);
    }
    return NULL;
}

static int sock_path(const char *data_dir, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", data_dir, ADMINSOCK_NAME);
    return n > 0 && (size_t)n < sizeof(sa->sun_path) ? KITH_OK : KITH_ETOOBIG;
}

int adminsock_start(struct core *core, const char *data_dir, struct adminsock **out, char *err,
                    size_t errlen)
{
    return adminsock_start_with(core, data_dir, NULL, out, err, errlen);
}

int adminsock_start_with(struct core *core, const char *data_dir, const struct admin_hooks *hooks,
                         struct adminsock **out, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    if (sock_path(data_dir, &sa)) {
        snprintf(err, errlen, "admin socket path in '%s' is too long", data_dir);
        return KITH_ETOOBIG;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "admin socket: %s", strerror(errno));
        return KITH_EIO;
    }
    unlink(sa.sun_path);
    mode_t old = umask(0077); /* created 0600 */
    int brc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (brc != 0 || chmod(sa.sun_path, 0600) != 0 || listen(fd, 64) != 0) {
        snprintf(err, errlen, "admin socket %s: %s", sa.sun_path, strerror(errno));
        close(fd);
        return KITH_EIO;
    }
    struct adminsock *as = xcalloc(1, sizeof(*as));
    as->core = core;
    as->hooks = hooks;
    as->fd = fd;
    as->path = xstrdup(sa.sun_path);
    for (; as->nworkers < ADMIN_WORKERS; as->nworkers++)
        if (pthread_create(&as->workers[as->nworkers], NULL, worker, as) != 0)
            break;
    if (as->nworkers == 0) {
        snprintf(err, errlen, "admin socket: cannot start workers");
        adminsock_stop(as);
        return KITH_EIO;
    }
    *out = as;
    return KITH_OK;
}

void adminsock_stop(struct adminsock *as)
{
    if (!as)
        return;
    atomic_store(&as->stopping, true);
    unlink(as->path);
    shutdown(as->fd, SHUT_RDWR); /* wakes the workers blocked in accept() */
    for (unsigned i = 0; i < as->nworkers; i++)
        pthread_join(as->workers[i], NULL);
    close(as->fd);
    free(as->path);
    free(as);
}

int adminsock_connect(const char *data_dir, int *fd)
{
    struct sockaddr_un sa;
    if (sock_path(data_dir, &sa))
        return KITH_ETOOBIG;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return KITH_EIO;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(s);
        if (e == EACCES || e == EPERM)
            return KITH_EDENIED;
        return e == ENOENT || e == ECONNREFUSED ? KITH_ENOTFOUND : KITH_EIO;
    }
    *fd = s;
    return KITH_OK;
}

static int read_reply_blob(int fd, struct buf *b, uint32_t max)
{
    uint32_t n;
    char chunk[8192];
    int rc = read_u32(fd, &n);
    if (rc)
        return rc;
    if (n > max)
        return KITH_ETOOBIG;
    while (n) {
        uint32_t k = n < sizeof(chunk) ? n : (uint32_t)sizeof(chunk);
        if ((rc = read_full(fd, chunk, k)) || (rc = buf_add(b, chunk, k)))
            return rc;
        n -= k;
    }
    return KITH_OK;
}

int adminsock_call(int fd, int argc, char **argv, struct str input, int *status, struct buf *out,
                   struct buf *err)
{
    struct buf req;
    uint32_t st;
    int rc;

    if (argc <= 0 || argc > ADMINSOCK_MAX_ARGS || input.len > ADMINSOCK_MAX_INPUT)
        return KITH_ETOOBIG;
    /* A backup takes as long as the database is large; other commands are
     * quick, so a silent kithd is reported instead of waited on forever. */
    struct timeval snd = {30, 0}, rcv = {strcmp(argv[0], "backup") == 0 ? 0 : 300, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
    buf_init(&req, ADMINSOCK_MAX_ARGS * (ADMINSOCK_MAX_ARG + 4) + ADMINSOCK_MAX_INPUT + 64);
    rc = buf_add(&req, MAGIC, 8);
    if (!rc)
        rc = put_u32(&req, (uint32_t)argc);
    for (int i = 0; i < argc && !rc; i++) {
        size_t n = strlen(argv[i]);
        if (n > ADMINSOCK_MAX_ARG)
            rc = KITH_ETOOBIG;
        if (!rc)
            rc = put_u32(&req, (uint32_t)n);
        if (!rc)
            rc = buf_add(&req, argv[i], n);
    }
    if (!rc)
        rc = put_u32(&req, (uint32_t)input.len);
    if (!rc)
        rc = buf_add_str(&req, input);
    if (!rc)
        rc = write_full(fd, req.data, req.len);
    buf_free(&req);
    if (rc)
        return rc;
    if ((rc = read_u32(fd, &st)) || (rc = read_reply_blob(fd, out, ADMINSOCK_MAX_OUT)) ||
        (rc = read_reply_blob(fd, err, 1 << 20)))
        return rc;
    *status = (int)st;
    return KITH_OK;
}
