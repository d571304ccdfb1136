using OpenTE.Market.Bids;

namespace OpenTE.Agents.Learning;

/// <summary>
/// A strategic, learning participant: a dispatchable seller (a community fuel cell or CHP) with capacity
/// <paramref name="capacityMw"/> and marginal cost <paramref name="cost"/> that learns its offer while the day runs, by
/// tabular Q-learning (<see cref="QLearner"/> with one state and γ = 0: a multi-armed bandit — the markup generalises
/// across hours, and one day is too short to learn a markup per hour). Action: its offer as a multiple of the price
/// forecast (<see cref="Markups"/>), never below its cost; reward: the interval's profit (price received − cost) × MWh
/// sold. Exploration ε falls linearly from 1 to 0.05 over the first 70 % of the day, then it exploits what it learnt.
/// </summary>
public sealed class LearningSellerAgent(string id, int bus, double capacityMw, double cost, int seed = 1) : Prosumer(id, bus)
{
    public static readonly double[] Markups = [0.5, 0.8, 0.95, 1.0, 1.1, 1.5];
    public const int Buckets = 1;

    public double CapacityMw { get; } = capacityMw;
    public double Cost { get; } = cost;
    public QLearner Learner { get; } = new(Buckets, Markups.Length, new LearnerOptions { Alpha = 0.5, AlphaDecay = 0.2, AlphaMin = 0.05, Gamma = 0 }, seed);
    private readonly Random _rng = new(seed);
    private int _action = -1;
    /// <summary>Per interval: the markup it chose, its offer ($/MWh), what it sold (MW) and its profit ($).</summary>
    public List<(int Interval, double Markup, double Offer, double SoldMw, double Profit)> History { get; } = [];

    private int State(MarketView view) => Math.Clamp(view.Interval * Buckets / Math.Max(1, view.Intervals), 0, Buckets - 1);

    public override IEnumerable<Bid> Bids(MarketView view)
    {
        double eps = Math.Max(0.05, 1 - view.Interval / (0.7 * Math.Max(1, view.Intervals)));
        var o = new Observation([], State(view));
        _action = _rng.NextDouble() < eps ? _rng.Next(Markups.Length) : Learner.Act(o, explore: false);
        yield return Sell(Offer(view, _action), CapacityMw);
    }

    private double Offer(MarketView view, int action) => Math.Max(Cost, Markups[action] * view.Forecast[view.Interval]);

    public override void Apply(MarketView view, double netMw, double price)
    {
        if (_action < 0) return;
        double sold = Math.Max(0, netMw), profit = (price - Cost) * sold * view.StepHours;
        var o = new Observation([], State(view));
        Learner.Learn(o, _action, profit, o, done: true);
        History.Add((view.Interval, Markups[_action], Offer(view, _action), sold, profit));
        _action = -1;
    }

    /// <summary>The greedy markup after learning.</summary>
    public double Policy() => Markups[Learner.Act(new Observation([], 0), explore: false)];
}
