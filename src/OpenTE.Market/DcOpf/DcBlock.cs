using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.Bids;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.DcOpf;

/// <summary>
/// One interval of the DC network in an optimisation model: the building block every DC clearing composes
/// (single-period <see cref="DcOpfSolver"/>, multi-period, security-constrained), after PowerModels' build_opf.
/// Each method adds one part of the formulation for the interval; costs are $/h weighted by the interval's hours:
/// <code>
/// AddAngles        θ_b free, θ_ref fixed at the case's angle
/// AddGenerators    Pmin ≤ Pg ≤ Pmax, cost C_g(Pg)·Δt
/// AddBids          0 ≤ q ≤ Q, cost ±price·q·Δt (sell +, buy −)
/// AddShedding      0 ≤ shed_b ≤ Pd_b, cost VoLL·shed_b·Δt
/// Inject           any other injection at a bus (PV, storage, …) into its balance
/// AddBalance       Σ injections − Σ_k B_bk·θ_k = Pd_b + Gs_b + Pbusinj_b        (dual/(baseMVA·Δt) = LMP_b)
/// AddFlowLimits    −rateA ≤ b_l·(θ_f − θ_t) + Pfinj_l ≤ rateA                    (rateA = 0: no limit)
/// AddAngleLimits   angmin ≤ θ_f − θ_t ≤ angmax                                   (when set, not ±360 or 0)
/// </code>
/// Quantities are p.u. on baseMVA inside; variable and constraint names carry the interval tag (<c>theta[3,14]</c>).
/// </summary>
internal sealed class DcBlock
{
    private readonly OptimizationModel _m;
    private readonly Network _net;
    private readonly string _tag;
    private readonly double _hours;
    // the injections into each bus's balance (generators, bids, shedding, Inject), in the order added: flat arrays rather
    // than a list of tuples per bus (generic collections over our types are compiled by the JIT in a cold CLI process)
    private int[] _injBus = new int[64];
    private Variable[] _injVar = new Variable[64];
    private double[] _injCoef = new double[64];
    private int _injCount;
    private readonly Variable[] _pair = new Variable[2];
    private readonly double[] _pairCoef = new double[2];

    public DcNetwork Dc { get; }
    public Variable?[] Theta { get; }
    public Variable?[] Pg { get; }
    public Variable?[] Shed { get; }
    public Constraint?[] Balance { get; }
    public Constraint?[] Flow { get; }
    public Constraint?[] Angle { get; }
    /// <summary>The bids added, by their index in the caller's list (null where not cleared: de-energised bus, other interval).</summary>
    public Dictionary<int, Variable> Bids => _bids ??= [];
    private Dictionary<int, Variable>? _bids;

    /// <param name="interval">The interval's index in the names (null for a single-period model: <c>theta[14]</c>).</param>
    public DcBlock(OptimizationModel m, Network net, DcNetwork dc, int? interval = null, double hours = 1)
    {
        _m = m;
        _net = net;
        Dc = dc;
        _tag = interval is int t ? $"{t}," : "";
        _hours = hours;
        int nb = net.BusCount, nl = net.Branches.Length;
        Theta = new Variable?[nb];
        Pg = new Variable?[net.Generators.Length];
        Shed = new Variable?[nb];
        Balance = new Constraint?[nb];
        Flow = new Constraint?[nl];
        Angle = new Constraint?[nl];
    }

    private double BaseMva => _net.BaseMva;

    public DcBlock AddAngles()
    {
        var isRef = new bool[_net.BusCount];
        foreach (int r in Dc.ReferenceBuses) isRef[r] = true;
        for (int b = 0; b < _net.BusCount; b++)
        {
            if (Dc.Dead[b]) continue;
            double va = _net.Buses[b].VaDeg * Math.PI / 180;
            string name = $"theta[{_tag}{_net.Buses[b].Id}]";
            Theta[b] = isRef[b] ? _m.AddVariable(name, va, va) : _m.AddVariable(name, double.NegativeInfinity, double.PositiveInfinity);
        }
        return this;
    }

    /// <summary>The in-service generators on live buses, with their cost (<see cref="DcOpfSolver.AddCost"/>) times the interval's hours.</summary>
    public DcBlock AddGenerators()
    {
        for (int g = 0; g < _net.Generators.Length; g++)
        {
            var gen = _net.Generators[g];
            int b = _net.BusIndex[gen.Bus];
            if (!gen.InService || Dc.Dead[b]) continue;
            var v = _m.AddVariable($"pg[{_tag}{g + 1}]", gen.Pmin / BaseMva, gen.Pmax / BaseMva);
            Pg[g] = v;
            DcOpfSolver.AddCost(_m, _net, g, v, BaseMva, _hours);
            Inject(b, v, 1);
        }
        return this;
    }

    /// <summary>Bids and offers (each with its index in the caller's list, used in its name); one on a de-energised bus is reported and not cleared.</summary>
    public DcBlock AddBids(IEnumerable<(Bid Bid, int Index)> bids, List<string> messages)
    {
        foreach (var (bid, k) in bids)
        {
            if (!_net.BusIndex.TryGetValue(bid.Bus, out int b)) throw new ArgumentException($"bid of {bid.Participant} at unknown bus {bid.Bus}");
            if (Dc.Dead[b]) { messages.Add($"bid of {bid.Participant} at bus {bid.Bus} is on a de-energised bus and is not cleared"); continue; }
            bool sell = bid.Side == Side.Sell;
            var v = _m.AddVariable($"bid[{_tag}{k + 1}]", 0, bid.Quantity / BaseMva, (sell ? 1 : -1) * bid.Price * BaseMva * _hours);
            Bids[k] = v;
            Inject(b, v, sell ? 1 : -1);
        }
        return this;
    }

    /// <summary>Load shedding at VoLL on every live bus with load (none when <paramref name="voll"/> is null).</summary>
    public DcBlock AddShedding(double[] loadPu, double? voll)
    {
        if (voll is not double price) return this;
        for (int b = 0; b < _net.BusCount; b++)
            if (!Dc.Dead[b] && loadPu[b] > 0)
            {
                var v = _m.AddVariable($"shed[{_tag}{_net.Buses[b].Id}]", 0, loadPu[b], price * BaseMva * _hours);
                Shed[b] = v;
                Inject(b, v, 1);
            }
        return this;
    }

    /// <summary>Another injection at bus index <paramref name="b"/> (p.u.): PV, storage discharge (+) or charge (−).</summary>
    public void Inject(int b, Variable v, double coefficient)
    {
        if ((uint)b >= (uint)_net.BusCount) throw new ArgumentOutOfRangeException(nameof(b), $"bus index {b} is outside 0..{_net.BusCount - 1}");
        if (_injCount == _injBus.Length)
        {
            var bus = new int[2 * _injCount];
            var vars = new Variable[2 * _injCount];
            var coefs = new double[2 * _injCount];
            Array.Copy(_injBus, bus, _injCount);
            Array.Copy(_injVar, vars, _injCount);
            Array.Copy(_injCoef, coefs, _injCount);
            (_injBus, _injVar, _injCoef) = (bus, vars, coefs);
        }
        _injBus[_injCount] = b;
        _injVar[_injCount] = v;
        _injCoef[_injCount++] = coefficient;
    }

    /// <summary>The nodal balance of every live bus with the given fixed load (p.u.).</summary>
    public DcBlock AddBalance(double[] loadPu)
    {
        // each live bus's row: its injections in the order added, then −B_bk·θ_k for the Bbus entries of row b in column order
        int nb = _net.BusCount;
        var bbus = Dc.Bbus;
        var start = new int[nb + 1];
        for (int k = 0; k < _injCount; k++) start[_injBus[k] + 1]++;
        for (int j = 0; j < nb; j++)
            for (int p = bbus.ColPtr[j]; p < bbus.ColPtr[j + 1]; p++)
                if (Theta[j] is not null && bbus.Values[p] != 0) start[bbus.RowIdx[p] + 1]++;
        for (int b = 0; b < nb; b++) start[b + 1] += start[b];
        var next = new int[nb];
        Array.Copy(start, next, nb);
        var vars = new Variable[start[nb]];
        var coefs = new double[start[nb]];
        for (int k = 0; k < _injCount; k++)
        {
            int q = next[_injBus[k]]++;
            vars[q] = _injVar[k];
            coefs[q] = _injCoef[k];
        }
        for (int j = 0; j < nb; j++)
            for (int p = bbus.ColPtr[j]; p < bbus.ColPtr[j + 1]; p++)
                if (Theta[j] is Variable t && bbus.Values[p] != 0)
                {
                    int q = next[bbus.RowIdx[p]]++;
                    vars[q] = t;
                    coefs[q] = -bbus.Values[p];
                }
        for (int b = 0; b < nb; b++)
        {
            if (Dc.Dead[b]) continue;
            double rhs = loadPu[b] + _net.Buses[b].Gs / BaseMva + Dc.PbusInj[b];
            Balance[b] = _m.AddConstraint($"balance[{_tag}{_net.Buses[b].Id}]", rhs, rhs, vars, coefs, start[b], start[b + 1] - start[b]);
        }
        return this;
    }

    /// <summary>Branch flow limits (rateA &gt; 0) and angle-difference limits, branch by branch.</summary>
    public DcBlock AddBranchLimits(bool angleLimits = true)
    {
        for (int l = 0; l < _net.Branches.Length; l++)
        {
            var br = _net.Branches[l];
            if (Dc.B[l] == 0 || Theta[Dc.From[l]] is not Variable tf || Theta[Dc.To[l]] is not Variable tt) continue;
            if (br.RateA > 0)
            {
                double rate = br.RateA / BaseMva;
                Flow[l] = _m.AddConstraint($"flow[{_tag}{l + 1}]", -rate - Dc.PfInj[l], rate - Dc.PfInj[l], Pair(tf, Dc.B[l], tt, -Dc.B[l]), _pairCoef, 0, 2);
            }
            if (!angleLimits) continue;
            double lo = br.AngMinDeg > -360 && br.AngMinDeg != 0 ? br.AngMinDeg * Math.PI / 180 : double.NegativeInfinity;
            double hi = br.AngMaxDeg < 360 && br.AngMaxDeg != 0 ? br.AngMaxDeg * Math.PI / 180 : double.PositiveInfinity;
            if (double.IsFinite(lo) || double.IsFinite(hi))
                Angle[l] = _m.AddConstraint($"angle[{_tag}{l + 1}]", lo, hi, Pair(tf, 1, tt, -1), _pairCoef, 0, 2);
        }
        return this;
    }

    private Variable[] Pair(Variable a, double ca, Variable b, double cb)
    {
        (_pair[0], _pair[1], _pairCoef[0], _pairCoef[1]) = (a, b, ca, cb);
        return _pair;
    }

    /// <summary>The case's fixed load per bus in p.u. (0 everywhere when <paramref name="include"/> is false).</summary>
    public static double[] CaseLoad(Network net, bool include = true)
    {
        var load = new double[net.BusCount];
        if (include) for (int b = 0; b < net.BusCount; b++) load[b] = net.Buses[b].Pd / net.BaseMva;
        return load;
    }
}

/// <summary>
/// The one ramp rule (MATPOWER's columns): a generator moves RAMP_30/30 MW per minute, else RAMP_10/10, else the given
/// default share of |Pmax| per hour — and never more than its operating range Pmax − Pmin (0 for a fixed unit).
/// Used by the multi-period clearing (between intervals) and the SCOPF (corrective re-dispatch within 30 minutes).
/// </summary>
public static class Ramps
{
    /// <summary>MW a generator can move within <paramref name="hours"/>; +∞ when the case gives no ramp and there is no default.</summary>
    public static double Limit(Generator gen, double hours, double? defaultSharePerHour)
    {
        double perMinute = gen.Ramp30 > 0 ? gen.Ramp30 / 30 : gen.Ramp10 > 0 ? gen.Ramp10 / 10
            : defaultSharePerHour is double share ? share * Math.Abs(gen.Pmax) / 60 : double.PositiveInfinity;
        return Math.Min(perMinute * 60 * hours, Math.Max(0, gen.Pmax - gen.Pmin));
    }
}
