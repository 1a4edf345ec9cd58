/**
 * deploy/Containerfile without a container engine: every build-context path it copies exists, every
 * path the runtime stage links to is in what `npm pack` ships, `/sentry` is where Dapr's chart
 * runs it (`command: ["/sentry"]`), the user is numeric and non-root (the chart's runAsNonRoot), the
 * chart's ports are exposed; then the image's file layout is rebuilt in a temp dir from the packed
 * tarball (the repository's node_modules standing in for `npm ci --omit=dev`, no network) and its
 * `/sentry` is executed directly (shebang, exec bit) with `--help` and with the chart's argv, up to
 * /healthz 200 against the Kubernetes API test server under the chart's RBAC.
 * deploy/helm/values-warden.yaml is checked against the keys of Dapr's chart it sets.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { SENTRY_NODE_FLAGS } from '../../src/sentry/heap-limits.js';
import { assertBuilt, REPO } from '../cli/helpers.js';
import { seedDaprControlPlane, seedDaprSentryRbac, startKubeApiServer } from '../support/kube-api/index.js';
import { healthStatus } from '../sentry-kube/chart-support.js';
import { freePorts } from '../support/free-ports.js';
import { OUTSIDE_POD_RESOLV_CONF, waitFor } from '../sentry-kube/harness.js';

interface Instruction { op: string; args: string; stage: number }

/** The Containerfile's instructions (continuation lines joined, comments dropped), with their stage index. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    if (!m || line.trimStart().startsWith('#')) continue;
    if (m[1] === 'FROM') stage++;
    out.push({ op: m[1]!, args: m[2]!.trim(), stage });
  }
  return out;
}

const CONTAINERFILE = readFileSync(join(REPO, 'deploy', 'Containerfile'), 'utf8');
const steps = instructions(CONTAINERFILE);
const lastStage = Math.max(...steps.map((s) => s.stage));

describe('deploy/Containerfile', () => {
  let packDir: string;
  let files: string[];
  let tarball: string;

  before(() => {
    assertBuilt();
    packDir = mkdtempSync(join(tmpdir(), 'warden-image-'));
    const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as
      { filename: string; files: { path: string; mode: number }[] }[];
    files = packed[0]!.files.map((f) => f.path);
    tarball = join(packDir, packed[0]!.filename);
    assert.equal((packed[0]!.files.find((f) => f.path === 'bin/sentry.js')!.mode & 0o111) !== 0, true, 'bin/sentry.js is executable in the tarball');
  });
  after(() => rmSync(packDir, { recursive: true, force: true }));

  it('multi-stage; every build-context COPY source exists; production dependencies only; /sentry linked to a packed file', () => {
    assert.ok(lastStage >= 2, 'build, package and runtime stages');
    for (const copy of steps.filter((s) => s.op === 'COPY' && !s.args.startsWith('--from='))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) assert.ok(existsSync(join(REPO, source)), `COPY ${source}: exists in the build context`);
    }
    const runs = steps.filter((s) => s.op === 'RUN').map((s) => s.args).join('\n');
    assert.match(runs, /npm ci --omit=dev/);
    assert.match(runs, /npm pack/);
    const links = [...runs.matchAll(/ln -s \/opt\/warden\/(\S+) (\S+)/g)].map((m) => [m[1]!, m[2]!] as const);
    assert.deepEqual(links.map(([, to]) => to), ['/sentry', '/usr/local/bin/warden']);
    for (const [target] of links) assert.ok(files.includes(target), `${target} is in the npm pack output`);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.equal(links[0]![0], pkg.bin.sentry, '/sentry runs the package\'s sentry bin');
  });

  it('runtime stage: ENTRYPOINT /sentry, numeric non-root USER, the chart\'s ports exposed', () => {
    const runtime = steps.filter((s) => s.stage === lastStage);
    assert.deepEqual(JSON.parse(runtime.find((s) => s.op === 'ENTRYPOINT')!.args), ['/sentry']);
    const user = runtime.find((s) => s.op === 'USER')!.args;
    assert.match(user, /^\d+(:\d+)?$/, 'numeric: the kubelet can only check runAsNonRoot against a numeric UID');
    assert.notEqual(Number(user.split(':')[0]), 0);
    const ports = runtime.find((s) => s.op === 'EXPOSE')!.args.split(/\s+/).map(Number);
    for (const port of [50001, 8080, 9090, 9080]) assert.ok(ports.includes(port), `port ${port}`);
  });

  it('the image\'s layout from the packed tarball: /sentry runs --help, and serves the chart\'s argv up to /healthz 200', async (t) => {
    const root = join(packDir, 'rootfs');
    const opt = join(root, 'opt', 'warden');
    mkdirSync(opt, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', opt, '--strip-components=1']);
    symlinkSync(join(REPO, 'node_modules'), join(opt, 'node_modules'));
    symlinkSync(join(opt, 'bin', 'sentry.js'), join(root, 'sentry'));
    assert.ok(statSync(join(root, 'sentry')).mode & 0o111);

    const help = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(join(root, 'sentry'), ['--help'], { timeout: 30_000 }, (err, stdout) => resolve({ code: err ? (err.code as number) : 0, stdout }));
    });
    assert.equal(help.code, 0);
    for (const flag of ['--mode', '--log-level', '--log-as-json', '--enable-metrics', '--metrics-port', '--trust-domain', '--issuer-ca-filename']) {
      assert.ok(help.stdout.includes(flag), `${flag} in --help`);
    }

    const server = await startKubeApiServer();
    t.after(() => server.close());
    seedDaprControlPlane(server, { namespace: 'dapr-system' });
    const { token } = seedDaprSentryRbac(server, { namespace: 'dapr-system' });
    const kubeconfig = join(packDir, 'kubeconfig');
    writeFileSync(kubeconfig, server.kubeconfigWith([{ name: 'pod', token, namespace: 'dapr-system' }], 'pod'));
    const [port, healthzPort] = await freePorts(2);
    const child = spawn(join(root, 'sentry'), [
      '--mode', 'kubernetes', '--log-level', 'info', '--enable-metrics=false', '--trust-domain', 'cluster.local',
      '--port', String(port), '--listen-address', '127.0.0.1', '--healthz-port', String(healthzPort), '--healthz-listen-address', '127.0.0.1',
    ], { env: { ...process.env, NAMESPACE: 'dapr-system', KUBECONFIG: kubeconfig, HOME: packDir, WARDEN_RESOLV_CONF: OUTSIDE_POD_RESOLV_CONF }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    await waitFor('/sentry healthy', async () => (await healthStatus(healthzPort)) === 200, 30_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${out}`); });
    // The shebang (`env -S`) starts Node with the sentry's heap flags (src/sentry/heap-limits.ts).
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    assert.deepEqual(argv.slice(1, 1 + SENTRY_NODE_FLAGS.length), [...SENTRY_NODE_FLAGS], argv.join(' '));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.match(out, /level=info msg="Sentry shut down gracefully"/);
  });
});

describe('deploy/helm/values-warden.yaml', () => {
  it('sets dapr_sentry.image.name to a full reference (the chart uses a name with "/" as is) and documents the version switch', () => {
    const values = parseYaml(readFileSync(join(REPO, 'deploy', 'helm', 'values-warden.yaml'), 'utf8')) as
      { dapr_sentry: { image: { name: string }; extraEnvVars: Record<string, string> } };
    assert.match(values.dapr_sentry.image.name, /\/.*:/);
    assert.deepEqual(values.dapr_sentry.extraEnvVars, {});
    assert.match(readFileSync(join(REPO, 'deploy', 'helm', 'values-warden.yaml'), 'utf8'), /WARDEN_DAPR_VERSION: "1\.17"/);
  });
});
