#pragma once
// A BIO filter between OpenSSL and the socket BIO that gathers the TLS records of one round
// and sends them in one write(2) on flush.
//
// OpenSSL writes each record (at most 16 KiB of plaintext) with its own BIO_write, so a socket
// BIO made one write(2) per record: a batch of ten small HTTP/2 responses took two or more,
// a 64 KiB chunk of a large body four. Every write(2) on a TCP socket runs the stack's send
// path once (on loopback the receiver's too) and wakes the reader once. Gathering costs one
// memcpy of the ciphertext, which is what h2o does too (it encrypts into its own buffer and
// writes that); measured in docs/benchmarks.md.
//
// The buffer is allocated when a write needs it and freed when a flush empties it, as
// SSL_MODE_RELEASE_BUFFERS does for OpenSSL's own buffers, so idle keep-alive connections
// hold no memory for it. A write larger than the whole buffer goes straight to the socket.
// Controls other than flush and pending bytes pass through to the socket BIO, so kTLS
// (BIO_get_ktls_send, SSL_sendfile) sees the socket. Not thread-safe: one per connection.

#include <openssl/bio.h>

#include <cstddef>

namespace moat::edge::internal {

// Gathers up to `capacity` bytes. The caller pushes it in front of the socket BIO (BIO_push)
// and flushes with BIO_flush, which returns <= 0 with the retry flags of the socket when the
// socket would block.
BIO* new_batch_bio(std::size_t capacity);

}  // namespace moat::edge::internal
