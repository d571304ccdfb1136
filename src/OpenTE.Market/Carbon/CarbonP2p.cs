using OpenTE.Market.P2p;

namespace OpenTE.Market.Carbon;

/// <summary>
/// Carbon-aware P2P clearing (docs/carbon.md): each bilateral trade's emission factor e_nm (kg CO₂/MWh = g/kWh: the seller's
/// own rate + upstream·(∂import/∂P_seller − ∂import/∂P_buyer)) priced at π_C becomes a product-differentiation cost on the
/// trade (Sorin et al.'s c_nm): the buyer's share of π_C·e_nm is added to the buyer's c_mn, the rest to the seller's c_nm.
/// The market then maximises welfare − π_C·emissions, so trades that cut emissions are preferred.
/// </summary>
public static class CarbonP2p
{
    /// <summary>Per producer n and partner m: the trade's emission factor in kg CO₂/MWh (first order, by the loss factors).</summary>
    public static IReadOnlyList<Dictionary<int, double>> Factors(P2pMarketData data, CarbonData carbon, double upstreamGramsPerKwh) =>
        Factors(data, n => carbon.Participant(data.Peers[n].Id).OwnGramsPerKwh, n => carbon.Participant(data.Peers[n].Id).Bus, carbon, upstreamGramsPerKwh);

    /// <summary>
    /// The same with each peer's own rate (asked of producers only) and bus given by the caller — e.g. the buses the peers
    /// bid at, and the substation's own rate = the upstream rate of the interval.
    /// </summary>
    public static IReadOnlyList<Dictionary<int, double>> Factors(P2pMarketData data, Func<int, double> ownGramsPerKwh, Func<int, int> bus,
        CarbonData carbon, double upstreamGramsPerKwh)
    {
        var result = new List<Dictionary<int, double>>(data.Peers.Count);
        for (int n = 0; n < data.Peers.Count; n++)
        {
            var d = new Dictionary<int, double>();
            var peer = data.Peers[n];
            if (peer.Producer)
            {
                double own = ownGramsPerKwh(n);
                int sellerBus = bus(n);
                foreach (var m in peer.Partners.Keys) d[m] = own + carbon.UpstreamFactor(sellerBus, bus(m), upstreamGramsPerKwh);
            }
            result.Add(d);
        }
        return result;
    }

    /// <summary>The market with π_C·e_nm ($/MWh for a price in $/t: kg/MWh × $/t / 1000) added to the trade charges, split buyer/seller.</summary>
    public static P2pMarketData Apply(P2pMarketData data, IReadOnlyList<Dictionary<int, double>> factors, double pricePerTonne, double buyerShare)
    {
        var charges = data.Peers.Select(p => new Dictionary<int, double>(p.Partners)).ToArray();
        for (int n = 0; n < data.Peers.Count; n++)
            foreach (var (m, e) in factors[n])
            {
                double cost = pricePerTonne * e / 1000;
                charges[n][m] += (1 - buyerShare) * cost;
                charges[m][n] += buyerShare * cost;
            }
        return new P2pMarketData([.. data.Peers.Select((p, n) => p with { Partners = charges[n] })]);
    }

    /// <summary>Emissions of a cleared market, kg CO₂ per hour: Σ over trades of e_nm·P_nm.</summary>
    public static double Emissions(P2pResult r, IReadOnlyList<Dictionary<int, double>> factors)
    {
        double kg = 0;
        for (int n = 0; n < factors.Count; n++)
            foreach (var (m, e) in factors[n])
                kg += e * Math.Max(0, r.Trades[n].GetValueOrDefault(m));
        return kg;
    }

    /// <summary>The MW-weighted mean trade price ($/MWh) the buyers pay.</summary>
    public static double MeanBuyerPrice(P2pMarketData data, P2pResult r)
    {
        double mw = 0, money = 0;
        for (int n = 0; n < data.Peers.Count; n++)
        {
            if (!data.Peers[n].Producer) continue;
            foreach (var (m, p) in r.Trades[n])
            {
                if (p <= 1e-9) continue;
                mw += p;
                money += p * r.Prices[m][n];
            }
        }
        return mw > 0 ? money / mw : double.NaN;
    }

    /// <summary>
    /// Clears the market without and with the carbon cost (same solver) and compares: emissions, welfare of the original market
    /// (the peers' utility − cost − trade charges, carbon not counted), that welfare minus π_C·emissions, and the mean price.
    /// </summary>
    public static CarbonComparison Compare(P2pMarketData data, CarbonData carbon, double upstreamGramsPerKwh, Func<P2pMarketData, P2pResult> solve)
    {
        var factors = Factors(data, carbon, upstreamGramsPerKwh);
        var priced = Apply(data, factors, carbon.PricePerTonne, carbon.BuyerShare);
        var without = solve(data);
        var with = solve(priced);
        CarbonSide Side(P2pResult r)
        {
            double e = Emissions(r, factors);
            double w = P2pResult.WelfareOf(data, r.Trades);
            return new CarbonSide(r, e, w, w - carbon.PricePerTonne * e / 1000, MeanBuyerPrice(data, r), r.Trades.Sum(t => t.Values.Where(p => p > 0).Sum()));
        }
        return new CarbonComparison(carbon.PricePerTonne, upstreamGramsPerKwh, factors, priced, Side(without), Side(with));
    }
}

/// <summary>One clearing: emissions (kg CO₂/h), welfare without carbon ($/h), welfare − π_C·emissions, the mean price paid ($/MWh), MW traded.</summary>
public sealed record CarbonSide(P2pResult Result, double EmissionsKgPerH, double Welfare, double WelfareNetOfCarbon, double MeanPrice, double TradedMw);

/// <summary>The P2P market cleared without and with carbon-aware trade charges.</summary>
public sealed record CarbonComparison(double PricePerTonne, double UpstreamGramsPerKwh, IReadOnlyList<Dictionary<int, double>> Factors,
    P2pMarketData PricedMarket, CarbonSide Without, CarbonSide With);
