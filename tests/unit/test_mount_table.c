/*
 * Path resolution and mount decisions for path-only syscalls: which mount a
 * (base, path) pair lands on in a container's mount table, and the per-mount-
 * namespace cache re-reading /proc/<pid>/mountinfo.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "collectors/mount_table.h"

/* What runc gives a container with a bind volume at /data and a tmpfs at /scratch. */
static const char CONTAINER_MOUNTINFO[] =
    "612 540 0:62 / / rw,relatime - overlay overlay rw,lowerdir=/img,upperdir=/u,workdir=/w\n"
    "613 612 0:65 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "614 612 0:66 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
    "620 612 8:1 /srv/vol /data rw,relatime shared:1 master:2 - ext4 /dev/sda1 rw\n"
    "621 612 0:70 / /scratch rw,relatime - tmpfs tmpfs rw\n"
    "622 612 8:1 /srv/with\\040space /my\\040vol rw - ext4 /dev/sda1 rw\n"
    "623 612 0:71 / /data/inner rw - tmpfs tmpfs rw\n";

static struct eg_mount_table table;

static const char *mount_of(const char *path)
{
    const struct eg_mount *m = eg_mount_table_find(&table, path);
    return m ? m->mount_point : NULL;
}

static void parses_runc_mountinfo(void **state)
{
    (void)state;
    assert_int_equal(eg_mount_table_parse(CONTAINER_MOUNTINFO, strlen(CONTAINER_MOUNTINFO), &table),
                     7);
    assert_false(table.truncated);
    assert_string_equal(table.m[0].mount_point, "/");
    assert_string_equal(table.m[0].fstype, "overlay");
    assert_int_equal(table.m[3].mount_id, 620);
    assert_int_equal(table.m[3].parent_id, 612);
    assert_string_equal(table.m[3].fstype, "ext4"); /* after optional fields */
    assert_string_equal(table.m[5].mount_point, "/my vol");
}

static void longest_whole_component_prefix(void **state)
{
    (void)state;
    eg_mount_table_parse(CONTAINER_MOUNTINFO, strlen(CONTAINER_MOUNTINFO), &table);
    assert_string_equal(mount_of("/etc/passwd"), "/");
    assert_string_equal(mount_of("/"), "/");
    assert_string_equal(mount_of("/data"), "/data");
    assert_string_equal(mount_of("/data/x/y"), "/data");
    assert_string_equal(mount_of("/database/x"), "/"); /* not a component of /data */
    assert_string_equal(mount_of("/data/inner/f"), "/data/inner");
    assert_string_equal(mount_of("/scratch/f"), "/scratch");
    assert_string_equal(mount_of("/my vol/f"), "/my vol");
    assert_true(eg_mount_is_root(eg_mount_table_find(&table, "/usr/bin/x")));
    assert_false(eg_mount_is_root(eg_mount_table_find(&table, "/scratch/x")));
    assert_false(eg_mount_is_root(NULL));
}

static void last_mount_on_a_point_wins(void **state)
{
    (void)state;
    const char text[] = "1 0 0:1 / / rw - overlay overlay rw\n"
                        "2 1 0:2 / /mnt rw - ext4 /dev/sda1 rw\n"
                        "3 2 0:3 / /mnt rw - tmpfs tmpfs rw\n";
    eg_mount_table_parse(text, sizeof(text) - 1, &table);
    assert_int_equal(eg_mount_table_find(&table, "/mnt/f")->mount_id, 3);
}

static void malformed_and_oversized_input(void **state)
{
    (void)state;
    assert_int_equal(eg_mount_table_parse("", 0, &table), -1);
    assert_int_equal(eg_mount_table_parse("garbage\n\n", 9, &table), -1);
    assert_null(eg_mount_table_find(&table, "/x"));
    const char partial[] = "1 0 0:1 / / rw - overlay overlay rw\n12 1 0:2 / relative rw - x y\n"
                           "13 1 0:2 / /nofstype rw\n";
    assert_int_equal(eg_mount_table_parse(partial, sizeof(partial) - 1, &table), 1);
    assert_true(table.truncated);

    /* More mounts than kept: the first EG_MOUNTS_MAX, flagged. */
    size_t cap = (EG_MOUNTS_MAX + 10) * 64;
    char *big = malloc(cap);
    size_t len = 0;
    for (int i = 0; i < EG_MOUNTS_MAX + 10; i++)
        len += (size_t)snprintf(big + len, cap - len, "%d 1 0:%d / /m%d rw - tmpfs t rw\n", i + 2,
                                i, i);
    assert_int_equal(eg_mount_table_parse(big, len, &table), EG_MOUNTS_MAX);
    assert_true(table.truncated);
    free(big);

    /* A mount point longer than we keep is skipped, not cut to a wrong prefix. */
    char line[EG_MOUNT_POINT_MAX + 100];
    int n = snprintf(line, sizeof(line), "5 1 0:9 / /");
    memset(line + n, 'a', EG_MOUNT_POINT_MAX);
    snprintf(line + n + EG_MOUNT_POINT_MAX, sizeof(line) - (size_t)n - EG_MOUNT_POINT_MAX,
             " rw - tmpfs t rw\n");
    assert_int_equal(eg_mount_table_parse(line, strlen(line), &table), -1);
}

static void resolve(const char *base, const char *path, const char *want)
{
    char out[EG_MOUNT_POINT_MAX];
    int n = eg_path_resolve(base, path, out, sizeof(out));
    if (!want) {
        assert_int_equal(n, -1);
        return;
    }
    assert_int_not_equal(n, -1);
    assert_string_equal(out, want);
    assert_int_equal((size_t)n, strlen(want));
}

static void joins_and_normalizes(void **state)
{
    (void)state;
    resolve("", "/etc/passwd", "/etc/passwd");
    resolve("/var/www", "index.html", "/var/www/index.html");
    resolve("/", "x", "/x");
    resolve("/a/b", "../c", "/a/c");
    resolve("/a/b", "../../../../c", "/c"); /* ".." stops at the root */
    resolve("/a", "./b//c/./", "/a/b/c");
    resolve("/a", "..", "/");
    resolve("/ignored", "//etc///shadow", "/etc/shadow");
    resolve("/data", "../etc/passwd", "/etc/passwd"); /* cwd in a volume, target in the rootfs */
    resolve("", "relative", NULL);                    /* no base for a relative path */
    resolve("not-absolute", "x", NULL);
    char longpath[600];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    resolve("", longpath, NULL);
}

static void cache_reads_through_a_process_and_counts_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/eg-mount-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    /* Our own pid is alive, so the cache keeps reading through it. */
    unsigned pid = (unsigned)getpid();
    snprintf(path, sizeof(path), "%s/%u", dir, pid);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/%u/mountinfo", dir, pid);
    FILE *f = fopen(path, "w");
    fputs(CONTAINER_MOUNTINFO, f);
    fclose(f);

    struct eg_mount_cache *c = eg_mount_cache_new(dir);
    const struct eg_mount_table *t = eg_mount_cache_get(c, 4026531840u, pid);
    assert_non_null(t);
    assert_int_equal(t->n, 7);
    assert_ptr_equal(eg_mount_cache_get(c, 4026531840u, pid), t); /* cached */
    struct eg_mount_cache_stats st;
    eg_mount_cache_get_stats(c, &st);
    assert_int_equal(st.reads, 1);
    /* An unreadable process: no table, counted. */
    assert_null(eg_mount_cache_get(c, 4026531841u, 999999999u));
    eg_mount_cache_get_stats(c, &st);
    assert_int_equal(st.read_errors, 1);
    eg_mount_cache_free(c);
    unlink(path);
    snprintf(path, sizeof(path), "%s/%u", dir, pid);
    rmdir(path);
    rmdir(dir);
}

static void cache_follows_real_mount_changes(void **state)
{
    (void)state;
    /* /proc/self/mountinfo of this process: a real file that polls for changes. */
    struct eg_mount_cache *c = eg_mount_cache_new("/proc");
    struct stat st;
    assert_int_equal(stat("/proc/self/ns/mnt", &st), 0);
    const struct eg_mount_table *t = eg_mount_cache_get(c, (uint32_t)st.st_ino, (uint32_t)getpid());
    assert_non_null(t);
    assert_true(t->n > 0);
    assert_true(eg_mount_table_find(t, "/proc/self") != NULL);
    eg_mount_cache_free(c);
}

/* A tree standing in for a container's root: /etc, /opt/e -> /etc, /opt/rel -> ../etc, a loop,
 * and a link that tries to leave the root (/opt/up -> ../../..). */
static void resolves_symlinks_inside_a_root(void **state)
{
    (void)state;
    char root[] = "/tmp/eg-links-XXXXXX";
    assert_non_null(mkdtemp(root));
    char p[256];
    snprintf(p, sizeof(p), "%s/etc", root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/opt", root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/opt/e", root);
    assert_int_equal(symlink("/etc", p), 0);
    snprintf(p, sizeof(p), "%s/opt/rel", root);
    assert_int_equal(symlink("../etc", p), 0);
    snprintf(p, sizeof(p), "%s/opt/loop", root);
    assert_int_equal(symlink("/opt/loop", p), 0);
    snprintf(p, sizeof(p), "%s/opt/up", root);
    assert_int_equal(symlink("../../..", p), 0);
    snprintf(p, sizeof(p), "%s/etc/passwd-link", root);
    assert_int_equal(symlink("passwd", p), 0);
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    char out[256];

    assert_int_equal(eg_path_resolve_links(fd, "/opt/e/passwd", false, out, sizeof(out)), 0);
    assert_string_equal(out, "/etc/passwd");
    assert_int_equal(eg_path_resolve_links(fd, "/opt/rel/shadow", false, out, sizeof(out)), 0);
    assert_string_equal(out, "/etc/shadow");
    /* The last component: followed only when asked (chmod), named otherwise (unlink). */
    assert_int_equal(eg_path_resolve_links(fd, "/opt/e", false, out, sizeof(out)), 0);
    assert_string_equal(out, "/opt/e");
    assert_int_equal(eg_path_resolve_links(fd, "/opt/e", true, out, sizeof(out)), 0);
    assert_string_equal(out, "/etc");
    assert_int_equal(eg_path_resolve_links(fd, "/etc/passwd-link", true, out, sizeof(out)), 0);
    assert_string_equal(out, "/etc/passwd");
    /* ".." after a link is taken from where the link led, as the kernel does. */
    assert_int_equal(eg_path_resolve_links(fd, "/opt/e/../x", false, out, sizeof(out)), 0);
    assert_string_equal(out, "/x");
    /* A link climbing above the root stops at the root. */
    assert_int_equal(eg_path_resolve_links(fd, "/opt/up/etc/passwd", false, out, sizeof(out)), 0);
    assert_string_equal(out, "/etc/passwd");
    /* Missing components are kept as named; loops fail. */
    assert_int_equal(eg_path_resolve_links(fd, "/no/such/file", true, out, sizeof(out)), 0);
    assert_string_equal(out, "/no/such/file");
    assert_int_equal(eg_path_resolve_links(fd, "/opt/loop/x", false, out, sizeof(out)), -1);
    assert_int_equal(eg_path_resolve_links(fd, "/", true, out, sizeof(out)), 0);
    assert_string_equal(out, "/");
    close(fd);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_runc_mountinfo),
        cmocka_unit_test(longest_whole_component_prefix),
        cmocka_unit_test(last_mount_on_a_point_wins),
        cmocka_unit_test(malformed_and_oversized_input),
        cmocka_unit_test(joins_and_normalizes),
        cmocka_unit_test(cache_reads_through_a_process_and_counts_errors),
        cmocka_unit_test(cache_follows_real_mount_changes),
        cmocka_unit_test(resolves_symlinks_inside_a_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
