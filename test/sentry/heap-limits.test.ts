/**
 * The sentry's V8 young-generation limits (src/sentry/heap-limits.ts): every launcher passes the
 * main thread's flag, the signing threads start with their own limit and still sign, and the flag
 * is recognised where Node takes it from (command line, NODE_OPTIONS). That the limits lower the
 * storm's peak is measured by `npm run bench -- grpc`; that the shebang really starts Node with them
 * is checked on a running `/sentry` by test/deploy/image.test.ts. Also what each signing request
 * copies into its thread (src/sentry/sign-thread-messages.ts).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { isIssuedBy, parseCertificatesPem } from '../../src/core/certificate.js';
import { systemClock } from '../../src/core/clock.js';
import { CaStateHolder, createCaState } from '../../src/sentry/ca-state.js';
import { HEAP_GROWING_PERCENT, heapGrowingPercent, MAIN_SEMI_SPACE_MB, mainSemiSpaceLimitMb, SENTRY_NODE_FLAGS, SIGN_THREAD_YOUNG_GENERATION_MB } from '../../src/sentry/heap-limits.js';
import { issueMessage } from '../../src/sentry/sign-thread-messages.js';
import { SignThreadPool } from '../../src/sentry/sign-threads.js';
import { REPO } from '../cli/helpers.js';
import { csrPem } from '../support/sentry-client.js';

describe('the flags in every launcher', () => {
  it('bin/warden.js and bin/sentry.js start Node with them (env -S), and so does npm start', () => {
    for (const bin of ['warden.js', 'sentry.js']) {
      const shebang = readFileSync(join(REPO, 'bin', bin), 'utf8').split('\n')[0];
      assert.equal(shebang, `#!/usr/bin/env -S node ${SENTRY_NODE_FLAGS.join(' ')}`, bin);
    }
    const { scripts } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(scripts['start'], `node ${SENTRY_NODE_FLAGS.join(' ')} bin/warden.js sentry`);
    assert.equal(mainSemiSpaceLimitMb(SENTRY_NODE_FLAGS, undefined), MAIN_SEMI_SPACE_MB);
    assert.equal(heapGrowingPercent(SENTRY_NODE_FLAGS), HEAP_GROWING_PERCENT);
  });

  it('this Node starts with them, and so does a worker thread', () => {
    // V8 flags come and go with Node releases; an unknown one would stop every launcher at start.
    const run = spawnSync(process.execPath, [...SENTRY_NODE_FLAGS, '-e', `
      const { Worker } = require('node:worker_threads');
      const w = new Worker('require("node:worker_threads").parentPort.postMessage(process.execArgv)', { eval: true });
      w.once('message', (m) => { console.log(JSON.stringify(m)); process.exit(0); });
    `], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as string[]).slice(0, SENTRY_NODE_FLAGS.length), [...SENTRY_NODE_FLAGS], 'the worker started with them');
  });

  it('is read from the command line and NODE_OPTIONS, either spelling; the command line wins; absent is undefined', () => {
    assert.equal(mainSemiSpaceLimitMb([], undefined), undefined);
    assert.equal(mainSemiSpaceLimitMb(['--import', 'tsx'], '--max-old-space-size=512'), undefined);
    assert.equal(mainSemiSpaceLimitMb(['--max-semi-space-size=8'], undefined), 8);
    assert.equal(mainSemiSpaceLimitMb(['--max_semi_space_size', '4'], undefined), 4);
    assert.equal(mainSemiSpaceLimitMb([], '  --max-semi-space-size=16  --trace-warnings'), 16);
    assert.equal(mainSemiSpaceLimitMb(['--max-semi-space-size=2'], '--max-semi-space-size=16'), 2);
    assert.equal(mainSemiSpaceLimitMb(['--max-semi-space-size', '--import'], undefined), undefined, 'a flag without a number is not a limit');
  });

  it('the heap growing percent is read from the command line only (V8 refuses it in NODE_OPTIONS)', () => {
    assert.equal(heapGrowingPercent([]), undefined);
    assert.equal(heapGrowingPercent(['--heap-growing-percent=20']), 20);
    assert.equal(heapGrowingPercent(['--heap_growing_percent', '35', '--import', 'tsx']), 35);
    assert.equal(heapGrowingPercent(['--heap-growing-percent=50', '--heap-growing-percent=10']), 10, 'the last one wins');
    assert.equal(heapGrowingPercent(['--heap-growing-percent=x']), undefined);
    assert.equal(heapGrowingPercent(['--heap-growing-percent-x=5']), undefined);
  });
});

describe('signing threads', () => {
  it(`start with a ${SIGN_THREAD_YOUNG_GENERATION_MB} MiB young generation and sign`, async () => {
    const config = { workloadCertTtlMs: 3600_000, allowedClockSkewMs: 60_000 };
    const { bundle } = generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default', keyAlgorithm: 'ed25519' });
    const pool = new SignThreadPool(2, new CaStateHolder(createCaState(bundle, 1, { clock: systemClock, config })), config, pino({ level: 'silent' }));
    try {
      const limits = pool.resourceLimits();
      assert.equal(limits.length, 2);
      for (const limit of limits) assert.equal(limit.maxYoungGenerationSizeMb, SIGN_THREAD_YOUNG_GENERATION_MB);
      const req = { csrPem: Buffer.from(csrPem(generateKeyPairSync('ed25519').privateKey)), identity: { spiffeId: 'spiffe://public/ns/default/app' }, dnsNames: [], atMs: Date.now() };
      // Enough calls that each thread runs several young-generation collections at this size.
      const leaves = await Promise.all(Array.from({ length: 400 }, () => pool.issue(req)));
      for (const leaf of leaves) assert.ok(isIssuedBy(parseCertificatesPem(leaf.chainPem)[0]!, bundle.issuer));
    } finally {
      await pool.close();
    }
  });
});

describe('what a signing request carries to its thread', () => {
  it('the CSR in a buffer of its own size, not the 64 KiB pool slab it is a view into (postMessage copies whole buffers)', () => {
    const pem = Buffer.from(csrPem(generateKeyPairSync('ed25519').privateKey));
    const readBuffer = Buffer.alloc(65_536); // a Buffer-pool slab on Node 24
    pem.copy(readBuffer, 1000);
    const view = readBuffer.subarray(1000, 1000 + pem.length);
    const req = { csrPem: view, identity: { spiffeId: 'spiffe://public/ns/default/app' }, dnsNames: [], atMs: 1 };
    const message = issueMessage(7, req);
    assert.ok(message.type === 'issue');
    assert.equal(message.id, 7);
    assert.equal(message.req.csrPem.buffer.byteLength, pem.length);
    assert.deepEqual(Buffer.from(message.req.csrPem), pem);
    assert.deepEqual({ ...message.req, csrPem: undefined }, { ...req, csrPem: undefined });
    readBuffer.fill(0); // the slab's other bytes belong to other buffers: the copy must not change
    assert.deepEqual(Buffer.from(message.req.csrPem), pem);
    const exact = new Uint8Array(pem);
    const same = issueMessage(8, { ...req, csrPem: exact });
    assert.ok(same.type === 'issue' && same.req.csrPem === exact, 'a buffer of its own is sent as is');
  });
});
