/* src/http/adminsock.h: the admin Unix socket between kithctl and kithd.
 *
 * Layer: http. kithd listens on DATA_DIR/admin.sock (mode 0600, and only
 * peers with kithd's own uid or root are served). kithctl sends one command
 * per connection and gets its exit status and output back; kithd runs it
 * with admin_exec (src/core/admin.h), so writes go through kithd's writer.
 *
 * Wire format (all integers u32 big-endian):
 *   request:  "KITHADM1" argc { len bytes }*argc  input_len input
 *   response: status out_len out err_len err
 * Limits: 64 arguments of up to 4 KiB, 64 KiB of input, 16 MiB of output.
 *
 * Thread: the server runs a fixed pool of worker threads that block in
 * accept(2) and on the writer, never on an event loop.
 */
#ifndef KITH_HTTP_ADMINSOCK_H
#define KITH_HTTP_ADMINSOCK_H

#include "../base/buf.h"
#include "../core/core.h"

#define ADMINSOCK_NAME      "admin.sock"
#define ADMINSOCK_MAX_ARGS  64
#define ADMINSOCK_MAX_ARG   4096
#define ADMINSOCK_MAX_INPUT (64 << 10)
#define ADMINSOCK_MAX_OUT   (16 << 20)

struct adminsock;

/* Binds DATA_DIR/admin.sock (replacing a stale one: the caller holds the
 * data directory's lock) and starts the workers. */
int adminsock_start(struct core *core, const char *data_dir, struct adminsock **out, char *err,
                    size_t errlen);
/* The same, with what only a running kithd can do (borrowed; outlives the socket). */
struct admin_hooks;
int adminsock_start_with(struct core *core, const char *data_dir, const struct admin_hooks *hooks,
                         struct adminsock **out, char *err, size_t errlen);
/* Stops accepting, waits for commands in progress, removes the socket. */
void adminsock_stop(struct adminsock *a);

/* Client side. Connects to DATA_DIR/admin.sock: KITH_OK, KITH_ENOTFOUND
 * when nothing is listening there, KITH_EDENIED without permission. */
int adminsock_connect(const char *data_dir, int *fd);
/* Sends the command and reads the reply; the caller closes fd. */
int adminsock_call(int fd, int argc, char **argv, struct str input, int *status, struct buf *out,
                   struct buf *err);

#endif
