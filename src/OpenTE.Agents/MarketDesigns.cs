using OpenTE.Grid.Model;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.Community;
using OpenTE.Market.Outcome;
using OpenTE.Market.P2p;

namespace OpenTE.Agents;

/// <summary>One grid-connected interval's bids, as a market design sees them (the substation's offer is among them).</summary>
/// <param name="GridPrice">The wholesale price at the substation this interval ($/MWh).</param>
public sealed record IntervalBids(int Interval, DateTimeOffset Time, double Hours, IReadOnlyList<Bid> Bids, Network Network, double GridPrice);

/// <summary>What a design made of one interval: accepted MW per bid (input order), the awards, a price per bus for the agents and plots.</summary>
public sealed record IntervalClearing(string Mechanism, IReadOnlyList<double> Accepted, IReadOnlyList<Award> Awards, IReadOnlyList<double> BusPrice,
    IReadOnlyList<string> Messages);

/// <summary>Clears one grid-connected interval under some market design.</summary>
public delegate IntervalClearing IntervalMarket(IntervalBids bids);

/// <summary>The market designs the comparison runs a scenario under (docs/fairness.md).</summary>
public enum MarketDesign
{
    /// <summary>DC OPF with the bids: one price per bus (LMP), congestion rent to the operator.</summary>
    Nodal,
    /// <summary>Copper-plate double auction, every accepted bid at its own price; the spread is the operator's.</summary>
    PayAsBid,
    /// <summary>Copper-plate double auction, one uniform price (the midpoint of the clearing interval).</summary>
    Uniform,
    /// <summary>Peer-to-peer market by consensus ADMM, bilateral prices, grid charges by electrical distance.</summary>
    P2p,
    /// <summary>Community energy sharing priced by the supply–demand ratio (Liu et al. 2017), between feed-in tariff and retail price.</summary>
    Sdr,
    /// <summary>
    /// The P2P market with carbon pricing (issue #20): π_C × each trade's emission factor added to its trade charge
    /// (Sorin et al.'s c_nm, split buyer/seller) — needs <see cref="DesignOptions.Carbon"/>.
    /// </summary>
    P2pCarbon,
}

/// <summary>Options of the designs.</summary>
public sealed record DesignOptions
{
    /// <summary>P2P: each buyer's nearest sellers by electrical distance (besides the substation).</summary>
    public int P2pPartners { get; init; } = 4;
    /// <summary>P2P: grid charge per MWh of electrical distance, split between the two sides.</summary>
    public double P2pFeePerMwh { get; init; } = 2;
    public AdmmOptions Admm { get; init; } = new() { Tolerance = 1e-6, MaxIterations = 5000 };
    /// <summary>SDR: the feed-in tariff as a fraction of the grid price (the retail price is the grid price).</summary>
    public double FeedInFactor { get; init; } = 0.5;
    /// <summary>
    /// P2P with carbon: the emission data (participants' own rates, the upstream marginal rate per interval, the carbon price
    /// and buyer share, the loss factors of the grid). The substation's own rate is the upstream rate of the interval.
    /// </summary>
    public OpenTE.Market.Carbon.CarbonData? Carbon { get; init; }
}

public static class MarketDesigns
{
    public static string Name(this MarketDesign d) => d switch
    {
        MarketDesign.Nodal => "nodal",
        MarketDesign.PayAsBid => "pay-as-bid",
        MarketDesign.Uniform => "uniform",
        MarketDesign.P2p => "p2p",
        MarketDesign.P2pCarbon => "p2p-carbon",
        _ => "sdr",
    };

    /// <summary>The designs that need no extra data (p2p-carbon needs the carbon data and is added when it is given).</summary>
    public static readonly MarketDesign[] All = [MarketDesign.Nodal, MarketDesign.PayAsBid, MarketDesign.Uniform, MarketDesign.P2p, MarketDesign.Sdr];

    /// <summary>A design by its name (nodal, pay-as-bid, uniform, p2p, sdr, p2p-carbon), or null.</summary>
    public static MarketDesign? Parse(string name) =>
        All.Append(MarketDesign.P2pCarbon).Cast<MarketDesign?>().FirstOrDefault(d => d!.Value.Name() == name.Trim().ToLowerInvariant());

    /// <summary>The interval market of a design; null for <see cref="MarketDesign.Nodal"/> (the scenario runner's own DC clearing).</summary>
    public static IntervalMarket? Market(MarketDesign d, DesignOptions? options = null)
    {
        var o = options ?? new DesignOptions();
        return d switch
        {
            MarketDesign.Nodal => null,
            MarketDesign.PayAsBid => x => Auction(x, PricingRule.PayAsBid),
            MarketDesign.Uniform => x => Auction(x, PricingRule.UniformMidpoint),
            MarketDesign.P2p => x => P2p(x, o, carbon: false),
            MarketDesign.P2pCarbon => o.Carbon is null ? throw new ArgumentException("the p2p-carbon design needs the carbon data (DesignOptions.Carbon; --carbon FILE)")
                : x => P2p(x, o, carbon: true),
            _ => x => Sdr(x, o),
        };
    }

    /// <summary>Runs the scenario under a design (the scenario's agents keep state: give each run a freshly read scenario).</summary>
    public static SimulationResult Run(Scenario s, Network net, MarketDesign d, DesignOptions? options = null, IProgress<int>? progress = null) =>
        ScenarioRunner.Run(s, net, progress, Market(d, options));

    private static IntervalClearing Auction(IntervalBids x, PricingRule rule)
    {
        var r = DoubleAuction.Clear(x.Bids, rule);
        var outcome = r.ToOutcome(x.Hours);
        double price = r.ClearingPrice ?? x.GridPrice;
        return new IntervalClearing(outcome.Mechanism, [.. r.Accepted.Select(a => a.AcceptedMw)], outcome.Awards,
            Enumerable.Repeat(price, x.Network.BusCount).ToArray(), []);
    }

    private static IntervalClearing P2p(IntervalBids x, DesignOptions o, bool carbon)
    {
        var market = P2pBids.Build(x.Bids, x.Network, o.P2pPartners, o.P2pFeePerMwh);
        if (carbon) market = market with { Data = WithCarbon(market, x, o.Carbon!) };
        var messages = new List<string>();
        var r = P2pAdmm.Solve(market.Data, o.Admm);
        if (r.Status != ClearingStatus.Optimal)
        {
            messages.Add($"P2P: ADMM stopped after {r.Iterations} iterations above its tolerance; the interval is cleared by the central QP of the same market");
            r = P2pCentral.Solve(market.Data);
        }
        var awards = P2pBids.Awards(market, r, x.Interval);
        // accepted MW per input bid: the peers were built from the bids with a quantity, in market.Bids order
        var accepted = new double[x.Bids.Count];
        var peerOfBid = new Dictionary<Bid, int>(ReferenceEqualityComparer.Instance);
        for (int n = 0; n < market.Bids.Count; n++) peerOfBid[market.Bids[n]] = n;
        for (int k = 0; k < x.Bids.Count; k++)
            if (peerOfBid.TryGetValue(x.Bids[k], out int n))
                accepted[k] = Math.Min(x.Bids[k].Quantity, Math.Max(0, Math.Abs(r.Power[n])));
        double volume = awards.Where(a => a.Side == Side.Buy).Sum(a => a.Quantity);
        double avg = volume > 0 ? awards.Where(a => a.Side == Side.Buy).Sum(a => a.Price * a.Quantity) / volume : x.GridPrice;
        return new IntervalClearing(carbon ? "p2p-carbon" : "p2p", accepted, awards, Enumerable.Repeat(avg, x.Network.BusCount).ToArray(), messages);
    }

    /// <summary>
    /// π_C × e_nm on each bilateral trade (<see cref="OpenTE.Market.Carbon.CarbonP2p.Apply"/>): e_nm = the seller's own rate +
    /// upstream rate × (∂import/∂P at the seller's bus − at the buyer's), in kg/MWh, at the buses the peers bid at; the
    /// substation sells grid energy at the upstream rate of the interval. A participant missing from the carbon data is an
    /// input error naming the file.
    /// </summary>
    private static P2pMarketData WithCarbon(P2pBids.Market market, IntervalBids x, OpenTE.Market.Carbon.CarbonData c)
    {
        var data = market.Data;
        double upstream = c.Upstream.At(x.Time.ToUnixTimeSeconds());
        double Own(string id)
        {
            if (id == ScenarioRunner.Substation) return upstream;
            if (!c.Has(id))
                throw new OpenTE.Grid.Input.InputException(c.Source, 0, $"participant '{id}' has no emission data", $"add {{ \"id\": \"{id}\", \"bus\": …, \"gco2PerKwh\": … }} to \"participants\"", "participants");
            return c.Participant(id).OwnGramsPerKwh;
        }
        var factors = OpenTE.Market.Carbon.CarbonP2p.Factors(data, n => Own(data.Peers[n].Id), n => market.Bus[n], c, upstream);
        return OpenTE.Market.Carbon.CarbonP2p.Apply(data, factors, c.PricePerTonne, c.BuyerShare);
    }

    private static IntervalClearing Sdr(IntervalBids x, DesignOptions o)
    {
        // the members are everyone but the substation; the substation is the grid at the retail price and the feed-in tariff
        var members = new List<Bid>();
        var index = new List<int>();
        int gridBus = 0;
        for (int k = 0; k < x.Bids.Count; k++)
        {
            if (x.Bids[k].Participant == ScenarioRunner.Substation) { gridBus = x.Bids[k].Bus; continue; }
            members.Add(x.Bids[k]);
            index.Add(k);
        }
        double retail = x.GridPrice, feedIn = o.FeedInFactor * x.GridPrice;
        var r = SdrMarket.Clear(members, retail, feedIn, ScenarioRunner.Substation, gridBus, x.Interval, x.Hours);
        var accepted = new double[x.Bids.Count];
        for (int i = 0; i < index.Count; i++) accepted[index[i]] = r.AcceptedMw[i];
        for (int k = 0; k < x.Bids.Count; k++)
            if (x.Bids[k].Participant == ScenarioRunner.Substation) accepted[k] = Math.Max(0, r.DemandMw - r.SupplyMw);
        return new IntervalClearing("sdr", accepted, r.Outcome.Awards, Enumerable.Repeat(r.BuyPrice, x.Network.BusCount).ToArray(), []);
    }
}
