'use strict';
// The order flow an order service runs against stockd, step by step, checking
// the stock numbers after each step with stock.get:
//   (a) reserve -> payment succeeds -> commit
//   (b) reserve -> payment fails    -> release (compensation, with a reason)
//   (c) reserve, the answer is lost (timeout) -> the same reserve again:
//       the same hold comes back with replayed:true, no second hold
//
// Every run uses its own skus, channel and order ids, so it can run again and
// again against the same stockd (e.g. the demo: tools/demo.sh).
//
//   STOCKD_HOST (127.0.0.1), STOCKD_PORT (7400), STOCKD_AUTH_TOKEN (optional)
//
// Lines starting with "RESULT " are for machines (the integration test reads
// them):  RESULT <status> <reservation_id> <order_id>
//         RESULT stock <sku> <location> <on_hand> <reserved>
// Exit status 0 when every expectation held, 1 otherwise.

const { StockdClient, StockdError } = require('./stockd-client');

const host = process.env.STOCKD_HOST || '127.0.0.1';
const port = Number(process.env.STOCKD_PORT || 7400);
const token = process.env.STOCKD_AUTH_TOKEN || '';

const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const TEE = `DEMO-TEE-${run}`;
const MUG = `DEMO-MUG-${run}`;
const CHANNEL = `demo-web-${run}`;

class Mismatch extends Error {}

function say(text) {
  console.log(text);
}

function expect(what, actual, wanted) {
  if (JSON.stringify(actual) !== JSON.stringify(wanted)) {
    throw new Mismatch(`${what}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(actual)}`);
  }
}

async function main() {
  const client = new StockdClient({ timeoutMs: 5000 });
  await client.connect(host, port);
  say(`connected to stockd at ${host}:${port} (run ${run})`);
  if (token !== '') {
    await client.call('auth', { token });
    say('authenticated');
  }

  // Checks on_hand/reserved of one (sku, location) through stock.get.
  async function expectStock(sku, location, onHand, reserved) {
    const r = await client.call('stock.get', { sku, locations: [location] });
    const row = r.locations[0];
    expect(`${sku}@${location}`, { on_hand: row.on_hand, reserved: row.reserved },
      { on_hand: onHand, reserved });
  }

  // --- setup: a little stock and a channel --------------------------------
  say('\nsetup');
  await client.call('stock.set', { sku: TEE, location: 'wh-east', on_hand: 10 });
  await client.call('stock.set', { sku: TEE, location: 'wh-west', on_hand: 5, safety_stock: 1 });
  await client.call('stock.set', { sku: MUG, location: 'wh-east', on_hand: 4 });
  await client.call('channel.set', { channel: CHANNEL, locations: ['wh-east', 'wh-west'] });
  say(`  ${TEE}: 10 at wh-east, 5 at wh-west (1 kept as safety stock); ${MUG}: 4 at wh-east`);
  say(`  channel ${CHANNEL} ships from wh-east first, then wh-west`);
  await expectStock(TEE, 'wh-east', 10, 0);
  await expectStock(MUG, 'wh-east', 4, 0);

  // --- (a) a successful order ----------------------------------------------
  const orderA = `ord-a-${run}`;
  say(`\n(a) order ${orderA}: 3 x ${TEE} and 1 x ${MUG}`);
  const a = await client.call('reserve', {
    order_id: orderA, channel: CHANNEL,
    items: [{ sku: TEE, quantity: 3 }, { sku: MUG, quantity: 1 }],
  });
  expect('reserve (a) status', a.status, 'held');
  expect('reserve (a) replayed', a.replayed, false);
  expect('reserve (a) allocations', a.allocations,
    [{ sku: TEE, location: 'wh-east', quantity: 3 }, { sku: MUG, location: 'wh-east', quantity: 1 }]);
  say(`  reserved: hold ${a.reservation_id}, everything from wh-east`);
  await expectStock(TEE, 'wh-east', 10, 3);
  await expectStock(MUG, 'wh-east', 4, 1);
  say(`  held, not sold yet: ${TEE}@wh-east on_hand 10, reserved 3`);
  say('  payment succeeds -> commit');
  const ac = await client.call('commit', { reservation_id: a.reservation_id });
  expect('commit (a) status', ac.status, 'committed');
  await expectStock(TEE, 'wh-east', 7, 0);
  await expectStock(MUG, 'wh-east', 3, 0);
  say(`  committed: the units are sold (${TEE}@wh-east on_hand 7, reserved 0)`);
  say(`RESULT committed ${a.reservation_id} ${orderA}`);

  // --- (b) a failed order: compensation ------------------------------------
  const orderB = `ord-b-${run}`;
  say(`\n(b) order ${orderB}: 2 x ${TEE}`);
  const b = await client.call('reserve', {
    order_id: orderB, channel: CHANNEL, items: [{ sku: TEE, quantity: 2 }],
  });
  expect('reserve (b) status', b.status, 'held');
  say(`  reserved: hold ${b.reservation_id}`);
  await expectStock(TEE, 'wh-east', 7, 2);
  say('  payment fails -> release the hold (compensation)');
  const br = await client.call('release', { reservation_id: b.reservation_id, reason: 'payment declined' });
  expect('release (b) status', br.status, 'released');
  await expectStock(TEE, 'wh-east', 7, 0);
  say(`  released: the 2 units are available again (${TEE}@wh-east on_hand 7, reserved 0)`);
  say(`RESULT released ${b.reservation_id} ${orderB}`);

  // --- (c) a retry after a timeout -----------------------------------------
  const orderC = `ord-c-${run}`;
  const reserveC = { order_id: orderC, channel: CHANNEL, items: [{ sku: MUG, quantity: 2 }] };
  say(`\n(c) order ${orderC}: 2 x ${MUG}`);
  const c1 = await client.call('reserve', reserveC);
  expect('reserve (c) status', c1.status, 'held');
  expect('reserve (c) replayed', c1.replayed, false);
  say(`  reserved: hold ${c1.reservation_id} ... but suppose the answer never arrived (timeout)`);
  say('  the order service retries the same reserve with the same order_id');
  const c2 = await client.call('reserve', reserveC);
  expect('retry (c) reservation_id', c2.reservation_id, c1.reservation_id);
  expect('retry (c) replayed', c2.replayed, true);
  expect('retry (c) status', c2.status, 'held');
  await expectStock(MUG, 'wh-east', 3, 2);
  say(`  the retry returned the same hold with replayed:true; ${MUG}@wh-east reserved is 2, not 4`);
  say('  payment succeeds -> commit');
  const cc = await client.call('commit', { reservation_id: c1.reservation_id });
  expect('commit (c) status', cc.status, 'committed');
  const c3 = await client.call('reserve', reserveC);
  expect('late retry (c)', { id: c3.reservation_id, status: c3.status, replayed: c3.replayed },
    { id: c1.reservation_id, status: 'committed', replayed: true });
  await expectStock(MUG, 'wh-east', 1, 0);
  say(`  a late retry after the commit answers "committed" and takes nothing (${MUG}@wh-east on_hand 1)`);
  say(`RESULT committed ${c1.reservation_id} ${orderC}`);

  // --- the end state, for whoever checks it -------------------------------
  for (const [sku, location] of [[TEE, 'wh-east'], [TEE, 'wh-west'], [MUG, 'wh-east']]) {
    const r = await client.call('stock.get', { sku, locations: [location] });
    const row = r.locations[0];
    say(`RESULT stock ${sku} ${location} ${row.on_hand} ${row.reserved}`);
  }
  client.close();
  say('\nall expectations held');
}

main().then(
  () => process.exit(0),
  (err) => {
    if (err instanceof Mismatch) console.error(`order-demo: FAILED: ${err.message}`);
    else if (err instanceof StockdError) {
      console.error(`order-demo: FAILED: stockd answered an error: ${err.message}` +
        (Object.keys(err.data).length ? ` ${JSON.stringify(err.data)}` : ''));
    } else {
      console.error(`order-demo: FAILED: ${err.code ? `${err.code}: ` : ''}${err.message}` +
        ` (is stockd running on ${host}:${port}? set STOCKD_HOST/STOCKD_PORT)`);
    }
    process.exit(1);
  },
);
