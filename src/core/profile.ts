/**
 * THE certificate profile: Dapr Sentry's root, issuer and workload certificates (spec 2.1–2.3), built
 * through one DER template with every input injected (keys, serial, times). Modelled on spire's
 * credtemplate builder: pure functions from inputs to DER.
 *
 * Two profiles exist (spec 2.3, 2.8): 'v1.18' (Dapr 1.18: no keyEncipherment anywhere; leaves are
 * digitalSignature only whatever the issuer key) and 'v1.17' (Dapr v1.12–v1.17: keyEncipherment on
 * root, issuer and leaf, whatever the key). Leaves follow the Dapr version Warden emulates
 * (`profileForDaprVersion`; default the newest, 1.18). A generated bundle's root and issuer follow
 * their key algorithm, which is what that Dapr version generates: Ed25519 in 1.18 (v1.18 profile),
 * ECDSA P-256 before (v1.17 profile).
 */
import type { KeyObject } from 'node:crypto';
import { bitString, contextTag, sequence, smallInteger, time, unsignedInteger } from './der/writer.js';
import type { Certificate, KeyUsageName } from './certificate.js';
import {
  authorityKeyIdExtension, caBasicConstraintsExtension, extKeyUsageExtension, keyUsageExtension,
  subjectAltNameExtension, subjectKeyIdExtension, subjectKeyIdFor,
} from './extensions.js';
import { spkiOf, type KeyAlgorithm } from './keys.js';
import { encodeName, EMPTY_NAME, type DistinguishedName } from './names.js';
import { OID } from './oids.js';
import { signAsync, signerFor, signSync, type Signer } from './signature.js';

export type ProfileVersion = 'v1.18' | 'v1.17';

/** The Dapr Sentry versions Warden emulates (`warden sentry --dapr-version`). */
export type DaprVersion = '1.16' | '1.17' | '1.18';
export const DAPR_VERSIONS: readonly DaprVersion[] = ['1.16', '1.17', '1.18'];
export const DEFAULT_DAPR_VERSION: DaprVersion = '1.18';

/** The leaf profile of a Dapr version: `pkg/sentry/server/ca/bundle/cert.go` at v1.16.19, v1.17.13, v1.18.3. */
export function profileForDaprVersion(version: DaprVersion): ProfileVersion {
  return version === '1.18' ? 'v1.18' : 'v1.17';
}

/** The key algorithm that Dapr version's Sentry generates a bundle with (spec 2.8). */
export function keyAlgorithmForDaprVersion(version: DaprVersion): 'ed25519' | 'ecdsa-p256' {
  return version === '1.18' ? 'ed25519' : 'ecdsa-p256';
}

/**
 * The key of Sentry's own serving SVID in that Dapr version: dapr/kit's crypto/spiffe generates it,
 * ECDSA P-256 in kit v0.16.1/v0.17.0 (Dapr 1.16/1.17), Ed25519 in kit v0.18 (Dapr 1.18).
 */
export function servingKeyAlgorithmForDaprVersion(version: DaprVersion): 'ed25519' | 'ecdsa-p256' {
  return version === '1.18' ? 'ed25519' : 'ecdsa-p256';
}

/** The profile a generated bundle uses for a key algorithm (spec 2.8). */
export function profileForKeyAlgorithm(algorithm: KeyAlgorithm): ProfileVersion {
  return algorithm === 'ed25519' ? 'v1.18' : 'v1.17';
}

const KEY_USAGES: Record<ProfileVersion, Record<'root' | 'issuer' | 'workload', KeyUsageName[]>> = {
  'v1.18': {
    root: ['digitalSignature', 'keyCertSign'],
    issuer: ['digitalSignature', 'keyCertSign', 'cRLSign'],
    workload: ['digitalSignature'],
  },
  'v1.17': {
    root: ['digitalSignature', 'keyEncipherment', 'keyCertSign'],
    issuer: ['digitalSignature', 'keyEncipherment', 'keyCertSign', 'cRLSign'],
    workload: ['digitalSignature', 'keyEncipherment'],
  },
};

export function keyUsagesFor(profile: ProfileVersion, kind: 'root' | 'issuer' | 'workload'): readonly KeyUsageName[] {
  return KEY_USAGES[profile][kind];
}

/** The variable parts of one certificate. */
export interface TbsFields {
  serial: Buffer;
  issuer: DistinguishedName;
  subject: DistinguishedName;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  extensions: Buffer[];
}

const VERSION_3 = contextTag(0, smallInteger(2), true);

export function encodeTbs(fields: TbsFields, signer: Signer): Buffer {
  return sequence(
    VERSION_3,
    unsignedInteger(fields.serial),
    signer.algorithmIdentifier,
    fields.issuer.der,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject.der,
    fields.spkiDer,
    contextTag(3, sequence(...fields.extensions), true),
  );
}

export function assembleCertificate(tbs: Buffer, signer: Signer, signature: Buffer): Buffer {
  return sequence(tbs, signer.algorithmIdentifier, bitString(signature));
}

export function signCertificateSync(fields: TbsFields, signer: Signer): Buffer {
  const tbs = encodeTbs(fields, signer);
  return assembleCertificate(tbs, signer, signSync(signer, tbs));
}

export async function signCertificateAsync(fields: TbsFields, signer: Signer): Promise<Buffer> {
  const tbs = encodeTbs(fields, signer);
  return assembleCertificate(tbs, signer, await signAsync(signer, tbs));
}

export const rootSubject = (trustDomain: string): DistinguishedName => encodeName([[OID.organizationName, trustDomain]]);

export const issuerSubject = (trustDomain: string, namespace: string): DistinguishedName =>
  encodeName([[OID.organizationName, `spiffe://${trustDomain}/ns/${namespace}/dapr-sentry`]]);

export interface ValidityWindow {
  notBefore: Date;
  notAfter: Date;
}

/** Spec 2.1: self-signed, `O=<td>`, CA:TRUE critical with no pathLen, SKI, no AKI, no EKU or SANs. */
export function buildRootCertificate(opts: { key: KeyObject; trustDomain: string; serial: Buffer; validity: ValidityWindow; profile: ProfileVersion }): Buffer {
  const spkiDer = spkiOf(opts.key);
  const subject = rootSubject(opts.trustDomain);
  return signCertificateSync({
    serial: opts.serial,
    issuer: subject,
    subject,
    ...opts.validity,
    spkiDer,
    extensions: [keyUsageExtension(keyUsagesFor(opts.profile, 'root')), caBasicConstraintsExtension(), subjectKeyIdExtension(subjectKeyIdFor(spkiDer))],
  }, signerFor(opts.key));
}

/**
 * Spec 2.2: `O=spiffe://<td>/ns/<ns>/dapr-sentry`, CA:TRUE, SKI, AKI = root SKI. Warden's improvement:
 * the issuer never outlives the root that signs it (NotAfter clamped to the root's).
 *
 * `authorityKeyId: false` is the issuer Dapr's sentry generates (1.16–1.18): `bundle.GenerateX509`
 * signs it with the root's template, which has no SubjectKeyId, so Go writes no AKI. Only for a
 * bundle with one fresh root: where anchors share the subject `O=<td>` (a rotation), OpenSSL picks
 * the anchor by AKI and fails on the wrong one without it, so every other path keeps the AKI.
 */
export function buildIssuerCertificate(opts: {
  issuerKey: KeyObject; root: Certificate; rootKey: KeyObject; trustDomain: string; namespace: string;
  serial: Buffer; validity: ValidityWindow; profile: ProfileVersion; authorityKeyId?: boolean;
}): Buffer {
  const spkiDer = spkiOf(opts.issuerKey);
  const notAfter = new Date(Math.min(opts.validity.notAfter.getTime(), opts.root.notAfter.getTime()));
  const extensions = [keyUsageExtension(keyUsagesFor(opts.profile, 'issuer')), caBasicConstraintsExtension(), subjectKeyIdExtension(subjectKeyIdFor(spkiDer))];
  if (opts.authorityKeyId !== false && opts.root.subjectKeyId) extensions.push(authorityKeyIdExtension(opts.root.subjectKeyId));
  return signCertificateSync({
    serial: opts.serial,
    issuer: opts.root.subject,
    subject: issuerSubject(opts.trustDomain, opts.namespace),
    notBefore: opts.validity.notBefore,
    notAfter,
    spkiDer,
    extensions,
  }, signerFor(opts.rootKey));
}

/** The fixed extensions of every workload certificate signed by one issuer, precomputed once. */
export function workloadStaticExtensions(profile: ProfileVersion): { keyUsage: Buffer; extKeyUsage: Buffer } {
  return { keyUsage: keyUsageExtension(keyUsagesFor(profile, 'workload')), extKeyUsage: extKeyUsageExtension([OID.serverAuth, OID.clientAuth]) };
}

/**
 * Spec 2.3 workload fields: empty subject; KeyUsage, EKU [serverAuth, clientAuth]; no BasicConstraints;
 * no SKI; AKI = issuer SKI; critical SAN with DNS names then the one SPIFFE URI.
 */
export function workloadFields(opts: {
  issuer: Certificate; spkiDer: Buffer; spiffeId: string; dnsNames: ReadonlyArray<string>; serial: Buffer;
  validity: ValidityWindow; staticExtensions: { keyUsage: Buffer; extKeyUsage: Buffer }; authorityKeyIdExtension?: Buffer;
}): TbsFields {
  const extensions = [opts.staticExtensions.keyUsage, opts.staticExtensions.extKeyUsage];
  if (opts.authorityKeyIdExtension) extensions.push(opts.authorityKeyIdExtension);
  extensions.push(subjectAltNameExtension(opts.dnsNames, [opts.spiffeId], true));
  return {
    serial: opts.serial,
    issuer: opts.issuer.subject,
    subject: EMPTY_NAME,
    ...opts.validity,
    spkiDer: opts.spkiDer,
    extensions,
  };
}
