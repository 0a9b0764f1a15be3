import { ActionError } from '../../src/onebot/params.js';
import { Retcode, type Message } from '../../src/onebot/types.js';
import { sayAnonymously } from './anonymous.js';
import { setEssence } from './essence.js';
import { uploadGroupFile, uploadPrivateFile } from './files.js';
import type { SandboxWorld } from './world.js';

export type Chat = { group_id: number } | { to: number };

/** Help lines for the commands below, appended to the console's own. */
export const EXTENSION_HELP = `  /anon <text>         say something anonymously in the current group
  /forward <a> | <b>   send a forward (merged chat) of these lines, each from you
  /upload <name> [size]  upload a file to the current group, or send it to the bot privately
  /essence <message_id> [off]  set (or remove) a group message as essence, as an admin`;

const usage = (text: string) => new ActionError(Retcode.BAD_REQUEST, `usage: ${text}`);

/**
 * The console's commands for the go-cqhttp extensions, so a person can try a bot's handling
 * of them by hand. Returns the line to print, '' when the world's own output says enough, or
 * undefined when `cmd` is not one of these. Refusals throw ActionError, as world operations do.
 */
export function extensionCommand(world: SandboxWorld, as: number, chat: Chat, cmd: string, args: string): string | undefined {
  switch (cmd) {
    case '/anon': {
      if (!('group_id' in chat)) throw usage('/anon <text>, while in a group (/group <group_id>)');
      if (!args) throw usage('/anon <text>');
      const m = sayAnonymously(world, as, chat.group_id, [{ type: 'text', data: { text: args } }]);
      return `(sent anonymously as ${m.anonymous?.name})`;
    }
    case '/forward': {
      const parts = args.split('|').map((p) => p.trim()).filter(Boolean);
      if (parts.length === 0) throw usage('/forward <line> | <line> …');
      const nodes: Message = parts.map((text) => ({ type: 'node', data: { user_id: as, nickname: world.displayName(as), content: [{ type: 'text', data: { text } }] } }));
      const m = world.say(as, chat, nodes);
      return `(forward ${String(m.message[0]?.data['id'])} sent as message ${m.message_id})`;
    }
    case '/upload': {
      const [name, sizeText] = args.split(/\s+/);
      const size = sizeText === undefined ? 0 : Number(sizeText);
      if (!name || !Number.isSafeInteger(size) || size < 0) throw usage('/upload <name> [size in bytes]');
      if ('group_id' in chat) uploadGroupFile(world, as, chat.group_id, name, size);
      else uploadPrivateFile(world, as, chat.to, name, size);
      return '';
    }
    case '/essence': {
      const [idText, off] = args.split(/\s+/);
      const id = Number(idText);
      if (!idText || !Number.isSafeInteger(id)) throw usage('/essence <message_id> [off]');
      setEssence(world, as, id, off !== 'off');
      return '';
    }
    default:
      return undefined;
  }
}
