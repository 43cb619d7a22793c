/* PolyBench-like seidel-2d: nine-point stencil updated in place. */
#include "polybench.h"

#define N 300
static double A[N][N];

void run(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            A[i][j] = ((double)i * (j + 2) + 2) / N;
    for (int t = 0; t < 20; t++)
        for (int i = 1; i <= N - 2; i++)
            for (int j = 1; j <= N - 2; j++)
                A[i][j] = (A[i - 1][j - 1] + A[i - 1][j] + A[i - 1][j + 1] + A[i][j - 1] + A[i][j] +
                           A[i][j + 1] + A[i + 1][j - 1] + A[i + 1][j] + A[i + 1][j + 1]) /
                          9.0;
    print_u64(pb_sum(&A[0][0], (long)N * N));
}
