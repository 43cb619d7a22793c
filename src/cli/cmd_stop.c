/* `stratus stop`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_stop_main(int argc, char **argv)
{
    return client_stop_main(argc, argv);
}
