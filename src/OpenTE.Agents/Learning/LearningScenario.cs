using System.Text.Json;
using OpenTE.Grid.Input;
using OpenTE.Grid.Model;
using OpenTE.Market.Bids;
using OpenTE.Market.MultiPeriod;

namespace OpenTE.Agents.Learning;

public enum LearningEnvironment { Storage, Strategic }

/// <summary>
/// A learning scenario (docs/learning.md): which environment, its market data, the learner(s) and the training defaults.
/// <see cref="Build"/> makes the environment (deterministic for a seed).
/// </summary>
public sealed record LearningScenario(LearningEnvironment Environment, int Episodes, LearnerOptions Learner, LearnerOptions DqnLearner,
    // storage
    StorageUnit? Storage, PriceShapeOptions? Shapes, double[][]? PriceDays, int HeldOutDays, int IntervalsPerDay, int Actions, int SocBins,
    // strategic
    Network? Network, BidBook? Bids, IReadOnlyList<string> Learners, int PriceLevels, int LmpBins, double Noise, EnvClearing Clearing = EnvClearing.Dc)
{
    public string Kind => Environment == LearningEnvironment.Storage ? "storage" : Learners.Count > 1 ? "learners" : "strategic";

    public IMarketEnv Build(int seed)
    {
        if (Environment == LearningEnvironment.Storage)
        {
            double[][] days = PriceDays ?? Shapes!.Generate(IntervalsPerDay);
            int training = PriceDays is null ? Shapes!.TrainingDays : days.Length - HeldOutDays;
            return new StorageEnv(Storage!, days, training, Actions, SocBins, seed);
        }
        return new StrategicEnv(Network!, Bids!, Learners, PriceLevels, LmpBins, IntervalsPerDay, Noise, seed, Clearing);
    }

    public LearnerOptions OptionsFor(string algorithm) => algorithm == "dqn" ? DqnLearner : Learner;
}

/// <summary>Reads learning scenario JSON; every error names the file and the JSON path of the field, and how to fix it.</summary>
public static class LearningScenarioFile
{
    public static LearningScenario Read(string path, Func<string, Network> loadCase)
    {
        string text = InputFiles.ReadText(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InputException(path, (int)(e.LineNumber ?? 0) + 1, "not valid JSON: " + e.Message.Split('.')[0], "fix the JSON syntax"); }
        using (doc) return Parse(doc.RootElement, path, loadCase);
    }

    public static LearningScenario Parse(JsonElement root, string file, Func<string, Network> loadCase)
    {
        InputException Err(string where, string what, string hint) => new(file, 0, $"{where}: {what}", hint, where);
        bool Has(JsonElement e, string name) => e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;
        double Num(JsonElement e, string name, string where, double fallback, double min, double max)
        {
            if (!Has(e, name)) return fallback;
            var v = e.GetProperty(name);
            if (v.ValueKind != JsonValueKind.Number || !double.IsFinite(v.GetDouble())) throw Err($"{where}.{name}", $"'{v}' is not a finite number", "write a plain number");
            double x = v.GetDouble();
            if (x < min || x > max) throw Err($"{where}.{name}", $"{x:G6} is outside [{min:G6}, {max:G6}]", $"give a value in [{min:G6}, {max:G6}]");
            return x;
        }
        int Int(JsonElement e, string name, string where, int fallback, int min, int max)
        {
            double x = Num(e, name, where, fallback, min, max);
            if (x != Math.Floor(x)) throw Err($"{where}.{name}", $"{x:G} is not a whole number", "write an integer");
            return (int)x;
        }
        string? Str(JsonElement e, string name, string where)
        {
            if (!Has(e, name)) return null;
            var v = e.GetProperty(name);
            return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Err($"{where}.{name}", "must be a string", $"write \"{name}\": \"…\"");
        }
        JsonElement Obj(JsonElement e, string name, string where, bool required)
        {
            if (!Has(e, name))
                return required ? throw Err($"{where}.{name}", "missing", $"add \"{name}\": {{ … }}") : default;
            var v = e.GetProperty(name);
            return v.ValueKind == JsonValueKind.Object ? v : throw Err($"{where}.{name}", "must be an object", $"write \"{name}\": {{ … }}");
        }
        string Relative(string p) => Path.IsPathRooted(p) ? p : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", p);

        if (root.ValueKind != JsonValueKind.Object) throw Err("$", "the scenario must be a JSON object", "write { \"environment\": \"storage\", … }");
        string env = Str(root, "environment", "$") ?? throw Err("$.environment", "missing", "add \"environment\": \"storage\" or \"strategic\"");
        var kind = env switch
        {
            "storage" => LearningEnvironment.Storage,
            "strategic" => LearningEnvironment.Strategic,
            _ => throw Err("$.environment", $"'{env}' is not an environment", "use \"storage\" (price taker) or \"strategic\" (generators in the DC clearing)"),
        };
        int episodes = Int(root, "episodes", "$", kind == LearningEnvironment.Storage ? 3000 : 300, 1, 10_000_000);
        int intervals = Int(root, "intervalsPerDay", "$", 24, 1, 1440);

        LearnerOptions ReadLearner(JsonElement e, string where, LearnerOptions d) => e.ValueKind != JsonValueKind.Object ? d : d with
        {
            Gamma = Num(e, "gamma", where, d.Gamma, 0, 1),
            EpsilonStart = Num(e, "epsilonStart", where, d.EpsilonStart, 0, 1),
            EpsilonEnd = Num(e, "epsilonEnd", where, d.EpsilonEnd, 0, 1),
            EpsilonDecayEpisodes = Int(e, "epsilonDecayEpisodes", where, d.EpsilonDecayEpisodes, 0, int.MaxValue),
            Alpha = Num(e, "alpha", where, d.Alpha, 1e-9, 1),
            AlphaDecay = Num(e, "alphaDecay", where, d.AlphaDecay, 0, 1e6),
            AlphaMin = Num(e, "alphaMin", where, d.AlphaMin, 0, 1),
            RewardScale = Num(e, "rewardScale", where, d.RewardScale, 1e-9, 1e12),
            Hidden = Int(e, "hidden", where, d.Hidden, 1, 4096),
            LearningRate = Num(e, "learningRate", where, d.LearningRate, 1e-9, 1),
            ReplayCapacity = Int(e, "replayCapacity", where, d.ReplayCapacity, 1, 10_000_000),
            BatchSize = Int(e, "batchSize", where, d.BatchSize, 1, 100_000),
            TargetSyncSteps = Int(e, "targetSyncSteps", where, d.TargetSyncSteps, 1, int.MaxValue),
            WarmupSteps = Int(e, "warmupSteps", where, d.WarmupSteps, 0, int.MaxValue),
            TrainEvery = Int(e, "trainEvery", where, d.TrainEvery, 1, int.MaxValue),
        };
        var defaults = new LearnerOptions { EpsilonDecayEpisodes = (int)(0.8 * episodes) };
        var q = ReadLearner(Obj(root, "q", "$", false), "$.q", defaults);
        var dqn = ReadLearner(Obj(root, "dqn", "$", false), "$.dqn", defaults);

        if (kind == LearningEnvironment.Storage)
        {
            var s = Obj(root, "storage", "$", true);
            double energy = Num(s, "energyMwh", "$.storage", double.NaN, 1e-6, 1e7);
            if (double.IsNaN(energy)) throw Err("$.storage.energyMwh", "missing", "add \"energyMwh\" (the capacity, MWh)");
            double power = Num(s, "powerMw", "$.storage", double.NaN, 1e-6, 1e7);
            if (double.IsNaN(power)) throw Err("$.storage.powerMw", "missing", "add \"powerMw\" (the charge and discharge rating, MW)");
            var unit = new StorageUnit(Str(s, "id", "$.storage") ?? "storage", 0, Num(s, "minMwh", "$.storage", 0, 0, 1e7), energy,
                Num(s, "chargeMw", "$.storage", power, 0, 1e7), Num(s, "dischargeMw", "$.storage", power, 0, 1e7),
                Num(s, "etaCharge", "$.storage", 0.95, 1e-6, 1), Num(s, "etaDischarge", "$.storage", 0.95, 1e-6, 1),
                Num(s, "initialMwh", "$.storage", 0, 0, 1e7), Has(s, "terminalMwh") ? Num(s, "terminalMwh", "$.storage", 0, 0, 1e7) : null);
            if (unit.Check() is { } bad)
            {
                string field = bad.Field switch { "min_mwh" => "minMwh", "energy_mwh" => "energyMwh", "initial_mwh" => "initialMwh", "terminal_mwh" => "terminalMwh", _ => bad.Field };
                throw Err($"$.storage.{field}", bad.Problem, "make the storage data consistent (docs/learning.md)");
            }
            var p = Obj(root, "prices", "$", true);
            PriceShapeOptions? shapes = null;
            double[][]? days = null;
            int heldOut;
            if (Str(p, "csv", "$.prices") is { } csv)
            {
                days = ReadPriceCsv(Relative(csv), intervals);
                heldOut = Int(p, "heldOutDays", "$.prices", Math.Max(1, days.Length / 5), 1, 100_000);
                if (heldOut >= days.Length) throw Err("$.prices.heldOutDays", $"{heldOut} leaves no training day of the {days.Length} in the file", "hold out fewer days");
            }
            else
            {
                shapes = new PriceShapeOptions
                {
                    TrainingDays = Int(p, "trainingDays", "$.prices", 200, 1, 100_000),
                    HeldOutDays = Int(p, "heldOutDays", "$.prices", 30, 1, 100_000),
                    Base = Num(p, "base", "$.prices", 40, -1e5, 1e5),
                    Noise = Num(p, "noise", "$.prices", 4, 0, 1e5),
                    DayLevel = Num(p, "dayLevel", "$.prices", 0.2, 0, 0.99),
                    Seed = Int(p, "seed", "$.prices", 7, int.MinValue, int.MaxValue),
                };
                heldOut = shapes.HeldOutDays;
            }
            // the network learns values near 1: by default rewards in units of a full-power interval at the mean price
            double meanPrice = days is null ? Math.Abs(shapes!.Base) : Math.Abs(days.SelectMany(d => d).Average());
            if (!Has(Obj(root, "dqn", "$", false), "rewardScale")) dqn = dqn with { RewardScale = Math.Max(1e-6, power * meanPrice * 24.0 / intervals) };
            return new LearningScenario(kind, episodes, q, dqn, unit, shapes, days, heldOut, intervals, Int(root, "actions", "$", 5, 2, 101), Int(root, "socBins", "$", 9, 2, 1001),
                null, null, [], 0, 0, 0);
        }

        string caseName = Str(root, "case", "$") ?? throw Err("$.case", "missing", "add \"case\": \"case30\" (a case name or file)");
        Network net;
        try { net = loadCase(caseName); }
        catch (InputException) { throw; }
        catch (Exception e) { throw Err("$.case", $"'{caseName}' could not be loaded ({e.Message})", "name a case file or a case in ../shared/cases"); }
        string bidsPath = Str(root, "bids", "$") ?? throw Err("$.bids", "missing", "add \"bids\": \"file.csv\" (docs/bids-csv.md), relative to the scenario");
        var bids = BidFile.Read(Relative(bidsPath), net);
        if (!Has(root, "learners") || root.GetProperty("learners").ValueKind != JsonValueKind.Array || root.GetProperty("learners").GetArrayLength() == 0)
            throw Err("$.learners", "missing or empty", "add \"learners\": [\"genco\"] (participants of the bids file)");
        var learners = new List<string>();
        int k = 0;
        foreach (var l in root.GetProperty("learners").EnumerateArray())
        {
            string where = $"$.learners[{k++}]";
            if (l.ValueKind != JsonValueKind.String) throw Err(where, "must be a string", "name a participant of the bids file");
            string name = l.GetString()!;
            var own = bids.Where(b => b.Participant == name).ToList();
            if (own.Count == 0) throw Err(where, $"'{name}' has no rows in {bidsPath}", $"name one of {string.Join(", ", bids.Participants)}");
            if (own.Any(b => b.Side == Side.Buy)) throw Err(where, $"'{name}' has a buy row", "a learner's rows are its sell blocks at true cost");
            if (learners.Contains(name)) throw Err(where, $"'{name}' is named twice", "name each learner once");
            learners.Add(name);
        }
        return new LearningScenario(kind, episodes, q, dqn, null, null, null, 0, intervals, 0, 0, net, bids, learners,
            Int(root, "priceLevels", "$", 11, 2, 1001), Int(root, "lmpBins", "$", 6, 1, 1001), Num(root, "noise", "$", 0.05, 0, 1),
            (Str(root, "clearing", "$") ?? "dc") switch
            {
                "dc" => EnvClearing.Dc,
                "copper-plate" => EnvClearing.CopperPlate,
                var c => throw Err("$.clearing", $"'{c}' is not a clearing", "use \"dc\" (network, scored by the MPEC) or \"copper-plate\" (uniform double auction of the bids)"),
            });
    }

    /// <summary>A price CSV: a header with a column <c>price</c> ($/MWh), one row per interval, whole days of <paramref name="intervals"/> rows.</summary>
    public static double[][] ReadPriceCsv(string path, int intervals)
    {
        var lines = InputFiles.ReadText(path).Split('\n');
        int col = -1, line = 0;
        var values = new List<double>();
        foreach (var raw in lines)
        {
            line++;
            string s = raw.Trim();
            if (s.Length == 0 || s.StartsWith('#')) continue;
            var cells = s.Split(',');
            if (col < 0)
            {
                col = Array.FindIndex(cells, c => c.Trim().Equals("price", StringComparison.OrdinalIgnoreCase));
                if (col < 0) throw new InputException(path, line, "the header has no 'price' column", "write a header such as timestamp,price", "price");
                continue;
            }
            if (col >= cells.Length || !double.TryParse(cells[col], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                throw new InputException(path, line, $"field price: '{(col < cells.Length ? cells[col] : "")}' is not a number", "write the price in $/MWh", "price");
            values.Add(v);
        }
        if (values.Count == 0 || values.Count % intervals != 0)
            throw new InputException(path, line, $"{values.Count} prices are not whole days of {intervals} intervals", "give whole days (or set intervalsPerDay)", "price");
        return [.. values.Chunk(intervals)];
    }
}
