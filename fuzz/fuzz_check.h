#pragma once
// Invariant checks for the fuzz targets: a broken invariant aborts, which libFuzzer reports as
// a crash and saves the input that caused it.

#include <cstdio>
#include <cstdlib>

[[noreturn]] inline void fuzz_broken(const char* file, const char* what) {
    std::fprintf(stderr, "%s: invariant broken: %s\n", file, what);
    std::abort();
}

#define FUZZ_CHECK(cond)                           \
    do {                                           \
        if (!(cond)) fuzz_broken(__FILE__, #cond); \
    } while (0)
