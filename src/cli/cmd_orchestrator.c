/* `stratus orchestrator`: reads the configuration (file, then flags) and runs
 * the orchestrator until SIGINT or SIGTERM. */
#include <stdio.h>

#include "cli.h"
#include "stratus/orchestrator.h"

int cmd_orchestrator_main(int argc, char **argv)
{
    struct orchestrator_config cfg;
    char err[ORCHESTRATOR_ERR_LEN] = "";
    orchestrator_config_init(&cfg);
    if (orchestrator_config_from_args(&cfg, argc, argv, err) < 0) {
        fprintf(stderr, "stratus orchestrator: %s\n", err);
        orchestrator_config_clear(&cfg);
        return 2;
    }
    if (cfg.help) {
        orchestrator_usage(stdout);
        orchestrator_config_clear(&cfg);
        return 0;
    }
    int code = orchestrator_run(&cfg);
    orchestrator_config_clear(&cfg);
    return code;
}
