/* PolyBench-like bicg: s = A^T r and q = A p in one sweep over A. */
#include "polybench.h"

#define M 1300
#define N 1300
static double A[N][M], s[M], q[N], p[M], r[N];

void run(void)
{
    for (int i = 0; i < N; i++) {
        r[i] = (double)(i % N) / N;
        for (int j = 0; j < M; j++)
            A[i][j] = pb_init(i, j + 1, N);
    }
    for (int j = 0; j < M; j++)
        p[j] = (double)(j % M) / M;
    for (int rep = 0; rep < 8; rep++) {
        for (int j = 0; j < M; j++)
            s[j] = 0;
        for (int i = 0; i < N; i++) {
            double t = 0;
            for (int j = 0; j < M; j++) {
                s[j] += r[i] * A[i][j];
                t += A[i][j] * p[j];
            }
            q[i] = t;
        }
        p[rep] += q[rep] * 1e-9;
    }
    print_u64(pb_sum(s, M) ^ pb_sum(q, N));
}
