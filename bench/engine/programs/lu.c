/* PolyBench-like lu: LU decomposition in place, of a diagonally dominant
 * matrix (so every pivot is safe), done several times over. */
#include "polybench.h"

#define N 220
static double A[N][N], A0[N][N];

void run(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            A0[i][j] = (i == j) ? N + 1.0 : pb_init(i, j, N);
    unsigned long long sum = 0;
    for (int rep = 0; rep < 6; rep++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                A[i][j] = A0[i][j] + rep * 0.001;
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < i; j++) {
                for (int k = 0; k < j; k++)
                    A[i][j] -= A[i][k] * A[k][j];
                A[i][j] /= A[j][j];
            }
            for (int j = i; j < N; j++)
                for (int k = 0; k < i; k++)
                    A[i][j] -= A[i][k] * A[k][j];
        }
        sum ^= pb_sum(&A[0][0], (long)N * N);
    }
    print_u64(sum);
}
