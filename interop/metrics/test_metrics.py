"""`tagroute serve`'s /metrics read by prometheus_client's two parsers: the classic text format
(no Accept header) and OpenMetrics (Prometheus's Accept header).

Run by interop/run.sh with TAGROUTE (the binary) in the environment.
"""

import json
import os
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as classic_families

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "serve"
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def fetch(admin, accept=None):
    request = urllib.request.Request(admin + "/metrics")
    if accept:
        request.add_header("Accept", accept)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.headers["Content-Type"], response.read().decode()


def samples(families):
    return {
        family.name: {
            (s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples
        }
        for family in families
    }


def test_both_formats_parse_to_the_same_counters():
    process = subprocess.Popen(
        [os.environ["TAGROUTE"], "serve", "--config", str(DATA / "neo4j.conf"),
         "--topology", str(DATA / "topology.json"), "--listen", "127.0.0.1:0",
         # Its update is kept in a scratch state file, not beside the shared config.
         "--state-file", os.path.join(tempfile.mkdtemp(prefix="tagroute-state-"), "state.json"),
         "--admin", "127.0.0.1:0", "--log-level", "error"],
        stdout=subprocess.PIPE, text=True)
    try:
        admin = "http://" + json.loads(process.stdout.readline())["admin"]
        update = urllib.request.Request(
            admin + "/topology/updates", method="POST",
            data=b'[{"op": "set_available", "server": "r1", "available": false}]')
        urllib.request.urlopen(update, timeout=10).read()
        classic_type, classic = fetch(admin)
        open_type, openmetrics = fetch(admin, PROMETHEUS_ACCEPT)
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
    assert classic_type.startswith("text/plain; version=0.0.4")
    assert open_type.startswith("application/openmetrics-text; version=1.0.0")
    from_classic = samples(classic_families(classic))
    from_openmetrics = samples(openmetrics_families(openmetrics))
    updates = ("tagroute_topology_updates_total", (("outcome", "ok"),))
    for parsed in (from_classic, from_openmetrics):
        assert parsed["tagroute_topology_updates"][updates] == 1.0
        assert parsed["tagroute_topology_epoch"][("tagroute_topology_epoch", ())] == 1.0
    # Every counter family has its samples in both: none is read as an empty family.
    for name, values in from_openmetrics.items():
        counted = {k: v for k, v in values.items() if not k[0].endswith("_created")}
        assert from_classic.get(name) == counted, name
