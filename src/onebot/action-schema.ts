/**
 * The OneBot v11 standard actions and their params, as the spec's api chapter lists them.
 * The router checks requests against this before any handler runs, so a missing or wrongly
 * typed param is a 1400 naming it, whatever the adapter. Optional params are checked only
 * when present. Extension actions are not listed: they pass unchecked.
 */
export type ParamType = 'int' | 'bool' | 'string' | 'message' | 'object';
export type ParamSpec = Readonly<Record<string, `${ParamType}` | `${ParamType}?`>>;

export const STANDARD_ACTIONS = {
  send_private_msg: { user_id: 'int', message: 'message', auto_escape: 'bool?' },
  send_group_msg: { group_id: 'int', message: 'message', auto_escape: 'bool?' },
  send_msg: { message_type: 'string?', user_id: 'int?', group_id: 'int?', message: 'message', auto_escape: 'bool?' },
  delete_msg: { message_id: 'int' },
  get_msg: { message_id: 'int' },
  // go-cqhttp reads `message_id` first, then the spec's `id`: either may carry the forward id.
  get_forward_msg: { id: 'string?', message_id: 'string?' },
  send_like: { user_id: 'int', times: 'int?' },
  set_group_kick: { group_id: 'int', user_id: 'int', reject_add_request: 'bool?' },
  set_group_ban: { group_id: 'int', user_id: 'int', duration: 'int?' },
  set_group_anonymous_ban: { group_id: 'int', anonymous: 'object?', anonymous_flag: 'string?', flag: 'string?', duration: 'int?' },
  set_group_whole_ban: { group_id: 'int', enable: 'bool?' },
  set_group_admin: { group_id: 'int', user_id: 'int', enable: 'bool?' },
  set_group_anonymous: { group_id: 'int', enable: 'bool?' },
  set_group_card: { group_id: 'int', user_id: 'int', card: 'string?' },
  set_group_name: { group_id: 'int', group_name: 'string' },
  set_group_leave: { group_id: 'int', is_dismiss: 'bool?' },
  set_group_special_title: { group_id: 'int', user_id: 'int', special_title: 'string?', duration: 'int?' },
  set_friend_add_request: { flag: 'string', approve: 'bool?', remark: 'string?' },
  set_group_add_request: { flag: 'string', sub_type: 'string?', type: 'string?', approve: 'bool?', reason: 'string?' },
  get_login_info: {},
  get_stranger_info: { user_id: 'int', no_cache: 'bool?' },
  get_friend_list: {},
  get_group_info: { group_id: 'int', no_cache: 'bool?' },
  get_group_list: {},
  get_group_member_info: { group_id: 'int', user_id: 'int', no_cache: 'bool?' },
  get_group_member_list: { group_id: 'int' },
  get_group_honor_info: { group_id: 'int', type: 'string' },
  get_cookies: { domain: 'string?' },
  get_csrf_token: {},
  get_credentials: { domain: 'string?' },
  get_record: { file: 'string', out_format: 'string' },
  get_image: { file: 'string' },
  can_send_image: {},
  can_send_record: {},
  get_status: {},
  get_version_info: {},
  set_restart: { delay: 'int?' },
  clean_cache: {},
  '.handle_quick_operation': { context: 'object', operation: 'object' },
} as const satisfies Record<string, ParamSpec>;

export type StandardAction = keyof typeof STANDARD_ACTIONS;

export function isStandardAction(action: string): action is StandardAction {
  return Object.hasOwn(STANDARD_ACTIONS, action);
}
