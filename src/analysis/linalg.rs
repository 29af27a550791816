//! Small, allocation-light numerical kernels for the metrology core: polynomial least squares
//! on a scaled abscissa, real roots of low-order polynomials in an interval, one-dimensional
//! minimisation, ordinary linear regression with standard uncertainties.

/// A polynomial `Σ c_k·t^k` in the scaled variable `t = (x − offset)/scale`, as numpy's
/// `Polynomial.fit` represents it (the scaling keeps the normal equations well conditioned).
#[derive(Debug, Clone, PartialEq)]
pub struct ScaledPolynomial {
    /// Coefficients in `t`, lowest order first.
    pub coefficients: Vec<f64>,
    /// Centre of the data's x range.
    pub offset: f64,
    /// Half-width of the data's x range.
    pub scale: f64,
}

impl ScaledPolynomial {
    /// Value at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        let t = (x - self.offset) / self.scale;
        self.coefficients
            .iter()
            .rev()
            .fold(0.0, |acc, c| acc * t + c)
    }

    /// First derivative with respect to `x` at `x`.
    pub fn derivative(&self, x: f64) -> f64 {
        let t = (x - self.offset) / self.scale;
        let mut acc = 0.0;
        for (k, c) in self.coefficients.iter().enumerate().skip(1).rev() {
            acc = acc * t + k as f64 * c;
        }
        acc / self.scale
    }

    /// Second derivative with respect to `x` at `x`.
    pub fn second_derivative(&self, x: f64) -> f64 {
        let t = (x - self.offset) / self.scale;
        let mut acc = 0.0;
        for (k, c) in self.coefficients.iter().enumerate().skip(2).rev() {
            acc = acc * t + (k * (k - 1)) as f64 * c;
        }
        acc / (self.scale * self.scale)
    }

    /// Real roots of the first derivative strictly inside `(lo, hi)`, ascending.
    pub fn stationary_points(&self, lo: f64, hi: f64) -> Vec<f64> {
        if let [_, c1, c2, c3, c4] = self.coefficients[..] {
            // A quartic: its derivative is a cubic in the scaled variable.
            let (tl, th) = (
                (lo - self.offset) / self.scale,
                (hi - self.offset) / self.scale,
            );
            return cubic_roots_in([c1, 2.0 * c2, 3.0 * c3, 4.0 * c4], tl, th)
                .into_iter()
                .map(|t| self.offset + self.scale * t)
                .collect();
        }
        real_roots_in(
            |x| self.derivative(x),
            |x| self.second_derivative(x),
            lo,
            hi,
            self.coefficients.len().saturating_sub(2),
        )
    }
}

/// Least-squares fit of a polynomial of `degree` to `(x, y)` (numpy `Polynomial.fit`
/// semantics: the abscissa is mapped to [−1, 1] first). `None` when there are fewer points
/// than coefficients or the system is singular.
pub fn polyfit(x: &[f64], y: &[f64], degree: usize) -> Option<ScaledPolynomial> {
    let n = degree + 1;
    if x.len() != y.len() || x.len() < n || n > 8 {
        return None;
    }
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let offset = 0.5 * (lo + hi);
    let scale = if hi > lo { 0.5 * (hi - lo) } else { 1.0 };
    // Normal equations on the scaled abscissa: sums of t^k (k ≤ 2·degree) and y·t^k.
    let mut power_sums = [0.0f64; 15];
    let mut rhs = [0.0f64; 8];
    for (xi, yi) in x.iter().zip(y) {
        let t = (xi - offset) / scale;
        let mut p = 1.0;
        for (k, s) in power_sums.iter_mut().enumerate().take(2 * degree + 1) {
            *s += p;
            if k < n {
                rhs[k] += yi * p;
            }
            p *= t;
        }
    }
    let mut a = [[0.0f64; 9]; 8];
    for (i, row) in a.iter_mut().enumerate().take(n) {
        for (j, cell) in row.iter_mut().enumerate().take(n) {
            *cell = power_sums[i + j];
        }
        row[n] = rhs[i];
    }
    let solution = solve(&mut a, n)?;
    Some(ScaledPolynomial {
        coefficients: solution[..n].to_vec(),
        offset,
        scale,
    })
}

/// Gaussian elimination with partial pivoting on an augmented `n × (n+1)` system.
fn solve(a: &mut [[f64; 9]; 8], n: usize) -> Option<[f64; 8]> {
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            if f != 0.0 {
                let pivot_row = a[col];
                for (cell, p) in a[row][col..=n].iter_mut().zip(&pivot_row[col..=n]) {
                    *cell -= f * p;
                }
            }
        }
    }
    let mut x = [0.0f64; 8];
    for row in (0..n).rev() {
        let mut s = a[row][n];
        for k in row + 1..n {
            s -= a[row][k] * x[k];
        }
        x[row] = s / a[row][row];
        if !x[row].is_finite() {
            return None;
        }
    }
    Some(x)
}

/// Straight line `y = intercept + slope·x` by least squares, with the standard uncertainties
/// of both coefficients and the residual standard deviation (ordinary least squares,
/// e.g. JCGM 100 H.3 / any regression text).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineFit {
    /// Value of the line at x = 0 (unit of y).
    pub intercept: f64,
    /// Change of y per unit of x.
    pub slope: f64,
    /// Standard uncertainty of the intercept (0 with two points).
    pub u_intercept: f64,
    /// Standard uncertainty of the slope (0 with two points).
    pub u_slope: f64,
    /// Residual standard deviation (n − 2 degrees of freedom).
    pub residual_sd: f64,
    /// Number of points.
    pub n: usize,
}

impl LineFit {
    /// Value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Ordinary least-squares straight line. `None` with fewer than two distinct x.
pub fn line_fit(x: &[f64], y: &[f64]) -> Option<LineFit> {
    let n = x.len();
    if n < 2 || y.len() != n {
        return None;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for (xi, yi) in x.iter().zip(y) {
        sxx += (xi - mx) * (xi - mx);
        sxy += (xi - mx) * (yi - my);
    }
    if sxx <= 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_res: f64 = x
        .iter()
        .zip(y)
        .map(|(xi, yi)| (yi - intercept - slope * xi).powi(2))
        .sum();
    let residual_sd = if n > 2 {
        (ss_res / (n - 2) as f64).sqrt()
    } else {
        0.0
    };
    let u_slope = residual_sd / sxx.sqrt();
    let u_intercept = residual_sd * (1.0 / n as f64 + mx * mx / sxx).sqrt();
    Some(LineFit {
        intercept,
        slope,
        u_intercept,
        u_slope,
        residual_sd,
        n,
    })
}

/// Real roots of `f` in the open interval `(lo, hi)`, where `f` is a polynomial of degree
/// `degree` (≤ 3) with derivative `df`. The interval is split at the roots of `df` (found the
/// same way, recursively in degree) so that `f` is monotone on each piece; each sign change is
/// then bracketed and refined by bisection to full precision.
pub fn real_roots_in(
    f: impl Fn(f64) -> f64 + Copy,
    df: impl Fn(f64) -> f64 + Copy,
    lo: f64,
    hi: f64,
    degree: usize,
) -> Vec<f64> {
    if hi.is_nan() || lo.is_nan() || hi <= lo || degree == 0 {
        return Vec::new();
    }
    let mut breaks = vec![lo];
    if degree >= 2 {
        // Roots of the derivative: sample densely (the derivative is of degree ≤ 2, so it
        // changes sign at most twice) and bisect sign changes.
        let samples = 64;
        let mut prev_x = lo;
        let mut prev = df(lo);
        for k in 1..=samples {
            let x = lo + (hi - lo) * k as f64 / samples as f64;
            let v = df(x);
            if prev == 0.0 {
                breaks.push(prev_x);
            } else if prev.signum() != v.signum() && v != 0.0 {
                breaks.push(bisect(df, prev_x, x));
            }
            prev_x = x;
            prev = v;
        }
    }
    breaks.push(hi);
    breaks.dedup();
    let mut roots = Vec::new();
    for w in breaks.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (fa, fb) = (f(a), f(b));
        if fa == 0.0 && a > lo {
            roots.push(a);
        } else if fa.signum() != fb.signum() && fb != 0.0 {
            let r = bisect(f, a, b);
            if r > lo && r < hi {
                roots.push(r);
            }
        }
    }
    roots.dedup();
    roots
}

/// Real roots of the cubic `d0 + d1·t + d2·t² + d3·t³` strictly inside `(lo, hi)`, ascending.
/// The interval is split at the roots of the derivative (quadratic formula) into pieces on
/// which the cubic is monotone; each sign change is solved by Newton's method kept inside its
/// bracket (bisection when a step leaves it), which converges in a handful of steps.
pub fn cubic_roots_in(d: [f64; 4], lo: f64, hi: f64) -> Vec<f64> {
    let f = |t: f64| ((d[3] * t + d[2]) * t + d[1]) * t + d[0];
    let df = |t: f64| (3.0 * d[3] * t + 2.0 * d[2]) * t + d[1];
    let ddf = |t: f64| 6.0 * d[3] * t + 2.0 * d[2];
    // Break points: the roots of f' (quadratic formula) and the inflection point, so that on
    // each piece f is monotone and either convex or concave, where Newton's method started
    // from the end with f·f'' > 0 converges monotonically (Fourier's condition).
    let mut breaks = [lo, hi, hi, hi, hi];
    let mut nb = 1;
    let (a, b, c) = (3.0 * d[3], 2.0 * d[2], d[1]);
    let mut special = [f64::NAN; 3];
    if a.abs() > 1e-300 {
        let disc = b * b - 4.0 * a * c;
        if disc >= 0.0 {
            let q = -0.5 * (b + b.signum() * disc.sqrt());
            special[0] = q / a;
            special[1] = if q != 0.0 { c / q } else { f64::NAN };
        }
        special[2] = -b / (2.0 * a);
    } else if b.abs() > 1e-300 {
        special[0] = -c / b;
    }
    special.sort_by(f64::total_cmp);
    for t in special {
        if t > lo && t < hi && t > breaks[nb - 1] {
            breaks[nb] = t;
            nb += 1;
        }
    }
    breaks[nb] = hi;
    let mut roots = Vec::with_capacity(3);
    for k in 0..nb {
        let (a, b) = (breaks[k], breaks[k + 1]);
        let (fa, fb) = (f(a), f(b));
        if fa == 0.0 {
            if a > lo && roots.last() != Some(&a) {
                roots.push(a);
            }
            continue;
        }
        if fb == 0.0 || fa.signum() == fb.signum() {
            continue;
        }
        let mid = 0.5 * (a + b);
        let mut t = if fa * ddf(mid) > 0.0 { a } else { b };
        let (mut lo_b, mut hi_b) = (a, b);
        let rising = fb > fa;
        for _ in 0..60 {
            let v = f(t);
            if v == 0.0 {
                break;
            }
            if (v > 0.0) == rising {
                hi_b = t;
            } else {
                lo_b = t;
            }
            let slope = df(t);
            let newton = t - v / slope;
            let next = if slope != 0.0 && newton >= lo_b && newton <= hi_b {
                newton
            } else {
                0.5 * (lo_b + hi_b)
            };
            let done = (next - t).abs() <= 1e-13 * (1.0 + t.abs());
            t = next;
            if done {
                break;
            }
        }
        if t > lo && t < hi {
            roots.push(t);
        }
    }
    roots
}

/// Bisection for a sign change of `f` in `[a, b]` to the last representable bit.
pub fn bisect(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let mut fa = f(a);
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if m <= a || m >= b {
            break;
        }
        let fm = f(m);
        if fm == 0.0 {
            return m;
        }
        if fm.signum() == fa.signum() {
            a = m;
            fa = fm;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

/// Minimise a function of one variable on `[lo, hi]`: a coarse scan of `grid` points, then
/// golden-section search in the best bracket. Robust for the non-smooth spread objectives of
/// IEC 60891 parameter determination (max |deviation|), where derivative-based methods fail.
pub fn minimise_1d(
    f: impl Fn(f64) -> f64,
    lo: f64,
    hi: f64,
    grid: usize,
    tolerance: f64,
) -> (f64, f64) {
    let grid = grid.max(3);
    let step = (hi - lo) / (grid - 1) as f64;
    let (mut best_x, mut best_f) = (lo, f(lo));
    for k in 1..grid {
        let x = lo + step * k as f64;
        let v = f(x);
        if v < best_f {
            best_x = x;
            best_f = v;
        }
    }
    let mut a = (best_x - step).max(lo);
    let mut b = (best_x + step).min(hi);
    let golden = 0.5 * (5f64.sqrt() - 1.0);
    let mut c = b - golden * (b - a);
    let mut d = a + golden * (b - a);
    let (mut fc, mut fd) = (f(c), f(d));
    while (b - a).abs() > tolerance {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - golden * (b - a);
            fc = f(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + golden * (b - a);
            fd = f(d);
        }
    }
    let x = 0.5 * (a + b);
    let fx = f(x);
    if fx <= best_f {
        (x, fx)
    } else {
        (best_x, best_f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polyfit_recovers_an_exact_quartic() {
        let x: Vec<f64> = (0..30).map(|k| 30.0 + k as f64 * 0.5).collect();
        let truth = |v: f64| 1.0 - 2.0 * v + 0.3 * v * v - 0.004 * v.powi(3) + 1e-5 * v.powi(4);
        let y: Vec<f64> = x.iter().map(|v| truth(*v)).collect();
        let p = polyfit(&x, &y, 4).expect("fit");
        for v in [30.0, 37.3, 44.5] {
            assert!(
                (p.eval(v) - truth(v)).abs() < 1e-9 * truth(v).abs().max(1.0),
                "{v}"
            );
        }
        let d = |v: f64| -2.0 + 0.6 * v - 0.012 * v * v + 4e-5 * v.powi(3);
        assert!((p.derivative(40.0) - d(40.0)).abs() < 1e-9);
        assert!(polyfit(&x[..4], &y[..4], 4).is_none());
    }

    #[test]
    fn roots_of_a_cubic_in_an_interval() {
        let f = |x: f64| (x - 1.0) * (x - 2.0) * (x - 3.5);
        let df = |x: f64| 3.0 * x * x - 13.0 * x + 12.5;
        let r = real_roots_in(f, df, 0.0, 4.0, 3);
        assert_eq!(r.len(), 3);
        for (got, want) in r.iter().zip([1.0, 2.0, 3.5]) {
            assert!((got - want).abs() < 1e-12);
        }
        assert_eq!(real_roots_in(f, df, 1.2, 1.9, 3), Vec::<f64>::new());
    }

    #[test]
    fn cubic_roots_by_newton_in_brackets() {
        // (t − 0.2)(t + 0.5)(t − 0.9) = t³ − 0.6t² − 0.37t + 0.09
        let r = cubic_roots_in([0.09, -0.37, -0.6, 1.0], -1.0, 1.0);
        assert_eq!(r.len(), 3);
        for (got, want) in r.iter().zip([-0.5, 0.2, 0.9]) {
            assert!((got - want).abs() < 1e-14, "{got} vs {want}");
        }
        assert_eq!(
            cubic_roots_in([0.09, -0.37, -0.6, 1.0], 0.3, 0.8),
            Vec::<f64>::new()
        );
        // Degenerate: a straight line.
        assert_eq!(cubic_roots_in([-1.0, 2.0, 0.0, 0.0], 0.0, 1.0), vec![0.5]);
    }

    #[test]
    fn line_fit_uncertainties_match_textbook() {
        // Worked by hand: x̄ = 1.5, ȳ = 6.5, Sxx = 5, Sxy = 14.8 → slope 2.96, intercept
        // 2.06; residuals 0.04, −0.12, 0.12, −0.04 → s² = 0.032/2.
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [2.1, 4.9, 8.1, 10.9];
        let f = line_fit(&x, &y).expect("fit");
        assert!((f.slope - 2.96).abs() < 1e-12);
        assert!((f.intercept - 2.06).abs() < 1e-12);
        assert!((f.residual_sd - (0.032f64 / 2.0).sqrt()).abs() < 1e-12);
        assert!((f.u_slope - f.residual_sd / 5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn minimiser_finds_a_kink() {
        let (x, fx) = minimise_1d(|x| (x - 1.29).abs() + 0.01, 0.0, 3.0, 61, 1e-9);
        assert!((x - 1.29).abs() < 1e-8 && (fx - 0.01).abs() < 1e-8);
    }
}
