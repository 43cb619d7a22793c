/* `stratus manager`: reads the configuration (file, then flags) and runs the
 * node manager until SIGINT or SIGTERM. */
#include <stdio.h>

#include "cli.h"
#include "stratus/manager.h"

int cmd_manager_main(int argc, char **argv)
{
    struct manager_config cfg;
    char err[MANAGER_ERR_LEN] = "";
    manager_config_init(&cfg);
    if (manager_config_from_args(&cfg, argc, argv, err) < 0) {
        fprintf(stderr, "stratus manager: %s\n", err);
        manager_config_clear(&cfg);
        return 2;
    }
    if (cfg.help) {
        manager_usage(stdout);
        manager_config_clear(&cfg);
        return 0;
    }
    int code = manager_run(&cfg);
    manager_config_clear(&cfg);
    return code;
}
