/* The artifact loader (elf_image.h): checks the ELF header, maps the
 * loadable segments into one private anonymous mapping, applies the
 * relative relocations, gives each page the protection its segment asks
 * for, and finds the exported symbol and the code's functions through the
 * file's section headers. Every offset and size read from the file is
 * checked against the file or the mapping before use. */
#include "elf_image.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#define RELATIVE_TYPE R_X86_64_RELATIVE
#define NONE_TYPE R_X86_64_NONE
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#define RELATIVE_TYPE R_AARCH64_RELATIVE
#define NONE_TYPE R_AARCH64_NONE
#else
#define HOST_MACHINE EM_NONE /* no compiled tier on this machine */
#define RELATIVE_TYPE 0
#define NONE_TYPE 0
#endif

struct func_range {
    uintptr_t start, end;
    uint32_t index;
};

struct elf_image {
    uint8_t *base; /* the mapping; segment addresses are relative to it */
    size_t span;
    struct func_range *funcs; /* sorted by start */
    size_t nfuncs;
    const uint8_t *code_lo, *code_hi; /* the executable segments */
};

static int bad(char *why, size_t cap, const char *what)
{
    snprintf(why, cap, "%s", what);
    return -1;
}

/* [off, off + n) lies within [0, len). */
static bool within(uint64_t off, uint64_t n, uint64_t len)
{
    return off <= len && n <= len - off;
}

/* "f12", "f12.cold", "f12.part.0": the function index, else false. */
static bool func_symbol(const char *name, uint32_t *index)
{
    if (name[0] != 'f' || name[1] < '0' || name[1] > '9') return false;
    uint64_t v = 0;
    const char *p = name + 1;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX) return false;
    }
    if (*p && *p != '.') return false;
    *index = (uint32_t)v;
    return true;
}

static int by_start(const void *a, const void *b)
{
    const struct func_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Reads the symbol tables: the exported symbol's value and the ranges of the
 * compiled functions. */
static int read_symbols(struct elf_image *img, const uint8_t *file, size_t len,
                        const Elf64_Ehdr *eh, const char *symbol, uint64_t *value, char *why,
                        size_t cap)
{
    if (eh->e_shentsize != sizeof(Elf64_Shdr) ||
        !within(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), len))
        return bad(why, cap, "bad section headers");
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(file + eh->e_shoff);
    bool found = false;
    size_t nfuncs = 0, capfuncs = 0;
    for (uint32_t s = 0; s < eh->e_shnum; s++) {
        if (sh[s].sh_type != SHT_SYMTAB && sh[s].sh_type != SHT_DYNSYM) continue;
        if (sh[s].sh_entsize != sizeof(Elf64_Sym) || sh[s].sh_offset % 8 ||
            !within(sh[s].sh_offset, sh[s].sh_size, len) || sh[s].sh_link >= eh->e_shnum)
            return bad(why, cap, "bad symbol table");
        const Elf64_Shdr *strs = &sh[sh[s].sh_link];
        if (!within(strs->sh_offset, strs->sh_size, len) || strs->sh_size == 0 ||
            file[strs->sh_offset + strs->sh_size - 1] != '\0')
            return bad(why, cap, "bad string table");
        const char *names = (const char *)file + strs->sh_offset;
        const Elf64_Sym *syms = (const Elf64_Sym *)(file + sh[s].sh_offset);
        size_t n = sh[s].sh_size / sizeof(Elf64_Sym);
        for (size_t i = 0; i < n; i++) {
            if (syms[i].st_name >= strs->sh_size || syms[i].st_shndx == SHN_UNDEF) continue;
            const char *name = names + syms[i].st_name;
            if (sh[s].sh_type == SHT_DYNSYM && !strcmp(name, symbol)) {
                *value = syms[i].st_value;
                found = true;
            }
            uint32_t index;
            if (sh[s].sh_type == SHT_SYMTAB && ELF64_ST_TYPE(syms[i].st_info) == STT_FUNC &&
                func_symbol(name, &index) && within(syms[i].st_value, syms[i].st_size, img->span)) {
                if (nfuncs == capfuncs) {
                    capfuncs = capfuncs ? capfuncs * 2 : 64;
                    struct func_range *f = realloc(img->funcs, capfuncs * sizeof *f);
                    if (!f) return bad(why, cap, "out of memory");
                    img->funcs = f;
                }
                uintptr_t at = (uintptr_t)img->base + syms[i].st_value;
                img->funcs[nfuncs++] = (struct func_range){at, at + syms[i].st_size, index};
            }
        }
    }
    if (!found) return bad(why, cap, "the exported symbol is missing");
    if (nfuncs) qsort(img->funcs, nfuncs, sizeof *img->funcs, by_start);
    img->nfuncs = nfuncs;
    return 0;
}

/* The dynamic section: nothing to load or run, and the relocations. */
static int relocate(struct elf_image *img, const Elf64_Phdr *dyn, char *why, size_t cap)
{
    if (!within(dyn->p_vaddr, dyn->p_memsz, img->span) || dyn->p_memsz % sizeof(Elf64_Dyn) ||
        dyn->p_vaddr % 8)
        return bad(why, cap, "bad dynamic section");
    const Elf64_Dyn *d = (const Elf64_Dyn *)(img->base + dyn->p_vaddr);
    size_t n = dyn->p_memsz / sizeof(Elf64_Dyn);
    uint64_t rela = 0, relasz = 0, relaent = sizeof(Elf64_Rela);
    bool has_rela = false;
    for (size_t i = 0; i < n && d[i].d_tag != DT_NULL; i++) {
        switch (d[i].d_tag) {
        case DT_NEEDED: return bad(why, cap, "the artifact needs other libraries");
        case DT_INIT:
        case DT_INIT_ARRAY:
        case DT_PREINIT_ARRAY: return bad(why, cap, "the artifact has initialisers");
        case DT_TEXTREL: return bad(why, cap, "the artifact has text relocations");
        case DT_JMPREL:
        case DT_REL: return bad(why, cap, "the artifact has relocations of another kind");
        case DT_RELA:
            rela = d[i].d_un.d_ptr;
            has_rela = true;
            break;
        case DT_RELASZ: relasz = d[i].d_un.d_val; break;
        case DT_RELAENT: relaent = d[i].d_un.d_val; break;
        default: break;
        }
    }
    if (!has_rela) return 0;
    if (relaent != sizeof(Elf64_Rela) || rela % 8 || !within(rela, relasz, img->span))
        return bad(why, cap, "bad relocation table");
    const Elf64_Rela *r = (const Elf64_Rela *)(img->base + rela);
    for (size_t i = 0; i < relasz / sizeof(Elf64_Rela); i++) {
        uint32_t type = (uint32_t)ELF64_R_TYPE(r[i].r_info);
        if (type == NONE_TYPE) continue;
        if (type != RELATIVE_TYPE || ELF64_R_SYM(r[i].r_info) != 0)
            return bad(why, cap, "the artifact has relocations of another kind");
        if (!within(r[i].r_offset, 8, img->span) || (uint64_t)r[i].r_addend >= img->span)
            return bad(why, cap, "bad relocation");
        uint64_t v = (uint64_t)(uintptr_t)img->base + (uint64_t)r[i].r_addend;
        memcpy(img->base + r[i].r_offset, &v, 8);
    }
    return 0;
}

/* Each page gets the union of the protections of the segments on it. */
static int protect(struct elf_image *img, const Elf64_Phdr *ph, uint32_t nph, size_t page,
                   char *why, size_t cap)
{
    size_t npages = img->span / page;
    uint8_t *flags = calloc(npages ? npages : 1, 1);
    if (!flags) return bad(why, cap, "out of memory");
    for (uint32_t i = 0; i < nph; i++) {
        if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz) continue;
        uint8_t f = (uint8_t)(((ph[i].p_flags & PF_R) ? PROT_READ : 0) |
                              ((ph[i].p_flags & PF_W) ? PROT_WRITE : 0) |
                              ((ph[i].p_flags & PF_X) ? PROT_EXEC : 0));
        for (size_t p = ph[i].p_vaddr / page; p <= (ph[i].p_vaddr + ph[i].p_memsz - 1) / page; p++)
            flags[p] |= f;
    }
    int rc = 0;
    for (size_t p = 0; p < npages && rc == 0;) {
        size_t q = p;
        while (q < npages && flags[q] == flags[p])
            q++;
        if ((flags[p] & PROT_WRITE) && (flags[p] & PROT_EXEC))
            rc = bad(why, cap, "the artifact has pages both writable and executable");
        else if (mprotect(img->base + p * page, (q - p) * page, flags[p]) != 0)
            rc = bad(why, cap, "cannot set the code's protection");
        p = q;
    }
    free(flags);
    return rc;
}

int elf_image_load(const uint8_t *file, size_t len, const char *symbol, struct elf_image **out,
                   const void **desc, char *why, size_t cap)
{
    *out = NULL;
    *desc = NULL;
    if (HOST_MACHINE == EM_NONE) return bad(why, cap, "no compiled tier on this kind of machine");
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)file;
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_type != ET_DYN)
        return bad(why, cap, "not a 64-bit little-endian ELF shared object");
    if (eh->e_machine != HOST_MACHINE) return bad(why, cap, "made for another kind of machine");
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff % 8 || eh->e_shoff % 8 ||
        !within(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), len))
        return bad(why, cap, "bad program headers");
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(file + eh->e_phoff);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t end = 0;
    const Elf64_Phdr *dyn = NULL;
    for (uint32_t i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_DYNAMIC) dyn = &ph[i];
        if (ph[i].p_type == PT_INTERP || ph[i].p_type == PT_TLS)
            return bad(why, cap, "the artifact asks for an interpreter or thread-local storage");
        if (ph[i].p_type != PT_LOAD) continue;
        if (ph[i].p_filesz > ph[i].p_memsz || !within(ph[i].p_offset, ph[i].p_filesz, len) ||
            ph[i].p_vaddr > (1ull << 40) || ph[i].p_memsz > (1ull << 40))
            return bad(why, cap, "bad segment");
        if (ph[i].p_vaddr + ph[i].p_memsz > end) end = ph[i].p_vaddr + ph[i].p_memsz;
    }
    if (!end) return bad(why, cap, "no code");
    struct elf_image *img = calloc(1, sizeof *img);
    if (!img) return bad(why, cap, "out of memory");
    img->span = (size_t)((end + page - 1) / page * page);
    void *base = mmap(NULL, img->span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        free(img);
        return bad(why, cap, "cannot map the code");
    }
    img->base = base;
    for (uint32_t i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_filesz)
            memcpy(img->base + ph[i].p_vaddr, file + ph[i].p_offset, ph[i].p_filesz);
    uint64_t code_lo = UINT64_MAX, code_hi = 0;
    for (uint32_t i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && ph[i].p_memsz) {
            if (ph[i].p_vaddr < code_lo) code_lo = ph[i].p_vaddr;
            if (ph[i].p_vaddr + ph[i].p_memsz > code_hi) code_hi = ph[i].p_vaddr + ph[i].p_memsz;
        }
    if (code_hi) {
        img->code_lo = img->base + code_lo;
        img->code_hi = img->base + code_hi;
    }
    uint64_t value = 0;
    if ((dyn && relocate(img, dyn, why, cap) < 0) ||
        read_symbols(img, file, len, eh, symbol, &value, why, cap) < 0 ||
        protect(img, ph, eh->e_phnum, page, why, cap) < 0) {
        elf_image_free(img);
        return -1;
    }
    if (!within(value, 1, img->span)) {
        elf_image_free(img);
        return bad(why, cap, "the exported symbol lies outside the code");
    }
    *out = img;
    *desc = img->base + value;
    return 0;
}

int64_t elf_image_func_at(void *image, const void *pc)
{
    struct elf_image *img = image;
    uintptr_t a = (uintptr_t)pc;
    size_t lo = 0, hi = img ? img->nfuncs : 0;
    while (lo < hi) { /* the last range starting at or before a */
        size_t mid = lo + (hi - lo) / 2;
        if (img->funcs[mid].start <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0) return -1;
    const struct func_range *f = &img->funcs[lo - 1];
    return a < f->end ? (int64_t)f->index : -1;
}

void elf_image_code(const struct elf_image *img, const uint8_t **lo, const uint8_t **hi)
{
    *lo = img->code_lo;
    *hi = img->code_hi;
}

void elf_image_free(void *image)
{
    struct elf_image *img = image;
    if (!img) return;
    if (img->base) munmap(img->base, img->span);
    free(img->funcs);
    free(img);
}
