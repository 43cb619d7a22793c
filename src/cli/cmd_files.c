/* `stratus files`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_files_main(int argc, char **argv)
{
    return client_files_main(argc, argv);
}
