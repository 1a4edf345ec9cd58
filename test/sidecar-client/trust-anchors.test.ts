/**
 * Trust-anchor sources: the file source waits for, loads, watches and reloads a real file (spec 3.5
 * log lines), keeps the previous anchors when a change does not parse; the static source is fixed.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isWardenError } from '../../src/core/errors.js';
import type { IdentityLogger } from '../../src/sidecar-client/logger.js';
import {
  FileTrustAnchorSource,
  readTrustAnchorsFile,
  StaticTrustAnchorSource,
  type TrustAnchors,
} from '../../src/sidecar-client/trust-anchors.js';
import { createTestCa } from './support/pki.js';

const caA = createTestCa({ trustDomain: 'td-a' });
const caB = createTestCa({ trustDomain: 'td-b' });

function recordingLogger(): IdentityLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: (m) => void lines.push(`debug ${m}`),
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  };
}

function subjects(anchors: TrustAnchors): string[] {
  return anchors.certificates.map((c) => c.subject.text);
}

/**
 * Waits for the next 'changed' event, failing after `ms`. The timer is a referenced one: the source
 * itself deliberately does not keep the process alive.
 */
async function nextChange(source: FileTrustAnchorSource, ms = 60_000): Promise<TrustAnchors> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no 'changed' event within ${ms} ms`)), ms);
  try {
    const [anchors] = (await once(source, 'changed', { signal: abort.signal })) as [TrustAnchors];
    return anchors;
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Writes `content` to `path` through a rename, as an atomic writer (or kubelet) does. */
function replaceFile(path: string, content: string): void {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
}

describe('FileTrustAnchorSource', () => {
  let dir: string;
  let path: string;
  const sources: FileTrustAnchorSource[] = [];
  const open = (opts: Partial<ConstructorParameters<typeof FileTrustAnchorSource>[0]> = {}): FileTrustAnchorSource => {
    const source = new FileTrustAnchorSource({ path, waitIntervalMs: 50, pollIntervalMs: 5000, debounceMs: 20, ...opts });
    sources.push(source);
    return source;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'warden-anchors-'));
    path = join(dir, 'ca.crt');
  });
  afterEach(() => {
    for (const s of sources.splice(0)) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads every root of a multi-root file, comments stripped', async () => {
    writeFileSync(path, `# old root\n${caA.anchorsPem}# new root\n${caB.anchorsPem}`);
    const logger = recordingLogger();
    const source = open({ logger });
    const anchors = await source.ready();
    assert.deepEqual(subjects(anchors), ['O=td-a', 'O=td-b']);
    assert.equal(anchors.pem, caA.anchorsPem + caB.anchorsPem);
    assert.equal(source.current(), anchors);
    assert.deepEqual(logger.lines, [
      `info Trust anchors file '${path}' found`,
      `info Watching trust anchors file '${path}' for changes`,
    ]);
  });

  it('waits for a missing file, logging every interval, then loads it', async () => {
    const logger = recordingLogger();
    const source = open({ logger });
    assert.throws(() => source.current(), (e: unknown) => isWardenError(e, 'ERR_TRUST_ANCHORS_INVALID'));
    const notFound = `warn Trust anchors file '${path}' not found, waiting...`;
    await waitUntil(() => logger.lines.filter((l) => l === notFound).length >= 2);
    writeFileSync(path, caA.anchorsPem);
    const anchors = await source.ready();
    assert.deepEqual(subjects(anchors), ['O=td-a']);
    const waiting = logger.lines.filter((l) => l === `warn Trust anchors file '${path}' not found, waiting...`);
    assert.ok(waiting.length >= 2, `logged "not found, waiting..." per interval (${waiting.length} times)`);
    assert.deepEqual(logger.lines.slice(waiting.length), [
      `info Trust anchors file '${path}' found`,
      `info Watching trust anchors file '${path}' for changes`,
    ]);
  });

  it('reloads when the file is replaced and emits changed', async () => {
    writeFileSync(path, caA.anchorsPem);
    const logger = recordingLogger();
    const source = open({ logger });
    await source.ready();
    const changed = nextChange(source);
    replaceFile(path, caA.anchorsPem + caB.anchorsPem);
    assert.deepEqual(subjects(await changed), ['O=td-a', 'O=td-b']);
    assert.deepEqual(subjects(source.current()), ['O=td-a', 'O=td-b']);
    assert.ok(logger.lines.includes('info Trust anchors file changed, reloading trust anchors'));
  });

  it('keeps the previous anchors when the new file does not parse, and recovers on the next good one', async () => {
    writeFileSync(path, caA.anchorsPem);
    const logger = recordingLogger();
    const source = open({ logger });
    await source.ready();
    let changes = 0;
    source.on('changed', () => changes++);

    replaceFile(path, '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n');
    await waitUntil(() => logger.lines.some((l) => l.startsWith('error ')));
    assert.deepEqual(subjects(source.current()), ['O=td-a'], 'old anchors kept');
    assert.equal(changes, 0);
    assert.match(logger.lines.find((l) => l.startsWith('error ')) ?? '', /^error Failed to reload trust anchors, keeping the previous ones: /);

    const changed = nextChange(source);
    replaceFile(path, caB.anchorsPem);
    assert.deepEqual(subjects(await changed), ['O=td-b']);
  });

  it('treats an emptied file as a failed reload', async () => {
    writeFileSync(path, caA.anchorsPem);
    const logger = recordingLogger();
    const source = open({ logger });
    await source.ready();
    writeFileSync(path, '');
    await waitUntil(() => logger.lines.some((l) => l.startsWith('error ')));
    assert.deepEqual(subjects(source.current()), ['O=td-a']);
  });

  it('does not emit when the content is rewritten unchanged', async () => {
    writeFileSync(path, caA.anchorsPem);
    const source = open({ pollIntervalMs: 30 });
    await source.ready();
    let changes = 0;
    source.on('changed', () => changes++);
    replaceFile(path, caA.anchorsPem);
    await delay(200);
    assert.equal(changes, 0);
  });

  it('picks up changes by polling when fs.watch is not used', async () => {
    writeFileSync(path, caA.anchorsPem);
    const source = open({ useFsWatch: false, pollIntervalMs: 50 });
    await source.ready();
    const changed = nextChange(source);
    writeFileSync(path, caB.anchorsPem); // in place, not via rename
    assert.deepEqual(subjects(await changed), ['O=td-b']);
  });

  it('rejects ready() when the file exists but holds no certificate', async () => {
    writeFileSync(path, 'hello\n');
    const source = open();
    await assert.rejects(source.ready(), (e: unknown) => isWardenError(e, 'ERR_TRUST_ANCHORS_INVALID'));
  });

  it('stops following the file after close()', async () => {
    writeFileSync(path, caA.anchorsPem);
    const source = open({ pollIntervalMs: 30 });
    await source.ready();
    let changes = 0;
    source.on('changed', () => changes++);
    source.close();
    replaceFile(path, caB.anchorsPem);
    await delay(200);
    assert.equal(changes, 0);
    assert.deepEqual(subjects(source.current()), ['O=td-a']);
  });
});

describe('StaticTrustAnchorSource and readTrustAnchorsFile', () => {
  it('parses a PEM string once', async () => {
    const source = new StaticTrustAnchorSource(caA.anchorsPem + caB.anchorsPem);
    assert.deepEqual(subjects(await source.ready()), ['O=td-a', 'O=td-b']);
  });

  it('refuses text without certificates', () => {
    assert.throws(() => new StaticTrustAnchorSource('nothing here'), (e: unknown) => isWardenError(e, 'ERR_TRUST_ANCHORS_INVALID'));
  });

  it('reports a missing file as ERR_TRUST_ANCHORS_INVALID', async () => {
    await assert.rejects(readTrustAnchorsFile(join(tmpdir(), 'warden-no-such-dir', 'ca.crt')), (e: unknown) => {
      assert.ok(isWardenError(e, 'ERR_TRUST_ANCHORS_INVALID'));
      assert.match(e.message, /cannot read trust anchors file/);
      return true;
    });
  });
});

/** Waits for `condition`; the bound only catches a hang (a loaded machine is slow, never wrong). */
async function waitUntil(condition: () => boolean, ms = 60_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail('condition not met in time');
    await delay(10);
  }
}
