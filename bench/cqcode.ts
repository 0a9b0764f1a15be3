// CQ-string parse and serialise throughput (MB/s) on realistic chat messages.
import { parseCQ, stringifyCQ } from '../src/onebot/cqcode.js';
import type { Message } from '../src/onebot/types.js';
import { median } from './lib.js';
import type { Row, Suite } from './table.js';

const ROUNDS = 5;
const TARGET_BYTES = 20 * 1024 * 1024;

/** What bots mostly see: short texts, mentions, faces, an image, a reply, escapes now and then. */
function corpus(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const parts = [
      i % 3 === 0 ? `[CQ:reply,id=${1000 + i}]` : '',
      i % 2 === 0 ? `[CQ:at,qq=${20000 + (i % 50)}] ` : '',
      `message number ${i}: ${'hello world '.repeat(1 + (i % 5))}`,
      i % 4 === 0 ? '[CQ:face,id=14]' : '',
      i % 7 === 0 ? `[CQ:image,file=${i.toString(16)}.image,url=https://example.invalid/img?id=${i}&#44;x=1]` : '',
      i % 11 === 0 ? ' brackets &#91;like this&#93; &amp; more' : '',
    ];
    out.push(parts.join(''));
  }
  return out;
}

function rate(work: () => void, bytes: number): number {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    work();
    rounds.push(bytes / 1024 / 1024 / ((performance.now() - t0) / 1000));
  }
  return median(rounds);
}

export const cqcode: Suite = {
  name: 'cqcode',
  title: 'CQ codec throughput on realistic messages (MB of CQ text per second, one core)',
  async run(): Promise<Row[]> {
    const texts = corpus();
    const size = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
    const reps = Math.ceil(TARGET_BYTES / size);
    const parsed: Message[] = texts.map((t) => parseCQ(t));
    const parse = rate(() => {
      for (let r = 0; r < reps; r++) for (const t of texts) parseCQ(t);
    }, size * reps);
    const serialise = rate(() => {
      for (let r = 0; r < reps; r++) for (const m of parsed) stringifyCQ(m);
    }, size * reps);
    const json = rate(() => {
      for (let r = 0; r < reps; r++) for (const m of parsed) JSON.stringify(m);
    }, size * reps);
    return [
      {
        name: 'parse CQ string -> segments',
        onebridge: parse,
        unit: 'MB/s',
        note: `${texts.length} messages, avg ${Math.round(size / texts.length)} B`,
      },
      { name: 'serialise segments -> CQ string', onebridge: serialise, unit: 'MB/s' },
      { name: 'for scale: JSON.stringify of the same segments', onebridge: json, unit: 'MB/s' },
    ];
  },
};
