/*
 * libFuzzer target: the rootfs detector's files-written table as an earlier agent left it in
 * --state-dir (agent/detectors/detect_rootfs_state.c). The first input byte chooses: the
 * remaining bytes as the whole file (what a damaged disk gives), or as the body of a file with
 * this boot's header (magic, version, id, a record count from the input) and a correct
 * checksum, so the record parser behind the checksum is reached.
 *
 * Contracts: a table is taken whole or not at all (loaded records == every record the header
 * counts, or none); never more than the table holds; every restored record is found again by
 * its key, its strings terminated; and a table taken is saved and read back the same.
 */
#include "agent/detectors/detect_rootfs_internal.h"

#include <unistd.h>
#include <zlib.h>

#include "tests/fuzz/fuzz_input.h"

static struct eg_rootfs_detector *fresh(void)
{
    static struct eg_proc_table *procs;
    static struct eg_container_table *containers;
    if (!procs) {
        procs = eg_proc_table_new();
        containers = eg_container_table_new(-1);
    }
    struct eg_detector_env env = {.procs = procs, .containers = containers};
    struct eg_rootfs_detector *d = eg_rootfs_detector_new(&env, -1, "/proc");
    FUZZ_CHECK(d != NULL);
    memcpy(d->boot_id, "fuzz-boot-0000-0000-0000-000000000000", 38);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    bool framed = fuzz_u8(&in) & 1;
    uint32_t count = fuzz_u8(&in) % 8;
    const uint8_t *body;
    size_t body_len = fuzz_bytes(&in, in.left, &body);
    struct eg_rootfs_detector *d = fresh();
    unsigned char *file = malloc(64 + body_len + 4);
    FUZZ_CHECK(file != NULL);
    size_t len = 0;
    if (framed) {
        memcpy(file, "EGRWRTN", 8);
        uint32_t version = 1;
        memcpy(file + 8, &version, 4);
        memcpy(file + 12, &count, 4);
        memset(file + 16, 0, 40);
        memcpy(file + 16, d->boot_id, 38);
        len = 56;
    }
    memcpy(file + len, body, body_len);
    len += body_len;
    if (framed) {
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), file, (uInt)len);
        memcpy(file + len, &crc, 4);
        len += 4;
    }
    const char *why = eg_rootfs_state_load_buffer(d, file, len);
    free(file);
    if (why) {
        FUZZ_CHECK(d->stats.written_state_loaded == 0 && d->n_written == 0);
        eg_rootfs_detector_free(d);
        return 0;
    }
    FUZZ_CHECK(d->n_written <= EG_ROOTFS_WRITTEN_SLOTS);
    if (framed)
        FUZZ_CHECK(d->stats.written_state_loaded == count);
    for (uint32_t i = 0; i < d->n_written; i++) {
        const struct written_key *k = &d->written_keys[i];
        FUZZ_CHECK(eg_rootfs_written_find(d, k->cg, k->dev, k->ino) != EG_HASH_NONE);
        FUZZ_CHECK(memchr(d->written[i].comm, 0, sizeof(d->written[i].comm)) != NULL);
        FUZZ_CHECK(memchr(d->written[i].path, 0, sizeof(d->written[i].path)) != NULL);
    }
    /* What was taken, saved and read back, is the same table. */
    char dir[] = "/tmp/eg-fuzz-written-XXXXXX";
    FUZZ_CHECK(mkdtemp(dir) != NULL);
    eg_rootfs_state_open(d, dir);
    memcpy(d->boot_id, "fuzz-boot-0000-0000-0000-000000000000", 38);
    d->written_changed = true;
    eg_rootfs_state_save(d, 1000000, true);
    struct eg_rootfs_detector *again = fresh();
    eg_rootfs_state_open(again, dir);
    memcpy(again->boot_id, d->boot_id, sizeof(d->boot_id));
    eg_rootfs_state_load(again);
    FUZZ_CHECK(again->n_written == d->n_written);
    FUZZ_CHECK(again->stats.written_state_rejected == 0);
    char path[sizeof(dir) + 32];
    snprintf(path, sizeof(path), "%s/rootfs-written.state", dir);
    unlink(path);
    rmdir(dir);
    eg_rootfs_detector_free(again);
    eg_rootfs_detector_free(d);
    return 0;
}
