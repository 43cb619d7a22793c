/* `stratus down`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_down_main(int argc, char **argv)
{
    return client_down_main(argc, argv);
}
