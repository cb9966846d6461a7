/**
 * The emulator (harness/emulator) against real Envoy: the same probe module (test/fixtures/probe.ts, a filter that
 * calls the binding's host calls on command and logs each result) serves the same requests in
 * both hosts, and every result line is compared. This is how the Envoy behaviours the emulator
 * claims were verified (Envoy 1.40): header map availability and statuses per phase, replace
 * semantics, local replies travelling through the filter's own response callbacks, configuration
 * buffers, properties, filter state, metrics.
 *
 *     const cases = await differential({ wasmFile: 'build/fixtures/probe.wasm' });
 *     cases.filter((c) => !c.same)   // [] when both hosts agree
 *
 * Only results that do not depend on the environment are compared: the cases avoid values Envoy
 * adds itself (x-request-id, date, connection ids), and a multi-line result is cut at its first
 * line in both hosts (Envoy's log splits lines).
 */
import * as http from 'node:http';
import type { Pairs } from '../emulator/pairs';
import { presentRequest } from '../emulator/request';
import { ProxyWasmVm } from '../emulator/vm';
import { bootstrap, directResponseRoute, httpListener, wasmFilter, type Json } from '../envoy/bootstrap';
import { EnvoyProcess } from '../envoy/process';

/** Request headers carrying probe commands (see test/fixtures/probe.ts). */
export type ProbeCase = Record<string, string | string[]>;

export const PROBE_CASES: ProbeCase[] = [
  { 'x-probe': 'get req :path; get req x-missing; get req x-rep; get req X-Rep; raw-get req x-missing; raw-get req :path', 'x-rep': ['one', 'two'] },
  { 'x-probe': 'pairs resp; size resp; raw-get resp :status; get resp :status; config; vm-config; loglevel' },
  { 'x-probe': 'prop connection/uri_san_peer_certificate; prop plugin_root_id; prop plugin_name; prop nothing/here' },
  { 'x-probe': 'setprop meshgate decided; prop meshgate; prop filter_state/wasm.meshgate; prop other' },
  { 'x-probe': 'add req x-new 1; add req x-new 2; replace req x-rep three; remove req x-gone; get req x-rep; get req x-gone; get req x-new', 'x-rep': ['one', 'two'], 'x-gone': ['a', 'b'] },
  {
    'x-probe-response':
      'get req :path; raw-get req :path; pairs req; size req; add req x 1; replace req x 1; remove req :path; setpairs req a=1; get resp :status; add resp x-a 1',
  },
  { 'x-probe-log': 'get req :path; get resp :status; get req x-missing; raw-get req x-missing; add resp x 1' },
  { 'x-probe': 'inc counter 1; inc counter 0; inc counter -1; record counter 4; get-metric counter; inc gauge 5; inc gauge -2; get-metric gauge; inc histogram 1; record histogram 7; get-metric histogram; inc unknown 1; get-metric unknown' },
  { 'x-probe': 'reply 403 denied by the probe', 'x-probe-response': 'pairs resp; add resp x-after 1', 'x-probe-response-body': 'body' },
  { 'x-probe': 'reply-empty 401 no body', 'x-probe-response': 'pairs resp; reply 500 again', 'x-probe-response-body': 'body' },
  { 'x-probe-response': 'reply 502 upstream said no' },
  // raw statuses the binding's wrappers fold into false or a fallback (test/unit/emulator/hostcall-phases.test.ts)
  {
    'x-probe': 'raw-prop nothing/here; raw-config; raw-log 6 x; raw-inc counter 0; raw-inc histogram 1; raw-get-metric histogram; raw-inc unknown 1; raw-get-metric unknown; raw-define 3 probe.bad_type; prop-u64 plugin_root_id',
    'x-probe-log': 'raw-add req x 1; raw-add resp x 1; raw-get resp :status',
  },
];

export interface DifferentialCase {
  request: ProbeCase;
  envoy: string[];
  emulator: string[];
  same: boolean;
  /** Status and response details: Envoy's (from its access log) and the emulator's. */
  envoyStatus: string;
  emulatorStatus: string;
}

const RESPONSE_BODY = 'ok';
const CONFIGURATION = 'hello';
const VM_CONFIGURATION = 'vmcfg';

/** `probe <callback> <command> => <result>` lines plus `probe cb <callback>` trace lines, first line of each message. */
function probeLines(messages: string[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    const first = m.split('\n')[0];
    const r = /probe (on_\w+) (.*?) => (.*)$/.exec(first);
    if (r) out.push(`${r[1]} ${r[2]} => ${r[3]}`);
    const t = /probe cb (\w+) /.exec(first);
    if (t) out.push(`cb ${t[1]}`);
  }
  return out;
}

function send(port: number, headers: ProbeCase): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/p', method: 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
}

async function settle(envoy: EnvoyProcess, lines: number): Promise<string[]> {
  // Envoy writes its log asynchronously: wait until on_delete of the stream shows up.
  for (let i = 0; i < 50; i++) {
    const all = envoy.logs().split('\n').slice(lines);
    if (all.some((l) => /probe cb on_delete /.test(l))) return all;
    await new Promise((r) => setTimeout(r, 50));
  }
  return envoy.logs().split('\n').slice(lines);
}

/** Runs `cases` (default PROBE_CASES) through real Envoy and the emulator. Needs Envoy (harness/envoy/locate). */
export async function differential(o: { wasmFile: string; cases?: ProbeCase[] }): Promise<DifferentialCase[]> {
  const cases = o.cases ?? PROBE_CASES;
  const accessLog = `/dev/stdout`;
  const filter = wasmFilter({ pluginName: 'probe', rootId: 'probe', wasmFile: o.wasmFile, configuration: CONFIGURATION });
  ((filter.typed_config as Json).config as Json).vm_config = {
    ...(((filter.typed_config as Json).config as Json).vm_config as Json),
    configuration: { '@type': 'type.googleapis.com/google.protobuf.StringValue', value: VM_CONFIGURATION },
  };
  const listener = httpListener({
    name: 'probe',
    routes: [directResponseRoute(200, RESPONSE_BODY)],
    httpFilters: [filter],
    accessLogs: [
      {
        name: 'envoy.access_loggers.file',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
          path: accessLog,
          log_format: { text_format_source: { inline_string: 'probe-access %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%\n' } },
        },
      },
    ],
  });
  const envoy = await EnvoyProcess.start({ bootstrap: bootstrap({ listeners: [listener] }), componentLogLevel: 'wasm:debug' });
  try {
    const port = await envoy.listenerPort('probe');
    const vm = await ProxyWasmVm.load(o.wasmFile, { logLevel: 1 });
    const plugin = vm.startPlugin({ rootId: 'probe', configuration: CONFIGURATION, vmConfiguration: VM_CONFIGURATION });
    const out: DifferentialCase[] = [];
    for (const request of cases) {
      const mark = envoy.logs().split('\n').length - 1;
      const accessMark = envoy.stdout().split('\n').filter((l) => l.startsWith('probe-access')).length;
      await send(port, request);
      const envoyLines = probeLines(await settle(envoy, mark));
      let access: string[] = [];
      for (let i = 0; i < 50 && access.length <= accessMark; i++) {
        access = envoy.stdout().split('\n').filter((l) => l.startsWith('probe-access'));
        if (access.length <= accessMark) await new Promise((r) => setTimeout(r, 50));
      }

      vm.clearLogs();
      const headers: Pairs = Object.entries(request).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one): [string, string] => [k, one]));
      const stream = plugin.newHttpStream(presentRequest({ method: 'GET', path: '/p', authority: `127.0.0.1:${port}`, scheme: 'http', headers }));
      const r = stream.sendRequestHeaders();
      let status = r.localReply ? `${r.localReply.status} ${r.localReply.details}` : '';
      if (r.action === 'continue') {
        const h = stream.sendResponseHeaders([[':status', '200'], ['content-length', String(RESPONSE_BODY.length)], ['content-type', 'text/plain']], false);
        if (h.action === 'continue') stream.sendResponseBody(RESPONSE_BODY);
        status = h.localReply ? `${h.localReply.status} ${h.localReply.details}` : '200 direct_response';
      }
      stream.complete();
      const emulatorLines = probeLines(vm.logs.map((l) => l.message));
      out.push({
        request,
        envoy: envoyLines,
        emulator: emulatorLines,
        same: JSON.stringify(envoyLines) === JSON.stringify(emulatorLines),
        envoyStatus: (access[accessMark] ?? '').replace(/^probe-access /, ''),
        emulatorStatus: status,
      });
    }
    return out;
  } finally {
    await envoy.stop();
  }
}
