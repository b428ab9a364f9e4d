#!/usr/bin/env bash
# Regenerates the seed corpora of fuzz/corpus/ from the conformance vectors in tests/data.
#   parse, roundtrip: every policy text of neo4j_cases.jsonl and random/policies.jsonl
#                     (roundtrip keeps only those that parse);
#   config:           every `conf` text of routing.jsonl;
#   verify:           compiled programs of those policies (examples/seed.rs);
#   differential:     fixed pseudo-random inputs for its structured input (examples/seed.rs).
# Seeds are named by content, so running it twice writes the same files.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf corpus
mkdir -p corpus/parse corpus/roundtrip corpus/config corpus/verify corpus/differential

python3 - <<'PY'
import hashlib, json, pathlib

def write(target, text):
    data = text.encode("utf-8")
    pathlib.Path("corpus", target, hashlib.sha1(data).hexdigest()).write_bytes(data)

def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]

for case in lines("../tests/data/neo4j_cases.jsonl") + lines("../tests/data/random/policies.jsonl"):
    write("parse", case["policy"])
    if case["tagroute"]:
        write("roundtrip", case["policy"])
for case in lines("../tests/data/routing.jsonl"):
    write("config", case["conf"])
PY

cargo run --quiet --release --example seed
for d in corpus/*; do echo "$d: $(ls "$d" | wc -l) seeds"; done
du -sh --apparent-size corpus
