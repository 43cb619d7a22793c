/* libFuzzer target: arbitrary bytes go through load (decode + validate),
 * instantiation against a linker that offers a few host definitions, and a
 * call of every exported function with zero arguments, all under small
 * limits and fuel, so nothing may crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stratus/wasm.h"

static sw_status host_nop(sw_call *call, void *user, const sw_value *args, sw_value *results)
{
    return SW_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_module *m;
    sw_error err;
    if (sw_module_load(data, size, &m, &err) != SW_OK) return 0;
    sw_linker *l;
    if (sw_linker_new(&l) != SW_OK) {
        sw_module_free(m);
        return 0;
    }
    sw_functype none = {0, 0, NULL, NULL};
    sw_linker_define_func(l, "env", "f", &none, host_nop, NULL);
    sw_linker_define_memory(l, "env", "memory", 1, 2);
    sw_linker_define_table(l, "env", "table", SW_FUNCREF, 4, 8);
    sw_linker_define_global(l, "env", "g", false, (sw_value){.type = SW_I32, .of.i32 = 1});
    sw_limits lim;
    sw_limits_default(&lim);
    lim.max_memory_pages = 16;
    lim.max_call_depth = 200;
    lim.stack_slots = 1 << 14;
    lim.fuel = 20000;
    sw_instance *inst = NULL;
    if (sw_instance_new(m, l, &lim, &inst, &err) == SW_OK) {
        for (uint32_t i = 0; i < sw_module_export_count(m); i++) {
            sw_export ex;
            if (sw_module_export(m, i, &ex) != SW_OK || ex.kind != SW_EXTERN_FUNC) continue;
            sw_func *f;
            if (sw_instance_find_func_n(inst, ex.name, ex.name_len, &f) != SW_OK) continue;
            sw_functype t;
            sw_func_type(f, &t);
            sw_value args[8], res[8];
            if (t.nparams > 8 || t.nresults > 8) continue;
            for (uint32_t k = 0; k < t.nparams; k++) {
                memset(&args[k], 0, sizeof args[k]);
                args[k].type = t.params[k];
            }
            sw_instance_set_fuel(inst, 20000);
            sw_func_call(inst, f, args, t.nparams, res, t.nresults, &err);
        }
        sw_instance_free(inst);
    }
    sw_linker_free(l);
    sw_module_free(m);
    return 0;
}
