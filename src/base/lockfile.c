/* src/base/lockfile.c: the data directory's lock. */
#include "lockfile.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int lockfile_acquire(const char *data_dir, int *out)
{
    char path[4096];
    char pid[32];
    if (snprintf(path, sizeof(path), "%s/%s", data_dir, LOCKFILE_NAME) >= (int)sizeof(path))
        return KITH_ETOOBIG;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return KITH_EIO;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK ? KITH_EAGAIN : KITH_EIO;
    }
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) < 0) {
        /* The pid is informational only. */
    }
    *out = fd;
    return KITH_OK;
}

void lockfile_release(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}
