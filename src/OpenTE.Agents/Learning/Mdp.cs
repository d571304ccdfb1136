namespace OpenTE.Agents.Learning;

/// <summary>What one learner sees: features for a function approximator and the index of its discretised state (tabular).</summary>
public readonly record struct Observation(double[] Features, int State);

/// <summary>One step of the market for every learner: next observations, rewards ($ over the interval) and whether the episode ended.</summary>
public readonly record struct StepResult(Observation[] Next, double[] Rewards, bool Done);

/// <summary>
/// A market MDP with the usual reset/step shape, for one or more learners acting at the same time. Every learner has the
/// same number of discrete actions, features and discretised states. <see cref="Reset"/> takes the episode number: the
/// environment draws its day and its noise from (seed, episode) alone, so a run is reproducible exactly.
/// </summary>
public interface IMarketEnv
{
    int LearnerCount { get; }
    int ActionCount { get; }
    int FeatureCount { get; }
    int StateCount { get; }
    IReadOnlyList<string> LearnerNames { get; }
    Observation[] Reset(int episode);
    StepResult Step(int[] actions);
}

/// <summary>A learner: acts on an observation (ε-greedy while exploring), learns from transitions.</summary>
public interface ILearner
{
    string Algorithm { get; }
    int Act(Observation o, bool explore);
    void Learn(Observation o, int action, double reward, Observation next, bool done);
    /// <summary>Called once at the end of every training episode (schedules advance per episode).</summary>
    void EndEpisode();
    /// <summary>The greedy action values (for reports and tests).</summary>
    double[] Values(Observation o);
}

/// <summary>Seeds derived from (seed, episode, stream) by SplitMix64 mixing: the same in every process (unlike HashCode).</summary>
public static class Seeds
{
    public static int Mix(int seed, int episode, int stream)
    {
        ulong z = unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL ^ (ulong)(uint)episode * 0xBF58476D1CE4E5B9UL ^ (ulong)(uint)stream * 0x94D049BB133111EBUL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)((z ^ (z >> 31)) & 0x7FFFFFFF);
    }
}
