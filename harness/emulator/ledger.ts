/**
 * A per-request ledger of the boundary crossings between host and module: what a filter costs in
 * Envoy's V8 is mostly its crossings (≈ 85 ns per call into the VM; a host call that returns
 * data ≈ 0.7 µs, because the host re-enters the module's allocator), and unlike a clock these
 * counts are exact on a loaded machine.
 *
 *     vm.ledger = new CallLedger();   // or vm.ledger.clear() between requests
 *     ... drive a request ...
 *     vm.ledger.lines()               // ['-> proxy_on_context_create', '-> proxy_on_request_headers',
 *                                     //  '  <- proxy_get_property connection.id', '    -> malloc 8', ...]
 *
 * Entries, in order: `->` an export the host called (a crossing into the VM), `<-` an import the
 * module called (a crossing out, with what it asked for), `->` indented under it: the host
 * re-entering the module's allocator to hand data back (a second crossing in). Exports the module
 * does not have are not called, so they never appear (Envoy skips them as well).
 */
import { BufferType, MapType, MetricType, StreamType } from './enums';

export type LedgerEntry =
  | { kind: 'export'; name: string }
  | { kind: 'import'; name: string; detail: string }
  | { kind: 'alloc'; size: number };

/** What the emulator tells the ledger about the memory an import's arguments point at. */
export type GuestBytes = (ptr: number, len: number) => Uint8Array | undefined;

const nameOf = (table: Record<string, number>, n: number): string => Object.keys(table).find((k) => table[k] === n) ?? String(n);
const text = (b: Uint8Array | undefined): string => (b === undefined ? '?' : Buffer.from(b).toString('latin1'));
/** A property path as the guest spells it (segments split by 0x00), shown with dots. */
const propertyPath = (b: Uint8Array | undefined): string => text(b).split('\0').join('.');

/** The part of an import's arguments that says what it costs: the property, map, buffer, sizes. */
function describe(name: string, args: number[], bytes: GuestBytes): string {
  switch (name) {
    case 'proxy_get_property':
      return propertyPath(bytes(args[0], args[1]));
    case 'proxy_set_property':
      return `${propertyPath(bytes(args[0], args[1]))} ${args[3]} B`;
    case 'proxy_get_header_map_pairs':
    case 'proxy_get_header_map_size':
      return nameOf(MapType, args[0]);
    case 'proxy_get_header_map_value':
    case 'proxy_remove_header_map_value':
      return `${nameOf(MapType, args[0])} ${text(bytes(args[1], args[2]))}`;
    case 'proxy_get_buffer_bytes':
      return `${nameOf(BufferType, args[0])} ${args[1]}+${args[2]}`;
    case 'proxy_send_local_response':
      return `${args[0]} ${text(bytes(args[1], args[2]))}`;
    case 'proxy_define_metric':
      return `${nameOf(MetricType, args[0])} ${text(bytes(args[1], args[2]))}`;
    case 'proxy_increment_metric':
      return `${args[0]} +${args[1]}`;
    case 'proxy_close_stream':
      return nameOf(StreamType, args[0]);
    case 'proxy_set_tick_period_milliseconds':
      return `${args[0]} ms`;
    default:
      return '';
  }
}

export class CallLedger {
  readonly entries: LedgerEntry[] = [];

  clear(): void {
    this.entries.length = 0;
  }

  /** @internal The host called export `name`. */
  enter(name: string): void {
    this.entries.push({ kind: 'export', name });
  }

  /** @internal The module called import `name` with `args`. */
  call(name: string, args: unknown[], bytes: GuestBytes): void {
    const nums = args.map((a) => Number(a));
    this.entries.push({ kind: 'import', name, detail: describe(name, nums, bytes) });
  }

  /** @internal The host asked the module's allocator for `size` bytes. */
  alloc(size: number): void {
    this.entries.push({ kind: 'alloc', size });
  }

  /** The ledger as lines (see the file comment). */
  lines(): string[] {
    return this.entries.map((e) => {
      if (e.kind === 'export') return `-> ${e.name}`;
      if (e.kind === 'alloc') return `    -> malloc ${e.size}`;
      return `  <- ${e.name}${e.detail ? ` ${e.detail}` : ''}`;
    });
  }

  /** Totals: calls into the VM (exports + allocator re-entries), calls out, bytes the host handed in. */
  totals(): { into: number; exports: number; allocs: number; out: number; bytesIn: number } {
    let exports = 0;
    let allocs = 0;
    let out = 0;
    let bytesIn = 0;
    for (const e of this.entries) {
      if (e.kind === 'export') exports++;
      else if (e.kind === 'alloc') { allocs++; bytesIn += e.size; }
      else out++;
    }
    return { into: exports + allocs, exports, allocs, out, bytesIn };
  }
}
