/*
 * test_malloc_conf: jemalloc's two program-side variables. The program defines malloc_conf (read when
 * the library starts, before NATIVEHEAP_CONF, which overrides it key by key) and sets malloc_message
 * (which then receives malloc_stats_print's output when no write callback is given, and warnings).
 */
#include <string.h>
#include <jemalloc/jemalloc.h>
#include "check.h"

const char *malloc_conf = "narenas:3,dirty_decay_ms:1234";

static char g_messages[1 << 16];
static size_t g_used;

static void collect(void *opaque, const char *s)
{
    (void)opaque;
    size_t n = strlen(s);
    if (g_used + n < sizeof g_messages) {
        memcpy(g_messages + g_used, s, n);
        g_used += n;
        g_messages[g_used] = 0;
    }
}

static int report(void)
{
    unsigned narenas = 0;
    ssize_t decay = 0;
    size_t len = sizeof narenas;
    mallctl("opt.narenas", &narenas, &len, NULL, 0);
    len = sizeof decay;
    mallctl("opt.dirty_decay_ms", &decay, &len, NULL, 0);
    printf("narenas=%u dirty=%zd\n", narenas, decay);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "report") == 0) return report();

    unsigned narenas = 0;
    size_t len = sizeof narenas;
    CHECK(mallctl("opt.narenas", &narenas, &len, NULL, 0) == 0 && narenas == 3);
    ssize_t decay = 0;
    len = sizeof decay;
    CHECK(mallctl("opt.dirty_decay_ms", &decay, &len, NULL, 0) == 0 && decay == 1234);

    /* NATIVEHEAP_CONF comes after malloc_conf: it overrides the keys it names only */
    char *child[] = {argv[0], "report", NULL};
    char out[256];
    int status = nh_spawn(child, 1, "narenas:5", out, sizeof out);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, "narenas=5 dirty=1234") != NULL, "child: %s", out);
    status = nh_spawn(child, 1, NULL, out, sizeof out);
    CHECK_MSG(strstr(out, "narenas=3 dirty=1234") != NULL, "child without NATIVEHEAP_CONF: %s", out);

    /* malloc_message receives malloc_stats_print's output when there is no write callback */
    malloc_message = collect;
    malloc_stats_print(NULL, NULL, "J");
    CHECK(g_used > 100 && g_messages[0] == '{');
    malloc_message = NULL;
    return nh_finish("malloc_conf");
}
