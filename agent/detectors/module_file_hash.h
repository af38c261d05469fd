/*
 * moduleSha256 for KernelModuleLoaded: the SHA-256 of the file a kernel module was loaded from
 * (finit_module), read after the event through a root that still holds the file.
 */
#ifndef ECSGUARD_AGENT_MODULE_FILE_HASH_H
#define ECSGUARD_AGENT_MODULE_FILE_HASH_H

#include <stdint.h>

/* Modules are a few MiB; the largest in distribution kernels tens of MiB. */
#define EG_MODULE_HASH_MAX_BYTES (256ull << 20)

enum eg_module_hash_outcome {
    EG_MODULE_HASHED,       /* `hex` holds the digest */
    EG_MODULE_FILE_GONE,    /* no root given held the file the kernel loaded (dev and inode) */
    EG_MODULE_FILE_CHANGED, /* changed since the load (ctime): its bytes are not the ones loaded */
    EG_MODULE_FILE_TOO_LARGE,
};

/*
 * The file the kernel loaded, `path` (from the loader's root, as the kernel named it), looked
 * up under <proc_root>/<pid>/root for each of `pids` in turn (pid 0: the agent's own root) and
 * taken only when it is the loaded file itself: a regular file with the kernel's device
 * (`kdev`, the kernel's dev_t encoding) and inode `ino`. It is hashed when its ctime is not
 * after `loaded_epoch_ns` (the load, wall clock), before and after reading. Nothing the
 * container can put at the path (a link, a FIFO, another file) is opened for reading.
 */
enum eg_module_hash_outcome eg_module_file_sha256(const char *proc_root, const uint32_t *pids,
                                                  int n_pids, const char *path, uint32_t kdev,
                                                  uint64_t ino, uint64_t loaded_epoch_ns,
                                                  char hex[65]);

const char *eg_module_hash_outcome_name(enum eg_module_hash_outcome o);

#endif
