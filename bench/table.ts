/** One measured row: onebridge and the raw baseline doing the same work in the same run. */
export interface Row {
  readonly name: string;
  /** onebridge's value, already formatted with its unit, or the number itself. */
  readonly onebridge: number;
  /** The raw `ws` / `node:http` value for the same work; undefined when the row has no baseline. */
  readonly baseline?: number;
  readonly unit: string;
  /**
   * The target, checked against `ratio` when a baseline exists, else against `onebridge`:
   * `{ min }` means value >= min, `{ max }` means value <= max. Undefined = informational row.
   */
  readonly target?: { readonly min: number } | { readonly max: number };
  /** What the target applies to; default: the ratio when there is a baseline, else the value. */
  readonly targetOn?: 'ratio' | 'value';
  /** Extra words printed after the row (e.g. "grace 1000 ms"). */
  readonly note?: string;
  /**
   * onebridge / raw for each round, each pair measured back to back. When given, the ratio is
   * their median, not the ratio of the two medians: on a shared VM the host's speed drifts
   * between rounds, and a pair measured back to back sees the same host. The spread is printed.
   */
  readonly pairedRatios?: readonly number[];
}

function middle(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A suite measures its rows and returns them; it must close everything it opened. */
export interface Suite {
  readonly name: string;
  readonly title: string;
  run(): Promise<Row[]>;
}

/** onebridge / baseline, or undefined when there is no baseline or it is zero. */
export function ratioOf(row: Row): number | undefined {
  if (row.pairedRatios?.length) return middle(row.pairedRatios);
  return row.baseline === undefined || row.baseline === 0 ? undefined : row.onebridge / row.baseline;
}

/** "median of N back-to-back pairs, 0.91-1.04x", for a row with paired ratios. */
function pairedNote(row: Row): string | undefined {
  const r = row.pairedRatios;
  if (!r?.length) return undefined;
  return `ratio: median of ${r.length} back-to-back pairs, ${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)}x`;
}

function onValue(row: Row): boolean {
  return (row.targetOn ?? (row.baseline === undefined ? 'value' : 'ratio')) === 'value';
}

/** True/false for rows with a target, undefined for informational rows. */
export function passes(row: Row): boolean | undefined {
  if (!row.target) return undefined;
  const value = onValue(row) ? row.onebridge : ratioOf(row);
  if (value === undefined || !Number.isFinite(value)) return false;
  return 'min' in row.target ? value >= row.target.min : value <= row.target.max;
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '-';
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

function targetText(row: Row): string {
  if (!row.target) return '-';
  const suffix = onValue(row) ? ` ${row.unit}` : 'x';
  return 'min' in row.target ? `>= ${row.target.min}${suffix}` : `<= ${row.target.max}${suffix}`;
}

/** The table as Markdown, so the same text goes to the terminal and to bench/README.md. */
export function formatTable(title: string, rows: readonly Row[]): string {
  const header = ['row', 'onebridge', 'raw', 'unit', 'ratio', 'target', 'ok'];
  const body = rows.map((row) => {
    const ratio = ratioOf(row);
    const ok = passes(row);
    return [
      [row.note, pairedNote(row)].filter(Boolean).length
        ? `${row.name} (${[row.note, pairedNote(row)].filter(Boolean).join('; ')})`
        : row.name,
      fmt(row.onebridge),
      fmt(row.baseline),
      row.unit,
      ratio === undefined ? '-' : `${ratio.toFixed(2)}x`,
      targetText(row),
      ok === undefined ? '' : ok ? 'PASS' : 'FAIL',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [`### ${title}`, '', line(header), sep, ...body.map(line), ''].join('\n');
}
