// Drop-in malloc tests: real programs run with and without LD_PRELOAD=libnativeheap-preload.so, under
// the machine's default locale and C.UTF-8; outputs must match, nothing may crash or hang (every run
// has a timeout), and NativeHeap's exit statistics must show it served the program. One collection:
// the programs are heavy and share one build of the library.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NativeHeap.Tests.Preload;

[CollectionDefinition("Preload", DisableParallelization = true)]
public sealed class PreloadCollection;

[Collection("Preload")]
public sealed class PreloadTests
{
    private const string BashScript = """
        set -e
        declare -A seen
        words=()
        for i in $(seq 1 3000); do w="w$((i * 7919 % 1000))"; words+=("$w"); seen[$w]=$(( ${seen[$w]:-0} + 1 )); done
        echo "words ${#words[@]} distinct ${#seen[@]}"
        s=""; for i in $(seq 1 2000); do s+="é$i,"; done
        echo "len ${#s} upper ${s^^}" | cut -c1-60
        printf '%s\n' "${!seen[@]}" | sort | sed -n 1,3p
        x=$(for i in 1 2 3; do (echo "sub $i"; printf 'ü%.0s' $(seq 1 $i)); echo; done)
        echo "$x"
        arr=($(echo "c b a ä" | tr ' ' '\n' | sort)); echo "${arr[*]}"
        f() { local v="$1"; echo "${v//a/A}" ; }; f "banana"
        echo "${s:0:12}" | wc -m
        """;

    [ProgramFact("bash")]
    public void BashScriptsMatch()
        => PreloadHarness.AssertSameWithPreload("bash", ["-c", BashScript], minMallocs: 100);

    [ProgramFact("ls")]
    public void LsLongMatches()
        => PreloadHarness.AssertSameWithPreload("ls", ["-l", "/usr/bin", "/usr/lib/x86_64-linux-gnu"], minMallocs: 100);

    [ProgramFact("locale")]
    public void LocaleMatches()
    {
        PreloadHarness.AssertSameWithPreload("locale", [], minMallocs: 10);
        PreloadHarness.AssertSameWithPreload("locale", ["-a"], minMallocs: 10);
    }

    private const string PythonScript = """
        import threading, hashlib
        results = [None] * 4
        def work(k):
            h = hashlib.sha256()
            for rnd in range(6):
                d = {f"key{k}-{i}": ("v" * (i % 300)) + str(i) for i in range(40000)}
                l = [list(range(i % 50)) for i in range(20000)]
                s = "".join(str(i) for i in range(100000))
                big = [bytes(1000 + i % 5000) for i in range(300)]
                h.update(str(len(d)).encode()); h.update(str(sum(map(len, l))).encode())
                h.update(s[-100:].encode()); h.update(str(sum(map(len, big))).encode())
                h.update(d[f"key{k}-{rnd * 100}"].encode())
                del d, l, s, big
            results[k] = h.hexdigest()
        ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
        print("\n".join(results)); print("é ok")
        """;

    // The malloc family's contract, checked from C under the preload: calloc zeroes (also reused
    // memory), realloc keeps contents up to the smaller size, usable sizes are writable, alignments
    // are honoured, errno and error results are glibc's. Four threads, random sizes up to 1 MiB.
    private const string ContractSource = """
        #define _GNU_SOURCE
        #include <errno.h>
        #include <malloc.h>
        #include <pthread.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <unistd.h>
        #define CHECK(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); exit(1); } } while (0)
        enum { SLOTS = 512, OPS = 20000 };
        static unsigned rnd(unsigned *s) { *s = *s * 1103515245u + 12345u; return *s >> 8; }
        static size_t size_of(unsigned *s) { unsigned r = rnd(s) % 100; return r < 70 ? rnd(s) % 512 : r < 95 ? rnd(s) % 65536 : rnd(s) % (1 << 20); }
        static void fill(unsigned char *p, size_t n, unsigned char tag) { for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(tag + i); }
        static int same(const unsigned char *p, size_t n, unsigned char tag) { for (size_t i = 0; i < n; i++) if (p[i] != (unsigned char)(tag + i)) return 0; return 1; }
        static void *worker(void *arg) {
            unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;
            unsigned char *p[SLOTS] = {0}; size_t n[SLOTS] = {0}; unsigned char tag[SLOTS] = {0};
            for (int op = 0; op < OPS; op++) {
                int i = rnd(&seed) % SLOTS;
                if (p[i]) CHECK(same(p[i], n[i], tag[i]));
                unsigned kind = rnd(&seed) % 8;
                size_t sz = size_of(&seed);
                if (p[i] && kind < 3) {                      /* realloc keeps the prefix */
                    unsigned char *q = realloc(p[i], sz ? sz : 1);
                    CHECK(q != NULL);
                    size_t keep = n[i] < (sz ? sz : 1) ? n[i] : (sz ? sz : 1);
                    CHECK(same(q, keep, tag[i]));
                    p[i] = q; n[i] = sz ? sz : 1;
                } else {
                    free(p[i]);
                    if (kind == 3) { p[i] = calloc(1, sz); CHECK(p[i] != NULL); for (size_t k = 0; k < sz; k++) CHECK(p[i][k] == 0); }
                    else if (kind == 4) { size_t a = (size_t)16 << (rnd(&seed) % 9); void *q; CHECK(posix_memalign(&q, a, sz) == 0); CHECK(((uintptr_t)q & (a - 1)) == 0); p[i] = q; }
                    else if (kind == 5) { size_t a = (size_t)8 << (rnd(&seed) % 10); p[i] = aligned_alloc(a, sz); CHECK(p[i] && ((uintptr_t)p[i] & (a - 1)) == 0); }
                    else if (kind == 6) { p[i] = memalign(4096, sz); CHECK(p[i] && ((uintptr_t)p[i] & 4095) == 0); }
                    else { p[i] = malloc(sz); CHECK(p[i] != NULL); CHECK(((uintptr_t)p[i] & 15) == 0 || sz < 16); }
                    n[i] = sz;
                }
                size_t u = malloc_usable_size(p[i]);
                CHECK(u >= n[i]);
                memset(p[i] + n[i], 0xee, u - n[i]);             /* the usable tail is ours to write */
                tag[i] = (unsigned char)rnd(&seed);
                fill(p[i], n[i], tag[i]);
            }
            for (int i = 0; i < SLOTS; i++) { if (p[i]) CHECK(same(p[i], n[i], tag[i])); free(p[i]); }
            return NULL;
        }
        int main(void) {
            errno = 1234; void *x = malloc(100); CHECK(errno == 1234); free(x); CHECK(errno == 1234);
            CHECK(malloc_usable_size(NULL) == 0);
            errno = 0; CHECK(malloc((size_t)-1 / 2) == NULL && errno == ENOMEM);
            volatile size_t big = (size_t)1 << 40;
            errno = 0; CHECK(calloc(big, big) == NULL && errno == ENOMEM);
            void *q = (void *)1; CHECK(posix_memalign(&q, 24, 8) == EINVAL && q == (void *)1);
            CHECK(realloc(malloc(10), 0) == NULL);
            void *v = valloc(100); CHECK(v && ((uintptr_t)v & 4095) == 0); free(v);
            void *pv = pvalloc(1); CHECK(pv && ((uintptr_t)pv & 4095) == 0 && malloc_usable_size(pv) >= 4096); free(pv);
            pthread_t t[4];
            for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
            for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
            puts("contract ok");
            return 0;
        }
        """;

    [ProgramFact("gcc")]
    public void MallocFamilyContractHolds() => CompileAndCompare("gcc", ["-O1", "-pthread"], "contract.c", ContractSource, minMallocs: 1_000);

    // A second preloaded library that reports every dlopen/dlerror call reaching it through the PLT.
    private const string DlWatchSource = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <unistd.h>
        static void say(const char *m) { (void)!write(2, m, __builtin_strlen(m)); }
        char *dlerror(void) { say("[dlwatch] dlerror\n"); return ((char *(*)(void))dlsym(RTLD_NEXT, "dlerror"))(); }
        void *dlopen(const char *f, int m) { say("[dlwatch] dlopen "); say(f ? f : "(null)"); say("\n"); return ((void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen"))(f, m); }
        """;

    /// <summary>
    /// Regression test for the setlocale hang (docs/preload.md): the runtime must never bind imports
    /// lazily, because a failed dlopen probe calls dlerror, whose dcgettext takes glibc's setlocale lock
    /// for reading; inside a malloc made under that lock's write side this corrupts the lock. With
    /// DirectPInvoke no dlerror call happens at all while a UTF-8 locale is set up, and the only dlopen
    /// is the heap's own successful load of libc.so.6 at start.
    /// </summary>
    [ProgramFact("gcc", "locale", "bash")]
    public void RuntimeMakesNoDlopenOrDlerrorCalls()
    {
        string dir = Directory.CreateTempSubdirectory("nh-preload-dlwatch-").FullName;
        try
        {
            string src = Path.Combine(dir, "dlwatch.c"), so = Path.Combine(dir, "libdlwatch.so");
            File.WriteAllText(src, DlWatchSource);
            RunResult cc = PreloadHarness.Run("gcc", ["-O2", "-shared", "-fPIC", "-o", so, src], preload: false, locale: null);
            Assert.True(cc.ExitCode == 0, "gcc failed:\n" + cc);
            var env = new Dictionary<string, string> { ["LD_PRELOAD"] = PreloadHarness.Library + ":" + so };
            foreach (string[] cmd in new[] { new[] { "locale" }, new[] { "bash", "-c", "printf '%s\\n' é | wc -m; ls / >/dev/null" } })
            {
                RunResult r = PreloadHarness.Run(cmd[0], cmd[1..], preload: true, locale: "C.UTF-8", env: env);
                Assert.True(r.ExitCode == 0, r.ToString());
                // The heap's one explicit dlopen (libc.so.6, to find sem_post at start) succeeds; any
                // other dlopen would be a lazily bound import probing names, and dlerror must never run.
                string[] calls = r.Stderr.Split('\n').Where(l => l.StartsWith("[dlwatch]", StringComparison.Ordinal)).ToArray();
                Assert.All(calls, c => Assert.Equal("[dlwatch] dlopen libc.so.6", c));
                Assert.True(r.StatsPrinted, "no NativeHeap statistics: the preload was not in effect\n" + r);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [ProgramFact("/usr/bin/python3")]
    public void PythonThreadsMatch()
        => PreloadHarness.AssertSameWithPreload("/usr/bin/python3", ["-c", PythonScript], minMallocs: 5_000,
            timeout: TimeSpan.FromMinutes(3));

    [ProgramFact("sort")]
    public void SortOf100MbMatches()
    {
        string input = PreloadHarness.TempPath("sort-input.txt");
        string outPlain = PreloadHarness.TempPath("sort-plain.txt");
        string outNh = PreloadHarness.TempPath("sort-nh.txt");
        try
        {
            WriteSortInput(input, 100L << 20);
            foreach (string? locale in PreloadHarness.Locales)
            {
                var t = TimeSpan.FromMinutes(4);
                RunResult plain = PreloadHarness.Run("sort", [input], preload: false, locale, t, stdoutFile: outPlain);
                RunResult nh = PreloadHarness.Run("sort", [input], preload: true, locale, t, stdoutFile: outNh);
                Assert.True(plain.ExitCode == 0, plain.ToString());
                Assert.True(nh.ExitCode == 0, nh.ToString());
                Assert.Equal(new FileInfo(input).Length, new FileInfo(outNh).Length);
                Assert.Equal(PreloadHarness.Sha256(outPlain), PreloadHarness.Sha256(outNh));
                Assert.Equal(plain.Stderr, nh.Stderr);
                Assert.True(nh.StatsPrinted && nh.NativeHeapMallocs > 0, "sort: no NativeHeap statistics\n" + nh);
            }
        }
        finally
        {
            File.Delete(input);
            File.Delete(outPlain);
            File.Delete(outNh);
        }
    }

    /// <summary>Lines of random words, numbers and some non-ASCII text, deterministic, about <paramref name="bytes"/> long.</summary>
    private static void WriteSortInput(string path, long bytes)
    {
        var rng = new Random(12345);
        string[] syllables = ["ka", "zu", "mé", "ri", "to", "ñe", "lo", "Ä", "sa", "pü", "x", "Q"];
        using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var sb = new StringBuilder();
        long written = 0;
        while (written < bytes)
        {
            sb.Clear();
            int n = rng.Next(1, 8);
            for (int i = 0; i < n; i++) sb.Append(syllables[rng.Next(syllables.Length)]);
            sb.Append(' ').Append(rng.Next(0, 1_000_000)).Append(' ');
            for (int i = rng.Next(0, 60); i > 0; i--) sb.Append((char)('a' + rng.Next(26)));
            w.Write(sb);
            w.Write('\n');
            written += Encoding.UTF8.GetByteCount(sb.ToString()) + 1;
        }
    }

    [ProgramFact("sqlite3")]
    public void SqliteMatches()
    {
        var sql = new StringBuilder();
        sql.AppendLine("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, val REAL, blob BLOB);");
        sql.AppendLine("CREATE INDEX t_name ON t(name);");
        sql.AppendLine("BEGIN;");
        for (int i = 0; i < 5000; i++)
            sql.AppendLine($"INSERT INTO t(name, val, blob) VALUES ('name{i * 7919 % 5000}-é', {i * 1.5}, zeroblob({i % 700}));");
        sql.AppendLine("COMMIT;");
        sql.AppendLine("SELECT count(*), sum(val), sum(length(blob)), min(name), max(name) FROM t;");
        sql.AppendLine("SELECT substr(name, 1, 6) AS p, count(*), avg(val) FROM t GROUP BY p ORDER BY p LIMIT 20;");
        sql.AppendLine("SELECT group_concat(id) FROM (SELECT id FROM t WHERE name LIKE 'name1%' ORDER BY val DESC LIMIT 50);");
        PreloadHarness.AssertSameWithPreload("sqlite3", [":memory:"], minMallocs: 100, stdin: sql.ToString());
    }

    /// <summary>
    /// fork() while four threads allocate and free without pause: every child allocates and frees
    /// (small and large blocks) and exits 0. The library's pthread_atfork handlers take every heap lock
    /// around fork, so no child inherits a lock held by a thread it does not have.
    /// </summary>
    private const string ForkSource = """
        /* Threads allocate and free without pause while the main thread forks; each child allocates and frees
           (touching bins, arenas and the spare pool) and exits. Prints "forks ok" when every child exited 0. */
        #include <pthread.h>
        #include <signal.h>
        #include <stdatomic.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/wait.h>
        #include <unistd.h>

        static atomic_int stop;

        static void *churn(void *arg)
        {
            unsigned seed = (unsigned)(uintptr_t)arg;
            void *slots[256] = {0};
            while (!atomic_load(&stop)) {
                unsigned i = (seed = seed * 1103515245u + 12345u) >> 24;
                free(slots[i]);
                size_t n = (seed >> 8) % 5 == 0 ? 20000 + (seed >> 12) % 300000 : 8 + (seed >> 12) % 2000;
                slots[i] = malloc(n);
                if (slots[i]) memset(slots[i], 1, 8);
            }
            for (int i = 0; i < 256; i++) free(slots[i]);
            return NULL;
        }

        int main(int argc, char **argv)
        {
            int forks = argc > 1 ? atoi(argv[1]) : 200;
            pthread_t t[4];
            for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1));
            int bad = 0;
            for (int f = 0; f < forks; f++) {
                pid_t pid = fork();
                if (pid == 0) {
                    alarm(10);   /* a deadlocked child dies by SIGALRM instead of hanging the test */
                    for (int k = 0; k < 2000; k++) {
                        void *p = malloc(8 + (k * 37) % 3000);
                        void *q = malloc(20000 + k * 13);
                        free(p);
                        free(q);
                    }
                    _exit(0);
                }
                int status = 0;
                waitpid(pid, &status, 0);
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) bad++;
            }
            atomic_store(&stop, 1);
            for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
            if (bad) printf("%d of %d children failed\n", bad, forks);
            else printf("forks ok\n");
            return bad != 0;
        }
        """;

    [ProgramFact("gcc")]
    public void ForkWhileThreadsAllocate() => CompileAndCompare("gcc", ["-O2", "-pthread"], "fork.c", ForkSource, minMallocs: 10_000);

    private const string CppSource = """
        #include <cstdio>
        #include <map>
        #include <memory>
        #include <string>
        #include <thread>
        #include <vector>
        struct Node { std::unique_ptr<Node> next; std::string s; };
        int main() {
            std::vector<unsigned long> sums(4);
            std::vector<std::thread> ts;
            for (int t = 0; t < 4; t++)
                ts.emplace_back([t, &sums] {
                    unsigned long sum = 0;
                    for (int round = 0; round < 20; round++) {
                        std::map<int, std::string> m;
                        for (int i = 0; i < 5000; i++) m[i * 31 % 7001] = std::string(i % 200, char('a' + t));
                        std::unique_ptr<Node> head;
                        for (int i = 0; i < 5000; i++) { auto n = new Node{std::move(head), std::to_string(i)}; head.reset(n); }
                        std::vector<std::vector<int>> vv(1000);
                        for (int i = 0; i < 1000; i++) vv[i].resize(i * 3 + 1, i);
                        for (auto& kv : m) sum += kv.second.size();
                        for (auto& v : vv) sum += v.size();
                        int* big = new int[100000 + round];
                        big[round] = round; sum += big[round];
                        delete[] big;
                        while (head) head = std::move(head->next);
                    }
                    sums[t] = sum;
                });
            for (auto& th : ts) th.join();
            for (int t = 0; t < 4; t++) std::printf("thread %d: %lu\n", t, sums[t]);
        }
        """;

    [ProgramFact("g++")]
    public void CppNewDeleteThreadsMatch() => CompileAndCompare("g++", ["-O2", "-pthread"], "prog.cpp", CppSource, minMallocs: 5_000);

    // jemalloc's extended API from the drop-in library: a program written for jemalloc finds mallocx &
    // co. in the preloaded library (dlsym, as it would resolve them from a preloaded jemalloc), its
    // malloc_conf (exported with -rdynamic) is applied before NATIVEHEAP_CONF, free() takes mallocx
    // blocks, and malloc_stats_print reaches malloc_message when no callback is given.
    private const string JemallocApiSource = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #define CHECK(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #c); exit(1); } } while (0)
        const char *malloc_conf = "narenas:3";
        static size_t g_bytes;
        static void count(void *o, const char *s) { (void)o; g_bytes += strlen(s); }
        int main(void) {
            void *(*mallocx)(size_t, int) = dlsym(RTLD_DEFAULT, "mallocx");
            void *(*rallocx)(void *, size_t, int) = dlsym(RTLD_DEFAULT, "rallocx");
            size_t (*xallocx)(void *, size_t, size_t, int) = dlsym(RTLD_DEFAULT, "xallocx");
            size_t (*sallocx)(const void *, int) = dlsym(RTLD_DEFAULT, "sallocx");
            void (*dallocx)(void *, int) = dlsym(RTLD_DEFAULT, "dallocx");
            void (*sdallocx)(void *, size_t, int) = dlsym(RTLD_DEFAULT, "sdallocx");
            size_t (*nallocx)(size_t, int) = dlsym(RTLD_DEFAULT, "nallocx");
            int (*mallctl)(const char *, void *, size_t *, void *, size_t) = dlsym(RTLD_DEFAULT, "mallctl");
            int (*nametomib)(const char *, size_t *, size_t *) = dlsym(RTLD_DEFAULT, "mallctlnametomib");
            int (*bymib)(const size_t *, size_t, void *, size_t *, void *, size_t) = dlsym(RTLD_DEFAULT, "mallctlbymib");
            void (*stats)(void (*)(void *, const char *), void *, const char *) = dlsym(RTLD_DEFAULT, "malloc_stats_print");
            void (**message)(void *, const char *) = dlsym(RTLD_DEFAULT, "malloc_message");
            CHECK(mallocx && rallocx && xallocx && sallocx && dallocx && sdallocx && nallocx && mallctl && nametomib && bymib && stats && message);
            unsigned char *p = mallocx(100, 0x40 | 6);                       /* MALLOCX_ZERO | MALLOCX_LG_ALIGN(6) */
            CHECK(p && ((uintptr_t)p & 63) == 0 && p[99] == 0 && sallocx(p, 0) >= 100);
            memset(p, 7, 100);
            p = rallocx(p, 100000, 0);
            CHECK(p && p[99] == 7 && sallocx(p, 0) >= 100000 && xallocx(p, 100000, 0, 0) >= 100000);
            CHECK(nallocx(100, 0) == sallocx(mallocx(100, 0), 0));
            dallocx(p, 0);
            void *q = mallocx(5000, 0); sdallocx(q, 5000, 0);
            free(mallocx(64, 0));                                           /* one heap: free() takes it */
            unsigned narenas = 0; size_t len = sizeof narenas;
            CHECK(mallctl("opt.narenas", &narenas, &len, NULL, 0) == 0 && narenas == 3);
            size_t mib[4], miblen = 4; unsigned n2 = 0; len = sizeof n2;
            CHECK(nametomib("opt.narenas", mib, &miblen) == 0 && bymib(mib, miblen, &n2, &len, NULL, 0) == 0 && n2 == 3);
            CHECK(mallctl("no.such.name", NULL, NULL, NULL, 0) == 2);
            stats(count, NULL, "J"); CHECK(g_bytes > 100);
            size_t before = g_bytes; *message = count; stats(NULL, NULL, "J"); *message = NULL; CHECK(g_bytes > 2 * before - 10);
            puts("jemalloc api ok");
            return 0;
        }
        """;

    [ProgramFact("gcc")]
    public void JemallocApiIsExportedByTheDropIn()
    {
        string dir = Directory.CreateTempSubdirectory("nh-preload-je-").FullName;
        try
        {
            string src = Path.Combine(dir, "je.c"), exe = Path.Combine(dir, "je");
            File.WriteAllText(src, JemallocApiSource);
            RunResult cc = PreloadHarness.Run("gcc", ["-O1", "-rdynamic", "-o", exe, src, "-ldl"], preload: false, locale: null, TimeSpan.FromMinutes(3));
            Assert.True(cc.ExitCode == 0, "gcc failed:\n" + cc);
            RunResult r = PreloadHarness.Run(exe, [], preload: true, locale: null, TimeSpan.FromMinutes(2));
            Assert.True(r.ExitCode == 0 && r.Stdout.Contains("jemalloc api ok"), r.ToString());
            Assert.True(r.StatsPrinted, "no NativeHeap statistics: the preload was not in effect\n" + r);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Compiles a program without the preload, then runs it with and without and compares.</summary>
    private static void CompileAndCompare(string compiler, string[] flags, string fileName, string source, int minMallocs)
    {
        string dir = Directory.CreateTempSubdirectory("nh-preload-cc-").FullName;
        try
        {
            string src = Path.Combine(dir, fileName), exe = Path.Combine(dir, "prog");
            File.WriteAllText(src, source);
            RunResult cc = PreloadHarness.Run(compiler, [.. flags, "-o", exe, src], preload: false, locale: null, TimeSpan.FromMinutes(3));
            Assert.True(cc.ExitCode == 0, $"{compiler} failed:\n" + cc);
            PreloadHarness.AssertSameWithPreload(exe, [], minMallocs);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [ProgramFact("redis-server", "redis-cli", "redis-benchmark")]
    public void RedisServesBenchmarkAndSameReplies()
    {
        string commands = string.Join("\n", Enumerable.Range(0, 300).Select(i =>
            i % 3 == 0 ? $"SET key:{i} value-{new string('x', i)}" : i % 3 == 1 ? $"LPUSH list:{i % 7} item{i}" : $"GET key:{i - 2}"))
            + "\nLRANGE list:3 0 -1\nDBSIZE\nSTRLEN key:297\n";
        foreach (string? locale in PreloadHarness.Locales)
        {
            string plain = RedisSession(preload: false, locale, commands, out _);
            string nh = RedisSession(preload: true, locale, commands, out RunResult server);
            Assert.Equal(plain, nh);
            Assert.True(server.StatsPrinted, "redis-server printed no NativeHeap statistics:\n" + server);
            Assert.True(server.NativeHeapMallocs >= 10_000, $"redis-server: NativeHeap served {server.NativeHeapMallocs} allocations");
        }
    }

    /// <summary>Starts redis-server on a free loopback port, runs redis-benchmark and the commands, shuts it down.</summary>
    private static string RedisSession(bool preload, string? locale, string commands, out RunResult server)
    {
        int port = FreePort();
        string p = port.ToString();
        var t = TimeSpan.FromMinutes(3);
        RunResult? srv = null;
        var serverTask = Task.Run(() => srv = PreloadHarness.Run("redis-server",
            ["--port", p, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"], preload, locale, t));
        try
        {
            WaitForPort(port, serverTask);
            RunResult bench = PreloadHarness.Run("redis-benchmark", ["-p", p, "-n", "20000", "-r", "100000", "-P", "16", "-q", "-t", "set,get,lpush,lrange_100"],
                preload: false, locale, t);
            Assert.True(bench.ExitCode == 0 && bench.Stdout.Contains("LPUSH"), "redis-benchmark failed:\n" + bench);
            RunResult flush = PreloadHarness.Run("redis-cli", ["-p", p, "FLUSHALL"], preload: false, locale, t);
            Assert.True(flush.ExitCode == 0, flush.ToString());
            RunResult cli = PreloadHarness.Run("redis-cli", ["-p", p], preload: false, locale, t, stdin: commands);
            Assert.True(cli.ExitCode == 0, "redis-cli failed:\n" + cli);
            return cli.Stdout;
        }
        finally
        {
            PreloadHarness.Run("redis-cli", ["-p", p, "SHUTDOWN", "NOSAVE"], preload: false, locale, t);
            Assert.True(serverTask.Wait(TimeSpan.FromMinutes(1)), "redis-server did not stop after SHUTDOWN");
            server = srv!;
            Assert.True(server.ExitCode == 0, $"redis-server (preload {preload}) exited badly:\n{server}");
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static void WaitForPort(int port, Task serverTask)
    {
        for (int i = 0; i < 300; i++)
        {
            if (serverTask.IsCompleted) Assert.Fail("redis-server exited before listening: " + serverTask.Exception);
            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        Assert.Fail($"redis-server did not listen on port {port} within 30 s");
    }
}
