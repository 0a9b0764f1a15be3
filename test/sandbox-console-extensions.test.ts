import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxWorldConfig } from '../adapters/sandbox/config.js';
import { SandboxConsole } from '../adapters/sandbox/console.js';
import { SandboxWorld, type WorldMessage, type WorldNotice } from '../adapters/sandbox/world.js';
import { getLogger } from '../src/logger.js';
import './support/app.js';

const consoles: SandboxConsole[] = [];
afterEach(() => {
  for (const c of consoles.splice(0)) c.stop();
});

/** A world with one bot and a console on piped streams (not a terminal), as under a service manager. */
function setup() {
  const world = new SandboxWorld(SandboxWorldConfig.parse({ console: false }));
  world.addBot(10001, 'bot');
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (d: Buffer) => (printed += d.toString()));
  const console = new SandboxConsole(world, { input, output, terminal: false, logger: getLogger('console-test'), onInterrupt: () => {} });
  consoles.push(console);
  console.start();
  const messages: WorldMessage[] = [];
  const notices: WorldNotice[] = [];
  world.on('message', (m) => messages.push(m));
  world.on('notice', (n) => notices.push(n));
  /** Types a line and waits until the console has printed something after it. */
  const type = async (line: string) => {
    const before = printed.length;
    const seen = messages.length + notices.length;
    input.write(`${line}\n`);
    const deadline = Date.now() + 5000;
    while (printed.length === before && messages.length + notices.length === seen) {
      if (Date.now() > deadline) throw new Error(`the console did nothing with ${JSON.stringify(line)}`);
      await new Promise((r) => setImmediate(r));
    }
  };
  return { world, type, messages, notices, printed: () => printed };
}

describe('sandbox console: the extensions by hand', () => {
  it('/forward sends a forward of the lines, from the console user, that get_forward_msg can read', async () => {
    const { world, type, messages } = setup();
    await type('/forward hello | second line');
    const m = messages.at(-1)!;
    expect(m).toMatchObject({ from: 20001, group_id: 30001, message: [{ type: 'forward', data: { id: expect.any(String) } }] });
    const nodes = world.forwards.find(String(m.message[0]!.data['id']))!;
    expect(nodes.map((n) => [n.user_id, n.nickname, n.content])).toEqual([
      [20001, 'Alice', [{ type: 'text', data: { text: 'hello' } }]],
      [20001, 'Alice', [{ type: 'text', data: { text: 'second line' } }]],
    ]);
  });

  it('/anon speaks anonymously in the current group; /anon in a private chat is refused', async () => {
    const { type, messages, printed } = setup();
    await type('/anon who am I');
    expect(messages.at(-1)).toMatchObject({ from: 20001, group_id: 30001, anonymous: { id: expect.any(Number), name: expect.any(String), flag: expect.stringMatching(/^\d+\|/) } });
    await type('/private');
    await type('/anon nope');
    expect(printed()).toContain('! usage: /anon <text>, while in a group');
  });

  it('/upload and /essence cause group_upload and essence notices; /help lists them', async () => {
    const { type, notices, messages, printed } = setup();
    await type('/upload slides.pdf 4096');
    expect(notices.at(-1)!.event(10001)).toMatchObject({ notice_type: 'group_upload', group_id: 30001, user_id: 20001, file: { name: 'slides.pdf', size: 4096 } });
    await type('important');
    await type(`/essence ${messages.at(-1)!.message_id}`);
    expect(notices.at(-1)!.event(10001)).toMatchObject({ notice_type: 'essence', sub_type: 'add', operator_id: 20001, sender_id: 20001 });
    await type('/help');
    expect(printed()).toMatch(/\/anon <text>[\s\S]*\/forward <a> \| <b>[\s\S]*\/upload <name>[\s\S]*\/essence <message_id>/);
  });
});
