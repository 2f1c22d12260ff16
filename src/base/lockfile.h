/* src/base/lockfile.h: the data directory's lock.
 *
 * Layer: base. kithd holds an exclusive flock on DATA_DIR/kithd.lock for
 * its whole life; kithctl takes it while it works on the database itself,
 * so the two never both open the database as writers, and kithctl knows
 * whether a kithd is running. The kernel drops the lock when the process
 * dies, even by kill -9.
 */
#ifndef KITH_BASE_LOCKFILE_H
#define KITH_BASE_LOCKFILE_H

#define LOCKFILE_NAME "kithd.lock"

/* Takes the lock without waiting: KITH_OK (fd receives it), KITH_EAGAIN
 * when another process holds it, KITH_EIO on other failures. The lock file
 * also records the holder's pid, for humans. */
int lockfile_acquire(const char *data_dir, int *fd);
/* Releases and closes. */
void lockfile_release(int fd);

#endif
