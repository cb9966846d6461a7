/**
 * Reads WasmPlugin / TrafficExtension manifests (one or several YAML documents, as `kubectl
 * apply -f` takes them) and returns each meshgate `pluginConfig` as policy text with its place in
 * the file, so `meshgate validate plugin.yaml` can check a hand-edited pluginConfig before Istio
 * loads it (a bad one passes every Istio check and turns every request into a 500).
 *
 * The text of each pluginConfig is the file's own YAML, cut out and dedented, so the policy
 * compiler's diagnostics point at the same keys; `toFilePosition` turns a position in that text
 * back into one in the file. Documents of other kinds are skipped; a WasmPlugin/TrafficExtension
 * whose module is not meshgate (pluginName not one of its root ids) is skipped too.
 */
import * as fs from 'node:fs';
import { isMap, isNode, LineCounter, parseAllDocuments, type Node } from 'yaml';
import { compilePolicy, type CompileResult } from '../policy/compile';
import { sourceFromValue } from '../policy/source';

/** Root ids of build/meshgate.wasm: the filters a pluginConfig can be meant for. */
const MESHGATE_PLUGINS = new Set(['meshgate_inbound', 'meshgate_egress', 'meshgate_egress_sni']);
const KINDS = new Set(['WasmPlugin', 'TrafficExtension']);

export interface PluginConfigText {
  /** 0-based index of the YAML document in the file. */
  document: number;
  kind: 'WasmPlugin' | 'TrafficExtension';
  /** metadata.name, when present. */
  name?: string;
  /** The root id the resource loads (decides the role the policy is checked for). */
  pluginName: string;
  /** The pluginConfig as policy YAML, dedented. */
  text: string;
  /** 1-based line and column in the file where `text` starts. */
  line: number;
  col: number;
  /** Spaces removed from the start of every line of `text` after the first. */
  indent: number;
  /** The pluginConfig's YAML node (positions through `lineCounter` of the read). */
  node: Node;
}

export interface IstioInputProblem {
  line: number;
  col: number;
  message: string;
}

/** True when the text holds at least one WasmPlugin or TrafficExtension document. */
export function looksLikeIstioResource(text: string): boolean {
  return /^kind:[ \t]*["']?(WasmPlugin|TrafficExtension)["']?[ \t]*(#.*)?$/m.test(text);
}

/** Every meshgate pluginConfig in the manifests, and what is wrong with the manifests themselves. */
export function readPluginConfigs(source: string): { configs: PluginConfigText[]; problems: IstioInputProblem[]; lineCounter: LineCounter } {
  const lines = new LineCounter();
  const docs = parseAllDocuments(source, { lineCounter: lines, prettyErrors: false });
  const configs: PluginConfigText[] = [];
  const problems: IstioInputProblem[] = [];
  const at = (offset: number, message: string) => problems.push({ ...lines.linePos(offset), message });
  if (!Array.isArray(docs)) return { configs, problems, lineCounter: lines }; // an empty stream
  docs.forEach((doc, index) => {
    for (const e of doc.errors) at(e.pos[0], e.message);
    if (doc.errors.length) return;
    const root = doc.contents;
    if (!isMap(root)) return;
    const kind = String(root.get('kind') ?? '');
    if (!KINDS.has(kind)) return;
    const where = `document ${index + 1} (${kind})`;
    const spec = root.get('spec', true);
    if (!isMap(spec)) return void at(root.range?.[0] ?? 0, `${where}: no spec`);
    const wasm = kind === 'TrafficExtension' ? spec.get('wasm', true) : spec;
    if (!isMap(wasm)) return void at(spec.range?.[0] ?? 0, `${where}: no spec.wasm`);
    const pluginName = String(wasm.get('pluginName') ?? '');
    if (!MESHGATE_PLUGINS.has(pluginName)) return;
    const node = wasm.get('pluginConfig', true) as Node | undefined;
    const field = kind === 'TrafficExtension' ? 'spec.wasm.pluginConfig' : 'spec.pluginConfig';
    if (!isNode(node) || !node.range) return void at(wasm.range?.[0] ?? 0, `${where}: ${pluginName} has no ${field} (the module refuses to start without a policy)`);
    const [start, end] = node.range;
    const pos = lines.linePos(start);
    const indent = pos.col - 1;
    const text = source
      .slice(start, end)
      .split('\n')
      .map((l, i) => (i === 0 ? l : l.slice(Math.min(indent, l.length - l.trimStart().length))))
      .join('\n');
    const meta = root.get('metadata', true);
    const name = isMap(meta) && meta.get('name') !== undefined ? String(meta.get('name')) : undefined;
    configs.push({ document: index, kind: kind as PluginConfigText['kind'], name, pluginName, text, line: pos.line, col: pos.col, indent, node });
  });
  return { configs, problems, lineCounter: lines };
}

/**
 * Compiles every meshgate pluginConfig of a manifest file, diagnostics at their place in the
 * file (the SNI filter's for meshgate_egress_sni). Problems with the manifest itself, or a file
 * without any meshgate pluginConfig, come back as one failed result.
 */
export function compileIstioManifest(file: string, source = fs.readFileSync(file, 'utf8')): CompileResult[] {
  const { configs, problems, lineCounter } = readPluginConfigs(source);
  if (configs.length === 0 && problems.length === 0) problems.push({ line: 0, col: 0, message: 'no WasmPlugin or TrafficExtension loading meshgate (pluginName meshgate_inbound, meshgate_egress or meshgate_egress_sni)' });
  const results = configs.map((c) => compilePolicy(c.node, file, lineCounter, { connection: c.pluginName === 'meshgate_egress_sni' }));
  if (problems.length) {
    const errors = problems.map((p) => ({ file, line: p.line, col: p.col, path: '', message: p.message }));
    results.unshift({ ok: false, errors, policy: null, json: '', digest: '', digest12: '', source: sourceFromValue(null, file) });
  }
  return results;
}

/** A 1-based position in a pluginConfig's `text` as a position in the manifest file. */
export function toFilePosition(c: PluginConfigText, line: number, col: number): { line: number; col: number } {
  return line <= 1 ? { line: c.line, col: c.col + col - 1 } : { line: c.line + line - 1, col: col + c.indent };
}
