import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryOnPortTaken } from './free-ports.js';

test('retryOnPortTaken: starts again after EADDRINUSE, at most 3 times; other failures at once', async () => {
  let calls = 0;
  assert.equal(await retryOnPortTaken(async () => {
    if (++calls < 3) throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:4');
    return 'up';
  }), 'up');
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(retryOnPortTaken(async () => { calls++; throw new Error('EADDRINUSE'); }), /EADDRINUSE/);
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(retryOnPortTaken(async () => { calls++; throw new Error('the sentry exited with 1'); }), /exited with 1/);
  assert.equal(calls, 1);
});
