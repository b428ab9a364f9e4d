"""The real Python driver against `tagroute serve`: tables, errors, resolver, auth, TLS, updates.

Run by interop/run.sh with TAGROUTE (the binary), TAGROUTE_CERT and TAGROUTE_KEY (a self-signed
certificate for 127.0.0.1) in the environment.
"""

import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import neo4j
import pytest
from neo4j.exceptions import AuthError, ClientError, ServiceUnavailable

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "serve"
CONF, TOPOLOGY = DATA / "neo4j.conf", DATA / "topology.json"
BIN = os.environ["TAGROUTE"]
MAJOR = int(neo4j.__version__.split(".")[0])


class Server:
    """`tagroute serve` on loopback ports, with the addresses it prints."""

    def __init__(self, *extra):
        # Posted updates are kept in a state file (beside the config by default): a scratch
        # one, so that no run leaves overrides behind for the next.
        self.state = tempfile.mkdtemp(prefix="tagroute-state-")
        self.process = subprocess.Popen(
            [BIN, "serve", "--config", str(CONF), "--topology", str(TOPOLOGY),
             "--state-file", os.path.join(self.state, "state.json"),
             "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--log-level", "warn", *extra],
            stdout=subprocess.PIPE, text=True)
        printed = json.loads(self.process.stdout.readline())
        self.port = int(printed["bolt"].rsplit(":", 1)[1])
        self.admin = "http://" + printed["admin"]

    def driver(self, query="", scheme="neo4j", auth=("neo4j", "any"), **config):
        uri = f"{scheme}://127.0.0.1:{self.port}{query}"
        return neo4j.GraphDatabase.driver(uri, auth=auth, **config)

    def post(self, path, body):
        request = urllib.request.Request(self.admin + path, data=body.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self):
        self.process.terminate()
        assert self.process.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def server():
    running = Server()
    yield running
    running.stop()


def raw_table(driver):
    """The table exactly as the server sent it (private API; the driver version is pinned)."""
    pool = driver._pool
    return pool.fetch_routing_info(pool.address, None, None, None, None, 30)[0]


def as_sets(table):
    roles = {s["role"]: set(s["addresses"]) for s in table["servers"]}
    return {"ttl": table["ttl"], "db": table["db"], "roles": roles}


def cli_table(*args):
    """`tagroute route`'s answer for the same files."""
    out = subprocess.run(
        [BIN, "route", "--config", str(CONF), "--topology", str(TOPOLOGY), "--db", "neo4j", *args],
        check=True, capture_output=True, text=True).stdout
    return as_sets(json.loads(out))


@pytest.mark.parametrize("policy", ["europe", "fallback", "default"])
def test_the_policys_table_is_tagroute_routes(server, policy):
    with server.driver(f"?policy={policy}") as driver:
        assert as_sets(raw_table(driver)) == cli_table("--policy", policy)


def test_no_policy_selects_default(server):
    with server.driver() as driver:
        assert as_sets(raw_table(driver)) == cli_table("--policy", "default") == cli_table()


def test_an_unknown_policy_raises_our_code(server):
    with server.driver("?policy=atlantis") as driver:
        with pytest.raises(ClientError) as raised:
            raw_table(driver)
        assert raised.value.code == "Neo.ClientError.Procedure.ProcedureCallFailed"
        assert raised.value.message == "Policy definition for 'atlantis' could not be found."
        with pytest.raises(ServiceUnavailable) as unavailable:
            driver.verify_connectivity()
        if MAJOR >= 6:
            causes = unavailable.value.__cause__.exceptions
            assert causes[0].code == "Neo.ClientError.Procedure.ProcedureCallFailed"


def test_verify_connectivity_through_a_resolver_to_our_port(server):
    dialled = []

    def resolver(address):
        dialled.append(str(address))
        return [("127.0.0.1", server.port)]

    with server.driver("?policy=europe", resolver=resolver) as driver:
        driver.verify_connectivity()
    readers = cli_table("--policy", "europe")["roles"]["READ"]
    assert any(address in readers for address in dialled), dialled


def test_a_wrong_password_raises_an_auth_error(tmp_path):
    hashed = subprocess.run([BIN, "serve", "--hash-password", "app"], input="s3cret\n",
                            check=True, capture_output=True, text=True).stdout
    users = tmp_path / "users.auth"
    users.write_text(hashed)
    secured = Server("--auth-file", str(users))
    try:
        with secured.driver(auth=("app", "wrong")) as driver:
            with pytest.raises(AuthError):
                driver.verify_connectivity()
        with secured.driver("?policy=europe", auth=("app", "s3cret")) as driver:
            assert as_sets(raw_table(driver)) == cli_table("--policy", "europe")
    finally:
        secured.stop()


def test_the_same_table_arrives_over_tls_with_a_self_signed_certificate():
    tls = Server("--tls-cert", os.environ["TAGROUTE_CERT"], "--tls-key", os.environ["TAGROUTE_KEY"])
    try:
        with tls.driver("?policy=europe", scheme="neo4j+ssc") as driver:
            assert as_sets(raw_table(driver)) == cli_table("--policy", "europe")
    finally:
        tls.stop()


def test_a_reader_marked_down_leaves_the_next_table():
    own = Server()
    try:
        with own.driver("?policy=europe") as driver:
            assert "r1.example.com:7687" in as_sets(raw_table(driver))["roles"]["READ"]
            down = [{"op": "set_available", "server": "r1", "available": False}]
            assert own.post("/topology/updates", json.dumps(down)) == {"epoch": 1}
            after = as_sets(raw_table(driver))["roles"]["READ"]
            assert "r1.example.com:7687" not in after and after
    finally:
        own.stop()
