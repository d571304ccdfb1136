namespace OpenTE.Agents.Learning;

/// <summary>A ring buffer of transitions (features, action, reward, next features, done); uniform sampling.</summary>
public sealed class ReplayBuffer(int capacity, int features)
{
    private readonly double[] _s = new double[capacity * features], _s2 = new double[capacity * features];
    private readonly int[] _a = new int[capacity];
    private readonly double[] _r = new double[capacity];
    private readonly bool[] _done = new bool[capacity];
    private int _next;
    public int Count { get; private set; }
    public int Capacity => capacity;

    public void Add(ReadOnlySpan<double> s, int a, double r, ReadOnlySpan<double> s2, bool done)
    {
        s.CopyTo(_s.AsSpan(_next * features, features));
        s2.CopyTo(_s2.AsSpan(_next * features, features));
        _a[_next] = a; _r[_next] = r; _done[_next] = done;
        _next = (_next + 1) % capacity;
        Count = Math.Min(Count + 1, capacity);
    }

    public (ReadOnlyMemory<double> S, int A, double R, ReadOnlyMemory<double> S2, bool Done) this[int i] =>
        (_s.AsMemory(i * features, features), _a[i], _r[i], _s2.AsMemory(i * features, features), _done[i]);
}

/// <summary>
/// Deep Q-network (Mnih et al. 2015) on our own <see cref="Mlp"/> and <see cref="Adam"/>: experience replay, a target
/// network copied every <see cref="LearnerOptions.TargetSyncSteps"/> steps, Huber loss on the TD error
/// r + γ·max_a' Q_target(s',a') − Q(s,a), ε-greedy with linear decay per episode.
/// </summary>
public sealed class DqnLearner : ILearner
{
    private readonly LearnerOptions _o;
    private readonly Random _rng;
    private readonly ReplayBuffer _replay;
    private readonly Adam _adam;
    private int _episode, _steps;
    public Mlp Online { get; }
    public Mlp Target { get; }

    public DqnLearner(int features, int actions, LearnerOptions o, int seed)
    {
        _o = o;
        _rng = new Random(seed);
        Online = new Mlp([features, o.Hidden, o.Hidden, actions], seed + 1);
        Target = new Mlp(Online.Sizes, seed + 1);
        Target.CopyFrom(Online);
        _replay = new ReplayBuffer(o.ReplayCapacity, features);
        _adam = new Adam(Online.Parameters.Length, o.LearningRate);
    }

    /// <summary>A greedy learner with given weights (a saved policy).</summary>
    public DqnLearner(int[] sizes, double[] parameters) : this(sizes[0], sizes[^1], new LearnerOptions { Hidden = sizes[1], ReplayCapacity = 1 }, 0)
    {
        if (sizes.Length != 4 || sizes[1] != sizes[2]) throw new ArgumentException("a saved DQN has two hidden layers of the same size");
        if (parameters.Length != Online.Parameters.Length) throw new ArgumentException($"the network has {Online.Parameters.Length} parameters, the policy {parameters.Length}");
        Array.Copy(parameters, Online.Parameters, parameters.Length);
    }

    public string Algorithm => "dqn";
    public double Epsilon => _o.Epsilon(_episode);

    public int Act(Observation o, bool explore)
    {
        if (explore && _rng.NextDouble() < Epsilon) return _rng.Next(Online.Outputs);
        return QLearner.ArgMax(Online.Forward(o.Features));
    }

    public double[] Values(Observation o) => Online.Forward(o.Features).ToArray();

    public void Learn(Observation o, int a, double reward, Observation next, bool done)
    {
        _replay.Add(o.Features, a, reward / _o.RewardScale, next.Features, done);
        _steps++;
        if (_replay.Count >= Math.Max(_o.WarmupSteps, _o.BatchSize) && _steps % _o.TrainEvery == 0) TrainBatch();
        if (_steps % _o.TargetSyncSteps == 0) Target.CopyFrom(Online);
    }

    private void TrainBatch()
    {
        Online.ZeroGradient();
        int n = _o.BatchSize;
        var dOut = new double[Online.Outputs];
        for (int k = 0; k < n; k++)
        {
            var (s, a, r, s2, done) = _replay[_rng.Next(_replay.Count)];
            double y = r;
            if (!done)
            {
                var qn = Target.Forward(s2.Span);
                y += _o.Gamma * qn[QLearner.ArgMax(qn)];
            }
            var q = Online.Forward(s.Span);
            double err = q[a] - y;
            Array.Clear(dOut);
            dOut[a] = Math.Clamp(err, -1, 1) / n; // Huber (δ = 1)
            Online.Backward(dOut);
        }
        _adam.Step(Online.Parameters, Online.Gradient);
    }

    public void EndEpisode() => _episode++;
}
