/**
 * `sentry`'s argv as Dapr's pflag-based Sentry reads it, rewritten for commander:
 * - Dapr rewrites single-dash long flags to double-dash before parsing (`-port 50001` is
 *   `--port 50001`), so Dapr's manifests may use either. Any `-name` whose name has two or more
 *   characters becomes `--name`; one-letter flags (`-h`), values such as `-1`, and everything after
 *   `--` are kept.
 * - pflag's bool flags take a value only as `--flag=value`: a bare `--enable-metrics` is true and a
 *   following `false` is a stray positional argument, which Dapr's Sentry ignores. Commander's
 *   optional values would take that `false`, so a bare bool flag becomes `--flag=true` here.
 */
const BOOL_FLAGS: ReadonlySet<string> = new Set(['--enable-metrics', '--log-as-json', '--jwt-enabled', '--oidc-enabled', '--oidc-server-tls-enabled']);

export function daprSentryArgv(args: readonly string[]): string[] {
  const out: string[] = [];
  let passThrough = false;
  for (const arg of args) {
    if (passThrough || arg === '--') {
      passThrough = true;
      out.push(arg);
      continue;
    }
    const flag = /^-[A-Za-z][A-Za-z0-9-]+(=|$)/.test(arg) ? `-${arg}` : arg;
    out.push(BOOL_FLAGS.has(flag) ? `${flag}=true` : flag);
  }
  return out;
}
