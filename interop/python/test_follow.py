"""tagroute reading a live cluster: `tagroute topology import --from` against the stub cluster
(interop/stub_cluster.py, whose records the `neo4j` package packs), at every Bolt version,
through state changes, failures, wrong credentials and TLS.

Run by interop/run.sh with TAGROUTE (the binary) in the environment.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stub_cluster import Cluster  # noqa: E402

BIN = os.environ["TAGROUTE"]


@pytest.fixture
def password(tmp_path):
    path = tmp_path / "password"
    path.write_text("pw\n")
    return path


def imported(uri, password, *extra, ok=True):
    """`topology import --from uri` as neo4j/pw: (exit status, the topology or None, stderr)."""
    result = subprocess.run(
        [BIN, "topology", "import", "--from", uri, "--user", "neo4j",
         "--password-file", str(password), *extra],
        capture_output=True, text=True, timeout=60)
    if ok:
        assert result.returncode == 0, result.stderr
    topology = json.loads(result.stdout) if result.returncode == 0 else None
    return result.returncode, topology, result.stderr


def expected(cluster):
    """The topology the stub's state describes, written from that state, not from tagroute."""
    servers = [
        {"name": s.name, "address": s.address, "tags": s.tags,
         "available": s.state == "Enabled" and s.health == "Available"}
        for s in cluster.servers
    ]
    down = {s.name for s in cluster.servers if s.health != "Available"}
    databases = []
    for d in cluster.databases:
        hosted = {n: role for n, (role, status) in d.hosting.items()
                  if status == "online" and n not in down}
        database = {
            "name": d.name,
            "primaries": [n for n, r in hosted.items() if r == "primary"],
            "secondaries": [n for n, r in hosted.items() if r == "secondary"],
            "leader": d.leader if d.leader in hosted else None,
        }
        # The JSON form names aliases and the default only when there are.
        if d.aliases:
            database["aliases"] = list(d.aliases)
        if d.default:
            database["default"] = True
        databases.append(database)
    return {"servers": servers, "databases": databases}


@pytest.mark.parametrize("version", [(4, 4), (5, 0), (5, 1), (5, 4), (5, 6), (5, 7), (5, 8)])
def test_every_bolt_version_reads_the_cluster(password, version):
    with Cluster(3, ["neo4j", "movies"], secondaries=1, max_version=version) as cluster:
        _, topology, err = imported(cluster.uri(), password)
        assert topology == expected(cluster)
        assert f"note: read from {cluster.addresses[0]} (Bolt {version[0]}.{version[1]})" in err
        assert "note: the default database is `neo4j`" in err


def test_a_leader_move_a_new_database_and_a_new_alias_are_read(password):
    with Cluster(3, ["neo4j"]) as cluster:
        _, before, _ = imported(cluster.uri(), password)
        assert before["databases"][1]["leader"] == "s1"
        cluster.move_leader("neo4j", "s3")
        cluster.add_database("orders", ["s2", "s3"], leader="s2", aliases=["sales"])
        cluster.add_alias("neo4j", "graph")
        _, after, err = imported(cluster.uri(), password)
        assert after == expected(cluster)
        assert after["databases"][1]["leader"] == "s3"
        assert after["databases"][2] == {"name": "orders", "primaries": ["s2", "s3"],
                                         "secondaries": [], "leader": "s2",
                                         "aliases": ["sales"]}
        assert "note: alias `graph` routes as `neo4j`" in err
        assert "note: alias `sales` routes as `orders`" in err


def test_servers_down_cordoned_or_not_online_are_read_as_such(password):
    with Cluster(4, ["neo4j"]) as cluster:
        cluster.set_health("s2", "Unavailable")
        cluster.set_state("s3", "Cordoned")
        cluster.set_status("neo4j", "s4", "store copying")
        cluster.move_leader("neo4j", "s2")
        _, topology, err = imported(cluster.uri(), password)
        assert topology == expected(cluster)
        available = {s["name"]: s["available"] for s in topology["servers"]}
        assert available == {"s1": True, "s2": False, "s3": False, "s4": True}
        neo4j = topology["databases"][1]
        assert neo4j["primaries"] == ["s1", "s3"] and neo4j["leader"] is None
        assert "`neo4j` on `s4` is store copying, not online; left out" in err
        assert "`neo4j` on `s2` has role `unknown`; left out" in err


def test_a_killed_seed_is_passed_over_for_the_next(password):
    with Cluster(3, ["neo4j"]) as cluster:
        cluster.kill("s1")
        _, topology, err = imported(cluster.uri(2), password)
        # The stub still says s1 is healthy: only tagroute's own probes can tell.
        assert topology == expected(cluster)
        assert f"note: read from {cluster.addresses[1]}" in err


def test_an_unreachable_cluster_is_an_error_naming_every_seed(password):
    with Cluster(2, ["neo4j"]) as cluster:
        uri = cluster.uri(2)
        cluster.unreachable()
        status, _, err = imported(uri, password, ok=False)
        assert status == 1
        assert err.startswith("error: --from: no server of the cluster answered: ")
        for address in cluster.addresses:
            assert f"{address}: " in err


@pytest.mark.parametrize("version", [(4, 4), (5, 8)])
def test_wrong_credentials_are_the_server_s_failure(tmp_path, version):
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    with Cluster(1, ["neo4j"], max_version=version) as cluster:
        status, _, err = imported(cluster.uri(), wrong, ok=False)
        request = "HELLO" if version < (5, 1) else "LOGON"
        assert status == 1
        assert (f"{cluster.addresses[0]}: {request}: Neo.ClientError.Security.Unauthorized: "
                "The client is unauthorized due to authentication failure.") in err


def test_bad_uris_and_flags_are_refused_before_connecting(password):
    status, _, err = imported("neo4j://127.0.0.2:x", password, ok=False)
    assert (status, err) == (1, "error: --from: `neo4j://127.0.0.2:x` at byte 18: the port `x` "
                                "is not a number from 1 to 65535\n")
    status, _, err = imported("neo4j+s://127.0.0.2:7687", password, ok=False)
    assert "a `+s` scheme needs the CA certificate" in err
    result = subprocess.run([BIN, "topology", "import", "--from", "neo4j://a", "--user", "u"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--password-file" in result.stderr


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def authority(tmp_path, name):
    """A CA: its certificate and key."""
    cert, key = tmp_path / f"{name}-ca.pem", tmp_path / f"{name}-ca.key"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", str(key), "-out", str(cert))
    return cert, key


def certificate(tmp_path, ca, hosts):
    """A server certificate for `hosts` (IP addresses) signed by `ca`: (chain, key)."""
    key, request, cert = (tmp_path / f"server.{x}" for x in ("key", "csr", "pem"))
    extensions = tmp_path / "server.ext"
    extensions.write_text("subjectAltName=" + ",".join(f"IP:{h}" for h in hosts) + "\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=stub", "-keyout", str(key),
            "-out", str(request))
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert))
    return cert, key


def test_tls_is_verified_against_the_ca_given(tmp_path, password):
    ca, other = authority(tmp_path, "ours"), authority(tmp_path, "theirs")[0]
    cert, key = certificate(tmp_path, ca, ["127.0.0.2", "127.0.0.3"])
    with Cluster(2, ["neo4j"], tls=(str(cert), str(key))) as cluster:
        _, topology, err = imported(cluster.uri(scheme="neo4j+s"), password, "--tls-ca", str(ca[0]))
        assert topology == expected(cluster)
        status, _, err = imported(cluster.uri(), password, "--tls-ca", str(other), ok=False)
        assert status == 1 and "TLS: invalid peer certificate" in err
        status, _, err = imported(cluster.uri(), password, ok=False)
        assert status == 1 and "no server of the cluster answered" in err
