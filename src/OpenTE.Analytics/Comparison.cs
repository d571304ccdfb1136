using System.Globalization;
using System.Text;
using OpenTE.Grid.Output;
using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;

namespace OpenTE.Analytics;

/// <summary>One design's outcome to compare, with how its participants' surplus is measured.</summary>
public sealed record DesignInput(string Name, ClearingOutcome Outcome, SurplusOptions? Options = null);

/// <summary>
/// One design measured: its surplus account, the population's surpluses (the participants whose fairness is asked about)
/// and their inequality, the average price buyers paid per interval.
/// </summary>
public sealed record DesignSummary(string Name, SurplusAccount Account, IReadOnlyList<ParticipantSurplus> Population, InequalityMeasures Measures,
    IReadOnlyList<double> BuyPriceByInterval)
{
    /// <summary>The average price each buyer of the population paid over the horizon ($/MWh: payment / energy bought), ascending.</summary>
    public IReadOnlyList<double> BuyPriceByParticipant { get; init; } = [];

    public double Welfare => Account.Welfare;
    public double PopulationSurplus => Population.Sum(p => p.Surplus);
}

/// <summary>Several designs on the same scenario (docs/fairness.md).</summary>
public sealed record FairnessComparison(string Title, IReadOnlyList<DesignSummary> Designs, double IntervalHours, DateTimeOffset? Start)
{
    /// <summary>
    /// Measures every design. <paramref name="population"/> says who is in the fairness population (e.g. the prosumers,
    /// not the substation or the aggregate base load); everyone listed in <paramref name="members"/> counts, with 0 when a
    /// design gave it nothing, so that every design is measured over the same people.
    /// </summary>
    public static FairnessComparison Compare(string title, IEnumerable<DesignInput> designs, Func<string, bool> population,
        IEnumerable<string>? members = null)
    {
        var list = designs.ToList();
        var everyone = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var m in members ?? []) if (population(m)) everyone.Add(m);
        foreach (var d in list) foreach (var a in d.Outcome.Awards) if (population(a.Participant)) everyone.Add(a.Participant);
        var summaries = new List<DesignSummary>();
        foreach (var d in list)
        {
            var account = SurplusAccounting.Compute(d.Outcome, d.Options);
            var by = account.ByParticipant().ToDictionary(p => p.Participant);
            var role = d.Options?.Role ?? SurplusAccounting.DefaultRoles(d.Outcome.Awards);
            var pop = everyone.Select(n => by.GetValueOrDefault(n) ?? new ParticipantSurplus(n, role(n), 0, 0, 0, 0, 0, 0)).ToList();
            summaries.Add(new DesignSummary(d.Name, account, pop, Inequality.Of([.. pop.Select(p => p.Surplus)]), BuyPrices(d.Outcome))
            {
                BuyPriceByParticipant = ParticipantPrices(d.Outcome, population),
            });
        }
        var first = list.FirstOrDefault()?.Outcome;
        return new FairnessComparison(title, summaries, first?.IntervalHours ?? 1, first?.Start);
    }

    private static double[] ParticipantPrices(ClearingOutcome o, Func<string, bool> population)
    {
        var d = new Dictionary<string, (double Money, double Mw)>(StringComparer.Ordinal);
        foreach (var a in o.Awards)
            if (a.Side == Side.Buy && a.Product == Product.Energy && population(a.Participant))
            {
                var (m, q) = d.GetValueOrDefault(a.Participant);
                d[a.Participant] = (m + a.Price * a.Quantity, q + a.Quantity);
            }
        return [.. d.Values.Where(v => v.Mw > 0).Select(v => v.Money / v.Mw).Order()];
    }

    /// <summary>Volume-weighted average price of the buy awards per interval (NaN where nothing was bought).</summary>
    private static double[] BuyPrices(ClearingOutcome o)
    {
        int T = o.Intervals;
        double[] money = new double[T], mw = new double[T];
        foreach (var a in o.Awards)
            if (a.Side == Side.Buy && a.Product == Product.Energy) { money[a.Interval] += a.Price * a.Quantity; mw[a.Interval] += a.Quantity; }
        return [.. Enumerable.Range(0, T).Select(t => mw[t] > 0 ? money[t] / mw[t] : double.NaN)];
    }

    /// <summary>The JSON of <c>opente compare --json</c>: <c>{ title, designs: [{ name, welfare, gini, giniShifted, jain, top10Share, gridRent, carbonMoney, participants: [{ id, role, surplus, payment, revenue }] }] }</c>.</summary>
    public string ToJson(string? outputDirectory = null) => JsonText.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("title", Title);
        if (outputDirectory is not null) w.WriteString("outputDirectory", outputDirectory);
        w.Objects("designs", Designs, d =>
        {
            w.WriteString("name", d.Name);
            w.Number("welfare", d.Welfare);
            w.Number("gini", d.Measures.GiniClipped);
            w.Number("giniShifted", d.Measures.GiniShifted);
            w.Number("jain", d.Measures.Jain);
            w.Number("top10Share", d.Measures.Top10Share);
            w.WriteNumber("negative", d.Measures.Negative);
            w.Number("populationSurplus", d.PopulationSurplus);
            w.Number("gridRent", d.Account.GridRent);
            w.Number("carbonMoney", d.Account.CarbonMoney);
            w.Objects("participants", d.Population, p =>
            {
                w.WriteString("id", p.Participant);
                w.WriteString("role", p.Role.ToString().ToLowerInvariant());
                w.Number("surplus", p.Surplus);
                w.Number("payment", p.Payment);
                w.Number("revenue", p.Revenue);
            });
        });
        w.WriteEndObject();
    });

    /// <summary>One design's participants as CSV: id, role, value, payment, revenue, cost, carbon, surplus ($ over the horizon).</summary>
    public static string Csv(DesignSummary d)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder("participant,role,value,payment,revenue,cost,carbon_paid,surplus\n");
        foreach (var p in d.Account.ByParticipant())
            sb.Append(inv, $"{p.Participant},{p.Role.ToString().ToLowerInvariant()},{p.Value:R},{p.Payment:R},{p.Revenue:R},{p.Cost:R},{p.CarbonPaid:R},{p.Surplus:R}\n");
        sb.Append(inv, $"(grid rent),,,,,,,{d.Account.GridRent:R}\n");
        sb.Append(inv, $"(carbon),,,,,,,{d.Account.CarbonMoney:R}\n");
        return sb.ToString();
    }
}
