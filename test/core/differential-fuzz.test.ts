/**
 * Differential fuzz of Warden's certificate and CSR parsers against @peculiar/x509 and `openssl`
 * (issue 12). Valid seeds are mutated at the byte level (bit flips, truncation, length bytes,
 * insertions) and at the DER level (sibling swaps, deletions, duplications, tag changes, content
 * edits, one field pasted over another, with lengths re-encoded so the result is well-formed DER
 * that reaches the semantic checks). For every case:
 *
 *  - Warden either parses or throws a WardenError; nothing else, and never hangs (bounded budget);
 *  - Warden never accepts what both oracles refuse (openssl is asked whenever @peculiar/x509
 *    refuses what Warden accepted, and on a fixed sample of the rest);
 *  - when Warden and @peculiar/x509 both accept, they read the same serial, validity, SANs, key
 *    usage, basic constraints, EKU and SPKI (certificates) or subject and SPKI (CSRs);
 *  - when Warden refuses what an oracle accepts, the reason must fall in one of the documented
 *    STRICTNESS classes below (a new class fails the test until it is documented).
 *
 * The seeds are fixed files (ECDSA signatures differ on every signing), so a run is a function of
 * FUZZ_SEED alone. Fixed seed and budget so CI is deterministic and takes seconds; FUZZ_SEED / FUZZ_BUDGET override
 * them for longer local runs. A failure prints the seed, the case index and the input hex.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import { parseCertificate, parseCertificatesPem, type Certificate } from '../../src/core/certificate.js';
import { parseCsr, type ParsedCsr } from '../../src/core/csr.js';
import { DerReader } from '../../src/core/der/reader.js';
import { tlv } from '../../src/core/der/writer.js';
import { WardenError } from '../../src/core/errors.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x12d1ff);
const BUDGET = Number(process.env.FUZZ_BUDGET ?? 2000);
/** Every OPENSSL_EVERY-th case also goes to openssl (it costs a process per call). */
const OPENSSL_EVERY = 40;

/**
 * Why Warden may refuse what an oracle accepts: each class is a deliberate strictness (DER and
 * RFC 5280 rules, Warden's key policy). Matched against the WardenError message.
 */
const STRICTNESS: ReadonlyArray<[string, RegExp]> = [
  ['non-minimal DER (lengths, integers, booleans, unused bits)', /not minimally encoded|boolean must be|unused bits|bad unused-bits|empty integer/],
  ['indefinite or oversized lengths; tag forms (high tag numbers, tag 0, constructed strings)', /indefinite length|length too large|high-tag-number|end-of-contents|must use the (constructed|primitive) form/],
  ['malformed structure an oracle skips or parses lazily', /expected tag|unexpected trailing data|unexpected end of data|past the end|missing length|truncated length|missing unused-bits/],
  ['time not in RFC 5280 form (YYMMDDHHMMSSZ / YYYYMMDDHHMMSSZ, real date)', /UTCTime must be|GeneralizedTime must be|invalid calendar date|expected UTCTime or GeneralizedTime/],
  ['only X.509 v3', /only X\.509 v3|version/],
  ['inner and outer signature algorithms must match', /signature algorithm differs/],
  ['unknown critical extension, duplicate extension', /unknown critical extension|appears twice/],
  ['SIZE (1..MAX) lists (EKU, SAN)', /lists no purpose|lists no name/],
  ['object identifier encoding', /object identifier|OID|arc/i],
  ['name encoding (string types, attribute structure)', /name|string|attribute|RDN/i],
  ['key policy / unreadable key (curves, RSA size, explicit EC parameters)', /public key|curve|RSA|key type|Ed25519|unsupported/i],
  ['integer range (version, pathLen)', /negative integer|integer too large/],
  ['CSR structure (version, attributes)', /CSR version|attributes/],
];

/** xorshift32, as der-fuzz.test.ts. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

/** A DER tree: constructed nodes (and OCTET STRINGs that wrap DER, e.g. extension values) have children. */
interface Node { tag: number; content?: Buffer; children?: Node[] }

function toTree(der: Buffer): Node[] {
  const reader = new DerReader(der);
  const nodes: Node[] = [];
  while (reader.hasMore()) {
    const { tag, bytes } = reader.read();
    if (tag & 0x20) nodes.push({ tag, children: toTree(bytes) });
    else if (tag === 0x04 && bytes.length > 1 && bytes[0]! & 0x20 && wrapsDer(bytes)) nodes.push({ tag, children: toTree(bytes) });
    else nodes.push({ tag, content: Buffer.from(bytes) });
  }
  return nodes;
}

function wrapsDer(bytes: Buffer): boolean {
  try {
    toTree(bytes);
    return true;
  } catch {
    return false;
  }
}

function encode(nodes: Node[]): Buffer {
  return Buffer.concat(nodes.map((n) => tlv(n.tag, n.children ? encode(n.children) : (n.content as Buffer))));
}

function clone(nodes: Node[]): Node[] {
  return nodes.map((n) => (n.children ? { tag: n.tag, children: clone(n.children) } : { tag: n.tag, content: Buffer.from(n.content as Buffer) }));
}

/** Every (parent list, index) in the tree, depth first. */
function slots(nodes: Node[], out: Array<[Node[], number]> = []): Array<[Node[], number]> {
  nodes.forEach((n, i) => {
    out.push([nodes, i]);
    if (n.children) slots(n.children, out);
  });
  return out;
}

const TAGS = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x17, 0x18, 0x30, 0x31, 0x80, 0x82, 0x86, 0xa0, 0xa3];

function mutateTree(seed: Buffer, rand: (n: number) => number): Buffer {
  const tree = clone(toTree(seed));
  const all = slots(tree);
  const [list, i] = all[rand(all.length)] as [Node[], number];
  const node = list[i] as Node;
  switch (rand(7)) {
    case 0: { // swap with a sibling
      const j = rand(list.length);
      [list[i], list[j]] = [list[j] as Node, node];
      break;
    }
    case 1: list.splice(i, 1); break; // delete
    case 2: list.splice(i, 0, clone([node])[0] as Node); break; // duplicate
    case 3: node.tag = TAGS[rand(TAGS.length)] as number; break; // retag
    case 4: { // paste another field over this one
      const [otherList, k] = all[rand(all.length)] as [Node[], number];
      list[i] = clone([otherList[k] as Node])[0] as Node;
      break;
    }
    case 5: { // edit primitive content
      if (node.children) { node.children = []; break; }
      const c = node.content as Buffer;
      const edits = [Buffer.alloc(0), c.subarray(0, rand(c.length + 1)), Buffer.concat([c, Buffer.from([rand(256)])]),
        Buffer.from([0x00, ...c]), Buffer.from([0xff, ...c]), Buffer.from(Array.from({ length: rand(9) }, () => rand(256)))];
      node.content = edits[rand(edits.length)] as Buffer;
      break;
    }
    default: { // flip one bit of primitive content
      if (node.children || (node.content as Buffer).length === 0) { list.splice(i, 1); break; }
      const c = node.content as Buffer;
      c[rand(c.length)]! ^= 1 << rand(8);
    }
  }
  return encode(tree);
}

function mutateBytes(input: Buffer, rand: (n: number) => number): Buffer {
  const out = Buffer.from(input);
  switch (rand(5)) {
    case 0:
      for (let k = rand(3) + 1; k > 0; k--) out[rand(out.length)]! ^= 1 << rand(8);
      return out;
    case 1: return out.subarray(0, rand(out.length));
    case 2: out[rand(out.length)] = [0x80, 0x81, 0x82, 0x84, 0xff, 0x00, 0x7f][rand(7)] as number; return out;
    case 3: { // length byte +/- 1 on a random TLV header-ish position
      const at = rand(out.length);
      out[at] = (out[at]! + (rand(2) ? 1 : 255)) & 0xff;
      return out;
    }
    default: {
      const at = rand(out.length);
      return Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: rand(6) + 1 }, () => rand(256))), out.subarray(at)]);
    }
  }
}

function mutate(seed: Buffer, rand: (n: number) => number): Buffer {
  let out = rand(2) ? mutateTree(seed, rand) : mutateBytes(seed, rand);
  if (rand(4) === 0 && out.length > 0) {
    try {
      out = mutateTree(out, rand);
    } catch {
      out = mutateBytes(out, rand);
    }
  }
  return out;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

function opensslAccepts(kind: 'x509' | 'req', der: Buffer): boolean {
  const r = spawnSync('openssl', [kind, '-inform', 'DER', '-noout', ...(kind === 'x509' ? ['-serial'] : ['-subject'])], { input: der, timeout: 10_000 });
  return r.status === 0;
}

function opensslCertFields(der: Buffer): { serial: string; notBefore: string; notAfter: string } | undefined {
  const r = spawnSync('openssl', ['x509', '-inform', 'DER', '-noout', '-serial', '-startdate', '-enddate'], { input: der, timeout: 10_000, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const get = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(r.stdout)?.[1] ?? '';
  return { serial: get('serial'), notBefore: get('notBefore'), notAfter: get('notAfter') };
}

const KU_FLAGS: Record<string, number> = {
  digitalSignature: 1, nonRepudiation: 2, keyEncipherment: 4, dataEncipherment: 8, keyAgreement: 16,
  keyCertSign: 32, cRLSign: 64, encipherOnly: 128, decipherOnly: 256,
};

/** The positive serial as @peculiar/x509 prints it: hex without the sign byte. */
function serialOf(cert: Certificate): string {
  return cert.serialHex.length > 2 && cert.serialHex.startsWith('00') ? cert.serialHex.slice(2) : cert.serialHex;
}

/** Fields Warden and the oracle read differently, or undefined when they agree (an oracle throw counts as a refusal). */
function certDifferences(w: Certificate, der: Buffer): string | undefined {
  const p = new x509.X509Certificate(der);
  const diffs: string[] = [];
  if (!(w.serialHex.startsWith('ff') || (w.serialHex[0] ?? '0') >= '8') && serialOf(w) !== p.serialNumber) diffs.push(`serial ${serialOf(w)} vs ${p.serialNumber}`);
  if (w.notBefore.getTime() !== p.notBefore.getTime()) diffs.push(`notBefore ${w.notBefore.toISOString()} vs ${p.notBefore.toISOString()}`);
  if (w.notAfter.getTime() !== p.notAfter.getTime()) diffs.push(`notAfter ${w.notAfter.toISOString()} vs ${p.notAfter.toISOString()}`);
  if (!Buffer.from(p.publicKey.rawData).equals(w.spkiDer)) diffs.push('SPKI');
  const bc = p.getExtension(x509.BasicConstraintsExtension);
  if ((bc?.ca ?? undefined) !== (w.basicConstraints ? w.basicConstraints.ca : undefined) && !(bc && !bc.ca && w.basicConstraints?.ca === false)) {
    diffs.push(`basicConstraints.ca ${w.basicConstraints?.ca} vs ${bc?.ca}`);
  }
  if (bc?.pathLength !== w.basicConstraints?.pathLen) diffs.push(`pathLen ${w.basicConstraints?.pathLen} vs ${bc?.pathLength}`);
  const ku = p.getExtension(x509.KeyUsagesExtension);
  const wardenKu = w.keyUsage === undefined ? undefined : [...w.keyUsage].reduce((sum, name) => sum + (KU_FLAGS[name] ?? 0), 0);
  if (ku?.usages !== wardenKu) diffs.push(`keyUsage ${wardenKu} vs ${ku?.usages}`);
  const eku = p.getExtension(x509.ExtendedKeyUsageExtension);
  if (JSON.stringify(eku?.usages.map(String)) !== JSON.stringify(w.extKeyUsage)) diffs.push(`EKU ${w.extKeyUsage} vs ${eku?.usages}`);
  const san = p.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const uris = names.filter((n) => n.type === 'url').map((n) => n.value);
  const dns = names.filter((n) => n.type === 'dns').map((n) => n.value);
  if (JSON.stringify(uris) !== JSON.stringify(w.uriSans)) diffs.push(`URI SANs ${w.uriSans} vs ${uris}`);
  if (JSON.stringify(dns) !== JSON.stringify(w.dnsSans)) diffs.push(`DNS SANs ${w.dnsSans} vs ${dns}`);
  return diffs.length ? diffs.join('; ') : undefined;
}

function csrDifferences(w: ParsedCsr, der: Buffer): string | undefined {
  const p = new x509.Pkcs10CertificateRequest(der);
  const diffs: string[] = [];
  if (!Buffer.from(p.publicKey.rawData).equals(w.spkiDer)) diffs.push('SPKI');
  if (!Buffer.from(p.subjectName.toArrayBuffer()).equals(w.subject.der)) diffs.push('subject');
  return diffs.length ? diffs.join('; ') : undefined;
}

function strictnessClass(err: unknown): string | undefined {
  const message = (err as Error).message;
  return STRICTNESS.find(([, pattern]) => pattern.test(message))?.[0];
}

interface Tally { cases: number; bothAccept: number; bothRefuse: number; wardenStricter: Map<string, number>; opensslRuns: number }

/** The seed corpus: Warden's own certificates and CSRs (test/vectors/fuzz-seeds, fixed bytes) and a real-world RSA chain. */
function seedCorpus(): { certSeeds: Buffer[]; csrSeeds: Buffer[] } {
  const dir = new URL('../vectors/fuzz-seeds/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.der')).sort();
  const load = (prefix: string) => files.filter((f) => f.startsWith(prefix)).map((f) => readFileSync(new URL(f, dir)));
  const limbo = JSON.parse(readFileSync(new URL('../vectors/x509-limbo/limbo-subset.json', import.meta.url), 'utf8')) as { testcases: Array<{ id: string; peer_certificate: string; untrusted_intermediates: string[] }> };
  const realWorld = limbo.testcases.find((tc) => tc.id === 'webpki::cryptographydotio-chain') as { peer_certificate: string; untrusted_intermediates: string[] };
  const realWorldDer = [realWorld.peer_certificate, ...realWorld.untrusted_intermediates].map((pem) => (parseCertificatesPem(pem)[0] as Certificate).der);
  return { certSeeds: [...load('cert-'), ...realWorldDer], csrSeeds: load('csr-') };
}

describe(`differential fuzz vs @peculiar/x509 and openssl (seed ${SEED}, budget ${BUDGET})`, () => {
  it('Warden is never more lenient than both oracles, reads the same fields, and throws only WardenError', { timeout: 300_000 }, () => {
    const { certSeeds, csrSeeds } = seedCorpus();
    assert.equal(certSeeds.length, 6);
    assert.equal(csrSeeds.length, 4);
    certSeeds.forEach((der) => parseCertificate(der));
    csrSeeds.forEach((der) => parseCsr(der));

    const rand = rng(SEED);
    const tally: Tally = { cases: 0, bothAccept: 0, bothRefuse: 0, wardenStricter: new Map(), opensslRuns: 0 };
    const problems: string[] = [];
    const report = (i: number, what: string, der: Buffer) => problems.push(`case ${i} (FUZZ_SEED=${SEED}): ${what}\n  input ${der.toString('hex')}`);

    for (let i = 0; i < BUDGET && problems.length < 5; i++) {
      const isCert = rand(4) !== 0;
      const seeds = isCert ? certSeeds : csrSeeds;
      const der = mutate(seeds[rand(seeds.length)] as Buffer, rand);
      tally.cases++;
      const warden = attempt<Certificate | ParsedCsr>(() => (isCert ? parseCertificate(der) : parseCsr(der)));
      if (!warden.ok && !(warden.error instanceof WardenError)) {
        report(i, `Warden threw a non-Warden error: ${(warden.error as Error)?.stack}`, der);
        continue;
      }
      const oracle = attempt(() => (isCert ? new x509.X509Certificate(der) : new x509.Pkcs10CertificateRequest(der)));
      const askOpenssl = i % OPENSSL_EVERY === 0 || (warden.ok && !oracle.ok);
      const openssl = askOpenssl ? opensslAccepts(isCert ? 'x509' : 'req', der) : undefined;
      if (askOpenssl) tally.opensslRuns++;

      if (warden.ok && !oracle.ok && openssl === false) {
        report(i, `Warden accepts what both oracles refuse (@peculiar/x509: ${(oracle.error as Error).message})`, der);
      } else if (warden.ok && oracle.ok) {
        tally.bothAccept++;
        const diff = attempt(() => (isCert ? certDifferences(warden.value as Certificate, der) : csrDifferences(warden.value as ParsedCsr, der)));
        if (diff.ok && diff.value !== undefined) report(i, `fields differ from @peculiar/x509: ${diff.value}`, der);
        if (isCert && askOpenssl) {
          const fields = opensslCertFields(der);
          const w = warden.value as Certificate;
          if (fields && fields.serial.toLowerCase().replace(/^0+(?=.)/, '') !== serialOf(w).replace(/^0+(?=.)/, '') && !w.serialHex.startsWith('ff')) {
            report(i, `serial differs from openssl: ${serialOf(w)} vs ${fields.serial}`, der);
          }
          if (fields && new Date(fields.notAfter).getTime() !== w.notAfter.getTime()) report(i, `notAfter differs from openssl: ${w.notAfter.toISOString()} vs ${fields.notAfter}`, der);
        }
      } else if (!warden.ok && (oracle.ok || openssl === true)) {
        const cls = strictnessClass(warden.error);
        if (cls === undefined) report(i, `Warden refuses what an oracle accepts, for an undocumented reason: ${(warden.error as Error).message}`, der);
        else tally.wardenStricter.set(cls, (tally.wardenStricter.get(cls) ?? 0) + 1);
      } else if (!warden.ok) {
        tally.bothRefuse++;
      }
    }

    const stricter = [...tally.wardenStricter].map(([cls, n]) => `    ${n} × ${cls}`).join('\n');
    console.log(`differential fuzz: ${tally.cases} cases, ${tally.bothAccept} accepted by Warden and @peculiar/x509, ${tally.bothRefuse} refused by both, ${tally.opensslRuns} openssl runs; Warden stricter:\n${stricter}`);
    assert.deepEqual(problems, []);
    assert.equal(tally.cases, BUDGET);
    assert.ok(tally.bothAccept > 0 && tally.bothRefuse > 0, 'the mutations reach both outcomes');
  });
});
