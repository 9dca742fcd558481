#pragma once
// Broken invariants inside moat (STYLE.md §4): MOAT_ASSERT in debug builds, MOAT_CHECK always.

#include <cstdio>
#include <cstdlib>

#define MOAT_CHECK(cond, msg)                                                                  \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            std::fprintf(stderr, "moat: check failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, \
                         #cond, msg);                                                          \
            std::abort();                                                                      \
        }                                                                                      \
    } while (0)

#ifdef NDEBUG
#define MOAT_ASSERT(cond) ((void)0)
#else
#define MOAT_ASSERT(cond) MOAT_CHECK(cond, "assertion")
#endif
