// URI SANs of the peer certificate, from Envoy's `connection.peer_certificate` property
// (URL-encoded PEM, e.g. "-----BEGIN%20CERTIFICATE-----%0AMIIB...").
//
// Envoy's `connection.uri_san_peer_certificate` shows only the FIRST URI SAN, and a certificate
// with two URI SANs is not an X.509-SVID, so meshgate reads them all here:
//   1. percent-decode the property (a '%' must be followed by two hex digits);
//   2. take the first "-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----" block and
//      base64-decode it (RFC 4648 alphabet, whitespace ignored, '=' padding only at the end);
//   3. walk the DER (X.690; definite lengths of at most 4 bytes, every TLV inside its parent):
//      Certificate SEQUENCE → tbsCertificate SEQUENCE → [3] extensions → SEQUENCE OF Extension →
//      the one with extnID 2.5.29.17 (subjectAltName; a second one is malformed, RFC 5280
//      §4.2) → OCTET STRING → GeneralNames SEQUENCE → every [6] uniformResourceIdentifier (tag
//      0x86), reported as views into the parser's own buffer; and the facts the X.509-SVID leaf
//      rules need (svid.ts): basicConstraints (2.5.29.19) cA, keyUsage (2.5.29.15) bits, and
//      whether extKeyUsage (2.5.29.37) lists clientAuth. A second instance of any of these four
//      extensions is malformed (RFC 5280 §4.2).
// Nothing else of the certificate is interpreted: Envoy already verified it during the handshake.
//
//   const pc = new PeerCertificate();       // once; its buffer grows to the largest cert seen
//   const err = pc.parse(ptr, len);         // X509_OK or an error code
//   pc.uriCount; pc.uriPtr[i], pc.uriLen[i] (i < min(uriCount, X509_MAX_URIS))
//   pc.isCa; pc.hasKeyUsage, pc.keyUsage (KU_* bits); pc.hasExtKeyUsage, pc.clientAuth
// Views stay valid until the next parse(). No allocation once the buffer is large enough (it
// grows to the largest certificate seen, at most X509_MAX_INPUT bytes).

export const X509_OK: i32 = 0;
export const X509_NO_CERTIFICATE: i32 = 1; // empty input or no PEM certificate block
export const X509_BAD_PEM: i32 = 2;        // bad percent-encoding, unterminated block, bad base64
export const X509_BAD_DER: i32 = 3;        // the DER structure does not parse
export const X509_TOO_LARGE: i32 = 4;      // input larger than X509_MAX_INPUT

export const X509_MAX_URIS: i32 = 8;

// keyUsage bits (RFC 5280 §4.2.1.3) as the first two bytes of the BIT STRING, big-endian:
// bit n of the ASN.1 list is 0x8000 >> n.
export const KU_DIGITAL_SIGNATURE: u32 = 0x8000;
export const KU_KEY_CERT_SIGN: u32 = 0x0400;
export const KU_CRL_SIGN: u32 = 0x0200;
export const X509_MAX_INPUT: i32 = 256 * 1024;

export function x509CodeName(code: i32): string {
  switch (code) {
    case X509_OK: return "ok";
    case X509_NO_CERTIFICATE: return "no_certificate";
    case X509_BAD_PEM: return "bad_pem";
    case X509_BAD_DER: return "bad_der";
    case X509_TOO_LARGE: return "too_large";
  }
  return "unknown";
}

const BEGIN = "-----BEGIN CERTIFICATE-----";
const END = "-----END CERTIFICATE-----";

export class PeerCertificate {
  private store: ArrayBuffer = new ArrayBuffer(0);
  buf: usize = 0;
  cap: i32 = 0;
  /** DER bytes of the first certificate: [buf, buf+derLen). */
  derLen: i32 = 0;
  uriCount: i32 = 0;
  uriPtr: StaticArray<usize> = new StaticArray<usize>(X509_MAX_URIS);
  uriLen: StaticArray<i32> = new StaticArray<i32>(X509_MAX_URIS);
  /** basicConstraints cA (false when the extension is absent). */
  isCa: bool = false;
  /** Whether keyUsage is present, and its KU_* bits. */
  hasKeyUsage: bool = false;
  keyUsage: u32 = 0;
  /** Whether extKeyUsage is present, and whether it lists id-kp-clientAuth. */
  hasExtKeyUsage: bool = false;
  clientAuth: bool = false;

  private reset(): void {
    this.uriCount = 0;
    this.derLen = 0;
    this.isCa = false;
    this.hasKeyUsage = false;
    this.keyUsage = 0;
    this.hasExtKeyUsage = false;
    this.clientAuth = false;
  }

  private ensure(n: i32): void {
    if (n <= this.cap) return;
    let c = this.cap > 0 ? this.cap : 4096;
    while (c < n) c <<= 1;
    this.store = new ArrayBuffer(c); // contents need not survive: parse() refills it
    this.buf = changetype<usize>(this.store);
    this.cap = c;
  }

  /** Parses the URL-encoded (or plain) PEM at [ptr, ptr+len). */
  parse(ptr: usize, len: i32): i32 {
    this.reset();
    if (len <= 0) return X509_NO_CERTIFICATE;
    if (len > X509_MAX_INPUT) return X509_TOO_LARGE;
    this.ensure(len);
    const b = this.buf;
    // 1. percent-decode
    let n = 0;
    for (let i = 0; i < len; i++) {
      let c = <u32>load<u8>(ptr + <usize>i);
      if (c == 0x25) {
        if (i + 2 >= len) return X509_BAD_PEM;
        const h = hexv(load<u8>(ptr + <usize>(i + 1)));
        const l = hexv(load<u8>(ptr + <usize>(i + 2)));
        if (h < 0 || l < 0) return X509_BAD_PEM;
        c = <u32>((h << 4) | l);
        i += 2;
      }
      store<u8>(b + <usize>n, <u8>c);
      n++;
    }
    // 2. the first PEM certificate block
    const begin = find(b, n, BEGIN, 0);
    if (begin < 0) return X509_NO_CERTIFICATE;
    const bodyStart = begin + BEGIN.length;
    const end = find(b, n, END, bodyStart);
    if (end < 0) return X509_BAD_PEM;
    // base64-decode [bodyStart, end) in place to the start of the buffer
    let acc: u32 = 0;
    let bits = 0;
    let out = 0;
    let pad = 0;
    for (let i = bodyStart; i < end; i++) {
      const c = <u32>load<u8>(b + <usize>i);
      if (c == 0x0A || c == 0x0D || c == 0x20 || c == 0x09) continue;
      if (c == 0x3D) { pad++; continue; }
      if (pad > 0) return X509_BAD_PEM; // data after padding
      const v = b64v(c);
      if (v < 0) return X509_BAD_PEM;
      acc = (acc << 6) | <u32>v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        store<u8>(b + <usize>out, <u8>(acc >> <u32>bits));
        out++;
      }
    }
    if (pad > 2 || bits >= 6) return X509_BAD_PEM;
    this.derLen = out;
    // 3. DER walk
    return walkDer(this, b, out);
  }
}

// ---- DER -------------------------------------------------------------------------------------
// A TLV read result is returned through module-level scratch (no allocation): tag, content
// start and content end.
let tTag: u32 = 0;
let tStart: i32 = 0;
let tEnd: i32 = 0;

/** Reads the TLV at pos within [.., limit). Returns false if malformed. */
function readTlv(b: usize, pos: i32, limit: i32): bool {
  if (pos + 2 > limit) return false;
  const tag = <u32>load<u8>(b + <usize>pos);
  if ((tag & 0x1F) == 0x1F) return false; // high tag numbers do not occur in certificates
  let l = <u32>load<u8>(b + <usize>(pos + 1));
  let p = pos + 2;
  if (l >= 0x80) {
    const k = <i32>(l & 0x7F);
    if (k == 0 || k > 4 || p + k > limit) return false; // indefinite or absurd lengths
    l = 0;
    for (let i = 0; i < k; i++) l = (l << 8) | <u32>load<u8>(b + <usize>(p + i));
    p += k;
    if (l > <u32>(limit - p)) return false;
  }
  if (<i32>l > limit - p) return false;
  tTag = tag;
  tStart = p;
  tEnd = p + <i32>l;
  return true;
}

// The extensions the parser reads (bits of the "seen" mask: a second instance is malformed).
const EXT_OTHER: i32 = 0;
const EXT_SAN: i32 = 1;
const EXT_BASIC_CONSTRAINTS: i32 = 2;
const EXT_KEY_USAGE: i32 = 4;
const EXT_EXT_KEY_USAGE: i32 = 8;

/** Which extension the extnID OID [tStart, tEnd) names: 2.5.29.{17,19,15,37} = 55 1D {11,13,0F,25}. */
function extensionKind(b: usize, start: i32, end: i32): i32 {
  if (end - start != 3 || load<u8>(b + <usize>start) != 0x55 || load<u8>(b + <usize>(start + 1)) != 0x1D) return EXT_OTHER;
  const last = load<u8>(b + <usize>(start + 2));
  if (last == 0x11) return EXT_SAN;
  if (last == 0x13) return EXT_BASIC_CONSTRAINTS;
  if (last == 0x0F) return EXT_KEY_USAGE;
  if (last == 0x25) return EXT_EXT_KEY_USAGE;
  return EXT_OTHER;
}

/** id-kp-clientAuth, 1.3.6.1.5.5.7.3.2, as OID content bytes. */
const CLIENT_AUTH: StaticArray<u8> = [0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

function isClientAuth(b: usize, start: i32, end: i32): bool {
  if (end - start != CLIENT_AUTH.length) return false;
  for (let i = 0; i < CLIENT_AUTH.length; i++) if (load<u8>(b + <usize>(start + i)) != unchecked(CLIENT_AUTH[i])) return false;
  return true;
}

function walkDer(pc: PeerCertificate, b: usize, n: i32): i32 {
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
  if (!readTlv(b, 0, n) || tTag != 0x30) return X509_BAD_DER;
  const certEnd = tEnd;
  if (!readTlv(b, tStart, certEnd) || tTag != 0x30) return X509_BAD_DER;
  const tbsEnd = tEnd;
  let p = tStart;
  let seen = 0;
  while (p < tbsEnd) {
    if (!readTlv(b, p, tbsEnd)) return X509_BAD_DER;
    const next = tEnd;
    if (tTag == 0xA3) {
      // [3] EXPLICIT Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
      if (!readTlv(b, tStart, next) || tTag != 0x30 || tEnd != next) return X509_BAD_DER;
      const extsEnd = tEnd;
      let q = tStart;
      while (q < extsEnd) {
        if (!readTlv(b, q, extsEnd) || tTag != 0x30) return X509_BAD_DER;
        const extEnd = tEnd;
        let r = tStart;
        q = extEnd;
        // extnID OBJECT IDENTIFIER
        if (!readTlv(b, r, extEnd) || tTag != 0x06) return X509_BAD_DER;
        const kind = extensionKind(b, tStart, tEnd);
        r = tEnd;
        // critical BOOLEAN DEFAULT FALSE
        if (!readTlv(b, r, extEnd)) return X509_BAD_DER;
        if (tTag == 0x01) {
          r = tEnd;
          if (!readTlv(b, r, extEnd)) return X509_BAD_DER;
        }
        // extnValue OCTET STRING
        if (tTag != 0x04 || tEnd != extEnd) return X509_BAD_DER;
        if (kind == EXT_OTHER) continue;
        if ((seen & kind) != 0) return X509_BAD_DER;
        seen |= kind;
        const ok = kind == EXT_SAN ? readSan(pc, b, tStart, tEnd)
          : kind == EXT_BASIC_CONSTRAINTS ? readBasicConstraints(pc, b, tStart, tEnd)
          : kind == EXT_KEY_USAGE ? readKeyUsage(pc, b, tStart, tEnd)
          : readExtKeyUsage(pc, b, tStart, tEnd);
        if (!ok) return X509_BAD_DER;
      }
      if (q != extsEnd) return X509_BAD_DER;
    }
    p = next;
  }
  return X509_OK;
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName: every [6] URI. */
function readSan(pc: PeerCertificate, b: usize, start: i32, end: i32): bool {
  if (!readTlv(b, start, end) || tTag != 0x30 || tEnd != end) return false;
  const gnEnd = tEnd;
  let g = tStart;
  while (g < gnEnd) {
    if (!readTlv(b, g, gnEnd)) return false;
    if (tTag == 0x86) {
      if (pc.uriCount < X509_MAX_URIS) {
        unchecked(pc.uriPtr[pc.uriCount] = b + <usize>tStart);
        unchecked(pc.uriLen[pc.uriCount] = tEnd - tStart);
      }
      pc.uriCount++;
    }
    g = tEnd;
  }
  return true;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }. */
function readBasicConstraints(pc: PeerCertificate, b: usize, start: i32, end: i32): bool {
  if (!readTlv(b, start, end) || tTag != 0x30 || tEnd != end) return false;
  const seqEnd = tEnd;
  if (tStart == seqEnd) return true;
  if (!readTlv(b, tStart, seqEnd)) return false;
  if (tTag != 0x01) return tTag == 0x02; // only pathLenConstraint
  if (tEnd - tStart != 1) return false;
  pc.isCa = load<u8>(b + <usize>tStart) != 0; // DER writes 0xFF; any non-zero byte reads as true
  return true;
}

/** KeyUsage ::= BIT STRING: the first two bytes after the unused-bits count. */
function readKeyUsage(pc: PeerCertificate, b: usize, start: i32, end: i32): bool {
  if (!readTlv(b, start, end) || tTag != 0x03 || tEnd != end || tEnd - tStart < 1) return false;
  let bits: u32 = 0;
  if (tEnd - tStart >= 2) bits = <u32>load<u8>(b + <usize>(tStart + 1)) << 8;
  if (tEnd - tStart >= 3) bits |= <u32>load<u8>(b + <usize>(tStart + 2));
  pc.hasKeyUsage = true;
  pc.keyUsage = bits;
  return true;
}

/** ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId (OBJECT IDENTIFIER). */
function readExtKeyUsage(pc: PeerCertificate, b: usize, start: i32, end: i32): bool {
  if (!readTlv(b, start, end) || tTag != 0x30 || tEnd != end) return false;
  const seqEnd = tEnd;
  let k = tStart;
  while (k < seqEnd) {
    if (!readTlv(b, k, seqEnd) || tTag != 0x06) return false;
    if (isClientAuth(b, tStart, tEnd)) pc.clientAuth = true;
    k = tEnd;
  }
  pc.hasExtKeyUsage = true;
  return true;
}

function hexv(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

function b64v(c: u32): i32 {
  if (c - 0x41 < 26) return <i32>(c - 0x41);
  if (c - 0x61 < 26) return <i32>(c - 0x61 + 26);
  if (c - 0x30 < 10) return <i32>(c - 0x30 + 52);
  if (c == 0x2B) return 62;
  if (c == 0x2F) return 63;
  return -1;
}

/** Index of the ASCII `s` in [b, b+n) at or after `from`, or -1. */
function find(b: usize, n: i32, s: string, from: i32): i32 {
  const m = s.length;
  const first = <u32>s.charCodeAt(0);
  for (let i = from; i + m <= n; i++) {
    if (<u32>load<u8>(b + <usize>i) != first) continue;
    let k = 1;
    while (k < m && <u32>load<u8>(b + <usize>(i + k)) == <u32>s.charCodeAt(k)) k++;
    if (k == m) return i;
  }
  return -1;
}
