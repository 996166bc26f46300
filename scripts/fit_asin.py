#!/usr/bin/env python3
"""The asin polynomial of compiler/kernel_c/ntkc_math.h (ntkc_asin_small).

asin(y) = y + y·z·P(z), z = y², for 0 <= y <= 1/2. P, of degree 14, is the
polynomial interpolating (asin(y)/y - 1)/z at the Chebyshev nodes of
z in [0, 1/4], solved exactly in rationals from the Taylor series of asin
(70 terms: exact far beyond double precision) and rounded to doubles.
An argument sets the degree: 5 for the float version (ntkc_math_f.h).
Prints the coefficients and the worst relative error of P, with the rounded
coefficients, on a grid of 1001 points (≈ 6e-17)."""
from fractions import Fraction
from math import comb, cos, pi

TERMS = [Fraction(comb(2 * k, k), 4 ** k * (2 * k + 1)) for k in range(70)]

def p_exact(z):
    s, zp = Fraction(0), Fraction(1)
    for k in range(1, 70):
        s += TERMS[k] * zp
        zp *= z
    return s

def solve(a, b):
    n = len(b)
    m = [row[:] + [v] for row, v in zip(a, b)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[r][c] != 0:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]

def main(deg=14):
    n = deg + 1
    nodes = [Fraction(0.125 * (cos(pi * (i + 0.5) / n) + 1)) for i in range(n)]
    coef = [float(c) for c in solve([[z ** k for k in range(n)] for z in nodes], [p_exact(z) for z in nodes])]
    worst = 0.0
    for i in range(1001):
        z = Fraction(i, 4000)
        approx = Fraction(0)
        for c in reversed(coef):
            approx = approx * z + Fraction(c)
        worst = max(worst, abs(float((approx - p_exact(z)) / p_exact(z))))
    print("coefficients:", ", ".join(repr(c) for c in coef))
    print("worst relative error:", worst)

import sys
main(int(sys.argv[1]) if len(sys.argv) > 1 else 14)
