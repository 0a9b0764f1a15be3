import type { Logger } from './logger.js';
import { stringifyCQ } from './onebot/cqcode.js';
import type { ActionContext, ActionOutcome } from './onebot/router.js';
import type { ActionRequest, ActionResponse, Message, OneBotEvent } from './onebot/types.js';
import { baseAction, isSendAction, sendTarget } from './policy/permissions.js';

/** Longest message text shown in a log line; the rest becomes `…`. */
const MAX_TEXT = 100;

/** One line of message text: CQ code form, newlines escaped, truncated. */
export function messageText(value: unknown): string {
  const text = typeof value === 'string' ? value : Array.isArray(value) ? stringifyCQ(value as Message) : '';
  const line = text.replace(/\r?\n/g, '\\n');
  return line.length > MAX_TEXT ? `${line.slice(0, MAX_TEXT)}…` : line;
}

function who(event: OneBotEvent): string {
  const sender = (event['sender'] ?? {}) as Record<string, unknown>;
  const name = typeof sender['card'] === 'string' && sender['card'] ? sender['card'] : sender['nickname'];
  return `${typeof name === 'string' && name ? name : 'user'}(${String(event['user_id'])})`;
}

/**
 * The traffic lines go-cqhttp users know: messages received and sent at info (`log.messages`,
 * on by default), and every action at debug with its caller, outcome and time. One per
 * account. It only formats and logs; it never changes what is delivered.
 */
export class TrafficLog {
  readonly #logger: Logger;
  #messages: boolean;

  constructor(logger: Logger, messages: boolean) {
    this.#logger = logger;
    this.#messages = messages;
  }

  /** Live reload of `log.messages`. */
  set messages(on: boolean) {
    this.#messages = on;
  }

  event(event: OneBotEvent): void {
    if (!this.#messages) return;
    const type = event.post_type;
    if (type !== 'message' && type !== 'message_sent') return;
    const text = `${messageText(event['message'] ?? event['raw_message'])} (id ${String(event['message_id'])})`;
    const group = event['message_type'] === 'group';
    if (type === 'message_sent') {
      this.#logger.info(`self message in ${group ? `group ${String(event['group_id'])}` : `private chat with ${String(event['target_id'] ?? event['user_id'])}`}: ${text}`);
    } else if (group) {
      this.#logger.info(`group ${String(event['group_id'])} message from ${who(event)}: ${text}`);
    } else {
      this.#logger.info(`private message from ${who(event)}: ${text}`);
    }
  }

  action(req: ActionRequest, res: ActionResponse, outcome: ActionOutcome, ms: number, ctx: ActionContext): void {
    if (this.#messages && outcome === 'ok' && isSendAction(req.action)) {
      const target = sendTarget(req.action, req.params);
      const id = (res.data as { message_id?: unknown } | null)?.message_id;
      const forward = baseAction(req.action).endsWith('forward_msg');
      const body = forward ? '[forward message]' : messageText(req.params['message']);
      this.#logger.info(`sent ${target?.kind === 'group' ? `group message to ${target.id}` : `private message to ${target?.id ?? '?'}`}: ${body}${id !== undefined ? ` (id ${String(id)})` : ''}`);
    }
    if (this.#logger.isDebugEnabled?.() ?? true) {
      const from = ctx.conn ? `#${ctx.conn.id} ${ctx.conn.transport}` : 'internal';
      this.#logger.debug(`action ${req.action} from ${from}: ${outcome}${outcome === 'failed' || outcome === 'refused' ? ` ${res.retcode} ${res.message}` : ''} in ${ms.toFixed(1)} ms`);
    }
  }
}
