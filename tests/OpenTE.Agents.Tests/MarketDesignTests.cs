using System.Text.Json;
using OpenTE.Agents.Learning;
using OpenTE.Grid.Tests;
using OpenTE.Market.Bids;
using OpenTE.Market.Outcome;

namespace OpenTE.Agents.Tests;

/// <summary>The scenario under every market design: the awards match what the agents were told, energy and money balance.</summary>
public class MarketDesignTests
{
    private static string Example(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "examples", name))) return Path.Combine(dir.FullName, "examples", name);
        throw new FileNotFoundException("examples/" + name);
    }

    /// <summary>A small day: the demo's scenario with 15 prosumers and 16 intervals (4 hours from 10:00, sun and evening peak not needed).</summary>
    private static (Scenario, OpenTE.Grid.Model.Network) Small(int intervals = 16)
    {
        var text = File.ReadAllText(Example("demo-day.json"));
        var node = System.Text.Json.Nodes.JsonNode.Parse(text, documentOptions: new() { CommentHandling = JsonCommentHandling.Skip })!.AsObject();
        node["intervals"] = intervals;
        node["start"] = "2026-06-01T10:00:00+02:00";
        node["generate"] = new System.Text.Json.Nodes.JsonObject { ["count"] = 15, ["seed"] = 3 };
        return ScenarioFile.Parse(JsonDocument.Parse(node.ToJsonString()).RootElement, "demo-day.json", TestData.Load);
    }

    [Theory]
    [InlineData(MarketDesign.Nodal)]
    [InlineData(MarketDesign.PayAsBid)]
    [InlineData(MarketDesign.Uniform)]
    [InlineData(MarketDesign.P2p)]
    [InlineData(MarketDesign.Sdr)]
    public void Every_design_awards_what_the_agents_were_told_and_balances_energy(MarketDesign d)
    {
        var (s, net) = Small();
        var r = MarketDesigns.Run(s, net, d);
        Assert.Equal(d == MarketDesign.Nodal ? "dc-opf" : d.Name(), r.Outcome.Mechanism);
        Assert.Equal(ClearingStatus.Optimal, r.Outcome.Status);
        Assert.Equal(16, r.Outcome.Intervals);
        double tol = d == MarketDesign.P2p ? 1e-4 : 1e-7; // ADMM stops at its residual tolerance
        for (int t = 0; t < 16; t++)
        {
            // no network losses in any design (DC, copper plate, P2P): what is bought is sold
            var (bought, sold) = r.Outcome.Energy(t);
            Assert.InRange(bought - sold, -tol, tol);
            // each prosumer's net MW as the agents were told = its awards
            for (int k = 0; k < s.Prosumers.Count; k++)
            {
                double fromAwards = r.Outcome.Awards.Where(a => a.Interval == t && a.Participant == s.Prosumers[k].Id)
                    .Sum(a => a.Side == Side.Sell ? a.Quantity : -a.Quantity);
                Assert.InRange(fromAwards - r.AgentNetMw[t][k], -tol, tol);
            }
            Assert.All(r.Outcome.Awards.Where(a => a.Interval == t), a => Assert.True(a.Price >= 0 && double.IsFinite(a.Price), $"{a.Participant}: {a.Price}"));
        }
        // critical load is always served (it bids the value of lost load)
        Assert.Equal(r.CriticalDemandMw.Sum(), r.CriticalServedMw.Sum(), 6);
    }

    [Fact]
    public void Sdr_prices_lie_between_feed_in_and_retail_and_the_grid_covers_the_gap()
    {
        var (s, net) = Small();
        var o = new DesignOptions { FeedInFactor = 0.4 };
        var r = MarketDesigns.Run(s, net, MarketDesign.Sdr, o);
        for (int t = 0; t < 16; t++)
        {
            double retail = s.GridPrice(t);
            foreach (var a in r.Outcome.Awards.Where(a => a.Interval == t))
                Assert.InRange(a.Price, 0.4 * retail - 1e-9, retail + 1e-9);
            double paid = r.Outcome.Awards.Where(a => a.Interval == t && a.Side == Side.Buy).Sum(a => a.Price * a.Quantity);
            double got = r.Outcome.Awards.Where(a => a.Interval == t && a.Side == Side.Sell).Sum(a => a.Price * a.Quantity);
            Assert.Equal(paid, got, 6); // budget balanced
        }
    }

    [Fact]
    public void The_learning_seller_learns_to_offer_below_the_grid_price_under_pay_as_bid()
    {
        // under pay-as-bid it is paid its own offer: above the grid price (markup > 1) it is never dispatched, at 0.5 it
        // gives half its price away; the best it can do is offer just at the forecast (markup 0.95 or 1.0)
        var (s, net) = Small(intervals: 96);
        var r = MarketDesigns.Run(s, net, MarketDesign.PayAsBid);
        var chp = s.Prosumers.OfType<LearningSellerAgent>().Single();
        Assert.Equal(96, chp.History.Count);
        var late = chp.History.Skip(72).ToList(); // exploiting
        Assert.All(late.Where(h => h.SoldMw > 0), h => Assert.True(h.Markup <= 1.0));
        Assert.True(late.Average(h => h.Markup) > 0.8, $"late mean markup {late.Average(h => h.Markup):0.00}");
        Assert.True(late.Sum(h => h.Profit) > 0);
        // what it learnt from is what it was paid: its awards at its own offer
        foreach (var h in chp.History.Where(h => h.SoldMw > 1e-9))
            Assert.Contains(r.Outcome.Awards, a => a.Participant == "chp" && a.Interval == h.Interval && Math.Abs(a.Price - h.Offer) < 1e-9);
    }
}
