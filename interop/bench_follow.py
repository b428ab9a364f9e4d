"""The figures of `tagroute serve --follow` against the stub cluster (interop/stub_cluster.py), at
the default intervals (--follow-interval 1s, --health-interval 1s, 2 fails, 2 passes):

- leader move -> new writer served: the time from the stub's leader move to the first ROUTE
  answer from tagroute naming the new writer (ROUTE asked every 10 ms);
- kill -> removal: the time from a server's sockets closed (SHOW SERVERS still says Available)
  to the first ROUTE answer without it;
- a 1,000-server, 5,000-database cluster followed (each database on 3 primaries, `system` on
  every server): tagroute's CPU (user + system, from /proc) over a window, per poll and as a
  share of one core, and its resident memory (VmRSS, VmHWM).

- with --floor, the same window for examples/probe_floor.rs against the same stub: what the
  kernel alone charges for 1,000 RESETs a second over kept loopback connections, the floor
  under the health checks' share.

Not a test: it measures and prints. Run with a venv holding the `neo4j` package:
    python interop/bench_follow.py target/release/tagroute [--seconds 30] [--rounds 10] [--floor]
(`--floor` wants `cargo build --release --example probe_floor` first.)
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import neo4j

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stub_cluster import Cluster  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Serve:
    def __init__(self, binary, cluster, work, *extra):
        conf = Path(work) / "neo4j.conf"
        conf.write_text("dbms.routing.load_balancing.config.server_policies.default=all()\n")
        password = Path(work) / "password"
        password.write_text("pw\n")
        self.process = subprocess.Popen(
            [binary, "serve", "--config", str(conf), "--follow", cluster.uri(1),
             "--follow-user", "neo4j", "--follow-password-file", str(password),
             "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
             "--state-file", str(Path(work) / "state.json"), "--watch-interval", "0",
             "--log-level", "warn", *extra],
            stdout=subprocess.PIPE, stderr=open(Path(work) / "serve.log", "w"), text=True)
        line = json.loads(self.process.stdout.readline())
        self.bolt, self.admin = line["bolt"], "http://" + line["admin"]
        self.driver = neo4j.GraphDatabase.driver(f"neo4j://{self.bolt}", auth=("neo4j", "pw"))

    def table(self, db="neo4j"):
        pool = self.driver._pool
        table = pool.fetch_routing_info(pool.address, db, None, None, None, 30)[0]
        return {s["role"]: set(s["addresses"]) for s in table["servers"]}

    def metric(self, prefix):
        text = urllib.request.urlopen(self.admin + "/metrics", timeout=30).read().decode()
        return next(float(l.split()[-1]) for l in text.splitlines() if l.startswith(prefix))

    def cpu(self):
        return cpu_seconds(self.process.pid)

    def memory(self):
        status = Path(f"/proc/{self.process.pid}/status").read_text().splitlines()
        kb = {l.split(":")[0]: int(l.split()[1]) for l in status if l.startswith("Vm")}
        return kb["VmRSS"] / 1024, kb["VmHWM"] / 1024

    def stop(self):
        self.driver.close()
        self.process.terminate()
        self.process.wait(timeout=60)


def seen(check, bound=30.0):
    """Seconds until check() is true, asked every 10 ms."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > bound:
            raise SystemExit(f"not seen within {bound} s")
        time.sleep(0.01)
    return time.monotonic() - start


def summary(name, samples):
    samples = sorted(samples)
    print(f"{name}: n={len(samples)} median {statistics.median(samples) * 1000:.0f} ms, "
          f"min {samples[0] * 1000:.0f}, max {samples[-1] * 1000:.0f}")


def latencies(binary, rounds):
    with tempfile.TemporaryDirectory() as work, Cluster(3, ["neo4j"]) as cluster:
        serve = Serve(binary, cluster, work)
        try:
            moves = []
            for i in range(rounds):
                time.sleep(0.37 * (i % 3))  # spread the moves over the poll's phase
                to = cluster.servers[(i + 1) % 3]
                cluster.move_leader("neo4j", to.name)
                moves.append(seen(lambda: serve.table()["WRITE"] == {to.address}))
            summary("leader move -> new writer served", moves)
            kills = []
            for i in range(rounds):
                readers = sorted(serve.table()["READ"])
                victim = next(v for v in cluster.servers if v.address == readers[i % 2])
                time.sleep(0.41 * (i % 3))
                cluster.kill(victim.name)
                kills.append(seen(lambda: victim.address not in serve.table()["READ"]))
                cluster.revive(victim.name)
                seen(lambda: victim.address in serve.table()["READ"])
            summary("kill -> removal from the tables", kills)
        finally:
            serve.stop()


def probes_passed(serve):
    try:
        return serve.metric('tagroute_health_probes_total{outcome="pass"}')
    except StopIteration:  # no health checks
        return 0


def floor(binary, cluster, seconds):
    """examples/probe_floor against the servers of `cluster`, over a window of `seconds`."""
    program = Path(binary).parent / "examples" / "probe_floor"
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as addresses:
        addresses.write("\n".join(s.address for s in cluster.servers))
        addresses.flush()
        process = subprocess.Popen([str(program), str(int(seconds) + 10), addresses.name],
                                   stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout.readline().strip() == "ready"
            time.sleep(5)
            cpu0, t0 = cpu_seconds(process.pid), time.monotonic()
            time.sleep(seconds)
            cpu, wall = cpu_seconds(process.pid) - cpu0, time.monotonic() - t0
        finally:
            process.kill()
            process.wait()
    n = len(cluster.servers)
    print(f"  floor (examples/probe_floor, {n} RESETs a second over kept connections): "
          f"CPU {cpu:.2f} s = {100 * cpu / wall:.2f}% of one core "
          f"({1e6 * cpu / wall / n:.1f} us per probe)")


def large(binary, servers, databases, seconds, extra, with_floor):
    names = ["neo4j"] + [f"db{i}" for i in range(1, databases)]
    cluster = Cluster(servers, names)
    everyone = [s.name for s in cluster.servers]
    for i, db in enumerate(cluster.databases[1:]):
        primaries = [everyone[(3 * i + k) % servers] for k in range(3)]
        db.hosting = {s: ["primary", "online"] for s in primaries}
        db.leader = primaries[0]
    # The state does not change during the window: build the rows once, as a real server
    # answers from memory, so that the stub keeps up with a poll a second.
    rows = {}

    def cached(method, build):
        def records(version):
            if (method, version) not in rows:
                rows[(method, version)] = build(version)
            return rows[(method, version)]
        return records

    for method in ("server_records", "database_records"):
        setattr(cluster, method, cached(method, getattr(cluster, method)))
    cluster.start()
    # The cluster is not stopped: each listener takes up to half a second to stop, and its
    # threads are daemons that end with this process.
    with tempfile.TemporaryDirectory() as work:
        start = time.monotonic()
        serve = Serve(binary, cluster, work, *extra)
        print(f"{servers} servers, {databases} databases {' '.join(extra)}: first poll and start "
              f"{time.monotonic() - start:.1f} s")
        try:
            time.sleep(5)  # past the start
            polls0, cpu0, t0 = serve.metric('tagroute_follow_polls_total{outcome="ok"}'), \
                serve.cpu(), time.monotonic()
            probes0 = probes_passed(serve)
            time.sleep(seconds)
            polls, cpu, wall = (serve.metric('tagroute_follow_polls_total{outcome="ok"}')
                                - polls0, serve.cpu() - cpu0, time.monotonic() - t0)
            probes = probes_passed(serve) - probes0
            rss, hwm = serve.memory()
            print(f"  window {wall:.1f} s: {polls:.0f} polls, {probes:.0f} probes passed, "
                  f"tagroute CPU {cpu:.2f} s = {100 * cpu / wall:.2f}% of one core "
                  f"({1000 * cpu / max(polls, 1):.1f} ms per poll with its probes)")
            print(f"  RSS {rss:.1f} MiB, peak {hwm:.1f} MiB")
        finally:
            serve.stop()
    if with_floor:
        floor(binary, cluster, seconds)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--databases", type=int, default=5000)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--no-health", action="store_true",
                        help="the large cluster without health checks")
    parser.add_argument("--floor", action="store_true",
                        help="then examples/probe_floor against the same servers")
    args = parser.parse_args()
    if not args.skip_latency:
        latencies(args.binary, args.rounds)
    if not args.skip_large:
        extra = ["--health-interval", "0"] if args.no_health else []
        large(args.binary, args.servers, args.databases, args.seconds, extra, args.floor)


if __name__ == "__main__":
    main()
