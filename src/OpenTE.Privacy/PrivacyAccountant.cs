using System.Text.Json;
using System.Text.Json.Serialization;
using OpenTE.Grid.Input;

namespace OpenTE.Privacy;

public enum Composition
{
    /// <summary>Basic sequential composition: ε and δ add up.</summary>
    Sequential,
    /// <summary>
    /// The advanced composition theorem (Dwork, Rothblum, Vadhan 2010) for releases ε₁…ε_k:
    /// ε = √(2 ln(1/δ′)·Σεᵢ²) + Σεᵢ(e^εᵢ − 1) with δ = Σδᵢ + δ′; the smaller of this and the sequential sum is used.
    /// </summary>
    Advanced,
}

/// <summary>One logged release.</summary>
public sealed record ReleaseRecord(DateTimeOffset Time, string Query, double Epsilon, double Delta, string Mechanism);

/// <summary>The budget of one dataset and what has been spent. Thread-safe; persisted as JSON with <see cref="Save"/>.</summary>
public sealed class PrivacyAccountant
{
    private readonly List<ReleaseRecord> _releases = [];
    private readonly object _lock = new();

    public string Dataset { get; }
    public double BudgetEpsilon { get; }
    public double BudgetDelta { get; }
    public Composition Composition { get; }
    /// <summary>δ′ of the advanced composition bound.</summary>
    public double SlackDelta { get; }

    public PrivacyAccountant(string dataset, double budgetEpsilon, double budgetDelta = 0, Composition composition = Composition.Sequential, double slackDelta = 1e-9)
    {
        if (!(budgetEpsilon > 0)) throw new ArgumentOutOfRangeException(nameof(budgetEpsilon), "the ε budget must be positive");
        if (!(budgetDelta >= 0 && budgetDelta < 1)) throw new ArgumentOutOfRangeException(nameof(budgetDelta), "the δ budget must be in [0, 1)");
        Dataset = dataset;
        BudgetEpsilon = budgetEpsilon;
        BudgetDelta = budgetDelta;
        Composition = composition;
        SlackDelta = slackDelta;
    }

    public IReadOnlyList<ReleaseRecord> Releases { get { lock (_lock) return [.. _releases]; } }

    /// <summary>Total (ε, δ) spent by the given releases under this accountant's composition rule.</summary>
    public (double Epsilon, double Delta) Spent(IEnumerable<ReleaseRecord> releases)
    {
        var list = releases.ToList();
        double seqE = list.Sum(r => r.Epsilon), seqD = list.Sum(r => r.Delta);
        if (Composition == Composition.Sequential || list.Count < 2) return (seqE, seqD);
        double adv = Math.Sqrt(2 * Math.Log(1 / SlackDelta) * list.Sum(r => r.Epsilon * r.Epsilon)) + list.Sum(r => r.Epsilon * (Math.Exp(r.Epsilon) - 1));
        return adv < seqE ? (adv, seqD + SlackDelta) : (seqE, seqD);
    }

    public (double Epsilon, double Delta) Spent() { lock (_lock) return Spent(_releases); }

    /// <summary>Records the release if it fits the budget; otherwise refuses with the reason and records nothing.</summary>
    public bool TrySpend(string query, double epsilon, double delta, string mechanism, out string reason)
    {
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), "ε must be positive");
        lock (_lock)
        {
            var record = new ReleaseRecord(DateTimeOffset.UtcNow, query, epsilon, delta, mechanism);
            var (e, d) = Spent(_releases.Append(record));
            if (e > BudgetEpsilon * (1 + 1e-12) || d > BudgetDelta * (1 + 1e-12) + 1e-300)
            {
                var (se, sd) = Spent(_releases);
                reason = $"refused: '{query}' needs ε = {epsilon:G4}, δ = {delta:G3}, but dataset '{Dataset}' has spent ε = {se:G4}, δ = {sd:G3} " +
                         $"of its budget ε = {BudgetEpsilon:G4}, δ = {BudgetDelta:G3} ({Composition.ToString().ToLowerInvariant()} composition); " +
                         "ask for a smaller ε, or accept that this dataset's budget is used up";
                return false;
            }
            _releases.Add(record);
            reason = "";
            return true;
        }
    }

    // ---- persistence: one JSON ledger per dataset

    private sealed record Ledger(
        [property: JsonPropertyName("dataset")] string Dataset,
        [property: JsonPropertyName("budgetEpsilon")] double BudgetEpsilon,
        [property: JsonPropertyName("budgetDelta")] double BudgetDelta,
        [property: JsonPropertyName("composition")] string Composition,
        [property: JsonPropertyName("slackDelta")] double SlackDelta,
        [property: JsonPropertyName("releases")] List<ReleaseRecord> Releases);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public void Save(string path)
    {
        Ledger ledger;
        lock (_lock) ledger = new Ledger(Dataset, BudgetEpsilon, BudgetDelta, Composition.ToString().ToLowerInvariant(), SlackDelta, [.. _releases]);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(ledger, Json));
        File.Move(tmp, path, overwrite: true); // atomic replace: a crash never leaves half a ledger
    }

    /// <summary>Loads a ledger; its stored budget and rule win over the arguments (a budget cannot be reset by asking again).</summary>
    public static PrivacyAccountant LoadOrCreate(string path, string dataset, double budgetEpsilon, double budgetDelta, Composition composition)
    {
        if (!File.Exists(path)) return new PrivacyAccountant(dataset, budgetEpsilon, budgetDelta, composition);
        Ledger ledger;
        try
        {
            ledger = JsonSerializer.Deserialize<Ledger>(File.ReadAllText(path), Json) ?? throw new JsonException("empty ledger");
        }
        catch (JsonException e)
        {
            throw new OpenTE.Grid.Input.InputException(path, (int)(e.LineNumber ?? -1) + 1, $"the privacy ledger is damaged ({e.Message})",
                "restore it from a backup; deleting it would forget the budget already spent");
        }
        var acc = new PrivacyAccountant(ledger.Dataset, ledger.BudgetEpsilon, ledger.BudgetDelta,
            ledger.Composition == "advanced" ? Composition.Advanced : Composition.Sequential, ledger.SlackDelta);
        acc._releases.AddRange(ledger.Releases);
        return acc;
    }
}
