/** The process tests run the compiled CLI: fail fast when dist/ is older than the sources they exercise. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../cli/helpers.js';

export function assertRotationBuilt(): void {
  let built: number;
  try {
    built = statSync(join(REPO, 'dist', 'cli', 'commands', 'register-site-commands.js')).mtimeMs;
  } catch {
    throw new Error('dist/ has no rotation commands: run `npm run build` first');
  }
  const files = ['src/cli/commands/rotate.ts', 'src/cli/commands/rollback.ts', 'src/cli/commands/backups.ts', 'src/cli/commands/doctor.ts'];
  for (const dir of ['src/cli/site', 'src/rotation-engine', 'src/core/rotation-phases']) {
    for (const f of readdirSync(join(REPO, dir), { recursive: true }) as string[]) if (f.endsWith('.ts')) files.push(join(dir, f));
  }
  for (const f of files) {
    if (statSync(join(REPO, f)).mtimeMs > built) throw new Error(`${f} is newer than dist: run \`npm run build\` first`);
  }
}
