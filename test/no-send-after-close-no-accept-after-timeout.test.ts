import { describe, expect, it } from 'vitest';
import { startApp } from './support/app.js';
import { admissionConfig as config, admissionProbe } from './support/admission.js';

// Failure mode 4 of issue 6: a handshake timeout firing at the same moment as admission
// completes produces exactly one outcome per socket: never a 101 followed by an abrupt drop
// without a close frame, never an error written after the 101.

const probe = admissionProbe();
const server = () => probe.server();
const outcome = (path?: string) => probe.outcome(path);

describe('no send after close, no accept after timeout', () => {
  it('300 upgrades with admission delays jittered across the timeout: exactly one outcome each, no 101 then drop', async () => {
    probe.app = await startApp(config(40));
    const s = server();
    // Seeded jitter, 0-80 ms around the 40 ms deadline, including exactly 40.
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    s.admission = () => new Promise<void>((resolve) => setTimeout(resolve, Math.floor(rand() * 80)));
    const results = await Promise.all(Array.from({ length: 300 }, () => outcome()));
    const opened = results.filter((r) => r.kind === 'open');
    const refused = results.filter((r) => r.kind === 'http');
    expect(opened.length + refused.length).toBe(300);
    // Both sides of the boundary were hit.
    expect(opened.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of opened) expect(r).toEqual({ kind: 'open', answered: true, closeCode: undefined });
    for (const r of refused) expect(r).toEqual({ kind: 'http', status: 408 });
    expect(s.admitting).toBe(0);
    expect(probe.app.registry.size).toBe(opened.length);
  });
});
