/** The Proxy-Wasm host emulator: load a module, start plugins, drive HTTP streams (see vm.ts). */
export { ProxyWasmVm, WasmLoadError, type VmOptions, type LogLine, type WasmLoadErrorCode } from './vm';
export { PluginHandle, HttpStream, encodeProperty, type PluginOptions, type PropertyValue, type LocalReply, type StepResult, type StepAction } from './stream';
export { serializePairs, parsePairs, type Pairs } from './pairs';
export { readModuleShape, sigText, type ModuleShape, type Signature } from './module';
export * from './enums';
