#pragma once
// Write counts shared by every process that has the store open, so a process's caches learn of
// writes made by another (a CLI command beside the server, a second server by mistake): the
// file <store>/writes, mapped into each process's memory, one 64-byte slot per process.
//
// A process claims a free slot when it opens the store and holds an OFD lock on the slot's
// bytes for as long as it keeps the store open (the kernel drops the lock when the process
// dies, however it dies, so a slot is free exactly when no live process holds it; this works
// across PID namespaces, which a stored PID would not). Each write transaction the process
// ends adds one to its own slot, after the commit. A reader sums every other slot before its
// read transaction starts: the sum only grows (a slot's count survives its owner and the next
// owner continues from it), so an unchanged sum means no other process ended a write in
// between. With every slot taken, a process shares slot 0, and counts its own writes there as
// another process's too (spare cache misses, never a stale read).
//
// Writes by programs that do not use this code (the sqlite3 shell) are not counted: they are
// not a supported way to change a store. Thread-safe after open().

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"

namespace moat::store::internal {

class SharedClock {
public:
    static constexpr std::size_t kSlots = 64;
    // Opens (creating, 0600) the file at `path`, maps it and claims a slot.
    static Result<std::unique_ptr<SharedClock>> open(const std::string& path);
    ~SharedClock();
    SharedClock(const SharedClock&) = delete;

    // The counter this process adds one to after each write transaction it ends.
    std::atomic<std::uint64_t>& mine() { return slots_[own_].count; }
    // The sum of every other process's counter (slot 0 included, even when it is ours).
    std::uint64_t others() const;
    std::size_t slot() const { return own_; }

private:
    struct alignas(64) Slot {
        std::atomic<std::uint64_t> count;
        std::atomic<std::uint64_t> used;  // slot 0 only: 1 + the highest slot ever claimed
    };
    static_assert(sizeof(Slot) == 64);
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
                  "shared-memory counters need lock-free (address-free) atomics");

    SharedClock(int fd, Slot* slots) : fd_(fd), slots_(slots) {}

    int fd_;
    Slot* slots_;
    std::size_t own_ = 0;
};

}  // namespace moat::store::internal
