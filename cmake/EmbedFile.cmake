# cmake -DIN=file -DOUT=file.c -DNAME=symbol -P EmbedFile.cmake
# Writes a C file defining `const unsigned char NAME[]` with the bytes of IN
# (NUL-terminated, not counted) and `const size_t NAME_len`, so that a page
# or other asset is built into the program and nothing is read at run time.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR nbytes "${nhex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from ${IN} by cmake/EmbedFile.cmake: do not edit. */\n"
                  "#include <stddef.h>\n"
                  "const unsigned char ${NAME}[] = {\n${bytes}0x00};\n"
                  "const size_t ${NAME}_len = ${nbytes};\n")
