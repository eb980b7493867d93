/* unit.h - a tiny assertion harness for host-side unit tests (one binary per tests/unit/test_*.c). */
#ifndef KL_TESTS_UNIT_H
#define KL_TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

/* Record one check; print only failures, with where and what. */
#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            unit_passed++;                                                 \
        } else {                                                           \
            unit_failed++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                  \
    } while (0)

#define CHECK_STR(a, b)                                                     \
    do {                                                                    \
        const char *a_ = (a), *b_ = (b);                                    \
        if (a_ && b_ && strcmp(a_, b_) == 0) {                              \
            unit_passed++;                                                  \
        } else {                                                            \
            unit_failed++;                                                  \
            fprintf(stderr, "FAIL %s:%d: \"%s\" != \"%s\"\n", __FILE__,     \
                    __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)");      \
        }                                                                   \
    } while (0)

/* End of main(): print this binary's totals in the form the runner sums. */
#define UNIT_DONE()                                                        \
    do {                                                                   \
        printf("%s: %d passed, %d failed\n", __FILE__, unit_passed,        \
               unit_failed);                                               \
        return unit_failed ? 1 : 0;                                        \
    } while (0)

#endif
