// The parsed x-forwarded-client-cert values of one `identity.from: xfcc` policy, cached by their
// bytes: what the identity decision needs of a value (malformed or not, the last element's `By`,
// the caller its `URI` names) is a function of the value alone, so a gateway that forwards the
// same callers again and again has each value parsed and validated once.
//
// A gateway multiplexes many callers over a few keep-alive connections, so the key is the value,
// not the connection. The cached caller is an Identity used by reference (as the per-connection
// peer cache does, filter/peer.ts): it also remembers what the policy's `from` lists answered for
// it, so a repeated caller is matched with bit tests. The `By` check against the direct peer stays
// per request (sources.ts): it depends on the connection, not on the value.
//
// SETS × WAYS entries, set-associative by hash64 of the value, least recently used replaced; the
// bytes of every cached value are kept and compared in full on a hit. Values longer than MAX_KEY
// (a forwarded Cert= or a long chain of proxies) are parsed on every request, never cached. Every
// entry exists from configure time: a request allocates nothing.
import { hash64, sameBytes } from "../util/bytes";
import { Identity, ID_NO_URI_SAN, ID_MULTIPLE_URI_SANS } from "./identity";
import { XfccSummary, parseXfcc } from "./xfcc";

const SETS: i32 = 64;
const WAYS: i32 = 4;
/** Longest value cached, in bytes (Envoy's By;Hash;Subject;URI;DNS of one hop fits). */
const MAX_KEY: i32 = 512;

/** What the identity decision needs of one XFCC value. */
export class ForwardedValue {
  /** Not parsable (malformed_xfcc). */
  malformed: bool = false;
  /** The last element's `By` values (count) and the first one's bytes. */
  byCount: i32 = 0;
  byPtr: usize = 0;
  byLen: i32 = 0;
  /** The caller its `URI` names: authenticated, or failed with no_uri_san, multiple_uri_sans,
   *  invalid_spiffe_id or svid_root_id. Meaningful only when the value is not malformed. */
  readonly caller: Identity = new Identity();

  // the cache's bookkeeping: the value's length (-1: empty slot), hash and last use
  keyLen: i32 = -1;
  hash: u64 = 0;
  lastUse: u32 = 0;

  /** Parses the value [ptr, ptr+len); `byBase`: where its bytes will stay (the By view). */
  fill(ptr: usize, len: i32, byBase: usize, x: XfccSummary): void {
    if (!parseXfcc(ptr, len, x)) {
      this.malformed = true;
      this.byCount = 0;
      return;
    }
    this.malformed = false;
    this.byCount = x.byCount;
    if (x.byCount > 0) {
      this.byPtr = byBase + (unchecked(x.byPtr[0]) - ptr);
      this.byLen = unchecked(x.byLen[0]);
    }
    const c = this.caller;
    if (x.uriCount == 0 || (x.uriCount == 1 && unchecked(x.uriLen[0]) == 0)) c.fail(ID_NO_URI_SAN);
    else if (x.uriCount > 1) c.fail(ID_MULTIPLE_URI_SANS);
    else c.setId(unchecked(x.uriPtr[0]), unchecked(x.uriLen[0]));
  }
}

export class ForwardedCache {
  private readonly entries: StaticArray<ForwardedValue> = new StaticArray<ForwardedValue>(SETS * WAYS);
  /** The bytes of entry k's value at k * MAX_KEY (no pointers: nothing for the GC to trace). */
  private readonly keys: ArrayBuffer = new ArrayBuffer(SETS * WAYS * MAX_KEY);
  /** A value too long to cache, parsed per request. */
  private readonly uncached: ForwardedValue = new ForwardedValue();
  private readonly xfcc: XfccSummary = new XfccSummary();
  private clock: u32 = 0;

  constructor() {
    for (let k = 0; k < SETS * WAYS; k++) unchecked(this.entries[k] = new ForwardedValue());
  }

  /** The parsed value [ptr, ptr+len) of the current request. Valid until the next call; views
   *  into a value that was not cached live until the callback returns. */
  get(ptr: usize, len: i32): ForwardedValue {
    if (len > MAX_KEY) {
      const u = this.uncached;
      u.fill(ptr, len, ptr, this.xfcc);
      return u;
    }
    const h = hash64(ptr, len);
    const now = ++this.clock;
    const base = <i32>(h & <u64>(SETS - 1)) * WAYS;
    const keys = changetype<usize>(this.keys);
    let victim = base;
    let oldest = unchecked(this.entries[base]);
    for (let k = base; k < base + WAYS; k++) {
      const e = unchecked(this.entries[k]);
      if (e.hash == h && e.keyLen == len && sameBytes(keys + <usize>k * <usize>MAX_KEY, ptr, len)) {
        e.lastUse = now;
        return e;
      }
      // the least recently used way (u32 ages: wrap-around only misorders one eviction)
      if (now - e.lastUse > now - oldest.lastUse) { victim = k; oldest = e; }
    }
    const at = keys + <usize>victim * <usize>MAX_KEY;
    memory.copy(at, ptr, <usize>len);
    oldest.fill(at, len, at, this.xfcc);
    oldest.keyLen = len;
    oldest.hash = h;
    oldest.lastUse = now;
    return oldest;
  }
}
