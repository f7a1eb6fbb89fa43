/**
 * Export to TensorFlow.js (layers model) and ONNX, and import of TensorFlow.js Sequential models:
 * dense stacks and CNNs (Conv2D, pooling, global average pooling, Flatten, BatchNormalization,
 * Dense, Dropout, Activation). Pure: no Node imports, so browsers can convert too
 * (src/interop/interop-io.ts writes the files). The network forms and their walk: ./net.ts;
 * TensorFlow.js: ./tfjs.ts; ONNX: ./onnx.ts.
 */
export { exportableNet, exportInput, unitInputWeights, denseStackOf, describeNet, type Exportable, type ExportableModel, type ExportableNet, type ModelLike, type NetLayer } from './net.js';
export { toTfjs, fromTfjs, type TfjsArtifacts, type TfjsModelJson } from './tfjs.js';
export { toOnnx } from './onnx.js';
