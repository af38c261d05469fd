/* A worker thread gives up every capability (see worker_privileges.h). */
#include "collectors/worker_privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

int eg_worker_drop_capabilities(void)
{
    /* capset(2) directly: libcap is not a dependency, and an empty set needs no names. */
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    return (int)syscall(SYS_capset, &hdr, data);
}
