/* `stratus profile`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_profile_main(int argc, char **argv)
{
    return client_profile_main(argc, argv);
}
