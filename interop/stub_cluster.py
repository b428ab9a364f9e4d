"""A stub Neo4j 5 cluster for tests: N servers on 127.0.0.2, 127.0.0.3, ... that answer what
tagroute asks of a cluster, and what a driver asks of a server it was routed to.

Each server speaks Bolt 4.4 and 5.0-5.8 (5.5 excepted, as Neo4j): the legacy handshake, HELLO
(credentials inside up to 5.0), LOGON, RUN + PULL of `SHOW SERVERS YIELD *` and
`SHOW DATABASES YIELD *` on the `system` database, RESET and GOODBYE; anything else gets a
FAILURE in the shape of the negotiated version (`code`/`message` up to 5.6, the GQL keys from
5.7). Every message is packed and unpacked by the `neo4j` package's own PackStream
(`neo4j._codec.packstream.v1`), an implementation that is not tagroute's.

The records have the columns, in the order and of the types, of Neo4j 5's Operations Manual
(`neo4j/docs-operations`, branch 5.x):
- `modules/ROOT/pages/clustering/servers.adoc` (SHOW SERVERS, the `YIELD *` output table);
- `modules/ROOT/pages/database-administration/standard-databases/listing-databases.adoc`
  (SHOW DATABASES, "Listing databases output"): one row per database and hosting server,
  `system` included; the three times are ZONED DATETIME structures (legacy `F` on Bolt 4.4,
  UTC `I` from 5.0).

A test changes the state through the methods of `Cluster` (a leader move, a server killed, the
whole cluster unreachable, a new database, a new alias, a server's health or state), and every
server answers from the new state at once. Run as a program, it starts a cluster and prints one
JSON line with its addresses, then serves until killed:

    python stub_cluster.py --servers 3 --databases 2
"""

import argparse
import json
import socket
import socketserver
import ssl
import struct
import sys
import threading
import uuid

from neo4j._codec.packstream import Structure
from neo4j._codec.packstream.v1 import Packer, Unpacker

try:  # neo4j 6.x
    from neo4j._codec.packstream._common import PackableBuffer, UnpackableBuffer
except ImportError:  # neo4j 5.x
    from neo4j._codec.packstream.v1 import PackableBuffer, UnpackableBuffer

SUPPORTED = [(4, 4), (5, 0), (5, 1), (5, 2), (5, 3), (5, 4), (5, 6), (5, 7), (5, 8)]
AGENT = "Neo4j/5.26.0"
SERVER_COLUMNS = [
    "serverId", "name", "address", "httpAddress", "httpsAddress", "state", "health", "hosting",
    "requestedHosting", "tags", "allowedDatabases", "deniedDatabases", "modeConstraint", "version",
]
DATABASE_COLUMNS = [
    "name", "type", "aliases", "access", "databaseID", "serverID", "address", "role", "writer",
    "requestedStatus", "currentStatus", "statusMessage", "default", "home",
    "currentPrimariesCount", "currentSecondariesCount", "requestedPrimariesCount",
    "requestedSecondariesCount", "creationTime", "lastStartTime", "lastStopTime", "store",
    "lastCommittedTxn", "replicationLag", "constituents", "options",
]
CREATED = 1_762_160_000  # 2025-11-03, seconds since the epoch


def pack(value):
    buffer = PackableBuffer()
    Packer(buffer).pack(value)
    return bytes(buffer.data)


def unpack(body):
    return Unpacker(UnpackableBuffer(body)).unpack()


def chunked(body):
    out = bytearray()
    for start in range(0, len(body), 0xFFFF):
        piece = body[start:start + 0xFFFF]
        out += struct.pack(">H", len(piece)) + piece
    return bytes(out + b"\x00\x00")


def loopback(index):
    """The loopback address of server `index`: 127.0.0.2 to 127.0.0.254, then 127.0.1.1 to
    127.0.1.254, ... (no .0 or .255)."""
    if index + 2 < 255:
        return f"127.0.0.{index + 2}"
    k = index + 2 - 255
    return f"127.0.{1 + k // 254}.{1 + k % 254}"


class Server:
    """One member: its identity, what SHOW SERVERS says of it, and its listener."""

    def __init__(self, cluster, index, tags):
        self.cluster = cluster
        self.name = f"s{index + 1}"
        self.server_id = str(uuid.UUID(int=index + 1))
        self.host = loopback(index)
        self.port = 0
        self.state = "Enabled"
        self.health = "Available"
        self.tags = list(tags)
        self.listener = None
        self.thread = None
        self.connections = set()
        self.accepted = 0  # connections accepted over the server's life

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    def start(self):
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                # A TLS socket takes over the plain one's descriptor: the one kept, for a
                # kill to close, is the one served.
                sock = self.request
                server.accepted += 1
                try:
                    if server.cluster.tls is not None:
                        sock = server.cluster.tls.wrap_socket(sock, server_side=True)
                    server.connections.add(sock)
                    Connection(server.cluster, sock).serve()
                except OSError:
                    pass
                finally:
                    server.connections.discard(sock)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.listener = socketserver.ThreadingTCPServer((self.host, self.port), Handler)
        self.listener.daemon_threads = True
        self.port = self.listener.server_address[1]
        self.thread = threading.Thread(target=self.listener.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Closes the listener and every open connection (a killed process)."""
        if self.listener is None:
            return
        self.listener.shutdown()
        self.listener.server_close()
        self.listener = None
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()
        self.connections.clear()

    @property
    def running(self):
        return self.listener is not None


class Database:
    def __init__(self, name, primaries, secondaries=(), leader=None, aliases=(), default=False,
                 kind="standard"):
        self.name = name
        self.kind = kind
        self.database_id = uuid.uuid5(uuid.NAMESPACE_DNS, name).hex.upper()
        self.aliases = list(aliases)
        self.default = default
        # Each hosting server's name: [role, currentStatus].
        self.hosting = {s: ["primary", "online"] for s in primaries}
        self.hosting.update({s: ["secondary", "online"] for s in secondaries})
        self.leader = leader if leader is not None else (primaries[0] if primaries else None)


class Cluster:
    """N servers, `system` and the given databases; every primary hosts `system`."""

    def __init__(self, servers=3, databases=("neo4j",), secondaries=0, user="neo4j",
                 password="pw", tags=None, max_version=(5, 8), tls=None):
        """`max_version` caps the Bolt version the servers negotiate; `tls`, a pair of PEM
        files (certificate chain, key), makes them TLS servers."""
        self.lock = threading.RLock()
        self.user, self.password = user, password
        self.max_version = max_version
        self.tls = None
        if tls is not None:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        self.servers = [
            Server(self, i, (tags or {}).get(i, [f"zone{i % 3}"])) for i in range(servers)
        ]
        names = [s.name for s in self.servers]
        primaries = names[: servers - secondaries] if servers > secondaries else names
        rest = [n for n in names if n not in primaries]
        self.databases = [Database("system", primaries, rest, kind="system")]
        for i, name in enumerate(databases):
            # Leaders spread over the primaries, one database after the other.
            leader = primaries[i % len(primaries)]
            self.databases.append(Database(name, primaries, rest, leader, default=(i == 0)))
        self.queries = 0

    # --- the life of the stub -------------------------------------------------------------
    def start(self):
        for server in self.servers:
            server.start()
        return self

    def stop(self):
        for server in self.servers:
            server.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def server(self, name):
        return next(s for s in self.servers if s.name == name)

    def database(self, name):
        return next(d for d in self.databases if d.name == name)

    @property
    def addresses(self):
        return [s.address for s in self.servers]

    def uri(self, count=1, scheme="neo4j"):
        return f"{scheme}://" + ",".join(self.addresses[:count])

    # --- what a test changes ----------------------------------------------------------------
    def move_leader(self, database, server):
        with self.lock:
            db = self.database(database)
            assert db.hosting[server][0] == "primary", f"{server} is no primary of {database}"
            db.leader = server

    def kill(self, name):
        """Closes the server's sockets; SHOW SERVERS still says it is Available."""
        self.server(name).stop()

    def revive(self, name):
        self.server(name).start()

    def unreachable(self):
        """Every server's sockets closed: nobody answers."""
        self.stop()

    def reachable(self):
        for server in self.servers:
            if not server.running:
                server.start()

    def set_health(self, name, health):
        with self.lock:
            self.server(name).health = health

    def set_state(self, name, state):
        with self.lock:
            self.server(name).state = state

    def set_status(self, database, server, status):
        with self.lock:
            self.database(database).hosting[server][1] = status

    def add_database(self, name, primaries, secondaries=(), leader=None, aliases=()):
        with self.lock:
            self.databases.append(Database(name, primaries, secondaries, leader, aliases))

    def add_alias(self, database, alias):
        with self.lock:
            self.database(database).aliases.append(alias)

    # --- the records --------------------------------------------------------------------------
    def server_records(self, version):
        with self.lock:
            rows = []
            for s in self.servers:
                hosting = [d.name for d in self.databases if s.name in d.hosting]
                rows.append([
                    s.server_id, s.name, s.address, f"{s.host}:7474", None, s.state, s.health,
                    hosting, hosting, s.tags, [], [], "NONE", "5.26.0",
                ])
            return rows

    def database_records(self, version):
        with self.lock:
            servers = {s.name: s for s in self.servers}
            rows = []
            for d in self.databases:
                primaries = sum(1 for r, _ in d.hosting.values() if r == "primary")
                for name, (role, status) in d.hosting.items():
                    s = servers[name]
                    down = s.health != "Available"
                    rows.append([
                        d.name, d.kind, list(d.aliases), "read-write", d.database_id,
                        s.server_id, None if down else s.address, "unknown" if down else role,
                        d.leader == name and not down, "online", "unknown" if down else status,
                        "Server is unavailable" if down else "", d.default, d.default,
                        primaries, len(d.hosting) - primaries, primaries,
                        len(d.hosting) - primaries, zoned(CREATED, version),
                        zoned(CREATED + 3, version), None, "block-block-1.1", 311, 0, [], {},
                    ])
            return rows


def zoned(seconds, version):
    """A ZONED DATETIME at UTC: legacy `F` (local seconds) on 4.4, `I` (UTC seconds) after."""
    return Structure(b"F" if version < (5, 0) else b"I", seconds, 0, 0)


class Connection:
    """One client connection, handshake to close."""

    def __init__(self, cluster, sock):
        self.cluster = cluster
        self.sock = sock
        self.version = None
        self.failed = False
        self.records = None

    def read_exactly(self, n):
        data = b""
        while len(data) < n:
            more = self.sock.recv(n - len(data))
            if not more:
                raise ConnectionResetError
            data += more
        return data

    def read_message(self):
        body = b""
        while True:
            (size,) = struct.unpack(">H", self.read_exactly(2))
            if size == 0:
                if body:
                    return body
                continue  # a NOOP
            body += self.read_exactly(size)

    def send(self, tag, *fields):
        self.sock.sendall(chunked(pack(Structure(bytes([tag]), *fields))))

    def handshake(self):
        data = self.read_exactly(20)
        if data[:4] != b"\x60\x60\xb0\x17":
            return False
        for at in range(4, 20, 4):
            _, spread, minor, major = data[at:at + 4]
            for m in range(minor, max(minor - spread, 0) - 1, -1):
                if (major, m) in SUPPORTED and (major, m) <= self.cluster.max_version:
                    self.version = (major, m)
                    self.sock.sendall(bytes([0, 0, m, major]))
                    return True
        self.sock.sendall(b"\x00\x00\x00\x00")
        return False

    def failure(self, code, message):
        if self.version >= (5, 7):
            self.send(0x7F, {
                "neo4j_code": code, "message": message, "gql_status": "50N42",
                "description": f"error: general processing exception - unexpected error. {message}",
                "diagnostic_record": {"OPERATION": "", "OPERATION_CODE": "0", "CURRENT_SCHEMA": "/"},
            })
        else:
            self.send(0x7F, {"code": code, "message": message})
        self.failed = True

    def authenticated(self, extra):
        ok = (extra.get("scheme") == "basic" and extra.get("principal") == self.cluster.user
              and extra.get("credentials") == self.cluster.password)
        if not ok:
            self.failure("Neo.ClientError.Security.Unauthorized",
                         "The client is unauthorized due to authentication failure.")
        return ok

    def serve(self):
        if not self.handshake():
            return
        while True:
            message = unpack(self.read_message())
            tag, fields = message.tag[0], message.fields
            if tag == 0x02:  # GOODBYE
                return
            if tag == 0x0F:  # RESET
                self.failed, self.records = False, None
                self.send(0x70, {})
            elif self.failed:
                self.send(0x7E)
            elif tag == 0x01:  # HELLO
                if self.version < (5, 1) and not self.authenticated(fields[0]):
                    return
                self.send(0x70, {"server": AGENT, "connection_id": "bolt-1"})
            elif tag == 0x6A:  # LOGON
                if not self.authenticated(fields[0]):
                    return
                self.send(0x70, {})
            elif tag == 0x10:  # RUN
                self.run(*fields[:3])
            elif tag == 0x3F:  # PULL
                self.pull()
            else:
                self.failure("Neo.ClientError.Request.Invalid",
                             f"the stub cluster does not serve message {tag:#04x}")

    def run(self, query, parameters, extra):
        if extra.get("db") != "system":
            self.failure("Neo.ClientError.Statement.NotSystemDatabaseError",
                         "This is an administration command and it should be executed against "
                         f"the system database: {query}")
            return
        text = " ".join(query.split()).rstrip(";").upper()
        if text == "SHOW SERVERS YIELD *":
            columns, rows = SERVER_COLUMNS, self.cluster.server_records(self.version)
        elif text == "SHOW DATABASES YIELD *":
            columns, rows = DATABASE_COLUMNS, self.cluster.database_records(self.version)
        else:
            self.failure("Neo.ClientError.Statement.SyntaxError", f"the stub does not know `{query}`")
            return
        with self.cluster.lock:
            self.cluster.queries += 1
        self.records = rows
        self.send(0x70, {"fields": columns, "t_first": 1})

    def pull(self):
        if self.records is None:
            self.failure("Neo.ClientError.Request.Invalid", "PULL without RUN")
            return
        out = bytearray()
        for row in self.records:
            out += chunked(pack(Structure(b"\x71", row)))
        out += chunked(pack(Structure(b"\x70", {"type": "r", "t_last": 0, "db": "system"})))
        self.sock.sendall(out)
        self.records = None


def main():
    parser = argparse.ArgumentParser(description="A stub Neo4j 5 cluster on 127.0.0.2, ...")
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--databases", type=int, default=1)
    parser.add_argument("--secondaries", type=int, default=0)
    args = parser.parse_args()
    names = ["neo4j"] + [f"db{i}" for i in range(1, args.databases)]
    cluster = Cluster(args.servers, names, args.secondaries).start()
    print(json.dumps({"addresses": cluster.addresses}), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        cluster.stop()
        sys.exit(0)


if __name__ == "__main__":
    main()
