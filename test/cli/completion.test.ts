/**
 * `warden completion bash|zsh|fish` (issue 13, rough edge 12): scripts generated from commander's
 * command tree. The bash script is checked with `bash -n` and driven as bash drives it, through
 * COMP_WORDS/COMP_CWORD, in a real bash.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { defaultDeps } from '../../src/cli/deps.js';
import { captureIo } from '../../src/cli/io.js';
import { buildProgram } from '../../src/cli/program.js';
import { assertBuilt, runWarden, tempHome } from './helpers.js';

before(assertBuilt);

/** What the bash completion offers for `words` (the last one being completed). */
function complete(script: string, words: string[]): string[] {
  const array = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync('bash', ['-c', `source "$1"; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _warden_completion; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', script], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

describe('warden completion', () => {
  it('bash: valid syntax; completes commands, aliases, flags and choices as bash asks for them', async (t) => {
    const { home } = await tempHome(t);
    const r = await runWarden(['completion', 'bash'], { home });
    assert.equal(r.code, 0, r.stderr);
    const script = join(home, 'warden.bash');
    writeFileSync(script, r.stdout);
    execFileSync('bash', ['-n', script]);

    assert.deepEqual(complete(script, ['warden', '']), ['sentry', 'mtls', 'fleet', 'monitor', 'completion', 'help']);
    assert.deepEqual(complete(script, ['warden', 'mtls', 'ro']), ['rotate', 'rollback']);
    assert.deepEqual(complete(script, ['warden', 'mtls', 'rn']), ['rnc']);
    assert.deepEqual(complete(script, ['warden', 'mtls', 'rnc', '--dr']), ['--dry-run'], 'an alias completes its command\'s flags');
    assert.deepEqual(complete(script, ['warden', 'mtls', 'rotate', '--issuer-credentials', '/tmp/x', '--res']), ['--resume', '--restarts']);
    assert.deepEqual(complete(script, ['warden', 'mtls', 'rotate', '--key-algorithm', '']), ['ed25519', 'ecdsa-p256']);
    assert.deepEqual(complete(script, ['warden', 'sentry', '--sign']), ['--sign-threads']);
    assert.deepEqual(complete(script, ['warden', 'completion', '']), ['bash', 'zsh', 'fish']);
    assert.deepEqual(complete(script, ['warden', 'mtls', 'help', 'rot']), ['rotate']);
  });

  it('bash: every command and every flag of the program is offered (the script follows the tree)', async (t) => {
    const { home } = await tempHome(t);
    const script = join(home, 'warden.bash');
    writeFileSync(script, (await runWarden(['completion', 'bash'], { home })).stdout);
    const program = buildProgram(captureIo(), defaultDeps(), { exitCode: 0 });
    const mtls = program.commands.find((c) => c.name() === 'mtls')!;
    assert.deepEqual(new Set(complete(script, ['warden', 'mtls', ''])), new Set([...mtls.commands.flatMap((c) => [c.name(), ...c.aliases()]), 'help']));
    for (const sub of mtls.commands) {
      const flags = complete(script, ['warden', 'mtls', sub.name(), '--']);
      for (const o of sub.options) assert.ok(o.long === undefined || flags.includes(o.long), `mtls ${sub.name()} ${o.long}`);
    }
  });

  it('zsh and fish scripts; an unknown shell is a usage error', async (t) => {
    const { home } = await tempHome(t);
    const zsh = await runWarden(['completion', 'zsh'], { home });
    assert.equal(zsh.code, 0, zsh.stderr);
    assert.match(zsh.stdout, /^#compdef warden\n/);
    assert.match(zsh.stdout, /bashcompinit/);
    const zshFile = join(home, 'warden.zsh');
    writeFileSync(zshFile, zsh.stdout);
    execFileSync('bash', ['-n', zshFile]);

    const fish = await runWarden(['completion', 'fish'], { home });
    assert.equal(fish.code, 0, fish.stderr);
    assert.match(fish.stdout, /^complete -c warden -n '__fish_seen_subcommand_from mtls; and not __fish_seen_subcommand_from [^']*' -a 'rotate' -d 'Rotate the root/m);
    assert.match(fish.stdout, /^complete -c warden -n '__fish_seen_subcommand_from mtls; and __fish_seen_subcommand_from renew-certificate renew-cert rnc' -l dry-run$/m);
    assert.match(fish.stdout, /-a 'renew-certificate renew-cert rnc'/);

    const bad = await runWarden(['completion', 'tcsh'], { home });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /tcsh.*bash, zsh, fish/);
  });
});
