// A TLS ClientHello reader for the first bytes of a connection (or of a CONNECT tunnel): what a
// proxy that judges egress by SNI must read itself — never the TLS inspector's answer, which at a
// gateway is the outer hop's name.
//
// ClientHelloReader.read(ptr, len, endOfStream) parses from the first byte each time it is called
// (the host hands the whole undrained buffer on every callback), without allocating:
//   record layer (RFC 8446 §5.1): type 22 (handshake), version 0x03xx, length 1..2^14; a hello
//     may span several records, whose fragments are joined in the reader's own buffer;
//   handshake header (§4): type 1 (client_hello), 24-bit length ≤ MAX_CLIENT_HELLO;
//   ClientHello (§4.1.2): legacy_version, random, legacy_session_id (≤ 32), cipher_suites (even,
//     ≥ 2), legacy_compression_methods (≥ 1), then optionally extensions (their length must fill
//     the message exactly; each extension inside it; a type at most once, §4.2);
//   server_name (RFC 6066 §3): a non-empty ServerNameList; meshgate accepts exactly ONE entry, of
//     type host_name (0), non-empty. Several entries or another name type are `bad_sni` (the hello
//     is well-formed TLS, but there is no single name to judge), not `malformed`;
//   encrypted_client_hello (0xfe0d, draft-ietf-tls-esni): its presence is reported (`ech`): the
//     real name is encrypted and the visible one is only the public name.
// Results (HELLO_*): need_more (wait for bytes; at end of stream the caller reports malformed),
// not_tls (the first bytes are not a TLS handshake record), malformed, too_large (the handshake
// message announces more than MAX_CLIENT_HELLO), ok. For ok: the SNI state (SNI_*) and the name's
// bytes (a view into the reader's buffer, valid until the next read).

export const HELLO_OK: i32 = 0;
export const HELLO_NEED_MORE: i32 = 1;
export const HELLO_NOT_TLS: i32 = 2;
export const HELLO_MALFORMED: i32 = 3;
export const HELLO_TOO_LARGE: i32 = 4;

/** No server_name extension. */
export const SNI_NONE: i32 = 0;
/** Exactly one non-empty host_name: sniPtr/sniLen. */
export const SNI_ONE: i32 = 1;
/** Several names, another name type, or an empty name. */
export const SNI_UNUSABLE: i32 = 2;

/**
 * The largest ClientHello handshake message read (type + length + body): 64 KiB, the same as
 * Envoy's TLS inspector's maximum (`max_client_hello_size` may not exceed 64 KiB), so a hello
 * Envoy's inspector accepts is never refused here for its size. Real hellos are 0.5–2 KiB; with
 * post-quantum key shares about 2 KiB more.
 */
export const MAX_CLIENT_HELLO: i32 = 65536;
const MAX_FRAGMENT: i32 = 16384;
const HEADER: i32 = 4;

export const EXT_SERVER_NAME: u32 = 0x0000;
export const EXT_ECH: u32 = 0xfe0d;

// @ts-ignore: decorator
@inline function be16(p: usize): u32 { return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p + 1); }
// @ts-ignore: decorator
@inline function be24(p: usize): u32 { return (<u32>load<u8>(p) << 16) | (<u32>load<u8>(p + 1) << 8) | <u32>load<u8>(p + 2); }

export function helloStatusName(s: i32): string {
  switch (s) {
    case HELLO_OK: return "ok";
    case HELLO_NEED_MORE: return "need_more";
    case HELLO_NOT_TLS: return "not_tls";
    case HELLO_MALFORMED: return "malformed";
    case HELLO_TOO_LARGE: return "too_large";
  }
  return "unknown";
}

export class ClientHelloReader {
  /** The joined handshake fragments. */
  private readonly message: StaticArray<u8> = new StaticArray<u8>(MAX_CLIENT_HELLO);
  status: i32 = HELLO_NEED_MORE;
  sni: i32 = SNI_NONE;
  sniPtr: usize = 0;
  sniLen: i32 = 0;
  /** An encrypted_client_hello extension is present. */
  ech: bool = false;
  /** Input bytes up to the end of the record that completed the hello (HELLO_OK). */
  consumed: i32 = 0;

  /** Reads the hello from the first `len` bytes at `ptr`; returns (and keeps) the status. */
  read(ptr: usize, len: i32): i32 {
    this.sni = SNI_NONE;
    this.sniPtr = 0;
    this.sniLen = 0;
    this.ech = false;
    this.consumed = 0;
    const s = this.readRecords(ptr, len);
    this.status = s;
    return s;
  }

  private readRecords(ptr: usize, len: i32): i32 {
    if (len >= 1 && load<u8>(ptr) != 22) return HELLO_NOT_TLS;
    if (len >= 2 && load<u8>(ptr + 1) != 3) return HELLO_NOT_TLS;
    const msg = changetype<usize>(this.message);
    let have = 0;      // message bytes joined so far
    let want = -1;     // the whole message's size once its header is known
    let at = 0;
    while (true) {
      if (at + 5 > len) return HELLO_NEED_MORE;
      const r = ptr + <usize>at;
      if (load<u8>(r) != 22 || load<u8>(r + 1) != 3) return HELLO_MALFORMED; // interleaved non-handshake record
      const fragLen = <i32>be16(r + 3);
      if (fragLen == 0 || fragLen > MAX_FRAGMENT) return HELLO_MALFORMED;
      if (at + 5 + fragLen > len) {
        // a header split over records is read once its bytes are there; refuse a too-large
        // announcement as early as the partial fragment shows it
        if (want < 0 && have + (len - at - 5) >= HEADER) {
          const need = HEADER - have;
          if (need > 0) memory.copy(msg + <usize>have, r + 5, <usize>need);
          return this.header(msg) < 0 ? this.headerError(msg) : HELLO_NEED_MORE;
        }
        return HELLO_NEED_MORE;
      }
      let take = fragLen;
      if (want >= 0 && have + take > want) take = want - have; // bytes after the hello are not ours
      if (have + take > MAX_CLIENT_HELLO) take = MAX_CLIENT_HELLO - have;
      memory.copy(msg + <usize>have, r + 5, <usize>take);
      have += take;
      at += 5 + fragLen;
      if (want < 0 && have >= HEADER) {
        want = this.header(msg);
        if (want < 0) return this.headerError(msg);
      }
      if (want >= 0 && have >= want) {
        this.consumed = at;
        return this.body(msg + HEADER, want - HEADER);
      }
    }
    return HELLO_NEED_MORE; // not reached
  }

  /** The whole message size from its 4-byte header, or -1 (wrong type, too large). */
  private header(msg: usize): i32 {
    if (load<u8>(msg) != 1) return -1;
    const n = <i32>be24(msg + 1);
    if (n + HEADER > MAX_CLIENT_HELLO) return -1;
    return n + HEADER;
  }

  private headerError(msg: usize): i32 {
    return load<u8>(msg) != 1 ? HELLO_MALFORMED : HELLO_TOO_LARGE;
  }

  /** The ClientHello body (RFC 8446 §4.1.2) at p, n bytes. */
  private body(p: usize, n: i32): i32 {
    let i = 2 + 32; // legacy_version, random
    if (i + 1 > n) return HELLO_MALFORMED;
    const sid = <i32>load<u8>(p + <usize>i);
    if (sid > 32) return HELLO_MALFORMED;
    i += 1 + sid;
    if (i + 2 > n) return HELLO_MALFORMED;
    const suites = <i32>be16(p + <usize>i);
    if (suites < 2 || (suites & 1) != 0) return HELLO_MALFORMED;
    i += 2 + suites;
    if (i + 1 > n) return HELLO_MALFORMED;
    const comp = <i32>load<u8>(p + <usize>i);
    if (comp < 1) return HELLO_MALFORMED;
    i += 1 + comp;
    if (i > n) return HELLO_MALFORMED;
    if (i == n) return HELLO_OK; // no extensions (TLS 1.2 and earlier allow it): no SNI
    if (i + 2 > n) return HELLO_MALFORMED;
    const extLen = <i32>be16(p + <usize>i);
    i += 2;
    if (i + extLen != n) return HELLO_MALFORMED;
    // a type at most once: the types seen so far, scanned linearly (hellos carry ~10-20)
    const start = i;
    while (i < n) {
      if (i + 4 > n) return HELLO_MALFORMED;
      const type = be16(p + <usize>i);
      const len = <i32>be16(p + <usize>(i + 2));
      const data = i + 4;
      if (data + len > n) return HELLO_MALFORMED;
      for (let k = start; k < i;) {
        if (be16(p + <usize>k) == type) return HELLO_MALFORMED;
        k += 4 + <i32>be16(p + <usize>(k + 2));
      }
      if (type == EXT_SERVER_NAME) {
        if (!this.serverName(p + <usize>data, len)) return HELLO_MALFORMED;
      } else if (type == EXT_ECH) {
        this.ech = true;
      }
      i = data + len;
    }
    return HELLO_OK;
  }

  /** RFC 6066 §3 ServerNameList; false when its structure is broken. */
  private serverName(p: usize, n: i32): bool {
    if (n < 2) return false;
    const listLen = <i32>be16(p);
    if (listLen + 2 != n || listLen == 0) return false;
    let i = 2;
    let count = 0;
    let hostNames = 0;
    while (i < n) {
      if (i + 3 > n) return false;
      const type = load<u8>(p + <usize>i);
      const len = <i32>be16(p + <usize>(i + 1));
      if (i + 3 + len > n) return false;
      count++;
      if (type == 0 && len > 0) {
        hostNames++;
        this.sniPtr = p + <usize>(i + 3);
        this.sniLen = len;
      }
      i += 3 + len;
    }
    this.sni = count == 1 && hostNames == 1 ? SNI_ONE : SNI_UNUSABLE;
    if (this.sni != SNI_ONE) {
      this.sniPtr = 0;
      this.sniLen = 0;
    }
    return true;
  }
}
