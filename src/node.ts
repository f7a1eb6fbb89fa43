/** simdnet for Node: everything in the universal entry plus file IO and the MNIST/IDX loaders. */
export * from './index.js';
export { loadMnist, loadDataset, readIdxFile, defaultDataDir, findDataFiles, type Dataset, type MnistData } from './mnist.js';
export { saveModel, loadModel, readModelFile, writeFileAtomic } from './io.js';
export { FallbackError } from './files.js';
export { exportModelFile, importTfjsModel, readTfjsModel, exportableFromSaved, EXPORT_FORMATS, type ExportFormat } from './interop-io.js';
export { renderReport, findMisclassified, type ReportInput, type Misclassified } from './html-report.js';
