/*
 * libFuzzer target: the ring-buffer record decoder (collectors/ringbuf_reader.c) and every
 * handler behind it, as the agent wires them (the core tables, every detector of
 * agent/detectors/detectors.c, the aggregator), then the findings they made through the
 * serializer. Records of every kind and every size: each record of the input is a control
 * byte, a 16-bit length and the record's bytes (the control byte may make the header's kind
 * valid, its size the record's, its cgroup one of two known task containers, so the fuzzer
 * reaches the handlers without having to guess them). The first byte of the input chooses
 * between handing the records to eg_ringbuf_dispatch one by one, each in a buffer of exactly
 * its size, and laying them out in a ring as the kernel does (8-byte headers with busy and
 * discard bits, wrapping past the end) for eg_ringbuf_consume.
 *
 * Contracts: every record is counted once, as malformed or under its kind; the consumer
 * position never passes the producer's; and every finding the records made serialises into
 * one valid JSON line.
 */
#include "agent/detectors/detector.h"
#include "agent/pipeline/core_handlers.h"
#include "agent/pipeline/finding_json.h"
#include "collectors/ringbuf_reader.h"

#include <linux/bpf.h>

#include "tests/fuzz/fuzz_input.h"

#define N_DETECTORS_MAX 16
#define RING_SIZE 8192u
#define RECORD_MAX 2048u

static const char *const known_paths[] = {
    "/ecs/0123456789abcdef0123456789abcdef/"
    "4d8c1a2e5b7f90e3a6c2d1b0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180",
    "/ecstasks.slice/ecstasks-5f2b1c3d-0a9e-4c8b-8d7f-6e5a4b3c2d1e.slice/"
    "docker-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b.scope",
};

struct pipeline {
    struct eg_container_table *containers;
    struct eg_proc_table *procs;
    struct eg_aggregator *findings;
    struct eg_policy *policy;
    struct eg_core_tables core;
    struct eg_ringbuf_reader *reader;
    void *detectors[N_DETECTORS_MAX];
    int n_detectors;
    uint64_t lines;
};

static char line[EG_FINDING_LINE_MAX + 1];

static enum eg_emit_result emit(void *ctx, struct eg_finding *f, uint64_t now_ms, bool final)
{
    struct pipeline *p = ctx;
    (void) final;
    struct eg_finding_view v = {.severity = 5.0,
                                .now_ms = now_ms,
                                .hostname = "fuzz-host",
                                .task_resolution = "cgroupPath"};
    int n = eg_finding_to_json(f, &v, line, sizeof(line));
    FUZZ_CHECK(n > 0);
    json_object_put(fuzz_check_json_line(line, (size_t)n));
    p->lines++;
    return EG_EMIT_EMITTED;
}

static void pipeline_init(struct pipeline *p)
{
    memset(p, 0, sizeof(*p));
    p->containers = eg_container_table_new(-1);
    p->procs = eg_proc_table_new();
    struct eg_aggregator_config ac = {.window_ms = 60000, .interval_ms = 1000, .max_findings = 64};
    p->findings = eg_aggregator_new(&ac);
    p->policy = eg_policy_default();
    p->reader = eg_ringbuf_reader_new(-1);
    FUZZ_CHECK(p->containers && p->procs && p->findings && p->policy && p->reader);
    uint64_t now = eg_now_ms();
    for (unsigned i = 0; i < sizeof(known_paths) / sizeof(known_paths[0]); i++)
        FUZZ_CHECK(eg_container_table_add_cgroup(p->containers, 1 + i, known_paths[i], now));
    p->core = (struct eg_core_tables){.containers = p->containers, .procs = p->procs};
    FUZZ_CHECK(eg_core_subscribe(&p->core, p->reader) == 0);
    /* No kernel maps, and a /proc that does not exist: what the records say is all there is. */
    struct eg_detector_env env = {
        .findings = p->findings,
        .procs = p->procs,
        .containers = p->containers,
        .kernel = {.proc_root = "/nonexistent/ecsguard-fuzz", .cgroup_mount = ""}};
    struct eg_detector_config cfg = {
        .sensitive_files = eg_policy_sensitive_patterns(p->policy),
        .rootfs_scratch = eg_policy_rootfs_scratch_patterns(p->policy),
    };
    for (int i = 0; eg_detectors[i] && i < N_DETECTORS_MAX; i++) {
        const struct eg_detector_ops *ops = eg_detectors[i];
        void *d = ops->create(&env);
        FUZZ_CHECK(d != NULL);
        p->detectors[p->n_detectors++] = d;
        FUZZ_CHECK(ops->subscribe(d, p->reader) == 0);
        if (ops->configure)
            ops->configure(d, &cfg);
    }
}

static void pipeline_finish(struct pipeline *p)
{
    uint64_t now = eg_now_ms();
    for (int i = 0; i < p->n_detectors; i++)
        if (eg_detectors[i]->tick)
            eg_detectors[i]->tick(p->detectors[i], now + 5000);
    eg_aggregator_flush(p->findings, now + 5000, true, emit, p);
    struct eg_aggregator_stats st;
    eg_aggregator_get_stats(p->findings, &st);
    FUZZ_CHECK(st.emitted == p->lines && st.failed == 0);
    struct json_object *health = json_object_new_object();
    for (int i = 0; i < p->n_detectors; i++)
        if (eg_detectors[i]->stats)
            eg_detectors[i]->stats(p->detectors[i], health);
    json_object_put(health);
    for (int i = 0; i < p->n_detectors; i++)
        eg_detectors[i]->destroy(p->detectors[i]);
    eg_ringbuf_reader_free(p->reader);
    eg_policy_free(p->policy);
    eg_aggregator_free(p->findings);
    eg_proc_table_free(p->procs);
    eg_container_table_free(p->containers);
}

/* The next record of the input into rec (RECORD_MAX bytes), the header patched as the control
 * byte says. Returns its length; *ctl gets the control byte. */
static size_t next_record(struct fuzz_input *in, uint8_t *rec, uint8_t *ctl)
{
    *ctl = fuzz_u8(in);
    size_t want = (fuzz_u8(in) | (size_t)fuzz_u8(in) << 8) % (RECORD_MAX + 1);
    const uint8_t *src;
    size_t len = fuzz_bytes(in, want, &src);
    memcpy(rec, src, len);
    if (len >= sizeof(struct eg_event_header)) {
        struct eg_event_header h;
        memcpy(&h, rec, sizeof(h));
        if (*ctl & 1)
            h.size = (uint32_t)len;
        if (*ctl & 2)
            h.kind = (*ctl >> 2) % (EG_EVENT_KIND_COUNT + 1);
        if (*ctl & 0x40)
            h.cgroup_id = 1 + (*ctl >> 7);
        memcpy(rec, &h, sizeof(h));
    }
    return len;
}

static uint8_t ring[RING_SIZE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    uint8_t mode = fuzz_u8(&in);
    struct pipeline p;
    pipeline_init(&p);
    static uint8_t rec[RECORD_MAX];
    uint64_t offered = 0, taken = 0;
    if (!(mode & 1)) {
        while (in.left) {
            uint8_t ctl;
            size_t len = next_record(&in, rec, &ctl);
            uint8_t *exact = malloc(len ? len : 1);
            FUZZ_CHECK(exact != NULL);
            memcpy(exact, rec, len);
            eg_ringbuf_dispatch(p.reader, exact, len);
            free(exact);
            offered++;
        }
        taken = offered;
    } else {
        /* Start anywhere in the ring (8-byte aligned), positions well past its size. */
        uint64_t start = 3 * (uint64_t)RING_SIZE + (fuzz_u8(&in) * 32u) % RING_SIZE;
        uint64_t prod = start, cons = start;
        bool forged = false;
        memset(ring, 0, sizeof(ring));
        while (in.left) {
            uint8_t ctl;
            size_t len = next_record(&in, rec, &ctl);
            uint64_t need = (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
            if (prod + need - cons > RING_SIZE)
                break; /* full: the kernel would refuse the reserve */
            uint32_t word = (uint32_t)len;
            if ((ctl & 0x30) == 0x10)
                word |= BPF_RINGBUF_DISCARD_BIT;
            else if ((ctl & 0x30) == 0x20 && !(ctl & 1))
                word |= BPF_RINGBUF_BUSY_BIT;
            else if ((ctl & 0x3f) == 0x3f) {
                word = fuzz_u32(&in); /* a header no kernel writes */
                forged = true;
            }
            uint32_t hdr[2] = {word, 0};
            for (size_t i = 0; i < sizeof(hdr); i++)
                ring[(prod + i) % RING_SIZE] = ((const uint8_t *)hdr)[i];
            for (size_t i = 0; i < len; i++)
                ring[(prod + BPF_RINGBUF_HDR_SZ + i) % RING_SIZE] = rec[i];
            prod += need;
            offered++;
        }
        int n = eg_ringbuf_consume(p.reader, &cons, &prod, ring, RING_SIZE);
        /* Never ahead of the producer: the kernel would see a full ring and refuse everything. */
        FUZZ_CHECK(n >= 0 && cons <= prod && cons >= start);
        struct eg_ringbuf_reader_stats st;
        eg_ringbuf_reader_get_stats(p.reader, &st);
        taken = st.records;
        /* As the kernel writes them: the records written and no others, everything up to the
         * first uncommitted one. A forged header makes records of what follows it. */
        if (!forged)
            FUZZ_CHECK(taken <= offered && (uint64_t)n <= offered &&
                       (cons == prod || (uint64_t)n < offered));
    }
    struct eg_ringbuf_reader_stats st;
    eg_ringbuf_reader_get_stats(p.reader, &st);
    FUZZ_CHECK(st.records == taken);
    uint64_t by_kind = 0;
    for (int k = 0; k < EG_KIND_SLOTS; k++)
        by_kind += st.by_kind[k];
    FUZZ_CHECK(st.malformed + by_kind == st.records);
    FUZZ_CHECK(st.unhandled <= by_kind);
    pipeline_finish(&p);
    return 0;
}
