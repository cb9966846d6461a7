/** The Proxy-Wasm host emulator: load a module, start plugins, drive HTTP streams and TCP connections (see vm.ts). */
export { ProxyWasmVm } from './vm';
export { WasmLoadError, type WasmLoadErrorCode } from './checks';
export { PluginHandle, HttpStream } from './stream';
export { NetworkConnection, type ConnectionStep, type ConnectionAction } from './network';
export type { VmOptions, LogLine, PluginOptions, PropertyValue, LocalReply, StepResult, StepAction } from './state';
export { encodeProperty } from './property-values';
export { CallLedger, type LedgerEntry } from './ledger';
export { presentRequest, connectionProperties, peerCertificate, type EnvoyRequest, type PeerCertificate } from './request';
export { serializePairs, parsePairs, type Pairs } from './pairs';
export { readModuleShape, sigText, type ModuleShape, type Signature } from './module';
export * from './enums';
