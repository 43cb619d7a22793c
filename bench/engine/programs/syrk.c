/* PolyBench-like syrk: C = alpha*A*A^T + beta*C on the lower triangle. */
#include "polybench.h"

#define N 240
#define M 200
static double A[N][M], C[N][N];

void run(void)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < M; j++)
            A[i][j] = pb_init(i, j, N);
        for (int j = 0; j < N; j++)
            C[i][j] = pb_init(i, j + 2, M);
    }
    for (int rep = 0; rep < 4; rep++)
        for (int i = 0; i < N; i++) {
            for (int j = 0; j <= i; j++)
                C[i][j] *= 0.5;
            for (int k = 0; k < M; k++)
                for (int j = 0; j <= i; j++)
                    C[i][j] += 1.5 * A[i][k] * A[j][k];
        }
    print_u64(pb_sum(&C[0][0], (long)N * N));
}
