/* Unit tests of the profile records (stratus/profile_record.h): each type
 * encodes and decodes to the same values in the documented little-endian
 * layout, wrong lengths and bad JSON are refused with a reason, and the
 * typed profile frame carries a valid type name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stratus/profile_record.h"

static void test_benchmarking(void **state)
{
    (void)state;
    struct profile_run runs[2] = {{1000, 900, 50}, {0x01020304, 2, 3}};
    uint8_t *buf;
    size_t len;
    assert_int_equal(profile_encode_benchmarking(runs, 2, &buf, &len), 0);
    assert_int_equal(len, 24);
    /* u32 little-endian: wall_us of the second run at byte 12 */
    assert_int_equal(buf[12], 0x04);
    assert_int_equal(buf[15], 0x01);
    struct profile_record r;
    char err[PROFILE_ERR_LEN];
    assert_int_equal(profile_record_decode("benchmarking", buf, len, &r, err), 0);
    assert_int_equal(r.nruns, 2);
    assert_int_equal(r.runs[0].utime_us, 900);
    assert_int_equal(r.runs[1].wall_us, 0x01020304);
    profile_record_free(&r);
    assert_int_equal(profile_record_decode("benchmarking", buf, 23, &r, err), -1);
    assert_non_null(strstr(err, "not runs of 12"));
    free(buf);
    /* a series with no run done is an empty record */
    assert_int_equal(profile_record_decode("benchmarking", (const uint8_t *)"", 0, &r, err), 0);
    assert_int_equal(r.nruns, 0);
    profile_record_free(&r);
}

static void test_opcodes_and_prefixed(void **state)
{
    (void)state;
    uint64_t counts[256] = {0};
    counts[0x6A] = 5;
    counts[0xFC] = (uint64_t)1 << 40;
    uint8_t *buf;
    size_t len;
    assert_int_equal(profile_encode_opcodes(counts, &buf, &len), 0);
    assert_int_equal(len, 2048);
    struct profile_record r;
    char err[PROFILE_ERR_LEN];
    assert_int_equal(profile_record_decode("opcodes", buf, len, &r, err), 0);
    assert_int_equal(r.opcodes[0x6A], 5);
    assert_int_equal(r.opcodes[0xFC], (uint64_t)1 << 40);
    assert_int_equal(profile_record_decode("opcodes", buf, 2040, &r, err), -1);
    free(buf);
    struct profile_prefixed fc[2] = {{0xFC, 10, 2}, {0xFC, 11, 1}};
    assert_int_equal(profile_encode_prefixed(fc, 2, &buf, &len), 0);
    assert_int_equal(len, 32);
    assert_int_equal(profile_record_decode("opcodes_prefixed", buf, len, &r, err), 0);
    assert_int_equal(r.nprefixed, 2);
    assert_int_equal(r.prefixed[0].sub, 10);
    assert_int_equal(r.prefixed[1].count, 1);
    profile_record_free(&r);
    buf[0] = 0x00;
    buf[1] = 0x01; /* prefix 0x100: not a byte */
    assert_int_equal(profile_record_decode("opcodes_prefixed", buf, len, &r, err), -1);
    free(buf);
}

static void test_interference(void **state)
{
    (void)state;
    uint32_t a[] = {10, 20}, b[] = {30};
    struct profile_series s[2] = {{"0:a.wasm", 2, a}, {"1:b.wasm", 1, b}};
    uint8_t *buf;
    size_t len;
    assert_int_equal(profile_encode_interference(s, 2, &buf, &len), 0);
    assert_memory_equal(buf, "{\"0:a.wasm\":[10,20],\"1:b.wasm\":[30]}", len);
    struct profile_record r;
    char err[PROFILE_ERR_LEN];
    assert_int_equal(profile_record_decode("interference", buf, len, &r, err), 0);
    assert_int_equal(r.nseries, 2);
    assert_string_equal(r.series[1].key, "1:b.wasm");
    assert_int_equal(r.series[0].wall_us[1], 20);
    profile_record_free(&r);
    free(buf);
    const char *bad[] = {
        "[1,2]", "{\"0:a\": [-1]}",        "{\"0:a\": [1.5]}", "{\"nocolon\": []}", "{\"0:a\": 3}",
        "{",     "{\"0:a\": [4294967296]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(
            profile_record_decode("interference", (const uint8_t *)bad[i], strlen(bad[i]), &r, err),
            -1);
        assert_true(err[0] != '\0');
    }
}

static void test_deployed_and_unknown(void **state)
{
    (void)state;
    uint8_t rec[32] = {0};
    rec[0] = 1;  /* start_us = 1 */
    rec[8] = 7;  /* wall_us = 7 */
    rec[28] = 9; /* ch_out = 9 */
    struct profile_record r;
    char err[PROFILE_ERR_LEN];
    assert_int_equal(profile_record_decode("deployed", rec, 32, &r, err), 0);
    assert_int_equal(r.deployed.start_us, 1);
    assert_int_equal(r.deployed.wall_us, 7);
    assert_int_equal(r.deployed.ch_out, 9);
    assert_int_equal(profile_record_decode("deployed", rec, 31, &r, err), -1);
    assert_int_equal(profile_record_decode("nosuch", rec, 32, &r, err), -1);
    assert_non_null(strstr(err, "unknown record type"));
}

static void test_typed_frame(void **state)
{
    (void)state;
    uint8_t *frame;
    size_t n;
    assert_int_equal(profile_frame_build("opcodes", (const uint8_t *)"xy", 2, &frame, &n), 0);
    assert_int_equal(n, 1 + 7 + 2);
    assert_int_equal(frame[0], 7);
    const char *type;
    const uint8_t *rec;
    size_t tl, rl;
    char err[PROFILE_ERR_LEN];
    assert_int_equal(profile_frame_split(frame, n, &type, &tl, &rec, &rl, err), 0);
    assert_int_equal(tl, 7);
    assert_memory_equal(type, "opcodes", 7);
    assert_int_equal(rl, 2);
    frame[0] = 20; /* longer than the frame */
    assert_int_equal(profile_frame_split(frame, n, &type, &tl, &rec, &rl, err), -1);
    free(frame);
    assert_int_equal(profile_frame_build("Bad/Name", NULL, 0, &frame, &n), -1);
    assert_false(profile_type_valid("a+b", 3));
    assert_true(profile_type_valid("opcodes_prefixed", 16));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_benchmarking), cmocka_unit_test(test_opcodes_and_prefixed),
        cmocka_unit_test(test_interference), cmocka_unit_test(test_deployed_and_unknown),
        cmocka_unit_test(test_typed_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
