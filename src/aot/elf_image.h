/* Loading an artifact's code: the shared object the system C compiler made
 * from the emitter's C file, mapped by our own small loader rather than
 * dlopen (the `stratus` program is a static PIE, and an artifact needs
 * nothing a dynamic linker does: it has no dependencies, no undefined
 * symbols, no initialisers, and only relative relocations). Anything else in
 * the file is refused, as is an image whose segments are both writable and
 * executable. Internal to src/aot. */
#ifndef STRATUS_AOT_ELF_IMAGE_H
#define STRATUS_AOT_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct elf_image;

/* Maps the ELF shared object in file[0, len) and resolves its relocations.
 * On success *out (free with elf_image_free) and *desc, the address of the
 * exported symbol `symbol`; else -1 and a reason in why. Cost: linear in
 * the file's size. */
int elf_image_load(const uint8_t *file, size_t len, const char *symbol, struct elf_image **out,
                   const void **desc, char *why, size_t cap);

/* The wasm function index (imports included) whose compiled code holds pc,
 * from the image's symbols (f12, f12.cold, ...), or -1. O(log n). */
int64_t elf_image_func_at(void *image, const void *pc);

/* Where the executable code lies: [*lo, *hi). */
void elf_image_code(const struct elf_image *img, const uint8_t **lo, const uint8_t **hi);

/* Unmaps the code. NULL is fine. */
void elf_image_free(void *image);

#endif
