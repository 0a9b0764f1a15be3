import { describe, expect, it, vi } from 'vitest';
import { CLI_BOUND_MS, CLI_TEST_MS, runningFor, tempDirFor } from './support/cli.js';
import { runCliInProcess } from './support/cli-in-process.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

// `check` runs in process (runCliInProcess; its exit status and output bytes have real-CLI
// smoke tests in cli-commands); `start` is the real CLI. Concurrent, per-test cleanup.

describe.concurrent('onebridge check reports what start would reject', () => {
  it('overlapping listeners (0.0.0.0 vs 127.0.0.1, :: vs ::1), invalid hosts, group members who are not users', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write(
      'bad.yaml',
      `sandbox:
  console: false
  groups:
    - group_id: 1
      group_name: g
      members: [{ user_id: 555 }, { user_id: 20001 }, { user_id: 10001, role: owner }]
network:
  - { type: ws, host: 0.0.0.0, port: 7123 }
  - { type: http, host: 127.0.0.1, port: 7123 }
  - { type: http, host: "not a host", port: 7124 }
  - { type: http, host: "999.1.1.1", port: 7125 }
  - { type: http, host: "::", port: 7126, access_token: t }
  - { type: ws, host: "::1", port: 7126, access_token: t }
  - { type: ws, host: "::1", port: 7123 }
`,
    );
    const r = await runCliInProcess(['check', '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toEqual([
      `${file}: network[2].host: expected a host name or IP address, e.g. 127.0.0.1, 0.0.0.0 or ::1, got "not a host"`,
      `${file}: network[3].host: expected a host name or IP address, e.g. 127.0.0.1, 0.0.0.0 or ::1, got "999.1.1.1"`,
      `${file}: network[1].port: 127.0.0.1:7123 is already used by network[0].port (0.0.0.0:7123); choose another port`,
      `${file}: network[5].port: [::1]:7126 is already used by network[4].port ([::]:7126); choose another port`,
      // (network[6]: ::1 and 0.0.0.0 are different families: no clash.)
      `${file}: sandbox.groups[0].members[0].user_id: no user 555 in sandbox.users (nor a sandbox account); add the user, or remove the member`,
      '5 problems found',
      '',
    ]);
  });
});

describe.concurrent('listening beyond loopback without a token is a loud warning', () => {
  const config = `sandbox: { console: false }
network:
  - { type: ws, host: 0.0.0.0, port: 0, heartbeat_interval_ms: 0 }
  - { type: http, host: 0.0.0.0, port: 0, access_token: secret }
  - { type: http, host: 127.0.0.1, port: 0 }
admin: { host: 0.0.0.0, port: 0 }
`;
  // The wording is the security warnings' (docs/security.md); what is checked here is which
  // listeners get one: beyond loopback and no token.
  const expected = [
    /^network\[0\]\.host: warning: 0\.0\.0\.0 is reachable from other machines and there is no access_token/,
    /^admin\.host: warning: 0\.0\.0\.0 is reachable from other machines and there is no access_token/,
  ];

  it('in check (still valid: exit 0)', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('open.yaml', config);
    const r = await runCliInProcess(['check', '-c', file]);
    expect(r.code).toBe(0);
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => l.slice(`${file}: `.length));
    expect(lines).toHaveLength(2);
    lines.forEach((line, i) => expect(line).toMatch(expected[i]!));
    expect(r.stdout).toContain(`${file}: ok`);
  });

  it('at start, before ready', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('open.yaml', config);
    const cli = runningFor(ctx, ['-c', file]);
    await cli.ready(CLI_BOUND_MS);
    const warned = cli.logs.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warned).toHaveLength(2);
    warned.forEach((line, i) => expect(line).toMatch(expected[i]!));
    expect(cli.logs.findIndex((l) => l.level === 'warn')).toBeLessThan(
      cli.logs.findIndex((l) => l.message.startsWith('ready: ')),
    );
  });
});
