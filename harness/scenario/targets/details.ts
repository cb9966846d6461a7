/** The rule (or reason) meshgate named in `meshgate_denied[<rule>]`, if these details are meshgate's. */
export function deniedRule(details: string | undefined): string | undefined {
  const m = /^meshgate_denied\[([^\]]*)\]$/.exec(details ?? '');
  return m ? m[1] : undefined;
}
