/**
 * Dapr's binaries rewrite single-dash long flags to double-dash before parsing (`-port 50001` is
 * `--port 50001`), so Dapr's manifests may use either. Warden does the same for `sentry`: any
 * `-name` with a name of two or more characters becomes `--name`; one-letter flags (`-h`, `-v`),
 * values such as `-1`, and everything after `--` are kept.
 */
export function rewriteSingleDashLongFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  let passThrough = false;
  for (const arg of args) {
    if (passThrough || arg === '--') {
      passThrough = true;
      out.push(arg);
    } else out.push(/^-[A-Za-z][A-Za-z0-9-]+(=|$)/.test(arg) ? `-${arg}` : arg);
  }
  return out;
}
