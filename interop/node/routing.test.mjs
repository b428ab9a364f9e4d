// The npm neo4j-driver against `tagroute serve`: tables, default policy, unknown policy,
// resolver, auth, TLS, updates. Run by interop/run.sh with TAGROUTE, TAGROUTE_CERT, TAGROUTE_KEY.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { createInterface } from 'node:readline'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import neo4j from 'neo4j-driver'

const DATA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'data', 'serve')
const CONF = join(DATA, 'neo4j.conf')
const TOPOLOGY = join(DATA, 'topology.json')
const BIN = process.env.TAGROUTE

async function serve (...extra) {
  // Posted updates are kept in a state file (beside the config by default): a scratch one.
  const state = join(mkdtempSync(join(tmpdir(), 'tagroute-state-')), 'state.json')
  const child = spawn(BIN, ['serve', '--config', CONF, '--topology', TOPOLOGY, '--state-file', state, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--log-level', 'warn', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] })
  const [line] = await once(createInterface({ input: child.stdout }), 'line')
  const printed = JSON.parse(line)
  return {
    port: Number(printed.bolt.split(':').pop()),
    admin: `http://${printed.admin}`,
    async stop () {
      child.kill('SIGTERM')
      const [code] = await once(child, 'exit')
      assert.equal(code, 0)
    }
  }
}

function cliTable (...args) {
  const out = execFileSync(BIN, ['route', '--config', CONF, '--topology', TOPOLOGY, '--db', 'neo4j', ...args])
  const table = JSON.parse(out)
  return { ttl: table.ttl, db: table.db, roles: Object.fromEntries(table.servers.map(s => [s.role, [...s.addresses].sort()])) }
}

function driver (server, { query = '', scheme = 'neo4j', auth = ['neo4j', 'any'] } = {}) {
  return neo4j.driver(`${scheme}://127.0.0.1:${server.port}${query}`, neo4j.auth.basic(...auth), {
    resolver: () => [`127.0.0.1:${server.port}`]
  })
}

// The table the driver fetches and keeps, without dialling its readers (private API; the driver
// version is pinned). The JS driver's resolver applies to the seed address only, so the
// example.com readers of the test topology are never dialled.
async function table (d) {
  const provider = d._getOrCreateConnectionProvider()
  const rt = await provider._freshRoutingTable({
    accessMode: 'READ', database: 'neo4j', bookmarks: [], onDatabaseNameResolved: () => {}
  })
  const sorted = addresses => addresses.map(a => a.asHostPort()).sort()
  const roles = { WRITE: sorted(rt.writers), READ: sorted(rt.readers), ROUTE: sorted(rt.routers) }
  for (const role of Object.keys(roles)) if (roles[role].length === 0) delete roles[role]
  return { ttl: Number(rt.ttl), db: rt.database, roles }
}

test('the tables of tagroute serve are those of tagroute route', async (t) => {
  const server = await serve()
  t.after(() => server.stop())

  await t.test('a policy from the URI', async () => {
    const d = driver(server, { query: '?policy=europe' })
    try { assert.deepEqual(await table(d), cliTable('--policy', 'europe')) } finally { await d.close() }
  })

  await t.test('no policy selects default', async () => {
    const d = driver(server)
    try { assert.deepEqual(await table(d), cliTable('--policy', 'default')) } finally { await d.close() }
  })

  await t.test('an unknown policy raises our code', async () => {
    const d = driver(server, { query: '?policy=atlantis' })
    try {
      await assert.rejects(table(d), (e) => {
        const text = `${e.code} ${e.message} ${e.cause ? `${e.cause.code} ${e.cause.message}` : ''}`
        assert.match(text, /ProcedureCallFailed|Policy definition for 'atlantis' could not be found/)
        return true
      })
    } finally { await d.close() }
  })
})

test('a wrong password raises an authentication error', async (t) => {
  const hashed = execFileSync(BIN, ['serve', '--hash-password', 'app'], { input: 's3cret\n' })
  const users = join(mkdtempSync(join(tmpdir(), 'tagroute-')), 'users.auth')
  writeFileSync(users, hashed)
  const server = await serve('--auth-file', users)
  t.after(() => server.stop())
  const wrong = driver(server, { auth: ['app', 'wrong'] })
  try {
    await assert.rejects(table(wrong), (e) => {
      assert.equal(e.code, 'Neo.ClientError.Security.Unauthorized')
      return true
    })
  } finally { await wrong.close() }
  const right = driver(server, { query: '?policy=europe', auth: ['app', 's3cret'] })
  try { assert.deepEqual(await table(right), cliTable('--policy', 'europe')) } finally { await right.close() }
})

test('the same table arrives over TLS with a self-signed certificate', async (t) => {
  const server = await serve('--tls-cert', process.env.TAGROUTE_CERT, '--tls-key', process.env.TAGROUTE_KEY)
  t.after(() => server.stop())
  const d = driver(server, { query: '?policy=europe', scheme: 'neo4j+ssc' })
  try { assert.deepEqual(await table(d), cliTable('--policy', 'europe')) } finally { await d.close() }
})

test('a reader marked down leaves the next table', async (t) => {
  const server = await serve()
  t.after(() => server.stop())
  const before = driver(server, { query: '?policy=europe' })
  try { assert.ok((await table(before)).roles.READ.includes('r1.example.com:7687')) } finally { await before.close() }
  const down = [{ op: 'set_available', server: 'r1', available: false }]
  const response = await fetch(`${server.admin}/topology/updates`, { method: 'POST', body: JSON.stringify(down) })
  assert.deepEqual(await response.json(), { epoch: 1 })
  const after = driver(server, { query: '?policy=europe' })
  try {
    const readers = (await table(after)).roles.READ
    assert.ok(!readers.includes('r1.example.com:7687') && readers.length > 0, readers)
  } finally { await after.close() }
})
