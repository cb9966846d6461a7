/**
 * Deterministic gzip (RFC 1952): we write the 10-byte header and the 8-byte trailer ourselves
 * and let zlib produce only the raw DEFLATE stream. zlib's own gzip header records the build's
 * OS code (3 on Unix, 10 on Windows), so the same input would hash differently per platform;
 * ours is fixed: no file name, no comment, MTIME 0, OS 255 ("unknown").
 *
 * What stays version-dependent: the DEFLATE bytes come from the zlib bundled with Node, with fixed
 * parameters (level 9, window 15, memLevel 8, default strategy). Two runs on the same Node
 * release give identical bytes; a different zlib may compress differently, which changes the
 * layer digest but never the uncompressed tar (the OCI `diff_id`).
 */
import * as zlib from 'node:zlib';
import { concat } from './tar';

const LEVEL = 9;

export function gzipDeterministic(data: Uint8Array): Uint8Array {
  const header = Uint8Array.of(
    0x1f, 0x8b, // ID1 ID2
    8, // CM = deflate
    0, // FLG: no FTEXT/FHCRC/FEXTRA/FNAME/FCOMMENT
    0, 0, 0, 0, // MTIME = 0 (no time stamp available)
    2, // XFL = 2: compressor used maximum compression
    255, // OS = unknown
  );
  const body = zlib.deflateRawSync(data, { level: LEVEL, windowBits: 15, memLevel: 8, strategy: zlib.constants.Z_DEFAULT_STRATEGY });
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc32(data), true);
  view.setUint32(4, data.length >>> 0, true); // ISIZE: length mod 2^32
  return concat([header, body, trailer]);
}

export function gunzip(data: Uint8Array): Uint8Array {
  return new Uint8Array(zlib.gunzipSync(data));
}

let table: Uint32Array | undefined;

/** CRC-32 (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320), as gzip's trailer uses. */
export function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
