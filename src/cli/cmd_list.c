/* `stratus list`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_list_main(int argc, char **argv)
{
    return client_list_main(argc, argv);
}
