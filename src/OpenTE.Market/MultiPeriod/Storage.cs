using OpenTE.Market.Bids;
using OpenTE.Numerics.Optimization;

namespace OpenTE.Market.MultiPeriod;

/// <summary>
/// A storage unit: energy limits (MWh), power limits (MW), charge and discharge efficiencies in (0, 1], initial
/// state of charge and the state it must end at least at (default: the initial one, so no free energy).
/// s_{t+1} = s_t + η_c·c_t·Δt − d_t·Δt/η_d.
/// </summary>
public sealed record StorageUnit(string Id, int Bus, double EnergyMinMwh, double EnergyMaxMwh, double ChargeMaxMw, double DischargeMaxMw,
    double EtaCharge, double EtaDischarge, double InitialMwh, double? TerminalMwh = null)
{
    public double Terminal => TerminalMwh ?? InitialMwh;

    /// <summary>What is wrong with the unit's data (field and reason), or null when it is consistent.</summary>
    public (string Field, string Problem)? Check()
    {
        if (!(EtaCharge > 0 && EtaCharge <= 1)) return ("eta_charge", $"{EtaCharge} is outside (0, 1]");
        if (!(EtaDischarge > 0 && EtaDischarge <= 1)) return ("eta_discharge", $"{EtaDischarge} is outside (0, 1]");
        if (!(EnergyMinMwh >= 0) || !double.IsFinite(EnergyMinMwh)) return ("min_mwh", $"{EnergyMinMwh} must be ≥ 0");
        if (!(EnergyMaxMwh > EnergyMinMwh) || !double.IsFinite(EnergyMaxMwh)) return ("energy_mwh", $"{EnergyMaxMwh} must be above min_mwh {EnergyMinMwh}");
        if (!(ChargeMaxMw >= 0) || !double.IsFinite(ChargeMaxMw)) return ("charge_mw", $"{ChargeMaxMw} must be ≥ 0");
        if (!(DischargeMaxMw >= 0) || !double.IsFinite(DischargeMaxMw)) return ("discharge_mw", $"{DischargeMaxMw} must be ≥ 0");
        if (!(InitialMwh >= EnergyMinMwh && InitialMwh <= EnergyMaxMwh)) return ("initial_mwh", $"{InitialMwh} is outside [{EnergyMinMwh}, {EnergyMaxMwh}]");
        if (!(Terminal >= EnergyMinMwh && Terminal <= EnergyMaxMwh)) return ("terminal_mwh", $"{Terminal} is outside [{EnergyMinMwh}, {EnergyMaxMwh}]");
        return null;
    }

    internal void Validate()
    {
        if (Check() is { } p) throw new ArgumentException($"storage {Id}: {p.Field} {p.Problem}");
    }
}

/// <summary>A price-taker's schedule: charge and discharge (MW) and state of charge (MWh, T + 1 values) per interval.</summary>
public sealed record ArbitrageSchedule(double[] ChargeMw, double[] DischargeMw, double[] SocMwh, double Profit, double[] EnergyValue);

/// <summary>
/// Storage arbitrage for a price taker: max Σ p_t·(d_t − c_t)·Δt over the horizon, as an LP (GLOP).
/// The optimum obeys the break-even rule: energy bought at p₁ and sold at a later p₂ (with the store never
/// empty in between) has p₂/p₁ ≥ 1/(η_c·η_d) — otherwise buying a little less and selling a little less would
/// pay more. <see cref="EnergyValue"/> is the dual of the state-of-charge equations ($/MWh stored).
/// </summary>
public static class StorageArbitrage
{
    public static ArbitrageSchedule Optimize(IReadOnlyList<double> prices, double dtHours, StorageUnit unit) =>
        Optimize(prices, dtHours, unit, unit.InitialMwh);

    private static ArbitrageSchedule Optimize(IReadOnlyList<double> prices, double dtHours, StorageUnit u, double initial)
    {
        u.Validate();
        if (!(dtHours > 0)) throw new ArgumentException("the interval length must be positive");
        int T = prices.Count;
        var m = new OptimizationModel();
        var c = new Variable[T];
        var d = new Variable[T];
        var s = new Variable[T];
        var soc = new Constraint[T];
        for (int t = 0; t < T; t++)
        {
            if (!double.IsFinite(prices[t])) throw new ArgumentException($"price {t + 1} is not a finite number");
            // sub-nano prices are zero: denormal cost coefficients make GLOP report "abnormal"
            double price = Math.Abs(prices[t]) < 1e-9 ? 0 : prices[t];
            c[t] = m.AddVariable($"charge[{t}]", 0, u.ChargeMaxMw, price * dtHours);
            d[t] = m.AddVariable($"discharge[{t}]", 0, u.DischargeMaxMw, -price * dtHours);
            s[t] = m.AddVariable($"soc[{t + 1}]", u.EnergyMinMwh, u.EnergyMaxMwh);
        }
        for (int t = 0; t < T; t++)
        {
            // s_t − s_{t−1} − η_c·Δt·c_t + Δt/η_d·d_t = 0, s_{−1} = initial
            var terms = new List<(Variable, double)> { (s[t], 1), (c[t], -u.EtaCharge * dtHours), (d[t], dtHours / u.EtaDischarge) };
            if (t > 0) terms.Add((s[t - 1], -1));
            soc[t] = m.AddEquality($"soc-balance[{t + 1}]", t == 0 ? initial : 0, terms);
        }
        if (T > 0) m.AddConstraint("terminal", u.Terminal, double.PositiveInfinity, [(s[T - 1], 1)]);
        var sol = m.Solve(SolverKind.Glop);
        if (sol.Status != SolverStatus.Optimal)
            throw new InvalidOperationException($"storage {u.Id}: the schedule LP is {sol.Status} ({sol.Message}); can the terminal state of charge be reached?");
        var ch = c.Select(v => Math.Max(0, sol.Value(v))).ToArray();
        var dis = d.Select(v => Math.Max(0, sol.Value(v))).ToArray();
        var socs = new double[T + 1];
        socs[0] = initial;
        for (int t = 0; t < T; t++) socs[t + 1] = sol.Value(s[t]);
        // ∂cost/∂(energy in store at t): minus its value
        var value = soc.Select(r => -sol.Dual(r)).ToArray();
        return new ArbitrageSchedule(ch, dis, socs, -sol.Objective, value);
    }

    /// <summary>
    /// The unit's bid curve for the first interval of <paramref name="prices"/> (the rest is its forecast), from
    /// its opportunity cost: selling q MW now is worth the price only above what the energy would earn later,
    /// V(s₀) − V(s₀ − q·Δt/η_d) per MWh sold; buying q MW is worth V(s₀ + η_c·q·Δt) − V(s₀) per MWh bought, with V the
    /// optimal profit of the remaining intervals. <paramref name="blocks"/> equal blocks each side; sell prices rise
    /// and buy prices fall block by block (V is concave in the state of charge).
    /// </summary>
    public static List<Bid> BidCurve(IReadOnlyList<double> prices, double dtHours, StorageUnit u, int blocks = 4)
    {
        u.Validate();
        if (prices.Count < 2) throw new ArgumentException("the bid curve needs the next interval and at least one more in the forecast");
        var future = prices.Skip(1).ToList();
        double V(double soc) => Optimize(future, dtHours, u, soc).Profit;
        var bids = new List<Bid>();
        double v0 = V(u.InitialMwh);
        double sellMax = Math.Min(u.DischargeMaxMw, (u.InitialMwh - u.EnergyMinMwh) * u.EtaDischarge / dtHours);
        double buyMax = Math.Min(u.ChargeMaxMw, (u.EnergyMaxMwh - u.InitialMwh) / (u.EtaCharge * dtHours));
        double prev = v0;
        for (int k = 1; k <= blocks && sellMax > 1e-9; k++)
        {
            double q = sellMax * k / blocks, dq = sellMax / blocks;
            double vk = FeasibleValue(() => V(u.InitialMwh - q * dtHours / u.EtaDischarge));
            if (double.IsNegativeInfinity(vk)) break; // the terminal level could not be reached after selling this much
            bids.Add(new Bid(u.Id, u.Bus, Side.Sell, (prev - vk) / (dq * dtHours), dq, k, 0));
            prev = vk;
        }
        prev = v0;
        for (int k = 1; k <= blocks && buyMax > 1e-9; k++)
        {
            double q = buyMax * k / blocks, dq = buyMax / blocks;
            double vk = FeasibleValue(() => V(u.InitialMwh + q * dtHours * u.EtaCharge));
            if (double.IsNegativeInfinity(vk)) break;
            bids.Add(new Bid(u.Id, u.Bus, Side.Buy, (vk - prev) / (dq * dtHours), dq, k, 0));
            prev = vk;
        }
        return bids;
    }

    // a state from which the terminal level cannot be reached is worth nothing to aim for
    private static double FeasibleValue(Func<double> v)
    {
        try { return v(); }
        catch (InvalidOperationException) { return double.NegativeInfinity; }
    }
}
