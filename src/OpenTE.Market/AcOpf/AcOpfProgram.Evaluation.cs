using System.Runtime.InteropServices;
using OpenTE.Numerics;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Market.AcOpf;

// The constraints, their Jacobians and the Hessian of the Lagrangian of AcOpfProgram.
//
// Every Ybus entry (i, k) contributes the term |Vi||Vk|(G cos θ + B sin θ) to P_i and |Vi||Vk|(G sin θ − B cos θ) to
// Q_i (θ = θi − θk), or |Vi|²G and −|Vi|²B on the diagonal; a branch end's flow is one diagonal-like term of Y_ss and one
// cross term of Y_so. With a = G cos θ + B sin θ and b = G sin θ − B cos θ, over the local variables (θi, θk, |Vi|, |Vk|):
//   ∇P = (−vv·b, vv·b, vk·a, vi·a),  ∇Q = (vv·a, −vv·a, vk·b, vi·b)          (vv = |Vi||Vk|)
//   ∇²P: θθ block vv·a·[−1 1; 1 −1], θV block [−vk·b −vi·b; vk·b vi·b], ∂²/∂|Vi|∂|Vk| = a
//   ∇²Q: θθ block vv·b·[−1 1; 1 −1], θV block [vk·a vi·a; −vk·a −vi·a], ∂²/∂|Vi|∂|Vk| = b
//   diagonal terms: ∂P/∂|Vi| = 2|Vi|G, ∂²P/∂|Vi|² = 2G; ∂Q/∂|Vi| = −2|Vi|B, ∂²Q/∂|Vi|² = −2B.
//
// The interior point asks, at each iterate, for g and h, then their Jacobians, then the Hessian, all at the same x. One
// pass per distinct x (Evaluate) computes everything that depends on x alone — sin and cos of every angle difference
// (once per Ybus entry; a branch end reuses its entry's), a and b of every term, the flows at every rated branch end
// with their gradients, g, h and the Jacobians' values — and the Hessian needs only the multipliers on top. The cache is
// keyed on the bits of x: a call at any other x evaluates afresh, so no stale value can be returned.
//
// The sparsity patterns are fixed. They are built once by visiting the terms in the order Evaluate and Hessian visit
// them (BuildPatterns), which also gives each term's slot in the matrix values; a pass then writes straight into the
// value arrays through those slots. Each slot receives its terms in the visiting order, so the sums are the same in
// every pass. The Jacobians get new value arrays at each new x: the interior point tells a new Jacobian from the last
// one by reference and keeps what it derived from it under that reference, so a value array refilled at another point
// (a restoration phase evaluates many between two main iterations) would pass for unchanged. The Hessian is refilled
// in place (both solvers use a Hessian before they ask for the next).
internal sealed partial class AcOpfProgram
{
    /// <summary>The fixed patterns, the slot of every term in visiting order, and the angle differences to evaluate.</summary>
    private sealed class Patterns
    {
        public required SparseMatrix Jg, Jh, Hessian;
        public required int[] JgSlot, JhSlot, HSlot;
        /// <summary>Angle differences θa − θo to evaluate: the Ybus entries (index = entry) and then extra pairs.</summary>
        public required int[] TrigA, TrigO, TrigIndex;
        /// <summary>The rated branch ends in visiting order (2k: from, 2k + 1: to end of FlowLimitFrom's element k).</summary>
        public required RatedEnd[] Ends;
    }

    /// <summary>A rated branch end: its bus and the other, its row, its angle difference, Y_ss, Y_so and rateA² (p.u.).</summary>
    private readonly record struct RatedEnd(int Bus, int Other, int Row, int Trig, double Gss, double Bss, double Gso, double Bso, double Rate2);

    private Patterns? _patterns;
    private double[] _point = Arrays.NoDoubles;   // the x of the cached evaluation (compared bit for bit)
    private bool _cached;
    private double[] _g = Arrays.NoDoubles, _h = Arrays.NoDoubles;
    private SparseMatrix? _jgAt, _jhAt;
    private double[] _cos = Arrays.NoDoubles, _sin = Arrays.NoDoubles;       // per angle difference
    private double[] _ta = Arrays.NoDoubles, _tb = Arrays.NoDoubles;         // a and b per Ybus entry
    private double[] _fp = Arrays.NoDoubles, _fq = Arrays.NoDoubles, _fa = Arrays.NoDoubles, _fb = Arrays.NoDoubles, _fdp = Arrays.NoDoubles, _fdq = Arrays.NoDoubles; // per rated branch end; gradients ×4

    public void Constraints(ReadOnlySpan<double> x, Span<double> g, Span<double> h)
    {
        EnsureEvaluated(x);
        _g.CopyTo(g);
        _h.CopyTo(h);
    }

    /// <summary>The Jacobians at x. They belong to the program: a caller reads them and does not write into them.</summary>
    public (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x)
    {
        EnsureEvaluated(x);
        return (_jgAt!, _jhAt!);
    }

    private void EnsureEvaluated(ReadOnlySpan<double> x)
    {
        if (x.Length != Variables) throw new ArgumentException($"x has {x.Length} entries where the program has {Variables} variables");
        if (_cached && MemoryMarshal.Cast<double, long>(x).SequenceEqual(MemoryMarshal.Cast<double, long>(_point.AsSpan()))) return;
        _cached = false; // until the pass below completes
        Evaluate(x);
        if (_point.Length != x.Length) _point = new double[x.Length];
        x.CopyTo(_point);
        _cached = true;
    }

    /// <summary>
    /// The patterns of Jg, Jh and the Hessian: every term visited in the order <see cref="Evaluate"/> and
    /// <see cref="Hessian"/> visit them (all 16 positions of a term's local block, as the pattern has always held them).
    /// </summary>
    private Patterns BuildPatterns()
    {
        var Y = _y.Ybus;
        // angle differences: every off-diagonal Ybus entry of an energised row, then rated branch ends without one
        var trigA = new List<int>();
        var trigO = new List<int>();
        var trigIndex = new List<int>();
        int trigCount = Y.ColIdx.Length;
        for (int k = 0; k < BalanceP.Length; k++)
        {
            int i = BalanceP.Member(k);
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
                if (Y.ColIdx[e] != i) { trigA.Add(i); trigO.Add(Y.ColIdx[e]); trigIndex.Add(e); }
        }
        var ends = new RatedEnd[2 * FlowLimitFrom.Length];
        for (int k = 0; k < FlowLimitFrom.Length; k++)
            for (int side = 0; side < 2; side++)
            {
                int l = FlowLimitFrom.Member(k);
                var (a, o, yss, yso) = End(l, side == 0);
                int found = -1;
                if (a != o && BalanceP.Has(a))
                    for (int e = Y.RowPtr[a]; e < Y.RowPtr[a + 1]; e++)
                        if (Y.ColIdx[e] == o) { found = e; break; }
                if (found < 0) { found = trigCount++; trigA.Add(a); trigO.Add(o); trigIndex.Add(found); }
                double rate = _net.Branches[l].RateA / _base;
                ends[2 * k + side] = new RatedEnd(a, o, side == 0 ? FlowLimitFrom[k] : FlowLimitTo[k], found,
                    yss.Real, yss.Imaginary, yso.Real, yso.Imaginary, rate * rate);
            }

        // capacities: upper bounds of the term counts (no growing)
        int ny = Y.ColIdx.Length, derQ = DerQ.Length, derQ2 = DerBlocks.Sum(b => b.Length * b.Length);
        var jg = new TripletBuilder(Equalities, Variables, 8 * ny + 2 * Pg.Length + derQ);
        for (int k = 0; k < BalanceP.Length; k++)
        {
            int i = BalanceP.Member(k), rp = BalanceP[k], rq = BalanceQ[k];
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
            {
                int j = Y.ColIdx[e];
                if (j == i) { jg.Add(rp, Vm[i], 0); jg.Add(rq, Vm[i], 0); continue; }
                foreach (int r in (ReadOnlySpan<int>)[rp, rq]) { jg.Add(r, Va[i], 0); jg.Add(r, Va[j], 0); jg.Add(r, Vm[i], 0); jg.Add(r, Vm[j], 0); }
            }
            foreach (var (pv, qv) in _gensAt[i]) { jg.Add(rp, pv, 0); jg.Add(rq, qv, 0); }
            foreach (int d in _derAt[i])
                foreach (var (v, _, _) in DerBlocks[d]) jg.Add(rq, v, 0);
        }

        var jh = new TripletBuilder(Inequalities, Variables, 4 * ends.Length + 2 * AngleDifference.Length + 2 * PwlSegment.Length + derQ);
        foreach (var end in ends)
        {
            jh.Add(end.Row, Va[end.Bus], 0); jh.Add(end.Row, Va[end.Other], 0); jh.Add(end.Row, Vm[end.Bus], 0); jh.Add(end.Row, Vm[end.Other], 0);
        }
        for (int k = 0; k < AngleDifference.Length; k++)
        {
            int l = AngleDifference.Member(k), row = AngleDifference[k];
            jh.Add(row, Va[_y.FromBus[l]], 0);
            jh.Add(row, Va[_y.ToBus[l]], 0);
        }
        for (int k = 0; k < PwlSegment.Length; k++) { jh.Add(PwlSegment[k], _segments[k].Var, 0); jh.Add(PwlSegment[k], _segments[k].Y, 0); }
        for (int d = 0; d < DerCapability.Length; d++)
            foreach (var (v, _, _) in DerBlocks[d]) jh.Add(DerCapability[d], v, 0);

        var hess = new TripletBuilder(Variables, Variables, _polyCosts.Count + 16 * ny + derQ2 + 16 * ends.Length);
        Span<int> vars = stackalloc int[4];
        void Block4(TripletBuilder b, Span<int> v)
        {
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) b.Add(v[r], v[c], 0);
        }
        foreach (var (v, _) in _polyCosts) hess.Add(v, v, 0);
        for (int k = 0; k < BalanceP.Length; k++)
        {
            int i = BalanceP.Member(k);
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
            {
                int j = Y.ColIdx[e];
                if (j == i) { hess.Add(Vm[i], Vm[i], 0); continue; }
                vars[0] = Va[i]; vars[1] = Va[j]; vars[2] = Vm[i]; vars[3] = Vm[j];
                Block4(hess, vars);
            }
        }
        for (int d = 0; d < DerCapability.Length; d++)
            foreach (var (v1, _, _) in DerBlocks[d])
                foreach (var (v2, _, _) in DerBlocks[d]) hess.Add(v1, v2, 0);
        foreach (var end in ends)
        {
            vars[0] = Va[end.Bus]; vars[1] = Va[end.Other]; vars[2] = Vm[end.Bus]; vars[3] = Vm[end.Other];
            Block4(hess, vars);
        }

        var p = new Patterns
        {
            Jg = jg.ToCsc(out var jgSlot), JgSlot = jgSlot,
            Jh = jh.ToCsc(out var jhSlot), JhSlot = jhSlot,
            Hessian = hess.ToCsc(out var hSlot), HSlot = hSlot,
            TrigA = [.. trigA], TrigO = [.. trigO], TrigIndex = [.. trigIndex],
            Ends = ends,
        };
        _g = new double[Equalities];
        _h = new double[Inequalities];
        _cos = new double[trigCount];
        _sin = new double[trigCount];
        _ta = new double[Y.ColIdx.Length];
        _tb = new double[Y.ColIdx.Length];
        int n = ends.Length;
        (_fp, _fq, _fa, _fb, _fdp, _fdq) = (new double[n], new double[n], new double[n], new double[n], new double[4 * n], new double[4 * n]);
        return p;
    }

    /// <summary>g, h, the Jacobians' values and the quantities the Hessian needs, at x (one pass, no other allocation than the Jacobians' values).</summary>
    private void Evaluate(ReadOnlySpan<double> x)
    {
        var s = _patterns ??= BuildPatterns();
        var Y = _y.Ybus;
        double[] cos = _cos, sin = _sin, ta = _ta, tb = _tb, g = _g, h = _h;

        // angle differences, once per Ybus entry (a branch end reuses its entry's)
        int[] trigA = s.TrigA, trigO = s.TrigO, trigIndex = s.TrigIndex;
        for (int t = 0; t < trigIndex.Length; t++)
            (sin[trigIndex[t]], cos[trigIndex[t]]) = Math.SinCos(x[Va[trigA[t]]] - x[Va[trigO[t]]]);

        // balanceP[i], balanceQ[i]: injections by Ybus row i, plus load, less generation (and DER Q)
        var jg = new double[s.Jg.Nnz];
        int[] slot = s.JgSlot;
        int c = 0;
        for (int k = 0; k < BalanceP.Length; k++)
        {
            int i = BalanceP.Member(k), rp = BalanceP[k], rq = BalanceQ[k];
            double p = _pd[i], q = _qd[i], vi = x[Vm[i]];
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
            {
                int j = Y.ColIdx[e];
                double G = Y.Values[e].Real, B = Y.Values[e].Imaginary;
                if (j == i)
                {
                    p += vi * vi * G;
                    q += -vi * vi * B;
                    jg[slot[c++]] += 2 * vi * G;
                    jg[slot[c++]] += -2 * vi * B;
                    continue;
                }
                double vk = x[Vm[j]], a = G * cos[e] + B * sin[e], b = G * sin[e] - B * cos[e], vv = vi * vk;
                ta[e] = a;
                tb[e] = b;
                p += vv * a;
                q += vv * b;
                jg[slot[c++]] += -vv * b; jg[slot[c++]] += vv * b; jg[slot[c++]] += vk * a; jg[slot[c++]] += vi * a;
                jg[slot[c++]] += vv * a; jg[slot[c++]] += -vv * a; jg[slot[c++]] += vk * b; jg[slot[c++]] += vi * b;
            }
            foreach (var (pv, qv) in _gensAt[i])
            {
                p -= x[pv];
                q -= x[qv];
                jg[slot[c++]] += -1;
                jg[slot[c++]] += -1;
            }
            foreach (int d in _derAt[i])
                foreach (var (v, sign, _) in DerBlocks[d])
                {
                    q -= sign * x[v];
                    jg[slot[c++]] += -sign;
                }
            g[rp] = p;
            g[rq] = q;
        }
        if (c != slot.Length) throw new InvalidOperationException("the balance rows' terms do not match their pattern");

        // flowLimitFrom[l], flowLimitTo[l]: P² + Q² − rateA² at each end of every rated branch
        var jh = new double[s.Jh.Nnz];
        slot = s.JhSlot;
        c = 0;
        double[] fp = _fp, fq = _fq, fa = _fa, fb = _fb, fdp = _fdp, fdq = _fdq;
        var ends = s.Ends;
        for (int end = 0; end < ends.Length; end++)
        {
            var (bus, other, row, t, Gs, Bs, G, B, rate2) = ends[end];
            double vi = x[Vm[bus]], vk = x[Vm[other]];
            double a = G * cos[t] + B * sin[t], b = G * sin[t] - B * cos[t], vv = vi * vk;
            double p = vi * vi * Gs + vv * a, q = -vi * vi * Bs + vv * b;
            double dp0 = -vv * b, dp1 = vv * b, dp2 = 2 * vi * Gs + vk * a, dp3 = vi * a;
            double dq0 = vv * a, dq1 = -vv * a, dq2 = -2 * vi * Bs + vk * b, dq3 = vi * b;
            (fp[end], fq[end], fa[end], fb[end]) = (p, q, a, b);
            (fdp[4 * end], fdp[4 * end + 1], fdp[4 * end + 2], fdp[4 * end + 3]) = (dp0, dp1, dp2, dp3);
            (fdq[4 * end], fdq[4 * end + 1], fdq[4 * end + 2], fdq[4 * end + 3]) = (dq0, dq1, dq2, dq3);
            h[row] = p * p + q * q - rate2;
            jh[slot[c++]] += 2 * (p * dp0 + q * dq0);
            jh[slot[c++]] += 2 * (p * dp1 + q * dq1);
            jh[slot[c++]] += 2 * (p * dp2 + q * dq2);
            jh[slot[c++]] += 2 * (p * dp3 + q * dq3);
        }

        // angleDifference: sign·(Va_f − Va_t) − bound
        for (int k = 0; k < AngleDifference.Length; k++)
        {
            var (sign, bound) = _angle[k];
            int l = AngleDifference.Member(k), row = AngleDifference[k];
            int f = Va[_y.FromBus[l]], t = Va[_y.ToBus[l]];
            h[row] = sign * (x[f] - x[t]) - bound;
            jh[slot[c++]] += sign;
            jh[slot[c++]] += -sign;
        }

        // pwlSegment: slope·x − y − rhs (y above every segment of its cost)
        for (int k = 0; k < PwlSegment.Length; k++)
        {
            var (v, y, slope, rhs) = _segments[k];
            h[PwlSegment[k]] = slope * x[v] - x[y] - rhs;
            jh[slot[c++]] += slope;
            jh[slot[c++]] += -1;
        }

        // derCapability[d]: Q_d² − (S_d² − P_d²)
        for (int d = 0; d < DerCapability.Length; d++)
        {
            double qd = DerOutput(x, d), s2 = Ders[d].SMva / _base, p2 = Ders[d].PMw / _base;
            h[DerCapability[d]] = qd * qd - (s2 * s2 - p2 * p2);
            foreach (var (v, sign, _) in DerBlocks[d]) jh[slot[c++]] += 2 * qd * sign;
        }
        if (c != slot.Length) throw new InvalidOperationException("the inequality rows' terms do not match their pattern");

        _jgAt = new SparseMatrix(s.Jg.Rows, s.Jg.Cols, s.Jg.ColPtr, s.Jg.RowIdx, jg);
        _jhAt = new SparseMatrix(s.Jh.Rows, s.Jh.Cols, s.Jh.ColPtr, s.Jh.RowIdx, jh);
    }

    // ---------------- Hessian of the Lagrangian ----------------

    public SparseMatrix Hessian(ReadOnlySpan<double> x, double sigma, ReadOnlySpan<double> lambda, ReadOnlySpan<double> mu)
    {
        EnsureEvaluated(x);
        var s = _patterns!;
        var H = s.Hessian;
        var v = H.Values;
        Array.Clear(v);
        int[] slot = s.HSlot;
        int c = 0;
        foreach (var (pv, cost) in _polyCosts)
            v[slot[c++]] += sigma * Poly(cost, x[pv] * _base).D2 * _base * _base;

        // balance rows: Σ_i λP_i ∇²P_i + λQ_i ∇²Q_i, term by term over Ybus (the 4×4 block of (θi, θk, |Vi|, |Vk|), row-major)
        var Y = _y.Ybus;
        double[] ta = _ta, tb = _tb;
        for (int k = 0; k < BalanceP.Length; k++)
        {
            int i = BalanceP.Member(k);
            double lp = lambda[BalanceP[k]], lq = lambda[BalanceQ[k]], vi = x[Vm[i]];
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
            {
                int j = Y.ColIdx[e];
                if (j == i)
                {
                    v[slot[c++]] += lp * (2 * Y.Values[e].Real) + lq * (-2 * Y.Values[e].Imaginary);
                    continue;
                }
                double vk = x[Vm[j]], a = ta[e], b = tb[e], vv = vi * vk;
                // each cell as λP·∇²P + λQ·∇²Q with the factors grouped as in the formulas above
                double tt = lp * (-vv * a) + lq * (-vv * b), to = lp * (vv * a) + lq * (vv * b);
                double t2 = lp * (-vk * b) + lq * (vk * a), t3 = lp * (-vi * b) + lq * (vi * a);
                double o2 = lp * (vk * b) + lq * (-vk * a), o3 = lp * (vi * b) + lq * (-vi * a);
                double vv2 = lp * a + lq * b; // ∂²/∂|Vi|∂|Vk|
                v[slot[c]] += tt; v[slot[c + 1]] += to; v[slot[c + 2]] += t2; v[slot[c + 3]] += t3;
                v[slot[c + 4]] += to; v[slot[c + 5]] += tt; v[slot[c + 6]] += o2; v[slot[c + 7]] += o3;
                v[slot[c + 8]] += t2; v[slot[c + 9]] += o2; /* (|Vi|, |Vi|): 0 */ v[slot[c + 11]] += vv2;
                v[slot[c + 12]] += t3; v[slot[c + 13]] += o3; v[slot[c + 14]] += vv2; /* (|Vk|, |Vk|): 0 */
                c += 16;
            }
        }

        // derCapability rows: ∇²(Σ ±q)² = 2·s·sᵀ
        for (int d = 0; d < DerCapability.Length; d++)
        {
            double m = mu[DerCapability[d]];
            foreach (var (_, s1, _) in DerBlocks[d])
                foreach (var (_, s2, _) in DerBlocks[d]) v[slot[c++]] += 2 * m * s1 * s2;
        }

        // flow-limit rows: ∇²(P² + Q²) = 2(∇P∇Pᵀ + P∇²P + ∇Q∇Qᵀ + Q∇²Q), ∇²P and ∇²Q of the end's cross and diagonal terms;
        // cell (r, c) of the 4×4 block is 2μ·(∂rP·∂cP + P·∂²rcP + ∂rQ·∂cQ + Q·∂²rcQ), row-major
        var ends = s.Ends;
        double[] fp = _fp, fq = _fq, fa = _fa, fb = _fb, fdp = _fdp, fdq = _fdq;
        for (int end = 0; end < ends.Length; end++)
        {
            var (bus, other, row, _, Gs, Bs, _, _, _) = ends[end];
            double m2 = 2 * mu[row];
            double vi = x[Vm[bus]], vk = x[Vm[other]], vv = vi * vk, a = fa[end], b = fb[end], p = fp[end], q = fq[end];
            double p0 = fdp[4 * end], p1 = fdp[4 * end + 1], p2 = fdp[4 * end + 2], p3 = fdp[4 * end + 3];
            double q0 = fdq[4 * end], q1 = fdq[4 * end + 1], q2 = fdq[4 * end + 2], q3 = fdq[4 * end + 3];
            v[slot[c]] += m2 * (p0 * p0 + p * (-vv * a) + q0 * q0 + q * (-vv * b));
            v[slot[c + 1]] += m2 * (p0 * p1 + p * (vv * a) + q0 * q1 + q * (vv * b));
            v[slot[c + 2]] += m2 * (p0 * p2 + p * (-vk * b) + q0 * q2 + q * (vk * a));
            v[slot[c + 3]] += m2 * (p0 * p3 + p * (-vi * b) + q0 * q3 + q * (vi * a));
            v[slot[c + 4]] += m2 * (p1 * p0 + p * (vv * a) + q1 * q0 + q * (vv * b));
            v[slot[c + 5]] += m2 * (p1 * p1 + p * (-vv * a) + q1 * q1 + q * (-vv * b));
            v[slot[c + 6]] += m2 * (p1 * p2 + p * (vk * b) + q1 * q2 + q * (-vk * a));
            v[slot[c + 7]] += m2 * (p1 * p3 + p * (vi * b) + q1 * q3 + q * (-vi * a));
            v[slot[c + 8]] += m2 * (p2 * p0 + p * (-vk * b) + q2 * q0 + q * (vk * a));
            v[slot[c + 9]] += m2 * (p2 * p1 + p * (vk * b) + q2 * q1 + q * (-vk * a));
            v[slot[c + 10]] += m2 * (p2 * p2 + p * (2 * Gs) + q2 * q2 + q * (-2 * Bs));
            v[slot[c + 11]] += m2 * (p2 * p3 + p * a + q2 * q3 + q * b);
            v[slot[c + 12]] += m2 * (p3 * p0 + p * (-vi * b) + q3 * q0 + q * (vi * a));
            v[slot[c + 13]] += m2 * (p3 * p1 + p * (vi * b) + q3 * q1 + q * (-vi * a));
            v[slot[c + 14]] += m2 * (p3 * p2 + p * a + q3 * q2 + q * b);
            v[slot[c + 15]] += m2 * (p3 * p3 + p * 0.0 + q3 * q3 + q * 0.0);
            c += 16;
        }
        if (c != slot.Length) throw new InvalidOperationException("the Hessian's terms do not match its pattern");
        return H;
    }
}
