/* `stratus benchmark`: the client command of src/client/ (client.h). */
#include "cli.h"
#include "client.h"

int cmd_benchmark_main(int argc, char **argv)
{
    return client_benchmark_main(argc, argv);
}
