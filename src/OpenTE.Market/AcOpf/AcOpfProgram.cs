using System.Numerics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Numerics.Optimization;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Market.AcOpf;

/// <summary>
/// MATPOWER's AC OPF in polar form as a nonlinear program (per unit, radians), on named blocks (<see cref="Layout"/>):
/// <code>
/// variables   Va, Vm (every bus), Pg, Qg (in-service generators), pwlCost (one y per piecewise-linear cost),
///             derQ (one per DER reactive offer block)
/// min         Σ_g C_g(Pg) [+ C_g(Qg)] + Σ y + Σ price·derQ
/// s.t.        balanceP[i]:       P_i(Va,Vm) + Pd_i − Σ_{g at i} Pg = 0
///             balanceQ[i]:       Q_i(Va,Vm) + Qd_i − Σ_{g at i} Qg − Σ_{DER blocks at i} ±derQ = 0
///             flowLimitFrom[l]:  |S_f,l|² − rateA_l² ≤ 0,    flowLimitTo[l]: |S_t,l|² − rateA_l² ≤ 0
///             angleDifference:   angmin_l ≤ Va_f − Va_t ≤ angmax_l (a row per finite side)
///             pwlSegment:        slope_k·Pg − y ≤ slope_k·x_k − c_k
///             derCapability[d]:  Q_d² ≤ S_d² − P_d²
///             Va_ref fixed, Vmin ≤ Vm ≤ Vmax, Pmin ≤ Pg ≤ Pmax, Qmin ≤ Qg ≤ Qmax, 0 ≤ derQ ≤ offer
/// </code>
/// P_i = Σ_k |V_i||V_k|(G_ik cos θ_ik + B_ik sin θ_ik), Q_i = Σ_k |V_i||V_k|(G_ik sin θ_ik − B_ik cos θ_ik);
/// branch flows have the same form with the branch's Y_ff, Y_ft (from end) and Y_tt, Y_tf (to end). First and
/// second derivatives are exact and assembled term by term into fixed sparse patterns. The balance rows of one
/// bus are adjacent (a power-flow Jacobian's 2×2 structure, which the KKT ordering keeps).
/// </summary>
internal sealed class AcOpfProgram : INonlinearProgram
{
    private readonly Network _net;
    private readonly Admittance _y;
    private readonly double _base;
    private readonly int _nb;
    private readonly double[] _lower, _upper;
    private readonly double[] _pd, _qd;

    /// <summary>The model description: named variable and constraint blocks, each with its offset and length.</summary>
    public ProgramLayout Layout { get; } = new();

    // variable blocks
    /// <summary>Voltage angle (rad) of every bus.</summary>
    public Block Va { get; }
    /// <summary>Voltage magnitude (p.u.) of every bus.</summary>
    public Block Vm { get; }
    /// <summary>Active output (p.u.) of every in-service generator at an energised bus (members: generator index).</summary>
    public Block Pg { get; }
    public Block Qg { get; }
    /// <summary>Epigraph variable y of each piecewise-linear cost.</summary>
    public Block PwlCost { get; }
    /// <summary>Reactive output of each DER offer block (members: DER index).</summary>
    public Block DerQ { get; }

    // constraint blocks
    /// <summary>P and Q balance of every energised bus (members: bus index; adjacent rows).</summary>
    public Block BalanceP { get; }
    public Block BalanceQ { get; }
    /// <summary>|S|² limit at the from and to end of every branch with a rating (members: branch index).</summary>
    public Block FlowLimitFrom { get; }
    public Block FlowLimitTo { get; }
    /// <summary>Angle-difference rows sign·(Va_f − Va_t) − bound ≤ 0 (sign +1: angmax, −1: angmin; members: branch).</summary>
    public Block AngleDifference { get; }
    /// <summary>One row per segment of each piecewise-linear cost.</summary>
    public Block PwlSegment { get; }
    /// <summary>Inverter capability of each DER.</summary>
    public Block DerCapability { get; }

    private readonly (double Sign, double Bound)[] _angle;           // per AngleDifference element
    private readonly (int Var, int Y, double Slope, double Rhs)[] _segments; // per PwlSegment element
    private readonly List<(int Var, GenCost Cost)> _polyCosts = [];
    private readonly List<(int P, int Q)>[] _gensAt;                  // generator variables at each bus
    private readonly List<int>[] _derAt;

    public int Variables => Layout.Variables.Count;
    public int Equalities => Layout.Equalities.Count;
    public int Inequalities => Layout.Inequalities.Count;
    public ReadOnlySpan<double> Lower => _lower;
    public ReadOnlySpan<double> Upper => _upper;

    /// <summary>Inverter-based DERs: fixed P, reactive offers as blocks, capability P² + Q² ≤ S² (p.u.).</summary>
    public IReadOnlyList<Der> Ders { get; }
    /// <summary>Per DER, its derQ variables: (variable, +1 inject / −1 absorb, price $/MVArh).</summary>
    public (int Var, double Sign, double Price)[][] DerBlocks { get; }

    public AcOpfProgram(Network net, IReadOnlyList<Der>? ders = null)
    {
        Ders = ders ?? [];
        _net = net;
        _y = Admittance.Build(net);
        _base = net.BaseMva;
        _nb = net.BusCount;
        bool Energised(int bus) => net.Buses[bus].Type != BusType.Isolated;
        int[] energised = [.. Enumerable.Range(0, _nb).Where(Energised)];
        int[] committed = [.. Enumerable.Range(0, net.Generators.Length).Where(g => net.Generators[g].InService && Energised(net.BusIndex[net.Generators[g].Bus]))];
        var (limited, angles) = BranchLimits();
        _angle = [.. angles.Select(a => (a.Sign, a.Bound))];

        // ---- the formulation: variable blocks, then constraint blocks ----
        var vars = Layout.Variables;
        Va = vars.Add("Va", _nb);
        Vm = vars.Add("Vm", _nb);
        Pg = vars.Add("Pg", committed);
        Qg = vars.Add("Qg", committed);
        var pwl = Costs(committed); // polynomial costs go to the objective; piecewise-linear ones get an epigraph y
        PwlCost = vars.Add("pwlCost", pwl.Count);
        DerQ = vars.Add("derQ", [.. Ders.SelectMany((d, i) => d.Blocks.Select(_ => i))]);

        (BalanceP, BalanceQ) = Layout.Equalities.AddPair("balanceP", "balanceQ", energised);
        var rows = Layout.Inequalities;
        FlowLimitFrom = rows.Add("flowLimitFrom", limited);
        FlowLimitTo = rows.Add("flowLimitTo", limited);
        AngleDifference = rows.Add("angleDifference", [.. angles.Select(a => a.Branch)]);
        _segments = Segments(pwl);
        PwlSegment = rows.Add("pwlSegment", _segments.Length);
        DerCapability = rows.Add("derCapability", Ders.Count);

        // ---- bounds and the data of the constraints ----
        DerBlocks = new (int, double, double)[Ders.Count][];
        for (int d = 0, e = 0; d < Ders.Count; d++)
            DerBlocks[d] = [.. Ders[d].Blocks.Select(b => (DerQ[e++], b.Inject ? 1.0 : -1.0, b.Price))];
        (_lower, _upper) = Bounds();
        _pd = net.Buses.Select(b => b.Pd / _base).ToArray();
        _qd = net.Buses.Select(b => b.Qd / _base).ToArray();
        _gensAt = new List<(int, int)>[_nb];
        _derAt = new List<int>[_nb];
        for (int i = 0; i < _nb; i++) { _gensAt[i] = []; _derAt[i] = []; }
        for (int k = 0; k < Pg.Length; k++) _gensAt[net.BusIndex[net.Generators[Pg.Member(k)].Bus]].Add((Pg[k], Qg[k]));
        for (int d = 0; d < Ders.Count; d++)
        {
            int b = net.BusIndex[Ders[d].Bus];
            _pd[b] -= Ders[d].PMw / _base; // the DER's active output is a negative load
            _derAt[b].Add(d);
        }
    }

    /// <summary>Branch limits as MATPOWER: rateA in (0, 1e10) limits |S| at both ends; angle limits unless 0 or beyond ±360°.</summary>
    private (int[] Limited, List<(int Branch, double Sign, double Bound)> Angles) BranchLimits()
    {
        var limited = new List<int>();
        var angles = new List<(int Branch, double Sign, double Bound)>();
        for (int l = 0; l < _net.Branches.Length; l++)
        {
            var br = _net.Branches[l];
            if (_y.Yff[l] == Complex.Zero && _y.Yft[l] == Complex.Zero) continue; // out of service or open
            if (br.RateA > 0 && br.RateA < 1e10) limited.Add(l);
            bool hasLo = br.AngMinDeg != 0 && br.AngMinDeg > -360, hasHi = br.AngMaxDeg != 0 && br.AngMaxDeg < 360;
            if (hasLo) angles.Add((l, -1, -br.AngMinDeg * Math.PI / 180));
            if (hasHi) angles.Add((l, 1, br.AngMaxDeg * Math.PI / 180));
        }
        return ([.. limited], angles);
    }

    /// <summary>The generators' costs: polynomial ones (and one-point curves) into the objective; returns the piecewise-linear ones.</summary>
    private List<(int Var, GenCost Cost)> Costs(int[] committed)
    {
        int ng = _net.Generators.Length;
        bool qCosts = _net.GenCosts.Length == 2 * ng && ng > 0;
        var pwl = new List<(int Var, GenCost Cost)>();
        foreach (int g in committed)
        {
            if (_net.ActiveCost(g) is { } c) AddCost(Pg.IndexOf(g), c, pwl);
            if (qCosts) AddCost(Qg.IndexOf(g), _net.GenCosts[ng + g], pwl);
        }
        return pwl;
    }

    /// <summary>One row per segment of each piecewise-linear cost k: slope·(base·x − x0) + c0 ≤ y_k.</summary>
    private (int Var, int Y, double Slope, double Rhs)[] Segments(List<(int Var, GenCost Cost)> pwl)
    {
        var segments = new List<(int, int, double, double)>();
        for (int k = 0; k < pwl.Count; k++)
        {
            var (v, cost) = pwl[k];
            for (int s = 0; s < cost.Points - 1; s++)
            {
                double x0 = cost.Coefficients[2 * s], c0 = cost.Coefficients[2 * s + 1];
                double x1 = cost.Coefficients[2 * s + 2], c1 = cost.Coefficients[2 * s + 3];
                double slope = (c1 - c0) / (x1 - x0);
                segments.Add((v, PwlCost[k], slope * _base, slope * x0 - c0));
            }
        }
        return [.. segments];
    }

    /// <summary>
    /// Va fixed at the reference bus (and 0 at an isolated one, whose Vm is fixed too), Vmin ≤ Vm ≤ Vmax,
    /// generator limits, 0 ≤ derQ ≤ the offered block; y free.
    /// </summary>
    private (double[] Lower, double[] Upper) Bounds()
    {
        var lower = new double[Variables];
        var upper = new double[Variables];
        Array.Fill(lower, double.NegativeInfinity);
        Array.Fill(upper, double.PositiveInfinity);
        void Set(int v, double lo, double hi) => (lower[v], upper[v]) = (lo, hi);
        for (int i = 0; i < _nb; i++)
        {
            var bus = _net.Buses[i];
            if (bus.Type == BusType.Isolated)
            {
                Set(Va[i], 0, 0);
                double vm = bus.Vm > 0 ? bus.Vm : 1;
                Set(Vm[i], vm, vm);
                continue;
            }
            if (bus.Type == BusType.Ref) Set(Va[i], bus.VaDeg * Math.PI / 180, bus.VaDeg * Math.PI / 180);
            Set(Vm[i], bus.Vmin, bus.Vmax);
        }
        for (int k = 0; k < Pg.Length; k++)
        {
            var gen = _net.Generators[Pg.Member(k)];
            Set(Pg[k], gen.Pmin / _base, gen.Pmax / _base);
            Set(Qg[k], gen.Qmin / _base, gen.Qmax / _base);
        }
        for (int d = 0; d < Ders.Count; d++)
            for (int k = 0; k < DerBlocks[d].Length; k++) Set(DerBlocks[d][k].Var, 0, Ders[d].Blocks[k].QMvar / _base);
        return (lower, upper);
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
        for (int i = 0; i < _nb; i++) x[Va[i]] = _lower[Va[i]] == _upper[Va[i]] ? _lower[Va[i]] : refAngle;
        for (int k = 0; k < PwlCost.Length; k++) x[PwlCost[k]] = 0;
        // y starts above every segment at the start point
        foreach (var (v, y, slope, rhs) in _segments) x[y] = Math.Max(x[y], slope * x[v] - rhs + 0.1 * Math.Abs(slope * x[v] - rhs) + 1);
        return x;
    }

    /// <summary>DER d's reactive output (p.u., + inject): Σ inject blocks − Σ absorb blocks.</summary>
    public double DerOutput(ReadOnlySpan<double> x, int d)
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
        for (int k = 0; k < PwlCost.Length; k++) { f += x[PwlCost[k]]; gradient[PwlCost[k]] += 1; }
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

    /// <summary>Branch l's end (from or to): its bus, the other bus, and the admittances Y_ss, Y_so of the end's current.</summary>
    private (int Bus, int Other, Complex Yss, Complex Yso) End(int l, bool from) =>
        from ? (_y.FromBus[l], _y.ToBus[l], _y.Yff[l], _y.Yft[l]) : (_y.ToBus[l], _y.FromBus[l], _y.Ytt[l], _y.Ytf[l]);

    /// <summary>P and Q into branch l at one end (p.u.) with derivatives over (Va_end, Va_other, Vm_end, Vm_other).</summary>
    private void EndFlow(ReadOnlySpan<double> x, int l, bool from, out int a, out int o,
        ref double p, Span<double> dp, Span<double> hp, ref double q, Span<double> dq, Span<double> hq)
    {
        (a, o, var yss, var yso) = End(l, from);
        EndFlow(x[Vm[a]], x[Vm[o]], x[Va[a]] - x[Va[o]], yss, yso, ref p, dp, hp, ref q, dq, hq);
    }

    /// <summary>Branch l's flows (p.u.) at both ends.</summary>
    public (double Pf, double Qf, double Pt, double Qt) Flows(ReadOnlySpan<double> x, int l)
    {
        Span<double> d = stackalloc double[16];
        double pf = 0, qf = 0, pt = 0, qt = 0;
        EndFlow(x, l, true, out _, out _, ref pf, d[..4], default, ref qf, d[4..8], default);
        EndFlow(x, l, false, out _, out _, ref pt, d[8..12], default, ref qt, d[12..16], default);
        return (pf, qf, pt, qt);
    }

    // ---------------- constraints ----------------

    // the interior point asks for g, h and then their Jacobians at the same point: one pass serves both
    private double[]? _lastX;
    private SparseMatrix? _lastJg, _lastJh;
    private SparseAssembler? _jg, _jh, _hess;

    public void Constraints(ReadOnlySpan<double> x, Span<double> g, Span<double> h)
    {
        _jg ??= new SparseAssembler(Equalities, Variables);
        _jh ??= new SparseAssembler(Inequalities, Variables);
        _jg.Begin();
        _jh.Begin();
        PowerBalance(x, g, _jg);
        ThermalLimits(x, h, _jh);
        AngleDifferenceLimits(x, h, _jh);
        PwlSegments(x, h, _jh);
        DerCapabilities(x, h, _jh);
        // new value arrays: the interior point tells a new Jacobian from the last one by reference
        (_lastJg, _lastJh) = (_jg.Finish(newValues: true), _jh.Finish(newValues: true));
        _lastX = x.ToArray();
    }

    public (SparseMatrix Jg, SparseMatrix Jh) Jacobians(ReadOnlySpan<double> x)
    {
        if (_lastX is null || !x.SequenceEqual(_lastX)) Constraints(x, new double[Equalities], new double[Inequalities]);
        return (_lastJg!, _lastJh!);
    }

    /// <summary>balanceP[i], balanceQ[i]: injections by Ybus row i, plus load, less generation (and DER Q).</summary>
    private void PowerBalance(ReadOnlySpan<double> x, Span<double> g, SparseAssembler jg)
    {
        var Y = _y.Ybus;
        Span<double> dp = stackalloc double[4];
        Span<double> dq = stackalloc double[4];
        for (int k = 0; k < BalanceP.Length; k++)
        {
            int i = BalanceP.Member(k), rp = BalanceP[k], rq = BalanceQ[k];
            double p = _pd[i], q = _qd[i];
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
            {
                int j = Y.ColIdx[e];
                var yij = Y.Values[e];
                dp.Clear();
                dq.Clear();
                if (j == i)
                {
                    Self(x[Vm[i]], yij.Real, yij.Imaginary, ref p, dp, default, ref q, dq, default);
                    jg.Add(rp, Vm[i], dp[2]);
                    jg.Add(rq, Vm[i], dq[2]);
                    continue;
                }
                Cross(x[Vm[i]], x[Vm[j]], x[Va[i]] - x[Va[j]], yij.Real, yij.Imaginary, ref p, dp, default, ref q, dq, default);
                jg.Add(rp, Va[i], dp[0]); jg.Add(rp, Va[j], dp[1]); jg.Add(rp, Vm[i], dp[2]); jg.Add(rp, Vm[j], dp[3]);
                jg.Add(rq, Va[i], dq[0]); jg.Add(rq, Va[j], dq[1]); jg.Add(rq, Vm[i], dq[2]); jg.Add(rq, Vm[j], dq[3]);
            }
            foreach (var (pv, qv) in _gensAt[i])
            {
                p -= x[pv];
                q -= x[qv];
                jg.Add(rp, pv, -1);
                jg.Add(rq, qv, -1);
            }
            foreach (int d in _derAt[i])
                foreach (var (v, sign, _) in DerBlocks[d])
                {
                    q -= sign * x[v];
                    jg.Add(rq, v, -sign);
                }
            g[rp] = p;
            g[rq] = q;
        }
    }

    /// <summary>flowLimitFrom[l], flowLimitTo[l]: P² + Q² − rateA² at each end of every rated branch.</summary>
    private void ThermalLimits(ReadOnlySpan<double> x, Span<double> h, SparseAssembler jh)
    {
        Span<double> d = stackalloc double[8];
        for (int k = 0; k < FlowLimitFrom.Length; k++)
        {
            int l = FlowLimitFrom.Member(k);
            double rate = _net.Branches[l].RateA / _base;
            foreach (var (rows, from) in (ReadOnlySpan<(Block, bool)>)[(FlowLimitFrom, true), (FlowLimitTo, false)])
            {
                d.Clear();
                double p = 0, q = 0;
                EndFlow(x, l, from, out int a, out int o, ref p, d[..4], default, ref q, d[4..8], default);
                int row = rows[k];
                h[row] = p * p + q * q - rate * rate;
                jh.Add(row, Va[a], 2 * (p * d[0] + q * d[4]));
                jh.Add(row, Va[o], 2 * (p * d[1] + q * d[5]));
                jh.Add(row, Vm[a], 2 * (p * d[2] + q * d[6]));
                jh.Add(row, Vm[o], 2 * (p * d[3] + q * d[7]));
            }
        }
    }

    /// <summary>angleDifference: sign·(Va_f − Va_t) − bound.</summary>
    private void AngleDifferenceLimits(ReadOnlySpan<double> x, Span<double> h, SparseAssembler jh)
    {
        for (int k = 0; k < AngleDifference.Length; k++)
        {
            var (sign, bound) = _angle[k];
            int l = AngleDifference.Member(k), row = AngleDifference[k];
            int f = Va[_y.FromBus[l]], t = Va[_y.ToBus[l]];
            h[row] = sign * (x[f] - x[t]) - bound;
            jh.Add(row, f, sign);
            jh.Add(row, t, -sign);
        }
    }

    /// <summary>pwlSegment: slope·x − y − rhs (y above every segment of its cost).</summary>
    private void PwlSegments(ReadOnlySpan<double> x, Span<double> h, SparseAssembler jh)
    {
        for (int k = 0; k < PwlSegment.Length; k++)
        {
            var (v, y, slope, rhs) = _segments[k];
            int row = PwlSegment[k];
            h[row] = slope * x[v] - x[y] - rhs;
            jh.Add(row, v, slope);
            jh.Add(row, y, -1);
        }
    }

    /// <summary>derCapability[d]: Q_d² − (S_d² − P_d²).</summary>
    private void DerCapabilities(ReadOnlySpan<double> x, Span<double> h, SparseAssembler jh)
    {
        for (int d = 0; d < DerCapability.Length; d++)
        {
            double qd = DerOutput(x, d), s2 = Ders[d].SMva / _base, p2 = Ders[d].PMw / _base;
            int row = DerCapability[d];
            h[row] = qd * qd - (s2 * s2 - p2 * p2);
            foreach (var (v, sign, _) in DerBlocks[d]) jh.Add(row, v, 2 * qd * sign);
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

        // balance rows: Σ_i λP_i ∇²P_i + λQ_i ∇²Q_i, term by term over Ybus
        var Y = _y.Ybus;
        Span<double> dp = stackalloc double[4];
        Span<double> dq = stackalloc double[4];
        Span<double> hp = stackalloc double[16];
        Span<double> hq = stackalloc double[16];
        Span<int> vars = stackalloc int[4];
        for (int k = 0; k < BalanceP.Length; k++)
        {
            int i = BalanceP.Member(k);
            double lp = lambda[BalanceP[k]], lq = lambda[BalanceQ[k]];
            for (int e = Y.RowPtr[i]; e < Y.RowPtr[i + 1]; e++)
            {
                int j = Y.ColIdx[e];
                var yij = Y.Values[e];
                double p = 0, q = 0;
                dp.Clear(); dq.Clear(); hp.Clear(); hq.Clear();
                if (j == i)
                {
                    Self(x[Vm[i]], yij.Real, yij.Imaginary, ref p, dp, hp, ref q, dq, hq);
                    H.Add(Vm[i], Vm[i], lp * hp[10] + lq * hq[10]);
                    continue;
                }
                Cross(x[Vm[i]], x[Vm[j]], x[Va[i]] - x[Va[j]], yij.Real, yij.Imaginary, ref p, dp, hp, ref q, dq, hq);
                vars[0] = Va[i]; vars[1] = Va[j]; vars[2] = Vm[i]; vars[3] = Vm[j];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++)
                        H.Add(vars[a], vars[b], lp * hp[4 * a + b] + lq * hq[4 * a + b]);
            }
        }

        // derCapability rows: ∇²(Σ ±q)² = 2·s·sᵀ
        for (int d = 0; d < DerCapability.Length; d++)
        {
            double m = mu[DerCapability[d]];
            foreach (var (v1, s1, _) in DerBlocks[d])
                foreach (var (v2, s2, _) in DerBlocks[d]) H.Add(v1, v2, 2 * m * s1 * s2);
        }

        // flow-limit rows: ∇²(P² + Q²) = 2(∇P∇Pᵀ + P∇²P + ∇Q∇Qᵀ + Q∇²Q)
        for (int k = 0; k < FlowLimitFrom.Length; k++)
        {
            int l = FlowLimitFrom.Member(k);
            foreach (var (rows, from) in (ReadOnlySpan<(Block, bool)>)[(FlowLimitFrom, true), (FlowLimitTo, false)])
            {
                double m = mu[rows[k]];
                double p = 0, q = 0;
                dp.Clear(); dq.Clear(); hp.Clear(); hq.Clear();
                EndFlow(x, l, from, out int a0, out int o, ref p, dp, hp, ref q, dq, hq);
                vars[0] = Va[a0]; vars[1] = Va[o]; vars[2] = Vm[a0]; vars[3] = Vm[o];
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++)
                        H.Add(vars[a], vars[b], 2 * m * (dp[a] * dp[b] + p * hp[4 * a + b] + dq[a] * dq[b] + q * hq[4 * a + b]));
            }
        }
        return H.Finish(); // in place: both solvers use a Hessian before they ask for the next
    }
}
