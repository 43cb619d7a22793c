/* Floating point with data-dependent branches: counts iterations of
 * z = z^2 + c over a grid of the Mandelbrot set's neighbourhood. */
#include "bench_io.h"

#define SIZE 900
#define MAX_ITER 400

void run(void)
{
    unsigned long long total = 0, inside = 0;
    for (int py = 0; py < SIZE; py++) {
        double ci = -1.5 + 3.0 * py / SIZE;
        for (int px = 0; px < SIZE; px++) {
            double cr = -2.0 + 3.0 * px / SIZE;
            double zr = 0, zi = 0;
            int n = 0;
            while (n < MAX_ITER && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2 * zr * zi + ci;
                zr = t;
                n++;
            }
            total += (unsigned long long)n;
            inside += n == MAX_ITER;
        }
    }
    print_u64(total);
    print_u64(inside);
}
