/*
 * check.h: the C tests' one assertion macro. Each test program counts its checks, prints a line for
 * each failure (file:line and the expression), and ends with "PASS <name>: N checks" and exit 0, or
 * "FAIL <name>: F of N checks failed" and exit 1. tests/NativeHeap.Tests/Native runs them.
 */
#ifndef NH_CHECK_H
#define NH_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int nh_checks, nh_failures;

#define CHECK(expr)                                                                  \
    do {                                                                             \
        nh_checks++;                                                                 \
        if (!(expr)) {                                                               \
            nh_failures++;                                                           \
            fprintf(stdout, "  failed: %s:%d: %s\n", __FILE__, __LINE__, #expr);    \
            fflush(stdout);                                                          \
        }                                                                            \
    } while (0)

#define CHECK_MSG(expr, ...)                                                         \
    do {                                                                             \
        nh_checks++;                                                                 \
        if (!(expr)) {                                                               \
            nh_failures++;                                                           \
            fprintf(stdout, "  failed: %s:%d: %s: ", __FILE__, __LINE__, #expr);    \
            fprintf(stdout, __VA_ARGS__);                                            \
            fprintf(stdout, "\n");                                                   \
            fflush(stdout);                                                          \
        }                                                                            \
    } while (0)

/* Hides a value from the compiler, so impossible sizes reach the library instead of a warning. */
static __attribute__((unused)) size_t opaque(size_t v)
{
    volatile size_t x = v;
    return x;
}

static int nh_finish(const char *name)
{
    if (nh_failures == 0) {
        printf("PASS %s: %d checks\n", name, nh_checks);
        return 0;
    }
    printf("FAIL %s: %d of %d checks failed\n", name, nh_failures, nh_checks);
    return 1;
}

#endif
