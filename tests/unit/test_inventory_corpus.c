/*
 * Replays the committed fuzz corpus (tests/fuzz/corpus/inventory/: seeds and
 * every crasher fuzz_inventory has found) through the fuzz target itself, so CI
 * checks on every run that none of them crashes, leaks or breaks the
 * loader's contract again. The target is compiled in here rather than linked
 * so this test needs no libFuzzer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/fuzz/fuzz_inventory.c"

static void test_replay_corpus(void **state)
{
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/../fuzz/corpus/inventory", getenv("ECSGUARD_FIXTURES"));
    DIR *d = opendir(dir);
    assert_non_null(d);
    unsigned files = 0, crashers = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        /* A copy of exactly n bytes, so ASan sees any read past the input. */
        uint8_t *input = malloc(n ? n : 1);
        assert_non_null(input);
        memcpy(input, buf, n);
        assert_int_equal(LLVMFuzzerTestOneInput(input, n), 0);
        free(input);
        files++;
        crashers += strncmp(e->d_name, "crash-", 6) == 0;
    }
    closedir(d);
    /* The seeds and the regression inputs are all there. */
    assert_true(files >= 8);
    (void)crashers; /* none found yet: add them as crash-<what> with the fix */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
