/** Public surface of the Sentry server for the CLI (`warden sentry`). */
export { runSentry, type RunningSentry } from './server.js';
export { DEFAULT_SENTRY_OPTIONS, withSentryDefaults, type SentryOptions, type SentryMode } from './options.js';
export { loadSentryConfig, parseSentryConfig, DEFAULT_SENTRY_CONFIG, type SentryConfig } from './config.js';
