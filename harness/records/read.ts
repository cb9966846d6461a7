/**
 * Decision records from access-log files (or `-`, standard input), streamed line by line: the
 * caller sees one record at a time and memory stays flat however long the log. Nothing is skipped
 * silently: lines that are not records are counted (and the first few kept, with file:line), and
 * so are requests meshgate never decided (Envoy ended them first: a failed handshake, a codec
 * error) — see RecordTally.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { parseRecordLine, type DecisionRecord, type RecordRole } from './record';

/** `-`: read standard input. */
export const STDIN_SOURCE = '-';
const STDIN_NAME = '<stdin>';
/** How many examples of each kind of skipped line are kept. */
const KEPT = 5;

export interface Where {
  file: string;
  line: number;
}

export interface SkippedLine extends Where {
  message: string;
}

/** What reading found besides records. */
export class RecordTally {
  records = 0;
  /** Blank lines (not counted as anything else). */
  blank = 0;
  /** Lines that are not decision records (not JSON, a broken `meshgate` value, ...). */
  bad = 0;
  /** Requests the access log shows but meshgate did not decide. */
  undecided = 0;
  readonly badExamples: SkippedLine[] = [];
  readonly undecidedExamples: SkippedLine[] = [];

  /** `FILE:LINE: message` for every kept bad line, then a count of the rest. */
  describe(): string[] {
    const lines = this.badExamples.map((b) => `${b.file}:${b.line}: not a decision record: ${b.message}`);
    if (this.bad > this.badExamples.length) lines.push(`... and ${this.bad - this.badExamples.length} more lines that are not decision records`);
    if (this.undecided > 0) {
      const first = this.undecidedExamples[0];
      lines.push(`${this.undecided} logged request(s) without a meshgate decision (first: ${first.file}:${first.line}: ${first.message})`);
    }
    return lines;
  }
}

export interface ReadOptions {
  /** Role of lines that have no `role` key. */
  role?: RecordRole;
  /** Standard input (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

/**
 * Yields every record of the files in order with where it was read; `tally` counts the rest.
 * A file that cannot be opened throws (`cannot read FILE: reason`).
 */
export async function* readRecords(files: string[], tally: RecordTally, o: ReadOptions = {}): AsyncGenerator<{ record: DecisionRecord; where: Where }> {
  for (const file of files) {
    const name = file === STDIN_SOURCE ? STDIN_NAME : file;
    const input = file === STDIN_SOURCE ? (o.stdin ?? process.stdin) : await openFile(file);
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (line.trim() === '') {
        tally.blank++;
        continue;
      }
      const p = parseRecordLine(line, o.role);
      if (p.kind === 'record') {
        tally.records++;
        yield { record: p.record, where: { file: name, line: n } };
      } else if (p.kind === 'bad') {
        tally.bad++;
        if (tally.badExamples.length < KEPT) tally.badExamples.push({ file: name, line: n, message: p.message });
      } else {
        tally.undecided++;
        if (tally.undecidedExamples.length < KEPT) tally.undecidedExamples.push({ file: name, line: n, message: p.reason });
      }
    }
  }
}

function openFile(file: string): Promise<fs.ReadStream> {
  return new Promise((resolve, reject) => {
    const s = fs.createReadStream(file);
    s.once('open', () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`)));
  });
}
