/**
 * harness/policy: the policy compiler and its tools, for the CLI and the scenario runner.
 *
 *   compilePolicyFile(file, {role?})            → CompileResult { ok, errors, policy, json, digest, digest12, normalized, source }
 *   compilePolicyText(text, file, {role?})
 *   compilePolicy(node | object, file, lineCounter?, {role?})
 *   formatDiagnostic(d) / formatWarning(w)      → "FILE:LINE:COL: message"
 *   analyzeCompiled(result, {ignore?})          → Warning[] (static analysis of a valid policy)
 *   renderRbac(normalized) / renderRbacMatcher(normalized) → { filters, unsupported }
 *   decideInbound(normalized, req) / decideEgress(normalized, req) → Decision (the filter's decision)
 *   resolveCaller(normalized, {peer, xfcc}) / certificateFacts(pem) / svidReason(facts) → who the caller is
 *   privateAddressGrants(normalized)           → { rule, cidrs }[] for Envoy's post-resolution guard
 *   FIELDS                                      → the match fields, each declared once (fields.ts)
 *   matchers: validateSpiffeId, isCanonicalPath, matchPath, parseAuthority, matchHost, parseCidr, matchCidr, ...
 */
export { compilePolicy, compilePolicyFile, compilePolicyText, sha256Hex, type CompileResult } from './compile';
export { formatDiagnostic, formatWarning, quoteValue, sortDiagnostics, type Diagnostic, type Warning, type WarningCode } from './diagnostics';
export { analyzeCompiled, analyzePolicy, type AnalyzeOptions } from './analyze';
export { decideEgress, decideInbound, ruleMatches, type Decision, type EgressRequest, type InboundRequest, type Outcome, type RequestIdentity } from './evaluate';
export { admitId, resolveCaller, type Caller, type PresentedCaller } from './caller';
export { certificateFacts, idReason, svidReason, type CertificateFacts, type IdentityReason } from './svid';
export { parseXfcc, type XfccElement } from './xfcc';
export { FIELDS, fieldsOf, listNames, type ListName, type MatchField, type RequestFacts } from './fields';
export * from './model';
export * from './patterns';
export { privateAddressGrants, type PrivateAddressGrant } from './private-addresses';
export { renderRbac, renderRbacMatcher, NON_CANONICAL_PATH_REGEXES, SPIFFE_ID_REGEX, type RbacRender, type RbacHttpFilter, type RbacOptions } from './rbac';
export { formatPath, parsePolicySource, readPolicySource, sourceFromNode, sourceFromValue, PolicySource, type SourcePosition } from './source';
export { isValidSpiffeId, spiffeErrorMessage, trustDomainOf, validateSpiffeId, validateTrustDomain, type SpiffeError } from './spiffe';
export { policySchema, schemaValidator, validatePolicyValue, validateSource, type Problem, type ValidateOptions } from './validate';
