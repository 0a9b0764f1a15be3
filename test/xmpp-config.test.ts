import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILE } from '../src/package-info.js';
import { parseTestConfig } from './support/app.js';
import { configProblems as problems } from './support/config-problems.js';

const account = (adapter: string) => `accounts:\n  - adapter: { type: xmpp, ${adapter} }\n`;

describe('xmpp config', () => {
  it('the minimum gets every default; self_id may be omitted (derived from the JID)', () => {
    const config = parseTestConfig(account('service: "xmpp://example.org:5222", username: bot, password: pw'));
    expect(config.accounts[0]).toMatchObject({
      adapter: {
        type: 'xmpp',
        service: 'xmpp://example.org:5222',
        username: 'bot',
        password: 'pw',
        resource: 'onebridge',
        rooms: [],
        reconnect: { initial_ms: 1000, max_ms: 60_000 },
        connect_timeout_ms: 15_000,
        ping_interval_ms: 60_000,
      },
    });
    expect(config.accounts[0]!.self_id).toBeUndefined();
  });

  it('each mistake names its key and the fix', () => {
    expect(problems(account('service: "http://example.org", username: bot, password: pw'))).toEqual([
      expect.stringMatching(/^accounts\[0\]\.adapter\.service: expected an xmpp:\/\/ or xmpps:\/\/ URL/),
    ]);
    expect(problems(account('service: "xmpp://h", username: bot'))).toEqual([
      expect.stringMatching(/^accounts\[0\]\.adapter\.password: missing; expected the account password/),
    ]);
    expect(
      problems(account('service: "xmpp://h", username: bot, password: pw, rooms: [{ jid: "room@conf/nick" }]')),
    ).toEqual([expect.stringMatching(/^accounts\[0\]\.adapter\.rooms\[0\]\.jid: expected a bare room JID/)]);
    expect(
      problems(account('service: "xmpp://h", username: bot, password: pw, rooms: [{ jid: a@c }, { jid: A@C }]')),
    ).toEqual([
      expect.stringMatching(/^accounts\[0\]\.adapter\.rooms\[1\]\.jid: duplicate room a@c \(also rooms\[0\]\)/),
    ]);
    expect(
      problems(
        account('service: "xmpp://h", username: bot, password: pw, reconnect: { initial_ms: 5000, max_ms: 100 }'),
      ),
    ).toEqual([
      expect.stringMatching(/^accounts\[0\]\.adapter\.reconnect\.max_ms: must be at least reconnect\.initial_ms/),
    ]);
    expect(problems(account('service: "xmpp://h", username: bot, password: pw, romos: []'))).toEqual([
      expect.stringMatching(/romos/),
    ]);
  });

  it('the commented example in config/default.yaml is valid once uncommented', () => {
    const text = readFileSync(DEFAULT_CONFIG_FILE, 'utf8');
    const lines = text.split('\n');
    const start = lines.findIndex((l) => l.includes('An XMPP account'));
    const block: string[] = [];
    for (const l of lines.slice(start + 1)) {
      if (!l.startsWith('  # ')) break;
      block.push(`  ${l.slice(4)}`);
    }
    const config = parseTestConfig(`accounts:\n${block.join('\n')}\n`);
    expect(config.accounts[0]).toMatchObject({
      self_id: 10003,
      adapter: {
        type: 'xmpp',
        domain: 'example.org',
        rooms: [
          { jid: 'room@conference.example.org', nick: 'MyBot' },
          { jid: 'club@conference.example.org', password: 'letmein' },
        ],
      },
    });
  });
});
