/* The libFuzzer entry point every target defines. With clang the fuzzer
 * runtime drives it; with any other compiler driver.c runs it over corpus
 * files, so the targets always compile and the corpus is a regression test. */
#ifndef STOCKD_FUZZ_H
#define STOCKD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant broken: print it and abort, so the fuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
