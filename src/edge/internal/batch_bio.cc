#include "edge/internal/batch_bio.h"

#include <cstring>
#include <memory>

#include "core/assert.h"

namespace moat::edge::internal {
namespace {

struct Batch {
    std::unique_ptr<char[]> buf;
    std::size_t cap = 0;
    std::size_t off = 0;  // first unsent byte
    std::size_t len = 0;  // unsent bytes
};

Batch* batch(BIO* b) { return static_cast<Batch*>(BIO_get_data(b)); }

// Sends what is buffered. 1 when all is out; <= 0 with the socket's retry flags otherwise.
int flush_buffer(BIO* b) {
    Batch* t = batch(b);
    BIO* next = BIO_next(b);
    while (t->len > 0) {
        int n = BIO_write(next, t->buf.get() + t->off, static_cast<int>(t->len));
        if (n <= 0) {
            BIO_copy_next_retry(b);
            return n;
        }
        t->off += static_cast<std::size_t>(n);
        t->len -= static_cast<std::size_t>(n);
    }
    t->off = 0;
    t->buf.reset();  // nothing waits: give the memory back until the next round
    return 1;
}

int batch_write(BIO* b, const char* in, int inl) {
    BIO_clear_retry_flags(b);
    BIO* next = BIO_next(b);
    if (in == nullptr || inl <= 0 || next == nullptr) return 0;
    Batch* t = batch(b);
    auto n = static_cast<std::size_t>(inl);
    if (t->off + t->len + n > t->cap) {
        // Does not fit behind what is waiting: send that first. OpenSSL retries the same
        // record after a would-block, so returning here loses nothing.
        int f = flush_buffer(b);
        if (f <= 0) return f;
    }
    if (t->len == 0 && n > t->cap) {
        int w = BIO_write(next, in, inl);
        BIO_copy_next_retry(b);
        return w;
    }
    if (!t->buf) t->buf.reset(new char[t->cap]);
    std::memcpy(t->buf.get() + t->off + t->len, in, n);
    t->len += n;
    return inl;
}

long batch_ctrl(BIO* b, int cmd, long num, void* ptr) {
    BIO* next = BIO_next(b);
    switch (cmd) {
        case BIO_CTRL_FLUSH: {
            BIO_clear_retry_flags(b);
            int f = flush_buffer(b);
            if (f <= 0) return f;
            return next ? BIO_ctrl(next, cmd, num, ptr) : 1;
        }
        case BIO_CTRL_WPENDING:
            return static_cast<long>(batch(b)->len) + (next ? BIO_ctrl(next, cmd, num, ptr) : 0);
        default:
            return next ? BIO_ctrl(next, cmd, num, ptr) : 0;
    }
}

int batch_create(BIO* b) {
    BIO_set_data(b, new Batch);
    BIO_set_init(b, 1);
    return 1;
}

int batch_destroy(BIO* b) {
    delete batch(b);
    BIO_set_data(b, nullptr);
    return 1;
}

BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
        BIO_METHOD* x = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "moat batch");
        MOAT_CHECK(x && BIO_meth_set_write(x, batch_write) == 1 &&
                       BIO_meth_set_ctrl(x, batch_ctrl) == 1 &&
                       BIO_meth_set_create(x, batch_create) == 1 &&
                       BIO_meth_set_destroy(x, batch_destroy) == 1,
                   "BIO_meth_new failed");
        return x;
    }();
    return m;
}

}  // namespace

BIO* new_batch_bio(std::size_t capacity) {
    BIO* b = BIO_new(method());
    if (b == nullptr) return nullptr;
    batch(b)->cap = capacity;
    return b;
}

}  // namespace moat::edge::internal
