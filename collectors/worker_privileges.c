/* A worker thread gives up every capability (see worker_privileges.h). */
#include "collectors/worker_privileges.h"

#include <linux/capability.h>
#include <semaphore.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

int eg_worker_drop_capabilities(void)
{
    /* capset(2) directly: libcap is not a dependency, and an empty set needs no names. */
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
    return (int)syscall(SYS_capset, &hdr, data);
}

struct worker_start {
    void *(*fn)(void *);
    void *arg;
    sem_t dropped;
};

static void *worker_entry(void *p)
{
    struct worker_start *ws = p;
    void *(*fn)(void *) = ws->fn;
    void *arg = ws->arg;
    /* Cannot fail but for a bad pointer; the thread goes on either way. */
    (void)eg_worker_drop_capabilities();
    sem_post(&ws->dropped); /* ws lives on the creator's stack: not touched after this */
    return fn(arg);
}

int eg_worker_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    struct worker_start ws = {.fn = fn, .arg = arg};
    if (sem_init(&ws.dropped, 0, 0) != 0)
        return errno;
    int rc = pthread_create(thread, NULL, worker_entry, &ws);
    if (rc == 0)
        while (sem_wait(&ws.dropped) != 0 && errno == EINTR)
            ;
    sem_destroy(&ws.dropped);
    return rc;
}
