/*
 * test_memkind_rules: memkind(3)'s documented rules and the rest of memkind.h 1.14, as a program
 * written for libmemkind uses them (the expected results were checked against libmemkind.so.0 1.14):
 * size 0, NULL kinds and errno; error messages and version; pmem kinds on a missing directory, at
 * the exact size of a block, and a block shrunk and grown back; the kind limit and its code;
 * memkind_create_fixed on the program's own array; configuration objects; memkind_create_kind;
 * statistics; the kinds memkind 1.14 added (HIGHEST_CAPACITY*, LOWEST_LATENCY_LOCAL*,
 * HIGHEST_BANDWIDTH_LOCAL*): available or reporting why, never crashing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <memkind.h>
#include "check.h"

static void size_zero_and_null_kinds(void)
{
    errno = 0;
    CHECK(memkind_malloc(MEMKIND_DEFAULT, 0) == NULL && errno == 0);
    CHECK(memkind_calloc(MEMKIND_DEFAULT, 0, 16) == NULL && errno == 0);
    CHECK(memkind_calloc(MEMKIND_DEFAULT, 16, 0) == NULL && errno == 0);
    CHECK(memkind_realloc(MEMKIND_DEFAULT, NULL, 0) == NULL && errno == 0);
    void *p = (void *)1;
    CHECK(memkind_posix_memalign(MEMKIND_DEFAULT, &p, 64, 0) == 0 && p == NULL && errno == 0);
    p = (void *)1;
    CHECK(memkind_posix_memalign(MEMKIND_DEFAULT, &p, 4, 16) == EINVAL && p == (void *)1);   /* below sizeof(void *) */
    CHECK(memkind_posix_memalign(MEMKIND_DEFAULT, &p, 64, opaque((size_t)-1)) == ENOMEM && errno == 0);
    errno = 0;
    CHECK(memkind_realloc(NULL, NULL, 1024) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(memkind_realloc(NULL, NULL, 0) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(memkind_malloc(MEMKIND_DEFAULT, opaque((size_t)-1)) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(memkind_calloc(MEMKIND_DEFAULT, (size_t)1 << 40, (size_t)1 << 40) == NULL && errno == ENOMEM);
    /* NULL kind: the pointer's kind */
    char *q = memkind_malloc(MEMKIND_DEFAULT, 100);
    memset(q, 7, 100);
    q = memkind_realloc(NULL, q, 5000);
    CHECK(q != NULL && q[99] == 7 && memkind_detect_kind(q) == MEMKIND_DEFAULT);
    CHECK(memkind_malloc_usable_size(NULL, q) >= 5000 && memkind_malloc_usable_size(NULL, NULL) == 0);
    CHECK(memkind_realloc(NULL, q, 0) == NULL);   /* frees */
    CHECK(memkind_detect_kind(NULL) == NULL);
    CHECK(memkind_defrag_reallocate(MEMKIND_DEFAULT, NULL) == NULL);
    void *d = memkind_malloc(MEMKIND_DEFAULT, 64);
    void *moved = memkind_defrag_reallocate(MEMKIND_DEFAULT, d);
    memkind_free(NULL, moved != NULL ? moved : d);
    memkind_free(MEMKIND_DEFAULT, NULL);
}

static void messages_and_version(void)
{
    char msg[MEMKIND_ERROR_MESSAGE_SIZE];
    CHECK(memkind_get_version() == 1014000);
    memkind_error_message(MEMKIND_ERROR_INVALID, msg, sizeof msg);
    CHECK(strcmp(msg, "<memkind> Invalid input arguments to memkind routine") == 0);
    memkind_error_message(MEMKIND_ERROR_TOOMANY, msg, sizeof msg);
    CHECK(strstr(msg, "512") != NULL);
    memkind_error_message(-4, msg, sizeof msg);
    CHECK(strcmp(msg, "<memkind> Undefined error number: -4") == 0);
    memkind_error_message(MEMKIND_ERROR_RUNTIME, msg, 10);
    CHECK(strcmp(msg, "<memkind>") == 0);   /* truncated to size - 1 */
    int codes[] = {MEMKIND_ERROR_UNAVAILABLE, MEMKIND_ERROR_MBIND, MEMKIND_ERROR_MMAP, MEMKIND_ERROR_MALLOC, MEMKIND_ERROR_ENVIRON,
                   MEMKIND_ERROR_BADOPS, MEMKIND_ERROR_HUGETLB, MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE, MEMKIND_ERROR_OPERATION_FAILED,
                   MEMKIND_ERROR_ARENAS_CREATE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        memkind_error_message(codes[i], msg, sizeof msg);
        CHECK_MSG(strncmp(msg, "<memkind> ", 10) == 0 && strstr(msg, "Undefined") == NULL, "code %d: %s", codes[i], msg);
    }
}

static void pmem_rules(const char *dir)
{
    memkind_t k = NULL;
    errno = 0;
    CHECK(memkind_create_pmem("/nonexistent/nh_memkind_dir", 0, &k) == MEMKIND_ERROR_INVALID && errno == ENOENT);
    errno = 0;
    CHECK(memkind_create_pmem(dir, 1000, &k) == MEMKIND_ERROR_INVALID && errno == 0);
    CHECK(memkind_create_pmem(NULL, 0, &k) == MEMKIND_ERROR_INVALID);

    /* a 16 MiB block fits a kind of 16 MiB + 4 KiB */
    CHECK(memkind_create_pmem(dir, (16 << 20) + 4096, &k) == MEMKIND_SUCCESS);
    void *p = memkind_malloc(k, 16 << 20);
    CHECK(p != NULL);
    if (p != NULL) memset(p, 1, 16 << 20);
    memkind_free(k, p);
    /* a block shrunk from 10 to 6 MiB grows back to 10 MiB */
    char *b = memkind_malloc(k, 10 << 20);
    CHECK(b != NULL);
    if (b != NULL) {
        b[0] = 42;
        b = memkind_realloc(k, b, 6 << 20);
        CHECK(b != NULL && b[0] == 42);
        char *c = b == NULL ? NULL : memkind_realloc(k, b, 10 << 20);
        CHECK(c != NULL && c[0] == 42);
        if (c != NULL) memset(c, 3, 10 << 20);
        memkind_free(k, c != NULL ? c : b);
    }
    CHECK(memkind_destroy_kind(k) == MEMKIND_SUCCESS);

    /* configuration objects */
    struct memkind_config *cfg = memkind_config_new();
    CHECK(cfg != NULL);
    memkind_config_set_path(cfg, dir);
    memkind_config_set_size(cfg, 32 << 20);
    memkind_config_set_memory_usage_policy(cfg, MEMKIND_MEM_USAGE_POLICY_CONSERVATIVE);
    CHECK(memkind_create_pmem_with_config(cfg, &k) == MEMKIND_SUCCESS);
    void *x = memkind_malloc(k, 100);
    CHECK(x != NULL && memkind_detect_kind(x) == k);
    CHECK(memkind_malloc(k, 40 << 20) == NULL);   /* above the configured size */
    CHECK(memkind_get_capacity(k) == 32 << 20);
    memkind_free(k, x);
    CHECK(memkind_update_memory_usage_policy(k, MEMKIND_MEM_USAGE_POLICY_DEFAULT) == MEMKIND_SUCCESS);
    CHECK(memkind_update_memory_usage_policy(k, MEMKIND_MEM_USAGE_POLICY_MAX_VALUE) == MEMKIND_ERROR_INVALID);
    CHECK(memkind_destroy_kind(k) == MEMKIND_SUCCESS);
    memkind_config_set_memory_usage_policy(cfg, MEMKIND_MEM_USAGE_POLICY_MAX_VALUE);
    CHECK(memkind_create_pmem_with_config(cfg, &k) == MEMKIND_ERROR_INVALID);
    memkind_config_set_memory_usage_policy(cfg, MEMKIND_MEM_USAGE_POLICY_DEFAULT);
    memkind_config_set_size(cfg, 100);
    CHECK(memkind_create_pmem_with_config(cfg, &k) == MEMKIND_ERROR_INVALID);
    memkind_config_delete(cfg);

    /* DAX check: a missing directory, and /tmp-like directories without DAX */
    errno = 0;
    CHECK(memkind_check_dax_path("/nonexistent/nh_memkind_dir") == MEMKIND_ERROR_RUNTIME && errno == ENOENT);
    int dax = memkind_check_dax_path(dir);
    CHECK(dax == MEMKIND_SUCCESS || dax == MEMKIND_ERROR_MMAP);
}

/* memkind's limit: creation fails once no kind slot (TOOMANY) or no arena (ARENAS_CREATE) is left. */
static void kind_limit(const char *dir)
{
    static memkind_t kinds[MEMKIND_MAX_KIND];
    int n = 0, rc = 0;
    while (n < MEMKIND_MAX_KIND && (rc = memkind_create_pmem(dir, 0, &kinds[n])) == MEMKIND_SUCCESS) n++;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    /* Each kind takes 4 arenas per CPU out of 4095 (less the heap's own); memkind 1.14 reaches 479 on 2 CPUs. */
    long by_arenas = (4095 - 8 * cpus) / (4 * cpus) - 8;
    long expect = by_arenas < 479 ? by_arenas : 479;
    printf("  note: %d kinds created, then %d\n", n, rc);
    CHECK_MSG(n >= expect, "created %d kinds, expected at least %ld", n, expect);
    CHECK_MSG(rc == MEMKIND_ERROR_ARENAS_CREATE || rc == MEMKIND_ERROR_TOOMANY, "rc %d after %d kinds", rc, n);
    CHECK(n < MEMKIND_MAX_KIND);
    if (n > 0) {
        void *p = memkind_malloc(kinds[n - 1], 100);   /* the last kind works */
        CHECK(p != NULL && memkind_detect_kind(p) == kinds[n - 1]);
        memkind_free(NULL, p);
    }
    for (int i = 0; i < n; i++) CHECK(memkind_destroy_kind(kinds[i]) == MEMKIND_SUCCESS);
    memkind_t again;
    CHECK(memkind_create_pmem(dir, 0, &again) == MEMKIND_SUCCESS && memkind_destroy_kind(again) == MEMKIND_SUCCESS);
}

static char g_area[24 << 20];

static void fixed_kind(void)
{
    memkind_t k = NULL;
    CHECK(memkind_create_fixed(NULL, 1 << 20, &k) == MEMKIND_ERROR_INVALID);
    static char small[1 << 20];
    CHECK(memkind_create_fixed(small, sizeof small, &k) == MEMKIND_ERROR_INVALID);   /* holds no 4 MiB granule */
    CHECK(memkind_create_fixed(g_area, sizeof g_area, &k) == MEMKIND_SUCCESS);
    char *a = memkind_malloc(k, 1000);
    CHECK(a != NULL && a >= g_area && a < g_area + sizeof g_area && memkind_detect_kind(a) == k);
    char *big = memkind_malloc(k, 6 << 20);
    CHECK(big != NULL && big >= g_area && big + (6 << 20) <= g_area + sizeof g_area);
    errno = 0;
    CHECK(memkind_malloc(k, 30 << 20) == NULL && errno == ENOMEM);   /* beyond the area */
    int *z = memkind_calloc(k, 1000, sizeof(int));
    int zero = 1;
    for (int i = 0; z != NULL && i < 1000; i++) zero &= z[i] == 0;
    CHECK(z != NULL && zero);
    CHECK(memkind_get_capacity(k) == (ssize_t)sizeof g_area);
    memkind_free(k, a);
    memkind_free(k, big);
    memkind_free(NULL, z);
    CHECK(memkind_destroy_kind(k) == MEMKIND_SUCCESS);
}

static void create_kind(void)
{
    memkind_t k = NULL;
    CHECK(memkind_create_kind(MEMKIND_MEMTYPE_DEFAULT, MEMKIND_POLICY_PREFERRED_LOCAL, 0, &k) == MEMKIND_SUCCESS && k == MEMKIND_DEFAULT);
    CHECK(memkind_create_kind(MEMKIND_MEMTYPE_DEFAULT, MEMKIND_POLICY_BIND_LOCAL, 0, &k) == MEMKIND_ERROR_INVALID);
    CHECK(memkind_create_kind(0, MEMKIND_POLICY_BIND_LOCAL, 0, &k) == MEMKIND_ERROR_INVALID);
    CHECK(memkind_create_kind(MEMKIND_MEMTYPE_DEFAULT, MEMKIND_POLICY_MAX_VALUE, 0, &k) == MEMKIND_ERROR_INVALID);
    CHECK(memkind_create_kind(MEMKIND_MEMTYPE_DEFAULT | MEMKIND_MEMTYPE_HIGH_BANDWIDTH, MEMKIND_POLICY_INTERLEAVE_ALL, 0, &k) == MEMKIND_SUCCESS
          && k == MEMKIND_INTERLEAVE);
    int hbw = memkind_check_available(MEMKIND_HBW) == MEMKIND_SUCCESS;
    int rc = memkind_create_kind(MEMKIND_MEMTYPE_HIGH_BANDWIDTH, MEMKIND_POLICY_BIND_LOCAL, 0, &k);
    CHECK(hbw ? rc == MEMKIND_SUCCESS && k == MEMKIND_HBW : rc == MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE);
    rc = memkind_create_kind(MEMKIND_MEMTYPE_HIGH_BANDWIDTH, MEMKIND_POLICY_PREFERRED_LOCAL, 0, &k);
    CHECK(rc == MEMKIND_SUCCESS && k == (hbw ? MEMKIND_HBW_PREFERRED : MEMKIND_DEFAULT));
    CHECK(memkind_destroy_kind(k) == MEMKIND_SUCCESS);   /* static kinds: a no-op */
}

static void new_kinds(void)
{
    struct { memkind_t kind; const char *name; } kinds[] = {
        {MEMKIND_HIGHEST_CAPACITY, "HIGHEST_CAPACITY"}, {MEMKIND_HIGHEST_CAPACITY_PREFERRED, "HIGHEST_CAPACITY_PREFERRED"},
        {MEMKIND_HIGHEST_CAPACITY_LOCAL, "HIGHEST_CAPACITY_LOCAL"}, {MEMKIND_HIGHEST_CAPACITY_LOCAL_PREFERRED, "HIGHEST_CAPACITY_LOCAL_PREFERRED"},
        {MEMKIND_LOWEST_LATENCY_LOCAL, "LOWEST_LATENCY_LOCAL"}, {MEMKIND_LOWEST_LATENCY_LOCAL_PREFERRED, "LOWEST_LATENCY_LOCAL_PREFERRED"},
        {MEMKIND_HIGHEST_BANDWIDTH_LOCAL, "HIGHEST_BANDWIDTH_LOCAL"}, {MEMKIND_HIGHEST_BANDWIDTH_LOCAL_PREFERRED, "HIGHEST_BANDWIDTH_LOCAL_PREFERRED"},
        {MEMKIND_REGULAR, "REGULAR"}, {MEMKIND_HBW_ALL, "HBW_ALL"}, {MEMKIND_HBW_INTERLEAVE, "HBW_INTERLEAVE"},
        {MEMKIND_DAX_KMEM_ALL, "DAX_KMEM_ALL"}, {MEMKIND_GBTLB, "GBTLB"}, {MEMKIND_HBW_GBTLB, "HBW_GBTLB"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        int rc = memkind_check_available(kinds[i].kind);
        errno = 0;
        char *p = memkind_malloc(kinds[i].kind, 4096);
        if (rc == MEMKIND_SUCCESS) {
            CHECK_MSG(p != NULL, "%s is available but memkind_malloc failed", kinds[i].name);
            if (p != NULL) memset(p, 1, 4096);
            CHECK_MSG(memkind_get_capacity(kinds[i].kind) > 0, "%s capacity", kinds[i].name);
        } else {
            CHECK_MSG(rc == MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE || rc == MEMKIND_ERROR_UNAVAILABLE || rc == MEMKIND_ERROR_HUGETLB,
                      "%s: check_available %d", kinds[i].name, rc);
            CHECK_MSG(p == NULL && errno == ENOMEM, "%s unavailable but malloc gave %p errno %d", kinds[i].name, (void *)p, errno);
            printf("  note: %s unavailable (%d)\n", kinds[i].name, rc);
        }
        memkind_free(kinds[i].kind, p);
    }
    /* A machine without HMAT attributes (this one, usually) cannot serve the latency/bandwidth kinds, as libmemkind. */
    if (access("/sys/devices/system/node/node0/access0/initiators/read_latency", F_OK) != 0)
        CHECK(memkind_check_available(MEMKIND_LOWEST_LATENCY_LOCAL) == MEMKIND_ERROR_MEMTYPE_NOT_AVAILABLE);
    CHECK(memkind_check_available(MEMKIND_HIGHEST_CAPACITY) == MEMKIND_SUCCESS);
    CHECK(memkind_get_capacity(MEMKIND_DEFAULT) > 0);
    CHECK(memkind_set_bg_threads(true) == MEMKIND_SUCCESS && memkind_set_bg_threads(false) == MEMKIND_SUCCESS);
}

static int g_printed;
static void count_cb(void *opaque, const char *s)
{
    (void)opaque;
    g_printed += (int)strlen(s);
}

static void stats(const char *dir)
{
    memkind_t k = NULL;
    CHECK(memkind_create_pmem(dir, 0, &k) == MEMKIND_SUCCESS);
    void *blocks[100];
    for (int i = 0; i < 100; i++) blocks[i] = memkind_malloc(k, 10000);
    CHECK(memkind_update_cached_stats() == MEMKIND_SUCCESS);
    size_t allocated = 0, active = 0, resident = 0, all = 0;
    CHECK(memkind_get_stat(k, MEMKIND_STAT_TYPE_ALLOCATED, &allocated) == MEMKIND_SUCCESS);
    CHECK(memkind_get_stat(k, MEMKIND_STAT_TYPE_ACTIVE, &active) == MEMKIND_SUCCESS);
    CHECK(memkind_get_stat(k, MEMKIND_STAT_TYPE_RESIDENT, &resident) == MEMKIND_SUCCESS);
    CHECK(memkind_get_stat(NULL, MEMKIND_STAT_TYPE_ALLOCATED, &all) == MEMKIND_SUCCESS);
    CHECK_MSG(allocated >= 100 * 10000 && active >= allocated && resident >= active && all >= allocated,
              "allocated %zu active %zu resident %zu all %zu", allocated, active, resident, all);
    CHECK(memkind_get_stat(k, MEMKIND_STAT_TYPE_MAX_VALUE, &all) == MEMKIND_ERROR_INVALID);
    for (int i = 0; i < 100; i++) memkind_free(k, blocks[i]);
    size_t cached = 0;
    CHECK(memkind_get_stat(k, MEMKIND_STAT_TYPE_ALLOCATED, &cached) == MEMKIND_SUCCESS && cached == allocated);   /* cached until updated */
    CHECK(memkind_update_cached_stats() == MEMKIND_SUCCESS);
    CHECK(memkind_get_stat(k, MEMKIND_STAT_TYPE_ALLOCATED, &cached) == MEMKIND_SUCCESS && cached < allocated);
    g_printed = 0;
    CHECK(memkind_stats_print(count_cb, NULL, MEMKIND_STAT_PRINT_JSON_FORMAT) == MEMKIND_SUCCESS && g_printed > 100);
    CHECK(memkind_stats_print(count_cb, NULL, (memkind_stat_print_opt)(1 << 20)) == MEMKIND_ERROR_INVALID);
    CHECK(memkind_destroy_kind(k) == MEMKIND_SUCCESS);
}

int main(void)
{
    char dir[] = "/tmp/nh_memkind_rules_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    size_zero_and_null_kinds();
    messages_and_version();
    pmem_rules(dir);
    fixed_kind();
    create_kind();
    new_kinds();
    stats(dir);
    kind_limit(dir);
    CHECK(rmdir(dir) == 0);
    return nh_finish("memkind_rules");
}
