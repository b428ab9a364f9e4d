"""Real drivers against `tagroute serve --follow` on the stub cluster (interop/stub_cluster.py):
the Python driver installed in this venv, and the npm neo4j-driver (interop/node/table.mjs).

A leader move reaches the drivers' next table; a killed server leaves the tables while the
cluster still calls it healthy, over plain Bolt and over TLS (where the probes are shown to keep
their connections); an unreachable cluster keeps the last tables with /healthz
degraded; overrides survive a reload of neo4j.conf and a restart; a new database and a new alias
appear; an unknown database still fails with DatabaseNotFound.

Every wait is bounded: it polls until the outcome is seen, and fails past a deadline made of
the bound the behaviour promises (poll intervals, the TTL, health intervals) and GRACE, this
shared machine's allowance. How fast it really is is measured by interop/bench_follow.py, not here.

Run by interop/run.sh with TAGROUTE (the binary) in the environment.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import neo4j
import pytest
from neo4j._sync.io._pool import AcquisitionDatabase
from neo4j.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stub_cluster import Cluster  # noqa: E402
from test_follow import authority, certificate  # noqa: E402

BIN = os.environ["TAGROUTE"]
NODE = Path(__file__).resolve().parents[1] / "node"
INTERVAL = 0.5  # --follow-interval, seconds
HEALTH = 0.5  # --health-interval, seconds
TTL = 1  # dbms.routing_ttl, seconds
GRACE = 10.0  # seconds added to every deadline on this loaded, shared machine
CONF = ("dbms.routing.load_balancing.config.server_policies.default=all()\n"
        f"dbms.routing_ttl={TTL}s\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Follow:
    """`tagroute serve --follow` over `cluster`, advertising itself as the router of every table
    (the stub's servers answer no ROUTE)."""

    def __init__(self, cluster, tmp_path, *extra, scheme="neo4j"):
        self.tmp = tmp_path
        self.conf = tmp_path / "neo4j.conf"
        if not self.conf.exists():
            self.conf.write_text(CONF)
        password = tmp_path / "password"
        password.write_text("pw\n")
        self.state = tmp_path / "state.json"
        self.port = free_port()
        self.log = open(tmp_path / "serve.log", "a")
        self.process = subprocess.Popen(
            [BIN, "serve", "--config", str(self.conf), "--follow", cluster.uri(2, scheme),
             "--follow-user", "neo4j", "--follow-password-file", str(password),
             "--follow-interval", f"{int(INTERVAL * 1000)}ms",
             "--health-interval", f"{int(HEALTH * 1000)}ms",
             "--listen", f"127.0.0.1:{self.port}", "--advertise", f"127.0.0.1:{self.port}",
             "--admin", "127.0.0.1:0", "--state-file", str(self.state),
             "--watch-interval", "0", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline()
        assert line, (tmp_path / "serve.log").read_text()
        self.admin = "http://" + json.loads(line)["admin"]
        self.uri = f"neo4j://127.0.0.1:{self.port}"

    def driver(self):
        return neo4j.GraphDatabase.driver(self.uri, auth=("neo4j", "pw"))

    def http(self, method, path, body=None):
        data = body.encode() if body is not None else None
        request = urllib.request.Request(self.admin + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def json(self, method, path, body=None):
        status, text = self.http(method, path, body)
        assert status == 200, text
        return json.loads(text)

    def metric(self, line):
        _, text = self.http("GET", "/metrics")
        return any(l == line for l in text.splitlines())

    def stop(self):
        self.process.terminate()
        assert self.process.wait(timeout=30) == 0
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.stop()


def until(what, check, deadline):
    """check() until it is truthy, within `deadline` seconds; its value."""
    start = time.monotonic()
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() - start > deadline:
            pytest.fail(f"{what}: not seen within {deadline:.1f} s")
        time.sleep(0.05)


def raw(driver, db=None):
    """The table as tagroute sends it now: roles as sets, and its db."""
    pool = driver._pool
    table = pool.fetch_routing_info(pool.address, db, None, None, None, 30)[0]
    roles = {s["role"]: set(s["addresses"]) for s in table["servers"]}
    return {"db": table["db"], "roles": roles}


def kept(driver, db):
    """The table the driver keeps for `db`, refreshed as the driver refreshes it (after its TTL):
    the writers, readers and routers."""
    pool = driver._pool
    pool.ensure_routing_table_is_fresh(
        access_mode="WRITE", database=AcquisitionDatabase(db), imp_user=None, bookmarks=None,
        acquisition_timeout=30)
    table = pool.get_routing_table(db)
    return {"WRITE": {str(a) for a in table.writers}, "READ": {str(a) for a in table.readers},
            "ROUTE": {str(a) for a in table.routers}}


def node_table(follow, db=""):
    """The table the npm driver fetches, or {"error": code}."""
    out = subprocess.run(["node", str(NODE / "table.mjs"), follow.uri, db, "neo4j", "pw"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)


def address(cluster, name):
    return cluster.server(name).address


def test_a_leader_move_reaches_the_drivers_next_table_as_one_change(tmp_path):
    with Cluster(3, ["neo4j"]) as cluster, Follow(cluster, tmp_path) as follow:
        with follow.driver() as driver:
            assert kept(driver, "neo4j")["WRITE"] == {address(cluster, "s1")}
            assert node_table(follow, "neo4j")["roles"]["WRITE"] == [address(cluster, "s1")]
            epoch = follow.json("GET", "/topology")["epoch"]
            cluster.move_leader("neo4j", "s3")
            new = {address(cluster, "s3")}
            until("the new writer in the Python driver's table",
                  lambda: kept(driver, "neo4j")["WRITE"] == new, 2 * INTERVAL + TTL + GRACE)
            until("the new writer in the npm driver's table",
                  lambda: node_table(follow, "neo4j")["roles"]["WRITE"] == sorted(new),
                  2 * INTERVAL + TTL + GRACE)
            # One change: one update published, one epoch more.
            assert follow.json("GET", "/topology")["epoch"] == epoch + 1
            assert follow.metric('tagroute_follow_changes_total{kind="set_leader"} 1')
            assert raw(driver)["db"] == "neo4j", "the cluster's default database"


def test_a_killed_server_leaves_the_tables_while_the_cluster_calls_it_healthy(tmp_path):
    with Cluster(3, ["neo4j"]) as cluster, Follow(cluster, tmp_path) as follow:
        with follow.driver() as driver:
            gone = address(cluster, "s3")
            assert gone in raw(driver, "neo4j")["roles"]["READ"]
            cluster.kill("s3")
            until("the killed server out of the READ servers",
                  lambda: gone not in raw(driver, "neo4j")["roles"]["READ"],
                  3 * HEALTH + GRACE)
            assert cluster.server("s3").health == "Available", "the stub still says so"
            server = follow.json("GET", "/topology")["servers"][2]
            assert (server["name"], server["available"], server["health"]) == ("s3", False,
                                                                                "failing")
            assert server["decided_by"]["available"] == "health"
            assert follow.metric('tagroute_health_transitions_total{to="failing"} 1')
            driver.verify_connectivity()  # a live reader answers
            cluster.revive("s3")
            until("the revived server back among the READ servers",
                  lambda: gone in raw(driver, "neo4j")["roles"]["READ"],
                  3 * HEALTH + GRACE)


def test_over_tls_the_probes_keep_their_connections_and_a_killed_server_leaves(tmp_path):
    """Following and health checks over `neo4j+s`: after the first round each probe is a RESET
    on the TLS connection kept to its server; a kill closes it, and the new one is refused."""
    ca = authority(tmp_path, "ours")
    cert, key = certificate(tmp_path, ca, ["127.0.0.2", "127.0.0.3", "127.0.0.4"])
    with Cluster(3, ["neo4j"], tls=(str(cert), str(key))) as cluster, \
            Follow(cluster, tmp_path, "--follow-tls-ca", str(ca[0]), scheme="neo4j+s") as follow:
        with follow.driver() as driver:
            gone = address(cluster, "s3")
            assert gone in raw(driver, "neo4j")["roles"]["READ"]
            until("three servers passing their checks",
                  lambda: follow.metric('tagroute_health_servers{state="passing"} 3'),
                  3 * HEALTH + GRACE)
            accepted = cluster.server("s3").accepted
            time.sleep(4 * HEALTH)
            assert cluster.server("s3").accepted == accepted, "probes on the kept connection"
            cluster.kill("s3")
            until("the killed server out of the READ servers",
                  lambda: gone not in raw(driver, "neo4j")["roles"]["READ"],
                  3 * HEALTH + GRACE)
            cluster.revive("s3")
            until("the revived server back among the READ servers",
                  lambda: gone in raw(driver, "neo4j")["roles"]["READ"],
                  3 * HEALTH + GRACE)


def test_an_unreachable_cluster_keeps_the_last_tables_and_healthz_degraded(tmp_path):
    with Cluster(3, ["neo4j"]) as cluster, Follow(cluster, tmp_path) as follow:
        with follow.driver() as driver:
            before = raw(driver, "neo4j")
            assert follow.http("GET", "/healthz") == (200, "ok\n")
            cluster.unreachable()
            status, text = until(
                "/healthz degraded",
                lambda: (lambda r: r if r[1].startswith("degraded: ") else None)(
                    follow.http("GET", "/healthz")),
                2 * INTERVAL + GRACE)
            assert status == 200
            assert "the last good poll of the cluster was " in text
            assert "no server of the cluster answered" in text
            # Every server fails its probes too: the verdicts are set aside, not the tables.
            until("the verdicts set aside",
                  lambda: follow.metric("tagroute_health_ignored 1"), 3 * HEALTH + GRACE)
            assert raw(driver, "neo4j") == before
            assert follow_count(follow, "unreachable") > 0
            cluster.reachable()
            until("/healthz ok again", lambda: follow.http("GET", "/healthz") == (200, "ok\n"),
                  2 * INTERVAL + GRACE)
            assert raw(driver, "neo4j") == before


def follow_count(follow, outcome):
    _, text = follow.http("GET", "/metrics")
    prefix = f'tagroute_follow_polls_total{{outcome="{outcome}"}} '
    values = [int(l[len(prefix):]) for l in text.splitlines() if l.startswith(prefix)]
    assert values and values[0] > 0, text
    return values[0]


def test_overrides_survive_a_reload_of_neo4j_conf_and_a_restart(tmp_path):
    with Cluster(3, ["neo4j"]) as cluster:
        overrides = [{"op": "set_available", "server": "s2", "available": False},
                     {"op": "set_tags", "server": "s3", "tags": ["gpu"]}]
        s2, s3 = address(cluster, "s2"), address(cluster, "s3")
        with Follow(cluster, tmp_path) as follow:
            assert follow.json("POST", "/topology/updates", json.dumps(overrides))["epoch"] == 1
            follow.conf.write_text(CONF + "dbms.routing.load_balancing.config.server_policies"
                                          ".gpu=tags(gpu); halt()\n")
            assert follow.json("POST", "/reload")["epoch"] == 1, "nothing published"
            with neo4j.GraphDatabase.driver(follow.uri + "?policy=gpu",
                                            auth=("neo4j", "pw")) as gpu:
                assert raw(gpu, "neo4j")["roles"]["READ"] == {s3}
            with follow.driver() as driver:
                assert s2 not in raw(driver, "neo4j")["roles"]["READ"]
        with Follow(cluster, tmp_path) as restarted:
            listed = restarted.json("GET", "/topology/overrides")["overrides"]
            assert [dict(o, active=True) for o in overrides] == listed
            with restarted.driver() as driver:
                assert s2 not in raw(driver, "neo4j")["roles"]["READ"]
            with neo4j.GraphDatabase.driver(restarted.uri + "?policy=gpu",
                                            auth=("neo4j", "pw")) as gpu:
                assert raw(gpu, "neo4j")["roles"]["READ"] == {s3}


def test_a_new_database_and_alias_appear_and_an_unknown_database_is_not_found(tmp_path):
    with Cluster(3, ["neo4j"]) as cluster, Follow(cluster, tmp_path) as follow:
        with follow.driver() as driver:
            cluster.add_database("orders", ["s2", "s3"], leader="s3", aliases=["sales"])
            cluster.add_alias("neo4j", "graph")
            until("the new database in tagroute's tables",
                  lambda: "orders" in {d["name"] for d in follow.json("GET", "/topology")[
                      "databases"]}, 2 * INTERVAL + GRACE)
            until("the new alias", lambda: any("graph" in d.get("aliases", []) for d in
                                               follow.json("GET", "/topology")["databases"]),
                  2 * INTERVAL + GRACE)
            # Through the driver's own path, which dials a reader of the table it files under the
            # name it asked for: by name, by alias, in another case.
            for database in ["orders", "sales", "SALES", "graph"]:
                driver.verify_connectivity(database=database)
                table = kept(driver, database)
                assert table["ROUTE"] == {f"127.0.0.1:{follow.port}"}, database
            assert kept(driver, "sales")["WRITE"] == {address(cluster, "s3")}
            assert raw(driver, "Sales")["db"] == "Sales", "named as asked, as Neo4j does"
            assert node_table(follow, "sales")["roles"]["WRITE"] == [address(cluster, "s3")]
            with pytest.raises(ClientError) as unknown:
                driver.verify_connectivity(database="nope")
            assert unknown.value.code == "Neo.ClientError.Database.DatabaseNotFound"
            assert node_table(follow, "nope") == {
                "error": "Neo.ClientError.Database.DatabaseNotFound"}
