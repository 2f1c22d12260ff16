/* tests/unit/helpers.h: shared set-up for the cmocka unit tests. */
#ifndef KITH_TEST_HELPERS_H
#define KITH_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* A fresh temporary directory; the caller removes it with rm_tree. */
static inline char *make_tmpdir(void)
{
    char tmpl[] = "/tmp/kith-unit-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static inline void rm_tree(char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}

#endif
