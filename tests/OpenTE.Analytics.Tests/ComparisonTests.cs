using System.Globalization;
using System.Text.Json;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;

namespace OpenTE.Analytics.Tests;

public class ComparisonTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("opente-fair-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly List<Bid> Bids =
    [
        new("a", 1, Side.Buy, 100, 10, 1, 0), new("b", 1, Side.Buy, 60, 10, 1, 0), new("c", 1, Side.Buy, 20, 10, 1, 0),
        new("pv", 1, Side.Sell, 0, 8, 1, 0), new("grid", 1, Side.Sell, 50, 100, 1, 0),
    ];

    private static FairnessComparison Compare() => FairnessComparison.Compare("test",
        [new DesignInput("uniform", DoubleAuction.Clear(Bids).ToOutcome()), new DesignInput("pay-as-bid", DoubleAuction.Clear(Bids, PricingRule.PayAsBid).ToOutcome())],
        p => p != "grid", ["a", "b", "c", "pv", "grid", "absent"]);

    [Fact]
    public void Every_design_is_measured_over_the_same_population_with_zeros_for_those_it_gave_nothing()
    {
        var c = Compare();
        foreach (var d in c.Designs)
        {
            Assert.Equal(["a", "absent", "b", "c", "pv"], d.Population.Select(p => p.Participant));
            Assert.Equal(0, d.Population.Single(p => p.Participant == "absent").Surplus);
            Assert.Equal(0, d.Population.Single(p => p.Participant == "c").Surplus); // c's 20 $/MWh is below the price: not served
        }
        var u = c.Designs[0];
        // uniform price 50 (the grid is marginal): a gains (100 − 50)·10, b (60 − 50)·10, pv 50·8
        Assert.Equal([500, 0, 100, 0, 400], u.Population.Select(p => p.Surplus).Select(x => Math.Round(x, 9)));
        Assert.Equal(Inequality.Gini([500, 0, 100, 0, 400]), u.Measures.GiniClipped, 12);
        // pay-as-bid: every accepted bidder pays or gets its own price: no surplus, everything is the operator's rent
        var p = c.Designs[1];
        Assert.All(p.Population, x => Assert.Equal(0, x.Surplus, 9));
        Assert.Equal(u.Welfare, p.Account.GridRent, 9);
        Assert.Equal(u.Welfare, p.Welfare, 9);
    }

    [Fact]
    public void Json_and_csv_carry_the_account()
    {
        var c = Compare();
        var root = JsonDocument.Parse(c.ToJson()).RootElement;
        var designs = root.GetProperty("designs").EnumerateArray().ToList();
        Assert.Equal(["uniform", "pay-as-bid"], designs.Select(d => d.GetProperty("name").GetString()));
        foreach (var name in new[] { "welfare", "gini", "giniShifted", "jain", "top10Share", "gridRent", "carbonMoney", "participants" })
            Assert.True(designs[0].TryGetProperty(name, out _), name);
        Assert.Equal(1000, designs[0].GetProperty("participants").EnumerateArray().Sum(x => x.GetProperty("surplus").GetDouble()), 9);
        // the CSV's surplus column (participants, grid rent, carbon) adds up to the welfare
        var rows = FairnessComparison.Csv(c.Designs[1]).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1);
        double sum = rows.Sum(r => double.Parse(r.Split(',')[^1], CultureInfo.InvariantCulture));
        Assert.Equal(c.Designs[1].Welfare, sum, 9);
    }

    [Fact]
    public void The_report_is_one_self_contained_page_with_its_plots_and_files()
    {
        var files = FairnessReport.Write(Compare(), _dir, [("Story", "<p>a table</p>")]);
        Assert.Equal(Path.Combine(_dir, "report.html"), files[0]);
        foreach (var f in files) Assert.True(new FileInfo(f).Length > 0, f);
        var html = File.ReadAllText(files[0]);
        Assert.Equal(5, html.Split("<svg").Length - 1);
        Assert.Contains("<h2>Story</h2>", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("<img", html);
        Assert.True(File.Exists(Path.Combine(_dir, "surplus-pay-as-bid.csv")));
    }
}
