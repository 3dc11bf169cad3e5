// Drives an ow-scheduler standalone with the official Apache OpenWhisk JavaScript client.
// Environment: OW_APIHOST (http://127.0.0.1:PORT) and OW_AUTH (uuid:secret).
'use strict';

const assert = require('node:assert/strict');
const openwhisk = require('openwhisk');

const ow = openwhisk({ apihost: process.env.OW_APIHOST, api_key: process.env.OW_AUTH, namespace: '_' });
const name = `client_hello_${process.pid}`;
const code = [
  'def main(args):',
  "    print('client says ' + args.get('name', 'nobody'))",
  "    return {'greeting': 'Hello ' + args.get('name', 'nobody')}",
  '',
].join('\n');

// A record is written after the blocking answer; poll until it is there.
async function activationOf(id) {
  for (let i = 0; i < 200; i += 1) {
    try {
      return await ow.activations.get({ activationId: id });
    } catch (e) {
      if (e.statusCode !== 404) throw e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`activation ${id} never stored`);
}

async function main() {
  const created = await ow.actions.create({ name, action: code, kind: 'python:default' });
  assert.equal(created.exec.kind, 'python:3.10');
  const listed = await ow.actions.list();
  assert.ok(listed.some((a) => a.name === name), 'the new action is listed');

  const result = await ow.actions.invoke({ name, blocking: true, result: true, params: { name: 'Dorothy' } });
  assert.deepEqual(result, { greeting: 'Hello Dorothy' });
  const blocking = await ow.actions.invoke({ name, blocking: true, params: { name: 'Toto' } });
  assert.equal(blocking.response.success, true);

  const started = await ow.actions.invoke({ name, params: { name: 'Scarecrow' } });
  assert.match(started.activationId, /^[0-9a-f]{32}$/);
  const record = await activationOf(started.activationId);
  assert.deepEqual(record.response.result, { greeting: 'Hello Scarecrow' });
  const logs = await ow.activations.logs({ activationId: started.activationId });
  assert.ok(logs.logs.some((l) => l.endsWith('stdout: client says Scarecrow')), JSON.stringify(logs));
  const res = await ow.activations.result({ activationId: started.activationId });
  assert.deepEqual(res.result, { greeting: 'Hello Scarecrow' });
  const recent = await ow.activations.list({ name, limit: 5 });
  assert.ok(recent.some((a) => a.activationId === started.activationId), 'the activation is listed');

  await ow.actions.delete({ name });
  await assert.rejects(ow.actions.get({ name }), (e) => e.statusCode === 404);
  console.log(JSON.stringify({ ok: true, activationId: started.activationId }));
}

main().catch((e) => {
  console.error(`standalone client test failed: ${e.stack || e}`);
  process.exit(1);
});
