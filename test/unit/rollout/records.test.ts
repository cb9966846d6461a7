/**
 * The decision-record parser (harness/records): one access-log line → the fields a replay needs,
 * the filter-state value split; lines that are not records are counted with file:line, never
 * dropped silently.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { parseRecordLine } from '../../../harness/records/record';
import { readRecords, RecordTally } from '../../../harness/records/read';

const STORE = 'spiffe://example.org/ns/shop/sa/store';
const line = (o: object) => JSON.stringify(o);
const inbound = (meshgate: string, extra: object = {}) => line({ time: 't', role: 'inbound', method: 'POST', path: '/charges?x=1', status: 200, port: 8443, meshgate, ...extra });

describe('parseRecordLine', () => {
  it('splits the filter state and keeps Envoy\'s fields', () => {
    const p = parseRecordLine(inbound(`decision=allow rule=store-creates-charges identity=${STORE} policy=9c65e38aa169`, { protocol: 'HTTP/1.1', authority: 'billing' }));
    expect(p).toEqual({
      kind: 'record',
      record: { time: 't', role: 'inbound', identity: STORE, connect: false, decision: 'allow', rule: 'store-creates-charges', policy: '9c65e38aa169', method: 'POST', path: '/charges?x=1', authority: 'billing', protocol: 'HTTP/1.1', port: 8443, status: 200 },
    });
  });

  it('an unauthenticated caller: identity null and the reason', () => {
    const p = parseRecordLine(inbound('decision=deny rule=default identity=- policy=abc identity_reason=svid_root_id'));
    expect(p.kind === 'record' && [p.record.identity, p.record.identity_reason]).toEqual([null, 'svid_root_id']);
  });

  it('egress: CONNECT and the tunnel\'s inner SNI; "-" and null values are left out', () => {
    const p = parseRecordLine(line({ role: 'egress', method: 'CONNECT', authority: 'api.stripe.com:443', scheme: null, path: '-', port: '10443', meshgate: `decision=deny rule=tunnel_sni_mismatch identity=${STORE} policy=abc sni=evil.example` }));
    expect(p.kind === 'record' && p.record).toMatchObject({ connect: true, sni: 'evil.example', port: 10443, rule: 'tunnel_sni_mismatch' });
    expect(p.kind === 'record' && 'scheme' in p.record).toBe(false);
    expect(p.kind === 'record' && 'path' in p.record).toBe(false);
  });

  it.each([
    ['not JSON', 'GET / 200', /^not JSON/],
    ['an array', '[1]', /not a JSON object/],
    ['a value that is not key=value', inbound('decision=allow rule=r identity=- policy=p junk'), /"junk" is not key=value/],
    ['no rule', inbound('decision=allow identity=- policy=p'), /no rule=/],
    ['an unknown decision', inbound('decision=maybe rule=r identity=- policy=p'), /decision "maybe"/],
    ['no role', line({ method: 'GET', path: '/', meshgate: 'decision=allow rule=r identity=- policy=p' }), /no role/],
    ['an unknown role', line({ role: 'ingress', method: 'GET', path: '/', meshgate: 'decision=allow rule=r identity=- policy=p' }), /role "ingress"/],
    ['inbound without a path', line({ role: 'inbound', method: 'GET', meshgate: 'decision=allow rule=r identity=- policy=p' }), /without path/],
    ['SNI without the judged name', line({ role: 'egress-sni', port: 443, meshgate: 'decision=allow rule=r identity=- policy=p' }), /without sni=/],
    ['a port that is no port', inbound('decision=allow rule=r identity=- policy=p', { port: 'x' }), /port "x"/],
  ])('%s is a bad line, saying why', (_what, text, message) => {
    const p = parseRecordLine(text);
    expect(p.kind).toBe('bad');
    expect(p.kind === 'bad' && p.message).toMatch(message);
  });

  it('a tunnel exit line repeats its CONNECT\'s record: not a second decision', () => {
    const state = 'decision=allow rule=billing-to-stripe identity=spiffe://shop.test/ns/shop/sa/billing policy=0123456789ab sni=api.stripe.com';
    expect(parseRecordLine(line({ role: 'egress-tunnel', meshgate: state, termination: '-' }))).toEqual({ kind: 'undecided', reason: 'tunnel exit (its CONNECT line is the decision)' });
  });

  it('a request meshgate never decided is "undecided", with Envoy\'s details', () => {
    expect(parseRecordLine(line({ role: 'inbound', method: 'GET', path: '/', details: 'codec_error', meshgate: '-' }))).toEqual({ kind: 'undecided', reason: 'no meshgate decision (codec_error)' });
  });

  it('the role of a line without one comes from the caller', () => {
    const p = parseRecordLine(line({ method: 'GET', path: '/', meshgate: 'decision=allow rule=r identity=- policy=p' }), 'inbound');
    expect(p.kind === 'record' && p.record.role).toBe('inbound');
  });
});

describe('readRecords', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshgate-records-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('streams records in order with file:line and counts every other line', async () => {
    const file = path.join(dir, 'a.log');
    const good = inbound(`decision=allow rule=r identity=${STORE} policy=p`);
    fs.writeFileSync(file, [good, '', 'garbage', line({ role: 'inbound', method: 'GET', path: '/', meshgate: '-' }), good].join('\n') + '\n');
    const tally = new RecordTally();
    const seen: string[] = [];
    for await (const { where } of readRecords([file], tally)) seen.push(`${path.basename(where.file)}:${where.line}`);
    expect(seen).toEqual(['a.log:1', 'a.log:5']);
    expect([tally.records, tally.blank, tally.bad, tally.undecided]).toEqual([2, 1, 1, 1]);
    expect(tally.describe()[0].startsWith(`${file}:3: not a decision record: not JSON: `)).toBe(true);
    expect(tally.describe()[1]).toMatch(/^1 logged request\(s\) without a meshgate decision \(first: .*a\.log:4/);
  });

  it('reads stdin for "-"', async () => {
    const tally = new RecordTally();
    const stdin = Readable.from([inbound('decision=deny rule=default identity=- policy=p') + '\n']);
    const got = [];
    for await (const r of readRecords(['-'], tally, { stdin })) got.push(r.where);
    expect(got).toEqual([{ file: '<stdin>', line: 1 }]);
  });

  it('a file that cannot be read is an error naming it', async () => {
    const it = readRecords([path.join(dir, 'missing.log')], new RecordTally());
    await expect(it.next()).rejects.toThrow(/cannot read .*missing\.log: no such file/);
  });
});
