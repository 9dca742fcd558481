// Store throughput against the file system's own limit, in one process on the same disk:
//   fs-put    write a file with the store's durability (temp file, write, fsync, rename, fsync
//             of the folder): what any crash-safe PUT must at least pay
//   store-put store::Store::put of the same bytes (hash, encrypt, blob write, SQLite commit)
//   fs-get    read the file back (page cache warm, as for the store)
//   store-cold Store::open_object + read_at of every byte, one pass, from a Store opened afresh
//             (nothing cached: a SQLite lookup, a data-key unseal and decryption per GET)
//   store-2nd one more pass: the second read of each name, which the caches keep (a large
//             object was decrypted whole into the plaintext cache by its first whole read, if
//             it fit)
//   store-warm `repeat` more passes: served from what the caches kept
//   fs-sum / store-sum  what a consumer of the bytes pays (`repeat` passes each): fs-sum is
//             open + read into a buffer + a 64-bit sum of every byte + close; store-sum is
//             open_object + view() of the cached plaintext (read_at into the buffer where
//             nothing is lent) + the same sum. Both check the sum.
//   store-new one pass right after a PUT of new bytes to every object: the first GET after a
//             write
//   store-refill after garbage collection drops the blobs store-new replaced, one more PUT of
//             new bytes and a pass: the plain cache fills buffers the collected entries freed
//             (at most two objects' worth are kept: with --count 2 every fill is recycled,
//             against store-new's fresh ones)
// Each phase runs `threads` threads over `count` objects of `size` bytes and prints objects/s
// and MiB/s; store-warm reads every object `repeat` times, as fs-get does (a GET of 2000 small
// objects takes a few milliseconds, too short to time on a shared machine).
// Usage: moat_store_bench DIR [--count N] [--size BYTES] [--threads T] [--repeat R]
//        [--plain-mb MB]   (the store's plaintext cache budget, [store] plain_cache_mb)
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string dir;
    int count = 2000;
    std::size_t size = 4096;
    int threads = 4;
    int repeat = 1;     // passes over the objects in the GET phases
    int plain_mb = 64;  // StoreSettings::plain_cache_bytes in MiB
};

class BytesSource : public moat::store::BodySource {
public:
    explicit BytesSource(const std::string& s) : s_(s) {}
    moat::Result<std::size_t> read(char* buf, std::size_t n) override {
        std::size_t k = std::min(n, s_.size() - at_);
        std::memcpy(buf, s_.data() + at_, k);
        at_ += k;
        return k;
    }

private:
    const std::string& s_;
    std::size_t at_ = 0;
};

std::string payload(std::size_t size, int i) {
    std::string s(size, '\0');
    std::uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
    for (std::size_t j = 0; j < size; ++j) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s[j] = static_cast<char>(x);
    }
    return s;
}

bool fs_put(const std::string& dir, const std::string& name, const std::string& data) {
    std::string tmp = dir + "/." + name + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), (dir + "/" + name).c_str()) != 0) return false;
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return false;
    ok = ::fsync(dfd) == 0;
    ::close(dfd);
    return ok;
}

bool fs_get(const std::string& path, std::string& buf) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    std::size_t total = 0;
    for (;;) {
        ssize_t k = ::read(fd, buf.data(), buf.size());
        if (k <= 0) break;
        total += static_cast<std::size_t>(k);
    }
    ::close(fd);
    return total > 0;
}

// Adds bytes [off, off + n) of an object to the sum of its little-endian 64-bit words, as if the
// object were one buffer, whatever pieces it comes in (a file's reads, a store's slices). One
// pass over every byte, cheap enough that getting the bytes dominates.
std::uint64_t add_words(std::uint64_t sum, std::uint64_t off, const char* p, std::size_t n) {
    std::size_t i = 0;
    auto byte_at = [&](std::size_t j) {
        return static_cast<std::uint64_t>(static_cast<unsigned char>(p[j]))
               << (8 * ((off + j) % 8));
    };
    for (; i < n && (off + i) % 8 != 0; ++i) sum += byte_at(i);
    for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        sum += w;
    }
    for (; i < n; ++i) sum += byte_at(i);
    return sum;
}

bool fs_sum(const std::string& path, std::string& buf, std::uint64_t want) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    std::uint64_t off = 0, sum = 0;
    for (;;) {
        ssize_t k = ::read(fd, buf.data(), buf.size());
        if (k <= 0) break;
        sum = add_words(sum, off, buf.data(), static_cast<std::size_t>(k));
        off += static_cast<std::uint64_t>(k);
    }
    ::close(fd);
    return sum == want;
}

std::int64_t thread_cpu_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Prints objects/s and MiB/s of wall time, and the CPU time the phase's threads used per object
// (user + system): on a shared machine that figure moves far less than the wall-clock ones.
template <class F>
double run_phase(const char* name, const Options& o, int passes, F&& each) {
    const int total = o.count * passes;
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    std::atomic<std::int64_t> cpu_ns{0};
    auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < o.threads; ++t) {
        pool.emplace_back([&] {
            std::string scratch(std::max<std::size_t>(o.size, 1 << 16), '\0');
            std::int64_t c0 = thread_cpu_ns();
            for (int i = next++; i < total; i = next++)
                if (!each(i % o.count, scratch)) ++failures;
            cpu_ns += thread_cpu_ns() - c0;
        });
    }
    for (auto& th : pool) th.join();
    auto t1 = Clock::now();
    double secs = std::chrono::duration<double>(t1 - t0).count();
    // For `perf record -k monotonic` + `perf report --time START,END` of one phase.
    if (std::getenv("MOAT_BENCH_TIMES"))
        std::printf("%-12s monotonic %.6f,%.6f\n", name,
                    std::chrono::duration<double>(t0.time_since_epoch()).count(),
                    std::chrono::duration<double>(t1.time_since_epoch()).count());
    double ops = total / secs;
    std::printf(
        "%-12s %8d objects x %9zu B, %d threads: %10.0f objects/s %9.1f MiB/s %9.1f us "
        "cpu/object%s\n",
        name, total, o.size, o.threads, ops, ops * static_cast<double>(o.size) / 1048576.0,
        static_cast<double>(cpu_ns.load()) / 1000.0 / total, failures ? "  (FAILURES)" : "");
    return ops;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--count")
            o.count = std::atoi(val().c_str());
        else if (a == "--size")
            o.size = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--threads")
            o.threads = std::atoi(val().c_str());
        else if (a == "--repeat")
            o.repeat = std::atoi(val().c_str());
        else if (a == "--plain-mb")
            o.plain_mb = std::atoi(val().c_str());
        else if (o.dir.empty())
            o.dir = a;
        else {
            std::fprintf(
                stderr,
                "usage: moat_store_bench DIR [--count N] [--size B] [--threads T] [--repeat R] "
                "[--plain-mb MB]\n");
            return 2;
        }
    }
    if (o.dir.empty() || o.count <= 0 || o.size == 0 || o.threads <= 0 || o.repeat <= 0) {
        std::fprintf(
            stderr,
            "usage: moat_store_bench DIR [--count N] [--size B] [--threads T] [--repeat R] "
            "[--plain-mb MB]\n");
        return 2;
    }
    std::filesystem::remove_all(o.dir);
    std::filesystem::create_directories(o.dir + "/fs");
    std::vector<std::string> data;
    data.reserve(o.count);
    for (int i = 0; i < o.count; ++i) data.push_back(payload(o.size, i));

    std::string fsdir = o.dir + "/fs";
    run_phase("fs-put", o, 1, [&](int i, std::string&) {
        return fs_put(fsdir, "obj" + std::to_string(i), data[i]);
    });

    moat::store::StoreSettings ss;
    ss.dir = o.dir + "/store";
    ss.plain_cache_bytes = static_cast<std::size_t>(o.plain_mb) << 20;
    auto st = moat::store::Store::open(ss);
    if (!st) {
        std::fprintf(stderr, "store: %s\n", st.error().detail.c_str());
        return 1;
    }
    std::vector<std::string> versions(o.count);  // of the last put_all, per object
    auto put_all = [&](const char* phase) {
        moat::store::Store& store = **st;
        run_phase(phase, o, 1, [&](int i, std::string&) {
            BytesSource src(data[i]);
            moat::store::PutOptions po;
            po.expected_size = data[i].size();
            auto r = store.put("content", "bench/obj" + std::to_string(i), src, po);
            if (!r) return false;
            versions[i] = r->version_id;
            return true;
        });
    };
    put_all("store-put");
    // A Store opened afresh (as after a restart) has nothing cached.
    st->reset();
    st = moat::store::Store::open(ss);
    if (!st) {
        std::fprintf(stderr, "store: %s\n", st.error().detail.c_str());
        return 1;
    }
    moat::store::Store& store = **st;
    run_phase("fs-get", o, o.repeat, [&](int i, std::string& buf) {
        return fs_get(fsdir + "/obj" + std::to_string(i), buf);
    });
    auto store_get = [&](int i, std::string& buf) {
        auto r = store.open_object("content", "bench/obj" + std::to_string(i));
        if (!r) return false;
        std::uint64_t off = 0;
        for (;;) {
            auto k = (*r)->read_at(off, buf.data(), buf.size());
            if (!k) return false;
            if (*k == 0) break;
            off += *k;
        }
        return off == data[i].size();
    };
    run_phase("store-cold", o, 1, store_get);
    run_phase("store-2nd", o, 1, store_get);
    run_phase("store-warm", o, o.repeat, store_get);
    std::vector<std::uint64_t> sums;
    for (const auto& d : data) sums.push_back(add_words(0, 0, d.data(), d.size()));
    run_phase("fs-sum", o, o.repeat, [&](int i, std::string& buf) {
        return fs_sum(fsdir + "/obj" + std::to_string(i), buf, sums[i]);
    });
    run_phase("store-sum", o, o.repeat, [&](int i, std::string& buf) {
        auto r = store.open_object("content", "bench/obj" + std::to_string(i));
        if (!r) return false;
        const std::uint64_t size = (*r)->info().size;
        std::uint64_t off = 0, sum = 0;
        while (off < size) {
            if (auto lent = (*r)->view(off, static_cast<std::size_t>(size - off))) {
                sum = add_words(sum, off, lent->bytes.data(), lent->bytes.size());
                off += lent->bytes.size();
                continue;
            }
            auto k = (*r)->read_at(off, buf.data(), buf.size());
            if (!k || *k == 0) return false;
            sum = add_words(sum, off, buf.data(), *k);
            off += *k;
        }
        return sum == sums[i];
    });
    // New bytes for every object (the last byte flipped: new blobs, not deduplicated), then the
    // first GET of each.
    for (auto& d : data) d.back() = static_cast<char>(~d.back());
    auto first = versions;
    put_all("store-put2");
    run_phase("store-new", o, 1, store_get);
    // The bucket keeps versions: the first ones' blobs go once those versions are removed.
    for (int i = 0; i < o.count; ++i)
        if (!store.remove("content", "bench/obj" + std::to_string(i), first[i])) {
            std::fprintf(stderr, "store: removing a version failed\n");
            return 1;
        }
    if (!store.collect_garbage()) {
        std::fprintf(stderr, "store: garbage collection failed\n");
        return 1;
    }
    for (auto& d : data) d.front() = static_cast<char>(~d.front());
    put_all("store-put3");
    run_phase("store-refill", o, 1, store_get);
    return 0;
}
