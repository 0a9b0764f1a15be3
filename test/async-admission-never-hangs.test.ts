import { describe, expect, it } from 'vitest';
import { AdmissionError } from '../src/transport/ws-server.js';
import { startApp, until } from './support/app.js';
import { admissionConfig as config, admissionProbe, sleep, type Outcome } from './support/admission.js';
import { slow } from './support/slow.js';

// Failure mode 1 of issue 6: an asynchronous admission step ends every upgrade exactly once
// (101 and a working socket, or an HTTP error and a closed socket). Mode 4, the timing race,
// is no-send-after-close-no-accept-after-timeout.test.ts.

const probe = admissionProbe();
const server = () => probe.server();
const outcome = (path?: string) => probe.outcome(path);

describe('async admission never hangs the upgrade', () => {
  it('a delayed check admits; a refusal gets its status; a throw gets 500; a check that never settles is cut with 408', async () => {
    probe.app = await startApp(config(100));
    const s = server();
    s.admission = async () => sleep(20);
    expect(await outcome()).toEqual({ kind: 'open', answered: true, closeCode: undefined });
    s.admission = async () => {
      throw new AdmissionError(429, 'slow down');
    };
    expect(await outcome()).toEqual({ kind: 'http', status: 429 });
    s.admission = () => {
      throw new Error('boom');
    };
    expect(await outcome()).toEqual({ kind: 'http', status: 500 });
    s.admission = () => new Promise<void>(() => {});
    expect(await outcome()).toEqual({ kind: 'http', status: 408 });
    expect(s.admitting).toBe(0);
    expect(probe.app.registry.size).toBe(1);
  });

  it('handshake_timeout_ms 0 means no limit: a slow check still admits', async () => {
    probe.app = await startApp(config(0));
    server().admission = async () => sleep(150);
    expect(await outcome()).toEqual({ kind: 'open', answered: true, closeCode: undefined });
  });

  it('shutdown while upgrades wait in admission: each socket ends, the count returns to 0', async () => {
    probe.app = await startApp(config(0));
    const s = server();
    s.admission = () => new Promise<void>(() => {});
    const pending = Array.from({ length: 20 }, () => outcome().catch(() => ({ kind: 'http', status: 0 }) as Outcome));
    await until(() => s.admitting === 20, 2000, 'twenty upgrades in admission');
    await probe.app!.stop();
    const results = await Promise.race([Promise.all(pending), sleep(slow(3000)).then(() => 'hung' as const)]);
    expect(results).not.toBe('hung');
    await until(() => s.admitting === 0, 2000, 'admission count back to 0');
  });
});
