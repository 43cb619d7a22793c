/* Random (version 4) UUIDs in their 36-character text form. */
#ifndef STRATUS_UUID_H
#define STRATUS_UUID_H

#define UUID_STR_LEN 37 /* 36 characters and the terminating NUL */

/* Write a new random UUID v4 into out. Returns 0, or -1 if no randomness. */
int uuid_v4_generate(char out[UUID_STR_LEN]);

/* 1 if s is a well-formed UUID text (any version, either case), else 0. */
int uuid_is_valid(const char *s);

#endif
