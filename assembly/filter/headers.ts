// The request headers a filter needs, read with ONE host call.
//
// Every host call that returns data costs a crossing out of the VM plus a nested call back into
// it (the host asks the module's `malloc` for room): measured in Envoy 1.40 on the bench machine,
// one `proxy_get_header_map_value` costs about as much as one `proxy_get_header_map_pairs` that
// returns every header (≈ 1.3–1.4 µs each, bench/README.md). So the filters take the whole map
// once and pick their few headers out of it in the VM, instead of asking for each.
//
// Semantics match proxy_get_header_map_value: the FIRST value of a repeated header (Envoy keeps
// insertion order in the serialized map), names compared byte-exact (Envoy lower-cases them).
// A malformed or missing map reads as "every header absent": the decision then sees an empty
// :path / :authority and denies.
import { Bytes, HostKey, PairsReader, MapType, getHeaderPairs } from "../proxywasm";

export class RequestHeaders {
  private readonly serialized: Bytes = new Bytes();
  private readonly reader: PairsReader = new PairsReader();
  private readonly key: Bytes = new Bytes();
  private readonly val: Bytes = new Bytes();
  private readonly values: StaticArray<Bytes>;
  private readonly present: StaticArray<bool>;

  /** `names`: the headers wanted, lower case; their order is the index for value()/has(). */
  constructor(private readonly names: StaticArray<HostKey>) {
    const n = names.length;
    this.values = new StaticArray<Bytes>(n);
    this.present = new StaticArray<bool>(n);
    for (let i = 0; i < n; i++) this.values[i] = new Bytes();
  }

  /** Reads the current request's headers; then value(i) / has(i) until the callback returns. */
  read(): void {
    const n = this.names.length;
    for (let i = 0; i < n; i++) {
      unchecked(this.present[i] = false);
      unchecked(this.values[i]).clear();
    }
    if (!getHeaderPairs(MapType.HttpRequestHeaders, this.serialized)) return;
    const r = this.reader;
    if (!r.reset(this.serialized)) return;
    let missing = n;
    const key = this.key;
    const value = this.val;
    while (missing > 0 && r.next(key, value)) {
      for (let i = 0; i < n; i++) {
        if (unchecked(this.present[i]) || !key.equals(unchecked(this.names[i]))) continue;
        unchecked(this.values[i]).set(value.ptr, value.len);
        unchecked(this.present[i] = true);
        missing--;
        break;
      }
    }
    if (r.malformed) {
      // never decide on half a map
      this.serialized.clear();
      for (let i = 0; i < n; i++) {
        unchecked(this.present[i] = false);
        unchecked(this.values[i]).clear();
      }
    }
  }

  /** The whole map as read (proxy-wasm pairs encoding), for the facts; empty when unreadable. */
  // @ts-ignore: decorator
  @inline
  map(): Bytes { return this.serialized; }

  /** The first value of header i (empty when absent). */
  // @ts-ignore: decorator
  @inline
  value(i: i32): Bytes { return unchecked(this.values[i]); }

  /** Whether header i was present. */
  // @ts-ignore: decorator
  @inline
  has(i: i32): bool { return unchecked(this.present[i]); }
}
