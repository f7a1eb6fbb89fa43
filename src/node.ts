/** simdnet for Node: everything in the universal entry plus file IO and the MNIST/IDX loaders. */
export * from './index.js';
export { loadMnist, loadDataset, readIdxFile, defaultDataDir, findDataFiles, type Dataset, type MnistData } from './io/mnist.js';
export { saveModel, loadModel, readModelFile, writeFileAtomic } from './io/io.js';
export { FallbackError } from './io/files.js';
export { exportModelFile, importTfjsModel, readTfjsModel, exportableFromSaved, EXPORT_FORMATS, type ExportFormat } from './interop/interop-io.js';
export { renderReport, findMisclassified, type ReportInput, type Misclassified } from './report/html-report.js';
