using OpenTE.Agents.Learning;
using OpenTE.Grid.Tests;
using Xunit.Abstractions;

namespace OpenTE.Agents.Tests;

/// <summary>
/// A deterministic chain of 5 states, start at 0: action 1 moves right, action 0 moves left (or stays at 0); reaching
/// state 4 pays 1 and ends the episode; at most 20 steps. With γ = 0.9 the optimal policy is "always right" and
/// Q*(s, right) = 0.9^(3 − s), Q*(s, left) = 0.9·Q*(max(s−1, 0), right).
/// </summary>
internal sealed class ChainEnv : IMarketEnv
{
    private int _s, _t;
    public int LearnerCount => 1;
    public int ActionCount => 2;
    public int FeatureCount => 5;
    public int StateCount => 5;
    public IReadOnlyList<string> LearnerNames => ["chain"];
    private Observation O => new([.. Enumerable.Range(0, 5).Select(k => k == _s ? 1.0 : 0.0)], _s);
    public Observation[] Reset(int episode) { _s = 0; _t = 0; return [O]; }
    public StepResult Step(int[] a)
    {
        _s = a[0] == 1 ? _s + 1 : Math.Max(0, _s - 1);
        _t++;
        bool goal = _s == 4;
        return new StepResult([O], [goal ? 1.0 : 0.0], goal || _t == 20);
    }
    public static double QStar(int s, int a) => a == 1 ? Math.Pow(0.9, 3 - s) : 0.9 * Math.Pow(0.9, 3 - Math.Max(s - 1, 0));
}

public class LearningTests(ITestOutputHelper output)
{
    private static string Example(string file)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "examples", file))) return Path.Combine(dir.FullName, "examples", file);
        throw new FileNotFoundException("examples/" + file);
    }

    private static readonly LearnerOptions ChainOptions = new() { Gamma = 0.9, EpsilonStart = 1, EpsilonEnd = 0.1, EpsilonDecayEpisodes = 200, Alpha = 0.5, AlphaDecay = 0, AlphaMin = 0.5 };

    [Fact]
    public void QLearningFindsTheOptimalPolicyAndValuesOfADeterministicChain()
    {
        var env = new ChainEnv();
        var q = new QLearner(env.StateCount, env.ActionCount, ChainOptions, seed: 3);
        Trainer.Train(env, [q], 500);
        for (int s = 0; s < 4; s++)
        {
            var o = new Observation([], s);
            Assert.Equal(1, q.Act(o, explore: false));
            Assert.Equal(ChainEnv.QStar(s, 1), q.Values(o)[1], 1e-3);
            Assert.Equal(ChainEnv.QStar(s, 0), q.Values(o)[0], 1e-3);
        }
    }

    [Fact]
    public void DqnLearnsTheChainValues()
    {
        var env = new ChainEnv();
        var d = new DqnLearner(env.FeatureCount, env.ActionCount, ChainOptions with
        {
            Hidden = 16, LearningRate = 3e-3, BatchSize = 16, WarmupSteps = 50, TargetSyncSteps = 50, ReplayCapacity = 5000, EpsilonDecayEpisodes = 150,
        }, seed: 5);
        Trainer.Train(env, [d], 300);
        for (int s = 0; s < 4; s++)
        {
            var o = new Observation([.. Enumerable.Range(0, 5).Select(k => k == s ? 1.0 : 0.0)], s);
            Assert.Equal(1, d.Act(o, explore: false));
            Assert.Equal(ChainEnv.QStar(s, 1), d.Values(o)[1], 0.05);
        }
    }

    [Fact]
    public void BackpropagationAgreesWithFiniteDifferences()
    {
        var net = new Mlp([3, 6, 5, 2], seed: 11);
        var rng = new Random(2);
        double[] x = [.. Enumerable.Range(0, 3).Select(_ => rng.NextDouble() * 2 - 1)];
        double[] y = [0.3, -0.7];
        double Loss()
        {
            var o = net.Forward(x);
            return 0.5 * ((o[0] - y[0]) * (o[0] - y[0]) + (o[1] - y[1]) * (o[1] - y[1]));
        }
        net.ZeroGradient();
        var outp = net.Forward(x).ToArray();
        net.Backward([outp[0] - y[0], outp[1] - y[1]]);
        var analytic = (double[])net.Gradient.Clone();
        const double h = 1e-6;
        double worst = 0;
        for (int i = 0; i < net.Parameters.Length; i++)
        {
            double keep = net.Parameters[i];
            net.Parameters[i] = keep + h; double up = Loss();
            net.Parameters[i] = keep - h; double down = Loss();
            net.Parameters[i] = keep;
            double numeric = (up - down) / (2 * h);
            worst = Math.Max(worst, Math.Abs(numeric - analytic[i]) / Math.Max(1e-3, Math.Abs(numeric) + Math.Abs(analytic[i])));
        }
        Assert.True(worst < 1e-6, $"largest relative difference {worst:E2}");
        Assert.Contains(analytic, g => Math.Abs(g) > 1e-3);
    }

    [Fact]
    public void AdamFitsALinearFunction()
    {
        var net = new Mlp([1, 8, 8, 1], seed: 1);
        var adam = new Adam(net.Parameters.Length, 1e-2);
        var xs = Enumerable.Range(0, 21).Select(k => -1 + k / 10.0).ToArray();
        for (int it = 0; it < 1500; it++)
        {
            net.ZeroGradient();
            foreach (double x in xs) { double o = net.Forward([x])[0]; net.Backward([(o - (2 * x - 0.5)) / xs.Length]); }
            adam.Step(net.Parameters, net.Gradient);
        }
        foreach (double x in xs) Assert.Equal(2 * x - 0.5, net.Forward([x])[0], 0.03);
    }

    private static LearningScenario Storage() => LearningScenarioFile.Read(Example("learn-storage.json"), _ => throw new InvalidOperationException());

    [Theory]
    [InlineData("q")]
    [InlineData("dqn")]
    public void TheSameSeedGivesTheSameCurve(string algorithm)
    {
        var sc = Storage();
        double[] Run(int seed)
        {
            var env = (StorageEnv)sc.Build(seed);
            ILearner l = algorithm == "q" ? new QLearner(env.StateCount, env.ActionCount, sc.Learner, seed) : new DqnLearner(env.FeatureCount, env.ActionCount, sc.DqnLearner with { WarmupSteps = 50 }, seed);
            return Trainer.Train(env, [l], 30).Curve;
        }
        Assert.Equal(Run(4), Run(4));
        Assert.NotEqual(Run(4), Run(5));
    }

    [Fact]
    public void LearnedStoragePolicyReachesEightyPercentOfPerfectForesightAndBeatsTheRule()
    {
        var sc = Storage();
        var env = (StorageEnv)sc.Build(1);
        var q = new QLearner(env.StateCount, env.ActionCount, sc.Learner, 1);
        Trainer.Train(env, [q], sc.Episodes);
        var e = Trainer.Evaluate(env, q);
        output.WriteLine($"held-out days {e.Days}: learned {e.Profit:F1}, perfect foresight {e.OptimalProfit:F1} ({e.Ratio:P1}), rule {e.RuleProfit:F1}");
        Assert.Equal(30, e.Days);
        Assert.True(e.Ratio >= 0.8, $"learned {e.Profit:F1} is {e.Ratio:P1} of the perfect-foresight {e.OptimalProfit:F1} (rule {e.RuleProfit:F1})");
        Assert.True(e.Profit > e.RuleProfit, $"learned {e.Profit:F1}, rule {e.RuleProfit:F1}");
        Assert.True(e.Profit <= e.OptimalProfit + 1e-6, "no policy beats perfect foresight");
    }

    [Fact]
    public void PerfectForesightBoundsEveryPolicyOnADay()
    {
        var env = (StorageEnv)Storage().Build(1);
        int day = env.HeldOutDays.First();
        double lp = env.OptimalProfit(day);
        var rng = new Random(9);
        for (int k = 0; k < 50; k++)
            Assert.True(env.RunDay(day, (_, _) => rng.Next(env.ActionCount)) <= lp + 1e-6);
        Assert.True(env.RuleProfit(day) <= lp + 1e-6);
    }

    [Fact]
    public void ASavedPolicyActsAsTheTrainedOne()
    {
        var sc = Storage();
        var env = (StorageEnv)sc.Build(2);
        var q = new QLearner(env.StateCount, env.ActionCount, sc.Learner, 2);
        Trainer.Train(env, [q], 200);
        var d = new DqnLearner(env.FeatureCount, env.ActionCount, sc.DqnLearner with { WarmupSteps = 50 }, 2);
        Trainer.Train(env, [d], 20);
        foreach (ILearner l in new ILearner[] { q, d })
        {
            string json = PolicyFile.Write("storage", [l], ["battery"]);
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            var back = PolicyFile.Read(doc.RootElement, (p, m) => new InvalidOperationException(p + m)).Learners[0].Learner;
            Assert.Equal(Trainer.Evaluate(env, l).Profit, Trainer.Evaluate(env, back).Profit);
        }
    }

    [Fact]
    public void A_generator_without_noise_learns_the_best_offer_of_its_grid_in_the_copper_plate_auction()
    {
        var net = TestData.Load("case30");
        // genco (20 MW at cost 3) faces a small rival (10 MW at 5) and a buyer of 25 MW at 9: withholding by price pays
        var bids = OpenTE.Market.Bids.BidFile.Parse("participant,bus,side,price,quantity,block\ngenco,30,sell,3,10,1\ngenco,30,sell,3,10,2\nipp,21,sell,5,10,1\nbuyer,30,buy,9,25,1\n", "test.csv", net);
        var env = new StrategicEnv(net, bids, ["genco"], priceLevels: 11, lmpBins: 1, intervals: 4, noise: 0, clearing: EnvClearing.CopperPlate);
        var q = new QLearner(env.StateCount, env.ActionCount, new LearnerOptions { Gamma = 0, Alpha = 1, AlphaDecay = 0, AlphaMin = 1, EpsilonDecayEpisodes = 100 }, 4);
        var run = Trainer.Train(env, [q], 150);
        var e = Trainer.Evaluate(env, [q], run);
        var best = Enumerable.Range(0, env.ActionCount).Select(k => env.Clear([k], noisy: false).Profit[0]).ToArray();
        output.WriteLine($"profit per grid offer: {string.Join(", ", best.Select(b => b.ToString("F2")))}; learned {e.Profit:F2} at {e.Learners[0].OfferPrice}");
        Assert.True(best.Max() > best[0] + 1, "the example rewards a mark-up");
        Assert.Equal(best.Max(), e.Profit, 1e-9);
        Assert.Equal(0, e.Exploitability, 1e-9);
        Assert.True(e.Settled);
    }

    [Fact]
    public void Prices_from_a_csv_hold_out_the_last_days_and_a_bad_price_names_its_line()
    {
        string dir = Path.Combine(Path.GetTempPath(), "opente-learn-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var rows = Enumerable.Range(0, 5 * 4).Select(i => $"2026-06-01T{i % 24:00}:00:00+00:00,{(i % 4 < 2 ? 20 : 60)}");
            File.WriteAllText(Path.Combine(dir, "prices.csv"), "timestamp,price\n" + string.Join("\n", rows) + "\n");
            string scenario = Path.Combine(dir, "s.json");
            File.WriteAllText(scenario, "{ \"environment\": \"storage\", \"intervalsPerDay\": 4, \"storage\": { \"energyMwh\": 6, \"powerMw\": 1 }, \"prices\": { \"csv\": \"prices.csv\", \"heldOutDays\": 2 } }");
            var env = (StorageEnv)LearningScenarioFile.Read(scenario, _ => throw new InvalidOperationException()).Build(1);
            Assert.Equal(3, env.TrainingDays);
            Assert.Equal([3, 4], env.HeldOutDays);
            // two cheap intervals, then two dear ones (6 h each): the LP fills the 6 MWh store (6/0.95 MWh bought at 20)
            // and empties it (6·0.95 MWh sold at 60)
            Assert.Equal(6 * 0.95 * 60 - 6 / 0.95 * 20, env.OptimalProfit(3), 1e-6);

            File.WriteAllText(Path.Combine(dir, "prices.csv"), "timestamp,price\n2026-06-01T00:00:00+00:00,20\n2026-06-01T06:00:00+00:00,abc\n");
            var ex = Assert.Throws<OpenTE.Grid.Input.InputException>(() => LearningScenarioFile.Read(scenario, _ => throw new InvalidOperationException()));
            Assert.Equal("price", ex.Field);
            Assert.Equal(3, ex.Line);
        }
        finally { Directory.Delete(dir, true); }
    }
}
