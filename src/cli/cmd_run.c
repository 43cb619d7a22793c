/* `stratus run`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_run_main(int argc, char **argv)
{
    return client_run_main(argc, argv);
}
