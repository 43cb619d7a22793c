/* The subscription index of include/stratus/topic.h: a trie over topic
 * levels. Each node has its literal children in a sorted array (binary
 * search, so thousands of per-module topics under one level stay cheap) and
 * separate `+` and `#` children. A lookup walks only the branches a name can
 * match, never the whole set of filters.
 *
 * Walks use explicit loops and stacks, not recursion: a filter may have tens
 * of thousands of levels and must not exhaust the C stack. */
#include "stratus/topic.h"

#include <stdlib.h>
#include <string.h>

struct tnode {
    struct tnode *parent;
    char *level; /* NUL-terminated copy of this node's level; NULL for root, `+`, `#` */
    size_t level_len;
    struct tnode **kids; /* literal children, sorted by compare_level() */
    size_t nkids, kids_cap;
    struct tnode *plus, *hash;
    void **values; /* of the filter that ends at this node */
    size_t nvalues, values_cap;
};

struct topic_index {
    struct tnode root;
    size_t filters;
};

static int compare_level(const char *a, size_t alen, const struct tnode *n)
{
    size_t m = alen < n->level_len ? alen : n->level_len;
    int c = memcmp(a, n->level, m);
    if (c) return c;
    return alen < n->level_len ? -1 : alen > n->level_len;
}

/* Position of the literal child `level` in n->kids, or where it would go;
 * *found says which. */
static size_t find_kid(const struct tnode *n, const char *level, size_t len, int *found)
{
    size_t lo = 0, hi = n->nkids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = compare_level(level, len, n->kids[mid]);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = 0;
    return lo;
}

static const char *split_level(const char *p, size_t *len)
{
    const char *slash = strchr(p, '/');
    *len = slash ? (size_t)(slash - p) : strlen(p);
    return slash ? slash + 1 : NULL;
}

static int is_plus(const char *l, size_t len)
{
    return len == 1 && l[0] == '+';
}

static int is_hash(const char *l, size_t len)
{
    return len == 1 && l[0] == '#';
}

struct topic_index *topic_index_new(void)
{
    return calloc(1, sizeof(struct topic_index));
}

static int node_is_empty(const struct tnode *n)
{
    return n->nvalues == 0 && n->nkids == 0 && !n->plus && !n->hash;
}

/* Unlink n from its parent (n must be a child of it). */
static void detach(struct tnode *n)
{
    struct tnode *p = n->parent;
    if (p->plus == n) {
        p->plus = NULL;
    } else if (p->hash == n) {
        p->hash = NULL;
    } else {
        int found;
        size_t i = find_kid(p, n->level, n->level_len, &found);
        if (found) {
            memmove(p->kids + i, p->kids + i + 1, (p->nkids - i - 1) * sizeof *p->kids);
            p->nkids--;
        }
    }
}

static void node_free(struct tnode *n)
{
    free(n->level);
    free(n->kids);
    free(n->values);
    free(n);
}

void topic_index_free(struct topic_index *idx)
{
    if (!idx) return;
    /* Depth first without recursion: step into any child after unlinking
     * it, free leaves on the way back up. */
    struct tnode *root = &idx->root, *cur = root;
    for (;;) {
        struct tnode *child = NULL;
        if (cur->nkids)
            child = cur->kids[--cur->nkids];
        else if (cur->plus)
            child = cur->plus, cur->plus = NULL;
        else if (cur->hash)
            child = cur->hash, cur->hash = NULL;
        if (child) {
            cur = child;
            continue;
        }
        if (cur == root) break;
        struct tnode *up = cur->parent;
        node_free(cur);
        cur = up;
    }
    free(root->kids);
    free(root->values);
    free(idx);
}

static struct tnode *new_node(struct tnode *parent, const char *level, size_t len)
{
    struct tnode *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->parent = parent;
    if (level) {
        n->level = malloc(len + 1);
        if (!n->level) {
            free(n);
            return NULL;
        }
        memcpy(n->level, level, len);
        n->level[len] = '\0';
        n->level_len = len;
    }
    return n;
}

/* The child of n for one filter level, created if absent (NULL on OOM). */
static struct tnode *child_for(struct tnode *n, const char *level, size_t len)
{
    if (is_plus(level, len)) {
        if (!n->plus) n->plus = new_node(n, NULL, 0);
        return n->plus;
    }
    if (is_hash(level, len)) {
        if (!n->hash) n->hash = new_node(n, NULL, 0);
        return n->hash;
    }
    int found;
    size_t i = find_kid(n, level, len, &found);
    if (found) return n->kids[i];
    if (n->nkids == n->kids_cap) {
        size_t cap = n->kids_cap ? n->kids_cap * 2 : 4;
        struct tnode **k = realloc(n->kids, cap * sizeof *k);
        if (!k) return NULL;
        n->kids = k;
        n->kids_cap = cap;
    }
    struct tnode *c = new_node(n, level, len);
    if (!c) return NULL;
    memmove(n->kids + i + 1, n->kids + i, (n->nkids - i) * sizeof *n->kids);
    n->kids[i] = c;
    n->nkids++;
    return c;
}

/* Free n and every ancestor left empty by its removal, up to the root. */
static void prune(struct topic_index *idx, struct tnode *n)
{
    while (n != &idx->root && node_is_empty(n)) {
        struct tnode *up = n->parent;
        detach(n);
        node_free(n);
        n = up;
    }
}

int topic_index_add(struct topic_index *idx, const char *filter, void *value)
{
    if (!idx || !topic_filter_is_valid(filter)) return -1;
    struct tnode *n = &idx->root;
    for (const char *l = filter; l;) {
        size_t len;
        const char *next = split_level(l, &len);
        struct tnode *c = child_for(n, l, len);
        if (!c) {
            prune(idx, n); /* drop the part of the path this call created */
            return -1;
        }
        n = c;
        l = next;
    }
    if (n->nvalues == n->values_cap) {
        size_t cap = n->values_cap ? n->values_cap * 2 : 2;
        void **v = realloc(n->values, cap * sizeof *v);
        if (!v) {
            prune(idx, n);
            return -1;
        }
        n->values = v;
        n->values_cap = cap;
    }
    n->values[n->nvalues++] = value;
    if (n->nvalues > 1) return 0;
    idx->filters++;
    return 1;
}

int topic_index_remove(struct topic_index *idx, const char *filter, void *value)
{
    if (!idx || !topic_filter_is_valid(filter)) return -1;
    struct tnode *n = &idx->root;
    for (const char *l = filter; l && n;) {
        size_t len;
        const char *next = split_level(l, &len);
        if (is_plus(l, len)) {
            n = n->plus;
        } else if (is_hash(l, len)) {
            n = n->hash;
        } else {
            int found;
            size_t i = find_kid(n, l, len, &found);
            n = found ? n->kids[i] : NULL;
        }
        l = next;
    }
    if (!n) return -1;
    size_t i = 0;
    while (i < n->nvalues && n->values[i] != value)
        i++;
    if (i == n->nvalues) return -1;
    n->values[i] = n->values[--n->nvalues];
    if (n->nvalues) return 0;
    idx->filters--;
    prune(idx, n);
    return 1;
}

static size_t visit_all(const struct tnode *n, topic_index_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i < n->nvalues; i++)
        fn(n->values[i], ctx);
    return n->nvalues;
}

struct pending {
    const struct tnode *node;
    const char *rest; /* levels of the name still to match; NULL: none left */
};

size_t topic_index_match(const struct topic_index *idx, const char *name, topic_index_visit_fn fn,
                         void *ctx)
{
    if (!idx || !topic_name_is_valid(name)) return 0;
    /* Each level adds at most one waiting branch (the `+` sibling of the
     * literal one), so the stack never holds more than levels + 1 entries. */
    size_t levels = 1;
    for (const char *p = name; (p = strchr(p, '/')); p++)
        levels++;
    struct pending small[64], *stack = small;
    if (levels + 1 > sizeof small / sizeof small[0]) {
        stack = malloc((levels + 1) * sizeof *stack);
        if (!stack) return 0;
    }
    int system = name[0] == '$'; /* no leading wildcard matches `$` names */
    size_t calls = 0, top = 0;
    stack[top++] = (struct pending){&idx->root, name};
    while (top) {
        struct pending p = stack[--top];
        int at_root = p.node == &idx->root;
        if (p.node->hash && !(at_root && system)) calls += visit_all(p.node->hash, fn, ctx);
        if (!p.rest) {
            calls += visit_all(p.node, fn, ctx);
            continue;
        }
        size_t len;
        const char *next = split_level(p.rest, &len);
        int found;
        size_t i = find_kid(p.node, p.rest, len, &found);
        if (found) stack[top++] = (struct pending){p.node->kids[i], next};
        if (p.node->plus && !(at_root && system))
            stack[top++] = (struct pending){p.node->plus, next};
    }
    if (stack != small) free(stack);
    return calls;
}

size_t topic_index_filter_count(const struct topic_index *idx)
{
    return idx ? idx->filters : 0;
}
