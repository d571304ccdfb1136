namespace OpenTE.Agents.Learning;

/// <summary>Schedules and discount shared by the learners.</summary>
public sealed record LearnerOptions
{
    /// <summary>Discount per step; 1 for a day-long episode whose state carries the time of day.</summary>
    public double Gamma { get; init; } = 1.0;
    /// <summary>ε-greedy exploration: from <see cref="EpsilonStart"/> to <see cref="EpsilonEnd"/> linearly over <see cref="EpsilonDecayEpisodes"/> episodes.</summary>
    public double EpsilonStart { get; init; } = 1.0;
    public double EpsilonEnd { get; init; } = 0.02;
    public int EpsilonDecayEpisodes { get; init; } = 1000;
    /// <summary>Tabular learning rate α(s,a) = max(AlphaMin, Alpha / (1 + n(s,a)·AlphaDecay)), n the visits of (s,a).</summary>
    public double Alpha { get; init; } = 0.5;
    public double AlphaDecay { get; init; } = 0.05;
    public double AlphaMin { get; init; } = 0.01;
    /// <summary>Rewards are divided by this before learning (keeps values near 1 for the network); actions do not change.</summary>
    public double RewardScale { get; init; } = 1.0;
    // DQN
    public int Hidden { get; init; } = 32;
    public double LearningRate { get; init; } = 1e-3;
    public int ReplayCapacity { get; init; } = 20_000;
    public int BatchSize { get; init; } = 32;
    public int TargetSyncSteps { get; init; } = 250;
    public int WarmupSteps { get; init; } = 200;
    public int TrainEvery { get; init; } = 1;

    public double Epsilon(int episode) => EpsilonDecayEpisodes <= 0 ? EpsilonEnd
        : EpsilonStart + (EpsilonEnd - EpsilonStart) * Math.Min(1.0, episode / (double)EpsilonDecayEpisodes);
}

/// <summary>
/// Tabular Q-learning: Q(s,a) ← Q(s,a) + α(s,a)·(r + γ·max_a' Q(s',a') − Q(s,a)) (no bootstrap at the end of an episode),
/// ε-greedy with linear decay per episode, learning rate decaying with the visits of (s,a). Ties break to the lowest action.
/// </summary>
public sealed class QLearner : ILearner
{
    private readonly LearnerOptions _o;
    private readonly Random _rng;
    private int _episode;
    public int States { get; }
    public int Actions { get; }
    public double[] Q { get; }
    public int[] Visits { get; }

    public QLearner(int states, int actions, LearnerOptions o, int seed)
    {
        if (states <= 0 || actions <= 0) throw new ArgumentException("a Q table needs at least one state and one action");
        States = states; Actions = actions; _o = o; _rng = new Random(seed);
        Q = new double[states * actions];
        Visits = new int[states * actions];
    }

    /// <summary>A learner with a given table (a saved policy).</summary>
    public QLearner(int states, int actions, double[] q) : this(states, actions, new LearnerOptions(), 0)
    {
        if (q.Length != states * actions) throw new ArgumentException($"the table has {q.Length} values, not {states}×{actions}");
        Array.Copy(q, Q, q.Length);
    }

    public string Algorithm => "q";
    public double Epsilon => _o.Epsilon(_episode);

    public int Act(Observation o, bool explore)
    {
        if (explore && _rng.NextDouble() < Epsilon) return _rng.Next(Actions);
        return ArgMax(Q.AsSpan(o.State * Actions, Actions));
    }

    public void Learn(Observation o, int a, double reward, Observation next, bool done)
    {
        int i = o.State * Actions + a;
        double target = reward / _o.RewardScale;
        if (!done) target += _o.Gamma * Max(Q.AsSpan(next.State * Actions, Actions));
        double alpha = Math.Max(_o.AlphaMin, _o.Alpha / (1 + Visits[i] * _o.AlphaDecay));
        Visits[i]++;
        Q[i] += alpha * (target - Q[i]);
    }

    public void EndEpisode() => _episode++;

    public double[] Values(Observation o) => Q.AsSpan(o.State * Actions, Actions).ToArray();

    internal static int ArgMax(ReadOnlySpan<double> v)
    {
        int best = 0;
        for (int k = 1; k < v.Length; k++) if (v[k] > v[best]) best = k;
        return best;
    }

    private static double Max(ReadOnlySpan<double> v) => v[ArgMax(v)];
}
