// The routing table the npm neo4j-driver fetches from `tagroute serve` for one database, printed
// as one JSON line: {"db", "roles": {"WRITE": [...], "READ": [...], "ROUTE": [...]}}, or
// {"error": CODE} when the driver refuses. Run by interop/python/test_serve_follow.py:
//   node table.mjs neo4j://127.0.0.1:PORT DATABASE USER PASSWORD   (DATABASE '' for the default)
import neo4j from 'neo4j-driver'

const [uri, database, user, password] = process.argv.slice(2)
const driver = neo4j.driver(uri, neo4j.auth.basic(user, password))
try {
  // Private API (the driver version is pinned): the table as the driver keeps it, fetched
  // without dialling a reader.
  const provider = driver._getOrCreateConnectionProvider()
  const rt = await provider._freshRoutingTable({
    accessMode: 'WRITE', database: database || undefined, bookmarks: [], onDatabaseNameResolved: () => {}
  })
  const sorted = addresses => addresses.map(a => a.asHostPort()).sort()
  const roles = { WRITE: sorted(rt.writers), READ: sorted(rt.readers), ROUTE: sorted(rt.routers) }
  console.log(JSON.stringify({ db: rt.database, roles }))
} catch (e) {
  const cause = e.cause && e.cause.code ? e.cause.code : null
  console.log(JSON.stringify({ error: e.code || cause || e.message }))
} finally {
  await driver.close()
}
