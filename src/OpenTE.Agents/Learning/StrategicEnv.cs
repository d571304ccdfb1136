using OpenTE.Grid.Model;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Market.Strategic;

namespace OpenTE.Agents.Learning;

/// <summary>How the strategic environment clears: the DC network clearing (LMPs) or the copper-plate uniform double auction (bids only).</summary>
public enum EnvClearing { Dc, CopperPlate }

/// <summary>
/// (b) and (c): generators that learn their offer prices in the DC network clearing, among participants whose bids come
/// from the bids file with noise. A learner's rows in the bids file are its sell blocks at true marginal cost (as for
/// <see cref="StrategicBidding"/>). Action k of L: offer every block at max(cost, P_k), P_k on an even grid from the
/// learner's lowest cost to the price cap (the highest price in the market, as the MPEC uses). Every step the other
/// participants' prices are multiplied by (1 + noise·N(0,1)) (at least 0), the market is cleared by
/// <see cref="DcOpfSolver"/>, and each learner's reward is Σ (price − cost)·q over its awards (the one clearing outcome).
/// Observation: the last LMP at the learner's bus / cap; tabular state: its bin of <c>LmpBins</c>.
/// </summary>
public sealed class StrategicEnv : IMarketEnv
{
    public Network Network { get; }
    public IReadOnlyList<Bid> Bids { get; }
    public IReadOnlyList<string> LearnerNames { get; }
    public int ActionCount { get; }
    public int LmpBins { get; }
    public int Intervals { get; }
    public double Noise { get; }
    public double PriceCap { get; }
    public double[] Grid { get; }
    public EnvClearing Clearing { get; }
    private readonly List<Bid>[] _own;
    private readonly List<Bid> _others;
    private readonly int[] _bus;
    private readonly int _seed;
    private Random _rng = new(0);
    private double[] _lastLmp;
    private int _t;
    public long Clearings { get; private set; }

    public StrategicEnv(Network net, IReadOnlyList<Bid> bids, IReadOnlyList<string> learners, int priceLevels = 11, int lmpBins = 6,
        int intervals = 24, double noise = 0.05, int seed = 1, EnvClearing clearing = EnvClearing.Dc)
    {
        Clearing = clearing;
        if (learners.Count == 0) throw new ArgumentException("name at least one learner");
        if (priceLevels < 2 || lmpBins < 1 || intervals < 1) throw new ArgumentException("at least two price levels, one LMP bin and one interval");
        Network = net; Bids = bids; LearnerNames = learners; ActionCount = priceLevels; LmpBins = lmpBins; Intervals = intervals; Noise = noise; _seed = seed;
        _own = [.. learners.Select(l => bids.Where(b => b.Participant == l).ToList())];
        for (int i = 0; i < learners.Count; i++)
        {
            if (_own[i].Count == 0) throw new ArgumentException($"learner '{learners[i]}' has no rows in the bids");
            if (_own[i].Any(b => b.Side == Side.Buy)) throw new ArgumentException($"learner '{learners[i]}' has a buy row: a learner's rows are its sell blocks at cost");
        }
        _others = [.. bids.Where(b => !learners.Contains(b.Participant))];
        _bus = [.. _own.Select(o => o[0].Bus)];
        PriceCap = StrategicBidding.DefaultPriceCap(net, bids, new StrategicOptions());
        double lo = _own.SelectMany(o => o).Min(b => b.Price);
        if (!(PriceCap > lo)) PriceCap = lo + 1;
        Grid = [.. Enumerable.Range(0, priceLevels).Select(k => lo + (PriceCap - lo) * k / (priceLevels - 1))];
        _lastLmp = new double[learners.Count];
    }

    public int LearnerCount => LearnerNames.Count;
    public int FeatureCount => 2;
    public int StateCount => LmpBins;

    /// <summary>Each learner's blocks offered at the grid price of its action (never below cost).</summary>
    public List<Bid> Offers(int learner, int action) =>
        [.. _own[learner].Select(b => b with { Price = Math.Max(b.Price, Grid[action]) })];

    public Observation[] Reset(int episode)
    {
        _rng = new Random(Seeds.Mix(_seed, episode, 0x57A7));
        _t = 0;
        // the first observation: the market with every learner at cost and no noise
        var (_, lmp) = Clear([.. Enumerable.Repeat(0, LearnerCount)], noisy: false);
        _lastLmp = lmp;
        return Observe();
    }

    /// <summary>Start an episode without noise (evaluation).</summary>
    public Observation[] ResetQuiet()
    {
        _rng = new Random(0);
        _t = 0;
        _lastLmp = Clear([.. Enumerable.Repeat(0, LearnerCount)], noisy: false).Lmp;
        return Observe();
    }

    private Observation[] Observe() => [.. _lastLmp.Select(l =>
    {
        double x = Math.Clamp(l / PriceCap, 0, 1);
        return new Observation([x, 1], Math.Min(LmpBins - 1, (int)(x * LmpBins)));
    })];

    public StepResult Step(int[] actions) => Step(actions, noisy: true);

    public StepResult Step(int[] actions, bool noisy)
    {
        if (_t >= Intervals) throw new InvalidOperationException("the episode has ended: call Reset");
        var (profit, lmp) = Clear(actions, noisy);
        _lastLmp = lmp;
        _t++;
        return new StepResult(Observe(), profit, _t == Intervals);
    }

    /// <summary>Clears one interval: the learners' profits ($/h) and the LMP at each learner's bus.</summary>
    public (double[] Profit, double[] Lmp) Clear(int[] actions, bool noisy)
    {
        var bids = new List<Bid>(_others.Count + _own.Sum(o => o.Count));
        foreach (var b in _others)
            bids.Add(noisy && Noise > 0 ? b with { Price = Math.Max(0, b.Price * (1 + Noise * PriceShapeOptions.Gaussian(_rng))) } : b);
        for (int i = 0; i < LearnerCount; i++) bids.AddRange(Offers(i, actions[i]));
        Clearings++;
        var profit = new double[LearnerCount];
        var lmp = new double[LearnerCount];
        ClearingOutcome outcome;
        DcOpfResult? r = null;
        double uniform = 0;
        if (Clearing == EnvClearing.CopperPlate)
        {
            var a = DoubleAuction.Clear(bids, PricingRule.UniformMidpoint);
            uniform = a.ClearingPrice ?? 0;
            outcome = a.ToOutcome();
        }
        else
        {
            r = DcOpfSolver.Solve(Network, new DcOpfOptions { Bids = bids });
            if (r.Status != ClearingStatus.Optimal) return (profit, lmp);
            outcome = r.ToOutcome();
        }
        for (int i = 0; i < LearnerCount; i++)
        {
            var cost = _own[i].ToDictionary(b => b.Block, b => b.Price);
            foreach (var a in outcome.Awards)
                if (a.Participant == LearnerNames[i] && a.Side == Side.Sell)
                    profit[i] += (a.Price - cost[a.Block]) * a.Quantity * outcome.IntervalHours;
            lmp[i] = r is null ? uniform : r.Buses.First(b => b.Id == _bus[i]).Lmp;
        }
        return (profit, lmp);
    }

    /// <summary>
    /// The exact best response of learner <paramref name="i"/> (MPEC, offer prices per block up to the same cap) when the
    /// other learners offer at <paramref name="actions"/> and the others bid without noise: its profit, $/h.
    /// </summary>
    public double BestResponseProfit(int i, int[] actions)
    {
        if (Clearing == EnvClearing.CopperPlate)
        {
            // no network, no MPEC here: the best of the learner's own action grid against the quiet market
            var a = (int[])actions.Clone();
            double best = double.NegativeInfinity;
            for (int k = 0; k < ActionCount; k++) { a[i] = k; best = Math.Max(best, Clear(a, noisy: false).Profit[i]); }
            return best;
        }
        var bids = new List<Bid>(_others);
        for (int j = 0; j < LearnerCount; j++) bids.AddRange(j == i ? _own[j] : Offers(j, actions[j]));
        var r = StrategicBidding.Solve(Network, bids, [LearnerNames[i]], new StrategicOptions { Mode = StrategicMode.Price, PriceCap = PriceCap });
        if (r.Status != ClearingStatus.Optimal) throw new InvalidOperationException($"the best response of {LearnerNames[i]} is {r.Status.Word()}: {string.Join("; ", r.Messages)}");
        return r.Leaders[0].Profit;
    }
}
