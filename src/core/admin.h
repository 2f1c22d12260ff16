/* src/core/admin.h: the admin commands shared by kithctl and kithd.
 *
 * Layer: core. kithctl runs these in its own process when no kithd is
 * running; kithd runs them for kithctl over the admin socket
 * (src/http/adminsock.c). Either way the same code does the work through
 * the same writer. Commands that need kithd stopped (init, restore,
 * migrate) live in src/ctl.c; here they only explain that.
 * Thread: blocks on the writer: never call from an event loop.
 */
#ifndef KITH_CORE_ADMIN_H
#define KITH_CORE_ADMIN_H

#include "core.h"

#include <stdbool.h>

/* What only a running kithd can do, provided by federation (core cannot
 * reach it): live delivery figures, and acting as a member. */
struct admin_hooks {
    void (*delivery_live)(void *arg, struct buf *out);
    /* `act USER ...`: returns the exit status, writes to out and err. */
    int (*act)(void *arg, int argc, char **argv, struct buf *out, struct buf *err);
    /* `community approve|reject NAME ACTOR`: answers a held follow. */
    int (*community_answer)(void *arg, const char *community, const char *actor, bool accept,
                            struct buf *out, struct buf *err);
    void *arg;
};

struct admin_env {
    struct core *core;
    bool server;                     /* true inside kithd, false in kithctl's own process */
    struct str input;                /* the client's standard input (--password-stdin) */
    struct buf *out;                 /* what to print on standard output */
    struct buf *err;                 /* what to print on standard error */
    const struct admin_hooks *hooks; /* kithd's federation; NULL in kithctl's own process */
};

/* Runs argv (argv[0] is the command, e.g. "user"). Returns the exit status:
 * 0 on success, 1 on any error (message in env->err). */
int admin_exec(struct admin_env *env, int argc, char **argv);

/* The usage text, for kithctl --help and usage errors. */
extern const char admin_usage[];

#endif
