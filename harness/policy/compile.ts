/**
 * Policy → plugin configuration (docs/internals.md §1): the document, validated, serialized as
 * compact JSON with its keys in document order and nothing added (no defaults: the filter applies
 * them), and the policy digest — lowercase hex sha256 of its canonical form, computed by the
 * module itself (assembly/policy/digest.ts through the testkit), so it equals what the filter logs
 * at configure time and puts in filter state however the JSON is re-serialized (Istio sorts keys).
 *
 *   const r = compilePolicyFile('policy.yaml');
 *   if (!r.ok) for (const e of r.errors) console.error(formatDiagnostic(e));
 *   r.json      // the plugin configuration
 *   r.digest12  // what `meshgate_inbound policy <digest12> ...` will say
 *
 * The JSON and digest are produced for invalid documents too (as long as the YAML could be read),
 * so tests can hand the filter a configuration it must refuse.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { isNode, type LineCounter, type Node } from 'yaml';
import { sharedTestkit } from '../engine/testkit';
import type { Diagnostic } from './diagnostics';
import { normalizePolicy, type NormalizedPolicy, type PolicyDocument } from './model';
import { parsePolicySource, sourceFromNode, sourceFromValue, type PolicySource } from './source';
import { validateSource, type ValidateOptions } from './validate';

export interface CompileResult {
  /** No errors: the filter will accept `json`. */
  ok: boolean;
  /** Every problem, sorted by position (`FILE:LINE:COL: message` with formatDiagnostic). */
  errors: Diagnostic[];
  /** The document as a plain object; null when the YAML itself could not be read. Only a
   *  PolicyDocument when `ok`. */
  policy: PolicyDocument | null;
  /** The plugin configuration ("" when the YAML could not be read). */
  json: string;
  /** The policy digest of `json` (the filter's: sha256 of the canonical form), and its first 12 digits. */
  digest: string;
  digest12: string;
  /** With every default filled in (only when `ok`): what analyze/rbac/evaluate read. */
  normalized?: NormalizedPolicy;
  /** Positions of every field (for analyze.ts warnings and callers' own messages). */
  source: PolicySource;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
}

/** The policy digest the filter computes for a configuration (assembly/policy/digest.ts). */
export function policyDigest(json: string): string {
  return sharedTestkit().policyDigest(json);
}

/** Reads, validates and compiles a policy file. A file that cannot be read is an error result. */
export function compilePolicyFile(file: string, options: ValidateOptions = {}): CompileResult {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    const err: Diagnostic = { file, line: 0, col: 0, path: '', message: `cannot read the policy: ${reason}` };
    return finish(sourceFromValue(null, file), [err], options);
  }
  return compilePolicyText(text, file, options);
}

/** Compiles policy YAML (or JSON, which is YAML) text; positions refer to `file`. */
export function compilePolicyText(text: string, file: string, options: ValidateOptions = {}): CompileResult {
  return finish(parsePolicySource(text, file), undefined, options);
}

/**
 * Compiles a policy given as a YAML node (e.g. an inline mapping in a scenario file; pass that
 * file's LineCounter for positions) or as a plain object (positions 0:0).
 */
export function compilePolicy(
  policy: Node | object | null,
  file: string,
  lineCounter?: LineCounter,
  options: ValidateOptions = {},
): CompileResult {
  const src = isNode(policy) ? sourceFromNode(policy, file, lineCounter) : sourceFromValue(policy, file);
  return finish(src, undefined, options);
}

function finish(src: PolicySource, preErrors: Diagnostic[] | undefined, options: ValidateOptions): CompileResult {
  const errors = preErrors ?? validateSource(src, options);
  const readable = src.errors.length === 0 && preErrors === undefined;
  const json = readable ? JSON.stringify(src.value) : '';
  const digest = readable ? policyDigest(json) : '';
  const ok = errors.length === 0;
  return {
    ok,
    errors,
    policy: readable ? (src.value as PolicyDocument) : null,
    json,
    digest,
    digest12: digest.slice(0, 12),
    ...(ok ? { normalized: normalizePolicy(src.value as PolicyDocument) } : {}),
    source: src,
  };
}
