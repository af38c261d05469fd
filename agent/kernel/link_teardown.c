#include "agent/kernel/link_teardown.h"

#include <pthread.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

static void *destroy_one(void *link)
{
    bpf_link__destroy(link);
    return NULL;
}

void eg_bpf_links_destroy(struct bpf_link **links, int n)
{
    pthread_t *threads = n > 0 ? calloc((size_t)n, sizeof(*threads)) : NULL;
    int started = 0;
    for (int i = 0; i < n; i++) {
        if (!links[i])
            continue;
        if (threads && pthread_create(&threads[started], NULL, destroy_one, links[i]) == 0)
            started++;
        else
            bpf_link__destroy(links[i]);
        links[i] = NULL;
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
}
