/**
 * Renders the Istio resource that loads build/meshgate.wasm into sidecars or gateways: a
 * `WasmPlugin` (extensions.istio.io/v1alpha1, the default) or, with `api: 'traffic-extension'`,
 * the `TrafficExtension` of Istio 1.30+ (same group and version; the Wasm fields move under
 * `spec.wasm`, and the phase enum's zero value is `UNSPECIFIED` rather than `UNSPECIFIED_PHASE`).
 * Sources: istio/api extensions/v1alpha1/wasm.proto and traffic_extension.proto, and the generated
 * CRDs in kubernetes/customresourcedefinitions.gen.yaml; schema/istio/ mirrors the fields used.
 *
 * What is rendered, per role:
 *   - `pluginName` = the module's root id, `meshgate_inbound`, `meshgate_egress` or
 *     `meshgate_egress_sni`; the last one with `type: NETWORK` (a network filter judging TLS
 *     passthrough by SNI; field checked against istio/api wasm.proto and traffic_extension.proto,
 *     present in every Istio release that has TrafficExtension). In Istio the filter judges, but
 *     Istio's own routes pick the upstream (PassthroughCluster dials the ORIGINAL destination;
 *     an SNI route dials its ServiceEntry): the reference configs' "the judged name is the dialed
 *     name" needs envoy/egress-sni-*.yaml, or a ServiceEntry per allowed name with resolution DNS;
 *   - `phase: AUTHZ` for both: after Istio's authn filters (so the peer certificate is verified)
 *     and before Istio's RBAC and the router (at an egress gateway, before the dynamic forward
 *     proxy resolves anything);
 *   - `match: [{mode: SERVER}]` inbound; `[{mode: CLIENT}]` egress and egress-sni (gateways use CLIENT);
 *   - `failStrategy: FAIL_CLOSE`: a module Istio cannot fetch or start denies traffic;
 *   - `pluginConfig` = the compiled policy (the JSON text parsed into an object; Istio sends it to
 *     the module as JSON text, re-serialized from a protobuf Struct — key order and number
 *     formatting may differ from `policyJson`; the policy digest is over the canonical form
 *     (assembly/policy/digest.ts), so the module logs the digest `meshgate validate` prints);
 *   - what it applies to, so that `kubectl apply` never widens a default-deny policy by accident:
 *     `selector.matchLabels` from `selector`, or `targetRefs` (Gateway, GatewayClass, Service,
 *     ServiceEntry; never both, as the CRD says). Inbound requires one of them, or `allWorkloads`
 *     said explicitly (no selector: the whole namespace, or the whole mesh in the root namespace).
 *     Egress roles default to `istio: egressgateway` (the egress gateway deployment);
 *   - metadata: name `meshgate-<role>-<workload>`, the workload from `name`, else the selector's
 *     `app` (or `app.kubernetes.io/name`, or `istio`) label, else the one target's name, else
 *     `all-workloads` — so a second service's policy gets its own resource instead of replacing
 *     the first; the namespace is required (a manifest without one lands wherever `kubectl -n`
 *     points);
 *   - the identity source is checked against the listener the role lands on
 *     (harness/render/identity-roles.ts): e.g. `identity.from: local` at the shared egress gateway
 *     is refused;
 *   - the header comment names the oldest Istio release that has every field used
 *     (`minimumIstioVersion`).
 *
 * sha256 — one rule per URL kind (istio/istio pkg/wasm/cache.go):
 *   - `oci://REG/REPO:TAG` or `oci://REG/REPO@sha256:HEX`: Istio compares `sha256` with the image
 *     MANIFEST digest (not the module's hash). We always render the digest in `spec.sha256` as 64
 *     lowercase hex (no `sha256:` prefix) and leave the URL as given; a tag URL stays readable and
 *     Istio still refuses any other manifest. The digest comes from `sha256`, from a `@sha256:` in
 *     the URL, or from a local OCI layout (`ociLayout`, as written by harness/package/oci.ts);
 *     when several are given they must agree. None of them: error OCI_DIGEST_REQUIRED.
 *   - `http://`, `https://`: the sha256 of the module bytes Istio downloads (after it unwraps
 *     gzip/tar). From `sha256`, or computed from `wasmFile`; both: must agree. Neither: error
 *     SHA256_REQUIRED (an unpinned module would be re-fetched and trusted on every change).
 *   - `file:///path` (a file inside the istio-proxy container): the module's sha256, rendered when
 *     known (from `sha256` or `wasmFile`) to document what is expected. Note that Istio turns a
 *     file URL into a local data source and does NOT check this value.
 * URLs without a scheme (which Istio reads as oci) are refused: write `oci://` explicitly.
 *
 * Output: YAML produced by the `yaml` package from the object; every string a YAML 1.1 or 1.2
 * reader could take for something else (`on`, `yes`, `0o17`, `~`, …) is double-quoted, because
 * kubectl's YAML reader follows 1.1 and other tools 1.2. The object is validated against
 * schema/istio/*.schema.json before it is returned.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { Document, parse as parseYaml, visit, Scalar } from 'yaml';
import { repoRoot } from '../envoy/paths';
import { OciError, readOciImage } from '../package/oci';
import type { IstioRole } from './istio-role';
import type { IdentitySource } from '../policy/model';
import { identitySourceProblem, ISTIO_LISTENER } from './identity-roles';

export type { IstioRole };
export type IstioApi = 'wasmplugin' | 'traffic-extension';
/** istio.extensions.v1alpha1.PullPolicy. */
export type ImagePullPolicy = 'UNSPECIFIED_POLICY' | 'IfNotPresent' | 'Always';

export const ROOT_ID: Record<IstioRole, string> = { inbound: 'meshgate_inbound', egress: 'meshgate_egress', 'egress-sni': 'meshgate_egress_sni' };
/**
 * istio.extensions.v1alpha1.PluginType (wasm.proto: `WasmPlugin.type`, field 14;
 * traffic_extension.proto: `WasmConfig.type`, field 10): UNSPECIFIED_PLUGIN_TYPE (= HTTP), HTTP,
 * NETWORK. Only the SNI filter is a network filter; the HTTP roles leave the field out (the
 * default), so their resources stay exactly as before.
 */
export const PLUGIN_TYPE: Record<IstioRole, 'NETWORK' | undefined> = { inbound: undefined, egress: undefined, 'egress-sni': 'NETWORK' };
export const API_VERSION = 'extensions.istio.io/v1alpha1';
export const KIND: Record<IstioApi, string> = { wasmplugin: 'WasmPlugin', 'traffic-extension': 'TrafficExtension' };
/** Default selector of the egress role: Istio's egress gateway deployment. */
export const EGRESS_GATEWAY_SELECTOR: Readonly<Record<string, string>> = { istio: 'egressgateway' };
export const EGRESS_DEFAULT_NAMESPACE = 'istio-system';

export interface RenderIstioOptions {
  role: IstioRole;
  /** The compiled policy (plugin configuration) as JSON text; must be a JSON object. */
  policyJson: string;
  /** Where Istio fetches the module: `oci://…`, `https://…`, `http://…` or `file:///…`. */
  url: string;
  /** 64 hex digits, optionally prefixed `sha256:`. oci: the image MANIFEST digest; http(s)/file: the module's. */
  sha256?: string;
  /** A local copy of the module: its sha256 is computed for http(s)/file URLs (checked against `sha256`). */
  wasmFile?: string;
  /** A local OCI Image Layout holding the image the oci URL names: its manifest digest is used. */
  ociLayout?: string;
  /** `matchLabels`; see `parseSelector` for the CLI's `--selector k=v`. */
  selector?: Record<string, string>;
  /** `targetRefs` instead of a selector (Gateway, GatewayClass, Service, ServiceEntry); see `parseTargetRef`. */
  targetRefs?: TargetRef[];
  /** Say so to apply the policy to every workload of the namespace (no selector, no targetRefs). */
  allWorkloads?: boolean;
  /**
   * The workload part of the resource name `meshgate-<role>-<name>`; default the selector's `app`
   * (or `app.kubernetes.io/name`, or the egress gateway's `istio`) label, or the one target's name.
   */
  name?: string;
  /** Required: the namespace of the workloads (the egress gateway's: usually istio-system). */
  namespace?: string;
  imagePullPolicy?: ImagePullPolicy;
  /** Name of a docker-registry Secret in the resource's namespace. */
  imagePullSecret?: string;
  /** Order within the phase (higher runs first); omitted = 0. */
  priority?: number;
  /** Default `wasmplugin`. */
  api?: IstioApi;
}

export type IstioRenderErrorCode =
  | 'ROLE_UNKNOWN'
  | 'API_UNKNOWN'
  /** `--selector` entry not `key=value`, or a label key/value Kubernetes would reject. */
  | 'SELECTOR_SYNTAX'
  /** URL without one of the schemes oci://, http://, https://, file:///, or malformed. */
  | 'URL_SYNTAX'
  /** oci URL and no manifest digest from `sha256`, the URL's `@sha256:` or `ociLayout`. */
  | 'OCI_DIGEST_REQUIRED'
  /** http(s) URL and neither `sha256` nor `wasmFile`. */
  | 'SHA256_REQUIRED'
  /** `sha256` is not 64 hex digits (optionally prefixed `sha256:`). */
  | 'SHA256_SYNTAX'
  /** Two sources of the digest disagree. */
  | 'SHA256_MISMATCH'
  /** `wasmFile` unreadable or not a Wasm module. */
  | 'WASM_FILE'
  /** `ociLayout` unreadable, invalid, or without the URL's tag. */
  | 'OCI_LAYOUT'
  /** `policyJson` is not JSON, or not a JSON object. */
  | 'POLICY_JSON'
  /** name not a DNS-1123 subdomain, namespace not a DNS-1123 label. */
  | 'NAME_SYNTAX'
  /** No namespace given. */
  | 'NAMESPACE_REQUIRED'
  /** No name given, and none to derive from the selector or the target. */
  | 'NAME_REQUIRED'
  /** Inbound without selector or targetRefs, and `allWorkloads` not given; or both given. */
  | 'TARGET_REQUIRED'
  /** `--target-ref` not `Kind/name` of a kind Istio attaches extensions to. */
  | 'TARGET_REF_SYNTAX'
  /** The policy's identity source cannot work on the role's listener (harness/render/identity-roles.ts). */
  | 'IDENTITY_ROLE'
  | 'PULL_POLICY'
  | 'PULL_SECRET_SYNTAX'
  | 'PRIORITY'
  /** The rendered object fails schema/istio (a bug in this renderer). */
  | 'SCHEMA';

export interface IstioRenderProblem {
  code: IstioRenderErrorCode;
  message: string;
}

/** Every problem found in the options (all of them, not just the first); `code` is the first one's. */
export class IstioRenderError extends Error {
  readonly code: IstioRenderErrorCode;
  constructor(readonly problems: IstioRenderProblem[]) {
    super(problems.map((p) => `${p.code}: ${p.message}`).join('\n'));
    this.name = 'IstioRenderError';
    this.code = problems[0].code;
  }
}

type Json = Record<string, unknown>;

/** The resource as data (what `renderWasmPlugin` stringifies). */
export function buildIstioResource(o: RenderIstioOptions): Json {
  const problems: IstioRenderProblem[] = [];
  const fail = (code: IstioRenderErrorCode, message: string) => problems.push({ code, message });

  const role = o.role;
  if (!Object.prototype.hasOwnProperty.call(ROOT_ID, role)) fail('ROLE_UNKNOWN', `role ${JSON.stringify(role)}: expected inbound, egress or egress-sni`);
  const egress = role !== 'inbound';
  const api = o.api ?? 'wasmplugin';
  if (api !== 'wasmplugin' && api !== 'traffic-extension') fail('API_UNKNOWN', `api ${JSON.stringify(api)}: expected wasmplugin or traffic-extension`);

  let pluginConfig: Json | undefined;
  try {
    const parsed: unknown = JSON.parse(o.policyJson);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      fail('POLICY_JSON', `policyJson must be a JSON object (the compiled policy), got ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed}`);
    } else {
      pluginConfig = parsed as Json;
    }
  } catch (e) {
    fail('POLICY_JSON', `policyJson is not JSON: ${(e as Error).message}`);
  }

  if (pluginConfig !== undefined && Object.prototype.hasOwnProperty.call(ISTIO_LISTENER, role)) {
    const source = ((pluginConfig.identity as Json | undefined)?.from ?? 'peer-certificate') as IdentitySource;
    const problem = identitySourceProblem(role, ISTIO_LISTENER[role], source);
    if (problem !== undefined) fail('IDENTITY_ROLE', problem);
  }

  const namespace = o.namespace;
  if (namespace === undefined || namespace === '') {
    fail('NAMESPACE_REQUIRED', `--namespace is required: the namespace of the workloads this policy protects${egress ? ` (the egress gateway's, usually ${EGRESS_DEFAULT_NAMESPACE})` : ''}`);
  } else if (!isDnsLabel(namespace)) {
    fail('NAME_SYNTAX', `--namespace ${JSON.stringify(namespace)}: must be a DNS-1123 label (lower-case a-z, 0-9, '-'; ≤ 63)`);
  }

  const targetRefs = o.targetRefs !== undefined && o.targetRefs.length > 0 ? o.targetRefs : undefined;
  const givenSelector = o.selector !== undefined && Object.keys(o.selector).length > 0 ? o.selector : undefined;
  const targeted = givenSelector !== undefined || targetRefs !== undefined;
  if (o.allWorkloads && targeted) fail('TARGET_REQUIRED', '--all-workloads contradicts --selector/--target-ref: give one or the other');
  if (givenSelector !== undefined && targetRefs !== undefined) fail('TARGET_REQUIRED', '--selector and --target-ref: Istio accepts only one of selector and targetRefs');
  if (!targeted && !o.allWorkloads && !egress) {
    fail(
      'TARGET_REQUIRED',
      '--selector app=<service> (or --target-ref Kind/name) is required: without one the default-deny policy applies to every workload of the namespace; ' +
        'give --all-workloads if that is what you want',
    );
  }
  // Egress roles select the egress gateway unless told otherwise.
  const selector = givenSelector ?? (egress && !targetRefs && !o.allWorkloads ? { ...EGRESS_GATEWAY_SELECTOR } : undefined);
  if (selector !== undefined) for (const m of checkLabels(selector)) fail('SELECTOR_SYNTAX', m);

  const workload = o.name ?? workloadName(selector, targetRefs, o.allWorkloads === true);
  let name = '';
  if (workload === undefined) {
    fail('NAME_REQUIRED', '--name is required: the selector has no app (or app.kubernetes.io/name) label to name the resource after, and two policies must not share a name');
  } else {
    name = `meshgate-${role}-${workload}`;
    if (!isDnsSubdomain(name)) {
      fail('NAME_SYNTAX', `resource name ${JSON.stringify(name)}${o.name === undefined ? ' (derived from the selector or target)' : ''}: must be a DNS-1123 subdomain (lower-case a-z, 0-9, '-', '.'; ≤ 253); give --name with a valid workload name`);
    }
  }

  if (o.imagePullPolicy !== undefined && !['UNSPECIFIED_POLICY', 'IfNotPresent', 'Always'].includes(o.imagePullPolicy)) {
    fail('PULL_POLICY', `imagePullPolicy ${JSON.stringify(o.imagePullPolicy)}: expected IfNotPresent, Always or UNSPECIFIED_POLICY`);
  }
  if (o.imagePullSecret !== undefined && !isDnsSubdomain(o.imagePullSecret)) {
    fail('PULL_SECRET_SYNTAX', `imagePullSecret ${JSON.stringify(o.imagePullSecret)}: must name a Secret (DNS-1123 subdomain)`);
  }
  if (o.priority !== undefined && !(Number.isInteger(o.priority) && o.priority >= -(2 ** 31) && o.priority < 2 ** 31)) {
    fail('PRIORITY', `priority ${o.priority}: must be a 32-bit integer`);
  }

  const sha256 = resolveSha256(o, problems);

  if (problems.length) throw new IstioRenderError(problems);

  const wasm: Json = { url: o.url };
  if (sha256 !== undefined) wasm.sha256 = sha256;
  if (o.imagePullPolicy !== undefined) wasm.imagePullPolicy = o.imagePullPolicy;
  if (o.imagePullSecret !== undefined) wasm.imagePullSecret = o.imagePullSecret;
  wasm.pluginName = ROOT_ID[role];
  wasm.failStrategy = 'FAIL_CLOSE';
  if (PLUGIN_TYPE[role] !== undefined) wasm.type = PLUGIN_TYPE[role];
  wasm.pluginConfig = pluginConfig;

  const spec: Json = {};
  if (selector !== undefined) spec.selector = { matchLabels: sortedRecord(selector) };
  if (targetRefs !== undefined) spec.targetRefs = targetRefs.map((t) => ({ ...t }));
  spec.phase = 'AUTHZ';
  if (o.priority !== undefined) spec.priority = o.priority;
  spec.match = [{ mode: role === 'inbound' ? 'SERVER' : 'CLIENT' }];
  if (api === 'wasmplugin') {
    // WasmPlugin keeps the Wasm fields at the top of spec; put the short ones first and the
    // policy last so the resource reads top-down.
    const { pluginConfig: pc, ...rest } = wasm;
    Object.assign(spec, rest, { pluginConfig: pc });
  } else {
    spec.wasm = wasm;
  }

  const metadata: Json = { name, namespace };
  metadata.labels = { 'app.kubernetes.io/name': 'meshgate', 'app.kubernetes.io/component': role };

  const resource: Json = { apiVersion: API_VERSION, kind: KIND[api], metadata, spec };
  const validate = schemaValidator(api);
  if (!validate(resource)) {
    throw new IstioRenderError(
      (validate.errors ?? []).map((e) => ({ code: 'SCHEMA' as const, message: `rendered ${KIND[api]}${e.instancePath}: ${e.message}` })),
    );
  }
  return resource;
}

/** The resource as YAML text, ready for `kubectl apply -f -`. */
export function renderWasmPlugin(o: RenderIstioOptions): string {
  const resource = buildIstioResource(o);
  const doc = new Document(resource);
  const min = minimumIstioVersion(o);
  doc.commentBefore =
    ` meshgate ${o.role} policy as an Istio ${KIND[o.api ?? 'wasmplugin']} (rendered by \`meshgate render istio\`).\n` +
    ` Supported Istio versions: ${min.version} and later (${min.because.join('; ')}).\n` +
    ` sha256: ${describeShaSource(o)}`;
  quoteAmbiguousScalars(doc);
  return doc.toString({ lineWidth: 0 });
}

/** The Istio release that introduced the newest field a rendered resource uses, and why. */
export function minimumIstioVersion(o: Pick<RenderIstioOptions, 'role' | 'api' | 'targetRefs'>): { version: string; because: string[] } {
  // From the tags of istio/api: WasmPlugin.failStrategy appeared in 1.19, WasmPlugin.type in 1.20,
  // WasmPlugin.targetRefs in 1.22, TrafficExtension (with type and targetRefs) in 1.30.
  const needs: Array<[string, string]> = [];
  if ((o.api ?? 'wasmplugin') === 'traffic-extension') needs.push(['1.30', 'TrafficExtension']);
  else {
    needs.push(['1.19', 'WasmPlugin failStrategy']);
    if (PLUGIN_TYPE[o.role] !== undefined) needs.push(['1.20', 'WasmPlugin type: NETWORK']);
    if (o.targetRefs !== undefined && o.targetRefs.length > 0) needs.push(['1.22', 'WasmPlugin targetRefs']);
  }
  const minor = (v: string) => Number(v.split('.')[1]);
  const version = needs.reduce((a, [v]) => (minor(v) > minor(a) ? v : a), '1.0');
  return { version, because: needs.map(([v, what]) => `${what}: ${v}`) };
}

/** The workload part of the resource name, when the selector or the target says it. */
function workloadName(selector: Record<string, string> | undefined, targetRefs: TargetRef[] | undefined, allWorkloads: boolean): string | undefined {
  if (selector !== undefined) return selector.app || selector['app.kubernetes.io/name'] || selector.istio || undefined;
  if (targetRefs !== undefined) return targetRefs.length === 1 ? targetRefs[0].name : undefined;
  return allWorkloads ? 'all-workloads' : undefined;
}

/** istio.type.v1beta1.PolicyTargetReference, as rendered. */
export interface TargetRef {
  group: string;
  kind: string;
  name: string;
}

/** The kinds Istio attaches extensions to (istio/api type/v1beta1/selector.proto), with their API group. */
export const TARGET_KINDS: Readonly<Record<string, string>> = {
  Gateway: 'gateway.networking.k8s.io',
  GatewayClass: 'gateway.networking.k8s.io',
  Service: '',
  ServiceEntry: 'networking.istio.io',
};

/** Parses `--target-ref Kind/name` (Gateway, GatewayClass, Service or ServiceEntry). */
export function parseTargetRef(text: string): TargetRef {
  const slash = text.indexOf('/');
  const kind = slash < 0 ? '' : text.slice(0, slash);
  const name = slash < 0 ? '' : text.slice(slash + 1);
  if (!Object.prototype.hasOwnProperty.call(TARGET_KINDS, kind) || !isDnsSubdomain(name)) {
    throw new IstioRenderError([
      { code: 'TARGET_REF_SYNTAX', message: `--target-ref ${JSON.stringify(text)}: expected Kind/name with Kind one of ${Object.keys(TARGET_KINDS).join(', ')} and a DNS-1123 name, e.g. Gateway/egress-gateway` },
    ]);
  }
  return { group: TARGET_KINDS[kind], kind, name };
}

/**
 * Parses the CLI's `--selector` values into matchLabels. Each value is `key=value`, or several
 * joined by commas (`app=billing,version=v2`). Keys are Kubernetes qualified names (optional
 * DNS-subdomain prefix and `/`); values ≤ 63 characters of [A-Za-z0-9-_.], alphanumeric at both
 * ends, or empty. All problems are reported at once (code SELECTOR_SYNTAX).
 */
export function parseSelector(values: string | readonly string[]): Record<string, string> {
  const list = typeof values === 'string' ? [values] : values;
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const value of list) {
    for (const item of value.split(',')) {
      const eq = item.indexOf('=');
      if (eq <= 0) {
        problems.push(`--selector ${JSON.stringify(item)}: expected key=value${eq === 0 ? ' (empty key)' : ''}`);
        continue;
      }
      const k = item.slice(0, eq).trim();
      const v = item.slice(eq + 1).trim();
      if (Object.prototype.hasOwnProperty.call(out, k) && out[k] !== v) {
        problems.push(`--selector ${JSON.stringify(k)}: given twice with different values (${JSON.stringify(out[k])}, ${JSON.stringify(v)})`);
        continue;
      }
      out[k] = v;
    }
  }
  problems.push(...checkLabels(out).map((m) => `--selector ${m}`));
  if (problems.length) throw new IstioRenderError(problems.map((message) => ({ code: 'SELECTOR_SYNTAX' as const, message })));
  return out;
}

/** The `sha256:`-less, lower-case hex the resource should carry, per the rules in the header. */
function resolveSha256(o: RenderIstioOptions, problems: IstioRenderProblem[]): string | undefined {
  const fail = (code: IstioRenderErrorCode, message: string) => {
    problems.push({ code, message });
    return undefined;
  };
  const url = parseModuleUrl(o.url);
  if (typeof url === 'string') return fail('URL_SYNTAX', url);

  let given: string | undefined;
  if (o.sha256 !== undefined) {
    given = normalizeSha(o.sha256);
    if (given === undefined) return fail('SHA256_SYNTAX', `sha256 ${JSON.stringify(o.sha256)}: expected 64 hex digits, optionally prefixed "sha256:"`);
  }

  if (url.scheme === 'oci') {
    const candidates: Array<[string, string]> = [];
    if (given !== undefined) candidates.push(['sha256', given]);
    if (url.digest !== undefined) candidates.push(['the URL\'s @sha256:', url.digest]);
    if (o.ociLayout !== undefined) {
      const fromLayout = layoutDigest(o.ociLayout, url.tag);
      if (typeof fromLayout !== 'string') return fail('OCI_LAYOUT', fromLayout.error);
      candidates.push([`the manifest in ${o.ociLayout}`, fromLayout]);
    }
    if (candidates.length === 0) {
      return fail(
        'OCI_DIGEST_REQUIRED',
        `${o.url}: for an oci:// URL Istio checks the image MANIFEST digest; give it as sha256 (printed by the OCI packager), ` +
          `as oci://…@sha256:<hex>, or name the local OCI layout it was pushed from${o.wasmFile ? ' (the .wasm file\'s own hash is not that digest)' : ''}`,
      );
    }
    return agree(candidates, problems);
  }

  const candidates: Array<[string, string]> = [];
  if (given !== undefined) candidates.push(['sha256', given]);
  if (o.wasmFile !== undefined) {
    const h = wasmFileSha(o.wasmFile);
    if (typeof h !== 'string') return fail('WASM_FILE', h.error);
    candidates.push([o.wasmFile, h]);
  }
  if (o.ociLayout !== undefined) return fail('URL_SYNTAX', `ociLayout is only meaningful with an oci:// URL, not ${o.url}`);
  if (candidates.length === 0) {
    if (url.scheme === 'file') return undefined;
    return fail('SHA256_REQUIRED', `${o.url}: an http(s) module must be pinned: give sha256 (of the .wasm bytes) or the local .wasm file to hash`);
  }
  return agree(candidates, problems);
}

function agree(candidates: Array<[string, string]>, problems: IstioRenderProblem[]): string | undefined {
  const [firstWhat, first] = candidates[0];
  for (const [what, v] of candidates.slice(1)) {
    if (v !== first) {
      problems.push({ code: 'SHA256_MISMATCH', message: `digest from ${firstWhat} (${first}) differs from ${what} (${v})` });
      return undefined;
    }
  }
  return first;
}

interface ModuleUrl {
  scheme: 'oci' | 'http' | 'https' | 'file';
  /** oci: the tag, when the reference has one. */
  tag?: string;
  /** oci: hex of `@sha256:<hex>`, when present. */
  digest?: string;
}

/** Splits a module URL; a string result is the error message. */
export function parseModuleUrl(url: string): ModuleUrl | string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(url);
  if (!m) return `url ${JSON.stringify(url)}: needs a scheme: oci://, https://, http:// or file:///`;
  const scheme = m[1].toLowerCase();
  const rest = m[2];
  if (/[\s"]/.test(url)) return `url ${JSON.stringify(url)}: contains white space or quotes`;
  switch (scheme) {
    case 'http':
    case 'https': {
      try {
        const u = new URL(url);
        if (!u.hostname) return `url ${JSON.stringify(url)}: no host`;
      } catch {
        return `url ${JSON.stringify(url)}: not a valid URL`;
      }
      return { scheme };
    }
    case 'file':
      if (!rest.startsWith('/') || rest.length < 2) return `url ${JSON.stringify(url)}: a file URL names an absolute path inside the proxy container: file:///path/to/meshgate.wasm`;
      return { scheme };
    case 'oci': {
      // REGISTRY[:PORT]/REPO[:TAG][@sha256:HEX] (a docker reference).
      const at = rest.indexOf('@');
      const name = at < 0 ? rest : rest.slice(0, at);
      let digest: string | undefined;
      if (at >= 0) {
        const d = /^sha256:([a-f0-9]{64})$/.exec(rest.slice(at + 1));
        if (!d) return `url ${JSON.stringify(url)}: the part after "@" must be sha256:<64 lower-case hex>`;
        digest = d[1];
      }
      const lastSlash = name.lastIndexOf('/');
      const lastPart = name.slice(lastSlash + 1);
      const colon = lastPart.indexOf(':');
      const repo = colon < 0 ? name : name.slice(0, lastSlash + 1 + colon);
      const tag = colon < 0 ? undefined : lastPart.slice(colon + 1);
      if (!repo || !/^[A-Za-z0-9.-]+(:[0-9]+)?(\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repo)) {
        return `url ${JSON.stringify(url)}: not an image reference oci://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]`;
      }
      if (tag !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) return `url ${JSON.stringify(url)}: tag ${JSON.stringify(tag)} is not a valid OCI tag`;
      return { scheme: 'oci', tag, digest };
    }
    default:
      return `url ${JSON.stringify(url)}: scheme ${JSON.stringify(scheme)} is not one Istio fetches (oci, https, http, file)`;
  }
}

function normalizeSha(s: string): string | undefined {
  const m = /^(?:sha256:)?([A-Fa-f0-9]{64})$/.exec(s.trim());
  return m ? m[1].toLowerCase() : undefined;
}

function wasmFileSha(file: string): string | { error: string } {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    return { error: `wasmFile ${file}: ${(e as Error).message}` };
  }
  if (data.length < 8 || data.readUInt32BE(0) !== 0x0061736d) return { error: `wasmFile ${file}: not a Wasm module (no \\0asm magic)` };
  return createHash('sha256').update(data).digest('hex');
}

function layoutDigest(dir: string, tag: string | undefined): string | { error: string } {
  try {
    let img;
    try {
      img = readOciImage(dir, tag);
    } catch (e) {
      // A URL tag that the layout does not record: accept a layout with one untagged manifest.
      if (!(e instanceof OciError && e.code === 'NO_SUCH_TAG' && tag !== undefined)) throw e;
      img = readOciImage(dir);
      if (img.tag !== undefined) throw e;
    }
    return img.manifestDigest.slice('sha256:'.length);
  } catch (e) {
    return { error: `ociLayout ${dir}: ${(e as Error).message}` };
  }
}

function describeShaSource(o: RenderIstioOptions): string {
  const url = parseModuleUrl(o.url);
  if (typeof url === 'string') return '';
  if (url.scheme === 'oci') return 'the OCI image manifest digest (Istio verifies it after pulling)';
  if (url.scheme === 'file') return o.sha256 || o.wasmFile ? 'the module\'s sha256 (informational: Istio does not check it for file:// URLs)' : 'none (file:// URLs are not checked by Istio)';
  return 'the sha256 of the .wasm bytes (Istio verifies it after download)';
}

// Kubernetes label syntax (k8s.io/apimachinery validation.IsQualifiedName / IsValidLabelValue).
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function checkLabels(labels: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    const slash = k.lastIndexOf('/');
    const prefix = slash < 0 ? undefined : k.slice(0, slash);
    const name = slash < 0 ? k : k.slice(slash + 1);
    if (prefix !== undefined && !isDnsSubdomain(prefix)) out.push(`label key ${JSON.stringify(k)}: prefix must be a DNS-1123 subdomain`);
    if (!(name.length <= 63 && LABEL_NAME.test(name))) out.push(`label key ${JSON.stringify(k)}: name must be 1-63 characters of [A-Za-z0-9-_.], alphanumeric at both ends`);
    if (typeof v !== 'string' || !(v === '' || (v.length <= 63 && LABEL_NAME.test(v)))) {
      out.push(`label ${JSON.stringify(k)} value ${JSON.stringify(v)}: must be empty or 1-63 characters of [A-Za-z0-9-_.], alphanumeric at both ends`);
    }
  }
  return out;
}

function isDnsLabel(s: string): boolean {
  return s.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(s);
}

function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s);
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Double-quotes every string scalar (key or value) a YAML 1.1 or 1.2 reader would not read back as that string. */
function quoteAmbiguousScalars(doc: Document): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || node.type === Scalar.QUOTE_DOUBLE) return;
      const s = node.value;
      let same: boolean;
      try {
        same = parseYaml(s, { version: '1.1' }) === s && parseYaml(s, { version: '1.2' }) === s;
      } catch {
        same = false;
      }
      if (!same) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
}

const validators = new Map<IstioApi, ValidateFunction>();

/** Compiled validators for schema/istio/{wasmplugin,trafficextension}.schema.json. */
export function schemaValidator(api: IstioApi): ValidateFunction {
  let v = validators.get(api);
  if (!v) {
    v = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(fs.readFileSync(schemaPath(api), 'utf8')));
    validators.set(api, v);
  }
  return v;
}

export function schemaPath(api: IstioApi): string {
  return path.join(repoRoot(), 'schema', 'istio', api === 'wasmplugin' ? 'wasmplugin.schema.json' : 'trafficextension.schema.json');
}
