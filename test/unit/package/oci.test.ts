/**
 * The compat-variant Wasm OCI image layout: every link of index → manifest → config/layer is
 * re-derived here from the bytes on disk (own sha256, own JSON parsing, zlib's gunzip), without
 * going through readOciImage; then readOciImage is checked against the same layout and tampering.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { OciError, packageOci, readOciImage } from '../../../harness/package/oci';
import { readTar } from '../../../harness/package/tar';

/** A valid Wasm module: the 8-byte preamble plus one custom section of `payload` bytes. */
function wasmModule(payload: number, seed = 0): Uint8Array {
  const name = Buffer.from('meshgate-test');
  const body = Buffer.concat([Buffer.from([name.length]), name, Buffer.alloc(payload, seed)]);
  const leb: number[] = [];
  for (let n = body.length; ; ) {
    const b = n & 0x7f;
    n >>>= 7;
    leb.push(n ? b | 0x80 : b);
    if (!n) break;
  }
  return new Uint8Array(Buffer.concat([Buffer.from('\0asm\x01\0\0\0', 'latin1'), Buffer.from([0, ...leb]), body]));
}

/** lib ES2022 has no WebAssembly typings; Node has the global. */
const wasmValidate = (b: Uint8Array): boolean => (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(b);
const sha = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

const MODULES: Array<[string, Uint8Array]> = [
  ['the 8-byte empty module', new Uint8Array(Buffer.from('\0asm\x01\0\0\0', 'latin1'))],
  ['a module with a 3000-byte custom section', wasmModule(3000, 7)],
];
const built = path.join(__dirname, '../../../build/meshgate.wasm');
if (fs.existsSync(built)) MODULES.push(['build/meshgate.wasm', new Uint8Array(fs.readFileSync(built))]);

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-oci-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshDir = () => path.join(tmp, `layout-${n++}`);

describe.each(MODULES)('packageOci with %s', (_what, wasm) => {
  test('test module is valid Wasm', () => {
    expect(wasmValidate(wasm)).toBe(true);
  });

  test('index → manifest → config/layer: digests, sizes, media types and annotation recomputed from the bytes', () => {
    const wasmFile = path.join(tmp, `m-${n}.wasm`);
    fs.writeFileSync(wasmFile, wasm);
    const dir = freshDir();
    const r = packageOci({ wasmFile, outDir: dir, tag: 'v1.2.3' });

    // oci-layout and the exact set of files
    expect(readJson(path.join(dir, 'oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const onDisk = fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));
    expect(onDisk.sort()).toEqual(r.files);
    expect(r.files.filter((f) => f.startsWith('blobs/sha256/'))).toHaveLength(3);
    for (const f of r.files.filter((f) => f.startsWith('blobs/'))) {
      expect(sha(fs.readFileSync(path.join(dir, f)))).toBe(`sha256:${path.basename(f)}`); // content-addressed
    }
    const blob = (digest: string) => new Uint8Array(fs.readFileSync(path.join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''))));

    // index
    const index = readJson(path.join(dir, 'index.json'));
    expect(index).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: r.manifestDigest,
          size: r.manifestSize,
          annotations: { 'org.opencontainers.image.ref.name': 'v1.2.3' },
        },
      ],
    });

    // manifest
    const manifestBytes = blob(r.manifestDigest);
    expect(sha(manifestBytes)).toBe(r.manifestDigest);
    expect(manifestBytes.length).toBe(index.manifests[0].size);
    const manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: r.configDigest, size: expect.any(Number) },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: r.layerDigest, size: expect.any(Number) }],
      annotations: { 'module.wasm.image/variant': 'compat' },
    });

    // config
    const configBytes = blob(manifest.config.digest);
    expect(sha(configBytes)).toBe(manifest.config.digest);
    expect(configBytes.length).toBe(manifest.config.size);
    const config = JSON.parse(Buffer.from(configBytes).toString('utf8'));

    // layer: gzip of a tar holding exactly plugin.wasm with the module's bytes
    const layer = blob(manifest.layers[0].digest);
    expect(sha(layer)).toBe(manifest.layers[0].digest);
    expect(layer.length).toBe(manifest.layers[0].size);
    expect(Array.from(layer.subarray(0, 10))).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]); // no name, no time stamp
    const tar = new Uint8Array(zlib.gunzipSync(layer));
    expect(sha(tar)).toBe(r.diffId);
    expect(config).toEqual({ architecture: 'wasm', os: 'wasip1', rootfs: { type: 'layers', diff_ids: [r.diffId] } });
    const entries = readTar(tar);
    expect(entries.map((e) => e.name)).toEqual(['plugin.wasm']);
    expect(entries[0]).toMatchObject({ type: '0', mode: 0o644, uid: 0, gid: 0, mtime: 0, uname: '', gname: '', size: wasm.length });
    expect(Buffer.from(entries[0].data).equals(Buffer.from(wasm))).toBe(true);
    expect(r.wasmDigest).toBe(sha(wasm));

    // and readOciImage agrees
    const img = readOciImage(dir, 'v1.2.3');
    expect(img.manifestDigest).toBe(r.manifestDigest);
    expect(Buffer.from(img.wasm).equals(Buffer.from(wasm))).toBe(true);
  });

  test('deterministic: two runs give byte-identical layouts and the same manifest digest', () => {
    const a = packageOci({ wasm, outDir: freshDir(), tag: 'x' });
    const b = packageOci({ wasm, outDir: freshDir(), tag: 'x' });
    expect(b.manifestDigest).toBe(a.manifestDigest);
    expect(b.files).toEqual(a.files);
    for (const f of a.files) expect(fs.readFileSync(path.join(b.dir, f)).equals(fs.readFileSync(path.join(a.dir, f)))).toBe(true);
  });
});

describe('packageOci options', () => {
  const wasm = wasmModule(100);

  test('a different module gives a different manifest digest; the tag changes only index.json', () => {
    const a = packageOci({ wasm, outDir: freshDir(), tag: 'a' });
    const b = packageOci({ wasm: wasmModule(100, 1), outDir: freshDir(), tag: 'a' });
    const c = packageOci({ wasm, outDir: freshDir(), tag: 'other' });
    const d = packageOci({ wasm, outDir: freshDir() });
    expect(b.manifestDigest).not.toBe(a.manifestDigest);
    expect(c.manifestDigest).toBe(a.manifestDigest);
    expect(d.manifestDigest).toBe(a.manifestDigest);
    expect(readJson(path.join(d.dir, 'index.json')).manifests[0].annotations).toBeUndefined();
  });

  test('rootIds add runtime-config.json (solo-io Wasm image spec) next to plugin.wasm', () => {
    const r = packageOci({ wasm, outDir: freshDir(), rootIds: ['meshgate_inbound', 'meshgate_egress'] });
    const img = readOciImage(r.dir);
    expect(img.entries.map((e) => e.name)).toEqual(['plugin.wasm', 'runtime-config.json']);
    expect(JSON.parse(Buffer.from(img.entries[1].data).toString('utf8'))).toEqual({
      type: 'envoy_proxy',
      abi_version: 'proxy_abi_version_0_2_1',
      config: { root_ids: ['meshgate_inbound', 'meshgate_egress'] },
    });
  });

  test('re-packaging into an existing layout replaces it (no stale blobs)', () => {
    const dir = freshDir();
    packageOci({ wasm, outDir: dir, tag: 'v1' });
    const r = packageOci({ wasm: wasmModule(200), outDir: dir, tag: 'v2' });
    expect(fs.readdirSync(path.join(dir, 'blobs', 'sha256'))).toHaveLength(3);
    expect(readOciImage(dir).tag).toBe('v2');
    expect(readOciImage(dir, 'v2').manifestDigest).toBe(r.manifestDigest);
  });

  test.each<[string, () => unknown, string]>([
    ['not Wasm', () => packageOci({ wasm: new Uint8Array(Buffer.from('{"json":1}')), outDir: freshDir() }), 'NOT_WASM'],
    ['missing file', () => packageOci({ wasmFile: path.join(tmp, 'nope.wasm'), outDir: freshDir() }), 'WASM_READ'],
    ['no module at all', () => packageOci({ outDir: freshDir() }), 'WASM_SOURCE'],
    ['bad tag', () => packageOci({ wasm, outDir: freshDir(), tag: 'v1/latest' }), 'TAG_SYNTAX'],
    ['bad root id', () => packageOci({ wasm, outDir: freshDir(), rootIds: ['meshgate inbound'] }), 'ROOT_ID_SYNTAX'],
    [
      'a non-empty directory that is not a layout',
      () => {
        const dir = freshDir();
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'precious.txt'), 'x');
        return packageOci({ wasm, outDir: dir });
      },
      'OUT_DIR',
    ],
  ])('refuses %s', (_what, run, code) => {
    let err: unknown;
    try {
      run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OciError);
    expect((err as OciError).code).toBe(code);
  });
});

describe('readOciImage finds tampering', () => {
  const setup = () => {
    const r = packageOci({ wasm: wasmModule(64), outDir: freshDir(), tag: 't' });
    return { r, blob: (d: string) => path.join(r.dir, 'blobs', 'sha256', d.slice(7)) };
  };
  const layoutInvalid = (dir: string, re: RegExp) => {
    expect(() => readOciImage(dir)).toThrow(OciError);
    expect(() => readOciImage(dir)).toThrow(re);
  };

  test('a changed layer blob', () => {
    const { r, blob } = setup();
    const b = fs.readFileSync(blob(r.layerDigest));
    b[b.length - 1] ^= 1;
    fs.writeFileSync(blob(r.layerDigest), b);
    layoutInvalid(r.dir, /LAYOUT_INVALID: layer blob sha256:[0-9a-f]+: content hashes to/);
  });

  test('a wrong size in index.json', () => {
    const { r } = setup();
    const idx = readJson(path.join(r.dir, 'index.json'));
    idx.manifests[0].size += 1;
    fs.writeFileSync(path.join(r.dir, 'index.json'), JSON.stringify(idx));
    layoutInvalid(r.dir, /descriptor size/);
  });

  test('an unknown tag', () => {
    const { r } = setup();
    expect(() => readOciImage(r.dir, 'nope')).toThrow(/NO_SUCH_TAG: .*no manifest tagged "nope" in index.json \(tags: "t"\)/);
  });
});
