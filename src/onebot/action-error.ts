import { OneBridgeError } from '../errors.js';

/**
 * A failed action with a retcode; routers answer it as `{status: "failed", retcode, message}`.
 * Throw it from an action handler for an answer the client should see; any other error becomes
 * retcode 1500 with a log line. It does not close the connection or stop other actions.
 */
export class ActionError extends OneBridgeError {
  readonly retcode: number;

  constructor(retcode: number, message: string) {
    super('ONEBRIDGE_ACTION_FAILED', message);
    this.retcode = retcode;
  }
}
