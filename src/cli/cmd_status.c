/* `stratus status`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_status_main(int argc, char **argv)
{
    return client_status_main(argc, argv);
}
