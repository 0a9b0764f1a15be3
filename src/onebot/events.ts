import { stringifyCQ } from './cqcode.js';
import type { Message, OneBotEvent } from './types.js';

export const now = (): number => Math.floor(Date.now() / 1000);

/** What `get_status` answers and heartbeats carry. */
export interface BotStatus {
  online: boolean;
  good: boolean;
  [key: string]: unknown;
}

export function lifecycleEvent(selfId: number, subType: 'connect' | 'enable' | 'disable'): OneBotEvent {
  return { time: now(), self_id: selfId, post_type: 'meta_event', meta_event_type: 'lifecycle', sub_type: subType };
}

export function heartbeatEvent(selfId: number, status: BotStatus, intervalMs: number): OneBotEvent {
  return { time: now(), self_id: selfId, post_type: 'meta_event', meta_event_type: 'heartbeat', status, interval: intervalMs };
}

export interface Sender {
  user_id: number;
  nickname: string;
  sex?: string;
  age?: number;
  card?: string;
  role?: string;
  title?: string;
}

export function privateMessageEvent(selfId: number, m: { message_id: number; user_id: number; message: Message; sender: Sender; sub_type?: 'friend' | 'group' | 'other'; time?: number }): OneBotEvent {
  return {
    time: m.time ?? now(),
    self_id: selfId,
    post_type: 'message',
    message_type: 'private',
    sub_type: m.sub_type ?? 'friend',
    message_id: m.message_id,
    user_id: m.user_id,
    message: m.message,
    raw_message: stringifyCQ(m.message),
    font: 0,
    sender: m.sender,
  };
}

/** `anonymous` set: sub_type `anonymous`, and `user_id`/`sender` should be the placeholder. */
export function groupMessageEvent(selfId: number, m: { message_id: number; group_id: number; user_id: number; message: Message; sender: Sender; time?: number; anonymous?: Readonly<Record<string, unknown>> | undefined }): OneBotEvent {
  return {
    time: m.time ?? now(),
    self_id: selfId,
    post_type: 'message',
    message_type: 'group',
    sub_type: m.anonymous ? 'anonymous' : 'normal',
    message_id: m.message_id,
    group_id: m.group_id,
    user_id: m.user_id,
    anonymous: m.anonymous ?? null,
    message: m.message,
    raw_message: stringifyCQ(m.message),
    font: 0,
    sender: m.sender,
  };
}
