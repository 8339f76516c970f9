"""scikit-learn side of bench/model-selection.js (small tables: does a cross-validated choice
between softmax regression and an MLP keep the same model as a single validation split?).

  --dump NAME            print scikit-learn's bundled dataset NAME (iris, wine, breast_cancer,
                         digits; shipped inside the package, nothing downloaded) as CSV:
                         id, the features, label
  --peer TRAIN VAL TEST  on the same split d2 used: StandardScaler + LogisticRegression (C=1)
                         and StandardScaler + MLPClassifier(64 hidden, early stopping off,
                         max_iter 500), each scored by its validation log loss (fit on TRAIN),
                         its 5-fold cross-validated log loss over TRAIN + VAL (stratified,
                         shuffled with seed 0), and its test accuracy (fit on TRAIN + VAL).
                         Prints one JSON line.
"""
import sys, csv, json, time
import numpy as np

if sys.argv[1] == '--dump':
    from sklearn import datasets
    d = getattr(datasets, 'load_' + sys.argv[2])()
    w = csv.writer(sys.stdout, lineterminator='\n')
    w.writerow(['id'] + ['f%d' % i for i in range(d.data.shape[1])] + ['label'])
    for i, (row, t) in enumerate(zip(d.data, d.target)):
        w.writerow(['r%d' % i] + ['%.6g' % v for v in row] + [str(d.target_names[t]) if hasattr(d, 'target_names') else str(t)])
    sys.exit(0)

from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.metrics import log_loss, accuracy_score

def read(f):
    with open(f, newline='') as fh:
        rows = list(csv.DictReader(fh))
    cols = [c for c in rows[0].keys() if c not in ('id', 'label')]
    return np.array([[float(r[c]) for c in cols] for r in rows]), np.array([r['label'] for r in rows])

started = time.time()
(xt, yt), (xv, yv), (xs, ys) = read(sys.argv[2]), read(sys.argv[3]), read(sys.argv[4])
xa, ya = np.vstack([xt, xv]), np.concatenate([yt, yv])
models = {
    'linear': lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    'mlp': lambda: make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(64,), max_iter=500, random_state=0)),
}
out = {}
for name, make in models.items():
    m = make().fit(xt, yt)
    val = log_loss(yv, m.predict_proba(xv), labels=m.classes_)
    cv = -cross_val_score(make(), xa, ya, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring='neg_log_loss').mean()
    test = accuracy_score(ys, make().fit(xa, ya).predict(xs))
    out[name] = {'valLoss': val, 'cvLoss': cv, 'testAccuracy': test}
out['seconds'] = time.time() - started
print(json.dumps(out))
