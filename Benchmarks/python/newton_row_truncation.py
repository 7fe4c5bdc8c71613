"""Newton-CG for MNIST-extract logistic regression with the Hessian restricted to the rows of largest curvature.

The NumPy model of BENCHMARKS.md, section "newton preconditioner" (same data, split, lambda 0.01 and L-BFGS base as
newton_preconditioners.py): prints how the curvature weight tr(H_z,i) ||x_i||^2 is spread over the rows, then, for
the first four subjects, runs Newton from the base on the residual rows with each CG solve over the top 100%, 50%,
25% or 10% of the rows by that weight (the gradient always over all rows; full steps, no line search), and prints
CG iterations per step, the cost in passes over all rows, and ||grad F|| after each step.
Run from the repository root: python3 Benchmarks/python/newton_row_truncation.py (about two minutes).
"""
import numpy as np, scipy.optimize as so, subprocess, time
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
_,_,P0 = fg(t0,Xt,Y)
c = (P0*(1-P0)).sum(1) * (Xt**2).sum(1)
print("row curvature weight quantiles", np.quantile(c,[0.1,0.25,0.5,0.75,0.9,0.99]), "lam*n", lam*n)
cs = np.sort(c)[::-1]; cum = np.cumsum(cs)/cs.sum()
for f in [0.5,0.9,0.99,0.999]: print("rows holding", f, "of curvature mass:", np.searchsorted(cum,f)+1)
def hvp(v, Xt, P, nn):
    V = v.reshape(K,D); U = Xt@V.T; U = P*(U - (P*U).sum(1,keepdims=True)); return (U.T@Xt/nn).ravel() + lam*v
def pcg(b, A, tol):
    x=np.zeros_like(b); r=b.copy(); p=r.copy(); rz=r@r; it=0
    while np.sqrt(rz)>tol*np.linalg.norm(b) and it<500:
        Ap=A(p); a=rz/(p@Ap); x+=a*p; r-=a*Ap; rz2=r@r; p=r+(rz2/rz)*p; rz=rz2; it+=1
    return x,it
for s in np.unique(subj)[:4]:
    keep = subj!=s; Xr, Yr = Xt[keep], Y[keep]; nr = len(Xr)
    for frac in [1.0, 0.5, 0.25, 0.1]:
        th=t0.copy(); cost=0; its=[]; log=[]
        for st in range(8):
            f,g,P=fg(th,Xr,Yr); gn=np.linalg.norm(g); log.append(gn); cost+=1
            if gn<=1e-7: break
            w=(P*(1-P)).sum(1)*(Xr**2).sum(1); k=max(1,int(frac*nr)); idx=np.argsort(-w)[:k]
            # EW-ish forcing
            eta=max(1e-4, min(0.5, 0.5e-7/gn)) if st>0 else 0.1
            x,it=pcg(g, lambda v:hvp(v,Xr[idx],P[idx],nr), eta); its.append(it); cost+=it*k/nr; th=th-x
        print(s, frac, "its", its, "cost(full passes)", round(cost,1), ["%.1e"%l for l in log])
