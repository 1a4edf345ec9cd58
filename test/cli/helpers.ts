/** Shared bits for the CLI tests: run the built binary with a temp HOME, write and snapshot bundles. */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BundleTexts } from '../../src/core/bundle-texts.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(REPO, 'bin', 'warden.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Fails fast when dist/ is older than src/cli (the binary tests would test stale code). */
export function assertBuilt(): void {
  const main = join(REPO, 'dist', 'cli', 'main.js');
  let built: number;
  try {
    built = statSync(main).mtimeMs;
  } catch {
    throw new Error('dist/cli/main.js is missing: run `npm run build` first');
  }
  const src = join(REPO, 'src', 'cli');
  for (const f of readdirSync(src, { recursive: true }) as string[]) {
    if (f.endsWith('.ts') && statSync(join(src, f)).mtimeMs > built) {
      throw new Error(`src/cli/${f} is newer than dist: run \`npm run build\` first`);
    }
  }
}

/** Runs `node bin/warden.js …args` with HOME = `home`; resolves with the exit code and output. */
export function runWarden(
  args: string[],
  opts: { home: string; cwd?: string; env?: Record<string, string> },
): Promise<RunResult> {
  const env: Record<string, string | undefined> = { ...process.env, HOME: opts.home, ...opts.env };
  if (!opts.env || !('NAMESPACE' in opts.env)) delete env.NAMESPACE;
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? opts.home, env, timeout: 300_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolvePromise({ code, signal: (error?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}

/** A temp HOME removed after the test; `certs` is Warden's default bundle dir inside it. */
export async function tempHome(t: { after(fn: () => Promise<void>): void }): Promise<{ home: string; certs: string }> {
  const home = await mkdtemp(join(tmpdir(), 'warden-cli-'));
  t.after(() => rm(home, { recursive: true, force: true }));
  return { home, certs: join(home, '.dapr', 'certs') };
}

/** Writes a bundle as ca.crt, issuer.crt, issuer.key (0600) into `dir`, creating it. */
export async function writeBundle(dir: string, texts: BundleTexts): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const files: [string, string][] = [['ca.crt', texts.ca], ['issuer.crt', texts.issuerCert], ['issuer.key', texts.issuerKey]];
  for (const [name, text] of files) {
    await writeFile(join(dir, name), text, { mode: 0o600 });
  }
}

export async function readBundle(dir: string): Promise<BundleTexts> {
  return {
    ca: await readFile(join(dir, 'ca.crt'), 'utf8'),
    issuerCert: await readFile(join(dir, 'issuer.crt'), 'utf8'),
    issuerKey: await readFile(join(dir, 'issuer.key'), 'utf8'),
  };
}

/** Every file under `dir` (recursively) with its content; {} when `dir` does not exist. */
export async function snapshotDir(dir: string): Promise<Record<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true })) as string[];
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const name of names.sort()) {
    const path = join(dir, name);
    if ((await stat(path)).isFile()) out[name] = await readFile(path, 'utf8');
  }
  return out;
}

export async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

export { chmod };

/** Go's time.Time.String() for a whole-second UTC date, derived from toISOString (independent of src). */
export function goTime(d: Date): string {
  const iso = d.toISOString(); // 2027-11-29T23:53:27.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}
