/* The start-up benchmark's hello world, built natively and as WASI. */
#include <stdio.h>

int main(void)
{
    puts("hello");
    return 0;
}
