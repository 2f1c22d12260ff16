/* src/base/err.c: error strings and assertion failure. */
#include "err.h"

#include <stdio.h>
#include <stdlib.h>

const char *kith_strerror(int err)
{
    switch (err) {
    case KITH_OK:
        return "ok";
    case KITH_ENOMEM:
        return "out of memory";
    case KITH_EINVAL:
        return "invalid input";
    case KITH_ENOTFOUND:
        return "not found";
    case KITH_EEXIST:
        return "already exists";
    case KITH_ETOOBIG:
        return "too large";
    case KITH_EDENIED:
        return "not allowed";
    case KITH_EAGAIN:
        return "try again later";
    case KITH_ESTORE:
        return "storage failure";
    case KITH_ECORRUPT:
        return "stored data is corrupt";
    case KITH_EIO:
        return "input/output error";
    case KITH_ESTOPPED:
        return "shutting down";
    case KITH_EDECLINED:
        return "declined";
    default:
        return "unknown error";
    }
}

void kith_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "kith: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
