# PyTorch (one thread) on the mnist_convnet convolutions at batch 128 (or argv[1]): forward, input and filter
# gradients, median of 9 calls, in dense-equivalent GMAC/s; compare with `node bench/cnn-ops.mjs`.
# Inputs: random, with 81% zeros for the first layer (as MNIST) and ReLU outputs for the second.
import sys, time

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_input, conv2d_weight


torch.set_num_threads(1)
torch.manual_seed(1)
B = int(sys.argv[1]) if len(sys.argv) > 1 else 128
x1 = (torch.rand(B, 1, 28, 28) * (torch.rand(B, 1, 28, 28) > 0.81)).requires_grad_(False)
w1 = torch.randn(32, 1, 3, 3) * 0.1; b1 = torch.zeros(32)
x2 = torch.relu(torch.randn(B, 32, 13, 13)); w2 = torch.randn(64, 32, 3, 3) * 0.05; b2 = torch.zeros(64)
def med(f, n=9):
    f(); ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    ts.sort(); return ts[n // 2]
g1 = torch.randn(B, 32, 26, 26); g2 = torch.randn(B, 64, 11, 11)
rows = [
  ('conv1 fwd', 26*26*32*9, lambda: F.conv2d(x1, w1, b1)),
  ('conv1 dW', 26*26*32*9, lambda: conv2d_weight(x1, w1.shape, g1)),
  ('conv2 fwd', 11*11*64*288, lambda: F.conv2d(x2, w2, b2)),
  ('conv2 dX', 11*11*64*288, lambda: conv2d_input(x2.shape, w2, g2)),
  ('conv2 dW', 11*11*64*288, lambda: conv2d_weight(x2, w2.shape, g2)),
]
for name, macs, f in rows:
    t = med(f)
    print(f'{name:10s} {t*1000:8.2f} ms  {macs*B/t/1e9:6.1f} GMAC/s')
