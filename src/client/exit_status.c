/* Exit statuses of modules (see exit_status.h). */
#include "exit_status.h"

#include <string.h>

int client_exit_status(const json_t *exit_data)
{
    const char *status = json_string_value(json_object_get(exit_data, "status"));
    json_t *code = json_object_get(exit_data, "exit_code");
    if (!status) status = json_is_integer(code) ? "exited" : "";
    if (!strcmp(status, "exited"))
        return json_is_integer(code) ? (int)(json_integer_value(code) & 0xff) : CLIENT_EXIT_FAILED;
    if (!strcmp(status, "trapped") || !strcmp(status, "crashed")) return CLIENT_EXIT_TRAPPED;
    if (!strcmp(status, "killed")) return CLIENT_EXIT_KILLED;
    return CLIENT_EXIT_FAILED;
}
