"""PROVISIONAL (replaced by the helper's module): Philox streams identical to NumPy's."""
# ruff: noqa
from __future__ import annotations
import math
from typing import Any
import numpy as np
from llvmlite import ir
from numba import types, uint64
from numba.extending import intrinsic
from numba.np.random._constants import (wi_double, ki_double, fi_double, ziggurat_nor_r,
    ziggurat_nor_inv_r, we_double, ke_double, fe_double, ziggurat_exp_r)
from steppe.engines.kernel._cache import njit

_njit: Any = njit
_OPTS: dict[str, Any] = {"cache": True, "error_model": "numpy", "nogil": True}

@intrinsic
def mulhilo64(typingctx, a, b):
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)
    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        x = builder.zext(args[0], i128)
        y = builder.zext(args[1], i128)
        p = builder.mul(x, y)
        hi = builder.trunc(builder.lshr(p, ir.Constant(i128, 64)), ir.IntType(64))
        lo = builder.trunc(p, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, [hi, lo])
    return sig, codegen

M0 = np.uint64(0xD2E7470EE14C6C93); M1 = np.uint64(0xCA5A826395121157)
W0 = np.uint64(0x9E3779B97F4A7C15); W1 = np.uint64(0xBB67AE8584CAA73B)

@_njit(inline="always", **_OPTS)
def philox4x64_10(c0, c1, c2, c3, k0, k1):
    for _ in range(10):
        hi0, lo0 = mulhilo64(M0, c0)
        hi1, lo1 = mulhilo64(M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 += W0; k1 += W1
    return c0, c1, c2, c3

@_njit(**_OPTS)
def reset(st):
    for s in range(st.shape[0]):
        st[s, 2] = 0
        st[s, 3] = 4

@_njit(inline="always", **_OPTS)
def next_uint64(st, s, rep):
    p = st[s, 3]
    if p >= 4:
        c = st[s, 2] + uint64(1)
        st[s, 2] = c
        a, b, cc, d = philox4x64_10(c, uint64(rep), uint64(0), uint64(0), st[s, 0], st[s, 1])
        st[s, 4] = a; st[s, 5] = b; st[s, 6] = cc; st[s, 7] = d
        st[s, 3] = 1
        return a
    st[s, 3] = p + uint64(1)
    return st[s, 4 + np.intp(p)]

@_njit(**_OPTS)
def next_double(st, s, rep):
    return np.float64(next_uint64(st, s, rep) >> uint64(11)) * (1.0 / 9007199254740992.0)

@_njit(**_OPTS)
def std_normal(st, s, rep):
    while 1:
        r = next_uint64(st, s, rep)
        idx = np.intp(r & uint64(0xff))
        r >>= uint64(8)
        rabs = (r >> uint64(1)) & uint64(0x000fffffffffffff)
        x = np.float64(rabs) * wi_double[idx]
        if r & uint64(1):
            x = -x
        if rabs < ki_double[idx]:
            return x
        if idx == 0:
            while 1:
                xx = -ziggurat_nor_inv_r * np.log1p(-next_double(st, s, rep))
                yy = -np.log1p(-next_double(st, s, rep))
                if yy + yy > xx * xx:
                    if (rabs >> uint64(8)) & uint64(1):
                        return -(ziggurat_nor_r + xx)
                    return ziggurat_nor_r + xx
        else:
            if ((fi_double[idx - 1] - fi_double[idx]) * next_double(st, s, rep) + fi_double[idx]) < np.exp(-0.5 * x * x):
                return x

@_njit(**_OPTS)
def std_exponential(st, s, rep):
    while 1:
        ri = next_uint64(st, s, rep)
        ri >>= uint64(3)
        idx = np.intp(ri & uint64(0xFF))
        ri >>= uint64(8)
        x = np.float64(ri) * we_double[idx]
        if ri < ke_double[idx]:
            return x
        if idx == 0:
            return ziggurat_exp_r - np.log1p(-next_double(st, s, rep))
        if (fe_double[idx - 1] - fe_double[idx]) * next_double(st, s, rep) + fe_double[idx] < np.exp(-x):
            return x

@_njit(**_OPTS)
def std_gamma(st, s, rep, shape):
    if shape == 1.0:
        return std_exponential(st, s, rep)
    elif shape == 0.0:
        return 0.0
    elif shape < 1.0:
        while 1:
            U = next_double(st, s, rep)
            V = std_exponential(st, s, rep)
            if U <= 1.0 - shape:
                X = pow(U, 1. / shape)
                if X <= V:
                    return X
            else:
                Y = -np.log((1 - U) / shape)
                X = pow(1.0 - shape + shape * Y, 1. / shape)
                if X <= (V + Y):
                    return X
    else:
        b = shape - 1. / 3.
        c = 1. / np.sqrt(9 * b)
        while 1:
            while 1:
                X = std_normal(st, s, rep)
                V = 1.0 + c * X
                if V > 0.0:
                    break
            V = V * V * V
            U = next_double(st, s, rep)
            if U < 1.0 - 0.0331 * (X * X) * (X * X):
                return b * V
            if np.log(U) < 0.5 * X * X + b * (1. - V + np.log(V)):
                return b * V

@_njit(**_OPTS)
def normal(st, s, rep, loc, scale):
    return loc + scale * std_normal(st, s, rep)

@_njit(**_OPTS)
def lognormal(st, s, rep, mean, sigma):
    return np.exp(mean + sigma * std_normal(st, s, rep))

@_njit(**_OPTS)
def uniform(st, s, rep, low, high):
    return low + (high - low) * next_double(st, s, rep)

@_njit(**_OPTS)
def exponential(st, s, rep, scale):
    return scale * std_exponential(st, s, rep)

@_njit(**_OPTS)
def weibull(st, s, rep, a):
    if a == 0.0:
        return 0.0
    return pow(std_exponential(st, s, rep), 1. / a)

@_njit(**_OPTS)
def gamma(st, s, rep, shape, scale):
    return scale * std_gamma(st, s, rep, shape)

@_njit(**_OPTS)
def triangular(st, s, rep, left, mode, right):
    base = right - left
    leftbase = mode - left
    ratio = leftbase / base
    leftprod = leftbase * base
    rightprod = (right - mode) * base
    U = next_double(st, s, rep)
    if U <= ratio:
        return left + np.sqrt(U * leftprod)
    return right - np.sqrt((1.0 - U) * rightprod)

@_njit(**_OPTS)
def beta(st, s, rep, a, b):
    if a <= 1.0 and b <= 1.0:
        while 1:
            U = next_double(st, s, rep)
            V = next_double(st, s, rep)
            X = pow(U, 1.0 / a)
            Y = pow(V, 1.0 / b)
            XpY = X + Y
            if XpY <= 1.0 and XpY > 0.0:
                if X + Y > 0:
                    return X / XpY
                logX = np.log(U) / a
                logY = np.log(V) / b
                logM = min(logX, logY)
                logX -= logM
                logY -= logM
                return np.exp(logX - np.log(np.exp(logX) + np.exp(logY)))
    Ga = std_gamma(st, s, rep, a)
    Gb = std_gamma(st, s, rep, b)
    return Ga / (Ga + Gb)

@_njit(**_OPTS)
def _fill_row(k0, k1, rep, out):
    """numpy's Generator(Philox(key=[k0,k1], counter=[0,rep,0,0])).standard_normal(len(out))"""
    n = out.shape[0]
    ctr = uint64(0)
    b0 = b1 = b2 = b3 = uint64(0)
    p = 4
    i = 0
    while i < n:
        if p == 4:
            ctr += uint64(1)
            b0, b1, b2, b3 = philox4x64_10(ctr, rep, uint64(0), uint64(0), k0, k1)
            p = 0
        r0 = b0 if p == 0 else (b1 if p == 1 else (b2 if p == 2 else b3))
        p += 1
        idx = np.intp(r0 & uint64(0xff))
        r = r0 >> uint64(8)
        rabs = (r >> uint64(1)) & uint64(0x000fffffffffffff)
        x = np.float64(rabs) * wi_double[idx]
        if r & uint64(1):
            x = -x
        if rabs < ki_double[idx]:
            out[i] = x
            i += 1
            continue
        # slow path: numpy's algorithm, reading further words of the same stream
        while True:
            if idx == 0:
                got = False
                while True:
                    if p == 4:
                        ctr += uint64(1); b0, b1, b2, b3 = philox4x64_10(ctr, rep, uint64(0), uint64(0), k0, k1); p = 0
                    w = b0 if p == 0 else (b1 if p == 1 else (b2 if p == 2 else b3)); p += 1
                    xx = -ziggurat_nor_inv_r * np.log1p(-((w >> uint64(11)) * (1.0 / 9007199254740992.0)))
                    if p == 4:
                        ctr += uint64(1); b0, b1, b2, b3 = philox4x64_10(ctr, rep, uint64(0), uint64(0), k0, k1); p = 0
                    w = b0 if p == 0 else (b1 if p == 1 else (b2 if p == 2 else b3)); p += 1
                    yy = -np.log1p(-((w >> uint64(11)) * (1.0 / 9007199254740992.0)))
                    if yy + yy > xx * xx:
                        x = -(ziggurat_nor_r + xx) if (rabs >> uint64(8)) & uint64(1) else ziggurat_nor_r + xx
                        break
                break
            else:
                if p == 4:
                    ctr += uint64(1); b0, b1, b2, b3 = philox4x64_10(ctr, rep, uint64(0), uint64(0), k0, k1); p = 0
                w = b0 if p == 0 else (b1 if p == 1 else (b2 if p == 2 else b3)); p += 1
                if (fi_double[idx - 1] - fi_double[idx]) * ((w >> uint64(11)) * (1.0 / 9007199254740992.0)) + fi_double[idx] < np.exp(-0.5 * x * x):
                    break
            # rejected: a new word, the fast path again
            if p == 4:
                ctr += uint64(1); b0, b1, b2, b3 = philox4x64_10(ctr, rep, uint64(0), uint64(0), k0, k1); p = 0
            r0 = b0 if p == 0 else (b1 if p == 1 else (b2 if p == 2 else b3)); p += 1
            idx = np.intp(r0 & uint64(0xff))
            r = r0 >> uint64(8)
            rabs = (r >> uint64(1)) & uint64(0x000fffffffffffff)
            x = np.float64(rabs) * wi_double[idx]
            if r & uint64(1):
                x = -x
            if rabs < ki_double[idx]:
                break
        out[i] = x
        i += 1


@_njit(**_OPTS)
def fill_normals(keys, rep, out):
    for s in range(keys.shape[0]):
        _fill_row(keys[s, 0], keys[s, 1], uint64(rep), out[s])
