using OpenTE.Market.MultiPeriod;

namespace OpenTE.Agents.Learning;

/// <summary>
/// Daily price shapes for the price-taker case: a night trough, a morning shoulder, a midday (solar) dip and an evening
/// peak, each day scaled by a level drawn around 1 and with independent noise per interval (all seeded).
/// </summary>
public sealed record PriceShapeOptions
{
    public int TrainingDays { get; init; } = 200;
    public int HeldOutDays { get; init; } = 30;
    /// <summary>Mean level of the shape in $/MWh.</summary>
    public double Base { get; init; } = 40;
    /// <summary>Standard deviation of the per-interval noise, $/MWh.</summary>
    public double Noise { get; init; } = 4;
    /// <summary>Half-width of the uniform day level around 1 (0.2: days between 0.8 and 1.2 times the shape).</summary>
    public double DayLevel { get; init; } = 0.2;
    public int Seed { get; init; } = 7;

    public double[][] Generate(int intervalsPerDay)
    {
        var rng = new Random(Seed);
        int days = TrainingDays + HeldOutDays;
        var p = new double[days][];
        double dt = 24.0 / intervalsPerDay;
        for (int d = 0; d < days; d++)
        {
            double level = 1 + DayLevel * (2 * rng.NextDouble() - 1);
            p[d] = new double[intervalsPerDay];
            for (int t = 0; t < intervalsPerDay; t++)
            {
                double h = (t + 0.5) * dt;
                double shape = 0.75 + 0.30 * Bump(h, 8, 2) - 0.30 * Bump(h, 13, 2.5) + 0.85 * Bump(h, 19, 2) - 0.15 * Bump(h, 3, 3);
                p[d][t] = Math.Round(Base * level * shape + Noise * Gaussian(rng), 2);
            }
        }
        return p;
    }

    private static double Bump(double h, double centre, double width) => Math.Exp(-0.5 * Math.Pow((h - centre) / width, 2));

    internal static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}

/// <summary>
/// (a) A storage unit as price taker on an exogenous price series. One episode is one day of <c>T</c> intervals.
/// Action k of A: power fraction f = −1 + 2k/(A−1) of the rating (f &lt; 0 charge, f &gt; 0 discharge, 0 idle) — a
/// price-taker's bid: this quantity at whatever the price is. The unit clips it to what its state of charge allows.
/// Reward: p_t·(d_t − c_t)·Δt. At the end of the day any shortfall below the terminal level is bought back at the
/// day's highest price (so the learner faces the same constraint as the LP). Observation: one-hot interval of the day,
/// state of charge / capacity, last observed price / mean price − 1; tabular state: interval × state-of-charge bin.
/// Training episodes draw a training day from (seed, episode); held-out days are only evaluated.
/// </summary>
public sealed class StorageEnv : IMarketEnv
{
    public StorageUnit Unit { get; }
    public double[][] Prices { get; }
    public int TrainingDays { get; }
    public int IntervalsPerDay { get; }
    public double DtHours => 24.0 / IntervalsPerDay;
    public int SocBins { get; }
    public int ActionCount { get; }
    private readonly int _seed;
    private readonly double _mean;
    private int _day, _t;
    private double _soc;

    public StorageEnv(StorageUnit unit, double[][] prices, int trainingDays, int actions = 5, int socBins = 9, int seed = 1)
    {
        if (unit.Check() is { } p) throw new ArgumentException($"storage: {p.Field} {p.Problem}");
        if (prices.Length == 0 || prices.Any(d => d.Length != prices[0].Length || d.Length == 0)) throw new ArgumentException("every day needs the same, positive number of prices");
        if (trainingDays <= 0 || trainingDays > prices.Length) throw new ArgumentException("at least one training day, within the days given");
        if (actions < 2) throw new ArgumentException("at least two actions");
        if (socBins < 2) throw new ArgumentException("at least two state-of-charge bins");
        Unit = unit; Prices = prices; TrainingDays = trainingDays; IntervalsPerDay = prices[0].Length;
        ActionCount = actions; SocBins = socBins; _seed = seed;
        _mean = prices.Take(trainingDays).SelectMany(d => d).Average();
        if (Math.Abs(_mean) < 1e-9) _mean = 1;
    }

    public int LearnerCount => 1;
    public IReadOnlyList<string> LearnerNames => [Unit.Id];
    public int FeatureCount => IntervalsPerDay + 2;
    public int StateCount => IntervalsPerDay * SocBins;
    public IEnumerable<int> HeldOutDays => Enumerable.Range(TrainingDays, Prices.Length - TrainingDays);
    public double MeanPrice => _mean;

    public Observation[] Reset(int episode) => ResetDay(new Random(Seeds.Mix(_seed, episode, 0x5107)).Next(TrainingDays));

    public Observation[] ResetDay(int day)
    {
        _day = day; _t = 0; _soc = Unit.InitialMwh;
        return [Observe()];
    }

    private double LastPrice => _t > 0 ? Prices[_day][_t - 1] : _day > 0 ? Prices[_day - 1][^1] : _mean;

    private Observation Observe()
    {
        var f = new double[FeatureCount];
        int t = Math.Min(_t, IntervalsPerDay - 1);
        f[t] = 1;
        double frac = (_soc - Unit.EnergyMinMwh) / (Unit.EnergyMaxMwh - Unit.EnergyMinMwh);
        f[IntervalsPerDay] = frac;
        f[IntervalsPerDay + 1] = LastPrice / _mean - 1;
        int bin = Math.Clamp((int)Math.Round(frac * (SocBins - 1)), 0, SocBins - 1);
        return new Observation(f, t * SocBins + bin);
    }

    public StepResult Step(int[] actions)
    {
        if (_t >= IntervalsPerDay) throw new InvalidOperationException("the episode has ended: call Reset");
        double fpow = -1 + 2.0 * actions[0] / (ActionCount - 1);
        double dt = DtHours, price = Prices[_day][_t];
        double c = 0, d = 0;
        if (fpow < 0) c = Math.Max(0, Math.Min(-fpow * Unit.ChargeMaxMw, (Unit.EnergyMaxMwh - _soc) / (Unit.EtaCharge * dt)));
        else if (fpow > 0) d = Math.Max(0, Math.Min(fpow * Unit.DischargeMaxMw, (_soc - Unit.EnergyMinMwh) * Unit.EtaDischarge / dt));
        _soc = Math.Clamp(_soc + Unit.EtaCharge * c * dt - d * dt / Unit.EtaDischarge, Unit.EnergyMinMwh, Unit.EnergyMaxMwh);
        double reward = price * (d - c) * dt;
        _t++;
        bool done = _t == IntervalsPerDay;
        if (done && _soc < Unit.Terminal - 1e-9) reward -= (Unit.Terminal - _soc) / Unit.EtaCharge * Prices[_day].Max();
        return new StepResult([Observe()], [reward], done);
    }

    /// <summary>The profit of one day under a policy (interval, observation → action).</summary>
    public double RunDay(int day, Func<int, Observation, int> policy)
    {
        var o = ResetDay(day)[0];
        double profit = 0;
        for (int t = 0; t < IntervalsPerDay; t++)
        {
            var s = Step([policy(t, o)]);
            profit += s.Rewards[0];
            o = s.Next[0];
        }
        return profit;
    }

    /// <summary>The rule: full charge below the day's median price, full discharge above it, idle at it.</summary>
    public double RuleProfit(int day)
    {
        var sorted = Prices[day].Order().ToArray();
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        return RunDay(day, (t, _) => Prices[day][t] < median ? 0 : Prices[day][t] > median ? ActionCount - 1 : (ActionCount - 1) / 2 * (ActionCount % 2));
    }

    /// <summary>The perfect-foresight optimum of the day: the arbitrage LP on the day's prices.</summary>
    public double OptimalProfit(int day) => StorageArbitrage.Optimize(Prices[day], DtHours, Unit).Profit;
}
