/* libFuzzer target for the runtime process's create-message parser
 * (module_spec_parse): any bytes give a spec or a reason, never a crash or a
 * leak; a parsed spec always has argv[0] equal to its file. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "module_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct module_spec spec;
    char reason[SPEC_REASON_LEN];
    if (module_spec_parse(data, size, &spec, reason) == 0) {
        if (spec.argc < 1 || strcmp(spec.argv[0], spec.file)) abort();
        module_spec_free(&spec);
    } else if (!reason[0]) {
        abort();
    }
    return 0;
}
