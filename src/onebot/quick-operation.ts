import { toMessage } from './message.js';
import { ActionError } from './params.js';
import type { ActionContext, ActionRouter } from './router.js';
import { Retcode, type Message, type OneBotEvent } from './types.js';

/** Default for `ban_duration`, per the spec: 30 minutes. */
const DEFAULT_BAN_SECONDS = 30 * 60;

export interface QuickOperationResult {
  /** Actions run, in order, with their retcodes: for logs and tests. */
  readonly ran: Array<{ action: string; retcode: number; message: string }>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Carries out a quick operation: the answer a webhook receiver (or `.handle_quick_operation`)
 * gives to an event. Messages: `reply` (with `auto_escape`, and `at_sender`, default false
 * as in go-cqhttp and NapCat), `delete`, `kick`, `ban` (`ban_duration`, default 30 min; an anonymous sender is banned
 * through `set_group_anonymous_ban` and never kicked, as the spec says). Requests: `approve`,
 * `remark` (friend), `reason` (group). Each step goes through the account's router, so the
 * adapter does the work and a failure is reported, not thrown. Unknown fields are ignored.
 */
export async function runQuickOperation(router: ActionRouter, ctx: ActionContext, context: OneBotEvent, operation: Record<string, unknown>): Promise<QuickOperationResult> {
  const ran: QuickOperationResult['ran'] = [];
  const call = async (action: string, params: Record<string, unknown>) => {
    const res = await router.call({ action, params }, ctx);
    ran.push({ action, retcode: res.retcode, message: res.message });
  };
  const type = context.post_type;
  // Not for message_sent: answering the bot's own message would reply to itself, and a
  // receiver that always replies would loop through report_self_message.
  if (type === 'message') {
    const isGroup = context['message_type'] === 'group';
    const userId = context['user_id'];
    const anonymous = isObject(context['anonymous']) ? context['anonymous'] : undefined;
    if (operation['reply'] !== undefined && operation['reply'] !== null) {
      let reply: Message = toMessage(operation['reply'], operation['auto_escape'] === true, 'reply');
      // Only when asked: the spec's text says the default is true, but go-cqhttp and NapCat
      // (which webhook bots were written against) add the at only for `at_sender: true`, and
      // never for an anonymous sender, whose user_id is a shared placeholder.
      if (isGroup && operation['at_sender'] === true && userId !== undefined && !anonymous) {
        reply = [{ type: 'at', data: { qq: String(userId) } }, { type: 'text', data: { text: ' ' } }, ...reply];
      }
      await call('send_msg', isGroup ? { message_type: 'group', group_id: context['group_id'], message: reply } : { message_type: 'private', user_id: userId, message: reply });
    }
    if (operation['delete'] === true) await call('delete_msg', { message_id: context['message_id'] });
    // Per the spec an anonymous sender cannot be kicked, and is banned by its anonymous identity:
    // its user_id is a shared placeholder, so acting on it would hit the wrong target.
    if (isGroup && operation['kick'] === true && !anonymous) await call('set_group_kick', { group_id: context['group_id'], user_id: userId, reject_add_request: false });
    if (isGroup && operation['ban'] === true) {
      const duration = typeof operation['ban_duration'] === 'number' ? operation['ban_duration'] : DEFAULT_BAN_SECONDS;
      if (anonymous) await call('set_group_anonymous_ban', { group_id: context['group_id'], anonymous, duration });
      else await call('set_group_ban', { group_id: context['group_id'], user_id: userId, duration });
    }
  } else if (type === 'request' && typeof operation['approve'] === 'boolean') {
    if (context['request_type'] === 'friend') {
      await call('set_friend_add_request', { flag: context['flag'], approve: operation['approve'], remark: operation['remark'] ?? '' });
    } else if (context['request_type'] === 'group') {
      await call('set_group_add_request', { flag: context['flag'], sub_type: context['sub_type'], approve: operation['approve'], reason: operation['reason'] ?? '' });
    }
  }
  return { ran };
}

/** The hidden action `.handle_quick_operation` with params `{context, operation}`. */
export function quickOperationAction(router: () => ActionRouter) {
  return async (params: { raw: Readonly<Record<string, unknown>> }, ctx: ActionContext): Promise<null> => {
    const { context, operation } = params.raw;
    if (!isObject(context) || typeof context['post_type'] !== 'string') throw new ActionError(Retcode.BAD_REQUEST, 'param context: expected the event object being answered');
    if (!isObject(operation)) throw new ActionError(Retcode.BAD_REQUEST, 'param operation: expected an object');
    const { ran } = await runQuickOperation(router(), ctx, context as OneBotEvent, operation);
    const failedStep = ran.find((r) => r.retcode !== Retcode.OK);
    if (failedStep) throw new ActionError(failedStep.retcode, `${failedStep.action}: ${failedStep.message}`);
    return null;
  };
}
