#include "edge/internal/batch_bio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace moat::edge::internal {
namespace {

// A socketpair with the batch filter in front of one end; reads come from the other end.
struct Pair {
    int fds[2] = {-1, -1};
    BIO* chain = nullptr;
    explicit Pair(std::size_t capacity) {
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
        BIO* sock = BIO_new_socket(fds[0], BIO_NOCLOSE);
        chain = BIO_push(new_batch_bio(capacity), sock);
    }
    ~Pair() {
        BIO_free_all(chain);
        ::close(fds[0]);
        ::close(fds[1]);
    }
    // Bytes the peer can read now, without waiting.
    std::string drain() {
        std::string got;
        char buf[65536];
        ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
        for (;;) {
            ssize_t n = ::read(fds[1], buf, sizeof buf);
            if (n <= 0) break;
            got.append(buf, static_cast<std::size_t>(n));
        }
        return got;
    }
};

TEST(BatchBio, SmallWritesWaitForTheFlushAndLeaveTogether) {
    Pair p(1024);
    EXPECT_EQ(BIO_write(p.chain, "hello ", 6), 6);
    EXPECT_EQ(BIO_write(p.chain, "world", 5), 5);
    EXPECT_EQ(BIO_wpending(p.chain), 11);
    EXPECT_EQ(p.drain(), "");  // nothing reached the socket yet
    EXPECT_EQ(BIO_flush(p.chain), 1);
    EXPECT_EQ(BIO_wpending(p.chain), 0);
    EXPECT_EQ(p.drain(), "hello world");
}

TEST(BatchBio, AWriteThatDoesNotFitSendsWhatWaitsFirstInOrder) {
    Pair p(8);
    EXPECT_EQ(BIO_write(p.chain, "abcdef", 6), 6);
    EXPECT_EQ(BIO_write(p.chain, "ghij", 4), 4);  // 10 > 8: "abcdef" goes out, "ghij" waits
    EXPECT_EQ(p.drain(), "abcdef");
    EXPECT_EQ(BIO_write(p.chain, "0123456789", 10), 10);  // larger than the buffer
    EXPECT_EQ(BIO_flush(p.chain), 1);
    EXPECT_EQ(p.drain(), "ghij0123456789");
}

TEST(BatchBio, AFullSocketMakesFlushRetryAndLosesNothing) {
    Pair p(64 * 1024);
    std::string sent;
    std::string chunk(16 * 1024, 'x');
    int retries = 0;
    // Fill the socket until a flush would block.
    for (int i = 0; i < 200 && retries == 0; ++i) {
        chunk[0] = static_cast<char>('a' + i % 26);
        int w = BIO_write(p.chain, chunk.data(), static_cast<int>(chunk.size()));
        if (w <= 0) {
            EXPECT_TRUE(BIO_should_retry(p.chain));
            ++retries;
            break;
        }
        sent.append(chunk, 0, static_cast<std::size_t>(w));
        if (BIO_flush(p.chain) <= 0) {
            EXPECT_TRUE(BIO_should_retry(p.chain));
            EXPECT_TRUE(BIO_should_write(p.chain));
            ++retries;
        }
    }
    ASSERT_GT(retries, 0) << "the socket never filled";
    // The peer reads; flushing then completes and every byte arrives once, in order.
    std::string got = p.drain();
    while (BIO_flush(p.chain) <= 0) {
        ASSERT_TRUE(BIO_should_retry(p.chain));
        got += p.drain();
    }
    got += p.drain();
    EXPECT_EQ(got.size(), sent.size());
    EXPECT_TRUE(got == sent);
}

TEST(BatchBio, ControlsReachTheSocket) {
    Pair p(1024);
    int fd = -1;
    EXPECT_EQ(BIO_get_fd(p.chain, &fd), p.fds[0]);
    EXPECT_EQ(BIO_get_ktls_send(p.chain), 0);  // asked of the socket BIO, not refused here
}

}  // namespace
}  // namespace moat::edge::internal
