/** `openssl` as an independent oracle in tests. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function openssl(args: string[], input?: string | Buffer): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs `openssl verify` on `leafPem` with the given anchors and untrusted intermediates; returns {ok, output}. */
export function opensslVerify(opts: { anchorsPem: string; untrustedPem?: string; leafPem: string; purpose?: string; attime?: Date }): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'warden-ossl-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), opts.anchorsPem);
    writeFileSync(join(dir, 'leaf.pem'), opts.leafPem);
    const args = ['verify', '-CAfile', join(dir, 'ca.pem')];
    if (opts.untrustedPem) {
      writeFileSync(join(dir, 'untrusted.pem'), opts.untrustedPem);
      args.push('-untrusted', join(dir, 'untrusted.pem'));
    }
    if (opts.purpose) args.push('-purpose', opts.purpose);
    if (opts.attime) args.push('-attime', String(Math.floor(opts.attime.getTime() / 1000)));
    args.push(join(dir, 'leaf.pem'));
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function opensslText(certPem: string): string {
  return openssl(['x509', '-noout', '-text'], certPem);
}
