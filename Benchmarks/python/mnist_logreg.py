"""The NumPy model of MNIST-extract logistic regression that newton_preconditioners.py and newton_row_truncation.py
share (BENCHMARKS.md, section "newton preconditioner"): the training split of data/mnist5k.csv.zst (a seeded random
subject split, not the Swift code's), standardised; 784-10 logistic regression with a bias column at lambda 0.01;
F, grad F and the probabilities (fg); and the base model t0 trained by L-BFGS to |grad F| 2e-5. Importing it
trains the base (about a minute). Run the scripts from the repository root.
"""
import numpy as np, scipy.optimize as so, subprocess
raw = subprocess.run(["zstdcat","data/mnist5k.csv.zst"],capture_output=True).stdout
lines = raw.decode().strip().split('\n')[1:]
rows=[l.split(',') for l in lines]
subj=np.array([r[1] for r in rows]); y=np.array([int(r[2]) for r in rows]); X=np.array([[float(v) for v in r[3:]] for r in rows])
rng = np.random.default_rng(1); us = np.unique(subj); rng.shuffle(us)
val = set(us[:len(us)//5]); tr = np.array([s not in val for s in subj])
X, y, subj = X[tr], y[tr], subj[tr]
mu, sd = X.mean(0), X.std(0); sd[sd==0]=1; X=(X-mu)/sd
n, d = X.shape; K=10; lam=0.01
Xt = np.hstack([X, np.ones((n,1))]); D=d+1
Y = np.eye(K)[y]
def fg(t, Xt, Y):
    W = t.reshape(K, D); Z = Xt@W.T; Z -= Z.max(1,keepdims=True); P=np.exp(Z); P/=P.sum(1,keepdims=True)
    f = -np.mean(np.log(P[Y>0]+1e-300)) + 0.5*lam*t@t
    G = (P-Y).T@Xt/len(Xt) + lam*W
    return f, G.ravel(), P
r = so.minimize(lambda t: fg(t,Xt,Y)[:2], np.zeros(K*D), jac=True, method='L-BFGS-B', options=dict(gtol=1e-10, maxiter=2000))
t0 = r.x; print("trained", np.linalg.norm(fg(t0,Xt,Y)[1]), n, r.nit)
