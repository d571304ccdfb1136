using System.Numerics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Numerics.Optimization;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Market.AcOpf;

/// <summary>
/// MATPOWER's AC OPF in polar form as a nonlinear program (per unit, radians):
/// <code>
/// variables   θ (nb), |V| (nb), Pg, Qg (in-service generators), y (one per piecewise-linear cost)
/// min         Σ_g C_g(Pg) [+ C_g(Qg)] + Σ y
/// s.t.        P_i(θ,|V|) + Pd_i − Σ_{g at i} Pg = 0,   Q_i(θ,|V|) + Qd_i − Σ_{g at i} Qg = 0     (balance[i])
///             |S_f,l|² − rateA_l² ≤ 0,   |S_t,l|² − rateA_l² ≤ 0                                   (flow[l])
///             angmin_l ≤ θ_f − θ_t ≤ angmax_l                                                      (angle[l])
///             slope_k·Pg − y ≤ slope_k·x_k − c_k                                                   (pwl[g,k])
///             θ_ref fixed, Vmin ≤ |V| ≤ Vmax, Pmin ≤ Pg ≤ Pmax, Qmin ≤ Qg ≤ Qmax
/// </code>
/// P_i = Σ_k |V_i||V_k|(G_ik cos θ_ik + B_ik sin θ_ik), Q_i = Σ_k |V_i||V_k|(G_ik sin θ_ik − B_ik cos θ_ik);
/// branch flows have the same form with the branch's Y_ff, Y_ft (from end) and Y_tt, Y_tf (to end). First and
/// second derivatives are exact and assembled term by term into fixed sparse patterns.
/// </summary>
internal sealed class AcOpfProgram : INonlinearProgram
{
    private readonly Network _net;
    private readonly Admittance _y;
    private readonly double _base;
    private readonly int _nb;
    private readonly double[] _lower, _upper;
    private readonly double[] _pd, _qd;

    public int Nb => _nb;
    public int[] PgVar { get; }   // −1 when the generator is out
    public int[] QgVar { get; }
    public int[] BalanceP { get; } // equality row of bus i's P balance (−1 for an isolated bus)
    public int[] BalanceQ { get; }
    public int[] FlowLimited { get; } // branches with a flow limit, in row order
    /// <summary>Angle-difference rows: sign·(θf − θt) − bound ≤ 0 (sign +1: angmax, −1: angmin).</summary>
    public (int Branch, double Sign, double Bound)[] AngleRows { get; }
    private readonly List<(int Var, GenCost Cost)> _polyCosts = [];
    private readonly List<(int Var, int Y, double Slope, double Rhs)> _pwlRows = [];
    private readonly int _nEq, _nIq, _nFlowRows, _nAngleRows;
    private readonly List<int>[] _gensAt;
    private readonly List<int>[] _derAt;

    public int Variables { get; }
    public int Equalities => _nEq;
    public int Inequalities => _nIq;
    public ReadOnlySpan<double> Lower => _lower;
    public ReadOnlySpan<double> Upper => _upper;
    public int ThetaVar(int bus) => bus;
    public int VmVar(int bus) => _nb + bus;
    public int FlowRowFrom(int k) => k;
    public int FlowRowTo(int k) => FlowLimited.Length + k;
    public int AngleRow(int k) => 2 * FlowLimited.Length + k;
    private int _firstY;

    /// <summary>Inverter-based DERs: fixed P, reactive offers as blocks, capability P² + Q² ≤ S² (p.u.).</summary>
    public IReadOnlyList<Der> Ders { get; }
    /// <summary>Per DER, its block variables: (variable, +1 inject / −1 absorb, price $/MVArh).</summary>
    public (int Var, double Sign, double Price)[][] DerBlocks { get; }
    private int _yCount;

    public int DerRow(int d) => _nFlowRows + _nAngleRows + _pwlRows.Count + d;

    public AcOpfProgram(Network net, IReadOnlyList<Der>? ders = null)
    {
        Ders = ders ?? [];
        _net = net;
        _y = Admittance.Build(net);
        _base = net.BaseMva;
        _nb = net.BusCount;
        int ng = net.Generators.Length;
        PgVar = new int[ng];
        QgVar = new int[ng];
        _gensAt = new List<int>[_nb];
        _derAt = new List<int>[_nb];
        for (int i = 0; i < _nb; i++) { _gensAt[i] = []; _derAt[i] = []; }
        int nv = 2 * _nb;
        for (int g = 0; g < ng; g++)
        {
            var gen = net.Generators[g];
            int b = net.BusIndex[gen.Bus];
            if (!gen.InService || net.Buses[b].Type == BusType.Isolated) { PgVar[g] = QgVar[g] = -1; continue; }
            PgVar[g] = nv++;
            _gensAt[b].Add(g);
        }
        for (int g = 0; g < ng; g++) if (PgVar[g] >= 0) QgVar[g] = nv++; else QgVar[g] = -1;

        // costs: polynomial in the objective, piecewise linear by an epigraph variable y and one row per segment
        bool qCosts = net.GenCosts.Length == 2 * ng && ng > 0;
        var pwlY = new List<(int Var, GenCost Cost)>();
        for (int g = 0; g < ng; g++)
        {
            if (PgVar[g] < 0) continue;
            if (net.ActiveCost(g) is { } c) AddCost(PgVar[g], c, pwlY);
            if (qCosts) AddCost(QgVar[g], net.GenCosts[ng + g], pwlY);
        }
        int firstY = _firstY = nv;
        nv += pwlY.Count;
        _yCount = pwlY.Count;
        DerBlocks = new (int, double, double)[Ders.Count][];
        for (int d = 0; d < Ders.Count; d++)
            DerBlocks[d] = [.. Ders[d].Blocks.Select(b => (nv++, b.Inject ? 1.0 : -1.0, b.Price))];
        for (int k = 0; k < pwlY.Count; k++)
        {
            var (v, cost) = pwlY[k];
            int n = cost.Points;
            for (int s = 0; s < n - 1; s++)
            {
                double x0 = cost.Coefficients[2 * s], c0 = cost.Coefficients[2 * s + 1];
                double x1 = cost.Coefficients[2 * s + 2], c1 = cost.Coefficients[2 * s + 3];
                double slope = (c1 - c0) / (x1 - x0);
                _pwlRows.Add((v, firstY + k, slope * _base, slope * x0 - c0)); // slope·(base·x − x0) + c0 ≤ y
            }
        }
        Variables = nv;

        _lower = new double[nv];
        _upper = new double[nv];
        Array.Fill(_lower, double.NegativeInfinity);
        Array.Fill(_upper, double.PositiveInfinity);
        BalanceP = new int[_nb];
        BalanceQ = new int[_nb];
        int eq = 0;
        for (int i = 0; i < _nb; i++)
        {
            var bus = net.Buses[i];
            if (bus.Type == BusType.Isolated)
            {
                _lower[i] = _upper[i] = 0;
                _lower[_nb + i] = _upper[_nb + i] = bus.Vm > 0 ? bus.Vm : 1;
                BalanceP[i] = BalanceQ[i] = -1;
                continue;
            }
            if (bus.Type == BusType.Ref) _lower[i] = _upper[i] = bus.VaDeg * Math.PI / 180;
            _lower[_nb + i] = bus.Vmin;
            _upper[_nb + i] = bus.Vmax;
            BalanceP[i] = eq++;
            BalanceQ[i] = eq++;
        }
        _nEq = eq;
        _pd = net.Buses.Select(b => b.Pd / _base).ToArray();
        _qd = net.Buses.Select(b => b.Qd / _base).ToArray();
        for (int g = 0; g < ng; g++)
        {
            if (PgVar[g] < 0) continue;
            var gen = net.Generators[g];
            _lower[PgVar[g]] = gen.Pmin / _base;
            _upper[PgVar[g]] = gen.Pmax / _base;
            _lower[QgVar[g]] = gen.Qmin / _base;
            _upper[QgVar[g]] = gen.Qmax / _base;
        }

        // branch limits as MATPOWER: rateA in (0, 1e10) limits |S| at both ends; angle limits unless 0 or beyond ±360°
        var limited = new List<int>();
        var angles = new List<(int, double, double)>();
        for (int l = 0; l < net.Branches.Length; l++)
        {
            var br = net.Branches[l];
            if (_y.Yff[l] == Complex.Zero && _y.Yft[l] == Complex.Zero) continue; // out of service or open
            if (br.RateA > 0 && br.RateA < 1e10) limited.Add(l);
            bool hasLo = br.AngMinDeg != 0 && br.AngMinDeg > -360, hasHi = br.AngMaxDeg != 0 && br.AngMaxDeg < 360;
            if (hasLo) angles.Add((l, -1, -br.AngMinDeg * Math.PI / 180));
            if (hasHi) angles.Add((l, 1, br.AngMaxDeg * Math.PI / 180));
        }
        FlowLimited = [.. limited];
        AngleRows = [.. angles];
        _nFlowRows = 2 * FlowLimited.Length;
        _nAngleRows = AngleRows.Length;
        _nIq = _nFlowRows + _nAngleRows + _pwlRows.Count + Ders.Count;
        for (int d = 0; d < Ders.Count; d++)
        {
            int b = net.BusIndex[Ders[d].Bus];
            _pd[b] -= Ders[d].PMw / _base; // the DER's active output is a negative load
            for (int k = 0; k < DerBlocks[d].Length; k++)
            {
                _lower[DerBlocks[d][k].Var] = 0;
                _upper[DerBlocks[d][k].Var] = Ders[d].Blocks[k].QMvar / _base;
            }
            _derAt[b].Add(d);
        }
    }

    private void AddCost(int v, GenCost cost, List<(int Var, GenCost Cost)> pwl)
    {
        if (cost.Model == CostModel.Polynomial) _polyCosts.Add((v, cost));
        else if (cost.Points >= 2) pwl.Add((v, cost));
        else if (cost.Points == 1) _polyCosts.Add((v, new GenCost(CostModel.Polynomial, 0, 0, [cost.Coefficients[1]])));
    }

    public double[] InitialPoint()
    {
        // MATPOWER's interior start: the middle of each variable's bounds, every angle at the (first) reference angle
        var x = new double[Variables];
        double refAngle = 0;
        for (int i = 0; i < _nb; i++) if (_net.Buses[i].Type == BusType.Ref) { refAngle = _net.Buses[i].VaDeg * Math.PI / 180; break; }
        for (int j = 0; j < x.Length; j++)
        {
            double l = double.IsFinite(_lower[j]) ? _lower[j] : -1e10, u = double.IsFinite(_upper[j]) ? _upper[j] : 1e10;
            x[j] = (l + u) / 2;
        }
        for (int i = 0; i < _nb; i++) x[i] = _lower[i] == _upper[i] ? _lower[i] : refAngle;
        foreach (var (_, y, _, _) in _pwlRows) x[y] = 0;
        // y starts above every segment at the start point
        foreach (var (v, y, slope, rhs) in _pwlRows) x[y] = Math.Max(x[y], slope * x[v] - rhs + 0.1 * Math.Abs(slope * x[v] - rhs) + 1);
        return x;
    }

    /// <summary>DER d's reactive output (p.u., + inject): Σ inject blocks − Σ absorb blocks.</summary>
    public double DerQ(ReadOnlySpan<double> x, int d)
    {
        double q = 0;
        foreach (var (v, sign, _) in DerBlocks[d]) q += sign * x[v];
        return q;
    }

    // ---------------- objective ----------------

    public double Objective(ReadOnlySpan<double> x, Span<double> gradient)
    {
        gradient.Clear();
        double f = 0;
        foreach (var (v, cost) in _polyCosts)
        {
            var (c, d1, _) = Poly(cost, x[v] * _base);
            f += c;
            gradient[v] += d1 * _base;
        }
        for (int j = _firstY; j < _firstY + _yCount; j++) { f += x[j]; gradient[j] += 1; }
        foreach (var blocks in DerBlocks)
            foreach (var (v, _, price) in blocks) { f += price * _base * x[v]; gradient[v] += price * _base; }
        return f;
    }

    /// <summary>Value, first and second derivative of a polynomial cost at p (MW).</summary>
    private static (double F, double D1, double D2) Poly(GenCost cost, double p)
    {
        double f = 0, d1 = 0, d2 = 0;
        foreach (double a in cost.Coefficients)
        {
            d2 = d2 * p + 2 * d1;
            d1 = d1 * p + f;
            f = f * p + a;
        }
        return (f, d1, d2);
    }

    // ---------------- local terms ----------------

    /// <summary>
    /// The term |Vi||Vk|(G cos θ + B sin θ) (P) and |Vi||Vk|(G sin θ − B cos θ) (Q), θ = θi − θk, with gradients
    /// over the local variables (θi, θk, |Vi|, |Vk|) and Hessians (4×4, row-major) added to the outputs.
    /// </summary>
    private static void Cross(double vi, double vk, double th, double G, double B,
        ref double p, Span<double> dp, Span<double> hp, ref double q, Span<double> dq, Span<double> hq)
    {
        double cos = Math.Cos(th), sin = Math.Sin(th);
        double a = G * cos + B * sin, b = G * sin - B * cos, vv = vi * vk;
        p += vv * a;
        q += vv * b;
        dp[0] += -vv * b; dp[1] += vv * b; dp[2] += vk * a; dp[3] += vi * a;
        dq[0] += vv * a; dq[1] += -vv * a; dq[2] += vk * b; dq[3] += vi * b;
        if (hp.IsEmpty) return;
        // P: θθ block ±vv·a, θV block ∓v·b, VV off-diagonal a
        Sym(hp, 0, 0, -vv * a); Sym(hp, 0, 1, vv * a); Sym(hp, 1, 1, -vv * a);
        Sym(hp, 0, 2, -vk * b); Sym(hp, 0, 3, -vi * b); Sym(hp, 1, 2, vk * b); Sym(hp, 1, 3, vi * b);
        Sym(hp, 2, 3, a);
        // Q: θθ block ±vv·b, θV block ±v·a, VV off-diagonal b
        Sym(hq, 0, 0, -vv * b); Sym(hq, 0, 1, vv * b); Sym(hq, 1, 1, -vv * b);
        Sym(hq, 0, 2, vk * a); Sym(hq, 0, 3, vi * a); Sym(hq, 1, 2, -vk * a); Sym(hq, 1, 3, -vi * a);
        Sym(hq, 2, 3, b);
    }

    /// <summary>The term |Vi|²·G (P) and −|Vi|²·B (Q): only the local |Vi| (index 2) is involved.</summary>
    private static void Self(double vi, double G, double B, ref double p, Span<double> dp, Span<double> hp, ref double q, Span<double> dq, Span<double> hq)
    {
        p += vi * vi * G;
        q += -vi * vi * B;
        dp[2] += 2 * vi * G;
        dq[2] += -2 * vi * B;
        if (hp.IsEmpty) return;
        hp[10] += 2 * G;
        hq[10] += -2 * B;
    }

    private static void Sym(Span<double> h, int i, int j, double v)
    {
        h[4 * i + j] += v;
        if (i != j) h[4 * j + i] += v;
    }

    /// <summary>P and Q flow into the branch at one end with derivatives over (θ_end, θ_other, |V_end|, |V_other|).</summary>
    private static void EndFlow(double vEnd, double vOther, double th, Complex yss, Complex yso,
        ref double p, Span<double> dp, Span<double> hp, ref double q, Span<double> dq, Span<double> hq)
    {
        Self(vEnd, yss.Real, yss.Imaginary, ref p, dp, hp, ref q, dq, hq);
        Cross(vEnd, vOther, th, yso.Real, yso.Imaginary, ref p, dp, hp, ref q, dq, hq);
    }

    /// <summary>Branch l's flows (p.u.) at both ends.</summary>
    public (double Pf, double Qf, double Pt, double Qt) Flows(ReadOnlySpan<double> x, int l)
    {
        int f = _y.FromBus[l], t = _y.ToBus[l];
        Span<double> d = stackalloc double[16];
        double pf = 0, qf = 0, pt = 0, qt = 0;
        EndFlow(x[_nb + f], x[_nb + t], x[f] - x[t], _y.Yff[l], _y.Yft[l], ref pf, d[..4], default, ref qf, d[4..8], default);
        EndFlow(x[_nb + t], x[_nb + f], x[t] - x[f], _y.Ytt[l], _y.Ytf[l], ref pt, d[8..12], default, ref qt, d[12..16], default);
        return (pf, qf, pt, qt);
    }

    // ---------------- constraints ----------------

    // the interior point asks for g, h and then their Jacobians at the same point: one pass serves both
    private double[]? _lastX;
    private SparseMatrix? _lastJg, _lastJh;

    public void Constraints(ReadOnlySpan<double> x, Span<double> g, Span<double> h)
    {
        _jg ??= new SparseAssembler(_nEq, Variables);
        _jh ??= new SparseAssembler(_nIq, Variables);
        _jg.Begin();
        _jh.Begin();
        Evaluate(x, g, h, _jg, _jh);
        // new value arrays: the interior point tells a new Jacobian from the last one by reference
        (_lastJg, _lastJh) = (_jg.Finish(newValues: true), _jh.Finish(newValues: true));
        _lastX = x.ToArray();
    }

    public (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x)
    {
        if (_lastX is null || !x.SequenceEqual(_lastX)) Constraints(x, new double[_nEq], new double[_nIq]);
        return (_lastJg!, _lastJh!);
    }

    private SparseAssembler? _jg, _jh, _hess;

    /// <summary>g, h and (when emitters are given) their Jacobians, in one pass over Ybus and the branches.</summary>
    private void Evaluate(ReadOnlySpan<double> x, Span<double> g, Span<double> h, SparseAssembler? jg, SparseAssembler? jh)
    {
        var Y = _y.Ybus;
        Span<double> dp = stackalloc double[4];
        Span<double> dq = stackalloc double[4];
        for (int i = 0; i < _nb; i++)
        {
            int rp = BalanceP[i], rq = BalanceQ[i];
            if (rp < 0) continue;
            double p = _pd[i], q = _qd[i];
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
            {
                int k = Y.ColIdx[e];
                var yik = Y.Values[e];
                dp.Clear();
                dq.Clear();
                if (k == i)
                {
                    Self(x[_nb + i], yik.Real, yik.Imaginary, ref p, dp, default, ref q, dq, default);
                    jg?.Add(rp, _nb + i, dp[2]);
                    jg?.Add(rq, _nb + i, dq[2]);
                }
                else
                {
                    Cross(x[_nb + i], x[_nb + k], x[i] - x[k], yik.Real, yik.Imaginary, ref p, dp, default, ref q, dq, default);
                    if (jg is not null)
                    {
                        jg.Add(rp, i, dp[0]); jg.Add(rp, k, dp[1]); jg.Add(rp, _nb + i, dp[2]); jg.Add(rp, _nb + k, dp[3]);
                        jg.Add(rq, i, dq[0]); jg.Add(rq, k, dq[1]); jg.Add(rq, _nb + i, dq[2]); jg.Add(rq, _nb + k, dq[3]);
                    }
                }
            }
            foreach (int gen in _gensAt[i])
            {
                p -= x[PgVar[gen]];
                q -= x[QgVar[gen]];
                jg?.Add(rp, PgVar[gen], -1);
                jg?.Add(rq, QgVar[gen], -1);
            }
            foreach (int di in _derAt[i])
                foreach (var (v, sign, _) in DerBlocks[di])
                {
                    q -= sign * x[v];
                    jg?.Add(rq, v, -sign);
                }
            g[rp] = p;
            g[rq] = q;
        }

        Span<double> d = stackalloc double[16];
        for (int k = 0; k < FlowLimited.Length; k++)
        {
            int l = FlowLimited[k], f = _y.FromBus[l], t = _y.ToBus[l];
            double rate = _net.Branches[l].RateA / _base;
            for (int end = 0; end < 2; end++)
            {
                int a = end == 0 ? f : t, o = end == 0 ? t : f;
                d.Clear();
                double pp = 0, qq = 0;
                EndFlow(x[_nb + a], x[_nb + o], x[a] - x[o], end == 0 ? _y.Yff[l] : _y.Ytt[l], end == 0 ? _y.Yft[l] : _y.Ytf[l],
                    ref pp, d[..4], default, ref qq, d[4..8], default);
                int row = end == 0 ? FlowRowFrom(k) : FlowRowTo(k);
                h[row] = pp * pp + qq * qq - rate * rate;
                if (jh is not null)
                {
                    jh.Add(row, a, 2 * (pp * d[0] + qq * d[4]));
                    jh.Add(row, o, 2 * (pp * d[1] + qq * d[5]));
                    jh.Add(row, _nb + a, 2 * (pp * d[2] + qq * d[6]));
                    jh.Add(row, _nb + o, 2 * (pp * d[3] + qq * d[7]));
                }
            }
        }
        for (int k = 0; k < AngleRows.Length; k++)
        {
            var (l, sign, bound) = AngleRows[k];
            int f = _y.FromBus[l], t = _y.ToBus[l];
            h[AngleRow(k)] = sign * (x[f] - x[t]) - bound;
            jh?.Add(AngleRow(k), f, sign);
            jh?.Add(AngleRow(k), t, -sign);
        }
        int r0 = _nFlowRows + _nAngleRows;
        for (int k = 0; k < _pwlRows.Count; k++)
        {
            var (v, y, slope, rhs) = _pwlRows[k];
            h[r0 + k] = slope * x[v] - x[y] - rhs;
            jh?.Add(r0 + k, v, slope);
            jh?.Add(r0 + k, y, -1);
        }
        // inverter capability: Q_d² − (S_d² − P_d²) ≤ 0
        for (int di = 0; di < Ders.Count; di++)
        {
            double qd = DerQ(x, di), s2 = Ders[di].SMva / _base, p2 = Ders[di].PMw / _base;
            h[DerRow(di)] = qd * qd - (s2 * s2 - p2 * p2);
            foreach (var (v, sign, _) in DerBlocks[di]) jh?.Add(DerRow(di), v, 2 * qd * sign);
        }
    }

    // ---------------- Hessian of the Lagrangian ----------------

    public SparseMatrix Hessian(ReadOnlySpan<double> x, double sigma, ReadOnlySpan<double> lambda, ReadOnlySpan<double> mu)
    {
        _hess ??= new SparseAssembler(Variables, Variables);
        var H = _hess;
        H.Begin();
        foreach (var (v, cost) in _polyCosts)
            H.Add(v, v, sigma * Poly(cost, x[v] * _base).D2 * _base * _base);

        var Y = _y.Ybus;
        Span<double> dp = stackalloc double[4];
        Span<double> dq = stackalloc double[4];
        Span<double> hp = stackalloc double[16];
        Span<double> hq = stackalloc double[16];
        Span<int> vars = stackalloc int[4];
        for (int i = 0; i < _nb; i++)
        {
            int rp = BalanceP[i], rq = BalanceQ[i];
            if (rp < 0) continue;
            double lp = lambda[rp], lq = lambda[rq];
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
            {
                int k = Y.ColIdx[e];
                var yik = Y.Values[e];
                double p = 0, q = 0;
                dp.Clear(); dq.Clear(); hp.Clear(); hq.Clear();
                if (k == i)
                {
                    Self(x[_nb + i], yik.Real, yik.Imaginary, ref p, dp, hp, ref q, dq, hq);
                    H.Add(_nb + i, _nb + i, lp * hp[10] + lq * hq[10]);
                    continue;
                }
                Cross(x[_nb + i], x[_nb + k], x[i] - x[k], yik.Real, yik.Imaginary, ref p, dp, hp, ref q, dq, hq);
                vars[0] = i; vars[1] = k; vars[2] = _nb + i; vars[3] = _nb + k;
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++)
                        H.Add(vars[a], vars[b], lp * hp[4 * a + b] + lq * hq[4 * a + b]);
            }
        }

        for (int d = 0; d < Ders.Count; d++)
        {
            double m = mu[DerRow(d)];
            foreach (var (v1, s1, _) in DerBlocks[d])
                foreach (var (v2, s2, _) in DerBlocks[d]) H.Add(v1, v2, 2 * m * s1 * s2);
        }

        // flow rows: ∇²(P² + Q²) = 2(∇P∇Pᵀ + P∇²P + ∇Q∇Qᵀ + Q∇²Q)
        for (int k = 0; k < FlowLimited.Length; k++)
        {
            int l = FlowLimited[k], f = _y.FromBus[l], t = _y.ToBus[l];
            for (int end = 0; end < 2; end++)
            {
                double m = mu[end == 0 ? FlowRowFrom(k) : FlowRowTo(k)];
                int a0 = end == 0 ? f : t, o = end == 0 ? t : f;
                double p = 0, q = 0;
                dp.Clear(); dq.Clear(); hp.Clear(); hq.Clear();
                EndFlow(x[_nb + a0], x[_nb + o], x[a0] - x[o], end == 0 ? _y.Yff[l] : _y.Ytt[l], end == 0 ? _y.Yft[l] : _y.Ytf[l],
                    ref p, dp, hp, ref q, dq, hq);
                vars[0] = a0; vars[1] = o; vars[2] = _nb + a0; vars[3] = _nb + o;
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++)
                        H.Add(vars[a], vars[b], 2 * m * (dp[a] * dp[b] + p * hp[4 * a + b] + dq[a] * dq[b] + q * hq[4 * a + b]));
            }
        }
        return H.Finish(newValues: true);
    }
}
