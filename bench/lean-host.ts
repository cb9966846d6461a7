/**
 * meshgate − wasm-fetch inside V8, per request, without Envoy and without the emulator's costs:
 *
 *     node dist/bench/lean-host.js [--runs 5] [--sizes 10,100000] [--shapes mtls,xfcc] [--meshgate FILE] [--fetch FILE]
 *
 * A lean proxy-wasm host in JavaScript serves exactly the calls of an inbound GET (the header map,
 * `connection.id`, the certificate on a connection's first request, the filter state, counters)
 * with fixed answers: a few ns of host work per call, the same for both modules. Each request is
 * what Envoy drives: proxy_on_context_create, proxy_on_request_headers, proxy_on_delete, with the
 * host's re-entries into `malloc`. build/meshgate.wasm (meshgate_inbound, the bench's policy of N
 * identities, an allowed request from one of them on a warm connection) against
 * build/bench-fetch.wasm (the same reads, no decision); the difference is what deciding and acting
 * (decide, the filter-state record, counting) cost in the VM. The crossings themselves are counted,
 * not timed: test/unit/emulator/hot-path-ledger.test.ts.
 *
 * Shapes (as `npm run bench`'s, bench/variants.ts): `mtls` — one connection, the caller's own
 * certificate; `xfcc` — the trusted gateway's certificate on CONNECTIONS connections taking turns,
 * each request naming one of 64 callers in x-forwarded-client-cert (each connection cycles through
 * its share of them, as the bench's connections do).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { presentRequest, peerCertificate } from '../harness/emulator/request';
import { serializePairs } from '../harness/emulator/pairs';
import { TestCa } from '../harness/pki/ca';
import { flag, runMain } from './cli-args';
import { benchModule } from './modules';
import { GATEWAY_ID, identityAt, inboundPolicy, spreadPositions, TRUST_DOMAIN } from './policies';
import { CONNECTIONS } from './variants';
import { median } from './stats';

// lib is ES2022 without DOM typings: reach the WebAssembly API untyped.
const WA: any = (globalThis as any).WebAssembly;

const NOT_FOUND = 1;

/** What the host serves; request i gets connection i % connections.length and that
 *  connection's next header map. */
interface Served {
  rootId: string;
  config: Buffer;
  /** Per connection: its id (8 bytes LE) and the header maps its requests cycle through. */
  connections: { id: Buffer; headers: Buffer[] }[];
  certificate: Buffer;
}

/** One module under the lean host, configured, ready for requests. */
class LeanVm {
  private ex: any;
  private nextId = 2;
  private request = 0;
  private connectionId: Buffer;
  private headers: Buffer;
  setProperties = 0;

  private constructor(private readonly served: Served) {
    this.connectionId = served.connections[0].id;
    this.headers = served.connections[0].headers[0];
  }

  static async start(file: string, served: Served): Promise<LeanVm> {
    const vm = new LeanVm(served);
    const { instance } = await WA.instantiate(fs.readFileSync(file), { env: vm.imports() });
    vm.ex = instance.exports;
    vm.ex._initialize?.();
    vm.ex.proxy_on_context_create(1, 0);
    if (vm.ex.proxy_on_configure(1, served.config.length) === 0) throw new Error(`${file}: configure refused`);
    return vm;
  }

  private mem(): Uint8Array {
    return new Uint8Array(this.ex.memory.buffer);
  }

  /** Hands `data` to the module as the ABI does: its malloc, a copy, the return slots. */
  private give(data: Buffer, retPtr: number, retSize: number): number {
    const p = this.ex.malloc(data.length);
    const m = this.mem();
    m.set(data, p);
    const v = new DataView(m.buffer);
    v.setUint32(retPtr, p, true);
    v.setUint32(retSize, data.length, true);
    return 0;
  }

  private imports(): Record<string, Function> {
    const s = this.served;
    let metricId = 1;
    return {
      proxy_log: () => 0,
      proxy_get_log_level: (ret: number) => (new DataView(this.ex.memory.buffer).setInt32(ret, 2, true), 0),
      proxy_set_tick_period_milliseconds: () => 0,
      proxy_set_property: () => (this.setProperties++, 0),
      proxy_set_buffer_bytes: () => 0,
      proxy_send_local_response: () => 0,
      proxy_increment_metric: () => 0,
      proxy_define_metric: (_t: number, _p: number, _l: number, ret: number) => (new DataView(this.ex.memory.buffer).setUint32(ret, metricId++, true), 0),
      proxy_get_property: (pp: number, pl: number, retPtr: number, retSize: number) => {
        const key = Buffer.from(this.mem().subarray(pp, pp + pl)).toString('latin1');
        if (key === 'plugin_root_id') return this.give(Buffer.from(s.rootId), retPtr, retSize);
        if (key === 'connection\0id') return this.give(this.connectionId, retPtr, retSize);
        if (key === 'connection\0peer_certificate') return this.give(s.certificate, retPtr, retSize);
        return NOT_FOUND;
      },
      proxy_get_header_map_pairs: (_t: number, retPtr: number, retSize: number) => this.give(this.headers, retPtr, retSize),
      proxy_get_buffer_bytes: (_t: number, _start: number, _len: number, retPtr: number, retSize: number) => this.give(s.config, retPtr, retSize),
      proxy_close_stream: () => 0,
      proxy_call_foreign_function: () => NOT_FOUND,
    };
  }

  /** `n` requests, Envoy's callbacks for each; ns per request. */
  requests(n: number): number {
    const ex = this.ex;
    const conns = this.served.connections;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = this.request++;
      const c = conns[r % conns.length];
      this.connectionId = c.id;
      this.headers = c.headers[Math.floor(r / conns.length) % c.headers.length];
      const id = this.nextId++;
      ex.proxy_on_context_create(id, 1);
      ex.proxy_on_request_headers(id, 6, 1);
      ex.proxy_on_delete(id);
    }
    return Number(process.hrtime.bigint() - t0) / n;
  }
}

const XFCC_CALLERS = 64;
const PATHS = ['/api/items/1', '/api/items/2', '/api/orders/3', '/api/items/4'];

function headerMap(path: string, xfcc?: string): Buffer {
  const headers: [string, string][] = xfcc === undefined ? [] : [['x-forwarded-client-cert', xfcc]];
  return serializePairs(presentRequest({ method: 'GET', path, authority: 'bench', scheme: 'https', headers }).requestHeaders);
}

function connectionId(k: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(7 + k));
  return b;
}

/** The connections of a shape and the certificate they show, for a policy of n identities. */
async function shapeOf(shape: Shape, n: number, ca: TestCa): Promise<Pick<Served, 'connections' | 'certificate'>> {
  if (shape === 'mtls') {
    const cert = peerCertificate((await ca.mintSvid(identityAt(Math.floor(n / 2)))).certPem);
    return { certificate: Buffer.from(cert.encodedPem), connections: [{ id: connectionId(0), headers: [headerMap(PATHS[0])] }] };
  }
  const gateway = peerCertificate((await ca.mintSvid(GATEWAY_ID)).certPem);
  const callers = spreadPositions(n, XFCC_CALLERS).map(identityAt);
  const connections = [];
  for (let k = 0; k < CONNECTIONS; k++) {
    const mine = callers.filter((_, i) => i % CONNECTIONS === k);
    const ids = mine.length ? mine : [callers[k % callers.length]];
    connections.push({ id: connectionId(k), headers: ids.map((id, i) => headerMap(PATHS[i % PATHS.length], `By=${GATEWAY_ID};URI=${id}`)) });
  }
  return { certificate: Buffer.from(gateway.encodedPem), connections };
}

type Shape = 'mtls' | 'xfcc';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '../..');
  const runs = Number(flag('runs', '5'));
  const sizes = flag('sizes', '10,100000').split(',').map(Number);
  const shapes = flag('shapes', 'mtls,xfcc').split(',') as Shape[];
  for (const shape of shapes) if (shape !== 'mtls' && shape !== 'xfcc') throw new Error(`--shapes: mtls or xfcc, not ${shape}`);
  const ca = await TestCa.create({ trustDomain: TRUST_DOMAIN });
  const fetchFile = path.resolve(flag('fetch', '') || benchModule(root, 'fetch').file);
  const meshgateFile = path.resolve(flag('meshgate', '') || path.join(root, 'build/meshgate.wasm'));
  console.log(`meshgate − wasm-fetch in V8 (lean host), ns per request (median of 50 batches of 2,000), ${runs} runs`);
  for (const shape of shapes) {
    for (const n of sizes) {
      const common = await shapeOf(shape, n, ca);
      const source = shape === 'xfcc' ? 'xfcc' : 'peer-certificate';
      const mg: number[] = [];
      const fe: number[] = [];
      for (let r = 0; r < runs; r++) {
        const meshgate = await LeanVm.start(meshgateFile, { ...common, rootId: 'meshgate_inbound', config: Buffer.from(JSON.stringify(inboundPolicy(n, source))) });
        const fetch = await LeanVm.start(fetchFile, { ...common, rootId: 'bench_fetch', config: Buffer.from('{}') });
        meshgate.requests(20_000);
        fetch.requests(20_000);
        const a: number[] = [];
        const b: number[] = [];
        for (let k = 0; k < 50; k++) {
          a.push(meshgate.requests(2_000));
          b.push(fetch.requests(2_000));
        }
        if (meshgate.setProperties === 0) throw new Error('meshgate set no filter state: the request was not decided');
        mg.push(median(a));
        fe.push(median(b));
      }
      const range = (v: number[]) => `${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)}`;
      const gap = mg.map((x, i) => x - fe[i]);
      console.log(`${shape} identities=${n}: meshgate ${range(mg)}  wasm-fetch ${range(fe)}  meshgate − fetch ${range(gap)}  runs [${gap.map((x) => x.toFixed(0)).join(' ')}]`);
    }
  }
}

runMain(main);
