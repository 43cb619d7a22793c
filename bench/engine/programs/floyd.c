/* PolyBench-like floyd-warshall: all-pairs shortest paths on integers. */
#include "bench_io.h"

#define N 280
static int path[N][N];

void run(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            path[i][j] = i * j % 7 + 1;
            if ((i + j) % 13 == 0 || (i + j) % 7 == 0 || (i + j) % 11 == 0) path[i][j] = 999;
        }
    for (int k = 0; k < N; k++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                if (path[i][k] + path[k][j] < path[i][j]) path[i][j] = path[i][k] + path[k][j];
    unsigned long long sum = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            sum = sum * 31 + (unsigned)path[i][j];
    print_u64(sum);
}
