using System.Diagnostics;
using OpenTE.Agents.Learning;
using OpenTE.Market.Bids;

namespace OpenTE.Bench;

/// <summary>
/// `--learn`: learning bidders (issue #19). Environment steps per second with random actions (storage price taker;
/// a generator in the copper-plate auction and in the DC clearing on case30 and case118), and training time per 1,000
/// episodes of 24 steps (Q-learning and DQN on the storage example; Q-learning in the DC clearing, extrapolated from
/// a shorter run because one episode is 24 network clearings). One warm-up run each, then timed in this process.
/// </summary>
public static class LearnBench
{
    public static int Run()
    {
        string? examples = null;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null && examples is null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "examples", "learn-storage.json"))) examples = Path.Combine(dir.FullName, "examples");
        if (examples is null) { Console.Error.WriteLine("run from the repository: examples/learn-storage.json not found"); return 2; }
        var storage = LearningScenarioFile.Read(Path.Combine(examples, "learn-storage.json"), BenchCases.Load);

        Console.WriteLine("Environment steps per second (random actions, single thread)");
        Console.WriteLine($"{"environment",-44} {"steps",8} {"seconds",8} {"steps/s",10}");
        Steps("storage price taker (24 intervals)", storage.Build(1), 200_000);
        var case30 = BenchCases.Load("case30");
        var bids30 = BidFile.Read(Path.Combine(examples, "case30-strategic-bids.csv"), case30);
        Steps("generator, copper plate (case30 bids)", new StrategicEnv(case30, bids30, ["genco"], clearing: EnvClearing.CopperPlate), 20_000);
        Steps("generator, DC clearing case30", new StrategicEnv(case30, bids30, ["genco"]), 2_000);
        var case118 = BenchCases.Load("case118");
        var bids118 = StrategicBench.Leader(case118, "L1", StrategicBench.LargestLoadBuses(case118)[0], 3);
        Steps("generator, DC clearing case118 (3 blocks)", new StrategicEnv(case118, bids118, ["L1"]), 1_000);

        Console.WriteLine();
        Console.WriteLine("Training time per 1,000 episodes (24 steps each)");
        Console.WriteLine($"{"learner / environment",-44} {"episodes",8} {"seconds",8} {"s / 1,000 ep",12}");
        Train("Q-learning, storage", storage.Build(1), e => new QLearner(e.StateCount, e.ActionCount, storage.Learner, 1), 10_000);
        Train("DQN (26-32-32-5, batch 32), storage", storage.Build(1), e => new DqnLearner(e.FeatureCount, e.ActionCount, storage.DqnLearner, 1), 1_000);
        Train("Q-learning, generator in DC case30", new StrategicEnv(case30, bids30, ["genco"]), e => new QLearner(e.StateCount, e.ActionCount, new LearnerOptions(), 1), 50);
        Train("Q-learning, generator in DC case118", new StrategicEnv(case118, bids118, ["L1"]), e => new QLearner(e.StateCount, e.ActionCount, new LearnerOptions(), 1), 20);
        return 0;
    }

    private static void Steps(string name, IMarketEnv env, int steps)
    {
        var rng = new Random(1);
        var a = new int[env.LearnerCount];
        void Go(int n)
        {
            env.Reset(0);
            for (int k = 0; k < n; k++)
            {
                for (int i = 0; i < a.Length; i++) a[i] = rng.Next(env.ActionCount);
                if (env.Step(a).Done) env.Reset(k);
            }
        }
        Go(Math.Min(steps, 200));
        var sw = Stopwatch.StartNew();
        Go(steps);
        double s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{name,-44} {steps,8} {s,8:0.000} {steps / s,10:0}");
    }

    private static void Train(string name, IMarketEnv env, Func<IMarketEnv, ILearner> make, int episodes)
    {
        Trainer.Train(env, [make(env)], Math.Max(1, episodes / 20));
        var sw = Stopwatch.StartNew();
        Trainer.Train(env, [make(env)], episodes);
        double s = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"{name,-44} {episodes,8} {s,8:0.00} {s / episodes * 1000,12:0.00}");
    }
}
