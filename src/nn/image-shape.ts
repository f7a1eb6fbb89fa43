/**
 * One rule for the shape of an image, wherever two shapes meet: the test images against the training
 * images (loadMnist), and data against a model (Model.checkData, so fit() and `simdnet eval`).
 * Two shapes agree when they are equal, or when one of them is flat (a single dimension: a model
 * imported from TensorFlow.js, or data stored as rows) and holds as many values. 28x28 and 784
 * agree; 28x28 and 14x56 do not, nor do 28x28x1 and 28x28: with convolutions the layout matters,
 * so a shape is never reinterpreted.
 */
export function shapesAgree(a: readonly number[], b: readonly number[]): boolean {
  const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);
  if (a.length === b.length && a.every((n, i) => n === b[i])) return true;
  return (a.length === 1 || b.length === 1) && size(a) === size(b);
}

export const shapeText = (s: readonly number[]): string => s.join('x');
