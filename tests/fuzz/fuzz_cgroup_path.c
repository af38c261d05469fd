/*
 * libFuzzer target: container and task identity from a cgroup path (collectors/cgroup_path.c),
 * the path a container names by creating cgroups (nested cgroups of a privileged container,
 * the kernel's fixed-size path buffer).
 *
 * Contracts: a container match carries a 64-hex container id that occurs in the path and, for
 * the ECS layouts, a valid task id; a non-match is zeroed except for a task's own cgroup; the
 * buffer form and the string form agree; a mount prefix (/sys/fs/cgroup/<controller>) changes
 * nothing; a NUL inside the buffer is refused (a truncated or forged path).
 */
#include "collectors/cgroup_path.h"

#include "tests/fuzz/fuzz_input.h"

static bool is_zero(const struct eg_cgroup_identity *id)
{
    static const struct eg_cgroup_identity zero;
    return memcmp(id, &zero, sizeof(zero)) == 0;
}

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void check_identity(bool matched, const struct eg_cgroup_identity *id, const char *path,
                           size_t len)
{
    FUZZ_TERMINATED(id->container_id);
    FUZZ_TERMINATED(id->task_id);
    if (matched) {
        FUZZ_CHECK(id->layout != EG_LAYOUT_NONE && !id->task_only);
        FUZZ_CHECK(strlen(id->container_id) == EG_CONTAINER_ID_LEN);
        FUZZ_CHECK(lower_hex(id->container_id, EG_CONTAINER_ID_LEN));
        FUZZ_CHECK(memmem(path, len, id->container_id, EG_CONTAINER_ID_LEN) != NULL);
        bool ecs = id->layout == EG_LAYOUT_ECS_V1 || id->layout == EG_LAYOUT_ECS_V2;
        FUZZ_CHECK(ecs == (id->task_id[0] != '\0'));
        if (ecs)
            FUZZ_CHECK(eg_task_id_valid(id->task_id, strlen(id->task_id)));
    } else if (id->task_only) {
        FUZZ_CHECK(id->layout == EG_LAYOUT_ECS_V1 || id->layout == EG_LAYOUT_ECS_V2);
        FUZZ_CHECK(id->container_id[0] == '\0' && !id->nested);
        FUZZ_CHECK(eg_task_id_valid(id->task_id, strlen(id->task_id)));
    } else {
        FUZZ_CHECK(is_zero(id));
    }
    FUZZ_CHECK(strcmp(eg_cgroup_layout_name(id->layout), "unknown") != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = calloc(1, size ? size : 1);
    FUZZ_CHECK(buf != NULL);
    if (size)
        memcpy(buf, data, size);
    struct eg_cgroup_identity a, b;
    bool ma = eg_cgroup_path_parse_buf(buf, size, &a);
    check_identity(ma, &a, buf, size);
    bool has_nul = memchr(buf, '\0', size) != NULL;
    if (has_nul)
        FUZZ_CHECK(!ma && is_zero(&a));

    /* The same path as a C string, and below a mount prefix. */
    char *str = malloc(size + 64);
    FUZZ_CHECK(str != NULL);
    if (size)
        memcpy(str, data, size);
    str[size] = '\0';
    if (!has_nul) {
        bool mb = eg_cgroup_path_parse(str, &b);
        FUZZ_CHECK(ma == mb && memcmp(&a, &b, sizeof(a)) == 0);
    }
    if (!has_nul && size > 0 && buf[0] == '/' && size + 22 <= EG_CGROUP_PATH_MAX) {
        memcpy(str, "/sys/fs/cgroup/memory", 21);
        memcpy(str + 21, data, size);
        str[size + 21] = '\0';
        bool mc = eg_cgroup_path_parse(str, &b);
        check_identity(mc, &b, str, size + 21);
        FUZZ_CHECK(ma == mc && memcmp(&a, &b, sizeof(a)) == 0);
    }
    free(str);
    free(buf);
    return 0;
}
