/* fuzz_engine.c - the engine driven by arbitrary operation sequences
 * (tests/engine_ops.h), with its invariants checked after every step. */
#include "../engine_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ops_run(data, size);
    return 0;
}
