/* Memory-heavy loops: dense matrix products of doubles (i-k-j order, rows
 * streamed through), plus a strided transpose-and-sum pass. */
#include "bench_io.h"

#define N 320
static double a[N][N], b[N][N], c[N][N];

void run(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (double)((i * 7 + j * 3) % 17) - 8.0;
            b[i][j] = (double)((i * 5 + j * 11) % 13) * 0.25;
            c[i][j] = 0;
        }
    for (int rep = 0; rep < 6; rep++) {
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double aik = a[i][k];
                for (int j = 0; j < N; j++)
                    c[i][j] += aik * b[k][j];
            }
    }
    double sum = 0, diag = 0;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++)
            sum += c[i][j] * (double)(i - j);
    for (int i = 0; i < N; i++)
        diag += c[i][i];
    print_u64(bench_double_bits(sum));
    print_u64(bench_double_bits(diag));
}
