/**
 * A decision record decided again, by the compiled module (build/testkit.wasm) with another
 * policy: the same code Envoy runs, on the facts the record kept. One testkit instance per role,
 * each holding the policy compiled for it, so a log that mixes roles costs no recompiles.
 *
 * What a record cannot carry is kept as it was: the identity is the one the filter resolved
 * (a new policy's `identity` section is not re-applied), and for a CONNECT tunnel the first
 * tunnel bytes are rebuilt from what the record says about them (the inner SNI and the refusal).
 */
import { loadTestkit, parseDecision, type Testkit } from '../engine/testkit';
import { clientHello } from '../tls/client-hello';
import type { DecisionRecord, RecordDecision, RecordRole } from '../records/record';

export interface Outcome {
  decision: RecordDecision;
  rule: string;
}

/** Thrown when the policy does not compile for a role the log needs. */
export class PolicyCompileError extends Error {
  constructor(readonly role: RecordRole, readonly errors: string[]) {
    super(`the policy does not compile for ${role}: ${errors.join('; ')}`);
  }
}

const NOT_TLS = Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
/** A TLS record header announcing more bytes than came: with end of stream, a malformed hello. */
const TRUNCATED_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01]);
const IP_HOST = /^(\[.*\]|[0-9.]+)(:\d+)?$/;

export class RecordDecider {
  private readonly kits = new Map<RecordRole, Testkit>();
  /** The compiled digest (12 hex digits) per role. */
  readonly digests = new Map<RecordRole, string>();

  /** `policyJson`: the plugin configuration (harness/policy/compile.ts `json`). */
  constructor(private readonly policyJson: string) {}

  private kit(role: RecordRole): Testkit {
    let tk = this.kits.get(role);
    if (!tk) {
      tk = loadTestkit();
      const c = tk.compile(role, this.policyJson);
      if (!c.ok) throw new PolicyCompileError(role, c.errors);
      this.digests.set(role, c.digest.slice(0, 12));
      this.kits.set(role, tk);
    }
    return tk;
  }

  decide(r: DecisionRecord): Outcome {
    const tk = this.kit(r.role);
    if (r.role === 'inbound') return outcome(tk.decideInbound(r.identity, r.method!, r.path!));
    if (r.role === 'egress-sni') {
      // a hello refusal (not_tls, ech, ...) is passed on as such; the module ignores other labels.
      // (ech keeps the outer name in sni=, so the name alone does not tell.)
      const refusal = r.decision === 'allow' ? null : r.rule;
      return outcome(tk.decideSni(r.identity, refusal, r.sni === '-' ? null : r.sni!, r.port!));
    }
    const first = outcome(tk.decideEgress(r.identity, r.authority ?? '', r.scheme ?? '', r.connect));
    // a tunnel's first bytes were judged only when the record has the inner SNI (sni=)
    if (!r.connect || r.sni === undefined || first.decision === 'deny') return first;
    const bytes = tunnelBytes(r);
    const verdict = tk.decideTunnel(bytes, true);
    if (verdict === 'pass' || verdict === 'no tunnel') return first;
    return { decision: tk.auditMode() ? 'audit_deny' : 'deny', rule: verdict };
  }
}

function outcome(line: string): Outcome {
  const d = parseDecision(line);
  if (d.rule === undefined) throw new Error(`testkit: ${line}`);
  return { decision: d.decision as RecordDecision, rule: d.rule };
}

/**
 * The first tunnel bytes a record describes: its refusal (tunnel_<...>) and the inner SNI (a
 * name, or `-` for none). An allowed tunnel without a name carried non-TLS bytes (a rule with
 * `tunnel: any`), or, to an IP literal, a hello without server_name.
 */
export function tunnelBytes(r: DecisionRecord): Buffer {
  const sni = r.sni === undefined || r.sni === '-' ? null : r.sni;
  switch (r.rule) {
    case 'tunnel_not_tls': return NOT_TLS;
    case 'tunnel_no_sni': return clientHello({ sni: null });
    case 'tunnel_ech': return clientHello({ sni, ech: true });
    case 'tunnel_malformed_client_hello': return TRUNCATED_HELLO;
    case 'tunnel_sni_mismatch': return clientHello({ sni: sni ?? ['a.invalid', 'b.invalid'] });
  }
  if (sni !== null) return clientHello({ sni });
  return IP_HOST.test(r.authority ?? '') ? clientHello({ sni: null }) : NOT_TLS;
}
