/**
 * How one entry of each RBAC-rendered field becomes Envoy data (rbac.ts assembles rules from
 * them through the field table, fields.ts): as an RBAC principal or permission, and as a
 * predicate of the unified matcher API.
 *
 *   from "spiffe://td/a/b"      authenticated.principal_name exact (a trust-domain ID
 *                               "spiffe://td" is never a caller: a principal matching nothing)
 *   from "spiffe://td/ns/x/*"   authenticated.principal_name prefix "spiffe://td/ns/x/", and
 *                               the URI SAN is a valid SPIFFE ID (safe_regex SPIFFE_ID_REGEX)
 *   from "*"                    prefix "spiffe://td/" and a valid ID (not "spiffe://td" itself:
 *                               a leaf's ID has a path; the regex does not contain the trust
 *                               domain, so its RE2 program stays under Envoy's size limit)
 *   methods                     header ":method" exact
 *   paths                       url_path (path without the query) exact / prefix / suffix,
 *                               templates as safe_regex; ignore_case (regex: (?i)) where meshgate
 *                               folds case (pathFold); in the matcher form the same on `:path`
 *                               with its query
 */
import { matchFrom, type FromEntry, type PathEntry, type PathPattern } from './patterns';
import { idPathOf } from './spiffe';
import {
  allOf, anyOf, header, re, single, URI_SAN, type IdContext, type Permission, type Principal, type StringMatcher, type XdsPredicate,
} from './rbac-types';

/** RE2 syntax: escape every byte that is not a letter or digit (RE2 accepts `\` + punctuation). */
function reEscape(s: string): string {
  return s.replace(/[^A-Za-z0-9]/g, (c) => `\\${c}`);
}

// ---- identities -----------------------------------------------------------------------------

/** One segment of a valid SPIFFE ID path: [A-Za-z0-9._-]+ but not "." or "..". */
const SPIFFE_SEGMENT = '(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\\.[A-Za-z0-9._-]+))';

/** RE2 (full match) for a syntactically valid SPIFFE ID (any trust domain; lengths unchecked). */
export const SPIFFE_ID_REGEX = `spiffe://[a-z0-9._-]+(?:/${SPIFFE_SEGMENT})*`;

const VALID_ID: Principal = { authenticated: { principal_name: { safe_regex: { regex: SPIFFE_ID_REGEX } } } };

export function identityPrincipal(e: FromEntry, trustDomain: string): Principal {
  const san = (m: StringMatcher): Principal => ({ authenticated: { principal_name: m } });
  if (e.kind === 'exact') return idPathOf(e.id) === '' ? { not_id: { any: true } } : san({ exact: e.id });
  if (e.kind === 'prefix') return { and_ids: { ids: [san({ prefix: e.prefix }), VALID_ID] } };
  return { and_ids: { ids: [san({ prefix: `spiffe://${trustDomain}/` }), VALID_ID] } };
}

/**
 * An identity entry in a branch of the matcher form: true / false when the branch decides it
 * (the branch of one exact ID; an exact entry elsewhere, which has its own branch), else a
 * predicate on the URI SAN input (prefix entries and "*", each with the validity regex).
 */
export function identityPredicate(e: FromEntry, branch: IdContext, trustDomain: string): boolean | XdsPredicate {
  if ('exact' in branch) return matchFrom(e, branch.exact, trustDomain);
  const valid = single(URI_SAN, re(SPIFFE_ID_REGEX));
  if (e.kind === 'exact') return false;
  if (e.kind === 'prefix') return allOf([single(URI_SAN, { prefix: e.prefix }), valid]);
  return allOf([single(URI_SAN, { prefix: `spiffe://${trustDomain}/` }), valid]);
}

// ---- methods --------------------------------------------------------------------------------

export function methodPermission(method: string): Permission {
  return { header: { name: ':method', string_match: { exact: method } } };
}

export function methodPredicate(method: string): XdsPredicate {
  return single(header(':method'), { exact: method });
}

// ---- paths ----------------------------------------------------------------------------------

/** A template as RE2; `one` is the class of a `{*}` segment's bytes. */
function pathRegex(p: Extract<PathPattern, { kind: 'template' }>, one = '[^/]'): string {
  let re = '';
  for (const s of p.segments) {
    if (s.kind === 'literal') re += `/${reEscape(s.text)}`;
    else if (s.kind === 'one') re += `/${one}+`;
    else re += '/.*';
  }
  return re;
}

export function pathPermission({ pat: p, fold }: PathEntry): Permission {
  const ic = fold ? { ignore_case: true } : {};
  switch (p.kind) {
    case 'any':
      return { any: true };
    case 'exact':
      return { url_path: { path: { exact: p.path, ...ic } } };
    case 'prefix':
      return { url_path: { path: { prefix: p.prefix, ...ic } } };
    case 'suffix':
      return { url_path: { path: { suffix: p.suffix, ...ic } } };
    case 'template':
      return { url_path: { path: { safe_regex: { regex: (fold ? '(?i)' : '') + pathRegex(p) } } } };
  }
}

/** A `paths` entry as a predicate on `:path` (query included); true = any path. */
export function pathPredicate({ pat: p, fold }: PathEntry): true | XdsPredicate {
  const ic = fold ? { ignore_case: true } : {};
  const path = header(':path');
  switch (p.kind) {
    case 'any':
      return true;
    case 'exact':
      return anyOf([single(path, { exact: p.path, ...ic }), single(path, { prefix: `${p.path}?`, ...ic })]);
    case 'prefix':
      return single(path, { prefix: p.prefix, ...ic });
    case 'suffix':
      return single(path, re(`${fold ? '(?i)' : ''}(?s)[^?]*${reEscape(p.suffix)}(?:\\?.*)?`));
    case 'template': {
      // on `:path` a segment stops at '?' too; a final {**} takes the query along
      const body = pathRegex(p, '[^/?]');
      return single(path, re(`${fold ? '(?i)' : ''}(?s)${body}${body.endsWith('/.*') ? '' : '(?:\\?.*)?'}`));
    }
  }
}
