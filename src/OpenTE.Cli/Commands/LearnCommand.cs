using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using OpenTE.Agents.Learning;
using OpenTE.Grid.Input;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class LearnSettings : OutputSettings
{
    [CommandArgument(0, "<SCENARIO>")]
    [Description("Learning scenario JSON (docs/learning.md), e.g. examples/learn-storage.json.")]
    public string Scenario { get; init; } = "";

    [CommandOption("--algorithm <ALG>")]
    [Description("q (tabular Q-learning; default) or dqn (deep Q-network with replay and a target network).")]
    [DefaultValue("q")]
    public string Algorithm { get; init; } = "q";

    [CommandOption("--episodes <N>")]
    [Description("Training episodes (default: the scenario's 'episodes').")]
    public int? Episodes { get; init; }

    [CommandOption("--seed <S>")]
    [Description("Seed of the learners and of the environment's draws (default 1); the same seed gives the same run.")]
    [DefaultValue(1)]
    public int Seed { get; init; } = 1;

    [CommandOption("--policy-out <FILE>")]
    [Description("Write the learned policy (Q table or network weights) as JSON.")]
    public string? PolicyOut { get; init; }

    [CommandOption("--evaluate <FILE>")]
    [Description("Do not train: score a saved policy (from --policy-out) on the scenario.")]
    public string? Evaluate { get; init; }

    [CommandOption("--plot <PNG>")]
    [Description("Write the learning curve (reward per episode, its moving average and the optimum) as a PNG.")]
    public string? Plot { get; init; }

    public override ValidationResult Validate() =>
        Algorithm is not ("q" or "dqn") ? ValidationResult.Error("--algorithm must be q or dqn")
        : Episodes is int e && e < 1 ? ValidationResult.Error("--episodes must be at least 1")
        : Evaluate is not null && (Episodes is not null || PolicyOut is not null) ? ValidationResult.Error("--evaluate scores a saved policy: it takes neither --episodes nor --policy-out")
        : ValidationResult.Success();
}

/// <summary>`opente learn SCENARIO --algorithm q|dqn …`: train learning bidders and score them against the exact optimum (docs/learning.md).</summary>
public sealed class LearnCommand : Command<LearnSettings>
{
    public override int Execute(CommandContext context, LearnSettings s, CancellationToken cancellationToken)
    {
        var sc = LearningScenarioFile.Read(s.Scenario, name => CaseLocator.Load(name).Network);
        var env = sc.Build(s.Seed);
        var sw = Stopwatch.StartNew();
        string algorithm;
        ILearner[] learners;
        TrainingResult? training = null;
        if (s.Evaluate is { } policy)
        {
            (algorithm, learners) = Load(policy, sc, env);
        }
        else
        {
            algorithm = s.Algorithm;
            var o = sc.OptionsFor(algorithm);
            int episodes = s.Episodes ?? sc.Episodes;
            if (s.Episodes is int n && n != sc.Episodes) o = o with { EpsilonDecayEpisodes = (int)(0.8 * n) };
            learners = [.. Enumerable.Range(0, env.LearnerCount).Select(i => algorithm == "dqn"
                ? (ILearner)new DqnLearner(env.FeatureCount, env.ActionCount, o, Seeds.Mix(s.Seed, i, 0x1EA))
                : new QLearner(env.StateCount, env.ActionCount, o, Seeds.Mix(s.Seed, i, 0x1EA)))];
            training = Train(env, learners, episodes, s.Json);
            if (s.PolicyOut is { Length: > 0 } file) File.WriteAllText(file, PolicyFile.Write(sc.Kind, learners, env.LearnerNames));
        }
        var eval = AnsiConsoleProgress.Run("scoring against the exact optimum", () => env switch
        {
            StorageEnv st => Trainer.Evaluate(st, learners[0]),
            StrategicEnv se => Trainer.Evaluate(se, learners, training),
            _ => throw new InvalidOperationException("unknown environment"),
        });
        double seconds = sw.Elapsed.TotalSeconds;
        if (s.Plot is { Length: > 0 } png && training is not null) Plot(training, eval, env, sc, algorithm, png);
        if (s.Json) Output.Emit(ToJson(sc, algorithm, s.Seed, training, seconds, eval), s.Out);
        else Output.Render(Tables(sc, algorithm, s.Seed, training, seconds, eval), s.Out);
        return 0;
    }

    private static TrainingResult Train(IMarketEnv env, ILearner[] learners, int episodes, bool json)
    {
        var console = CliApp.Io.Console;
        string what = $"training {learners[0].Algorithm} on {string.Join(", ", env.LearnerNames)}";
        if (console.Profile.Capabilities.Interactive && !json)
        {
            TrainingResult? result = null;
            console.Progress().Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(what), maxValue: episodes);
                result = Trainer.Train(env, learners, episodes, (e, _) => task.Value = e);
            });
            return result!;
        }
        int step = Math.Max(1, episodes / 10);
        return Trainer.Train(env, learners, episodes, (e, r) =>
        {
            if (e % step == 0 || e == episodes) CliApp.Io.Err.WriteLine($"{what}: episode {e}/{episodes}, reward {r:F2}");
        });
    }

    private static (string, ILearner[]) Load(string file, LearningScenario sc, IMarketEnv env)
    {
        string text = InputFiles.ReadText(file);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text); }
        catch (JsonException e) { throw new InputException(file, (int)(e.LineNumber ?? 0) + 1, "not valid JSON: " + e.Message.Split('.')[0], "give a policy written by --policy-out"); }
        using (doc)
        {
            var (alg, kind, list) = PolicyFile.Read(doc.RootElement, (path, what) => new InputException(file, 0, $"{path}: {what}", "give a policy written by --policy-out", path));
            if (kind != sc.Kind) throw new InputException(file, 0, $"$.environment: the policy is for '{kind}', the scenario is '{sc.Kind}'", "evaluate it on a scenario of its kind", "$.environment");
            if (list.Count != env.LearnerCount || !list.Select(l => l.Name).SequenceEqual(env.LearnerNames))
                throw new InputException(file, 0, $"$.learners: the policy has {string.Join(", ", list.Select(l => l.Name))}, the scenario {string.Join(", ", env.LearnerNames)}", "evaluate it on the scenario it was trained on", "$.learners");
            foreach (var (name, l) in list)
            {
                bool fits = l switch
                {
                    QLearner q => q.States == env.StateCount && q.Actions == env.ActionCount,
                    DqnLearner d => d.Online.Inputs == env.FeatureCount && d.Online.Outputs == env.ActionCount,
                    _ => false,
                };
                if (!fits) throw new InputException(file, 0, $"$.learners: the policy of '{name}' does not fit the scenario's states, features or actions", "evaluate it on the scenario it was trained on (same actions, bins, intervals)", "$.learners");
            }
            return (alg, [.. list.Select(x => x.Learner)]);
        }
    }

    private static string ToJson(LearningScenario sc, string algorithm, int seed, TrainingResult? t, double seconds, Evaluation e) => Output.Json(w =>
    {
        w.WriteStartObject();
        w.WriteString("algorithm", algorithm);
        w.WriteString("environment", sc.Kind);
        w.WriteNumber("seed", seed);
        w.WriteNumber("episodes", t?.Episodes ?? 0);
        w.WriteNumber("steps", t?.Steps ?? 0);
        w.Number("seconds", seconds);
        w.Number("trainingSeconds", t?.Seconds ?? 0);
        w.WriteStartObject("evaluation");
        w.Number("profit", e.Profit);
        w.Number("optimalProfit", e.OptimalProfit);
        w.Number("ratio", e.Ratio);
        w.Number("exploitability", e.Exploitability);
        if (e.RuleProfit is double r) w.Number("ruleProfit", r); else w.WriteNull("ruleProfit");
        w.WriteNumber("days", e.Days);
        if (e.Settled is bool b) w.WriteBoolean("settled", b); else w.WriteNull("settled");
        w.Objects("learners", e.Learners, l =>
        {
            w.WriteString("name", l.Name);
            w.Number("profit", l.Profit);
            w.Number("optimalProfit", l.OptimalProfit);
            w.Number("distance", l.Distance);
            if (l.OfferPrice is double p) w.Number("offerPrice", p); else w.WriteNull("offerPrice");
        });
        w.WriteEndObject();
        w.WriteStartArray("learningCurve");
        foreach (double x in t?.Curve ?? []) w.WriteNumberValue(Math.Round(x, 6));
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static List<IRenderable> Tables(LearningScenario sc, string algorithm, int seed, TrainingResult? t, double seconds, Evaluation e)
    {
        var items = new List<IRenderable>
        {
            new Markup(Markup.Escape(t is null
                ? $"{sc.Kind}: saved {algorithm} policy scored in {seconds:F2} s\n"
                : $"{sc.Kind}: {algorithm}, seed {seed}, {t.Episodes} episodes ({t.Steps} steps) in {t.Seconds:F2} s\n")),
        };
        if (sc.Environment == LearningEnvironment.Storage)
        {
            var table = Output.Table($"Profit over {e.Days} held-out days ($)", "policy", "profit", "share of perfect foresight");
            table.AddRow("learned", Output.F(e.Profit, "0.##"), Output.F(e.Ratio * 100, "0.#") + " %");
            table.AddRow("median rule", Output.F(e.RuleProfit ?? double.NaN, "0.##"), Output.F((e.RuleProfit ?? double.NaN) / e.OptimalProfit * 100, "0.#") + " %");
            table.AddRow("perfect foresight (LP)", Output.F(e.OptimalProfit, "0.##"), "100 %");
            items.Add(table);
        }
        else
        {
            items.Add(Output.Table("Learned offers vs the MPEC best response ($/h, without noise)", "learner", "offer ($/MWh)", "profit", "best response", "distance")
                .Rows(e.Learners, l => [l.Name, Output.F(l.OfferPrice ?? double.NaN, "0.##"), Output.F(l.Profit, "0.##"), Output.F(l.OptimalProfit, "0.##"), Output.F(l.Distance, "0.##")]));
            items.Add(new Markup(Markup.Escape($"exploitability (Σ best response − learned): {e.Exploitability:F2} $/h" +
                (e.Settled is bool b ? b ? "; play settled (greedy offers unchanged over the last tenth of training)\n" : "; play did not settle (greedy offers still changing in the last tenth of training)\n" : "\n"))));
        }
        return items;
    }

    private static void Plot(TrainingResult t, Evaluation e, IMarketEnv env, LearningScenario sc, string algorithm, string png)
    {
        var plot = new ScottPlot.Plot();
        double[] x = [.. Enumerable.Range(1, t.Episodes).Select(i => (double)i)];
        var raw = plot.Add.Scatter(x, t.Curve);
        raw.LegendText = "reward per episode";
        raw.MarkerSize = 0;
        raw.LineWidth = 1;
        int k = Math.Max(1, t.Episodes / 50);
        double[] avg = new double[t.Episodes];
        double sum = 0;
        for (int i = 0; i < t.Episodes; i++) { sum += t.Curve[i]; if (i >= k) sum -= t.Curve[i - k]; avg[i] = sum / Math.Min(i + 1, k); }
        var ma = plot.Add.Scatter(x, avg);
        ma.LegendText = $"moving average ({k})";
        ma.MarkerSize = 0;
        ma.LineWidth = 2;
        double optimum = env is StrategicEnv se ? e.OptimalProfit * se.Intervals : e.OptimalProfit / Math.Max(1, e.Days);
        var line = plot.Add.HorizontalLine(optimum);
        line.LegendText = env is StrategicEnv ? "best response (MPEC) × intervals" : "perfect foresight (LP), mean held-out day";
        plot.Title($"{sc.Kind}: {algorithm} learning curve");
        plot.XLabel("episode");
        plot.YLabel("reward ($ per episode)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(png, 900, 520);
    }
}
