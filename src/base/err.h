/* src/base/err.h: error codes shared by every layer, and the assertion macro.
 *
 * Layer: base (libc only). Functions that can fail return int: KITH_OK (0) or
 * a negative enum kith_err. Results come back through out-parameters placed
 * last. KITH_ASSERT is for programmer errors only, never for network input.
 */
#ifndef KITH_BASE_ERR_H
#define KITH_BASE_ERR_H

enum kith_err {
    KITH_OK = 0,
    KITH_ENOMEM = -1,    /* allocation failed */
    KITH_EINVAL = -2,    /* malformed input */
    KITH_ENOTFOUND = -3, /* no such record */
    KITH_EEXIST = -4,    /* record already exists */
    KITH_ETOOBIG = -5,   /* a size limit was hit */
    KITH_EDENIED = -6,   /* not allowed */
    KITH_EAGAIN = -7,    /* try again later (rate limited, busy) */
    KITH_ESTORE = -8,    /* storage failure (I/O, map full, corrupt page) */
    KITH_ECORRUPT = -9,  /* stored bytes do not decode */
    KITH_EIO = -10,      /* operating-system I/O failure */
    KITH_ESTOPPED = -11, /* the component is shutting down */
    KITH_EDECLINED = -12 /* "not mine": routing and dispatch can decline */
};

/* A short lowercase description of err; never NULL. */
const char *kith_strerror(int err);

/* Aborts with file and line. Compiled in always: the checks are cheap. */
void kith_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));
#define KITH_ASSERT(e) ((e) ? (void)0 : kith_assert_fail(#e, __FILE__, __LINE__))

#endif
