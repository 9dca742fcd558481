// FileCache::get() on the hit path: one first-level lookup, one fstatat(), no lock.
// Not wired into CMake; build by hand against moat_content, moat_core and benchmark::benchmark.

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "content/encoding.h"
#include "content/file_cache.h"

namespace {

namespace fs = std::filesystem;
using moat::content::FileCache;
using moat::content::FileCacheSettings;

struct Site {
    fs::path dir;
    Site() {
        std::string tmpl = (fs::temp_directory_path() / "moat-fcb-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
        dir = tmpl;
        for (int i = 0; i < 64; ++i) {
            std::ofstream f(dir / ("page" + std::to_string(i) + ".html"));
            for (int j = 0; j < 200; ++j) f << "<p>Some text to make the page compressible.</p>\n";
        }
    }
    ~Site() { fs::remove_all(dir); }
};

void BM_GetHit(benchmark::State& state) {
    Site site;
    FileCacheSettings s;
    s.brotli_level = 5;
    s.zstd_level = 3;
    FileCache cache(s);
    std::string root = site.dir.string();
    (void)cache.get(root, "page0.html", 0, true, true);
    cache.wait_idle();
    for (auto _ : state) {
        auto r = cache.get(root, "page0.html", 0, true, true);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_GetHit);

void BM_GetHitManyFiles(benchmark::State& state) {
    Site site;
    FileCacheSettings s;
    s.brotli_level = 5;
    s.zstd_level = 3;
    FileCache cache(s);
    std::string root = site.dir.string();
    std::string names[64];
    for (int i = 0; i < 64; ++i) {
        names[i] = "page" + std::to_string(i) + ".html";
        (void)cache.get(root, names[i], 0, true, true);
    }
    cache.wait_idle();
    int i = 0;
    for (auto _ : state) {
        auto r = cache.get(root, names[i++ & 63], 0, true, true);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_GetHitManyFiles);

// Every thread is a worker on the same hot file: measures shared refcount traffic.
void BM_GetHitThreads(benchmark::State& state) {
    static Site* site = nullptr;
    static FileCache* cache = nullptr;
    if (state.thread_index() == 0) {
        site = new Site;
        FileCacheSettings s;
        s.workers = state.threads();
        cache = new FileCache(s);
    }
    // Benchmark synchronises threads before the loop starts.
    std::string root;
    for (auto _ : state) {
        if (root.empty()) root = site->dir.string();
        auto r = cache->get(root, "page1.html", state.thread_index(), false, false);
        benchmark::DoNotOptimize(r);
    }
    if (state.thread_index() == 0) {
        delete cache;
        delete site;
    }
}
BENCHMARK(BM_GetHitThreads)->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
