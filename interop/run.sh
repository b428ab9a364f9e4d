#!/usr/bin/env bash
# Real Neo4j drivers against `tagroute serve` on loopback ports: Python `neo4j` 6.4.1 and
# 5.28.8 (a virtual environment each) and the npm `neo4j-driver` 6.3.0 (a local node_modules),
# every version pinned; and tagroute reading a stub Neo4j cluster (interop/stub_cluster.py, packed by
# each pinned Python driver's PackStream) with `topology import --from` (python/test_follow.py)
# and through `serve --follow` with both kinds of driver (python/test_serve_follow.py, which runs
# node/table.mjs for the npm driver's tables).
# Usage: interop/run.sh path/to/tagroute
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export TAGROUTE=$(realpath "$1")
work=${TAGROUTE_INTEROP_DIR:-$here/.work}
mkdir -p "$work"

command -v openssl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
python3 -m venv --help >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null

# A self-signed certificate for 127.0.0.1, as `neo4j+ssc://` expects.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
export TAGROUTE_CERT=$work/cert.pem TAGROUTE_KEY=$work/key.pem

# The npm driver first: python/test_serve_follow.py asks it for tables.
(cd "$here/node" && npm install --no-audit --no-fund --silent)

for driver in 6.4.1 5.28.8; do
    venv=$work/venv-$driver
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install -q "neo4j==$driver" "pytest==8.3.4"
    echo "--- Python neo4j $driver"
    # pytest exits 5 when it collected nothing: that is a failure here too.
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "$here/python"
done

# /metrics read by prometheus_client's classic and OpenMetrics parsers, pinned; the same
# parsers then run the cargo test that reads both formats (tests/serve/attack.rs).
metrics_venv=$work/venv-metrics
[ -x "$metrics_venv/bin/python" ] || python3 -m venv "$metrics_venv"
"$metrics_venv/bin/pip" install -q "prometheus_client==0.26.0" "pytest==8.3.4"
echo "--- prometheus_client 0.26.0"
"$metrics_venv/bin/python" -m pytest -q -p no:cacheprovider "$here/metrics"
(cd "$here/.." && TAGROUTE_PYTHON="$metrics_venv/bin/python" \
    cargo test -q --test integration metrics_come_in_the_format_asked_for -- --nocapture)

echo "--- npm neo4j-driver 6.3.0"
(cd "$here/node" && node --test routing.test.mjs)
