/**
 * The identity client (design §2): what a Dapr sidecar's security package does — key + CSR,
 * SignCertificate with SPIFFE server authentication, renewal at 50% — plus hot-reloadable trust
 * anchors and mTLS options that follow renewals and anchor changes.
 */
export { WorkloadIdentity, renewalTime, RENEWAL_CHECK_INTERVAL_MS, RENEWAL_RETRY_INTERVAL_MS, type IdentitySnapshot, type WorkloadIdentityOptions } from './identity-manager.js';
export { SentryClient, type IdentityRequest, type IssuedIdentity, type SentryClientOptions, type WorkloadKeyAlgorithm } from './sentry-client.js';
export { FileTrustAnchorSource, StaticTrustAnchorSource, parseTrustAnchors, readTrustAnchorsFile, type FileTrustAnchorOptions, type TrustAnchors, type TrustAnchorSource } from './trust-anchors.js';
export { peerSpiffeId, spiffeIdOf, spiffeServerIdentityCheck, type ExpectedPeer, type PeerAuthorizer } from './peer-id.js';
export { verifyChainToAnchors } from './verify-chain.js';
export { writeIdentityFiles, IDENTITY_FILE_NAMES, type IdentityFiles } from './write-identity.js';
export { TOKEN_VALIDATORS, type TokenValidator } from '../wire/sentry-proto.js';
export { silentLogger, type IdentityLogger } from './logger.js';
export { systemTimers, type Timers } from './timers.js';
