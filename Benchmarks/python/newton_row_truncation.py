"""Newton-CG for MNIST-extract logistic regression with the Hessian restricted to the rows of largest curvature.

The NumPy model of BENCHMARKS.md, section "newton preconditioner" (same data, split, lambda 0.01 and L-BFGS base as
newton_preconditioners.py): prints how the curvature weight tr(H_z,i) ||x_i||^2 is spread over the rows, then, for
the first four subjects, runs Newton from the base on the residual rows with each CG solve over the top 100%, 50%,
25% or 10% of the rows by that weight (the gradient always over all rows; full steps, no line search), and prints
CG iterations per step, the cost in passes over all rows, and ||grad F|| after each step.
Run from the repository root: python3 Benchmarks/python/newton_row_truncation.py (about two minutes).
"""
import numpy as np, scipy.optimize as so, subprocess, time
from mnist_logreg import subj, y, X, Xt, Y, n, d, K, lam, D, fg, t0
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
