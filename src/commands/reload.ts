import { OneBridgeError } from '../errors.js';
import { adminFetch, adminTarget, adminUrl, type StatusOptions } from './status.js';

interface ReloadAnswer {
  ok: boolean;
  applied?: string[];
  restart_required?: string[];
  error?: string;
  problems?: Array<{ path: string; message: string }>;
}

/**
 * `onebridge reload`: asks a running onebridge (its admin endpoint, `POST /reload`) to re-read
 * its config file and apply filters, action permissions, rate limits and log settings. Prints
 * what was applied and what needs a restart; an invalid file is an error and changes nothing.
 */
export async function reload(options: Omit<StatusOptions, 'json'>, out: NodeJS.WritableStream): Promise<void> {
  const { base, token } = adminTarget(options);
  const res = await adminFetch(
    base,
    adminUrl(base, '/reload'),
    token,
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' },
    options.timeoutMs,
  );
  const body = (await res.json()) as ReloadAnswer;
  if (!body.ok) {
    const problems = (body.problems ?? []).map((p) => `\n  ${p.path ? `${p.path}: ` : ''}${p.message}`).join('');
    throw new OneBridgeError(
      'ONEBRIDGE_RELOAD_REFUSED',
      `reload refused, nothing changed: ${body.error ?? 'unknown error'}${problems}`,
    );
  }
  const applied = body.applied ?? [];
  const restart = body.restart_required ?? [];
  out.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'no live change to apply\n');
  if (restart.length) out.write(`needs a restart (not applied): ${restart.join(', ')}\n`);
}
