/* PolyBench-like mvt: x1 += A y1 and x2 += A^T y2 (row and column order). */
#include "polybench.h"

#define N 1400
static double A[N][N], x1[N], x2[N], y1[N], y2[N];

void run(void)
{
    for (int i = 0; i < N; i++) {
        x1[i] = (double)(i % N) / N;
        x2[i] = (double)((i + 1) % N) / N;
        y1[i] = (double)((i + 3) % N) / N;
        y2[i] = (double)((i + 4) % N) / N;
        for (int j = 0; j < N; j++)
            A[i][j] = pb_init(i, j, N);
    }
    for (int rep = 0; rep < 5; rep++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                x1[i] += A[i][j] * y1[j];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                x2[i] += A[j][i] * y2[j];
    }
    print_u64(pb_sum(x1, N) ^ pb_sum(x2, N));
}
