/* String processing: builds a text of words, then splits it into words,
 * counts them in a hash table (strcmp on collisions), searches substrings
 * with strstr, and formats numbers with snprintf into a growing buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_io.h"

#define TEXT_SIZE (1 << 19)
#define BUCKETS 4096

static char text[TEXT_SIZE + 64];
static const char *const syllables[] = {"ka", "lo", "mi", "ne", "su", "ta", "ri",
                                        "po", "an", "el", "or", "us", "ix", "em"};

struct entry {
    char word[32];
    unsigned count;
    struct entry *next;
};
static struct entry *buckets[BUCKETS];
static struct entry pool[1 << 16];
static unsigned npool;

static unsigned hash(const char *s)
{
    unsigned h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

static void count_word(const char *w)
{
    unsigned b = hash(w) % BUCKETS;
    for (struct entry *e = buckets[b]; e; e = e->next)
        if (!strcmp(e->word, w)) {
            e->count++;
            return;
        }
    if (npool == sizeof pool / sizeof pool[0]) return;
    struct entry *e = &pool[npool++];
    strncpy(e->word, w, sizeof e->word - 1);
    e->count = 1;
    e->next = buckets[b];
    buckets[b] = e;
}

void run(void)
{
    unsigned seed = 99;
    size_t len = 0;
    while (len < TEXT_SIZE) {
        seed = seed * 1103515245u + 12345u;
        int n = 1 + (seed >> 16) % 4;
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *s = syllables[(seed >> 16) % 14];
            memcpy(text + len, s, 2);
            len += 2;
        }
        text[len++] = (seed & 0x100000) ? '\n' : ' ';
    }
    text[len] = '\0';
    unsigned long long sum = 0;
    for (int round = 0; round < 3; round++) {
        memset(buckets, 0, sizeof buckets);
        npool = 0;
        char *copy = strdup(text);
        if (!copy) return;
        for (char *save, *w = strtok_r(copy, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
            count_word(w);
        free(copy);
        for (unsigned i = 0; i < npool; i++)
            sum += pool[i].count * (unsigned long long)strlen(pool[i].word);
        const char *p = text;
        while ((p = strstr(p, round & 1 ? "tari" : "kalo")))
            sum += (unsigned long long)(p++ - text);
        char out[64];
        size_t total = 0;
        for (int i = 0; i < 20000; i++)
            total += (size_t)snprintf(out, sizeof out, "%d:%x;", i * round, i ^ round);
        sum += total;
    }
    print_u64(sum);
}
