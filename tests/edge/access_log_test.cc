#include "edge/access_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace moat::edge {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using TempDir = test_support::TempDir;

std::chrono::system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
    using namespace std::chrono;
    return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct Gunzipped {
    std::string text;
    int members = 0;
    bool ok = false;
};

// Inflates every gzip member of the file in turn, as gunzip does.
Gunzipped gunzip(const std::string& gz) {
    Gunzipped out;
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return out;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    zs.avail_in = static_cast<uInt>(gz.size());
    char buf[16384];
    for (;;) {
        zs.next_out = reinterpret_cast<Bytef*>(buf);
        zs.avail_out = sizeof buf;
        int rc = inflate(&zs, Z_NO_FLUSH);
        out.text.append(buf, sizeof buf - zs.avail_out);
        if (rc == Z_STREAM_END) {
            ++out.members;
            if (zs.avail_in == 0) {
                out.ok = true;
                break;
            }
            inflateReset(&zs);
        } else if (rc != Z_OK) {
            break;  // corrupt, or truncated (Z_BUF_ERROR with no input left)
        }
    }
    inflateEnd(&zs);
    return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        std::size_t i = s.find(sep, start);
        if (i == std::string::npos) {
            out.push_back(s.substr(start));
            return out;
        }
        out.push_back(s.substr(start, i - start));
        start = i + 1;
    }
}

// Log lines without the two header lines; checks that the header is there, once.
std::vector<std::string> data_lines(const std::string& text) {
    auto lines = split(text, '\n');
    EXPECT_EQ(lines.back(), "");  // every line ends with '\n'
    lines.pop_back();
    EXPECT_GE(lines.size(), 2u);
    if (lines.size() < 2) return {};
    EXPECT_EQ(lines[0] + "\n" + lines[1] + "\n", std::string(kAccessLogHeader));
    std::vector<std::string> rest(lines.begin() + 2, lines.end());
    for (const auto& l : rest) EXPECT_NE(l[0], '#') << "header repeated inside the file";
    return rest;
}

std::vector<std::string> log_files(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.is_regular_file()) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

AccessRecord simple_record(std::string site, std::string env,
                           std::chrono::system_clock::time_point t, std::string path) {
    AccessRecord r;
    r.site = std::move(site);
    r.env = std::move(env);
    r.time = t;
    r.sc_bytes = 1234;
    r.client_ip = "192.0.2.10";
    r.client_port = 50000;
    r.method = "GET";
    r.cs_host = r.site;
    r.uri_stem = std::move(path);
    r.status = 200;
    r.user_agent = "curl/7.88.1";
    r.result_type = r.response_result_type = r.detailed_result_type = "Hit";
    r.request_id = make_request_id();
    r.host_header = "www." + r.site;
    r.protocol = "https";
    r.cs_bytes = 80;
    r.time_taken = 1500us;
    r.time_to_first_byte = 900us;
    r.ssl_protocol = "TLSv1.3";
    r.ssl_cipher = "TLS_AES_128_GCM_SHA256";
    r.protocol_version = "HTTP/2.0";
    r.content_type = "text/html";
    r.content_len = 1000;
    return r;
}

TEST(AccessLogFormat, EscapesLikeCloudFront) {
    struct Case {
        std::string in, want;
    };
    const Case cases[] = {
        {"", "-"},
        {"plain/Path-_.~x", "plain/Path-_.%7Ex"},
        {"a b\tc\nd", "a%20b%09c%0Ad"},
        {"<>\"#%{}|\\^~[]`'", "%3C%3E%22%23%25%7B%7D%7C%5C%5E%7E%5B%5D%60%27"},
        {std::string("\x00\x1f\x7f\x80\xff", 5), "%00%1F%7F%80%FF"},
        {"Mozilla/5.0 (X11; Linux)", "Mozilla/5.0%20(X11;%20Linux)"},
        {"a=1&b=2,c;d:e@f!$*()+", "a=1&b=2,c;d:e@f!$*()+"},
    };
    for (const auto& c : cases) {
        std::string out;
        append_log_escaped(out, c.in);
        EXPECT_EQ(out, c.want) << c.in;
    }
}

TEST(AccessLogFormat, DistributionIdIsStableAndLooksLikeCloudFronts) {
    std::string id = distribution_id("example.com");
    EXPECT_EQ(id, distribution_id("example.com"));
    EXPECT_NE(id, distribution_id("example.org"));
    ASSERT_EQ(id.size(), 14u);
    EXPECT_EQ(id[0], 'E');
    for (char c : id.substr(1)) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) << c;
    // SHA-256("example.com") = a379a6f6eeafb9a55e37...; base32 (RFC 4648) of it, 13 characters.
    EXPECT_EQ(id, "EUN42N5XOV642K");
}

TEST(AccessLogFormat, RequestIdsAreUniqueAndCloudFrontShaped) {
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        std::string id = make_request_id();
        ASSERT_EQ(id.size(), kRequestIdLength);
        EXPECT_EQ(id.substr(54), "==");
        for (char c : id.substr(0, 54))
            ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
        seen.insert(std::move(id));
    }
    EXPECT_EQ(seen.size(), 10000u);
}

TEST(AccessLogFormat, SecondsHaveMillisecondPrecision) {
    AccessRecord r;
    const std::pair<std::chrono::microseconds, std::string> cases[] = {
        {0us, "0.000"},         {499us, "0.000"}, {500us, "0.001"},        {82'000us, "0.082"},
        {1'234'567us, "1.235"}, {-5us, "0.000"},  {61'000'000us, "61.000"}};
    for (const auto& [d, want] : cases) {
        r.time_taken = d;
        std::string line;
        append_access_line(line, r, "n1");
        EXPECT_EQ(split(line, '\t')[18], want) << d.count();
    }
}

TEST(AccessLog, RoundTripWritesThe33FieldsOfARecord) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "MOAT1");
    ASSERT_TRUE(log) << log.error().detail;

    AccessRecord r;
    r.site = "example.com";
    r.env = "prod";
    r.time = utc(2026, 11, 28, 10, 0, 1) + 250ms;
    r.sc_bytes = 5120;
    r.client_ip = "2001:db8::1";
    r.client_port = 51234;
    r.method = "GET";
    r.cs_host = "example.com";
    r.uri_stem = "/a b/%7Efile[1].html";
    r.status = 0;  // client left before the response started
    r.referer = "";
    r.user_agent = "Mozilla/5.0 (X11; Linux x86_64) \"quoted\"";
    r.query = "q=a b&x=<y>";
    r.cookie = "session=abc; theme=dark";
    r.result_type = "Error";
    r.request_id = "ZOWbNNNVyfE9eMn6Vgg7uxcT4RHOPG0CWJbTU4oYnDqR6oebE3YCfA==";
    r.host_header = "www.example.com";
    r.protocol = "https";
    r.cs_bytes = 321;
    r.time_taken = 82'400us;
    r.forwarded_for = "";
    r.ssl_protocol = "TLSv1.3";
    r.ssl_cipher = "TLS_AES_128_GCM_SHA256";
    r.response_result_type = "Error";
    r.protocol_version = "HTTP/2.0";
    r.time_to_first_byte = 1'000us;
    r.detailed_result_type = "ClientHungUpRequest";
    r.content_type = "text/html; charset=utf-8";
    r.content_len = 5000;
    r.range_start = 100;
    r.range_end = 199;
    (*log)->submit(std::move(r));
    (*log)->stop();

    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 1u);
    std::string want_name = tmp.path() + "/CloudFront/prod/example.com/" +
                            distribution_id("example.com") + ".2026-11-28-10." +
                            (*log)->unique_id() + ".gz";
    EXPECT_EQ(files[0], want_name);
    EXPECT_EQ((*log)->unique_id().size(), 8u);

    auto gz = gunzip(read_file(files[0]));
    ASSERT_TRUE(gz.ok);
    auto lines = data_lines(gz.text);
    ASSERT_EQ(lines.size(), 1u);
    const std::vector<std::string> want = {
        "2026-11-28",
        "10:00:01",
        "MOAT1",
        "5120",
        "2001:db8::1",
        "GET",
        "example.com",
        "/a%20b/%257Efile%5B1%5D.html",
        "000",
        "-",
        "Mozilla/5.0%20(X11;%20Linux%20x86_64)%20%22quoted%22",
        "q=a%20b&x=%3Cy%3E",
        "session=abc;%20theme=dark",
        "Error",
        "ZOWbNNNVyfE9eMn6Vgg7uxcT4RHOPG0CWJbTU4oYnDqR6oebE3YCfA==",
        "www.example.com",
        "https",
        "321",
        "0.082",
        "-",
        "TLSv1.3",
        "TLS_AES_128_GCM_SHA256",
        "Error",
        "HTTP/2.0",
        "-",
        "-",
        "51234",
        "0.001",
        "ClientHungUpRequest",
        "text/html;%20charset=utf-8",
        "5000",
        "100",
        "199",
    };
    ASSERT_EQ(want.size(), 33u);
    EXPECT_EQ(split(lines[0], '\t'), want);
    EXPECT_EQ((*log)->dropped(), 0u);
    EXPECT_EQ((*log)->write_failures(), 0u);
}

TEST(AccessLog, EmptyAndAbsentFieldsAreDashes) {
    AccessRecord r;  // nothing set
    std::string line;
    append_access_line(line, r, "n1");
    auto f = split(line.substr(0, line.size() - 1), '\t');
    ASSERT_EQ(f.size(), 33u);
    EXPECT_EQ(f[0], "1970-01-01");
    EXPECT_EQ(f[8], "000");
    for (int i : {4,  5,  6,  7,  9,  10, 11, 12, 13, 14, 15, 16,
                  19, 20, 21, 22, 23, 24, 25, 28, 29, 30, 31, 32})
        EXPECT_EQ(f[i], "-") << "field " << i + 1;
}

TEST(AccessLog, SplitsFilesByTheUtcHourOfEachRecord) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1");
    ASSERT_TRUE(log);
    (*log)->submit(simple_record("a.test", "prod", utc(2026, 3, 1, 10, 59, 59), "/1"));
    (*log)->submit(simple_record("a.test", "prod", utc(2026, 3, 1, 11, 0, 0), "/2"));
    (*log)->flush();
    // A late record of 10:30 goes into the 10 o'clock file, not the current one.
    (*log)->submit(simple_record("a.test", "prod", utc(2026, 3, 1, 10, 30, 0), "/3"));
    (*log)->stop();

    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 2u);
    EXPECT_NE(files[0].find(".2026-03-01-10."), std::string::npos) << files[0];
    EXPECT_NE(files[1].find(".2026-03-01-11."), std::string::npos) << files[1];
    auto ten = data_lines(gunzip(read_file(files[0])).text);
    auto eleven = data_lines(gunzip(read_file(files[1])).text);
    ASSERT_EQ(ten.size(), 2u);
    ASSERT_EQ(eleven.size(), 1u);
    EXPECT_EQ(split(ten[0], '\t')[7], "/1");
    EXPECT_EQ(split(ten[1], '\t')[7], "/3");
    EXPECT_EQ(split(eleven[0], '\t')[7], "/2");
}

TEST(AccessLog, SitesAndEnvironmentsGoToSeparateFolders) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path() + "/", "n1");
    ASSERT_TRUE(log);
    auto t = utc(2026, 3, 1, 12, 0, 0);
    (*log)->submit(simple_record("a.test", "prod", t, "/a-prod"));
    (*log)->submit(simple_record("a.test", "staging", t, "/a-staging"));
    (*log)->submit(simple_record("b.test", "prod", t, "/b-prod"));
    (*log)->submit(simple_record("../evil", "", t, "/evil"));  // cannot escape the log dir
    (*log)->stop();

    std::string id = (*log)->unique_id();
    auto name = [&](const std::string& env, const std::string& site) {
        return tmp.path() + "/CloudFront/" + env + "/" + site + "/" +
               distribution_id(site == "_._evil" ? "../evil" : site) + ".2026-03-01-12." + id +
               ".gz";
    };
    std::vector<std::string> want = {name("_", "_._evil"), name("prod", "a.test"),
                                     name("prod", "b.test"), name("staging", "a.test")};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(log_files(tmp.path()), want);
    auto lines = data_lines(gunzip(read_file(name("staging", "a.test"))).text);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(split(lines[0], '\t')[7], "/a-staging");

    struct stat st {};
    ASSERT_EQ(::stat((tmp.path() + "/CloudFront/prod/a.test").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0027, 0u);  // 0750 (less if the umask says so)
}

TEST(AccessLog, FullQueueDropsInsteadOfBlocking) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1", 4);
    ASSERT_TRUE(log);
    constexpr int kRecords = 20000;
    auto rec = simple_record("a.test", "prod", utc(2026, 3, 1, 12, 0, 0), "/");
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kRecords; ++i) {
        AccessRecord copy = rec;
        (*log)->submit(std::move(copy));
    }
    auto took = std::chrono::steady_clock::now() - start;
    (*log)->stop();
    // A 4-slot queue holds 4 batches of 64 KiB. Whether this loop outruns the writer depends on
    // the machine (under TSan it does not), so only the accounting is checked here;
    // FullQueueDropsWholeBatchesAndCountsTheirLines stalls the writer to force drops.
    EXPECT_LT(took, 2s);  // generous for sanitizers; blocking would take many poll periods
    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 1u);
    auto written = data_lines(gunzip(read_file(files[0])).text).size();
    EXPECT_EQ(written + (*log)->dropped(), static_cast<std::size_t>(kRecords));

    (*log)->submit(std::move(rec));  // after stop(): dropped, not written
    EXPECT_EQ(written + (*log)->dropped(), static_cast<std::size_t>(kRecords) + 1);
}

TEST(AccessLog, ManyThreadsLoseNothingWhenTheQueueIsLargeEnough) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1", 1 << 16);
    ASSERT_TRUE(log);
    constexpr int kThreads = 4, kPerThread = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i)
                (*log)->submit(simple_record("a.test", "prod", utc(2026, 3, 1, 12, 0, 0),
                                             "/" + std::to_string(t) + "/" + std::to_string(i)));
        });
    }
    for (auto& th : threads) th.join();
    (*log)->stop();
    EXPECT_EQ((*log)->dropped(), 0u);
    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 1u);
    auto lines = data_lines(gunzip(read_file(files[0])).text);
    std::set<std::string> paths;
    for (const auto& l : lines) paths.insert(split(l, '\t')[7]);
    EXPECT_EQ(paths.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

TEST(AccessLog, EachFlushAppendsAGzipMemberAndTheFileStaysReadable) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1");
    ASSERT_TRUE(log);
    auto t = utc(2026, 3, 1, 12, 0, 0);
    (*log)->submit(simple_record("a.test", "prod", t, "/first"));
    (*log)->flush();
    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 1u);
    auto one = gunzip(read_file(files[0]));  // readable while the log is still open
    EXPECT_TRUE(one.ok);
    EXPECT_EQ(one.members, 1);
    EXPECT_EQ(data_lines(one.text).size(), 1u);

    (*log)->submit(simple_record("a.test", "prod", t, "/second"));
    (*log)->submit(simple_record("a.test", "prod", t, "/third"));
    (*log)->flush();
    auto two = gunzip(read_file(files[0]));
    EXPECT_TRUE(two.ok);
    EXPECT_EQ(two.members, 2);
    auto lines = data_lines(two.text);  // the header only at the start of the first member
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(split(lines[2], '\t')[7], "/third");
    (*log)->stop();
    (*log)->stop();  // idempotent
    EXPECT_EQ(gunzip(read_file(files[0])).members, 2);
}

// Lines of the file (without the header lines) whose 8th field (uri) starts with prefix.
std::vector<std::string> uris_with_prefix(const std::vector<std::string>& lines,
                                          const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& l : lines) {
        auto uri = split(l, '\t')[7];
        if (uri.rfind(prefix, 0) == 0) out.push_back(uri);
    }
    return out;
}

TEST(AccessLogFormat, ViewOfARecordFormatsTheSameLine) {
    AccessRecord r = simple_record("a.test", "prod", utc(2026, 3, 1, 12, 0, 0), "/x y");
    r.referer = "https://a.test/";
    r.query = "q=<1>";
    r.range_start = 5;
    r.range_end = 9;
    std::string from_record, from_view;
    append_access_line(from_record, r, "n1");
    append_access_line(from_view, view_of(r), "n1");
    EXPECT_EQ(from_view, from_record);

    // new_request_id writes a fresh id in field 15 and nothing else changes.
    AccessView v = view_of(r);
    v.request_id = "ignored";
    v.new_request_id = true;
    std::string fresh;
    append_access_line(fresh, v, "n1");
    auto want = split(from_record, '\t');
    auto got = split(fresh, '\t');
    ASSERT_EQ(got.size(), 33u);
    EXPECT_EQ(got[14].size(), kRequestIdLength);
    EXPECT_EQ(got[14].substr(54), "==");
    EXPECT_NE(got[14], r.request_id);
    got[14] = want[14];
    EXPECT_EQ(got, want);
}

TEST(AccessLog, SubmittedViewsAreWrittenExactlyAsAppendAccessLineFormatsThem) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "MOAT1");
    ASSERT_TRUE(log);
    std::string want;
    for (int i = 0; i < 3; ++i) {
        AccessRecord r = simple_record("a.test", "prod", utc(2026, 3, 1, 12, i, 0),
                                       "/p" + std::to_string(i) + " \t\n%");
        r.user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 \"q\"";
        append_access_line(want, r, "MOAT1");
        (*log)->submit(view_of(r));  // the views only need to live during the call
    }
    (*log)->flush();
    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 1u);
    auto gz = gunzip(read_file(files[0]));
    ASSERT_TRUE(gz.ok);
    EXPECT_EQ(gz.text, std::string(kAccessLogHeader) + want);
}

TEST(AccessLog, OneBatchSplitsAcrossSitesAndHours) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1");
    ASSERT_TRUE(log);
    // All in one thread's batch (far below 64 KiB), interleaved.
    const struct {
        const char* site;
        int hour;
        const char* uri;
    } lines[] = {{"a.test", 10, "/a10-1"}, {"b.test", 10, "/b10-1"}, {"a.test", 11, "/a11-1"},
                 {"a.test", 10, "/a10-2"}, {"a.test", 10, "/a10-3"}, {"b.test", 10, "/b10-2"},
                 {"a.test", 11, "/a11-2"}};
    for (const auto& l : lines)
        (*log)->submit(
            view_of(simple_record(l.site, "prod", utc(2026, 3, 1, l.hour, 30, 0), l.uri)));
    (*log)->stop();
    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 3u);
    auto uris = [&](const std::string& site, const std::string& hour) {
        std::string name = tmp.path() + "/CloudFront/prod/" + site + "/" + distribution_id(site) +
                           ".2026-03-01-" + hour + "." + (*log)->unique_id() + ".gz";
        return uris_with_prefix(data_lines(gunzip(read_file(name)).text), "/");
    };
    EXPECT_EQ(uris("a.test", "10"), (std::vector<std::string>{"/a10-1", "/a10-2", "/a10-3"}));
    EXPECT_EQ(uris("a.test", "11"), (std::vector<std::string>{"/a11-1", "/a11-2"}));
    EXPECT_EQ(uris("b.test", "10"), (std::vector<std::string>{"/b10-1", "/b10-2"}));
}

// Full batches, partial batches taken by flush() while the threads go on, and the final ones
// taken by stop(): every line arrives once, and each thread's lines stay in order.
TEST(AccessLog, BatchesKeepEveryThreadsLinesInOrder) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1");
    ASSERT_TRUE(log);
    constexpr int kThreads = 3, kPerThread = 8000;  // ~2 MB each: many full batches
    std::atomic<int> running{kThreads};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            auto r = simple_record("a.test", "prod", utc(2026, 3, 1, 12, 0, 0), "");
            for (int i = 0; i < kPerThread; ++i) {
                r.uri_stem = "/" + std::to_string(t) + "/" + std::to_string(i);
                (*log)->submit(view_of(r));
            }
            running.fetch_sub(1);
        });
    }
    while (running.load() > 0) (*log)->flush();
    for (auto& th : threads) th.join();
    (*log)->stop();
    EXPECT_EQ((*log)->dropped(), 0u);
    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 1u);
    auto gz = gunzip(read_file(files[0]));
    ASSERT_TRUE(gz.ok);
    auto lines = data_lines(gz.text);
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread));
    for (int t = 0; t < kThreads; ++t) {
        auto got = uris_with_prefix(lines, "/" + std::to_string(t) + "/");
        ASSERT_EQ(got.size(), static_cast<std::size_t>(kPerThread));
        for (int i = 0; i < kPerThread; ++i)
            ASSERT_EQ(got[i], "/" + std::to_string(t) + "/" + std::to_string(i)) << "thread " << t;
    }
}

// A thread that logs one line and then goes quiet (or ends) must not keep it in its batch:
// the writer takes partial batches about once a second.
TEST(AccessLog, PartialBatchesOfQuietThreadsAreWrittenWithinAboutASecond) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1");
    ASSERT_TRUE(log);
    auto now = std::chrono::system_clock::now();
    std::promise<void> release;
    std::thread quiet([&, f = release.get_future()]() mutable {
        (*log)->submit(view_of(simple_record("a.test", "prod", now, "/quiet")));
        f.wait();  // stays alive, submits nothing more
    });
    std::thread ended(
        [&] { (*log)->submit(view_of(simple_record("a.test", "prod", now, "/ended"))); });
    ended.join();
    auto start = std::chrono::steady_clock::now();
    std::size_t found = 0;
    while (found < 2 && std::chrono::steady_clock::now() - start < 5s) {
        std::this_thread::sleep_for(20ms);
        found = 0;
        for (const auto& f : log_files(tmp.path())) {
            auto gz = gunzip(read_file(f));  // may catch a member half written: try again
            if (gz.ok) found += uris_with_prefix(data_lines(gz.text), "/").size();
        }
    }
    auto took = std::chrono::steady_clock::now() - start;
    release.set_value();
    quiet.join();
    EXPECT_EQ(found, 2u);
    EXPECT_LT(took, 2500ms);  // 1 s write interval + one 50 ms poll, generous for sanitizers
    (*log)->stop();
}

// A stalled disk (here: a FIFO nobody reads where the log file goes, so the writer's open()
// waits) fills the queue; then whole batches are dropped and every line is counted, and the
// workers never wait.
TEST(AccessLog, FullQueueDropsWholeBatchesAndCountsTheirLines) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1", 4);
    ASSERT_TRUE(log);
    auto t = utc(2026, 3, 1, 12, 0, 0);
    std::string dir = tmp.path() + "/CloudFront/prod/a.test";
    fs::create_directories(dir);
    std::string file =
        dir + "/" + distribution_id("a.test") + ".2026-03-01-12." + (*log)->unique_id() + ".gz";
    ASSERT_EQ(::mkfifo(file.c_str(), 0640), 0);

    // The writer blocks at its first write of the file (1 MiB pending, or after a second);
    // from then on nothing drains the 4 slots.
    AccessRecord rec = simple_record("a.test", "prod", t, "/");
    std::string line;
    append_access_line(line, rec, "n1");
    const std::uint64_t lines_per_batch = (64 * 1024 + line.size() - 1) / line.size();
    std::uint64_t submitted = 0;
    auto start = std::chrono::steady_clock::now();
    while ((*log)->dropped() == 0 && std::chrono::steady_clock::now() - start < 30s) {
        (*log)->submit(view_of(rec));
        ++submitted;
    }
    ASSERT_GT((*log)->dropped(), 0u);
    EXPECT_EQ((*log)->dropped() % lines_per_batch, 0u) << "whole batches, every line counted";
    for (int i = 0; i < 1000; ++i) (*log)->submit(view_of(rec));
    submitted += 1000;

    // Unblock the writer: read the FIFO until the log has stopped and no writer has it open.
    std::atomic<bool> stopped{false};
    std::string data;
    std::thread reader([&] {
        int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        ASSERT_GE(fd, 0);
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n > 0) {
                data.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0 && stopped.load()) break;
            std::this_thread::sleep_for(1ms);
        }
        ::close(fd);
    });
    (*log)->stop();
    stopped = true;
    reader.join();

    auto gz = gunzip(data);
    ASSERT_TRUE(gz.ok);
    std::uint64_t written = 0;  // a FIFO is always "empty", so every member repeats the header
    for (const auto& l : split(gz.text, '\n'))
        if (!l.empty() && l[0] != '#') ++written;
    EXPECT_GT(written, 0u);
    EXPECT_EQ(written + (*log)->dropped(), submitted);
    EXPECT_EQ((*log)->write_failures(), 0u);
}

TEST(AccessLog, WritesWithoutAnExplicitFlushWithinAboutASecond) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1");
    ASSERT_TRUE(log);
    (*log)->submit(simple_record("a.test", "prod", std::chrono::system_clock::now(), "/"));
    // The writer creates the file and then appends its member: a look between the two sees an
    // empty file (CI once did), so wait for a whole member, not for the name. The bound is
    // generous for a loaded machine; the writer's own interval is one second.
    std::vector<std::string> files;
    bool whole = false;
    for (int i = 0; i < 200 && !whole; ++i) {
        std::this_thread::sleep_for(50ms);
        files = log_files(tmp.path());
        whole = files.size() == 1 && gunzip(read_file(files[0])).ok;
    }
    ASSERT_EQ(files.size(), 1u);
    EXPECT_TRUE(whole);
}

TEST(AccessLog, OpenFailsWhenTheDirectoryCannotBeCreated) {
    TempDir tmp;
    std::string file = tmp.path() + "/a-file";
    std::ofstream(file) << "x";
    auto log = AccessLog::open(file + "/logs", "n1");
    ASSERT_FALSE(log);
    EXPECT_EQ(log.error().code, Errc::kIo);
    EXPECT_FALSE(AccessLog::open("", "n1"));
}

TEST(AccessLog, WriteErrorsAreCountedNotFatal) {
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "n1");
    ASSERT_TRUE(log);
    // A file where the site's folder should be: the write fails, the log goes on.
    fs::create_directories(tmp.path() + "/CloudFront/prod");
    std::ofstream(tmp.path() + "/CloudFront/prod/bad.test") << "x";
    auto t = utc(2026, 3, 1, 12, 0, 0);
    (*log)->submit(simple_record("bad.test", "prod", t, "/"));
    (*log)->submit(simple_record("good.test", "prod", t, "/"));
    (*log)->stop();
    EXPECT_EQ((*log)->write_failures(), 1u);
    EXPECT_EQ(log_files(tmp.path()).size(), 2u);  // the blocking file and good.test's log
}

// goaccess is what operators point at CloudFront logs; it must read moat's files as they are.
TEST(AccessLog, GoaccessReadsTheFilesWithItsCloudFrontPreset) {
    if (std::system("command -v goaccess >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "goaccess not installed";
    TempDir tmp;
    auto log = AccessLog::open(tmp.path(), "MOAT1");
    ASSERT_TRUE(log);
    constexpr int kRecords = 25;
    for (int i = 0; i < kRecords; ++i) {
        auto r = simple_record("site.example.test", "prod", utc(2026, 11, 28, 10, i, 0),
                               i % 5 == 0 ? "/missing dir/x" : "/index.html");
        r.status = i % 5 == 0 ? 404 : (i % 7 == 0 ? 0 : 200);
        r.query = i % 2 ? "a=1&b=<2>" : "";
        r.user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36";
        r.referer = i % 3 ? "https://site.example.test/" : "";
        r.client_ip = i % 4 ? "198.51.100." + std::to_string(i) : "2001:db8::" + std::to_string(i);
        r.protocol_version = i % 2 ? "HTTP/1.1" : "HTTP/2.0";
        (*log)->submit(std::move(r));
    }
    (*log)->stop();
    auto files = log_files(tmp.path());
    ASSERT_EQ(files.size(), 1u);

    // goaccess 1.7 cannot read .gz itself, so it reads zcat's output on stdin ("-").
    // --no-strict-status: goaccess otherwise counts CloudFront's "000" (client left) as failed.
    std::string report = tmp.path() + "/report.json";
    std::string cmd = "zcat '" + files[0] +
                      "' | goaccess - --no-global-config --log-format=CLOUDFRONT "
                      "--date-format=CLOUDFRONT --time-format=CLOUDFRONT --no-strict-status -o '" +
                      report + "' >'" + tmp.path() + "/goaccess.out' 2>&1";
    int rc = std::system(cmd.c_str());
    ASSERT_EQ(rc, 0) << read_file(tmp.path() + "/goaccess.out");
    std::string json = read_file(report);
    EXPECT_NE(json.find("\"total_requests\": " + std::to_string(kRecords) + ","), std::string::npos)
        << json.substr(0, 400);
    EXPECT_NE(json.find("\"valid_requests\": " + std::to_string(kRecords) + ","),
              std::string::npos);
    EXPECT_NE(json.find("\"failed_requests\": 0,"), std::string::npos) << json.substr(0, 400);
}

}  // namespace
}  // namespace moat::edge
