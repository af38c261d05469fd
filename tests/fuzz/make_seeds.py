#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/README.md) from real data.

Run from anywhere: `python3 tests/fuzz/make_seeds.py`. Seeds are `seed-*` files in
tests/fuzz/corpus/<target>/; files of other names there (the `crash-*` regression inputs,
inputs kept from fuzzing runs) are left alone. The real responses come from tests/fixtures
(ECS introspection bodies recorded from the agent and its documentation, kallsyms lines,
mountinfo and /proc/<pid>/cgroup of the three cgroup layouts, the finding corpus); the
structured seeds (ring-buffer records, spool segments, findings) follow the layouts of
bpf/events.h and agent/outputs/spool_internal.h, which the comments below name.
"""
import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "tests", "fixtures")
DOCKER_ID = "4d8c1a2e5b7f90e3a6c2d1b0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29180"
TASK_ID = "0123456789abcdef0123456789abcdef"
ECS_V1 = f"/ecs/{TASK_ID}/{DOCKER_ID}"
ECS_V2 = ("/ecstasks.slice/ecstasks-5f2b1c3d-0a9e-4c8b-8d7f-6e5a4b3c2d1e.slice/"
          "docker-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b.scope")


def fixture(*parts):
    with open(os.path.join(FIX, *parts), "rb") as f:
        return f.read()


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def u16(n):
    return struct.pack("<H", n)


def http(body, status="200 OK", headers=(), chunked=False):
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json"] + list(headers)
    if chunked:
        head.append("Transfer-Encoding: chunked")
        mid = len(body) // 2
        payload = b""
        for part in (body[:mid], body[mid:]):
            if part:
                payload += b"%x\r\n" % len(part) + part + b"\r\n"
        payload += b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
        payload = body
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


# ---- ECS introspection and Docker ------------------------------------------------------------

def ecs_seeds():
    ecs = os.path.join(FIX, "ecs")
    for name in sorted(os.listdir(ecs)):
        if not name.endswith(".json"):
            continue
        body = fixture("ecs", name)
        short = name.split(".")[0]
        write("ecs_introspection", short, (b"\x01" if "metadata" in name else b"\x00") + body)
    task = json.loads(fixture("ecs", "introspection-v1-task-all-container-fields.derived-from-unit-test.json"))
    many = dict(task)
    many["Containers"] = [dict(task["Containers"][0], DockerId=f"{i:064x}") for i in range(18)]
    write("ecs_introspection", "seventeen-plus-containers", b"\x00" + json.dumps(many).encode())
    write("ecs_introspection", "truncated", b"\x00" + fixture("ecs", "introspection-v1-tasks.awsdocs-hello-world.json")[:100])


def docker_inspect(labels=True, name="/ecs-web-3-app-c6a1f2d3e4b5a6978800"):
    lab = {
        "com.amazonaws.ecs.task-arn": f"arn:aws:ecs:us-west-2:123456789012:task/prod/{TASK_ID}",
        "com.amazonaws.ecs.container-name": "app",
        "com.amazonaws.ecs.task-definition-family": "web",
        "com.amazonaws.ecs.task-definition-version": "3",
        "com.amazonaws.ecs.cluster": "prod",
    } if labels else None
    return {"Id": DOCKER_ID, "Created": "2026-11-23T19:45:41.123456789Z", "Name": name,
            "Image": "sha256:" + "ab" * 32,
            "State": {"Status": "running", "Running": True, "Pid": 4242},
            "HostConfig": {"CgroupParent": f"/ecs/{TASK_ID}", "NetworkMode": "host"},
            "Config": {"Image": "nginx:1.27", "Labels": lab, "Env": ["PATH=/usr/bin"]}}


def docker_seeds():
    write("docker_api", "ecs-task-container", json.dumps(docker_inspect()).encode())
    write("docker_api", "ecs-agent-no-labels", json.dumps(docker_inspect(False, "/ecs-agent")).encode())
    write("docker_api", "other-id", json.dumps(dict(docker_inspect(), Id="0" * 64)).encode())
    write("docker_api", "daemon-error", b'{"message":"No such container: 4d8c1a2e5b7f"}')


# ---- credentials, HTTP ----------------------------------------------------------------------

IMDS_DOC = json.dumps({
    "Code": "Success", "LastUpdated": "2026-11-23T19:40:00Z", "Type": "AWS-HMAC",
    "AccessKeyId": "ASIAIOSFODNN7EXAMPLE",
    "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "Token": "IQoJb3JpZ2luX2VjEXAMPLETOKEN" * 8,
    "Expiration": "2026-11-24T01:45:12Z"}, indent=2).encode()
ECS_DOC = json.dumps({
    "AccessKeyId": "ASIAIOSFODNN7EXAMPLE", "Expiration": "2026-11-24T01:45:12.123+02:00",
    "RoleArn": "arn:aws:iam::123456789012:role/ecsguard-task",
    "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "Token": "IQoJb3JpZ2luX2VjEXAMPLETOKEN" * 8}).encode()


def credential_seeds():
    write("credentials", "imds", b"\x00" + IMDS_DOC)
    write("credentials", "ecs-container-endpoint", b"\x00" + ECS_DOC)
    write("credentials", "ecs-error", b'\x00{"code":"AccessDenied","message":"not authorized"}')
    write("credentials", "time-fraction-offset", b"\x012016-02-25T06:03:31.123456-07:30")
    write("credentials", "time-z", b"\x012026-11-24T01:45:12Z")


def responses(mode, *resps):
    return bytes([mode]) + b"".join(u16(len(r)) + r for r in resps)


def http_seeds():
    ok = http(b'{"nextSequenceToken":"49536701251539826331025683274032969384950891766572122113"}',
              headers=["x-amzn-RequestId: 9d2f5c3e-1a2b-4c5d-8e9f-0a1b2c3d4e5f"])
    write("http", "putlogevents-ok", responses(0, ok))
    rejected = http(b'{"rejectedLogEventsInfo":{"tooOldLogEventEndIndex":2}}', chunked=True)
    write("http", "putlogevents-rejected-chunked", responses(0, rejected))
    err = http(b'{"__type":"com.amazonaws.logs#ThrottlingException:http://internal","message":"Rate exceeded"}',
               status="400 Bad Request",
               headers=["x-amzn-ErrorType: ThrottlingException:http://internal.amazon.com/"])
    write("http", "throttled", responses(0, err))
    write("http", "truncated-body", responses(0, http(b'{"nextSequenceToken":"4953"}')[:-8]))
    task = fixture("ecs", "introspection-v1-tasks.awsdocs-hello-world.json")
    write("http", "ecs-task", responses(1, http(task)))
    write("http", "ecs-task-chunked", responses(1, http(task, chunked=True)))
    write("http", "ecs-task-404", responses(1, http(b'{"Arn":"","DesiredStatus":"","KnownStatus":"","Family":"","Version":"","Containers":null}', status="404 Not Found")))
    write("http", "ecs-metadata", responses(2, http(fixture("ecs", "introspection-v1-metadata.awsdocs.json"))))
    token = b"AQAEAFTNrA4EXAMPLEdlxZ5ZFtd3aEXAMPLEIyVmTrcQ=="
    write("http", "imdsv2", responses(3, http(token, headers=["X-aws-ec2-metadata-token-ttl-seconds: 21600"]),
                                      http(b"ecsguard-instance-role"), http(IMDS_DOC)))
    write("http", "imdsv2-no-role", responses(3, http(token), http(b"", status="404 Not Found")))
    write("http", "ecs-credentials", responses(4, http(ECS_DOC)))


# ---- cgroup paths, mountinfo, kallsyms ------------------------------------------------------

def cgroup_seeds():
    write("cgroup_path", "ecs-v1", ECS_V1.encode())
    write("cgroup_path", "ecs-v1-uuid-nested", f"/ecs/5f2b1c3d-0a9e-4c8b-8d7f-6e5a4b3c2d1e/{DOCKER_ID}/sub".encode())
    write("cgroup_path", "ecs-v1-task-only", f"/ecs/{TASK_ID}".encode())
    write("cgroup_path", "ecs-v2", ECS_V2.encode())
    write("cgroup_path", "ecs-v2-slice-chain",
          b"/ecstasks.slice/ecstasks-5f2b1c3d.slice/ecstasks-5f2b1c3d-0a9e.slice/"
          b"ecstasks-5f2b1c3d-0a9e-4c8b-8d7f-6e5a4b3c2d1e.slice/docker-" + DOCKER_ID.encode() + b".scope")
    write("cgroup_path", "docker", f"/docker/{DOCKER_ID}".encode())
    write("cgroup_path", "docker-systemd", f"/system.slice/docker-{DOCKER_ID}.scope".encode())
    write("cgroup_path", "mount-prefix", f"/sys/fs/cgroup/memory/ecs/{TASK_ID}/{DOCKER_ID}".encode())
    for name in ("v1", "v2", "hybrid"):
        for line in fixture("cgroups", f"{name}.proc_cgroups").decode().splitlines():
            parts = line.split(":", 2)
            if len(parts) == 3 and parts[2].startswith("/") and len(parts[2]) > 1:
                write("cgroup_path", f"{name}-proc-cgroup", parts[2].encode())
                break


def mountinfo_seeds():
    def field(s):
        return bytes([len(s)]) + s
    for name in ("v1", "v2", "hybrid"):
        write("mountinfo", name, field(b"/app") + field(b"../etc//./passwd") + fixture("cgroups", f"{name}.mountinfo"))
    container = (b"1200 1100 0:52 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/l,upperdir=/u\n"
                 b"1201 1200 0:53 / /proc rw,nosuid - proc proc rw\n"
                 b"1202 1200 0:54 / /data rw - tmpfs tmpfs rw\n"
                 b"1203 1200 253:1 /vol /mnt/with\\040space\\012newline rw - ext4 /dev/vda1 rw\n"
                 b"1204 1202 0:55 / /data/nested rw shared:3 master:4 - tmpfs tmpfs rw\n")
    write("mountinfo", "container-overlay", field(b"/") + field(b"mnt/with space/x") + container)


def kallsyms_seeds():
    write("kallsyms", "sample", fixture("kallsyms", "sample"))
    write("kallsyms", "modules-and-duplicates",
          b"0000000000000000 T security_vm_enough_memory_mm\n"
          b"ffffffffc0a01000 t a\t[nf_tables]\n"
          b"ffffffff812a0000 T security_vm_enough_memory_mm\n"
          b"ffffffff812a0100 T a\n"
          b"ffffffff812a0080 t __vm_enough_memory\n"
          b"ffffffff812a0200 T cap_vm_enough_memory\n")
    write("kallsyms", "restricted-zeros",
          b"0000000000000000 T cap_vm_enough_memory\n0000000000000000 T __vm_enough_memory\n")


# ---- ring-buffer records (bpf/events.h) ------------------------------------------------------

BOOT_NS = 1_000_000_000_000


def header(kind, size, tgid, cgroup_id, comm=b"egprobe", flags=0, start=BOOT_NS - 10**9):
    # struct eg_event_header: 96 bytes
    h = struct.pack("<QQQQ", BOOT_NS + tgid * 1000, cgroup_id, start, start - 10**9)
    h += struct.pack("<12I", kind, size, flags, tgid, tgid, 1, 7, 0, 0, 4026531836, 4026532500, 0)
    return h + comm[:16].ljust(16, b"\0")


def rec(kind, body, tgid, cgroup_id, comm=b"egprobe"):
    size = 96 + len(body)
    return header(kind, size, tgid, cgroup_id, comm) + body


def s(text, n):
    return text[:n].ljust(n, b"\0")


def cap_event(tgid, cg, cap=21, ret=0, syscall=165, scope=0, exe=b"egprobe"):
    body = struct.pack("<QIIiiIIII", 123456, 0x800001, cap, ret, syscall, 1, scope, 0, 4026531837)
    return rec(1, body + s(exe, 64), tgid, cg)


def exec_event(tgid, cg, path=b"/bin/egprobe", args=b"/bin/egprobe\0mount-tmpfs\0/mnt"):
    body = struct.pack("<QII", 123456, 0x800001, len(args)) + s(path, 256) + s(path, 256) + s(args, 256)
    return rec(2, body, tgid, cg)


def cgroup_event(kind, cg_new, path):
    return rec(kind, struct.pack("<QII", cg_new, 0, 3) + s(path, 256), 1, 0, b"runc:[1:CHILD]")


def rootfs_write(tgid, cg, path, op=1, flags=1):
    return rec(7, struct.pack("<QIIII", 99, 0x2b, op, 0o1101, flags) + s(path, 256), tgid, cg)


def pathop(tgid, cg, op, path, path2=b"", base=b"", mode=0):
    body = struct.pack("<IIIIQ", op, 1, 1, mode, 0xfeedface) + s(base, 256) + s(path, 256) + s(b"", 256) + s(path2, 256)
    return rec(8, body, tgid, cg)


def exec_map(tgid, cg, path):
    return rec(9, struct.pack("<QQII", 99, BOOT_NS - 5 * 10**8, 0x2b, 4) + s(path, 256), tgid, cg)


def hostns(kind, tgid, cg, action, arg, target=1, flags=3, ns_entered=0, comm=b"systemd", exe=b"/usr/lib/systemd/systemd"):
    body = struct.pack("<QQIIiIIIIIIIII", 10**9, 0, action, arg, target, target, flags, 0x20000, 4026531840,
                       ns_entered, 0, 4026531836, 0, 0) + s(comm, 16) + s(exe, 256)
    return rec(kind, body, tgid, cg)


def cgroup_left(tgid, cg):
    body = struct.pack("<QIIII", 1, tgid, 1, 0, 0) + s(b"sh", 16) + s(b"/", 256)
    return rec(12, body, tgid, cg)


def records(mode, recs):
    out = bytes([mode]) if mode == 0 else bytes([mode, 0])
    for r in recs:
        out += b"\x01" + u16(len(r)) + r  # control byte 1: the header's size is the record's
    return out


def ringbuf_seeds():
    new_path = f"/ecs/{TASK_ID}/{'5' * 64}".encode()
    life = [cgroup_event(5, 77, new_path), exec_event(4242, 77), rec(3, b"", 4243, 77),
            cap_event(4242, 77), cap_event(4242, 77, cap=12, ret=-1, syscall=16, scope=1),
            rec(4, struct.pack("<iI", 0, 0), 4243, 77), cgroup_event(6, 77, new_path)]
    write("ringbuf", "container-life", records(0, life))
    write("ringbuf", "container-life-ring", records(1, life))
    rootfs = [exec_event(5000, 1, b"/bin/sh", b"sh\0-c\0cp x /usr/bin/y"),
              rootfs_write(5000, 1, b"/etc/passwd"), rootfs_write(5000, 1, b"/tmp/new-binary"),
              pathop(5000, 1, 4, b"/tmp/new-binary", b"/usr/bin/y"), pathop(5000, 1, 9, b"/usr/bin/y", mode=0o4755),
              exec_event(5001, 1, b"/usr/bin/y", b"y"), exec_map(5001, 1, b"/tmp/lib.so")]
    write("ringbuf", "rootfs", records(0, rootfs))
    ns = [exec_event(6000, 2, b"/bin/nsenter", b"nsenter\0-t\0" b"1\0-m"),
          hostns(10, 6000, 2, 1, 0x20000, ns_entered=0x20000),
          hostns(11, 6000, 2, 2, 16), hostns(11, 6000, 2, 5, 9), hostns(11, 6000, 2, 4, 2),
          cgroup_left(6000, 2)]
    write("ringbuf", "hostns-and-escape", records(0, ns))
    hostile = [exec_event(7000, 1, b"/tmp/\xff\xfe\n\"},{\"forged\":1", b"\x1b[31m\0\xc3\x28\0" + b"A" * 250),
               cap_event(7000, 1, exe=b"amazon-ecs-agent\n\"")]
    write("ringbuf", "hostile-strings", records(0, hostile))
    write("ringbuf", "short-and-unknown", records(0, [header(1, 96, 1, 1), header(13, 96, 1, 1), b"\x05" * 40]))


# ---- findings (the serializer target's field order, tests/fuzz/fuzz_finding_json.c) ------------

def fld(b, cap=None):
    return bytes([min(len(b), 254)]) + b[:254]


def process(name, exe, args, pid):
    return (fld(name) + fld(exe) + fld(args) + struct.pack("<IIII", pid, 7, 0, 0) +
            struct.pack("<IB", 1795463141, 128) + fld(b"bb94a3e2-0c1d-4e5f-8a9b-0c1d2e3f4a5b") +
            fld(b"102a3b4c-5d6e-4f70-8192-a3b4c5d6e7f8"))


def finding(ftype, flags, name, exe, args, path, lineage=1, task=True, small=False):
    out = bytes([flags | (0x80 if small else 0), ftype]) + struct.pack("<QQ", 0x8c1f, 0x2e3d)
    out += struct.pack("<QQQQ", 1795463141580, 1795463141567, 1795463142591, 2)
    out += struct.pack("<IQI", 0, 9999, 0x0f)
    out += fld(DOCKER_ID.encode()) + fld(TASK_ID.encode()) + fld(ECS_V1.encode())
    out += process(name, exe, args, 26477)
    out += bytes([lineage]) + b"".join(process(b"sh", b"/bin/sh", b"sh -c x", 26400 + i) for i in range(lineage))
    out += fld(b"CAP_SYS_ADMIN") + fld(path) + fld(b"mnt") + fld(b"/usr/lib/systemd/systemd")
    out += bytes([2]) + fld(path) + bytes([200]) + fld(args) + bytes([40])
    out += fld(b"prod") + fld(b"arn:aws:ecs:us-west-2:123456789012:container-instance/prod/0f1e2d3c4b5a69788796a5b4c3d2e1f0") + fld(b"1.88.0")
    if task:
        out += fld(f"arn:aws:ecs:us-west-2:123456789012:task/prod/{TASK_ID}".encode()) + fld(b"web") + fld(b"3")
        out += fld(b"RUNNING") + fld(b"RUNNING") + bytes([1])
        out += fld(DOCKER_ID.encode()) + fld(b"ecs-web-3-app-c6a1f2d3e4b5a6978800") + fld(b"app") + fld(b"nginx:1.27") + fld(b"sha256:" + b"ab" * 32)
    else:
        out += fld(b"") * 5 + bytes([0])
    out += fld(b"ip-10-0-1-23.us-west-2.compute.internal") + bytes([40]) + struct.pack("<Q", 1795463143000)
    if small:
        out += bytes([3])
    return out


def finding_seeds():
    write("finding_json", "sysadmin-mount", finding(0, 7, b"egprobe", b"/bin/egprobe", b"/bin/egprobe mount-tmpfs /tmp", b"/tmp"))
    write("finding_json", "rootfs-hostile-names", finding(12, 1 | 4 | 16, b"\x1b[2J\x07\x7f", b"/tmp/\xff\xfe\xc0\xaf",
                                                          b"cat \"/etc/shadow\"\n{\"type\":\"forged\"}", b"/etc/\xe2\x80\xae\xed\xa0\x80passwd"))
    write("finding_json", "no-task-small-buffer", finding(16, 2, b"sh", b"/bin/sh", b"sh", b"/", task=False, small=True))
    write("finding_json", "full-fields", finding(5, 7, b"N" * 16, b"/" + b"p" * 255, b"a" * 255, b"f" * 255, lineage=8))


# ---- spool segments (agent/outputs/spool_internal.h) --------------------------------------------

def frame(lines, first_seq):
    raw = b"".join(struct.pack("<QI", 1795463141000 + i, len(l)) + l for i, l in enumerate(lines))
    comp = zlib.compress(raw)
    hdr = struct.pack("<IIIIQ", 0x31464745, len(lines), len(raw), len(comp), first_seq)
    crc = zlib.crc32(comp, zlib.crc32(hdr))
    return hdr + struct.pack("<I", crc) + comp


def segment(frames):
    return b"EGSPOOL1" + b"".join(frames)


def spool_raw(seg, ctl=0):
    return bytes([ctl]) + u16(len(seg)) + seg


def spool_seeds():
    lines = [json.dumps({"type": "PrivilegeEscalation:Runtime/SysAdminCapabilityUsed", "n": i}).encode() for i in range(6)]
    one = segment([frame(lines[:3], 0), frame(lines[3:], 3)])
    # spool ctl: bit 0 an ack file, bit 1 well-formed, bits 2..4 the number of segments
    write("spool", "one-segment", bytes([1 << 2]) + spool_raw(one))
    two = segment([frame(lines[:2], 6), frame(lines[2:], 8)])
    write("spool", "two-segments-acked", bytes([1 | 2 | 2 << 2, 4]) + spool_raw(one) + spool_raw(two))
    write("spool", "torn-last-frame", bytes([1 << 2]) + spool_raw(one[:-7]))
    damaged = bytearray(one)
    damaged[40] ^= 0x55
    write("spool", "damaged-first-frame", bytes([1 << 2]) + spool_raw(bytes(damaged)))
    write("spool", "bad-ack-file", bytes([1 | 1 << 2, 9, 9, 9]) + spool_raw(one))
    # A frame built by the target (segment ctl bit 0): nrec, first seq step, record area
    area = struct.pack("<QI", 1, 5) + b"hello" + struct.pack("<QI", 2, 200) + b"short"
    forged = bytes([1 | 1 << 1]) + bytes([2, 1]) + u16(len(area)) + area + bytes([1, 1]) + u16(17) + area[:17]
    write("spool", "forged-lying-lengths", bytes([1 << 2]) + forged)


def main():
    ecs_seeds()
    docker_seeds()
    credential_seeds()
    http_seeds()
    cgroup_seeds()
    mountinfo_seeds()
    kallsyms_seeds()
    ringbuf_seeds()
    finding_seeds()
    spool_seeds()


if __name__ == "__main__":
    main()
