/*
 * test_hbw: memkind's hbwmalloc.h interface as a program written for it uses it (results as
 * libmemkind 1.14 gives on a machine without high-bandwidth memory, or with MEMKIND_HBW_NODES set):
 * the default PREFERRED policy falls back to ordinary memory; the policy can be set once, before the
 * first allocation; BIND fails cleanly without HBW memory; the error returns of every call.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <hbwmalloc.h>
#include "check.h"

static int bind_child(void)
{
    int hbw = hbw_check_available() == 0;
    if (hbw_set_policy(HBW_POLICY_BIND) != 0) return 2;
    if (hbw_set_policy(HBW_POLICY_PREFERRED) != EPERM) return 3;   /* only once */
    if (hbw_get_policy() != HBW_POLICY_BIND) return 4;
    errno = 0;
    void *p = hbw_malloc(64);
    if (!hbw && (p != NULL || errno != ENOMEM)) return 5;
    if (hbw && p == NULL) return 6;
    hbw_free(p);
    printf("bind ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "bind") == 0) return bind_child();
    int hbw = hbw_check_available() == 0;
    CHECK(hbw || hbw_check_available() == ENODEV);
    CHECK(hbw_get_policy() == HBW_POLICY_PREFERRED);
    CHECK(hbw_set_policy((hbw_policy_t)7) == EINVAL);

    /* PREFERRED: memory either way */
    char *p = hbw_malloc(1000);
    CHECK(p != NULL);
    if (p != NULL) memset(p, 9, 1000);
    CHECK(hbw_malloc_usable_size(p) >= 1000 && hbw_malloc_usable_size(NULL) == 0);
    p = hbw_realloc(p, 100000);
    CHECK(p != NULL && p[999] == 9);
    int *z = hbw_calloc(1000, sizeof(int));
    int zero = 1;
    for (int i = 0; z != NULL && i < 1000; i++) zero &= z[i] == 0;
    CHECK(z != NULL && zero);
    void *a = NULL;
    CHECK(hbw_posix_memalign(&a, 4096, 10000) == 0 && a != NULL && ((uintptr_t)a & 4095) == 0);
    void *b = (void *)1;
    CHECK(hbw_posix_memalign(&b, 3, 64) == EINVAL && b == (void *)1);
    CHECK(hbw_posix_memalign_psize(&b, 64, 64, HBW_PAGESIZE_MAX_VALUE) == EINVAL);
    void *c = NULL;
    CHECK(hbw_posix_memalign_psize(&c, 64, 64, HBW_PAGESIZE_4KB) == 0 && c != NULL);
    CHECK(hbw_posix_memalign_psize(&b, 64, 64, HBW_PAGESIZE_2MB) == ENOMEM && b == (void *)1);   /* no HBW huge pages */
    CHECK(hbw_malloc(0) == NULL && hbw_calloc(0, 4) == NULL);

    /* verify: EINVAL for bad arguments; the region is HBW only on a machine that has it */
    CHECK(hbw_verify_memory_region(NULL, 10, 0) == EINVAL);
    CHECK(hbw_verify_memory_region(a, 0, 0) == EINVAL);
    CHECK(hbw_verify_memory_region(a, 10000, 8) == EINVAL);
    int v = hbw_verify_memory_region(a, 10000, HBW_TOUCH_PAGES);
    CHECK_MSG(hbw ? v == 0 || v == -1 : v == -1, "verify %d", v);
    char stack[4096];
    memset(stack, 0, sizeof stack);
    if (!hbw) CHECK(hbw_verify_memory_region(stack, sizeof stack, 0) == -1);

    hbw_free(p);
    hbw_free(z);
    hbw_free(a);
    hbw_free(c);
    hbw_free(NULL);

    /* the policy is fixed once memory was allocated */
    CHECK(hbw_set_policy(HBW_POLICY_BIND) == EPERM);
    CHECK(hbw_get_policy() == HBW_POLICY_PREFERRED);

    /* a fresh process may set BIND once; without HBW memory its allocations fail with ENOMEM */
    char *child[] = {argv[0], "bind", NULL};
    char out[512];
    int status = nh_spawn(child, 1, NH_KEEP_ENV, out, sizeof out);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, "bind ok") != NULL, "child status %d: %s", status, out);
    return nh_finish("hbw");
}
