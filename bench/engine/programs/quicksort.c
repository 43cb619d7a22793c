/* Sorting: a recursive quicksort (median of three, insertion sort for short
 * ranges) of pseudo-random 32-bit numbers from an xorshift generator. */
#include "bench_io.h"

#define COUNT 1000000
static unsigned data[COUNT];

static unsigned rng_state = 2463534242u;

static unsigned next_random(void)
{
    unsigned x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static void insertion_sort(unsigned *v, int lo, int hi)
{
    for (int i = lo + 1; i <= hi; i++) {
        unsigned x = v[i];
        int j = i - 1;
        while (j >= lo && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

static void swap(unsigned *v, int i, int j)
{
    unsigned t = v[i];
    v[i] = v[j];
    v[j] = t;
}

static void quicksort(unsigned *v, int lo, int hi)
{
    while (hi - lo > 16) {
        int mid = lo + (hi - lo) / 2;
        if (v[mid] < v[lo]) swap(v, mid, lo);
        if (v[hi] < v[lo]) swap(v, hi, lo);
        if (v[hi] < v[mid]) swap(v, hi, mid);
        unsigned pivot = v[mid];
        int i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) swap(v, i++, j--);
        }
        /* Recurse into the smaller side so the depth stays logarithmic. */
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
    insertion_sort(v, lo, hi);
}

void run(void)
{
    unsigned long long check = 0, disorder = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < COUNT; i++)
            data[i] = next_random();
        quicksort(data, 0, COUNT - 1);
        for (int i = 1; i < COUNT; i++)
            disorder += data[i - 1] > data[i];
        for (int i = 0; i < COUNT; i += 997)
            check = check * 1099511628211ULL + data[i];
    }
    print_u64(check);
    print_u64(disorder);
}
