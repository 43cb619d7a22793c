/* Unit tests of SHA-256: the FIPS 180-4 example vectors, messages at every
 * padding boundary, varied bytes over many blocks, and incremental updates
 * split anywhere (run again as test_sha256_portable, with the portable code
 * forced). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stratus/sha256.h"

static void hex_of(const void *data, size_t len, char out[SHA256_HEX_LEN])
{
    uint8_t d[SHA256_DIGEST_LEN];
    sha256(data, len, d);
    sha256_hex(d, out);
}

static void test_fips_vectors(void **state)
{
    char hex[SHA256_HEX_LEN];
    hex_of("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjkl"
                       "mnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    hex_of(four, strlen(four), hex);
    assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
    sha256_state s;
    sha256_init(&s);
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 1000; i++)
        sha256_update(&s, chunk, sizeof chunk);
    uint8_t d[SHA256_DIGEST_LEN];
    sha256_final(&s, d);
    char hex[SHA256_HEX_LEN];
    sha256_hex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths around the 55/56-byte padding boundary and whole blocks. */
static void test_padding_boundaries(void **state)
{
    static const struct {
        size_t n;
        const char *hex;
    } cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
        {65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
        {119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb"},
        {120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c"},
    };
    char buf[128];
    memset(buf, 'a', sizeof buf);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[SHA256_HEX_LEN];
        hex_of(buf, cases[i].n, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

/* 4,099 bytes that differ from word to word, so every lane of the message
   schedule matters (the expected digest from another implementation). */
static void test_varied_blocks(void **state)
{
    static uint8_t data[4099];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)((i * 131 + 7) ^ (i >> 8));
    char hex[SHA256_HEX_LEN];
    hex_of(data, sizeof data, hex);
    assert_string_equal(hex, "601b214d4601165474043828e3d4e17321abbab549f30b47c6eec408b5926602");
}

/* Feeding the same bytes in pieces of any size gives the one-shot digest. */
static void test_incremental_splits(void **state)
{
    uint8_t data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + 7);
    uint8_t whole[SHA256_DIGEST_LEN];
    sha256(data, sizeof data, whole);
    for (size_t step = 1; step < 140; step++) {
        sha256_state s;
        sha256_init(&s);
        for (size_t at = 0; at < sizeof data; at += step)
            sha256_update(&s, data + at, at + step > sizeof data ? sizeof data - at : step);
        uint8_t d[SHA256_DIGEST_LEN];
        sha256_final(&s, d);
        assert_memory_equal(d, whole, sizeof d);
    }
    /* and an empty update changes nothing */
    sha256_state s;
    sha256_init(&s);
    sha256_update(&s, data, 10);
    sha256_update(&s, NULL, 0);
    sha256_update(&s, data + 10, sizeof data - 10);
    uint8_t d[SHA256_DIGEST_LEN];
    sha256_final(&s, d);
    assert_memory_equal(d, whole, sizeof d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),       cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_boundaries), cmocka_unit_test(test_varied_blocks),
        cmocka_unit_test(test_incremental_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
