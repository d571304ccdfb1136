using OpenTE.Market.Outcome;
using System.Diagnostics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.DcOpf;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.MultiPeriod;

/// <summary>
/// Loads and PV per bus and interval (MW). A bus not listed at an interval keeps the case's Pd and has no PV.
/// Intervals are consecutive, <see cref="StepHours"/> apart (0.25 or 1 usually).
/// </summary>
public sealed record TimeSeries(IReadOnlyList<DateTimeOffset> Times, double StepHours,
    IReadOnlyDictionary<int, double[]> LoadMw, IReadOnlyDictionary<int, double[]> PvMw)
{
    public int Count => Times.Count;
}

public sealed record MultiPeriodOptions
{
    public IReadOnlyList<StorageUnit> Storage { get; init; } = [];
    /// <summary>Ramp limit per hour when a generator has none in the case (RAMP_30 × 2, else RAMP_10 × 6): this share of Pmax; null = no limit.</summary>
    public double? DefaultRampSharePerHour { get; init; }
    /// <summary>Value of lost load ($/MWh): when set, load may be shed at this price instead of an infeasible market.</summary>
    public double? ValueOfLostLoad { get; init; }
    public SolverKind Solver { get; init; } = SolverKind.Auto;
    /// <summary>Price-quantity bids per interval (interval index, bid): cleared with the case's generators and loads.</summary>
    public IReadOnlyList<(int Interval, OpenTE.Market.Bids.Bid Bid)> Bids { get; init; } = [];
}

public sealed record StorageSchedule(string Id, int Bus, double[] ChargeMw, double[] DischargeMw, double[] SocMwh);

public sealed record MultiPeriodResult(
    string Case, ClearingStatus Status, double Objective, double SolveSeconds,
    IReadOnlyList<DateTimeOffset> Times,
    double[][] Lmp,          // [t][bus index], $/MWh
    double[][] PgMw,         // [t][generator]
    double[][] PvUsedMw,     // [t][bus index]
    double[][] ShedMw,       // [t][bus index]
    IReadOnlyList<StorageSchedule> Storage,
    IReadOnlyList<string> Messages)
{
    /// <summary>Accepted MW of each bid in <see cref="MultiPeriodOptions.Bids"/>, in its order.</summary>
    public IReadOnlyList<double> AcceptedBidMw { get; init; } = [];
}

/// <summary>
/// Market clearing over T intervals on the DC network, coupled by storage and generator ramps:
/// <code>
/// min  Σ_t Δt·(Σ_g C_g(Pg_t,g) + VoLL·Σ shed)
/// s.t. balance[t,b]:  Σ Pg + PV used + Σ (d − c) + shed − Σ_k B_bk·θ_t,k = Pd_t,b     (λ_t,b → LMP)
///      flow[t,l]:     |B_l·(θ_f − θ_t)| ≤ rateA,   angle[t,l]: angmin ≤ θ_f − θ_t ≤ angmax      (DcBlock, as the single period)
///      soc[t,s]:      s_t = s_{t−1} + η_c·c_t·Δt − d_t·Δt/η_d,   Emin ≤ s_t ≤ Emax,   s_T ≥ terminal
///      ramp[t,g]:     |Pg_t − Pg_{t−1}| ≤ Ramps.Limit(g, Δt)
///      0 ≤ PV used ≤ PV available (curtailable at no cost)
/// </code>
/// Prices per bus and interval are the balance duals divided by Δt ($/MWh).
/// </summary>
public static class MultiPeriodClearing
{
    public static MultiPeriodResult Solve(Network net, TimeSeries series, MultiPeriodOptions? options = null)
    {
        var sw = Stopwatch.StartNew();
        var o = options ?? new MultiPeriodOptions();
        var dc = new DcNetwork(net);
        double baseMva = net.BaseMva, dt = series.StepHours;
        int T = series.Count, nb = net.BusCount, ng = net.Generators.Length, nl = net.Branches.Length;
        if (T == 0) throw new ArgumentException("the time series has no intervals");
        foreach (var s in o.Storage)
        {
            s.Validate();
            if (!net.BusIndex.ContainsKey(s.Bus)) throw new ArgumentException($"storage {s.Id}: bus {s.Bus} is not in {net.Name}");
        }
        var m = new OptimizationModel();
        var messages = new List<string>(dc.Messages);
        var theta = new Variable?[T, nb];
        var pg = new Variable?[T, ng];
        var pv = new Variable?[T, nb];
        var shed = new Variable?[T, nb];
        var charge = new Variable[T, o.Storage.Count];
        var discharge = new Variable[T, o.Storage.Count];
        var soc = new Variable[T, o.Storage.Count];
        var balance = new Constraint?[T, nb];
        var bidVars = new Variable?[o.Bids.Count];
        var bidsAt = o.Bids.Select((x, k) => (x.Bid, k, x.Interval)).ToLookup(x => x.Interval, x => (x.Bid, x.k));
        foreach (var (it, bid) in o.Bids)
            if (it < 0 || it >= T) throw new ArgumentException($"bid of {bid.Participant} for interval {it} outside 0…{T - 1}");
        var load = new double[T, nb];
        for (int t = 0; t < T; t++)
            for (int b = 0; b < nb; b++)
                load[t, b] = series.LoadMw.TryGetValue(net.Buses[b].Id, out var l) ? l[t] : net.Buses[b].Pd;

        for (int t = 0; t < T; t++)
        {
            var loadPu = new double[nb];
            for (int b = 0; b < nb; b++) loadPu[b] = load[t, b] / baseMva;
            var block = new DcBlock(m, net, dc, t, dt).AddAngles();
            for (int b = 0; b < nb; b++)
                if (!dc.Dead[b] && series.PvMw.TryGetValue(net.Buses[b].Id, out var p) && p[t] > 0)
                {
                    var v = m.AddVariable($"pv[{t},{net.Buses[b].Id}]", 0, p[t] / baseMva);
                    pv[t, b] = v;
                    block.Inject(b, v, 1);
                }
            block.AddShedding(loadPu, o.ValueOfLostLoad).AddGenerators().AddBids(bidsAt[t].Select(x => (x.Bid, x.k)), messages);
            foreach (var (k, v) in block.Bids) bidVars[k] = v;
            for (int k = 0; k < o.Storage.Count; k++)
            {
                var s = o.Storage[k];
                int b = net.BusIndex[s.Bus];
                charge[t, k] = m.AddVariable($"charge[{t},{s.Id}]", 0, s.ChargeMaxMw / baseMva);
                discharge[t, k] = m.AddVariable($"discharge[{t},{s.Id}]", 0, s.DischargeMaxMw / baseMva);
                soc[t, k] = m.AddVariable($"soc[{t + 1},{s.Id}]", s.EnergyMinMwh, s.EnergyMaxMwh);
                block.Inject(b, discharge[t, k], 1);
                block.Inject(b, charge[t, k], -1);
            }
            block.AddBalance(loadPu).AddBranchLimits();
            for (int b = 0; b < nb; b++)
            {
                theta[t, b] = block.Theta[b];
                shed[t, b] = block.Shed[b];
                balance[t, b] = block.Balance[b];
            }
            for (int g = 0; g < ng; g++) pg[t, g] = block.Pg[g];
            // state of charge (MWh; powers are p.u.)
            for (int k = 0; k < o.Storage.Count; k++)
            {
                var s = o.Storage[k];
                var row = new List<(Variable, double)> { (soc[t, k], 1), (charge[t, k], -s.EtaCharge * dt * baseMva), (discharge[t, k], dt * baseMva / s.EtaDischarge) };
                if (t > 0) row.Add((soc[t - 1, k], -1));
                m.AddEquality($"soc-balance[{t + 1},{s.Id}]", t == 0 ? s.InitialMwh : 0, row);
            }
            // ramps (the one rule: Ramps.Limit); a limit as wide as the operating range adds nothing
            if (t > 0)
                for (int g = 0; g < ng; g++)
                {
                    if (pg[t, g] is not Variable now || pg[t - 1, g] is not Variable before) continue;
                    var gen = net.Generators[g];
                    double mw = Ramps.Limit(gen, dt, o.DefaultRampSharePerHour);
                    if (!(mw < gen.Pmax - gen.Pmin)) continue;
                    double r = mw / baseMva;
                    m.AddConstraint($"ramp[{t},{g + 1}]", -r, r, [(now, 1), (before, -1)]);
                }
        }
        for (int k = 0; k < o.Storage.Count; k++)
            m.AddConstraint($"terminal[{o.Storage[k].Id}]", o.Storage[k].Terminal, double.PositiveInfinity, [(soc[T - 1, k], 1)]);

        var sol = m.Solve(o.Solver);
        var status = ClearingStatuses.From(sol.Status);
        bool ok = status == ClearingStatus.Optimal;
        messages.Add(sol.Message);
        if (!ok) messages.Add("no optimal schedule: prices are not reported" + (o.ValueOfLostLoad is null ? "; a value of lost load lets the market shed load instead" : ""));
        var lmp = new double[T][];
        var pgMw = new double[T][];
        var pvUsed = new double[T][];
        var shedMw = new double[T][];
        for (int t = 0; t < T; t++)
        {
            lmp[t] = new double[nb];
            pvUsed[t] = new double[nb];
            shedMw[t] = new double[nb];
            pgMw[t] = new double[ng];
            for (int b = 0; b < nb; b++)
            {
                lmp[t][b] = ok && balance[t, b] is Constraint c ? sol.Dual(c) / baseMva / dt : double.NaN;
                pvUsed[t][b] = ok && pv[t, b] is Variable v ? sol.Value(v) * baseMva : 0;
                shedMw[t][b] = ok && shed[t, b] is Variable sv ? sol.Value(sv) * baseMva : 0;
            }
            for (int g = 0; g < ng; g++) pgMw[t][g] = ok && pg[t, g] is Variable v ? sol.Value(v) * baseMva : 0;
        }
        var storage = o.Storage.Select((s, k) => new StorageSchedule(s.Id, s.Bus,
            [.. Enumerable.Range(0, T).Select(t => ok ? Math.Max(0, sol.Value(charge[t, k])) * baseMva : double.NaN)],
            [.. Enumerable.Range(0, T).Select(t => ok ? Math.Max(0, sol.Value(discharge[t, k])) * baseMva : double.NaN)],
            [s.InitialMwh, .. Enumerable.Range(0, T).Select(t => ok ? sol.Value(soc[t, k]) : double.NaN)])).ToList();
        return new MultiPeriodResult(net.Name, status, ok ? sol.Objective : double.NaN, sw.Elapsed.TotalSeconds, series.Times, lmp, pgMw, pvUsed, shedMw, storage, messages)
        {
            AcceptedBidMw = [.. bidVars.Select(v => ok && v is Variable x ? sol.Value(x) * baseMva : 0)],
        };
    }
}
