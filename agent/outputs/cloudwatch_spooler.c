/*
 * The CloudWatch sink's spooler thread: lines accepted by write() wait in memory only until this
 * thread has appended them to the disk spool (fdatasync'd), so an outage or a restart loses
 * nothing the spool could hold. A failed append keeps the lines in memory, ahead of newer ones,
 * and is retried.
 */
#include "agent/outputs/cloudwatch_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/common/log.h"

#define SPOOL_RETRY_MS 1000u

void *eg_cw_spooler_main(void *arg)
{
    struct cw_sink *cw = arg;
    /* Spool files are the agent's own (root-owned directory): started without capabilities. */
    uint64_t last_log = 0;
    pthread_mutex_lock(&cw->mu);
    for (;;) {
        while (cw->qlen == 0 && !cw->stopping)
            pthread_cond_wait(&cw->wake_spooler, &cw->mu);
        if (cw->qlen == 0)
            break;
        if (cw->stopping && cw_now_ms() >= cw->stop_deadline_ms)
            break;
        struct qrec *batch = cw->q;
        size_t n = cw->qlen;
        cw->q = NULL;
        cw->qlen = cw->qcap = 0;
        cw->spooling = true;
        cw->spooling_lines = n;
        pthread_mutex_unlock(&cw->mu);

        struct eg_spool_input *in = malloc(n * sizeof(*in));
        size_t done = 0, dropped = 0;
        int e = ENOMEM;
        if (in) {
            for (size_t i = 0; i < n; i++)
                in[i] = (struct eg_spool_input){batch[i].ts_ms, batch[i].data, batch[i].len};
            while (done < n) {
                size_t k = 0;
                if (eg_spool_append(cw->spool, in + done, n - done, &k, &e) == 0) {
                    done = n;
                    break;
                }
                done += k;
                if (e != EMSGSIZE)
                    break;
                /* A line larger than the whole spool can never be stored. */
                free(batch[done].data);
                batch[done].data = NULL;
                done++;
                dropped++;
            }
            free(in);
        }
        size_t freed_bytes = 0;
        for (size_t i = 0; i < done; i++) {
            freed_bytes += batch[i].len;
            free(batch[i].data);
        }

        pthread_mutex_lock(&cw->mu);
        cw->qbytes -= freed_bytes;
        cw->c.dropped_spool_full += dropped;
        cw->spooling = false;
        cw->spooling_lines = 0;
        if (done < n) {
            /* Keep the unwritten lines, ahead of anything written meanwhile. */
            cw->c.spool_errors++;
            size_t left = n - done;
            struct qrec *merged = malloc((left + cw->qlen) * sizeof(*merged));
            if (merged) {
                memcpy(merged, batch + done, left * sizeof(*merged));
                if (cw->qlen)
                    memcpy(merged + left, cw->q, cw->qlen * sizeof(*merged));
                free(cw->q);
                cw->q = merged;
                cw->qlen += left;
                cw->qcap = cw->qlen;
            } else {
                for (size_t i = done; i < n; i++) {
                    cw->qbytes -= batch[i].len;
                    free(batch[i].data);
                }
                cw->c.dropped_queue_full += left;
            }
            uint64_t t = cw_now_ms();
            if (t - last_log >= ERROR_LOG_INTERVAL_MS || last_log == 0) {
                eg_log_error("cloudwatch: cannot write the spool (%s); %zu lines wait in memory",
                             strerror(e), cw->qlen);
                last_log = t;
            }
            free(batch);
            if (!cw->stopping)
                cw_wait_ms(&cw->wake_spooler, &cw->mu, SPOOL_RETRY_MS);
            else if (cw_now_ms() < cw->stop_deadline_ms)
                cw_wait_ms(&cw->wake_spooler, &cw->mu, 100);
            continue;
        }
        free(batch);
        cw->sender_idle = false;
        pthread_cond_signal(&cw->wake_sender);
        pthread_cond_broadcast(&cw->idle);
    }
    /* Lines still queued at exit could not be persisted in time. */
    for (size_t i = 0; i < cw->qlen; i++)
        free(cw->q[i].data);
    if (cw->qlen) {
        eg_log_error("cloudwatch: %zu lines could not be written to the spool before exit",
                     cw->qlen);
        cw->c.dropped_queue_full += cw->qlen;
    }
    free(cw->q);
    cw->q = NULL;
    cw->qlen = cw->qcap = cw->qbytes = 0;
    pthread_cond_broadcast(&cw->idle);
    pthread_mutex_unlock(&cw->mu);
    return NULL;
}
