/* PolyBench-like atax: y = A^T (A x), row then column sweeps. */
#include "polybench.h"

#define M 1200
#define N 1400
static double A[M][N], x[N], y[N], tmp[M];

void run(void)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            A[i][j] = pb_init(i, j, N);
    for (int j = 0; j < N; j++)
        x[j] = 1.0 + j / (double)N;
    for (int rep = 0; rep < 8; rep++) {
        for (int j = 0; j < N; j++)
            y[j] = 0;
        for (int i = 0; i < M; i++) {
            double t = 0;
            for (int j = 0; j < N; j++)
                t += A[i][j] * x[j];
            tmp[i] = t;
            for (int j = 0; j < N; j++)
                y[j] += A[i][j] * t;
        }
        x[rep] += y[rep] * 1e-9;
    }
    print_u64(pb_sum(y, N));
}
