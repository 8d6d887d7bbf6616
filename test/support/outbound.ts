import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** One contact of a channel's list, by column name. */
export type ContactRow = Readonly<Record<string, string>> & {
  readonly customerId: string;
  readonly offerId: string;
  readonly decisionId: string;
  readonly sendDate: string;
  readonly journey: string;
  readonly step: string;
};

export interface DecisionLine {
  readonly decisionId: string;
  readonly at: string;
  readonly customerId: string;
  readonly channel: string;
  readonly interactionId: string | null;
  readonly arm: string;
  readonly offers: readonly { readonly offerId: string; readonly group: string; readonly score: number }[];
}

export interface RunOutput {
  /** per channel: the header and the rows */
  readonly header: Readonly<Record<string, readonly string[]>>;
  readonly rows: Readonly<Record<string, readonly ContactRow[]>>;
  /** every channel's rows, with the channel */
  readonly contacts: readonly (ContactRow & { readonly channel: string })[];
  readonly decisions: readonly DecisionLine[];
  /** the files as written, by name */
  readonly raw: Readonly<Record<string, string>>;
}

export const OUTBOUND_CHANNELS = ['email', 'sms', 'direct-mail', 'outbound-call'] as const;

/** A run folder's contact lists and decisions. */
export async function readRun(dir: string, channels: readonly string[] = OUTBOUND_CHANNELS): Promise<RunOutput> {
  const header: Record<string, string[]> = {};
  const rows: Record<string, ContactRow[]> = {};
  const contacts: (ContactRow & { channel: string })[] = [];
  const raw: Record<string, string> = {};
  for (const channel of channels) {
    const text = await readFile(join(dir, `${channel}.csv`), 'utf8');
    raw[`${channel}.csv`] = text;
    const [head, ...body] = parseCsv(text);
    header[channel] = head!;
    rows[channel] = body.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])) as ContactRow);
    for (const r of rows[channel]) contacts.push({ ...r, channel });
  }
  const text = await readFile(join(dir, 'decisions.ndjson'), 'utf8');
  raw['decisions.ndjson'] = text;
  const decisions = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as DecisionLine);
  return { header, rows, contacts, decisions, raw };
}

/** The lines of a text, sorted: what two runs that wrote the same lines in another order share. */
export const sortedLines = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .sort();
