"""PyTorch peer for bench/compare.mjs (W4/W5): the Keras "mnist_convnet" network written the way a
PyTorch user writes it (nn.Sequential, nn.CrossEntropyLoss on the logits, torch.optim.Adam), on the
CPU with ONE thread, driven by JSON lines on stdin/stdout. Times only the compute (shuffle, batch
gather, forward, backward, update; inference under torch.inference_mode), never the IPC.

Debian's python3-torch installs for the system Python (/usr/bin/python3); compare.mjs runs this file
with it. Without torch, init answers with one line saying so and compare.mjs skips the peer."""
import os, platform, sys, time

from protocol import read_idx, serve

try:
    import torch
    from torch import nn
except ImportError as e:  # reported at init, so compare.mjs skips this peer with the reason
    torch = None
    IMPORT_ERROR = f'PyTorch is not installed for {sys.executable} ({e}): apt-get install python3-torch'


def mnist_convnet(w):
    """conv 3x3x32 relu, maxpool 2, conv 3x3x64 relu, maxpool 2, flatten, dropout, dense 10 (34,826
    parameters); Keras's initialisation (Glorot uniform kernels, zero biases). NCHW, PyTorch's layout."""
    if w['net'] != 'mnist_convnet':
        raise ValueError('unknown network ' + w['net'])
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(w['dropout']), nn.Linear(1600, 10),
    )
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


class Peer:
    def __init__(self, msg):
        w = msg['workload']
        d = msg['dataDir']
        torch.manual_seed(w.get('seed', 1))
        images = lambda f: torch.from_numpy(read_idx(os.path.join(d, f)).copy()).reshape(-1, 1, 28, 28).float().div_(255)
        labels = lambda f: torch.from_numpy(read_idx(os.path.join(d, f)).astype('int64'))
        self.train_x, self.train_y = images('train-images-idx3-ubyte'), labels('train-labels-idx1-ubyte')
        self.test_x, self.test_y = images('t10k-images-idx3-ubyte'), labels('t10k-labels-idx1-ubyte')
        self.model = mnist_convnet(w)
        self.params = sum(p.numel() for p in self.model.parameters())
        self.opt = torch.optim.Adam(self.model.parameters(), lr=w['lr'], betas=(w['beta1'], w['beta2']), eps=w['epsilon'])
        self.loss = nn.CrossEntropyLoss()
        self.batch = w['batchSize']
        self.count = len(self.train_x)
        self.gen = torch.Generator().manual_seed(w.get('seed', 1))

    def epoch(self, samples):
        self.model.train()
        t0 = time.perf_counter()
        order = torch.randperm(self.count, generator=self.gen)[:samples]
        for s in range(0, samples, self.batch):
            idx = order[s:s + self.batch]
            x, y = self.train_x.index_select(0, idx), self.train_y.index_select(0, idx)
            self.opt.zero_grad(set_to_none=True)
            self.loss(self.model(x), y).backward()
            self.opt.step()
        return (time.perf_counter() - t0) * 1000

    def infer(self, count, batch):
        self.model.eval()
        t0 = time.perf_counter()
        correct = 0
        with torch.inference_mode():
            for s in range(0, count, batch):
                p = self.model(self.test_x[s:min(count, s + batch)])
                correct += int((p.argmax(dim=1) == self.test_y[s:min(count, s + batch)]).sum())
        return (time.perf_counter() - t0) * 1000, correct / count


def init(msg):
    if torch is None:
        raise RuntimeError(IMPORT_ERROR)
    torch.set_num_threads(1)  # one thread, like every other peer (compare.mjs also sets OMP_NUM_THREADS=1)
    peer = Peer(msg)
    return peer, {
        'torch': torch.__version__, 'python': platform.python_version(), 'executable': sys.executable,
        'threads': torch.get_num_threads(), 'mkldnn': torch.backends.mkldnn.is_available(), 'parameters': peer.params,
    }


if __name__ == '__main__':
    serve(init)
