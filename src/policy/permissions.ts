import type { ActionRequest } from '../onebot/types.js';

/** `network[].actions`: which actions a connection point's clients may call. */
export interface PermissionsConfig {
  /** Patterns with `*` wildcards; an action must match one. Default: everything. */
  readonly allow?: readonly string[] | undefined;
  /** Patterns with `*` wildcards; an action matching one is refused even if allowed. */
  readonly deny?: readonly string[] | undefined;
  /** Targets the send family may reach; an omitted list leaves that kind open, `[]` closes it. */
  readonly send_to?: { readonly groups?: readonly (number | string)[] | undefined; readonly users?: readonly (number | string)[] | undefined } | undefined;
}

const SUFFIXES = ['_async', '_rate_limited'] as const;

/**
 * Actions that send a message, by base name: the scope of `send_to` and of send pacing.
 * Extension forward-message actions are included: they post to a chat like send_msg does.
 */
export const SEND_FAMILY: ReadonlySet<string> = new Set(['send_msg', 'send_private_msg', 'send_group_msg', 'send_forward_msg', 'send_private_forward_msg', 'send_group_forward_msg']);

/** `send_msg_async` → `send_msg`; names without a known suffix are returned as is. */
export function baseAction(action: string): string {
  for (const s of SUFFIXES) if (action.endsWith(s) && action.length > s.length) return action.slice(0, -s.length);
  return action;
}

export function isSendAction(action: string): boolean {
  return SEND_FAMILY.has(baseAction(action));
}

/** `get_*` → /^get_.*$/; every other character literal. */
export function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

export interface SendTarget {
  readonly kind: 'group' | 'user';
  readonly id: string;
}

const idOf = (v: unknown) => (typeof v === 'number' || (typeof v === 'string' && v !== '') ? String(v) : undefined);

/**
 * Every target a send-family request could go to, as the check must see them: `send_msg` and
 * `send_forward_msg` without a `message_type` are read differently by implementations (go-cqhttp
 * prefers `user_id`, others `group_id`), so both ids count and both must be in scope. Undefined
 * when a needed id is missing or not an id, which the check refuses (fail closed).
 */
export function sendTargets(action: string, params: Readonly<Record<string, unknown>>): SendTarget[] | undefined {
  const base = baseAction(action);
  const one = (kind: SendTarget['kind']): SendTarget[] | undefined => {
    const id = idOf(kind === 'group' ? params['group_id'] : params['user_id']);
    return id === undefined ? undefined : [{ kind, id }];
  };
  if (base === 'send_group_msg' || base === 'send_group_forward_msg') return one('group');
  if (base === 'send_private_msg' || base === 'send_private_forward_msg') return one('user');
  if (params['message_type'] === 'group') return one('group');
  if (params['message_type'] === 'private') return one('user');
  const targets: SendTarget[] = [];
  for (const kind of ['group', 'user'] as const) {
    const key = kind === 'group' ? 'group_id' : 'user_id';
    if (params[key] === undefined) continue;
    const found = one(kind);
    if (!found) return undefined;
    targets.push(...found);
  }
  return targets.length ? targets : undefined;
}

/** Where a send-family request goes (for log lines), or undefined when its params do not say. */
export function sendTarget(action: string, params: Readonly<Record<string, unknown>>): SendTarget | undefined {
  const base = baseAction(action);
  const id = (v: unknown) => (typeof v === 'number' || (typeof v === 'string' && v !== '') ? String(v) : undefined);
  let kind: 'group' | 'user' | undefined;
  if (base === 'send_group_msg' || base === 'send_group_forward_msg') kind = 'group';
  else if (base === 'send_private_msg' || base === 'send_private_forward_msg') kind = 'user';
  else if (params['message_type'] === 'group') kind = 'group';
  else if (params['message_type'] === 'private') kind = 'user';
  else kind = params['group_id'] !== undefined ? 'group' : 'user';
  const target = id(kind === 'group' ? params['group_id'] : params['user_id']);
  return target === undefined ? undefined : { kind, id: target };
}

/**
 * A compiled `actions:` section. `check` returns why a request is refused, or undefined. Names
 * are matched with and without their `_async`/`_rate_limited` suffix, so denying `send_msg`
 * also denies `send_msg_async`; hidden actions (`.handle_quick_operation`) and extension
 * actions are names like any other (`*` matches them). It does not look inside a quick
 * operation: each step it runs is checked as its own action by the router.
 */
export class Permissions {
  readonly #allow: readonly RegExp[] | undefined;
  readonly #deny: ReadonlyArray<{ re: RegExp; pattern: string }>;
  readonly #groups: ReadonlySet<string> | undefined;
  readonly #users: ReadonlySet<string> | undefined;
  readonly #scoped: boolean;

  constructor(config: PermissionsConfig) {
    this.#allow = config.allow?.map(wildcard);
    this.#deny = (config.deny ?? []).map((pattern) => ({ re: wildcard(pattern), pattern }));
    this.#groups = config.send_to?.groups ? new Set(config.send_to.groups.map(String)) : undefined;
    this.#users = config.send_to?.users ? new Set(config.send_to.users.map(String)) : undefined;
    this.#scoped = config.send_to !== undefined;
  }

  check(req: Pick<ActionRequest, 'action' | 'params'>): string | undefined {
    const names = [req.action, baseAction(req.action)];
    const denied = this.#deny.find(({ re }) => names.some((n) => re.test(n)));
    if (denied) return `${req.action} is denied (actions.deny ${JSON.stringify(denied.pattern)})`;
    if (this.#allow && !this.#allow.some((re) => names.some((n) => re.test(n)))) return `${req.action} is not in actions.allow`;
    if (!this.#scoped || !isSendAction(req.action)) return undefined;
    const targets = sendTargets(req.action, req.params);
    if (!targets) return `${req.action} names no valid group_id or user_id, and actions.send_to limits where messages may go`;
    for (const target of targets) {
      const allowed = target.kind === 'group' ? this.#groups : this.#users;
      if (allowed && !allowed.has(target.id)) return `${target.kind} ${target.id} is outside actions.send_to.${target.kind === 'group' ? 'groups' : 'users'}`;
    }
    return undefined;
  }
}
