"""The Python peers' side of bench/compare.mjs's protocol (bench/peers/protocol.mjs's twin): one JSON
object per line on stdin ({ cmd, ... }), one answer per line on stdout ({ ok: true, ... } or
{ ok: false, error }), until { cmd: 'quit' }; and the IDX reader both Python peers use."""
import gzip, json, sys

import numpy as np


def read_idx(path):
    with open(path, 'rb') as f:
        raw = f.read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def serve(init):
    """init(msg) -> (peer, info); the peer has epoch(samples) -> ms and infer(count, batch) -> (ms, accuracy)"""
    peer = None
    for line in sys.stdin:
        msg = json.loads(line)
        cmd = msg['cmd']
        try:
            if cmd == 'init':
                peer, info = init(msg)
                out = {'ok': True, 'info': info}
            elif cmd == 'epoch':
                out = {'ok': True, 'ms': peer.epoch(msg['samples']), 'samples': msg['samples']}
            elif cmd == 'infer':
                ms, acc = peer.infer(msg['count'], msg['batch'])
                out = {'ok': True, 'ms': ms, 'accuracy': acc, 'samples': msg['count']}
            elif cmd == 'quit':
                break
            else:
                out = {'ok': False, 'error': 'unknown command ' + cmd}
        except Exception as e:  # reported by compare.mjs as this peer's failure, one line
            out = {'ok': False, 'error': type(e).__name__ + ': ' + str(e).replace('\n', ' ')}
        sys.stdout.write(json.dumps(out) + '\n')
        sys.stdout.flush()
