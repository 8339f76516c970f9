"""PyTorch peer of bench/train-speed.js: the same reference networks, data, batch size,
optimiser and epochs, on this machine's CPU at its best (OPENBLAS_NUM_THREADS=1 is set by the
caller; two intra-op threads here). Prints one JSON line: samples/s over training steps only,
and test accuracy after the epochs.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_train.py --net cnn --epochs 1 --train 60000
"""
import argparse, gzip, json, os, time
# At its best on a small CPU: OpenBLAS on one thread (the caller may override), torch's own pool
# on two; both pools at full size fight over the cores.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import numpy as np
import torch
import torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--net', choices=['cnn', 'mlp'], required=True)
p.add_argument('--epochs', type=int, default=1)
p.add_argument('--train', type=int, default=60000)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--seed', type=int, default=0)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
root = os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist')

def idx(name):
    with gzip.open(os.path.join(root, name), 'rb') as f:
        b = f.read()
    dims = b[3]
    shape = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

x = torch.from_numpy(idx('train-images-idx3-ubyte.gz')[:a.train].astype(np.float32) / 255.0)
y = torch.from_numpy(idx('train-labels-idx1-ubyte.gz')[:a.train].astype(np.int64))
tx = torch.from_numpy(idx('t10k-images-idx3-ubyte.gz').astype(np.float32) / 255.0)
ty = torch.from_numpy(idx('t10k-labels-idx1-ubyte.gz').astype(np.int64))
if a.net == 'cnn':
    x, tx = x.unsqueeze(1), tx.unsqueeze(1)
    model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))
else:
    x, tx = x.reshape(len(x), -1), tx.reshape(len(tx), -1)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
loss_fn = nn.CrossEntropyLoss()
g = torch.Generator().manual_seed(a.seed)
seconds = 0.0
for epoch in range(a.epochs):
    perm = torch.randperm(len(x), generator=g)
    t0 = time.perf_counter()
    model.train()
    for i in range(0, len(x), 64):
        idx_ = perm[i:i + 64]
        opt.zero_grad()
        loss = loss_fn(model(x[idx_]), y[idx_])
        loss.backward()
        opt.step()
    seconds += time.perf_counter() - t0
model.eval()
with torch.no_grad():
    acc = float((model(tx).argmax(1) == ty).float().mean())
print(json.dumps({'net': a.net, 'samples_per_second': a.epochs * len(x) / seconds, 'seconds': seconds, 'test_accuracy': acc, 'threads': torch.get_num_threads()}))
