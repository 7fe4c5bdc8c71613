"""CG iterations of Newton systems for MNIST-extract logistic regression under candidate preconditioners.

The NumPy model behind BENCHMARKS.md, section "newton preconditioner": trains 784-10 logistic regression (lambda
0.01, L-BFGS) on the training split of data/mnist5k.csv.zst, then for the first subjects runs Newton-CG on the
residual rows from the base with no preconditioner, the Kronecker-factored (X^T X / n) (x) E[H_z], the exact
per-class block diagonal, and randomized Nystrom approximations (Frangella, Tropp & Udell 2023, Algorithm 2.1 and
equation (5.3)) of rank 100, 200 and 400, all built from the base. Prints Newton steps, CG iterations per step and
||grad F|| after each step. Run from the repository root: python3 Benchmarks/python/newton_preconditioners.py
(minutes on two shared cores; the split is a seeded random subject split, not the Swift code's).
"""
import numpy as np, scipy.optimize as so, scipy.linalg as sl, time, io, subprocess
from mnist_logreg import subj, y, X, Xt, Y, n, d, K, lam, D, fg, t0
def hvp(v, Xt, P):
    V = v.reshape(K,D); U = Xt@V.T; U = P*(U - (P*U).sum(1,keepdims=True)); return (U.T@Xt/len(Xt)).ravel() + lam*v
def pcg(b, A, M, tol=1e-4, maxit=500):
    x=np.zeros_like(b); r=b.copy(); z=M(r); p=z.copy(); rz=r@z; it=0
    while np.linalg.norm(r)>tol*np.linalg.norm(b) and it<maxit:
        Ap=A(p); a=rz/(p@Ap); x+=a*p; r-=a*Ap; z=M(r); rz2=r@z; p=z+(rz2/rz)*p; rz=rz2; it+=1
    return x,it
# base preconditioners from full data at t0
_,_,P0 = fg(t0,Xt,Y)
t=time.time()
B = Xt.T@Xt/n; A = (np.einsum('ik,il->kl',-P0,P0)+np.diag(P0.sum(0)))/n
sa, Ua = np.linalg.eigh(A); sb, Ub = np.linalg.eigh(B)
print("kfac build", time.time()-t)
def kfac(r, pi=1.0):
    R = r.reshape(K,D); T = Ua.T@R@Ub; T /= (np.outer(sa,sb)+lam); return (Ua@T@Ub.T).ravel()
# block diagonal exact
t=time.time()
blocks=[]
for k in range(K):
    w = P0[:,k]*(1-P0[:,k]); Hk = (Xt*w[:,None]).T@Xt/n + lam*np.eye(D); blocks.append(sl.cho_factor(Hk))
print("blockdiag build", time.time()-t)
def bdiag(r):
    R=r.reshape(K,D); return np.vstack([sl.cho_solve(blocks[k], R[k]) for k in range(K)]).ravel()
# blockdiag of KFAC-ish: per-class weighted covariance eig? skip
subjects = np.unique(subj)
for s in subjects[:5]:
    keep = subj!=s; m=(~keep).sum()
    Xr, Yr = Xt[keep], Y[keep]
    f,g,P = fg(t0,Xr,Yr)
    A_ = lambda v: hvp(v,Xr,P)
    out=[]
    for name,M in [("none",lambda r:r),("kfac",kfac),("bdiag",bdiag)]:
        x,it = pcg(g, A_, M, tol=1e-4); out.append((name,it))
    # full newton to tolerance with bdiag / kfac, count
    res={}
    for name,M in [("none",lambda r:r),("kfac",kfac),("bdiag",bdiag)]:
        t=t0.copy(); tot=0; steps=0; log=[]
        for st in range(6):
            f,g,P=fg(t,Xr,Yr); gn=np.linalg.norm(g); log.append(gn)
            if gn<=1e-7: break
            eta=max(1e-4, min(0.5, 0.5e-7/gn))
            x,it=pcg(g, lambda v:hvp(v,Xr,P), M, tol=eta); tot+=it; t=t-x; steps+=1
        res[name]=(steps,tot,["%.1e"%l for l in log])
    print(s, m, out, res)

# Randomized Nystrom preconditioners from the base
import scipy.sparse.linalg as ssl
_,_,P0 = fg(t0,Xt,Y)
def gvp(v, Xt, P):
    V = v.reshape(K,D); U = Xt@V.T; U = P*(U - (P*U).sum(1,keepdims=True)); return (U.T@Xt/len(Xt)).ravel()
def gmat(Om, Xt, P):  # block product, Om: KD x l
    l = Om.shape[1]; out = np.zeros_like(Om)
    for j in range(l): out[:,j]=gvp(Om[:,j],Xt,P)
    return out
t=time.time()
# randomized Nystrom (Frangella-Tropp-Udell Alg 2.1)
for ell in [100, 200, 400]:
    rng=np.random.default_rng(0)
    Om = np.linalg.qr(rng.standard_normal((K*D, ell)))[0]
    Yk = gmat(Om, Xt, P0)
    nu = 1e-8*np.linalg.norm(Yk); Yn = Yk + nu*Om
    C = np.linalg.cholesky(Om.T@Yn); B = sl.solve_triangular(C, Yn.T, lower=True).T
    U,S,_ = np.linalg.svd(B, full_matrices=False); lamh = np.maximum(0, S**2-nu)
    print("ell",ell,"build",time.time()-t, "eig top",lamh[:3],"last",lamh[-3:])
    def nys(r, U=U, lamh=lamh):
        c = U.T@r; return (lamh[-1]+lam)*(U@(c/(lamh+lam))) + (r - U@c)
    for s in np.unique(subj)[:4]:
        keep = subj!=s; Xr, Yr = Xt[keep], Y[keep]
        res={}
        for name,M in [("none",lambda r:r),("nys",nys)]:
            th=t0.copy(); tot=0; steps=0; log=[]; its=[]
            for st in range(6):
                f,g,P=fg(th,Xr,Yr); gn=np.linalg.norm(g); log.append(gn)
                if gn<=1e-7: break
                eta=max(1e-4, min(0.5, 0.5e-7/gn))
                x,it=pcg(g, lambda v:hvp(v,Xr,P), M, tol=eta); tot+=it; its.append(it); th=th-x; steps+=1
            res[name]=(steps,its,["%.1e"%l for l in log])
        print(ell, s, res)
