/* PolyBench-like 2mm: D = alpha*A*B*C + beta*D, two products in a row. */
#include "polybench.h"

#define N 160
static double A[N][N], B[N][N], C[N][N], D[N][N], T[N][N];

void run(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            A[i][j] = pb_init(i, j, N);
            B[i][j] = pb_init(i, j + 1, N);
            C[i][j] = pb_init(i + 3, j, N);
            D[i][j] = pb_init(i, j + 2, N);
        }
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++)
                    s += 1.5 * A[i][k] * B[k][j];
                T[i][j] = s;
            }
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = D[i][j] * 1.2;
                for (int k = 0; k < N; k++)
                    s += T[i][k] * C[k][j];
                D[i][j] = s;
            }
    }
    print_u64(pb_sum(&D[0][0], (long)N * N));
}
