/**
 * The cluster domain in the scheduler's DNS SANs (spec 2.4), found as Dapr's Sentry finds it:
 * - 1.17 and 1.18, Kubernetes mode (`utils.GetKubeClusterDomainFromDNS`): the canonical name of
 *   `kubernetes.default.svc` as the pod's resolver sees it. That name is not fully qualified, so
 *   the resolver tries it under each domain of /etc/resolv.conf's `search` list in order; the
 *   first `kubernetes.default.svc.<domain>` that resolves names the cluster domain. On failure
 *   Dapr logs an error and falls back to the trust domain.
 * - 1.16: always `cluster.local` (hard-coded in pkg/sentry/server/server.go).
 * - self-hosted mode: the trust domain.
 * The resolv.conf path and the resolver are injectable (tests); `--cluster-domain` overrides all.
 */
import { promises as dns } from 'node:dns';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { DaprVersion } from '../core/profile.js';

const API_SERVICE = 'kubernetes.default.svc';
/** Dapr gives the lookup 2 s. */
const LOOKUP_TIMEOUT_MS = 2_000;

export interface ClusterDomainSources {
  /** The resolv.conf to read (default /etc/resolv.conf; the CLI takes $WARDEN_RESOLV_CONF). */
  resolvConfPath?: string | undefined;
  /** Whether a fully qualified name (trailing dot) resolves (default: an A/AAAA query to resolv.conf's nameservers). */
  resolves?: ((fqdn: string) => Promise<boolean>) | undefined;
}

/** The `nameserver` addresses (Warden also takes `address:port`, for a test's loopback server). */
export function resolvConfNameservers(text: string): string[] {
  const servers: string[] = [];
  for (const raw of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(raw.split('#')[0]!);
    if (m) servers.push(m[1]!);
  }
  return servers;
}

/** The domains of the last `search` line (resolv.conf(5): the last one wins), comments stripped. */
export function resolvConfSearchDomains(text: string): string[] {
  let domains: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.split('#')[0]!.split(';')[0]!;
    const m = /^\s*search\s+(.*)$/.exec(line);
    if (m) domains = m[1]!.split(/\s+/).filter((d) => d !== '').map((d) => d.replace(/\.$/, ''));
  }
  return domains;
}

function resolverFor(nameservers: readonly string[]): (fqdn: string) => Promise<boolean> {
  const resolver = new dns.Resolver({ timeout: LOOKUP_TIMEOUT_MS, tries: 1 });
  if (nameservers.length > 0) resolver.setServers(nameservers);
  return async (fqdn) => {
    for (const query of [(n: string) => resolver.resolve4(n), (n: string) => resolver.resolve6(n)]) {
      try {
        if ((await query(fqdn)).length > 0) return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTFOUND' && code !== 'ENODATA') throw err;
      }
    }
    return false;
  };
}

/** resolv.conf has no search list: not a pod's resolver, so there is nothing Dapr's lookup could find. */
class NotInPod extends Error {}

/** The cluster domain from DNS; throws (with Dapr-like reasons) when none is found in time. */
export async function clusterDomainFromDns(sources: ClusterDomainSources = {}): Promise<string> {
  const search = async (): Promise<string> => {
    const text = await readFile(sources.resolvConfPath ?? '/etc/resolv.conf', 'utf8');
    const domains = resolvConfSearchDomains(text);
    const resolves = sources.resolves ?? resolverFor(resolvConfNameservers(text));
    for (const domain of domains) {
      if (await resolves(`${API_SERVICE}.${domain}.`)) return domain;
    }
    if (domains.length === 0) throw new NotInPod();
    throw new Error(`lookup ${API_SERVICE}: no such host (search domains: ${domains.join(' ')})`);
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lookup ${API_SERVICE}: i/o timeout`)), LOOKUP_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([search(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The cluster domain the sentry puts in the scheduler's DNS SANs. */
export async function sentryClusterDomain(opts: {
  explicit: string | undefined; mode: 'standalone' | 'kubernetes'; daprVersion: DaprVersion; trustDomain: string; logger: Logger;
  sources?: ClusterDomainSources | undefined;
}): Promise<string> {
  if (opts.explicit !== undefined && opts.explicit !== '') return opts.explicit;
  if (opts.daprVersion === '1.16') return 'cluster.local';
  if (opts.mode !== 'kubernetes') return opts.trustDomain;
  try {
    const domain = await clusterDomainFromDns(opts.sources);
    opts.logger.debug({ clusterDomain: domain }, `Kubernetes cluster domain: ${domain}`);
    return domain;
  } catch (err) {
    if (err instanceof NotInPod) {
      // Not a pod's resolver (a kubeconfig run on a workstation or CI): nothing to look up.
      opts.logger.debug(`No search domains in resolv.conf (not running in a pod?); the scheduler's DNS SANs use the trust domain ${opts.trustDomain}`);
      return opts.trustDomain;
    }
    opts.logger.error(`Error getting Kubernetes cluster domain, falling back to ${JSON.stringify(opts.trustDomain)}: ${(err as Error).message}`);
    return opts.trustDomain;
  }
}
