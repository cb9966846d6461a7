/**
 * `npm run bench -- --quick` end to end: real Envoy processes for every variant, the load
 * generator, the in-VM timings, the report files. Asserts the report's shape and that every
 * variant decided correctly — never a timing (the figures depend on the machine and its load).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, type BenchRun } from '../../bench/main';

jest.setTimeout(8 * 60_000);

const isNumberOrNull = (x: unknown) => x === null || (typeof x === 'number' && Number.isFinite(x));

describe('npm run bench -- --quick', () => {
  let run: BenchRun;
  let out: string;
  const lines: string[] = [];

  beforeAll(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-bench-test-'));
    run = await runBench({ quick: true, outDir: out, log: (l) => lines.push(l) });
  });
  afterAll(() => {
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  it('writes the JSON report, the Markdown summary and the SVG chart', () => {
    expect(path.dirname(run.files.json)).toBe(out);
    expect(path.basename(run.files.json)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.json$/);
    const json = JSON.parse(fs.readFileSync(run.files.json, 'utf8'));
    expect(json.meta.mode).toBe('quick');
    expect(fs.readFileSync(run.files.markdown, 'utf8')).toBe(run.summary);
    const svg = fs.readFileSync(run.files.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    for (const heading of ['## Inbound, mTLS', '## Inbound, XFCC', '## Egress', '## meshgate against its floors', '## Host calls in Envoy', '## Inside the VM', '## Memory', '## Targets']) {
      expect(run.summary).toContain(heading);
    }
  });

  it('measures every variant of every shape, each in every round, with no failed request', () => {
    const r = run.report;
    const kinds = (shape: string) => r.envoy.shapes.find((s) => s.shape === shape)!.variants.map((v) => `${v.kind}${v.size === null ? '' : `/${v.size}`}`).sort();
    expect(r.envoy.shapes.map((s) => s.shape)).toEqual(['mtls', 'xfcc', 'egress']);
    // the run builds the native libraries when missing (bench/native-variants.ts)
    expect(kinds('mtls')).toEqual(['meshgate-native/10', 'meshgate/10', 'native-null', 'none', 'rbac-classic/10', 'rbac-matcher/10', 'wasm-fetch', 'wasm-null']);
    expect(kinds('xfcc')).toEqual(['meshgate-native/10', 'meshgate/10', 'native-null', 'none', 'wasm-fetch', 'wasm-null']);
    expect(kinds('egress')).toEqual(['meshgate/10', 'none']);
    for (const s of r.envoy.shapes) {
      expect(s.rate).toBeGreaterThan(0);
      expect(s.order).toHaveLength(r.meta.rounds);
      for (const order of s.order) expect([...order].sort()).toEqual(s.variants.map((v) => v.id).sort());
      for (const v of s.variants) {
        expect(v.rounds).toBe(r.meta.rounds);
        expect(v.problems).toEqual([]);
        for (const k of ['cpuUs', 'deltaVsNoneUs', 'maxRps', 'maxRatioVsNone', 'p50Us', 'p99Us'] as const) expect(isNumberOrNull(v[k])).toBe(true);
        expect(v.cpuUs).not.toBeNull();
        expect(v.maxRps).toBeGreaterThan(0);
      }
      for (const slot of s.slots) expect(['schedstat', 'stat']).toContain(slot.cpuSource);
    }
    const probe = r.envoy.shapes.find((s) => s.shape === 'mtls')!.cacheProbe!;
    expect(probe.map((p) => `${p.variant}@${p.connections}`).sort()).toEqual(
      ['mtls/meshgate/10@32', 'mtls/meshgate/10@64', 'mtls/none@32', 'mtls/none@64', 'mtls/wasm-fetch@32', 'mtls/wasm-fetch@64'],
    );
    const pairs = r.envoy.shapes.flatMap((s) => s.pairs);
    expect(pairs.map((p) => `${p.shape}/${p.size}`)).toEqual(['mtls/10', 'xfcc/10', 'egress/10']);
    expect(pairs[0].ratioVsClassic).not.toBeNull();
    expect(pairs[0].ratioVsMatcher).not.toBeNull();
    expect(pairs[0].native?.ratioVsMatcher.median).not.toBeNull();
    expect(r.envoy.memoryNative).not.toBeNull();
    expect(r.targets.filter((t) => t.id.startsWith('native/') || t.id.startsWith('wasm/')).map((t) => t.id)).toEqual([
      'native/cpu-vs-matcher/10', 'native/vs-matcher/10', 'native/cpu-vs-matcher/100000', 'native/vs-matcher/100000', 'native/vs-classic/100000',
      'wasm/gap-fetch/10', 'wasm/gap-null/10', 'wasm/gap-fetch/1000', 'wasm/gap-null/1000', 'wasm/gap-fetch/100000', 'wasm/gap-null/100000',
    ]);
  });

  it('prices each host call kind in Envoy against the same module making none', () => {
    const h = run.report.hostCalls;
    expect(h.repeat).toBe(50);
    expect(h.rows.map((r) => r.call.split(' ')[0])).toEqual([
      'proxy_get_property(connection.id)', 'proxy_get_header_map_value(:method)', 'proxy_get_header_map_pairs', 'proxy_set_property', 'proxy_increment_metric',
    ]);
    for (const r of h.rows) expect(isNumberOrNull(r.usPerCall)).toBe(true);
    expect(h.noneUs).not.toBeNull();
    expect(h.emptyModuleUs).not.toBeNull();
  });

  it('times decisions, builds and callbacks inside the VM, and every decision is right', () => {
    const v = run.report.inVm;
    expect(v.decisions.map((d) => `${d.dimension}/${d.size}/${d.case}`).sort()).toEqual(
      ['hosts/10/hit', 'hosts/10/miss', 'identities/10/hit', 'identities/10/miss', 'paths/10/hit', 'paths/10/miss'],
    );
    for (const d of v.decisions) {
      expect(d.correct).toBe(true);
      expect(isNumberOrNull(d.p50Ns) && isNumberOrNull(d.p99Ns)).toBe(true);
    }
    expect(v.builds).toHaveLength(3);
    for (const b of v.builds) expect(b.tableBytes).toBeGreaterThan(0);
    expect(v.callbacks.map((c) => c.cache)).toEqual(['hit', 'miss']);
  });

  it('checks memory over requests and re-configures', () => {
    const m = run.report.inVm.memory;
    expect(m.requests[1]).toBeGreaterThan(m.requests[0]);
    expect(m.moduleBytes.every((b) => b > 0)).toBe(true);
    expect(m.reconfigure.allOk).toBe(true);
    expect(m.reconfigure.checkpoints.length).toBeGreaterThanOrEqual(2);
    const e = run.report.envoy.memory!;
    expect(e.requests[1]).toBeGreaterThanOrEqual(50_000);
    expect(e.rssMb.every((x) => x > 0)).toBe(true);
  });

  it('judges every target of the issue (met, not met, or not measured at sizes --quick leaves out)', () => {
    const t = run.report.targets;
    const ids = t.map((x) => x.id);
    for (const prefix of ['cpu-delta/mtls/', 'cpu-delta/xfcc/', 'gap-fetch/mtls/', 'throughput/egress/', 'vs-classic/', 'vs-matcher/', 'decision/']) {
      expect(ids.some((id) => id.startsWith(prefix))).toBe(true);
    }
    expect(ids).toEqual(expect.arrayContaining(['memory/module-requests', 'memory/envoy-rss', 'memory/reconfigure']));
    for (const x of t) {
      if (x.id.includes('/10/') || x.id.endsWith('/10') || x.id.startsWith('memory/')) expect(typeof x.met).toBe('boolean');
      if (x.id.includes('100000')) expect(x.met).toBeNull();
    }
    expect(run.summary).toMatch(/\d+ targets met, \d+ not met, \d+ not measured/);
  });
});
