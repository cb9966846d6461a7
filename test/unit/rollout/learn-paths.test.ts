/** How learn generalizes paths (harness/rollout/learn-paths.ts): ids become {*}, busy parents /*. */
import { collapseSubtrees, generalizePath, isVariableSegment } from '../../../harness/rollout/learn-paths';
import { pathPatternError } from '../../../harness/policy/patterns';

describe('isVariableSegment', () => {
  it.each([
    ['42', true], ['0', true], ['123e4567-e89b-12d3-a456-426614174000', true], ['9f86d081884c7d65', true],
    ['ch_1Nv2xY', true], ['cus_42', true], ['AbC12345defGHI6789', true], ['a%20b', true], ['*', true],
    ['charges', false], ['v1', false], ['deadbeef', false], ['me', false], ['receipt.pdf', false], ['user_name', false],
  ])('%s → %s', (seg, variable) => {
    expect(isVariableSegment(seg)).toBe(variable);
  });
});

describe('generalizePath', () => {
  it.each([
    ['/', '/'],
    ['/charges', '/charges'],
    ['/charges/ch_123/refund?idempotency=1', '/charges/{*}/refund'],
    ['/v1/users/42/orders/9f86d081884c7d65', '/v1/users/{*}/orders/{*}'],
    ['/files/a%20b', '/files/{*}'],
    ['/dir/', '/dir/{**}'],
  ])('%s → %s, a valid paths entry', (p, want) => {
    expect(generalizePath(p)).toBe(want);
    expect(pathPatternError(want)).toBeNull();
  });
});

describe('collapseSubtrees', () => {
  const kids = (parent: string, n: number) => Array.from({ length: n }, (_, i) => `${parent}/item${String.fromCharCode(97 + i)}`);

  it('a parent with threshold distinct children becomes parent/*; fewer stay as they are', () => {
    const c = collapseSubtrees([...kids('/catalog', 3), ...kids('/help', 2), '/catalog'], 3);
    expect(c.get('/catalog/itema')).toBe('/catalog/*');
    expect(c.get('/catalog/itemc')).toBe('/catalog/*');
    expect(c.get('/catalog')).toBe('/catalog');
    expect(c.get('/help/itema')).toBe('/help/itema');
  });

  it('below a template the subtree is {**} (a segment prefix is literal)', () => {
    const c = collapseSubtrees(kids('/users/{*}', 3), 3);
    expect(c.get('/users/{*}/itema')).toBe('/users/{*}/{**}');
    expect(pathPatternError('/users/{*}/{**}')).toBeNull();
  });
});
