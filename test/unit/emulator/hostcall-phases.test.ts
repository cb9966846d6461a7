/**
 * Which host call is legal, and answered how, in which callback phase: the probe
 * (test/fixtures/probe.ts) makes the calls in every phase of a plugin's and a stream's life
 * (probe-phases.ts drives it) and the emulator must answer like Envoy 1.40. Two tables:
 * - MATRIX: one column of raw host calls against every phase — the host's status as the spec
 *   names it (Ok, NotFound, BadArgument), or the value;
 * - SCENARIOS: command lists in one phase with the results the binding's wrappers map them to
 *   (NotFound → false or a fallback, documented refusal → false), and what the host then holds.
 * Calls in on_request_headers, on_response_headers and on_log are also run against real Envoy
 * by harness/differential/emulator-vs-envoy.ts.
 */
import { parsePairs } from '../../../harness/emulator/pairs';
import { fixtureWasm } from './fixtures';
import { PHASES, runInPhase, TIME_NS, type Phase, type PhaseRun, type PhaseSetup } from './probe-phases';

let wasm: string;
beforeAll(() => {
  wasm = fixtureWasm('probe');
}, 120_000);

const OK = 'Ok';
const NF = 'NotFound';
const BAD = 'BadArgument';
const T = String(TIME_NS);

// Columns: the phases, in PHASES order.
//  vm_start configure tick  ctx_create req_hdrs resp_hdrs log  done  delete root_done root_delete
const MATRIX: [string, string[]][] = [
  // header maps exist only in their stream phases; on_log reads both, writes neither
  ['raw-get req :path', [BAD, BAD, BAD, BAD, OK, BAD, OK, BAD, BAD, BAD, BAD]],
  ['raw-get resp :status', [BAD, BAD, BAD, BAD, BAD, OK, OK, BAD, BAD, BAD, BAD]],
  ['raw-add req x 1', [BAD, BAD, BAD, BAD, OK, BAD, BAD, BAD, BAD, BAD, BAD]],
  ['raw-add resp x 1', [BAD, BAD, BAD, BAD, BAD, OK, BAD, BAD, BAD, BAD, BAD]],
  // plugin_* properties everywhere; no connection in this stream; filter state needs a stream
  ['prop plugin_root_id', Array(11).fill('value:probe')],
  ['raw-prop connection/id', Array(11).fill(NF)],
  ['raw-setprop s x', [NF, NF, NF, OK, OK, OK, OK, OK, OK, NF, NF]],
  // the plugin configuration only in on_configure; the VM configuration in any callback (Envoy 1.40)
  ['raw-config', [NF, OK, NF, NF, NF, NF, NF, NF, NF, NF, NF]],
  ['vm-config', ['value:on_vm', ...Array(10).fill('value:vm-by')]],
  ['loglevel', Array(11).fill('2')],
  ['time', Array(11).fill(T)],
  ['raw-log 2 hi', Array(11).fill(OK)],
  // metrics are defined in on_configure: in on_vm_start the probe has no id yet (NotFound)
  ['inc counter 1', ['false', ...Array(10).fill('true')]],
  // Envoy answers Ok everywhere (outside a stream it sends nothing)
  ['reply-empty 500 x', Array(11).fill('true')],
];

describe('the host calls against every phase', () => {
  test.each(PHASES.map((p, i) => [p, i] as const))('%s', async (phase, i) => {
    const { results } = await runInPhase(wasm, phase, MATRIX.map(([call]) => call));
    expect(results).toEqual(MATRIX.map(([call, answers]) => `${call} => ${answers[i]}`));
  });
});

interface Scenario {
  what: string;
  phase: Phase;
  setup?: PhaseSetup;
  /** Commands and their results, in order. */
  calls: [string, string][];
  /** The host's log level hides the probe's result lines (info): expect none. */
  silent?: true;
  /** What the host holds afterwards. */
  after?: (run: PhaseRun) => void;
}

const BIG = `A${'x'.repeat(99_998)}Z`;
const levelLines = (run: PhaseRun) => run.vm.logs.filter((l) => l.context === run.stream.id && /^level \d$/.test(l.message)).map((l) => `${l.level}: ${l.message}`);

const SCENARIOS: Scenario[] = [
  {
    what: 'configure: the configuration (a slice of it too), plugin_* properties; no stream: NotFound → false, local replies accepted and dropped',
    phase: 'on_configure',
    setup: { pluginName: 'probe-plugin' },
    calls: [
      ['config-slice 1 3', 'value:n_c'], // of "on_configure: …"
      ['vm-config', 'value:vm-by'],
      ['prop plugin_root_id', 'value:probe'],
      ['prop plugin_name', 'value:probe-plugin'],
      ['prop connection/id', 'false'],
      ['setprop probe_state x', 'false'],
      ['get req :path', 'false'],
      ['get-metric counter', '0'],
      ['get-metric gauge', '0'],
    ],
    after: ({ vm }) => expect(vm.metrics()).toEqual({ 'probe.counter': 0, 'probe.gauge': 0, 'probe.histogram': 0 }),
  },
  {
    what: 'tick: the log level is current, the plugin configuration is gone (NotFound → false)',
    phase: 'on_tick',
    setup: { logLevel: 1 },
    calls: [['loglevel', '1'], ['config', 'false'], ['raw-config', NF]],
  },
  {
    what: 'request headers: present, absent (NotFound → false), the FIRST of a repeated header, names folded to lower case',
    phase: 'on_request_headers',
    setup: { headers: [['x-rep', 'one'], ['x-rep', 'two'], ['x-mixed-case', 'MiXeD']] },
    calls: [
      ['get req :path', 'value:/p'],
      ['get req x-missing', 'false'],
      ['raw-get req x-missing', NF],
      ['get req x-rep', 'value:one'],
      ['get req X-Rep', 'value:one'],
      ['get req X-Mixed-Case', 'value:MiXeD'],
    ],
  },
  {
    what: 'request headers: the response map does not exist yet (BadArgument → false, pairs empty, size -1)',
    phase: 'on_request_headers',
    calls: [['get resp :status', 'false'], ['raw-get resp :status', BAD], ['pairs resp', 'empty'], ['size resp', '-1']],
  },
  {
    what: 'response headers after Continue: the request map is gone (reads BadArgument, pairs empty, size -1, writes refused)',
    phase: 'on_response_headers',
    calls: [
      ['get req :path', 'false'],
      ['raw-get req :path', BAD],
      ['pairs req', 'empty'],
      ['size req', '-1'],
      ['add req x 1', 'false'],
      ['replace req x 1', 'false'],
      ['remove req :path', 'false'],
      ['setpairs req a=1', 'false'],
      ['get resp :status', 'value:200'],
      ['add resp x-a 1', 'true'],
    ],
    after: ({ stream }) => {
      expect(stream.responseHeaders).toEqual([[':status', '200'], ['x-a', '1']]);
      expect(stream.requestHeaders.map(([k]) => k)).toEqual([':method', ':path', ':authority', 'x-probe-response']); // untouched
    },
  },
  {
    what: 'on_log: both maps readable again (absent → NotFound), none writable (BadArgument → false)',
    phase: 'on_log',
    setup: { response: [[':status', '404']] },
    calls: [
      ['get req :path', 'value:/p'],
      ['get resp :status', 'value:404'],
      ['get req x-missing', 'false'],
      ['raw-get req x-missing', NF],
      ['add resp x 1', 'false'],
      ['add req x 1', 'false'],
      ['raw-add req x 1', BAD],
      ['pairs resp', ':status=404'],
    ],
  },
  {
    what: 'properties: found, absent (NotFound → false, the fallback), integers 8 bytes LE, bools 1 byte, path segments split on 0x00',
    phase: 'on_request_headers',
    setup: {
      properties: {
        'connection.uri_san_peer_certificate': 'spiffe://example.org/ns/a/sa/b',
        'connection.id': 4242n,
        'connection.mtls': true,
        'connection.requested_server_name': 'billing.shop',
        'xds\0node\0id': 'sidecar~1',
      },
    },
    calls: [
      ['prop connection/uri_san_peer_certificate', 'value:spiffe://example.org/ns/a/sa/b'],
      ['prop connection/dns_san_peer_certificate', 'false'],
      ['raw-prop connection/dns_san_peer_certificate', NF],
      ['prop-u64 connection/id', '4242'],
      ['prop-hex connection/id', '9210000000000000'],
      ['prop-hex connection/mtls', '01'],
      ['prop-u64 connection/uri_san_peer_certificate', '999'], // not 8 bytes: the fallback
      ['prop-u64 connection/requested_server_name', '999'],
      ['prop-u64 nothing/here', '999'],
      ['prop plugin_root_id', 'value:probe'],
      ['prop plugin_name', 'value:probe'], // no plugin name configured: the root id
      ['prop xds/node/id', 'value:sidecar~1'],
    ],
  },
  {
    what: 'set_property writes filter state wasm.<name>, read back by name and through filter_state; empty values too',
    phase: 'on_request_headers',
    calls: [
      ['setprop meshgate decided', 'true'],
      ['prop meshgate', 'value:decided'],
      ['prop filter_state/wasm.meshgate', 'value:decided'],
      ['prop other', 'false'],
      ['setprop probe_empty', 'true'],
      ['prop-len probe_empty', 'len:0'],
    ],
    after: ({ stream }) => expect(stream.filterState).toEqual({ 'wasm.meshgate': 'decided', 'wasm.probe_empty': '' }),
  },
  {
    what: 'a property larger than the scratch region arrives whole',
    phase: 'on_request_headers',
    setup: { properties: { 'probe.big': BIG } },
    calls: [['prop-len probe/big', `len:${BIG.length}`], ['prop-ends probe/big', 'AZ']],
  },
  {
    what: 'counters: the delta must be > 0 (BadArgument → false, no trap); record adds; get reads; defining again finds the same metric',
    phase: 'on_request_headers',
    calls: [
      ['inc counter 1', 'true'],
      ['inc counter 5', 'true'],
      ['inc counter 0', 'false'],
      ['raw-inc counter 0', BAD],
      ['inc counter -1', 'false'],
      ['record counter 4', 'true'],
      ['get-metric counter', '10'],
      ['inc-redefined 1', 'true'],
      ['get-metric counter', '11'],
    ],
    after: ({ vm }) => expect(vm.metric('probe.counter')).toBe(11),
  },
  {
    what: 'gauges go both ways and record sets; histograms only record (BadArgument); unknown ids and types are refused',
    phase: 'on_request_headers',
    calls: [
      ['inc gauge 5', 'true'],
      ['inc gauge -2', 'true'],
      ['get-metric gauge', '3'],
      ['record gauge 42', 'true'],
      ['get-metric gauge', '42'],
      ['inc histogram 1', 'false'],
      ['raw-inc histogram 1', BAD],
      ['record histogram 7', 'true'],
      ['get-metric histogram', '424242'], // BadArgument → the fallback
      ['raw-get-metric histogram', BAD],
      ['inc unknown 1', 'false'],
      ['raw-inc unknown 1', NF],
      ['record unknown 1', 'false'],
      ['get-metric unknown', '424242'],
      ['raw-get-metric unknown', NF],
      ['raw-define 3 probe.bad_type', BAD],
      ['define 1 probe.gauge2', 'ok'],
    ],
    after: ({ vm }) => {
      expect(vm.metric('probe.gauge')).toBe(42);
      expect(vm.histogram('probe.histogram')).toEqual([7n]);
    },
  },
  {
    what: 'logBytes at every level; level 6 is BadArgument; the log level and the clock come from the host',
    phase: 'on_request_headers',
    setup: { logLevel: 0 },
    calls: [
      ...[0, 1, 2, 3, 4, 5].map((l): [string, string] => [`logbytes ${l} level ${l}`, 'ok']),
      ['raw-log 6 level 6', BAD],
      ['loglevel', '0'],
      ['time', T],
    ],
    after: (run) => expect(levelLines(run)).toEqual(['trace: level 0', 'debug: level 1', 'info: level 2', 'warn: level 3', 'error: level 4', 'critical: level 5']),
  },
  {
    what: 'lines below the logger level are dropped, like Envoy\'s wasm logger',
    phase: 'on_request_headers',
    setup: { logLevel: 3 },
    silent: true,
    calls: [0, 1, 2, 3, 4, 5].map((l): [string, string] => [`logbytes ${l} level ${l}`, 'ok']),
    after: (run) => expect(levelLines(run)).toEqual(['warn: level 3', 'error: level 4', 'critical: level 5']),
  },
  {
    what: 'a bad level through log() is refused without trapping',
    phase: 'on_request_headers',
    calls: [['log 1 quiet', 'ok'], ['log 3 loud', 'ok'], ['log 9 nowhere', 'ok']],
    after: ({ vm }) => {
      expect(vm.logs.filter((l) => /quiet|loud|nowhere/.test(l.message) && !l.message.startsWith('probe on_')).map((l) => `${l.level} ${l.message}`)).toEqual(['warn loud']);
      expect(vm.failed).toBeNull();
    },
  },
  {
    what: 'from a stream: the plugin configuration is gone (NotFound → false), the VM configuration is not',
    phase: 'on_request_headers',
    calls: [['config', 'false'], ['raw-config', NF], ['vm-config', 'value:vm-by']],
  },
];

describe('scenarios: what the wrappers answer, and what the host holds after', () => {
  test.each(SCENARIOS.map((s) => [`${s.phase}: ${s.what}`, s] as const))('%s', async (_, s) => {
    const run = await runInPhase(wasm, s.phase, s.calls.map(([call]) => call), s.setup);
    expect(run.results).toEqual(s.silent ? [] : s.calls.map(([call, result]) => `${call} => ${result}`));
    s.after?.(run);
  });
});

test('the host\'s serialization of a header map round-trips (emulator parser and the binding\'s PairsReader agree)', async () => {
  const headers: [string, string][] = [['x-rep', 'first'], ['x-rep', 'second'], ['x-mixed-case', 'MiXeD']];
  const { results, stream } = await runInPhase(wasm, 'on_request_headers', ['pairs-hex req', 'pairs req'], { headers });
  const [hex, pairs] = results.map((r) => r.replace(/^.*? => /, ''));
  expect(parsePairs(Buffer.from(hex, 'hex'))).toEqual(stream.requestHeaders);
  expect(stream.requestHeaders).toEqual(expect.arrayContaining(headers));
  expect(pairs).toBe(stream.requestHeaders.map(([k, v]) => `${k}=${v}`).join('|'));
});
