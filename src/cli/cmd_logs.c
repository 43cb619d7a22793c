/* `stratus logs`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_logs_main(int argc, char **argv)
{
    return client_logs_main(argc, argv);
}
