/**
 * Property values and names as the host keeps them: a value supplied by a test is encoded the
 * way Envoy serves it, and a name is the guest's path with its segments joined by '.'.
 */
import { serializePairs } from './pairs';
import type { PropertyValue } from './state';

export function encodeProperty(v: PropertyValue): Uint8Array {
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'bigint' || typeof v === 'number') {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v)));
    return b;
  }
  if (typeof v === 'boolean') return Uint8Array.of(v ? 1 : 0);
  if (Array.isArray(v)) return serializePairs(v);
  return v;
}

/**
 * Property names are the guest's path segments joined by '.', e.g. `connection.uri_san_peer_certificate`
 * for `connection\0uri_san_peer_certificate` (a key may also be given with 0x00 separators).
 */
export function propertyKey(name: string): string {
  return name.split('\0').join('.');
}

/** A name → value record as the host's property map. */
export function propertyMap(values: Record<string, PropertyValue> | undefined): Map<string, Uint8Array> {
  return new Map(Object.entries(values ?? {}).map(([k, v]) => [propertyKey(k), encodeProperty(v)]));
}
