/** simdnet's public API. */
export type { Backend, BackendName, BackendPreference, Tensor, DType, ActivationName } from './core/backend.js';
export { Activation } from './core/backend.js';
export { createBackend, backendLabel, BACKEND_PREFERENCES, type CreateBackendOptions } from './backends/index.js';
export { TsBackend } from './backends/ts/index.js';
export { WasmBackend } from './backends/wasm/index.js';
export { simdSupported } from './backends/wasm/loader.js';
export { Model, resolveConfig, type ModelConfig, type DataSet, type Evaluation, type InitName, type LossName } from './train/model.js';
export { dense, activation, dropout, conv2d, maxPool2d, avgPool2d, globalAvgPool, flatten, batchNorm, describeNetwork, type LayerSpec, type LayerDesc, type ModelDescription, type DenseDesc, type ActivationDesc, type DropoutDesc, type Conv2DDesc, type MaxPool2DDesc, type AvgPool2DDesc, type GlobalAvgPoolDesc, type FlattenDesc, type BatchNormDesc, type Padding } from './nn/layers.js';
export { fit, evaluateAsync, type FitOptions, type EvaluateOptions, type History, type EpochLogs, type BatchLogs, type Callbacks, type OptimizerName } from './train/train.js';
export { InterruptedError, DivergenceError } from './train/train.js';
export type { TrainState } from './format/checkpoint.js';
export { encodeModel, decodeModel, type SavedModel, type LayerTensors } from './format/format.js';
export { SimdnetError, DataError, UsageError } from './core/errors.js';
export { Rng } from './core/rng.js';
export { parseIdx, parseIdxHeader, isGzip, type IdxArray } from './format/idx.js';
export { PRESETS, DEFAULTS } from './train/presets.js';
export { toTfjs, toOnnx, fromTfjs, exportableNet, unitInputWeights, describeNet, type Exportable, type ExportableModel, type ExportableNet, type ModelLike, type NetLayer, type TfjsArtifacts, type TfjsModelJson } from './interop/interop.js';
export { resolveAugment, AUGMENT_DEFAULTS, type AugmentOptions, type ResolvedAugment } from './nn/augment.js';
