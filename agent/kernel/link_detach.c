/* Detaching a concern's links from several threads at once (see link_detach.h). */
#include "agent/kernel/link_detach.h"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Enough to overlap the waits of the largest concern (about forty links) in a few rounds. */
#define DETACH_THREADS_MAX 16

struct detach_work {
    struct bpf_link ***slots;
    int n;
    atomic_int next;
};

static void *detach_worker(void *arg)
{
    struct detach_work *w = arg;
    for (;;) {
        int i = atomic_fetch_add(&w->next, 1);
        if (i >= w->n)
            return NULL;
        if (w->slots[i] && *w->slots[i]) {
            bpf_link__destroy(*w->slots[i]);
            *w->slots[i] = NULL;
        }
    }
}

void eg_links_destroy_parallel(struct bpf_link **slots[], int n)
{
    if (n <= 0)
        return;
    struct detach_work w = {.slots = slots, .n = n};
    atomic_init(&w.next, 0);
    pthread_t threads[DETACH_THREADS_MAX];
    int started = 0;
    int wanted = n - 1 < DETACH_THREADS_MAX ? n - 1 : DETACH_THREADS_MAX;
    while (started < wanted && pthread_create(&threads[started], NULL, detach_worker, &w) == 0)
        started++;
    detach_worker(&w); /* this thread works too, and alone when no thread could start */
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
}

void eg_skeleton_detach_parallel(struct bpf_object_skeleton *skeleton)
{
    if (!skeleton || skeleton->prog_cnt <= 0)
        return;
    struct bpf_link ***slots = calloc((size_t)skeleton->prog_cnt, sizeof(*slots));
    if (!slots)
        return; /* the skeleton's own destroy detaches them, one after another */
    for (int i = 0; i < skeleton->prog_cnt; i++) {
        const struct bpf_prog_skeleton *p =
            (const void *)((const char *)skeleton->progs + (size_t)i * skeleton->prog_skel_sz);
        slots[i] = p->link;
    }
    eg_links_destroy_parallel(slots, skeleton->prog_cnt);
    free(slots);
}
