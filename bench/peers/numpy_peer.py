"""NumPy peer for bench/compare.mjs: the article's own tool, written the way the article meant it
(float32, pixels scaled to [0, 1], one-hot labels, softmax + cross-entropy, minibatch SGD), driven
by JSON lines on stdin/stdout. Times only the compute (shuffle, batch gather, forward, backward,
update), never the IPC. Run by compare.mjs with one BLAS thread and OpenBLAS's own kernel choice."""
import ctypes, glob, os, platform, time
import numpy as np

from protocol import read_idx, serve


def blas_info():
    """the OpenBLAS build and the kernel it picked at run time (e.g. SkylakeX = AVX-512)"""
    info = {'numpy': np.__version__}
    libdir = os.path.join(os.path.dirname(np.__file__), '..', 'numpy.libs')
    for lib in glob.glob(os.path.join(libdir, '*openblas*')):
        try:
            so = ctypes.CDLL(lib)
            for prefix in ('scipy_openblas_', 'openblas_'):
                for suffix in ('64_', ''):
                    try:
                        core = getattr(so, prefix + 'get_corename' + suffix)
                        threads = getattr(so, prefix + 'get_num_threads' + suffix)
                    except AttributeError:
                        continue
                    core.restype = ctypes.c_char_p
                    threads.restype = ctypes.c_int
                    info['blas'] = 'OpenBLAS'
                    info['blasCore'] = core().decode()
                    info['blasThreads'] = threads()
                    return info
        except OSError:
            pass
    try:
        cfg = np.show_config(mode='dicts')
        info['blas'] = cfg['Build Dependencies']['blas']['name']
    except Exception:
        pass
    return info


np.seterr(over='ignore')  # exp(-z) overflows to inf for z << 0, and 1 / (1 + inf) = 0 is right


def sigmoid(z):
    # the article's formula, in float32
    return np.float32(1) / (np.float32(1) + np.exp(-z))


class Peer:
    def __init__(self, msg):
        w = msg['workload']
        d = msg['dataDir']
        self.train_x = (read_idx(os.path.join(d, 'train-images-idx3-ubyte')).reshape(-1, 784).astype(np.float32) / np.float32(255))
        self.train_y = read_idx(os.path.join(d, 'train-labels-idx1-ubyte')).astype(np.int64)
        self.test_x = (read_idx(os.path.join(d, 't10k-images-idx3-ubyte')).reshape(-1, 784).astype(np.float32) / np.float32(255))
        self.test_y = read_idx(os.path.join(d, 't10k-labels-idx1-ubyte')).astype(np.int64)
        self.eye = np.eye(10, dtype=np.float32)
        self.act = w['activation']
        self.batch = w['batchSize']
        self.lr = np.float32(w['lr'])
        self.mu = np.float32(w.get('momentum', 0))
        self.opt = w['optimizer']
        rng = np.random.default_rng(w.get('seed', 1))
        self.rng = rng
        sizes = [784] + w['hidden'] + [10]
        self.W, self.b = [], []
        for i in range(len(sizes) - 1):
            fan_in, fan_out = sizes[i], sizes[i + 1]
            if self.act == 'relu':
                lim = np.sqrt(6.0 / fan_in)  # He uniform
            else:
                lim = np.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform
            self.W.append(rng.uniform(-lim, lim, (fan_in, fan_out)).astype(np.float32))
            self.b.append(np.zeros(fan_out, dtype=np.float32))
        self.vW = [np.zeros_like(x) for x in self.W]
        self.vb = [np.zeros_like(x) for x in self.b]
        self.count = len(self.train_x)

    def forward(self, x):
        acts = [x]
        for i in range(len(self.W)):
            z = acts[-1] @ self.W[i] + self.b[i]
            if i < len(self.W) - 1:
                z = sigmoid(z) if self.act == 'sigmoid' else np.maximum(z, np.float32(0))
            acts.append(z)
        return acts

    def step(self, x, y):
        acts = self.forward(x)
        z = acts[-1]
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        d = (p - self.eye[y]) / np.float32(len(x))
        for i in range(len(self.W) - 1, -1, -1):
            gW = acts[i].T @ d
            gb = d.sum(axis=0)
            if i > 0:
                d = d @ self.W[i].T
                a = acts[i]
                d = d * a * (np.float32(1) - a) if self.act == 'sigmoid' else d * (a > 0)
            if self.opt == 'momentum':
                self.vW[i] *= self.mu
                self.vW[i] += gW
                self.vb[i] *= self.mu
                self.vb[i] += gb
                self.W[i] -= self.lr * self.vW[i]
                self.b[i] -= self.lr * self.vb[i]
            else:
                self.W[i] -= self.lr * gW
                self.b[i] -= self.lr * gb

    def epoch(self, samples):
        t0 = time.perf_counter()
        order = self.rng.permutation(self.count)[:samples]
        for s in range(0, samples, self.batch):
            idx = order[s:s + self.batch]
            self.step(self.train_x[idx], self.train_y[idx])
        return (time.perf_counter() - t0) * 1000

    def infer(self, count, batch):
        t0 = time.perf_counter()
        correct = 0
        for s in range(0, count, batch):
            p = self.forward(self.test_x[s:min(count, s + batch)])[-1]
            correct += int((p.argmax(axis=1) == self.test_y[s:min(count, s + batch)]).sum())
        return (time.perf_counter() - t0) * 1000, correct / count


if __name__ == '__main__':
    serve(lambda msg: (Peer(msg), dict(blas_info(), python=platform.python_version())))
