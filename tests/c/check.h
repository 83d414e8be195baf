/*
 * check.h: the C tests' one assertion macro. Each test program counts its checks, prints a line for
 * each failure (file:line and the expression), and ends with "PASS <name>: N checks" and exit 0, or
 * "FAIL <name>: F of N checks failed" and exit 1. tests/NativeHeap.Tests/Native runs them.
 */
#ifndef NH_CHECK_H
#define NH_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/*
 * Runs argv (argv[0] is the program's path) in a child process with its descriptor `fd` (1 or 2)
 * captured into buf (NUL-terminated, at most len - 1 bytes). conf sets NATIVEHEAP_CONF for the
 * child; NULL removes it; NH_KEEP_ENV leaves the environment as it is. Returns the wait status, or
 * -1 when no pipe could be made.
 */
#define NH_KEEP_ENV ((const char *)1)
static __attribute__((unused)) int nh_spawn(char *const argv[], int fd, const char *conf, char *buf, size_t len)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], fd);
        close(fds[0]);
        if (conf == NULL) unsetenv("NATIVEHEAP_CONF");
        else if (conf != NH_KEEP_ENV) setenv("NATIVEHEAP_CONF", conf, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < len && (n = read(fds[0], buf + used, len - 1 - used)) > 0) used += (size_t)n;
    buf[used] = 0;
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
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
