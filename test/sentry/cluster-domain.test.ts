/**
 * The scheduler's cluster domain as Dapr's Sentry finds it (spec 2.4; kube-cluster-domain.ts),
 * with real DNS queries to a loopback DNS server and pod-style resolv.conf files.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterDomainFromDns, resolvConfNameservers, resolvConfSearchDomains, sentryClusterDomain } from '../../src/sentry/kube-cluster-domain.js';
import { startLoopbackDns, type LoopbackDns } from '../support/loopback-dns.js';
import { captureLogger, type LogRecord } from '../support/sentry-harness.js';

const POD_SEARCH = ['dapr-system.svc.k8s.example', 'svc.k8s.example', 'k8s.example'];

describe('the Kubernetes cluster domain for the scheduler\'s DNS SANs', () => {
  let dns: LoopbackDns;
  before(async () => {
    dns = await startLoopbackDns({ 'kubernetes.default.svc.k8s.example': '10.96.0.1', 'kubernetes.default.svc.cluster.local': '10.96.0.1' });
  });
  after(() => dns.close());

  it('resolv.conf parsing: the last search line wins, comments stripped; nameservers with ports', () => {
    const text = 'search old.example\n# search commented.example\nsearch a.svc.cluster.local svc.cluster.local cluster.local # trailing\nnameserver 10.0.0.10\nnameserver 127.0.0.1:5353\n';
    assert.deepEqual(resolvConfSearchDomains(text), ['a.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    assert.deepEqual(resolvConfNameservers(text), ['10.0.0.10', '127.0.0.1:5353']);
    assert.deepEqual(resolvConfSearchDomains('nameserver 1.1.1.1\n'), []);
  });

  it('a pod\'s search list: the first domain under which kubernetes.default.svc resolves (real queries, in order)', async () => {
    dns.queries.length = 0;
    assert.equal(await clusterDomainFromDns({ resolvConfPath: dns.resolvConf(POD_SEARCH) }), 'k8s.example');
    assert.deepEqual([...new Set(dns.queries)], [
      'kubernetes.default.svc.dapr-system.svc.k8s.example', 'kubernetes.default.svc.svc.k8s.example', 'kubernetes.default.svc.k8s.example',
    ]);
    assert.equal(await clusterDomainFromDns({ resolvConfPath: dns.resolvConf(['dapr-system.svc.cluster.local', 'svc.cluster.local', 'cluster.local']) }), 'cluster.local');
  });

  it('the sentry\'s choice: --cluster-domain, else 1.16 cluster.local, self-hosted the trust domain, kubernetes the lookup', async () => {
    const logs: LogRecord[] = [];
    const logger = captureLogger(logs);
    const sources = { resolvConfPath: dns.resolvConf(POD_SEARCH) };
    const base = { explicit: undefined, trustDomain: 'td.example', logger, sources };
    assert.equal(await sentryClusterDomain({ ...base, explicit: 'given.example', mode: 'kubernetes', daprVersion: '1.18' }), 'given.example');
    assert.equal(await sentryClusterDomain({ ...base, mode: 'kubernetes', daprVersion: '1.16' }), 'cluster.local');
    assert.equal(await sentryClusterDomain({ ...base, mode: 'standalone', daprVersion: '1.18' }), 'td.example');
    assert.equal(await sentryClusterDomain({ ...base, mode: 'kubernetes', daprVersion: '1.17' }), 'k8s.example');
    assert.equal(await sentryClusterDomain({ ...base, mode: 'kubernetes', daprVersion: '1.18' }), 'k8s.example');
    assert.deepEqual(logs.filter((l) => l.level >= 40), []);
  });

  it('nothing resolves: Dapr\'s error line, and the trust domain; no search list (not a pod): the trust domain, no error', async () => {
    const logs: LogRecord[] = [];
    const logger = captureLogger(logs);
    const got = await sentryClusterDomain({
      explicit: undefined, mode: 'kubernetes', daprVersion: '1.18', trustDomain: 'td.example', logger,
      sources: { resolvConfPath: dns.resolvConf(['nowhere.example']) },
    });
    assert.equal(got, 'td.example');
    const errors = logs.filter((l) => l.level === 50);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.msg, /^Error getting Kubernetes cluster domain, falling back to "td\.example": lookup kubernetes\.default\.svc: no such host/);
    const quiet: LogRecord[] = [];
    const notPod = await sentryClusterDomain({
      explicit: undefined, mode: 'kubernetes', daprVersion: '1.18', trustDomain: 'td.example', logger: captureLogger(quiet),
      sources: { resolvConfPath: dns.resolvConf([]) },
    });
    assert.equal(notPod, 'td.example');
    assert.deepEqual(quiet.filter((l) => l.level >= 40), []);
  });
});
