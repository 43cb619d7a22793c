/* `stratus up`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_up_main(int argc, char **argv)
{
    return client_up_main(argc, argv);
}
