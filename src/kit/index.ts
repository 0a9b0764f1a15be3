/**
 * The platform kit: what every adapter needs, written once. Adapters import from here (or,
 * outside this repository, from `onebridge`), never from `src/transport/` internals.
 */
export {
  defineAdapter,
  type Adapter,
  type AdapterContext,
  type AdapterDefinition,
  type AdapterSpec,
  type AnyAdapterDefinition,
  type TrackedLink,
  type TrackLinkOptions,
} from '../adapter.js';
export type { AdminReply, AdminRequest, AdminRoute, AdminStream } from '../admin/route.js';
export { intIn, port, durationMs, host, token, selfId, listenAt, urlOf } from '../config/types.js';
export { OneBridgeError } from '../errors.js';
export { LruMap } from '../lru-map.js';
export type { Logger } from '../logger.js';
export { stringifyCQ, parseCQ } from '../onebot/cqcode.js';
export { groupMessageEvent, privateMessageEvent, now, type BotStatus, type Sender } from '../onebot/events.js';
export { formatMessage, plainText, toMessage, withArrayMessage } from '../onebot/message.js';
export { MessageStore, type StoredMessage } from '../onebot/message-store.js';
export { ActionError } from '../onebot/action-error.js';
export { Params } from '../onebot/params.js';
export type { ActionContext, ActionHandler, ActionTable } from '../onebot/router.js';
export {
  Retcode,
  type ActionRequest,
  type ActionResponse,
  type Message,
  type OneBotEvent,
  type Segment,
} from '../onebot/types.js';
export { USER_AGENT, VERSION } from '../package-info.js';
export { DEFAULT_MAX_JSON_DEPTH, depthMessage, parseUntrustedJson } from '../untrusted-json.js';
export { Backoff, type BackoffOptions } from '../transport/backoff.js';
export { BodyError, readBody } from './body.js';
export { DeadlineError, sleep, withDeadline, type DeadlineOptions } from './deadline.js';
export { signBody, verifyBody } from './hmac.js';
export { StableIds, type StableIdsOptions } from './ids.js';
export {
  ReconnectingLink,
  type LinkAttempt,
  type LinkState,
  type ReconnectingLinkOptions,
  type RetryAdvice,
} from './link.js';
export {
  CLOSE_TIMEOUT_MS,
  closeWebSocket,
  webSocketDialer,
  type WebSocketDialer,
  type WebSocketDialOptions,
} from './ws-dial.js';
export {
  PlatformMessages,
  type PlatformMessage,
  type PlatformMessagesOptions,
  type RecordedMessage,
} from './messages.js';
export { FACE_EMOTICONS, parseText, renderText, type ParseTextOptions, type RenderTextOptions } from './render.js';

// For adapters that run a server for their platform (the relay's receivers, webhooks): the same
// listen errors, auth, refusals and request guard as onebridge's own transports.
export { authorize, remoteOf } from '../transport/auth.js';
export { listen } from '../transport/listen.js';
export { rejectUpgrade } from '../transport/reject.js';
export { RequestGuard, type RefusalKind } from '../transport/request-guard.js';
export { requestUrl } from '../transport/request-url.js';
