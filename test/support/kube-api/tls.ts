/**
 * The test API server's PKI: a self-signed CA (ECDSA P-256) and a serving certificate for
 * 127.0.0.1 and localhost signed by it, built with @peculiar/x509 (test-only dependency). Go's
 * TLS stack (kubectl) and Node's both verify it like a real cluster's `certificate-authority-data`.
 * Generated once per process: tests start many servers and the material carries no state.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { KeyObject, randomBytes, webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface ServerPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive, as Go requires
  return bytes.toString('hex');
}

async function generatePki(): Promise<ServerPki> {
  const now = Date.now();
  const notBefore = new Date(now - DAY);
  const notAfter = new Date(now + 30 * DAY);
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: 'CN=warden-test-kubernetes-ca', notBefore, notAfter, keys: caKeys, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: 'CN=kube-apiserver', issuer: ca.subject, notBefore, notAfter,
    signingKey: caKeys.privateKey, publicKey: leafKeys.publicKey, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
        { type: 'dns', value: 'kubernetes.default.svc' },
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const keyPem = KeyObject.from(leafKeys.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  return { caPem: ca.toString('pem'), certPem: leaf.toString('pem'), keyPem };
}

let shared: Promise<ServerPki> | undefined;

/** The process-wide CA and serving certificate (created on first use). */
export function serverPki(): Promise<ServerPki> {
  shared ??= generatePki();
  return shared;
}
