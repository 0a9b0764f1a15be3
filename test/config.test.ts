import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolveConfigFile } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';
import { parseTestConfig } from './support/app.js';
import { configProblems as problems } from './support/config-problems.js';
import { DEFAULT_CONFIG_FILE } from '../src/package-info.js';

describe('config', () => {
  it('the built-in default file is valid and has the documented shape', () => {
    const config = parseTestConfig(readFileSync(DEFAULT_CONFIG_FILE, 'utf8'));
    expect(config.accounts).toEqual([
      {
        self_id: 10001,
        adapter: { type: 'sandbox', nickname: 'onebridge-bot', report_self_message: false },
        rate_limit_interval_ms: 500,
      },
    ]);
    expect(config.network).toHaveLength(1);
    expect(config.network[0]).toMatchObject({
      type: 'ws',
      host: '127.0.0.1',
      port: 6700,
      access_token: '',
      message_format: 'array',
      heartbeat_interval_ms: 15000,
    });
    expect(config.admin).toEqual({
      host: '127.0.0.1',
      port: 6790,
      access_token: '',
      allowed_origins: [],
      allowed_hosts: [],
    });
    expect(config.shutdown.grace_ms).toBe(3000);
    expect(config.log).toEqual({ level: 'info', format: 'text', messages: true, timezone: 'local' });
  });

  it('an empty file gets every default but no admin endpoint', () => {
    const config = parseTestConfig('');
    expect(config.accounts[0]!.self_id).toBe(10001);
    expect(config.admin).toBeUndefined();
    expect(config.shutdown.grace_ms).toBe(3000);
  });

  it('fills defaults inside entries', () => {
    const config = parseTestConfig('network:\n  - type: ws\n    port: 7000\n');
    expect(config.network[0]).toEqual({
      type: 'ws',
      host: '127.0.0.1',
      port: 7000,
      access_token: '',
      message_format: 'array',
      heartbeat_interval_ms: 15000,
      max_payload_bytes: 64 * 1024 * 1024,
      ping_interval_ms: 30000,
      max_buffered_bytes: 16 * 1024 * 1024,
      max_connections: 1000,
      max_actions_in_flight: 100,
      compression: false,
      handshake_timeout_ms: 10000,
      max_upgrades_per_address_per_s: 0,
      max_dropped_events: 1000,
      allowed_origins: [],
      allowed_hosts: [],
    });
  });

  it('names the exact key, the rule and the value for a wrong type', () => {
    expect(problems('network:\n  - type: ws\n  - type: ws\n    port: abc\n')).toEqual([
      'network[1].port: expected integer 0-65535 (0 picks a free port), got "abc"',
    ]);
  });

  it('allowed_origins and allowed_hosts: normalized, and a wrong entry names the key and the form', () => {
    const config = parseTestConfig(
      'network:\n  - type: http\n    allowed_origins: ["HTTP://LocalHost:80/", "chrome-extension://AbC", "*"]\n    allowed_hosts: ["Bot.Example.COM.", "[::1]"]\n',
    );
    expect(config.network[0]).toMatchObject({
      allowed_origins: ['http://localhost', 'chrome-extension://abc', '*'],
      allowed_hosts: ['bot.example.com', '::1'],
    });
    expect(
      problems('admin:\n  allowed_origins: ["http://localhost:3000/app"]\n  allowed_hosts: ["bot.example.com:8080"]\n'),
    ).toEqual([
      'admin.allowed_origins[0]: expected an origin like "http://localhost:3000" (scheme://host[:port], no path), "null" or "*", got "http://localhost:3000/app"',
      'admin.allowed_hosts[0]: expected a host name or IP address without port, e.g. "bot.example.com", or "*", got "bot.example.com:8080"',
    ]);
  });

  it('reports out-of-range numbers', () => {
    expect(problems('network:\n  - type: ws\n    port: 70000\n')).toEqual([
      'network[0].port: expected integer 0-65535 (0 picks a free port), got 70000',
    ]);
    expect(problems('shutdown: { grace_ms: -1 }')).toEqual([
      'shutdown.grace_ms: expected integer 0-600000 (milliseconds), got -1',
    ]);
  });

  it('reports every problem at once, not only the first', () => {
    const found = problems('network:\n  - type: ws\n    port: abc\n    message_format: xml\nlog: { level: loud }\n');
    expect(found).toEqual(
      expect.arrayContaining([
        'network[0].port: expected integer 0-65535 (0 picks a free port), got "abc"',
        'network[0].message_format: expected one of array, string, got "xml"',
        'log.level: expected one of error, warn, info, debug, got "loud"',
      ]),
    );
    expect(found).toHaveLength(3);
  });

  it('rejects unknown keys by name, so typos are never silently ignored', () => {
    expect(problems('network:\n  - type: ws\n    prot: 6700\n')).toEqual([
      'network[0].prot: unknown key; remove it, or check its spelling',
    ]);
    expect(problems('shutdwn: {}')).toEqual(['shutdwn: unknown key; remove it, or check its spelling']);
  });

  it('names the valid network and adapter types', () => {
    expect(problems('network:\n  - type: wss\n')[0]).toMatch(/^network\[0\]\.type: expected one of ws\b.*, got "wss"$/);
    expect(problems('accounts:\n  - self_id: 1\n    adapter: { type: qq }\n')[0]).toMatch(
      /^accounts\[0\]\.adapter\.type: expected one of sandbox\b.*, got "qq"$/,
    );
  });

  it('requires self_id and an adapter on accounts', () => {
    // The list names every adapter that can learn its id (relay, irc, and more as they come).
    expect(problems('accounts:\n  - adapter: { type: sandbox }\n')).toEqual([
      expect.stringMatching(
        /^accounts\[0\]\.self_id: missing; expected the bot account id \(only a relay( or [a-z-]+)* account can learn it from its platform\)$/,
      ),
    ]);
  });

  it('rejects duplicate accounts and says which entry came first', () => {
    expect(
      problems(
        'accounts:\n  - { self_id: 5, adapter: { type: sandbox } }\n  - { self_id: 5, adapter: { type: sandbox } }\n',
      ),
    ).toEqual(['accounts[1].self_id: duplicate self_id 5 (also accounts[0].self_id); give each account its own id']);
  });

  it('requires network[].self_id only with several accounts, and it must name one', () => {
    const two =
      'accounts:\n  - { self_id: 5, adapter: { type: sandbox } }\n  - { self_id: 6, adapter: { type: sandbox } }\n';
    expect(problems(`${two}network:\n  - { type: ws, port: 0 }\n`)).toEqual([
      'network[0].self_id: required with several accounts; set it to one of 5, 6',
    ]);
    expect(problems(`${two}network:\n  - { type: ws, port: 0, self_id: 7 }\n`)).toEqual([
      'network[0].self_id: no account has self_id 7; expected one of 5, 6',
    ]);
    expect(parseTestConfig(`${two}network:\n  - { type: ws, port: 0, self_id: 6 }\n`).network[0]!.self_id).toBe(6);
  });

  it('catches two listeners on the same address before anything binds', () => {
    expect(problems('network:\n  - { type: ws, port: 6700 }\nadmin: { port: 6700 }\n')).toEqual([
      'admin.port: 127.0.0.1:6700 is already used by network[0].port; choose another port',
    ]);
    // Port 0 never collides: each gets its own free port.
    expect(() => parseTestConfig('network:\n  - { type: ws, port: 0 }\n  - { type: ws, port: 0 }\n')).not.toThrow();
  });

  it('reports YAML syntax errors with their line', () => {
    const [first] = problems('network:\n  - type: ws\n    port: [6700\n');
    expect(first).toMatch(/^YAML syntax error at line \d+, column \d+: /);
  });

  it('rejects a top level that is not a mapping', () => {
    expect(problems('- a\n- b\n')).toEqual(['expected a mapping of keys (accounts:, network:, …) at the top level']);
  });

  it('puts the first problem and the count in the error message', () => {
    try {
      parseTestConfig('network:\n  - { type: ws, port: x }\nlog: { level: y }\n', 'my.yaml');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        'config my.yaml: network[0].port: expected integer 0-65535 (0 picks a free port), got "x" (+1 more; run "onebridge check -c my.yaml")',
      );
      expect((err as ConfigError).code).toBe('ONEBRIDGE_CONFIG_INVALID');
    }
  });

  describe('lookup order', () => {
    const none = () => false;
    it('-c wins over everything', () => {
      expect(resolveConfigFile('a.yaml', { ONEBRIDGE_CONFIG: 'b.yaml' }, '/w', () => true)).toEqual({
        file: '/w/a.yaml',
        source: 'flag',
      });
    });
    it('then $ONEBRIDGE_CONFIG', () => {
      expect(resolveConfigFile(undefined, { ONEBRIDGE_CONFIG: 'b.yaml' }, '/w', () => true)).toEqual({
        file: '/w/b.yaml',
        source: 'env',
      });
    });
    it('then ./onebridge.yaml when it exists', () => {
      expect(resolveConfigFile(undefined, {}, '/w', (f) => f === '/w/onebridge.yaml')).toEqual({
        file: '/w/onebridge.yaml',
        source: 'cwd',
      });
    });
    it('then the built-in defaults', () => {
      expect(resolveConfigFile(undefined, {}, '/w', none)).toEqual({ file: DEFAULT_CONFIG_FILE, source: 'default' });
    });
  });
});
