/**
 * --sign-threads: the signing threads follow CA swaps (a reloaded issuer signs the calls after it),
 * refuse exactly as the main thread does, and a closed pool refuses with INTERNAL. The sentry-level
 * suites (sign-leaf, sign-errors, health-metrics) also run with signing threads.
 */
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { isIssuedBy, parseCertificatesPem } from '../../src/core/certificate.js';
import { generateTrustBundle } from '../../src/core/bundle.js';
import { systemClock } from '../../src/core/clock.js';
import { CaStateHolder, createCaState } from '../../src/sentry/ca-state.js';
import { SIGN_THREAD_BUFFER_POOL_BYTES } from '../../src/sentry/heap-limits.js';
import { SignFailure } from '../../src/sentry/issue-leaf.js';
import { SignThreadPool } from '../../src/sentry/sign-threads.js';
import { csrPem } from '../support/sentry-client.js';

const config = { workloadCertTtlMs: 3600_000, allowedClockSkewMs: 60_000 };
const csr = Buffer.from(csrPem(generateKeyPairSync('ed25519').privateKey));

function caState(): CaStateHolder {
  const { bundle } = generateTrustBundle({ clock: systemClock, trustDomain: 'localhost', namespace: 'default', keyAlgorithm: 'ed25519' });
  return new CaStateHolder(createCaState(bundle, 1, { clock: systemClock, config }));
}

describe('SignThreadPool', () => {
  let holder: CaStateHolder;
  let pool: SignThreadPool;
  const request = (n: number): Parameters<SignThreadPool['issue']>[0] => ({
    csrPem: csr, identity: { spiffeId: `spiffe://public/ns/default/app-${n}` }, dnsNames: [], atMs: Date.now(),
  });

  before(() => {
    holder = caState();
    pool = new SignThreadPool(2, holder, config, pino({ level: 'silent' }));
  });
  after(() => pool.close());

  it('issues leaves from the current issuer, and from a swapped-in one for the calls after the swap', async () => {
    const first = await pool.issue(request(1));
    assert.ok(isIssuedBy(parseCertificatesPem(first.chainPem)[0]!, holder.current.bundle.issuer));
    const old = holder.current.bundle.issuer;
    const next = caState().current;
    holder.swap(next);
    const leaves = await Promise.all(Array.from({ length: 20 }, (_, n) => pool.issue(request(n))));
    for (const leaf of leaves) {
      const cert = parseCertificatesPem(leaf.chainPem)[0]!;
      assert.ok(isIssuedBy(cert, next.bundle.issuer), 'signed by the new issuer');
      assert.ok(!isIssuedBy(cert, old), 'not by the old one');
    }
  });

  it('collectGarbage: every thread collects its own heap and answers with it; signing goes on after it', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, n) => pool.issue(request(n))));
    const threads = await pool.collectGarbage();
    assert.equal(threads.length, 2, 'one answer per thread');
    for (const thread of threads) {
      assert.ok(thread.heapUsedBytes > 1024 * 1024, `a thread's heap after signing: ${thread.heapUsedBytes} bytes`);
      assert.ok(thread.externalBytes >= 0);
      // Node 24's default is 64 KiB: the thread set its own (heap-limits.ts).
      assert.equal(thread.bufferPoolBytes, SIGN_THREAD_BUFFER_POOL_BYTES);
    }
    const leaf = await pool.issue(request(99));
    assert.ok(isIssuedBy(parseCertificatesPem(leaf.chainPem)[0]!, holder.current.bundle.issuer));
  });

  it('refusals come back as SignFailure with the same status and message as on the main thread', async () => {
    const err = await pool.issue({ ...request(1), csrPem: Buffer.from('not a pem') }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SignFailure);
    assert.equal(err.status, grpc.status.INVALID_ARGUMENT);
    assert.equal(err.message, 'invalid certificate signing request');
    assert.equal(err.reason, 'invalid_csr');
  });

  it('a closed pool refuses with INTERNAL and has nothing to collect', async () => {
    const closed = new SignThreadPool(1, caState(), config, pino({ level: 'silent' }));
    await closed.close();
    const err = await closed.issue(request(1)).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SignFailure);
    assert.equal(err.status, grpc.status.INTERNAL);
    assert.deepEqual(await closed.collectGarbage(), [], 'no thread to collect');
  });
});
