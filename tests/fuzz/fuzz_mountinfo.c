/*
 * libFuzzer target: /proc/<pid>/mountinfo of a container (collectors/mount_table.c), whose
 * mount points the container chooses (names with spaces, newlines and backslashes arrive
 * escaped as \ooo), and the path normalisation the rootfs detector applies to the paths a
 * container names. Input: a base directory and a path (each one length byte, then bytes),
 * then the mountinfo text.
 *
 * Contracts: at most EG_MOUNTS_MAX mounts, each with an absolute, terminated mount point; the
 * lookup of a mount point finds a mount on exactly that point; a resolved path is absolute and
 * normalised (no empty, "." or ".." component, no trailing '/'), resolving it again changes
 * nothing, and the mount it lands on is a whole-component prefix of it.
 */
#include "collectors/mount_table.h"

#include "tests/fuzz/fuzz_input.h"

static void check_normalised(const char *p, int len)
{
    FUZZ_CHECK(len >= 1 && (size_t)len == strlen(p) && p[0] == '/');
    FUZZ_CHECK(len == 1 || p[len - 1] != '/');
    FUZZ_CHECK(strstr(p, "//") == NULL);
    for (const char *c = p; c && *c; c = strchr(c + 1, '/')) {
        const char *s = c + 1;
        size_t n = strcspn(s, "/");
        FUZZ_CHECK(!(n == 1 && s[0] == '.') && !(n == 2 && s[0] == '.' && s[1] == '.'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    char base[256], path[256];
    fuzz_field(&in, base, sizeof(base), false);
    fuzz_field(&in, path, sizeof(path), false);
    const uint8_t *text;
    size_t len = fuzz_rest(&in, &text);
    char *copy = malloc(len ? len : 1);
    FUZZ_CHECK(copy != NULL);
    if (len)
        memcpy(copy, text, len);

    struct eg_mount_table *t = malloc(sizeof(*t));
    FUZZ_CHECK(t != NULL);
    int n = eg_mount_table_parse(copy, len, t);
    FUZZ_CHECK(n == (t->n > 0 ? t->n : -1));
    FUZZ_CHECK(t->n >= 0 && t->n <= EG_MOUNTS_MAX);
    for (int i = 0; i < t->n; i++) {
        const struct eg_mount *m = &t->m[i];
        FUZZ_TERMINATED(m->mount_point);
        FUZZ_TERMINATED(m->fstype);
        FUZZ_CHECK(m->mount_point[0] == '/');
        const struct eg_mount *found = eg_mount_table_find(t, m->mount_point);
        FUZZ_CHECK(found && strcmp(found->mount_point, m->mount_point) == 0);
    }

    char out[512];
    int r = eg_path_resolve(base, path, out, sizeof(out));
    if (r >= 0) {
        check_normalised(out, r);
        char again[512];
        FUZZ_CHECK(eg_path_resolve(NULL, out, again, sizeof(again)) == r);
        FUZZ_CHECK(strcmp(again, out) == 0);
        const struct eg_mount *m = eg_mount_table_find(t, out);
        if (eg_mount_table_find(t, "/")) /* a root mount: every absolute path lands somewhere */
            FUZZ_CHECK(m != NULL);
        if (m) {
            size_t ml = strlen(m->mount_point);
            FUZZ_CHECK(strncmp(m->mount_point, out, ml) == 0);
            FUZZ_CHECK(ml == 1 || out[ml] == '\0' || out[ml] == '/');
        }
    } else {
        FUZZ_CHECK(r == -1);
    }
    free(t);
    free(copy);
    return 0;
}
