#!/usr/bin/env bash
# Regenerates the seed corpora of fuzz/corpus/ from the conformance vectors in tests/data.
#   parse, roundtrip: every policy text of neo4j_cases.jsonl and random/policies.jsonl
#                     (roundtrip keeps only those that parse);
#   config:           every `conf` text of routing.jsonl, the committed `seed-*` files of
#                     findings (such as `seed-escaped-policy-loads`), kept as they are, and the
#                     first 4 KB (to a line break) of each of issue 14's input shapes, whose
#                     whole files (18-37 KB of one kind each) stay in `corpus/config-large`;
#   verify:           compiled programs of those policies (examples/seed.rs);
#   differential:     fixed pseudo-random inputs for its structured input (examples/seed.rs);
#   bolt:             driver dialogues built from BOLT.md's captured vectors (handshakes of the
#                     Python drivers and neo4rs, HELLO, LOGON, ROUTE, RESET, RUN, GOODBYE), and
#                     a server's answers to tagroute's client (SUCCESS, RECORD, FAILURE of both
#                     shapes, IGNORED, a refused handshake).
# Seeds are named by content, so running it twice writes the same files.
set -euo pipefail
cd "$(dirname "$0")"
kept="$(mktemp -d)"
trap 'rm -rf "$kept"' EXIT
cp corpus/config/seed-* "$kept"/ 2>/dev/null || true
rm -f "$kept"/seed-*-4k "$kept"/seed-*-1k
cp -R corpus/config-large "$kept"/large
rm -rf corpus
mkdir -p corpus/parse corpus/roundtrip corpus/config corpus/verify corpus/differential corpus/bolt
cp "$kept"/seed-* corpus/config/ 2>/dev/null || true
cp -R "$kept"/large corpus/config-large
for shape in corpus/config-large/*; do
    # The first kilobyte, cut after a line break when there is one: libFuzzer grows inputs from
    # there up to its default -max_len (4 KB), so a campaign spends its first minutes on short
    # inputs rather than starting every mutation from 4 KB ones (README: "Speed under AddressSanitizer").
    head -c 1000 "$shape" | python3 -c '
import sys
data = sys.stdin.buffer.read()
cut = data.rfind(b"\n") + 1
sys.stdout.buffer.write(data[:cut] if cut else data)' >"corpus/config/$(basename "$shape")-1k"
done

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

# bolt: a control byte (highest version, read size), then a client's stream.
def pack(v):
    if v is None: return b"\xc0"
    if isinstance(v, int): return bytes([v]) if 0 <= v < 128 else b"\xc9" + v.to_bytes(2, "big")
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0x80 + len(b)]) if len(b) < 16 else bytes([0xD0, len(b)])) + b
    if isinstance(v, list): return bytes([0x90 + len(v)]) + b"".join(map(pack, v))
    if isinstance(v, dict): return bytes([0xA0 + len(v)]) + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)
def message(tag, *fields): return bytes([0xB0 + len(fields), tag]) + b"".join(map(pack, fields))
def framed(body): return len(body).to_bytes(2, "big") + body + b"\0\0"
h = bytes.fromhex
python = h("6060B017 000001FF 00080805 00020404 00000003")
neo4rs = h("6060B017 00000404 00000304 00000104 00000004")
route_vector = h("b3 66 a2 86 706f6c696379 86 6575726f7065 87 61646472657373 8e 3132372e302e302e313a37363837 90 a0")
logon_vector = h("b1 6a a3 86 736368656d65 85 6261736963 89 7072696e636970616c 85 6e656f346a 8b 63726564656e7469616c73 82 7077")
context = {"policy": "europe", "address": "127.0.0.1:7687"}
hello5 = message(0x01, {"user_agent": "neo4j-python/6.4.1 Python/3.11", "routing": context,
                        "bolt_agent": {"product": "neo4j-python/6.4.1", "language": "Python/3.11"}})
hello4 = message(0x01, {"user_agent": "neo4rs", "scheme": "basic", "principal": "neo4j",
                        "credentials": "pw", "routing": {"address": "127.0.0.1:7687"}, "patch_bolt": ["utc"]})
route_nulls = message(0x66, {"address": "127.0.0.1:7687"}, [], {"db": None, "imp_user": None})
route_movies = message(0x66, context, [], {"db": "movies"})
route_empty = message(0x66, {}, [], {"db": "empty"})
route_unknown = message(0x66, {"policy": "atlantis"}, [], {})
run = message(0x10, "RETURN 1", {}, {})
goodbye, reset, noop = h("b0 02"), h("b0 0f"), b"\0\0"
dialogues = [
    (0x08, python + b"".join(map(framed, [hello5, logon_vector, route_vector, route_movies, goodbye]))),
    (0x40, python + framed(hello5) + framed(logon_vector) + noop + framed(route_unknown) + framed(route_vector) + framed(reset) + framed(route_empty)),
    (0x00, neo4rs + b"".join(map(framed, [hello4, route_nulls, reset, route_nulls]))),
    (0x13, python + b"".join(map(framed, [hello4, run, route_vector, reset, message(0x54, 1), message(0x6B), logon_vector]))),
    (0x05, python),
    (0x08, python[:19]),
    (0x08, h("6060B017 00000003 00000002 00000000 00000000")),
    (0x08, b"GET / HTTP/1.1\r\n\r\n"),
    (0x08, route_vector),
]
# A server's answers to the client's HELLO (+ LOGON), RUN + PULL twice and RESET.
success = lambda meta: message(0x70, meta)
record = lambda *fields: message(0x71, list(fields))
fields = success({"fields": ["name", "address", "tags"], "t_first": 2})
row = record("n1", "n1:7687", ["north", "eu"])
hello_ok = success({"server": "Neo4j/5.26.0", "connection_id": "bolt-1"})
failure_44 = message(0x7F, {"code": "Neo.ClientError.Security.Unauthorized", "message": "unauthorized"})
failure_57 = message(0x7F, {"neo4j_code": "Neo.ClientError.Statement.NotSystemDatabaseError", "message": "m",
                            "gql_status": "50N42", "description": "d", "diagnostic_record": {"OPERATION": ""}})
ignored = h("b0 7e")
dialogues += [
    (0x08, h("00000805") + b"".join(map(framed, [hello_ok, success({}), fields, row, row, success({"db": "system"}),
                                                  fields, row, success({}), success({})]))),
    (0x00, h("00000404") + b"".join(map(framed, [failure_44, ignored, ignored, ignored, ignored, success({})]))),
    (0x07, h("00000705") + b"".join(map(framed, [hello_ok, success({}), failure_57, ignored, fields, row, success({}), success({})]))),
    (0x08, h("00000000")),
]
for control, stream in dialogues:
    data = bytes([control]) + stream
    pathlib.Path("corpus", "bolt", hashlib.sha1(data).hexdigest()).write_bytes(data)
PY

cargo run --quiet --release --example seed
for d in corpus/*; do echo "$d: $(ls "$d" | wc -l) seeds"; done
du -sh --apparent-size corpus
