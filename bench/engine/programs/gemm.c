/* PolyBench-like: C = alpha*A*B + beta*C (i-k-j loop order). */
#include "polybench.h"

#define N 200
static double A[N][N], B[N][N], C[N][N];

void run(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = pb_init(i, j, N);
            B[i][j] = pb_init(j, i, N);
            C[i][j] = pb_init(i, i + j, N);
        }
    for (int rep = 0; rep < 4; rep++)
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++)
                C[i][j] *= 0.5;
            for (int k = 0; k < N; k++)
                for (int j = 0; j < N; j++)
                    C[i][j] += 1.5 * A[i][k] * B[k][j];
        }
    print_u64(pb_sum(&C[0][0], (long)N * N));
}
