import type { Logger } from '../logger.js';
import { ActionError, Params } from './params.js';
import { Retcode, type ActionRequest, type ActionResponse, type MessageFormat } from './types.js';

export interface ActionContext {
  readonly selfId: number;
  /** The caller's connection point format: actions that return messages use it. */
  readonly format: MessageFormat;
}

/** Returns the action's `data`, or throws ActionError for a failure with a retcode. */
export type ActionHandler = (params: Params, ctx: ActionContext) => unknown;
export type ActionTable = Readonly<Record<string, ActionHandler>>;

export function ok(data: unknown, echo?: unknown): ActionResponse {
  return withEcho({ status: 'ok', retcode: Retcode.OK, data: data ?? null, message: '', wording: '' }, echo);
}

export function failed(retcode: number, message: string, echo?: unknown): ActionResponse {
  return withEcho({ status: 'failed', retcode, data: null, message, wording: message }, echo);
}

function withEcho(res: ActionResponse, echo: unknown): ActionResponse {
  if (echo !== undefined) res.echo = echo;
  return res;
}

/**
 * Finds an action's handler and runs it. Tables are searched in order, so the first one
 * (core actions) can answer what every adapter shares. Always resolves: unknown actions,
 * bad params and handler crashes become failed responses, never a rejection or a hang.
 */
export class ActionRouter {
  readonly #tables: readonly ActionTable[];
  readonly #logger: Logger;

  constructor(tables: readonly ActionTable[], logger: Logger) {
    this.#tables = tables;
    this.#logger = logger;
  }

  handler(action: string): ActionHandler | undefined {
    for (const table of this.#tables) {
      if (Object.hasOwn(table, action)) return table[action];
    }
    return undefined;
  }

  async call(req: ActionRequest, ctx: ActionContext): Promise<ActionResponse> {
    const handler = this.handler(req.action);
    if (!handler) return failed(Retcode.NOT_FOUND, `unknown action: ${req.action}`, req.echo);
    try {
      return ok(await handler(new Params(req.params), ctx), req.echo);
    } catch (err) {
      if (err instanceof ActionError) return failed(err.retcode, err.message, req.echo);
      this.#logger.error(`action ${req.action} crashed: ${(err as Error).message}`, { stack: (err as Error).stack });
      return failed(Retcode.INTERNAL, `internal error in ${req.action}`, req.echo);
    }
  }
}
