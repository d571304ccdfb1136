using OpenTE.Numerics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;

namespace OpenTE.Market.Strategic;

/// <summary>What a primal variable of the clearing is.</summary>
internal enum ClearingVarKind { Angle, Generator, CostEpigraph, Bid, Leader, Shed }

/// <summary>
/// A primal variable lo ≤ x ≤ hi with cost c·x + ½·q·x² ($/h). For a leader block <see cref="Leader"/> is its index in
/// the leader's offer list: its price (the cost c) and its upper bound (the offered quantity) are the leader's decisions.
/// </summary>
internal sealed record ClearingVar(string Name, ClearingVarKind Kind, double Lo, double Hi, double Cost, double Quad, int Leader = -1)
{
    public bool Fixed => Lo == Hi && Leader < 0;
}

/// <summary>What a row of the clearing is.</summary>
internal enum ClearingRowKind { Balance, Flow, Angle, CostSegment }

/// <summary>A row lo ≤ Σ a·x ≤ hi; <see cref="Index"/> is the bus (balance) or branch (flow, angle) or generator (cost segment).</summary>
internal sealed record ClearingRow(string Name, ClearingRowKind Kind, int Index, double Lo, double Hi, List<(int Var, double Coef)> Terms)
{
    public bool Equality => Lo == Hi;
}

/// <summary>
/// OpenTE's DC clearing (<see cref="DcOpfSolver"/>) written out as an explicit program in MW and $/h, so that its KKT
/// conditions can be stated row by row:
/// <code>
/// min  Σ_g C_g(Pg) + Σ_sell π·q − Σ_buy π·q + Σ_leader o_k·q_k + Σ_b VoLL·shed_b
/// s.t. balance[b]:  Σ Pg + Σ q_sell − Σ q_buy + Σ q_k + shed_b − Σ_k B_bk·φ_k = Pd_b + Gs_b + baseMVA·Pbusinj_b   (dual λ_b = LMP)
///      flow[l]:     −rateA − baseMVA·Pfinj_l ≤ b_l·(φ_f − φ_t) ≤ rateA − baseMVA·Pfinj_l
///      angle[l]:    baseMVA·angmin ≤ φ_f − φ_t ≤ baseMVA·angmax
///      seg[g,s]:    m_s·Pg − y_g ≤ m_s·x_s − c_s                                         (piecewise-linear costs)
///      Pmin ≤ Pg ≤ Pmax,  0 ≤ q ≤ Q,  0 ≤ q_k ≤ Q_k,  0 ≤ shed_b ≤ Pd_b,  φ_ref fixed
/// </code>
/// with φ = baseMVA·θ (so that every row is in MW and every dual in $/MWh). Exactly the rows, bounds and skipped elements
/// of <see cref="DcOpfSolver"/> (out-of-service branches and generators, de-energised buses, rateA = 0, angle limits
/// of 0 or ±360°). Fixed variables (the reference angle, Pmin = Pmax, zero-quantity bids) are constants moved to the
/// right-hand sides, so that the KKT system has no free multipliers of fixed bounds.
/// </summary>
internal sealed class ClearingProgram
{
    public required Network Net { get; init; }
    public required DcNetwork Dc { get; init; }
    public List<ClearingVar> Vars { get; } = [];
    public List<ClearingRow> Rows { get; } = [];
    /// <summary>Per bus: the balance row (−1 for a de-energised bus).</summary>
    public int[] BalanceRow { get; private set; } = [];
    /// <summary>Per leader block: its variable (−1 when its bus is de-energised).</summary>
    public int[] LeaderVar { get; private set; } = [];
    /// <summary>Constant part of the objective (fixed variables), $/h.</summary>
    public double Constant { get; private set; }
    /// <summary>Per generator (case order): the Pg variable, or −1 (fixed, out of service or dead bus).</summary>
    public int[] GenVar { get; private set; } = [];
    /// <summary>Per bus: net injection bounds (MW) for bounding branch flows; the fixed load is already subtracted.</summary>
    public double[] InjMin { get; private set; } = [];
    public double[] InjMax { get; private set; } = [];
    public List<string> Messages { get; } = [];

    /// <summary>Builds the clearing with the <paramref name="others"/> as fixed bids and the <paramref name="leader"/> blocks as decision-priced offers.</summary>
    public static ClearingProgram Build(Network net, DcNetwork dc, IReadOnlyList<Bid> others, IReadOnlyList<Bid> leader, DcOpfOptions o)
    {
        double baseMva = net.BaseMva;
        int nb = net.BusCount, ng = net.Generators.Length, nl = net.Branches.Length;
        var p = new ClearingProgram { Net = net, Dc = dc };
        p.Messages.AddRange(dc.Messages);
        var injMin = new double[nb];
        var injMax = new double[nb];
        var terms = new List<(int, double)>[nb];
        var rhs = new double[nb];
        for (int b = 0; b < nb; b++)
        {
            terms[b] = [];
            double load = o.IncludeCaseLoad ? net.Buses[b].Pd : 0;
            rhs[b] = load + net.Buses[b].Gs + baseMva * dc.PbusInj[b];
            injMin[b] = injMax[b] = -load - net.Buses[b].Gs;
        }
        double constant = 0;

        // ---- angles φ = baseMVA·θ; the reference angle is a constant
        var isRef = new bool[nb];
        foreach (int r in dc.ReferenceBuses) isRef[r] = true;
        var phi = new int[nb];
        var phiConst = new double[nb];
        for (int b = 0; b < nb; b++)
        {
            phi[b] = -1;
            if (dc.Dead[b]) continue;
            if (isRef[b]) { phiConst[b] = baseMva * net.Buses[b].VaDeg * Math.PI / 180; continue; }
            phi[b] = p.Add(new ClearingVar($"phi[{net.Buses[b].Id}]", ClearingVarKind.Angle, double.NegativeInfinity, double.PositiveInfinity, 0, 0));
        }

        // ---- generators with their cost curves
        var genVar = new int[ng];
        Arrays.Fill(genVar, -1);
        var segRows = new List<ClearingRow>();
        if (o.IncludeCaseGenerators)
            for (int g = 0; g < ng; g++)
            {
                var gen = net.Generators[g];
                int b = net.BusIndex[gen.Bus];
                if (!gen.InService || dc.Dead[b]) continue;
                if (gen.Pmin > gen.Pmax) throw new ArgumentException($"generator {g + 1}: Pmin {gen.Pmin} MW is above Pmax {gen.Pmax} MW");
                injMin[b] += gen.Pmin;
                injMax[b] += gen.Pmax;
                var cost = net.ActiveCost(g);
                double c1 = 0, c2 = 0;
                (double Slope, double Intercept)[]? segments = null;
                if (cost is not null && cost.Model == CostModel.Polynomial)
                {
                    var c = cost.Coefficients;
                    int degree = c.Length - 1;
                    while (degree > 0 && c[c.Length - 1 - degree] == 0) degree--;
                    if (degree > 2)
                        throw new NotSupportedException($"generator {g + 1} has a polynomial cost of degree {degree}; the DC clearing handles degree ≤ 2 (use a piecewise-linear cost)");
                    constant += c.Length >= 1 ? c[^1] : 0;
                    c1 = c.Length >= 2 ? c[^2] : 0;
                    c2 = c.Length >= 3 ? c[^3] : 0;
                }
                else if (cost is not null && cost.Points >= 2)
                {
                    segments = new (double, double)[cost.Points - 1];
                    for (int s = 0; s < segments.Length; s++)
                    {
                        double x0 = cost.Coefficients[2 * s], y0 = cost.Coefficients[2 * s + 1];
                        double x1 = cost.Coefficients[2 * s + 2], y1 = cost.Coefficients[2 * s + 3];
                        double slope = (y1 - y0) / (x1 - x0);
                        segments[s] = (slope, y0 - slope * x0);
                    }
                }
                else if (cost is not null && cost.Points == 1) constant += cost.Coefficients[1];

                if (gen.Pmin == gen.Pmax)
                {
                    double v = gen.Pmin;
                    constant += segments is null ? c1 * v + c2 * v * v : segments.Max(s => s.Slope * v + s.Intercept);
                    rhs[b] -= v;
                    continue;
                }
                int x = genVar[g] = p.Add(new ClearingVar($"pg[{g + 1}]", ClearingVarKind.Generator, gen.Pmin, gen.Pmax, c1, 2 * c2));
                terms[b].Add((x, 1));
                if (segments is null) continue;
                int y = p.Add(new ClearingVar($"cost[pg[{g + 1}]]", ClearingVarKind.CostEpigraph, double.NegativeInfinity, double.PositiveInfinity, 1, 0));
                for (int s = 0; s < segments.Length; s++)
                    segRows.Add(new ClearingRow($"pwl[pg[{g + 1}],{s + 1}]", ClearingRowKind.CostSegment, g, double.NegativeInfinity,
                        -segments[s].Intercept, [(x, segments[s].Slope), (y, -1)]));
            }

        // ---- the other participants' bids and offers, then the leader's blocks
        foreach (var bid in others)
        {
            if (!net.BusIndex.TryGetValue(bid.Bus, out int b)) throw new ArgumentException($"bid of {bid.Participant} at unknown bus {bid.Bus}");
            if (dc.Dead[b]) { p.Messages.Add($"bid of {bid.Participant} at bus {bid.Bus} is on a de-energised bus and is not cleared"); continue; }
            double sign = bid.Side == Side.Sell ? 1 : -1;
            if (sign > 0) injMax[b] += bid.Quantity; else injMin[b] -= bid.Quantity;
            if (bid.Quantity == 0) continue;
            int x = p.Add(new ClearingVar($"bid[{bid.Participant},{bid.Bus},{bid.Block},{(sign > 0 ? "sell" : "buy")}]", ClearingVarKind.Bid, 0, bid.Quantity, sign * bid.Price, 0));
            terms[b].Add((x, sign));
        }
        p.LeaderVar = new int[leader.Count];
        for (int k = 0; k < leader.Count; k++)
        {
            var bid = leader[k];
            p.LeaderVar[k] = -1;
            if (!net.BusIndex.TryGetValue(bid.Bus, out int b)) throw new ArgumentException($"offer of {bid.Participant} at unknown bus {bid.Bus}");
            if (dc.Dead[b]) { p.Messages.Add($"offer of {bid.Participant} at bus {bid.Bus} is on a de-energised bus and is not cleared"); continue; }
            injMax[b] += bid.Quantity;
            int x = p.LeaderVar[k] = p.Add(new ClearingVar($"leader[{bid.Participant},{bid.Bus},{bid.Block}]", ClearingVarKind.Leader, 0, bid.Quantity, bid.Price, 0, k));
            terms[b].Add((x, 1));
        }
        if (o.ValueOfLostLoad is double voll)
            for (int b = 0; b < nb; b++)
            {
                double load = o.IncludeCaseLoad ? net.Buses[b].Pd : 0;
                if (dc.Dead[b] || load <= 0) continue;
                injMax[b] += load;
                int x = p.Add(new ClearingVar($"shed[{net.Buses[b].Id}]", ClearingVarKind.Shed, 0, load, voll, 0));
                terms[b].Add((x, 1));
            }

        // ---- nodal balance
        for (int j = 0; j < nb; j++)
            for (int q = dc.Bbus.ColPtr[j]; q < dc.Bbus.ColPtr[j + 1]; q++)
            {
                double v = dc.Bbus.Values[q];
                int r = dc.Bbus.RowIdx[q];
                if (v == 0 || dc.Dead[j]) continue;
                if (phi[j] >= 0) terms[r].Add((phi[j], -v));
                else rhs[r] += v * phiConst[j];
            }
        p.BalanceRow = new int[nb];
        for (int b = 0; b < nb; b++)
        {
            p.BalanceRow[b] = -1;
            if (dc.Dead[b]) continue;
            p.BalanceRow[b] = p.Rows.Count;
            p.Rows.Add(new ClearingRow($"balance[{net.Buses[b].Id}]", ClearingRowKind.Balance, b, rhs[b], rhs[b], terms[b]));
        }

        // ---- branch flow limits and angle-difference limits
        for (int l = 0; l < nl; l++)
        {
            var br = net.Branches[l];
            int f = dc.From[l], t = dc.To[l];
            if (dc.B[l] == 0 || dc.Dead[f] || dc.Dead[t]) continue;
            var (rowTerms, shift) = Difference(phi, phiConst, f, t);
            if (br.RateA > 0)
            {
                double fixedPart = baseMva * dc.PfInj[l] + dc.B[l] * shift;
                p.Rows.Add(new ClearingRow($"flow[{l + 1}]", ClearingRowKind.Flow, l, -br.RateA - fixedPart, br.RateA - fixedPart,
                    [.. rowTerms.Select(x => (x.Var, x.Coef * dc.B[l]))]));
            }
            double lo = br.AngMinDeg > -360 && br.AngMinDeg != 0 ? br.AngMinDeg * Math.PI / 180 * baseMva : double.NegativeInfinity;
            double hi = br.AngMaxDeg < 360 && br.AngMaxDeg != 0 ? br.AngMaxDeg * Math.PI / 180 * baseMva : double.PositiveInfinity;
            if (double.IsFinite(lo) || double.IsFinite(hi))
                p.Rows.Add(new ClearingRow($"angle[{l + 1}]", ClearingRowKind.Angle, l, lo - shift, hi - shift, rowTerms));
        }
        p.Rows.AddRange(segRows);
        p.Constant = constant;
        p.GenVar = genVar;
        p.InjMin = injMin;
        p.InjMax = injMax;
        return p;
    }

    /// <summary>φ_f − φ_t as terms plus a constant (the reference bus's fixed angle).</summary>
    private static (List<(int Var, double Coef)> Terms, double Constant) Difference(int[] phi, double[] phiConst, int f, int t)
    {
        var terms = new List<(int, double)>();
        double c = 0;
        if (phi[f] >= 0) terms.Add((phi[f], 1)); else c += phiConst[f];
        if (phi[t] >= 0) terms.Add((phi[t], -1)); else c -= phiConst[t];
        return (terms, c);
    }

    private int Add(ClearingVar v)
    {
        Vars.Add(v);
        return Vars.Count - 1;
    }

    /// <summary>Per variable, the rows it appears in with their coefficients (the columns of the constraint matrix).</summary>
    public List<(int Row, double Coef)>[] Columns()
    {
        var cols = new List<(int, double)>[Vars.Count];
        for (int j = 0; j < cols.Length; j++) cols[j] = [];
        for (int i = 0; i < Rows.Count; i++)
            foreach (var (j, a) in Rows[i].Terms) cols[j].Add((i, a));
        return cols;
    }
}
