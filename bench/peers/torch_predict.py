"""PyTorch peer of bench/predict.js: the reference CNN (conv16-pool-conv32-pool-dense64-dense10,
d2's 'fast' preset) predicting the 10,000 Fashion-MNIST test images on this CPU at its best
(OPENBLAS_NUM_THREADS=1, two intra-op threads). Two figures, one JSON line:
  - tensors: inference over the test tensors already in memory (batches of 256), after one warm-up;
  - files: the whole job from PNG files, as a script would do it: start-up (import torch), decode
    each PNG with PIL, scale, infer in batches of 256 (wall time since the process started).
The weights are trained for one epoch on 6,000 images first (throughput does not depend on them).

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_predict.py --png-dir DIR
"""
import time
STARTED = time.time()
import argparse, gzip, json, os
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
import numpy as np
import torch
import torch.nn as nn
from PIL import Image
IMPORTED = time.time() - STARTED

p = argparse.ArgumentParser()
p.add_argument('--png-dir', required=True, help='folder of the 10,000 t10k PNGs (any depth)')
p.add_argument('--threads', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
root = os.environ.get('FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist')

def idx(name):
    with gzip.open(os.path.join(root, name), 'rb') as f:
        b = f.read()
    dims = b[3]
    shape = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(dims)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

model = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(32 * 5 * 5, 64), nn.ReLU(), nn.Linear(64, 10))
x = torch.from_numpy(idx('train-images-idx3-ubyte.gz')[:6000].astype(np.float32) / 255.0).unsqueeze(1)
y = torch.from_numpy(idx('train-labels-idx1-ubyte.gz')[:6000].astype(np.int64))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for i in range(0, len(x), 64):
    opt.zero_grad()
    nn.functional.cross_entropy(model(x[i:i + 64]), y[i:i + 64]).backward()
    opt.step()
model.eval()
setup = time.time() - STARTED

tx = torch.from_numpy(idx('t10k-images-idx3-ubyte.gz').astype(np.float32) / 255.0).unsqueeze(1)
ty = idx('t10k-labels-idx1-ubyte.gz')
with torch.no_grad():
    model(tx[:256])
    t = time.perf_counter()
    preds = torch.cat([model(tx[i:i + 256]).softmax(1) for i in range(0, len(tx), 256)])
    tensor_seconds = time.perf_counter() - t
accuracy = float((preds.argmax(1).numpy() == ty).mean())

files = sorted(os.path.join(d, f) for d, _, fs in os.walk(a.png_dir) for f in fs if f.endswith('.png'))
t = time.perf_counter()
out = []
with torch.no_grad():
    for i in range(0, len(files), 256):
        batch = np.stack([np.asarray(Image.open(f).convert('L'), dtype=np.float32) / 255.0 for f in files[i:i + 256]])
        out.append(model(torch.from_numpy(batch).unsqueeze(1)).softmax(1))
file_seconds = time.perf_counter() - t
print(json.dumps({
    'images': len(tx), 'tensorSeconds': tensor_seconds, 'tensorImagesPerSecond': len(tx) / tensor_seconds,
    'files': len(files), 'fileSeconds': file_seconds, 'fileImagesPerSecond': len(files) / file_seconds,
    'importSeconds': IMPORTED, 'setupSeconds': setup, 'accuracy': accuracy,
}))
