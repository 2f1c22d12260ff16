"""Durability order, read off an strace of kithd: every acknowledged admin
write was synced (LMDB: fdatasync of the data file, then the meta page
written on the O_DSYNC descriptor) after its request was read and before
its reply was sent."""

import re
import shutil
import signal
import subprocess
from collections import defaultdict

import pytest

from conftest import AdminLoad

TRACED = "openat,read,write,pwrite64,pwritev,writev,sendto,sendmsg,recvfrom,fdatasync,fsync,msync"
N_WRITES = 50

LINE_RE = re.compile(r"^(?P<tid>\d+)\s+(?P<ts>\d+\.\d+)\s+(?P<rest>.*)$")
DONE_RE = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\)\s+=\s+(?P<ret>-?\d+|\?)(?P<tail>.*)$")
UNFINISHED_RE = re.compile(r"^(?P<name>\w+)\((?P<args>.*?)\s*<unfinished \.\.\.>$")
RESUMED_RE = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>\s*(?P<args>.*)\)\s+=\s+"
                        r"(?P<ret>-?\d+|\?)(?P<tail>.*)$")
DUR_RE = re.compile(r"<(\d+\.\d+)>\s*$")


class Call:
    def __init__(self, tid, name, args, ret, start, end):
        self.tid, self.name, self.args, self.ret = tid, name, args, ret
        self.start, self.end = start, end

    def __repr__(self):
        return f"<{self.tid} {self.start:.6f}-{self.end:.6f} {self.name}({self.args[:60]})={self.ret}>"


def parse_strace(text):
    """strace -f -ttt -T output -> list of completed calls in start order,
    with <unfinished ...> and <... resumed> halves joined per thread."""
    pending = {}  # tid -> (name, args, start)
    calls = []
    for line in text.splitlines():
        m = LINE_RE.match(line)
        if not m:
            continue
        tid, ts, rest = int(m["tid"]), float(m["ts"]), m["rest"]
        if rest.startswith(("---", "+++")):
            continue
        u = UNFINISHED_RE.match(rest)
        if u:
            pending[tid] = (u["name"], u["args"], ts)
            continue
        r = RESUMED_RE.match(rest)
        if r:
            if tid not in pending:
                continue
            name, args, start = pending.pop(tid)
            assert name == r["name"], line
            d = DUR_RE.search(r["tail"])
            end = max(ts, start + float(d.group(1))) if d else ts
            if r["ret"] == "?":
                continue
            calls.append(Call(tid, name, args + r["args"], int(r["ret"]), start, end))
            continue
        c = DONE_RE.match(rest)
        if c:
            if c["ret"] == "?":
                continue
            d = DUR_RE.search(c["tail"])
            end = ts + float(d.group(1)) if d else ts
            calls.append(Call(tid, c["name"], c["args"], int(c["ret"]), ts, end))
    calls.sort(key=lambda c: c.start)
    return calls


def first_arg_fd(call):
    return int(call.args.split(",", 1)[0])


def strace_usable():
    if not shutil.which("strace"):
        return "strace is not installed"
    try:
        r = subprocess.run(["strace", "-f", "-o", "/dev/null", "true"], capture_output=True,
                           timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"strace does not run: {e}"
    if r.returncode != 0:
        return f"ptrace not permitted here: {r.stderr.decode(errors='replace').strip()}"
    return None


def test_every_ack_follows_its_fdatasync_and_meta_write(make_kithd):
    why = strace_usable()
    if why:
        pytest.skip(why)
    k = make_kithd()
    trace = k.root / "kithd.strace"
    k.start(prefix=["strace", "-f", "-ttt", "-T", "-e", f"trace={TRACED}", "-s", "64",
                    "-o", str(trace)], ready_timeout=60,
            # LeakSanitizer cannot run under ptrace (make asan); the other tests check leaks.
            env={"ASAN_OPTIONS": "detect_leaks=0"})

    load = AdminLoad(k.admin_sock, threads=16, prefix="f", limit=N_WRITES).start()
    load.join(120)
    acked = load.acked()
    assert len(acked) == N_WRITES, (load.errors, len(acked))
    st, stats, _ = k.admin("stats")
    assert st == 0
    commits = int(re.search(r"writer:\s+(\d+) commits", stats).group(1))
    k.stop(signal.SIGTERM)

    calls = parse_strace(trace.read_text(errors="replace"))

    # The two descriptors LMDB opens on data.mdb: the data fd, and the meta
    # fd opened O_DSYNC (absent or unused under MDB_NOSYNC / MDB_NOMETASYNC).
    data_fds, meta_fds = set(), set()
    for c in calls:
        if c.name == "openat" and 'db/data.mdb"' in c.args and c.ret >= 0:
            (meta_fds if "O_DSYNC" in c.args else data_fds).add(c.ret)
    assert data_fds, "no open of data.mdb in the trace"
    assert meta_fds, "data.mdb was never opened O_DSYNC: meta pages are not written durably"

    syncs = [c for c in calls if c.name in ("fdatasync", "fsync") and c.ret == 0
             and first_arg_fd(c) in data_fds]
    metas = [c for c in calls if c.name == "pwrite64" and c.ret > 0
             and first_arg_fd(c) in meta_fds]
    assert not [c for c in calls if c.name == "msync"], "unexpected msync: MDB_WRITEMAP?"
    # At least one data sync and one durable meta write per commit.
    assert len(syncs) >= commits, (len(syncs), commits)
    assert len(metas) >= commits, (len(metas), commits)

    # Each request: the worker thread reads the name, then the rest, then sends the reply.
    name_read = {}
    reads_by_tid = defaultdict(list)
    for c in calls:
        if c.name == "read" and c.ret > 0:
            reads_by_tid[c.tid].append(c)
            m = re.match(r'\s*\d+,\s*"(f\d{4})",\s*5$', c.args)
            if m:
                name_read[m.group(1)] = c
    replies = {}
    for c in calls:
        if c.name in ("sendto", "write", "sendmsg") and "added community '" in c.args:
            m = re.search(r"added community '(f\d{4})'", c.args)
            if m:
                replies[m.group(1)] = c
    assert set(name_read) >= acked, sorted(acked - set(name_read))[:5]
    assert set(replies) >= acked, sorted(acked - set(replies))[:5]

    batches = set()
    for name in sorted(acked):
        req, rep = name_read[name], replies[name]
        assert req.tid == rep.tid, f"{name}: read and reply on different threads"
        assert rep.args.split(",", 1)[1].lstrip().startswith('"\\0\\0\\0\\0'), \
            f"{name}: reply status is not 0: {rep.args}"
        # The request is in once the thread's last read before the reply is done.
        last_read = max((r for r in reads_by_tid[req.tid] if req.start <= r.start < rep.start),
                        key=lambda r: r.start)
        t_in, t_out = last_read.end, rep.start
        assert t_in < t_out
        ok = None
        for s in syncs:
            if s.start >= t_in and s.end <= t_out:
                meta = [m for m in metas if m.start >= s.end and m.end <= t_out]
                if meta:
                    ok = (s, meta[0])
                    break
        assert ok, (f"{name}: no fdatasync + O_DSYNC meta write between its request "
                    f"({t_in:.6f}) and its reply ({t_out:.6f})")
        batches.add(ok[0].start)
    # Group commit: fewer syncs than writes is fine, but never zero per batch.
    assert 1 <= len(batches) <= N_WRITES
