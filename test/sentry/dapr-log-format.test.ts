/**
 * Dapr's log lines (dapr/kit logger = logrus, RFC3339Nano): the text layout and logrus's quoting,
 * the JSON object with Go's sorted keys and HTML escaping, logrus's level names, and the logger
 * built from `--log-level`, `--log-as-json` and `--log-file`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { formatDaprRecord, goQuote, rfc3339Nano } from '../../src/sentry/dapr-log-format.js';
import { createSentryLogger } from '../../src/sentry/logger.js';

const ID = { instance: 'dapr-sentry-7d9f', ver: '0.1.0' };
const AT = Date.UTC(2026, 11, 4, 20, 10, 0, 123);

describe('Dapr log format', () => {
  it('text: time, level, msg, then instance scope type ver (logrus TextFormatter, no colours)', () => {
    const line = formatDaprRecord({ level: 30, time: AT, msg: 'Root and issuer certs found: using credentials from store', scope: 'dapr.sentry' }, 'text', ID);
    assert.equal(line,
      'time="2026-12-04T20:10:00.123Z" level=info msg="Root and issuer certs found: using credentials from store" ' +
      'instance=dapr-sentry-7d9f scope=dapr.sentry type=log ver=0.1.0\n');
  });

  it('text: extra fields are sorted among Dapr\'s (logrus WithFields)', () => {
    const line = formatDaprRecord({ level: 40, time: AT, msg: 'x', scope: 'dapr.sentry', port: 50001, dirs: ['/a', '/b'], zz: true, time2: 'a b', level2: '' }, 'text', ID);
    assert.equal(line, 'time="2026-12-04T20:10:00.123Z" level=warning msg=x dirs="[/a /b]" instance=dapr-sentry-7d9f level2= port=50001 scope=dapr.sentry time2="a b" type=log ver=0.1.0 zz=true\n');
  });

  it('text: quotes exactly what logrus quotes, with Go\'s %q escapes', () => {
    const msg = (m: string): string => /msg=(.*?) instance=/.exec(formatDaprRecord({ level: 30, time: AT, msg: m, scope: 's' }, 'text', ID))![1]!;
    assert.equal(msg('plain-text_1.2/3@x^y+z'), 'plain-text_1.2/3@x^y+z');
    assert.equal(msg('a=b'), '"a=b"');
    assert.equal(msg('say "hi"\n'), '"say \\"hi\\"\\n"');
    assert.equal(msg(''), '');
    assert.equal(goQuote('\u0001\u0007\u000b\u007f é'), '"\\x01\\a\\v\\x7f é"');
  });

  it('levels are logrus\'s names', () => {
    const levels = [20, 30, 40, 50, 60].map((level) => /level=(\w+)/.exec(formatDaprRecord({ level, time: AT, msg: 'm' }, 'text', ID))![1]);
    assert.deepEqual(levels, ['debug', 'info', 'warning', 'error', 'fatal']);
  });

  it('json: Go\'s map encoding, keys sorted, HTML escaped, one line', () => {
    const line = formatDaprRecord({ level: 50, time: AT, msg: 'Error signing identity: <bad> & worse', scope: 'dapr.sentry', code: 'X' }, 'json', ID);
    assert.equal(line,
      '{"code":"X","instance":"dapr-sentry-7d9f","level":"error","msg":"Error signing identity: \\u003cbad\\u003e \\u0026 worse",' +
      '"scope":"dapr.sentry","time":"2026-12-04T20:10:00.123Z","type":"log","ver":"0.1.0"}\n');
    assert.deepEqual(Object.keys(JSON.parse(line) as object), ['code', 'instance', 'level', 'msg', 'scope', 'time', 'type', 'ver']);
  });

  it('RFC3339Nano drops trailing zeros of the fraction, and the fraction when it is zero', () => {
    assert.equal(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 100)), '2026-01-02T03:04:05.1Z');
    assert.equal(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 0)), '2026-01-02T03:04:05Z');
  });

  it('the logger: --log-file gets the lines, --log-level warn hides info, --log-as-json switches to JSON', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-dapr-log-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const textFile = join(dir, 'text.log');
    const text = createSentryLogger({ format: 'dapr', level: 'warn', file: textFile, identity: ID });
    text.info('hidden');
    text.warn('Issuer credentials changed; reloading');
    text.fatal('boom');
    const lines = readFileSync(textFile, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[0]!, /^time="[^"]+" level=warning msg="Issuer credentials changed; reloading" instance=dapr-sentry-7d9f scope=dapr.sentry type=log ver=0.1.0$/);
    assert.match(lines[1]!, /^time="[^"]+" level=fatal msg=boom /);

    const jsonFile = join(dir, 'json.log');
    const json = createSentryLogger({ format: 'dapr', level: 'debug', json: true, file: jsonFile, identity: ID });
    json.debug({ id: 'app' }, 'Signed workload certificate');
    const record = JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, unknown>;
    assert.deepEqual({ ...record, time: typeof record['time'] }, {
      id: 'app', instance: ID.instance, level: 'debug', msg: 'Signed workload certificate', scope: 'dapr.sentry', time: 'string', type: 'log', ver: '0.1.0',
    });
  });
});
