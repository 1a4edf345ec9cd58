/**
 * Trust-bundle test kit (design §4 "test kits first"): real certificates with real signatures,
 * built with @peculiar/x509 (an implementation independent of src/core, so it doubles as an
 * oracle), ECDSA P-256 or Ed25519.
 *
 *   const { bundle, texts } = await buildBundle({ now }, withExpiredIssuer(), withExtraRoot());
 *
 * `buildBundle` starts from a healthy Dapr-like spec (root `O=<td>` and issuer
 * `O=spiffe://<td>/ns/<ns>/dapr-sentry`, both valid from now − 15 min to now + 365 d, CA:TRUE
 * critical, Dapr v1.18 key usages), lets each modifier edit that spec in order, then signs every
 * certificate (signers first) and parses the texts with `TrustBundle.fromTexts`. All times are
 * whole seconds (X.509 has no milliseconds), so `spec` times equal the parsed certificates' times.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';
import type { BundleTexts } from '../../src/core/bundle-texts.js';
import { TrustBundle } from '../../src/core/bundle.js';

x509.cryptoProvider.set(webcrypto);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

export type KitKeyAlgorithm = 'ecdsa-p256' | 'ed25519';

const DAY = 24 * 3600 * 1000;
const HOUR = 3600 * 1000;

/** One certificate to build. */
export interface CertSpec {
  /** Subject DN, e.g. `O=cluster.local`. */
  subject: string;
  /** Name of the spec whose key signs this one (and whose subject becomes the issuer DN); its own name for self-signed. */
  signer: string;
  notBefore: Date;
  notAfter: Date;
  /** BasicConstraints CA flag (critical); undefined leaves the extension out. */
  ca?: boolean;
  pathLen?: number;
  /** KeyUsage (critical); undefined leaves the extension out. */
  keyUsages?: x509.KeyUsageFlags;
  /** ExtendedKeyUsage OIDs; undefined leaves the extension out. */
  extKeyUsages?: string[];
  /** Defaults to the bundle's algorithm. */
  keyAlgorithm?: KitKeyAlgorithm;
}

export interface BundleSpec {
  now: Date;
  keyAlgorithm: KitKeyAlgorithm;
  trustDomain: string;
  namespace: string;
  certs: Record<string, CertSpec>;
  /** Spec names, in ca.crt order. */
  anchors: string[];
  /** Spec names, in issuer.crt order (leaf first when healthy). */
  chain: string[];
  /** Whose private key is written as issuer.key: a spec name, or any other name for a stray key. */
  issuerKeyOf: string;
}

/** Edits a spec in place; applied in the order given to `buildBundle`. */
export type Modifier = (spec: BundleSpec) => void;

export interface BuildOptions {
  now: Date;
  keyAlgorithm?: KitKeyAlgorithm;
  trustDomain?: string;
  namespace?: string;
}

export interface BuiltCert {
  spec: CertSpec;
  pem: string;
  der: Buffer;
  /** Private key (node KeyObject). */
  key: KeyObject;
  /** The same key pair as WebCrypto keys. */
  pair: CryptoKeyPair;
  alg: KitKeyAlgorithm;
}

export interface BuiltBundle {
  bundle: TrustBundle;
  texts: BundleTexts;
  spec: BundleSpec;
  certs: Record<string, BuiltCert>;
}

/** `d` floored to a whole second. */
export function wholeSecond(d: Date | number): Date {
  const ms = typeof d === 'number' ? d : d.getTime();
  return new Date(Math.floor(ms / 1000) * 1000);
}

const ROOT_USAGES = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign;
const ISSUER_USAGES = ROOT_USAGES | x509.KeyUsageFlags.cRLSign;

/** A CA spec valid like Dapr's (now − 15 min … now + 365 d). */
export function caSpec(spec: Pick<BundleSpec, 'now'>, subject: string, signer: string, usages = ISSUER_USAGES): CertSpec {
  return {
    subject, signer, ca: true, keyUsages: usages,
    notBefore: wholeSecond(spec.now.getTime() - 15 * 60 * 1000),
    notAfter: wholeSecond(spec.now.getTime() + 365 * DAY),
  };
}

/** The healthy starting point: one root, one issuer, issuer.key = the issuer's key. */
export function defaultSpec(opts: BuildOptions): BundleSpec {
  const spec: BundleSpec = {
    now: opts.now,
    keyAlgorithm: opts.keyAlgorithm ?? 'ecdsa-p256',
    trustDomain: opts.trustDomain ?? 'cluster.local',
    namespace: opts.namespace ?? 'dapr-system',
    certs: {},
    anchors: ['root'],
    chain: ['issuer'],
    issuerKeyOf: 'issuer',
  };
  spec.certs.root = caSpec(spec, `O=${spec.trustDomain}`, 'root', ROOT_USAGES);
  spec.certs.issuer = caSpec(spec, `O=spiffe://${spec.trustDomain}/ns/${spec.namespace}/dapr-sentry`, 'root');
  return spec;
}

function cert(spec: BundleSpec, name: string): CertSpec {
  const found = spec.certs[name];
  if (!found) throw new Error(`test kit: no certificate named ${name}`);
  return found;
}

// ---- modifiers (one line each: what the bundle looks like afterwards) ----

/** Sets any validity bound of the named certificate (rounded to whole seconds). */
export const withValidity = (name: string, v: { notBefore?: Date; notAfter?: Date }): Modifier => (spec) => {
  const c = cert(spec, name);
  if (v.notBefore) c.notBefore = wholeSecond(v.notBefore);
  if (v.notAfter) c.notAfter = wholeSecond(v.notAfter);
};
/** The issuer expired a day before `now` (valid for a year before that). */
export const withExpiredIssuer = (): Modifier => (spec) =>
  withValidity('issuer', { notBefore: new Date(spec.now.getTime() - 366 * DAY), notAfter: new Date(spec.now.getTime() - DAY) })(spec);
/** The root expired a day before `now`; the issuer is untouched (so it also outlives the root). */
export const withExpiredRoot = (): Modifier => (spec) =>
  withValidity('root', { notBefore: new Date(spec.now.getTime() - 366 * DAY), notAfter: new Date(spec.now.getTime() - DAY) })(spec);
/** The named certificate (default the issuer) ends `leftMs` after `now`. */
export const withExpiresIn = (leftMs: number, name = 'issuer'): Modifier => (spec) =>
  withValidity(name, { notAfter: new Date(spec.now.getTime() + leftMs) })(spec);
/** The named certificate (default the issuer) starts `aheadMs` (default 1 h) after `now`. */
export const withNotYetValid = (name = 'issuer', aheadMs = HOUR): Modifier => (spec) =>
  withValidity(name, { notBefore: new Date(spec.now.getTime() + aheadMs) })(spec);
/** The issuer ends `excessMs` (default 30 d) after the root. */
export const withIssuerOutlivingRoot = (excessMs = 30 * DAY): Modifier => (spec) =>
  withValidity('issuer', { notAfter: new Date(cert(spec, 'root').notAfter.getTime() + excessMs) })(spec);
/** The issuer has only `leftMs` (default 1 h) left at `now`: less than a 24 h workload TTL. */
export const withShortIssuer = (leftMs = HOUR): Modifier => withExpiresIn(leftMs, 'issuer');
/** The issuer is signed by `foreignRoot` (same DN `O=<td>`, other key), which is not in ca.crt. */
export const withForeignRoot = (): Modifier => (spec) => {
  spec.certs.foreignRoot = caSpec(spec, cert(spec, 'root').subject, 'foreignRoot', ROOT_USAGES);
  cert(spec, 'issuer').signer = 'foreignRoot';
};
/** issuer.key is a fresh key that belongs to no certificate. */
export const withMismatchedKey = (): Modifier => (spec) => {
  spec.issuerKeyOf = 'stray';
};
/** The issuer is an end-entity: CA:FALSE, KeyUsage digitalSignature only. */
export const withNonCaIssuer = (): Modifier => (spec) => {
  Object.assign(cert(spec, 'issuer'), { ca: false, keyUsages: x509.KeyUsageFlags.digitalSignature });
};
/** A CA `intermediate` between root and issuer; issuer.crt = [issuer, intermediate] (healthy). */
export const withIntermediate = (): Modifier => (spec) => {
  spec.certs.intermediate = caSpec(spec, `O=${spec.trustDomain}, CN=intermediate`, 'root');
  cert(spec, 'issuer').signer = 'intermediate';
  spec.chain = ['issuer', 'intermediate'];
};
/** As withIntermediate, but issuer.crt = [intermediate, issuer] (wrong order). */
export const withChainOutOfOrder = (): Modifier => (spec) => {
  withIntermediate()(spec);
  spec.chain = ['intermediate', 'issuer'];
};
/** ca.crt = [root, root2] (same DN, other key) and the issuer is signed by root2 (mid-rotation). */
export const withExtraRoot = (): Modifier => (spec) => {
  spec.certs.root2 = caSpec(spec, cert(spec, 'root').subject, 'root2', ROOT_USAGES);
  spec.anchors = [...spec.anchors, 'root2'];
  cert(spec, 'issuer').signer = 'root2';
};
/** ca.crt = [root, subCa] where subCa is a CA signed by root (not self-signed). */
export const withNonSelfSignedAnchor = (): Modifier => (spec) => {
  spec.certs.subCa = caSpec(spec, `O=${spec.trustDomain}, CN=sub-ca`, 'root');
  spec.anchors = [...spec.anchors, 'subCa'];
};
/** ca.crt lists the root twice. */
export const withDuplicateAnchor = (): Modifier => (spec) => {
  spec.anchors = [...spec.anchors, spec.anchors[0] as string];
};
/** issuer.crt ends with the root (as `dapr mtls export` / cert-manager write it). */
export const withTrailingRoot = (): Modifier => (spec) => {
  spec.chain = [...spec.chain, 'root'];
};
/** The named certificate carries an ExtendedKeyUsage extension with `oids`. */
export const withExtKeyUsages = (name: string, oids: string[]): Modifier => (spec) => {
  cert(spec, name).extKeyUsages = oids;
};
/** The named certificate has BasicConstraints pathLen = `pathLen`. */
export const withPathLen = (name: string, pathLen: number): Modifier => (spec) => {
  cert(spec, name).pathLen = pathLen;
};
/** Dapr ≤ v1.11 profile: root `CN=cluster.local, O=dapr.io/sentry` with EKU serverAuth+clientAuth, issuer `CN=cluster.local`. */
export const withLegacyProfile = (): Modifier => (spec) => {
  Object.assign(cert(spec, 'root'), {
    subject: 'CN=cluster.local, O=dapr.io/sentry', keyUsages: x509.KeyUsageFlags.keyCertSign,
    extKeyUsages: ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'],
  });
  Object.assign(cert(spec, 'issuer'), { subject: 'CN=cluster.local', keyUsages: x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign });
};

// ---- building ----

function webAlgorithm(alg: KitKeyAlgorithm): webcrypto.EcKeyGenParams | webcrypto.Algorithm {
  return alg === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
}

function signingAlgorithm(alg: KitKeyAlgorithm): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return alg === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
}

async function generateKeys(alg: KitKeyAlgorithm): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(webAlgorithm(alg), true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** 16 random bytes with the top bit clear (a positive INTEGER, as Sentry's serials). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** Signing order: every signer before what it signs. */
function buildOrder(spec: BundleSpec): string[] {
  const order: string[] = [];
  const visit = (name: string, stack: string[]): void => {
    if (order.includes(name)) return;
    if (stack.includes(name)) throw new Error(`test kit: signing cycle ${[...stack, name].join(' -> ')}`);
    const signer = cert(spec, name).signer;
    if (signer !== name) visit(signer, [...stack, name]);
    order.push(name);
  };
  for (const name of Object.keys(spec.certs)) visit(name, []);
  return order;
}

async function buildCert(spec: BundleSpec, name: string, keys: Map<string, { pair: CryptoKeyPair; alg: KitKeyAlgorithm }>, built: Record<string, BuiltCert>): Promise<BuiltCert> {
  const c = cert(spec, name);
  const own = keys.get(name) as { pair: CryptoKeyPair; alg: KitKeyAlgorithm };
  const signer = keys.get(c.signer) as { pair: CryptoKeyPair; alg: KitKeyAlgorithm };
  const extensions: x509.Extension[] = [];
  if (c.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(c.ca, c.pathLen, true));
  if (c.keyUsages !== undefined) extensions.push(new x509.KeyUsagesExtension(c.keyUsages, true));
  if (c.extKeyUsages !== undefined) extensions.push(new x509.ExtendedKeyUsageExtension(c.extKeyUsages, false));
  if (c.ca) extensions.push(await x509.SubjectKeyIdentifierExtension.create(own.pair.publicKey));
  if (c.signer !== name) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.pair.publicKey));
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: c.subject,
    issuer: cert(spec, c.signer).subject,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    publicKey: own.pair.publicKey,
    signingKey: signer.pair.privateKey,
    signingAlgorithm: signingAlgorithm(signer.alg),
    extensions,
  });
  const der = Buffer.from(generated.rawData);
  const result = { spec: c, der, pem: generated.toString('pem') + '\n', key: KeyObject.from(own.pair.privateKey), pair: own.pair, alg: own.alg };
  built[name] = result;
  return result;
}

/** Builds the healthy spec, applies `modifiers` in order, signs everything and parses the bundle. */
export async function buildBundle(opts: BuildOptions, ...modifiers: Modifier[]): Promise<BuiltBundle> {
  const spec = defaultSpec(opts);
  for (const modify of modifiers) modify(spec);
  const keys = new Map<string, { pair: CryptoKeyPair; alg: KitKeyAlgorithm }>();
  for (const [name, c] of Object.entries(spec.certs)) {
    const alg = c.keyAlgorithm ?? spec.keyAlgorithm;
    keys.set(name, { pair: await generateKeys(alg), alg });
  }
  const certs: Record<string, BuiltCert> = {};
  for (const name of buildOrder(spec)) await buildCert(spec, name, keys, certs);
  const issuerKey = certs[spec.issuerKeyOf]?.key ?? KeyObject.from((await generateKeys(spec.keyAlgorithm)).privateKey);
  const pemOf = (name: string): string => {
    const built = certs[name];
    if (!built) throw new Error(`test kit: no certificate named ${name}`);
    return built.pem;
  };
  const texts: BundleTexts = {
    ca: spec.anchors.map(pemOf).join(''),
    issuerCert: spec.chain.map(pemOf).join(''),
    issuerKey: issuerKey.export({ format: 'pem', type: 'pkcs8' }) as string,
  };
  return { bundle: TrustBundle.fromTexts(texts), texts, spec, certs };
}

export interface BuiltLeaf {
  pem: string;
  der: Buffer;
  key: KeyObject;
}

/**
 * A Dapr-style workload certificate (empty subject, critical URI SAN, EKU serverAuth+clientAuth,
 * KeyUsage digitalSignature) signed by the built issuer (`certs.issuer`), valid from now − 15 min
 * to now + `ttlMs` (default 24 h). For oracles (`openssl verify`) and identity tests.
 */
export async function buildLeaf(built: BuiltBundle, opts: { now: Date; spiffeId?: string; ttlMs?: number; issuer?: string }): Promise<BuiltLeaf> {
  const issuer = built.certs[opts.issuer ?? 'issuer'];
  if (!issuer) throw new Error('test kit: no issuer to sign the leaf');
  const pair = await generateKeys(built.spec.keyAlgorithm);
  const spiffeId = opts.spiffeId ?? `spiffe://${built.spec.trustDomain}/ns/default/app`;
  const generated = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [],
    issuer: issuer.spec.subject,
    notBefore: wholeSecond(opts.now.getTime() - 15 * 60 * 1000),
    notAfter: wholeSecond(opts.now.getTime() + (opts.ttlMs ?? DAY)),
    publicKey: pair.publicKey,
    signingKey: issuer.pair.privateKey,
    signingAlgorithm: signingAlgorithm(issuer.alg),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], false),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.pair.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }], true),
    ],
  });
  return { pem: generated.toString('pem') + '\n', der: Buffer.from(generated.rawData), key: KeyObject.from(pair.privateKey) };
}
