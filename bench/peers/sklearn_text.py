"""scikit-learn peer of bench/text.js: TfidfVectorizer (defaults: lower case, words of 2+
letters or digits, smooth IDF, L2 norm) + LogisticRegression (defaults: L2, C=1, lbfgs;
max_iter raised to 1000 so it converges) on the same train/test CSV files d2 reads.
Prints one JSON line: test accuracy, macro-F1, fit and total seconds (import excluded).

    /usr/bin/python3 bench/peers/sklearn_text.py --train train.csv --test test.csv \
        --text-column description --label-column section
"""
import time
import argparse, csv, json
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

p = argparse.ArgumentParser()
p.add_argument('--train', required=True)
p.add_argument('--test', required=True)
p.add_argument('--text-column', required=True)
p.add_argument('--label-column', required=True)
a = p.parse_args()

started = time.time()
def rows(f):
    with open(f, newline='', encoding='utf-8') as fh:
        return [(r[a.text_column], r[a.label_column]) for r in csv.DictReader(fh)]
train, test = rows(a.train), rows(a.test)
vec = TfidfVectorizer()
x = vec.fit_transform([t for t, _ in train])
clf = LogisticRegression(max_iter=1000).fit(x, [l for _, l in train])
fitted = time.time() - started
pred = clf.predict(vec.transform([t for t, _ in test]))
truth = [l for _, l in test]
print(json.dumps({
    'accuracy': accuracy_score(truth, pred), 'macroF1': f1_score(truth, pred, average='macro'),
    'vocabulary': len(vec.vocabulary_), 'fitSeconds': fitted, 'seconds': time.time() - started,
}))
