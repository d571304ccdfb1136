using System.Numerics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Numerics;
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
internal sealed partial class AcOpfProgram : INonlinearProgram
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
        // plain loops in this set-up, no LINQ or tuple lists: it runs in every cold `opf --model ac`, and the framework's
        // generic code for our element types is not precompiled (the JIT compiled about 80 such methods in each cold solve)
        bool Energised(int bus) => net.Buses[bus].Type != BusType.Isolated;
        var energisedList = new List<int>(_nb);
        for (int i = 0; i < _nb; i++)
            if (Energised(i)) energisedList.Add(i);
        var committedList = new List<int>(net.Generators.Length);
        for (int g = 0; g < net.Generators.Length; g++)
            if (net.Generators[g].InService && Energised(net.BusIndex[net.Generators[g].Bus])) committedList.Add(g);
        int[] energised = energisedList.ToArray(), committed = committedList.ToArray();
        var (limited, angleBranch, angle) = BranchLimits();
        _angle = angle;

        // ---- the formulation: variable blocks, then constraint blocks ----
        var vars = Layout.Variables;
        Va = vars.Add("Va", _nb);
        Vm = vars.Add("Vm", _nb);
        Pg = vars.Add("Pg", committed);
        Qg = vars.Add("Qg", committed);
        var pwl = Costs(committed); // polynomial costs go to the objective; piecewise-linear ones get an epigraph y
        PwlCost = vars.Add("pwlCost", pwl.Count);
        var derOfBlock = new List<int>();
        for (int d = 0; d < Ders.Count; d++)
            for (int k = 0; k < Ders[d].Blocks.Count; k++) derOfBlock.Add(d);
        DerQ = vars.Add("derQ", derOfBlock.ToArray());

        (BalanceP, BalanceQ) = Layout.Equalities.AddPair("balanceP", "balanceQ", energised);
        var rows = Layout.Inequalities;
        FlowLimitFrom = rows.Add("flowLimitFrom", limited);
        FlowLimitTo = rows.Add("flowLimitTo", limited);
        AngleDifference = rows.Add("angleDifference", angleBranch);
        _segments = Segments(pwl);
        PwlSegment = rows.Add("pwlSegment", _segments.Length);
        DerCapability = rows.Add("derCapability", Ders.Count);

        // ---- bounds and the data of the constraints ----
        DerBlocks = new (int, double, double)[Ders.Count][];
        for (int d = 0, e = 0; d < Ders.Count; d++)
        {
            var blocks = Ders[d].Blocks;
            DerBlocks[d] = new (int, double, double)[blocks.Count];
            for (int k = 0; k < blocks.Count; k++) DerBlocks[d][k] = (DerQ[e++], blocks[k].Inject ? 1.0 : -1.0, blocks[k].Price);
        }
        (_lower, _upper) = Bounds();
        _pd = new double[_nb];
        _qd = new double[_nb];
        for (int i = 0; i < _nb; i++)
        {
            _pd[i] = net.Buses[i].Pd / _base;
            _qd[i] = net.Buses[i].Qd / _base;
        }
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
    private (int[] Limited, int[] AngleBranch, (double Sign, double Bound)[] Angle) BranchLimits()
    {
        var limited = new List<int>();
        var angleBranch = new List<int>();
        var angleSign = new List<double>();
        var angleBound = new List<double>();
        void AddAngle(int l, double sign, double bound)
        {
            angleBranch.Add(l);
            angleSign.Add(sign);
            angleBound.Add(bound);
        }
        for (int l = 0; l < _net.Branches.Length; l++)
        {
            var br = _net.Branches[l];
            if (_y.Yff[l] == Complex.Zero && _y.Yft[l] == Complex.Zero) continue; // out of service or open
            if (br.RateA > 0 && br.RateA < 1e10) limited.Add(l);
            bool hasLo = br.AngMinDeg != 0 && br.AngMinDeg > -360, hasHi = br.AngMaxDeg != 0 && br.AngMaxDeg < 360;
            if (hasLo) AddAngle(l, -1, -br.AngMinDeg * Math.PI / 180);
            if (hasHi) AddAngle(l, 1, br.AngMaxDeg * Math.PI / 180);
        }
        var angle = new (double Sign, double Bound)[angleBranch.Count];
        for (int k = 0; k < angle.Length; k++) angle[k] = (angleSign[k], angleBound[k]);
        return (limited.ToArray(), angleBranch.ToArray(), angle);
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
        int count = 0;
        for (int k = 0; k < pwl.Count; k++) count += Math.Max(0, pwl[k].Cost.Points - 1);
        var segments = new (int, int, double, double)[count];
        count = 0;
        for (int k = 0; k < pwl.Count; k++)
        {
            var (v, cost) = pwl[k];
            for (int s = 0; s < cost.Points - 1; s++)
            {
                double x0 = cost.Coefficients[2 * s], c0 = cost.Coefficients[2 * s + 1];
                double x1 = cost.Coefficients[2 * s + 2], c1 = cost.Coefficients[2 * s + 3];
                double slope = (c1 - c0) / (x1 - x0);
                segments[count++] = (v, PwlCost[k], slope * _base, slope * x0 - c0);
            }
        }
        return segments;
    }

    /// <summary>
    /// Va fixed at the reference bus (and 0 at an isolated one, whose Vm is fixed too), Vmin ≤ Vm ≤ Vmax,
    /// generator limits, 0 ≤ derQ ≤ the offered block; y free.
    /// </summary>
    private (double[] Lower, double[] Upper) Bounds()
    {
        var lower = new double[Variables];
        var upper = new double[Variables];
        Arrays.Fill(lower, double.NegativeInfinity);
        Arrays.Fill(upper, double.PositiveInfinity);
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

    // ---------------- branch flows ----------------

    /// <summary>Branch l's end (from or to): its bus, the other bus, and the admittances Y_ss, Y_so of the end's current.</summary>
    private (int Bus, int Other, Complex Yss, Complex Yso) End(int l, bool from) =>
        from ? (_y.FromBus[l], _y.ToBus[l], _y.Yff[l], _y.Yft[l]) : (_y.ToBus[l], _y.FromBus[l], _y.Ytt[l], _y.Ytf[l]);

    /// <summary>
    /// P and Q into branch l at one end (p.u.): |V_s|²·G_ss + |V_s||V_o|(G_so cos θ + B_so sin θ) and
    /// −|V_s|²·B_ss + |V_s||V_o|(G_so sin θ − B_so cos θ), θ = θ_s − θ_o (the same arithmetic as <see cref="Evaluate"/>).
    /// </summary>
    private (double P, double Q) EndFlow(ReadOnlySpan<double> x, int l, bool from)
    {
        var (s, o, yss, yso) = End(l, from);
        double vs = x[Vm[s]], vo = x[Vm[o]];
        var (sin, cos) = Math.SinCos(x[Va[s]] - x[Va[o]]);
        double a = yso.Real * cos + yso.Imaginary * sin, b = yso.Real * sin - yso.Imaginary * cos, vv = vs * vo;
        return (vs * vs * yss.Real + vv * a, -vs * vs * yss.Imaginary + vv * b);
    }

    /// <summary>Branch l's flows (p.u.) at both ends.</summary>
    public (double Pf, double Qf, double Pt, double Qt) Flows(ReadOnlySpan<double> x, int l)
    {
        var (pf, qf) = EndFlow(x, l, true);
        var (pt, qt) = EndFlow(x, l, false);
        return (pf, qf, pt, qt);
    }
}
