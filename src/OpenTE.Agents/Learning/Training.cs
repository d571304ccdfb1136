using System.Diagnostics;
using System.Text.Json;

namespace OpenTE.Agents.Learning;

/// <summary>A training run: total reward per episode (all learners), each learner's greedy action at the last state of every episode.</summary>
public sealed record TrainingResult(double[] Curve, int Episodes, double Seconds, int[][] LastGreedy, long Steps);

/// <summary>One learner's score against its exact optimum.</summary>
public sealed record LearnerScore(string Name, double Profit, double OptimalProfit, int? Action, double? OfferPrice)
{
    public double Distance => OptimalProfit - Profit;
}

/// <summary>
/// The scores. Storage (a): profit over the held-out days of the learned policy, of the perfect-foresight LP and of the
/// median rule; exploitability there is the regret (LP − learned). Strategic (b, c): profit in $/h at the learned offers
/// without noise, the MPEC best response against the same market (the other learners at their learned offers), and
/// exploitability = Σ (best response − learned); <see cref="Settled"/> says whether the learners' greedy offers stopped
/// changing over the last tenth of training.
/// </summary>
public sealed record Evaluation(double Profit, double OptimalProfit, double? RuleProfit, int Days, IReadOnlyList<LearnerScore> Learners, bool? Settled)
{
    public double Ratio => OptimalProfit == 0 ? double.NaN : Profit / OptimalProfit;
    public double Exploitability => OptimalProfit - Profit;
}

public static class Trainer
{
    /// <summary>Runs <paramref name="episodes"/> training episodes; <paramref name="progress"/> is told each finished episode.</summary>
    public static TrainingResult Train(IMarketEnv env, IReadOnlyList<ILearner> learners, int episodes, Action<int, double>? progress = null)
    {
        if (learners.Count != env.LearnerCount) throw new ArgumentException($"the environment has {env.LearnerCount} learners, {learners.Count} given");
        var sw = Stopwatch.StartNew();
        var curve = new double[episodes];
        var greedy = new int[episodes][];
        var actions = new int[env.LearnerCount];
        long steps = 0;
        for (int e = 0; e < episodes; e++)
        {
            var o = env.Reset(e);
            double total = 0;
            while (true)
            {
                for (int i = 0; i < actions.Length; i++) actions[i] = learners[i].Act(o[i], explore: true);
                var s = env.Step(actions);
                steps++;
                for (int i = 0; i < actions.Length; i++)
                {
                    learners[i].Learn(o[i], actions[i], s.Rewards[i], s.Next[i], s.Done);
                    total += s.Rewards[i];
                }
                o = s.Next;
                if (s.Done) break;
            }
            foreach (var l in learners) l.EndEpisode();
            curve[e] = total;
            greedy[e] = [.. o.Select((x, i) => learners[i].Act(x, explore: false))];
            progress?.Invoke(e + 1, total);
        }
        return new TrainingResult(curve, episodes, sw.Elapsed.TotalSeconds, greedy, steps);
    }

    /// <summary>(a) Learned greedy policy, perfect-foresight LP and median rule over the held-out days.</summary>
    public static Evaluation Evaluate(StorageEnv env, ILearner learner)
    {
        double learned = 0, optimal = 0, rule = 0;
        int days = 0;
        foreach (int d in env.HeldOutDays)
        {
            learned += env.RunDay(d, (_, o) => learner.Act(o, explore: false));
            optimal += env.OptimalProfit(d);
            rule += env.RuleProfit(d);
            days++;
        }
        return new Evaluation(learned, optimal, rule, days, [new LearnerScore(env.Unit.Id, learned, optimal, null, null)], null);
    }

    /// <summary>
    /// (b, c) One episode without noise at the greedy policies; the learners' offers and profits of its last interval are
    /// scored against each one's MPEC best response to the others' offers.
    /// </summary>
    public static Evaluation Evaluate(StrategicEnv env, IReadOnlyList<ILearner> learners, TrainingResult? training = null)
    {
        var o = env.ResetQuiet();
        var a = new int[env.LearnerCount];
        double[] profit = new double[env.LearnerCount];
        for (int t = 0; t < env.Intervals; t++)
        {
            for (int i = 0; i < a.Length; i++) a[i] = learners[i].Act(o[i], explore: false);
            var s = env.Step(a, noisy: false);
            profit = s.Rewards;
            o = s.Next;
        }
        var scores = new List<LearnerScore>();
        for (int i = 0; i < a.Length; i++)
            scores.Add(new LearnerScore(env.LearnerNames[i], profit[i], env.BestResponseProfit(i, a), a[i], env.Grid[a[i]]));
        bool? settled = null;
        if (training is { Episodes: > 0 })
        {
            int tail = Math.Max(1, training.Episodes / 10);
            var last = training.LastGreedy[^1];
            settled = training.LastGreedy.Skip(training.Episodes - tail).All(g => g.SequenceEqual(last));
        }
        return new Evaluation(scores.Sum(x => x.Profit), scores.Sum(x => x.OptimalProfit), null, 1, scores, settled);
    }
}

/// <summary>A saved policy: the algorithm, the environment kind and each learner's table or network, as JSON.</summary>
public static class PolicyFile
{
    public static string Write(string environment, IReadOnlyList<ILearner> learners, IReadOnlyList<string> names)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("algorithm", learners[0].Algorithm);
            w.WriteString("environment", environment);
            w.WriteStartArray("learners");
            for (int i = 0; i < learners.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("name", names[i]);
                switch (learners[i])
                {
                    case QLearner q:
                        w.WriteNumber("states", q.States);
                        w.WriteNumber("actions", q.Actions);
                        Numbers(w, "q", q.Q);
                        break;
                    case DqnLearner d:
                        w.WriteStartArray("sizes");
                        foreach (int s in d.Online.Sizes) w.WriteNumberValue(s);
                        w.WriteEndArray();
                        Numbers(w, "parameters", d.Online.Parameters);
                        break;
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Numbers(Utf8JsonWriter w, string name, double[] v)
    {
        w.WriteStartArray(name);
        foreach (double x in v) w.WriteNumberValue(x); // round-trips exactly ("R" formatting)
        w.WriteEndArray();
    }

    /// <summary>Reads a policy; <paramref name="fail"/> builds the error for a JSON path and a problem.</summary>
    public static (string Algorithm, string Environment, List<(string Name, ILearner Learner)> Learners) Read(JsonElement root, Func<string, string, Exception> fail)
    {
        string Str(JsonElement e, string name, string path) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : throw fail($"{path}.{name}", "missing or not a string");
        double[] Arr(JsonElement e, string name, string path)
        {
            if (!e.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array) throw fail($"{path}.{name}", "missing or not an array");
            return [.. v.EnumerateArray().Select((x, k) => x.ValueKind == JsonValueKind.Number && double.IsFinite(x.GetDouble()) ? x.GetDouble() : throw fail($"{path}.{name}[{k}]", "not a finite number"))];
        }
        string alg = Str(root, "algorithm", "$");
        string env = Str(root, "environment", "$");
        if (!root.TryGetProperty("learners", out var ls) || ls.ValueKind != JsonValueKind.Array || ls.GetArrayLength() == 0) throw fail("$.learners", "missing or empty");
        var list = new List<(string, ILearner)>();
        int i = 0;
        foreach (var l in ls.EnumerateArray())
        {
            string p = $"$.learners[{i++}]";
            string name = Str(l, "name", p);
            try
            {
                ILearner learner = alg switch
                {
                    "q" => new QLearner(Int(l, "states", p), Int(l, "actions", p), Arr(l, "q", p)),
                    "dqn" => new DqnLearner(Sizes(Arr(l, "sizes", p), p), Arr(l, "parameters", p)),
                    _ => throw fail("$.algorithm", $"'{alg}' is not q or dqn"),
                };
                list.Add((name, learner));
            }
            catch (ArgumentException e) { throw fail(p, e.Message); }
        }
        return (alg, env, list);

        int[] Sizes(double[] v, string path) =>
            v.Length == 4 && v.All(x => x >= 1 && x <= 1e5 && x == Math.Floor(x)) && v[1] == v[2] ? [.. v.Select(x => (int)x)]
            : throw fail($"{path}.sizes", "must be [inputs, hidden, hidden, actions] (whole numbers ≥ 1, both hidden layers the same)");

        int Int(JsonElement e, string name, string path) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int k) && k > 0 ? k : throw fail($"{path}.{name}", "missing or not a positive whole number");
    }
}
