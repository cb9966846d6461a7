/**
 * Packages build/meshgate.wasm as a Wasm OCI image in the "compat" variant and writes it as an
 * OCI Image Layout directory (opencontainers/image-spec image-layout.md), without Docker.
 *
 * The image (solo-io/wasm spec/spec-compat.md; what Istio's pkg/wasm/imagefetcher.go accepts as
 * the "compat" OCI image):
 *   - one layer, `application/vnd.oci.image.layer.v1.tar+gzip`: a tar holding `plugin.wasm`
 *     (and `runtime-config.json` only when `rootIds` are given);
 *   - an image config (`application/vnd.oci.image.config.v1+json`) with `rootfs.diff_ids` = the
 *     sha256 of the uncompressed tar; architecture `wasm`, os `wasip1` (Go's names for the target);
 *   - a manifest (`application/vnd.oci.image.manifest.v1+json`) with the annotation
 *     `module.wasm.image/variant: compat` (the spec requires it; Istio does not check it).
 *
 * On disk: `oci-layout`, `index.json` (one entry: the manifest, with
 * `org.opencontainers.image.ref.name: <tag>` when a tag is given) and `blobs/sha256/<hex>`.
 *
 * Deterministic: tar members have mtime 0, uid/gid 0, mode 0644; gzip has no name or time stamp
 * (see gzip.ts); JSON is written compactly with a fixed key order. The same module bytes give the
 * same manifest digest (on the same Node release; see gzip.ts for the one caveat).
 *
 * Which digest goes where: Istio compares `WasmPlugin.spec.sha256` (and a `@sha256:` in an
 * `oci://` URL) with the MANIFEST digest — `manifestDigest` here — as long as the registry serves
 * the manifest bytes unchanged. Push the manifest by tag (e.g. `skopeo copy oci:DIR:TAG
 * docker://REG/REPO:TAG`, `oras cp --from-oci-layout DIR:TAG REG/REPO:TAG`, or `crane push DIR
 * REG/REPO:TAG`), not as an image index: Istio resolves an index by platform linux/amd64, which
 * this image does not claim.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzip, gzipDeterministic } from './gzip';
import { readTar, writeTar, type TarEntry } from './tar';

export const MEDIA_TYPE = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const ANNOTATION = {
  variant: 'module.wasm.image/variant',
  refName: 'org.opencontainers.image.ref.name',
} as const;

/** The file in the layer Istio loads (matched by basename). */
export const PLUGIN_FILE = 'plugin.wasm';
/** Optional runtime metadata of the solo-io Wasm image spec (type, ABI version, root ids). */
export const RUNTIME_CONFIG_FILE = 'runtime-config.json';
/** The export that marks a proxy-wasm ABI 0.2.1 module; recorded as `abi_version` in runtime-config.json. */
export const ABI_VERSION = 'proxy_abi_version_0_2_1';

export type OciErrorCode =
  /** The .wasm file could not be read. */
  | 'WASM_READ'
  /** The module does not start with the Wasm magic and version 1 (`\0asm\x01\0\0\0`). */
  | 'NOT_WASM'
  /** Neither or both of `wasmFile` and `wasm` were given. */
  | 'WASM_SOURCE'
  /** The tag is not a valid OCI tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`). */
  | 'TAG_SYNTAX'
  /** A root id is empty, too long or has characters outside `[A-Za-z0-9_.-]`. */
  | 'ROOT_ID_SYNTAX'
  /** outDir exists, is not empty and is not an OCI layout (we never clobber other files). */
  | 'OUT_DIR'
  /** Reading: a file, digest, size or media type of the layout is wrong. */
  | 'LAYOUT_INVALID'
  /** Reading: no manifest with the requested tag, or several manifests and no tag given. */
  | 'NO_SUCH_TAG';

export class OciError extends Error {
  constructor(
    readonly code: OciErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'OciError';
  }
}

export interface PackageOciOptions {
  /** The module to package (e.g. build/meshgate.wasm). Exactly one of wasmFile and wasm. */
  wasmFile?: string;
  /** The module's bytes, instead of a file. */
  wasm?: Uint8Array;
  /** Directory for the OCI Image Layout; created if missing. An existing layout there is replaced. */
  outDir: string;
  /** Recorded as `org.opencontainers.image.ref.name` in index.json (tools use it as the tag to push). */
  tag?: string;
  /**
   * Root ids the module registers (meshgate: `meshgate_inbound`, `meshgate_egress`). When given,
   * the layer also carries runtime-config.json `{"type":"envoy_proxy","abi_version":…,
   * "config":{"root_ids":[…]}}`; when omitted the layer holds plugin.wasm only.
   */
  rootIds?: readonly string[];
}

export interface PackageOciResult {
  /** `sha256:<hex>` of the manifest bytes: what WasmPlugin.sha256 / `oci://…@sha256:` must carry. */
  manifestDigest: string;
  manifestSize: number;
  /** `sha256:<hex>` of the gzip layer blob. */
  layerDigest: string;
  /** `sha256:<hex>` of the image config blob. */
  configDigest: string;
  /** `sha256:<hex>` of the uncompressed tar (the config's rootfs.diff_ids[0]). */
  diffId: string;
  /** `sha256:<hex>` of the module bytes (what an http(s) URL's sha256 would be). */
  wasmDigest: string;
  tag?: string;
  /** The layout directory, absolute. */
  dir: string;
  /** Files written, relative to `dir`, sorted. */
  files: string[];
}

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const ROOT_ID_RE = /^[A-Za-z0-9_.-]{1,256}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Writes the module as a compat-variant Wasm OCI image into `outDir` (OCI Image Layout). */
export function packageOci(opts: PackageOciOptions): PackageOciResult {
  const wasm = loadWasm(opts);
  if (opts.tag !== undefined && !TAG_RE.test(opts.tag)) {
    throw new OciError('TAG_SYNTAX', `tag ${JSON.stringify(opts.tag)} is not a valid OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})`);
  }
  for (const [i, id] of (opts.rootIds ?? []).entries()) {
    if (!ROOT_ID_RE.test(id)) throw new OciError('ROOT_ID_SYNTAX', `rootIds[${i}]: ${JSON.stringify(id)} must be 1-256 characters of [A-Za-z0-9_.-]`);
  }

  const members = [{ name: PLUGIN_FILE, data: wasm }];
  if (opts.rootIds) {
    const runtimeConfig = { type: 'envoy_proxy', abi_version: ABI_VERSION, config: { root_ids: [...opts.rootIds] } };
    members.push({ name: RUNTIME_CONFIG_FILE, data: json(runtimeConfig) });
  }
  const tar = writeTar(members);
  const layer = gzipDeterministic(tar);
  const diffId = digest(tar);

  const config = json({
    architecture: 'wasm',
    os: 'wasip1',
    rootfs: { type: 'layers', diff_ids: [diffId] },
  });
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: { mediaType: MEDIA_TYPE.config, digest: digest(config), size: config.length },
    layers: [{ mediaType: MEDIA_TYPE.layer, digest: digest(layer), size: layer.length }],
    annotations: { [ANNOTATION.variant]: 'compat' },
  });
  const manifestDescriptor: Record<string, unknown> = { mediaType: MEDIA_TYPE.manifest, digest: digest(manifest), size: manifest.length };
  if (opts.tag !== undefined) manifestDescriptor.annotations = { [ANNOTATION.refName]: opts.tag };
  const index = json({ schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests: [manifestDescriptor] });
  const layout = json({ imageLayoutVersion: '1.0.0' });

  const dir = path.resolve(opts.outDir);
  prepareOutDir(dir);
  const files: string[] = [];
  const write = (rel: string, data: Uint8Array) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), data);
    files.push(rel);
  };
  for (const blob of [layer, config, manifest]) write(blobPath(digest(blob)), blob);
  write('index.json', index);
  write('oci-layout', layout);

  return {
    manifestDigest: digest(manifest),
    manifestSize: manifest.length,
    layerDigest: digest(layer),
    configDigest: digest(config),
    diffId,
    wasmDigest: digest(wasm),
    tag: opts.tag,
    dir,
    files: files.sort(),
  };
}

/** An image read back from a layout, every digest and size checked. */
export interface OciImage {
  manifestDigest: string;
  manifest: OciManifest;
  config: { architecture: string; os: string; rootfs: { type: string; diff_ids: string[] } };
  layerDigest: string;
  diffId: string;
  /** The tar members of the single layer. */
  entries: TarEntry[];
  /** The bytes of plugin.wasm. */
  wasm: Uint8Array;
  /** The ref name (tag) of the chosen index entry, if any. */
  tag?: string;
}

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  schemaVersion: number;
  mediaType?: string;
  config: OciDescriptor;
  layers: OciDescriptor[];
  annotations?: Record<string, string>;
}

/**
 * Reads a compat-variant Wasm image from an OCI Image Layout, following index → manifest →
 * config/layer and checking each blob's digest and size against its descriptor, the media types,
 * the diff_id, and that plugin.wasm is a Wasm module. `tag` selects the index entry by ref name;
 * without it the index must hold exactly one manifest.
 */
export function readOciImage(dir: string, tag?: string): OciImage {
  const layout = parseJson(readFile(dir, 'oci-layout'), 'oci-layout') as { imageLayoutVersion?: unknown };
  if (layout.imageLayoutVersion !== '1.0.0') bad(`oci-layout: imageLayoutVersion ${JSON.stringify(layout.imageLayoutVersion)}, expected "1.0.0"`);
  const index = parseJson(readFile(dir, 'index.json'), 'index.json') as { schemaVersion?: unknown; manifests?: OciDescriptor[] };
  if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) bad('index.json: not an OCI image index (schemaVersion 2, manifests[])');
  const manifests = index.manifests as OciDescriptor[];
  let chosen: OciDescriptor | undefined;
  if (tag !== undefined) {
    chosen = manifests.find((m) => m.annotations?.[ANNOTATION.refName] === tag);
    if (!chosen) {
      const tags = manifests.map((m) => m.annotations?.[ANNOTATION.refName]).filter((t) => t !== undefined);
      throw new OciError('NO_SUCH_TAG', `${dir}: no manifest tagged ${JSON.stringify(tag)} in index.json (tags: ${tags.map((t) => JSON.stringify(t)).join(', ') || 'none'})`);
    }
  } else {
    if (manifests.length !== 1) throw new OciError('NO_SUCH_TAG', `${dir}: index.json holds ${manifests.length} manifests; name one by tag`);
    chosen = manifests[0];
  }
  if (chosen.mediaType !== MEDIA_TYPE.manifest) bad(`index.json: manifest media type ${JSON.stringify(chosen.mediaType)}, expected ${MEDIA_TYPE.manifest}`);

  const manifest = parseJson(readBlob(dir, chosen, 'manifest'), 'manifest') as OciManifest;
  if (manifest.schemaVersion !== 2) bad(`manifest: schemaVersion ${JSON.stringify(manifest.schemaVersion)}, expected 2`);
  if (manifest.mediaType !== undefined && manifest.mediaType !== MEDIA_TYPE.manifest) bad(`manifest: mediaType ${JSON.stringify(manifest.mediaType)}`);
  if (manifest.config?.mediaType !== MEDIA_TYPE.config) bad(`manifest: config media type ${JSON.stringify(manifest.config?.mediaType)}, expected ${MEDIA_TYPE.config}`);
  if (!Array.isArray(manifest.layers) || manifest.layers.length !== 1) bad(`manifest: a compat image has exactly one layer, found ${manifest.layers?.length}`);
  const layerDesc = manifest.layers[0];
  if (layerDesc.mediaType !== MEDIA_TYPE.layer) bad(`manifest: layer media type ${JSON.stringify(layerDesc.mediaType)}, expected ${MEDIA_TYPE.layer}`);

  const config = parseJson(readBlob(dir, manifest.config, 'config'), 'config') as OciImage['config'];
  const layer = readBlob(dir, layerDesc, 'layer');
  let tar: Uint8Array;
  try {
    tar = gunzip(layer);
  } catch (e) {
    return bad(`layer ${layerDesc.digest}: not gzip (${(e as Error).message})`);
  }
  const diffId = digest(tar);
  const diffIds = config.rootfs?.diff_ids;
  if (config.rootfs?.type !== 'layers' || !Array.isArray(diffIds) || diffIds.length !== 1 || diffIds[0] !== diffId) {
    bad(`config: rootfs.diff_ids ${JSON.stringify(diffIds)} does not name the layer's uncompressed digest ${diffId}`);
  }
  const entries = readTar(tar);
  const plugin = entries.find((e) => path.posix.basename(e.name) === PLUGIN_FILE && e.type === '0');
  if (!plugin) bad(`layer ${layerDesc.digest}: no ${PLUGIN_FILE} (members: ${entries.map((e) => e.name).join(', ')})`);
  checkWasm(plugin!.data, `${PLUGIN_FILE} in layer ${layerDesc.digest}`);

  return {
    manifestDigest: chosen.digest,
    manifest,
    config,
    layerDigest: layerDesc.digest,
    diffId,
    entries,
    wasm: plugin!.data,
    tag: chosen.annotations?.[ANNOTATION.refName],
  };
}

/** `sha256:<lowercase hex>` of the bytes. */
export function digest(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Throws NOT_WASM unless the bytes start with the Wasm binary magic and version 1. */
export function checkWasm(data: Uint8Array, what: string): void {
  const head = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (data.length < 8 || head.some((b, i) => data[i] !== b)) {
    const got = Buffer.from(data.subarray(0, 8)).toString('hex');
    throw new OciError('NOT_WASM', `${what}: not a Wasm module (first bytes ${got || '(empty)'}, expected 0061736d01000000)`);
  }
}

function loadWasm(opts: PackageOciOptions): Uint8Array {
  if ((opts.wasmFile === undefined) === (opts.wasm === undefined)) {
    throw new OciError('WASM_SOURCE', 'give exactly one of wasmFile and wasm');
  }
  let data: Uint8Array;
  if (opts.wasmFile !== undefined) {
    try {
      data = new Uint8Array(fs.readFileSync(opts.wasmFile));
    } catch (e) {
      throw new OciError('WASM_READ', `${opts.wasmFile}: ${(e as Error).message}`);
    }
  } else {
    data = opts.wasm!;
  }
  checkWasm(data, opts.wasmFile ?? 'wasm');
  return data;
}

/** Creates dir, or empties an existing OCI layout there; refuses a non-empty directory of other files. */
function prepareOutDir(dir: string): void {
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    return;
  }
  if (!fs.statSync(dir).isDirectory()) throw new OciError('OUT_DIR', `${dir} exists and is not a directory`);
  const names = fs.readdirSync(dir);
  if (names.length === 0) return;
  if (!names.includes('oci-layout')) {
    throw new OciError('OUT_DIR', `${dir} is not empty and holds no OCI layout (no oci-layout file); refusing to write into it`);
  }
  for (const name of ['blobs', 'index.json', 'oci-layout']) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

function blobPath(d: string): string {
  return path.posix.join('blobs', 'sha256', d.slice('sha256:'.length));
}

function readBlob(dir: string, desc: OciDescriptor, what: string): Uint8Array {
  if (typeof desc?.digest !== 'string' || !DIGEST_RE.test(desc.digest)) bad(`${what}: digest ${JSON.stringify(desc?.digest)} is not sha256:<64 hex>`);
  const data = readFile(dir, blobPath(desc.digest));
  const actual = digest(data);
  if (actual !== desc.digest) bad(`${what} blob ${desc.digest}: content hashes to ${actual}`);
  if (desc.size !== data.length) bad(`${what} blob ${desc.digest}: descriptor size ${desc.size}, blob has ${data.length} bytes`);
  return data;
}

function readFile(dir: string, rel: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(path.join(dir, rel)));
  } catch (e) {
    return bad(`${path.join(dir, rel)}: ${(e as Error).message}`);
  }
}

function parseJson(data: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (e) {
    return bad(`${what}: not JSON (${(e as Error).message})`);
  }
}

function json(v: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify(v), 'utf8'));
}

function bad(message: string): never {
  throw new OciError('LAYOUT_INVALID', message);
}
