// One policy filter for every role: registerPolicyFilter(spec) makes PluginConfig.root_id
// `spec.rootId` run the pipeline of filter/root.ts with the spec's facts reader and decide step.
//
// The binding creates roots through a factory (id, rootId) and AssemblyScript has no closures, so
// the factory finds its spec by root id in the list of registered specs (filled in `_initialize`,
// read only when a root context is created).
import { RootContext, registerRootContext } from "../proxywasm";
import { PolicyFilterSpec } from "./spec";
import { PolicyRoot } from "./root";

const specs = new Array<PolicyFilterSpec>();

/** Registers a policy filter. Call from the module's top-level code. */
export function registerPolicyFilter(spec: PolicyFilterSpec): void {
  specs.push(spec);
  registerRootContext(spec.rootId, newPolicyRoot);
}

function newPolicyRoot(id: u32, rootId: string): RootContext {
  // the binding calls this factory only for a root id registered above
  let k = specs.length - 1;
  while (k > 0 && specs[k].rootId != rootId) k--;
  return new PolicyRoot(id, rootId, specs[k]);
}
